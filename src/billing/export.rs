//! The reconciliation export of an invoice: one CSV row per counted delivery behind it
//! (delivery id, destination kind, event_name, event_id, succeeded_at). Its row count
//! equals the billed units. No PII: ids and names only.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use std::collections::HashMap;

use crate::clock::rfc3339;
use crate::entities::{deliveries, events, invoices};
use crate::error::AppResult;
use crate::metering::usage::{period_end_ms, period_start_ms};

/// Quotes a CSV field when needed (RFC 4180).
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

pub async fn reconciliation_csv(
    db: &impl ConnectionTrait,
    invoice: &invoices::Model,
) -> AppResult<String> {
    let rows = deliveries::Entity::find()
        .filter(deliveries::Column::TenantId.eq(invoice.tenant_id))
        .filter(deliveries::Column::Status.eq("succeeded"))
        .filter(deliveries::Column::SucceededAt.gte(period_start_ms(&invoice.period)))
        .filter(deliveries::Column::SucceededAt.lt(period_end_ms(&invoice.period)))
        .order_by_asc(deliveries::Column::SucceededAt)
        .order_by_asc(deliveries::Column::Id)
        .all(db)
        .await?;
    let mut names: HashMap<uuid::Uuid, (String, String)> = HashMap::new();
    for chunk in rows.chunks(500) {
        let ids: Vec<uuid::Uuid> = chunk.iter().map(|d| d.event_row_id).collect();
        for e in events::Entity::find()
            .filter(events::Column::TenantId.eq(invoice.tenant_id))
            .filter(events::Column::Id.is_in(ids))
            .all(db)
            .await?
        {
            names.insert(e.id, (e.event_name, e.event_id));
        }
    }
    let mut csv = String::from("delivery_id,destination_kind,event_name,event_id,succeeded_at\n");
    for d in rows {
        let (name, id) = names.get(&d.event_row_id).cloned().unwrap_or_default();
        let at = d.succeeded_at.map(rfc3339).unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            d.id,
            d.kind,
            field(&name),
            field(&id),
            at
        ));
    }
    Ok(csv)
}

#[cfg(test)]
mod tests {
    #[test]
    fn fields_with_commas_or_quotes_are_quoted() {
        assert_eq!(super::field("a,b"), "\"a,b\"");
        assert_eq!(super::field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(super::field("plain"), "plain");
    }
}
