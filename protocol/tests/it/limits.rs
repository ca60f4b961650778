//! The largest valid message of every kind fits its kind's size bound, so honest peers
//! are never refused for size, and every bound is tight enough to matter.

use provernet_protocol::kind::{
    MAX_ADVERTISED_CIRCUITS, MAX_BATCH_LEAVES_SERVED, MAX_BATCH_SIZE, MAX_INPUT_BYTES,
    MAX_PROOF_BYTES, MAX_PUBLIC_INPUTS,
};
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    Acceptance, Award, BatchRequest, BatchResponse, Bid, ChallengeKind, ChallengeNotice, CircuitId,
    FieldBytes, Hash32, InputRequest, InputResponse, JobId, JobLeaf, MessageKind, Payload,
    ProofBody, ProofRequest, ProofResponse, ProverAdvert, Response, SignedEnvelope,
};

use crate::support::*;

fn fits<P: Payload>(message: &P) -> usize {
    let len = message.encode_to_vec().len();
    let max = P::KIND.max_payload_len();
    assert!(
        len <= max,
        "largest {} is {len} bytes, bound {max}",
        P::KIND
    );
    // The bound leaves no more than 2x headroom for small messages (or 1 KiB on big ones).
    assert!(
        max <= (2 * len).max(len + 1024),
        "{} bound {max} is loose for {len}",
        P::KIND
    );
    let envelope = SignedEnvelope::sign(message, &context(), u64::MAX, &key(1)).expect("signable");
    assert!(envelope.to_bytes().len() <= MessageKind::max_envelope_len());
    len
}

#[test]
fn largest_messages_fit() {
    let max = u64::MAX;
    let big = u128::MAX;
    let mut request = job_request();
    (
        request.input_size,
        request.max_price,
        request.proving_deadline,
        request.nonce,
    ) = (MAX_INPUT_BYTES, big, max, max);
    request.bid_window_ends = max - 1;
    request.round = 15;
    request.circuit_name = "9".repeat(provernet_protocol::MAX_CIRCUIT_NAME);
    fits(&request);
    fits(&Bid {
        price: big,
        promised_deadline: max,
        round: 15,
        ..bid()
    });
    fits(&Award {
        job_id: JobId([0xff; 32]),
        round: 15,
        prover: bid().prover,
        prover_key: peer(1),
        price: big,
        deadline: max,
        signature: bid().signature,
    });
    fits(&Acceptance {
        job_id: JobId([0xff; 32]),
        round: 15,
        input_hash: Hash32([0xff; 32]),
        price: big,
        deadline: max,
        signature: bid().signature,
    });
    fits(&InputRequest {
        job_id: JobId([0xff; 32]),
        round: 15,
    });
    fits(&InputResponse {
        job_id: JobId([0xff; 32]),
        input: Response::Ok(vec![0xff; MAX_INPUT_BYTES as usize]),
    });
    fits(&ProofRequest {
        job_id: JobId([0xff; 32]),
    });
    fits(&ProofResponse {
        job_id: JobId([0xff; 32]),
        body: Response::Ok(ProofBody {
            circuit_id: CircuitId([0xff; 32]),
            public_inputs: vec![FieldBytes([0xff; 32]); MAX_PUBLIC_INPUTS],
            proof: vec![0xff; MAX_PROOF_BYTES],
        }),
    });
    // The longest path the wire allows: 32 siblings (a real 2^16-leaf batch needs 16),
    // with the root it leads to.
    let leaf = JobLeaf {
        price: big,
        ..job_leaf()
    };
    let leaves: Vec<Hash32> = (0..1u32 << 16)
        .map(|i| Hash32(provernet_protocol::keccak256(&i.to_be_bytes())))
        .collect();
    let tree = MerkleTree::new(leaves).expect("non-empty");
    let mut notice = commitment(leaf.clone(), &[], 0);
    notice.merkle_path = tree.path(0).expect("in range");
    notice.merkle_path.extend(notice.merkle_path.clone());
    notice.batch_root =
        provernet_protocol::merkle::process_path(&notice.leaf.hash(), &notice.merkle_path);
    notice.batch_size = MAX_BATCH_SIZE;
    notice.leaf_index = MAX_BATCH_SIZE - 1;
    notice.commit_block = max;
    fits(&notice);
    fits(&ChallengeNotice {
        job_id: JobId([0xff; 32]),
        kind: ChallengeKind::Equivocation,
        prover: bid().prover,
        challenger: bid().prover,
        tx_hash: Hash32([0xff; 32]),
        block: max,
    });
    fits(&BatchRequest { batch_id: max });
    fits(&BatchResponse {
        batch_id: max,
        leaves: Response::Ok(vec![leaf.clone(); MAX_BATCH_LEAVES_SERVED]),
    });
    fits(&ProverAdvert {
        stake_address: bid().prover,
        circuits: (0..MAX_ADVERTISED_CIRCUITS as u8)
            .map(|i| CircuitId([i; 32]))
            .collect(),
        capacity: u32::MAX,
        queued: u32::MAX,
    });
}
