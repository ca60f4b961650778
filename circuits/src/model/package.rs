//! A model package: what `provernet model import` writes and everything else reads.
//!
//! A directory with two files:
//! - `model.json`: the format version, the circuit's name, the [`Architecture`], the
//!   commitment to the weights (hex, big-endian), the keccak-256 of the ONNX file it was
//!   imported from, and the accuracy measured on the calibration inputs;
//! - `weights.json`: the quantized weights and biases (`{"weights", "biases"}`), the
//!   private part: it goes to the prover that wins a job, to nobody else.
//!
//! Reading checks both against each other: the shapes against the architecture, the
//! weights against the recorded commitment. Each file is written whole or not at all.

use std::path::Path;

use provernet_protocol::primitives::to_hex;
use serde::{Deserialize, Serialize};

use super::quantize::Accuracy;
use super::{Architecture, ModelError, QuantizedModel};
use crate::field;

/// The package format this build writes and reads.
pub const FORMAT: u32 = 1;
/// The public description's file.
pub const MODEL_FILE: &str = "model.json";
/// The weights' file.
pub const WEIGHTS_FILE: &str = "weights.json";
/// Largest file of a package read.
const MAX_FILE_BYTES: u64 = 64 << 20;

/// `model.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// [`FORMAT`].
    pub format: u32,
    /// The circuit's name: the architecture's ([`Architecture`]'s `Display`).
    pub circuit: String,
    /// The model's shape and scale.
    pub architecture: Architecture,
    /// The commitment to the weights, `0x` and 64 hex digits.
    pub commitment: String,
    /// keccak-256 of the ONNX file, `0x` and 64 hex digits.
    pub source_keccak256: String,
    /// The quantized model against the float one on the calibration inputs, if given.
    pub accuracy: Option<Accuracy>,
}

/// `weights.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Weights {
    weights: Vec<Vec<Vec<i64>>>,
    biases: Vec<Vec<i64>>,
}

/// A model package, read and checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Package {
    /// `model.json`.
    pub description: Description,
    /// The model, with `weights.json`'s parameters.
    pub model: QuantizedModel,
}

impl Package {
    /// A package of `model`, imported from the ONNX file whose bytes hash to `source`.
    pub fn new(model: QuantizedModel, source: [u8; 32], accuracy: Option<Accuracy>) -> Self {
        let description = Description {
            format: FORMAT,
            circuit: model.architecture.to_string(),
            architecture: model.architecture,
            commitment: field::to_hex(&model.commitment()),
            source_keccak256: format!("0x{}", to_hex(&source)),
            accuracy,
        };
        Self { description, model }
    }

    /// Writes the package into `dir` (made if missing): the weights first, so a
    /// `model.json` is never beside weights of another model for long.
    ///
    /// # Errors
    /// The directory or a file cannot be written.
    pub fn write(&self, dir: &Path) -> Result<(), ModelError> {
        let fail = |e: crate::CircuitError| ModelError::Package {
            path: dir.display().to_string(),
            reason: e.to_string(),
        };
        let weights = Weights {
            weights: self.model.weights.clone(),
            biases: self.model.biases.clone(),
        };
        let mut weights = serde_json::to_vec(&weights).unwrap_or_default();
        weights.push(b'\n');
        crate::keys::write_atomic(&dir.join(WEIGHTS_FILE), &weights).map_err(fail)?;
        let mut description = serde_json::to_vec_pretty(&self.description).unwrap_or_default();
        description.push(b'\n');
        crate::keys::write_atomic(&dir.join(MODEL_FILE), &description).map_err(fail)
    }

    /// Reads and checks the package in `dir`.
    ///
    /// # Errors
    /// A file missing, unreadable, too large or of another format; weights whose shapes
    /// or commitment are not the description's.
    pub fn read(dir: &Path) -> Result<Self, ModelError> {
        let description: Description = read_json(&dir.join(MODEL_FILE))?;
        let fail = |reason: String| ModelError::Package {
            path: dir.display().to_string(),
            reason,
        };
        if description.format != FORMAT {
            return Err(fail(format!(
                "format {}; this build reads format {FORMAT}",
                description.format
            )));
        }
        if description.circuit != description.architecture.to_string() {
            return Err(fail(format!(
                "circuit `{}` is not the architecture's `{}`",
                description.circuit, description.architecture
            )));
        }
        let weights: Weights = read_json(&dir.join(WEIGHTS_FILE))?;
        let model = QuantizedModel {
            architecture: description.architecture,
            weights: weights.weights,
            biases: weights.biases,
        };
        model
            .check()
            .map_err(|e| fail(format!("{WEIGHTS_FILE}: {e}")))?;
        let commitment = field::to_hex(&model.commitment());
        if commitment != description.commitment {
            return Err(fail(format!(
                "the weights' commitment is {commitment}, not the {} recorded in {MODEL_FILE}",
                description.commitment
            )));
        }
        Ok(Self { description, model })
    }

    /// The witness of this model's circuit for the input `x` (real numbers, quantized at
    /// the model's scale), and the output the model computes (quantized).
    ///
    /// # Errors
    /// An input of another width, a value that is not finite or does not fit the model's
    /// range, or a hidden value out of range.
    pub fn inference(&self, x: &[f64]) -> Result<(serde_json::Value, Vec<i64>), ModelError> {
        let arch = self.model.architecture;
        if x.len() != arch.inputs() {
            return Err(ModelError::Input(format!(
                "the input has {} values; the model takes {}",
                x.len(),
                arch.inputs()
            )));
        }
        let quantized = super::quantize::quantize_input(x, arch.scale_bits())?;
        let output = self.model.infer(&quantized)?;
        Ok((self.model.witness(&quantized), output))
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ModelError> {
    let fail = |reason: String| ModelError::Package {
        path: path.display().to_string(),
        reason,
    };
    let len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    if len > MAX_FILE_BYTES {
        return Err(fail(format!(
            "{len} bytes; at most {MAX_FILE_BYTES} are read"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
}
