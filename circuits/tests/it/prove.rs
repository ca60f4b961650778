//! Every circuit proves and verifies; bad proofs, inputs and witnesses are clear errors.

use provernet_circuits::circuits::mlp;
use provernet_circuits::{Circuit, CircuitError, field};
use provernet_protocol::FieldBytes;

use crate::support::{example_proof, prover};

#[test]
fn every_circuit_proves_and_verifies_with_the_native_public_inputs() {
    for circuit in Circuit::ALL {
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
    for circuit in [Circuit::PoseidonChain12, Circuit::MlpInference] {
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
    // The mlp proof does not verify for another claimed output.
    let proof = example_proof(Circuit::MlpInference);
    let mut claimed = proof.public_inputs.clone();
    claimed[1 + mlp::INPUTS] = field::to_bytes(&field::from_i64(12345));
    assert!(
        prover()
            .verify(Circuit::MlpInference, &claimed, &proof.proof)
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

/// The perceptron of the `mlp-inference` docs, computed here independently from the JSON.
fn reference_output(json: &serde_json::Value) -> Vec<i64> {
    let ints = |v: &serde_json::Value| -> Vec<i64> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_i64().expect("int"))
            .collect()
    };
    let rows = |v: &serde_json::Value| -> Vec<Vec<i64>> {
        v.as_array().expect("rows").iter().map(ints).collect()
    };
    let layer = |w: &[Vec<i64>], b: &[i64], x: &[i64]| -> Vec<i64> {
        w.iter()
            .zip(b)
            .map(|(row, b)| {
                let acc: i64 = row.iter().zip(x).map(|(w, x)| w * x).sum::<i64>() + 256 * b;
                acc.div_euclid(256)
            })
            .collect()
    };
    let m = &json["model"];
    let hidden: Vec<i64> = layer(&rows(&m["w1"]), &ints(&m["b1"]), &ints(&json["input"]))
        .into_iter()
        .map(|h| h.max(0))
        .collect();
    layer(&rows(&m["w2"]), &ints(&m["b2"]), &hidden)
}

#[test]
fn mlp_output_is_the_models_output() {
    let json = Circuit::MlpInference.example_witness();
    let expected = reference_output(&json);
    let proof = example_proof(Circuit::MlpInference);
    let outputs = &proof.public_inputs[1 + mlp::INPUTS..];
    let expected_bytes: Vec<FieldBytes> = expected
        .iter()
        .map(|y| field::to_bytes(&field::from_i64(*y)))
        .collect();
    assert_eq!(outputs, expected_bytes.as_slice(), "expected {expected:?}");
    // The example exercises both signs.
    assert!(
        expected.iter().any(|y| *y < 0) && expected.iter().any(|y| *y > 0),
        "{expected:?}"
    );
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

    let mut model = Circuit::MlpInference.example_witness();
    model["model"]["w2"][1][7] = serde_json::json!(1 << 15);
    assert_eq!(range(Circuit::MlpInference, model), "model.w2[1][7]");
    let mut model = Circuit::MlpInference.example_witness();
    model["input"] = serde_json::json!([1, 2, 3]);
    assert!(shape(Circuit::MlpInference, model).contains("input"));
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

#[test]
fn a_witness_at_the_edge_of_its_range_proves() {
    // Largest magnitudes everywhere: the range checks and fixed-point arithmetic must not
    // overflow, and the circuit must agree with the native computation.
    let mut model = Circuit::MlpInference.example_witness();
    let max = (1i64 << 15) - 1;
    for layer in ["w1", "w2"] {
        for row in model["model"][layer].as_array_mut().expect("rows") {
            for (i, v) in row.as_array_mut().expect("row").iter_mut().enumerate() {
                *v = serde_json::json!(if i % 2 == 0 { max } else { -max });
            }
        }
    }
    model["input"] = serde_json::json!([max, -max, max, -max]);
    let witness = Circuit::MlpInference
        .parse_witness(&model)
        .expect("in range");
    let proof = prover().prove(&witness).expect("proves");
    let native: Vec<FieldBytes> = witness
        .public_inputs()
        .iter()
        .map(field::to_bytes)
        .collect();
    assert_eq!(proof.public_inputs, native);
    prover()
        .verify(Circuit::MlpInference, &proof.public_inputs, &proof.proof)
        .expect("verifies");
}
