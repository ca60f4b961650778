//! Following the market's events without polling its storage.
//!
//! [`EventFollower`] reads the contract's logs block range by block range with
//! `eth_getLogs` (no server-side filters, which nodes expire), so it resumes from any
//! block after a restart: store its [`Cursor`] and resume from it. It remembers the hash
//! of the last block of each range it read; a reorg that replaces one is seen on the
//! next poll, which goes back to the fork and reports the rollback.
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

/// The first block at or after `timestamp` (seconds) among blocks `0..=head`, found by
/// bisection over block headers (no state is read, so any full node serves it); `head`
/// when none is.
///
/// # Errors
/// [`ChainError::Rpc`].
pub async fn first_block_at<M: Middleware>(
    client: &M,
    timestamp: u64,
    head: u64,
) -> Result<u64, ChainError> {
    let (mut low, mut high) = (0u64, head);
    while low < high {
        let middle = low + (high - low) / 2;
        let time = client
            .get_block(middle)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .map_or(0, |b| b.timestamp.low_u64());
        if time >= timestamp {
            high = middle;
        } else {
            low = middle + 1;
        }
    }
    Ok(low)
}

/// Block hashes remembered to find where a reorg forked: one per range read.
const RECENT_HASHES: usize = 128;

/// Where a follower stands: the first block not read yet, and the hashes of blocks it
/// read (one per range, oldest first), to see on its next poll, even after a restart,
/// whether a reorg replaced them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The first block not read yet.
    pub next_block: u64,
    /// Blocks read and their hashes, oldest first, at most [`RECENT_HASHES`].
    pub recent: Vec<(u64, H256)>,
}

/// What a poll read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poll {
    /// A reorg replaced blocks already read: every block from this one on is read again
    /// (what was reported of them before may no longer be on the chain).
    pub rolled_back: Option<u64>,
    /// The events read, in chain order.
    pub events: Vec<MarketEvent>,
}

/// Reads the market's events in order, from a given block on, and notices reorgs.
#[derive(Debug)]
pub struct EventFollower<M> {
    client: Arc<M>,
    market: Address,
    cursor: Cursor,
    confirmations: u64,
    /// Blocks per `eth_getLogs` now: halved after an error, back up to `max_range`.
    range: u64,
    max_range: u64,
    /// The last block a poll could read (head minus confirmations).
    readable: u64,
    /// A rollback found by a poll that then failed: reported by the next poll that
    /// succeeds.
    pending_rollback: Option<u64>,
}

impl<M: Middleware + 'static> EventFollower<M> {
    /// Follows `market` from `from_block`, reading only blocks with at least
    /// `confirmations` blocks on top (0 on a local chain).
    pub fn new(client: Arc<M>, market: Address, from_block: u64, confirmations: u64) -> Self {
        Self::resume(
            client,
            market,
            Cursor {
                next_block: from_block,
                recent: Vec::new(),
            },
            confirmations,
        )
    }

    /// Follows `market` from where `cursor` stands: its hashes are checked against the
    /// chain on the first poll, so a reorg while the node was down is seen too.
    pub fn resume(client: Arc<M>, market: Address, cursor: Cursor, confirmations: u64) -> Self {
        Self {
            client,
            market,
            cursor,
            confirmations,
            range: MAX_RANGE,
            max_range: MAX_RANGE,
            readable: 0,
            pending_rollback: None,
        }
    }

    /// Reads at most `blocks` blocks per `eth_getLogs` (at least 1): what the provider
    /// serves. After a refused read the range is halved, then doubled back with each
    /// read that succeeds.
    #[must_use]
    pub fn with_range(mut self, blocks: u64) -> Self {
        self.range = blocks.max(1);
        self.max_range = self.range;
        self
    }

    /// Whether the last poll read every block the chain had (with its confirmations):
    /// what the follower has reported is then all there was, up to that block.
    pub fn caught_up(&self) -> bool {
        self.cursor.next_block > self.readable
    }

    /// The first block not read yet.
    pub fn next_block(&self) -> u64 {
        self.cursor.next_block
    }

    /// Where the follower stands, to store and resume from.
    pub fn cursor(&self) -> &Cursor {
        &self.cursor
    }

    /// The hash of block `block`. A node that does not know a block the follower has
    /// read, or one below the head, is behind (a load-balanced RPC): an error, never
    /// taken for a reorg.
    async fn hash_of(&self, block: u64) -> Result<H256, ChainError> {
        Ok(self.header(block).await?.0)
    }

    /// The hash of block `block` and of its parent.
    async fn header(&self, block: u64) -> Result<(H256, H256), ChainError> {
        let header = self
            .client
            .get_block(block)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        header
            .and_then(|h| Some((h.hash?, h.parent_hash)))
            .ok_or_else(|| ChainError::Rpc(format!("the node does not know block {block}")))
    }

    /// Where a reorg forked, when one replaced blocks already read: how many remembered
    /// hashes are still on the chain, and the first block to read again. Found by walking
    /// the remembered hashes back to one still on the chain, without changing anything
    /// (an error on the way leaves the follower as it was). A reorg deeper than every
    /// remembered hash goes back a range below the oldest.
    async fn fork_point(&self) -> Result<Option<(usize, u64)>, ChainError> {
        let recent = &self.cursor.recent;
        let Some(&(last, hash)) = recent.last() else {
            return Ok(None);
        };
        if self.hash_of(last).await? == hash {
            return Ok(None);
        }
        for (index, &(block, hash)) in recent.iter().enumerate().rev().skip(1) {
            if self.hash_of(block).await? == hash {
                return Ok(Some((index + 1, block.saturating_add(1))));
            }
        }
        let oldest = recent.first().map_or(0, |(block, _)| *block);
        tracing::error!(target: "chain", oldest, "a reorg deeper than every block hash remembered: reading again from a range below the oldest");
        Ok(Some((0, oldest.saturating_sub(self.range))))
    }

    /// The next events in chain order: the blocks confirmed since the last call, read
    /// `range` blocks at a time and stopping after the first range that held events, so
    /// a follower far behind the head catches up in bounded steps instead of holding
    /// every event since its start at once. First, the hash of the last block read is
    /// checked: when a reorg replaced it, the poll goes back to where the chains forked
    /// and says so ([`Poll::rolled_back`], also when an error cut the poll that found
    /// it). No event and no rollback means caught up.
    ///
    /// # Errors
    /// [`ChainError::Rpc`]; the position is kept, so the call can be repeated.
    pub async fn poll(&mut self) -> Result<Poll, ChainError> {
        if let Some((keep, from)) = self.fork_point().await? {
            tracing::warn!(target: "chain", from, next = self.cursor.next_block, "a reorg replaced blocks already read: reading them again");
            self.cursor.recent.truncate(keep);
            self.cursor.next_block = self.cursor.next_block.min(from);
            self.pending_rollback = Some(self.pending_rollback.map_or(from, |p| p.min(from)));
        }
        // Hashes of blocks to be read again (a resume below its stored position) are
        // pushed again as their ranges are read, in order.
        let next = self.cursor.next_block;
        self.cursor.recent.retain(|(block, _)| *block < next);
        let head = self
            .client
            .get_block_number()
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .as_u64();
        let mut out = Vec::new();
        if let Some(last) = head.checked_sub(self.confirmations) {
            self.readable = last;
            while self.cursor.next_block <= last {
                let from = self.cursor.next_block;
                let to = last.min(from.saturating_add(self.range - 1));
                let events = self.read_range(from, to).await?;
                out.extend(events);
                if !out.is_empty() {
                    break;
                }
            }
        }
        Ok(Poll {
            rolled_back: self.pending_rollback.take(),
            events: out,
        })
    }

    /// The events of blocks `from..=to`; on success the cursor moves past `to`. The hash
    /// of `to` is read before the logs and again after: if they differ (a reorg between
    /// the reads, or two backends on two forks), nothing is taken and the next poll
    /// reads the range again. Every log must name a block and its hash.
    async fn read_range(&mut self, from: u64, to: u64) -> Result<Vec<MarketEvent>, ChainError> {
        let (before, parent) = self.header(to).await?;
        // The range must continue the chain read so far: the block before it is the last
        // one read, by hash (else a reorg replaced it since the check, or the node is on
        // another fork; the next poll finds where they part).
        if let Some(&(last, hash)) = self.cursor.recent.last()
            && last.checked_add(1) == Some(from)
        {
            let parent = if from == to {
                parent
            } else {
                self.header(from).await?.1
            };
            if parent != hash {
                return Err(ChainError::Rpc(format!(
                    "block {from} does not follow block {last} as read"
                )));
            }
        }
        let filter = Filter::new()
            .address(self.market)
            .from_block(from)
            .to_block(to);
        let logs = match self.client.get_logs(&filter).await {
            Ok(logs) => {
                // Back towards the configured range after a refusal made it smaller.
                self.range = self.range.saturating_mul(2).min(self.max_range);
                logs
            }
            Err(error) => {
                // Perhaps too many results for the provider: a smaller range next time.
                self.range = (self.range / 2).max(1);
                return Err(ChainError::Rpc(error.to_string()));
            }
        };
        if self.hash_of(to).await? != before {
            return Err(ChainError::Rpc(format!(
                "block {to} changed while its range was read"
            )));
        }
        let mut out = Vec::new();
        for log in logs {
            let (Some(block), Some(hash)) = (log.block_number, log.block_hash) else {
                return Err(ChainError::Rpc("a log without its block (pending)".into()));
            };
            let block = block.as_u64();
            if block == to && hash != before {
                return Err(ChainError::Rpc(format!(
                    "a log of block {to} from another fork"
                )));
            }
            let raw = RawLog {
                topics: log.topics.clone(),
                data: log.data.to_vec(),
            };
            // Logs of this address that do not decode cannot come from the market;
            // skipping them is all a follower can do.
            if let Ok(event) = ProverMarketEvents::decode_log(&raw) {
                out.push(MarketEvent {
                    event,
                    block,
                    tx: log.transaction_hash.unwrap_or_default(),
                    log_index: log.log_index.map_or(0, |i| i.low_u64()),
                });
            }
        }
        self.cursor.next_block = to.saturating_add(1);
        self.cursor.recent.push((to, before));
        if self.cursor.recent.len() > RECENT_HASHES {
            self.cursor.recent.remove(0);
        }
        Ok(out)
    }

    /// The events as a stream, polling every `interval`. An RPC error is yielded and
    /// the stream goes on from where it was. A reorg is not reported (events of the new
    /// chain simply follow): a consumer that must undo what replaced blocks did uses
    /// [`Self::poll`].
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
                    Ok(poll) if poll.events.is_empty() => tokio::time::sleep(interval).await,
                    Ok(poll) => queue.extend(poll.events),
                    Err(e) => {
                        tokio::time::sleep(interval).await;
                        return Some((Err(e), (follower, queue)));
                    }
                }
            }
        })
    }
}
