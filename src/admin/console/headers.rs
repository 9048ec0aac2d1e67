//! Security headers on every console response (the OWASP secure-headers set): a strict
//! Content-Security-Policy (the pages use no scripts or inline styles, so none need
//! allowing), no framing, no MIME sniffing, no referrer, and no caching of pages that show
//! operator data and once-shown API keys. HSTS only when the request came over TLS (or a
//! proxy says so with `X-Forwarded-Proto: https`): over plain HTTP it would be ignored at
//! best and lock a misconfigured host out of its console at worst.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'; object-src 'none'";
/// One year, the common minimum for HSTS to be worth its name.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

fn set(headers: &mut HeaderMap, name: header::HeaderName, value: &'static str) {
    headers.insert(name, HeaderValue::from_static(value));
}

pub async fn secure_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tls = req.connection_info().scheme() == "https";
    let mut response = next.call(req).await?;
    let headers = response.headers_mut();
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    // The stylesheet sets its own caching; everything else is per admin and may be secret.
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            STRICT_TRANSPORT_SECURITY,
        );
    }
    Ok(response)
}
