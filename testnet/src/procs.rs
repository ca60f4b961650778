//! Node processes: each a `provernet node` with its own directory, keys, ports, config
//! file and log.

use std::fmt::Write as _;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use ed25519_dalek::SigningKey;
use provernet_protocol::primitives::to_hex;
use rand_core::{OsRng, RngCore};

use crate::args::CheatKind;

/// A node's role in the testnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Bids, proves, commits, claims.
    Prover,
    /// Audits and challenges.
    Watchtower,
    /// Submits the workload's jobs.
    Client,
    /// Validates and forwards gossip only.
    Relay,
}

/// Everything needed to (re)start one node.
#[derive(Clone, Debug)]
pub struct NodeSpec {
    /// `prover-1`, `watchtower-2`, `client-1`, …
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its directory (config, log, data).
    pub dir: PathBuf,
    /// Its anvil account's private key.
    pub eth_key: [u8; 32],
    /// Its identity (the prover's registered peer key is its public half).
    pub identity: SigningKey,
    /// Its libp2p port.
    pub p2p_port: u16,
    /// Its HTTP API port.
    pub api_port: u16,
    /// How it cheats, if it does.
    pub cheat: Option<CheatKind>,
    /// The network file it joins with (`provernet node --network`).
    pub network: PathBuf,
}

impl NodeSpec {
    /// The config file.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("node.toml")
    }

    /// The log file (stdout and stderr of every run, appended).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    /// The data dir.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The token the node's API asks of mutating requests, which the node writes to
    /// `api-token` in its data dir at first start (`provernet_node::identity`).
    ///
    /// # Errors
    /// The node has not written it (not started yet), or it cannot be read.
    pub fn api_token(&self) -> anyhow::Result<String> {
        let path = self.data_dir().join("api-token");
        std::fs::read_to_string(&path)
            .map(|token| token.trim().to_owned())
            .with_context(|| format!("cannot read the API token {}", path.display()))
    }

    /// The API's base URL.
    pub fn api(&self) -> String {
        format!("http://127.0.0.1:{}", self.api_port)
    }
}

/// A fresh random identity.
pub fn new_identity() -> SigningKey {
    let mut secret = [0u8; 32];
    OsRng.fill_bytes(&mut secret);
    SigningKey::from_bytes(&secret)
}

/// What every node's config shares.
pub struct Common<'a> {
    /// The chain's RPC URL.
    pub rpc_url: &'a str,
    /// The market contract, 0x-hex.
    pub market: &'a str,
    /// Circuits the provers prove.
    pub circuits: &'a [String],
    /// The key cache.
    pub cache_dir: &'a Path,
    /// The solc the nodes compile verifiers with (circuit ids derive from their code).
    pub solc: &'a Path,
    /// Watchtowers' sample rate.
    pub sample_rate: f64,
    /// Cheaters' rate.
    pub cheat_rate: f64,
    /// Multiaddrs to bootstrap from.
    pub bootstrap: &'a [String],
}

/// A TOML basic string (JSON's escapes are TOML's).
fn text(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

fn list(values: &[String]) -> String {
    let items: Vec<String> = values.iter().map(|v| text(v)).collect();
    format!("[{}]", items.join(", "))
}

/// Writes the node's identity (in its data dir) and Ethereum key (`eth.key`): what the
/// operator commands read.
///
/// # Errors
/// A file cannot be written.
pub fn write_keys(spec: &NodeSpec) -> anyhow::Result<()> {
    let data = spec.data_dir();
    std::fs::create_dir_all(&data).with_context(|| format!("cannot create {}", data.display()))?;
    write_secret(&data.join("identity.key"), &spec.identity.to_bytes())?;
    write_secret(&spec.dir.join("eth.key"), &spec.eth_key)
}

/// Writes the node's identity, Ethereum key and config file (docs/operating.md lists
/// every field).
///
/// # Errors
/// A file cannot be written.
pub fn write_node_files(spec: &NodeSpec, common: &Common<'_>) -> anyhow::Result<()> {
    write_keys(spec)?;
    let (data, key_file) = (spec.data_dir(), spec.dir.join("eth.key"));
    let mut toml = String::new();
    let _ = writeln!(toml, "# Written by `provernet testnet up`.");
    let _ = writeln!(toml, "data_dir = {}", text(&data.display().to_string()));
    let _ = writeln!(toml, "\n[roles]");
    let _ = writeln!(toml, "prover = {}", spec.role == Role::Prover);
    let _ = writeln!(toml, "client = {}", spec.role == Role::Client);
    let _ = writeln!(toml, "watchtower = {}", spec.role == Role::Watchtower);
    let _ = writeln!(toml, "relay = {}", spec.role == Role::Relay);
    let _ = writeln!(toml, "\n[network]");
    let _ = writeln!(
        toml,
        "listen = {}",
        list(&[format!("/ip4/127.0.0.1/tcp/{}", spec.p2p_port)])
    );
    let _ = writeln!(toml, "bootstrap = {}", list(common.bootstrap));
    let _ = writeln!(toml, "request_timeout_ms = 10000");
    let _ = writeln!(toml, "\n[chain]");
    let _ = writeln!(toml, "rpc_url = {}", text(common.rpc_url));
    let _ = writeln!(toml, "market = {}", text(common.market));
    let _ = writeln!(toml, "key_file = {}", text(&key_file.display().to_string()));
    let _ = writeln!(toml, "poll_interval_ms = 250");
    let _ = writeln!(toml, "\n[proving]");
    let _ = writeln!(toml, "dev_srs = true");
    let _ = writeln!(
        toml,
        "cache_dir = {}",
        text(&common.cache_dir.display().to_string())
    );
    let _ = writeln!(toml, "solc = {}", text(&common.solc.display().to_string()));
    let models: Vec<String> = common
        .circuits
        .iter()
        .filter(|c| c.starts_with("model-"))
        .cloned()
        .collect();
    let _ = writeln!(toml, "models = {}", list(&models));
    let _ = writeln!(toml, "\n[api]");
    let _ = writeln!(toml, "enabled = true");
    // Fault injection (`--partition`); the node refuses it off a local anvil.
    let _ = writeln!(toml, "dev = true");
    let _ = writeln!(
        toml,
        "listen = {}",
        text(&format!("127.0.0.1:{}", spec.api_port))
    );
    let _ = writeln!(toml, "\n[client]");
    let _ = writeln!(toml, "bid_window_ms = 300");
    let _ = writeln!(toml, "accept_timeout_ms = 3000");
    // The cores are shared by every node, so provers often have no capacity for a while:
    // more rounds, with a gentler back-off, before a job is given up.
    let _ = writeln!(toml, "max_rounds = 16");
    let _ = writeln!(toml, "no_bid_backoff_ms = 1000");
    let _ = writeln!(toml, "\n[watchtower]");
    let _ = writeln!(toml, "sample_rate = {}", common.sample_rate);
    let _ = writeln!(toml, "\n[prover]");
    let _ = writeln!(toml, "circuits = {}", list(common.circuits));
    // Several provers share the cores, and Halo2 uses every core: a proof takes a few
    // times as long as alone.
    let _ = writeln!(toml, "estimate_ms = 8000");
    let _ = writeln!(toml, "batch_size = 4");
    let _ = writeln!(toml, "batch_max_age_ms = 1500");
    // Promises keep 15 s between the expected end of proving and the deadline: room for
    // batching and the commit, and for a crash and restart (`--crash-prover-after`)
    // without breaking a promise.
    let _ = writeln!(toml, "commit_margin_ms = 15000");
    // Every client reserves part of its deposit for every prover (`run.rs`): provers
    // bid only on what a reservation pays, so no award to another prover can leave them
    // unpaid, and every run pays its fees that way.
    let _ = writeln!(toml, "require_reservation = true");
    if let Some(cheat) = spec.cheat {
        let _ = writeln!(toml, "\n[prover.cheat]");
        let _ = writeln!(toml, "mode = {}", text(cheat.node_mode()));
        let _ = writeln!(toml, "rate = {}", common.cheat_rate);
    }
    std::fs::write(spec.config_path(), toml)
        .with_context(|| format!("cannot write {}", spec.config_path().display()))?;
    Ok(())
}

/// Writes a 32-byte secret as hex, readable by its owner only.
pub fn write_secret(path: &Path, secret: &[u8; 32]) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(to_hex(secret).as_bytes())?;
    Ok(())
}

/// Starts `provernet node` for `spec`, appending its output to its log.
///
/// # Errors
/// The process cannot be started.
pub fn spawn(exe: &Path, spec: &NodeSpec) -> anyhow::Result<Child> {
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(spec.log_path())
        .with_context(|| format!("cannot open {}", spec.log_path().display()))?;
    Command::new(exe)
        .arg("node")
        .arg("--config")
        .arg(spec.config_path())
        .arg("--network")
        .arg(&spec.network)
        // A prover's reasons for not bidding are at debug: a testnet's log shows them.
        .env("PROVERNET_LOG", "info,market::prover=debug")
        .env_remove("PROVERNET_ETH_KEY")
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("cannot start {} ({})", spec.name, exe.display()))
}

/// Sends SIGTERM to `pid`; false if there is no such process.
pub fn terminate(pid: u32) -> bool {
    signal(pid, nix::sys::signal::Signal::SIGTERM)
}

/// Sends SIGKILL to `pid`; false if there is no such process.
pub fn kill(pid: u32) -> bool {
    signal(pid, nix::sys::signal::Signal::SIGKILL)
}

fn signal(pid: u32, signal: nix::sys::signal::Signal) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), signal).is_ok()
}

/// Stops `child`: SIGTERM, then SIGKILL if it has not exited within `grace`.
pub fn stop(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    terminate(child.id());
    let until = Instant::now() + grace;
    while Instant::now() < until {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Fails if `port` on 127.0.0.1 cannot be bound now.
///
/// # Errors
/// The port is in use, naming what it was for.
pub fn check_port(port: u16, what: &str) -> anyhow::Result<()> {
    if std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!(
            "port {port} ({what}) is in use on 127.0.0.1: stop what holds it, or pass another \
             --base-port (0 picks free ports)"
        );
    }
    Ok(())
}

/// `n` ports: from `base` on (each checked free), or free ones the system picks.
///
/// # Errors
/// A port from `base` on is in use.
pub fn ports(base: u16, names: &[String]) -> anyhow::Result<Vec<u16>> {
    if base != 0 {
        let mut ports = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let port = u16::try_from(usize::from(base) + i).context("port beyond 65535")?;
            check_port(port, name)?;
            ports.push(port);
        }
        return Ok(ports);
    }
    // Hold every listener until all are picked, so no port is handed out twice.
    let listeners: Vec<std::net::TcpListener> = names
        .iter()
        .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
        .collect::<Result<_, _>>()
        .context("cannot pick free ports on 127.0.0.1")?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.port()))
        .collect()
}
