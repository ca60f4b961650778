//! Where the chain follower resumes after a restart, and what it must know again.
//!
//! The follower stores its [`Cursor`] (the next block and the hashes of blocks read)
//! after each poll whose events were handed on, and every prover and depositor it has
//! seen, once each.
//! A restart reads again only what may still matter: the market's challenge and
//! response windows below the cursor (a batch still open to challenge, a challenge still
//! open to an answer), and, while a watched deadline is undecided, every block since its
//! job could have been committed. Stakes are read again for every known prover.

use std::collections::BTreeSet;

use ethers::providers::Middleware as _;
use ethers::types::{Address as EthAddress, H256};
use provernet_slashing::events::{Cursor, first_block_at};

use super::Shared;
use crate::store::records::{FollowerRecord, Hex20, Hex32};
use crate::store::{ChainAccount, DeadlineState, WriteBatch};

/// Blocks read again below the market's windows, for an event mined as the node stopped.
const RESUME_MARGIN_BLOCKS: u64 = 16;

/// The first block to read after a restart whose stored cursor stood at `next_block`:
/// `window_blocks` (the challenge and response windows) and a margin below it, or
/// `oldest_needed` when a watched deadline needs more.
pub(super) fn resume_from(next_block: u64, window_blocks: u64, oldest_needed: Option<u64>) -> u64 {
    let windows = next_block.saturating_sub(window_blocks.saturating_add(RESUME_MARGIN_BLOCKS));
    oldest_needed.map_or(windows, |oldest| oldest.min(windows))
}

/// What the follower has seen that outlives the blocks it read. Each account is stored
/// once, when first seen; the cursor (bounded: the next block and up to 128 hashes) when
/// it moved.
#[derive(Debug, Default)]
pub(super) struct Known {
    provers: BTreeSet<EthAddress>,
    depositors: BTreeSet<EthAddress>,
    /// Accounts seen since the last save.
    unsaved: Vec<(ChainAccount, EthAddress)>,
    /// The cursor stored last, to write it only when it moved.
    stored: Option<FollowerRecord>,
}

impl Known {
    /// Every prover seen.
    pub fn provers(&self) -> impl Iterator<Item = EthAddress> + '_ {
        self.provers.iter().copied()
    }

    /// Every depositor seen.
    pub fn depositors(&self) -> impl Iterator<Item = EthAddress> + '_ {
        self.depositors.iter().copied()
    }

    /// Adds a prover; whether it was new.
    pub fn add_prover(&mut self, prover: EthAddress) -> bool {
        let new = self.provers.insert(prover);
        if new {
            self.unsaved.push((ChainAccount::Prover, prover));
        }
        new
    }

    /// Adds a depositor; whether it was new.
    pub fn add_depositor(&mut self, depositor: EthAddress) -> bool {
        let new = self.depositors.insert(depositor);
        if new {
            self.unsaved.push((ChainAccount::Depositor, depositor));
        }
        new
    }

    /// Stores where the follower stands and the accounts first seen since the last
    /// save, in one write; nothing when neither changed.
    pub fn save(&mut self, shared: &Shared, cursor: &Cursor) {
        let record = FollowerRecord {
            chain_id: shared.domain.chain_id,
            market: Hex20(shared.market.address().0),
            next_block: cursor.next_block,
            recent: cursor
                .recent
                .iter()
                .map(|(block, hash)| (*block, Hex32(hash.0)))
                .collect(),
            provers: Vec::new(),
            depositors: Vec::new(),
        };
        let moved = self.stored.as_ref() != Some(&record);
        if !moved && self.unsaved.is_empty() {
            return;
        }
        let mut batch = WriteBatch::default();
        if moved {
            batch.follower(&record);
        }
        for (kind, address) in &self.unsaved {
            batch.chain_account(*kind, address.0);
        }
        match shared.store.write(batch) {
            Ok(()) => {
                self.stored = Some(record);
                self.unsaved.clear();
            }
            Err(error) => {
                tracing::error!(target: "store", %error, "cannot store the follower's position")
            }
        }
    }
}

/// Where to start following, and what was known before the restart. A stored position
/// of another chain or market is not used.
pub(super) async fn start(shared: &Shared) -> (Cursor, Known) {
    let fresh = || {
        (
            Cursor {
                next_block: shared.config.chain.from_block,
                recent: Vec::new(),
            },
            Known::default(),
        )
    };
    let record = match shared.store.follower() {
        Ok(Some(record)) => record,
        Ok(None) => return fresh(),
        Err(error) => {
            tracing::error!(target: "store", %error, "the follower's position does not read: reading from chain.from_block");
            return fresh();
        }
    };
    if record.chain_id != shared.domain.chain_id || record.market.0 != shared.market.address().0 {
        tracing::warn!(target: "chain", chain_id = record.chain_id, "the stored follower position is of another chain or market: reading from chain.from_block");
        forget_accounts(shared);
        return fresh();
    }
    match shared.market.client().get_block_number().await {
        Ok(head) if record.next_block > head.as_u64().saturating_add(1) => {
            tracing::warn!(target: "chain", stored = record.next_block, %head, "the chain is behind the stored follower position (a chain started again?): reading from chain.from_block");
            forget_accounts(shared);
            return fresh();
        }
        // Not known now: the stored hashes are checked at the first poll anyway.
        _ => {}
    }
    let windows = shared.window_blocks.saturating_add(shared.response_blocks);
    let from = resume_from(
        record.next_block,
        windows,
        oldest_needed(shared, record.next_block).await,
    );
    let mut known = Known::default();
    for address in &record.provers {
        known.add_prover(EthAddress::from(address.0));
    }
    for address in &record.depositors {
        known.add_depositor(EthAddress::from(address.0));
    }
    match shared.store.chain_accounts() {
        Ok(accounts) => {
            for (kind, address) in accounts {
                match kind {
                    ChainAccount::Prover => known.provers.insert(EthAddress::from(address)),
                    ChainAccount::Depositor => known.depositors.insert(EthAddress::from(address)),
                };
            }
        }
        Err(error) => {
            tracing::error!(target: "store", %error, "the accounts the follower saw do not read: reading from chain.from_block");
            return fresh();
        }
    }
    let cursor = Cursor {
        next_block: from.max(shared.config.chain.from_block),
        // Every stored hash: the first poll checks them, so a reorg while the node was
        // down is seen, then keeps those below where it reads.
        recent: record
            .recent
            .iter()
            .map(|(block, hash)| (*block, H256(hash.0)))
            .collect(),
    };
    tracing::info!(target: "chain", stored = record.next_block, from = cursor.next_block, provers = known.provers.len(), "the follower resumes from its stored position");
    (cursor, known)
}

/// Forgets the accounts stored with a position that is not used (another chain or
/// market, or a chain started again): its stakes and deposits say nothing here.
fn forget_accounts(shared: &Shared) {
    let Ok(accounts) = shared.store.chain_accounts() else {
        return;
    };
    let mut batch = WriteBatch::default();
    for (kind, address) in accounts {
        batch.forget_chain_account(kind, address);
    }
    if let Err(error) = shared.store.write(batch) {
        tracing::error!(target: "store", %error, "cannot forget the accounts of the stored position");
    }
}

/// The first block a watched, undecided deadline needs read: its job may have been
/// committed from `maxDeadline` before the deadline on.
async fn oldest_needed(shared: &Shared, next_block: u64) -> Option<u64> {
    let deadlines = shared.store.watched_deadlines().ok()?;
    let earliest = deadlines
        .iter()
        .filter(|w| w.state == DeadlineState::Waiting)
        .map(|w| w.award.0.deadline.saturating_sub(shared.max_deadline_secs))
        .min()?;
    let head = next_block.saturating_sub(1);
    match first_block_at(shared.market.client().as_ref(), earliest, head).await {
        Ok(block) => Some(block),
        Err(error) => {
            tracing::warn!(target: "chain", %error, "cannot find the block of a watched deadline: reading from chain.from_block");
            Some(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restart_reads_again_the_windows_and_what_a_deadline_needs() {
        assert_eq!(resume_from(100_000, 20, None), 100_000 - 36);
        assert_eq!(resume_from(100_000, 20, Some(90_000)), 90_000);
        assert_eq!(resume_from(100_000, 20, Some(99_999)), 100_000 - 36);
        assert_eq!(resume_from(10, 20, None), 0);
        assert_eq!(resume_from(0, u64::MAX, None), 0);
    }
}
