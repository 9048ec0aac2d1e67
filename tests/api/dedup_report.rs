//! The dedup report: every category exact whichever side arrives first, the 48-hour
//! window, month boundaries, alerts, enrichment and retention.

use kickin::clock::{MS_PER_DAY, MS_PER_HOUR};
use reqwest::Method;
use serde_json::{Value, json};

use crate::browser_support::{
    VISITOR, beacon, browser_key, categories, counts, move_to, next_month, observation, report,
    run_matcher, send_server, server_event,
};
use crate::db_tests;
use crate::support::{Backend, Tenant, TestApp, column, spawn};

db_tests!(
    every_category_is_counted_exactly_with_real_examples,
    the_outcome_is_the_same_whichever_side_arrives_first,
    the_48_hour_window_counts_from_the_server_events_arrival_in_either_order,
    a_pair_across_a_month_boundary_is_counted_on_each_sides_own_day,
    a_low_match_rate_records_one_alert_a_day_and_shows_it_in_metrics,
    enrichment_gives_a_server_event_the_identifiers_of_its_matched_observation,
    observations_go_after_the_plans_retention_and_the_counts_stay,
    the_report_answers_only_the_tenants_read_keys_and_checks_its_period,
    any_arrival_order_gives_the_counts_the_rules_give_for_all_rows_at_once,
);

fn visitor(n: u32) -> String {
    format!("fb.1.1764590000000.{n}")
}

/// The browser side of the reference scenario.
fn pixel_side(app: &TestApp) -> Vec<Value> {
    vec![
        observation(app, "Purchase", Some("order_1"), Some(&visitor(1))),
        observation(app, "purchase", Some("order_2"), Some(&visitor(2))),
        observation(app, "Purchase", Some("pixel-3"), Some(&visitor(3))),
        observation(app, "Purchase", None, Some(&visitor(4))),
        observation(app, "AddToCart", Some("atc-6"), Some(&visitor(6))),
    ]
}

/// The server side of the reference scenario.
fn server_side(app: &TestApp) -> Vec<Value> {
    (1..=5)
        .map(|n| server_event(app, "Purchase", &format!("order_{n}"), Some(&visitor(n))))
        .collect()
}

fn expected() -> Vec<(String, i64)> {
    counts(&[
        ("matched", 1),
        ("name_case_mismatch", 1),
        ("id_mismatch", 1),
        ("browser_missing_event_id", 1),
        ("server_only", 1),
        ("browser_only", 1),
    ])
}

async fn shop(app: &TestApp) -> (Tenant, String) {
    let t = app.create_tenant(json!({})).await;
    app.add_meta(&t).await;
    let (_, key) = browser_key(app, &t, &["https://shop.example"]).await;
    (t, key)
}

async fn every_category_is_counted_exactly_with_real_examples(backend: Backend) {
    let app = spawn(backend).await;
    let (t, key) = shop(&app).await;
    move_to(&app, next_month(&app, 10 * MS_PER_DAY)).await;
    // A pixel that fires 49 hours before its server event: a timing gap.
    let early = observation(&app, "Purchase", Some("order_7"), Some(&visitor(7)));
    assert_eq!(beacon(&app, &key, vec![early]).await.status, 204);
    move_to(&app, app.clock.now_ms() + 49 * MS_PER_HOUR).await;
    assert_eq!(beacon(&app, &key, pixel_side(&app)).await.status, 204);
    let mut server = server_side(&app);
    server.push(server_event(&app, "Purchase", "order_7", Some(&visitor(7))));
    send_server(&app, &t, server).await;
    run_matcher(&app).await;

    let r = report(&app, &t, None).await;
    let mut want = expected();
    want.push(("timing_gap".into(), 1));
    want.sort();
    assert_eq!(categories(&r), want, "{r}");
    assert_eq!(r["server_events"], 6);
    assert_eq!(r["browser_events"], 6);
    assert_eq!(r["match_rate"].as_f64().unwrap(), 1.0 / 6.0);
    let days = r["by_day"].as_array().unwrap();
    assert_eq!(days.len() as i64, 13, "the 1st to today, the 13th");
    let sums = |f: &str| days.iter().map(|d| d[f].as_i64().unwrap()).sum::<i64>();
    assert_eq!(
        (sums("server"), sums("browser"), sums("matched")),
        (6, 6, 1)
    );
    assert_eq!(days[10]["browser"], 1, "the early pixel on the 11th");

    let ex = &r["examples"];
    assert_eq!(ex["matched"][0]["server_event_id"], "order_1");
    assert_eq!(ex["matched"][0]["browser_event_id"], "order_1");
    assert_eq!(ex["name_case_mismatch"][0]["event_name"], "Purchase");
    assert_eq!(
        ex["name_case_mismatch"][0]["browser_event_name"],
        "purchase"
    );
    assert_eq!(ex["id_mismatch"][0]["browser_event_id"], "pixel-3");
    assert_eq!(ex["id_mismatch"][0]["server_event_id"], "order_3");
    assert_eq!(
        ex["browser_missing_event_id"][0]["browser_event_id"],
        Value::Null
    );
    assert_eq!(
        ex["browser_missing_event_id"][0]["server_event_id"],
        "order_4"
    );
    assert_eq!(ex["server_only"][0]["browser_ts_ms"], Value::Null);
    assert_eq!(ex["browser_only"][0]["event_name"], "AddToCart");
    assert_eq!(ex["browser_only"][0]["server_event_id"], Value::Null);
    let gap = &ex["timing_gap"][0];
    let (server_s, pixel_ms) = (
        gap["server_event_time"].as_i64().unwrap(),
        gap["browser_ts_ms"].as_i64().unwrap(),
    );
    assert!(server_s * 1000 - pixel_ms > 48 * MS_PER_HOUR, "{gap}");
    assert_eq!(gap["page_url"], "https://shop.example/thanks");

    assert_eq!(run_matcher(&app).await, 0, "nothing new: nothing redone");
    assert_eq!(report(&app, &t, None).await["categories"], r["categories"]);
}

/// Sends the reference scenario in `order`, running the matcher between the steps.
async fn scenario(app: &TestApp, t: &Tenant, key: &str, pixel_first: bool) {
    for side in [pixel_first, !pixel_first] {
        if side {
            assert_eq!(beacon(app, key, pixel_side(app)).await.status, 204);
        } else {
            send_server(app, t, server_side(app)).await;
        }
        run_matcher(app).await;
    }
}

async fn the_outcome_is_the_same_whichever_side_arrives_first(backend: Backend) {
    let app = spawn(backend).await;
    let (pixel_first, key_a) = shop(&app).await;
    let (server_first, key_b) = shop(&app).await;
    let (together, key_c) = shop(&app).await;
    scenario(&app, &pixel_first, &key_a, true).await;
    scenario(&app, &server_first, &key_b, false).await;
    assert_eq!(beacon(&app, &key_c, pixel_side(&app)).await.status, 204);
    send_server(&app, &together, server_side(&app)).await;
    run_matcher(&app).await;
    for t in [&pixel_first, &server_first, &together] {
        let r = report(&app, t, None).await;
        assert_eq!(categories(&r), expected(), "{r}");
        assert_eq!(r["server_events"], 5);
        assert_eq!(r["browser_events"], 5);
    }

    // A late exact match takes the observation a same-visitor pair had claimed, and that
    // server event falls back to server_only: the counts move, never double.
    send_server(
        &app,
        &server_first,
        vec![server_event(&app, "Purchase", "pixel-3", Some(&visitor(3)))],
    )
    .await;
    run_matcher(&app).await;
    let r = report(&app, &server_first, None).await;
    assert_eq!(
        categories(&r),
        counts(&[
            ("matched", 2),
            ("name_case_mismatch", 1),
            ("browser_missing_event_id", 1),
            ("server_only", 2),
            ("browser_only", 1),
        ]),
        "{r}"
    );
}

async fn the_48_hour_window_counts_from_the_server_events_arrival_in_either_order(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let (t, key) = shop(&app).await;
    move_to(&app, next_month(&app, 5 * MS_PER_DAY)).await;
    let pixels = vec![
        observation(&app, "Purchase", Some("inside"), None),
        observation(&app, "Purchase", Some("outside"), None),
    ];
    assert_eq!(beacon(&app, &key, pixels).await.status, 204);
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Lead", "server-first", None)],
    )
    .await;
    run_matcher(&app).await;

    move_to(&app, app.clock.now_ms() + 48 * MS_PER_HOUR - 60_000).await;
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Purchase", "inside", None)],
    )
    .await;
    move_to(&app, app.clock.now_ms() + 2 * 60_000).await;
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Purchase", "outside", None)],
    )
    .await;
    let late = observation(&app, "Lead", Some("server-first"), None);
    assert_eq!(beacon(&app, &key, vec![late]).await.status, 204);
    run_matcher(&app).await;
    let r = report(&app, &t, None).await;
    assert_eq!(
        categories(&r),
        counts(&[("matched", 1), ("timing_gap", 2)]),
        "{r}"
    );
    assert_eq!(r["examples"]["matched"][0]["server_event_id"], "inside");
    let gaps: Vec<&str> = (r["examples"]["timing_gap"].as_array().unwrap().iter())
        .map(|e| e["server_event_id"].as_str().unwrap())
        .collect();
    assert!(
        gaps.contains(&"outside") && gaps.contains(&"server-first"),
        "{gaps:?}"
    );
}

async fn a_pair_across_a_month_boundary_is_counted_on_each_sides_own_day(backend: Backend) {
    let app = spawn(backend).await;
    let (t, key) = shop(&app).await;
    let boundary = next_month(&app, 0);
    move_to(&app, boundary - 10 * 60_000).await;
    let first = kickin::period::Period::of(app.clock.now_ms()).to_string();
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Purchase", "order_m", Some(VISITOR))],
    )
    .await;
    run_matcher(&app).await;
    move_to(&app, boundary + 10 * 60_000).await;
    let second = kickin::period::Period::of(app.clock.now_ms()).to_string();
    let pixel = observation(&app, "Purchase", Some("order_m"), Some(VISITOR));
    assert_eq!(beacon(&app, &key, vec![pixel]).await.status, 204);
    run_matcher(&app).await;

    let old = report(&app, &t, Some(&first)).await;
    assert_eq!(categories(&old), counts(&[("matched", 1)]), "{old}");
    assert_eq!(old["browser_events"], 0);
    let last_day = old["by_day"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last_day["server"].as_i64(), last_day["matched"].as_i64()),
        (Some(1), Some(1))
    );
    let new = report(&app, &t, Some(&second)).await;
    assert_eq!(new["browser_events"], 1);
    assert_eq!(new["server_events"], 0);
    assert_eq!(
        new["categories"]["browser_only"], 0,
        "claimed by last month's event"
    );
    assert_eq!(
        new["match_rate"],
        Value::Null,
        "no server events this month"
    );
}

async fn a_low_match_rate_records_one_alert_a_day_and_shows_it_in_metrics(backend: Backend) {
    let app = spawn(backend).await;
    let (low, key) = shop(&app).await;
    let (healthy, healthy_key) = shop(&app).await;
    let (quiet, _) = shop(&app).await;
    move_to(&app, next_month(&app, 3 * MS_PER_DAY)).await;
    let events = |prefix: &str, n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| server_event(&app, "Purchase", &format!("{prefix}-{i}"), None))
            .collect()
    };
    send_server(&app, &low, events("low", 60)).await;
    let pixels: Vec<Value> = (0..30)
        .map(|i| observation(&app, "Purchase", Some(&format!("low-{i}")), None))
        .collect();
    assert_eq!(beacon(&app, &key, pixels).await.status, 204);
    send_server(&app, &healthy, events("ok", 50)).await;
    let pixels: Vec<Value> = (0..45)
        .map(|i| observation(&app, "Purchase", Some(&format!("ok-{i}")), None))
        .collect();
    assert_eq!(beacon(&app, &healthy_key, pixels).await.status, 204);
    send_server(&app, &quiet, events("q", 10)).await;
    run_matcher(&app).await;

    let check = || kickin::browser::alerts::check(&app.state.db, app.clock.now_ms());
    assert_eq!(
        check().await.unwrap(),
        0,
        "the last minutes are left for late sides"
    );
    move_to(&app, app.clock.now_ms() + 11 * 60_000).await;
    assert_eq!(check().await.unwrap(), 1, "only the tenant at 50 %");
    assert_eq!(check().await.unwrap(), 0, "once a day");
    let r = report(&app, &low, None).await;
    assert_eq!(r["alerts"].as_array().unwrap().len(), 1, "{r}");
    assert_eq!(r["alerts"][0]["match_rate"], 0.5);
    assert_eq!(r["alerts"][0]["threshold"], 0.8);
    assert_eq!(report(&app, &healthy, None).await["alerts"], json!([]));
    let (_, metrics) = app.get("/metrics", None).await;
    let metrics = metrics.as_str().unwrap().to_string();
    assert!(metrics.contains("kickin_dedup_alerts_total"), "{metrics}");
    assert!(!metrics.contains(&low.id), "no tenant label");

    // A stricter threshold on the healthy tenant (90 %) alerts it too.
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", healthy.id),
            Some(json!({"dedup_alert_threshold": 0.95})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["dedup_alert_threshold"], 0.95);
    assert_eq!(check().await.unwrap(), 1);
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", healthy.id),
            Some(json!({"dedup_alert_threshold": 1.5})),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["error"]["field"], "dedup_alert_threshold");
}

async fn server_row_id(app: &TestApp, tenant: &Tenant, event_id: &str) -> uuid::Uuid {
    let ids: Vec<uuid::Uuid> = column(
        &app.state.db.conn,
        "SELECT id FROM events WHERE tenant_id = ? AND event_id = ?",
        vec![
            uuid::Uuid::parse_str(&tenant.id).unwrap().into(),
            event_id.into(),
        ],
        "id",
    )
    .await;
    ids[0]
}

async fn enrichment_gives_a_server_event_the_identifiers_of_its_matched_observation(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let (t, key) = shop(&app).await;
    let (status, body) = app
        .admin(Method::GET, &format!("/tenants/{}", t.id), None)
        .await;
    assert_eq!(
        (status, &body["browser_enrichment"]),
        (200, &json!(false)),
        "off by default"
    );
    let mut pixel = observation(&app, "Purchase", Some("order_e"), Some(VISITOR));
    pixel["fbc"] = json!("fb.1.1764590000000.IwAR-click");
    let other = observation(&app, "Purchase", Some("order_x"), Some(VISITOR));
    assert_eq!(beacon(&app, &key, vec![pixel, other]).await.status, 204);
    send_server(
        &app,
        &t,
        vec![
            server_event(&app, "Purchase", "order_e", None),
            server_event(&app, "Lead", "order_x", None),
        ],
    )
    .await;
    let (row, unmatched) = (
        server_row_id(&app, &t, "order_e").await,
        server_row_id(&app, &t, "order_x").await,
    );
    let tenant_id = uuid::Uuid::parse_str(&t.id).unwrap();
    let rows = [row, unmatched];
    let lookup = || {
        kickin::browser::enrich::identifiers_for(
            &app.state.db.conn,
            &app.state.keys,
            tenant_id,
            &rows,
        )
    };
    assert!(
        lookup().await.unwrap().is_empty(),
        "the tenant has not turned it on"
    );
    let (status, _) = app
        .admin(
            Method::PATCH,
            &format!("/tenants/{}", t.id),
            Some(json!({"browser_enrichment": true})),
        )
        .await;
    assert_eq!(status, 200);
    let want = json!({"fbp": VISITOR, "fbc": "fb.1.1764590000000.IwAR-click"});
    let before = lookup().await.unwrap();
    assert_eq!(
        Value::Object(before[&row].clone()),
        want,
        "before the matcher ran"
    );
    assert!(!before.contains_key(&unmatched), "another name is no match");
    run_matcher(&app).await;
    let after = lookup().await.unwrap();
    assert_eq!(
        Value::Object(after[&row].clone()),
        want,
        "from the stored pair"
    );
    assert_eq!(after.len(), 1);
}

async fn observations_go_after_the_plans_retention_and_the_counts_stay(backend: Backend) {
    let app = spawn(backend).await;
    let (t, key) = shop(&app).await;
    move_to(&app, next_month(&app, 2 * MS_PER_DAY)).await;
    let period = kickin::period::Period::of(app.clock.now_ms()).to_string();
    let pixels = vec![
        observation(&app, "Purchase", Some("order_r"), Some(VISITOR)),
        observation(&app, "PageView", None, Some(VISITOR)),
    ];
    assert_eq!(beacon(&app, &key, pixels).await.status, 204);
    send_server(
        &app,
        &t,
        vec![server_event(&app, "Purchase", "order_r", Some(VISITOR))],
    )
    .await;
    run_matcher(&app).await;
    let before = report(&app, &t, Some(&period)).await;

    move_to(&app, app.clock.now_ms() + 29 * MS_PER_DAY).await;
    let purge = || kickin::browser::purge::purge(&app.state.db, app.clock.now_ms());
    assert_eq!(purge().await.unwrap(), 0, "inside the 30 days");
    move_to(&app, app.clock.now_ms() + 2 * MS_PER_DAY).await;
    assert_eq!(purge().await.unwrap(), 2);
    assert_eq!(app.count_rows("browser_events", &t.id).await, 0);
    // The server event's row stays until the matcher's cursor (real time, two minutes
    // behind) has passed it, so it is never taken for a new event.
    assert_eq!(app.count_rows("dedup_matches", &t.id).await, 1);
    assert_eq!(run_matcher(&app).await, 0);
    let after = report(&app, &t, Some(&period)).await;
    assert_eq!(after["categories"], before["categories"], "counts stay");
    let example = &after["examples"]["matched"][0];
    assert_eq!(example["server_event_id"], "order_r");
    assert_eq!(
        example["browser_ts_ms"],
        Value::Null,
        "the observation is gone"
    );
}

async fn the_report_answers_only_the_tenants_read_keys_and_checks_its_period(backend: Backend) {
    let app = spawn(backend).await;
    let (t, _) = shop(&app).await;
    let ingest_only = app.issue_key(&t.id, &["ingest"]).await;
    let (status, _) = app.get("/v1/dedup/report", Some(&ingest_only)).await;
    assert_eq!(status, 403);
    let (status, _) = app.get("/v1/dedup/report", None).await;
    assert_eq!(status, 401);
    let (status, body) = app
        .get("/v1/dedup/report?period=2026-13", Some(&t.key))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "period");
    let r = report(&app, &t, Some("2025-02")).await;
    assert_eq!(r["period"], "2025-02");
    assert_eq!(
        r["by_day"].as_array().unwrap().len(),
        28,
        "every day of a past month"
    );
    assert_eq!(r["match_rate"], Value::Null);
    let keys: Vec<&str> = r["examples"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(keys.len(), 7, "{keys:?}");
    let future = report(&app, &t, Some("2999-01")).await;
    assert_eq!(future["by_day"], json!([]));
}

/// A small deterministic generator (no dependency on a random crate's versions).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// The rules applied to every stored row of the tenant at once.
async fn all_at_once(app: &TestApp, tenant: &Tenant) -> Vec<(String, i64)> {
    use kickin::browser::matching::{BrowserEvent, Category, ServerEvent, assign};
    use kickin::entities::{browser_events, dedup_matches};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    let tenant_id = uuid::Uuid::parse_str(&tenant.id).unwrap();
    let db = &app.state.db.conn;
    let stored_s = dedup_matches::Entity::find()
        .filter(dedup_matches::Column::TenantId.eq(tenant_id))
        .all(db)
        .await
        .unwrap();
    let stored_b = browser_events::Entity::find()
        .filter(browser_events::Column::TenantId.eq(tenant_id))
        .all(db)
        .await
        .unwrap();
    let servers: Vec<ServerEvent> = (stored_s.iter().cloned())
        .map(|m| ServerEvent {
            row_id: m.event_row_id,
            event_name: m.event_name,
            event_id: m.event_id,
            fbp: m.fbp_hash,
            event_time_ms: m.event_time,
            received_at_ms: m.received_at,
        })
        .collect();
    let browsers: Vec<BrowserEvent> = (stored_b.iter().cloned())
        .map(|b| BrowserEvent {
            row_id: b.id,
            event_name: b.event_name,
            event_id: b.event_id,
            fbp: b.fbp_hash,
            fired_at_ms: b.fired_at,
        })
        .collect();
    let outcome = assign(&servers, &browsers);
    for m in &stored_s {
        let stored = (Category::parse(&m.category).unwrap(), m.browser_row_id);
        assert_eq!(
            stored, outcome.servers[&m.event_row_id],
            "server {}",
            m.event_id
        );
    }
    for b in &stored_b {
        assert_eq!(
            b.claimed_by, outcome.browsers[&b.id],
            "pixel {:?}",
            b.event_id
        );
    }
    let mut want = Vec::new();
    for c in Category::SERVER {
        let n = outcome.servers.values().filter(|(k, _)| *k == c).count() as i64;
        want.push((c.as_str().to_string(), n));
    }
    let unclaimed = outcome.browsers.values().filter(|b| b.is_none()).count() as i64;
    want.push(("browser_only".into(), unclaimed));
    want.retain(|(_, n)| *n != 0);
    want.sort();
    want
}

async fn any_arrival_order_gives_the_counts_the_rules_give_for_all_rows_at_once(backend: Backend) {
    let app = spawn(backend).await;
    let names = ["Purchase", "purchase", "Lead"];
    for seed in 1..=4u64 {
        let (t, key) = shop(&app).await;
        let mut rng = Lcg(seed);
        let visitor_of = |rng: &mut Lcg| match rng.next(4) {
            0 => None,
            v => Some(visitor(v as u32)),
        };
        // Twelve distinct server keys, fifteen pixels competing for them.
        let mut servers = Vec::new();
        for i in 0..12usize {
            let fbp = visitor_of(&mut rng);
            let id = format!("o{}", i % 6);
            servers.push(server_event(&app, names[(i / 6) * 2], &id, fbp.as_deref()));
        }
        let mut pixels = Vec::new();
        for i in 0..15 {
            let name = names[rng.next(3) as usize];
            let id = match rng.next(8) {
                0 | 1 => None,
                2 => Some(format!("px{i}")),
                n => Some(format!("o{}", n - 2)),
            };
            let fbp = visitor_of(&mut rng);
            pixels.push(observation(&app, name, id.as_deref(), fbp.as_deref()));
        }
        // Chunks of either side in a seed-chosen order, the matcher between them.
        let mut chunks: Vec<(bool, Vec<Value>)> = Vec::new();
        chunks.extend(servers.chunks(5).map(|c| (true, c.to_vec())));
        chunks.extend(pixels.chunks(4).map(|c| (false, c.to_vec())));
        for i in (1..chunks.len()).rev() {
            chunks.swap(i, rng.next(i as u64 + 1) as usize);
        }
        for (is_server, rows) in chunks {
            if is_server {
                send_server(&app, &t, rows).await;
            } else {
                assert_eq!(beacon(&app, &key, rows).await.status, 204);
            }
            run_matcher(&app).await;
        }
        let r = report(&app, &t, None).await;
        assert_eq!(r["server_events"], 12);
        assert_eq!(r["browser_events"], 15);
        assert_eq!(
            categories(&r),
            all_at_once(&app, &t).await,
            "seed {seed}: {r}"
        );
    }
}
