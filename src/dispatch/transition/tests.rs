use super::*;
use crate::clock::MS_PER_HOUR;
use crate::states::DeliveryStatus::{Dead, Failed, Paused, Pending, Succeeded, Unconfirmed};

const SCHEDULE: [Duration; 2] = [Duration::from_secs(5), Duration::from_secs(30)];
const META_WINDOW: Option<i64> = Some(48 * MS_PER_HOUR);

fn cx(attempt_no: u32) -> Context<'static> {
    Context {
        attempt_no,
        schedule: &SCHEDULE,
        now_ms: 0,
        expires_at_ms: i64::MAX,
        maybe_sent_at: None,
        dedup_window_ms: None,
        unit: 0.5,
    }
}

fn retry() -> Outcome {
    Outcome::retry()
}

#[test]
fn a_transient_failure_is_retried_on_schedule_then_dies() {
    let a = Attempt {
        http_status: Some(500),
        ..Attempt::default()
    };
    let first = transition(&retry(), &a, &cx(1));
    assert_eq!(
        (first.status, first.next_attempt_at),
        (Pending, Some(5_000))
    );
    assert!(first.last_error.unwrap().starts_with("HTTP 500"));
    assert_eq!(transition(&retry(), &a, &cx(3)).status, Dead);
}

#[test]
fn a_retry_past_the_age_limit_is_dead_as_expired() {
    let c = Context {
        expires_at_ms: 1_000,
        ..cx(1)
    };
    let t = transition(&retry(), &Attempt::default(), &c);
    assert_eq!(t.status, Dead);
    assert!(t.last_error.unwrap().starts_with("expired"));
}

#[test]
fn a_pause_burns_no_attempt_and_success_clears_the_error() {
    let paused = transition(&Outcome::Pause, &Attempt::default(), &cx(1));
    assert_eq!((paused.status, paused.counts_attempt), (Paused, false));
    let ok = transition(&Outcome::Delivered, &Attempt::default(), &cx(1));
    assert_eq!((ok.status, ok.last_error), (Succeeded, None));
    assert_eq!(
        transition(&Outcome::Fail, &Attempt::default(), &cx(1)).status,
        Failed
    );
}

#[test]
fn an_unknown_outcome_ends_unconfirmed_where_a_resend_would_count_twice() {
    let a = Attempt {
        started_at: 7,
        ..Attempt::default()
    };
    let t = transition(&Outcome::Unknown, &a, &cx(1));
    assert_eq!((t.status, t.maybe_sent_at), (Unconfirmed, Some(7)));
    assert_eq!(t.next_attempt_at, None);
}

#[test]
fn an_unknown_outcome_is_retried_inside_the_destination_dedup_window() {
    let a = Attempt {
        started_at: 0,
        ..Attempt::default()
    };
    let c = Context {
        dedup_window_ms: META_WINDOW,
        ..cx(1)
    };
    let t = transition(&Outcome::Unknown, &a, &c);
    assert_eq!((t.status, t.next_attempt_at), (Pending, Some(5_000)));
    assert_eq!(t.maybe_sent_at, Some(0));
}

#[test]
fn once_an_attempt_may_have_arrived_retries_stop_at_the_dedup_window() {
    // An earlier attempt's outcome is unknown; this one failed plainly (HTTP 503). The
    // next try would fall after the window: resending then could count twice.
    let late = Context {
        now_ms: 47 * MS_PER_HOUR - 1_000,
        maybe_sent_at: Some(0),
        dedup_window_ms: META_WINDOW,
        ..cx(2)
    };
    let t = transition(&retry(), &Attempt::default(), &late);
    assert_eq!((t.status, t.maybe_sent_at), (Unconfirmed, Some(0)));
    let early = Context {
        now_ms: MS_PER_HOUR,
        ..late
    };
    assert_eq!(
        transition(&retry(), &Attempt::default(), &early).status,
        Pending
    );
}

#[test]
fn exhausted_or_expired_after_an_unknown_outcome_is_unconfirmed_not_dead() {
    let c = Context {
        maybe_sent_at: Some(0),
        dedup_window_ms: Some(i64::MAX),
        ..cx(3)
    };
    assert_eq!(
        transition(&retry(), &Attempt::default(), &c).status,
        Unconfirmed
    );
    assert_eq!(
        transition(&Outcome::Expired, &Attempt::default(), &c).status,
        Unconfirmed
    );
}

#[test]
fn deferred_work_is_due_at_once_and_burns_no_attempt() {
    let c = Context {
        now_ms: 42,
        ..cx(1)
    };
    let t = transition(&Outcome::Deferred, &Attempt::default(), &c);
    assert_eq!(
        (t.status, t.next_attempt_at, t.counts_attempt),
        (Pending, Some(42), false)
    );
}
