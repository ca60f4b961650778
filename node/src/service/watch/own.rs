//! The client's own jobs: whether a round it accepted can still be paid, and the proof
//! of a job whose winner committed it without delivering it.
//!
//! A client re-auctions an accepted round only once the chain shows that round can never
//! be paid (no leaf of the awarded statement in a batch of the winner posted by the
//! deadline, or the job slashed): otherwise a winner that commits in time and keeps the
//! proof to itself would be paid beside the next round's winner, and the client would pay
//! the job twice. Until then the client's own leaves are audited like a watchtower's
//! sampled ones, so a proof its winner committed but never pushed is fetched (from the
//! winner, or any DHT provider) or forced onto the chain by a withheld-proof challenge.
//! The client's own challenges are a backstop: it sends them only in the second half of
//! its leaf's window, so the watchtowers, who are paid for it, act first.

use provernet_protocol::{FieldBytes, JobId, JobLeaf};

use super::{JobKey, Watchtower};
use crate::service::Internal;

/// Fewest blocks before a leaf's window closes at which the client challenges its own
/// leaf: an audit (fetch attempts, a DHT lookup) and a challenge (a block for the
/// commitment to its evidence, one for itself) must fit in them.
const OWN_CHALLENGE_MARGIN: u64 = 8;

/// Most delivered job ids remembered (own jobs whose proof the core holds).
const MAX_DELIVERED: usize = 4_096;

/// What the watchtower tells the client's core about one of its rounds.
#[derive(Debug)]
pub(crate) enum OwnRound {
    /// The committed proof of the job, fetched and verified, or revealed on chain.
    Proof {
        inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    },
    /// The round can never be paid: no leaf of its statement was committed by the
    /// deadline, or the job was slashed. The client may re-auction.
    Lost { why: &'static str },
}

/// Whether the client should challenge its own leaf now, committed in block
/// `batch_block` with a window of `window` blocks, at head `head`: in the second half of
/// the window, or its last [`OWN_CHALLENGE_MARGIN`] blocks if that is more (all of a
/// window that short).
pub(crate) fn own_challenge_due(head: u64, batch_block: u64, window: u64) -> bool {
    let margin = OWN_CHALLENGE_MARGIN.max(window / 2);
    head.saturating_add(margin) >= batch_block.saturating_add(window)
}

impl Watchtower {
    /// The core holds the job's verified proof: its own leaves need no audit.
    pub(super) fn on_delivered(&mut self, job: JobId) {
        if self.delivered.insert(job) {
            self.delivered_order.push_back(job);
            if self.delivered_order.len() > MAX_DELIVERED
                && let Some(old) = self.delivered_order.pop_front()
            {
                self.delivered.remove(&old);
            }
        }
        let keys: Vec<_> = self
            .leaves
            .iter()
            .filter(|(_, l)| {
                l.leaf.job_id == job
                    && self.is_own(&l.leaf.client)
                    && l.state == crate::store::LeafState::Pending
                    && !self.samples(&l.leaf)
            })
            .map(|(k, _)| *k)
            .collect();
        for key in keys {
            self.set_leaf(key, crate::store::LeafState::Valid);
        }
    }

    /// Whether this node audits `leaf` only because it is one of its own jobs whose proof
    /// it lacks (not as a watchtower sampling it).
    pub(super) fn audits_as_owner(&self, leaf: &JobLeaf) -> bool {
        self.is_own(&leaf.client) && !self.samples(leaf)
    }

    /// Whether an own leaf still needs its proof.
    pub(super) fn undelivered(&self, leaf: &JobLeaf) -> bool {
        self.is_own(&leaf.client) && !self.delivered.contains(&leaf.job_id)
    }

    /// Tells the core about its round `job`.
    pub(super) fn report_own(&self, job: JobId, outcome: OwnRound) {
        tracing::info!(target: "watch", %job, ?outcome, "own round settled on chain");
        let core = self.core.clone();
        tokio::spawn(async move {
            let _ = core.send(Internal::OwnRound { job, outcome }).await;
        });
    }

    /// As [`Self::report_own`] for a job key, if the job is this node's own.
    pub(super) fn report_own_lost(&self, job: &JobKey, why: &'static str) {
        if job.1 == self.me.0 {
            self.report_own(job.2, OwnRound::Lost { why });
        }
    }

    /// A proof of an own job that the chain or an audit vouches for.
    pub(super) fn report_own_proof(&self, leaf: &JobLeaf, inputs: Vec<FieldBytes>, proof: Vec<u8>) {
        if self.undelivered(leaf) {
            self.report_own(leaf.job_id, OwnRound::Proof { inputs, proof });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_owner_challenges_only_late_in_the_window() {
        // Window of 15 blocks from block 100: it closes after block 115; the last 8.
        assert!(!own_challenge_due(100, 100, 15));
        assert!(!own_challenge_due(106, 100, 15));
        assert!(own_challenge_due(107, 100, 15));
        assert!(own_challenge_due(115, 100, 15));
        // A long window: its second half.
        assert!(!own_challenge_due(1_000 + 3_599, 1_000, 7_200));
        assert!(own_challenge_due(1_000 + 3_600, 1_000, 7_200));
        // A window shorter than the margin: at once.
        assert!(own_challenge_due(100, 100, 5));
        // No overflow at the ends.
        assert!(own_challenge_due(u64::MAX, u64::MAX, u64::MAX));
    }
}
