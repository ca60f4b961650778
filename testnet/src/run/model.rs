//! A model workload (`--model DIR`): jobs that prove inferences of an imported model,
//! on the inputs of `--model-inputs` in turn.

use std::path::Path;

use anyhow::{Context as _, bail};
use provernet_circuits::Circuit;
use provernet_circuits::model::{Calibration, Package, QuantizedModel, quantize};

/// The model and the inputs its jobs take, quantized.
pub(crate) struct ModelWorkload {
    pub(crate) circuit: Circuit,
    model: QuantizedModel,
    inputs: Vec<Vec<i64>>,
}

impl ModelWorkload {
    /// The package in `package`, and the inputs of `inputs` (`{"inputs": [[...]]}`, as
    /// a calibration file); without them, inputs of zeros but a first value that differs
    /// per job.
    ///
    /// # Errors
    /// A package that does not read, an inputs file that does not parse or whose inputs
    /// do not fit the model.
    pub(crate) fn load(package: &Path, inputs: Option<&Path>) -> anyhow::Result<Self> {
        let package = Package::read(package)?;
        let model = package.model;
        let arch = model.architecture;
        let inputs = match inputs {
            Some(path) => {
                let text = std::fs::read(path)
                    .with_context(|| format!("reading --model-inputs {}", path.display()))?;
                let file: Calibration = serde_json::from_slice(&text)
                    .with_context(|| format!("--model-inputs {}", path.display()))?;
                if file.inputs.is_empty() {
                    bail!("--model-inputs {} has no input", path.display());
                }
                file.inputs
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        let q = quantize::quantize_input(x, arch.scale_bits())
                            .with_context(|| format!("--model-inputs: input {i}"))?;
                        model
                            .infer(&q)
                            .with_context(|| format!("--model-inputs: input {i}"))?;
                        Ok(q)
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?
            }
            None => {
                // The zero inputs' variants must fit too (a bias alone can overflow).
                let mut zeros = vec![0i64; arch.inputs()];
                for first in 0..256 {
                    zeros[0] = first;
                    model.infer(&zeros).with_context(
                        || "the model's default inputs (zeros) do not fit it: give --model-inputs",
                    )?;
                }
                Vec::new()
            }
        };
        Ok(Self {
            circuit: Circuit::Model(arch),
            model,
            inputs,
        })
    }

    /// The witness of job `n`.
    pub(crate) fn witness(&self, n: u64) -> serde_json::Value {
        let input = if self.inputs.is_empty() {
            let mut zeros = vec![0i64; self.model.architecture.inputs()];
            zeros[0] = i64::try_from(n % 256).unwrap_or(0);
            zeros
        } else {
            self.inputs[usize::try_from(n).unwrap_or(0) % self.inputs.len()].clone()
        };
        self.model.witness(&input)
    }
}

/// The witness of job `n` of `circuit`: the model's if it is the workload's model, the
/// circuit's numbered one otherwise.
pub(crate) fn witness(
    circuit: Circuit,
    n: u64,
    model: Option<&ModelWorkload>,
) -> serde_json::Value {
    match model {
        Some(model) if model.circuit == circuit => model.witness(n),
        _ => circuit.numbered_witness(n),
    }
}
