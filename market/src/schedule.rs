//! The prover's schedule: which jobs it holds and when each will be done.
//!
//! The model: `workers` proofs run at once; every held job takes its estimated proving
//! time; jobs run earliest deadline first. A new job is admitted only if, with it, every
//! held job still finishes `margin` before its deadline — so taking a job never makes the
//! prover miss another one.

use std::collections::BTreeMap;

/// One held job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    deadline_ms: u64,
    estimate_ms: u64,
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

    /// The finish time of every job in `jobs` (sorted by deadline) when proving starts
    /// at `now_ms`: earliest deadline first over `workers` lanes. Returns whether all
    /// finish `margin` before their deadlines, and the latest finish.
    fn simulate(&self, now_ms: u64, jobs: &mut [Held]) -> (bool, u64) {
        jobs.sort_by_key(|h| h.deadline_ms);
        let mut lanes = vec![now_ms; self.workers];
        let mut feasible = true;
        let mut last = now_ms;
        for job in jobs.iter() {
            let lane = lanes.iter_mut().min().expect("workers is at least 1");
            *lane = lane.saturating_add(job.estimate_ms);
            last = last.max(*lane);
            if lane.saturating_add(self.margin_ms) > job.deadline_ms {
                feasible = false;
            }
        }
        (feasible, last)
    }

    /// The earliest time, unix ms, by which a new job taking `estimate_ms` would be done
    /// if admitted now, provided it and every held job can still meet their deadlines
    /// when the new one's deadline is `latest_deadline_ms` (the request's). `None` when it
    /// cannot be taken. The caller promises a deadline no earlier than the returned time
    /// plus its margin for committing.
    pub fn quote(&self, now_ms: u64, estimate_ms: u64, latest_deadline_ms: u64) -> Option<u64> {
        let mut jobs: Vec<Held> = self.held.values().copied().collect();
        jobs.push(Held {
            deadline_ms: latest_deadline_ms,
            estimate_ms,
        });
        let (feasible, _) = self.simulate(now_ms, &mut jobs);
        if !feasible {
            return None;
        }
        // When it would finish if it ran after every held job with an earlier or equal
        // deadline: a safe promise.
        let mut before: Vec<Held> = self
            .held
            .values()
            .copied()
            .filter(|h| h.deadline_ms <= latest_deadline_ms)
            .collect();
        before.push(Held {
            deadline_ms: latest_deadline_ms,
            estimate_ms,
        });
        let (_, finish) = self.simulate(now_ms, &mut before);
        Some(finish)
    }

    /// Holds `key` until [`Schedule::release`]; refuses (returns false) when that would
    /// make some job late. Holding a key twice replaces the old entry.
    pub fn admit(&mut self, now_ms: u64, key: K, estimate_ms: u64, deadline_ms: u64) -> bool {
        let mut jobs: Vec<Held> = self
            .held
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(_, h)| *h)
            .collect();
        let new = Held {
            deadline_ms,
            estimate_ms,
        };
        jobs.push(new);
        if !self.simulate(now_ms, &mut jobs).0 {
            return false;
        }
        self.held.insert(key, new);
        true
    }

    /// Holds `key` whatever the schedule says (a job accepted before a restart).
    pub fn force(&mut self, key: K, estimate_ms: u64, deadline_ms: u64) {
        self.held.insert(
            key,
            Held {
                deadline_ms,
                estimate_ms,
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
}
