//! Bad messages never reach market logic and cost their sender.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use ethers::signers::Signer;
use libp2p::PeerId;
use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;
use provernet_protocol::{Address, Bid, Context, EthSignature, JobId, MessageKind, SignedEnvelope};

use crate::support::{Testnet, eventually, submit};

async fn score_of(node: &NodeHandle, peer: PeerId) -> Option<f64> {
    node.net
        .info()
        .await
        .expect("info")
        .peers
        .iter()
        .find(|(p, _)| *p == peer)
        .map(|(_, s)| *s)
}

fn count(node: &NodeHandle, kind: &str, result: &str, reason: &str) -> u64 {
    let text = node.metrics.encode();
    let needle = format!(
        "provernet_net_validation_total{{kind=\"{kind}\",result=\"{result}\",reason=\"{reason}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_rejected_and_their_sender_is_scored_out() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    // The rogue is a node like any other, whose network handle we use to send junk.
    let config = net.config("rogue", false, true);
    let rogue = net.start(config, 2).await;
    net.wait_for_mesh(1).await;
    let rogue_peer = rogue.net.peer_id();
    let chain_id = net.anvil.chain_id();
    let context = Context::new(chain_id);
    let expires = provernet_node::service::now_s() + 60;

    // A request the client really made, so bids for it reach the market rules.
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000_000, 60))
        .await
        .expect("submitted");
    let job = client.job(&id).expect("store").expect("job");
    let current = provernet_node::api::parse_job_id(&job.current_id).expect("id");
    tokio::time::sleep(Duration::from_millis(300)).await;

    // 1. Bytes that are no envelope.
    rogue
        .net
        .publish(b"definitely not an envelope".to_vec())
        .await;
    // 2. A well-formed envelope whose signature is not the signer's.
    let key = SigningKey::from_bytes(&[42; 32]);
    let mut forged =
        SignedEnvelope::sign_unchecked(MessageKind::Bid, b"x", &context, expires, &key).to_bytes();
    let last = forged.len() - 1;
    forged[last] ^= 1;
    rogue.net.publish(forged).await;
    // 3. A validly signed bid claiming a registered prover's address, signed by another key.
    let bid = Bid {
        job_id: current,
        round: 0,
        price: 1,
        promised_deadline: expires,
        prover: Address(net.keys(3).wallet.address().0),
        signature: EthSignature([1; 65]),
    };
    let signed = SignedEnvelope::sign(&bid, &context, expires, &key)
        .expect("sign")
        .to_bytes();
    rogue.net.publish(signed).await;
    // 4. A request in the client's name (its next job id), which only the client's
    //    Ethereum key can sign for this envelope key: refused, so the id stays the client's.
    let squat = provernet_protocol::JobRequest {
        nonce: 1,
        ..job_request_of(&client, &current)
    };
    let signed = SignedEnvelope::sign(&squat, &context, expires, &key)
        .expect("sign")
        .to_bytes();
    rogue.net.publish(signed).await;
    // 5. A request-response frame that is no envelope.
    let _ = rogue
        .net
        .request(client.net.peer_id(), b"junk".to_vec())
        .await;

    eventually(20, "every bad message counted", || {
        let client = client.clone();
        async move {
            (count(&client, "envelope", "reject", "malformed") >= 1
                && count(&client, "envelope", "reject", "bad_signature") >= 1
                && count(&client, "bid", "reject", "signer_not_prover_key") >= 1
                && count(&client, "job_request", "reject", "bad_request_signature") >= 1)
                .then_some(())
        }
    })
    .await;
    let score = eventually(20, "the rogue's score below zero", || {
        let client = client.clone();
        async move { score_of(&client, rogue_peer).await.filter(|s| *s < 0.0) }
    })
    .await;
    assert!(
        score <= -30.0,
        "three rejects and a malformed exchange cost more: {score}"
    );
    let job = client.job(&id).expect("store").expect("job");
    assert!(
        job.price.is_none(),
        "the forged bid never reached the auction"
    );

    // A flood of junk gets the rogue banned and disconnected.
    for n in 0..60u32 {
        rogue.net.publish(format!("junk {n}").into_bytes()).await;
    }
    eventually(20, "the rogue banned", || {
        let client = client.clone();
        async move {
            let info = client.net.info().await.expect("info");
            (info.banned == 1 && !info.peers.iter().any(|(p, _)| *p == rogue_peer)).then_some(())
        }
    })
    .await;
}

/// The request the client node made for `current`, as stored.
fn job_request_of(client: &NodeHandle, current: &JobId) -> provernet_protocol::JobRequest {
    client
        .store
        .client_jobs()
        .expect("store")
        .into_iter()
        .find(|j| j.current_id() == *current)
        .expect("the job")
        .request
        .0
}
