//! A circuit's EVM verifier, compiled from its keys, and the market's id of the circuit,
//! derived from that verifier exactly as `ProverMarket.registerCircuit` derives it.
//!
//! The market names a circuit by what decides its verdicts: the code hash of its
//! verifier and the shape of its proofs (`circuitIdOf(codeHash, publicInputs,
//! proofLength)` = keccak256 of the three as ABI words). A node compiles the verifier
//! from its own keys, so the id it computes is the id of a registration whose verifier is
//! its own code: a registration of anything else has another id, which the node does not
//! serve. The id therefore depends on the SRS, the circuit and the compiler (solc 0.8.28
//! from `package.json`, optimizer off): a network pins all three.
//!
//! Compiling takes seconds, and the proof length is read from one proof of the example
//! witness, so both are cached beside the keys, in `<keys dir>/<circuit>/verifier.json`,
//! keyed by the key id, the Solidity source's hash and the compiler's version, and
//! holding the id it derived: a cache made by another compiler or for other keys, or
//! whose code or sample no longer derives its id, is rebuilt, never trusted. (The
//! compiler settings are fixed in [`evm::compile_verifier`]; changing them changes ids.)

use std::fs;
use std::path::Path;

use provernet_protocol::primitives::{from_hex, keccak256_concat, to_hex};
use provernet_protocol::{CircuitId, FieldBytes, Hash32, keccak256};
use serde::{Deserialize, Serialize};

use crate::Circuit;
use crate::error::CircuitError;
use crate::evm;
use crate::keys::VerifyingKeys;

/// A circuit's compiled verifier and a valid proof of its example witness.
#[derive(Clone, Debug)]
pub struct Verifier {
    /// The circuit.
    pub circuit: Circuit,
    /// The market's id of the circuit: [`circuit_id_of`] this verifier's code and shape.
    pub circuit_id: CircuitId,
    /// Creation code (deploy this).
    pub creation: Vec<u8>,
    /// Runtime code (what the chain holds; its keccak256 is the code hash).
    pub runtime: Vec<u8>,
    /// Public inputs of the sample proof (the example witness's).
    pub sample_inputs: Vec<FieldBytes>,
    /// A valid proof of the example witness: `registerCircuit` runs it.
    pub sample_proof: Vec<u8>,
}

impl Verifier {
    /// keccak256 of the runtime code: what `EXTCODEHASH` returns for a deployment of it.
    pub fn code_hash(&self) -> Hash32 {
        Hash32(keccak256(&self.runtime))
    }
}

/// The market's circuit id of a verifier with code hash `code_hash` whose proofs have
/// `public_inputs` public inputs and `proof_length` bytes:
/// keccak256(abi.encode(codeHash, publicInputs, proofLength)).
pub fn circuit_id_of(code_hash: &Hash32, public_inputs: usize, proof_length: usize) -> CircuitId {
    let word = |n: usize| {
        let mut w = [0u8; 32];
        w[24..].copy_from_slice(&(n as u64).to_be_bytes());
        w
    };
    CircuitId(keccak256_concat(&[
        &code_hash.0,
        &word(public_inputs),
        &word(proof_length),
    ]))
}

#[derive(Serialize, Deserialize)]
struct Cached {
    key_id: String,
    /// The id derived when it was written: a cache whose code or sample was altered
    /// since derives another, and is rebuilt.
    circuit_id: String,
    source_keccak: String,
    solc_version: String,
    creation: String,
    runtime: String,
    sample_inputs: Vec<String>,
    sample_proof: String,
}

/// The verifier of `keys`, from `dir`'s cache or compiled with `solc` (whose `--version`
/// output is `solc_version`) and cached. `prove` makes the sample proof.
pub fn load_or_build(
    keys: &VerifyingKeys,
    solc: &Path,
    solc_version: &str,
    dir: &Path,
    prove: impl FnOnce() -> Result<(Vec<FieldBytes>, Vec<u8>), CircuitError>,
) -> Result<Verifier, CircuitError> {
    let circuit = keys.circuit;
    let source = evm::solidity_verifier(keys);
    let source_keccak = Hash32(keccak256(source.as_bytes())).to_string();
    let path = dir.join(circuit.name()).join("verifier.json");
    let cached = fs::read(&path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Cached>(&bytes).ok())
        .filter(|c| {
            c.key_id == keys.key_id.to_string()
                && c.source_keccak == source_keccak
                && c.solc_version == solc_version
        })
        .and_then(|c| from_cache(circuit, &c));
    if let Some(verifier) = cached {
        return Ok(verifier);
    }
    tracing::info!(target: "circuits::verifier", circuit = circuit.name(), solc = %solc.display(), "compiling the EVM verifier");
    let compiled = evm::compile_verifier(&source, solc)?;
    let (sample_inputs, sample_proof) = prove()?;
    let verifier = Verifier {
        circuit,
        circuit_id: circuit_id_of(
            &Hash32(keccak256(&compiled.runtime)),
            sample_inputs.len(),
            sample_proof.len(),
        ),
        creation: compiled.creation,
        runtime: compiled.runtime,
        sample_inputs,
        sample_proof,
    };
    let record = Cached {
        key_id: keys.key_id.to_string(),
        circuit_id: verifier.circuit_id.to_string(),
        source_keccak,
        solc_version: solc_version.to_owned(),
        creation: to_hex(&verifier.creation),
        runtime: to_hex(&verifier.runtime),
        sample_inputs: verifier
            .sample_inputs
            .iter()
            .map(|x| to_hex(&x.0))
            .collect(),
        sample_proof: to_hex(&verifier.sample_proof),
    };
    let bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    crate::keys::write_atomic(&path, &bytes)?;
    Ok(verifier)
}

fn from_cache(circuit: Circuit, c: &Cached) -> Option<Verifier> {
    let runtime = from_hex(&c.runtime)?;
    let sample_inputs = c
        .sample_inputs
        .iter()
        .map(|x| {
            from_hex(x)
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map(FieldBytes)
        })
        .collect::<Option<Vec<_>>>()?;
    let sample_proof = from_hex(&c.sample_proof)?;
    let circuit_id = circuit_id_of(
        &Hash32(keccak256(&runtime)),
        sample_inputs.len(),
        sample_proof.len(),
    );
    if circuit_id.to_string() != c.circuit_id {
        tracing::warn!(target: "circuits::verifier", circuit = circuit.name(), "cached verifier fails its id check; rebuilding");
        return None;
    }
    Some(Verifier {
        circuit,
        circuit_id,
        creation: from_hex(&c.creation)?,
        runtime,
        sample_inputs,
        sample_proof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The contract's `circuitIdOf` on the same values gives this id (the forge test
    /// `test_circuitIdOf_matchesTheNodes` asserts the same literal).
    #[test]
    fn circuit_id_is_the_contracts() {
        let id = circuit_id_of(&Hash32([0x11; 32]), 1, 1984);
        assert_eq!(
            id.to_string(),
            "0x1a2a439528bfa793d49ebc3b3725f639ebf7166bb1bb59d2886995c15bb4a981"
        );
        assert_ne!(id, circuit_id_of(&Hash32([0x11; 32]), 2, 1952));
        assert_ne!(id, circuit_id_of(&Hash32([0x11; 32]), 1, 2016));
    }
}
