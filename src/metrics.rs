//! Metrics through OpenTelemetry: served on `/metrics` in Prometheus text and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, exported by OTLP too. Tenant ids are never
//! labels (unbounded cardinality); labels are outcomes, reasons and destination kinds.

use std::sync::LazyLock;
use std::sync::atomic::{AtomicI64, Ordering};

use opentelemetry::KeyValue;
use opentelemetry::metrics::{Counter, Histogram, MeterProvider as _};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, DbErr};

/// Sampled values the observable gauges report (callbacks must not block on the database).
static QUEUE_DEPTH: AtomicI64 = AtomicI64::new(0);
static OLDEST_DUE_AGE_SECONDS: AtomicI64 = AtomicI64::new(0);
static PAUSED_DESTINATIONS: AtomicI64 = AtomicI64::new(0);
static DEDUP_TENANTS_BELOW: AtomicI64 = AtomicI64::new(0);

pub struct Metrics {
    registry: prometheus::Registry,
    _provider: SdkMeterProvider,
    /// Events by `outcome` (accepted, duplicate, skipped, rejected) and `reason`.
    pub events: Counter<u64>,
    /// Destinations skipped at ingest, by `kind` and `reason`.
    pub skipped_destinations: Counter<u64>,
    /// Send results by `kind` and `outcome` (succeeded, retry, failed, dead, paused,
    /// unconfirmed).
    pub sends: Counter<u64>,
    /// Dispatch rounds that could not run, by `stage` (e.g. `read_destination`): the
    /// deliveries stay waiting and are tried again.
    pub dispatch_errors: Counter<u64>,
    /// Duration of each destination request, by `kind`.
    pub attempt_seconds: Histogram<f64>,
    /// Billing runs by `result` (ok, failed).
    pub billing_runs: Counter<u64>,
    /// Browser observations by `result` (stored, failed).
    pub browser_observations: Counter<u64>,
    /// Dedup match-rate alerts recorded (at most one per tenant and day).
    pub dedup_alerts: Counter<u64>,
}

fn build() -> Metrics {
    let registry = prometheus::Registry::new();
    let prometheus_exporter = opentelemetry_prometheus::exporter()
        .with_registry(registry.clone())
        .build()
        .expect("a Prometheus exporter on a fresh registry");
    let mut builder = SdkMeterProvider::builder()
        .with_reader(prometheus_exporter)
        .with_resource(crate::telemetry::resource());
    if crate::telemetry::otlp_enabled() {
        let exporter = opentelemetry_otlp::MetricExporter::builder()
            .with_http()
            .with_protocol(crate::telemetry::otlp_protocol())
            .build();
        if let Ok(exporter) = exporter {
            builder = builder.with_periodic_exporter(exporter);
        }
    }
    let provider = builder.build();
    let meter = provider.meter("kickin");
    let gauge = |name: &'static str, help: &'static str, value: &'static AtomicI64| {
        meter
            .i64_observable_gauge(name)
            .with_description(help)
            .with_callback(move |o| o.observe(value.load(Ordering::Relaxed), &[]))
            .build()
    };
    gauge(
        "kickin.queue.depth",
        "deliveries waiting to be sent (pending)",
        &QUEUE_DEPTH,
    );
    gauge(
        "kickin.queue.oldest_due_age",
        "seconds the oldest due delivery has waited",
        &OLDEST_DUE_AGE_SECONDS,
    );
    gauge(
        "kickin.destinations.paused",
        "destinations paused for rejected credentials",
        &PAUSED_DESTINATIONS,
    );
    gauge(
        "kickin.dedup.tenants_below_threshold",
        "tenants whose last-24-hour match rate is under their alert threshold",
        &DEDUP_TENANTS_BELOW,
    );
    Metrics {
        events: meter
            .u64_counter("kickin.events")
            .with_description("events received, by outcome and reason")
            .build(),
        skipped_destinations: meter
            .u64_counter("kickin.ingest.skipped_destinations")
            .with_description("destinations skipped at ingest")
            .build(),
        sends: meter
            .u64_counter("kickin.dispatch.sends")
            .with_description("destination send results")
            .build(),
        dispatch_errors: meter
            .u64_counter("kickin.dispatch.errors")
            .with_description("dispatch rounds that failed before sending, by stage")
            .build(),
        attempt_seconds: meter
            .f64_histogram("kickin.dispatch.attempt.duration")
            .with_unit("s")
            .with_description("duration of destination requests")
            .with_boundaries(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ])
            .build(),
        billing_runs: meter
            .u64_counter("kickin.billing.runs")
            .with_description("billing runs by result")
            .build(),
        browser_observations: meter
            .u64_counter("kickin.browser.observations")
            .with_description("browser observations received, by result")
            .build(),
        dedup_alerts: meter
            .u64_counter("kickin.dedup.alerts")
            .with_description("dedup match-rate alerts recorded")
            .build(),
        registry,
        _provider: provider,
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(build);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    pub fn event(&self, outcome: &str, reason: &str) {
        self.events.add(
            1,
            &[
                KeyValue::new("outcome", outcome.to_string()),
                KeyValue::new("reason", reason.to_string()),
            ],
        );
    }

    pub fn send(&self, kind: &str, outcome: &str, n: u64) {
        self.sends.add(
            n,
            &[
                KeyValue::new("kind", kind.to_string()),
                KeyValue::new("outcome", outcome.to_string()),
            ],
        );
    }

    pub fn observations(&self, n: u64, stored: bool) {
        let result = if stored { "stored" } else { "failed" };
        self.browser_observations
            .add(n, &[KeyValue::new("result", result)]);
    }

    /// The dedup alert check's findings: alerts it recorded, tenants under threshold.
    pub fn dedup_check(&self, recorded: u64, tenants_below: i64) {
        if recorded > 0 {
            self.dedup_alerts.add(recorded, &[]);
        }
        DEDUP_TENANTS_BELOW.store(tenants_below, Ordering::Relaxed);
    }

    pub fn dispatch_error(&self, stage: &'static str) {
        self.dispatch_errors
            .add(1, &[KeyValue::new("stage", stage)]);
    }

    /// Prometheus text of every metric.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_default()
    }

    /// Samples queue depth, the age of the oldest due delivery and paused destinations.
    pub async fn sample(&self, db: &impl ConnectionTrait, now_ms: i64) -> Result<(), DbErr> {
        let pending = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .expr_as(Expr::cust("MIN(next_attempt_at)"), "oldest")
            .from("deliveries")
            .and_where(Expr::col("status").eq(crate::states::DeliveryStatus::Pending))
            .to_owned();
        if let Some(row) = db.query_one(&pending).await? {
            QUEUE_DEPTH.store(row.try_get("", "n")?, Ordering::Relaxed);
            let oldest: Option<i64> = row.try_get("", "oldest").ok().flatten();
            let age = oldest.map_or(0, |o| Ord::max((now_ms - o) / 1000, 0));
            OLDEST_DUE_AGE_SECONDS.store(age, Ordering::Relaxed);
        }
        let paused = Query::select()
            .expr_as(Expr::cust("COUNT(*)"), "n")
            .from("destinations")
            .and_where(Expr::col("state").eq(crate::states::DestinationState::Paused))
            .and_where(Expr::col("deleted_at").is_null())
            .to_owned();
        if let Some(row) = db.query_one(&paused).await? {
            PAUSED_DESTINATIONS.store(row.try_get("", "n")?, Ordering::Relaxed);
        }
        Ok(())
    }
}
