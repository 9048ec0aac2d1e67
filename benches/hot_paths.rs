//! Micro-benchmarks of the hot paths: parse + normalize + hash one event, the per-event
//! dedup decision (destinations decided, keys built and checked against the request's
//! set), and tier pricing. Run with `cargo bench --bench hot_paths`.

use std::collections::HashSet;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kickin::dedup::keys::DedupKey;
use kickin::destinations::Destination;
use kickin::entities::destinations;
use kickin::ingest::decide::{Decision, decide};
use kickin::ingest::{ParseContext, ValidatedEvent};
use kickin::plans::Tier;
use kickin::plans::pricing::{TierMode, price};
use kickin::states::ConsentPolicy;
use serde_json::{Value, json};
use uuid::Uuid;

const NOW_MS: i64 = 1_795_000_000_000;

fn event(id: &str) -> Value {
    json!({
        "event_id": id, "event_name": "Purchase", "event_time": NOW_MS / 1000 - 5,
        "action_source": "website", "event_source_url": "https://shop.example/thanks",
        "user_data": {"em": " Jane.Doe@Example.com ", "ph": "+1 (555) 010-0000",
            "fn": "Jane", "ln": "Doe", "ct": "New York", "zp": "10001", "country": "US",
            "external_id": "user-42", "client_ip_address": "203.0.113.9",
            "client_user_agent": "Mozilla/5.0 (X11; Linux x86_64)", "fbc": "fb.1.1554763741205.AbCdEf",
            "fbp": "fb.1.1558571054389.1098115397"},
        "custom_data": {"value": 129.99, "currency": "USD", "order_id": "12345",
            "contents": [{"id": "sku-1", "quantity": 2, "item_price": 64.995}]},
        "ga4": {"client_id": "123456.7654321"}
    })
}

fn destination(kind: &str, config: &str) -> Destination {
    Destination::from_model(destinations::Model {
        tenant_id: Uuid::now_v7(),
        id: Uuid::now_v7(),
        kind: kind.into(),
        name: kind.into(),
        state: kickin::states::DestinationState::Active,
        paused_reason: None,
        hold_until: None,
        config: config.into(),
        secret: String::new(),
        created_at: NOW_MS,
        updated_at: NOW_MS,
        deleted_at: None,
    })
    .expect("a valid destination")
}

fn parse(c: &mut Criterion) {
    let raw = event("order-1");
    let ctx = ParseContext {
        now_ms: NOW_MS,
        require_event_id: true,
    };
    c.bench_function("parse + normalize + hash one event", |b| {
        b.iter(|| ValidatedEvent::parse(0, black_box(&raw), &ctx).expect("valid"))
    });
}

fn dedup_decision(c: &mut Criterion) {
    let ctx = ParseContext {
        now_ms: NOW_MS,
        require_event_id: true,
    };
    let events: Vec<ValidatedEvent> = (0..100)
        .map(|i| {
            ValidatedEvent::parse(i, &event(&format!("order-{}", i % 90)), &ctx).expect("valid")
        })
        .collect();
    let dests = [
        destination("meta_capi", r#"{"pixel_id":"1234567890"}"#),
        destination("ga4_mp", r#"{"measurement_id":"G-ABC123"}"#),
    ];
    c.bench_function("dedup decision, 100 events x 2 destinations", |b| {
        b.iter(|| {
            let mut seen = HashSet::new();
            let mut claim = 0;
            for e in &events {
                for d in &dests {
                    if decide(e, d, ConsentPolicy::Forward, NOW_MS) != Decision::Candidate {
                        continue;
                    }
                    let key = DedupKey {
                        destination_id: d.id(),
                        event_name: e.event_name.clone(),
                        event_id: e.event_id.clone(),
                    };
                    claim += usize::from(seen.insert(key));
                }
            }
            black_box(claim)
        })
    });
}

fn pricing(c: &mut Criterion) {
    let tiers = [
        Tier {
            up_to: Some(100_000),
            price_per_1000: 0,
        },
        Tier {
            up_to: Some(1_000_000),
            price_per_1000: 150,
        },
        Tier {
            up_to: Some(10_000_000),
            price_per_1000: 90,
        },
        Tier {
            up_to: None,
            price_per_1000: 45,
        },
    ];
    c.bench_function("graduated price of 12,345,678 sends over 4 tiers", |b| {
        b.iter(|| {
            price(
                "usd",
                4900,
                TierMode::Graduated,
                black_box(&tiers),
                black_box(12_345_678),
            )
        })
    });
}

criterion_group!(benches, parse, dedup_decision, pricing);
criterion_main!(benches);
