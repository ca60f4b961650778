//! One peer floods the market's topic at its maximum rate while honest jobs run.
//!
//! Run: `./scripts/bench.sh adversary`. Under `cargo test` (no `--bench` flag) it only
//! validates a small flood, as a smoke test.
//!
//! In one run, on a fresh anvil with in-process nodes on loopback (a client and a prover)
//! and the flooding peer in a process of its own, all on this machine's cores: honest jobs
//! one after another, first without and then with the flood; it prints the honest
//! end-to-end p50 and p99 of each and their ratios, the resident memory growth of the
//! process holding the two honest nodes while the flood lasts (the jobs, then a minute
//! more: gossipsub keeps each id 15 s), and how fast one core validates the flood's
//! envelopes.
//!
//! The flood is what a peer can send without being scored out: valid envelopes that no
//! node wants, from 64 keys: job requests from fresh accounts with no deposit (each
//! EIP-712 signed), bids and prover adverts from keys with no stake, and challenge
//! notices. Two floods, each from a new peer: [`FLOOD_RATE`] a second, ten times the
//! receivers' per-peer budget (they drop the excess before any signature work, and ban the
//! peer within seconds), and nine tenths of the budget, which a peer may keep up for as
//! long as it likes.

#[path = "../../testnet/src/figure.rs"]
#[allow(dead_code)]
mod figure;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use ethers::signers::LocalWallet;
use figure::Figure;
use provernet_circuits::Circuit;
use provernet_node::service::{NodeHandle, now_s};
use provernet_protocol::{
    Address, Bid, ChallengeKind, ChallengeNotice, CircuitId, Context, EthSignature, Hash32, JobId,
    ProverAdvert, SeenCache, SignedEnvelope, Validator,
};
use support::{Testnet, metric_total, rss_bytes, submit, wait_for_state};

const COMMAND: &str = "./scripts/bench.sh adversary";
/// Most flood messages sent a second.
const FLOOD_RATE: u64 = 5_000;
/// Honest jobs in each phase.
const JOBS: u64 = 15;

/// `count` distinct flood envelopes, a tenth of them job requests from fresh accounts.
fn flood(count: usize, chain_id: u64, market: ethers::types::Address) -> Vec<Vec<u8>> {
    let keys: Vec<SigningKey> = (0..64u8)
        .map(|i| SigningKey::from_bytes(&[i.wrapping_add(0x80); 32]))
        .collect();
    let context = Context::new(chain_id);
    let now = now_s();
    let expires = now + 590;
    (0..count)
        .map(|i| {
            let key = &keys[i % keys.len()];
            let n = i as u64;
            let mut job = [0u8; 32];
            job[..8].copy_from_slice(&n.to_be_bytes());
            let signed = match i % 10 {
                0 => {
                    let mut secret = [0x5au8; 32];
                    secret[..8].copy_from_slice(&(n + 1).to_be_bytes());
                    let account = LocalWallet::from_bytes(&secret).expect("a key");
                    return support::sign_request_for(
                        chain_id,
                        market,
                        &account,
                        key,
                        n,
                        1_000_000,
                        (600, 30, 590),
                        (CircuitId([7; 32]), ""),
                    );
                }
                1..=3 => SignedEnvelope::sign(
                    &Bid {
                        job_id: JobId(job),
                        round: 0,
                        price: 1,
                        promised_deadline: expires,
                        prover: Address([3; 20]),
                        signature: EthSignature([1; 65]),
                    },
                    &context,
                    expires,
                    key,
                ),
                4..=6 => SignedEnvelope::sign(
                    &ProverAdvert {
                        stake_address: Address([3; 20]),
                        circuits: vec![CircuitId([7; 32])],
                        capacity: 1,
                        queued: u32::try_from(i).unwrap_or(u32::MAX),
                    },
                    &context,
                    expires,
                    key,
                ),
                _ => SignedEnvelope::sign(
                    &ChallengeNotice {
                        job_id: JobId(job),
                        kind: ChallengeKind::InvalidProof,
                        prover: Address([1; 20]),
                        challenger: Address([2; 20]),
                        tx_hash: Hash32(job),
                        block: n + 1,
                    },
                    &context,
                    expires,
                    key,
                ),
            };
            signed.expect("signs").to_bytes()
        })
        .collect()
}

/// Envelopes of `messages` one core validates a second, in batches of 64, as the
/// dispatcher does (decode, bounds, replay lookup, ed25519).
fn validated_per_core(messages: &[Vec<u8>], chain_id: u64) -> f64 {
    let mut validator = Validator::new(
        Context::new(chain_id),
        SeenCache::DEFAULT_CAPACITY.max(messages.len()),
    );
    let now = now_s();
    let start = Instant::now();
    let mut valid = 0usize;
    for chunk in messages.chunks(64) {
        let refs: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
        valid += validator
            .validate_batch(&refs, now)
            .iter()
            .filter(|r| r.is_ok())
            .count();
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(valid, messages.len(), "every flood envelope is valid");
    messages.len() as f64 / elapsed
}

/// Runs `JOBS` honest jobs one after another, numbered from `first`; their e2e, ms.
async fn honest_jobs(client: &NodeHandle, first: u64) -> Vec<f64> {
    let mut e2e = Vec::new();
    for n in first..first + JOBS {
        let id = client
            .submit(submit(Circuit::PoseidonChain12, n, 1_000_000, 120))
            .await
            .expect("submitted");
        wait_for_state(client, &id, &["verified", "paid"], 120).await;
        let status = client.job(&id).expect("store").expect("job");
        e2e.push(status.e2e_ms.expect("a verified job has its e2e") as f64);
    }
    e2e
}

fn percentile(values: &[f64], p: f64) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The flooding peer, in a process of its own (so that the memory measured is the honest
/// nodes'): joins the topic through `peers`, signs its pool, says `ready`, then publishes
/// at most `rate` a second until killed, printing how many it sent every second.
fn flooder_main(peers: &str, chain_id: u64, market: ethers::types::Address, rate: u64) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let bootstrap: Vec<libp2p::Multiaddr> = peers
            .split(',')
            .map(|a| a.parse().expect("a multiaddr"))
            .collect();
        let config = provernet_node::network::NetworkConfig {
            listen: vec!["/ip4/127.0.0.1/tcp/0".parse().expect("an address")],
            bootstrap,
            chain_id,
            max_connections: 16,
            max_gossip_bytes: provernet_protocol::MessageKind::max_envelope_len(),
            max_request_bytes: provernet_protocol::MessageKind::max_request_envelope_len(),
            max_response_bytes: provernet_protocol::MessageKind::max_envelope_len(),
            event_queue: 1_024,
            request_timeout: Duration::from_secs(10),
            inbound: provernet_node::network::budget::Limits {
                requests_per_s: 10,
                bytes_per_s: 1 << 20,
            },
            shutdown: tokio_util::sync::CancellationToken::new(),
        };
        let keypair = libp2p::identity::Keypair::generate_ed25519();
        let (net, mut events, _) = provernet_node::network::spawn(config, keypair)
            .await
            .expect("the flooder's network starts");
        tokio::spawn(async move { while events.recv().await.is_some() {} });
        let pool = (rate * 62) as usize;
        let messages = flood(pool, chain_id, market);
        // gossipsub grafts a new peer into the mesh at a heartbeat (every 500 ms).
        tokio::time::sleep(Duration::from_secs(3)).await;
        println!("ready");
        let start = Instant::now();
        let mut reported = 0;
        for i in 0u64.. {
            net.publish(messages[(i as usize) % messages.len()].clone())
                .await;
            let due = Duration::from_secs_f64((i + 1) as f64 / rate as f64);
            if let Some(ahead) = due.checked_sub(start.elapsed()) {
                tokio::time::sleep(ahead).await;
            }
            let elapsed = start.elapsed().as_secs();
            if elapsed > reported {
                reported = elapsed;
                println!("sent {} in {:.1} s", i + 1, start.elapsed().as_secs_f64());
            }
        }
    });
}

/// Gossip messages `node` judged (every kind and verdict), those it dropped over a
/// peer's budget before any signature work, and the penalties it gave for it.
fn gossip_counts(node: &NodeHandle) -> (u64, u64, u64) {
    let validations = |l: &str| l.starts_with("provernet_net_validation_total");
    (
        metric_total(node, |l| validations(l) && !l.contains("peer_budget")),
        metric_total(node, |l| validations(l) && l.contains("peer_budget")),
        metric_total(node, |l| {
            l.starts_with("provernet_net_penalties_total") && l.contains("over_budget")
        }),
    )
}

/// What one flood did to the honest nodes.
struct Flooded {
    /// Honest e2e during it, ms.
    e2e: Vec<f64>,
    /// Resident memory growth of the honest nodes' process, MiB.
    growth_mib: f64,
    /// The flooder's last report.
    sent: String,
    /// Whether both honest nodes banned the flooder.
    banned: bool,
    /// On the client and the prover together: flood messages judged, dropped over the
    /// flooder's budget, and penalties given for it.
    counts: (u64, u64, u64),
}

/// Floods the topic from another process at `rate` a second while `JOBS` honest jobs
/// numbered from `first` run, and for a minute more.
async fn flood_phase(
    net: &Testnet,
    client: &NodeHandle,
    prover: &NodeHandle,
    rate: u64,
    first: u64,
) -> Flooded {
    let peers = [client, prover]
        .iter()
        .filter_map(|node| node.dial_addr())
        .map(|a| a.to_string())
        .collect::<Vec<_>>()
        .join(",");
    println!("starting a flooder at {rate} envelopes a second…");
    let mut child = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .args([
            "--flooder",
            &peers,
            &net.anvil.chain_id().to_string(),
            &format!("{:?}", net.owner.address()),
            &rate.to_string(),
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the flooder starts");
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    let stdout = child.stdout.take().expect("its stdout");
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = lines.recv().await {
        if line == "ready" {
            break;
        }
    }
    let banned_before = client.net.info().await.map_or(0, |i| i.banned)
        + prover.net.info().await.map_or(0, |i| i.banned);
    let counts_before = [gossip_counts(client), gossip_counts(prover)];
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let rss_before = rss_bytes();
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_bytes(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        })
    };
    // The honest jobs run while the flood goes on; then it goes on for a minute more
    // (gossipsub keeps a delivery record of each message two minutes), so memory is
    // measured near its steady state, not only while the first records pile up.
    let e2e = honest_jobs(client, first).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let banned_after = client.net.info().await.map_or(0, |i| i.banned)
        + prover.net.info().await.map_or(0, |i| i.banned);
    let counts_after = [gossip_counts(client), gossip_counts(prover)];
    let delta = |f: fn(&(u64, u64, u64)) -> u64| {
        counts_after.iter().map(f).sum::<u64>() - counts_before.iter().map(f).sum::<u64>()
    };
    let counts = (delta(|c| c.0), delta(|c| c.1), delta(|c| c.2));
    let _ = child.kill();
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    let mut sent = String::new();
    while let Ok(line) = lines.try_recv() {
        sent = line;
    }
    Flooded {
        e2e,
        growth_mib: peak.load(Ordering::Relaxed).saturating_sub(rss_before) as f64 / 1048576.0,
        sent,
        banned: banned_after >= banned_before + 2,
        counts,
    }
}

async fn network_phase(figures: &mut Vec<Figure>) {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    net.wait_for_mesh(1).await;
    // Keys are built and caches warm before anything is timed.
    honest_jobs(&client, 0).await;
    let base = honest_jobs(&client, 100).await;
    let (p50_base, p99_base) = (percentile(&base, 50.0), percentile(&base, 99.0));
    println!(
        "honest e2e, {JOBS} jobs one after another, without a flood: p50 {p50_base:.0} ms, p99 {p99_base:.0} ms"
    );
    // Beyond the budget (a peer may deliver 500 a second), and just under it: the most a
    // peer can send for as long as it likes without being banned.
    let budget = u64::from(
        provernet_node::config::NodeConfig::default()
            .network
            .gossip_per_peer_per_s,
    );
    for (label, rate, first) in [("over", FLOOD_RATE, 200), ("under", budget * 9 / 10, 300)] {
        let flooded = flood_phase(&net, &client, &prover, rate, first).await;
        let (p50, p99) = (
            percentile(&flooded.e2e, 50.0),
            percentile(&flooded.e2e, 99.0),
        );
        let (judged, dropped, penalties) = flooded.counts;
        let what = format!(
            "{}; the honest nodes judged {judged}, dropped {dropped} over budget, gave {penalties} penalties",
            if flooded.banned {
                "banned by both honest nodes"
            } else {
                "not banned"
            }
        );
        println!(
            "flood at {rate}/s ({}; {what}): p50 {p50:.0} ms ({:.2}×), p99 {p99:.0} ms ({:.2}×); the honest nodes' memory grew {:.1} MiB",
            flooded.sent,
            p50 / p50_base,
            p99 / p99_base,
            flooded.growth_mib
        );
        let note = format!(
            "{JOBS} poseidon-chain-12 jobs one after another, without then with one peer (another process) flooding {rate} valid, useless envelopes a second ({}, {what}); all on this machine's cores",
            flooded.sent
        );
        for (p, ratio) in [(50, p50 / p50_base), (99, p99 / p99_base)] {
            figures.push(
                Figure::new(
                    format!("adversary.{label}_budget.e2e_p{p}_ratio"),
                    format!("honest e2e p{p} with a flood at {rate}/s ÷ without"),
                    (ratio * 100.0).round() / 100.0,
                    "ratio",
                    COMMAND,
                )
                .at_most(1.5)
                .note(note.clone()),
            );
        }
        figures.push(
            Figure::new(
                format!("adversary.{label}_budget.rss_growth"),
                format!("resident memory growth during a flood at {rate}/s (the client and the prover, one process)"),
                (flooded.growth_mib * 10.0).round() / 10.0,
                "MiB",
                COMMAND,
            )
            .at_most(64.0)
            .note(format!("{note}; the flood lasts the honest jobs and a minute more")),
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--flooder") {
        let chain_id = args[i + 2].parse().expect("a chain id");
        let market = args[i + 3].parse().expect("an address");
        let rate = args[i + 4].parse().expect("a rate");
        flooder_main(&args[i + 1], chain_id, market, rate);
        return;
    }
    let benchmarking = args.iter().any(|arg| arg == "--bench");
    let chain_id = 31_337;
    let market = ethers::types::Address::repeat_byte(0x11);
    let count = if benchmarking { 30_000 } else { 200 };
    let messages = flood(count, chain_id, market);
    let per_core = validated_per_core(&messages, chain_id);
    println!(
        "flood envelopes validated on one core: {per_core:.0} a second (target at least 30000)"
    );
    if !benchmarking {
        return;
    }
    let mut figures = vec![
        Figure::new(
            "adversary.validated_per_core",
            "flood envelopes validated a second, one core, batch 64",
            per_core.round(),
            "msg/s",
            COMMAND,
        )
        .at_least(30_000.0)
        .note("the flood's mix: requests from fresh accounts, bids and adverts without stake, challenge notices; 64 signers"),
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(network_phase(&mut figures));
    figure::record(&figures).expect("the figures file can be written");
}
