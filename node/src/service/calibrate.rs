//! A prover measures a circuit's proving time before it promises any deadline for it.
//!
//! A bid promises a completion time from the prover's estimate (`estimates::estimate_ms`),
//! and an award binds that promise: a proof committed later is slashed. An estimate that
//! nobody measured (the configured `prover.estimate_ms`) is a guess, and a guess too short
//! for this machine, or for a large circuit such as an imported model's, gets an honest
//! prover slashed on its first jobs. So a circuit with no measured time is not bid on:
//! once its proving keys are in, the prover proves the circuit's example witness (valid
//! for every circuit; the time of a Halo2 proof does not depend on the witness's values)
//! and records the time as it records a job's. The calibration ran on an idle machine
//! and jobs run beside others, so until the circuit's first job is timed its promises
//! take the larger of that time and the configured `prover.estimate_ms`. A calibration runs only when the prover
//! holds nothing (no standing bid, no job awarded, queued or being proven), one at a
//! time, and the prover bids on nothing while it runs: the schedule never counts on a
//! worker the calibration has. A restarted prover has its jobs' times from the store and
//! does not calibrate again. A calibration that fails is tried again a minute later; the
//! circuit stays unbid on meanwhile.

use super::*;

/// How long after a failed calibration the next is tried, ms.
const CALIBRATION_RETRY_MS: u64 = 60_000;

impl Core {
    /// Starts the next calibration, if a circuit needs one and the prover holds nothing.
    pub(super) fn calibrate(&mut self, now: u64) {
        // Nor while a circuit is being built (`learn`): both take every core.
        if !self.holds_nothing() || self.learning.busy.is_some() {
            return;
        }
        let proved = self.s.circuits.proved();
        let retry = &self.prover.calibration_retry_at;
        let Some(circuit) = proved.into_iter().find(|c| {
            !self.prover.estimates.contains_key(c)
                && retry.get(c).is_none_or(|at| *at <= now)
                && self.s.engine.proving_keys_loaded(*c)
        }) else {
            return;
        };
        self.prover.calibrating = Some(circuit);
        self.prover.running += 1;
        let engine = Arc::clone(&self.s.engine);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = async {
                let witness = circuit
                    .parse_witness(&circuit.example_witness())
                    .map_err(|e| e.to_string())?;
                let started = std::time::Instant::now();
                engine
                    .prove_async(witness)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX))
            }
            .await;
            let _ = internal
                .send(Internal::Calibrated { circuit, result })
                .await;
        });
    }

    /// A calibration's end: its time is the circuit's first measurement, and the requests
    /// heard meanwhile whose bid windows are still open are considered again.
    pub(super) async fn on_calibrated(&mut self, circuit: Circuit, result: Result<u64, String>) {
        self.prover.calibrating = None;
        self.prover.running = self.prover.running.saturating_sub(1);
        match result {
            Ok(ms) => {
                tracing::info!(target: "market::prover", circuit = circuit.name(), ms, "proving time measured: bidding on the circuit");
                self.prover.calibration_retry_at.remove(&circuit);
                // Unless a job's time came first.
                if !self.prover.estimates.contains_key(&circuit) {
                    self.measured(circuit, ms);
                    self.prover.calibrated_only.insert(circuit);
                }
            }
            Err(error) => {
                tracing::error!(target: "market::prover", circuit = circuit.name(), %error, "cannot measure the proving time: not bidding on the circuit; trying again in a minute");
                self.prover
                    .calibration_retry_at
                    .insert(circuit, now_ms() + CALIBRATION_RETRY_MS);
            }
        }
        self.pump();
        self.reconsider_open_requests().await;
    }

    /// Considers again the requests heard whose bid windows are still open: after a
    /// calibration or a circuit's build (`learn`), during which no bid was made.
    pub(super) async fn reconsider_open_requests(&mut self) {
        if !self.s.config.roles.prover {
            return;
        }
        for id in self.book.requests.open_windows(now_s()) {
            let Some(seen) = self.book.requests.get(&id) else {
                continue;
            };
            let (request, key) = (seen.request.clone(), seen.client_key);
            self.consider_bidding(&request, key).await;
        }
    }
}
