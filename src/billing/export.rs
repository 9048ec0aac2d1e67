//! The reconciliation export of an invoice: one CSV row per counted delivery behind it
//! (delivery id, destination kind, event_name, event_id, succeeded_at), so its row count
//! equals the billed units. No PII: ids and names only.
//!
//! Streamed: the rows are read by keyset on `(succeeded_at, id)` in pages of
//! [`CHUNK_ROWS`] and each page is written out as one piece, so an export holds one page
//! in memory whatever the invoice's size (10 M rows are 10,000 pages of ~100 KB). The
//! month is closed, so no row joins or leaves the set between pages.
//!
//! Event names and ids are the tenant's own text: a cell a spreadsheet would evaluate
//! as a formula is neutralized (OWASP "CSV injection").

use std::borrow::Cow;

use futures_util::Stream;
use sea_orm::sea_query::ExprTrait;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect,
};
use std::collections::HashMap;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::{deliveries, events, invoices};
use crate::error::{AppError, AppResult};
use crate::metering::usage::{period_end_ms, period_start_ms};
use crate::states::DeliveryStatus;

/// Rows per page: one keyset query, one event-name lookup (1,000 bound ids stay well
/// inside SQLite's and PostgreSQL's parameter limits) and one piece of the body.
pub const CHUNK_ROWS: u64 = 1_000;

const HEADER: [&str; 5] = [
    "delivery_id",
    "destination_kind",
    "event_name",
    "event_id",
    "succeeded_at",
];

/// The characters that make a spreadsheet read a cell as a formula (or, for tab and
/// carriage return, move it to one).
const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as a spreadsheet shows it as text: one starting like a formula gets a
/// leading single quote.
pub fn neutralize(cell: &str) -> Cow<'_, str> {
    if cell.starts_with(FORMULA_STARTS) {
        Cow::Owned(format!("'{cell}"))
    } else {
        Cow::Borrowed(cell)
    }
}

/// Where the next page starts: after this `(succeeded_at, id)`.
type Keyset = (i64, Uuid);

struct Row {
    id: Uuid,
    kind: String,
    event_row_id: Uuid,
    succeeded_at: i64,
}

/// What the stream does next.
enum Next {
    /// Hand out the first piece (read before the response started).
    First(Vec<u8>, Option<Keyset>),
    /// Read the page after this row.
    After(Keyset),
    Done,
}

/// The export of `invoice` as pieces of CSV of at most `chunk_rows` rows each (the
/// header travels with the first). The first page is read before this returns, so a
/// database failure answers an error instead of cutting a download short.
pub async fn reconciliation_csv(
    db: DatabaseConnection,
    invoice: invoices::Model,
    chunk_rows: u64,
) -> AppResult<impl Stream<Item = AppResult<Vec<u8>>> + 'static> {
    let (first, after) = piece(&db, &invoice, None, chunk_rows).await?;
    let state = (db, invoice, Next::First(first, after));
    Ok(futures_util::stream::try_unfold(
        state,
        move |(db, invoice, next)| async move {
            let (bytes, after) = match next {
                Next::First(bytes, after) => (bytes, after),
                Next::After(keyset) => piece(&db, &invoice, Some(keyset), chunk_rows).await?,
                Next::Done => return Ok(None),
            };
            if bytes.is_empty() {
                return Ok(None);
            }
            let next = after.map_or(Next::Done, Next::After);
            Ok(Some((bytes, (db, invoice, next))))
        },
    ))
}

/// One page as CSV, and where the next page starts (`None` after a short page).
async fn piece(
    db: &impl ConnectionTrait,
    invoice: &invoices::Model,
    after: Option<Keyset>,
    chunk_rows: u64,
) -> AppResult<(Vec<u8>, Option<Keyset>)> {
    let rows = page(db, invoice, after, chunk_rows).await?;
    let names = event_names(db, invoice.tenant_id, &rows).await?;
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal(format!("writing the export: {e}"));
    if after.is_none() {
        out.write_record(HEADER).map_err(fail)?;
    }
    for row in &rows {
        let (name, event_id) = names
            .get(&row.event_row_id)
            .map(|(n, i)| (n.as_str(), i.as_str()))
            .unwrap_or_default();
        let (id, at) = (row.id.to_string(), rfc3339(row.succeeded_at));
        let cells = [id.as_str(), row.kind.as_str(), name, event_id, at.as_str()];
        out.write_record(cells.map(neutralize).iter().map(|c| c.as_bytes()))
            .map_err(fail)?;
    }
    let bytes = out
        .into_inner()
        .map_err(|e| AppError::internal(format!("writing the export: {e}")))?;
    let full = rows.len() as u64 == chunk_rows;
    let next = rows.last().filter(|_| full).map(|r| (r.succeeded_at, r.id));
    Ok((bytes, next))
}

/// The invoice's counted deliveries after `after`, in `(succeeded_at, id)` order.
async fn page(
    db: &impl ConnectionTrait,
    invoice: &invoices::Model,
    after: Option<Keyset>,
    limit: u64,
) -> AppResult<Vec<Row>> {
    use deliveries::Column as C;
    let mut query = deliveries::Entity::find()
        .select_only()
        .columns([C::Id, C::Kind, C::EventRowId, C::SucceededAt])
        .filter(C::TenantId.eq(invoice.tenant_id))
        .filter(C::Status.eq(DeliveryStatus::Succeeded))
        .filter(C::SucceededAt.gte(period_start_ms(&invoice.period)))
        .filter(C::SucceededAt.lt(period_end_ms(&invoice.period)));
    if let Some((at, id)) = after {
        query = query.filter(
            Condition::any()
                .add(C::SucceededAt.gt(at))
                .add(C::SucceededAt.eq(at).and(C::Id.gt(id))),
        );
    }
    let rows: Vec<(Uuid, String, Uuid, Option<i64>)> = query
        .order_by_asc(C::SucceededAt)
        .order_by_asc(C::Id)
        .limit(limit)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, event_row_id, at)| Row {
            id,
            kind,
            event_row_id,
            // The filter above only lets rows with a success time through.
            succeeded_at: at.unwrap_or_default(),
        })
        .collect())
}

/// `(event_name, event_id)` of the page's events.
async fn event_names(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    rows: &[Row],
) -> AppResult<HashMap<Uuid, (String, String)>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let ids: Vec<Uuid> = rows.iter().map(|r| r.event_row_id).collect();
    let found: Vec<(Uuid, String, String)> = events::Entity::find()
        .select_only()
        .columns([
            events::Column::Id,
            events::Column::EventName,
            events::Column::EventId,
        ])
        .filter(events::Column::TenantId.eq(tenant_id))
        .filter(events::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    Ok(found
        .into_iter()
        .map(|(id, name, event_id)| (id, (name, event_id)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::neutralize;

    #[test]
    fn cells_a_spreadsheet_would_evaluate_get_a_leading_quote() {
        for cell in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert_eq!(neutralize(cell), format!("'{cell}"));
        }
        for cell in ["Purchase", "order-1", "a=b", "", "'quoted"] {
            assert_eq!(neutralize(cell), cell);
        }
    }
}
