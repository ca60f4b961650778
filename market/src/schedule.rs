//! The prover's schedule: which jobs it holds and when each will be done.
//!
//! The model: `workers` proofs run at once; every held job takes its estimated proving
//! time; jobs run earliest deadline first. A new job is admitted only if, with it, it
//! and every held job that was on time still finish `margin` before their deadlines — so
//! taking a job never makes the prover miss another one, and one job that is late
//! already (proving slowed) never stops the prover from taking work it can do. A job is
//! checked again, from the time it is, when it is awarded ([`Schedule::admit`]) and
//! before it is accepted ([`Schedule::still_on_time`]).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// How many times its estimate a queue's proving may take before a promise breaks. A
/// prover's machine slows (another process, heat, a bigger job) before its estimates
/// can follow, and a promise broken is a slash: each promise leaves room for everything
/// ahead of the job, and the job itself, to take this many times as long. The schedule
/// holds the job to its expected finish plus the margin, not to the promise, so later
/// jobs never take that room.
pub const SLOWDOWN_TOLERANCE: u64 = 2;

/// A bid's terms from the schedule ([`Schedule::bid`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The time to hold the job to, unix ms: its expected finish plus the margin and the
    /// drift.
    pub due_ms: u64,
    /// The deadline to promise, unix ms: later than `due_ms` by the room for a slowdown.
    pub promise_ms: u64,
}

/// One held job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    deadline_ms: u64,
    estimate_ms: u64,
    /// The earliest its proof can start: a bid's job when its award can come (the bid
    /// window's end), an awarded one at once.
    ready_ms: u64,
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

    /// The time, unix ms, `key` is held to (by which it must be proven, margin
    /// included), if it is held.
    pub fn deadline_of(&self, key: &K) -> Option<u64> {
        self.held.get(key).map(|h| h.deadline_ms)
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
        // Each lane, when free, takes the job of the earliest deadline among those ready
        // by then, or, when none is, the first to become ready: what the worker pool does
        // (a proof is not interrupted, so a job ready first may hold a lane that a more
        // urgent one, ready later, then waits for). Heaps of lanes by free time and of
        // ready jobs by deadline: O(n log n) in the jobs held, which peers' requests
        // decide.
        let ready = |i: usize| jobs[i].ready_ms.max(now_ms);
        waiting.sort_by_key(|&i| (ready(i), i));
        let mut lanes: BinaryHeap<Reverse<(u64, usize)>> = lanes
            .into_iter()
            .enumerate()
            .map(|(l, t)| Reverse((t, l)))
            .collect();
        let mut released: BinaryHeap<Reverse<(u64, usize)>> = BinaryHeap::new();
        let mut next = 0;
        // Lanes come off the heap in the order of their free times (what goes back is
        // never earlier), so every released job is ready by the lane that takes it.
        while next < waiting.len() || !released.is_empty() {
            let Reverse((free, lane)) = lanes.pop().expect("workers is at least 1");
            while next < waiting.len() && ready(waiting[next]) <= free {
                let i = waiting[next];
                released.push(Reverse((jobs[i].deadline_ms, i)));
                next += 1;
            }
            let Some(Reverse((_, i))) = released.pop() else {
                // Nothing ready yet: the lane idles until the next job is.
                lanes.push(Reverse((ready(waiting[next]), lane)));
                continue;
            };
            let ends = free.saturating_add(jobs[i].estimate_ms);
            finish[i] = ends;
            lanes.push(Reverse((ends, lane)));
        }
        finish
    }

    /// Whether `new` can join `held`: it finishes `margin` before its deadline, every
    /// held job that would have done so without it still does, and no held job that is
    /// late already (proving slowed, a restart) is delayed further. So one late job never
    /// stops the prover from taking work that can wait behind it.
    fn fits(&self, now_ms: u64, held: &[Held], new: Held) -> bool {
        self.fits_by(now_ms, held, new, new.deadline_ms)
    }

    /// [`Schedule::fits`], with `new` finishing `margin` before `by_ms` rather than its
    /// deadline (which still decides its place).
    fn fits_by(&self, now_ms: u64, held: &[Held], new: Held, by_ms: u64) -> bool {
        let on_time =
            |finish: u64, job: &Held| finish.saturating_add(self.margin_ms) <= job.deadline_ms;
        let before = self.finishes(now_ms, held);
        let mut jobs = held.to_vec();
        jobs.push(new);
        let with = self.finishes(now_ms, &jobs);
        with[held.len()].saturating_add(self.margin_ms) <= by_ms
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
            ready_ms: now_ms,
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

    /// A bid's terms for a new job taking `estimate_ms` that can start at `start_ms` (the
    /// bid window's end, or now if later), whose request is due by `latest_ms`: the time
    /// the schedule holds it to (its expected finish, as [`Schedule::quote`] gives it,
    /// plus the margin and `drift_ms`, the time an award may take after the window's end)
    /// and the deadline to promise: when it would be done if every job ahead of it, the
    /// proofs under way (from when they started) and it took [`SLOWDOWN_TOLERANCE`] times
    /// their estimates, plus one more of the longest proof the prover takes
    /// (`longest_ms`, or a longer one held), slowed (a job of a later deadline that was
    /// ready first may hold the worker when this one's award comes: a proof is not
    /// interrupted), and the drift, slowed (later admissions may push the
    /// job that much past its expected finish), plus the margin. `None` when that promise
    /// is past `latest_ms`: a prover under load takes less into its queue rather than
    /// promise without the room.
    pub fn bid(
        &self,
        start_ms: u64,
        estimate_ms: u64,
        longest_ms: u64,
        latest_ms: u64,
        drift_ms: u64,
    ) -> Option<Terms> {
        let finish = self.quote(start_ms, estimate_ms, latest_ms)?;
        let t = SLOWDOWN_TOLERANCE;
        // Everything that may run before it, slowed; it runs last.
        let mut slowed: Vec<Held> = self
            .held
            .values()
            .filter(|h| h.deadline_ms <= latest_ms || h.started_ms.is_some())
            .map(|h| Held {
                estimate_ms: h.estimate_ms.saturating_mul(t),
                ..*h
            })
            .collect();
        slowed.push(Held {
            deadline_ms: u64::MAX,
            estimate_ms: estimate_ms.saturating_mul(t),
            ready_ms: start_ms,
            started_ms: None,
        });
        let slowed_finish = self
            .finishes(start_ms, &slowed)
            .into_iter()
            .max()
            .unwrap_or(start_ms)
            .max(start_ms.saturating_add(finish.saturating_sub(start_ms).saturating_mul(t)));
        let due_ms = finish
            .saturating_add(self.margin_ms)
            .saturating_add(drift_ms);
        // A proof is not interrupted: when the job's award comes (up to the drift after
        // the window), a job of a later deadline, held now or taken later, may have just
        // taken the worker it waits for.
        let blocking = self
            .held
            .values()
            .map(|h| h.estimate_ms)
            .max()
            .unwrap_or(0)
            .max(estimate_ms)
            .max(longest_ms)
            .saturating_mul(t);
        let promise_ms = slowed_finish
            .saturating_add(blocking)
            .saturating_add(drift_ms.saturating_mul(t))
            .saturating_add(self.margin_ms);
        (promise_ms <= latest_ms).then_some(Terms { due_ms, promise_ms })
    }

    /// Holds `key` until [`Schedule::release`]; refuses (returns false) when that would
    /// make it, or a held job that is on time, late. Holding a key twice replaces the old
    /// entry; a refusal leaves the old entry as it was.
    pub fn admit(&mut self, now_ms: u64, key: K, estimate_ms: u64, deadline_ms: u64) -> bool {
        self.admit_by(now_ms, key, estimate_ms, now_ms, deadline_ms, deadline_ms)
    }

    /// Holds `key`, whose proof can start from `ready_ms`, at `deadline_ms` (its place,
    /// earliest deadline first) when it finishes the margin before `by_ms` (its promise,
    /// at or after `deadline_ms`) and makes no held job that is on time late. An award whose due time can no longer be met (a
    /// job of a later deadline took the worker first, or the estimate rose since the
    /// bid) is taken this way when its promise still can: it keeps its place, so the
    /// jobs behind it cannot take the room its promise left.
    pub fn admit_by(
        &mut self,
        now_ms: u64,
        key: K,
        estimate_ms: u64,
        ready_ms: u64,
        deadline_ms: u64,
        by_ms: u64,
    ) -> bool {
        let held: Vec<Held> = self
            .held
            .iter()
            .filter(|(k, _)| **k != key)
            .map(|(_, h)| *h)
            .collect();
        let new = Held {
            deadline_ms,
            estimate_ms,
            ready_ms,
            started_ms: None,
        };
        if !self.fits_by(now_ms, &held, new, by_ms.max(deadline_ms)) {
            return false;
        }
        self.held.insert(key, new);
        true
    }

    /// Whether the held job `key`, now expected to take `estimate_ms`, still finishes
    /// `slack_ms` before `promised_ms` (the deadline it was promised, which may be later
    /// than the one it is held to: [`Schedule::bid`]) when proving starts at `now_ms`, earliest
    /// deadline first with the other held jobs. When it does not, it is released: the
    /// caller lets it go before binding itself to it (an acceptance is a promise the chain
    /// enforces).
    pub fn still_on_time(
        &mut self,
        now_ms: u64,
        key: &K,
        estimate_ms: u64,
        slack_ms: u64,
        promised_ms: u64,
    ) -> bool {
        let Some(held) = self.held.get_mut(key) else {
            return false;
        };
        held.estimate_ms = estimate_ms;
        let deadline_ms = promised_ms;
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
                ready_ms: 0,
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
        assert!(s.still_on_time(1_000, &2, 1_500, 0, 3_000));
        // Judged against its promise, which may be later than the time it is held to.
        assert!(s.still_on_time(1_000, &2, 2_500, 0, 3_500));
        assert!(!s.still_on_time(1_000, &2, 2_500, 0, 3_000));
        assert!(s.is_empty());
    }

    #[test]
    fn a_bid_promises_room_for_proving_twice_as_slow_and_holds_the_job_to_its_estimate() {
        let mut s = Schedule::new(1, 1_000);
        // Idle, a 3 s proof that can start at 0, 500 ms drift: held to 3 + 1 + 0.5 s,
        // promised 6 s of proving + 6 s of a proof that may block it + 2 × 0.5 s + 1 s.
        let terms = s.bid(0, 3_000, 1_000, 60_000, 500).expect("fits");
        assert_eq!(
            terms,
            Terms {
                due_ms: 4_500,
                promise_ms: 14_000
            }
        );
        // Without that room before the request's deadline there is no bid, though the
        // expected finish would fit.
        assert_eq!(s.bid(0, 3_000, 1_000, 13_999, 500), None);
        // A prover that also takes 5 s proofs leaves room for one of them blocking it.
        assert_eq!(
            s.bid(0, 3_000, 5_000, 60_000, 500).map(|t| t.promise_ms),
            Some(18_000)
        );
        // At 10 s, a proof under way since 9 s, expected to take 3 s: slowed, it ends at
        // 15 s, and a new job that can start at 11 s ends after it, at 21 s (expected: 12
        // and 15 s).
        assert!(s.admit(10_000, 1, 3_000, 60_000));
        s.start(&1, 9_000);
        let terms = s.bid(11_000, 3_000, 3_000, 60_000, 0).expect("fits");
        assert_eq!(terms.due_ms, 15_000 + 1_000);
        assert_eq!(terms.promise_ms, 21_000 + 6_000 + 1_000);
    }

    #[test]
    fn a_job_ready_first_takes_the_worker_a_more_urgent_one_then_waits_for() {
        let s: Schedule<u64> = Schedule::new(1, 0);
        let job = |ready_ms, deadline_ms, estimate_ms| Held {
            deadline_ms,
            estimate_ms,
            ready_ms,
            started_ms: None,
        };
        // B is ready at once (deadline 9 s, 2 s); A, more urgent, only at 1 s.
        let (a, b) = (job(1_000, 5_000, 500), job(0, 9_000, 2_000));
        assert_eq!(s.finishes(0, &[a, b]), vec![2_500, 2_000]);
        // Both ready: A first.
        assert_eq!(s.finishes(0, &[job(0, 5_000, 500), b]), vec![500, 2_500]);
        // Nothing ready until 3 s: the worker idles until then.
        assert_eq!(s.finishes(0, &[job(3_000, 9_000, 500)]), vec![3_500]);
        // Two workers: the second takes A when it is ready.
        let s: Schedule<u64> = Schedule::new(2, 0);
        assert_eq!(s.finishes(0, &[a, b]), vec![1_500, 2_000]);
    }

    /// A tiny deterministic generator for the simulation (no dependency).
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// Streams of requests come to a prover, which bids as a node does (`bid`, held to
    /// the due time while the bid stands), is awarded up to the drift after each bid
    /// window's end (held again at the due time, if it still ends by its promise:
    /// `admit_by`), and proves awarded jobs earliest held deadline first. Its machine has
    /// slowed: every proof takes twice its estimate, which the schedule never learns.
    /// Whatever the mix (one to three workers, proofs of 1 s and 2.5 s, deadlines of 8, 30
    /// and 60 s; 200 seeds), every job it took is proven by its promise with the whole commit margin
    /// left.
    #[test]
    fn promises_made_before_a_twofold_slowdown_are_all_kept() {
        const STEP: u64 = 10;
        let (margin, drift) = (1_500u64, 1_000u64);
        let mut taken = 0;
        for seed in 1..=200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
            let workers = 1 + (seed % 3) as usize;
            let mut s = Schedule::new(workers, margin);
            // Per job: estimate, bid window's end, award time, due, promise.
            let mut jobs: BTreeMap<u64, (u64, u64, u64, u64, u64)> = BTreeMap::new();
            let mut awarded: BTreeMap<u64, u64> = BTreeMap::new();
            let mut running: Vec<(u64, u64)> = Vec::new();
            let mut done: BTreeMap<u64, u64> = BTreeMap::new();
            let mut next_request = 0u64;
            let mut n = 0u64;
            let mut clock = 0u64;
            while n < 40 || !running.is_empty() || awarded.len() > done.len() {
                // Proofs that ended.
                running.retain(|&(job, ends)| {
                    if ends <= clock {
                        done.insert(job, ends);
                        s.release(&job);
                        false
                    } else {
                        true
                    }
                });
                // Awards that came.
                let due_awards: Vec<u64> = jobs
                    .iter()
                    .filter(|(job, j)| j.2 <= clock && !awarded.contains_key(job))
                    .map(|(job, _)| *job)
                    .collect();
                for job in due_awards {
                    let (estimate, _, _, due, promise) = jobs[&job];
                    if s.admit_by(clock, job, estimate, clock, due, promise) {
                        awarded.insert(job, promise);
                    } else {
                        // Declined: nothing binds.
                        jobs.remove(&job);
                        s.release(&job);
                    }
                }
                // A request.
                if n < 40 && clock >= next_request {
                    let estimate = if rng.below(2) == 0 { 1_000 } else { 2_500 };
                    let window_ends = clock + 300 + rng.below(1_000);
                    let latest = clock + [8_000, 30_000, 60_000][rng.below(3) as usize];
                    let start = clock.max(window_ends);
                    if let Some(terms) = s.bid(start, estimate, 2_500, latest, drift)
                        && s.admit_by(clock, n, estimate, start, terms.due_ms, terms.due_ms)
                    {
                        let award = window_ends + rng.below(drift);
                        jobs.insert(
                            n,
                            (estimate, window_ends, award, terms.due_ms, terms.promise_ms),
                        );
                    }
                    n += 1;
                    next_request = clock + 100 + rng.below(800);
                }
                // Free workers take awarded jobs, earliest held deadline first.
                while running.len() < workers {
                    let next = awarded
                        .keys()
                        .filter(|job| {
                            !done.contains_key(job) && running.iter().all(|r| r.0 != **job)
                        })
                        .min_by_key(|job| (s.deadline_of(job).unwrap_or(u64::MAX), **job))
                        .copied();
                    let Some(job) = next else {
                        break;
                    };
                    s.start(&job, clock);
                    running.push((job, clock + 2 * jobs[&job].0));
                }
                clock += STEP;
                assert!(
                    clock < 10_000_000,
                    "seed {seed}: the simulation does not end"
                );
            }
            for (job, promise) in &awarded {
                let end = done[job];
                assert!(
                    end + margin <= *promise,
                    "seed {seed}, {workers} workers, job {job} ({} ms estimated): proven at \
                     {end} ms, promised {promise} ms",
                    jobs[job].0
                );
            }
            taken += awarded.len();
        }
        // Enough taken that the queues were long (200 seeds × 40 requests).
        assert!(taken >= 3_000, "{taken}");
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
