//! Vectors shared with the Solidity tests (contracts/test/fixtures/): the committed file
//! must be what this code computes now, so the Rust and Solidity sides cannot drift apart.
//! Regenerate with `scripts/regen-fixtures.sh` (sets PROVERNET_UPDATE_FIXTURES=1).

use std::fmt::Write as _;
use std::path::PathBuf;

use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::primitives::to_hex;
use provernet_protocol::{Address, CircuitId, FieldBytes, Hash32, JobId, JobLeaf, keccak256};

fn fixture_path() -> PathBuf {
    // Cargo sets the variable at run time too, and that value names this checkout even
    // when the binary was built from another one sharing the target directory.
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("../contracts/test/fixtures/batch-leaves.json")
}

fn hex(bytes: &[u8]) -> String {
    format!("\"0x{}\"", to_hex(bytes))
}

/// Five jobs with varied public inputs and prices (some above 2^64, one with no inputs).
fn batch_leaves_json() -> String {
    let cases: Vec<(JobLeaf, Vec<FieldBytes>)> = (0u8..5)
        .map(|i| {
            let inputs: Vec<FieldBytes> = (0..i).map(|j| FieldBytes(keccak256(&[i, j]))).collect();
            let leaf = JobLeaf {
                job_id: JobId(keccak256(&[b'j', i])),
                circuit_id: CircuitId(keccak256(&[b'c', i % 2])),
                public_inputs_hash: JobLeaf::public_inputs_hash(&inputs),
                proof_hash: Hash32(keccak256(&[b'p', i])),
                client: Address([0x10 + i; 20]),
                price: (u128::from(i) + 1) << (30 * u32::from(i % 4)),
            };
            (leaf, inputs)
        })
        .collect();
    let tree =
        MerkleTree::new(cases.iter().map(|(leaf, _)| leaf.hash()).collect()).expect("five leaves");
    let mut json = String::from("{\n");
    let _ = writeln!(json, "  \"count\": {},", cases.len());
    let _ = writeln!(json, "  \"root\": {},", hex(&tree.root().0));
    json.push_str("  \"cases\": [\n");
    for (i, (leaf, inputs)) in cases.iter().enumerate() {
        let inputs: Vec<String> = inputs.iter().map(|x| hex(&x.0)).collect();
        let path: Vec<String> = tree
            .path(i)
            .expect("in range")
            .iter()
            .map(|h| hex(&h.0))
            .collect();
        let _ = write!(
            json,
            "    {{\"jobId\": {}, \"circuitId\": {}, \"publicInputs\": [{}], \
             \"publicInputsHash\": {}, \"proofHash\": {}, \"client\": {}, \"price\": \"{}\", \
             \"leaf\": {}, \"path\": [{}]}}",
            hex(&leaf.job_id.0),
            hex(&leaf.circuit_id.0),
            inputs.join(", "),
            hex(&leaf.public_inputs_hash.0),
            hex(&leaf.proof_hash.0),
            hex(&leaf.client.0),
            leaf.price,
            hex(&leaf.hash().0),
            path.join(", "),
        );
        json.push_str(if i + 1 < cases.len() { ",\n" } else { "\n" });
    }
    json.push_str("  ]\n}\n");
    json
}

#[test]
fn batch_leaves_fixture_is_current() {
    let expected = batch_leaves_json();
    let path = fixture_path();
    if std::env::var_os("PROVERNET_UPDATE_FIXTURES").is_some() {
        std::fs::write(&path, &expected).expect("write fixture");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == expected,
        "{} is stale or missing: run scripts/regen-fixtures.sh and commit the result",
        path.display()
    );
}
