//! `poseidon-chain`: knowledge of a seed whose n-fold Poseidon iterate is the public
//! digest. The number of iterations sets the circuit's size, so this is the scalable
//! workload for benchmarks.
//!
//! Witness JSON: `{"seed": "<decimal or 0x-hex scalar>"}`. Public inputs: `[digest]`,
//! where `digest = H^n(seed)` and `H(x) = Poseidon([x])`.

use halo2_base::gates::GateChip;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::Deserialize;

use super::{json_shape, scalar};
use crate::error::CircuitError;
use crate::poseidon::{self, Hasher};

/// A parsed witness.
#[derive(Clone, Debug)]
pub struct Witness {
    seed: Fr,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    seed: String,
}

pub(crate) fn parse(
    circuit: &'static str,
    json: &serde_json::Value,
) -> Result<Witness, CircuitError> {
    let raw: Json = json_shape(circuit, json)?;
    Ok(Witness {
        seed: scalar(circuit, "seed", &raw.seed)?,
    })
}

pub(crate) fn example() -> serde_json::Value {
    serde_json::json!({ "seed": "20261123" })
}

pub(crate) fn public_inputs(witness: &Witness, iterations: usize) -> Vec<Fr> {
    let digest = (0..iterations).fold(witness.seed, |x, _| poseidon::hash(&[x]));
    vec![digest]
}

pub(crate) fn synthesize(
    builder: &mut BaseCircuitBuilder<Fr>,
    witness: &Witness,
    iterations: usize,
) {
    let gate = GateChip::default();
    let ctx = builder.main(0);
    let hasher = Hasher::new(ctx, &gate);
    let mut x = ctx.load_witness(witness.seed);
    for _ in 0..iterations {
        x = hasher.hash(ctx, &gate, &[x]);
    }
    builder.assigned_instances[0].push(x);
}
