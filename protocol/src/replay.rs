//! Replay protection: a bounded cache of the envelopes seen and not yet expired.

use std::collections::{BTreeSet, HashMap};

use crate::envelope::EnvelopeError;
use crate::primitives::MessageId;

/// Seconds past its time an id stays before an insertion drops it: a check made with an
/// earlier reading of the clock (another task's, or a clock stepped back) still finds it.
pub const PURGE_LAG_SECS: u64 = 60;

/// The ids of envelopes already accepted, each kept until its envelope would be refused
/// as expired anyway, and forgotten [`PURGE_LAG_SECS`] later: every insertion first drops
/// the ids whose time has passed by then (oldest first, so each costs one removal however
/// large the cache), and the cache holds about as many ids as a message's lifetime
/// brings, not as many as its capacity. Memory is bounded by `capacity`: when the cache is full of
/// unexpired entries, a new envelope is refused with [`EnvelopeError::SeenCacheFull`]
/// rather than evicting an entry, which would reopen a replay window.
#[derive(Debug)]
pub struct SeenCache {
    capacity: usize,
    forget_after: HashMap<MessageId, u64>,
    by_time: BTreeSet<(u64, MessageId)>,
}

impl SeenCache {
    /// Default capacity: 2^18 entries, about 20 MiB.
    pub const DEFAULT_CAPACITY: usize = 1 << 18;

    /// An empty cache holding at most `capacity` ids.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            forget_after: HashMap::new(),
            by_time: BTreeSet::new(),
        }
    }

    /// Whether `id` was seen.
    pub fn contains(&self, id: &MessageId) -> bool {
        self.forget_after.contains_key(id)
    }

    /// Records `id`, to be forgotten after `forget_after` (unix seconds), at time `now`.
    /// Fails if it is already there or the cache is full of unexpired ids.
    pub fn insert(
        &mut self,
        id: MessageId,
        forget_after: u64,
        now: u64,
    ) -> Result<(), EnvelopeError> {
        self.admit(&id, now)?;
        if self.is_full(now) {
            return Err(EnvelopeError::SeenCacheFull {
                capacity: self.capacity,
            });
        }
        self.put(id, forget_after);
        Ok(())
    }

    /// Records `id` as [`SeenCache::insert`] does, but never refuses for lack of room:
    /// when the cache is full of unexpired ids, the one to be forgotten soonest goes.
    /// For envelopes a full cache must never turn away: gossip the market accepted (only
    /// what was accepted enters that cache, so a flood of valid but useless envelopes
    /// cannot fill it), and request-response requests, which any key can sign but which
    /// per-peer budgets bound and whose handlers are idempotent, so an envelope evicted
    /// and replayed costs a repeated answer at most. Fails only if `id` is already there.
    pub fn record(
        &mut self,
        id: MessageId,
        forget_after: u64,
        now: u64,
    ) -> Result<(), EnvelopeError> {
        self.admit(&id, now)?;
        if self.is_full(now)
            && let Some((_, soonest)) = self.by_time.pop_first()
        {
            self.forget_after.remove(&soonest);
        }
        self.put(id, forget_after);
        Ok(())
    }

    /// Drops the ids forgotten by `now` (less the lag), then refuses `id` if it is held.
    fn admit(&mut self, id: &MessageId, now: u64) -> Result<(), EnvelopeError> {
        self.purge(now.saturating_sub(PURGE_LAG_SECS));
        if self.contains(id) {
            return Err(EnvelopeError::Replayed { id: *id });
        }
        Ok(())
    }

    /// Whether it is full of ids unexpired at `now` (expired ones are purged first).
    fn is_full(&mut self, now: u64) -> bool {
        if self.forget_after.len() < self.capacity {
            return false;
        }
        self.purge(now);
        self.forget_after.len() >= self.capacity
    }

    fn put(&mut self, id: MessageId, forget_after: u64) {
        self.forget_after.insert(id, forget_after);
        self.by_time.insert((forget_after, id));
    }

    /// Forgets every id whose time has passed at `now`.
    pub fn purge(&mut self, now: u64) {
        while let Some(&(time, id)) = self.by_time.first() {
            if time >= now {
                break;
            }
            self.by_time.pop_first();
            self.forget_after.remove(&id);
        }
    }

    /// Number of ids held.
    pub fn len(&self) -> usize {
        self.forget_after.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.forget_after.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> MessageId {
        MessageId([n; 32])
    }

    #[test]
    fn a_second_insert_is_a_replay() {
        let mut cache = SeenCache::new(4);
        cache.insert(id(1), 100, 10).expect("fresh");
        assert_eq!(
            cache.insert(id(1), 100, 11),
            Err(EnvelopeError::Replayed { id: id(1) })
        );
    }

    #[test]
    fn full_cache_refuses_until_entries_expire() {
        let mut cache = SeenCache::new(2);
        cache.insert(id(1), 100, 10).expect("fresh");
        cache.insert(id(2), 200, 10).expect("fresh");
        assert_eq!(
            cache.insert(id(3), 300, 50),
            Err(EnvelopeError::SeenCacheFull { capacity: 2 })
        );
        // Nothing was evicted: both are still replays.
        assert!(cache.contains(&id(1)) && cache.contains(&id(2)));
        // Once id 1's time has passed it makes room.
        cache.insert(id(3), 300, 101).expect("room after expiry");
        assert!(!cache.contains(&id(1)));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn recording_into_a_full_cache_makes_room_by_the_soonest_forgotten() {
        let mut cache = SeenCache::new(2);
        cache.record(id(1), 300, 10).expect("fresh");
        cache.record(id(2), 100, 10).expect("fresh");
        cache
            .record(id(3), 200, 50)
            .expect("never refused for room");
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains(&id(2)), "the soonest forgotten went");
        assert!(cache.contains(&id(1)) && cache.contains(&id(3)));
        assert_eq!(
            cache.record(id(3), 200, 51),
            Err(EnvelopeError::Replayed { id: id(3) })
        );
    }

    #[test]
    fn an_entry_is_kept_through_its_last_second() {
        let mut cache = SeenCache::new(8);
        cache.insert(id(1), 100, 10).expect("fresh");
        cache.purge(100);
        assert!(cache.contains(&id(1)));
        cache.purge(101);
        assert!(cache.is_empty());
    }

    /// Before, expired ids were dropped only once the cache was full: a node's cache grew
    /// with every message until it held `capacity` ids (a 5,000-job soak saw it at 15,000
    /// and rising), whatever a message's lifetime.
    #[test]
    fn expired_ids_leave_before_the_cache_is_full() {
        let mut cache = SeenCache::new(1 << 18);
        for n in 0..100u8 {
            cache
                .insert(id(n), 100 + u64::from(n), 10 + u64::from(n))
                .expect("fresh");
        }
        // At 150 every id is kept: none is more than the lag past its time.
        cache.insert(id(150), 400, 150).expect("fresh");
        assert_eq!(cache.len(), 101);
        // At 210 the ids forgotten after 100..=149 are gone: 50 are left, then one more.
        cache
            .insert(id(200), 400, 100 + PURGE_LAG_SECS + 50)
            .expect("fresh");
        assert_eq!(cache.len(), 52);
        cache
            .record(id(201), 400, 200 + PURGE_LAG_SECS)
            .expect("fresh");
        assert_eq!(cache.len(), 3, "only the three unexpired ids stay");
    }
}
