//! Every rule a payload must satisfy, one test per rule: each breach is its own error.

use provernet_proto::v1;
use provernet_protocol::kind::{
    MAX_ADVERTISED_CIRCUITS, MAX_AUCTION_ROUNDS, MAX_BATCH_SIZE, MAX_INPUT_BYTES, MAX_MERKLE_DEPTH,
    MAX_PROOF_BYTES, MAX_PUBLIC_INPUTS,
};
use provernet_protocol::{
    Acceptance, Award, Bid, ChallengeKind, ChallengeNotice, CircuitId, CommitmentNotice, Hash32,
    InputResponse, JobId, JobRequest, Payload, PayloadError, ProofResponse, ProverAdvert,
};

use crate::support::*;

fn reject<P: Payload + std::fmt::Debug>(wire: P::Wire) -> PayloadError {
    P::from_wire(wire).expect_err("must be rejected")
}

#[test]
fn fixed_length_fields() {
    let mut wire = v1::Bid::from(&bid());
    wire.job_id.pop();
    assert_eq!(
        reject::<Bid>(wire),
        PayloadError::Length {
            field: "job_id",
            expected: 32,
            got: 31
        }
    );
    let mut wire = v1::Bid::from(&bid());
    wire.prover_address.push(0);
    assert_eq!(
        reject::<Bid>(wire),
        PayloadError::Length {
            field: "prover_address",
            expected: 20,
            got: 21
        }
    );
    let mut wire = v1::Bid::from(&bid());
    wire.eip712_signature.clear();
    assert_eq!(
        reject::<Bid>(wire),
        PayloadError::Length {
            field: "eip712_signature",
            expected: 65,
            got: 0
        }
    );
}

#[test]
fn amounts() {
    let mut wire = v1::JobRequest::from(&job_request());
    wire.max_price[15] = 1; // 2^128
    assert_eq!(
        reject::<JobRequest>(wire),
        PayloadError::AmountTooLarge { field: "max_price" }
    );
    let mut wire = v1::JobRequest::from(&job_request());
    wire.max_price = vec![1; 16]; // a short, unpadded amount
    assert!(matches!(
        reject::<JobRequest>(wire),
        PayloadError::Length {
            field: "max_price",
            ..
        }
    ));
    let mut wire = v1::Acceptance::from(&acceptance());
    wire.price = vec![0; 32];
    assert_eq!(
        reject::<Acceptance>(wire),
        PayloadError::Zero { field: "price" }
    );
}

fn acceptance() -> Acceptance {
    Acceptance {
        job_id: JobId([1; 32]),
        round: 0,
        input_hash: Hash32([8; 32]),
        price: 5_000,
        deadline: NOW + 120,
        signature: bid().signature,
    }
}

#[test]
fn job_request_rules() {
    let mut m = job_request();
    m.bid_window_ends = m.proving_deadline;
    assert!(matches!(
        reject::<JobRequest>((&m).into()),
        PayloadError::Inconsistent(_)
    ));
    // A circuit name is short and plain: a peer cannot make nodes keep or log long or
    // odd strings. The longest allowed one decodes.
    for name in [
        "a".repeat(65),
        "Model-64".into(),
        "model 64".into(),
        "é".into(),
    ] {
        let m = JobRequest {
            circuit_name: name.clone(),
            ..job_request()
        };
        assert!(
            matches!(
                reject::<JobRequest>((&m).into()),
                PayloadError::Inconsistent(_)
            ),
            "{name}"
        );
    }
    let m = JobRequest {
        circuit_name: "model-64-32r-10-s8".repeat(4)[..64].to_owned(),
        ..job_request()
    };
    assert_eq!(JobRequest::from_wire((&m).into()).expect("decodes"), m);
    let mut m = job_request();
    m.input_size = 0;
    assert!(matches!(
        reject::<JobRequest>((&m).into()),
        PayloadError::OutOfRange {
            field: "input_size",
            ..
        }
    ));
    m.input_size = MAX_INPUT_BYTES + 1;
    assert!(matches!(
        reject::<JobRequest>((&m).into()),
        PayloadError::OutOfRange {
            field: "input_size",
            ..
        }
    ));
    let mut m = job_request();
    m.client.0 = [0; 20];
    assert_eq!(
        reject::<JobRequest>((&m).into()),
        PayloadError::Zero {
            field: "client_address"
        }
    );
    let mut m = job_request();
    m.round = MAX_AUCTION_ROUNDS;
    assert!(matches!(
        reject::<JobRequest>((&m).into()),
        PayloadError::OutOfRange { field: "round", .. }
    ));
}

#[test]
fn bid_and_award_rules() {
    let mut m = bid();
    m.promised_deadline = 0;
    assert_eq!(
        reject::<Bid>((&m).into()),
        PayloadError::Zero {
            field: "promised_deadline"
        }
    );

    let award = Award {
        job_id: JobId([1; 32]),
        round: 1,
        prover: bid().prover,
        prover_key: peer(3),
        price: 5_000,
        deadline: NOW + 120,
        signature: bid().signature,
    };
    Award::from_wire((&award).into()).expect("valid award");
    let mut wire = v1::Award::from(&award);
    wire.prover_key = {
        let mut identity = vec![0u8; 32];
        identity[0] = 1;
        identity
    };
    assert_eq!(
        reject::<Award>(wire),
        PayloadError::InvalidKey {
            field: "prover_key"
        }
    );
}

#[test]
fn advert_rules() {
    let advert = ProverAdvert {
        stake_address: bid().prover,
        circuits: vec![CircuitId([1; 32]), CircuitId([2; 32])],
        capacity: 2,
        queued: 0,
    };
    ProverAdvert::from_wire((&advert).into()).expect("valid advert");
    let mut m = advert.clone();
    m.circuits.push(CircuitId([1; 32]));
    assert_eq!(
        reject::<ProverAdvert>((&m).into()),
        PayloadError::Duplicate { field: "circuits" }
    );
    let mut m = advert.clone();
    m.circuits.clear();
    assert!(matches!(
        reject::<ProverAdvert>((&m).into()),
        PayloadError::OutOfRange {
            field: "circuits",
            ..
        }
    ));
    let mut wire = v1::ProverAdvert::from(&advert);
    wire.circuits = (0..=MAX_ADVERTISED_CIRCUITS as u8)
        .map(|i| vec![i; 32])
        .collect();
    assert!(matches!(
        reject::<ProverAdvert>(wire),
        PayloadError::TooLong {
            field: "circuits",
            ..
        }
    ));
    let mut m = advert;
    m.capacity = 0;
    assert_eq!(
        reject::<ProverAdvert>((&m).into()),
        PayloadError::Zero { field: "capacity" }
    );
}

#[test]
fn response_status_rules() {
    let ok = v1::InputResponse {
        job_id: vec![1; 32],
        status: v1::ResponseStatus::Ok as i32,
        input: vec![1, 2, 3],
    };
    InputResponse::from_wire(ok.clone()).expect("valid");
    let unspecified = v1::InputResponse {
        status: 0,
        ..ok.clone()
    };
    assert_eq!(
        reject::<InputResponse>(unspecified),
        PayloadError::UnknownEnum {
            field: "status",
            value: 0
        }
    );
    let refusal_with_body = v1::InputResponse {
        status: v1::ResponseStatus::Busy as i32,
        ..ok.clone()
    };
    assert!(matches!(
        reject::<InputResponse>(refusal_with_body),
        PayloadError::Inconsistent(_)
    ));
    let empty = v1::InputResponse {
        input: Vec::new(),
        ..ok.clone()
    };
    assert!(matches!(
        reject::<InputResponse>(empty),
        PayloadError::OutOfRange { field: "input", .. }
    ));
    let huge = v1::InputResponse {
        input: vec![0; MAX_INPUT_BYTES as usize + 1],
        ..ok
    };
    assert!(matches!(
        reject::<InputResponse>(huge),
        PayloadError::OutOfRange { field: "input", .. }
    ));
}

#[test]
fn proof_response_rules() {
    let ok = v1::ProofResponse {
        job_id: vec![1; 32],
        status: v1::ResponseStatus::Ok as i32,
        circuit_id: vec![2; 32],
        public_inputs: vec![vec![3; 32]],
        proof: vec![4; 100],
    };
    ProofResponse::from_wire(ok.clone()).expect("valid");
    let empty_proof = v1::ProofResponse {
        proof: Vec::new(),
        ..ok.clone()
    };
    assert!(matches!(
        reject::<ProofResponse>(empty_proof),
        PayloadError::OutOfRange { field: "proof", .. }
    ));
    let huge_proof = v1::ProofResponse {
        proof: vec![0; MAX_PROOF_BYTES + 1],
        ..ok.clone()
    };
    assert!(matches!(
        reject::<ProofResponse>(huge_proof),
        PayloadError::OutOfRange { field: "proof", .. }
    ));
    let many_inputs = v1::ProofResponse {
        public_inputs: vec![vec![0; 32]; MAX_PUBLIC_INPUTS + 1],
        ..ok.clone()
    };
    assert!(matches!(
        reject::<ProofResponse>(many_inputs),
        PayloadError::TooLong {
            field: "public_inputs",
            ..
        }
    ));
    let short_input = v1::ProofResponse {
        public_inputs: vec![vec![0; 31]],
        ..ok.clone()
    };
    assert!(matches!(
        reject::<ProofResponse>(short_input),
        PayloadError::Length {
            field: "public_inputs",
            ..
        }
    ));
    let refusal_with_proof = v1::ProofResponse {
        status: v1::ResponseStatus::Unavailable as i32,
        ..ok
    };
    assert!(matches!(
        reject::<ProofResponse>(refusal_with_proof),
        PayloadError::Inconsistent(_)
    ));
}

fn notice() -> CommitmentNotice {
    let others: Vec<Hash32> = (0..6u8).map(|i| Hash32([i; 32])).collect();
    commitment(job_leaf(), &others, 3)
}

#[test]
fn commitment_rules() {
    CommitmentNotice::from_wire((&notice()).into()).expect("valid notice");

    let mut m = notice();
    m.leaf.price += 1; // content differs from what the root commits to
    assert_eq!(
        reject::<CommitmentNotice>((&m).into()),
        PayloadError::MerklePath
    );
    let mut m = notice();
    m.merkle_path[0].0[0] ^= 1;
    assert_eq!(
        reject::<CommitmentNotice>((&m).into()),
        PayloadError::MerklePath
    );
    let mut m = notice();
    m.leaf_index = m.batch_size;
    assert!(matches!(
        reject::<CommitmentNotice>((&m).into()),
        PayloadError::OutOfRange {
            field: "leaf_index",
            ..
        }
    ));
    let mut m = notice();
    m.batch_size = MAX_BATCH_SIZE + 1;
    assert!(matches!(
        reject::<CommitmentNotice>((&m).into()),
        PayloadError::OutOfRange {
            field: "batch_size",
            ..
        }
    ));
    let mut wire = v1::CommitmentNotice::from(&notice());
    wire.merkle_path = vec![vec![0; 32]; MAX_MERKLE_DEPTH + 1];
    assert!(matches!(
        reject::<CommitmentNotice>(wire),
        PayloadError::TooLong {
            field: "merkle_path",
            ..
        }
    ));
    let mut wire = v1::CommitmentNotice::from(&notice());
    wire.leaf = None;
    assert_eq!(
        reject::<CommitmentNotice>(wire),
        PayloadError::Zero { field: "leaf" }
    );
}

#[test]
fn challenge_rules() {
    let challenge = ChallengeNotice {
        job_id: JobId([1; 32]),
        kind: ChallengeKind::WithheldProof,
        prover: bid().prover,
        challenger: job_request().client,
        tx_hash: Hash32([5; 32]),
        block: 12,
    };
    ChallengeNotice::from_wire((&challenge).into()).expect("valid");
    let mut wire = v1::ChallengeNotice::from(&challenge);
    wire.kind = 9;
    assert_eq!(
        reject::<ChallengeNotice>(wire),
        PayloadError::UnknownEnum {
            field: "kind",
            value: 9
        }
    );
    let mut m = challenge;
    m.block = 0;
    assert_eq!(
        reject::<ChallengeNotice>((&m).into()),
        PayloadError::Zero { field: "block" }
    );
}
