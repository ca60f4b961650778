//! Reads a sequential MLP from an ONNX file into a [`FloatModel`].
//!
//! Taken: `Gemm` (any `alpha`, `beta`, `transB`; not `transA`), `MatMul` followed by an
//! `Add` of a bias, `Relu`, and `Flatten`, `Reshape`, `Identity` and `Cast` to a float type
//! where they change nothing (on a vector of the current width). Weights and biases must
//! be constant tensors in the file (initializers). The nodes must form one chain from the
//! graph's one input to its one output. Anything else is refused, naming the first node
//! that is not taken and why.

use std::collections::HashMap;

use provernet_proto::Message;
use provernet_proto::onnx::{GraphProto, ModelProto, NodeProto, TensorProto};

use super::ModelError;

/// Largest ONNX file read.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// ONNX's data types this reader takes.
const FLOAT: i32 = 1;
const DOUBLE: i32 = 11;

/// A dense layer in floating point: `weights[j][i]` from input `i` to output `j`.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatLayer {
    /// Per output, per input.
    pub weights: Vec<Vec<f64>>,
    /// Per output.
    pub biases: Vec<f64>,
    /// Whether a ReLU follows.
    pub relu: bool,
}

/// A sequential MLP in floating point, as the ONNX file defines it.
#[derive(Clone, Debug, PartialEq)]
pub struct FloatModel {
    /// Input width.
    pub inputs: usize,
    /// The dense layers, first to last.
    pub layers: Vec<FloatLayer>,
}

impl FloatModel {
    /// The output of every layer on `input`, the last being the model's output.
    pub fn activations(&self, input: &[f64]) -> Vec<Vec<f64>> {
        let mut all: Vec<Vec<f64>> = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let x = all.last().map_or(input, Vec::as_slice);
            let y = layer
                .weights
                .iter()
                .zip(&layer.biases)
                .map(|(row, b)| {
                    let v = row.iter().zip(x).map(|(w, x)| w * x).sum::<f64>() + b;
                    if layer.relu { v.max(0.0) } else { v }
                })
                .collect();
            all.push(y);
        }
        all
    }

    /// The model's output on `input`.
    pub fn forward(&self, input: &[f64]) -> Vec<f64> {
        self.activations(input).pop().unwrap_or_default()
    }
}

/// Reads the model in `bytes` (an ONNX file).
///
/// # Errors
/// [`ModelError::Malformed`] for bytes that are not an ONNX model (or that contradict
/// themselves: a tensor with fewer values than its shape), [`ModelError::Unsupported`]
/// naming the first node that is not taken.
pub fn read(bytes: &[u8]) -> Result<FloatModel, ModelError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(ModelError::Malformed(format!(
            "{} bytes; at most {MAX_FILE_BYTES} are read",
            bytes.len()
        )));
    }
    let model = ModelProto::decode(bytes).map_err(|e| ModelError::Malformed(e.to_string()))?;
    let graph = model
        .graph
        .as_ref()
        .filter(|g| !g.node.is_empty() || !g.output.is_empty())
        .ok_or_else(|| ModelError::Malformed("no graph".into()))?;
    Reader::new(graph)?.run(graph)
}

/// A tensor's shape and values.
struct Constant {
    dims: Vec<usize>,
    values: Vec<f64>,
}

struct Reader {
    constants: HashMap<String, Constant>,
    /// The value the chain has reached, and its width.
    current: String,
    width: usize,
    inputs: usize,
    layers: Vec<FloatLayer>,
    /// The last layer came from a `MatMul` whose bias `Add` may follow.
    bias_pending: bool,
}

fn unsupported(node: &NodeProto, reason: impl Into<String>) -> ModelError {
    ModelError::Unsupported {
        node: if node.name.is_empty() {
            node.output.first().cloned().unwrap_or_default()
        } else {
            node.name.clone()
        },
        op: node.op_type.clone(),
        reason: reason.into(),
    }
}

impl Reader {
    fn new(graph: &GraphProto) -> Result<Self, ModelError> {
        let mut constants = HashMap::new();
        for tensor in &graph.initializer {
            constants.insert(tensor.name.clone(), constant(tensor)?);
        }
        // Older files list the initializers among the inputs too.
        let inputs: Vec<_> = graph
            .input
            .iter()
            .filter(|i| !constants.contains_key(&i.name))
            .collect();
        let [input] = inputs.as_slice() else {
            return Err(ModelError::Malformed(format!(
                "the graph has {} inputs that are not weights; a model takes one",
                inputs.len()
            )));
        };
        let tensor = input
            .r#type
            .as_ref()
            .and_then(|t| t.tensor_type.as_ref())
            .ok_or_else(|| {
                ModelError::Malformed(format!("input `{}` is not a tensor", input.name))
            })?;
        if tensor.elem_type != FLOAT && tensor.elem_type != DOUBLE {
            return Err(ModelError::Malformed(format!(
                "input `{}` has element type {}; a float tensor is taken",
                input.name, tensor.elem_type
            )));
        }
        // The width is the last dimension, if the file gives it: `[batch, n]` or `[n]`;
        // otherwise the first layer's weights say it.
        let width = tensor
            .shape
            .as_ref()
            .and_then(|s| s.dim.last())
            .map_or(0, |d| usize::try_from(d.dim_value).unwrap_or(0));
        Ok(Self {
            constants,
            current: input.name.clone(),
            width,
            inputs: width,
            layers: Vec::new(),
            bias_pending: false,
        })
    }

    fn run(mut self, graph: &GraphProto) -> Result<FloatModel, ModelError> {
        for node in &graph.node {
            self.node(node)?;
        }
        let [output] = graph.output.as_slice() else {
            return Err(ModelError::Malformed(format!(
                "the graph has {} outputs; a model gives one",
                graph.output.len()
            )));
        };
        if output.name != self.current {
            return Err(ModelError::Malformed(format!(
                "the graph's output `{}` is not the end of its chain of nodes (`{}`)",
                output.name, self.current
            )));
        }
        if self.layers.is_empty() {
            return Err(ModelError::Malformed(
                "no dense layer (Gemm or MatMul)".into(),
            ));
        }
        Ok(FloatModel {
            inputs: self.inputs,
            layers: self.layers,
        })
    }

    fn node(&mut self, node: &NodeProto) -> Result<(), ModelError> {
        if !(node.domain.is_empty() || node.domain == "ai.onnx") {
            return Err(unsupported(
                node,
                format!("operator domain `{}`", node.domain),
            ));
        }
        let Some(first) = node.input.first() else {
            return Err(unsupported(node, "no input"));
        };
        if *first != self.current {
            return Err(unsupported(
                node,
                format!(
                    "not sequential: it reads `{first}`, not the previous node's output `{}`",
                    self.current
                ),
            ));
        }
        let [output] = node.output.as_slice() else {
            return Err(unsupported(node, "more than one output"));
        };
        let bias_pending = std::mem::take(&mut self.bias_pending);
        for (name, want) in [
            ("alpha", ATTRIBUTE_FLOAT),
            ("beta", ATTRIBUTE_FLOAT),
            ("transA", ATTRIBUTE_INT),
            ("transB", ATTRIBUTE_INT),
            ("axis", ATTRIBUTE_INT),
            ("to", ATTRIBUTE_INT),
        ] {
            typed(node, name, want)?;
        }
        match node.op_type.as_str() {
            "Identity" | "Flatten" => self.no_op(node)?,
            "Cast" => {
                let to = int_attribute(node, "to").unwrap_or(0);
                if to != i64::from(FLOAT) && to != i64::from(DOUBLE) {
                    return Err(unsupported(node, format!("a cast to type {to}")));
                }
                self.no_op(node)?;
            }
            "Reshape" => {
                let shape = node
                    .input
                    .get(1)
                    .and_then(|name| self.constants.get(name))
                    .ok_or_else(|| unsupported(node, "its shape is not a constant"))?;
                // A no-op on a vector: every dimension 1, -1 or 0 (keep) but a last one of
                // the current width (or -1).
                let dims = &shape.values;
                let fine = dims
                    .last()
                    .is_some_and(|d| *d == -1.0 || (self.width > 0 && *d == self.width as f64))
                    && dims[..dims.len() - 1]
                        .iter()
                        .all(|d| *d == 1.0 || *d == -1.0 || *d == 0.0);
                if !fine {
                    return Err(unsupported(node, format!("a reshape to {dims:?}")));
                }
                self.no_op(node)?;
            }
            "Relu" => match self.layers.last_mut() {
                Some(layer) if !layer.relu => layer.relu = true,
                _ => {
                    return Err(unsupported(
                        node,
                        "a ReLU must follow a dense layer (and only one)",
                    ));
                }
            },
            "Gemm" => self.gemm(node)?,
            "MatMul" => {
                let weights = self.weight(node, 1, false)?;
                self.push(node, weights, None)?;
                self.bias_pending = true;
            }
            "Add" => {
                if !bias_pending {
                    return Err(unsupported(node, "an Add that is not a MatMul's bias"));
                }
                let width = self.layers.last().map_or(0, |l| l.weights.len());
                let bias = self.bias(node, 1, 1.0, width)?;
                if let Some(layer) = self.layers.last_mut() {
                    layer.biases = bias;
                }
            }
            _ => return Err(unsupported(node, "operator not supported")),
        }
        self.current.clone_from(output);
        Ok(())
    }

    fn no_op(&self, node: &NodeProto) -> Result<(), ModelError> {
        if node.input.len() > 1 && node.op_type != "Reshape" {
            return Err(unsupported(node, "more than one input"));
        }
        if node.op_type == "Flatten" && int_attribute(node, "axis").unwrap_or(1) != 1 {
            return Err(unsupported(node, "a Flatten whose axis is not 1"));
        }
        Ok(())
    }

    fn gemm(&mut self, node: &NodeProto) -> Result<(), ModelError> {
        if int_attribute(node, "transA").unwrap_or(0) != 0 {
            return Err(unsupported(node, "transA"));
        }
        let alpha = f64::from(float_attribute(node, "alpha").unwrap_or(1.0));
        let beta = f64::from(float_attribute(node, "beta").unwrap_or(1.0));
        let transposed = int_attribute(node, "transB").unwrap_or(0) != 0;
        let mut weights = self.weight(node, 1, transposed)?;
        for w in weights.iter_mut().flatten() {
            *w *= alpha;
        }
        let bias = if node.input.get(2).is_some_and(|n| !n.is_empty()) {
            Some(self.bias(node, 2, beta, weights.len())?)
        } else {
            None
        };
        self.push(node, weights, bias)
    }

    /// The weight matrix of input `index`, as `[out][in]`: ONNX's `B` is `[in, out]`, or
    /// `[out, in]` when `transposed`.
    fn weight(
        &self,
        node: &NodeProto,
        index: usize,
        transposed: bool,
    ) -> Result<Vec<Vec<f64>>, ModelError> {
        let b = node
            .input
            .get(index)
            .and_then(|name| self.constants.get(name))
            .ok_or_else(|| unsupported(node, "its weights are not a constant tensor"))?;
        let [rows, columns] = b.dims.as_slice() else {
            return Err(unsupported(
                node,
                format!("weights of shape {:?}, not a matrix", b.dims),
            ));
        };
        let (inputs, outputs) = if transposed {
            (*columns, *rows)
        } else {
            (*rows, *columns)
        };
        // Before anything is allocated for it.
        if inputs > super::MAX_WIDTH || outputs > super::MAX_WIDTH {
            return Err(unsupported(
                node,
                format!(
                    "weights of shape {:?}: widths up to {} are supported",
                    b.dims,
                    super::MAX_WIDTH
                ),
            ));
        }
        if self.width != 0 && inputs != self.width {
            return Err(unsupported(
                node,
                format!(
                    "weights for {inputs} inputs on a value of width {}",
                    self.width
                ),
            ));
        }
        Ok((0..outputs)
            .map(|j| {
                (0..inputs)
                    .map(|i| {
                        if transposed {
                            b.values[j * inputs + i]
                        } else {
                            b.values[i * outputs + j]
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// The bias of input `index`, times `scale`, for `width` outputs: a constant of shape
    /// `[width]` or `[1, width]`, either operand of an `Add`.
    fn bias(
        &self,
        node: &NodeProto,
        index: usize,
        scale: f64,
        width: usize,
    ) -> Result<Vec<f64>, ModelError> {
        let name = if node.op_type == "Add" {
            // The operand that is not the chain's value.
            node.input
                .iter()
                .find(|n| **n != self.current)
                .filter(|_| node.input.len() == 2)
        } else {
            node.input.get(index)
        };
        let c = name
            .and_then(|name| self.constants.get(name))
            .ok_or_else(|| unsupported(node, "its bias is not a constant tensor"))?;
        let shape_ok = match c.dims.as_slice() {
            [n] | [1, n] => *n == width,
            _ => false,
        };
        if !shape_ok {
            return Err(unsupported(
                node,
                format!("a bias of shape {:?} for {width} outputs", c.dims),
            ));
        }
        Ok(c.values.iter().map(|v| v * scale).collect())
    }

    fn push(
        &mut self,
        node: &NodeProto,
        weights: Vec<Vec<f64>>,
        biases: Option<Vec<f64>>,
    ) -> Result<(), ModelError> {
        let outputs = weights.len();
        let inputs = weights.first().map_or(0, Vec::len);
        if outputs == 0 || inputs == 0 {
            return Err(unsupported(node, "an empty weight matrix"));
        }
        if self.layers.len() == super::MAX_LAYERS {
            return Err(unsupported(
                node,
                format!("more than {} dense layers", super::MAX_LAYERS),
            ));
        }
        if self.layers.is_empty() {
            self.inputs = inputs;
        }
        self.width = outputs;
        self.layers.push(FloatLayer {
            weights,
            biases: biases.unwrap_or_else(|| vec![0.0; outputs]),
            relu: false,
        });
        Ok(())
    }
}

fn attribute<'a>(
    node: &'a NodeProto,
    name: &str,
) -> Option<&'a provernet_proto::onnx::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// ONNX's attribute types read here.
const ATTRIBUTE_FLOAT: i32 = 1;
const ATTRIBUTE_INT: i32 = 2;

/// An integer attribute; one of another type reads as none (and its default applies
/// only where the caller checks: see [`typed`]).
fn int_attribute(node: &NodeProto, name: &str) -> Option<i64> {
    attribute(node, name)
        .filter(|a| a.r#type == ATTRIBUTE_INT)
        .map(|a| a.i)
}

fn float_attribute(node: &NodeProto, name: &str) -> Option<f32> {
    attribute(node, name)
        .filter(|a| a.r#type == ATTRIBUTE_FLOAT)
        .map(|a| a.f)
}

/// Refuses a node whose attribute `name` is there but not of type `want`: read as absent,
/// it would take its default, another model than the file's.
fn typed(node: &NodeProto, name: &str, want: i32) -> Result<(), ModelError> {
    match attribute(node, name) {
        Some(a) if a.r#type != want => Err(unsupported(
            node,
            format!("attribute `{name}` of type {}", a.r#type),
        )),
        _ => Ok(()),
    }
}

/// A tensor's values as `f64`, checked against its shape.
fn constant(tensor: &TensorProto) -> Result<Constant, ModelError> {
    let bad = |reason: String| ModelError::Malformed(format!("tensor `{}`: {reason}", tensor.name));
    if tensor.data_location == 1 {
        return Err(bad(
            "its values are in an external file: export the model with its weights inside".into(),
        ));
    }
    let dims = tensor
        .dims
        .iter()
        .map(|d| {
            usize::try_from(*d)
                .ok()
                .filter(|d| *d > 0)
                .ok_or_else(|| bad(format!("dimension {d}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |n, d| n.checked_mul(*d))
        .filter(|n| *n <= MAX_FILE_BYTES)
        .ok_or_else(|| bad(format!("shape {dims:?} is too large")))?;
    let raw = &tensor.raw_data;
    let width = match tensor.data_type {
        FLOAT | 6 => 4,
        _ => 8,
    };
    if !raw.is_empty() && raw.len() != count.saturating_mul(width) {
        return Err(bad(format!(
            "{} bytes of values for shape {dims:?}",
            raw.len()
        )));
    }
    let values: Vec<f64> = match tensor.data_type {
        FLOAT if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|b| f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        FLOAT => tensor.float_data.iter().map(|v| f64::from(*v)).collect(),
        DOUBLE if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect(),
        DOUBLE => tensor.double_data.clone(),
        // Integer tensors: shapes (`Reshape`'s) and the like.
        6 if !raw.is_empty() => raw
            .chunks_exact(4)
            .map(|b| f64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]])))
            .collect(),
        6 => tensor.int32_data.iter().map(|v| f64::from(*v)).collect(),
        7 if !raw.is_empty() => raw
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f64)
            .collect(),
        7 => tensor.int64_data.iter().map(|v| *v as f64).collect(),
        other => return Err(bad(format!("element type {other} is not taken"))),
    };
    if values.len() != count {
        return Err(bad(format!("{} values for shape {dims:?}", values.len())));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(bad("a value that is not finite".into()));
    }
    Ok(Constant { dims, values })
}
