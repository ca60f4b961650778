//! `merkle-membership`: a private leaf sits at a private position of a depth-20 Poseidon
//! Merkle tree with a public root, and a public nullifier commits to the leaf.
//!
//! Witness JSON: `{"leaf": s, "secret": s, "index": n, "siblings": [s; 20]}` where `s` is
//! a decimal or `0x`-hex scalar and `0 <= n < 2^20`; `siblings[0]` is the leaf's sibling.
//! Bit `i` of `index` set means the node at level `i` is a right child.
//! Public inputs: `[root, nullifier]`, `nullifier = Poseidon([secret, leaf])`: it pins
//! which leaf was proven without revealing it to anyone who lacks the secret.

use halo2_base::QuantumCell::Existing;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::Deserialize;

use super::{json_shape, scalar};
use crate::error::CircuitError;
use crate::poseidon::{self, Hasher};

/// Tree depth.
pub const DEPTH: usize = 20;

/// A parsed witness.
#[derive(Clone, Debug)]
pub struct Witness {
    leaf: Fr,
    secret: Fr,
    index: u32,
    siblings: Vec<Fr>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    leaf: String,
    secret: String,
    index: u64,
    siblings: Vec<String>,
}

pub(crate) fn parse(
    circuit: &'static str,
    json: &serde_json::Value,
) -> Result<Witness, CircuitError> {
    let raw: Json = json_shape(circuit, json)?;
    if raw.siblings.len() != DEPTH {
        return Err(CircuitError::WitnessShape {
            circuit,
            reason: format!(
                "`siblings` must have {DEPTH} entries, got {}",
                raw.siblings.len()
            ),
        });
    }
    let index = u32::try_from(raw.index)
        .ok()
        .filter(|i| *i < 1 << DEPTH)
        .ok_or_else(|| CircuitError::WitnessRange {
            circuit,
            field: "index".into(),
            reason: format!("{} is not below 2^{DEPTH}", raw.index),
        })?;
    let siblings = raw
        .siblings
        .iter()
        .enumerate()
        .map(|(i, s)| scalar(circuit, &format!("siblings[{i}]"), s))
        .collect::<Result<_, _>>()?;
    Ok(Witness {
        leaf: scalar(circuit, "leaf", &raw.leaf)?,
        secret: scalar(circuit, "secret", &raw.secret)?,
        index,
        siblings,
    })
}

pub(crate) fn example() -> serde_json::Value {
    let siblings: Vec<String> = (0..DEPTH as u64)
        .map(|i| crate::field::to_hex(&poseidon::hash(&[Fr::from(i)])))
        .collect();
    serde_json::json!({
        "leaf": "424242",
        "secret": "0x1234567890abcdef",
        "index": 314159,
        "siblings": siblings,
    })
}

pub(crate) fn public_inputs(witness: &Witness) -> Vec<Fr> {
    let mut node = witness.leaf;
    for (level, sibling) in witness.siblings.iter().enumerate() {
        node = if witness.index >> level & 1 == 1 {
            poseidon::hash(&[*sibling, node])
        } else {
            poseidon::hash(&[node, *sibling])
        };
    }
    vec![node, poseidon::hash(&[witness.secret, witness.leaf])]
}

pub(crate) fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, witness: &Witness) {
    let gate = GateChip::default();
    let ctx = builder.main(0);
    let hasher = Hasher::new(ctx, &gate);
    let leaf = ctx.load_witness(witness.leaf);
    let secret = ctx.load_witness(witness.secret);
    let index = ctx.load_witness(Fr::from(u64::from(witness.index)));
    // Decomposing constrains every bit to be boolean and the index to be below 2^DEPTH.
    let bits = gate.num_to_bits(ctx, index, DEPTH);
    let mut node = leaf;
    for (sibling, bit) in witness.siblings.iter().zip(bits) {
        let sibling = ctx.load_witness(*sibling);
        let left = gate.select(ctx, Existing(sibling), Existing(node), bit);
        let right = gate.select(ctx, Existing(node), Existing(sibling), bit);
        node = hasher.hash(ctx, &gate, &[left, right]);
    }
    let nullifier = hasher.hash(ctx, &gate, &[secret, leaf]);
    builder.assigned_instances[0].extend([node, nullifier]);
}
