//! What a proof costs this machine: the proving times measured (by calibrations and by
//! jobs), the estimate a promise is made from, and the cost a price per second is quoted
//! from.

use provernet_circuits::Circuit;

use super::Core;

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

    /// The time a promise is made from, ms: the slowest recent proof plus a quarter.
    pub(super) fn estimate_ms(&self, circuit: Circuit) -> u64 {
        // A quarter more than measured: proving time varies with the machine's load.
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
            // job's time is in, the configured estimate is a floor.
            base = base.max(configured);
        }
        base + base / 4
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
