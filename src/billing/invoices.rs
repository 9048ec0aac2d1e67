//! Invoices: one per tenant and month (a unique index makes a second insert a no-op),
//! lines copied from the plan's prices at issue time, so later plan edits never change
//! an issued invoice.

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use uuid::Uuid;

use crate::clock::rfc3339;
use crate::entities::{invoice_lines, invoices};
use crate::error::{AppError, AppResult};
use crate::page::{Page, PageRequest};
use crate::plans::pricing::Priced;
use crate::states::SyncStatus;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LineOut {
    pub description: String,
    pub quantity: i64,
    pub unit_price_per_1000: i64,
    pub amount: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct InvoiceOut {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub period: String,
    pub currency: String,
    /// Billed sends (successful unique sends of the month).
    pub units: i64,
    pub total: i64,
    pub status: String,
    /// `not_configured`, `pending`, `synced` or `failed`.
    pub sync_status: SyncStatus,
    pub sync_error: Option<String>,
    pub stripe_invoice_id: Option<String>,
    pub lines: Vec<LineOut>,
    pub created_at: String,
}

pub fn to_out(m: invoices::Model, lines: Vec<invoice_lines::Model>) -> InvoiceOut {
    InvoiceOut {
        id: m.id,
        tenant_id: m.tenant_id,
        period: m.period,
        currency: m.currency,
        units: m.units,
        total: m.total,
        status: m.status,
        sync_status: m.sync_status,
        sync_error: m.sync_error,
        stripe_invoice_id: m.stripe_invoice_id,
        lines: lines
            .into_iter()
            .map(|l| LineOut {
                description: l.description,
                quantity: l.quantity,
                unit_price_per_1000: l.unit_price_per_1000,
                amount: l.amount,
            })
            .collect(),
        created_at: rfc3339(m.created_at),
    }
}

/// Issues the tenant's invoice for `period` unless it exists. Returns the invoice and
/// whether this call created it.
pub async fn issue(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
    units: i64,
    priced: &Priced,
    sync_status: SyncStatus,
    now: i64,
) -> AppResult<(invoices::Model, bool)> {
    let id = Uuid::now_v7();
    let invoice = invoices::ActiveModel {
        tenant_id: Set(tenant_id),
        id: Set(id),
        period: Set(period.to_string()),
        currency: Set(priced.currency.clone()),
        units: Set(units),
        total: Set(priced.total),
        status: Set("issued".into()),
        sync_status: Set(sync_status),
        sync_error: Set(None),
        sync_attempts: Set(0),
        next_sync_at: Set(Some(now)),
        stripe_invoice_id: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let inserted = invoices::Entity::insert(invoice)
        .on_conflict(
            OnConflict::columns([invoices::Column::TenantId, invoices::Column::Period])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    if inserted == 1 {
        let lines: Vec<invoice_lines::ActiveModel> = priced
            .lines
            .iter()
            .enumerate()
            .map(|(n, l)| invoice_lines::ActiveModel {
                tenant_id: Set(tenant_id),
                invoice_id: Set(id),
                line_no: Set(n as i32 + 1),
                description: Set(l.description.clone()),
                quantity: Set(l.quantity),
                unit_price_per_1000: Set(l.unit_price_per_1000),
                amount: Set(l.amount),
                stripe_item_id: Set(None),
            })
            .collect();
        invoice_lines::Entity::insert_many(lines)
            .exec_without_returning(db)
            .await?;
    }
    let invoice = find_for_period(db, tenant_id, period)
        .await?
        .ok_or_else(|| AppError::internal("invoice vanished"))?;
    Ok((invoice, inserted == 1))
}

pub async fn find_for_period(
    db: &impl ConnectionTrait,
    tenant_id: Uuid,
    period: &str,
) -> AppResult<Option<invoices::Model>> {
    Ok(invoices::Entity::find()
        .filter(invoices::Column::TenantId.eq(tenant_id))
        .filter(invoices::Column::Period.eq(period))
        .one(db)
        .await?)
}

pub async fn lines(
    db: &impl ConnectionTrait,
    invoice: &invoices::Model,
) -> AppResult<Vec<invoice_lines::Model>> {
    Ok(invoice_lines::Entity::find()
        .filter(invoice_lines::Column::TenantId.eq(invoice.tenant_id))
        .filter(invoice_lines::Column::InvoiceId.eq(invoice.id))
        .order_by_asc(invoice_lines::Column::LineNo)
        .all(db)
        .await?)
}

/// An invoice by id (admin routes), with its lines.
pub async fn get(db: &impl ConnectionTrait, id: Uuid) -> AppResult<InvoiceOut> {
    let invoice = invoices::Entity::find()
        .filter(invoices::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("invoice"))?;
    let lines = lines(db, &invoice).await?;
    Ok(to_out(invoice, lines))
}

pub async fn get_model(db: &impl ConnectionTrait, id: Uuid) -> AppResult<invoices::Model> {
    invoices::Entity::find()
        .filter(invoices::Column::Id.eq(id))
        .one(db)
        .await?
        .ok_or_else(|| AppError::not_found("invoice"))
}

/// Invoices newest first, optionally of one month and/or one tenant, with their lines.
pub async fn list(
    db: &impl ConnectionTrait,
    period: Option<crate::period::Period>,
    tenant: Option<Uuid>,
    page: PageRequest,
) -> AppResult<Page<InvoiceOut>> {
    let mut query = invoices::Entity::find()
        .order_by_desc(invoices::Column::Id)
        .limit(page.limit + 1);
    if let Some(period) = period {
        query = query.filter(invoices::Column::Period.eq(period.to_string()));
    }
    if let Some(tenant) = tenant {
        query = query.filter(invoices::Column::TenantId.eq(tenant));
    }
    if let Some(before) = page.before {
        query = query.filter(invoices::Column::Id.lt(before));
    }
    let rows = query.all(db).await?;
    let mut with_lines = Vec::with_capacity(rows.len());
    for invoice in rows {
        let l = lines(db, &invoice).await?;
        with_lines.push((invoice, l));
    }
    Ok(Page::from_rows(
        with_lines,
        page,
        |(i, _)| i.id,
        |(i, l)| to_out(i, l),
    ))
}
