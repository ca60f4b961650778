//! Retention: settled state leaves memory at once, and the disk `store.retention_secs`
//! later.
//!
//! Settled means nothing can change it any more, and nothing this node holds in memory
//! is needed for it:
//! - a client's job that is paid (at `chain.confirmations`; one committed in time whose
//!   proof never came counts once its prover is paid, unless the client's own challenge
//!   bought it and the reveal or slash is still to come: `overdue::settles_once_paid`)
//!   or failed (its rounds over);
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

use std::collections::HashSet;

use provernet_protocol::JobId;

use super::{Core, now_ms};
use crate::store::{BatchRecord, BatchState, ClientState, Expiring, WriteBatch};

/// How often expired records are looked for.
const SWEEP_EVERY_MS: u64 = 10_000;
/// Records removed per sweep at most: one write, and the core is not held up.
const SWEEP_PAGE: usize = 512;
/// The response window's blocks counted at a minute each in the time kept to answer a
/// missed-deadline challenge opened at the end of its period (with
/// `store.answer_margin_secs`).
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

    /// Client jobs `ids` were stored settled: they leave memory, with every round's id,
    /// and their proofs' DHT records.
    pub(super) fn forget_client_jobs(&mut self, ids: &[JobId]) {
        let ids: HashSet<JobId> = ids.iter().copied().collect();
        // One pass over the rounds' ids, whatever the number of jobs.
        self.client.by_current.retain(|_, user| !ids.contains(user));
        let mut proofs = Vec::new();
        for id in &ids {
            let Some(job) = self.client.jobs.remove(id) else {
                continue;
            };
            proofs.extend(job.proof.as_ref().map(|p| proof_key(&p.proof)));
            debug_assert!(matches!(job.state, ClientState::Paid | ClientState::Failed));
            self.client.bids.remove(&job.current_id());
            self.client.bids.remove(id);
            self.client.verifying.remove(&job.current_id());
            self.client.paid_due.remove(id);
            self.count_settled("client", job.state.name());
        }
        self.unprovide(proofs);
    }

    /// Stops announcing `proofs` (DHT keys) in the DHT, but those a job or work still in
    /// memory holds (a proof's bytes can serve two jobs of one statement). Settled, a
    /// job's proof is out of every window an audit needs it from the DHT in: a claim pays
    /// and a client counts a job paid only after the challenge window (or, bought with a
    /// withheld-proof challenge, once the proof is public on chain), and an answer to a
    /// challenge reads the proof from the store. So a node's own records stay as many as
    /// its open jobs.
    fn unprovide(&self, mut proofs: Vec<Vec<u8>>) {
        if proofs.is_empty() {
            return;
        }
        let held: HashSet<Vec<u8>> = self
            .prover
            .works
            .values()
            .filter_map(|w| w.proof.as_ref())
            .chain(self.client.jobs.values().filter_map(|j| j.proof.as_ref()))
            .map(|p| proof_key(&p.proof))
            .collect();
        proofs.retain(|key| !held.contains(key));
        if proofs.is_empty() {
            return;
        }
        // Queued now, in order with the core's own announcements (a proof announced
        // again later is not withdrawn by this).
        let dropped = proofs
            .into_iter()
            .filter(|key| !self.s.net.unprovide(key.clone()))
            .count();
        if dropped > 0 {
            tracing::debug!(target: "net", dropped, "the network's queue is full: records left to expire");
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

    /// Prover works `ids` were stored settled (`how`: released, or claimed with their
    /// batch): they leave memory, and so do the bids they answered (an award answers a
    /// bid once: the same award sent again is not taken, nor written, again) and their
    /// proofs' DHT records.
    pub(super) fn forget_works(&mut self, ids: &[JobId], how: &'static str) {
        let mut proofs = Vec::new();
        // One pass over the unsigned acceptances, whatever the number of works.
        let gone: HashSet<&JobId> = ids.iter().collect();
        self.prover.unsigned.retain(|(_, job)| !gone.contains(job));
        for id in ids {
            self.prover.schedule.release(id);
            self.prover.my_bids.remove(id);
            self.prover.bid_holds.remove(id);
            self.prover.resends.remove(id);
            if let Some(work) = self.prover.works.remove(id) {
                proofs.extend(work.proof.as_ref().map(|p| proof_key(&p.proof)));
            }
            self.count_settled("prover", how);
        }
        self.unprovide(proofs);
    }

    /// Marks claimed batch `record` and its jobs, settled in `batch`, to leave the disk:
    /// not before a missed-deadline challenge can no longer open against them
    /// (`deadlineChallengePeriod` after their last deadline, and `store.answer_margin_secs`
    /// with the response window to answer one opened last), then after the retention.
    pub(super) fn expire_batch(&self, batch: &mut WriteBatch, record: &BatchRecord) {
        let last_deadline = record.leaves.iter().map(|l| l.deadline).max().unwrap_or(0);
        let challengeable_ms = last_deadline
            .saturating_add(self.s.deadline_challenge_secs)
            .saturating_add(self.s.config.store.answer_margin_secs)
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
        if !self.book.caught_up || now < self.last_sweep_ms.saturating_add(SWEEP_EVERY_MS) {
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
        let mut removed = 0u64;
        // A job under a challenge not yet answered keeps its records (its batch's too),
        // whatever its mark says: the answer reads them, perhaps more than once. Marked
        // again a margin later, they go once the challenge is over.
        let challenged: HashSet<JobId> = self.prover.against.values().map(|c| c.job).collect();
        let later =
            now.saturating_add(self.s.config.store.answer_margin_secs.saturating_mul(1_000));
        for (key, expiring) in &expired {
            let record = match expiring {
                Some(Expiring::Batch(seq)) => self.s.store.batch(*seq).ok().flatten(),
                _ => None,
            };
            let jobs: Vec<JobId> = record
                .iter()
                .flat_map(|r| r.leaves.iter().map(|leaf| leaf.leaf.job_id))
                .collect();
            match due(
                *expiring,
                |id| self.prover.works.contains_key(id),
                &challenged,
                &jobs,
            ) {
                Due::MarkOnly => {
                    batch.forget(key, None);
                }
                Due::Later(expiring) => {
                    batch.expire(expiring, later).forget(key, None);
                }
                Due::Remove(expiring) => {
                    if let Some(record) = &record {
                        if let BatchState::Claimed { id } = record.state {
                            claimed.push(id);
                        }
                        // Its jobs go with it (their own marks may fall in a later page,
                        // after a restart that would no longer know them as claimed).
                        for job in jobs
                            .iter()
                            .filter(|job| !self.prover.works.contains_key(job))
                        {
                            batch.remove(Expiring::Work(*job));
                        }
                    }
                    removed += 1;
                    batch.forget(key, Some(expiring));
                }
            }
        }
        if self.write(batch) {
            // Marks are in time order and new ones come later than now: the next sweep
            // reads on after this one (not over the deleted keys again).
            self.swept_to = expired.last().map(|(key, _)| key.clone());
            self.s.metrics.market.removed.inc_by(removed);
            for id in claimed {
                self.prover.claimed.remove(&id);
            }
            tracing::debug!(target: "store", records = expired.len(), "settled records past their retention removed");
        }
    }
}

/// How often the store's small columns are compacted (`Store::compact`).
pub(super) const COMPACT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// Compacts `store`'s small columns every [`COMPACT_EVERY`] until `shutdown`, one column
/// at a time on a blocking thread. The node's records are rewritten at each change of
/// state and removed after their retention: without it, the versions and deletions
/// linger in memtables (up to their 16 MiB budget) and in table files that RocksDB
/// merges only when their level fills, so the files held open grow with the node's age
/// (up to `MAX_OPEN_FILES`). A stop waits for the column being compacted at most.
pub(super) async fn compact_store(
    store: crate::store::Store,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let first = tokio::time::Instant::now() + COMPACT_EVERY;
    let mut turns = tokio::time::interval_at(first, COMPACT_EVERY);
    turns.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = turns.tick() => {}
        }
        let begun = std::time::Instant::now();
        let mut compacted = 0;
        for column in crate::store::Column::ALL {
            if shutdown.is_cancelled() {
                return;
            }
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.compact(column)).await {
                Ok(Ok(done)) => compacted += usize::from(done),
                Ok(Err(error)) => {
                    tracing::error!(target: "store", %error, column = column.name(), "cannot compact the column");
                }
                Err(error) => {
                    tracing::error!(target: "store", %error, column = column.name(), "the column's compaction failed");
                }
            }
        }
        tracing::debug!(target: "store", columns = compacted, took_ms = begun.elapsed().as_millis(), "store compacted");
    }
}

/// The DHT key of a proof: its hash (docs/protocol.md, "Provider records").
pub(super) fn proof_key(proof: &[u8]) -> Vec<u8> {
    provernet_protocol::keccak256(proof).to_vec()
}

/// What the sweep does with a record whose mark is due.
#[derive(Debug, PartialEq, Eq)]
enum Due {
    /// The record goes, with what belongs to it and its mark.
    Remove(Expiring),
    /// Only the mark goes: the record is live again (or the mark unreadable).
    MarkOnly,
    /// The record stays, marked again later: a challenge not yet answered reads it.
    Later(Expiring),
}

/// The sweep's rule for one due mark. `live`: whether a job is held in memory again (an
/// award let go, then won anew); `challenged`: the jobs of challenges against this
/// prover not yet answered; `jobs`: the jobs of the batch the mark names, if it does.
fn due(
    expiring: Option<Expiring>,
    live: impl Fn(&JobId) -> bool,
    challenged: &HashSet<JobId>,
    jobs: &[JobId],
) -> Due {
    match expiring {
        None => Due::MarkOnly,
        Some(Expiring::Work(id)) if live(&id) => Due::MarkOnly,
        Some(expiring @ Expiring::Work(id)) if challenged.contains(&id) => Due::Later(expiring),
        Some(expiring @ Expiring::Batch(_)) if jobs.iter().any(|j| challenged.contains(j)) => {
            Due::Later(expiring)
        }
        Some(expiring) => Due::Remove(expiring),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u8) -> JobId {
        JobId([n; 32])
    }

    /// A client (or anyone holding an award) opens a missed-deadline challenge at the
    /// last moment, or the prover's answer must be sent again: the job's records, and
    /// its batch's, stay past their mark until the challenge is over; every other due
    /// record goes.
    #[test]
    fn a_challenged_jobs_records_outlive_their_mark() {
        let challenged: HashSet<JobId> = [job(1)].into();
        let idle = |_: &JobId| false;
        assert_eq!(
            due(Some(Expiring::Work(job(1))), idle, &challenged, &[]),
            Due::Later(Expiring::Work(job(1)))
        );
        assert_eq!(
            due(
                Some(Expiring::Batch(7)),
                idle,
                &challenged,
                &[job(2), job(1)]
            ),
            Due::Later(Expiring::Batch(7))
        );
        // Once the challenge is over, both go.
        let over = HashSet::new();
        assert_eq!(
            due(Some(Expiring::Work(job(1))), idle, &over, &[]),
            Due::Remove(Expiring::Work(job(1)))
        );
        assert_eq!(
            due(Some(Expiring::Batch(7)), idle, &over, &[job(2), job(1)]),
            Due::Remove(Expiring::Batch(7))
        );
        // Unchallenged jobs and client jobs go; a job won anew keeps its record.
        assert_eq!(
            due(Some(Expiring::Batch(8)), idle, &challenged, &[job(3)]),
            Due::Remove(Expiring::Batch(8))
        );
        assert_eq!(
            due(Some(Expiring::ClientJob(job(1))), idle, &challenged, &[]),
            Due::Remove(Expiring::ClientJob(job(1)))
        );
        assert_eq!(
            due(
                Some(Expiring::Work(job(4))),
                |_: &JobId| true,
                &challenged,
                &[]
            ),
            Due::MarkOnly
        );
        assert_eq!(due(None, idle, &challenged, &[]), Due::MarkOnly);
    }
}
