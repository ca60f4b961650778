//! The gossip rules that depend on what this node saw of a job: the version of the
//! client's request it holds and the award it saw first. Pure functions over that
//! read-only view, so they unit-test without a network or a chain.
//!
//! A client may sign two versions of one job's request, or two awards, and send one to
//! each half of the mesh; a node then judges a bid, an award or an acceptance against its
//! own version, and an honest forwarder may have seen the other. So a message that breaks
//! one of these rules is never a Reject (which would penalize the forwarder): it is
//! ignored and charged to its signer *for that client's jobs* ([`Verdict::Charge`],
//! [`Charges`]), but only a signer with standing: the client (its requests and awards) or
//! a registered prover (its bids, and the winner's acceptance); a message of any other
//! key is a plain Ignore. A signer charged beyond a quota within a fixed 60 s window is
//! not heard on that client's jobs until the window ends: a client that equivocates mutes
//! itself (and at worst the bidders on its own jobs, for its jobs only), and a prover
//! flooding bad bids on a client's jobs mutes only itself, never the client. The
//! signature checks whose digests bind the request version (awards, acceptances) and
//! `request_changed` are charged the same way in `gossip.rs`.

use std::collections::HashMap;

use provernet_protocol::{Acceptance, Award, Bid, JobRequest, PeerKey};

/// Why a message failed the market rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Reject: the sender broke a rule every honest node checks the same way.
    Reject(&'static str),
    /// Ignore: not provably the sender's fault.
    Ignore(&'static str),
    /// Ignore, and charge the signer for the jobs of this client (its key's bytes): the
    /// rule depends on the version of the job this node saw.
    Charge(&'static str, [u8; 32]),
    /// Not decided yet: the request's client's deposit is being read, and the message is
    /// judged again when the read returns (`admission`).
    Wait,
}

/// A bid against the request as this node saw it: its round, price cap and deadline.
pub(crate) fn bid_within_request(
    request: &JobRequest,
    client_key: PeerKey,
    bid: &Bid,
) -> Result<(), Verdict> {
    let charge = |reason| Err(Verdict::Charge(reason, *client_key.as_bytes()));
    if bid.round != request.round {
        return charge("wrong_round");
    }
    if bid.price > request.max_price {
        return charge("price_above_max");
    }
    if bid.promised_deadline > request.proving_deadline {
        return charge("deadline_after_request");
    }
    // Proving starts at the award, after the window: a promise by then is a lie that
    // would cost nothing in the client's choice (`auction::cost`).
    if bid.promised_deadline <= request.bid_window_ends {
        return charge("deadline_before_award");
    }
    Ok(())
}

/// An award against the request and the award this node saw: from the request's client
/// key, of its round, within its price and deadline, and the round's only selection.
pub(crate) fn award_within_request(
    request: &JobRequest,
    client_key: PeerKey,
    previous: Option<&Award>,
    signer: &PeerKey,
    award: &Award,
) -> Result<(), Verdict> {
    let charge = |reason| Err(Verdict::Charge(reason, *client_key.as_bytes()));
    // Any key can sign an award: one that is not the client's has no standing to be
    // charged (charging it would only fill the table).
    if *signer != client_key {
        return Err(Verdict::Ignore("award_not_from_client"));
    }
    if award.round != request.round {
        return charge("wrong_round");
    }
    if award.price > request.max_price {
        return charge("price_above_max");
    }
    if award.deadline > request.proving_deadline {
        return charge("deadline_after_request");
    }
    // One award per round: its selection and its signed form, in either order.
    if previous.is_some_and(|previous| previous.selection() != award.selection()) {
        return charge("second_award");
    }
    Ok(())
}

/// An acceptance against the award and request this node saw: from the winner's key, on
/// the award's terms and the request's input.
pub(crate) fn acceptance_within_award(
    request: &JobRequest,
    client_key: PeerKey,
    award: &Award,
    signer: &PeerKey,
    acceptance: &Acceptance,
) -> Result<(), Verdict> {
    let charge = |reason| Err(Verdict::Charge(reason, *client_key.as_bytes()));
    // Likewise, only the winner's key has standing here.
    if *signer != award.prover_key {
        return Err(Verdict::Ignore("acceptance_not_from_winner"));
    }
    if acceptance.price != award.price
        || acceptance.deadline != award.deadline
        || acceptance.input_hash != request.input_hash
        || acceptance.round != award.round
    {
        return charge("acceptance_differs_from_award");
    }
    Ok(())
}

/// The messages on one job that one key may have accepted, and so forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnJob {
    /// A prover's bid: one.
    Bid = 0,
    /// The client's award: its selection, then the signed award.
    Award = 1,
    /// The winner's acceptance: one.
    Acceptance = 2,
}

impl OnJob {
    const fn limit(self) -> u8 {
        match self {
            Self::Bid | Self::Acceptance => 1,
            Self::Award => 2,
        }
    }
}

/// Most bidders heard on one job.
pub(crate) const SIGNERS_PER_JOB: usize = 256;

/// What each key had accepted on one job, by [`OnJob`].
pub(crate) type Heard = Vec<([u8; 32], [u8; 3])>;

/// Whether `signer` may have one more message of `kind` accepted on the job of
/// `client_key`, given what it had (`heard`). An honest node publishes each once (twice
/// for an award), so a key that sends more, re-signed copies or variants (a second bid at
/// another price), is not forwarded again, and is charged on that client's jobs: which of
/// its variants came first depends on this node's view.
pub(crate) fn within_job_quota(
    heard: &Heard,
    signer: &PeerKey,
    client_key: PeerKey,
    kind: OnJob,
) -> Result<(), Verdict> {
    match heard.iter().find(|(key, _)| key == signer.as_bytes()) {
        Some((_, counts)) if counts[kind as usize] >= kind.limit() => {
            Err(Verdict::Charge("signer_job_quota", *client_key.as_bytes()))
        }
        Some(_) => Ok(()),
        // Bids only: the client's award and the winner's acceptance always pass (only
        // those two keys can sign them, checked before).
        None if heard.len() >= SIGNERS_PER_JOB && kind == OnJob::Bid => {
            Err(Verdict::Ignore("job_signers_full"))
        }
        None => Ok(()),
    }
}

/// Records one accepted message of `kind` from `signer` on a job.
pub(crate) fn record_heard(heard: &mut Heard, signer: &PeerKey, kind: OnJob) {
    let index = match heard.iter().position(|(key, _)| key == signer.as_bytes()) {
        Some(index) => index,
        None => {
            heard.push((*signer.as_bytes(), [0; 3]));
            heard.len() - 1
        }
    };
    let count = &mut heard[index].1[kind as usize];
    *count = count.saturating_add(1);
}

/// Per-signer budgets of the gossip kinds that name no job (those that do are held to
/// `rules::within_job_quota`).
pub(crate) struct SignerBudgets {
    /// A prover adverts every few seconds: one a second, two at once.
    adverts: crate::network::budget::InboundBudget<[u8; 32]>,
    /// A prover publishes one notice per leaf of each batch it commits: 256 a second, a
    /// full batch ([`provernet_protocol::kind::MAX_BATCH_SIZE`]) at once.
    notices: crate::network::budget::InboundBudget<[u8; 32]>,
}

impl Default for SignerBudgets {
    fn default() -> Self {
        let limits = |requests_per_s| crate::network::budget::Limits {
            requests_per_s,
            bytes_per_s: 1 << 40,
        };
        Self {
            adverts: crate::network::budget::InboundBudget::new(limits(1)),
            notices: crate::network::budget::InboundBudget::new(limits(
                provernet_protocol::kind::MAX_BATCH_SIZE / 2,
            )),
        }
    }
}

impl SignerBudgets {
    /// Whether `signer` may have one more advert (or notice) accepted now.
    pub(crate) fn admit(
        &mut self,
        kind: provernet_protocol::MessageKind,
        signer: &PeerKey,
    ) -> bool {
        let budget = match kind {
            provernet_protocol::MessageKind::ProverAdvert => &mut self.adverts,
            provernet_protocol::MessageKind::CommitmentNotice => &mut self.notices,
            _ => return true,
        };
        budget.admit(*signer.as_bytes(), 0, std::time::Instant::now())
    }
}

/// Charges per (signer, client) within a window.
const CHARGE_WINDOW_S: u64 = 60;
/// Charges a signer may take on one client's jobs within a window before it is not heard
/// on them until the window ends: an honest client signs one version of each request and
/// one award per round, so neither it nor the bidders on its jobs are ever charged.
pub(crate) const CHARGE_QUOTA: u32 = 16;
/// Most (signer, client) pairs tracked at once: beyond it, a new pair is not tracked (its
/// messages that break these rules are ignored all the same, one at a time).
const MAX_CHARGED: usize = 4_096;

/// The charges of each (signer, client) pair in its current window. Bounded: expired
/// windows make room, and a full table tracks no new pair rather than forget one over its
/// quota.
#[derive(Debug, Default)]
pub(crate) struct Charges {
    windows: HashMap<([u8; 32], [u8; 32]), (u64, u32)>,
    /// No window in the table ends before this: a full table is swept only from then
    /// on, so a flood of new pairs costs one lookup each, not a sweep each.
    next_expiry: u64,
}

impl Charges {
    /// Charges `signer` once at `now` (unix seconds) on the jobs of `client`.
    pub(crate) fn charge(&mut self, signer: [u8; 32], client: [u8; 32], now: u64) {
        let key = (signer, client);
        if !self.windows.contains_key(&key) && self.windows.len() >= MAX_CHARGED {
            if now < self.next_expiry {
                return;
            }
            self.windows
                .retain(|_, (start, _)| now < start.saturating_add(CHARGE_WINDOW_S));
            self.next_expiry = self
                .windows
                .values()
                .map(|(start, _)| start.saturating_add(CHARGE_WINDOW_S))
                .min()
                .unwrap_or(0);
            if self.windows.len() >= MAX_CHARGED {
                return;
            }
        }
        let window = self.windows.entry(key).or_insert((now, 0));
        if now >= window.0.saturating_add(CHARGE_WINDOW_S) {
            *window = (now, 0);
        }
        window.1 = window.1.saturating_add(1);
    }

    /// Whether `signer` took more than [`CHARGE_QUOTA`] charges on `client`'s jobs in its
    /// current window.
    pub(crate) fn over_quota(&self, signer: &PeerKey, client: &PeerKey, now: u64) -> bool {
        self.over(signer.as_bytes(), client.as_bytes(), now)
    }

    fn over(&self, signer: &[u8; 32], client: &[u8; 32], now: u64) -> bool {
        self.windows
            .get(&(*signer, *client))
            .is_some_and(|(start, count)| {
                now < start.saturating_add(CHARGE_WINDOW_S) && *count > CHARGE_QUOTA
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::{Address, CircuitId, EthSignature, Hash32, JobId, Wei};

    /// A valid key from `seed` (a `PeerKey` is only ever a valid point).
    fn key_from(seed: [u8; 32]) -> PeerKey {
        PeerKey::from(ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key())
    }

    fn request(max_price: Wei) -> JobRequest {
        JobRequest {
            client: Address([1; 20]),
            nonce: 7,
            round: 0,
            circuit_id: CircuitId([2; 32]),
            input_hash: Hash32([3; 32]),
            public_inputs_hash: Hash32([4; 32]),
            input_size: 100,
            max_price,
            bid_window_ends: 1_000,
            proving_deadline: 2_000,
            client_signature: EthSignature([0; 65]),
            circuit_name: String::new(),
        }
    }

    fn bid(price: Wei) -> Bid {
        Bid {
            job_id: JobId([5; 32]),
            round: 0,
            prover: Address([6; 20]),
            price,
            promised_deadline: 1_500,
            signature: EthSignature([0; 65]),
        }
    }

    /// A client signs two versions of a request (max price 10 and 20) and sends one to
    /// each half of the mesh. A bid at 15 is valid under the second; a node holding the
    /// first must not reject it (its forwarder saw the second): it ignores it, charged to
    /// the bidder on this client's jobs only.
    #[test]
    fn a_bid_judged_against_another_version_of_the_request_is_ignored_not_rejected() {
        let client = key_from([9; 32]);
        assert_eq!(bid_within_request(&request(20), client, &bid(15)), Ok(()));
        assert_eq!(
            bid_within_request(&request(10), client, &bid(15)),
            Err(Verdict::Charge("price_above_max", *client.as_bytes()))
        );
    }

    /// A prover promises completion by the bid window's end, before it could even be
    /// awarded, hoping a promise without a wait wins the client's choice: refused and
    /// charged. One second after the window is a promise it could keep.
    #[test]
    fn a_promise_before_the_award_is_refused() {
        let client = key_from([9; 32]);
        for promised in [1, 999, 1_000] {
            let early = Bid {
                promised_deadline: promised,
                ..bid(15)
            };
            assert_eq!(
                bid_within_request(&request(20), client, &early),
                Err(Verdict::Charge("deadline_before_award", *client.as_bytes())),
                "{promised}"
            );
        }
        let next = Bid {
            promised_deadline: 1_001,
            ..bid(15)
        };
        assert_eq!(bid_within_request(&request(20), client, &next), Ok(()));
    }

    /// The same client sends two different awards for one round to two halves of the mesh:
    /// a node that saw the first charges the client for the second, whoever forwarded it.
    #[test]
    fn a_second_award_charges_the_client_not_the_forwarder() {
        let client = key_from([9; 32]);
        let award = |prover: u8| Award {
            job_id: JobId([5; 32]),
            round: 0,
            prover: Address([prover; 20]),
            prover_key: key_from([prover; 32]),
            price: 10,
            deadline: 1_500,
            signature: EthSignature([0; 65]),
        };
        let first = award(6);
        assert_eq!(
            award_within_request(&request(20), client, Some(&first), &client, &first),
            Ok(())
        );
        assert_eq!(
            award_within_request(&request(20), client, Some(&first), &client, &award(8)),
            Err(Verdict::Charge("second_award", *client.as_bytes()))
        );
        // An award signed by anyone but the client of the request this node holds: any
        // key can sign one, so it is ignored and nobody is charged.
        assert_eq!(
            award_within_request(&request(20), client, None, &key_from([1; 32]), &first),
            Err(Verdict::Ignore("award_not_from_client"))
        );
    }

    /// A signer over its quota on a client's jobs is not heard on them until the window
    /// ends; the client itself, and the signer on other clients' jobs, still are. So a
    /// peer flooding bad bids on an honest client's jobs mutes only itself.
    #[test]
    fn a_signer_over_its_quota_is_not_heard_on_that_clients_jobs_until_its_window_ends() {
        let mut charges = Charges::default();
        let (flooder, client, other) = (key_from([7; 32]), key_from([9; 32]), key_from([8; 32]));
        for _ in 0..CHARGE_QUOTA {
            charges.charge(*flooder.as_bytes(), *client.as_bytes(), 100);
        }
        assert!(
            !charges.over_quota(&flooder, &client, 100),
            "the quota itself is allowed"
        );
        charges.charge(*flooder.as_bytes(), *client.as_bytes(), 110);
        assert!(charges.over_quota(&flooder, &client, 110));
        assert!(
            !charges.over_quota(&client, &client, 110),
            "the client is still heard"
        );
        assert!(
            !charges.over_quota(&flooder, &other, 110),
            "on other clients' jobs too"
        );
        assert!(
            !charges.over_quota(&flooder, &client, 100 + CHARGE_WINDOW_S),
            "the window ends"
        );
        charges.charge(
            *flooder.as_bytes(),
            *client.as_bytes(),
            100 + CHARGE_WINDOW_S,
        );
        assert!(
            !charges.over_quota(&flooder, &client, 100 + CHARGE_WINDOW_S),
            "a new window"
        );
    }

    /// A prover that bids twice on one job (another price, or the same bid re-signed in a
    /// fresh envelope) has its second bid ignored and is charged on the client's jobs; the
    /// client's award and signed award both pass, a third does not; a job heard from
    /// [`SIGNERS_PER_JOB`] keys hears no new one.
    #[test]
    fn a_key_is_forwarded_once_per_job_and_kind() {
        let (client, prover) = (key_from([9; 32]), key_from([6; 32]));
        let mut heard = Heard::new();
        assert_eq!(
            within_job_quota(&heard, &prover, client, OnJob::Bid),
            Ok(())
        );
        record_heard(&mut heard, &prover, OnJob::Bid);
        assert_eq!(
            within_job_quota(&heard, &prover, client, OnJob::Bid),
            Err(Verdict::Charge("signer_job_quota", *client.as_bytes()))
        );
        assert_eq!(
            within_job_quota(&heard, &prover, client, OnJob::Acceptance),
            Ok(()),
            "the winner's acceptance still passes"
        );
        for _ in 0..2 {
            assert_eq!(
                within_job_quota(&heard, &client, client, OnJob::Award),
                Ok(())
            );
            record_heard(&mut heard, &client, OnJob::Award);
        }
        assert!(within_job_quota(&heard, &client, client, OnJob::Award).is_err());
        for i in 0..SIGNERS_PER_JOB {
            let mut seed = [1u8; 32];
            seed[..8].copy_from_slice(&(i as u64).to_be_bytes());
            record_heard(&mut heard, &key_from(seed), OnJob::Bid);
        }
        assert_eq!(
            within_job_quota(&heard, &key_from([2; 32]), client, OnJob::Bid),
            Err(Verdict::Ignore("job_signers_full"))
        );
        assert_eq!(
            within_job_quota(&heard, &key_from([2; 32]), client, OnJob::Acceptance),
            Ok(()),
            "bidders cannot crowd out the winner's acceptance"
        );
    }

    /// Fresh keys cannot grow the table beyond its bound, nor push out a signer over its
    /// quota while its window lasts.
    #[test]
    fn the_table_is_bounded_and_keeps_signers_over_quota() {
        let mut charges = Charges::default();
        let key = |i: usize| {
            let mut k = [0u8; 32];
            k[..8].copy_from_slice(&(i as u64).to_be_bytes());
            key_from(k)
        };
        let client = key_from([9; 32]);
        for _ in 0..=CHARGE_QUOTA {
            charges.charge(*key(0).as_bytes(), *client.as_bytes(), 100);
        }
        for i in 1..3 * MAX_CHARGED {
            charges.charge(*key(i).as_bytes(), *client.as_bytes(), 100);
        }
        assert!(charges.windows.len() <= MAX_CHARGED);
        assert!(charges.over_quota(&key(0), &client, 100));
        // Once windows expire, new pairs are tracked again.
        charges.charge(
            *key(10 * MAX_CHARGED).as_bytes(),
            *client.as_bytes(),
            100 + CHARGE_WINDOW_S,
        );
        assert!(
            charges
                .windows
                .contains_key(&(*key(10 * MAX_CHARGED).as_bytes(), *client.as_bytes()))
        );
    }
}
