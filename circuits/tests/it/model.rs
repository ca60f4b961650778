//! Bring your own model: the digits MLP of `examples/digits` (scikit-learn, exported by
//! skl2onnx; `scripts/make-digits-model.py` made the fixtures) imported, checked against
//! onnxruntime's outputs, proven and verified natively and on a real anvil; models built
//! here in ONNX the way PyTorch exports them; and what a wrong file, a wrong input or
//! other weights get.

use std::sync::OnceLock;

use ethers::providers::{Http, Provider};
use provernet_circuits::model::onnx::FloatModel;
use provernet_circuits::model::{
    self, Architecture, Calibration, ModelError, Package, QuantizedModel, quantize,
};
use provernet_circuits::{Circuit, CircuitError, Proof, field};
use provernet_proto::Message;
use provernet_proto::onnx::{
    AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto, tensor_shape_proto,
};
use serde::Deserialize;

use crate::support::{checkout, prover};

/// onnxruntime's float logits on the test split (`reference.json`).
#[derive(Deserialize)]
struct Reference {
    inputs: Vec<Vec<f64>>,
    labels: Vec<usize>,
    logits: Vec<Vec<f64>>,
}

fn fixture(name: &str) -> Vec<u8> {
    let path = checkout().join("examples/digits").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn reference() -> Reference {
    serde_json::from_slice(&fixture("reference.json")).expect("reference.json")
}

/// The digits model, imported with its calibration set.
fn digits() -> &'static model::Imported {
    static DIGITS: OnceLock<model::Imported> = OnceLock::new();
    DIGITS.get_or_init(|| {
        let calibration: Calibration =
            serde_json::from_slice(&fixture("calibration.json")).expect("calibration.json");
        model::import(&fixture("model.onnx"), Some(&calibration), None).expect("imports")
    })
}

/// The witness JSON of `model` on the float `input`.
fn witness_json(model: &QuantizedModel, input: &[f64]) -> serde_json::Value {
    let quantized =
        quantize::quantize_input(input, model.architecture.scale_bits()).expect("the input fits");
    model.witness(&quantized)
}

fn prove(model: &QuantizedModel, input: &[f64]) -> Proof {
    let circuit = Circuit::Model(model.architecture);
    let witness = circuit
        .parse_witness(&witness_json(model, input))
        .expect("a valid witness");
    let started = std::time::Instant::now();
    let proof = prover().prove(&witness).expect("proves");
    eprintln!("{circuit}: proved in {:?}", started.elapsed());
    proof
}

/// A proof of the digits model on the first test image, made once.
pub fn digits_proof() -> Proof {
    static PROOF: OnceLock<Proof> = OnceLock::new();
    PROOF
        .get_or_init(|| prove(&digits().package.model, &reference().inputs[0]))
        .clone()
}

#[test]
fn the_digits_model_imports_and_its_quantized_argmax_agrees_with_onnxruntime() {
    let imported = digits();
    let arch = imported.package.model.architecture;
    assert_eq!(arch.to_string(), "model-64-32r-10-s15");
    assert_eq!(arch.parameters(), 64 * 32 + 32 + 32 * 10 + 10);
    let on_calibration = imported.package.description.accuracy.expect("measured");
    assert_eq!(on_calibration.samples, 100);
    assert!(on_calibration.argmax_agreement >= 0.99);

    // Against onnxruntime's own float outputs on the 450 test images (no proving).
    let reference = reference();
    assert_eq!(reference.inputs.len(), 450);
    let ours = quantize::accuracy(
        &imported.package.model,
        &reference.inputs,
        &reference.logits,
    )
    .expect("every test image fits");
    eprintln!(
        "digits: argmax agrees with onnxruntime on {:.4} of {} test images, largest logit \
         error {:.4}",
        ours.argmax_agreement, ours.samples, ours.max_output_error
    );
    assert!(ours.argmax_agreement >= 0.99, "{ours:?}");
    // Below EZKL's 0.008 on the same images (`./scripts/bench.sh zkml`, docs/circuits.md).
    assert!(ours.max_output_error < 0.008, "{ours:?}");
    // Our float reading of the file is onnxruntime's model.
    for (x, want) in reference.inputs.iter().zip(&reference.logits).take(50) {
        for (a, b) in imported.float.forward(x).iter().zip(want) {
            assert!((a - b).abs() < 1e-3, "float forward {a} vs onnxruntime {b}");
        }
    }
    // And the quantized model classifies as well as the float one did.
    let right = reference
        .inputs
        .iter()
        .zip(&reference.labels)
        .filter(|(x, label)| {
            let q = quantize::quantize_input(x, arch.scale_bits()).expect("fits");
            quantize::argmax(&imported.package.model.infer(&q).expect("infers")) == Some(**label)
        })
        .count();
    assert!(right * 100 >= 96 * reference.labels.len(), "{right} right");
}

#[test]
fn the_committed_digits_package_is_what_import_makes() {
    // `examples/digits/package` (what the testnet's `--model` takes) is made again from
    // the ONNX file and the calibration set, byte for byte in its meaning.
    let committed = Package::read(&checkout().join("examples/digits/package")).expect("reads");
    assert_eq!(committed, digits().package);
}

#[test]
fn a_package_round_trips_and_weights_that_are_not_the_committed_ones_are_refused() {
    let dir = tempfile_dir("package");
    let package = &digits().package;
    package.write(&dir).expect("writes");
    assert_eq!(&Package::read(&dir).expect("reads"), package);

    // One weight changed in weights.json: the commitment recorded no longer matches.
    let path = dir.join(model::package::WEIGHTS_FILE);
    let mut weights: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let w = weights["weights"][0][3][7].as_i64().expect("a weight");
    weights["weights"][0][3][7] = serde_json::json!(w + 1);
    std::fs::write(&path, serde_json::to_vec(&weights).expect("json")).expect("write");
    let error = Package::read(&dir).expect_err("refused").to_string();
    assert!(error.contains("commitment"), "{error}");

    // A weight out of range, a row too short, a format from elsewhere.
    weights["weights"][0][3][7] = serde_json::json!(1 << 15);
    std::fs::write(&path, serde_json::to_vec(&weights).expect("json")).expect("write");
    assert!(Package::read(&dir).is_err());
    weights["weights"][0][3] = serde_json::json!([1, 2, 3]);
    std::fs::write(&path, serde_json::to_vec(&weights).expect("json")).expect("write");
    assert!(Package::read(&dir).is_err());
    package.write(&dir).expect("writes");
    let model_json = dir.join(model::package::MODEL_FILE);
    let text = std::fs::read_to_string(&model_json).expect("read");
    std::fs::write(&model_json, text.replace("\"format\": 1", "\"format\": 2")).expect("write");
    assert!(
        Package::read(&dir)
            .expect_err("format")
            .to_string()
            .contains("format 2")
    );
}

#[test]
fn a_digits_inference_proves_verifies_and_binds_the_committed_model() {
    let imported = digits();
    let model = &imported.package.model;
    let circuit = Circuit::Model(model.architecture);
    let proof = digits_proof();
    let input = &reference().inputs[0];
    let quantized = quantize::quantize_input(input, model.architecture.scale_bits()).expect("fits");
    let output = model.infer(&quantized).expect("infers");
    // Public inputs: the model's commitment, the input's, the output the model computes.
    let want = model.public_inputs(&quantized).expect("fits");
    assert_eq!(proof.public_inputs.len(), 2 + 10);
    assert_eq!(want[1], model::input_commitment(&quantized));
    assert_eq!(
        proof.public_inputs,
        want.iter().map(field::to_bytes).collect::<Vec<_>>()
    );
    assert_eq!(
        field::to_hex(&want[0]),
        imported.package.description.commitment
    );
    prover()
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("the proof verifies");
    // A claimed output other than the model's does not verify.
    let mut lie = proof.public_inputs.clone();
    let best = quantize::argmax(&output).expect("outputs");
    lie[2 + best] = field::to_bytes(&field::from_i64(output[best] - 1_000));
    assert!(prover().verify(circuit, &lie, &proof.proof).is_err());

    // A prover that runs other weights (one flipped) proves something, but its proof
    // carries another commitment, and it does not verify against the registered one.
    let mut flipped = model.clone();
    flipped.weights[1][4][2] = -flipped.weights[1][4][2] - 1;
    assert_ne!(flipped.commitment(), model.commitment());
    let other = prove(&flipped, input);
    assert_ne!(other.public_inputs[0], proof.public_inputs[0]);
    let mut claimed = other.public_inputs.clone();
    claimed[0] = proof.public_inputs[0];
    assert!(matches!(
        prover().verify(circuit, &claimed, &other.proof),
        Err(CircuitError::InvalidProof { .. })
    ));
}

#[test]
fn a_witness_of_the_wrong_shape_or_range_is_refused_with_a_reason() {
    let model = &digits().package.model;
    let circuit = Circuit::Model(model.architecture);
    let mut json = witness_json(model, &reference().inputs[0]);
    json["input"] = serde_json::json!(vec![0; 63]);
    let error = circuit
        .parse_witness(&json)
        .expect_err("63 inputs")
        .to_string();
    assert!(
        error.contains("63 values for a model of 64 inputs"),
        "{error}"
    );
    json["input"] = serde_json::json!(vec![1 << 24; 64]);
    assert!(circuit.parse_witness(&json).is_err());
    // An input so large that a hidden value leaves the range: refused before proving.
    json["input"] = serde_json::json!(vec![(1 << 24) - 1; 64]);
    let error = circuit
        .parse_witness(&json)
        .expect_err("overflow")
        .to_string();
    assert!(error.contains("too fine for this input"), "{error}");
    // A client sending such an input to its winner: the winner computes the statement
    // from the fetched input before it accepts (`job::check_fetched_input`), and that
    // fails, so it refuses the job instead of accepting one it cannot prove.
    assert!(circuit.statement_of(json.to_string().as_bytes()).is_err());
    // Weights of another architecture.
    json = witness_json(model, &reference().inputs[0]);
    json["model"]["biases"][1] = serde_json::json!(vec![0; 9]);
    assert!(matches!(
        circuit.parse_witness(&json),
        Err(CircuitError::WitnessShape { .. })
    ));
    // A float input out of the model's range (±2^24 at the scale: ±512 at 15 bits).
    assert!(matches!(
        quantize::quantize_input(&[70_000.0], 8),
        Err(ModelError::Input(_))
    ));
    assert!(quantize::quantize_input(&[511.0], 15).is_ok());
    assert!(quantize::quantize_input(&[-513.0], 15).is_err());
    assert!(quantize::quantize_input(&[f64::NAN], 8).is_err());
}

#[test]
fn the_statement_is_the_circuits_on_spread_inputs_and_models() {
    // The native public inputs equal the instances the circuit assigns, on test images
    // and on a model of three layers with extreme weights (no proving: a mock layout).
    let model = &digits().package.model;
    for x in reference().inputs.iter().step_by(97) {
        let json = witness_json(model, x);
        agree(Circuit::Model(model.architecture), &json);
    }
    let layers = [
        model::Layer {
            outputs: 5,
            relu: true,
        },
        model::Layer {
            outputs: 4,
            relu: false,
        },
        model::Layer {
            outputs: 3,
            relu: true,
        },
    ];
    let arch = Architecture::new(6, &layers, 4).expect("valid");
    let max = (1i64 << 15) - 1;
    for sign in [1i64, -1] {
        let weights: Vec<Vec<Vec<i64>>> = arch
            .layer_inputs()
            .zip(arch.layers())
            .enumerate()
            .map(|(l, (n, layer))| {
                (0..layer.outputs)
                    .map(|j| {
                        (0..n)
                            .map(|i| {
                                if l == 0 {
                                    sign * if (i + j) % 2 == 0 { max } else { -max }
                                } else {
                                    sign * ((i * 7 + j * 3) as i64 % 5 - 2)
                                }
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let biases: Vec<Vec<i64>> = arch
            .layers()
            .map(|l| {
                (0..l.outputs)
                    .map(|j| sign * (j as i64 - 1) * 100)
                    .collect()
            })
            .collect();
        let model = QuantizedModel {
            architecture: arch,
            weights,
            biases,
        };
        // First-layer sums reach ±2^29 before the rescale; the inputs are small so
        // the hidden values stay in range.
        agree(Circuit::Model(arch), &model.witness(&[1, -1, 0, 1, 0, -1]));
    }
    // One layer, the widest weights (−2^15 among them, whose products reach 2^39) and
    // inputs: accumulators of ±2^41, outputs of ±2^37 (a last layer's outputs are bounded
    // by the rescale alone), with and without a ReLU.
    let widest_input = (1i64 << 24) - 1;
    let widest = |relu| {
        let arch = Architecture::new(6, &[model::Layer { outputs: 2, relu }], 4).expect("valid");
        QuantizedModel {
            architecture: arch,
            weights: vec![vec![vec![max; 6], vec![-max - 1; 6]]],
            biases: vec![vec![max, -max - 1]],
        }
    };
    for relu in [false, true] {
        let model = widest(relu);
        for input in [[widest_input; 6], [-widest_input - 1; 6]] {
            let outputs = model.infer(&input).expect("in range");
            assert!(
                outputs.iter().any(|y| y.unsigned_abs() > 1 << 36),
                "{outputs:?}"
            );
            agree(Circuit::Model(model.architecture), &model.witness(&input));
        }
    }
    // And the constraints hold there: a proof of the widest case verifies (2^10 rows).
    let model = widest(true);
    let circuit = Circuit::Model(model.architecture);
    let witness = circuit
        .parse_witness(&model.witness(&[-widest_input - 1; 6]))
        .expect("a valid witness");
    let proof = prover().prove(&witness).expect("proves");
    prover()
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("the widest values prove");
}

fn agree(circuit: Circuit, json: &serde_json::Value) {
    let witness = circuit.parse_witness(json).expect("a valid witness");
    assert_eq!(
        witness.public_inputs(),
        witness.circuit_public_inputs(),
        "{circuit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_digits_verifier_on_anvil_accepts_the_proof_and_rejects_bad_ones() {
    let anvil = crate::anvil::start_anvil();
    let provider = Provider::<Http>::try_from(anvil.endpoint()).expect("provider");
    let circuit = Circuit::Model(digits().package.model.architecture);
    let gas = crate::anvil::check_on_chain(
        &provider,
        anvil.addresses()[0],
        &prover(),
        circuit,
        &digits_proof(),
    )
    .await;
    assert!(gas > 0);
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("model-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

// ---- ONNX files made here, as PyTorch and hand-written graphs have them ----

fn tensor(name: &str, dims: &[i64], values: &[f32]) -> TensorProto {
    TensorProto {
        name: name.into(),
        dims: dims.to_vec(),
        data_type: 1,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..TensorProto::default()
    }
}

fn value(name: &str, dims: &[i64]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: 1,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| tensor_shape_proto::Dimension {
                            dim_value: *d,
                            ..Default::default()
                        })
                        .collect(),
                }),
            }),
        }),
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attributes: Vec<AttributeProto>) -> NodeProto {
    NodeProto {
        name: format!("/{op}_{output}"),
        op_type: op.into(),
        input: inputs.iter().map(|s| (*s).to_owned()).collect(),
        output: vec![output.into()],
        attribute: attributes,
        ..NodeProto::default()
    }
}

fn int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 2,
        i,
        ..AttributeProto::default()
    }
}

fn float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: 1,
        f,
        ..AttributeProto::default()
    }
}

fn file(nodes: Vec<NodeProto>, initializers: Vec<TensorProto>, output: &str) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        producer_name: "pytorch".into(),
        graph: Some(GraphProto {
            name: "main_graph".into(),
            node: nodes,
            initializer: initializers,
            input: vec![value("x", &[1, 3])],
            output: vec![value(output, &[1, 2])],
        }),
        ..ModelProto::default()
    }
    .encode_to_vec()
}

/// `Flatten → Gemm(transB, alpha 0.5, beta 2) → Relu → Gemm(transB)`, as
/// `torch.onnx.export` writes an `nn.Sequential` of `Linear` and `ReLU`.
fn pytorch_style() -> Vec<u8> {
    file(
        vec![
            node("Flatten", &["x"], "flat", vec![int("axis", 1)]),
            node(
                "Gemm",
                &["flat", "fc1.weight", "fc1.bias"],
                "h",
                vec![float("alpha", 0.5), float("beta", 2.0), int("transB", 1)],
            ),
            node("Relu", &["h"], "a", vec![]),
            node(
                "Gemm",
                &["a", "fc2.weight", "fc2.bias"],
                "y",
                vec![int("transB", 1)],
            ),
        ],
        vec![
            // [out, in] since transB.
            tensor("fc1.weight", &[2, 3], &[1.0, 2.0, 3.0, -1.0, -2.0, -3.0]),
            tensor("fc1.bias", &[2], &[0.5, 0.25]),
            tensor("fc2.weight", &[2, 2], &[1.0, -1.0, 0.5, 2.0]),
            tensor("fc2.bias", &[2], &[0.0, -1.0]),
        ],
        "y",
    )
}

#[test]
fn a_pytorch_style_gemm_model_reads_as_its_float_model() {
    let model: FloatModel = model::onnx::read(&pytorch_style()).expect("reads");
    assert_eq!(model.inputs, 3);
    // h = 0.5·W1·x + 2·b1 on x = [1, 1, 1]: [3 + 1, −3 + 0.5] → relu [4, 0];
    // y = W2·a + b2 = [4, 2 − 1].
    assert_eq!(model.forward(&[1.0, 1.0, 1.0]), vec![4.0, 1.0]);
    let imported = model::import(&pytorch_style(), None, Some(6)).expect("imports");
    assert_eq!(
        imported.package.model.architecture.to_string(),
        "model-3-2r-2-s6"
    );
    let q = quantize::quantize_input(&[1.0, 1.0, 1.0], 6).expect("fits");
    assert_eq!(
        imported.package.model.infer(&q).expect("infers"),
        vec![256, 64]
    );
}

#[test]
fn unsupported_graphs_are_refused_naming_the_first_node_and_why() {
    let weights = || {
        vec![
            tensor("w", &[3, 2], &[0.0; 6]),
            tensor("b", &[2], &[0.0; 2]),
        ]
    };
    let cases: Vec<(Vec<NodeProto>, &str, &str)> = vec![
        (
            vec![
                node("Gemm", &["x", "w", "b"], "h", vec![]),
                node("Sigmoid", &["h"], "y", vec![]),
            ],
            "/Sigmoid_y",
            "Sigmoid",
        ),
        (
            vec![node("Conv", &["x", "w"], "y", vec![])],
            "/Conv_y",
            "Conv",
        ),
        (
            // A branch: the second node reads the input again, not the first's output.
            vec![
                node("Gemm", &["x", "w", "b"], "h", vec![]),
                node("Add", &["x", "h"], "y", vec![]),
            ],
            "/Add_y",
            "not sequential",
        ),
        (
            vec![node("Gemm", &["x", "w", "b"], "y", vec![int("transA", 1)])],
            "/Gemm_y",
            "transA",
        ),
        (
            vec![
                node("Gemm", &["x", "w", "b"], "h", vec![]),
                node("Relu", &["h"], "r", vec![]),
                node("Relu", &["r"], "y", vec![]),
            ],
            "/Relu_y",
            "Relu",
        ),
        (
            vec![node("Cast", &["x"], "y", vec![int("to", 7)])],
            "/Cast_y",
            "cast to type 7",
        ),
    ];
    for (nodes, at, why) in cases {
        let bytes = file(nodes, weights(), "y");
        match model::onnx::read(&bytes) {
            Err(error @ ModelError::Unsupported { .. }) => {
                let text = error.to_string();
                assert!(text.contains(at) && text.contains(why), "{text}");
            }
            other => panic!("{at}: {other:?}"),
        }
    }
    // A weight stored outside the file.
    let mut outside = tensor("w", &[3, 2], &[]);
    outside.data_location = 1;
    let bytes = file(
        vec![node("Gemm", &["x", "w"], "y", vec![])],
        vec![outside],
        "y",
    );
    assert!(matches!(
        model::onnx::read(&bytes),
        Err(ModelError::Malformed(_))
    ));
    // Too wide: refused as it is read, before anything is allocated for it.
    let wide = file(
        vec![node("Gemm", &["x", "w"], "y", vec![])],
        vec![tensor("w", &[3, 5_000], &vec![0.0; 15_000])],
        "y",
    );
    let error = model::import(&wide, None, Some(8))
        .expect_err("too wide")
        .to_string();
    assert!(error.contains("widths up to 4096"), "{error}");
    // A dimension of 0 with a huge other one (no values, so no length mismatch): it
    // used to reach an allocation of 2^40 rows.
    let empty = file(
        vec![node("Gemm", &["x", "w"], "y", vec![])],
        vec![TensorProto {
            name: "w".into(),
            dims: vec![0, 1 << 40],
            data_type: 1,
            ..TensorProto::default()
        }],
        "y",
    );
    assert!(matches!(
        model::onnx::read(&empty),
        Err(ModelError::Malformed(_))
    ));
    // Too many parameters (every width allowed): refused as an architecture.
    let layers = [model::Layer {
        outputs: 4_096,
        relu: false,
    }; 2];
    let error = Architecture::new(64, &layers, 8)
        .expect_err("too many parameters")
        .to_string();
    assert!(error.contains("at most 16384"), "{error}");
    // An attribute of the wrong type would read as its default, another model.
    let mut alpha = float("alpha", 2.0);
    alpha.r#type = 2;
    let bytes = file(
        vec![node("Gemm", &["x", "w", "b"], "y", vec![alpha])],
        weights(),
        "y",
    );
    let error = model::onnx::read(&bytes).expect_err("typed").to_string();
    assert!(error.contains("attribute `alpha` of type 2"), "{error}");
}

#[test]
fn malformed_and_truncated_files_are_errors_never_panics() {
    assert!(matches!(
        model::onnx::read(b"definitely not protobuf \xff\xff\xff"),
        Err(ModelError::Malformed(_))
    ));
    assert!(matches!(
        model::onnx::read(&[]),
        Err(ModelError::Malformed(_))
    ));
    let whole = fixture("model.onnx");
    let full = model::onnx::read(&whole).expect("the fixture reads");
    let mut refused = 0;
    for cut in (0..whole.len()).step_by(97) {
        match model::onnx::read(&whole[..cut]) {
            Ok(model) => assert_eq!(model, full, "a cut at {cut} read as another model"),
            Err(_) => refused += 1,
        }
    }
    assert!(refused > 0);
    // A tensor whose bytes do not fill its shape.
    let mut short = tensor("w", &[3, 2], &[0.0; 6]);
    short.raw_data.truncate(20);
    let bytes = file(
        vec![node("Gemm", &["x", "w"], "y", vec![])],
        vec![short],
        "y",
    );
    let error = model::onnx::read(&bytes)
        .expect_err("short tensor")
        .to_string();
    assert!(error.contains("bytes of values"), "{error}");
    // Neither a scale nor a calibration.
    assert!(matches!(
        model::import(&whole, None, None),
        Err(ModelError::Quantization(_))
    ));
}
