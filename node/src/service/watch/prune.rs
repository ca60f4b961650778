//! Retention: settled leaves, deadlines and batches leave memory and the store once
//! nothing more can happen to them.

use super::*;

impl Watchtower {
    /// Forgets settled leaves `watchtower.retain_blocks` after their window closed (and
    /// every leaf whose batch lies below where the follower resumed): long enough to spot
    /// a prover that commits a second leaf for the job later (equivocation), bounded so a
    /// long-running watchtower's memory and database stay bounded (at least the response
    /// window: a withheld proof revealed late still finds its leaf). Forgets settled
    /// deadlines [`RETAIN_DEADLINE_SECS`] after the deadline, and batches with nothing left
    /// to watch.
    pub(super) fn prune(&mut self, now_s: u64) {
        let horizon = leaf_horizon(
            self.s.window_blocks,
            self.s.response_blocks,
            self.s.config.watchtower.retain_blocks,
        );
        let head = self.head;
        let old_batch = |b: &ChainBatch| head > b.block.saturating_add(horizon);
        let settled = |state: &LeafState| {
            matches!(
                state,
                LeafState::Unsampled | LeafState::Valid | LeafState::Done { .. }
            )
        };
        let gone: Vec<LeafKey> = self
            .leaves
            .iter()
            .filter(|(key, leaf)| {
                let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
                let watched = self
                    .deadlines
                    .get(&job)
                    .is_some_and(|w| !matches!(w.state, DeadlineState::Done { .. }));
                // A batch unknown once the follower is caught up lies below where it
                // resumed after a restart (every later one was read again): its window
                // closed long ago. A leaf still under a challenge stays until settled.
                let old = match self.batches.get(&key.0) {
                    Some(b) => old_batch(b),
                    None => self.caught_up,
                };
                settled(&leaf.state) && old && !watched
            })
            .map(|(key, _)| *key)
            .collect();
        let mut batch = WriteBatch::default();
        for key in &gone {
            if let Some(leaf) = self.leaves.remove(key) {
                batch.delete(crate::store::Column::WatchLeaves, &leaf.key());
                let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
                if let Some(keys) = self.by_job.get_mut(&job) {
                    keys.retain(|k| k != key);
                    if keys.is_empty() {
                        self.by_job.remove(&job);
                    }
                }
            }
        }
        let done: Vec<JobKey> = self
            .deadlines
            .iter()
            .filter(|(k, w)| {
                matches!(w.state, DeadlineState::Done { .. })
                    && now_s > w.award.0.deadline.saturating_add(RETAIN_DEADLINE_SECS)
                    // A client's own round stays until it needs nothing more (`own`).
                    && (k.1 != self.me.0 || w.owner_done)
            })
            .map(|(k, _)| *k)
            .collect();
        for job in &done {
            if let Some(watch) = self.deadlines.remove(job) {
                batch.delete(crate::store::Column::WatchDeadlines, &watch.key());
                self.client_keys.remove(&job.2);
            }
        }
        // Retry times that have passed say nothing any more; undecided counts of leaves
        // that are gone neither.
        let now_ms = now_s * 1_000;
        self.retry_at.retain(|_, at| *at > now_ms);
        let leaves = &self.leaves;
        self.undecided.retain(|key, _| leaves.contains_key(key));
        // A notice whose root never reached the chain is dropped after a minute.
        let cutoff = (now_s * 1_000).saturating_sub(EARLY_NOTICE_MS);
        for notices in self.early.values_mut() {
            notices.retain(|(at, _)| *at >= cutoff);
        }
        self.early.retain(|_, notices| !notices.is_empty());
        self.early_count = self.early.values().map(Vec::len).sum();
        let leaves = &self.leaves;
        let before = self.batches.len();
        self.batches.retain(|id, b| {
            !old_batch(b) || leaves.range((*id, 0)..=(*id, u32::MAX)).next().is_some()
        });
        let batches = &self.batches;
        self.by_root.retain(|_, id| batches.contains_key(id));
        if !gone.is_empty() || !done.is_empty() || before != self.batches.len() {
            tracing::debug!(target: "watch", leaves = gone.len(), deadlines = done.len(), batches = before - self.batches.len(), "pruned settled state");
            self.write(batch);
        }
        let held = &self.s.metrics.held;
        held.entries("watch_leaves", self.leaves.len());
        held.entries("watch_batches", self.batches.len());
        held.entries("watch_deadlines", self.deadlines.len());
    }

    /// A reorg replaced the blocks from `from` on: the batches committed in them are
    /// forgotten with their leaves (the new chain may give their ids to other batches),
    /// and their events, read again from the new chain, are applied again. Until the
    /// follower reports the head again, no missing commitment is taken for a missed
    /// deadline.
    pub(super) fn on_rollback(&mut self, from: u64) {
        let gone: Vec<u64> = self
            .batches
            .iter()
            .filter(|(_, b)| b.block >= from)
            .map(|(id, _)| *id)
            .collect();
        let mut batch = WriteBatch::default();
        for id in &gone {
            if let Some(b) = self.batches.remove(id) {
                self.by_root.remove(&(b.prover, b.root));
            }
            let keys: Vec<LeafKey> = self
                .leaves
                .range((*id, 0)..=(*id, u32::MAX))
                .map(|(key, _)| *key)
                .collect();
            for key in keys {
                if let Some(leaf) = self.leaves.remove(&key) {
                    batch.delete(crate::store::Column::WatchLeaves, &leaf.key());
                    let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
                    if let Some(keys) = self.by_job.get_mut(&job) {
                        keys.retain(|k| *k != key);
                        if keys.is_empty() {
                            self.by_job.remove(&job);
                        }
                    }
                }
                self.undecided.remove(&key);
            }
        }
        if !batch.is_empty() {
            self.write(batch);
        }
        // Challenges and slashes by others in the replaced blocks are read again if the
        // new chain has them.
        self.pending_other.retain(|_, block| *block < from);
        self.slashed.retain(|_, block| *block < from);
        self.unconfirmed_slashes
            .retain(|(_, block, _)| *block < from);
        self.recent_events.clear();
        self.recent_order.clear();
        self.caught_up = false;
        tracing::warn!(target: "watch", from, batches = gone.len(), "a reorg: the batches of the replaced blocks are read again");
    }

    /// Gives up the jobs slashed by others once the slash has `chain.confirmations`
    /// blocks on top: their open leaves and deadlines settle as taken, a client's own
    /// round as lost (unless its purchase is open: its end settles the round).
    pub(super) fn settle_confirmed_slashes(&mut self) {
        let depth = self.s.config.chain.confirmations;
        let head = self.head;
        let (due, wait): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unconfirmed_slashes)
            .into_iter()
            .partition(|(_, block, _)| block.saturating_add(depth) <= head);
        self.unconfirmed_slashes = wait;
        for (job, _, fault) in due {
            self.report_own_lost_to_another(&job, fault);
            self.equivocations.remove(&job);
            self.settle_open(&job, "taken", true);
        }
    }
}

/// Blocks after its batch's commitment a settled leaf is kept: the challenge window, then
/// `retain_blocks`, and never less than the response window after it: a proof revealed
/// for a withheld-proof challenge someone else opened as the window closed is still
/// matched to its leaf (a client learns its own round's proof from it).
pub(super) fn leaf_horizon(window_blocks: u64, response_blocks: u64, retain_blocks: u64) -> u64 {
    window_blocks.saturating_add(retain_blocks.max(response_blocks))
}

#[cfg(test)]
mod tests {
    use super::leaf_horizon;

    #[test]
    fn a_settled_leaf_outlives_the_response_window_whatever_retain_blocks_says() {
        // An operator's 0 keeps it through a reveal answering a challenge opened last.
        assert_eq!(leaf_horizon(100, 5, 0), 105);
        assert_eq!(leaf_horizon(100, 5, 4), 105);
        assert_eq!(leaf_horizon(100, 5, 7_200), 7_300);
        // No value overflows: the largest keeps the leaf forever.
        assert_eq!(leaf_horizon(100, 5, u64::MAX), u64::MAX);
    }
}
