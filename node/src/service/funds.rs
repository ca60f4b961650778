//! The prover's view of who can pay and how much more its stake covers.
//!
//! Before bidding, a prover checks that the client's free deposit on chain
//! (`freeDeposit`: the deposit less a withdrawal request that has not lapsed), less the
//! prices of this client's jobs it already holds, pays the price; and that its own stake
//! covers one more leaf at risk (`exposure`, counted as `commitBatch` counts it, plus the
//! jobs it holds that are not committed yet). The rules are
//! [`provernet_market::funds`]; this module reads the chain for them, off the core.
//!
//! Free deposits are read when a request arrives from a client not read in the last
//! [`FUNDS_TTL_MS`], by a bounded number of concurrent reads; the requests that wait for
//! a read are considered again when it returns. The prover's own exposure is read by the
//! chain follower at every poll.

use std::collections::HashMap;

use ethers::types::Address as EthAddress;
use provernet_market::funds::{ClientFunds, Exposure};
use provernet_protocol::{Address, JobId};

use super::{Core, Internal, eth};
use crate::metrics::kind;
use crate::store::{BatchState, WorkState};

/// How long a client's free deposit, once read, is trusted, ms.
pub(super) const FUNDS_TTL_MS: u64 = 2_000;
/// Most reads of free deposits in flight at once.
const MAX_READS: usize = 32;
/// Most requests waiting for a read of their client's deposit.
const MAX_WAITING: usize = 4_096;
/// Most clients whose free deposit is kept.
const MAX_KEPT: usize = 16_384;

/// Free deposits read from the chain, and the requests waiting for one.
#[derive(Debug, Default)]
pub(super) struct Funds {
    /// Free deposit by client, wei, and when it was read (unix ms).
    free: HashMap<EthAddress, (u128, u64)>,
    /// Clients being read, with the requests waiting for the answer.
    reading: HashMap<EthAddress, Vec<JobId>>,
    waiting: usize,
    /// This prover's exposure, as the chain last showed it.
    pub(super) exposure: Option<Exposure>,
}

/// Why a prover does not bid on a request it could prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Decline {
    /// The client's free deposit does not pay the price on top of what it owes us.
    Unfunded,
    /// Our stake covers no more leaves at risk.
    Exposure,
    /// The client's deposit is being read; the request is considered again then.
    Reading,
}

impl Decline {
    fn metric(self) -> &'static str {
        match self {
            Self::Unfunded => "declined_unfunded",
            Self::Exposure => "declined_exposure",
            Self::Reading => "waiting_deposit",
        }
    }
}

impl Core {
    /// Whether the prover can take `job` of `client` at `price` by what the chain shows;
    /// starts a read of the client's deposit when it is not known, and counts every
    /// decline in `provernet_bids_total{kind}`.
    pub(super) fn check_funds(
        &mut self,
        job: JobId,
        client: &Address,
        price: u128,
        now: u64,
    ) -> Result<(), Decline> {
        let verdict = self.funds_verdict(job, client, price, now);
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
        now: u64,
    ) -> Result<(), Decline> {
        if !self.stake_covers_one_more() {
            return Err(Decline::Exposure);
        }
        let client = eth(client);
        match self.funds.free.get(&client) {
            Some(&(free, read_at)) if now.saturating_sub(read_at) <= FUNDS_TTL_MS => {
                let funds = ClientFunds {
                    free,
                    owed: self.owed_by(&client),
                };
                if funds.can_pay(price) {
                    Ok(())
                } else {
                    Err(Decline::Unfunded)
                }
            }
            _ => {
                self.read_deposit(client, job);
                Err(Decline::Reading)
            }
        }
    }

    /// Whether one more job fits the stake (for an award won on a bid made earlier).
    pub(super) fn stake_covers_one_more(&self) -> bool {
        self.funds
            .exposure
            .is_some_and(|e| e.can_take(self.uncommitted()))
    }

    /// Jobs held but not committed on chain yet: each becomes a leaf at risk.
    fn uncommitted(&self) -> u64 {
        let works = self
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
            .batches
            .values()
            .filter(|b| b.state == BatchState::Sealed)
            .map(|b| b.leaves.len())
            .sum();
        u64::try_from(works + sealed).unwrap_or(u64::MAX)
    }

    /// Prices of `client`'s jobs this prover holds and has not been paid for.
    fn owed_by(&self, client: &EthAddress) -> u128 {
        self.works
            .values()
            .filter(|w| w.state != WorkState::Released && eth(&w.request.0.client) == *client)
            .filter(|w| !w.batch.is_some_and(|seq| self.is_claimed(seq)))
            .map(|w| w.award.0.price)
            .fold(0u128, u128::saturating_add)
    }

    fn is_claimed(&self, seq: u64) -> bool {
        self.batches
            .get(&seq)
            .is_some_and(|b| matches!(b.state, BatchState::Claimed { .. }))
    }

    fn read_deposit(&mut self, client: EthAddress, job: JobId) {
        if let Some(waiting) = self.funds.reading.get_mut(&client) {
            if self.funds.waiting < MAX_WAITING {
                waiting.push(job);
                self.funds.waiting += 1;
            }
            return;
        }
        if self.funds.reading.len() >= MAX_READS || self.funds.waiting >= MAX_WAITING {
            return;
        }
        self.funds.reading.insert(client, vec![job]);
        self.funds.waiting += 1;
        let shared = std::sync::Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = shared
                .market
                .free_deposit(client)
                .await
                .map(|free| u128::try_from(free).unwrap_or(u128::MAX))
                .map_err(|e| e.to_string());
            let _ = internal.send(Internal::Deposit { client, result }).await;
        });
    }

    /// A read of `client`'s free deposit came back: the requests that waited for it are
    /// considered again.
    pub(super) async fn on_deposit(&mut self, client: EthAddress, result: Result<u128, String>) {
        let waiting = self.funds.reading.remove(&client).unwrap_or_default();
        self.funds.waiting = self.funds.waiting.saturating_sub(waiting.len());
        let free = match result {
            Ok(free) => free,
            Err(error) => {
                tracing::warn!(target: "chain", %error, ?client, "cannot read a client's deposit");
                return;
            }
        };
        if self.funds.free.len() >= MAX_KEPT {
            let now = super::now_ms();
            self.funds
                .free
                .retain(|_, (_, read_at)| now.saturating_sub(*read_at) <= FUNDS_TTL_MS);
            if self.funds.free.len() >= MAX_KEPT {
                self.funds.free.clear();
            }
        }
        self.funds.free.insert(client, (free, super::now_ms()));
        for job in waiting {
            let Some(seen) = self.requests.get(&job) else {
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
        self.funds.exposure = Some(exposure);
    }
}
