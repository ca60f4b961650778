//! Every circuit proves and verifies; bad proofs, inputs and witnesses are clear errors.

use provernet_circuits::{Circuit, CircuitError, field};
use provernet_protocol::FieldBytes;

use crate::support::{example_proof, prover};

#[test]
fn every_circuit_proves_and_verifies_with_the_native_public_inputs() {
    for circuit in Circuit::ALL.into_iter().chain([small_model()]) {
        let proof = example_proof(circuit);
        let witness = circuit
            .parse_witness(&circuit.example_witness())
            .expect("valid");
        let native: Vec<FieldBytes> = witness
            .public_inputs()
            .iter()
            .map(field::to_bytes)
            .collect();
        assert_eq!(
            proof.public_inputs, native,
            "{circuit}: circuit and native computation agree"
        );
        assert_eq!(proof.public_inputs.len(), circuit.num_public_inputs());
        assert_eq!(
            proof.circuit_id,
            prover().circuit_id(circuit).expect("keys")
        );
        prover()
            .verify(circuit, &proof.public_inputs, &proof.proof)
            .expect("valid proof verifies");
    }
}

#[test]
fn a_flipped_bit_anywhere_fails() {
    let proof = example_proof(Circuit::MerkleMembership);
    for position in [0, 17, 100, proof.proof.len() / 2, proof.proof.len() - 1] {
        let mut bad = proof.proof.clone();
        bad[position] ^= 0x04;
        let error = prover()
            .verify(proof.circuit, &proof.public_inputs, &bad)
            .expect_err("corrupted proof must fail");
        assert!(
            matches!(error, CircuitError::InvalidProof { .. }),
            "byte {position}: {error}"
        );
    }
}

#[test]
fn truncated_extended_and_empty_proofs_fail() {
    let proof = example_proof(Circuit::PoseidonChain12);
    for bad in [
        proof.proof[..proof.proof.len() - 1].to_vec(),
        proof.proof[..proof.proof.len() / 2].to_vec(),
        Vec::new(),
        [proof.proof.clone(), vec![0; 32]].concat(),
        vec![0xff; proof.proof.len()],
    ] {
        let error = prover()
            .verify(proof.circuit, &proof.public_inputs, &bad)
            .expect_err("bad proof");
        assert!(
            matches!(error, CircuitError::InvalidProof { .. }),
            "{error}"
        );
    }
}

#[test]
fn wrong_public_inputs_fail() {
    for circuit in [Circuit::PoseidonChain12, small_model()] {
        let proof = example_proof(circuit);
        let mut inputs = proof.public_inputs.clone();
        let last = inputs.len() - 1;
        inputs[last].0[31] ^= 1;
        let error = prover()
            .verify(circuit, &inputs, &proof.proof)
            .expect_err("wrong input");
        assert!(
            matches!(error, CircuitError::InvalidProof { .. }),
            "{circuit}: {error}"
        );
    }
    // The model's proof does not verify for another claimed output (its first).
    let proof = example_proof(small_model());
    let mut claimed = proof.public_inputs.clone();
    let first_output = claimed.len() - 3;
    claimed[first_output] = field::to_bytes(&field::from_i64(12345));
    assert!(
        prover()
            .verify(small_model(), &claimed, &proof.proof)
            .is_err()
    );
    // Nor does a proof of one circuit verify as another.
    let chain = example_proof(Circuit::PoseidonChain12);
    assert!(
        prover()
            .verify(Circuit::PoseidonChain16, &chain.public_inputs, &chain.proof)
            .is_err()
    );
}

#[test]
fn malformed_public_inputs_are_refused_before_verifying() {
    let proof = example_proof(Circuit::PoseidonChain12);
    let error = prover()
        .verify(proof.circuit, &[], &proof.proof)
        .expect_err("no inputs");
    assert!(
        matches!(
            error,
            CircuitError::PublicInputCount {
                expected: 1,
                got: 0,
                ..
            }
        ),
        "{error}"
    );
    let error = prover()
        .verify(proof.circuit, &[FieldBytes([0xff; 32])], &proof.proof)
        .expect_err("above the modulus");
    assert!(
        matches!(error, CircuitError::PublicInputNotInField { index: 0 }),
        "{error}"
    );
}

/// A 4-8-3 model with a ReLU between: the circuit of an imported model of that shape.
fn small_model() -> Circuit {
    "model-4-8r-3-s8".parse().expect("a model's name")
}

/// The model of a witness computed here independently from its JSON: per layer
/// `floor((Σ w·x + 2^8·b) / 2^8)`, a ReLU on every layer but the last.
fn reference_output(json: &serde_json::Value) -> Vec<i64> {
    let ints = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_i64().expect("int"))
            .collect()
    };
    let weights = json["model"]["weights"].as_array().expect("layers");
    let biases = json["model"]["biases"].as_array().expect("layers");
    let mut values = ints(&json["input"]);
    for (l, (w, b)) in weights.iter().zip(biases).enumerate() {
        values = w
            .as_array()
            .expect("rows")
            .iter()
            .zip(ints(b))
            .map(|(row, b)| {
                let acc: i64 = ints(row)
                    .iter()
                    .zip(&values)
                    .map(|(w, x)| w * x)
                    .sum::<i64>();
                let y = (acc + 256 * b).div_euclid(256);
                if l + 1 < weights.len() { y.max(0) } else { y }
            })
            .collect();
    }
    values
}

#[test]
fn a_models_output_is_the_models_output() {
    let mut json = small_model().example_witness();
    json["input"] = serde_json::json!([700, -300, 1_000, 20]);
    // A first hidden value of at least 1,420 − 1, and outputs of either sign from it.
    json["model"]["weights"][0][0] = serde_json::json!([256, 256, 256, 256]);
    json["model"]["weights"][1][0] = serde_json::json!(vec![256; 8]);
    json["model"]["weights"][1][1] = serde_json::json!(vec![-256; 8]);
    let expected = reference_output(&json);
    let witness = small_model().parse_witness(&json).expect("valid");
    let proof = prover().prove(&witness).expect("proves");
    let outputs = &proof.public_inputs[proof.public_inputs.len() - 3..];
    let expected_bytes: Vec<FieldBytes> = expected
        .iter()
        .map(|y| field::to_bytes(&field::from_i64(*y)))
        .collect();
    assert_eq!(outputs, expected_bytes.as_slice(), "expected {expected:?}");
    // The input exercises both signs.
    assert!(
        expected.iter().any(|y| *y < 0) && expected.iter().any(|y| *y > 0),
        "{expected:?}"
    );
    prover()
        .verify(small_model(), &proof.public_inputs, &proof.proof)
        .expect("verifies");
}

#[test]
fn bad_witnesses_are_clear_errors() {
    let shape = |c: Circuit, json: serde_json::Value| match c.parse_witness(&json) {
        Err(CircuitError::WitnessShape { reason, .. }) => reason,
        other => panic!("{c}: expected a shape error, got {other:?}"),
    };
    let range = |c: Circuit, json: serde_json::Value| match c.parse_witness(&json) {
        Err(CircuitError::WitnessRange { field, .. }) => field,
        other => panic!("{c}: expected a range error, got {other:?}"),
    };
    shape(Circuit::PoseidonChain12, serde_json::json!({"seed": 5}));
    shape(
        Circuit::PoseidonChain12,
        serde_json::json!({"seed": "5", "extra": 1}),
    );
    shape(Circuit::PoseidonChain12, serde_json::json!([1, 2]));
    assert_eq!(
        range(
            Circuit::PoseidonChain12,
            serde_json::json!({"seed": "21888242871839275222246405745257275088548364400416034343698204186575808495617"})
        ),
        "seed"
    );
    let mut merkle = Circuit::MerkleMembership.example_witness();
    merkle["index"] = serde_json::json!(1 << 20);
    assert_eq!(range(Circuit::MerkleMembership, merkle.clone()), "index");
    merkle["index"] = serde_json::json!(3);
    merkle["siblings"].as_array_mut().expect("array").pop();
    assert!(shape(Circuit::MerkleMembership, merkle).contains("20 entries"));

    let mut model = small_model().example_witness();
    model["model"]["weights"][1][2][7] = serde_json::json!(1 << 15);
    assert_eq!(range(small_model(), model), "model");
    let mut model = small_model().example_witness();
    model["model"]["biases"][0] = serde_json::json!([1, 2, 3]);
    shape(small_model(), model);
    let mut model = small_model().example_witness();
    model["input"] = serde_json::json!([1, 2, 3]);
    assert_eq!(range(small_model(), model), "input");
    assert!(
        Circuit::PoseidonChain12
            .parse_witness_str("{not json")
            .is_err()
    );
    assert!(matches!(
        "no-such-circuit".parse::<Circuit>(),
        Err(CircuitError::UnknownCircuit(_))
    ));
}
