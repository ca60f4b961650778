//! Floods on loopback: a peer publishing 10,000 invalid messages a second is scored out
//! while the market goes on, and a flood of requests costs the node bounded memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;
use provernet_protocol::{
    Address, Bid, ChallengeKind, ChallengeNotice, CircuitId, Context, Hash32, JobId, ProofRequest,
    ProverAdvert, SignedEnvelope,
};

use crate::support::{Testnet, eventually, submit, validations, wait_for_state};

/// This process's resident memory, bytes.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("resident pages");
    pages * 4096
}

async fn banned(node: &NodeHandle, rogue: libp2p::PeerId) -> bool {
    let info = node.net.info().await.expect("info");
    info.banned >= 1 && !info.peers.iter().any(|(p, _)| *p == rogue)
}

/// The market still works: a job is auctioned, proven, delivered and verified.
async fn a_job_is_verified(client: &NodeHandle, n: u64) {
    let id = client
        .submit(submit(Circuit::PoseidonChain12, n, 1_000_000, 60))
        .await
        .expect("submitted");
    wait_for_state(client, &id, &["verified", "paid"], 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_flooding_invalid_gossip_is_scored_out_and_the_market_goes_on() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let rogue_peer = rogue.net.peer_id();
    let rss_before = rss_bytes();

    // 10,000 distinct junk messages a second, 100 every 10 ms, for 3 s.
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    for _ in 0..300 {
        tick.tick().await;
        for _ in 0..100 {
            rogue.net.publish(format!("junk {sent}").into_bytes()).await;
            sent += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "flood: {sent} invalid messages in {secs:.2} s ({:.0}/s)",
        sent as f64 / secs
    );

    for node in [&client, &prover] {
        let node = node.clone();
        eventually(20, "the flooder banned and disconnected", || {
            let node = node.clone();
            async move { banned(&node, rogue_peer).await.then_some(()) }
        })
        .await;
    }
    let grown = rss_bytes().saturating_sub(rss_before);
    println!("flood: resident memory grew by {} KiB", grown / 1024);
    assert!(
        grown < 256 << 20,
        "the flood cost {grown} bytes of memory, more than 256 MiB"
    );
    a_job_is_verified(&client, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_bounded_in_memory_and_the_market_goes_on() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let context = Context::new(net.anvil.chain_id());
    let identity = net.keys(2).identity;
    let expires = provernet_node::service::now_s() + 300;
    let rss_before = rss_bytes();

    // 20,000 well-formed, signed proof requests for jobs the client never had, 1,000 at a
    // time: each costs the client a lookup and a refusal, none is an offence in itself.
    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    for wave in 0..20u64 {
        let mut tasks = Vec::new();
        for i in 0..1_000u64 {
            let n = wave * 1_000 + i;
            let mut job = [0u8; 32];
            job[..8].copy_from_slice(&n.to_be_bytes());
            let frame = SignedEnvelope::sign(
                &ProofRequest { job_id: JobId(job) },
                &context,
                expires,
                &identity,
            )
            .expect("sign")
            .to_bytes();
            let (rogue, client, answered, failed) = (
                rogue.clone(),
                client.net.peer_id(),
                Arc::clone(&answered),
                Arc::clone(&failed),
            );
            tasks.push(tokio::spawn(async move {
                match rogue.net.request(client, frame).await {
                    Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }));
        }
        for task in tasks {
            task.await.expect("request task");
        }
    }
    let (answered, failed) = (
        answered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    println!(
        "request flood: {answered} answered, {failed} refused or failed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(answered + failed, 20_000, "every request came to an end");
    assert!(
        answered >= 1_000,
        "the client kept answering through the flood ({answered} answered)"
    );
    let grown = rss_bytes().saturating_sub(rss_before);
    println!(
        "request flood: resident memory grew by {} KiB",
        grown / 1024
    );
    assert!(
        grown < 256 << 20,
        "the flood cost {grown} bytes of memory, more than 256 MiB"
    );
    a_job_is_verified(&client, 1).await;
}

/// One key floods the topic with valid, signed messages that the market has no use for:
/// challenge notices (no node needs one: challenges are on chain), and bids and prover
/// adverts from a key with no stake, each signed to live as long as an envelope may. They
/// used to enter every node's replay cache, which then refused every new envelope, honest
/// ones included, network-wide. Only envelopes the market accepts are recorded now: with
/// every node's cache cut to 500 entries, 6,000 such messages fill nothing, none is
/// forwarded, and an honest job is auctioned, proven and verified after the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_valid_but_useless_gossip_cannot_fill_the_replay_cache() {
    let mut net = Testnet::new().await;
    net.register_prover(3).await;
    net.deposit(1, "1").await;
    let small = |mut config: provernet_node::config::NodeConfig| {
        config.network.replay_capacity = 500;
        config
    };
    let client = net.start(small(net.config("client", false, true)), 1).await;
    let prover = net.start(small(net.config("prover", true, false)), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;

    let context = Context::new(net.anvil.chain_id());
    let flooder = ed25519_dalek::SigningKey::from_bytes(&[0x66; 32]);
    let expires = provernet_node::service::now_s() + 240;
    let circuit = CircuitId([7; 32]);
    let mut sent = 0u64;
    for i in 0..2_000u64 {
        let mut job = [0u8; 32];
        job[..8].copy_from_slice(&i.to_be_bytes());
        let notice = ChallengeNotice {
            job_id: JobId(job),
            kind: ChallengeKind::InvalidProof,
            prover: Address([1; 20]),
            challenger: Address([2; 20]),
            tx_hash: Hash32(job),
            block: i + 1,
        };
        let bid = Bid {
            job_id: JobId(job),
            round: 0,
            price: 1,
            promised_deadline: expires,
            prover: Address([3; 20]),
            signature: provernet_protocol::EthSignature([1; 65]),
        };
        let advert = ProverAdvert {
            stake_address: Address([3; 20]),
            circuits: vec![circuit],
            capacity: 1,
            queued: u32::try_from(i).expect("small"),
        };
        for frame in [
            SignedEnvelope::sign(&notice, &context, expires, &flooder),
            SignedEnvelope::sign(&bid, &context, expires, &flooder),
            SignedEnvelope::sign(&advert, &context, expires, &flooder),
        ] {
            rogue.net.publish(frame.expect("signs").to_bytes()).await;
            sent += 1;
        }
        if i % 100 == 99 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    eventually(30, "the flood reaches the client", || async {
        (validations(&client, "challenge_notice", "ignore", "not_used") >= 1_000).then_some(())
    })
    .await;
    println!(
        "valid flood: {sent} sent; the client ignored {} notices, {} bids, {} adverts",
        validations(&client, "challenge_notice", "ignore", "not_used"),
        validations(&client, "bid", "ignore", "unknown_request"),
        validations(&client, "prover_advert", "ignore", "prover_not_registered"),
    );
    a_job_is_verified(&client, 7).await;
    for node in [&client, &prover] {
        assert_eq!(
            validations(node, "envelope", "ignore", "seen_cache_full"),
            0,
            "no envelope was turned away for a full replay cache"
        );
    }
}

/// A client re-signs its own request in fresh envelopes (each a new envelope id, so no
/// replay cache catches it) and floods them: every node used to check the request's
/// secp256k1 signature again and forward each copy network-wide. A copy of a request a
/// node already holds, from the same signer, is now ignored before any signature work
/// and forwarded by nobody, and the job goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_re_signed_in_fresh_envelopes_is_not_forwarded_again() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 5, 1_000_000, 60))
        .await
        .expect("submitted");
    let request = eventually(30, "the request is stored", || async {
        client
            .store
            .client_job(&id)
            .expect("store")
            .map(|job| job.request.0)
    })
    .await;
    // The client's own ed25519 key, which the request's EIP-712 signature names: only it
    // can publish the request at all.
    let identity = net.keys(1).identity;
    let context = Context::new(net.anvil.chain_id());
    let expires = provernet_node::service::now_s() + 120;
    for i in 0..300u64 {
        let frame = SignedEnvelope::sign(&request, &context, expires + i, &identity)
            .expect("signs")
            .to_bytes();
        rogue.net.publish(frame).await;
    }
    let duplicates =
        |node: &NodeHandle| validations(node, "job_request", "ignore", "duplicate_request");
    eventually(30, "the copies reach the prover", || async {
        (duplicates(&prover) >= 250).then_some(())
    })
    .await;
    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
    assert_eq!(
        validations(&prover, "job_request", "accept", "ok"),
        1,
        "the prover accepted (and forwarded) the request once"
    );
}
