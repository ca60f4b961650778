//! The first proof of each circuit after a start goes through the market's `checkProof`:
//! a gas repricing could have made the cap measured at registration too small, and then
//! every leaf of the circuit would be slashable, so a rejection stops its bids for good.

use std::sync::Arc;

use provernet_protocol::CircuitId;

use super::{Core, Internal};
use crate::metrics::kind;
use crate::store::records::ProofRecord;

impl Core {
    /// The first proof of each circuit after a start goes through the market's own
    /// `checkProof` (off the core). The registration under this id is of this build's
    /// verifier code and shape (ids are derived), but its gas cap was measured once, at
    /// registration: a repricing of the EVM since (a fork raising a precompile's cost
    /// beyond the cap's margin) makes the market reject every valid proof, so every leaf
    /// would be slashable. A rejection stops the bids on that circuit
    /// (`circuit_rejected`).
    pub(super) fn check_registration(&mut self, circuit_id: CircuitId, proof: &ProofRecord) {
        if !self.prover.checked_on_chain.insert(circuit_id) {
            return;
        }
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        let (inputs, bytes) = (proof.inputs(), proof.proof.clone());
        tokio::spawn(async move {
            match shared
                .market
                .check_proof(circuit_id.0, &inputs, &bytes)
                .await
            {
                Ok(accepted) => {
                    let _ = internal
                        .send(Internal::RegistrationChecked {
                            circuit: circuit_id,
                            accepted,
                        })
                        .await;
                }
                Err(error) => {
                    tracing::warn!(target: "chain", %error, "cannot check this build's proof against the registration");
                    let _ = internal
                        .send(Internal::RegistrationUnchecked(circuit_id))
                        .await;
                }
            }
        });
    }

    pub(super) fn on_registration_checked(&mut self, circuit: CircuitId, accepted: bool) {
        if accepted {
            return;
        }
        let name = self.s.circuits.get(&circuit).map_or("?", |c| c.name());
        tracing::error!(target: "market::prover", circuit = name, "the market's verifier rejects this build's proof of the circuit: no more bids on it");
        self.prover.registered.remove(&circuit);
        self.prover.rejected.insert(circuit);
        self.s
            .metrics
            .market
            .bids
            .get_or_create(&kind("circuit_rejected"))
            .inc();
    }
}
