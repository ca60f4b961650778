//! A staked key that floods valid messages: everything it signs passes every check a
//! message alone can be held to, so only quotas per key stop it being forwarded.

use std::time::Duration;

use ethers::signers::Signer;
use ethers::types::U256;
use provernet_circuits::Circuit;
use provernet_node::service::{NodeHandle, now_s};
use provernet_protocol::{
    Address, Bid, CircuitId, CommitmentNotice, Context, EthSignature, Hash32, JobId, JobLeaf,
    ProverAdvert, SignedEnvelope,
};
use provernet_slashing::eip712::{self, Domain};

use crate::support::{
    Testnet, eventually, stored_request, submit, unbudgeted, validations, wait_for_state, wallet,
};

/// The staked attacker's wallet.
const ROGUE: u32 = 4;

/// A prover stakes, then floods the topic with messages only a staked key may send, each
/// valid on its own: 300 bids on an honest client's job (a new price in each, EIP-712
/// signed by its stake address), 200 prover adverts and 2,000 commitment notices of
/// batches it made up (each with a valid Merkle path). Every one used to be accepted and
/// forwarded network-wide. Now a key's bid on a job is forwarded once (the rest are
/// ignored and charged to it on that client's jobs, and past 16 charges it is not heard
/// on them at all), and its adverts and notices are
/// held to a budget per key (one advert a second; 256 notices a second, a full batch at
/// once). The honest job settles all the same (the rogue's cheapest bid may win a round
/// it then never takes; the next round goes to the honest prover).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staked_key_flooding_valid_messages_is_forwarded_only_within_its_quotas() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    net.register_prover(ROGUE).await;
    let prover = net
        .start(unbudgeted(net.config("prover", true, false)), 3)
        .await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 11, 1_000_000, 120))
        .await
        .expect("submitted");
    let request = stored_request(&client, &id).await;
    // The prover holds the request (once it has read the client's deposit).
    eventually(30, "the prover hears the request", || async {
        (validations(&prover, "job_request", "accept", "ok") >= 1).then_some(())
    })
    .await;
    let key = net.keys(ROGUE).identity;
    let stake_wallet = wallet(&net.anvil, ROGUE);
    let stake_address = Address(stake_wallet.address().0);
    let context = Context::new(net.anvil.chain_id());
    let domain = Domain {
        chain_id: net.anvil.chain_id(),
        market: net.owner.address(),
    };
    let expires = now_s() + 120;
    for price in 1..=300u128 {
        let digest = domain.bid_digest(&eip712::Bid {
            job_id: request.job_id().0,
            price: U256::from(price),
            deadline: request.proving_deadline,
        });
        let bid = Bid {
            job_id: request.job_id(),
            round: request.round,
            prover: stake_address,
            price,
            promised_deadline: request.proving_deadline,
            signature: EthSignature(eip712::sign(&stake_wallet, digest).expect("signs")),
        };
        let frame = SignedEnvelope::sign(&bid, &context, expires, &key).expect("signs");
        rogue.net.publish(frame.to_bytes()).await;
    }
    for i in 0..200u32 {
        let advert = ProverAdvert {
            stake_address,
            circuits: vec![CircuitId([7; 32])],
            capacity: 1,
            queued: i,
        };
        let frame = SignedEnvelope::sign(&advert, &context, expires, &key).expect("signs");
        rogue.net.publish(frame.to_bytes()).await;
    }
    for i in 0..2_000u64 {
        let mut job = [0u8; 32];
        job[..8].copy_from_slice(&i.to_be_bytes());
        let leaf = JobLeaf {
            job_id: JobId(job),
            circuit_id: CircuitId([7; 32]),
            public_inputs_hash: Hash32([1; 32]),
            proof_hash: Hash32([2; 32]),
            client: Address([3; 20]),
            price: 1,
        };
        let notice = CommitmentNotice {
            prover: stake_address,
            batch_root: leaf.hash(),
            batch_size: 1,
            leaf_index: 0,
            leaf,
            merkle_path: Vec::new(),
            commit_block: i + 1,
        };
        let frame = SignedEnvelope::sign(&notice, &context, expires, &key).expect("signs");
        rogue.net.publish(frame.to_bytes()).await;
        if i % 200 == 199 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let judged = |node: &NodeHandle, kind: &str, reason: &str| {
        validations(node, kind, "accept", "ok") + validations(node, kind, "ignore", reason)
    };
    eventually(60, "the prover judges the flood", || async {
        let bids = judged(&prover, "bid", "signer_job_quota")
            + validations(&prover, "bid", "ignore", "signer_over_quota");
        (bids >= 300
            && judged(&prover, "prover_advert", "signer_budget") >= 200
            && judged(&prover, "commitment_notice", "signer_budget") >= 2_000)
            .then_some(())
    })
    .await;
    let accepted = |kind: &str| validations(&prover, kind, "accept", "ok");
    println!(
        "staked flood: the prover accepted {} of 300 bids, {} of 200 adverts, {} of 2,000 notices",
        accepted("bid"),
        accepted("prover_advert"),
        accepted("commitment_notice"),
    );
    assert_eq!(accepted("bid"), 1, "one bid of the key on the job");
    assert!(
        validations(&prover, "bid", "ignore", "signer_over_quota") > 0,
        "past its quota of charges, the key is not heard on the client's jobs at all"
    );
    // A full batch at once plus 256 a second, and one advert a second, two at once: the
    // flood is judged within a couple of seconds.
    assert!(
        accepted("commitment_notice") <= 1_024,
        "a burst of 512 notices and 256 a second"
    );
    assert!(
        accepted("prover_advert") <= 8,
        "two adverts at once and one a second"
    );
    wait_for_state(&client, &id, &["verified", "paid"], 120).await;
}
