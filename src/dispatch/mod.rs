//! Dispatch: the durable retry queue that delivers each unique event to its
//! destinations, and meters it. `queue` claims with a lease (marking the send in flight),
//! each destination's sender (`destinations::spec`) sends and classifies, `resend` says
//! when a send of unknown outcome may be repeated, `transition` decides the next state, `complete` records it (and the meter)
//! in one transaction through `record`'s lease-guarded updates, `batch` does all that for
//! one destination's batch, `worker` runs the loop, `expiry` ends what waited too long.

pub mod batch;
pub mod complete;
pub mod destination_state;
pub mod expiry;
pub mod payload;
pub mod queue;
pub mod record;
pub mod resend;
pub mod retry;
pub mod transition;
pub mod worker;

pub use worker::Dispatcher;
