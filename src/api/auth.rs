//! The API-key extractor: `Authorization: Bearer <key>` → `TenantContext`, with the
//! per-key rate limit applied. Handlers get the tenant only from here.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::startup::AppState;
use crate::tenants::{Scope, TenantContext, api_keys};

pub struct ApiKey(pub TenantContext);

impl ApiKey {
    /// 403 unless the key carries `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<&TenantContext> {
        if self.0.has(scope) {
            Ok(&self.0)
        } else {
            Err(AppError::forbidden(
                "insufficient_scope",
                format!("this API key lacks the {} scope", scope.as_str()),
            ))
        }
    }
}

pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    Some(token.trim().to_string()).filter(|t| !t.is_empty())
}

impl FromRequest for ApiKey {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| AppError::internal("application state missing"))?;
            let token = token.ok_or_else(|| {
                AppError::unauthorized("send the API key as Authorization: Bearer <key>")
            })?;
            let ctx = api_keys::authenticate(&state.db.conn, &token).await?;
            if let Some(limiter) = &state.limiter
                && let Err(not_until) = limiter.check_key(&ctx.key_id)
            {
                let wait = not_until.wait_time_from(governor::clock::Clock::now(
                    &governor::clock::DefaultClock::default(),
                ));
                let mut e = AppError::new(
                    ErrorKind::TooManyRequests,
                    "rate_limited",
                    "too many requests for this API key",
                );
                e.retry_after = Some(wait.as_secs().max(1));
                return Err(e);
            }
            Ok(ApiKey(ctx))
        })
    }
}
