//! Plans and tier pricing, month-end billing runs, invoices, Stripe sync, the scheduler
//! and the reconciliation export.

pub mod export;
pub mod invoices;
pub mod plans;
pub mod pricing;
pub mod run;
pub mod scheduler;
pub mod stripe_sync;
