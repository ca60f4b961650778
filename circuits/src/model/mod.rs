//! Bring your own model: a sequential MLP read from ONNX ([`onnx`]), quantized to fixed
//! point ([`quantize`]), kept as a model package ([`package`]) and proven by a circuit
//! whose shape is the model's [`Architecture`] alone (`circuits::model`).
//!
//! Fixed point: an integer `v` stands for `v / 2^s`, `s` the architecture's
//! `scale_bits`. A dense layer computes, for each output `j`,
//! `acc_j = Σ_i w_ji·x_i + 2^s·b_j` and `y_j = floor(acc_j / 2^s)`, then `max(y_j, 0)` if
//! the layer has a ReLU. Every weight and bias must satisfy `|v| < 2^PARAMETER_BITS`, every
//! input and every output of a hidden layer `|v| < 2^ACTIVATION_BITS`: a value beyond it is
//! an error, never wrapped or clamped, so the circuit computes exactly what
//! [`QuantizedModel::infer`] computes. Activations get more bits than parameters because
//! they cost per neuron, parameters per weight: the scale is then bounded by the largest
//! weight or bias alone: 15 bits for a model whose parameters are all below 1.0.
//!
//! A proof's public inputs are the model's **commitment**, the Poseidon hash of its
//! parameters packed 15 to a field element ([`QuantizedModel::commitment`]): the weights
//! stay private, and a consumer of a proof knows which model ran; the input's commitment,
//! its values packed 10 to an element ([`input_commitment`]); and the outputs. The input is committed
//! rather than public because the EVM verifier's code grows by about 160 bytes per public
//! input, and EIP-170 caps it at 24,576 bytes: 64 public inputs already take most of it.

pub mod onnx;
pub mod package;
pub mod quantize;

pub use package::Package;
pub use quantize::{Accuracy, Calibration};

use std::fmt;
use std::str::FromStr;

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::{Deserialize, Serialize};

use crate::poseidon;

/// Bits of magnitude a weight or a bias may have (`|v| < 2^15`).
pub const PARAMETER_BITS: u32 = 15;
/// Bits of magnitude an input or a hidden layer's output may have (`|v| < 2^24`).
pub const ACTIVATION_BITS: u32 = 24;
/// Most dense layers a model may have.
pub const MAX_LAYERS: usize = 8;
/// Most inputs or outputs a layer may have.
pub const MAX_WIDTH: usize = 4_096;
/// Finest scale: at 15 bits a parameter must be below 1.0 (the architecture's word keeps
/// the scale in 4 bits).
pub const MAX_SCALE_BITS: u32 = 15;
/// Most weights and biases a model may have: its witness must fit a job's input (1 MiB)
/// with room, and laying its circuit out stays within memory. (The EVM's code limit binds
/// sooner today: see docs/circuits.md.)
pub const MAX_PARAMETERS: usize = 16_384;

/// What is wrong with a model, its package, or an input to it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The bytes are not an ONNX model this reader can decode.
    #[error("not an ONNX model: {0}")]
    Malformed(String),
    /// The graph uses an operator (or an attribute of one) that is not supported.
    #[error(
        "node `{node}` ({op}) is not supported: {reason}; supported are sequential MLPs of \
         Gemm, MatMul + Add, Relu, and Flatten, Reshape, Identity or Cast that change nothing"
    )]
    Unsupported {
        /// The node's name (its output's, if it has none).
        node: String,
        /// Its operator.
        op: String,
        /// What is not taken.
        reason: String,
    },
    /// The architecture is outside what the circuit takes.
    #[error("architecture: {0}")]
    Architecture(String),
    /// The model cannot be quantized at any (or the given) scale.
    #[error("quantization: {0}")]
    Quantization(String),
    /// An input (or a value computed from it) does not fit the model.
    #[error("input: {0}")]
    Input(String),
    /// A model package is unreadable or inconsistent.
    #[error("model package {path}: {reason}")]
    Package {
        /// The package's directory or file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// One dense layer: its output width and whether a ReLU follows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layer {
    /// Output width.
    pub outputs: usize,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// What a model's circuit depends on: its widths, its ReLUs and its scale. Two models of
/// one architecture share one circuit (and one verifier); their weights differ. Only a
/// checked architecture can be made ([`Architecture::new`]); it is small and `Copy`, so
/// it names a circuit as the built-in ones are named.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "ArchitectureJson", into = "ArchitectureJson")]
pub struct Architecture {
    inputs: u16,
    /// Output widths of the first `depth` layers.
    widths: [u16; MAX_LAYERS],
    depth: u8,
    /// Bit `l` set: a ReLU follows layer `l`.
    relus: u8,
    scale_bits: u8,
}

/// An [`Architecture`] as JSON: `{"inputs", "layers": [{"outputs", "relu"}], "scale_bits"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchitectureJson {
    /// Input width.
    pub inputs: usize,
    /// The dense layers, first to last.
    pub layers: Vec<Layer>,
    /// Fractional bits of every value.
    pub scale_bits: u32,
}

impl TryFrom<ArchitectureJson> for Architecture {
    type Error = ModelError;

    fn try_from(json: ArchitectureJson) -> Result<Self, ModelError> {
        Self::new(json.inputs, &json.layers, json.scale_bits)
    }
}

impl From<Architecture> for ArchitectureJson {
    fn from(arch: Architecture) -> Self {
        Self {
            inputs: arch.inputs(),
            layers: arch.layers().collect(),
            scale_bits: arch.scale_bits(),
        }
    }
}

impl Architecture {
    /// The architecture of `inputs` inputs, `layers` and `scale_bits` fractional bits.
    ///
    /// # Errors
    /// No layer, more than [`MAX_LAYERS`], a width of 0 or above [`MAX_WIDTH`], or a scale
    /// of 0 or above [`MAX_SCALE_BITS`].
    pub fn new(inputs: usize, layers: &[Layer], scale_bits: u32) -> Result<Self, ModelError> {
        let fail = |reason: String| Err(ModelError::Architecture(reason));
        if layers.is_empty() || layers.len() > MAX_LAYERS {
            return fail(format!(
                "{} dense layers; between 1 and {MAX_LAYERS} are supported",
                layers.len()
            ));
        }
        for (i, width) in std::iter::once(inputs)
            .chain(layers.iter().map(|l| l.outputs))
            .enumerate()
        {
            if width == 0 || width > MAX_WIDTH {
                let what = if i == 0 {
                    "the input".to_owned()
                } else {
                    format!("layer {}'s output", i - 1)
                };
                return fail(format!(
                    "{what} has width {width}; between 1 and {MAX_WIDTH} are supported"
                ));
            }
        }
        if scale_bits == 0 || scale_bits > MAX_SCALE_BITS {
            return fail(format!(
                "scale of {scale_bits} fractional bits; between 1 and {MAX_SCALE_BITS} are \
                 supported"
            ));
        }
        let parameters: usize = std::iter::once(inputs)
            .chain(layers.iter().map(|l| l.outputs))
            .zip(layers)
            .map(|(n, layer)| (n + 1) * layer.outputs)
            .sum();
        if parameters > MAX_PARAMETERS {
            return fail(format!(
                "{parameters} weights and biases; at most {MAX_PARAMETERS} are supported"
            ));
        }
        let mut widths = [0u16; MAX_LAYERS];
        let mut relus = 0u8;
        for (l, layer) in layers.iter().enumerate() {
            // Below MAX_WIDTH, MAX_LAYERS and MAX_SCALE_BITS: every cast fits.
            widths[l] = layer.outputs as u16;
            if layer.relu {
                relus |= 1 << l;
            }
        }
        Ok(Self {
            inputs: inputs as u16,
            widths,
            depth: layers.len() as u8,
            relus,
            scale_bits: scale_bits as u8,
        })
    }

    /// Input width.
    pub fn inputs(&self) -> usize {
        usize::from(self.inputs)
    }

    /// Fractional bits of every value.
    pub fn scale_bits(&self) -> u32 {
        u32::from(self.scale_bits)
    }

    /// How many dense layers.
    pub fn depth(&self) -> usize {
        usize::from(self.depth)
    }

    /// The dense layers, first to last.
    pub fn layers(&self) -> impl Iterator<Item = Layer> + '_ {
        (0..self.depth()).map(|l| Layer {
            outputs: usize::from(self.widths[l]),
            relu: self.relus & (1 << l) != 0,
        })
    }

    /// The output width.
    pub fn outputs(&self) -> usize {
        usize::from(self.widths[self.depth() - 1])
    }

    /// Each layer's input width.
    pub fn layer_inputs(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(self.inputs()).chain(self.layers().map(|l| l.outputs))
    }

    /// How many weights and biases the model has.
    pub fn parameters(&self) -> usize {
        self.layer_inputs()
            .zip(self.layers())
            .map(|(n, layer)| (n + 1) * layer.outputs)
            .sum()
    }

    /// The public inputs of a proof: the model's commitment, the input's, the outputs.
    pub fn num_public_inputs(&self) -> usize {
        2 + self.outputs()
    }

    /// The architecture as one field element, hashed first into the model's commitment:
    /// from the lowest bits, the scale (4 bits), the ReLUs (8), the depth (4), the input
    /// width and each layer's width (13 bits each): 133 bits in all, so distinct
    /// architectures have distinct words.
    pub fn word(&self) -> Fr {
        // In the field, not in a u128: eight layers take 133 bits.
        let mut word = Fr::zero();
        let mut push = |bits: u32, value: u64| {
            word = word * Fr::from(1u64 << bits) + Fr::from(value);
        };
        for width in self.widths[..self.depth()].iter().rev() {
            push(13, u64::from(*width));
        }
        push(13, u64::from(self.inputs));
        push(4, u64::from(self.depth));
        push(8, u64::from(self.relus));
        push(4, u64::from(self.scale_bits));
        word
    }

    /// Bits of magnitude a layer's accumulator stays below, with `inputs` inputs: each of
    /// `inputs` products is at most `2^(15+24)`, and so is the scaled bias (`2^(15+s)`,
    /// `s` ≤ 15). At most 52 bits ([`MAX_WIDTH`] inputs): the circuit's rescale reads the
    /// offset accumulator as a `u64`.
    pub(crate) fn accumulator_bits(inputs: usize) -> u32 {
        let n = u64::try_from(inputs).unwrap_or(u64::MAX).saturating_add(1);
        PARAMETER_BITS + ACTIVATION_BITS + (u64::BITS - n.leading_zeros())
    }
}

/// The name of an architecture's circuit: `model-` then the widths, `r` after a layer
/// with a ReLU, and the scale: `model-64-32r-10-s8`. It parses back ([`FromStr`]).
impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "model-{}", self.inputs)?;
        for layer in self.layers() {
            write!(f, "-{}{}", layer.outputs, if layer.relu { "r" } else { "" })?;
        }
        write!(f, "-s{}", self.scale_bits)
    }
}

impl FromStr for Architecture {
    type Err = ModelError;

    fn from_str(name: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::Architecture(format!("`{name}` is not a model circuit's name"));
        let rest = name.strip_prefix("model-").ok_or_else(bad)?;
        let parts: Vec<&str> = rest.split('-').collect();
        let [first, middle @ .., last] = parts.as_slice() else {
            return Err(bad());
        };
        let number = |text: &str| -> Result<usize, ModelError> {
            // Digits only: no sign, no leading zero, so a name has one spelling.
            if text.is_empty()
                || !text.bytes().all(|b| b.is_ascii_digit())
                || (text.len() > 1 && text.starts_with('0'))
            {
                return Err(bad());
            }
            text.parse().map_err(|_| bad())
        };
        let inputs = number(first)?;
        let layers = middle
            .iter()
            .map(|part| {
                let (digits, relu) = match part.strip_suffix('r') {
                    Some(digits) => (digits, true),
                    None => (*part, false),
                };
                Ok(Layer {
                    outputs: number(digits)?,
                    relu,
                })
            })
            .collect::<Result<Vec<_>, ModelError>>()?;
        let scale_bits =
            u32::try_from(number(last.strip_prefix('s').ok_or_else(bad)?)?).map_err(|_| bad())?;
        Self::new(inputs, &layers, scale_bits)
    }
}

/// A quantized model: its architecture and its integer parameters. `weights[l][j][i]` is
/// layer `l`'s weight from input `i` to output `j`; `biases[l][j]` its bias.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuantizedModel {
    /// What the circuit depends on.
    pub architecture: Architecture,
    /// Per layer, per output, per input.
    pub weights: Vec<Vec<Vec<i64>>>,
    /// Per layer, per output.
    pub biases: Vec<Vec<i64>>,
}

/// Whether `v` is within `[−2^bits, 2^bits)`: what the circuit's range check (`v + 2^bits`
/// in `bits + 1` bits) takes.
pub(crate) fn in_range(v: i64, bits: u32) -> bool {
    (-(1 << bits)..1 << bits).contains(&v)
}

impl QuantizedModel {
    /// Checks the architecture, that every shape matches it and every parameter is in
    /// range.
    ///
    /// # Errors
    /// Naming the first parameter or shape that is wrong.
    pub fn check(&self) -> Result<(), ModelError> {
        let arch = &self.architecture;
        let shape = |reason: String| Err(ModelError::Architecture(reason));
        if self.weights.len() != arch.depth() || self.biases.len() != arch.depth() {
            return shape(format!(
                "{} layers of weights and {} of biases for {} layers",
                self.weights.len(),
                self.biases.len(),
                arch.depth()
            ));
        }
        for (l, ((inputs, layer), (weights, biases))) in arch
            .layer_inputs()
            .zip(arch.layers())
            .zip(self.weights.iter().zip(&self.biases))
            .enumerate()
        {
            if weights.len() != layer.outputs
                || biases.len() != layer.outputs
                || weights.iter().any(|row| row.len() != inputs)
            {
                return shape(format!(
                    "layer {l} must have {} rows of {inputs} weights and {} biases",
                    layer.outputs, layer.outputs
                ));
            }
        }
        if let Some((name, v)) = self.named().find(|(_, v)| !in_range(*v, PARAMETER_BITS)) {
            return Err(ModelError::Quantization(format!(
                "{name} = {v} is not within [−2^{PARAMETER_BITS}, 2^{PARAMETER_BITS})"
            )));
        }
        Ok(())
    }

    /// Every parameter with where it is, in commitment order: layer by layer, the
    /// weights row by row (output by output), then the biases.
    fn named(&self) -> impl Iterator<Item = (String, i64)> + '_ {
        self.weights
            .iter()
            .zip(&self.biases)
            .enumerate()
            .flat_map(|(l, (weights, biases))| {
                let weights = weights.iter().enumerate().flat_map(move |(j, row)| {
                    row.iter()
                        .enumerate()
                        .map(move |(i, v)| (format!("layer {l} weight [{j}][{i}]"), *v))
                });
                let biases = biases
                    .iter()
                    .enumerate()
                    .map(move |(j, v)| (format!("layer {l} bias [{j}]"), *v));
                weights.chain(biases)
            })
    }

    /// Every parameter in commitment order.
    pub fn parameters(&self) -> impl Iterator<Item = i64> + '_ {
        self.weights
            .iter()
            .zip(&self.biases)
            .flat_map(|(weights, biases)| weights.iter().flatten().chain(biases).copied())
    }

    /// The commitment to the model: Poseidon of its architecture's word
    /// ([`Architecture::word`]) and its [`pack`]ed parameters, so one commitment names one
    /// model, shape and scale included.
    pub fn commitment(&self) -> Fr {
        let mut words = vec![self.architecture.word()];
        words.extend(pack(&self.parameters().collect::<Vec<_>>(), PARAMETER_BITS));
        poseidon::hash(&words)
    }

    /// The model's output on `input` (quantized), exactly as the circuit computes it.
    ///
    /// # Errors
    /// An input of the wrong width, an input out of range, or a hidden value out of range
    /// (the scale is too fine for this input).
    pub fn infer(&self, input: &[i64]) -> Result<Vec<i64>, ModelError> {
        let arch = &self.architecture;
        if input.len() != arch.inputs() {
            return Err(ModelError::Input(format!(
                "{} values for a model of {} inputs",
                input.len(),
                arch.inputs()
            )));
        }
        if let Some((i, v)) = input
            .iter()
            .enumerate()
            .find(|(_, v)| !in_range(**v, ACTIVATION_BITS))
        {
            return Err(ModelError::Input(format!(
                "input [{i}] = {v} (quantized) is not within [−2^{ACTIVATION_BITS}, 2^{ACTIVATION_BITS}): the value is \
                 too large for the model's scale of {} bits",
                arch.scale_bits()
            )));
        }
        let scale = 1i128 << arch.scale_bits();
        let mut values: Vec<i64> = input.to_vec();
        let last = arch.depth() - 1;
        for (l, ((layer, weights), biases)) in arch
            .layers()
            .zip(&self.weights)
            .zip(&self.biases)
            .enumerate()
        {
            let mut next = Vec::with_capacity(layer.outputs);
            for (row, bias) in weights.iter().zip(biases) {
                let acc = row
                    .iter()
                    .zip(&values)
                    .map(|(w, x)| i128::from(*w) * i128::from(*x))
                    .sum::<i128>()
                    + scale * i128::from(*bias);
                // Below 2^(accumulator bits − s) ≤ 2^52 by the bounds: fits an i64.
                let mut y = acc.div_euclid(scale) as i64;
                if layer.relu {
                    y = y.max(0);
                }
                next.push(y);
            }
            if l < last
                && let Some((j, v)) = next
                    .iter()
                    .enumerate()
                    .find(|(_, v)| !in_range(**v, ACTIVATION_BITS))
            {
                return Err(ModelError::Input(format!(
                    "layer {l}'s output [{j}] = {v} is not within [−2^{ACTIVATION_BITS}, 2^{ACTIVATION_BITS}): the \
                     model's scale of {} bits is too fine for this input (import it with a \
                     smaller --scale)",
                    arch.scale_bits()
                )));
            }
            values = next;
        }
        Ok(values)
    }

    /// The witness of this model's circuit on `input` (quantized):
    /// `{"model": {"weights", "biases"}, "input"}`.
    pub fn witness(&self, input: &[i64]) -> serde_json::Value {
        serde_json::json!({
            "model": { "weights": self.weights, "biases": self.biases },
            "input": input,
        })
    }

    /// The public inputs of a proof of this model on `input`: the model's commitment,
    /// the input's ([`input_commitment`]) and the output.
    ///
    /// # Errors
    /// As [`Self::infer`].
    pub fn public_inputs(&self, input: &[i64]) -> Result<Vec<Fr>, ModelError> {
        let output = self.infer(input)?;
        let mut public = vec![self.commitment(), input_commitment(input)];
        public.extend(output.iter().map(|v| crate::field::from_i64(*v)));
        Ok(public)
    }
}

/// A model imported from ONNX: its package and the float model it was quantized from.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The package to write.
    pub package: Package,
    /// The float model, as the file defines it.
    pub float: onnx::FloatModel,
}

/// Imports the ONNX model in `onnx`: read, quantized at `scale` bits or at the scale
/// chosen from `calibration`'s inputs, and measured against the float model on them.
///
/// # Errors
/// A file that is not a supported model, neither a scale nor a calibration, a calibration
/// or scale the model does not fit.
pub fn import(
    onnx: &[u8],
    calibration: Option<&Calibration>,
    scale: Option<u32>,
) -> Result<Imported, ModelError> {
    let float = onnx::read(onnx)?;
    // The shape's limits first, whatever the scale: a clearer refusal than no scale fits.
    quantize::architecture(&float, 1)?;
    let scale = match (scale, calibration) {
        (Some(scale), _) => scale,
        (None, Some(calibration)) => quantize::choose_scale(&float, &calibration.inputs)?,
        (None, None) => {
            return Err(ModelError::Quantization(
                "give calibration inputs (--calibrate) or a scale (--scale)".into(),
            ));
        }
    };
    let model = quantize::quantize(&float, scale)?;
    let accuracy = calibration
        .map(|c| {
            quantize::check_widths(&float, &c.inputs)?;
            let reference: Vec<Vec<f64>> = c.inputs.iter().map(|x| float.forward(x)).collect();
            quantize::accuracy(&model, &c.inputs, &reference)
        })
        .transpose()?;
    let source = provernet_protocol::keccak256(onnx);
    Ok(Imported {
        package: Package::new(model, source, accuracy),
        float,
    })
}

/// What a proof of a model's circuit states, read from its public inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The model's commitment, hex.
    pub model: String,
    /// The input's commitment, hex.
    pub input: String,
    /// The outputs, quantized (at the architecture's scale).
    pub outputs: Vec<i64>,
}

impl Statement {
    /// The statement of `public_inputs`, a proof's of `arch`'s circuit.
    ///
    /// # Errors
    /// Another count of public inputs, or an output that is no small signed integer.
    pub fn read(
        arch: Architecture,
        public_inputs: &[provernet_protocol::FieldBytes],
    ) -> Result<Self, ModelError> {
        if public_inputs.len() != arch.num_public_inputs() {
            return Err(ModelError::Input(format!(
                "{} public inputs for {arch}, which has {}",
                public_inputs.len(),
                arch.num_public_inputs()
            )));
        }
        let element = |bytes| {
            crate::field::from_bytes(bytes)
                .ok_or_else(|| ModelError::Input("a public input is no field element".into()))
        };
        let outputs = public_inputs[2..]
            .iter()
            .map(|bytes| {
                crate::field::to_i64(&element(bytes)?)
                    .ok_or_else(|| ModelError::Input("an output is no signed integer".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            model: crate::field::to_hex(&element(&public_inputs[0])?),
            input: crate::field::to_hex(&element(&public_inputs[1])?),
            outputs,
        })
    }

    /// The outputs as real numbers, scaled back.
    pub fn real_outputs(&self, arch: Architecture) -> Vec<f64> {
        let unit = f64::from(1u32 << arch.scale_bits());
        self.outputs.iter().map(|v| *v as f64 / unit).collect()
    }
}

/// The commitment to a (quantized, in range) input: Poseidon of the input [`pack`]ed at
/// [`ACTIVATION_BITS`]. It binds the input, but does not hide one that can be guessed.
pub fn input_commitment(input: &[i64]) -> Fr {
    poseidon::hash(&pack(input, ACTIVATION_BITS))
}

/// Values of `|v| < 2^bits` that one field element holds packed: as many `bits + 1`-bit
/// fields as fit 250 bits, below the field's 254 (15 parameters, 10 activations).
pub const fn packed(bits: u32) -> usize {
    (250 / (bits + 1)) as usize
}

/// Values in `[−2^bits, 2^bits)` packed [`packed`]`(bits)` to a field element, in order:
/// each is offset by `2^bits` into `bits + 1` bits, the first in the lowest bits. A last,
/// partial element holds what is left. The circuit packs the same way, from values it
/// range-checks, so each element has one preimage.
pub fn pack(values: &[i64], bits: u32) -> Vec<Fr> {
    let offset = 1i64 << bits;
    values
        .chunks(packed(bits))
        .map(|chunk| {
            chunk.iter().rev().fold(Fr::zero(), |acc, v| {
                // In range, so the offset value is in [0, 2^(bits + 1)).
                acc * Fr::from(1u64 << (bits + 1)) + Fr::from((v + offset) as u64)
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
