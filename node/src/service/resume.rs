//! What a node resumes after a restart: the store's records that are not settled; a
//! prover's work: what was awarded or accepted resumes (or is let go
//! when its deadline can no longer be met), what was proven goes on to its batch and its
//! client.

use provernet_circuits::Circuit;
use provernet_market::schedule::Schedule;
use provernet_protocol::JobId;

use super::{Core, now_ms};
use std::collections::HashSet;

use crate::store::{BatchState, ClientState, WorkState, WriteBatch};

/// A job awarded or accepted before a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct HeldBefore {
    pub id: JobId,
    /// Accepted: the chain holds the prover to it.
    pub accepted: bool,
    pub estimate_ms: u64,
    pub deadline_ms: u64,
}

/// What becomes of a job held before a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Resumed {
    /// Proved; it is on time.
    Prove,
    /// Proved though it may be late: accepted, so releasing it would make the slash
    /// certain, while proving at once may still commit in time (the estimate is
    /// cautious).
    ProveLate,
    /// Let go, for this reason.
    Release(&'static str),
}

/// Judges the jobs held before a restart, earliest deadline first over the workers. A job
/// past its deadline is let go (proving it would only hold up the others). Accepted jobs
/// come first: the chain holds the prover to them, so each is proved, on time (finished
/// `slack_ms` before its deadline, as [`Schedule::still_on_time`] judges one before its
/// acceptance) or late. Then each awarded job, earliest deadline first, is kept only if
/// [`Schedule::admit`] takes it as it takes a new award: it finishes in time and makes no
/// job that was on time late; else it is let go, which costs nothing. The jobs come back
/// earliest deadline first, the order to prove them in.
pub(super) fn judge_held(
    schedule: &mut Schedule<JobId>,
    now_ms: u64,
    mut jobs: Vec<HeldBefore>,
    slack_ms: u64,
) -> Vec<(HeldBefore, Resumed)> {
    jobs.sort_by_key(|job| (job.deadline_ms, job.id.0));
    let live = |job: &&HeldBefore| now_ms < job.deadline_ms;
    for job in jobs.iter().filter(|job| job.accepted).filter(live) {
        schedule.force(job.id, job.estimate_ms, job.deadline_ms);
    }
    let mut verdicts: std::collections::HashMap<JobId, Resumed> = std::collections::HashMap::new();
    for job in jobs.iter().filter(|job| job.accepted).filter(live) {
        let verdict = if schedule.still_on_time(
            now_ms,
            &job.id,
            job.estimate_ms,
            slack_ms,
            job.deadline_ms,
        ) {
            Resumed::Prove
        } else {
            schedule.force(job.id, job.estimate_ms, job.deadline_ms);
            Resumed::ProveLate
        };
        verdicts.insert(job.id, verdict);
    }
    for job in jobs.iter().filter(|job| !job.accepted).filter(live) {
        let verdict = if schedule.admit(now_ms, job.id, job.estimate_ms, job.deadline_ms) {
            Resumed::Prove
        } else {
            Resumed::Release("the deadline can no longer be met after a restart")
        };
        verdicts.insert(job.id, verdict);
    }
    jobs.into_iter()
        .map(|job| {
            let verdict = verdicts.remove(&job.id).unwrap_or(Resumed::Release(
                "the deadline passed while the node was down",
            ));
            (job, verdict)
        })
        .collect()
}

impl Core {
    /// Loads what the store holds that is not settled, and resumes it. Settled records
    /// stay on disk for the API until their retention ends (`retention.rs`); a store
    /// from before retention has them marked once, here.
    /// `works` is the store's work column, read once at start.
    pub(super) fn recover(
        &mut self,
        works: Vec<super::Work>,
    ) -> Result<(), crate::store::StoreError> {
        let jobs = self.s.store.client_jobs()?;
        let batches = self.s.store.batches()?;
        let unmarked = !self.s.store.retention_marked()?;
        let mut marks = WriteBatch::default();
        let mut claimed_seqs = HashSet::new();
        for batch in batches {
            if let BatchState::Claimed { id } = batch.state {
                self.prover.claimed.insert(id, batch.seq);
                claimed_seqs.insert(batch.seq);
                if unmarked {
                    self.expire_batch(&mut marks, &batch);
                }
            } else {
                self.prover.batches.insert(batch.seq, batch);
            }
        }
        // The proving times measured before the restart, settled jobs' too, latest last:
        // the estimates the held jobs are judged by are this machine's, not the
        // configured guess.
        let mut proven: Vec<(u64, Circuit, u64)> = works
            .iter()
            .filter_map(|w| {
                let circuit = self.s.circuits.get(&w.request.0.circuit_id)?;
                Some((w.awarded_ms, circuit, w.prove_ms?))
            })
            .collect();
        proven.sort_by_key(|(at, ..)| *at);
        for (_, circuit, ms) in proven {
            self.measured(circuit, ms);
        }
        let (mut live_jobs, mut live_works) = (0, 0);
        for job in jobs {
            self.client
                .cheaters
                .extend(job.faulty_provers.iter().copied());
            if matches!(job.state, ClientState::Paid | ClientState::Failed) {
                if unmarked {
                    self.expire_client_job(&mut marks, job.id);
                }
                continue;
            }
            live_jobs += 1;
            self.client.by_current.insert(job.current_id(), job.id);
            self.client.jobs.insert(job.id, job);
        }
        let mut orphans = false;
        for work in works {
            if work.state == WorkState::Released {
                if unmarked {
                    self.expire_work(&mut marks, work.job_id);
                }
                continue;
            }
            // In a claimed batch (marked with it), or in one whose record a sweep already
            // removed: settled.
            if let Some(seq) = work.batch
                && (claimed_seqs.contains(&seq)
                    || (work.state == WorkState::Batched
                        && !self.prover.batches.contains_key(&seq)))
            {
                if !claimed_seqs.contains(&seq) {
                    self.expire_work(&mut marks, work.job_id);
                    orphans = true;
                }
                continue;
            }
            live_works += 1;
            self.prover.works.insert(work.job_id, work);
        }
        if unmarked {
            marks.retention_marked();
        }
        if unmarked || orphans {
            self.s.store.write(marks)?;
        }
        tracing::info!(
            target: "node",
            jobs = live_jobs,
            works = live_works,
            batches = self.prover.batches.len(),
            claimed = self.prover.claimed.len(),
            "recovered state from the store"
        );
        self.recover_client();
        Ok(())
    }

    /// The circuits of the work held before the restart (awarded or accepted): their
    /// proving keys are loaded before [`Core::recover_prover`] judges it.
    pub(super) fn held_circuits(&self) -> HashSet<Circuit> {
        self.held_work().map(|(_, circuit)| circuit).collect()
    }

    /// The work held before the restart that is judged again (awarded or accepted, of a
    /// circuit this build knows), with its circuit.
    fn held_work(&self) -> impl Iterator<Item = (&super::Work, Circuit)> + '_ {
        self.prover
            .works
            .values()
            .filter(|w| matches!(w.state, WorkState::Awarded | WorkState::Accepted))
            .filter_map(|w| Some((w, self.s.circuits.get(&w.request.0.circuit_id)?)))
    }

    /// Judges the work held before the restart; called once its circuits' proving keys
    /// are loaded ([`Core::held_circuits`]).
    pub(super) fn recover_prover(&mut self) {
        let now = now_ms();
        // Awarded and accepted jobs: judged together, as they now share the workers.
        let held: Vec<HeldBefore> = self
            .held_work()
            .map(|(w, circuit)| HeldBefore {
                id: w.job_id,
                accepted: w.state == WorkState::Accepted,
                estimate_ms: self.estimate_ms(circuit),
                deadline_ms: w.award.0.deadline.saturating_mul(1_000),
            })
            .collect();
        let slack_ms = self.s.config.prover.commit_margin_ms / 2;
        for (job, verdict) in judge_held(&mut self.prover.schedule, now, held, slack_ms) {
            self.expect_signed_award(job.id, now);
            match verdict {
                Resumed::Release(why) => {
                    self.release(&job.id, why.into());
                    continue;
                }
                Resumed::ProveLate => {
                    tracing::warn!(target: "market::prover", job = %job.id, deadline_ms = job.deadline_ms, estimate = job.estimate_ms, "resuming an accepted job that may miss its deadline after a restart");
                }
                Resumed::Prove => {}
            }
            if job.accepted {
                match self.s.store.input(&job.id) {
                    Ok(Some(input)) => {
                        tracing::info!(target: "market::prover", job = %job.id, "resuming proving after a restart");
                        self.start_proving(job.id, input);
                    }
                    _ => self.release(&job.id, "inputs lost".into()),
                }
            } else {
                self.fetch_inputs(job.id);
            }
        }
        let ids: Vec<JobId> = self.prover.works.keys().copied().collect();
        for id in ids {
            self.expect_signed_award(id, now);
            let Some(work) = self.prover.works.get(&id) else {
                continue;
            };
            let deadline_ms = work.award.0.deadline.saturating_mul(1_000);
            match work.state {
                // Judged above (one of a circuit this build does not know stays as it is).
                WorkState::Awarded | WorkState::Accepted => {}
                WorkState::Proven if !work.award.0.is_signed() => {
                    // Still waiting for the client's signature (see `on_proven`).
                    self.prover.unsigned.insert((deadline_ms, id));
                }
                WorkState::Proven => {
                    if let Some(leaf) = Self::leaf_of(work) {
                        let delivered = work.delivered;
                        if let Some(sealed) = self.prover.batcher.push(now, (id, leaf)) {
                            self.seal(sealed);
                        }
                        if !delivered {
                            self.deliver(id);
                        }
                    }
                }
                WorkState::Batched => {
                    if !work.delivered {
                        self.deliver(id);
                    }
                }
                WorkState::Released => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u8, accepted: bool, deadline_ms: u64) -> HeldBefore {
        HeldBefore {
            id: JobId([n; 32]),
            accepted,
            estimate_ms: 1_000,
            deadline_ms,
        }
    }

    fn verdicts(workers: usize, jobs: Vec<HeldBefore>) -> Vec<(u8, Resumed)> {
        let mut schedule = Schedule::new(workers, 500);
        judge_held(&mut schedule, 10_000, jobs, 250)
            .into_iter()
            .map(|(job, verdict)| (job.id.0[0], verdict))
            .collect()
    }

    #[test]
    fn awarded_jobs_that_each_fit_alone_but_not_together_are_let_go() {
        // One worker, three awards of 1 s each due 1.5 s out: each alone fits, but only
        // the first finishes in time once they share the worker. The old rule, judging
        // each alone, resumed all three and missed two deadlines.
        let jobs = vec![
            job(3, false, 11_500),
            job(1, false, 11_500),
            job(2, false, 11_500),
        ];
        assert_eq!(
            verdicts(1, jobs),
            vec![
                (1, Resumed::Prove),
                (
                    2,
                    Resumed::Release("the deadline can no longer be met after a restart")
                ),
                (
                    3,
                    Resumed::Release("the deadline can no longer be met after a restart")
                ),
            ]
        );
        // Two workers: two fit.
        let jobs = vec![
            job(1, false, 11_500),
            job(2, false, 11_500),
            job(3, false, 11_500),
        ];
        assert_eq!(
            verdicts(2, jobs)
                .iter()
                .filter(|(_, v)| *v == Resumed::Prove)
                .count(),
            2
        );
    }

    #[test]
    fn an_accepted_job_is_proved_even_late_and_an_award_behind_it_is_let_go() {
        let jobs = vec![
            job(1, true, 10_900),
            job(2, false, 12_100),
            job(3, true, 9_000),
        ];
        assert_eq!(
            verdicts(1, jobs),
            vec![
                (
                    3,
                    Resumed::Release("the deadline passed while the node was down")
                ),
                (1, Resumed::ProveLate),
                // Behind the late accepted job (done at 11 s), it would finish at 12 s.
                (
                    2,
                    Resumed::Release("the deadline can no longer be met after a restart")
                ),
            ]
        );
    }

    #[test]
    fn an_award_never_makes_an_accepted_job_late() {
        // An award due first would be on time, but would push the accepted job after it
        // past its deadline: the award is let go (free), the accepted job kept on time.
        let jobs = vec![job(1, false, 11_600), job(2, true, 12_100)];
        assert_eq!(
            verdicts(1, jobs),
            vec![
                (
                    1,
                    Resumed::Release("the deadline can no longer be met after a restart")
                ),
                (2, Resumed::Prove),
            ]
        );
    }

    #[test]
    fn a_job_that_cannot_be_met_does_not_make_a_later_one_miss() {
        // The award due first cannot be met; let go first, it leaves the worker to the
        // later one, which then fits.
        let jobs = vec![job(1, false, 10_800), job(2, false, 12_100)];
        assert_eq!(
            verdicts(1, jobs),
            vec![
                (
                    1,
                    Resumed::Release("the deadline can no longer be met after a restart")
                ),
                (2, Resumed::Prove),
            ]
        );
    }
}
