//! Sample messages, keys and proptest strategies shared by the tests.

use ed25519_dalek::SigningKey;
use proptest::collection::{hash_set, vec};
use proptest::prelude::*;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    Acceptance, Address, Award, Bid, ChallengeKind, ChallengeNotice, CircuitId, CommitmentNotice,
    Context, EthSignature, FieldBytes, Hash32, InputRequest, InputResponse, JobId, JobLeaf,
    JobRequest, PeerKey, ProofBody, ProofRequest, ProofResponse, ProverAdvert, Refusal, Response,
    Wei,
};

pub const CHAIN_ID: u64 = 31337;
pub const NOW: u64 = 1_800_000_000;

pub fn context() -> Context {
    Context::new(CHAIN_ID)
}

pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

pub fn peer(seed: u8) -> PeerKey {
    PeerKey::from(key(seed).verifying_key())
}

pub fn bid() -> Bid {
    Bid {
        job_id: JobId([1; 32]),
        round: 0,
        price: 5_000,
        promised_deadline: NOW + 120,
        prover: Address([2; 20]),
        signature: EthSignature([3; 65]),
    }
}

pub fn job_request() -> JobRequest {
    JobRequest {
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
    }
}

/// A commitment notice for leaf `index` of a batch of `others + 1` leaves.
pub fn commitment(leaf: JobLeaf, others: &[Hash32], index: usize) -> CommitmentNotice {
    let mut leaves = others.to_vec();
    let index = index.min(leaves.len());
    leaves.insert(index, leaf.hash());
    let tree = MerkleTree::new(leaves).expect("at least one leaf");
    CommitmentNotice {
        prover: Address([4; 20]),
        batch_root: tree.root(),
        batch_size: tree.len() as u32,
        leaf_index: index as u32,
        leaf,
        merkle_path: tree.path(index).expect("index in range"),
        commit_block: 77,
    }
}

pub fn job_leaf() -> JobLeaf {
    JobLeaf {
        job_id: JobId([1; 32]),
        circuit_id: CircuitId([9; 32]),
        public_inputs_hash: JobLeaf::public_inputs_hash(&[FieldBytes([5; 32])]),
        proof_hash: Hash32([6; 32]),
        client: Address([7; 20]),
        price: 5_000,
    }
}

// ---- proptest strategies: arbitrary valid domain values ----

fn bytes32() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn address() -> impl Strategy<Value = Address> {
    any::<[u8; 20]>()
        .prop_filter("non-zero", |a| *a != [0; 20])
        .prop_map(Address)
}

fn eth_signature() -> impl Strategy<Value = EthSignature> {
    vec(any::<u8>(), 65).prop_map(|v| EthSignature(v.try_into().expect("65 bytes")))
}

fn wei() -> impl Strategy<Value = Wei> {
    1..=Wei::MAX
}

fn round() -> impl Strategy<Value = u32> {
    0..provernet_protocol::kind::MAX_AUCTION_ROUNDS
}

fn peer_key() -> impl Strategy<Value = PeerKey> {
    bytes32().prop_map(|seed| PeerKey::from(SigningKey::from_bytes(&seed).verifying_key()))
}

pub fn arb_job_request() -> impl Strategy<Value = JobRequest> {
    (
        (
            bytes32(),
            bytes32(),
            bytes32(),
            1..=provernet_protocol::kind::MAX_INPUT_BYTES,
            wei(),
        ),
        (
            1..u64::MAX / 2,
            1..u64::MAX / 2,
            address(),
            any::<u64>(),
            round(),
        ),
        eth_signature(),
    )
        .prop_map(
            |(
                (circuit, input, statement, input_size, max_price),
                (window, extra, client, nonce, round),
                sig,
            )| {
                JobRequest {
                    circuit_id: CircuitId(circuit),
                    input_hash: Hash32(input),
                    public_inputs_hash: Hash32(statement),
                    input_size,
                    max_price,
                    bid_window_ends: window,
                    proving_deadline: window + extra,
                    client,
                    nonce,
                    round,
                    client_signature: sig,
                    circuit_name: String::new(),
                }
            },
        )
}

pub fn arb_bid() -> impl Strategy<Value = Bid> {
    (
        bytes32(),
        round(),
        wei(),
        1..=u64::MAX,
        address(),
        eth_signature(),
    )
        .prop_map(|(job, round, price, deadline, prover, signature)| Bid {
            job_id: JobId(job),
            round,
            price,
            promised_deadline: deadline,
            prover,
            signature,
        })
}

pub fn arb_award() -> impl Strategy<Value = Award> {
    (
        bytes32(),
        round(),
        address(),
        peer_key(),
        wei(),
        1..=u64::MAX,
        eth_signature(),
    )
        .prop_map(
            |(job, round, prover, prover_key, price, deadline, signature)| Award {
                job_id: JobId(job),
                round,
                prover,
                prover_key,
                price,
                deadline,
                signature,
            },
        )
}

pub fn arb_acceptance() -> impl Strategy<Value = Acceptance> {
    (
        bytes32(),
        round(),
        bytes32(),
        wei(),
        1..=u64::MAX,
        eth_signature(),
    )
        .prop_map(
            |(job, round, input, price, deadline, signature)| Acceptance {
                job_id: JobId(job),
                round,
                input_hash: Hash32(input),
                price,
                deadline,
                signature,
            },
        )
}

pub fn arb_advert() -> impl Strategy<Value = ProverAdvert> {
    (
        address(),
        hash_set(bytes32(), 1..=64),
        1..=u32::MAX,
        any::<u32>(),
    )
        .prop_map(|(stake_address, circuits, capacity, queued)| ProverAdvert {
            stake_address,
            circuits: circuits.into_iter().map(CircuitId).collect(),
            capacity,
            queued,
        })
}

pub fn arb_input_request() -> impl Strategy<Value = InputRequest> {
    (bytes32(), round()).prop_map(|(job, round)| InputRequest {
        job_id: JobId(job),
        round,
    })
}

fn refusal() -> impl Strategy<Value = Refusal> {
    prop_oneof![
        Just(Refusal::UnknownJob),
        Just(Refusal::NotAuthorized),
        Just(Refusal::Unavailable),
        Just(Refusal::Busy),
    ]
}

pub fn arb_input_response() -> impl Strategy<Value = InputResponse> {
    let input = prop_oneof![
        vec(any::<u8>(), 1..2048).prop_map(Response::Ok),
        refusal().prop_map(Response::Refused),
    ];
    (bytes32(), input).prop_map(|(job, input)| InputResponse {
        job_id: JobId(job),
        input,
    })
}

pub fn arb_proof_request() -> impl Strategy<Value = ProofRequest> {
    bytes32().prop_map(|job| ProofRequest { job_id: JobId(job) })
}

pub fn arb_proof_response() -> impl Strategy<Value = ProofResponse> {
    let body = (bytes32(), vec(bytes32(), 0..16), vec(any::<u8>(), 1..4096)).prop_map(
        |(circuit, inputs, proof)| ProofBody {
            circuit_id: CircuitId(circuit),
            public_inputs: inputs.into_iter().map(FieldBytes).collect(),
            proof,
        },
    );
    let body = prop_oneof![
        body.prop_map(Response::Ok),
        refusal().prop_map(Response::Refused)
    ];
    (bytes32(), body).prop_map(|(job, body)| ProofResponse {
        job_id: JobId(job),
        body,
    })
}

pub fn arb_job_leaf() -> impl Strategy<Value = JobLeaf> {
    (
        bytes32(),
        bytes32(),
        bytes32(),
        bytes32(),
        address(),
        any::<u128>(),
    )
        .prop_map(|(job, circuit, inputs, proof, client, price)| JobLeaf {
            job_id: JobId(job),
            circuit_id: CircuitId(circuit),
            public_inputs_hash: Hash32(inputs),
            proof_hash: Hash32(proof),
            client,
            price,
        })
}

pub fn arb_commitment() -> impl Strategy<Value = CommitmentNotice> {
    (
        arb_job_leaf(),
        vec(bytes32(), 0..40),
        any::<usize>(),
        address(),
        any::<u64>(),
    )
        .prop_map(|(leaf, others, index, prover, block)| {
            let others: Vec<Hash32> = others.into_iter().map(Hash32).collect();
            let index = index % (others.len() + 1);
            CommitmentNotice {
                prover,
                commit_block: block,
                ..commitment(leaf, &others, index)
            }
        })
}

pub fn arb_challenge() -> impl Strategy<Value = ChallengeNotice> {
    let kind = prop_oneof![
        Just(ChallengeKind::InvalidProof),
        Just(ChallengeKind::WithheldProof),
        Just(ChallengeKind::MissedDeadline),
        Just(ChallengeKind::Equivocation),
    ];
    (
        bytes32(),
        kind,
        address(),
        address(),
        bytes32(),
        1..=u64::MAX,
    )
        .prop_map(
            |(job, kind, prover, challenger, tx, block)| ChallengeNotice {
                job_id: JobId(job),
                kind,
                prover,
                challenger,
                tx_hash: Hash32(tx),
                block,
            },
        )
}
