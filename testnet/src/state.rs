//! `testnet.json`: what a running testnet started, so `down` and `status` can find it
//! from another process.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::procs::{Role, kill, terminate};

/// Prints a line to stdout; a closed pipe (`… | head`) ends nothing but the output.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Every job of the client node whose API is `api`, as its pages show them
/// (`GET /v1/jobs?after=…`, at most 1,000 a page).
///
/// # Errors
/// The API cannot be reached or answers something else than a page of jobs.
pub(crate) async fn client_jobs<T: serde::de::DeserializeOwned>(
    http: &reqwest::Client,
    api: &str,
) -> anyhow::Result<Vec<T>> {
    let mut jobs = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{api}/v1/jobs?limit=1000");
        if let Some(id) = &after {
            url.push_str("&after=");
            url.push_str(id);
        }
        let page: Vec<serde_json::Value> = http
            .get(&url)
            .send()
            .await
            .with_context(|| format!("GET {url}"))?
            .json()
            .await
            .with_context(|| format!("GET {url}: not a page of jobs"))?;
        let full = page.len() == 1_000;
        after = page
            .last()
            .and_then(|j| j["id"].as_str())
            .map(str::to_owned);
        for job in page {
            jobs.push(serde_json::from_value(job).context("a job's status")?);
        }
        if !full || after.is_none() {
            return Ok(jobs);
        }
    }
}

/// The state file's name in the testnet directory.
pub const STATE_FILE: &str = "testnet.json";

/// One process the testnet started.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Process {
    /// `anvil`, `prover-1`, …
    pub name: String,
    /// Its pid (the latest, after restarts).
    pub pid: u32,
    /// A string its command line contains …
    pub marker: String,
    /// … and its start time (clock ticks after boot, `/proc/<pid>/stat` field 22): a pid
    /// the system reused for another process is never signalled.
    #[serde(default)]
    pub started: Option<u64>,
}

impl Process {
    /// A process just started.
    pub fn new(name: &str, pid: u32, marker: String) -> Self {
        Self {
            name: name.to_owned(),
            pid,
            marker,
            started: start_time(pid),
        }
    }

    /// Whether it still runs (not the pid of another process since).
    pub fn running(&self) -> bool {
        is_ours(self.pid, &self.marker)
            && self
                .started
                .is_none_or(|started| start_time(self.pid) == Some(started))
    }
}

/// When `pid` started, in clock ticks after boot.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts at field 3 (the state); field 22 is the start time.
    rest.split_whitespace().nth(19)?.parse().ok()
}

/// A node, for `status`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NodeEntry {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its API.
    pub api: String,
    /// Its Ethereum address.
    pub address: String,
    /// Its log.
    pub log: PathBuf,
}

/// The state file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// The `testnet up` process.
    pub owner_pid: u32,
    /// Its start time ([`start_time`]).
    #[serde(default)]
    pub owner_started: Option<u64>,
    /// The chain's RPC URL.
    pub rpc_url: String,
    /// The market contract.
    pub market: String,
    /// Processes started, anvil first.
    pub processes: Vec<Process>,
    /// The nodes.
    pub nodes: Vec<NodeEntry>,
}

impl State {
    /// Writes the file (atomically).
    ///
    /// # Errors
    /// It cannot be written.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(STATE_FILE);
        let partial = dir.join(format!("{STATE_FILE}.partial"));
        std::fs::write(&partial, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Reads the file, if there is one.
    ///
    /// # Errors
    /// It exists but cannot be read or parsed.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = dir.join(STATE_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not a testnet state file", path.display())
            })?)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        }
    }
}

/// Whether `pid` is alive and its command line contains `marker`.
pub fn is_ours(pid: u32, marker: &str) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmdline| {
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        cmdline.contains(marker)
    }) && !is_zombie(pid)
}

fn is_zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// The processes of `state` still running.
pub fn alive(state: &State) -> Vec<&Process> {
    state.processes.iter().filter(|p| p.running()).collect()
}

/// `provernet testnet down`: stops the `up` process if it still runs (it tears down
/// what it started), then every recorded process still running: SIGTERM, and SIGKILL
/// after 5 s.
///
/// # Errors
/// The state file cannot be read.
pub async fn down(dir: &Path) -> anyhow::Result<()> {
    let Some(state) = State::load(dir)? else {
        bail!(
            "no testnet in {} (no {STATE_FILE}); nothing to stop",
            dir.display()
        );
    };
    let owner = Process {
        name: "testnet up".into(),
        pid: state.owner_pid,
        marker: "testnet".into(),
        started: state.owner_started,
    };
    if state.owner_pid != std::process::id()
        && state.owner_started.is_some()
        && owner.running()
        && terminate(state.owner_pid)
    {
        eprintln!("asked `testnet up` (pid {}) to stop", state.owner_pid);
        wait_gone(std::slice::from_ref(&owner), Duration::from_secs(10)).await;
    }
    let running: Vec<Process> = alive(&state).into_iter().cloned().collect();
    if running.is_empty() {
        out!("nothing running in {}", dir.display());
        return Ok(());
    }
    for process in &running {
        terminate(process.pid);
    }
    wait_gone(&running, Duration::from_secs(5)).await;
    for process in &running {
        if process.running() {
            kill(process.pid);
            out!("killed {} (pid {})", process.name, process.pid);
        } else {
            out!("stopped {} (pid {})", process.name, process.pid);
        }
    }
    Ok(())
}

/// Waits (`within` at most) until none of `processes` runs.
async fn wait_gone(processes: &[Process], within: Duration) {
    let until = Instant::now() + within;
    while Instant::now() < until {
        if !processes.iter().any(Process::running) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `provernet testnet status`: each node's process, peers and (for clients) jobs by
/// state, from its HTTP API.
///
/// # Errors
/// The state file cannot be read.
pub async fn status(dir: &Path) -> anyhow::Result<()> {
    let Some(state) = State::load(dir)? else {
        bail!(
            "no testnet in {} (no {STATE_FILE}); start one with `provernet testnet up`",
            dir.display()
        );
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()?;
    out!("chain: {}  market: {}", state.rpc_url, state.market);
    let running = alive(&state);
    let anvil_up = running.iter().any(|p| p.name == "anvil");
    out!("anvil: {}", if anvil_up { "running" } else { "stopped" });
    out!(
        "{:<14} {:<11} {:<8} {:>6} {:>6}  {:<26}  address",
        "node",
        "role",
        "process",
        "peers",
        "mesh",
        "jobs"
    );
    for node in &state.nodes {
        let process = state.processes.iter().find(|p| p.name == node.name);
        let up = process.is_some_and(Process::running);
        let info: Option<serde_json::Value> =
            match http.get(format!("{}/v1/node", node.api)).send().await {
                Ok(response) => response.json().await.ok(),
                Err(_) => None,
            };
        let (peers, mesh) = info.as_ref().map_or(("-".into(), "-".into()), |i| {
            (i["peers"].to_string(), i["topic_peers"].to_string())
        });
        let jobs = if node.role == Role::Client {
            match client_jobs::<serde_json::Value>(&http, &node.api).await {
                Ok(jobs) => count_states(&jobs),
                Err(_) => "-".into(),
            }
        } else {
            String::new()
        };
        out!(
            "{:<14} {:<11} {:<8} {:>6} {:>6}  {:<26}  {}",
            node.name,
            format!("{:?}", node.role).to_lowercase(),
            if up { "running" } else { "stopped" },
            peers,
            mesh,
            jobs,
            node.address
        );
    }
    Ok(())
}

/// `paid 3 verified 1 …` for a client's jobs.
fn count_states(jobs: &[serde_json::Value]) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for job in jobs {
        *counts
            .entry(job["state"].as_str().unwrap_or("?").to_owned())
            .or_default() += 1;
    }
    counts
        .iter()
        .map(|(state, n)| format!("{state} {n}"))
        .collect::<Vec<_>>()
        .join(" ")
}
