//! The use case behind the Meta-compatible endpoint (`POST /{version}/{pixel_id}/events`):
//! a Conversions API request for one of the tenant's Meta pixels. Its events are those
//! of `/v1/events`, parsed, deduplicated, queued and counted by the same code, but Meta's
//! rule applies to the request as a whole: one invalid event refuses it and nothing is
//! stored. The events go to the Meta destination with that pixel id only or, when the
//! tenant's `meta_endpoint_fanout` is on, to all of its destinations. A request with a
//! `test_event_code` is test traffic for that pixel: it never fans out.

use serde_json::Value;
use uuid::Uuid;

use super::accept::{Job, Outcome, Routing, commit};
use super::committer::Committer;
use super::event::Rejection;
use super::response::IngestResponse;
use crate::crypto::Keys;
use crate::destinations::{self, meta};
use crate::error::AppResult;
use crate::tenants::TenantContext;

/// A Conversions API request as the endpoint read it.
pub struct PixelRequest<'a> {
    pub pixel_id: &'a str,
    /// The elements of `data`, each one event object.
    pub events: &'a [Value],
    pub test_event_code: Option<&'a str>,
}

/// What became of a request.
#[derive(Debug)]
pub enum PixelOutcome {
    /// Committed; the per-event answer as `/v1/events` gives it.
    Committed(IngestResponse),
    /// This event cannot be taken: the request was refused whole, nothing stored.
    Refused(Rejection),
    /// The tenant has no Meta destination with this pixel id.
    UnknownPixel,
    /// The key's tenant settings changed since it was read: read it again and retry.
    Stale,
}

/// Where the events of a request for `pixel` go, under the tenant's settings.
pub fn routing(ctx: &TenantContext, pixel: Uuid, test_event_code: Option<&str>) -> Routing {
    let fanout = ctx.meta_endpoint_fanout && test_event_code.is_none();
    Routing {
        only: (!fanout).then(|| vec![pixel]),
        test_event_code: test_event_code.map(str::to_string),
    }
}

/// Accepts a request for one pixel: all of its events, or none.
#[tracing::instrument(name = "ingest.meta_endpoint", skip_all, fields(tenant_id = %ctx.tenant_id,
    events = request.events.len(), accepted = tracing::field::Empty,
    duplicates = tracing::field::Empty, skipped = tracing::field::Empty,
    rejected = tracing::field::Empty))]
pub async fn accept_for_pixel(
    committer: &Committer,
    db: &impl sea_orm::ConnectionTrait,
    keys: &Keys,
    ctx: &TenantContext,
    request: &PixelRequest<'_>,
    now_ms: i64,
) -> AppResult<PixelOutcome> {
    let dests = destinations::all_for_tenant(db, ctx.tenant_id).await?;
    let Some(pixel) = dests.iter().find(|d| meta::is_pixel(d, request.pixel_id)) else {
        return Ok(PixelOutcome::UnknownPixel);
    };
    let routing = routing(ctx, pixel.id(), request.test_event_code);
    let job = Job::parse(ctx, keys, request.events, routing, now_ms);
    if let Some(rejection) = job.first_rejection(&dests) {
        return Ok(PixelOutcome::Refused(rejection));
    }
    Ok(match commit(committer, job).await? {
        Outcome::Stale => PixelOutcome::Stale,
        Outcome::Done(response) => PixelOutcome::Committed(response?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenants::Scope;

    fn ctx(fanout: bool) -> TenantContext {
        TenantContext {
            tenant_id: Uuid::now_v7(),
            key_id: Uuid::now_v7(),
            scopes: vec![Scope::Ingest],
            require_event_id: true,
            dedup_window_hours: 168,
            plan_id: None,
            meta_endpoint_fanout: fanout,
            consent_policy: Default::default(),
        }
    }

    #[test]
    fn without_fanout_only_the_pixel_is_considered() {
        let pixel = Uuid::now_v7();
        let r = routing(&ctx(false), pixel, None);
        assert_eq!(r.only, Some(vec![pixel]));
        assert_eq!(r.test_event_code, None);
    }

    #[test]
    fn fanout_opens_every_destination_but_not_for_test_traffic() {
        let pixel = Uuid::now_v7();
        assert_eq!(routing(&ctx(true), pixel, None).only, None);
        let test = routing(&ctx(true), pixel, Some("TEST123"));
        assert_eq!(test.only, Some(vec![pixel]));
        assert_eq!(test.test_event_code.as_deref(), Some("TEST123"));
    }
}
