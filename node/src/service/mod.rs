//! The node service: the actor that owns the market state and the tasks around it.
//!
//! ```text
//!                 ┌────────────── network task (Swarm) ──────────────┐
//!  gossip bytes ──▶ dispatcher: envelope checks in batches (spawn_blocking)
//!                 │   bad envelope → Reject/Ignore reported directly │
//!                 └──────── verified envelopes, requests ────────────┘
//!                                     ▼
//!  chain follower ──stakes, head──▶ Core (one task, owns all market state) ◀── API
//!                                     │  spawns: input fetch, proving (bounded pool),
//!                                     │  delivery, proof verification
//!                                     ▼
//!                   chain worker (one task: commits, claims and answers to
//!                   challenges, in order)
//!
//!  notices, acceptances, chain events ──▶ watchtower actor (watch.rs; a client runs it
//!                                          for its own jobs' deadlines)
//! ```
//!
//! The core never blocks: everything slow runs in a spawned task that reports back as
//! an [`Internal`] message. Every state change of a job is written to the [`Store`]
//! before the action it enables is taken, so a restart resumes from the store.

mod acceptances;
mod admission;
mod answers;
mod ask;
mod batches;
mod bid;
mod book;
mod calibrate;
mod client;
mod cursor;
mod delivery;
mod dispatch;
mod estimates;
pub(crate) use estimates::NO_SLOWDOWN;
mod exchange;
mod follow;
mod funds;
mod gossip;
mod handle;
mod known;
mod learn;
mod models;
mod overdue;
mod paid;
mod prover;
mod registry;
mod requests;
mod resume;
mod retention;
mod roles;
mod rules;
mod settle;
mod start;
mod status;
mod supervise;
mod watch;
mod worker;

pub use handle::NodeHandle;
pub use models::{ClientModels, JobBody};
pub use requests::REQUEST_MEMORY_SECS;
pub use start::{StartError, Startup, start};
pub use supervise::{Failure, Tasks};

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{Address as EthAddress, U256};
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::request_response::ResponseChannel;
use libp2p::{Multiaddr, PeerId};
use provernet_circuits::{Circuit, Prover as Engine};
use provernet_protocol::{
    Acceptance, Address, Award, CircuitId, Context, Hash32, JobId, JobRequest, Payload, PeerKey,
    SignedEnvelope, Validator, VerifiedEnvelope,
};
use provernet_slashing::Market;
use provernet_slashing::eip712::Domain;
use provernet_slashing::events::{EventFollower, EventKind};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::NodeConfig;
use crate::identity::Keys;
use crate::metrics::Metrics;
use crate::network::{self, NetworkConfig, NetworkHandle};
use crate::store::records::{BatchLeaf, ProofRecord};
use crate::store::{Store, Work};

pub use client::{JobStatus, SubmitError, proof_file as client_proof_file};
/// The body of `POST /v1/jobs` and its checks live in the circuits crate, so they can be
/// tested and fuzzed without a node.
pub use provernet_circuits::job::{SubmissionError, SubmitRequest};
pub use watch::sampled;

use watch::{WatchInput, Watchtower};

/// The signing chain client.
pub type ChainClient = SignerMiddleware<Provider<Http>, LocalWallet>;

/// How long a gossiped message lives.
pub const MESSAGE_TTL_SECS: u64 = 120;

/// Unix time in ms.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Unix time in seconds.
pub fn now_s() -> u64 {
    now_ms() / 1_000
}

/// A protocol address as an ethers one.
pub fn eth(address: &Address) -> EthAddress {
    EthAddress::from(address.0)
}

/// What the node's state holds about another prover.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StakeInfo {
    /// Its registered ed25519 key.
    pub peer_key: [u8; 32],
    /// Its stake, wei (saturated at 2^128).
    pub stake: u128,
}

/// What the node knows about a request it saw on gossip.
#[derive(Clone, Debug)]
struct SeenRequest {
    request: JobRequest,
    client_key: PeerKey,
    /// The round's award: the selection until the signed award is seen.
    award: Option<Award>,
    /// The winner's acceptance.
    acceptance: Option<Acceptance>,
    /// Unix seconds after which it is forgotten.
    forget_after: u64,
    /// The messages on this job each key had accepted (`rules::within_job_quota`).
    heard: rules::Heard,
}

/// Messages to the core.
pub(crate) enum Internal {
    Gossip(Vec<(MessageId, PeerId, VerifiedEnvelope)>),
    /// A client's answer to this prover's acceptance sent to it directly: its signed
    /// award, not checked yet (`acceptances.rs`).
    AwardByExchange(Award),
    /// A peer's request, checked and typed by the dispatcher.
    Request(Box<dispatch::Inbound>),
    Stakes(Vec<(EthAddress, StakeInfo)>),
    /// Accounts that deposited, from the chain's events.
    Depositors(Vec<EthAddress>),
    /// Provers that claimed fees and the blocks of their claims, from the chain's events
    /// (a client's).
    FeesClaimed(Vec<(EthAddress, u64)>),
    /// The block the watchtower has applied every event of, said after its words on
    /// them (`watch::own`).
    WatchedTo(u64),
    /// The block the follower has read to, and whether it reached the chain's head.
    Head(u64, bool),
    /// A client's free deposit and reservation for this prover read from the chain
    /// (see `funds`).
    Deposit {
        client: EthAddress,
        result: Result<funds::ChainFunds, String>,
    },
    /// This prover's exposure read from the chain.
    Exposure(provernet_market::funds::Exposure),
    /// Circuits this prover proves that the chain shows registered as this build's.
    Registered(Vec<CircuitId>),
    /// Whether the market's verifier accepted this build's first proof of a circuit.
    RegistrationChecked {
        circuit: CircuitId,
        accepted: bool,
    },
    /// That check could not be made (RPC): the next proof tries again.
    RegistrationUnchecked(CircuitId),
    Inputs {
        job: JobId,
        result: Result<Vec<u8>, prover::InputsError>,
    },
    Proven {
        job: JobId,
        result: Result<(ProofRecord, u64), String>,
    },
    /// A learning's end (`learn`).
    Learned {
        id: CircuitId,
        outcome: learn::Outcome,
    },
    /// A calibration proof's time, ms (`calibrate`).
    Calibrated {
        circuit: Circuit,
        result: Result<u64, String>,
    },
    Delivered {
        job: JobId,
        ok: bool,
    },
    ProofChecked {
        user_id: JobId,
        current: JobId,
        peer: PeerId,
        proof: ProofRecord,
        ok: client::Checked,
        channel: ResponseChannel<Vec<u8>>,
    },
    Committed {
        seq: u64,
        result: Result<(u64, u64), String>,
    },
    Claimed {
        seq: u64,
        result: Result<(), String>,
    },
    Paid(Vec<JobId>),
    /// Challenges opened against this prover.
    AgainstMe(Vec<Against>),
    /// An answer to challenge `challenge` was sent: `done` unless it is to be tried again.
    Answered {
        challenge: u64,
        done: bool,
    },
    Submit(SubmitRequest, oneshot::Sender<Result<JobId, SubmitError>>),
    /// The watchtower's word on one of this client's rounds (`watch::own`).
    OwnRound {
        job: JobId,
        outcome: watch::OwnRound,
    },
}

/// A challenge opened against this prover.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Against {
    pub id: u64,
    /// The contract's `Fault`.
    pub fault: u8,
    pub job: JobId,
    pub client: Address,
    /// The last block an answer may be mined in.
    pub respond_by: u64,
}

/// Work for the chain worker, done one at a time in order.
enum ChainTask {
    Commit {
        seq: u64,
        leaves: Vec<provernet_protocol::JobLeaf>,
        sealed_at_block: u64,
    },
    Claim {
        seq: u64,
        batch_id: u64,
        leaves: Vec<BatchLeaf>,
    },
    /// Answers a withheld-proof challenge with the proof.
    Reveal { challenge: u64, proof: ProofRecord },
    /// Answers a missed-deadline challenge with the leaf's inclusion.
    Answer {
        challenge: u64,
        at: provernet_slashing::evidence::Inclusion,
    },
}

/// The file in the data dir where a cheating prover records its faults.
pub const CHEAT_LEDGER: &str = "cheats.jsonl";

/// What stays the same for the node's lifetime.
pub(crate) struct Shared {
    pub config: NodeConfig,
    pub identity: SigningKey,
    pub peer_key: PeerKey,
    pub wallet: LocalWallet,
    pub address: Address,
    pub context: Context,
    pub domain: Domain,
    pub market: Market<ChainClient>,
    pub store: Store,
    pub metrics: Arc<Metrics>,
    pub engine: Arc<Engine>,
    pub net: NetworkHandle,
    /// Circuits this node knows, by id, and those the prover role proves: the built-in
    /// and configured ones, and the models learned from requests (`learn`).
    pub circuits: known::KnownCircuits,
    pub window_blocks: u64,
    /// The market's response window, blocks.
    pub response_blocks: u64,
    pub min_stake: u128,
    /// The market's `challengeBond`, wei: the most a prover bids (a client that never
    /// signs the award forces the proof out with a plain withheld-proof challenge, whose
    /// bond is then all the prover is paid).
    pub challenge_bond: u128,
    /// The market's `maxDeadline`, seconds: a prover bids on no request whose proving
    /// deadline is further away, since its stake may leave before a longer promise can be
    /// challenged (docs/contracts.md).
    pub max_deadline_secs: u64,
    /// The market's `deadlineChallengePeriod`, seconds: a missed-deadline challenge of a
    /// job opens until that long after its deadline, claimed or not.
    pub deadline_challenge_secs: u64,
    /// The account's transaction queue (`market` sends through it): what it did, for
    /// metrics.
    pub transactions: provernet_slashing::txqueue::TxQueue,
    /// Test only: proving takes this many thousandths of its time
    /// ([`estimates::NO_SLOWDOWN`] = as it is); set by `POST /v1/dev/slowdown`.
    pub slowdown: Arc<std::sync::atomic::AtomicU32>,
}

impl Shared {
    /// The node's Ethereum address.
    pub fn wallet_address(&self) -> EthAddress {
        EthAddress::from(self.address.0)
    }

    /// Whether the (test-only) cheating prover misbehaves in `mode` on job `id`.
    pub fn cheats(&self, id: &JobId, mode: crate::config::CheatMode) -> bool {
        self.config
            .prover
            .cheat
            .as_ref()
            .is_some_and(|c| c.mode == mode && c.applies(id))
    }

    /// Records a fault this (test-only) cheating prover commits: one JSON line
    /// `{"job", "mode", "at_ms"}` appended to [`CHEAT_LEDGER`] in the data dir, so a
    /// testnet can tell the faults it injected from those it caught. A job may be
    /// recorded more than once (after a restart); readers count each job and mode once.
    pub fn record_cheat(&self, id: &JobId, mode: crate::config::CheatMode) {
        use std::io::Write as _;
        let line = serde_json::json!({
            "job": format!("0x{}", provernet_protocol::primitives::to_hex(&id.0)),
            "mode": mode,
            "at_ms": now_ms(),
        });
        let path = self.config.data_dir.join(CHEAT_LEDGER);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            // No fsync: the testnet kills processes, not machines, and a written line
            // outlives its writer in the page cache.
            .and_then(|mut file| writeln!(file, "{line}"));
        if let Err(error) = written {
            tracing::error!(target: "market::prover", %error, path = %path.display(), "cannot record a cheat");
        }
    }

    /// Signs `payload` in an envelope that lives [`MESSAGE_TTL_SECS`].
    fn envelope<P: Payload>(&self, payload: &P) -> Option<Vec<u8>> {
        match SignedEnvelope::sign(
            payload,
            &self.context,
            now_s() + MESSAGE_TTL_SECS,
            &self.identity,
        ) {
            Ok(envelope) => Some(envelope.to_bytes()),
            Err(error) => {
                tracing::error!(target: "market", %error, kind = P::KIND.name(), "refusing to sign an invalid message");
                None
            }
        }
    }

    async fn publish<P: Payload>(&self, payload: &P) {
        if let Some(bytes) = self.envelope(payload) {
            self.net.publish(bytes).await;
        }
    }
}

/// The actor owning the market state: the [`book::Book`] every role reads, and each
/// role's own state ([`roles`]).
pub(crate) struct Core {
    s: Arc<Shared>,
    internal: mpsc::Sender<Internal>,
    chain: mpsc::Sender<ChainTask>,
    book: book::Book,
    client: roles::ClientState,
    prover: roles::ProverState,
    /// The model circuits learned from requests, and the lies heard (`learn`).
    learning: learn::Learning,
    /// When settled records were last looked for, and gauges last counted (ms).
    last_sweep_ms: u64,
    /// The key of the last settled record's mark swept (a sweep reads on from there).
    swept_to: Option<Vec<u8>>,
    last_gauges_ms: u64,
    /// The dispatcher's gossip budgets per peer: what the market accepts is refunded.
    gossip_budget: Option<Arc<std::sync::Mutex<network::budget::InboundBudget>>>,
    /// Turns to make request-response answers off the core (`exchange`).
    answer_turns: Arc<tokio::sync::Semaphore>,
    /// The gossip replay cache the dispatcher looks envelopes up in: the core records
    /// only the envelopes the market rules accept (`gossip::on_gossip`).
    seen: Option<provernet_protocol::SharedSeen>,
    // watchtower
    watch: Option<mpsc::Sender<WatchInput>>,
}

impl Core {
    fn new(
        s: Arc<Shared>,
        internal: mpsc::Sender<Internal>,
        chain: mpsc::Sender<ChainTask>,
    ) -> Self {
        Self {
            internal,
            chain,
            book: book::Book::new(
                s.config.network.request_capacity,
                s.config.roles.client.then_some(s.address),
            ),
            client: roles::ClientState::new(),
            prover: roles::ProverState::new(&s.config),
            learning: learn::Learning::default(),
            last_sweep_ms: 0,
            swept_to: None,
            last_gauges_ms: 0,
            gossip_budget: None,
            answer_turns: Arc::new(tokio::sync::Semaphore::new(exchange::MAX_ANSWERS)),
            seen: None,
            watch: None,
            s,
        }
    }

    async fn run(mut self, mut internal: mpsc::Receiver<Internal>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_millis(50));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                message = internal.recv() => match message {
                    Some(message) => self.handle(message).await,
                    None => break,
                },
                _ = tick.tick() => self.tick().await,
            }
        }
        tracing::info!(target: "node", "core stopped");
    }

    async fn handle(&mut self, message: Internal) {
        match message {
            Internal::Gossip(batch) => {
                for (id, source, envelope) in batch {
                    self.on_gossip(id, source, envelope).await;
                }
            }
            Internal::Request(inbound) => self.on_request(*inbound).await,
            Internal::Stakes(stakes) => self.book.stakes.extend(stakes),
            Internal::Depositors(depositors) => self.book.depositors.extend(depositors),
            Internal::FeesClaimed(provers) => self.on_fees_claimed(&provers),
            Internal::WatchedTo(block) => self.book.watched_to = block,
            Internal::Head(head, caught_up) => self.book.read_to(head, caught_up),
            Internal::Deposit { client, result } => self.on_deposit(client, result).await,
            Internal::Exposure(exposure) => self.on_exposure(exposure),
            Internal::Registered(ids) => {
                let rejected = &self.prover.rejected;
                self.prover
                    .registered
                    .extend(ids.into_iter().filter(|id| !rejected.contains(id)));
            }
            Internal::RegistrationChecked { circuit, accepted } => {
                self.on_registration_checked(circuit, accepted);
            }
            Internal::RegistrationUnchecked(circuit) => {
                self.prover.checked_on_chain.remove(&circuit);
            }
            Internal::Inputs { job, result } => self.on_inputs(job, result).await,
            Internal::Proven { job, result } => self.on_proven(job, result).await,
            Internal::Learned { id, outcome } => self.on_learned(id, outcome).await,
            Internal::Calibrated { circuit, result } => {
                self.on_calibrated(circuit, result).await;
            }
            Internal::Delivered { job, ok } => self.on_delivered(job, ok),
            Internal::ProofChecked {
                user_id,
                current,
                peer,
                proof,
                ok,
                channel,
            } => {
                self.on_proof_checked(user_id, current, peer, proof, ok, channel)
                    .await;
            }
            Internal::Committed { seq, result } => self.on_committed(seq, result).await,
            Internal::Claimed { seq, result } => self.on_claimed(seq, result),
            Internal::Paid(ids) => self.on_paid(ids),
            Internal::AwardByExchange(award) => self.take_award_by_exchange(award).await,
            Internal::AgainstMe(challenges) => self.on_challenged(challenges).await,
            Internal::Answered { challenge, done } => self.on_answered(challenge, done),
            Internal::Submit(request, reply) => {
                let _ = reply.send(self.submit(request).await);
            }
            Internal::OwnRound { job, outcome } => self.on_own_round(job, outcome).await,
        }
    }

    async fn tick(&mut self) {
        let now = now_ms();
        self.forget_requests(now / 1_000);
        if self.s.config.roles.client {
            self.tick_client(now).await;
        }
        if self.s.config.roles.prover {
            self.tick_prover(now).await;
        }
        self.sweep_expired(now);
        if now >= self.last_gauges_ms.saturating_add(1_000) {
            self.last_gauges_ms = now;
            self.update_gauges();
        }
    }

    /// Forgets requests past their deadline: the map cannot grow without bound.
    fn forget_requests(&mut self, now: u64) {
        if self.book.requests.forget_expired(now) > 0 {
            let requests = &self.book.requests;
            self.prover
                .my_bids
                .retain(|id, _| requests.contains_key(id));
        }
    }

    /// Writes `batch`; a failed write is logged and the change is lost for a restart,
    /// never applied half.
    fn write(&self, batch: crate::store::WriteBatch) -> bool {
        match self.s.store.write(batch) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(target: "store", %error, "write failed");
                false
            }
        }
    }
}

pub use provernet_circuits::default_cache_dir;

/// Gas a mined transaction used.
pub(crate) fn gas_of(receipt: &ethers::types::TransactionReceipt) -> u64 {
    u64::try_from(receipt.gas_used.unwrap_or_default()).unwrap_or(u64::MAX)
}

/// The EIP-712 award `award` stands for: its job, winner, price and deadline, and the
/// statement of its request (`circuit_id`, `public_inputs_hash`), which the gossip
/// message does not carry.
pub(crate) fn award_terms(
    award: &Award,
    circuit_id: CircuitId,
    public_inputs_hash: Hash32,
) -> provernet_slashing::eip712::Award {
    provernet_slashing::eip712::Award {
        job_id: award.job_id.0,
        prover: eth(&award.prover),
        price: wei(award.price),
        deadline: award.deadline,
        circuit_id: circuit_id.0,
        public_inputs_hash: public_inputs_hash.0,
    }
}

/// The EIP-712 acceptance `acceptance` stands for, of `client`'s job and its request's
/// statement (neither is in the gossip message).
pub(crate) fn acceptance_terms(
    acceptance: &Acceptance,
    client: EthAddress,
    circuit_id: CircuitId,
    public_inputs_hash: Hash32,
) -> provernet_slashing::eip712::Acceptance {
    provernet_slashing::eip712::Acceptance {
        job_id: acceptance.job_id.0,
        client,
        input_hash: acceptance.input_hash.0,
        price: wei(acceptance.price),
        deadline: acceptance.deadline,
        circuit_id: circuit_id.0,
        public_inputs_hash: public_inputs_hash.0,
    }
}

/// An amount as a U256.
pub fn wei(amount: u128) -> U256 {
    U256::from(amount)
}
