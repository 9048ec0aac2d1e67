//! Time-ordered row ids (UUIDv7) stamped with a given millisecond, so a table's primary
//! key `(tenant_id, id)` is also its index by creation time: a range of creation times
//! is a key range, and no second index on a time column is written with every row.
//!
//! The 48-bit millisecond comes first; the 12 bits after the version are a per-process
//! sequence, so the ids one process makes within one millisecond follow each other in
//! the order they were made (up to 4,096 per millisecond); the last 62 bits are random,
//! so ids made by different processes never collide.

use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

const MS_MASK: u128 = (1 << 48) - 1;
const VERSION_7: u128 = 0x7 << 76;
const VARIANT: u128 = 0b10 << 62;
const RANDOM_MASK: u128 = (1 << 62) - 1;

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

fn millis(ms: i64) -> u128 {
    u128::try_from(Ord::max(ms, 0)).unwrap_or_default() & MS_MASK
}

/// A new id made at `ms` (milliseconds since the Unix epoch).
pub fn at(ms: i64) -> Uuid {
    let sequence = u128::from(SEQUENCE.fetch_add(1, Ordering::Relaxed) & 0xfff);
    // The thread's own generator: no system call per id on the ingest path.
    let random = u128::from(rand::random::<u64>()) & RANDOM_MASK;
    Uuid::from_u128((millis(ms) << 80) | VERSION_7 | (sequence << 64) | VARIANT | random)
}

/// The smallest UUIDv7 of a millisecond: `id >= first_at(ms)` is "made at `ms` or later".
pub fn first_at(ms: i64) -> Uuid {
    Uuid::from_u128((millis(ms) << 80) | VERSION_7 | VARIANT)
}

/// The millisecond an id was made in (0 for the nil id).
pub fn ms_of(id: Uuid) -> i64 {
    (id.as_u128() >> 80) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_764_590_000_123;

    #[test]
    fn an_id_carries_its_millisecond_and_is_a_valid_uuid_v7() {
        let id = at(T);
        assert_eq!(ms_of(id), T);
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
        assert_eq!(
            id.get_timestamp().unwrap().to_unix(),
            (1_764_590_000, 123_000_000)
        );
    }

    #[test]
    fn ids_of_one_millisecond_follow_each_other_and_never_repeat() {
        let ids: Vec<Uuid> = (0..1_000).map(|_| at(T)).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "made in order");
        assert!(
            ids.iter()
                .all(|id| *id >= first_at(T) && *id < first_at(T + 1))
        );
        assert!(at(T - 1) < first_at(T) && first_at(T + 1) <= at(T + 1));
    }

    #[test]
    fn times_before_the_epoch_are_the_epoch() {
        assert_eq!(ms_of(at(-5)), 0);
        assert_eq!(first_at(-5), first_at(0));
    }
}
