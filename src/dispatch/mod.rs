//! Dispatch: the durable retry queue that delivers each unique event to Meta CAPI and
//! GA4, and meters it. `queue` claims with a lease, `clients` send and classify,
//! `transition` decides the next state, `complete` records it (and the meter) in one
//! transaction, `worker` runs the loop.

pub mod clients;
pub mod complete;
pub mod outcome;
pub mod payload;
pub mod queue;
pub mod retry;
pub mod transition;
pub mod worker;

pub use worker::Dispatcher;
