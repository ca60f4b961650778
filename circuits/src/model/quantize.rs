//! From a [`FloatModel`] to a [`QuantizedModel`]: the scale, the rounding, and how far the
//! quantized model is from the float one.
//!
//! The scale is the finest (most fractional bits) at which every parameter fits its range
//! and, on every calibration input, every input and every layer's output stays within
//! half of theirs: the other half is headroom for inputs the calibration did not show. A hidden
//! value that still overflows on some input is an error for that input
//! ([`QuantizedModel::infer`]), never a wrong answer.

use serde::{Deserialize, Serialize};

use super::onnx::FloatModel;
use super::{
    ACTIVATION_BITS, Architecture, Layer, MAX_SCALE_BITS, ModelError, PARAMETER_BITS,
    QuantizedModel,
};

/// Inputs to choose the scale from and measure the accuracy on: `{"inputs": [[...], ...]}`.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// Each a model input, in floating point.
    pub inputs: Vec<Vec<f64>>,
}

/// How close the quantized model is to the float one on some inputs.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accuracy {
    /// Inputs compared.
    pub samples: usize,
    /// Share of them whose largest output is the same output (the class of a classifier).
    pub argmax_agreement: f64,
    /// Largest difference between a quantized output, scaled back, and the float one.
    pub max_output_error: f64,
}

/// `x·2^s` rounded, if it is within `|v| < 2^bits`.
fn quantize_value(x: f64, scale_bits: u32, bits: u32) -> Option<i64> {
    let v = (x * f64::from(1u32 << scale_bits)).round();
    (v.abs() < f64::from(1u32 << bits)).then_some(v as i64)
}

/// The input `x` at `scale_bits`.
///
/// # Errors
/// A value that is not finite or does not fit the range at this scale.
pub fn quantize_input(x: &[f64], scale_bits: u32) -> Result<Vec<i64>, ModelError> {
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            quantize_value(*v, scale_bits, ACTIVATION_BITS).ok_or_else(|| {
                ModelError::Input(format!(
                    "input [{i}] = {v} does not fit the model's range (±{} at a scale of \
                     {scale_bits} bits)",
                    f64::from(1u32 << ACTIVATION_BITS) / f64::from(1u32 << scale_bits)
                ))
            })
        })
        .collect()
}

/// The architecture of `model` at `scale_bits`.
///
/// # Errors
/// A shape outside what the circuit takes (layers, widths, parameters) or the scale.
pub fn architecture(model: &FloatModel, scale_bits: u32) -> Result<Architecture, ModelError> {
    let layers: Vec<Layer> = model
        .layers
        .iter()
        .map(|l| Layer {
            outputs: l.weights.len(),
            relu: l.relu,
        })
        .collect();
    Architecture::new(model.inputs, &layers, scale_bits)
}

/// `model` quantized at `scale_bits`.
///
/// # Errors
/// The architecture is not one the circuit takes, or a parameter does not fit.
pub fn quantize(model: &FloatModel, scale_bits: u32) -> Result<QuantizedModel, ModelError> {
    let architecture = architecture(model, scale_bits)?;
    let fits = |what: String, v: f64| {
        quantize_value(v, scale_bits, PARAMETER_BITS).ok_or_else(|| {
            ModelError::Quantization(format!(
                "{what} = {v} does not fit at a scale of {scale_bits} bits"
            ))
        })
    };
    let mut weights = Vec::with_capacity(model.layers.len());
    let mut biases = Vec::with_capacity(model.layers.len());
    for (l, layer) in model.layers.iter().enumerate() {
        weights.push(
            layer
                .weights
                .iter()
                .enumerate()
                .map(|(j, row)| {
                    row.iter()
                        .enumerate()
                        .map(|(i, w)| fits(format!("layer {l} weight [{j}][{i}]"), *w))
                        .collect::<Result<Vec<_>, _>>()
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
        biases.push(
            layer
                .biases
                .iter()
                .enumerate()
                .map(|(j, b)| fits(format!("layer {l} bias [{j}]"), *b))
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    let quantized = QuantizedModel {
        architecture,
        weights,
        biases,
    };
    quantized.check()?;
    Ok(quantized)
}

/// Whether, at `scale_bits`, every input of `calibration` and every layer's output on it
/// stays within half the range.
fn has_headroom(model: &FloatModel, calibration: &[Vec<f64>], scale_bits: u32) -> bool {
    let limit = f64::from(1u32 << (ACTIVATION_BITS - 1)) / f64::from(1u32 << scale_bits);
    calibration.iter().all(|x| {
        x.iter().all(|v| v.abs() < limit)
            && model
                .activations(x)
                .iter()
                .flatten()
                .all(|v| v.abs() < limit)
    })
}

/// Checks that every calibration input has the model's input width.
///
/// # Errors
/// Naming the first input of another width.
pub fn check_widths(model: &FloatModel, calibration: &[Vec<f64>]) -> Result<(), ModelError> {
    match calibration
        .iter()
        .enumerate()
        .find(|(_, x)| x.len() != model.inputs)
    {
        Some((n, x)) => Err(ModelError::Input(format!(
            "calibration input {n} has {} values for a model of {} inputs",
            x.len(),
            model.inputs
        ))),
        None => Ok(()),
    }
}

/// The finest scale for `model` on `calibration` (see the [module](self) docs).
///
/// # Errors
/// No calibration input, an input of the wrong width, or no scale at which the model and
/// its calibration fit.
pub fn choose_scale(model: &FloatModel, calibration: &[Vec<f64>]) -> Result<u32, ModelError> {
    if calibration.is_empty() {
        return Err(ModelError::Quantization("no calibration input".into()));
    }
    check_widths(model, calibration)?;
    (1..=MAX_SCALE_BITS)
        .rev()
        .find(|s| has_headroom(model, calibration, *s) && quantize(model, *s).is_ok())
        .ok_or_else(|| {
            ModelError::Quantization(format!(
                "no scale from 1 to {MAX_SCALE_BITS} bits fits the model: its parameters in \
                 [−2^{PARAMETER_BITS}, 2^{PARAMETER_BITS}) and its inputs and layer outputs on \
                 the calibration inputs within 2^{} at the scale",
                ACTIVATION_BITS - 1
            ))
        })
}

/// The index of the largest value (the first of equal ones).
pub fn argmax<T: PartialOrd + Copy>(values: &[T]) -> Option<usize> {
    let mut best: Option<(usize, T)> = None;
    for (i, v) in values.iter().enumerate() {
        if best.is_none_or(|(_, b)| *v > b) {
            best = Some((i, *v));
        }
    }
    best.map(|(i, _)| i)
}

/// How close `quantized` is to `reference` (float outputs) on `inputs`.
///
/// # Errors
/// An input that does not fit the quantized model.
pub fn accuracy(
    quantized: &QuantizedModel,
    inputs: &[Vec<f64>],
    reference: &[Vec<f64>],
) -> Result<Accuracy, ModelError> {
    let s = quantized.architecture.scale_bits();
    let unit = f64::from(1u32 << s);
    let mut agree = 0usize;
    let mut max_error = 0f64;
    for (x, want) in inputs.iter().zip(reference) {
        let y = quantized.infer(&quantize_input(x, s)?)?;
        let y: Vec<f64> = y.iter().map(|v| *v as f64 / unit).collect();
        if argmax(&y) == argmax(want) {
            agree += 1;
        }
        for (a, b) in y.iter().zip(want) {
            max_error = max_error.max((a - b).abs());
        }
    }
    let samples = inputs.len().min(reference.len());
    Ok(Accuracy {
        samples,
        argmax_agreement: if samples == 0 {
            0.0
        } else {
            agree as f64 / samples as f64
        },
        max_output_error: max_error,
    })
}
