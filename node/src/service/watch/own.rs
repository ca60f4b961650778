//! The client's own jobs: whether a round it accepted can still be paid, and the proof
//! of a job whose winner committed it without delivering it.
//!
//! A client re-auctions an accepted round only once the chain shows that round can never
//! be paid: otherwise a winner that commits in time and keeps the proof to itself would
//! be paid beside the next round's winner, and the client would pay the job twice. This
//! node's watchtower tells the core (`overdue.rs`) what it learns of the client's accepted
//! rounds: the awarded prover committed a leaf of the awarded statement by the deadline
//! (the round will be paid: wait for its proof); the leaf's proof, fetched and verified,
//! or revealed on chain; the awarded prover slashed for the job (the round is lost).
//!
//! The client audits only the leaves of its accepted rounds whose proof it does not hold
//! (the awarded prover's leaf of the awarded statement and price: any other leaf naming
//! the client is no concern of its rounds, and auditing it would let any prover make the
//! client send challenges). Its own challenges are a backstop: it sends them in the
//! second half of the leaf's window, or once the deadline has passed, so the watchtowers,
//! who are paid for it, act first.

use provernet_protocol::{FieldBytes, JobId, JobLeaf};

use super::{JobKey, LeafKey, Watchtower};
use crate::store::records::WatchedDeadline;
use crate::store::{DeadlineState, LeafState};

/// Fewest blocks before a leaf's window closes at which the client challenges its own
/// leaf: an audit (fetch attempts, a DHT lookup) and a challenge (a block for the
/// commitment to its evidence, one for itself) must fit in them.
const OWN_CHALLENGE_MARGIN: u64 = 8;

/// What the watchtower tells the client's core about one of its accepted rounds.
#[derive(Debug)]
pub(crate) enum OwnRound {
    /// A leaf of the awarded statement is in a batch of the awarded prover posted by the
    /// deadline: the round will be paid, so it is not re-auctioned; its proof follows.
    Committed,
    /// The proof of the awarded prover's leaf, fetched and verified, or revealed on chain.
    Proof {
        circuit_id: provernet_protocol::CircuitId,
        inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    },
    /// The client's own withheld-proof challenge of the awarded prover's leaf is open: it
    /// bought the proof, so the award is paid, and the reveal (`Proof`) or the slash
    /// (`Lost`) that ends the challenge is still to come.
    Bought,
    /// The awarded prover was slashed for the job, or the client's purchase of its proof
    /// was voided (the price back, the award paid to nobody): the round can never be
    /// paid. `fault` is the slash's (`provernet_slashing::fault_name`).
    Lost { fault: u8 },
    /// The awarded prover's leaf went through its whole window unaudited to the end (its
    /// proof never obtained, no challenge possible any more): the round is paid, and the
    /// client will not get the proof from the chain.
    Unobtainable,
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
    /// The accepted round of the client whose proof it lacks that `leaf`, committed by
    /// `prover`, belongs to: the round's awarded prover, statement and price.
    pub(super) fn own_round(&self, prover: [u8; 20], leaf: &JobLeaf) -> Option<&WatchedDeadline> {
        if !self.is_own(&leaf.client) {
            return None;
        }
        self.deadlines
            .get(&(prover, leaf.client.0, leaf.job_id))
            .filter(|w| {
                !w.owner_done
                    && w.circuit_id == leaf.circuit_id.0
                    && w.public_inputs_hash == leaf.public_inputs_hash.0
                    && w.award.0.price == leaf.price
            })
    }

    /// Whether this node audits `leaf` (committed by `prover`) only as its client, not as
    /// a watchtower sampling it.
    pub(super) fn audits_as_owner(&self, prover: [u8; 20], leaf: &JobLeaf) -> bool {
        !self.samples(leaf) && self.own_round(prover, leaf).is_some()
    }

    /// Whether the client's own challenge of the leaf at `key` is due (see the module).
    pub(super) fn own_challenge_due(&self, key: LeafKey) -> bool {
        let Some(leaf) = self.leaves.get(&key) else {
            return false;
        };
        let late_in_window = self
            .batches
            .get(&key.0)
            .is_some_and(|b| own_challenge_due(self.head, b.block, self.s.window_blocks));
        let past_deadline = self.own_round(leaf.prover, &leaf.leaf).is_some_and(|w| {
            crate::service::now_ms()
                >= w.award.0.deadline.saturating_mul(1_000)
                    + self.s.config.watchtower.deadline_grace_ms
        });
        late_in_window || past_deadline
    }

    /// A deadline of the client's was just recorded: its leaves already known are now
    /// its to audit.
    pub(super) fn audit_own_leaves(&mut self, job: &JobKey) {
        let keys: Vec<LeafKey> = self
            .by_job
            .get(job)
            .into_iter()
            .flatten()
            .copied()
            .filter(|key| {
                self.leaves.get(key).is_some_and(|l| {
                    l.state == LeafState::Unsampled && self.own_round(l.prover, &l.leaf).is_some()
                }) && self.window_open(key.0)
            })
            .collect();
        for key in keys {
            self.set_leaf(key, LeafState::Pending);
        }
    }

    /// The core holds the verified proof of its round `job`: no audit of its leaves.
    pub(super) fn on_delivered(&mut self, job: JobId) {
        let me = self.me.0;
        let rounds: Vec<JobKey> = self
            .deadlines
            .keys()
            .filter(|k| k.1 == me && k.2 == job)
            .copied()
            .collect();
        for round in rounds {
            if let Some(w) = self.deadlines.get_mut(&round) {
                w.owner_done = true;
            }
            self.save_deadline(&round);
            let keys: Vec<LeafKey> = self.by_job.get(&round).cloned().unwrap_or_default();
            for key in keys {
                let owned = self
                    .leaves
                    .get(&key)
                    .is_some_and(|l| l.state == LeafState::Pending && !self.samples(&l.leaf));
                if owned {
                    self.set_leaf(key, LeafState::Valid);
                }
            }
        }
    }

    /// After a restart: the rounds found committed before it are told again (the core
    /// keeps that in memory only).
    pub(super) fn recover_own(&self) {
        for (job, w) in &self.deadlines {
            if job.1 == self.me.0
                && !w.owner_done
                && w.state
                    == (DeadlineState::Done {
                        outcome: "met".into(),
                    })
            {
                self.report_own(job.2, OwnRound::Committed);
            }
        }
    }

    fn report_own(&self, job: JobId, outcome: OwnRound) {
        tracing::info!(target: "watch", %job, ?outcome, "own round settled on chain");
        // Gone only with the core.
        let _ = self
            .to_core
            .send(crate::service::Internal::OwnRound { job, outcome });
    }

    /// `job` was slashed: if it is an accepted round of this client and its awarded
    /// prover the one slashed, the round can never be paid.
    pub(super) fn report_own_lost(&mut self, job: &JobKey, fault: u8) {
        if job.1 == self.me.0 && self.deadlines.contains_key(job) {
            self.end_own_round(job);
            self.report_own(job.2, OwnRound::Lost { fault });
        }
    }

    /// The client needs nothing more from round `job`'s leaves.
    fn end_own_round(&mut self, job: &JobKey) {
        if let Some(w) = self.deadlines.get_mut(job) {
            w.owner_done = true;
        }
        self.save_deadline(job);
    }

    /// The leaf at `key`, still to be audited, leaves its window: if it is the client's
    /// accepted round's, its proof can no longer be forced out.
    pub(super) fn report_own_unobtainable(&mut self, key: LeafKey) {
        let Some(l) = self.leaves.get(&key) else {
            return;
        };
        let job = (l.prover, l.leaf.client.0, l.leaf.job_id);
        // Not while an audit or a challenge of the job may still give the proof or a slash.
        let busy = self.in_flight.contains(&super::Target::Invalid(key))
            || self.in_flight.contains(&super::Target::Withheld(key))
            || self.pending_other.contains_key(&job)
            || self.slashed.contains_key(&job);
        if !busy && self.own_round(l.prover, &l.leaf).is_some() {
            self.end_own_round(&job);
            self.report_own(job.2, OwnRound::Unobtainable);
        }
    }

    /// Whether this node is buying (or bought) the proof of its own round `job`.
    fn buying(&self, job: &JobKey) -> bool {
        job.1 == self.me.0 && self.deadlines.get(job).is_some_and(|w| w.purchase)
    }

    /// Marks the client's own round `job` as being bought, before the purchase is sent
    /// (`audit.rs`). Never cleared: a send that failed may still have been mined, and a
    /// mark whose purchase never opened changes nothing (`purchase_open`).
    pub(super) fn mark_purchase(&mut self, job: &JobKey) {
        if let Some(w) = self.deadlines.get_mut(job)
            && !w.purchase
        {
            w.purchase = true;
            self.save_deadline(job);
        }
    }

    /// Whether this node's purchase of its own round `job` is open on chain: marked, and
    /// a leaf of the job challenged by this node (its `ChallengeOpened` applied, its end
    /// not yet; the leaf's state is stored, so this holds across a restart).
    fn purchase_open(&self, job: &JobKey) -> bool {
        self.buying(job)
            && self.by_job.get(job).is_some_and(|keys| {
                keys.iter().any(|key| {
                    self.leaves
                        .get(key)
                        .is_some_and(|l| matches!(l.state, LeafState::Challenged { .. }))
                })
            })
    }

    /// This node opened challenge `fault` on `job`: if it is the withheld-proof challenge
    /// that buys its own round's proof, the award is paid from now on.
    pub(super) fn report_own_bought(&self, job: &JobKey, fault: u8) {
        if fault == 2 && self.buying(job) {
            self.report_own(job.2, OwnRound::Bought);
        }
    }

    /// This node's challenge `fault` on `job` was voided: if it was the purchase of its own
    /// round's proof, no reveal will answer it and no slash will end it (the verifier
    /// changed, or the job was slashed meanwhile), the price is back and the award paid
    /// to nobody: the round is lost. A plain challenge voided leaves the award to a claim.
    pub(super) fn report_own_voided(&mut self, job: &JobKey, fault: u8) {
        if fault == 2 && self.buying(job) {
            self.report_own_lost(job, fault);
        }
    }

    /// `job` was slashed on another's challenge: as [`Self::report_own_lost`], but not
    /// while this node's purchase of the round's proof is open. The prover may still
    /// reveal (and be paid the bought price): the purchase's own end settles the round,
    /// so a sybil's slash cannot make the client re-auction a round it paid for.
    pub(super) fn report_own_lost_to_another(&mut self, job: &JobKey, fault: u8) {
        if !self.purchase_open(job) {
            self.report_own_lost(job, fault);
        }
    }

    /// `job`'s awarded prover committed a leaf of the statement by the deadline.
    pub(super) fn report_own_committed(&self, job: &JobKey) {
        if job.1 == self.me.0 && self.deadlines.get(job).is_some_and(|w| !w.owner_done) {
            self.report_own(job.2, OwnRound::Committed);
        }
    }

    /// A proof of `leaf` (committed by `prover`) that verifies, or that the chain took in
    /// a reveal: the client's, if the leaf is its accepted round's.
    pub(super) fn report_own_proof(
        &self,
        prover: [u8; 20],
        leaf: &JobLeaf,
        inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    ) {
        if self.own_round(prover, leaf).is_some() {
            self.report_own(
                leaf.job_id,
                OwnRound::Proof {
                    circuit_id: leaf.circuit_id,
                    inputs,
                    proof,
                },
            );
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
