//! Plans and their pricing tiers (billing runs and Stripe sync build on these).

pub mod plans;
pub mod pricing;
