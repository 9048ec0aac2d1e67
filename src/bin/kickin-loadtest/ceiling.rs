//! The ceiling: the rows Kickin writes per event (event + dedup key + delivery, one
//! destination, ~450-byte payload) inserted straight into the database with `batch`
//! events per transaction from `concurrency` tasks, for `duration`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sea_orm::{EntityTrait, Set};
use uuid::Uuid;

use crate::report::Report;
use kickin::db::Db;
use kickin::entities::{deliveries, events};

fn rows(
    tenant: Uuid,
    destination: Uuid,
    n: usize,
    now: i64,
) -> (
    Vec<events::ActiveModel>,
    Vec<(kickin::dedup::keys::DedupKey, Uuid)>,
    Vec<deliveries::ActiveModel>,
) {
    let mut ev = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut dl = Vec::with_capacity(n);
    for _ in 0..n {
        let (row, event_id) = (Uuid::now_v7(), Uuid::new_v4().to_string());
        let payload = crate::body::event(&event_id, now / 1000).to_string();
        ev.push(events::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(row),
            event_id: Set(event_id.clone()),
            event_name: Set("Purchase".into()),
            event_time: Set(now),
            received_at: Set(now),
            payload: Set(payload),
            sealed: Set(None),
            warnings: Set("[]".into()),
            trace_context: Set(None),
            purged_at: Set(None),
        });
        keys.push((
            kickin::dedup::keys::DedupKey {
                destination_id: destination,
                event_name: "Purchase".into(),
                event_id,
            },
            row,
        ));
        dl.push(deliveries::ActiveModel {
            tenant_id: Set(tenant),
            id: Set(Uuid::now_v7()),
            event_row_id: Set(row),
            destination_id: Set(destination),
            kind: Set(kickin::destinations::Kind::MetaCapi.as_str().into()),
            status: Set(kickin::states::DeliveryStatus::Pending),
            attempts: Set(0),
            next_attempt_at: Set(i64::MAX),
            locked_until: Set(None),
            lease_token: Set(None),
            last_error: Set(None),
            succeeded_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            reserved_period: Set(None),
            sending_since: Set(None),
            maybe_sent_at: Set(None),
        });
    }
    (ev, keys, dl)
}

pub async fn run(
    db: Db,
    concurrency: usize,
    batch: usize,
    duration: Duration,
) -> anyhow::Result<Report> {
    let (tenant, destination) = (Uuid::now_v7(), Uuid::now_v7());
    let written = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (db, written) = (db.clone(), written.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let now = chrono::Utc::now().timestamp_millis();
                let (ev, keys, dl) = rows(tenant, destination, batch, now);
                let t = Instant::now();
                let txn = db.begin_write().await?;
                events::Entity::insert_many(ev)
                    .exec_without_returning(&*txn)
                    .await?;
                let claims: Vec<kickin::dedup::keys::Claim> = keys
                    .into_iter()
                    .map(|(key, event_row_id)| kickin::dedup::keys::Claim {
                        tenant_id: tenant,
                        key,
                        event_row_id,
                        now_ms: now,
                        expires_at: now + 7 * 86_400_000,
                    })
                    .collect();
                kickin::dedup::keys::claim(&*txn, &claims).await?;
                deliveries::Entity::insert_many(dl)
                    .exec_without_returning(&*txn)
                    .await?;
                txn.commit().await?;
                lat.push(t.elapsed().as_micros() as u64);
                written.fetch_add(batch as u64, Ordering::Relaxed);
            }
            anyhow::Ok(lat)
        }));
    }
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await??);
    }
    Ok(Report {
        label: format!(
            "ceiling: {concurrency} writers × {batch} events per transaction for {duration:?} (event + dedup key + delivery)"
        ),
        duration: started.elapsed(),
        requests: latencies_us.len() as u64,
        events_accepted: written.load(Ordering::Relaxed),
        latencies_us,
        ..Report::default()
    })
}
