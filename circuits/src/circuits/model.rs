//! The circuit of an imported model ([`crate::model`]): one per [`Architecture`], the
//! weights a private witness bound by their public commitment.
//!
//! Public inputs: `[model commitment, input commitment, y_0 .. y_{m-1}]`, a negative
//! output as `p − |v|`. Constraints, in order:
//! 1. every parameter `v` is loaded with `v + 2^15` decomposed into 16 bits, packed 15 to
//!    a field element ([`crate::model::pack`]) and hashed after the architecture's word
//!    (a constant): the model's commitment;
//! 2. every input `x` is loaded with `x + 2^24` decomposed into 25 bits, packed 10 to an
//!    element and hashed: the input's commitment;
//! 3. each dense layer's accumulator is rescaled by `2^s` with a remainder of `s` bits and
//!    a quotient bounded by the layer's accumulator bound; a ReLU proves the sign by a
//!    decomposition below that bound; a hidden layer's outputs are range-checked to
//!    `|v| < 2^24`, so the next layer's accumulator stays within its bound.
//!
//! The outputs are computed and constrained, never copied in. Every range check is a bit
//! decomposition: no lookup table, which would add code and gas to the EVM verifier.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use halo2_base::QuantumCell::{Constant, Existing};
use halo2_base::gates::circuit::CircuitBuilderStage;
use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::{AssignedValue, Context};

use serde::Deserialize;

use super::json_shape;
use crate::error::CircuitError;
use crate::model::{
    ACTIVATION_BITS, Architecture, ModelError, PARAMETER_BITS, QuantizedModel, packed,
};
use crate::poseidon::Hasher;

use super::fixed::{load_bounded, pow2, relu, rescale};

/// Advice columns a model's circuit is laid out in, at most, while a larger k is allowed:
/// each column adds to the EVM verifier's gas, each doubling of rows to the proving time
/// about as much as a column.
const TARGET_ADVICE: usize = 4;
/// The smallest k a model's circuit gets.
const MIN_K: u32 = 10;

/// A model's witness: its parameters and a quantized input, checked.
///
/// JSON: `{"model": {"weights": [[[i]]], "biases": [[i]]}, "input": [i]}`, the parameters
/// per layer as in a package's `weights.json`, the input already quantized (integers at
/// the model's scale).
#[derive(Clone, Debug)]
pub struct Witness {
    model: QuantizedModel,
    input: Vec<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Parameters {
    weights: Vec<Vec<Vec<i64>>>,
    biases: Vec<Vec<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Json {
    model: Parameters,
    input: Vec<i64>,
}

impl Witness {
    /// The public inputs: the commitment, the input, the output.
    pub(crate) fn public_inputs(&self) -> Vec<Fr> {
        self.model
            .public_inputs(&self.input)
            .unwrap_or_else(|e| unreachable!("a parsed witness infers: {e}"))
    }
}

/// A model witness of `arch`: shapes and ranges checked, and the inference run, so every
/// hidden value is known to fit.
pub(crate) fn parse(arch: Architecture, json: &serde_json::Value) -> Result<Witness, CircuitError> {
    let circuit = name(arch);
    let raw: Json = json_shape(circuit, json)?;
    let model = QuantizedModel {
        architecture: arch,
        weights: raw.model.weights,
        biases: raw.model.biases,
    };
    let wrong = |e: ModelError| match e {
        ModelError::Architecture(reason) => CircuitError::WitnessShape { circuit, reason },
        other => CircuitError::WitnessRange {
            circuit,
            field: "model".into(),
            reason: other.to_string(),
        },
    };
    model.check().map_err(wrong)?;
    model
        .infer(&raw.input)
        .map_err(|e| CircuitError::WitnessRange {
            circuit,
            field: "input".into(),
            reason: e.to_string(),
        })?;
    Ok(Witness {
        model,
        input: raw.input,
    })
}

/// A valid witness of `arch`: small parameters in a fixed pattern, every input 0.
pub(crate) fn example(arch: Architecture) -> serde_json::Value {
    // Weights in −2..=2 and biases in −1..=1, in a pattern that differs per layer, row
    // and column: small enough that the hidden values of the workloads' models stay in
    // range when `Circuit::numbered_witness` sets an input below 2^12 (a witness out of
    // range is refused by `parse`, never proved).
    let small = |x: usize, modulus: usize| i64::try_from(x % modulus).unwrap_or(0) - 2;
    let model = QuantizedModel {
        architecture: arch,
        weights: arch
            .layer_inputs()
            .zip(arch.layers())
            .enumerate()
            .map(|(l, (inputs, layer))| {
                (0..layer.outputs)
                    .map(|j| (0..inputs).map(|i| small(i * 7 + j * 3 + l, 5)).collect())
                    .collect()
            })
            .collect(),
        biases: arch
            .layers()
            .enumerate()
            .map(|(l, layer)| (0..layer.outputs).map(|j| small(j + l, 3) + 1).collect())
            .collect(),
    };
    model.witness(&vec![0; arch.inputs()])
}

/// What is known of an architecture's circuit once asked: its name and its k.
#[derive(Clone, Copy)]
struct Known {
    name: &'static str,
    k: Option<u32>,
}

/// Architectures named in this process. A name lives as long as the process (it names
/// the circuit in errors, logs and cache paths, as a built-in's `&'static str` does):
/// about 30 bytes for each architecture the process is given, which only its operator's
/// packages and the circuits it chose to serve can add.
fn known() -> &'static Mutex<HashMap<Architecture, Known>> {
    static KNOWN: OnceLock<Mutex<HashMap<Architecture, Known>>> = OnceLock::new();
    KNOWN.get_or_init(Mutex::default)
}

/// The circuit's name ([`Architecture`]'s `Display`).
pub(crate) fn name(arch: Architecture) -> &'static str {
    let mut known = known()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    known
        .entry(arch)
        .or_insert_with(|| Known {
            name: Box::leak(arch.to_string().into_boxed_str()),
            k: None,
        })
        .name
}

/// The circuit's k: the smallest (from [`MIN_K`]) at which its cells fit
/// [`TARGET_ADVICE`] advice columns, or [`crate::srs::MAX_K`] with more columns. Counted
/// by laying the circuit out once (tens of ms for a model of thousands of parameters).
pub(crate) fn k(arch: Architecture) -> u32 {
    let cached = name(arch);
    if let Some(k) = known()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get(&arch)
        .and_then(|known| known.k)
    {
        return k;
    }
    let witness = parse(arch, &example(arch))
        .unwrap_or_else(|e| unreachable!("the example of {cached} is valid: {e}"));
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
        .use_k(crate::srs::MAX_K as usize)
        .use_instance_columns(1);
    synthesize(&mut builder, &witness);
    let cells: usize = builder
        .statistics()
        .gate
        .total_advice_per_phase
        .iter()
        .sum();
    let k = (MIN_K..crate::srs::MAX_K)
        .find(|k| cells.div_ceil((1 << k) - crate::keys::MINIMUM_ROWS) <= TARGET_ADVICE)
        .unwrap_or(crate::srs::MAX_K);
    if let Some(known) = known()
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .get_mut(&arch)
    {
        known.k = Some(k);
    }
    k
}

/// Constrains a hidden value to `|v| < 2^ACTIVATION_BITS` (`0 <= v` after a ReLU, which
/// needs a bit less).
fn bound_hidden(ctx: &mut Context<Fr>, gate: &GateChip<Fr>, v: AssignedValue<Fr>, relu: bool) {
    if relu {
        gate.num_to_bits(ctx, v, ACTIVATION_BITS as usize);
    } else {
        let shifted = gate.add(ctx, v, Constant(pow2(ACTIVATION_BITS)));
        gate.num_to_bits(ctx, shifted, ACTIVATION_BITS as usize + 1);
    }
}

/// Values in `[0, 2^(bits+1))` packed [`packed`]`(bits)` to an element, the first in the
/// lowest bits ([`crate::model::pack`]).
fn pack(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    offsets: &[AssignedValue<Fr>],
    bits: u32,
) -> Vec<AssignedValue<Fr>> {
    offsets
        .chunks(packed(bits))
        .map(|chunk| {
            let (last, rest) = chunk
                .split_last()
                .unwrap_or_else(|| unreachable!("chunks are not empty"));
            rest.iter().rev().fold(*last, |acc, v| {
                gate.mul_add(ctx, acc, Constant(pow2(bits + 1)), *v)
            })
        })
        .collect()
}

/// Lays the model out on the witness's input.
pub(crate) fn synthesize(builder: &mut BaseCircuitBuilder<Fr>, witness: &Witness) {
    let (model, input) = (&witness.model, witness.input.as_slice());
    let gate = GateChip::default();
    let ctx = builder.main(0);
    let hasher = Hasher::new(ctx, &gate);
    let arch: &Architecture = &model.architecture;
    let s = arch.scale_bits();

    // 1. The parameters, bounded, packed and committed to.
    let mut weights: Vec<Vec<Vec<AssignedValue<Fr>>>> = Vec::with_capacity(arch.depth());
    let mut biases: Vec<Vec<AssignedValue<Fr>>> = Vec::with_capacity(arch.depth());
    let mut shifted: Vec<AssignedValue<Fr>> = Vec::with_capacity(arch.parameters());
    for (layer_weights, layer_biases) in model.weights.iter().zip(&model.biases) {
        let mut rows = Vec::with_capacity(layer_weights.len());
        for row in layer_weights {
            rows.push(
                row.iter()
                    .map(|w| {
                        let (value, offset) = load_bounded(ctx, &gate, *w, PARAMETER_BITS);
                        shifted.push(offset);
                        value
                    })
                    .collect::<Vec<_>>(),
            );
        }
        weights.push(rows);
        biases.push(
            layer_biases
                .iter()
                .map(|b| {
                    let (value, offset) = load_bounded(ctx, &gate, *b, PARAMETER_BITS);
                    shifted.push(offset);
                    value
                })
                .collect(),
        );
    }
    // The architecture's word first: a constant of this circuit.
    let mut words = vec![ctx.load_constant(arch.word())];
    words.extend(pack(ctx, &gate, &shifted, PARAMETER_BITS));
    let commitment = hasher.hash(ctx, &gate, &words);

    // 2. The input, bounded, packed and committed to.
    let (inputs, offsets): (Vec<AssignedValue<Fr>>, Vec<AssignedValue<Fr>>) = input
        .iter()
        .map(|x| load_bounded(ctx, &gate, *x, ACTIVATION_BITS))
        .unzip();
    let words = pack(ctx, &gate, &offsets, ACTIVATION_BITS);
    let input_commitment = hasher.hash(ctx, &gate, &words);

    // 3. The layers.
    let last = arch.depth() - 1;
    let mut values = inputs;
    for (l, (layer, (layer_weights, layer_biases))) in
        arch.layers().zip(weights.iter().zip(&biases)).enumerate()
    {
        let acc_bits = Architecture::accumulator_bits(values.len());
        let mut next = Vec::with_capacity(layer.outputs);
        for (row, bias) in layer_weights.iter().zip(layer_biases) {
            let dot = gate.inner_product(
                ctx,
                row.iter().copied(),
                values.iter().map(|x| Existing(*x)),
            );
            let acc = gate.mul_add(ctx, *bias, Constant(pow2(s)), dot);
            let mut y = rescale(ctx, &gate, acc, acc_bits, s);
            if layer.relu {
                y = relu(ctx, &gate, y, acc_bits - s);
            }
            if l < last {
                bound_hidden(ctx, &gate, y, layer.relu);
            }
            next.push(y);
        }
        values = next;
    }

    let instances = &mut builder.assigned_instances[0];
    instances.push(commitment);
    instances.push(input_commitment);
    instances.extend(values);
}
