//! The JSON file `provernet prove` writes and `provernet verify` reads.
//!
//! ```json
//! {"circuit": "poseidon-chain-12", "circuit_id": "0x…", "public_inputs": ["0x…"], "proof": "0x…"}
//! ```
//! Public inputs are 32-byte big-endian hex; the proof is hex.

use provernet_protocol::primitives::{from_hex, to_hex};
use provernet_protocol::{CircuitId, FieldBytes};
use serde::{Deserialize, Serialize};

use crate::circuits::Circuit;
use crate::prover::Proof;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofJson {
    circuit: String,
    circuit_id: String,
    public_inputs: Vec<String>,
    proof: String,
}

/// Renders a proof as the file's JSON.
pub fn to_json(proof: &Proof) -> String {
    let json = ProofJson {
        circuit: proof.circuit.name().to_owned(),
        circuit_id: proof.circuit_id.to_string(),
        public_inputs: proof
            .public_inputs
            .iter()
            .map(|x| format!("0x{}", to_hex(&x.0)))
            .collect(),
        proof: format!("0x{}", to_hex(&proof.proof)),
    };
    serde_json::to_string_pretty(&json).unwrap_or_default()
}

/// Parses the file's JSON; errors say which field is wrong.
pub fn from_json(text: &str) -> Result<Proof, String> {
    let json: ProofJson =
        serde_json::from_str(text).map_err(|e| format!("not a proof file: {e}"))?;
    let circuit: Circuit = json.circuit.parse().map_err(|e| format!("{e}"))?;
    let circuit_id =
        CircuitId(fixed(&json.circuit_id).ok_or("`circuit_id` is not 32 bytes of 0x-hex")?);
    let public_inputs = json
        .public_inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            fixed(x)
                .map(FieldBytes)
                .ok_or(format!("`public_inputs[{i}]` is not 32 bytes of 0x-hex"))
        })
        .collect::<Result<_, _>>()?;
    let proof = hex(&json.proof).ok_or("`proof` is not 0x-hex")?;
    Ok(Proof {
        circuit,
        circuit_id,
        public_inputs,
        proof,
    })
}

fn hex(text: &str) -> Option<Vec<u8>> {
    from_hex(text.strip_prefix("0x")?)
}

fn fixed(text: &str) -> Option<[u8; 32]> {
    hex(text)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let proof = Proof {
            circuit: Circuit::MerkleMembership,
            circuit_id: CircuitId([7; 32]),
            public_inputs: vec![FieldBytes([1; 32]), FieldBytes([2; 32])],
            proof: vec![0, 1, 0xfe, 0xff],
        };
        assert_eq!(from_json(&to_json(&proof)), Ok(proof));
        assert!(from_json("{}").is_err());
        let bad = r#"{"circuit":"merkle-membership","circuit_id":"0x07","public_inputs":[],"proof":"0x"}"#;
        assert!(from_json(bad).expect_err("short id").contains("circuit_id"));
        let bad = r#"{"circuit":"nope","circuit_id":"0x07","public_inputs":[],"proof":"0x"}"#;
        assert!(
            from_json(bad)
                .expect_err("unknown")
                .contains("unknown circuit")
        );
        let id = format!("0x{}", "07".repeat(32));
        let bad = format!(
            r#"{{"circuit":"merkle-membership","circuit_id":"{id}","public_inputs":["0x1"],"proof":"0x"}}"#
        );
        assert!(
            from_json(&bad)
                .expect_err("short input")
                .contains("public_inputs[0]")
        );
        let bad = format!(
            r#"{{"circuit":"merkle-membership","circuit_id":"{id}","public_inputs":[],"proof":"0xabc"}}"#
        );
        assert!(from_json(&bad).expect_err("odd hex").contains("proof"));
    }
}
