//! The attempt log a completion writes: one row per attempt this worker made, written
//! only for deliveries whose lease-guarded transition (`queue::complete_one`,
//! `queue::complete_succeeded`) held, so a late or duplicate completion leaves no
//! attempt row behind. The rows go in as one `Bulk` insert (one statement text whatever
//! the batch size).

use sea_orm::ConnectionTrait;
use uuid::Uuid;

use super::queue::Claimed;
use crate::bulk::{Bulk, Col};
use crate::destinations::outcome;
use crate::error::AppResult;

/// A batch's attempt rows, by column.
#[derive(Default)]
pub struct Attempts {
    tenant_id: Vec<Uuid>,
    id: Vec<Uuid>,
    delivery_id: Vec<Uuid>,
    attempt_no: Vec<i32>,
    started_at: Vec<i64>,
    duration_ms: Vec<i32>,
    http_status: Vec<Option<i32>>,
    outcome: Vec<String>,
    error_code: Vec<Option<String>>,
    error_message: Vec<Option<String>>,
    destination_trace_id: Vec<Option<String>>,
}

impl Attempts {
    /// The attempt log row of what this worker did.
    pub fn push(&mut self, c: &Claimed, r: &outcome::Result) {
        let a = &r.attempt;
        self.tenant_id.push(c.tenant_id);
        self.id.push(Uuid::now_v7());
        self.delivery_id.push(c.id);
        self.attempt_no.push(c.attempts + 1);
        self.started_at.push(a.started_at);
        self.duration_ms.push(a.duration_ms);
        self.http_status.push(a.http_status);
        self.outcome.push(r.outcome.label().to_string());
        self.error_code.push(a.error_code.clone());
        self.error_message.push(a.error_message.clone());
        self.destination_trace_id
            .push(a.destination_trace_id.clone());
    }

    /// Writes the rows (nothing when there are none).
    pub async fn insert(self, db: &impl ConnectionTrait) -> AppResult<()> {
        let bulk = Bulk {
            table: "delivery_attempts",
            columns: vec![
                ("tenant_id", Col::Uuid(self.tenant_id)),
                ("id", Col::Uuid(self.id)),
                ("delivery_id", Col::Uuid(self.delivery_id)),
                ("attempt_no", Col::Int(self.attempt_no)),
                ("started_at", Col::BigInt(self.started_at)),
                ("duration_ms", Col::Int(self.duration_ms)),
                ("http_status", Col::OptInt(self.http_status)),
                ("outcome", Col::Text(self.outcome)),
                ("error_code", Col::OptText(self.error_code)),
                ("error_message", Col::OptText(self.error_message)),
                (
                    "destination_trace_id",
                    Col::OptText(self.destination_trace_id),
                ),
            ],
            suffix: String::new(),
        };
        bulk.execute(db).await?;
        Ok(())
    }
}
