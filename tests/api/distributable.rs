//! Past one machine: the migrated schema stays distributable by tenant (Citus-style).
//! Every table is either tenant-owned — it has `tenant_id`, its primary key and every
//! unique index include it, a foreign key to another tenant-owned table carries it — or a
//! small reference table named here, replicated whole. The same lists are in the
//! README's "Past one machine".

use std::collections::{BTreeMap, BTreeSet};

use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::db_tests;
use crate::support::{Backend, spawn};

db_tests!(every_tenant_owned_table_is_keyed_and_referenced_by_tenant);

/// Replicated whole: looked up before a tenant is known (credentials by their hash, a
/// portal login by its email, an invite by its token), or not a tenant's at all.
const REFERENCE: [&str; 14] = [
    "admin_sessions",
    "admins",
    "api_keys",
    "audit_log",
    "billing_runs",
    "browser_keys",
    "job_leases",
    "meter_periods",
    "plans",
    "seaql_migrations",
    "tenant_invites",
    "tenant_user_sessions",
    "tenant_users",
    "tenants",
];

#[derive(Default)]
struct Schema {
    columns: BTreeMap<String, BTreeSet<String>>,
    /// table → (key or unique index name, its columns in order).
    keys: Vec<(String, String, Vec<String>)>,
    /// (table, columns, referenced table, referenced columns).
    foreign: Vec<(String, Vec<String>, String, Vec<String>)>,
}

const PG_COLUMNS: &str = "SELECT table_name AS t, column_name AS c FROM information_schema.columns \
    WHERE table_schema = 'public'";
const PG_KEYS: &str = "SELECT c.relname AS t, \
    CASE WHEN ix.indisprimary THEN 'primary key' ELSE i.relname END AS n, coalesce((SELECT string_agg(a.attname, ',' \
    ORDER BY array_position(ix.indkey::int2[], a.attnum)) FROM pg_attribute a WHERE a.attrelid = c.oid \
    AND a.attnum = ANY(ix.indkey)), '') AS c FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid \
    JOIN pg_class i ON i.oid = ix.indexrelid WHERE c.relnamespace = 'public'::regnamespace AND ix.indisunique";
const PG_FOREIGN: &str = "SELECT conrelid::regclass::text AS t, confrelid::regclass::text AS r, \
    (SELECT string_agg(attname, ',' ORDER BY array_position(conkey, attnum)) FROM pg_attribute \
     WHERE attrelid = conrelid AND attnum = ANY(conkey)) AS c, \
    (SELECT string_agg(attname, ',' ORDER BY array_position(confkey, attnum)) FROM pg_attribute \
     WHERE attrelid = confrelid AND attnum = ANY(confkey)) AS rc \
    FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace";
const SQLITE_TABLES: &str =
    "FROM sqlite_master m WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'";

fn sqlite(sql: &str) -> String {
    match sql {
        "columns" => format!(
            "SELECT m.name AS t, p.name AS c FROM pragma_table_info(m.name) p, (SELECT m.name {SQLITE_TABLES}) m"
        ),
        "keys" => format!(
            "SELECT m.name AS t, 'primary key' AS n, group_concat(p.name) AS c \
             FROM (SELECT m.name {SQLITE_TABLES}) m, pragma_table_info(m.name) p WHERE p.pk > 0 GROUP BY m.name \
             UNION ALL SELECT m.name, il.name, coalesce(group_concat(ii.name), '') \
             FROM (SELECT m.name {SQLITE_TABLES}) m, pragma_index_list(m.name) il \
             LEFT JOIN pragma_index_info(il.name) ii WHERE il.\"unique\" = 1 AND il.origin != 'pk' \
             GROUP BY m.name, il.name"
        ),
        _ => format!(
            "SELECT m.name AS t, f.\"table\" AS r, group_concat(f.\"from\") AS c, group_concat(f.\"to\") AS rc \
             FROM (SELECT m.name {SQLITE_TABLES}) m, pragma_foreign_key_list(m.name) f GROUP BY m.name, f.id"
        ),
    }
}

async fn rows(db: &impl ConnectionTrait, sql: String, cols: &[&str]) -> Vec<Vec<String>> {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let rows = db.query_all_raw(statement).await.expect("reads the schema");
    rows.iter()
        .map(|row| {
            let get = |c: &&str| {
                row.try_get::<Option<String>>("", c)
                    .unwrap()
                    .unwrap_or_default()
            };
            cols.iter().map(get).collect()
        })
        .collect()
}

fn list(csv: &str) -> Vec<String> {
    csv.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

async fn read(db: &impl ConnectionTrait) -> Schema {
    let pg = db.get_database_backend() == DatabaseBackend::Postgres;
    let sql = |pg_sql: &str, name: &str| if pg { pg_sql.to_string() } else { sqlite(name) };
    let mut schema = Schema::default();
    for r in rows(db, sql(PG_COLUMNS, "columns"), &["t", "c"]).await {
        schema
            .columns
            .entry(r[0].clone())
            .or_default()
            .insert(r[1].clone());
    }
    for r in rows(db, sql(PG_KEYS, "keys"), &["t", "n", "c"]).await {
        schema.keys.push((r[0].clone(), r[1].clone(), list(&r[2])));
    }
    for r in rows(db, sql(PG_FOREIGN, "foreign"), &["t", "c", "r", "rc"]).await {
        let strip = |s: &str| s.trim_matches('"').to_string();
        schema
            .foreign
            .push((strip(&r[0]), list(&r[1]), strip(&r[2]), list(&r[3])));
    }
    schema
}

/// Every way `schema` is not distributable by tenant, one line each.
fn violations(schema: &Schema) -> Vec<String> {
    let owned = |t: &str| !REFERENCE.contains(&t);
    let mut out = Vec::new();
    for (table, columns) in &schema.columns {
        if owned(table) && !columns.contains("tenant_id") {
            out.push(format!("{table}: no tenant_id and not a reference table"));
        }
        if owned(table)
            && !schema
                .keys
                .iter()
                .any(|(t, n, _)| t == table && n == "primary key")
        {
            out.push(format!("{table}: no primary key"));
        }
    }
    for (table, name, cols) in schema.keys.iter().filter(|(t, ..)| owned(t)) {
        if !cols.iter().any(|c| c == "tenant_id") {
            out.push(format!(
                "{table}: unique {name} ({}) lacks tenant_id",
                cols.join(", ")
            ));
        }
    }
    for (table, cols, target, target_cols) in &schema.foreign {
        let carried = cols
            .iter()
            .zip(target_cols)
            .any(|(c, r)| c == "tenant_id" && r == "tenant_id");
        if owned(table) && owned(target) && !carried {
            out.push(format!(
                "{table} → {target}: the foreign key does not carry tenant_id"
            ));
        }
        if !owned(table) && owned(target) {
            out.push(format!(
                "{table} → {target}: a reference table points into a tenant's rows"
            ));
        }
    }
    out
}

async fn every_tenant_owned_table_is_keyed_and_referenced_by_tenant(backend: Backend) {
    let app = spawn(backend).await;
    let schema = read(&app.state.db.conn).await;
    let owned: Vec<&String> = schema
        .columns
        .keys()
        .filter(|t| !REFERENCE.contains(&t.as_str()))
        .collect();
    assert!(owned.len() >= 15, "the schema was read: {owned:?}");
    for table in ["events", "deliveries", "dedup_keys", "usage_meter"] {
        assert!(owned.iter().any(|t| *t == table), "{table} in {owned:?}");
    }
    let keys_of_events = schema.keys.iter().filter(|(t, ..)| t == "events").count();
    assert!(keys_of_events >= 1, "unique indexes were read");
    assert_eq!(violations(&schema), Vec::<String>::new());

    // The rule bites: a unique index without tenant_id, and a cross-tenant foreign key.
    let mut broken = Schema {
        columns: schema.columns.clone(),
        ..Default::default()
    };
    broken.keys = schema.keys.clone();
    broken
        .keys
        .push(("events".into(), "events_by_id".into(), vec!["id".into()]));
    broken.foreign.push((
        "deliveries".into(),
        vec!["event_id".into()],
        "events".into(),
        vec!["id".into()],
    ));
    broken.foreign.push((
        "tenants".into(),
        vec!["id".into()],
        "events".into(),
        vec!["tenant_id".into()],
    ));
    assert_eq!(violations(&broken).len(), 3, "{:?}", violations(&broken));
}
