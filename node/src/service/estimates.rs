//! What a proof costs this machine: the proving times measured (by calibrations and by
//! jobs), the estimate a promise is made from, and the cost a price per second is quoted
//! from.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use provernet_circuits::Circuit;

use super::Core;

/// The test-only slowdown's neutral value: proving takes 1,000 thousandths of its time.
pub const NO_SLOWDOWN: u32 = 1_000;

/// Test only (`POST /v1/dev/slowdown`, served with `api.dev`, which a node refuses off
/// the dev chain): after a proof that took `took`, waits until it has taken `slowdown`
/// thousandths of that, as if this machine had slowed. The wait is inside the proving
/// time the node measures, so its estimates see it as they would a real slowdown.
pub(super) async fn dev_slowdown(slowdown: &AtomicU32, took: Duration) {
    let factor = slowdown.load(Ordering::Relaxed);
    if factor > NO_SLOWDOWN {
        let extra = took.saturating_mul(factor - NO_SLOWDOWN) / NO_SLOWDOWN;
        tokio::time::sleep(extra).await;
    }
}

/// How many recent proving times the estimate looks at.
pub(super) const ESTIMATE_WINDOW: usize = 8;

impl Core {
    /// What a proof of `circuit` costs this machine, ms, for pricing
    /// (`PricePolicy::PerSecond`): the median of the recent proving times, the
    /// configured estimate before any.
    pub(super) fn proving_cost_ms(&self, circuit: Circuit) -> u64 {
        let mut times: Vec<u64> = self
            .prover
            .estimates
            .get(&circuit)
            .map(|times| times.iter().copied().collect())
            .unwrap_or_default();
        times.sort_unstable();
        times
            .get(times.len() / 2)
            .copied()
            .unwrap_or(self.s.config.prover.estimate_ms)
    }

    /// The time the schedule expects a proof to take, ms: the slowest recent proof. A
    /// promise leaves room for twice that (`Schedule::bid`), which covers the
    /// machine's load varying and slowing down; the schedule holds jobs to this time, so
    /// it takes as much work as the machine does.
    pub(super) fn estimate_ms(&self, circuit: Circuit) -> u64 {
        // The slowest of the recent proofs, or the configured estimate before any: the
        // machine's load varies, and a late proof costs a slash, an early one nothing.
        let configured = self.s.config.prover.estimate_ms;
        let mut base = self
            .prover
            .estimates
            .get(&circuit)
            .and_then(|times| times.iter().max().copied())
            .unwrap_or(configured);
        if self.prover.calibrated_only.contains(&circuit) {
            // A calibration runs on an idle machine, jobs run beside others: until a
            // job's time is in, the configured estimate is a floor on what a promise
            // leaves room for (its slowed time, `SLOWDOWN_TOLERANCE` times this).
            base = base.max(configured / provernet_market::schedule::SLOWDOWN_TOLERANCE);
        }
        base
    }

    /// The longest proof this prover may take on, ms: the largest estimate among the
    /// circuits it has measured (it bids on no other).
    pub(super) fn longest_estimate_ms(&self) -> u64 {
        self.prover
            .estimates
            .keys()
            .map(|&circuit| self.estimate_ms(circuit))
            .max()
            .unwrap_or(0)
    }

    /// Records a proving time of `circuit` measured on this machine: the estimate keeps
    /// the last [`ESTIMATE_WINDOW`].
    pub(super) fn measured(&mut self, circuit: Circuit, ms: u64) {
        self.prover.calibrated_only.remove(&circuit);
        let times = self.prover.estimates.entry(circuit).or_default();
        if times.len() == ESTIMATE_WINDOW {
            times.pop_front();
        }
        times.push_back(ms);
        let known = &self.s.circuits;
        let measured = self
            .prover
            .estimates
            .keys()
            .filter(|c| known.proves(c))
            .count();
        self.s
            .metrics
            .market
            .measured_circuits
            .set(i64::try_from(measured).unwrap_or(i64::MAX));
    }
}
