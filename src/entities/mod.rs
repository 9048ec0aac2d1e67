//! sea-orm entities mirroring `migrations/` one to one (no hand-written logic here;
//! domain code lives in the domain modules). Timestamps are epoch milliseconds.

pub mod admin_sessions;
pub mod admins;
pub mod api_keys;
pub mod audit_log;
pub mod browser_events;
pub mod browser_keys;
pub mod dedup_alerts;
pub mod dedup_counts;
pub mod dedup_cursors;
pub mod dedup_matches;
pub mod deliveries;
pub mod delivery_attempts;
pub mod destinations;
pub mod events;
pub mod invoice_lines;
pub mod invoices;
pub mod plans;
pub mod privacy_deletions;
pub mod tenant_invites;
pub mod tenant_user_sessions;
pub mod tenant_users;
pub mod tenants;
pub mod usage_meter;
