//! `serve --demo`: a demo tenant with an API key and two sandbox destinations, and a
//! curl command a newcomer can paste.

use crate::destinations::{self, DestinationIn, Kind};
use crate::plans::{self, PlanIn, Tier};
use crate::state::AppState;
use crate::tenants::{self, TenantIn, api_keys};

fn demo_plan() -> PlanIn {
    PlanIn {
        code: "demo".into(),
        name: "Demo".into(),
        currency: "usd".into(),
        monthly_fee: 0,
        tier_mode: "graduated".into(),
        tiers: vec![
            Tier {
                up_to: Some(10_000),
                price_per_1000: 0,
            },
            Tier {
                up_to: None,
                price_per_1000: 50,
            },
        ],
        limit_mode: crate::states::LimitMode::Soft.to_string(),
        hard_limit: None,
        max_destinations: Some(10),
        max_api_keys: Some(10),
        retention_days: 30,
    }
}

/// One demo destination of each kind, pointed at the sandbox.
fn destination(kind: Kind) -> DestinationIn {
    let spec = kind.spec();
    let name = format!("Demo {}", spec.label());
    DestinationIn::with_target(kind.as_str(), &name, spec.demo_target(), "demo-secret")
}

/// Seeds the demo tenant (a fresh one each start, since keys are shown only once).
pub async fn seed(state: &AppState, base: &str) -> anyhow::Result<()> {
    // One write transaction: a failed seed leaves nothing half-made.
    let txn = state.db.begin_write().await?;
    let db: &sea_orm::DatabaseTransaction = &txn;
    let now = state.clock.now_ms();
    let fail = |e: crate::error::AppError| anyhow::anyhow!("demo seed: {}", e.message);
    let plan = match plans::find_by_code(db, "demo").await.map_err(fail)? {
        Some(plan) => plan.id,
        None => {
            plans::create(db, demo_plan(), now)
                .await
                .map_err(fail)?
                .model
                .id
        }
    };
    let tenant_in = TenantIn {
        name: "Demo Shop".into(),
        plan_id: Some(plan),
        status: None,
        require_event_id: None,
        dedup_window_hours: None,
        dedup_alert_threshold: None,
        browser_enrichment: None,
        meta_endpoint_fanout: None,
        consent_policy: None,
    };
    let tenant = tenants::create(&txn, tenant_in, now).await.map_err(fail)?;
    let scopes = vec!["ingest".into(), "read".into(), "manage".into()];
    let key = api_keys::issue(
        db,
        tenant.id,
        api_keys::ApiKeyIn {
            name: "demo".into(),
            scopes,
        },
        now,
    )
    .await
    .map_err(fail)?;
    for kind in Kind::ALL {
        destinations::create(db, &state.keys, tenant.id, destination(kind), now)
            .await
            .map_err(fail)?;
    }
    txn.commit().await?;
    let event_time = now / 1000;
    println!(
        "\nDemo tenant \"Demo Shop\" ({}) with API key (shown once): {}",
        tenant.id, key.key
    );
    println!("Send a first event (run it twice: the second answer says duplicate):\n");
    println!(
        "curl -s -X POST {base}/v1/events -H 'Authorization: Bearer {}' -H 'Content-Type: application/json' \\\n  -d '{{\"events\":[{{\"event_id\":\"order-1001\",\"event_name\":\"Purchase\",\"event_time\":{event_time},\"action_source\":\"website\",\"event_source_url\":\"https://shop.example/thanks\",\"user_data\":{{\"em\":\"jane@example.com\",\"client_user_agent\":\"curl\"}},\"custom_data\":{{\"value\":42.5,\"currency\":\"USD\",\"order_id\":\"1001\"}},\"ga4\":{{\"client_id\":\"123.456\"}}}}]}}'\n",
        key.key
    );
    println!(
        "The built-in sandbox stands in for Meta and GA4: within a second both deliveries succeed."
    );
    println!(
        "See the event and its deliveries: curl -s {base}/v1/events/order-1001 -H 'Authorization: Bearer {}'",
        key.key
    );
    println!(
        "See what was counted (2: one Meta and one GA4 send; the duplicate never): curl -s {base}/v1/usage -H 'Authorization: Bearer {}'\n",
        key.key
    );
    Ok(())
}
