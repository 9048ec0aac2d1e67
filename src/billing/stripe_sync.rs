//! Syncing an issued invoice to Stripe with `async-stripe`: customer (created when
//! missing, `metadata[tenant_id]`), a draft invoice (`metadata[kickin_invoice_id]`), one
//! invoice item per line attached to it (`metadata[kickin_line_no]`), then finalize.
//! Each step's result is stored before the next, and every POST carries an
//! `Idempotency-Key` derived from the invoice (or tenant) and the step, so a retry after
//! a timeout never creates a second object. Stripe forgets keys after 24 hours, so an
//! object whose id was never stored (a crash between Stripe's answer and our write) is
//! first looked up by its metadata — customers and invoices with Stripe's search, items
//! by listing the invoice's items — and a finalize is skipped when the invoice is no
//! longer a draft. Search lags writes by up to a minute; within that minute the key
//! still answers. Failures leave the invoice `failed` with the error and a time for the
//! automatic retry.

use std::collections::HashMap;
use std::str::FromStr;

use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use stripe::{Client, ClientBuilder, IdempotencyKey, RequestStrategy, StripeRequest};
use stripe_billing::invoice::{
    CreateInvoice, CreateInvoicePendingInvoiceItemsBehavior, FinalizeInvoiceInvoice,
    RetrieveInvoice, SearchInvoice,
};
use stripe_billing::invoice_item::{CreateInvoiceItem, ListInvoiceItem};
use stripe_core::customer::{CreateCustomer, SearchCustomer};
use stripe_types::Currency;
use uuid::Uuid;

use super::invoices;
use crate::db::Db;
use crate::entities::{invoice_lines, invoices as invoice_rows, tenants};
use crate::states::SyncStatus;

/// Waits between automatic retries of a failed sync, by attempt.
const RETRY_MINUTES: [i64; 6] = [1, 5, 15, 60, 180, 720];

/// The part of a created Stripe object Kickin keeps.
#[derive(miniserde::Deserialize)]
struct Created {
    id: String,
}

/// The part of a found Stripe object Kickin looks at.
#[derive(miniserde::Deserialize)]
struct Found {
    id: String,
    status: Option<String>,
    metadata: Option<HashMap<String, String>>,
}

/// A page of a list or search answer (Kickin asks for at most 100, more than an invoice
/// has lines).
#[derive(miniserde::Deserialize)]
struct Listed {
    data: Vec<Found>,
}

/// A search query matching one metadata value (ids and uuids need no escaping).
fn by_metadata(key: &str, value: &str) -> String {
    format!("metadata['{key}']:'{value}'")
}

pub struct StripeSync {
    client: Client,
}

impl StripeSync {
    /// A client for `base` (tests point it at a local mock). No network at construction.
    pub fn new(secret_key: &str, base: &str) -> Result<Self, String> {
        let client = ClientBuilder::new(secret_key)
            .url(format!("{}/", base.trim_end_matches('/')))
            .build()
            .map_err(|e| format!("stripe client: {e}"))?;
        Ok(Self { client })
    }

    #[tracing::instrument(name = "stripe.request", skip(self, request), fields(step = %key))]
    async fn create<R: StripeRequest>(&self, request: &R, key: String) -> Result<String, String> {
        let key = IdempotencyKey::new(&key).map_err(|e| format!("idempotency key: {e}"))?;
        let created: Created = request
            .build()
            .customize::<Created>()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(|e| short(&e.to_string()))?;
        Ok(created.id)
    }

    #[tracing::instrument(name = "stripe.lookup", skip(self, request))]
    async fn fetch<R: StripeRequest, T: miniserde::Deserialize>(
        &self,
        request: &R,
    ) -> Result<T, String> {
        request
            .build()
            .customize::<T>()
            .send(&self.client)
            .await
            .map_err(|e| short(&e.to_string()))
    }

    async fn search_one<R: StripeRequest>(&self, request: &R) -> Result<Option<String>, String> {
        let listed: Listed = self.fetch(request).await?;
        Ok(listed.data.into_iter().next().map(|f| f.id))
    }

    /// Brings one invoice to `synced`, or records why it could not.
    pub async fn sync(&self, db: &Db, invoice_id: Uuid, now_ms: i64) -> Result<(), String> {
        let result = self.steps(db, invoice_id).await;
        let invoice = invoices::get_model(&db.conn, invoice_id)
            .await
            .map_err(|e| e.message)?;
        let mut active: invoice_rows::ActiveModel = invoice.clone().into();
        active.updated_at = Set(now_ms);
        match &result {
            Ok(stripe_id) => {
                active.sync_status = Set(SyncStatus::Synced);
                active.sync_error = Set(None);
                active.next_sync_at = Set(None);
                active.stripe_invoice_id = Set(Some(stripe_id.clone()));
            }
            Err(message) => {
                let attempt = invoice.sync_attempts as usize;
                let wait = RETRY_MINUTES[attempt.min(RETRY_MINUTES.len() - 1)] * 60_000;
                active.sync_status = Set(SyncStatus::Failed);
                active.sync_error = Set(Some(message.clone()));
                active.sync_attempts = Set(invoice.sync_attempts + 1);
                active.next_sync_at = Set(Some(now_ms + wait));
                tracing::warn!(invoice = %invoice_id, error = %message, "stripe sync failed; will retry");
            }
        }
        active.update(&db.conn).await.map_err(|e| e.to_string())?;
        result.map(|_| ())
    }

    async fn steps(&self, db: &Db, invoice_id: Uuid) -> Result<String, String> {
        let invoice = invoices::get_model(&db.conn, invoice_id)
            .await
            .map_err(|e| e.message)?;
        let customer = self.customer(db, invoice.tenant_id).await?;
        let stripe_invoice = match &invoice.stripe_invoice_id {
            Some(id) => id.clone(),
            None => {
                let search =
                    SearchInvoice::new(by_metadata("kickin_invoice_id", &invoice.id.to_string()))
                        .limit(1);
                let id = match self.search_one(&search).await? {
                    Some(id) => id,
                    None => self.create_invoice(&invoice, &customer).await?,
                };
                invoice_rows::Entity::update_many()
                    .col_expr(
                        invoice_rows::Column::StripeInvoiceId,
                        Expr::value(id.clone()),
                    )
                    .filter(invoice_rows::Column::TenantId.eq(invoice.tenant_id))
                    .filter(invoice_rows::Column::Id.eq(invoice.id))
                    .exec(&db.conn)
                    .await
                    .map_err(|e| e.to_string())?;
                id
            }
        };
        self.items(db, &invoice, &customer, &stripe_invoice).await?;
        let current: Found = self
            .fetch(&RetrieveInvoice::new(stripe_invoice.as_str()))
            .await?;
        // A draft is finalized; anything else was finalized by an earlier attempt.
        if current.status.as_deref() == Some("draft") {
            let finalize = FinalizeInvoiceInvoice::new(stripe_invoice.as_str()).auto_advance(false);
            self.create(&finalize, format!("kickin-invoice-{}-finalize", invoice.id))
                .await?;
        }
        Ok(stripe_invoice)
    }

    async fn create_invoice(
        &self,
        invoice: &invoice_rows::Model,
        customer: &str,
    ) -> Result<String, String> {
        let mut metadata = HashMap::new();
        metadata.insert("kickin_invoice_id".to_string(), invoice.id.to_string());
        metadata.insert("period".to_string(), invoice.period.clone());
        let request = CreateInvoice::new()
            .customer(customer)
            .currency(currency(&invoice.currency)?)
            .auto_advance(false)
            .description(format!("Kickin usage {}", invoice.period))
            .pending_invoice_items_behavior(CreateInvoicePendingInvoiceItemsBehavior::Exclude)
            .metadata(metadata);
        self.create(&request, format!("kickin-invoice-{}-draft", invoice.id))
            .await
    }

    /// One item per line on the Stripe invoice; lines whose item id was lost are matched
    /// to the invoice's items by `metadata[kickin_line_no]`.
    async fn items(
        &self,
        db: &Db,
        invoice: &invoice_rows::Model,
        customer: &str,
        stripe_invoice: &str,
    ) -> Result<(), String> {
        let missing: Vec<_> = invoices::lines(&db.conn, invoice)
            .await
            .map_err(|e| e.message)?
            .into_iter()
            .filter(|l| l.stripe_item_id.is_none())
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let listed: Listed = self
            .fetch(&ListInvoiceItem::new().invoice(stripe_invoice).limit(100))
            .await?;
        let existing: HashMap<String, String> = listed
            .data
            .into_iter()
            .filter_map(|f| Some((f.metadata?.remove("kickin_line_no")?, f.id)))
            .collect();
        for line in missing {
            let id = match existing.get(&line.line_no.to_string()) {
                Some(id) => id.clone(),
                None => {
                    self.create_item(invoice, &line, customer, stripe_invoice)
                        .await?
                }
            };
            let mut active: invoice_lines::ActiveModel = line.into();
            active.stripe_item_id = Set(Some(id));
            active.update(&db.conn).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    async fn create_item(
        &self,
        invoice: &invoice_rows::Model,
        line: &invoice_lines::Model,
        customer: &str,
        stripe_invoice: &str,
    ) -> Result<String, String> {
        let mut metadata = HashMap::new();
        metadata.insert("kickin_invoice_id".to_string(), invoice.id.to_string());
        metadata.insert("kickin_line_no".to_string(), line.line_no.to_string());
        let request = CreateInvoiceItem::new()
            .customer(customer)
            .invoice(stripe_invoice)
            .amount(line.amount)
            .currency(currency(&invoice.currency)?)
            .description(format!(
                "{} ({} × {} per 1,000)",
                line.description, line.quantity, line.unit_price_per_1000
            ))
            .metadata(metadata);
        self.create(
            &request,
            format!("kickin-invoice-{}-line-{}", invoice.id, line.line_no),
        )
        .await
    }

    /// The tenant's Stripe customer, created (once) when missing.
    async fn customer(&self, db: &Db, tenant_id: Uuid) -> Result<String, String> {
        let tenant = tenants::Entity::find_by_id(tenant_id)
            .one(&db.conn)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("tenant missing")?;
        if let Some(id) = &tenant.stripe_customer_id {
            return Ok(id.clone());
        }
        let search = SearchCustomer::new(by_metadata("tenant_id", &tenant_id.to_string())).limit(1);
        let id = match self.search_one(&search).await? {
            Some(id) => id,
            None => {
                let mut metadata = HashMap::new();
                metadata.insert("tenant_id".to_string(), tenant_id.to_string());
                let request = CreateCustomer::new()
                    .name(tenant.name.clone())
                    .metadata(metadata);
                self.create(&request, format!("kickin-customer-{tenant_id}"))
                    .await?
            }
        };
        let mut active: tenants::ActiveModel = tenant.into();
        active.stripe_customer_id = Set(Some(id.clone()));
        active.update(&db.conn).await.map_err(|e| e.to_string())?;
        Ok(id)
    }
}

fn currency(code: &str) -> Result<Currency, String> {
    Currency::from_str(code).map_err(|_| format!("Stripe does not know the currency {code}"))
}

/// A one-line, bounded error (never includes the secret key).
fn short(message: &str) -> String {
    message
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(300)
        .collect()
}
