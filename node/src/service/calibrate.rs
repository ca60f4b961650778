//! A prover measures a circuit's proving time before it promises any deadline for it.
//!
//! A bid promises a completion time from the prover's estimate (`prover::estimate_ms`),
//! and an award binds that promise: a proof committed later is slashed. An estimate that
//! nobody measured (the configured `prover.estimate_ms`) is a guess, and a guess too short
//! for this machine, or for a large circuit such as an imported model's, gets an honest
//! prover slashed on its first jobs. So a circuit with no measured time is not bid on:
//! once its proving keys are in, the prover proves the circuit's example witness (valid
//! for every circuit; the time of a Halo2 proof does not depend on the witness's values)
//! and records the time as it records a job's. One calibration runs at a time, in a
//! proving worker's slot. A restarted prover has its jobs' times from the store and does
//! not calibrate again; a calibration that fails leaves the configured estimate.

use super::*;

impl Core {
    /// Starts the next calibration, if a circuit needs one and a worker is free.
    pub(super) fn calibrate(&mut self) {
        if self.prover.calibrating.is_some() || self.prover.running >= self.s.config.prover.workers
        {
            return;
        }
        let mut proved: Vec<Circuit> = self.s.proves.iter().copied().collect();
        proved.sort();
        let Some(circuit) = proved.into_iter().find(|c| {
            !self.prover.estimates.contains_key(c) && self.s.engine.proving_keys_loaded(*c)
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

    /// A calibration's end: its time is the circuit's first measurement.
    pub(super) fn on_calibrated(&mut self, circuit: Circuit, result: Result<u64, String>) {
        self.prover.calibrating = None;
        self.prover.running = self.prover.running.saturating_sub(1);
        let ms = match result {
            Ok(ms) => {
                tracing::info!(target: "market::prover", circuit = circuit.name(), ms, "proving time measured: bidding on the circuit");
                ms
            }
            Err(error) => {
                let ms = self.s.config.prover.estimate_ms;
                tracing::error!(target: "market::prover", circuit = circuit.name(), %error, estimate_ms = ms, "cannot measure the proving time: bids use the configured estimate");
                ms
            }
        };
        // Unless a job's time came first.
        if !self.prover.estimates.contains_key(&circuit) {
            self.measured(circuit, ms);
        }
        self.pump();
    }
}
