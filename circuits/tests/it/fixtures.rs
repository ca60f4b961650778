//! A real EVM verifier and proof for the Solidity tests (contracts/test/fixtures/):
//! written by this crate, never by hand, and checked to be current, so the contracts are
//! tested against what the circuits really produce. Regenerate with
//! `scripts/regen-fixtures.sh`.

use provernet_circuits::Circuit;
use provernet_protocol::FieldBytes;
use provernet_protocol::primitives::{from_hex, to_hex};

use crate::support::{checkout, prover};

fn hex(bytes: &[u8]) -> String {
    format!("\"0x{}\"", to_hex(bytes))
}

/// Verifier creation code and a proof of `poseidon-chain-12`'s example witness. Proof
/// bytes differ on every run (halo2 draws randomness of its own beside the blinding rng).
fn verifier_fixture() -> String {
    let circuit = Circuit::PoseidonChain12;
    let verifier = prover().verifier(circuit).expect("verifier");
    let witness = circuit
        .parse_witness(&circuit.example_witness())
        .expect("example");
    let proof = prover().prove(&witness).expect("proof");
    let inputs: Vec<String> = proof.public_inputs.iter().map(|x| hex(&x.0)).collect();
    format!(
        "{{\n  \"circuit\": \"{}\",\n  \"circuitId\": {},\n  \"proofLength\": {},\n  \
         \"publicInputs\": [{}],\n  \"proof\": {},\n  \"verifierCreationCode\": {}\n}}\n",
        circuit.name(),
        hex(&proof.circuit_id.0),
        proof.proof.len(),
        inputs.join(", "),
        hex(&proof.proof),
        hex(&verifier.creation),
    )
}

#[test]
fn evm_verifier_fixture_is_current() {
    let expected = verifier_fixture();
    let path = checkout().join("contracts/test/fixtures/poseidon-chain-12-verifier.json");
    if std::env::var_os("PROVERNET_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &expected).expect("write fixture");
        return;
    }
    let stale = format!(
        "{} is stale or missing: run scripts/regen-fixtures.sh",
        path.display()
    );
    let committed: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
            .unwrap_or_else(|_| panic!("{stale}"));
    let expected: serde_json::Value = serde_json::from_str(&expected).expect("valid JSON");
    // Everything but the proof is deterministic; proofs carry fresh randomness, so the
    // committed one must instead verify under the current keys.
    for field in [
        "circuit",
        "circuitId",
        "proofLength",
        "publicInputs",
        "verifierCreationCode",
    ] {
        assert_eq!(committed[field], expected[field], "{field}: {stale}");
    }
    let proof = committed["proof"]
        .as_str()
        .and_then(|p| from_hex(p.strip_prefix("0x")?));
    let inputs: Option<Vec<FieldBytes>> = committed["publicInputs"]
        .as_array()
        .expect("array")
        .iter()
        .map(|x| {
            Some(FieldBytes(
                from_hex(x.as_str()?.strip_prefix("0x")?)?.try_into().ok()?,
            ))
        })
        .collect();
    prover()
        .verify(
            Circuit::PoseidonChain12,
            &inputs.expect("inputs"),
            &proof.expect("proof hex"),
        )
        .expect("the committed proof verifies under the current keys");
}
