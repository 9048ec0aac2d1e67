//! The API-key extractors: `Authorization: Bearer <key>` → `TenantContext`, with the
//! per-key rate limit applied. Handlers get the tenant only from here.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::error::{AppError, AppResult, ErrorKind};
use crate::state::AppState;
use crate::tenants::{Scope, TenantContext, auth};

pub struct ApiKey(pub TenantContext);

impl ApiKey {
    /// 403 unless the key carries `scope`.
    pub fn require(&self, scope: Scope) -> AppResult<&TenantContext> {
        require(&self.0, scope)
    }
}

fn require(ctx: &TenantContext, scope: Scope) -> AppResult<&TenantContext> {
    if ctx.has(scope) {
        Ok(ctx)
    } else {
        Err(AppError::forbidden(
            "insufficient_scope",
            format!("this API key lacks the {} scope", scope.as_str()),
        ))
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

/// 429 when the key is over its rate limit.
fn rate_limit(state: &AppState, ctx: &TenantContext) -> AppResult<()> {
    rate_limit_key(state, &ctx.key_id)
}

/// 429 when the key with this id (an API key or a browser key) is over its rate limit.
pub fn rate_limit_key(state: &AppState, key_id: &uuid::Uuid) -> AppResult<()> {
    if let Some(limiter) = &state.limiter
        && let Err(not_until) = limiter.check_key(key_id)
    {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let mut e = AppError::new(
            ErrorKind::TooManyRequests,
            "rate_limited",
            "too many requests for this key",
        );
        e.retry_after = Some(u32::try_from(wait.as_secs().max(1)).unwrap_or(u32::MAX));
        return Err(e);
    }
    Ok(())
}

fn parts(req: &HttpRequest) -> AppResult<(web::Data<AppState>, String)> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| AppError::internal("application state missing"))?;
    let token = bearer(req)
        .ok_or_else(|| AppError::unauthorized("send the API key as Authorization: Bearer <key>"))?;
    Ok((state, auth::key_hash(&token)))
}

impl FromRequest for ApiKey {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    /// Reads the key from the database on every request.
    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = parts(req);
        Box::pin(async move {
            let (state, hash) = parts?;
            let ctx = auth::authenticate(&state.db.conn, &hash).await?;
            rate_limit(&state, &ctx)?;
            Ok(ApiKey(ctx))
        })
    }
}

/// The key of an ingest request: served from `KeyCache` when recently seen, because the
/// ingest commit confirms it against the database (and answers `Stale` if its tenant's
/// settings changed, when `refresh` reads it again).
pub struct IngestKey {
    pub ctx: TenantContext,
    hash: String,
}

impl IngestKey {
    pub fn require(&self, scope: Scope) -> AppResult<&TenantContext> {
        require(&self.ctx, scope)
    }

    pub async fn refresh(&mut self, state: &AppState) -> AppResult<()> {
        state.key_cache.remove(&self.hash);
        self.ctx = auth::authenticate(&state.db.conn, &self.hash).await?;
        state.key_cache.put(self.hash.clone(), self.ctx.clone());
        Ok(())
    }

    /// Forgets a key the commit found revoked or suspended.
    pub fn forget(&self, state: &AppState) {
        state.key_cache.remove(&self.hash);
    }

    /// The key presented as `token` anywhere but the `Authorization` header (the
    /// Meta-compatible endpoint's `access_token`), cached and rate-limited as the
    /// extractor does.
    pub async fn from_token(state: &AppState, token: &str) -> AppResult<IngestKey> {
        resolve(state, auth::key_hash(token)).await
    }
}

async fn resolve(state: &AppState, hash: String) -> AppResult<IngestKey> {
    let ctx = match state.key_cache.get(&hash) {
        Some(ctx) => ctx,
        None => {
            let ctx = auth::authenticate(&state.db.conn, &hash).await?;
            state.key_cache.put(hash.clone(), ctx.clone());
            ctx
        }
    };
    rate_limit(state, &ctx)?;
    Ok(IngestKey { ctx, hash })
}

impl FromRequest for IngestKey {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let parts = parts(req);
        Box::pin(async move {
            let (state, hash) = parts?;
            resolve(&state, hash).await
        })
    }
}
