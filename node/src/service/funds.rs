//! The prover's view of who can pay and how much more its stake covers.
//!
//! Before bidding, a prover checks that the client can pay the price on top of the
//! prices of this client's jobs it already holds: out of the client's reservation for
//! this prover (`reservations`, lasting until the job's deadline plus
//! `prover.claim_margin_secs`), which nobody else can draw; or, unless
//! `prover.require_reservation`, out of its free deposit (`freeDeposit`: the deposit
//! less a withdrawal request that has not lapsed), which awards to others may empty
//! first. It checks again when it wins the award, against the jobs it holds then (two
//! bids on one client's jobs may both win). And its own stake must cover one more leaf at
//! risk (`exposure`, counted as `commitBatch` counts it, plus the jobs it holds that are
//! not committed yet). The rules are [`provernet_market::funds`]; this module reads the
//! chain for them, off the core.
//!
//! A client's funds are read when a request arrives from a client not read in the last
//! [`FUNDS_TTL_MS`], by a bounded number of concurrent reads; the requests that wait for
//! a read are considered again when it returns. The prover's own exposure is read by the
//! chain follower at every poll.

use std::collections::HashMap;

use ethers::types::Address as EthAddress;
use provernet_market::funds::{ClientFunds, Exposure, Funding};
use provernet_protocol::{Address, JobId};

use super::{Core, Internal, eth};
use crate::metrics::kind;
use crate::store::{BatchState, WorkState};

/// How long a client's funds, once read, are trusted for a bid, ms.
pub(super) const FUNDS_TTL_MS: u64 = 2_000;
/// Most reads of client funds in flight at once.
pub(super) const MAX_READS: usize = 32;
/// A read not answered by then failed: gossipsub holds a message waiting for its verdict
/// for about 2.5 s (5 heartbeats), and a slot must never stay taken.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);
/// Most requests waiting for a read of their client's deposit.
const MAX_WAITING: usize = 4_096;
/// Most clients whose funds are kept.
const MAX_KEPT: usize = 16_384;

/// What waits for a read of one client's funds.
#[derive(Debug, Default)]
pub(super) struct Reading {
    /// Requests to consider bidding on again.
    jobs: Vec<JobId>,
    /// Request gossip to judge again (`admission`).
    pub(super) messages: Vec<super::admission::Parked>,
    /// The peer whose request started the read, if a request did.
    pub(super) started_by: Option<libp2p::PeerId>,
    /// What this prover's claims mined since the read started took from the client, wei:
    /// the read may not show it yet, and the jobs it paid no longer count as owed, so it
    /// comes off the figures read (twice, if the read did show it: fewer bids, never one
    /// the client cannot pay).
    claimed: u128,
}

/// What the chain shows a client can pay this prover.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChainFunds {
    /// `freeDeposit(client)`, wei.
    pub(crate) free: u128,
    /// `reservations(client, this prover)`: wei, and the unix second it lasts until.
    pub(crate) reserved: u128,
    pub(crate) reserved_until: u64,
}

/// Client funds read from the chain, and the requests waiting for a read.
#[derive(Debug, Default)]
pub(super) struct Funds {
    /// Funds by client, and when they were read (unix ms).
    known: HashMap<EthAddress, (ChainFunds, u64)>,
    /// Clients being read, with the requests and the gossip waiting for the answer.
    pub(super) reading: HashMap<EthAddress, Reading>,
    waiting: usize,
    /// Gossip messages waiting for a read, in all, and by the peer they came from.
    pub(super) parked: usize,
    /// Request messages waiting for reads, by the peer they came from.
    pub(super) parked_by_peer: HashMap<libp2p::PeerId, usize>,
    /// Reads in flight that each peer's requests started.
    pub(super) reads_by_peer: HashMap<libp2p::PeerId, usize>,
    /// This prover's exposure, as the chain last showed it.
    pub(super) exposure: Option<Exposure>,
}

/// Why a prover does not bid on a request it could prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decline {
    /// Neither the client's reservation for us nor its free deposit pays the price on
    /// top of what it owes us.
    Unfunded,
    /// Only the client's free deposit pays it, and this prover requires a reservation.
    Unreserved,
    /// Our stake covers no more leaves at risk.
    Exposure,
    /// The client's deposit is being read; the request is considered again then.
    Reading,
}

impl Decline {
    /// Why an award was not taken, for the job's record.
    pub(super) fn award_refusal(self) -> &'static str {
        match self {
            Self::Unfunded | Self::Unreserved => {
                "the client's funds do not pay it on top of its other jobs and standing bids"
            }
            Self::Exposure => "the stake covers no more leaves at risk",
            Self::Reading => {
                "the client's funds are not known here (read again for its next request)"
            }
        }
    }

    fn metric(self) -> &'static str {
        match self {
            Self::Unfunded => "declined_unfunded",
            Self::Unreserved => "declined_unreserved",
            Self::Exposure => "declined_exposure",
            Self::Reading => "waiting_deposit",
        }
    }
}

impl Core {
    /// Whether the prover can bid on `job` of `client` at `price`, due by `deadline`
    /// (unix seconds), by what the chain shows; starts a read of the client's funds when
    /// they are not known, and counts every decline in `provernet_bids_total{kind}`.
    pub(super) fn check_funds(
        &mut self,
        job: JobId,
        client: &Address,
        price: u128,
        deadline: u64,
        now: u64,
    ) -> Result<(), Decline> {
        let verdict = self.funds_verdict(job, client, price, deadline, now);
        if let Err(decline) = verdict {
            tracing::debug!(target: "market::prover", %job, ?decline, "not bidding");
            self.s
                .metrics
                .market
                .bids
                .get_or_create(&kind(decline.metric()))
                .inc();
        }
        verdict
    }

    fn funds_verdict(
        &mut self,
        job: JobId,
        client: &Address,
        price: u128,
        deadline: u64,
        now: u64,
    ) -> Result<(), Decline> {
        if !self.stake_covers_one_more() {
            return Err(Decline::Exposure);
        }
        let client = eth(client);
        match self.prover.funds.known.get(&client) {
            Some(&(read, read_at)) if now.saturating_sub(read_at) <= FUNDS_TTL_MS => {
                // Read again ahead of time, so that a client sending jobs all along never
                // has its next request wait for a read (past its bid window, under load).
                if now.saturating_sub(read_at) > FUNDS_TTL_MS / 2 {
                    self.start_read(client);
                }
                self.funded(&client, read, price, deadline)
            }
            _ => {
                self.read_deposit(client, job);
                Err(Decline::Reading)
            }
        }
    }

    /// Whether a won award of `client` at `price`, due by `deadline`, is still paid on
    /// top of the jobs this prover holds now and its other standing bids, by the
    /// client's funds as last read (a reservation cannot shrink before it ends but by
    /// this prover's own claims, which [`Core::funds_claimed`] takes off the figures
    /// read). Funds not known (a restart, or an eviction, since the bid) decline it: the
    /// client re-auctions, and a read starts for the next request.
    pub(super) fn award_funded(
        &mut self,
        job: JobId,
        client: &Address,
        price: u128,
        deadline: u64,
    ) -> Result<(), Decline> {
        let client = eth(client);
        match self.prover.funds.known.get(&client) {
            Some(&(read, _)) => self.funded(&client, read, price, deadline),
            None => {
                self.read_deposit(client, job);
                Err(Decline::Reading)
            }
        }
    }

    fn funded(
        &self,
        client: &EthAddress,
        read: ChainFunds,
        price: u128,
        deadline: u64,
    ) -> Result<(), Decline> {
        let funds = ClientFunds {
            free: read.free,
            reserved: read.reserved,
            reserved_until: read.reserved_until,
            owed: self
                .owed_by(client)
                .saturating_add(self.standing_bids_on(client)),
        };
        let claim_by = deadline.saturating_add(self.s.config.prover.claim_margin_secs);
        match funds.funding(price, claim_by) {
            Some(Funding::Reserved) => Ok(()),
            Some(Funding::Deposit) if !self.s.config.prover.require_reservation => Ok(()),
            Some(Funding::Deposit) => Err(Decline::Unreserved),
            None => Err(Decline::Unfunded),
        }
    }

    /// Whether one more job fits the stake (for an award won on a bid made earlier).
    pub(super) fn stake_covers_one_more(&self) -> bool {
        self.prover
            .funds
            .exposure
            .is_some_and(|e| e.can_take(self.uncommitted()))
    }

    /// Jobs held but not committed on chain yet: each becomes a leaf at risk.
    fn uncommitted(&self) -> u64 {
        let works = self
            .prover
            .works
            .values()
            .filter(|w| {
                matches!(
                    w.state,
                    WorkState::Awarded | WorkState::Accepted | WorkState::Proven
                )
            })
            .count();
        let sealed: usize = self
            .prover
            .batches
            .values()
            .filter(|b| b.state == BatchState::Sealed)
            .map(|b| b.leaves.len())
            .sum();
        u64::try_from(works + sealed).unwrap_or(u64::MAX)
    }

    /// Prices of `client`'s jobs this prover holds and has not been paid for: jobs not
    /// released, and not in a batch already claimed (a claimed batch leaves
    /// `self.prover.batches`).
    fn owed_by(&self, client: &EthAddress) -> u128 {
        self.prover
            .works
            .values()
            .filter(|w| w.state != WorkState::Released && eth(&w.request.0.client) == *client)
            .filter(|w| w.batch.is_none_or(|seq| self.is_unclaimed(seq)))
            .map(|w| w.award.0.price)
            .fold(0u128, u128::saturating_add)
    }

    /// Prices of this prover's bids on `client`'s jobs that still stand (their window
    /// has not ended, no award came): each may yet be won, so each is counted as owed.
    fn standing_bids_on(&self, client: &EthAddress) -> u128 {
        self.prover
            .bid_holds
            .keys()
            .filter_map(|id| Some((self.prover.my_bids.get(id)?, self.book.requests.get(id)?)))
            .filter(|(_, seen)| eth(&seen.request.client) == *client)
            .map(|(mine, _)| mine.bid.price)
            .fold(0u128, u128::saturating_add)
    }

    /// Clients of the jobs this prover holds unpaid or has standing bids on.
    fn clients_held(&self) -> std::collections::HashSet<EthAddress> {
        let works = self
            .prover
            .works
            .values()
            .filter(|w| w.state != WorkState::Released)
            .filter(|w| w.batch.is_none_or(|seq| self.is_unclaimed(seq)))
            .map(|w| eth(&w.request.0.client));
        let bids = self
            .prover
            .bid_holds
            .keys()
            .filter_map(|id| self.book.requests.get(id))
            .map(|seen| eth(&seen.request.client));
        works.chain(bids).collect()
    }

    fn is_unclaimed(&self, seq: u64) -> bool {
        self.prover
            .batches
            .get(&seq)
            .is_some_and(|b| !matches!(b.state, BatchState::Claimed { .. }))
    }

    /// A claim of this prover paying `paid` (client, wei) was mined: the jobs it paid no
    /// longer count as owed, so what it drew on comes off the funds as read (the
    /// client's reservation for this prover first, the rest from the deposit, as the
    /// contract pays), and from what reads in flight will show.
    pub(super) fn funds_claimed(&mut self, paid: &[(EthAddress, u128)]) {
        for (client, amount) in paid {
            if let Some(reading) = self.prover.funds.reading.get_mut(client) {
                reading.claimed = reading.claimed.saturating_add(*amount);
            }
            if let Some((read, _)) = self.prover.funds.known.get_mut(client) {
                let reserved = read.reserved.min(*amount);
                read.reserved -= reserved;
                read.free = read.free.saturating_sub(amount - reserved);
            }
        }
    }

    fn read_deposit(&mut self, client: EthAddress, job: JobId) {
        if self.prover.funds.waiting >= MAX_WAITING || !self.start_read(client) {
            return;
        }
        if let Some(reading) = self.prover.funds.reading.get_mut(&client) {
            reading.jobs.push(job);
            self.prover.funds.waiting += 1;
        }
    }

    /// Whether a read of `client`'s funds is in flight, starting one if there is room.
    pub(super) fn start_read(&mut self, client: EthAddress) -> bool {
        if self.prover.funds.reading.contains_key(&client) {
            return true;
        }
        if self.prover.funds.reading.len() >= MAX_READS {
            return false;
        }
        self.prover.funds.reading.insert(client, Reading::default());
        let shared = std::sync::Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let me = eth(&shared.address);
            let read = futures_util::future::try_join(
                shared.market.free_deposit(client),
                shared.market.reservation(client, me),
            );
            let result = match tokio::time::timeout(READ_TIMEOUT, read).await {
                Ok(read) => read
                    .map(|(free, (reserved, reserved_until))| ChainFunds {
                        free: u128::try_from(free).unwrap_or(u128::MAX),
                        reserved,
                        reserved_until,
                    })
                    .map_err(|e| e.to_string()),
                Err(_) => Err(format!("no answer within {READ_TIMEOUT:?}")),
            };
            let _ = internal.send(Internal::Deposit { client, result }).await;
        });
        true
    }

    /// `client`'s funds as read within `ttl_ms`, if they were.
    pub(super) fn funds_read_within(&self, client: &EthAddress, ttl_ms: u64) -> Option<ChainFunds> {
        self.prover
            .funds
            .known
            .get(client)
            .filter(|(_, read_at)| super::now_ms().saturating_sub(*read_at) <= ttl_ms)
            .map(|(read, _)| *read)
    }

    /// A read of `client`'s funds came back: the requests that waited for it are
    /// considered again.
    pub(super) async fn on_deposit(
        &mut self,
        client: EthAddress,
        result: Result<ChainFunds, String>,
    ) {
        let Reading {
            jobs,
            messages,
            started_by,
            claimed,
        } = self
            .prover
            .funds
            .reading
            .remove(&client)
            .unwrap_or_default();
        if let Some(peer) = started_by
            && let Some(n) = self.prover.funds.reads_by_peer.get_mut(&peer)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.prover.funds.reads_by_peer.remove(&peer);
            }
        }
        self.prover.funds.waiting = self.prover.funds.waiting.saturating_sub(jobs.len());
        let mut read = match result {
            Ok(read) => read,
            Err(error) => {
                tracing::warn!(target: "chain", %error, ?client, "cannot read a client's deposit");
                self.judge_parked(messages).await;
                return;
            }
        };
        // Claims mined while it was read come off it, the reservation first, as the
        // contract pays. (A read was once discarded and started again after any claim:
        // under load, with a claim every second or two, requests waited past their bid
        // windows and got no bid.)
        let from_reserved = read.reserved.min(claimed);
        read.reserved -= from_reserved;
        read.free = read.free.saturating_sub(claimed - from_reserved);
        if self.prover.funds.known.len() >= MAX_KEPT {
            // Requests from fresh client keys cost nothing to sign, so a flood of them
            // fills this table: keep the clients whose jobs or standing bids this prover
            // holds (an award is checked against their funds, and an award whose client
            // is not known here is declined), and any read that is still fresh.
            let now = super::now_ms();
            let needed = self.clients_held();
            self.prover.funds.known.retain(|client, (_, read_at)| {
                needed.contains(client) || now.saturating_sub(*read_at) <= FUNDS_TTL_MS
            });
            if self.prover.funds.known.len() >= MAX_KEPT {
                self.prover
                    .funds
                    .known
                    .retain(|client, _| needed.contains(client));
            }
            if self.prover.funds.known.len() >= MAX_KEPT {
                // More clients held than the table keeps: it stays bounded all the same.
                self.prover.funds.known.clear();
            }
        }
        self.prover
            .funds
            .known
            .insert(client, (read, super::now_ms()));
        self.judge_parked(messages).await;
        for job in jobs {
            let Some(seen) = self.book.requests.get(&job) else {
                continue;
            };
            let (request, key) = (seen.request.clone(), seen.client_key);
            if request.bid_window_ends * 1_000 > super::now_ms() {
                self.consider_bidding(&request, key).await;
            }
        }
    }

    /// The prover's exposure as the chain follower read it.
    pub(super) fn on_exposure(&mut self, exposure: Exposure) {
        self.prover.funds.exposure = Some(exposure);
    }
}
