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

use crate::args::{Arrivals, CheatKind, UpArgs};
use crate::chain::{self, Observer};
use crate::procs::{self, Common, NodeSpec, Role};
use crate::report::{self, Crash, Injected, JobRecord, JobStatus, NodeRecord, Partition, RunData};
use crate::setup;
use crate::state::{self, NodeEntry, Process, State};

mod measure;
mod model;
mod watch;

use measure::{cpu_ticks, gossip, prove_mean_ms, raw_prove};
use watch::watch;

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
    let mut circuits: Vec<Circuit> = args
        .circuits
        .iter()
        .map(|c| c.parse().map_err(|_| anyhow!("unknown circuit {c}")))
        .collect::<anyhow::Result<_>>()?;
    let model = match &args.model {
        Some(package) => Some(model::ModelWorkload::load(
            package,
            args.model_inputs.as_deref(),
        )?),
        None => None,
    };
    if let Some(model) = &model
        && !circuits.contains(&model.circuit)
    {
        circuits.push(model.circuit);
    }
    let circuit_names: Vec<String> = circuits.iter().map(|c| c.name().to_owned()).collect();

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

    // Node specs: identities and keys first, which the operator commands read.
    let network = dir.join("network.toml");
    let mut specs = Vec::new();
    for (i, (name, role, cheat)) in layout.iter().enumerate() {
        let spec = NodeSpec {
            name: name.clone(),
            role: *role,
            dir: dir.join(name),
            eth_key: keys[i + 1],
            identity: procs::new_identity(),
            p2p_port: ports[1 + 2 * i],
            api_port: ports[2 + 2 * i],
            cheat: *cheat,
            network: network.clone(),
        };
        procs::write_keys(&spec)?;
        specs.push(spec);
    }

    // The market, deployed with the operator command that writes the network file every
    // node joins with (its first node the bootstrap peer); its transcript in setup.log.
    let operator = setup::Operator {
        exe,
        rpc: &endpoint,
        cache_dir: &cache_dir,
        log: dir.join("setup.log"),
    };
    let owner_key = dir.join("owner.key");
    procs::write_secret(&owner_key, &keys[0])?;
    let market_address = operator
        .deploy_market(&owner_key, &specs[0], &circuit_names, &network)
        .await?;
    let owner = Market::at(market_address, std::sync::Arc::clone(&owner_client));
    let market_hex = format!("{market_address:?}");
    net.state.rpc_url.clone_from(&endpoint);
    net.state.market.clone_from(&market_hex);
    net.save();
    ui.line(&format!(
        "market deployed at {market_hex} (provernet market deploy; network file {})",
        network.display()
    ));
    let verifiers = chain::deploy_verifiers(&owner, &circuits, &cache_dir, &solc).await?;
    for v in &verifiers {
        ui.line(&format!(
            "verifier for {} at {}: {} gas measured, capped at {}",
            v.circuit, v.address, v.measured_gas, v.gas_limit
        ));
    }

    let provers =
        setup::stake_and_fund(&operator, &specs, &network, &provider, market_address).await?;
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
            circuits: &circuit_names,
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
            // The network file named it from its identity: the same peer, or no node
            // could join from the file alone.
            if peer != setup::peer_id(&spec.identity) {
                bail!(
                    "{} is peer {peer}, the network file says {}",
                    spec.name,
                    setup::peer_id(&spec.identity)
                );
            }
            bootstrap.push(format!("/ip4/127.0.0.1/tcp/{}/p2p/{peer}", spec.p2p_port));
        }
    }
    for index in 1..net.nodes.len() {
        wait_for_api(&http, net, index).await?;
    }
    let want = (net.nodes.len() - 1).min(2);
    wait_for_mesh(&http, net, want).await?;
    let measuring = Instant::now();
    wait_for_provers(&http, net, circuits.len()).await?;
    ui.line(&format!(
        "provers measured their proving times ({} circuits) in {:.1} s",
        circuits.len(),
        measuring.elapsed().as_secs_f64()
    ));
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
    let watched = watch(
        args,
        exe,
        net,
        ui,
        &http,
        (&owner, &provider),
        &circuits,
        model.as_ref(),
    )
    .await?;
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

pub(crate) fn address_of(key: &[u8; 32]) -> anyhow::Result<Address> {
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

/// The nodes (of `role`, or all) whose `/v1/node` shows `field` below `want` (or cannot
/// be read). A node that exited stops the run.
async fn lacking(
    http: &reqwest::Client,
    net: &mut Net,
    field: &str,
    want: usize,
    role: Option<Role>,
) -> anyhow::Result<Vec<String>> {
    let mut lacking = Vec::new();
    for index in 0..net.nodes.len() {
        if role.is_some_and(|role| net.nodes[index].0.role != role) {
            continue;
        }
        check_alive(net, index)?;
        let url = format!("{}/v1/node", net.nodes[index].0.api());
        let value = match http.get(&url).send().await {
            Ok(response) => response
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|i| i[field].as_u64())
                .unwrap_or(0),
            Err(_) => 0,
        };
        if value < want as u64 {
            lacking.push(net.nodes[index].0.name.clone());
        }
    }
    Ok(lacking)
}

/// Waits (60 s at most) until every node has `want` peers on the market topic.
async fn wait_for_mesh(http: &reqwest::Client, net: &mut Net, want: usize) -> anyhow::Result<()> {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let lacking = lacking(http, net, "topic_peers", want, None).await?;
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

/// Waits until every prover has measured its proving time of each of the `circuits`
/// circuits (`measured_circuits` in `/v1/node`): a prover bids on no circuit before, and
/// a workload started earlier would only be re-auctioned.
async fn wait_for_provers(
    http: &reqwest::Client,
    net: &mut Net,
    circuits: usize,
) -> anyhow::Result<()> {
    // A model's keys are built on first use: tens of seconds on a loaded machine.
    let until = Instant::now() + Duration::from_secs(600);
    loop {
        let lacking = lacking(http, net, "measured_circuits", circuits, Some(Role::Prover)).await?;
        if lacking.is_empty() {
            return Ok(());
        }
        if Instant::now() > until {
            bail!(
                "{} did not measure their proving times within 600 s (see their node.log)",
                lacking.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
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

/// Clock ticks per second of `/proc/<pid>/stat` (USER_HZ, 100 on Linux).
const USER_HZ: f64 = 100.0;

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
