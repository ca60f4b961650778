//! Following the market's events without polling its storage.
//!
//! [`EventFollower`] reads the contract's logs block range by block range with
//! `eth_getLogs` (no server-side filters, which nodes expire), so it resumes from any
//! block after a restart: store [`EventFollower::next_block`] and start again from it.
//! [`EventKind`] sorts events into the streams a node cares about.

use std::sync::Arc;
use std::time::Duration;

use ethers::abi::RawLog;
use ethers::contract::EthLogDecode;
use ethers::providers::Middleware;
use ethers::types::{Address, Filter, H256};
use futures_util::Stream;

use crate::ChainError;
use crate::bindings::ProverMarketEvents;

/// Most blocks asked for in one `eth_getLogs`.
pub const MAX_RANGE: u64 = 2_000;

/// What an event is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Registration, stake added, unbonding, withdrawal.
    Stake,
    /// Client deposits and their withdrawals, credits withdrawn.
    Funds,
    /// A batch root posted.
    Commitment,
    /// A fee paid.
    Claim,
    /// A challenge opened, answered, voided, a false challenge, a revealed proof.
    Challenge,
    /// A slash.
    Slash,
    /// A circuit registered.
    Circuit,
    /// The EIP-712 domain changed (OpenZeppelin `EIP712`; this market never emits it).
    Admin,
}

/// One decoded event and where it happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MarketEvent {
    /// The event.
    pub event: ProverMarketEvents,
    /// Its block.
    pub block: u64,
    /// Its transaction.
    pub tx: H256,
    /// Its index in the block.
    pub log_index: u64,
}

impl MarketEvent {
    /// What the event is about.
    pub fn kind(&self) -> EventKind {
        use ProverMarketEvents as E;
        match &self.event {
            E::ProverRegisteredFilter(_)
            | E::StakeAddedFilter(_)
            | E::UnbondingStartedFilter(_)
            | E::StakeWithdrawnFilter(_) => EventKind::Stake,
            E::DepositedFilter(_)
            | E::DepositWithdrawalRequestedFilter(_)
            | E::DepositWithdrawnFilter(_)
            | E::ReservedFilter(_)
            | E::ReservationReleasedFilter(_)
            | E::CreditsWithdrawnFilter(_) => EventKind::Funds,
            E::BatchCommittedFilter(_) => EventKind::Commitment,
            E::BatchFeesClaimedFilter(_) => EventKind::Claim,
            E::ChallengeOpenedFilter(_)
            | E::ChallengeAnsweredFilter(_)
            | E::ChallengeVoidedFilter(_)
            | E::FalseChallengeFilter(_)
            | E::ProofRevealedFilter(_) => EventKind::Challenge,
            E::SlashedFilter(_) => EventKind::Slash,
            E::CircuitRegisteredFilter(_) => EventKind::Circuit,
            E::Eip712DomainChangedFilter(_) => EventKind::Admin,
        }
    }
}

/// Reads the market's events in order, from a given block on.
#[derive(Debug)]
pub struct EventFollower<M> {
    client: Arc<M>,
    market: Address,
    next_block: u64,
    confirmations: u64,
    /// The last block a poll could read (head minus confirmations).
    readable: u64,
}

impl<M: Middleware + 'static> EventFollower<M> {
    /// Follows `market` from `from_block`, reading only blocks with at least
    /// `confirmations` blocks on top (0 on a local chain).
    pub fn new(client: Arc<M>, market: Address, from_block: u64, confirmations: u64) -> Self {
        Self {
            client,
            market,
            next_block: from_block,
            confirmations,
            readable: 0,
        }
    }

    /// Whether the last poll read every block the chain had (with its confirmations):
    /// what the follower has reported is then all there was, up to that block.
    pub fn caught_up(&self) -> bool {
        self.next_block > self.readable
    }

    /// The first block not read yet.
    pub fn next_block(&self) -> u64 {
        self.next_block
    }

    /// The next events in chain order: the blocks confirmed since the last call, read
    /// [`MAX_RANGE`] blocks at a time and stopping after the first range that held
    /// events, so a follower far behind the head catches up in bounded steps instead of
    /// holding every event since its start at once. An empty result means it is caught up.
    ///
    /// # Errors
    /// [`ChainError::Rpc`]; the position is kept, so the call can be repeated.
    pub async fn poll(&mut self) -> Result<Vec<MarketEvent>, ChainError> {
        let head = self
            .client
            .get_block_number()
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .as_u64();
        let Some(last) = head.checked_sub(self.confirmations) else {
            return Ok(Vec::new());
        };
        self.readable = last;
        let mut out = Vec::new();
        while self.next_block <= last {
            let to = last.min(self.next_block.saturating_add(MAX_RANGE - 1));
            let filter = Filter::new()
                .address(self.market)
                .from_block(self.next_block)
                .to_block(to);
            let logs = self
                .client
                .get_logs(&filter)
                .await
                .map_err(|e| ChainError::Rpc(e.to_string()))?;
            for log in logs {
                let raw = RawLog {
                    topics: log.topics.clone(),
                    data: log.data.to_vec(),
                };
                // Logs of this address that do not decode cannot come from the market;
                // skipping them is all a follower can do.
                if let Ok(event) = ProverMarketEvents::decode_log(&raw) {
                    out.push(MarketEvent {
                        event,
                        block: log.block_number.map_or(0, |b| b.as_u64()),
                        tx: log.transaction_hash.unwrap_or_default(),
                        log_index: log.log_index.map_or(0, |i| i.low_u64()),
                    });
                }
            }
            self.next_block = to.saturating_add(1);
            if !out.is_empty() {
                break;
            }
        }
        Ok(out)
    }

    /// The events as a stream, polling every `interval`. An RPC error is yielded and
    /// the stream goes on from where it was.
    pub fn into_stream(
        self,
        interval: Duration,
    ) -> impl Stream<Item = Result<MarketEvent, ChainError>> {
        let state = (self, std::collections::VecDeque::new());
        futures_util::stream::unfold(state, move |(mut follower, mut queue)| async move {
            loop {
                if let Some(event) = queue.pop_front() {
                    return Some((Ok(event), (follower, queue)));
                }
                match follower.poll().await {
                    Ok(events) if events.is_empty() => tokio::time::sleep(interval).await,
                    Ok(events) => queue.extend(events),
                    Err(e) => {
                        tokio::time::sleep(interval).await;
                        return Some((Err(e), (follower, queue)));
                    }
                }
            }
        })
    }
}
