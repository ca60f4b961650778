//! The prover's schedule: which jobs it holds and when each will be done.
//!
//! The model: `workers` proofs run at once; every held job takes its estimated proving
//! time; jobs run earliest deadline first. A new job is admitted only if, with it, it
//! and every held job that was on time still finish `margin` before their deadlines — so
//! taking a job never makes the prover miss another one, and one job that is late
//! already (proving slowed) never stops the prover from taking work it can do. A job is
//! checked again, from the time it is, when it is awarded ([`Schedule::admit`]) and
//! before it is accepted ([`Schedule::still_on_time`]).

use std::collections::BTreeMap;

/// One held job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    deadline_ms: u64,
    estimate_ms: u64,
    /// When its proof started, if it has: it keeps its worker until it ends.
    started_ms: Option<u64>,
}

/// The jobs a prover holds, keyed by an id of the caller's (the job id).
#[derive(Clone, Debug)]
pub struct Schedule<K: Ord + Clone> {
    workers: usize,
    margin_ms: u64,
    held: BTreeMap<K, Held>,
}

impl<K: Ord + Clone> Schedule<K> {
    /// A schedule with `workers` parallel provers (at least 1) that keeps `margin_ms`
    /// between a job's expected finish and its deadline.
    pub fn new(workers: usize, margin_ms: u64) -> Self {
        Self {
            workers: workers.max(1),
            margin_ms,
            held: BTreeMap::new(),
        }
    }

    /// How many jobs are held.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether no job is held.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The parallel provers.
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// The finish time of every job in `jobs`, in their order, from `now_ms`: the jobs
    /// already proving keep their workers for what is left of their estimate (a proof is
    /// not interrupted); the others follow earliest deadline first over the lanes.
    fn finishes(&self, now_ms: u64, jobs: &[Held]) -> Vec<u64> {
        let mut lanes = vec![now_ms; self.workers];
        let mut finish = vec![now_ms; jobs.len()];
        let mut waiting: Vec<usize> = Vec::new();
        let mut lane = 0;
        for (i, job) in jobs.iter().enumerate() {
            match job.started_ms {
                Some(started) if lane < lanes.len() => {
                    let ends = started.saturating_add(job.estimate_ms).max(now_ms);
                    lanes[lane] = ends;
                    finish[i] = ends;
                    lane += 1;
                }
                _ => waiting.push(i),
            }
        }
        waiting.sort_by_key(|&i| jobs[i].deadline_ms);
        for i in waiting {
            let lane = lanes.iter_mut().min().expect("workers is at least 1");
            *lane = lane.saturating_add(jobs[i].estimate_ms);
            finish[i] = *lane;
        }
        finish
    }

    /// Whether `new` can join `held`: it finishes `margin` before its deadline, every
    /// held job that would have done so without it still does, and no held job that is
    /// late already (proving slowed, a restart) is delayed further. So one late job never
    /// stops the prover from taking work that can wait behind it.
    fn fits(&self, now_ms: u64, held: &[Held], new: Held) -> bool {
        let on_time =
            |finish: u64, job: &Held| finish.saturating_add(self.margin_ms) <= job.deadline_ms;
        let before = self.finishes(now_ms, held);
        let mut jobs = held.to_vec();
        jobs.push(new);
        let with = self.finishes(now_ms, &jobs);
        on_time(with[held.len()], &new)
            && held.iter().enumerate().all(|(i, job)| {
                if on_time(before[i], job) {
                    on_time(with[i], job)
                } else {
                    with[i] <= before[i]
                }
            })
    }

    /// The earliest time, unix ms, by which a new job taking `estimate_ms` would be done
    /// if proving could start at `now_ms` (the caller passes the earliest an award can
    /// come: the request's bid window's end), provided it can join the held jobs (see [`Schedule::admit`]) when
    /// its deadline is `latest_deadline_ms` (the request's). `None` when it cannot be
    /// taken. The caller promises a deadline no earlier than the returned time plus its
    /// margin for committing.
    pub fn quote(&self, now_ms: u64, estimate_ms: u64, latest_deadline_ms: u64) -> Option<u64> {
        let held: Vec<Held> = self.held.values().copied().collect();
        let new = Held {
            deadline_ms: latest_deadline_ms,
            estimate_ms,
            started_ms: None,
        };
        if !self.fits(now_ms, &held, new) {
            return None;
        }
        // When it would finish if it ran after every held job with an earlier or equal
        // deadline, and the proofs under way: a safe promise.
        let mut before: Vec<Held> = held
            .into_iter()
            .filter(|h| h.deadline_ms <= latest_deadline_ms || h.started_ms.is_some())
            .collect();
        before.push(new);
        self.finishes(now_ms, &before).into_iter().max()
    }

    /// Holds `key` until [`Schedule::release`]; refuses (returns false) when that would
    /// make it, or a held job that is on time, late. Holding a key twice replaces the old
    /// entry; a refusal leaves the old entry as it was.
    pub fn admit(&mut self, now_ms: u64, key: K, estimate_ms: u64, deadline_ms: u64) -> bool {
        let held: Vec<Held> = self
            .held
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(_, h)| *h)
            .collect();
        let new = Held {
            deadline_ms,
            estimate_ms,
            started_ms: None,
        };
        if !self.fits(now_ms, &held, new) {
            return false;
        }
        self.held.insert(key, new);
        true
    }

    /// Whether the held job `key`, now expected to take `estimate_ms`, still finishes
    /// `slack_ms` before its deadline when proving starts at `now_ms`, earliest deadline
    /// first with the other held jobs. When it does not, it is released: the caller lets
    /// it go before binding itself to it (an acceptance is a promise the chain enforces).
    pub fn still_on_time(&mut self, now_ms: u64, key: &K, estimate_ms: u64, slack_ms: u64) -> bool {
        let Some(held) = self.held.get_mut(key) else {
            return false;
        };
        held.estimate_ms = estimate_ms;
        let deadline_ms = held.deadline_ms;
        let index = self.held.keys().position(|k| k == key).unwrap_or_default();
        let jobs: Vec<Held> = self.held.values().copied().collect();
        let finish = self.finishes(now_ms, &jobs)[index];
        if finish.saturating_add(slack_ms) <= deadline_ms {
            return true;
        }
        self.held.remove(key);
        false
    }

    /// Keeps only the keys `keep` accepts: capacity is never held for a job the caller no
    /// longer bids on or proves, whatever path let it go.
    pub fn retain(&mut self, mut keep: impl FnMut(&K) -> bool) {
        self.held.retain(|key, _| keep(key));
    }

    /// Marks `key`'s proof as started at `now_ms`: it keeps a worker until released.
    pub fn start(&mut self, key: &K, now_ms: u64) {
        if let Some(held) = self.held.get_mut(key) {
            held.started_ms = Some(now_ms);
        }
    }

    /// Holds `key` whatever the schedule says (a job accepted before a restart).
    pub fn force(&mut self, key: K, estimate_ms: u64, deadline_ms: u64) {
        self.held.insert(
            key,
            Held {
                deadline_ms,
                estimate_ms,
                started_ms: None,
            },
        );
    }

    /// Stops holding `key` (proven, released or lost).
    pub fn release(&mut self, key: &K) {
        self.held.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admits_only_what_it_can_finish() {
        let mut s = Schedule::new(1, 100);
        // Each job takes 1 s; deadlines 2.1 s, 3.1 s out.
        assert_eq!(s.quote(0, 1_000, 2_100), Some(1_000));
        assert!(s.admit(0, 1, 1_000, 2_100));
        assert_eq!(s.quote(0, 1_000, 2_100), Some(2_000));
        assert!(s.admit(0, 2, 1_000, 2_100));
        // A third would finish at 3 s, and push nothing late if its deadline is 3.1 s …
        assert_eq!(s.quote(0, 1_000, 3_100), Some(3_000));
        // … but not with a 2.5 s deadline: it or another job would be late.
        assert_eq!(s.quote(0, 1_000, 2_500), None);
        assert!(!s.admit(0, 3, 1_000, 2_500));
        assert_eq!(s.len(), 2);
        s.release(&1);
        assert!(s.admit(0, 3, 1_000, 2_500));
    }

    #[test]
    fn parallel_workers_share_the_load() {
        let mut s = Schedule::new(2, 0);
        assert!(s.admit(0, 1, 1_000, 1_000));
        assert!(s.admit(0, 2, 1_000, 1_000));
        assert!(!s.admit(0, 3, 1_000, 1_000));
        assert_eq!(s.quote(0, 1_000, 5_000), Some(2_000));
    }

    #[test]
    fn an_urgent_job_cannot_push_a_held_one_late() {
        let mut s = Schedule::new(1, 0);
        assert!(s.admit(0, 1, 1_000, 1_000));
        // A new job with an earlier deadline would run first and make job 1 late.
        assert_eq!(s.quote(0, 500, 900), None);
    }

    #[test]
    fn a_late_job_does_not_stop_the_prover_from_taking_work() {
        let mut s = Schedule::new(1, 100);
        // Held, and already past its deadline (proving slowed, or a restart).
        s.force(1, 1_000, 500);
        // A job that waits behind it fits: it makes nothing later than it is.
        assert_eq!(s.quote(0, 1_000, 3_000), Some(2_000));
        assert!(s.admit(0, 2, 1_000, 3_000));
        // One that would run ahead of job 2 and make it late is refused …
        assert!(!s.admit(0, 3, 1_500, 2_700));
        // … and so is one that would run ahead of the late job and delay it further.
        assert!(!s.admit(0, 4, 200, 400));
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn a_late_award_or_a_slowed_proof_is_let_go_before_it_binds() {
        let mut s = Schedule::new(1, 0);
        // The bid held capacity for a proof due at 2 s.
        assert!(s.admit(0, 1, 1_000, 2_000));
        // The award comes 1.5 s later (a client that held it back): proving would end at
        // 2.5 s, past the deadline. Admitting it again from now refuses it, and the caller
        // releases the bid's hold.
        assert!(!s.admit(1_500, 1, 1_000, 2_000));
        s.release(&1);
        assert!(s.is_empty());
        // Taken in time, then the input comes late and proving has slowed: before the
        // acceptance is signed, the job is let go.
        assert!(s.admit(100, 2, 1_000, 3_000));
        assert!(s.still_on_time(1_000, &2, 1_500, 0));
        assert!(!s.still_on_time(1_000, &2, 2_500, 0));
        assert!(s.is_empty());
    }

    #[test]
    fn retain_lets_go_of_what_the_caller_no_longer_holds() {
        let mut s = Schedule::new(1, 0);
        assert!(s.admit(0, 1, 1_000, 1_000));
        // A hold that nobody releases (the leak that silenced provers) is past its
        // deadline and still takes a lane …
        assert_eq!(s.quote(5_000, 1_000, 7_000), Some(7_000));
        s.retain(|k| *k != 1);
        assert!(s.is_empty());
        assert_eq!(s.quote(5_000, 1_000, 7_000), Some(6_000));
    }

    #[test]
    fn a_proof_under_way_is_not_overtaken_by_a_more_urgent_job() {
        let mut s = Schedule::new(1, 0);
        // A long job with a late deadline has been proving for 1 s of its 10 s.
        assert!(s.admit(0, 1, 10_000, 60_000));
        s.start(&1, 0);
        // A short urgent job would run first if the long one could be set aside; it
        // cannot: the urgent one waits 9 s and would be late.
        assert_eq!(s.quote(1_000, 1_000, 5_000), None);
        assert!(!s.admit(1_000, 2, 1_000, 5_000));
        // With a deadline past the long job's end it fits, right after it.
        assert_eq!(s.quote(1_000, 1_000, 12_000), Some(11_000));
        // A job not started yet is still set aside for a more urgent one.
        let mut s = Schedule::new(1, 0);
        assert!(s.admit(0, 1, 10_000, 60_000));
        assert_eq!(s.quote(0, 1_000, 5_000), Some(1_000));
    }
}
