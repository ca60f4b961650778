//! The requests this node has heard, and who may add more.
//!
//! Anyone can sign a request, so the table is bounded, and no client may fill it against
//! the others (#17, "unfunded clients grief provers"):
//! - a request is admitted only while its client's free deposit, as the chain last showed
//!   it, pays its maximum price on top of the maximum prices of the client's requests
//!   still in their bid windows here: an unfunded client is not forwarded at all, and a
//!   funded one runs no more auctions at once than it could pay for;
//! - a client holds at most a sixteenth of the table;
//! - a full table makes room for a client that holds fewer requests than the heaviest
//!   one by forgetting the heaviest client's request whose bid window ends last: a flood
//!   from any number of clients cannot turn away a client that asks for its fair share.
//!
//! [`RequestTable::admit`] is a pure rule over the table and the client's funds, so it
//! unit-tests without a network or a chain. Each refusal depends on this node's view (its
//! chain reads, what it heard first), so it is an Ignore: the forwarder is never
//! penalized.

use std::collections::{BTreeSet, HashMap};

use provernet_protocol::{Address, JobId, JobRequest};

use super::SeenRequest;
use super::rules::Verdict;

/// Seconds a request is remembered after its proving deadline: an acceptance or award
/// replayed later is not taken for a new one (the watchtower keeps its settled deadlines
/// as long, for the same reason).
pub const REQUEST_MEMORY_SECS: u64 = 600;

/// How a request may enter the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// There is room.
    Fits,
    /// The table is full: this request of the heaviest client makes room.
    Evict(JobId),
}

/// The requests heard, indexed by expiry and by client.
#[derive(Default)]
pub(crate) struct RequestTable {
    by_id: HashMap<JobId, SeenRequest>,
    /// (forget after, job): expired requests leave from the front.
    by_expiry: BTreeSet<(u64, JobId)>,
    /// Each client's requests by (bid window end, job).
    by_client: HashMap<Address, BTreeSet<(u64, JobId)>>,
    /// Every request by (bid window end, job), until its window ended
    /// [`UNSIGNED_GRACE_SECS`] ago: then it leaves the table unless its award is signed.
    by_window: BTreeSet<(u64, JobId)>,
    capacity: usize,
    /// This node's own client address: its requests are never evicted.
    own: Option<Address>,
}

/// Longest bid window a request may have, from when it is heard, seconds: an honest
/// client's `client.bid_window_ms` is at most 60 s, and clocks may differ by a few.
pub(crate) const MAX_BID_WINDOW_SECS: u64 = 65;
/// How long a request without a signed award stays after its bid window, seconds: the
/// award comes at the window's end and is signed once the winner accepts, within
/// `client.accept_timeout_ms` (at most 60 s).
pub(crate) const UNSIGNED_GRACE_SECS: u64 = 120;

/// Whether the request has the client's signed award (a job under way).
fn signed(seen: &SeenRequest) -> bool {
    seen.award
        .as_ref()
        .is_some_and(provernet_protocol::Award::is_signed)
}

/// What a held request may still cost its client: a signed award's price, else the
/// request's maximum price.
fn committed_price(seen: &SeenRequest) -> u128 {
    match &seen.award {
        Some(award) if award.is_signed() => award.price,
        _ => seen.request.max_price,
    }
}

impl RequestTable {
    pub(crate) fn new(capacity: usize, own: Option<Address>) -> Self {
        Self {
            capacity: capacity.max(16),
            own,
            ..Self::default()
        }
    }

    /// Most requests one client may hold.
    pub(crate) fn per_client(&self) -> usize {
        self.capacity / 16
    }

    /// Requests held.
    pub(crate) fn len(&self) -> usize {
        self.by_id.len()
    }

    pub(crate) fn get(&self, id: &JobId) -> Option<&SeenRequest> {
        self.by_id.get(id)
    }

    /// The request itself and its expiry stay as inserted: only its award and acceptance
    /// change.
    pub(crate) fn get_mut(&mut self, id: &JobId) -> Option<&mut SeenRequest> {
        self.by_id.get_mut(id)
    }

    /// The requests whose bid window ends after `now` (unix seconds), earliest first.
    pub(crate) fn open_windows(&self, now: u64) -> Vec<JobId> {
        self.by_window
            .range((now.saturating_add(1), JobId([0; 32]))..)
            .map(|(_, id)| *id)
            .collect()
    }

    pub(crate) fn contains_key(&self, id: &JobId) -> bool {
        self.by_id.contains_key(id)
    }

    /// Requests of `client` held here.
    #[cfg(test)]
    pub(crate) fn of_client(&self, client: &Address) -> usize {
        self.by_client.get(client).map_or(0, BTreeSet::len)
    }

    /// Whether `request` may enter, given that its client's free deposit is `free` wei
    /// and the time is `now` (unix seconds).
    pub(crate) fn admit(
        &self,
        request: &JobRequest,
        free: u128,
        now: u64,
    ) -> Result<Admission, Verdict> {
        // An honest client's bid window is at most a minute: a longer one would hold
        // provers' attention (and dodge the rule below) for as long as its signer likes.
        if request.bid_window_ends > now.saturating_add(MAX_BID_WINDOW_SECS) {
            return Err(Verdict::Ignore("bid_window_too_long"));
        }
        if request.max_price > free {
            return Err(Verdict::Ignore("client_unfunded"));
        }
        let held = self.by_client.get(&request.client);
        let count = held.map_or(0, BTreeSet::len);
        if count >= self.per_client() {
            return Err(Verdict::Ignore("client_quota"));
        }
        // Every request of the client held here: a signed award at its price (the client
        // promised it), any other at its maximum price (it may yet be awarded at that).
        // Those without a signed award leave [`UNSIGNED_GRACE_SECS`] after their window;
        // a signed award stays until its deadline has passed, counted all the while, so
        // holding places costs the client deposit (a paid job counts until it leaves too).
        let committed = held
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.by_id.get(id))
            .map(committed_price)
            .fold(request.max_price, u128::saturating_add);
        if committed > free {
            return Err(Verdict::Ignore("client_requests_exceed_deposit"));
        }
        if self.by_id.len() < self.capacity {
            return Ok(Admission::Fits);
        }
        // Room is made from the heaviest client that has a request to give, never this
        // node's own, and never a job under way (a signed award): its latest other one.
        let evictable = |held: &BTreeSet<(u64, JobId)>| {
            held.iter()
                .rev()
                .find(|(_, id)| self.by_id.get(id).is_some_and(|s| !signed(s)))
                .map(|(_, id)| *id)
        };
        let mut heaviest: Option<(usize, JobId)> = None;
        for (client, held) in &self.by_client {
            if Some(*client) == self.own
                || held.len() <= count + 1
                || heaviest.is_some_and(|(n, _)| n >= held.len())
            {
                continue;
            }
            if let Some(id) = evictable(held) {
                heaviest = Some((held.len(), id));
            }
        }
        match heaviest {
            Some((_, id)) => Ok(Admission::Evict(id)),
            None => Err(Verdict::Ignore("request_table_full")),
        }
    }

    /// Adds a request (a client's own requests enter without [`Self::admit`]).
    pub(crate) fn insert(&mut self, id: JobId, seen: SeenRequest) {
        self.remove(&id);
        self.by_expiry.insert((seen.forget_after, id));
        self.by_window.insert((seen.request.bid_window_ends, id));
        self.by_client
            .entry(seen.request.client)
            .or_default()
            .insert((seen.request.bid_window_ends, id));
        self.by_id.insert(id, seen);
    }

    pub(crate) fn remove(&mut self, id: &JobId) -> Option<SeenRequest> {
        let seen = self.by_id.remove(id)?;
        self.by_expiry.remove(&(seen.forget_after, *id));
        self.by_window.remove(&(seen.request.bid_window_ends, *id));
        if let Some(held) = self.by_client.get_mut(&seen.request.client) {
            held.remove(&(seen.request.bid_window_ends, *id));
            if held.is_empty() {
                self.by_client.remove(&seen.request.client);
            }
        }
        Some(seen)
    }

    /// Forgets the requests whose time ran out by `now` (unix seconds), oldest first, and
    /// those without a signed award whose bid window ended [`UNSIGNED_GRACE_SECS`] ago;
    /// returns how many.
    pub(crate) fn forget_expired(&mut self, now: u64) -> usize {
        let mut forgotten = 0;
        while let Some(&(window, id)) = self.by_window.first() {
            if window.saturating_add(UNSIGNED_GRACE_SECS) > now {
                break;
            }
            self.by_window.remove(&(window, id));
            if self.by_id.get(&id).is_some_and(|s| !signed(s)) {
                self.remove(&id);
                forgotten += 1;
            }
        }
        while let Some(&(forget_after, id)) = self.by_expiry.first() {
            if forget_after > now {
                break;
            }
            self.remove(&id);
            forgotten += 1;
        }
        forgotten
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::{CircuitId, EthSignature, Hash32, PeerKey};

    fn key() -> PeerKey {
        PeerKey::from(ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key())
    }

    fn request(client: u8, nonce: u64, max_price: u128, bid_window_ends: u64) -> JobRequest {
        JobRequest {
            client: Address([client; 20]),
            nonce,
            round: 0,
            circuit_id: CircuitId([2; 32]),
            input_hash: Hash32([3; 32]),
            public_inputs_hash: Hash32([4; 32]),
            input_size: 100,
            max_price,
            bid_window_ends,
            proving_deadline: bid_window_ends + 1_000,
            client_signature: EthSignature([0; 65]),
            circuit_name: String::new(),
        }
    }

    fn seen(request: JobRequest) -> SeenRequest {
        SeenRequest {
            forget_after: request.proving_deadline + 600,
            client_key: key(),
            request,
            award: None,
            acceptance: None,
            heard: Vec::new(),
        }
    }

    /// The client's signed award of `job_id` at 1 wei (`signed = false`: its selection).
    fn award(job_id: JobId, signed: bool) -> provernet_protocol::Award {
        provernet_protocol::Award {
            job_id,
            round: 0,
            prover: Address([6; 20]),
            prover_key: key(),
            price: 1,
            deadline: 2_000,
            signature: EthSignature([u8::from(signed); 65]),
        }
    }

    fn add(table: &mut RequestTable, request: JobRequest) {
        table.insert(request.job_id(), seen(request));
    }

    /// A client whose free deposit does not pay the price is not heard; one that pays it
    /// runs no more auctions at once than its deposit pays at their maximum prices, and
    /// runs more once their bid windows end.
    #[test]
    fn a_client_is_heard_only_for_the_auctions_its_deposit_pays() {
        let mut table = RequestTable::new(1_024, None);
        let now = 100;
        assert_eq!(
            table.admit(&request(1, 0, 10, now + 5), 9, now),
            Err(Verdict::Ignore("client_unfunded"))
        );
        for nonce in 0..3 {
            let r = request(1, nonce, 10, now + 5);
            assert_eq!(table.admit(&r, 30, now), Ok(Admission::Fits));
            add(&mut table, r);
        }
        assert_eq!(
            table.admit(&request(1, 3, 10, now + 5), 30, now),
            Err(Verdict::Ignore("client_requests_exceed_deposit"))
        );
        // Another client is not affected.
        assert_eq!(
            table.admit(&request(2, 0, 10, now + 5), 10, now),
            Ok(Admission::Fits)
        );
        // A request whose window ended still counts until it is awarded or forgotten:
        // a client cannot dodge the rule with windows that end at once.
        assert_eq!(
            table.admit(&request(1, 3, 10, now + 20), 30, now + 6),
            Err(Verdict::Ignore("client_requests_exceed_deposit"))
        );
        // Nor with a selection it never signs (a request so awarded would otherwise stay
        // for its whole deadline).
        let awarded = request(1, 0, 10, now + 5).job_id();
        if let Some(seen) = table.get_mut(&awarded) {
            seen.award = Some(award(awarded, false));
        }
        assert_eq!(
            table.admit(&request(1, 3, 10, now + 20), 30, now + 6),
            Err(Verdict::Ignore("client_requests_exceed_deposit"))
        );
        // A signed award counts at its price (1 wei): 1 + 10 + 10 + 10.
        if let Some(seen) = table.get_mut(&awarded) {
            seen.award = Some(award(awarded, true));
        }
        assert_eq!(
            table.admit(&request(1, 3, 10, now + 20), 30, now + 6),
            Err(Verdict::Ignore("client_requests_exceed_deposit"))
        );
        assert_eq!(
            table.admit(&request(1, 3, 10, now + 20), 31, now + 6),
            Ok(Admission::Fits),
        );
        // Nor can it hold provers with a window of more than a minute.
        assert_eq!(
            table.admit(&request(1, 4, 10, now + 6 + 66), u128::MAX, now + 6),
            Err(Verdict::Ignore("bid_window_too_long"))
        );
        // Requests without a signed award leave two minutes after their window; the
        // deposit pays again (but for the signed award, 1 wei).
        assert_eq!(table.forget_expired(now + 5 + UNSIGNED_GRACE_SECS), 2);
        assert_eq!(
            table.admit(&request(1, 5, 29, now + 200), 30, now + 150),
            Ok(Admission::Fits)
        );
        assert_eq!(
            table.admit(&request(1, 5, 30, now + 200), 30, now + 150),
            Err(Verdict::Ignore("client_requests_exceed_deposit"))
        );
    }

    /// One client, however funded, holds at most a sixteenth of the table; a full table
    /// makes room for a lighter client by forgetting the heaviest client's latest
    /// request, and turns a request away only when no client holds more than its sender.
    #[test]
    fn a_flood_of_funded_clients_cannot_turn_away_a_client_with_fewer_requests() {
        let mut table = RequestTable::new(64, None);
        let (now, rich) = (100, u128::MAX);
        for nonce in 0..100 {
            let r = request(1, nonce, 1, now + 1 + nonce % 60);
            match table.admit(&r, rich, now) {
                Ok(Admission::Fits) => add(&mut table, r),
                Err(Verdict::Ignore("client_quota")) => break,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(table.of_client(&Address([1; 20])), table.per_client());
        // Sybil clients, three requests each, fill the rest of the table.
        let mut sybil = 2u8;
        while table.len() < 64 {
            for nonce in 0..3 {
                let r = request(sybil, nonce, 1, now + 10);
                if table.admit(&r, rich, now) == Ok(Admission::Fits) {
                    add(&mut table, r);
                }
            }
            sybil += 1;
        }
        // An honest client with nothing in the table gets in: the heaviest client's
        // request whose window ends last gives way.
        let honest = request(200, 0, 1, now + 3);
        let Ok(Admission::Evict(evicted)) = table.admit(&honest, rich, now) else {
            panic!("a full table makes room for a light client");
        };
        assert_eq!(
            table.get(&evicted).map(|s| s.request.client),
            Some(Address([1; 20]))
        );
        assert_eq!(evicted, request(1, 3, 1, now + 4).job_id());
        table.remove(&evicted);
        add(&mut table, honest);
        assert_eq!(table.len(), 64);
        // A sybil with as many as everyone else is turned away, not the other way round.
        let mut even = RequestTable::new(16, None);
        for client in 1..=16 {
            add(&mut even, request(client, 0, 1, now + 10));
        }
        assert_eq!(
            even.admit(&request(1, 1, 1, now + 10), rich, now),
            Err(Verdict::Ignore("client_quota")),
            "a table of 16 allows one request per client"
        );
        let mut even = RequestTable::new(32, None);
        for client in 1..=16 {
            add(&mut even, request(client, 0, 1, now + 10));
            add(&mut even, request(client, 1, 1, now + 10));
        }
        assert!(
            matches!(
                even.admit(&request(17, 0, 1, now + 10), rich, now),
                Ok(Admission::Evict(_))
            ),
            "a newcomer still gets one place among clients holding two"
        );
        let mut flat = RequestTable::new(16, None);
        for client in 1..=16 {
            add(&mut flat, request(client, 0, 1, now + 10));
        }
        assert_eq!(
            flat.admit(&request(17, 0, 1, now + 10), rich, now),
            Err(Verdict::Ignore("request_table_full")),
            "with every client at one request, a newcomer waits for an expiry"
        );
    }

    /// Expired requests leave the table and every index; an awarded one stays until its
    /// deadline has passed.
    #[test]
    fn expired_requests_leave_every_index() {
        let mut table = RequestTable::new(64, None);
        add(&mut table, request(1, 0, 1, 10));
        let kept = request(1, 1, 1, 1_000);
        add(&mut table, kept.clone());
        if let Some(seen) = table.get_mut(&kept.job_id()) {
            seen.award = Some(award(kept.job_id(), true));
        }
        assert_eq!(table.forget_expired(10 + UNSIGNED_GRACE_SECS), 1);
        assert_eq!(table.forget_expired(1_000 + UNSIGNED_GRACE_SECS), 0);
        assert_eq!(table.len(), 1);
        assert_eq!(table.of_client(&Address([1; 20])), 1);
        assert_eq!(table.forget_expired(u64::MAX), 1);
        assert!(
            table.by_client.is_empty() && table.by_expiry.is_empty() && table.by_window.is_empty()
        );
    }

    /// A full table never makes room with this node's own requests, nor with a job under
    /// way (a signed award); it takes from the heaviest client that has one to give.
    #[test]
    fn eviction_spares_own_and_awarded_requests() {
        let own = Address([1; 20]);
        let mut table = RequestTable::new(16, Some(own));
        for nonce in 0..8 {
            add(&mut table, request(1, nonce, 1, 110));
        }
        for nonce in 0..4 {
            let r = request(2, nonce, 1, 110);
            add(&mut table, r.clone());
            if let Some(seen) = table.get_mut(&r.job_id()) {
                seen.award = Some(award(r.job_id(), true));
            }
        }
        for client in 3..7 {
            add(&mut table, request(client, 0, 1, 110));
        }
        assert_eq!(
            table.admit(&request(9, 0, 1, 110), u128::MAX, 100),
            Err(Verdict::Ignore("request_table_full")),
            "the heaviest is this node's own, the next holds only jobs under way"
        );
        let mut bigger = RequestTable::new(18, Some(own));
        for nonce in 0..8 {
            add(&mut bigger, request(1, nonce, 1, 110));
        }
        for nonce in 0..5 {
            let r = request(2, nonce, 1, 110);
            add(&mut bigger, r.clone());
            if let Some(seen) = bigger.get_mut(&r.job_id()) {
                seen.award = Some(award(r.job_id(), true));
            }
        }
        for nonce in 0..3 {
            add(&mut bigger, request(3, nonce, 1, 110 + nonce));
        }
        add(&mut bigger, request(4, 0, 1, 110));
        add(&mut bigger, request(5, 0, 1, 110));
        assert_eq!(
            bigger.admit(&request(9, 0, 1, 110), u128::MAX, 100),
            Ok(Admission::Evict(request(3, 2, 1, 112).job_id())),
            "the heaviest client with a request to give gives its latest"
        );
    }
}
