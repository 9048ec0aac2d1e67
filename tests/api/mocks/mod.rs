//! Faithful local mocks of Meta CAPI, GA4 MP (spec/destinations.md §4) and the TikTok
//! Events API (§6.7), served by wiremock with responders that validate like the real
//! services, record what they accepted, and inject faults on demand.

pub mod ga4;
mod ga4_rules;
pub mod meta;
mod meta_rules;
pub mod stripe;
pub mod tiktok;
mod tiktok_rules;

use std::sync::{Arc, Mutex};

/// A fault armed for the next `remaining` requests.
#[derive(Debug, Clone)]
pub struct Armed<F> {
    pub fault: F,
    pub remaining: u32,
}

/// Takes one use of the first armed fault, if any.
pub fn take<F: Clone>(faults: &Arc<Mutex<Vec<Armed<F>>>>) -> Option<F> {
    let mut faults = faults.lock().unwrap();
    let armed = faults.first_mut()?;
    let fault = armed.fault.clone();
    if armed.remaining != u32::MAX {
        armed.remaining -= 1;
    }
    if armed.remaining == 0 {
        faults.remove(0);
    }
    Some(fault)
}

pub fn trace_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..11].to_string()
}
