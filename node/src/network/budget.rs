//! Per-peer budgets on inbound request-response requests: each peer may send so
//! many requests, and so many bytes of them, per second (with a burst of two seconds'
//! worth). A request over its peer's budget is dropped before the node sees it (the
//! requester sees a failure and may retry later), so no single peer can fill the node's
//! queue of requests, its work on them, or any state they leave, however fast it sends.
//! Honest traffic stays far below: a client serves one input fetch per awarded job, a
//! prover pushes one proof per job, a watchtower asks for a batch's leaves once.
//!
//! The same budgets hold gossip per peer that delivers it (before any signature check)
//! and some gossip kinds per key that signs them (`service::gossip`): the key is any
//! small copyable id.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Instant;

use libp2p::PeerId;

/// How much a peer may send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Requests per second.
    pub requests_per_s: u32,
    /// Request bytes per second.
    pub bytes_per_s: u64,
}

/// Seconds of budget a peer may spend at once.
const BURST_SECONDS: f64 = 2.0;
/// Peers whose budgets are kept (connected or not): a peer that disconnects and
/// reconnects finds its budget as it left it, not a fresh burst. Past this many, the
/// buckets that have refilled (nothing left to remember) go first.
const PEERS_KEPT: usize = 4_096;

#[derive(Clone, Copy, Debug)]
struct Bucket {
    requests: f64,
    bytes: f64,
    at: Instant,
}

/// The budgets of the connected peers (or of other keys).
#[derive(Debug)]
pub struct InboundBudget<K = PeerId> {
    limits: Limits,
    peers: HashMap<K, Bucket>,
    dropped: u64,
}

impl<K: Copy + Eq + Hash> InboundBudget<K> {
    /// Budgets of `limits` for each peer.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            peers: HashMap::new(),
            dropped: 0,
        }
    }

    /// Whether `peer` may send a request of `bytes` at `now`; if so, it is charged for it.
    /// A peer seen for the first time starts with a full burst.
    pub fn admit(&mut self, peer: K, bytes: usize, now: Instant) -> bool {
        let rate_requests = f64::from(self.limits.requests_per_s);
        // Rates far below 2^53: exact enough as floats.
        #[allow(clippy::cast_precision_loss)]
        let rate_bytes = self.limits.bytes_per_s as f64;
        if self.peers.len() >= PEERS_KEPT && !self.peers.contains_key(&peer) {
            self.forget_refilled(now);
        }
        let bucket = self.peers.entry(peer).or_insert(Bucket {
            requests: rate_requests * BURST_SECONDS,
            bytes: rate_bytes * BURST_SECONDS,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.requests =
            (bucket.requests + elapsed * rate_requests).min(rate_requests * BURST_SECONDS);
        bucket.bytes = (bucket.bytes + elapsed * rate_bytes).min(rate_bytes * BURST_SECONDS);
        bucket.at = now;
        #[allow(clippy::cast_precision_loss)]
        let size = bytes as f64;
        if bucket.requests < 1.0 || bucket.bytes < size {
            self.dropped += 1;
            return false;
        }
        bucket.requests -= 1.0;
        bucket.bytes -= size;
        true
    }

    /// Forgets the buckets that would be full again by `now` (a peer quiet for two
    /// seconds or more); if none, the one least recently charged.
    fn forget_refilled(&mut self, now: Instant) {
        let before = self.peers.len();
        self.peers
            .retain(|_, b| now.saturating_duration_since(b.at).as_secs_f64() < BURST_SECONDS);
        if self.peers.len() == before
            && let Some(oldest) = self.peers.iter().min_by_key(|(_, b)| b.at).map(|(p, _)| *p)
        {
            self.peers.remove(&oldest);
        }
    }

    /// Gives `peer` back one request (or message) it was charged for, not its bytes: what
    /// the node wanted does not count against its sender's count (`service::gossip`
    /// refunds every message the market accepted, once judged). A relay forwarding a
    /// busy market is held to its count only for bursts larger than two seconds' budget
    /// before the refunds come, and to its bytes.
    pub fn refund(&mut self, peer: K) {
        let cap = f64::from(self.limits.requests_per_s) * BURST_SECONDS;
        if let Some(bucket) = self.peers.get_mut(&peer) {
            bucket.requests = (bucket.requests + 1.0).min(cap);
        }
    }

    /// The limits it holds peers to.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Requests dropped over budget since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// Counts the messages each peer had dropped over its budget, and says when they add up
/// to a tenth of a second's budget: each such tenth costs the peer a penalty
/// ([`super::scoring::PeerAction::OverBudget`]). gossipsub has already spent memory on
/// every message a peer delivers before the budget drops it (its duplicate cache, and a
/// delivery record of its score for two minutes): a peer flooding at ten times its budget
/// reaches the graylist within two seconds, after which gossipsub ignores what it sends
/// and the node bans it. Counts are forgotten every minute, so an honest peer's rare
/// bursts over budget never add up.
#[derive(Debug)]
pub struct Overflow<K = PeerId> {
    per_penalty: u32,
    counts: HashMap<K, u32>,
    since: Instant,
}

/// How often [`Overflow`] forgets its counts.
const OVERFLOW_WINDOW_SECS: u64 = 60;

impl<K: Copy + Eq + Hash> Overflow<K> {
    /// For budgets of `limits`.
    pub fn new(limits: Limits, now: Instant) -> Self {
        Self {
            per_penalty: (limits.requests_per_s / 10).max(1),
            counts: HashMap::new(),
            since: now,
        }
    }

    /// One more message of `peer` dropped at `now`; whether it costs a penalty.
    pub fn dropped(&mut self, peer: K, now: Instant) -> bool {
        if now.saturating_duration_since(self.since).as_secs() >= OVERFLOW_WINDOW_SECS {
            self.counts.clear();
            self.since = now;
        }
        let count = self.counts.entry(peer).or_default();
        *count += 1;
        if *count >= self.per_penalty {
            *count = 0;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const LIMITS: Limits = Limits {
        requests_per_s: 10,
        bytes_per_s: 1_000,
    };

    #[test]
    fn a_peer_gets_a_burst_then_its_rate_and_no_more() {
        let mut budget = InboundBudget::new(LIMITS);
        let peer = PeerId::random();
        let start = Instant::now();
        let admitted = (0..100).filter(|_| budget.admit(peer, 10, start)).count();
        assert_eq!(admitted, 20, "a burst of two seconds' worth");
        assert_eq!(budget.dropped(), 80);
        // Half a second later: five more.
        let later = start + Duration::from_millis(500);
        let admitted = (0..100).filter(|_| budget.admit(peer, 10, later)).count();
        assert_eq!(admitted, 5);
    }

    /// A peer flooding at ten times its budget is penalized 90 times a second (180
    /// points: past the graylist); a few drops a minute are forgotten before they cost.
    #[test]
    fn a_peer_flooding_over_its_budget_is_penalized_in_proportion() {
        let now = Instant::now();
        let limits = Limits {
            requests_per_s: 500,
            bytes_per_s: 1 << 20,
        };
        let (mut budget, mut overflow) = (InboundBudget::new(limits), Overflow::new(limits, now));
        let (rogue, honest) = (PeerId::random(), PeerId::random());
        let mut penalties = 0;
        for i in 0..5_000u32 {
            let at = now + Duration::from_secs(2) + Duration::from_micros(u64::from(i) * 200);
            if !budget.admit(rogue, 100, at) && overflow.dropped(rogue, at) {
                penalties += 1;
            }
        }
        // Its burst of 1,000, 500 more over the second; 3,500 dropped.
        assert!((65..=75).contains(&penalties), "{penalties}");
        for minute in 0..10u64 {
            let at = now + Duration::from_secs(60 * minute);
            for _ in 0..49 {
                assert!(!overflow.dropped(honest, at));
            }
        }
    }

    /// Messages refunded (the market wanted them) never exhaust a peer's budget.
    #[test]
    fn refunded_messages_do_not_count() {
        let mut budget = InboundBudget::new(LIMITS);
        let relay = PeerId::random();
        let now = Instant::now();
        for _ in 0..1_000 {
            assert!(budget.admit(relay, 1, now));
            budget.refund(relay);
        }
    }

    #[test]
    fn bytes_are_budgeted_as_well_as_requests() {
        let mut budget = InboundBudget::new(LIMITS);
        let peer = PeerId::random();
        let now = Instant::now();
        assert!(budget.admit(peer, 1_500, now));
        assert!(!budget.admit(peer, 600, now), "500 bytes left of the burst");
        assert!(budget.admit(peer, 500, now));
    }

    #[test]
    fn one_peer_over_its_budget_leaves_another_untouched() {
        let mut budget = InboundBudget::new(LIMITS);
        let (rogue, honest) = (PeerId::random(), PeerId::random());
        let now = Instant::now();
        for _ in 0..1_000 {
            budget.admit(rogue, 1, now);
        }
        assert!(budget.admit(honest, 1, now));
    }

    #[test]
    fn many_peers_keep_the_table_bounded_and_a_busy_peer_keeps_its_spent_budget() {
        let mut budget = InboundBudget::new(LIMITS);
        let rogue = PeerId::random();
        let now = Instant::now();
        while budget.admit(rogue, 1, now) {}
        for _ in 0..PEERS_KEPT * 2 {
            budget.admit(PeerId::random(), 1, now);
        }
        assert!(budget.peers.len() <= PEERS_KEPT);
        // The rogue's bucket may have gone as the least recently charged; if it is still
        // there it is still empty.
        if budget.peers.contains_key(&rogue) {
            assert!(!budget.admit(rogue, 1, now));
        }
        // Quiet buckets go first: after two seconds every one has refilled.
        let later = now + Duration::from_secs(3);
        budget.admit(PeerId::random(), 1, later);
        assert_eq!(budget.peers.len(), 1);
    }
}
