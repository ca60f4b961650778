//! `provernet testnet up`: bring everything up, drive the workload, inject faults, watch
//! it settle, report, tear down.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::Address;
use indicatif::{ProgressBar, ProgressStyle};
use provernet_circuits::Circuit;
use provernet_slashing::Market;
use provernet_slashing::bindings::ProverMarketEvents;
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

use crate::args::{CheatKind, UpArgs};
use crate::chain::{self, Observer};
use crate::procs::{self, Common, NodeSpec, Role};
use crate::report::{self, Crash, Injected, JobRecord, JobStatus, NodeRecord, Partition, RunData};
use crate::state::{self, NodeEntry, Process, State};

/// Prints progress: a live bar on a terminal, plain lines otherwise.
struct Ui {
    bar: Option<ProgressBar>,
    started: Instant,
}

impl Ui {
    fn new() -> Self {
        let bar = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
            let bar = ProgressBar::new(0);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:24} {pos}/{len} settled  {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            bar,
            started: Instant::now(),
        }
    }

    fn line(&self, message: &str) {
        let line = format!("[{:>6.1}s] {message}", self.started.elapsed().as_secs_f64());
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn update(&self, settled: usize, total: usize, message: String) {
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(settled as u64);
            bar.set_message(message);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Everything started, stopped on drop.
struct Net {
    dir: PathBuf,
    anvil: Option<Child>,
    nodes: Vec<(NodeSpec, Option<Child>)>,
    state: State,
}

impl Net {
    fn save(&self) {
        if let Err(error) = self.state.save(&self.dir) {
            eprintln!("warning: {error:#}");
        }
    }

    fn record(&mut self, name: &str, pid: u32, marker: String) {
        self.state.processes.retain(|p| p.name != name);
        self.state.processes.push(Process::new(name, pid, marker));
        self.save();
    }

    /// Stops the nodes (SIGTERM, SIGKILL after 5 s), then anvil.
    fn teardown(&mut self) {
        for (_, child) in &mut self.nodes {
            if let Some(child) = child
                && matches!(child.try_wait(), Ok(None))
            {
                procs::terminate(child.id());
            }
        }
        let until = Instant::now() + Duration::from_secs(5);
        for (_, child) in &mut self.nodes {
            if let Some(mut child) = child.take() {
                procs::stop(&mut child, until.saturating_duration_since(Instant::now()));
            }
        }
        if let Some(mut anvil) = self.anvil.take() {
            procs::stop(&mut anvil, Duration::from_secs(3));
        }
    }

    /// Lets everything run on after this process exits.
    fn release(&mut self) {
        self.anvil = None;
        for (_, child) in &mut self.nodes {
            *child = None;
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        self.teardown();
    }
}

/// Waits for Ctrl-C or SIGTERM.
async fn stop_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// `provernet testnet up`.
pub async fn up(args: UpArgs, exe: &Path) -> anyhow::Result<()> {
    args.check()?;
    let dir = prepare_dir(&args.dir)?;
    let mut net = Net {
        dir: dir.clone(),
        anvil: None,
        nodes: Vec::new(),
        state: State {
            owner_pid: std::process::id(),
            owner_started: state::start_time(std::process::id()),
            ..State::default()
        },
    };
    net.save();
    let ui = Ui::new();
    let outcome = tokio::select! {
        outcome = run(&args, exe, &mut net, &ui) => Some(outcome),
        () = stop_signal() => None,
    };
    ui.finish();
    let Some(outcome) = outcome else {
        eprintln!("interrupted: stopping every process the testnet started");
        net.teardown();
        bail!("interrupted; nothing is left running");
    };
    match outcome {
        Ok(verdict) => {
            if args.keep {
                net.release();
                eprintln!(
                    "left running (--keep): `provernet testnet status --dir {0}`, stop with \
                     `provernet testnet down --dir {0}`",
                    args.dir.display()
                );
            } else {
                net.teardown();
            }
            verdict
        }
        Err(error) => {
            net.teardown();
            Err(error)
        }
    }
}

/// Makes `dir` empty, refusing a directory that is not a testnet's or whose testnet
/// still runs. Returns it absolute.
fn prepare_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        match State::load(dir)? {
            Some(old) => {
                let running = state::alive(&old);
                if !running.is_empty() {
                    bail!(
                        "a testnet is running in {} ({} processes); stop it with `provernet \
                         testnet down --dir {0}`",
                        dir.display(),
                        running.len()
                    );
                }
            }
            None => {
                if std::fs::read_dir(dir)?.next().is_some() {
                    bail!(
                        "{} exists and is not a testnet directory; pass another --dir",
                        dir.display()
                    );
                }
            }
        }
        std::fs::remove_dir_all(dir).with_context(|| format!("cannot empty {}", dir.display()))?;
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(std::fs::canonicalize(dir)?)
}

/// The nodes to start, in start order: the first is every other node's bootstrap peer.
fn layout(args: &UpArgs) -> Vec<(String, Role, Option<CheatKind>)> {
    let mut nodes = Vec::new();
    for i in 1..=args.watchtowers {
        nodes.push((format!("watchtower-{i}"), Role::Watchtower, None));
    }
    let honest = args.provers - args.cheaters;
    for i in 1..=args.provers {
        let cheat = (i > honest).then(|| args.cheat[(i - honest - 1) % args.cheat.len()]);
        nodes.push((format!("prover-{i}"), Role::Prover, cheat));
    }
    for i in 1..=args.clients {
        nodes.push((format!("client-{i}"), Role::Client, None));
    }
    if args.watchtowers == 0 {
        // A client is the hub then: never a prover, which may be crashed.
        nodes.rotate_right(args.clients);
    }
    for i in 1..=args.relays {
        nodes.push((format!("relay-{i}"), Role::Relay, None));
    }
    nodes
}

/// Everything between setup and the report. Returns the run's verdict (an error when
/// the report shows a problem) once the report is written.
async fn run(
    args: &UpArgs,
    exe: &Path,
    net: &mut Net,
    ui: &Ui,
) -> anyhow::Result<anyhow::Result<()>> {
    let dir = net.dir.clone();
    let checkout = chain::checkout();
    let anvil_bin = args
        .anvil
        .clone()
        .unwrap_or_else(|| checkout.join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"));
    let solc = args
        .solc
        .clone()
        .unwrap_or_else(|| checkout.join("scripts/solc"));
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(provernet_circuits::default_cache_dir);
    let circuits: Vec<Circuit> = args
        .circuits
        .iter()
        .map(|c| c.parse().map_err(|_| anyhow!("unknown circuit {c}")))
        .collect::<anyhow::Result<_>>()?;

    let layout = layout(args);
    let mut port_names = vec!["anvil".to_owned()];
    for (name, _, _) in &layout {
        port_names.push(format!("{name} p2p"));
        port_names.push(format!("{name} api"));
    }
    let ports = procs::ports(args.base_port, &port_names)?;

    // The chain.
    let accounts = layout.len() + 1;
    let anvil_log = dir.join("anvil.log");
    let anvil = chain::spawn_anvil(&anvil_bin, ports[0], accounts, &anvil_log)?;
    net.record("anvil", anvil.id(), format!("--port {} ", ports[0]));
    // Held by `net` before anything can fail or be interrupted: it stops anvil then.
    let anvil = net.anvil.insert(anvil);
    let keys = chain::anvil_keys(anvil, accounts, &anvil_log).await?;
    let endpoint = format!("http://127.0.0.1:{}", ports[0]);
    ui.line(&format!(
        "anvil on {endpoint} (chain id {})",
        chain::CHAIN_ID
    ));
    let provider = chain::provider(&endpoint)?;
    let owner_client = chain::client(&endpoint, &keys[0])?;
    let owner = Market::deploy(std::sync::Arc::clone(&owner_client), chain::market_params())
        .await
        .map_err(|e| anyhow!("deploying the market: {e}"))?;
    let market_hex = format!("{:?}", owner.address());
    net.state.rpc_url.clone_from(&endpoint);
    net.state.market.clone_from(&market_hex);
    net.save();
    ui.line(&format!("market deployed at {market_hex}"));
    let verifiers = chain::deploy_verifiers(&owner, &circuits, &cache_dir, &solc).await?;
    for v in &verifiers {
        ui.line(&format!(
            "verifier for {} at {}: {} gas measured, capped at {}",
            v.circuit, v.address, v.measured_gas, v.gas_limit
        ));
    }

    // Node specs, accounts and on-chain setup.
    let mut specs = Vec::new();
    for (i, (name, role, cheat)) in layout.iter().enumerate() {
        specs.push(NodeSpec {
            name: name.clone(),
            role: *role,
            dir: dir.join(name),
            eth_key: keys[i + 1],
            identity: procs::new_identity(),
            p2p_port: ports[1 + 2 * i],
            api_port: ports[2 + 2 * i],
            cheat: *cheat,
        });
    }
    let provers = specs
        .iter()
        .filter(|s| s.role == Role::Prover)
        .map(|s| address_of(&s.eth_key))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reserved_until = chain::now(&provider).await? + chain::RESERVATION_SECS;
    let mut setup = Vec::new();
    for spec in &specs {
        let market = Market::at(owner.address(), chain::client(&endpoint, &spec.eth_key)?);
        let (role, peer_key, name) = (spec.role, spec.peer_key(), spec.name.clone());
        let provers = &provers;
        setup.push(async move {
            let result = match role {
                Role::Prover => market
                    .register(peer_key, chain::prover_stake())
                    .await
                    .map(|_| ()),
                Role::Client => chain::fund_client(&market, provers, reserved_until).await,
                Role::Watchtower | Role::Relay => return Ok(()),
            };
            result.map_err(|e| anyhow!("setting up {name} on chain: {e}"))
        });
    }
    futures_util::future::try_join_all(setup).await?;
    chain::interval_mining(&provider).await?;
    ui.line(&format!(
        "{} provers staked {} ETH each; {} clients deposited {} ETH each and reserved {:.2} ETH of it for each prover; 1-second blocks",
        args.provers,
        chain::prover_stake() / ethers::types::U256::exp10(18),
        args.clients,
        chain::client_deposit() / ethers::types::U256::exp10(18),
        chain::client_reservation(provers.len()).as_u128() as f64 / 1e18
    ));

    // The nodes.
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let mut bootstrap: Vec<String> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let common = Common {
            rpc_url: &endpoint,
            market: &market_hex,
            circuits: &args.circuits,
            cache_dir: &cache_dir,
            solc: &solc,
            sample_rate: args.sample_rate,
            cheat_rate: args.cheat_rate,
            bootstrap: &bootstrap,
        };
        procs::write_node_files(spec, &common)?;
        let address = format!("{:?}", address_of(&spec.eth_key)?);
        let child = procs::spawn(exe, spec)?;
        net.record(
            &spec.name,
            child.id(),
            spec.config_path().display().to_string(),
        );
        net.state.nodes.push(NodeEntry {
            name: spec.name.clone(),
            role: spec.role,
            api: spec.api(),
            address,
            log: spec.log_path(),
        });
        net.nodes.push((spec.clone(), Some(child)));
        net.save();
        if i == 0 {
            let info = wait_for_api(&http, net, 0).await?;
            let peer = info["peer_id"].as_str().unwrap_or_default();
            bootstrap.push(format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", spec.p2p_port));
        }
    }
    for index in 1..net.nodes.len() {
        wait_for_api(&http, net, index).await?;
    }
    let want = (net.nodes.len() - 1).min(2);
    wait_for_mesh(&http, net, want).await?;
    let cheaters: Vec<String> = specs
        .iter()
        .filter_map(|s| s.cheat.map(|c| format!("{} {}", s.name, c.node_mode())))
        .collect();
    let cheating = if cheaters.is_empty() {
        String::from("none cheating")
    } else {
        format!("{} cheating: {}", cheaters.len(), cheaters.join(", "))
    };
    ui.line(&format!(
        "{} nodes up ({} provers, {cheating}; {} watchtowers sampling {}; {} clients; {} networking-only); logs in {}/<node>/node.log",
        net.nodes.len(),
        args.provers,
        args.watchtowers,
        args.sample_rate,
        args.clients,
        args.relays,
        dir.display()
    ));

    let mut before = BTreeMap::new();
    for spec in &specs {
        before.insert(
            spec.name.clone(),
            balances_or_default(ui, &owner, &spec.name, address_of(&spec.eth_key)?).await,
        );
    }

    let cpu_before = cpu_ticks(net);
    let watched = watch(args, exe, net, ui, &http, &owner, &provider, &circuits).await?;
    let cpu_after = cpu_ticks(net);
    let cpu_s: Vec<(String, f64)> = cpu_after
        .iter()
        .filter_map(|(name, (pid, ticks))| {
            let (pid0, ticks0) = cpu_before.get(name)?;
            (pid0 == pid).then(|| (name.clone(), (ticks - ticks0) as f64 / USER_HZ))
        })
        .collect();
    let gossip = gossip(&http, net).await;
    let raw_prove_ms = if args.raw_prove {
        ui.line("proving every verified job's witness again through the library alone");
        raw_prove(&watched.jobs, &cache_dir, &solc).await?
    } else {
        BTreeMap::new()
    };

    let mut after = BTreeMap::new();
    for spec in &specs {
        after.insert(
            spec.name.clone(),
            balances_or_default(ui, &owner, &spec.name, address_of(&spec.eth_key)?).await,
        );
    }
    let mut prove_ms = Vec::new();
    for (spec, _) in &net.nodes {
        if spec.role == Role::Prover
            && let Some(mean) = prove_mean_ms(&http, &spec.api()).await
        {
            prove_ms.push((spec.name.clone(), mean));
        }
    }
    let nodes = specs
        .iter()
        .map(|spec| {
            Ok(NodeRecord {
                name: spec.name.clone(),
                role: spec.role,
                address: address_of(&spec.eth_key)?,
                cheat: spec.cheat,
                before: before.remove(&spec.name).unwrap_or_default(),
                after: after.remove(&spec.name).unwrap_or_default(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let injected = read_ledgers(&specs);
    let data = RunData {
        args: args.clone(),
        dir: dir.clone(),
        verifiers,
        nodes,
        jobs: watched.jobs,
        submit_errors: watched.submit_errors,
        events: watched.observer.events,
        txs: watched.observer.txs,
        injected,
        crashes: watched.crashes,
        partitions: watched.partitions,
        unexpected_exits: watched.unexpected_exits,
        timed_out: watched.timed_out,
        duration_ms: watched.duration_ms,
        prove_ms,
        cpu_s,
        gossip,
        raw_prove_ms,
    };
    let written = report::write(&data)?;
    eprintln!("{}", written.text);
    if let Some(label) = &args.bench {
        let figures = report::figures(label, args, &written.json);
        eprintln!("figures ({label})");
        crate::figure::print(&figures);
        crate::figure::record(&figures).context("cannot write the figures file")?;
    }
    eprintln!(
        "report: {} (also {}, {}, {})",
        dir.join("report.txt").display(),
        dir.join("report.json").display(),
        dir.join("latency.svg").display(),
        dir.join("progress.svg").display()
    );
    Ok(if written.problems.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "the run ended with problems: {}",
            written.problems.join("; ")
        ))
    })
}

/// How long, once every job has settled, the run waits for injected faults still not
/// slashed: a challenge window (15 blocks) and a response window (5) with room to spare.
const FAULT_WAIT: Duration = Duration::from_secs(45);

/// `name`'s balances, or zeros (said on the console) when the chain cannot be read: the
/// report is still written.
async fn balances_or_default(
    ui: &Ui,
    owner: &Market<chain::Client>,
    name: &str,
    address: Address,
) -> chain::Balances {
    chain::balances(owner, address)
        .await
        .unwrap_or_else(|error| {
            ui.line(&format!("cannot read the balances of {name}: {error:#}"));
            chain::Balances::default()
        })
}

fn address_of(key: &[u8; 32]) -> anyhow::Result<Address> {
    Ok(LocalWallet::from_bytes(key)
        .map_err(|e| anyhow!("{e}"))?
        .address())
}

/// Fails if node `index` has exited, with its log's last lines.
fn check_alive(net: &mut Net, index: usize) -> anyhow::Result<()> {
    let (spec, child) = &mut net.nodes[index];
    if let Some(child) = child
        && let Some(status) = child.try_wait()?
    {
        let log = std::fs::read_to_string(spec.log_path()).unwrap_or_default();
        bail!(
            "{} exited ({status}) while starting; the end of {}:\n{}",
            spec.name,
            spec.log_path().display(),
            chain::tail(&log, 8)
        );
    }
    Ok(())
}

/// Waits (60 s at most) until node `index` answers `/v1/node`.
async fn wait_for_api(
    http: &reqwest::Client,
    net: &mut Net,
    index: usize,
) -> anyhow::Result<serde_json::Value> {
    let url = format!("{}/v1/node", net.nodes[index].0.api());
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        check_alive(net, index)?;
        if let Ok(response) = http.get(&url).send().await
            && let Ok(info) = response.json::<serde_json::Value>().await
        {
            return Ok(info);
        }
        if Instant::now() > until {
            bail!(
                "{} did not answer on {url} within 60 s; see {}",
                net.nodes[index].0.name,
                net.nodes[index].0.log_path().display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Waits (60 s at most) until every node has `want` peers on the market topic.
async fn wait_for_mesh(http: &reqwest::Client, net: &mut Net, want: usize) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let mut lacking = Vec::new();
        for index in 0..net.nodes.len() {
            check_alive(net, index)?;
            let url = format!("{}/v1/node", net.nodes[index].0.api());
            let peers = match http.get(&url).send().await {
                Ok(response) => response
                    .json::<serde_json::Value>()
                    .await
                    .ok()
                    .and_then(|i| i["topic_peers"].as_u64())
                    .unwrap_or(0),
                Err(_) => 0,
            };
            if peers < want as u64 {
                lacking.push(net.nodes[index].0.name.clone());
            }
        }
        if lacking.is_empty() {
            // One gossip heartbeat more for the meshes to form.
            tokio::time::sleep(Duration::from_millis(1_200)).await;
            return Ok(());
        }
        if Instant::now() > until {
            bail!(
                "the gossip mesh did not form within 60 s: {} have fewer than {want} peers on \
                 the market topic (see their node.log)",
                lacking.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The mean proving time a prover's `/metrics` reports, ms.
async fn prove_mean_ms(http: &reqwest::Client, api: &str) -> Option<f64> {
    let text = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let sum = value("provernet_market_prove_seconds_sum")?;
    let count = value("provernet_market_prove_seconds_count")?;
    (count > 0.0).then(|| sum / count * 1_000.0)
}

/// The cheats the cheating provers recorded (`data/cheats.jsonl`), one per job and mode.
fn read_ledgers(specs: &[NodeSpec]) -> Vec<Injected> {
    let mut seen = HashSet::new();
    let mut injected = Vec::new();
    for spec in specs.iter().filter(|s| s.cheat.is_some()) {
        let text =
            std::fs::read_to_string(spec.data_dir().join("cheats.jsonl")).unwrap_or_default();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<serde_json::Value>(line) else {
                // A line cut short by the kill of its writer.
                continue;
            };
            let (Some(job), Some(kind)) = (
                entry["job"].as_str(),
                entry["mode"].as_str().and_then(CheatKind::from_node_mode),
            ) else {
                continue;
            };
            if seen.insert((job.to_owned(), kind)) {
                injected.push(Injected {
                    prover: spec.name.clone(),
                    job: job.to_owned(),
                    kind,
                });
            }
        }
    }
    injected
}

/// What the workload and the chain did.
struct Watched {
    jobs: Vec<JobRecord>,
    submit_errors: Vec<String>,
    observer: Observer,
    crashes: Vec<Crash>,
    partitions: Vec<Partition>,
    unexpected_exits: Vec<String>,
    timed_out: bool,
    duration_ms: u64,
}

/// Submits the workload, follows the jobs and the chain, injects the crash, and returns
/// once every job and every injected fault has settled (or the timeout passes).
#[allow(clippy::too_many_arguments)]
async fn watch(
    args: &UpArgs,
    exe: &Path,
    net: &mut Net,
    ui: &Ui,
    http: &reqwest::Client,
    owner: &Market<chain::Client>,
    provider: &ethers::providers::Provider<ethers::providers::Http>,
    circuits: &[Circuit],
) -> anyhow::Result<Watched> {
    let started = Instant::now();
    let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut observer = Observer::new(owner.clone(), provider.clone());
    let clients: Vec<usize> = (0..net.nodes.len())
        .filter(|&i| net.nodes[i].0.role == Role::Client)
        .collect();
    let cheaters: Vec<NodeSpec> = net
        .nodes
        .iter()
        .filter(|(s, _)| s.cheat.is_some())
        .map(|(s, _)| s.clone())
        .collect();
    let crash_target = net
        .nodes
        .iter()
        .position(|(s, _)| s.role == Role::Prover && s.cheat.is_none());
    let partition_target = match &args.partition_node {
        Some(name) => Some(
            net.nodes
                .iter()
                .position(|(s, _)| &s.name == name)
                .ok_or_else(|| {
                    anyhow!(
                        "--partition-node {name} is not a node of this testnet (nodes: {})",
                        net.nodes
                            .iter()
                            .map(|(s, _)| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
        ),
        None => net
            .nodes
            .iter()
            .rposition(|(s, _)| s.role == Role::Prover && s.cheat.is_none())
            .filter(|&i| Some(i) != crash_target || args.crash_prover_after.is_none()),
    }
    .or(crash_target);
    let mut partitions: Vec<Partition> = Vec::new();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let mut crashed_after_verified = false;
    let mut kills = kill_schedule(args, net);
    let mut jobs: Vec<JobRecord> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut submit_errors = Vec::new();
    let mut crashes = Vec::new();
    let mut unexpected_exits = Vec::new();
    let mut next_submit = Instant::now();
    let mut last_poll = Instant::now() - Duration::from_secs(1);
    let mut submitted_all_at: Option<Instant> = None;
    // Market events already looked at, and the jobs slashed among them.
    let mut events_read = 0;
    let mut slashed: HashSet<String> = HashSet::new();
    let mut timed_out = false;
    let mut jobs_done_at: Option<Instant> = None;
    let mut attempts = 0usize;
    loop {
        // Submit.
        let more = match args.duration {
            Some(secs) => started.elapsed() < Duration::from_secs(secs),
            None => attempts < args.jobs,
        };
        if more && Instant::now() >= next_submit {
            let n = attempts as u64;
            attempts += 1;
            next_submit += interval;
            let circuit = circuits[(rng.next_u64() % circuits.len() as u64) as usize];
            let span = args.price_max - args.price_min;
            let price = args.price_min
                + if span == 0 {
                    0
                } else {
                    u128::from(rng.next_u64()) % (span + 1)
                };
            let client = clients[(n as usize) % clients.len()];
            let body = serde_json::json!({
                "circuit": circuit.name(),
                "input": circuit.numbered_witness(n).to_string(),
                "max_price": price.to_string(),
                "deadline_secs": args.deadline,
            });
            let at = ms();
            match submit(http, &net.nodes[client].0.api(), &body).await {
                Ok(id) => {
                    by_id.insert(id.clone(), jobs.len());
                    jobs.push(JobRecord {
                        id,
                        client: net.nodes[client].0.name.clone(),
                        circuit: circuit.name().to_owned(),
                        submitted_ms: at,
                        witness: n,
                        ..JobRecord::default()
                    });
                }
                Err(error) => {
                    ui.line(&format!("job {n} not submitted: {error:#}"));
                    submit_errors.push(format!("{error:#}"));
                }
            }
        } else if !more && submitted_all_at.is_none() {
            submitted_all_at = Some(Instant::now());
            ui.line(&format!("workload submitted: {} jobs", jobs.len()));
        }

        if last_poll.elapsed() >= Duration::from_millis(500) {
            last_poll = Instant::now();
            let now = ms();
            // Processes.
            for (spec, child) in &mut net.nodes {
                if let Some(c) = child
                    && let Some(status) = c.try_wait()?
                {
                    let what = format!(
                        "{} exited unexpectedly ({status}); see {}",
                        spec.name,
                        spec.log_path().display()
                    );
                    ui.line(&what);
                    unexpected_exits.push(what);
                    *child = None;
                }
            }
            if let Some(anvil) = &mut net.anvil
                && let Some(status) = anvil.try_wait()?
            {
                let what = format!(
                    "anvil exited unexpectedly ({status}); see {}",
                    net.dir.join("anvil.log").display()
                );
                ui.line(&what);
                unexpected_exits.push(what);
                net.anvil = None;
            }
            // Jobs.
            for &client in &clients {
                let url = format!("{}/v1/jobs", net.nodes[client].0.api());
                let Ok(response) = http.get(&url).send().await else {
                    continue;
                };
                let Ok(list) = response.json::<Vec<JobStatus>>().await else {
                    continue;
                };
                for job in list {
                    let Some(&index) = by_id.get(&job.id) else {
                        continue;
                    };
                    let record = &mut jobs[index];
                    record.first_seen.entry(job.state.clone()).or_insert(now);
                    record.status = job;
                }
            }
            // Chain.
            if let Err(error) = observer.poll(now).await {
                ui.line(&format!("reading the chain: {error:#}"));
            }
            // Only the events this poll added.
            for logged in &observer.events[events_read..] {
                if let ProverMarketEvents::SlashedFilter(s) = &logged.event {
                    let job = provernet_protocol::primitives::to_hex(&s.job_id);
                    ui.line(&format!(
                        "slashed {} for {} on job 0x{}",
                        name_of(net, s.prover),
                        provernet_slashing::fault_name(s.fault),
                        &job[..12]
                    ));
                    slashed.insert(format!("0x{job}"));
                }
            }
            events_read = observer.events.len();
            // The crash.
            let verified = jobs
                .iter()
                .filter(|j| j.first_seen.contains_key("verified") || j.status.state == "paid")
                .count();
            // The crash after N verified jobs, or the next scheduled kill.
            let mut due = None;
            if let (Some(after), Some(target)) = (args.crash_prover_after, crash_target)
                && !crashed_after_verified
                && verified >= after
            {
                crashed_after_verified = true;
                due = Some(target);
            } else if let Some(&(at, target)) = kills.first()
                && now >= at
            {
                kills.remove(0);
                due = Some(target);
            }
            if let Some(target) = due {
                match kill_and_restart(exe, net, ui, target, started, verified).await {
                    Ok(Some(crash)) => crashes.push(crash),
                    Ok(None) => {}
                    Err(what) => {
                        unexpected_exits.push(what);
                        break;
                    }
                }
            }
            // The partition.
            if let (Some(secs), Some(target)) = (args.partition, partition_target)
                && partitions.is_empty()
                && started.elapsed() >= Duration::from_secs(args.partition_at)
            {
                let spec = &net.nodes[target].0;
                let url = format!("{}/v1/dev/partition", spec.api());
                let answer = http
                    .post(&url)
                    .json(&serde_json::json!({ "secs": secs }))
                    .send()
                    .await
                    .map_err(anyhow::Error::from)
                    .and_then(|r| r.error_for_status().map_err(anyhow::Error::from));
                if let Err(error) = answer {
                    let what = format!("cannot partition {}: {error:#}", spec.name);
                    ui.line(&what);
                    unexpected_exits.push(what);
                    break;
                }
                ui.line(&format!(
                    "partition: {} cut off from every peer for {secs} s",
                    spec.name
                ));
                partitions.push(Partition {
                    node: spec.name.clone(),
                    from_ms: now,
                    secs,
                    rejoined_ms: None,
                });
            }
            if let Some(partition) = partitions.last_mut()
                && partition.rejoined_ms.is_none()
                && now > partition.from_ms + partition.secs * 1_000
                && let Some(target) = partition_target
            {
                let url = format!("{}/v1/node", net.nodes[target].0.api());
                if let Ok(response) = http.get(&url).send().await
                    && let Ok(info) = response.json::<serde_json::Value>().await
                    && info["partitioned"] == false
                    && info["topic_peers"].as_u64() >= Some(1)
                {
                    partition.rejoined_ms = Some(now);
                    ui.line(&format!(
                        "partition: {} back on the market topic after {:.1} s",
                        partition.node,
                        (now - partition.from_ms) as f64 / 1_000.0
                    ));
                }
            }
            // Done?
            let injected = read_ledgers(&cheaters);
            let unslashed = injected
                .iter()
                .filter(|i| !slashed.contains(&i.job))
                .count();
            let settled = jobs
                .iter()
                .filter(|j| report::settled(j, |id| slashed.contains(id)))
                .count();
            let total = if more {
                jobs.len().max(args.jobs)
            } else {
                jobs.len()
            };
            let count = |state: &str| jobs.iter().filter(|j| j.status.state == state).count();
            let gas: u64 = observer.txs.iter().map(|t| t.gas).sum();
            ui.update(
                settled,
                total,
                format!(
                    "bidding {} awarded {} accepted {} verified {} paid {} failed {} · faults {} injected, {} slashed · {:.1}M gas",
                    count("bidding"),
                    count("awarded"),
                    count("accepted"),
                    count("verified"),
                    count("paid"),
                    count("failed"),
                    injected.len(),
                    injected.len() - unslashed,
                    gas as f64 / 1e6
                ),
            );
            let partition_over = partitions.iter().all(|p| p.rejoined_ms.is_some())
                && (args.partition.is_none() || !partitions.is_empty());
            let jobs_done = !more && settled == jobs.len() && partition_over;
            if !jobs_done {
                jobs_done_at = None;
            } else if jobs_done_at.is_none() {
                jobs_done_at = Some(Instant::now());
            }
            // Faults not slashed by then never will be (unsampled, or no watchtower).
            let faults_waited = jobs_done_at.is_some_and(|at| at.elapsed() > FAULT_WAIT);
            if jobs_done && (unslashed == 0 || faults_waited) {
                // Let the last claims' and slashes' blocks be read.
                observer.poll(ms()).await.ok();
                break;
            }
            if !unexpected_exits.is_empty() {
                ui.line("stopping the run");
                break;
            }
            if let Some(at) = submitted_all_at
                && at.elapsed() > Duration::from_secs(args.timeout)
            {
                timed_out = true;
                ui.line(&format!(
                    "timed out {} s after the last submission: {} of {} jobs settled, {unslashed} injected faults not slashed",
                    args.timeout,
                    settled,
                    jobs.len()
                ));
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Watched {
        jobs,
        submit_errors,
        observer,
        crashes,
        partitions,
        unexpected_exits,
        timed_out,
        duration_ms: ms(),
    })
}

/// The node name of an account, else its address.
fn name_of(net: &Net, address: Address) -> String {
    let text = format!("{address:?}");
    net.state
        .nodes
        .iter()
        .find(|n| n.address == text)
        .map_or(text, |n| n.name.clone())
}

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

/// Each running node's pid and the CPU time (user + system) it has used, in ticks.
fn cpu_ticks(net: &Net) -> BTreeMap<String, (u32, u64)> {
    net.nodes
        .iter()
        .filter_map(|(spec, child)| {
            let pid = child.as_ref()?.id();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the command name, which is in parentheses and may hold spaces:
            // fields 3.. of proc(5); utime and stime are fields 14 and 15.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some((spec.name.clone(), (pid, utime + stime)))
        })
        .collect()
}

/// Gossip propagation from the nodes' arrival logs (`/v1/dev/arrivals`): for every
/// message whose publication one node logged, the delay to its first arrival at each
/// other node. `None` when no node answered.
async fn gossip(http: &reqwest::Client, net: &Net) -> Option<report::Gossip> {
    #[derive(serde::Deserialize)]
    struct Arrival {
        id: String,
        at_ms: u64,
        own: bool,
    }
    let mut logs = Vec::new();
    for (spec, child) in &net.nodes {
        if child.is_none() {
            continue;
        }
        let url = format!("{}/v1/dev/arrivals", spec.api());
        if let Ok(response) = http.get(&url).send().await
            && let Ok(log) = response.json::<Vec<Arrival>>().await
        {
            logs.push(log);
        }
    }
    if logs.is_empty() {
        return None;
    }
    let mut published: HashMap<&str, u64> = HashMap::new();
    for log in &logs {
        for a in log.iter().filter(|a| a.own) {
            published.insert(&a.id, a.at_ms);
        }
    }
    let mut delays = Vec::new();
    let mut reached: HashMap<&str, usize> = HashMap::new();
    for log in &logs {
        for a in log.iter().filter(|a| !a.own) {
            if let Some(&at) = published.get(a.id.as_str()) {
                delays.push(a.at_ms.saturating_sub(at));
                *reached.entry(&a.id).or_default() += 1;
            }
        }
    }
    let others = (logs.len() - 1).max(1) as f64;
    let coverage = if published.is_empty() {
        0.0
    } else {
        published
            .keys()
            .map(|id| reached.get(id).copied().unwrap_or(0) as f64 / others)
            .sum::<f64>()
            / published.len() as f64
    };
    Some(report::Gossip {
        delays_ms: delays,
        messages: published.len(),
        coverage,
    })
}

/// Proves each verified job's witness again through the library alone (the call a
/// prover node makes, without the node), one at a time, three times: its raw proving
/// time is the median, ms (a single proof on this kind of machine varies by ±20 %).
async fn raw_prove(
    jobs: &[JobRecord],
    cache_dir: &Path,
    solc: &Path,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let work: Vec<(String, Circuit, u64)> = jobs
        .iter()
        .filter(|j| j.status.e2e_ms.is_some())
        .filter_map(|j| Some((j.id.clone(), j.circuit.parse().ok()?, j.witness)))
        .collect();
    let config = provernet_circuits::prover::ProverConfig {
        solc: solc.to_owned(),
        ..provernet_circuits::prover::ProverConfig::new(
            provernet_circuits::srs::SrsSource::DevInsecure,
            cache_dir.to_owned(),
        )
    };
    tokio::task::spawn_blocking(move || {
        let prover =
            provernet_circuits::prover::Prover::new(&config).context("cannot load the dev SRS")?;
        let mut raw = BTreeMap::new();
        for (id, circuit, n) in work {
            // Keys are loaded (or built) before the clock starts, as a node holds them.
            prover.keys(circuit)?;
            let witness = circuit.parse_witness(&circuit.numbered_witness(n))?;
            let mut times = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                prover.prove(&witness)?;
                times.push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            }
            times.sort_unstable();
            raw.insert(id, times[1]);
        }
        anyhow::Ok(raw)
    })
    .await?
}

/// When (ms into the run) and which node `--kills` kills: the first honest prover and
/// the last watchtower in turn (the first node is every node's bootstrap peer, so it is
/// never killed), at moments drawn uniformly over the workload.
fn kill_schedule(args: &UpArgs, net: &Net) -> Vec<(u64, usize)> {
    let prover = net
        .nodes
        .iter()
        .position(|(s, _)| s.role == Role::Prover && s.cheat.is_none());
    let watchtower = net
        .nodes
        .iter()
        .rposition(|(s, _)| s.role == Role::Watchtower);
    let targets: Vec<usize> = [prover, watchtower].into_iter().flatten().collect();
    if args.kills == 0 || targets.is_empty() {
        return Vec::new();
    }
    let workload_ms = match args.duration {
        Some(secs) => secs * 1_000,
        None => (args.jobs as f64 / args.rate * 1_000.0) as u64,
    }
    .max(10_000);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x6b69_6c6c);
    let mut times: Vec<u64> = (0..args.kills)
        .map(|_| 3_000 + rng.next_u64() % workload_ms)
        .collect();
    times.sort_unstable();
    times
        .into_iter()
        .enumerate()
        .map(|(i, at)| (at, targets[i % targets.len()]))
        .collect()
}

/// Kills node `index` with SIGKILL and starts it again on its data dir; the crash, or
/// `None` when the node was not running, or what went wrong restarting it.
async fn kill_and_restart(
    exe: &Path,
    net: &mut Net,
    ui: &Ui,
    index: usize,
    started: Instant,
    verified: usize,
) -> Result<Option<Crash>, String> {
    let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let now = ms();
    let (spec, child) = &mut net.nodes[index];
    let Some(c) = child.as_mut() else {
        return Ok(None);
    };
    let pid = c.id();
    let _ = c.kill();
    let _ = c.wait();
    ui.line(&format!(
        "crash: killed {} (pid {pid}) with SIGKILL, {verified} jobs verified so far",
        spec.name
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = match procs::spawn(exe, spec) {
        Ok(restarted) => restarted,
        Err(error) => {
            let what = format!("cannot restart {}: {error:#}", spec.name);
            ui.line(&what);
            *child = None;
            return Err(what);
        }
    };
    let (name, new_pid, marker) = (
        spec.name.clone(),
        restarted.id(),
        spec.config_path().display().to_string(),
    );
    *child = Some(restarted);
    let restarted_ms = ms();
    net.record(&name, new_pid, marker);
    ui.line(&format!(
        "crash: restarted {name} (pid {new_pid}) on its data dir"
    ));
    Ok(Some(Crash {
        node: name,
        killed_ms: now,
        restarted_ms,
        after_verified: verified,
    }))
}

/// Submits one job; its id.
async fn submit(
    http: &reqwest::Client,
    api: &str,
    body: &serde_json::Value,
) -> anyhow::Result<String> {
    let response = http
        .post(format!("{api}/v1/jobs"))
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {api}/v1/jobs"))?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "{status}: {}",
            answer["error"].as_str().unwrap_or("no error message")
        );
    }
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no job id"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout_of(flags: &[&str]) -> Vec<(String, Role, Option<CheatKind>)> {
        layout(&crate::args::up(flags))
    }

    #[test]
    fn the_last_provers_cheat_one_mode_each_and_the_hub_is_never_a_prover() {
        let nodes = layout_of(&[
            "--provers",
            "4",
            "--cheaters",
            "2",
            "--cheat",
            "withhold,late",
        ]);
        let names: Vec<&str> = nodes.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "watchtower-1",
                "watchtower-2",
                "prover-1",
                "prover-2",
                "prover-3",
                "prover-4",
                "client-1"
            ]
        );
        let cheats: Vec<Option<CheatKind>> = nodes.iter().map(|(_, _, c)| *c).collect();
        assert_eq!(
            cheats[2..6],
            [None, None, Some(CheatKind::Withhold), Some(CheatKind::Late)]
        );
        let alone = layout_of(&["--watchtowers", "0"]);
        assert_eq!(alone[0].1, Role::Client, "{alone:?}");
    }
}
