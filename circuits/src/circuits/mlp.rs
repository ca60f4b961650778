//! `mlp-inference` (zkML): a fixed-point two-layer perceptron with ReLU ran on a public
//! input and produced a public output, with private weights committed by a public
//! Poseidon hash — so a proof also says *which* model ran.
//!
//! Shapes: input 4 → hidden 8 (ReLU) → output 3. Fixed point with 8 fractional bits:
//! an integer `v` stands for `v / 256`. Every weight, bias and input must satisfy
//! `|v| < 2^15`.
//!
//! `hidden[j] = relu(floor((Σ_i w1[j][i]·x[i] + 256·b1[j]) / 256))`,
//! `y[k] = floor((Σ_j w2[k][j]·hidden[j] + 256·b2[k]) / 256)`: the output is computed
//! and constrained in the circuit, never copied in.
//!
//! Witness JSON: `{"model": {"w1": [[i;4];8], "b1": [i;8], "w2": [[i;8];3], "b2": [i;3]},
//! "input": [i;4]}` with JSON integers. Public inputs: `[model_hash, x0..x3, y0..y2]`,
//! `model_hash = Poseidon(w1 row-major ‖ b1 ‖ w2 row-major ‖ b2)`, negative values as
//! `p - |v|`.

use halo2_base::QuantumCell::{Constant, Existing};
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};
use serde::Deserialize;

use super::fixed::{load_bounded, pow2, relu, rescale};
use super::json_shape;
use crate::error::CircuitError;
use crate::field::from_i64;
use crate::poseidon::{self, Hasher};

/// Input width.
pub const INPUTS: usize = 4;
/// Hidden width.
pub const HIDDEN: usize = 8;
/// Output width.
pub const OUTPUTS: usize = 3;
/// Fractional bits.
pub const SCALE_BITS: u32 = 8;
/// Bits of magnitude a weight, bias or input may have (`|v| < 2^15`).
pub const VALUE_BITS: usize = 15;
/// Accumulators stay below 2^47 in magnitude given the bounds above (4·2^30 + 2^23 in the
/// first layer, 8·2^24·2^15 + 2^23 in the second).
const ACC_BITS: usize = 47;
/// Rescaled values stay below 2^(47-8) in magnitude.
const RESCALED_BITS: usize = ACC_BITS - SCALE_BITS as usize;

/// The model's parameters.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Model {
    w1: Vec<Vec<i64>>,
    b1: Vec<i64>,
    w2: Vec<Vec<i64>>,
    b2: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    model: Model,
    input: Vec<i64>,
}

/// A parsed witness: shapes and ranges checked.
#[derive(Clone, Debug)]
pub struct Witness {
    model: Model,
    input: Vec<i64>,
}

impl Model {
    /// Every parameter with its name, in hashing order: `w1` row-major, `b1`, `w2`
    /// row-major, `b2`.
    fn named(&self) -> Vec<(String, i64)> {
        let layers = [
            ("w1", &self.w1, "b1", &self.b1),
            ("w2", &self.w2, "b2", &self.b2),
        ];
        let mut all = Vec::new();
        for (weights_name, weights, biases_name, biases) in layers {
            for (j, row) in weights.iter().enumerate() {
                for (i, v) in row.iter().enumerate() {
                    all.push((format!("model.{weights_name}[{j}][{i}]"), *v));
                }
            }
            for (j, v) in biases.iter().enumerate() {
                all.push((format!("model.{biases_name}[{j}]"), *v));
            }
        }
        all
    }

    /// Every parameter in hashing order.
    fn flat(&self) -> Vec<i64> {
        self.named().into_iter().map(|(_, v)| v).collect()
    }
}

fn check_shape(
    circuit: &'static str,
    name: &str,
    len: usize,
    want: usize,
) -> Result<(), CircuitError> {
    if len == want {
        Ok(())
    } else {
        Err(CircuitError::WitnessShape {
            circuit,
            reason: format!("`{name}` must have {want} entries, got {len}"),
        })
    }
}

fn check_range(circuit: &'static str, name: String, v: i64) -> Result<(), CircuitError> {
    if v.unsigned_abs() < 1 << VALUE_BITS {
        Ok(())
    } else {
        Err(CircuitError::WitnessRange {
            circuit,
            field: name,
            reason: format!("{v} is not within ±(2^{VALUE_BITS} - 1)"),
        })
    }
}

pub(crate) fn parse(
    circuit: &'static str,
    json: &serde_json::Value,
) -> Result<Witness, CircuitError> {
    let raw: Json = json_shape(circuit, json)?;
    let m = &raw.model;
    check_shape(circuit, "model.w1", m.w1.len(), HIDDEN)?;
    for (j, row) in m.w1.iter().enumerate() {
        check_shape(circuit, &format!("model.w1[{j}]"), row.len(), INPUTS)?;
    }
    check_shape(circuit, "model.b1", m.b1.len(), HIDDEN)?;
    check_shape(circuit, "model.w2", m.w2.len(), OUTPUTS)?;
    for (k, row) in m.w2.iter().enumerate() {
        check_shape(circuit, &format!("model.w2[{k}]"), row.len(), HIDDEN)?;
    }
    check_shape(circuit, "model.b2", m.b2.len(), OUTPUTS)?;
    check_shape(circuit, "input", raw.input.len(), INPUTS)?;
    for (name, v) in m.named() {
        check_range(circuit, name, v)?;
    }
    for (i, v) in raw.input.iter().enumerate() {
        check_range(circuit, format!("input[{i}]"), *v)?;
    }
    Ok(Witness {
        model: raw.model,
        input: raw.input,
    })
}

pub(crate) fn example() -> serde_json::Value {
    // A fixed, arbitrary model with mixed signs; 1.0 is 256.
    let w1: Vec<Vec<i64>> = (0..HIDDEN as i64)
        .map(|j| {
            (0..INPUTS as i64)
                .map(|i| ((j * 7 + i * 13) % 23 - 11) * 37)
                .collect()
        })
        .collect();
    let b1: Vec<i64> = (0..HIDDEN as i64).map(|j| (j - 4) * 64).collect();
    let w2: Vec<Vec<i64>> = (0..OUTPUTS as i64)
        .map(|k| {
            (0..HIDDEN as i64)
                .map(|j| ((k * 5 + j * 3) % 17 - 8) * 29)
                .collect()
        })
        .collect();
    let b2: Vec<i64> = vec![128, -256, 32];
    serde_json::json!({
        "model": { "w1": w1, "b1": b1, "w2": w2, "b2": b2 },
        "input": [256, -128, 512, 64],
    })
}

/// The model's output on the witness's input, computed natively.
pub(crate) fn infer(witness: &Witness) -> Vec<i64> {
    let scale = 1i128 << SCALE_BITS;
    let m = &witness.model;
    let hidden: Vec<i128> =
        m.w1.iter()
            .zip(&m.b1)
            .map(|(row, b)| {
                let acc: i128 = row
                    .iter()
                    .zip(&witness.input)
                    .map(|(w, x)| i128::from(*w) * i128::from(*x))
                    .sum::<i128>()
                    + scale * i128::from(*b);
                acc.div_euclid(scale).max(0)
            })
            .collect();
    m.w2.iter()
        .zip(&m.b2)
        .map(|(row, b)| {
            let acc: i128 = row
                .iter()
                .zip(&hidden)
                .map(|(w, h)| i128::from(*w) * h)
                .sum::<i128>()
                + scale * i128::from(*b);
            // Within ±2^39 by the bounds, so it fits an i64.
            acc.div_euclid(scale) as i64
        })
        .collect()
}

pub(crate) fn public_inputs(witness: &Witness) -> Vec<Fr> {
    let params: Vec<Fr> = witness.model.flat().into_iter().map(from_i64).collect();
    let mut public = vec![poseidon::hash(&params)];
    public.extend(witness.input.iter().map(|x| from_i64(*x)));
    public.extend(infer(witness).into_iter().map(from_i64));
    public
}

fn dense(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    weights: &[Vec<AssignedValue<Fr>>],
    biases: &[AssignedValue<Fr>],
    input: &[AssignedValue<Fr>],
) -> Vec<AssignedValue<Fr>> {
    weights
        .iter()
        .zip(biases)
        .map(|(row, bias)| {
            let dot =
                gate.inner_product(ctx, row.iter().copied(), input.iter().map(|x| Existing(*x)));
            let acc = gate.mul_add(ctx, *bias, Constant(pow2(SCALE_BITS)), dot);
            rescale(ctx, gate, acc, ACC_BITS as u32, SCALE_BITS)
        })
        .collect()
}

pub(crate) fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, witness: &Witness) {
    let gate = GateChip::default();
    let ctx = builder.main(0);
    let hasher = Hasher::new(ctx, &gate);
    let m = &witness.model;
    let load = |ctx: &mut Context<Fr>, values: &[i64]| -> Vec<AssignedValue<Fr>> {
        values
            .iter()
            .map(|v| load_bounded(ctx, &gate, *v, VALUE_BITS as u32).0)
            .collect()
    };
    let w1: Vec<Vec<AssignedValue<Fr>>> = m.w1.iter().map(|row| load(ctx, row)).collect();
    let b1 = load(ctx, &m.b1);
    let w2: Vec<Vec<AssignedValue<Fr>>> = m.w2.iter().map(|row| load(ctx, row)).collect();
    let b2 = load(ctx, &m.b2);
    let input = load(ctx, &witness.input);

    let mut params: Vec<AssignedValue<Fr>> = w1.iter().flatten().copied().collect();
    params.extend(&b1);
    params.extend(w2.iter().flatten());
    params.extend(&b2);
    let model_hash = hasher.hash(ctx, &gate, &params);

    let hidden: Vec<AssignedValue<Fr>> = dense(ctx, &gate, &w1, &b1, &input)
        .into_iter()
        .map(|h| relu(ctx, &gate, h, RESCALED_BITS as u32))
        .collect();
    let output = dense(ctx, &gate, &w2, &b2, &hidden);

    let instances = &mut builder.assigned_instances[0];
    instances.push(model_hash);
    instances.extend(input);
    instances.extend(output);
}
