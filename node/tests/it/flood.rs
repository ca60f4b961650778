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

use crate::support::{
    Testnet, eventually, rss_bytes, stored_request, submit, unbudgeted, validations, wait_for_state,
};

async fn banned(node: &NodeHandle, rogue: libp2p::PeerId) -> bool {
    let info = node.net.info().await.expect("info");
    info.banned >= 1 && !info.peers.iter().any(|(p, _)| *p == rogue)
}

/// The market still works: a job is auctioned, proven, delivered and verified.
pub(crate) async fn a_job_is_verified(client: &NodeHandle, n: u64) {
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

/// One peer delivers valid, useless gossip (challenge notices, each validly signed) far
/// beyond its budget, as fast as it can. Each such message used to cost a signature check
/// and, in gossipsub, two minutes of a delivery record in its score and 700 s of an id: a
/// flood at the link's rate was memory without bound. The excess is now dropped before any
/// signature work and every tenth of a second's budget dropped costs the peer a penalty,
/// so both nodes graylist and ban it within seconds and the market goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_delivering_valid_gossip_beyond_its_budget_is_banned_and_the_market_goes_on() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let rogue_peer = rogue.net.peer_id();
    let context = Context::new(net.anvil.chain_id());
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x67; 32]);
    let expires = provernet_node::service::now_s() + 240;
    let frames: Vec<Vec<u8>> = (0..20_000u64)
        .map(|i| {
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
            SignedEnvelope::sign(&notice, &context, expires, &key)
                .expect("signs")
                .to_bytes()
        })
        .collect();
    let started = Instant::now();
    for frame in frames {
        rogue.net.publish(frame).await;
    }
    println!(
        "budget flood: 20,000 valid notices in {:.2} s",
        started.elapsed().as_secs_f64()
    );
    for node in [&client, &prover] {
        let node = node.clone();
        eventually(20, "the flooder banned and disconnected", || {
            let node = node.clone();
            async move { banned(&node, rogue_peer).await.then_some(()) }
        })
        .await;
    }
    let dropped = validations(&client, "envelope", "ignore", "peer_budget");
    let judged = validations(&client, "challenge_notice", "ignore", "not_used");
    println!("budget flood: the client judged {judged} and dropped {dropped} unverified");
    assert!(
        dropped > 0,
        "the excess was dropped before any signature work"
    );
    assert!(
        judged <= 2_000,
        "at most the budget's burst and a few seconds' rate were verified, not {judged}"
    );
    a_job_is_verified(&client, 12).await;
}

/// One peer floods the client with well-formed, signed proof requests for jobs it never
/// had, as fast as it can, while an honest job is auctioned, its input fetched, its proof
/// pushed and verified. The requests used to enter a replay cache of their own that
/// refused every request once full (65,536, or here 500), honest input fetches and proof
/// pushes included; and nothing bounded what one peer could send. Now each peer has a
/// budget (100 requests and 4 MiB a second, twice that at once): the flooder is answered
/// at most at that rate, the rest is dropped before the node sees it, the replay cache
/// never refuses, and the honest job settles during the flood.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_flood_is_held_to_the_peers_budget_and_the_market_goes_on() {
    let mut net = Testnet::new().await;
    let client = net
        .start_client(&[3], |config| config.network.replay_capacity = 500)
        .await;
    net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let context = Context::new(net.anvil.chain_id());
    let identity = net.keys(2).identity;
    let expires = provernet_node::service::now_s() + 300;
    let rss_before = rss_bytes();

    let answered = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let started = Instant::now();
    let flood = {
        let (answered, failed, stop) = (
            Arc::clone(&answered),
            Arc::clone(&failed),
            Arc::clone(&stop),
        );
        let (rogue, target) = (rogue.clone(), client.net.peer_id());
        tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut tasks = Vec::new();
                for _ in 0..500 {
                    n += 1;
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
                    let (rogue, answered, failed) =
                        (rogue.clone(), Arc::clone(&answered), Arc::clone(&failed));
                    tasks.push(tokio::spawn(async move {
                        match rogue.net.request(target, frame).await {
                            Ok(_) => answered.fetch_add(1, Ordering::Relaxed),
                            Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                        };
                    }));
                }
                for task in tasks {
                    task.await.expect("request task");
                }
            }
            n
        })
    };
    // The honest market, during the flood, once the flooder has spent more than its
    // burst (and sent more than the 500 requests the old cache held).
    tokio::time::sleep(Duration::from_secs(5)).await;
    a_job_is_verified(&client, 1).await;
    stop.store(true, Ordering::Relaxed);
    let sent = flood.await.expect("flood");
    let elapsed = started.elapsed().as_secs_f64();
    let (answered, failed) = (
        answered.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    let dropped = client.net.info().await.expect("info").requests_over_budget;
    println!(
        "request flood: {sent} sent in {elapsed:.1} s, {answered} answered, {failed} failed, \
         {dropped} dropped over the peer's budget"
    );
    assert!(
        failed > 0 && dropped > 0,
        "the flooder met its budget ({failed} failed, {dropped} dropped)"
    );
    // Two seconds' burst and 100 a second after it, with a little slack for timing.
    #[allow(clippy::cast_precision_loss)]
    let bound = 200.0 + 110.0 * elapsed;
    #[allow(clippy::cast_precision_loss)]
    let answered_f = answered as f64;
    assert!(
        answered_f <= bound,
        "{answered} answers in {elapsed:.1} s: more than the budget allows ({bound:.0})"
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
    let client = net
        .start(unbudgeted(small(net.config("client", false, true))), 1)
        .await;
    let prover = net
        .start(unbudgeted(small(net.config("prover", true, false))), 3)
        .await;
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
    let request = stored_request(&client, &id).await;
    // The prover holds the request (once it has read the client's deposit).
    eventually(30, "the prover hears the request", || async {
        (validations(&prover, "job_request", "accept", "ok") >= 1).then_some(())
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

/// One peer announces provider records for thousands of made-up keys (`ADD_PROVIDER`, as
/// the DHT lets anyone). libp2p's store bounded every provider key, the node's own and
/// others', by one count, so such a flood (65,536 keys) left the node unable to announce
/// its own proofs, the DHT fallback of every audit. Its own records now have room of
/// their own and each peer a share of the rest: after the flood, the client announces the
/// proof it verified and a node that never saw the job finds the client as its provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_provider_records_cannot_stop_a_node_announcing_its_own_proofs() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let flood = provernet_node::network::providers::PER_PEER + 500;
    for n in 0..flood as u64 {
        let mut key = b"made-up proof ".to_vec();
        key.extend_from_slice(&n.to_be_bytes());
        rogue.net.provide(key).await;
    }
    // Let the announcements land.
    let mut probe = b"made-up proof ".to_vec();
    probe.extend_from_slice(&(flood as u64 - 1).to_be_bytes());
    eventually(60, "the flood reached the client", || async {
        client
            .net
            .find_providers(probe.clone())
            .await
            .contains(&rogue.net.peer_id())
            .then_some(())
    })
    .await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 9, 1_000_000, 60))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
    let proof = client
        .store
        .client_job(&id)
        .expect("store")
        .and_then(|j| j.proof)
        .expect("the verified proof");
    let key = provernet_protocol::keccak256(&proof.proof).to_vec();
    let late = net.start(net.config("late", false, true), 4).await;
    net.wait_for_mesh(3).await;
    eventually(
        60,
        "the late node finds the client as the proof's provider",
        || async {
            late.net
                .find_providers(key.clone())
                .await
                .contains(&client.net.peer_id())
                .then_some(())
        },
    )
    .await;
}
