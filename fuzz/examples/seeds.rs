//! Writes valid inputs for every fuzz target into `fuzz/corpus/<target>/` (or the
//! folder given as the first argument), so the fuzzer starts from messages that pass
//! every check and mutates from there: random bytes almost never carry a Merkle path
//! that verifies or a signature that holds.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds` (scripts/fuzz.sh
//! runs it when a corpus folder is missing).

use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use provernet_circuits::Circuit;
use provernet_circuits::job::SubmitRequest;
use provernet_fuzz::{CHAIN_ID, NOW, context};
use provernet_protocol::frame::encode_prefix;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::primitives::to_hex;
use provernet_protocol::{
    Acceptance, Address, Award, BatchRequest, BatchResponse, Bid, ChallengeKind, ChallengeNotice,
    CircuitId, CommitmentNotice, EthSignature, FieldBytes, Hash32, InputRequest, InputResponse,
    JobId, JobLeaf, JobRequest, MessageKind, Payload, PeerKey, ProofBody, ProofRequest,
    ProofResponse, ProverAdvert, Refusal, Response, SignedEnvelope,
};

fn leaf(n: u8) -> JobLeaf {
    JobLeaf {
        job_id: JobId([n; 32]),
        circuit_id: CircuitId([9; 32]),
        public_inputs_hash: JobLeaf::public_inputs_hash(&[FieldBytes([5; 32])]),
        proof_hash: Hash32([6; 32]),
        client: Address([7; 20]),
        price: 5_000 + u128::from(n),
    }
}

/// Encoded payloads of every kind, one or more each.
fn payloads() -> Vec<(MessageKind, Vec<u8>)> {
    let key = SigningKey::from_bytes(&[2; 32]);
    let leaves: Vec<JobLeaf> = (0..5).map(leaf).collect();
    let tree = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()).expect("leaves");
    let job_id = JobId([1; 32]);
    let mut out = Vec::new();
    let mut add = |kind: MessageKind, bytes: Vec<u8>| out.push((kind, bytes));
    fn encode<P: Payload>(value: P) -> (MessageKind, Vec<u8>) {
        value.check().expect("seed messages are valid");
        (P::KIND, value.encode_to_vec())
    }
    for (kind, bytes) in [
        encode(JobRequest {
            circuit_id: CircuitId([9; 32]),
            input_hash: Hash32([8; 32]),
            public_inputs_hash: Hash32([6; 32]),
            input_size: 1024,
            max_price: 10_000,
            bid_window_ends: NOW + 5,
            proving_deadline: NOW + 300,
            client: Address([7; 20]),
            nonce: 42,
            round: 0,
            client_signature: EthSignature([4; 65]),
            circuit_name: String::new(),
        }),
        encode(Bid {
            job_id,
            round: 1,
            price: 5_000,
            promised_deadline: NOW + 120,
            prover: Address([2; 20]),
            signature: EthSignature([3; 65]),
        }),
        encode(Award {
            job_id,
            round: 0,
            prover: Address([2; 20]),
            prover_key: PeerKey::from(key.verifying_key()),
            price: 5_000,
            deadline: NOW + 120,
            signature: EthSignature([3; 65]),
        }),
        encode(Acceptance {
            job_id,
            round: 0,
            input_hash: Hash32([8; 32]),
            price: 5_000,
            deadline: NOW + 120,
            signature: EthSignature([3; 65]),
        }),
        encode(InputRequest { job_id, round: 2 }),
        encode(InputResponse {
            job_id,
            input: Response::Ok(br#"{"seed": "20261123"}"#.to_vec()),
        }),
        encode(InputResponse {
            job_id,
            input: Response::Refused(Refusal::NotAuthorized),
        }),
        encode(ProofRequest { job_id }),
        encode(ProofResponse {
            job_id,
            body: Response::Ok(ProofBody {
                circuit_id: CircuitId([9; 32]),
                public_inputs: vec![FieldBytes([5; 32]), FieldBytes([0; 32])],
                proof: vec![0xab; 256],
            }),
        }),
        encode(ProofResponse {
            job_id,
            body: Response::Refused(Refusal::Busy),
        }),
        encode(CommitmentNotice {
            prover: Address([4; 20]),
            batch_root: tree.root(),
            batch_size: tree.len() as u32,
            leaf_index: 3,
            leaf: leaves[3].clone(),
            merkle_path: tree.path(3).expect("in range"),
            commit_block: 77,
        }),
        encode(ChallengeNotice {
            job_id,
            kind: ChallengeKind::Equivocation,
            prover: Address([4; 20]),
            challenger: Address([5; 20]),
            tx_hash: Hash32([6; 32]),
            block: 78,
        }),
        encode(ProverAdvert {
            stake_address: Address([4; 20]),
            circuits: vec![CircuitId([9; 32]), CircuitId([10; 32])],
            capacity: 4,
            queued: 1,
        }),
        encode(BatchRequest { batch_id: 3 }),
        encode(BatchResponse {
            batch_id: 3,
            leaves: Response::Ok(leaves.clone()),
        }),
        encode(BatchResponse {
            batch_id: 3,
            leaves: Response::Refused(Refusal::UnknownJob),
        }),
    ] {
        add(kind, bytes);
    }
    out
}

fn main() {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"),
        PathBuf::from,
    );
    let write = |target: &str, name: String, bytes: &[u8]| {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir).expect("create the corpus folder");
        std::fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
    };
    let key = SigningKey::from_bytes(&[1; 32]);
    let context = context();
    assert_eq!(context.chain_id, CHAIN_ID);

    for (i, (kind, payload)) in payloads().into_iter().enumerate() {
        let selector = MessageKind::ALL
            .iter()
            .position(|k| *k == kind)
            .expect("a kind") as u8;
        write(
            "message",
            format!("{i:02}-{kind:?}"),
            &[&[selector][..], &payload].concat(),
        );
        let envelope = SignedEnvelope::sign_unchecked(kind, &payload, &context, NOW + 60, &key);
        let bytes = envelope.to_bytes();
        write("envelope", format!("{i:02}-{kind:?}"), &bytes);
        write(
            "frame",
            format!("{i:02}-{kind:?}"),
            &[encode_prefix(bytes.len()), bytes].concat(),
        );
    }
    write("frame", "ack".into(), &[0]);

    for (i, circuit) in Circuit::ALL.into_iter().enumerate() {
        let witness = circuit.numbered_witness(7).to_string();
        write(
            "witness",
            circuit.name().into(),
            &[&[i as u8][..], witness.as_bytes()].concat(),
        );
        let request = SubmitRequest {
            circuit: circuit.name().into(),
            input: witness,
            max_price: "1000000".into(),
            deadline_secs: 600,
        };
        let body = serde_json::to_vec(&request).expect("json");
        write(
            "api",
            format!("submit-{}", circuit.name()),
            &[&[0][..], &body].concat(),
        );
    }
    // A signature the node accepts, over a digest like a bid's.
    let wallet: ethers::signers::LocalWallet =
        "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
            .parse()
            .expect("a key");
    let digest = ethers::types::H256([0x42; 32]);
    let signature = provernet_slashing::eip712::sign(&wallet, digest).expect("signs");
    write("eip712", "valid".into(), &[&digest.0[..], &signature].concat());
    let id = format!("0x{}", to_hex(&[0x5a; 32]));
    write("api", "job-id".into(), &[&[1][..], id.as_bytes()].concat());
    println!("seeds written to {}", root.display());
}
