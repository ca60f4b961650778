//! Retention: settled leaves, deadlines and batches leave memory and the store once
//! nothing more can happen to them.

use super::*;

impl Watchtower {
    /// Forgets settled leaves [`RETAIN_BLOCKS`] after their window closed, settled
    /// deadlines a day after the deadline, and batches with nothing left to watch.
    pub(super) fn prune(&mut self, now_s: u64) {
        let horizon = self.s.window_blocks.saturating_add(RETAIN_BLOCKS);
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
                settled(&leaf.state) && !watched && self.batches.get(&key.0).is_some_and(old_batch)
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
    }
}
