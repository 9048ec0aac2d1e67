//! Keeps API keys out of logs and traces. Meta's clients put the key in the query string
//! (`?access_token=…`), and the request span records the query as `http.target`. This
//! middleware runs before the tracing middleware: it takes `access_token` out of the
//! URI and keeps it in the request's extensions, where the endpoint reads it.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::uri::PathAndQuery;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest};

/// The `access_token` a request's query string carried.
#[derive(Debug, Clone)]
struct QueryToken(String);

pub async fn hide_access_token(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if let Some((token, uri)) = without_token(req.uri()) {
        req.extensions_mut().insert(QueryToken(token));
        req.head_mut().uri = uri;
    }
    next.call(req).await
}

/// The token the query string carried, if any.
pub fn query_token(req: &HttpRequest) -> Option<String> {
    req.extensions().get::<QueryToken>().map(|t| t.0.clone())
}

/// The query's `access_token` and the URI without it, when it has one.
fn without_token(uri: &Uri) -> Option<(String, Uri)> {
    let query = uri.query().filter(|q| q.contains("access_token"))?;
    let pairs: Vec<(String, String)> = serde_html_form::from_str(query).ok()?;
    let (tokens, rest): (Vec<_>, Vec<_>) =
        pairs.into_iter().partition(|(k, _)| k == "access_token");
    let token = tokens.into_iter().next_back()?.1;
    let rest = serde_html_form::to_string(&rest).ok()?;
    let path_and_query = match rest.as_str() {
        "" => uri.path().to_string(),
        rest => format!("{}?{rest}", uri.path()),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Some((token, Uri::from_parts(parts).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_leaves_the_uri_and_other_parameters_stay() {
        let uri: Uri = "/v25.0/123/events?access_token=kk_a%2Bb&test_event_code=T1"
            .parse()
            .unwrap();
        let (token, rest) = without_token(&uri).unwrap();
        assert_eq!(token, "kk_a+b");
        assert_eq!(rest.to_string(), "/v25.0/123/events?test_event_code=T1");
        let only: Uri = "/v25.0/123/events?access_token=kk_x".parse().unwrap();
        assert_eq!(
            without_token(&only).unwrap().1.to_string(),
            "/v25.0/123/events"
        );
    }

    #[test]
    fn a_uri_without_a_token_is_left_alone() {
        let uri: Uri = "/v1/browser/events?key=pk_1".parse().unwrap();
        assert!(without_token(&uri).is_none());
    }
}
