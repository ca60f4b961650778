//! One prover and one client settle thousands of small jobs; memory and open files must
//! stop growing once warm, and a restarted prover must bid again within 2 s.
//!
//! Run: `./scripts/bench.sh soak` (5,000 jobs; `PROVERNET_SOAK_JOBS` sets another
//! count), and `./scripts/bench.sh resume` (a prover down for [`DOWN_BLOCKS`] blocks).
//! Under `cargo test` (no `--bench` flag) it settles a few jobs, restarts the prover, and
//! resumes one after 200 blocks, as a smoke test.
//!
//! In one run, on a fresh anvil mining a block a second (keeping 256 blocks' states, none
//! on disk), with both nodes in this process (RocksDB stores on disk, libp2p on
//! loopback): poseidon-chain-12 jobs are submitted keeping [`OUTSTANDING`] in flight, and
//! each is followed until it is paid, at `chain.confirmations` 0. Settled records stay on
//! disk briefly ([`retain_briefly`], and a market whose missed-deadline challenges open for
//! a minute), so the stores reach the state a node of any age is in: swept as fast as
//! they fill. The process's resident memory and open file descriptors are read once that
//! holds, at least 500 jobs are paid and [`WARM_AFTER`] has passed (warm: caches filled,
//! gossip's seen-caches full, the requests remembered past their deadline as many as they
//! will be, both nodes' sweeps removing records, the prover's a claimed batch) and at the end,
//! at least half the run later; their growth between the two is the figure. Then the prover is stopped and started
//! again on its store, loading its SRS, keys and verifiers from the warm cache as a node
//! process does, and the time from the start call to its first bid on a job submitted at
//! once is measured.
//!
//! The resume, on an anvil of its own that keeps no past states: a prover proves a few
//! jobs, is stopped while anvil mines [`DOWN_BLOCKS`] blocks (`PROVERNET_SOAK_DOWN_BLOCKS`
//! sets another count), and is started again: its follower must resume from its stored
//! position, and its time to catch up with the head is the figure.

#[path = "../../testnet/src/figure.rs"]
#[allow(dead_code)]
mod figure;
#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use ethers::providers::Middleware as _;

use figure::Figure;
use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;
use provernet_protocol::JobId;
use support::{Testnet, bids, eventually, gauge, metric_total, rss_bytes, start_node_with, submit};

const COMMAND: &str = "./scripts/bench.sh soak";
/// Jobs submitted and not yet verified, at most.
const OUTSTANDING: usize = 8;
/// Jobs paid when memory is first read at the earliest: warm.
const WARM: u64 = 500;
/// Each job's proving deadline, seconds after its submission.
const DEADLINE_SECS: u64 = 120;
/// Memory is first read no earlier than this after the first job: the structures that
/// keep a job for a time after its deadline (the request table and the watchtower's
/// settled deadlines, `REQUEST_MEMORY_SECS`) hold as many jobs as they ever will, with a
/// minute to spare.
const WARM_AFTER: Duration =
    Duration::from_secs(DEADLINE_SECS + provernet_node::service::REQUEST_MEMORY_SECS + 60);
/// Blocks mined while the prover is down, by default.
const DOWN_BLOCKS: u64 = 100_000;
/// Blocks mined per `anvil_mine` call while it is down.
const MINE_CHUNK: u64 = 10_000;
/// Jobs the prover proves before its long stop: its store and its follower's position
/// are those of a node with a past.
const PROVED_BEFORE: u64 = 2;
/// Blocks mined with the prover up after those jobs, before its long stop: it stops
/// well above the market's windows.
const LIVED_BLOCKS: u64 = 500;
/// The prover's batches, jobs: once it has removed more records than one holds, a
/// claimed batch has left its disk.
const BATCH: u64 = 16;

/// Open file descriptors of this process.
fn open_files() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |dir| dir.count() as u64)
}

/// Jobs `client` has seen paid since it started.
fn paid(client: &NodeHandle) -> u64 {
    metric_total(client, |line| {
        line.starts_with("provernet_market_jobs_settled_total{role=\"client\",state=\"paid\"} ")
    })
}

/// Settled records `node` has removed from its disk.
fn removed(node: &NodeHandle) -> u64 {
    metric_total(node, |line| {
        line.starts_with("provernet_market_records_removed_total ")
    })
}

/// A node's settled records leave its disk a minute after they settle; a claimed batch's
/// a minute after its margin to answer a missed-deadline challenge has passed (on the
/// soak's market: about six minutes after its last deadline, the challenge period, the
/// margin and the response window at a minute a block).
fn retain_briefly(config: &mut provernet_node::config::NodeConfig) {
    config.store.retention_secs = 60;
    config.store.answer_margin_secs = 60;
    // And a watchtower's settled leaves a minute after their window (blocks are seconds).
    config.watchtower.retain_blocks = 60;
}

/// What `node` holds, by structure (`provernet_held_*`, and its DHT records): where the
/// memory goes.
async fn held(name: &str, node: &NodeHandle) -> String {
    let mut parts: Vec<String> = node
        .metrics
        .encode()
        .lines()
        .filter_map(|line| line.strip_prefix("provernet_held_"))
        .filter_map(|line| {
            let (labels, value) = line.rsplit_once(' ')?;
            let what = labels.split('"').nth(1)?;
            (value != "0").then(|| format!("{what} {value}"))
        })
        .collect();
    if let Some(info) = node.net.info().await {
        parts.push(format!("dht_provided_keys {}", info.provided_keys));
        parts.push(format!(
            "dht_remote_provider_keys {}",
            info.remote_provider_keys
        ));
    }
    format!("soak: {name} holds: {}", parts.join(", "))
}

/// Prints what the client and the prover hold.
async fn print_held(client: &NodeHandle, prover: &NodeHandle) {
    println!("{}", held("the client", client).await);
    println!("{}", held("the prover", prover).await);
}

/// Jobs `client` has given up.
fn failed(client: &NodeHandle) -> u64 {
    metric_total(client, |line| {
        line.starts_with("provernet_market_jobs_settled_total{role=\"client\",state=\"failed\"} ")
    })
}

struct Sample {
    /// Since the first job.
    at: Duration,
    paid: u64,
    rss_mib: f64,
    files: u64,
}

fn sample(client: &NodeHandle, started: Instant) -> Sample {
    Sample {
        at: started.elapsed(),
        paid: paid(client),
        rss_mib: rss_bytes() as f64 / 1_048_576.0,
        files: open_files(),
    }
}

/// Submits `jobs` jobs keeping [`OUTSTANDING`] unverified, waits until all are paid, and
/// returns the samples once warm (at least [`WARM`] paid and both stores swept; if
/// reached) and at the end.
async fn settle(client: &NodeHandle, prover: &NodeHandle, jobs: u64) -> (Option<Sample>, Sample) {
    let started = Instant::now();
    let mut waiting: VecDeque<JobId> = VecDeque::new();
    let mut warm = None;
    let mut next = 0u64;
    let mut last_report = Instant::now();
    while next < jobs || paid(client) + failed(client) < jobs {
        // Verified (or gone: settled) jobs leave the window.
        while let Some(id) = waiting.front() {
            let state = client.job(id).expect("store").map(|s| s.state);
            if matches!(
                state.as_deref(),
                Some("verified" | "paid" | "failed") | None
            ) {
                waiting.pop_front();
            } else {
                break;
            }
        }
        while next < jobs && waiting.len() < OUTSTANDING {
            let id = client
                .submit(submit(
                    Circuit::PoseidonChain12,
                    1_000 + next,
                    1_000,
                    DEADLINE_SECS,
                ))
                .await
                .expect("submitted");
            waiting.push_back(id);
            next += 1;
        }
        if warm.is_none()
            && started.elapsed() >= WARM_AFTER
            && paid(client) >= WARM.min(jobs)
            && removed(client) > 0
            && removed(prover) > BATCH
        {
            let s = sample(client, started);
            println!(
                "soak: {} jobs paid after {:.0} s, both stores swept ({} and {} records removed): resident memory {:.1} MiB, {} open files",
                s.paid,
                started.elapsed().as_secs_f64(),
                removed(client),
                removed(prover),
                s.rss_mib,
                s.files
            );
            print_held(client, prover).await;
            warm = Some(s);
        }
        if last_report.elapsed() >= Duration::from_secs(60) {
            last_report = Instant::now();
            println!(
                "soak: {next} submitted, {} paid, {} failed, {:.0} s: resident memory {:.1} MiB, {} open files",
                paid(client),
                failed(client),
                started.elapsed().as_secs_f64(),
                rss_bytes() as f64 / 1_048_576.0,
                open_files()
            );
            print_held(client, prover).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let end = sample(client, started);
    println!(
        "soak: {} jobs paid, {} failed, after {:.0} s ({} and {} records removed): resident memory {:.1} MiB, {} open files",
        end.paid,
        failed(client),
        started.elapsed().as_secs_f64(),
        removed(client),
        removed(prover),
        end.rss_mib,
        end.files
    );
    print_held(client, prover).await;
    (warm, end)
}

/// `Some` once `client` holds job `id` verified (or paid, or settled and gone).
fn verified(client: &NodeHandle, id: &JobId) -> Option<()> {
    let state = client.job(id).expect("store").map(|s| s.state);
    matches!(state.as_deref(), Some("verified" | "paid") | None).then_some(())
}

/// Has anvil mine `blocks` blocks, [`MINE_CHUNK`] per call, saying how far it is.
async fn mine(net: &Testnet, blocks: u64, when: &str) {
    let mining = Instant::now();
    let mut mined = 0;
    while mined < blocks {
        let chunk = MINE_CHUNK.min(blocks - mined);
        let _: serde_json::Value = net
            .owner
            .client()
            .provider()
            .request(
                "anvil_mine",
                [
                    ethers::types::U256::from(chunk),
                    ethers::types::U256::zero(),
                ],
            )
            .await
            .expect("mines");
        mined += chunk;
        println!(
            "soak: {mined} blocks mined {when} ({} s)",
            mining.elapsed().as_secs()
        );
    }
}

/// What a restart of the prover showed.
struct Restart {
    /// From the start call to its first bid on a job submitted as soon as it is up, ms.
    bid_ms: u128,
    /// The head when it stopped, and where its follower resumed reading.
    stopped_at: u64,
    resumed_at: u64,
    /// The head when it started again.
    head_at_start: u64,
    /// Its follower's time from the start to the head, ms.
    catch_up_ms: u64,
}

/// Stops the prover (node 1), lets the chain grow by `blocks` while it is down, and starts
/// it again on its store; what it showed on its way back (job `n` is the one it bids on).
async fn restart(net: &mut Testnet, client: &NodeHandle, n: u64, blocks: u64) -> Restart {
    let stopped_at = net.head().await;
    {
        let prover = &net.nodes[1].handle;
        eventually(60, "the prover's follower reads to the head", || async {
            (gauge(prover, "provernet_chain_head") >= stopped_at).then_some(())
        })
        .await;
    }
    let (config, keys) = net.stop(1).await;
    mine(net, blocks, "while the prover is down").await;
    let head_at_start = net.head().await;
    // Its own engine, loaded from the warm key cache as a node process loads it.
    let mut config = config;
    config.proving.cache_dir = Some(support::cache_dir());
    config.proving.solc = Some(provernet_slashing::compile::repo_paths().2);
    let started = Instant::now();
    let prover = start_node_with(&config, &keys, None).await;
    println!(
        "soak: the restarted prover is up (store, engine, chain, network) after {} ms",
        started.elapsed().as_millis()
    );
    let id = client
        .submit(submit(Circuit::PoseidonChain12, n, 1_000, DEADLINE_SECS))
        .await
        .expect("submitted");
    eventually(60, "the restarted prover bids", || async {
        (bids(&prover, "sent") >= 1).then_some(())
    })
    .await;
    let bid_ms = started.elapsed().as_millis();
    eventually(120, "the job after the restart is verified", || async {
        verified(client, &id)
    })
    .await;
    let catch_up_ms = eventually(120, "the follower catches up", || async {
        Some(gauge(&prover, "provernet_chain_catch_up_ms")).filter(|ms| *ms > 0)
    })
    .await;
    let resumed_at = gauge(&prover, "provernet_chain_resumed_at");
    net.nodes.insert(
        1,
        support::TestNode {
            handle: prover,
            config,
            keys,
        },
    );
    Restart {
        bid_ms,
        stopped_at,
        resumed_at,
        head_at_start,
        catch_up_ms,
    }
}

async fn run(jobs: u64, figures: &mut Vec<Figure>) {
    let params = provernet_slashing::MarketParams {
        deadline_challenge_period: 60,
        ..support::params()
    };
    // Past states kept for a client's payment check, which asks at its head (anvil may
    // have passed it); none written to disk.
    let mut net = Testnet::with_anvil(params, &["--prune-history", "256"]).await;
    let client = net.start_client(&[3], retain_briefly).await;
    let mut config = net.config("prover", true, false);
    // One prover alone on the machine: its proofs take their own time.
    config.prover.estimate_ms = 2_000;
    config.prover.batch_size = BATCH as usize;
    retain_briefly(&mut config);
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    let (warm, end) = settle(&client, &prover, jobs).await;
    let swept = (removed(&client), removed(&prover));
    drop(prover);
    let start_ms = restart(&mut net, &client, 1_000 + jobs, 0).await.bid_ms;
    println!(
        "soak: the restarted prover bid {start_ms} ms after its start (target at most 2000 ms)"
    );
    figures.push(
        Figure::new(
            "soak.warm_start_to_bid",
            "a restarted prover's start to its first bid, key cache warm",
            start_ms as f64,
            "ms",
            COMMAND,
        )
        .at_most(2_000.0)
        .note("from the start call (store opened, keys loaded, chain read) to a bid on a job submitted as it came up"),
    );
    assert_eq!(failed(&client), 0, "every job was paid");
    // Growth over half the run at least: warm late, it would say little.
    let Some(warm) = warm.filter(|w| w.paid <= end.paid.saturating_sub(jobs / 2)) else {
        // A run long enough to warm up by half its time must have: its stores were never
        // swept else.
        assert!(
            jobs < 4 * WARM || end.at < 2 * WARM_AFTER,
            "not warm by half the run ({:.0} s): {} and {} records removed",
            end.at.as_secs_f64(),
            swept.0,
            swept.1
        );
        return;
    };
    let growth = |before: f64, after: f64| ((after / before - 1.0) * 1_000.0).round() / 10.0;
    let rss = growth(warm.rss_mib, end.rss_mib);
    let files = growth(warm.files as f64, end.files as f64);
    println!(
        "soak: from {} to {} jobs paid, resident memory grew {rss} % ({:.1} to {:.1} MiB), open files {files} % ({} to {}) (targets at most 10 %)",
        warm.paid, end.paid, warm.rss_mib, end.rss_mib, warm.files, end.files
    );
    let note = format!(
        "one prover and one client in one process, {} poseidon-chain-12 jobs, {OUTSTANDING} in flight, each paid; settled records kept 60 s (store.retention_secs and store.answer_margin_secs 60, deadlineChallengePeriod 60 s); measured at {} paid (both stores swept) and at {} paid",
        end.paid, warm.paid, end.paid
    );
    figures.push(
        Figure::new(
            "soak.rss_growth",
            "resident memory growth after warm-up, one prover and one client",
            rss,
            "%",
            COMMAND,
        )
        .at_most(10.0)
        .note(format!(
            "{note}: {:.1} to {:.1} MiB",
            warm.rss_mib, end.rss_mib
        )),
    );
    figures.push(
        Figure::new(
            "soak.files_growth",
            "open file growth after warm-up, one prover and one client",
            files,
            "%",
            COMMAND,
        )
        .at_most(10.0)
        .note(format!(
            "{note}: {} to {} descriptors",
            warm.files, end.files
        )),
    );
}

/// The long restart, on an anvil of its own that keeps no past states (`--prune-history`
/// alone): 100,000 blocks' states fill this machine's memory when some are kept (11.9 GB
/// at 58,000 blocks with 256 kept) and its disk when anvil writes them out (65 GB). A
/// prover catching up reads logs and headers only; a client's payment check asks at a
/// past block, so payments are not waited for here.
async fn resume(blocks: u64, figures: &mut Vec<Figure>) {
    let mut net = Testnet::with_anvil(support::params(), &["--prune-history"]).await;
    let client = net.start_client(&[3], |_| {}).await;
    let mut config = net.config("prover", true, false);
    config.prover.estimate_ms = 2_000;
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    for n in 0..PROVED_BEFORE {
        let id = client
            .submit(submit(
                Circuit::PoseidonChain12,
                1_000 + n,
                1_000,
                DEADLINE_SECS,
            ))
            .await
            .expect("submitted");
        eventually(120, "a job before the stop is verified", || async {
            verified(&client, &id)
        })
        .await;
    }
    // Far enough from the market's first block that a resume from there would show.
    mine(&net, LIVED_BLOCKS, "with the prover up").await;
    drop(prover);
    let long = restart(&mut net, &client, 2_000, blocks).await;
    println!(
        "soak: down for {blocks} blocks, the prover resumed reading at block {} (stopped at {}, head {} at its start), caught up in {} ms, and bid {} ms after its start",
        long.resumed_at, long.stopped_at, long.head_at_start, long.catch_up_ms, long.bid_ms
    );
    // From its stored position, less the market's windows (the challenge window, the
    // response window and a margin of 16): not from the market's first block.
    let lookback = support::CHALLENGE_WINDOW + 3 + 16;
    assert!(
        long.resumed_at + lookback >= long.stopped_at && long.resumed_at <= long.stopped_at,
        "resumed at {}, stopped at {}",
        long.resumed_at,
        long.stopped_at
    );
    figures.push(
        Figure::new(
            "resume.catch_up",
            "a prover down while the chain grew: its follower's start to the head",
            long.catch_up_ms as f64,
            "ms",
            "./scripts/bench.sh resume",
        )
        .note(format!(
            "down for {blocks} blocks: stopped at block {}, resumed reading at {} (its stored position less the market's windows), head {} at its start; first bid {} ms after its start; chain.log_range 2,000",
            long.stopped_at, long.resumed_at, long.head_at_start, long.bid_ms
        )),
    );
}

fn main() {
    let benchmarking = std::env::args().any(|arg| arg == "--bench");
    // `--bench resume`: the long restart alone; `--bench`: the soak alone; neither: both,
    // small.
    let resuming = std::env::args().any(|arg| arg == "resume");
    let jobs = if benchmarking {
        std::env::var("PROVERNET_SOAK_JOBS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(5_000)
    } else {
        3
    };
    if benchmarking && std::env::var_os("PROVERNET_TEST_LOG").is_none() {
        // The nodes' start, step by step (target `node`, info): where a slow start spends
        // its time.
        use tracing_subscriber::layer::SubscriberExt as _;
        use tracing_subscriber::util::SubscriberInitExt as _;
        let _ = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::INFO)
            .finish()
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("node", tracing::Level::INFO),
            )
            .try_init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let mut figures = Vec::new();
    let blocks = if benchmarking {
        std::env::var("PROVERNET_SOAK_DOWN_BLOCKS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(DOWN_BLOCKS)
    } else {
        200
    };
    runtime.block_on(async {
        if !(benchmarking && resuming) {
            run(jobs, &mut figures).await;
        }
        if !benchmarking || resuming {
            resume(blocks, &mut figures).await;
        }
    });
    if benchmarking {
        figure::record(&figures).expect("the figures file can be written");
    }
}
