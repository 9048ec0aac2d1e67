//! Plans and tier pricing, plan assignments over time, month-end billing runs (fenced
//! against late completions, retried until every tenant is invoiced), invoices, Stripe
//! sync, the scheduler and the reconciliation export.

pub mod assignments;
pub mod export;
pub mod invoices;
pub mod periods;
pub mod run;
pub mod run_log;
pub mod scheduler;
pub mod stripe_sync;
