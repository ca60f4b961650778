//! Retention: settled state leaves memory at once, and the disk `store.retention_secs`
//! later.
//!
//! Settled means nothing can change it any more, and nothing this node holds in memory
//! is needed for it:
//! - a client's job that is paid (at `chain.confirmations`; one committed in time whose
//!   proof never came counts once its prover is paid) or failed (its rounds over);
//! - a prover's job it let go (released), which it can neither commit nor answer for;
//! - a prover's claimed batch and its jobs: a claim pays only a final batch, out of
//!   every challenge window but one: a missed-deadline challenge opens until
//!   `deadlineChallengePeriod` after a job's deadline, claimed or not. Their records stay
//!   on disk at least until then (and a margin to answer): an answer reads its job from
//!   the store by key.
//!
//! Each is written with a mark in [`Column::Expiry`](crate::store::Column::Expiry), in
//! the same batch as the state that settles it; a sweep every [`SWEEP_EVERY_MS`] removes
//! the records whose time has come, a page at a time, a batch with its jobs. The API
//! reads jobs from the store, so a settled job stays visible until then; a claimed batch
//! and its proofs are read by key when a peer asks.

use provernet_protocol::JobId;

use super::{Core, now_ms};
use crate::store::{BatchRecord, BatchState, ClientState, Expiring, WriteBatch};

/// How often expired records are looked for.
const SWEEP_EVERY_MS: u64 = 10_000;
/// Records removed per sweep at most: one write, and the core is not held up.
const SWEEP_PAGE: usize = 512;
/// Time kept to answer a missed-deadline challenge opened at the end of its period, s:
/// an hour, and the response window at a minute a block (a chain's clock may lag, and a
/// node may be down a while).
const ANSWER_MARGIN_SECS: u64 = 3_600;
const SECS_PER_RESPONSE_BLOCK: u64 = 60;

impl Core {
    /// When a record settled now leaves the disk.
    fn expires_at(&self, now: u64) -> u64 {
        now.saturating_add(self.s.config.store.retention_secs.saturating_mul(1_000))
    }

    /// Marks client job `id`, settled in `batch`, to leave the disk.
    pub(super) fn expire_client_job(&self, batch: &mut WriteBatch, id: JobId) {
        batch.expire(Expiring::ClientJob(id), self.expires_at(now_ms()));
    }

    /// Client jobs `ids` were stored settled: they leave memory, with every round's id.
    pub(super) fn forget_client_jobs(&mut self, ids: &[JobId]) {
        let ids: std::collections::HashSet<JobId> = ids.iter().copied().collect();
        // One pass over the rounds' ids, whatever the number of jobs.
        self.by_current.retain(|_, user| !ids.contains(user));
        for id in &ids {
            let Some(job) = self.jobs.remove(id) else {
                continue;
            };
            debug_assert!(matches!(job.state, ClientState::Paid | ClientState::Failed));
            self.bids.remove(&job.current_id());
            self.bids.remove(id);
            self.verifying.remove(&job.current_id());
            self.paid_due.remove(id);
            self.count_settled("client", job.state.name());
        }
    }

    fn count_settled(&self, role: &str, how: &str) {
        self.s
            .metrics
            .market
            .settled
            .get_or_create(&crate::metrics::JobState {
                role: role.into(),
                state: how.into(),
            })
            .inc();
    }

    /// Marks prover work `id`, settled in `batch`, to leave the disk.
    pub(super) fn expire_work(&self, batch: &mut WriteBatch, id: JobId) {
        batch.expire(Expiring::Work(id), self.expires_at(now_ms()));
    }

    /// Prover work `id` was stored settled (`how`: released, or claimed with its
    /// batch): it leaves memory, and so does the bid it answered (an award answers a bid
    /// once: the same award sent again is not taken, nor written, again).
    pub(super) fn forget_work(&mut self, id: &JobId, how: &'static str) {
        self.schedule.release(id);
        self.my_bids.remove(id);
        self.bid_holds.remove(id);
        self.resends.remove(id);
        self.unsigned.retain(|(_, job)| job != id);
        self.works.remove(id);
        self.count_settled("prover", how);
    }

    /// Marks claimed batch `record` and its jobs, settled in `batch`, to leave the disk:
    /// not before a missed-deadline challenge can no longer open against them
    /// (`deadlineChallengePeriod` after their last deadline, and [`ANSWER_MARGIN_SECS`]
    /// with the response window to answer one opened last), then after the retention.
    pub(super) fn expire_batch(&self, batch: &mut WriteBatch, record: &BatchRecord) {
        let last_deadline = record.leaves.iter().map(|l| l.deadline).max().unwrap_or(0);
        let challengeable_ms = last_deadline
            .saturating_add(self.s.deadline_challenge_secs)
            .saturating_add(ANSWER_MARGIN_SECS)
            .saturating_add(
                self.s
                    .response_blocks
                    .saturating_mul(SECS_PER_RESPONSE_BLOCK),
            )
            .saturating_mul(1_000);
        let at = self.expires_at(now_ms().max(challengeable_ms));
        batch.expire(Expiring::Batch(record.seq), at);
        for leaf in &record.leaves {
            batch.expire(Expiring::Work(leaf.leaf.job_id), at);
        }
    }

    /// Removes the settled records whose time has come, a page at a time, once the
    /// follower has caught up since the start (a challenge read again from the chain
    /// may still need its job's record).
    pub(super) fn sweep_expired(&mut self, now: u64) {
        if !self.caught_up || now < self.last_sweep_ms.saturating_add(SWEEP_EVERY_MS) {
            return;
        }
        self.last_sweep_ms = now;
        let expired = match self
            .s
            .store
            .expired(now, SWEEP_PAGE, self.swept_to.as_deref())
        {
            Ok(expired) => expired,
            Err(error) => {
                tracing::error!(target: "store", %error, "cannot read the expired records");
                return;
            }
        };
        if expired.is_empty() {
            return;
        }
        let mut batch = WriteBatch::default();
        let mut claimed = Vec::new();
        for (key, expiring) in &expired {
            let expiring = match expiring {
                // Taken again since (an award the prover let go, then won anew): live,
                // so only the mark goes.
                Some(Expiring::Work(id)) if self.works.contains_key(id) => None,
                Some(Expiring::Batch(seq)) => {
                    if let Ok(Some(record)) = self.s.store.batch(*seq) {
                        if let BatchState::Claimed { id } = record.state {
                            claimed.push(id);
                        }
                        // Its jobs go with it (their own marks may fall in a later page,
                        // after a restart that would no longer know them as claimed).
                        for leaf in &record.leaves {
                            if !self.works.contains_key(&leaf.leaf.job_id) {
                                batch.remove(Expiring::Work(leaf.leaf.job_id));
                            }
                        }
                    }
                    Some(Expiring::Batch(*seq))
                }
                other => *other,
            };
            batch.forget(key, expiring);
        }
        if self.write(batch) {
            // Marks are in time order and new ones come later than now: the next sweep
            // reads on after this one (not over the deleted keys again).
            self.swept_to = expired.last().map(|(key, _)| key.clone());
            for id in claimed {
                self.claimed.remove(&id);
            }
            tracing::debug!(target: "store", records = expired.len(), "settled records past their retention removed");
        }
    }
}
