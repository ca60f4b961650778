//! The node's configuration: a TOML file supplies values, flags override them, and
//! [`NodeConfig::check`] names the field that is wrong.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use libp2p::Multiaddr;
use provernet_circuits::Circuit;
use provernet_market::pricing::PricePolicy;
use serde::{Deserialize, Serialize};

/// Why a configuration cannot be used. Each names the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read.
    #[error("cannot read config file {path}: {reason}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not valid TOML for this schema (unknown key, wrong type, …).
    #[error("config file {path}: {reason}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's message, with the key and line.
        reason: String,
    },
    /// A value is out of range or inconsistent.
    #[error("config field `{field}`: {reason}")]
    Field {
        /// The dotted field name.
        field: &'static str,
        /// What is wrong and what is expected.
        reason: String,
    },
}

fn field(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Field {
        field,
        reason: reason.into(),
    }
}

/// Which roles the node takes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Roles {
    /// Bid, prove, commit, claim.
    pub prover: bool,
    /// Submit jobs, award, verify.
    pub client: bool,
    /// Sample and challenge commitments.
    pub watchtower: bool,
    /// Validate and forward market gossip, and nothing else. Needed only when no other
    /// role is chosen (every node relays).
    pub relay: bool,
}

/// `[network]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkSection {
    /// Listen addresses, e.g. `/ip4/127.0.0.1/tcp/9000`.
    pub listen: Vec<String>,
    /// Peers to dial at start, e.g. `/ip4/127.0.0.1/tcp/9001/p2p/12D3Koo…`.
    pub bootstrap: Vec<String>,
    /// Most established connections.
    pub max_connections: u32,
    /// Depth of the queue of network events waiting for the node.
    pub event_queue: usize,
    /// Request-response timeout, ms.
    pub request_timeout_ms: u64,
    /// Gossip envelopes the replay cache holds, unexpired: only envelopes the market
    /// accepted enter it, and a full cache makes room by the soonest expiring one, so no
    /// flood fills it against honest traffic.
    pub replay_capacity: usize,
    /// Inbound request-response requests each peer may send per second (twice as many
    /// at once); more are dropped before the node sees them.
    pub inbound_requests_per_s: u32,
    /// Bytes of inbound requests each peer may send per second (twice as many at once).
    pub inbound_bytes_per_s: u64,
    /// Gossip messages each peer may deliver per second (twice as many at once); more
    /// are ignored before any signature is checked. Honest forwarders stay far below.
    pub gossip_per_peer_per_s: u32,
    /// Gossip bytes each peer may deliver per second (twice as many at once).
    pub gossip_bytes_per_peer_per_s: u64,
    /// Job requests remembered at once (at least 16); one client may hold a sixteenth,
    /// and a full table makes room for a client holding fewer than the heaviest.
    pub request_capacity: usize,
}

impl Default for NetworkSection {
    fn default() -> Self {
        Self {
            listen: vec!["/ip4/127.0.0.1/tcp/0".into()],
            bootstrap: Vec::new(),
            max_connections: 64,
            event_queue: 4_096,
            request_timeout_ms: 30_000,
            replay_capacity: provernet_protocol::replay::SeenCache::DEFAULT_CAPACITY,
            inbound_requests_per_s: 100,
            inbound_bytes_per_s: 4 << 20,
            request_capacity: 65_536,
            gossip_per_peer_per_s: 500,
            gossip_bytes_per_peer_per_s: 8 << 20,
        }
    }
}

/// `[chain]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainSection {
    /// JSON-RPC endpoint.
    pub rpc_url: String,
    /// The `ProverMarket` contract, 0x-prefixed.
    pub market: String,
    /// A file holding the Ethereum private key (hex); else `key_env` is read.
    pub key_file: Option<PathBuf>,
    /// The environment variable holding the Ethereum private key (hex).
    pub key_env: String,
    /// How often the chain is polled, ms.
    pub poll_interval_ms: u64,
    /// This account's transactions in flight at once (1..=16): answers to challenges
    /// never wait behind more than these. Also the most claims under way at once.
    pub max_in_flight: usize,
    /// How long a transaction may go without a receipt before it is sent again under its
    /// nonce with raised fees, ms (at least `poll_interval_ms`).
    pub bump_after_ms: u64,
    /// How much each replacement raises the fees, percent (10..=100).
    pub bump_percent: u64,
    /// The highest fee per gas the node offers, gwei; 0: no cap.
    pub max_fee_gwei: u64,
    /// Blocks on top of this account's transaction before it counts as done (a
    /// commitment, a claim; answers and challenges are acted on at their first receipt
    /// and watched as long): a reorg up to this depth brings it back under
    /// its nonce, and a client counts a payment only in the state that deep. 0 on a chain
    /// without reorgs (0..=64).
    pub confirmations: u64,
    /// Most blocks asked for in one `eth_getLogs` (1..=100,000): what the provider serves.
    pub log_range: u64,
    /// The block the market was deployed at: a node with no stored position reads the
    /// market's events from here.
    pub from_block: u64,
}

impl Default for ChainSection {
    fn default() -> Self {
        Self {
            rpc_url: "http://127.0.0.1:8545".into(),
            market: String::new(),
            key_file: None,
            key_env: "PROVERNET_ETH_KEY".into(),
            poll_interval_ms: 500,
            max_in_flight: 4,
            bump_after_ms: 30_000,
            bump_percent: 25,
            max_fee_gwei: 0,
            confirmations: 0,
            log_range: 2_000,
            from_block: 0,
        }
    }
}

/// `[proving]`: the SRS and key cache (client and prover).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProvingSection {
    /// A KZG SRS file (halo2 `ParamsKZG` format).
    pub srs_file: Option<PathBuf>,
    /// Use the insecure development SRS from a fixed seed (local testnets only).
    pub dev_srs: bool,
    /// Where the SRS and keys are cached; defaults to `$PROVERNET_CACHE_DIR`, else
    /// `~/.cache/provernet/circuits`.
    pub cache_dir: Option<PathBuf>,
    /// The solc that compiles the circuits' EVM verifiers, from which the market's
    /// circuit ids derive (solc 0.8.28 as pinned in `package.json`: another compiler
    /// makes other code, so other ids); defaults to `$PROVERNET_SOLC`, else
    /// `scripts/solc` under the working directory, else `solc` on the PATH.
    pub solc: Option<PathBuf>,
    /// Circuits of imported models this node knows besides the built-in ones, by name
    /// (`model-64-32r-10-s15`, as `provernet model import` prints it): a client submits
    /// jobs of them, a watchtower verifies their proofs. A prover knows the circuits it
    /// proves (`prover.circuits`) without them.
    pub models: Vec<String>,
    /// How many imported models' circuits a prover or watchtower learns from the
    /// requests that name them, besides `models` (`service::learn`); 0 learns none.
    /// Learned circuits are kept in the data dir and known again after a restart.
    pub learn_models: usize,
    /// The most weights and biases a model may have for this node to learn its circuit:
    /// its keys take memory and its proofs time in proportion.
    pub learn_max_parameters: usize,
}

impl Default for ProvingSection {
    fn default() -> Self {
        Self {
            srs_file: None,
            dev_srs: false,
            cache_dir: None,
            solc: None,
            models: Vec::new(),
            learn_models: 4,
            learn_max_parameters: 4_096,
        }
    }
}

/// `[prover]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProverSection {
    /// Circuits it proves, by name.
    pub circuits: Vec<String>,
    /// Proofs generated at once.
    pub workers: usize,
    /// How it prices bids.
    pub price: PricePolicy,
    /// The longest a proof may take, slowdowns included, ms, until the circuit's first
    /// job is timed: a promise leaves room for at least this (a calibration proof,
    /// measured on an idle machine, gives the first time; no bid before it:
    /// `service::calibrate`); and the time of held jobs found at a restart with no stored
    /// time.
    pub estimate_ms: u64,
    /// Seal a batch at this many leaves …
    pub batch_size: usize,
    /// … or when its oldest leaf has waited this long, ms.
    pub batch_max_age_ms: u64,
    /// Time kept between the expected end of proving and the promised deadline, for
    /// batching and the commit transaction, ms.
    pub commit_margin_ms: u64,
    /// Bid only on jobs that the client's reservation for this prover pays (the
    /// market's `reserve`): no award the client signs to other provers can then leave
    /// this prover unpaid. Off, the client's free deposit is enough, and awards to
    /// others may empty it first.
    pub require_reservation: bool,
    /// Seconds from a job's deadline to the claim of its fee: the reservation that pays
    /// the job must last this long after the deadline. It must exceed the challenge
    /// window (in seconds at the chain's block time) plus the time a claim takes.
    pub claim_margin_secs: u64,
    /// Misbehave on purpose, for testnets and tests only (see [`Cheat`]).
    pub cheat: Option<Cheat>,
}

/// `[prover.cheat]`: a prover that misbehaves at a given rate, so watchtowers and the
/// testnet can show that cheating is caught. Refused unless the node uses the dev SRS on
/// a local anvil chain (chain id 31337).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cheat {
    /// What it does wrong.
    pub mode: CheatMode,
    /// The share of its jobs it cheats on, 0..=1 (decided per job id, so a restart
    /// cheats on the same jobs).
    pub rate: f64,
    /// Post roots without gossiping commitment notices (watchtowers must then ask it for
    /// the batch's leaves).
    #[serde(default)]
    pub silent: bool,
}

/// How a cheating prover misbehaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheatMode {
    /// Commit (and deliver, and serve) a corrupted proof.
    InvalidProof,
    /// Commit the proof's leaf but give the proof to no one, and never reveal it.
    Withhold,
    /// Accept the job, then never prove or commit it.
    MissDeadline,
    /// Commit a second, different leaf for the job.
    Equivocate,
    /// Prove the circuit's example witness instead of the job's input, and deliver and
    /// commit that: a valid proof, of another statement than the awarded one.
    OtherStatement,
    /// Never publish the acceptance nor deliver the proof to the client (so the client
    /// re-auctions), but prove and commit the job anyway, hoping to be paid for it too.
    SkipAcceptance,
    /// Accept, prove and commit the job, but never push the proof to the client (serve
    /// it when asked, reveal it when challenged), hoping the client re-auctions and pays
    /// the job twice.
    SkipDelivery,
}

impl Cheat {
    /// Whether the prover cheats on job `id`: a hash of the id below `rate`.
    pub fn applies(&self, id: &provernet_protocol::JobId) -> bool {
        let mut tagged = b"provernet cheat".to_vec();
        tagged.extend_from_slice(&id.0);
        below(&provernet_protocol::keccak256(&tagged), self.rate)
    }
}

/// Whether the first 8 bytes of `hash`, as a fraction of 2^64, are below `rate`.
pub fn below(hash: &[u8; 32], rate: f64) -> bool {
    if rate >= 1.0 {
        return true;
    }
    let mut word = [0u8; 8];
    word.copy_from_slice(&hash[..8]);
    // 2^64 · rate, saturating; exact enough for rates given in config files.
    let threshold = (rate.max(0.0) * 18_446_744_073_709_551_616.0) as u64;
    u64::from_be_bytes(word) < threshold
}

/// `[watchtower]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WatchtowerSection {
    /// Probability that a committed job is sampled and its proof checked, 0..=1 (1 is a
    /// full audit).
    pub sample_rate: f64,
    /// Attempts to fetch a sampled proof (each tries the prover, the client and every
    /// provider) before it is treated as withheld.
    pub fetch_attempts: u32,
    /// Pause between fetch attempts, ms.
    pub fetch_retry_ms: u64,
    /// Time after a deadline before a missed deadline is challenged (notices and the
    /// chain may lag), ms.
    pub deadline_grace_ms: u64,
    /// Time to wait for a batch's commitment notices before asking its prover for the
    /// leaves, ms.
    pub notice_wait_ms: u64,
    /// Blocks a settled leaf is kept, in memory and in the store, after its batch's
    /// challenge window closed: how long after that a second leaf the prover commits for
    /// the same job (an equivocation) can still be proven from this node (never less
    /// than the market's response window: a proof revealed late still finds its leaf).
    /// Longer costs memory and disk in proportion to the market's jobs in that time.
    pub retain_blocks: u64,
}

impl Default for WatchtowerSection {
    fn default() -> Self {
        Self {
            sample_rate: 0.1,
            fetch_attempts: 3,
            fetch_retry_ms: 1_000,
            deadline_grace_ms: 3_000,
            notice_wait_ms: 2_000,
            retain_blocks: 7_200,
        }
    }
}

impl Default for ProverSection {
    fn default() -> Self {
        Self {
            circuits: Vec::new(),
            workers: 1,
            price: PricePolicy::default(),
            estimate_ms: 5_000,
            batch_size: 16,
            batch_max_age_ms: 2_000,
            commit_margin_ms: 4_000,
            require_reservation: false,
            claim_margin_secs: 3_600,
            cheat: None,
        }
    }
}

/// `[client]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientSection {
    /// How long bids are collected, ms.
    pub bid_window_ms: u64,
    /// How long the winner has to accept, ms.
    pub accept_timeout_ms: u64,
    /// Rounds of auction before a job fails.
    pub max_rounds: u32,
    /// A re-auction raises the maximum price by this many basis points …
    pub price_step_bps: u32,
    /// … up to this many basis points of the first maximum.
    pub price_cap_bps: u32,
    /// How long a proof may be late before the client re-auctions, ms.
    pub deadline_grace_ms: u64,
    /// After a round without bids, the next waits this long times the number of such
    /// rounds so far, at most 3 (provers were busy; their capacity frees up as they
    /// prove), ms.
    pub no_bid_backoff_ms: u64,
    /// Ether (wei) deposited into the market at start when the deposit is lower.
    #[serde(with = "provernet_market::pricing::wei_text")]
    pub min_deposit_wei: u128,
    /// Misbehave on purpose, for tests only (refused as `prover.cheat` is): never sign
    /// an award, hoping to get proofs without being bound to pay for them.
    pub cheat_never_sign: bool,
    /// Test only, likewise: sign awards but neither gossip them nor answer the winner's
    /// acceptance sent directly, as if every signed award were lost on the way (the winner
    /// commits unsigned; the client's node buys the proof with a withheld-proof challenge).
    pub cheat_drop_signed_award: bool,
    /// Test only, likewise: act on no acceptance that comes by gossip, as if each were
    /// lost on the way (only the one the winner sends directly counts).
    pub cheat_drop_gossiped_acceptances: bool,
    /// Model packages (`provernet model import --out DIR`) whose inferences the API takes
    /// as numbers (`POST /v1/jobs` with `model` and `values`): read and checked at start,
    /// their circuits known; the weights go to a job's winner only, in its witness. At most
    /// [`MAX_CLIENT_MODELS`].
    pub models: Vec<PathBuf>,
}

/// The most model packages a client node holds (`client.models`).
pub const MAX_CLIENT_MODELS: usize = 64;

impl Default for ClientSection {
    fn default() -> Self {
        Self {
            bid_window_ms: 300,
            accept_timeout_ms: 5_000,
            max_rounds: 8,
            price_step_bps: 2_500,
            price_cap_bps: 20_000,
            deadline_grace_ms: 1_000,
            no_bid_backoff_ms: 2_000,
            min_deposit_wei: 0,
            cheat_never_sign: false,
            cheat_drop_signed_award: false,
            cheat_drop_gossiped_acceptances: false,
            models: Vec::new(),
        }
    }
}

/// `[api]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSection {
    /// Whether the HTTP API and `/metrics` are served at all.
    pub enabled: bool,
    /// Where they are served.
    pub listen: SocketAddr,
    /// Also serve `/v1/dev/*`, fault injection for local testnets (`POST
    /// /v1/dev/partition`). Refused unless `proving.dev_srs = true` on chain id 31337.
    pub dev: bool,
}

impl Default for ApiSection {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: SocketAddr::from(([127, 0, 0, 1], 8_645)),
            dev: false,
        }
    }
}

/// `[store]`: what the node keeps on disk.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSection {
    /// How long a settled job (a client's paid or failed job, a prover's released job or
    /// claimed batch) stays on disk, for the API, before it is removed, seconds. Settled
    /// state leaves memory at once; a claimed batch's jobs stay on disk at least until no
    /// missed-deadline challenge can reach them, whatever this says.
    pub retention_secs: u64,
    /// How long a claimed batch's jobs stay on disk past the end of their missed-deadline
    /// challenge period before their retention starts, seconds: time to answer a challenge
    /// opened at the last moment (with the market's response window at a minute a block
    /// on top), on a chain whose timestamps lag this node's clock or that stalls. Set in
    /// a batch's marks when it is claimed. Shorter frees the disk sooner; a challenge
    /// opened once the records are gone cannot be answered, and slashes.
    pub answer_margin_secs: u64,
}

/// The bounds of `store.answer_margin_secs`: a minute to thirty days.
pub const ANSWER_MARGIN_SECS: std::ops::RangeInclusive<u64> = 60..=30 * 24 * 3_600;

impl Default for StoreSection {
    fn default() -> Self {
        Self {
            retention_secs: 7 * 24 * 3_600,
            answer_margin_secs: 3_600,
        }
    }
}

/// The whole configuration.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Keys and database live here.
    pub data_dir: PathBuf,
    /// Roles.
    pub roles: Roles,
    /// `[network]`.
    pub network: NetworkSection,
    /// `[chain]`.
    pub chain: ChainSection,
    /// `[proving]`.
    pub proving: ProvingSection,
    /// `[prover]`.
    pub prover: ProverSection,
    /// `[client]`.
    pub client: ClientSection,
    /// `[watchtower]`.
    pub watchtower: WatchtowerSection,
    /// `[api]`.
    pub api: ApiSection,
    /// `[store]`.
    pub store: StoreSection,
    /// The network joined with `--network FILE` (not a TOML section): the chain, market
    /// and SRS the node must find at start.
    #[serde(skip)]
    pub joined: Option<crate::network_file::NetworkFile>,
}

impl NodeConfig {
    /// Reads a TOML file.
    ///
    /// # Errors
    /// [`ConfigError::Read`] or [`ConfigError::Parse`] (which names the key and line).
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            reason: e.to_string(),
        })
    }

    /// The listen addresses, parsed.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `network.listen`.
    pub fn listen_addrs(&self) -> Result<Vec<Multiaddr>, ConfigError> {
        parse_addrs("network.listen", &self.network.listen)
    }

    /// The bootstrap addresses, parsed.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `network.bootstrap`.
    pub fn bootstrap_addrs(&self) -> Result<Vec<Multiaddr>, ConfigError> {
        parse_addrs("network.bootstrap", &self.network.bootstrap)
    }

    /// The market address.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `chain.market`.
    pub fn market_address(&self) -> Result<ethers::types::Address, ConfigError> {
        self.chain.market.parse().map_err(|_| {
            field(
                "chain.market",
                format!(
                    "`{}` is not a 0x-prefixed 20-byte address of the ProverMarket contract",
                    self.chain.market
                ),
            )
        })
    }

    /// The circuits of the prover role.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `prover.circuits`.
    pub fn prover_circuits(&self) -> Result<Vec<Circuit>, ConfigError> {
        self.prover
            .circuits
            .iter()
            .map(|name| {
                name.parse::<Circuit>().map_err(|_| {
                    field(
                        "prover.circuits",
                        format!(
                            "unknown circuit `{name}`; known: {} and imported models' \
                             (model-…)",
                            Circuit::ALL.map(Circuit::name).join(", ")
                        ),
                    )
                })
            })
            .collect()
    }

    /// Every circuit this node knows: the built-in ones, `proving.models`, and the
    /// prover's circuits if it proves.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `proving.models` or `prover.circuits`.
    pub fn known_circuits(&self) -> Result<Vec<Circuit>, ConfigError> {
        let mut known = Circuit::ALL.to_vec();
        for name in &self.proving.models {
            match name.parse::<Circuit>() {
                Ok(circuit @ Circuit::Model(_)) => known.push(circuit),
                _ => {
                    return Err(field(
                        "proving.models",
                        format!(
                            "`{name}` is not a model circuit's name (model-<inputs>-<widths, r \
                             after a ReLU>-s<scale>, as `provernet model import` prints it)"
                        ),
                    ));
                }
            }
        }
        if self.roles.prover {
            known.extend(self.prover_circuits()?);
        }
        known.sort();
        known.dedup();
        Ok(known)
    }
}

/// Why a cheating prover is refused outside a local testnet.
pub const CHEAT_REFUSED: &str = "a cheating prover is for local testnets and tests only: it needs \
     proving.dev_srs = true and a local anvil chain (chain id 31337)";

/// Why the dev API is refused outside a local testnet.
pub const DEV_API_REFUSED: &str = "the dev API (fault injection) is for local testnets only: it \
     needs proving.dev_srs = true and a local anvil chain (chain id 31337)";

/// The chain id of a local anvil chain, the only one a cheating prover runs on.
pub const LOCAL_CHAIN_ID: u64 = 31_337;

fn parse_addrs(name: &'static str, addrs: &[String]) -> Result<Vec<Multiaddr>, ConfigError> {
    addrs
        .iter()
        .map(|a| {
            a.parse()
                .map_err(|e| field(name, format!("`{a}` is not a multiaddr: {e}")))
        })
        .collect()
}

mod check;
#[cfg(test)]
mod tests;
