//! The watchtower: follows commitments, samples them, audits the sampled proofs and
//! challenges what fails, with evidence the chain checks.
//!
//! ```text
//!  gossip notices ──┐                     ┌── audit task: proof from the prover, else the
//!  chain events ────┼─▶ Watchtower actor ─┤   client, else any DHT provider; native verify
//!  acceptances ─────┘   (one task; state  ├── batch task: a silent prover's leaves
//!                        in RocksDB)      └── challenge task: eth_call, then the transaction
//! ```
//!
//! A leaf is known from its prover's commitment notice, or, when the prover stays silent
//! on gossip, from the leaves it serves for a batch seen in a `BatchCommitted` event.
//! Each leaf is sampled with probability `p` by a keyed hash of this node's secret and the
//! job, so no prover can tell which jobs a watchtower checks. Outcomes (slashed, answered,
//! taken by another challenger, …) are read from the chain's events, never assumed from a
//! transaction: the follower replays them after a restart, and the records in the store
//! say what was already done, so nothing is challenged twice or dropped.
//!
//! A client-only node runs the same actor for its own jobs: it holds their awards and
//! acceptances and challenges a missed deadline.

mod audit;
mod batches;
mod deadlines;
mod events;
mod own;
mod prune;
mod send;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ethers::types::{Address as EthAddress, U256};
use libp2p::PeerId;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    Acceptance, Address, Award, BatchRequest, BatchResponse, CircuitId, CommitmentNotice,
    FieldBytes, Hash32, JobId, JobLeaf, PeerKey, ProofRequest, ProofResponse, Response, keccak256,
};
use provernet_slashing::bindings::{ProverMarketErrors, ProverMarketEvents as E};
use provernet_slashing::events::MarketEvent;
use provernet_slashing::evidence::{
    self, Equivocation, EvidenceError, Inclusion, InvalidProof, MissedDeadline, Purchase,
    WithheldProof,
};
use provernet_slashing::{ChainError, Market, fault_name};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) use own::OwnRound;

use super::ask::{Retry, Try};
use super::{ChainClient, Internal, Shared, acceptance_terms, award_terms, gas_of, now_ms, now_s};
use crate::identity::peer_id_of;
use crate::metrics::{ChallengeOutcome, kind};
use crate::store::records::{Hex32, Stored};
use crate::store::{DeadlineState, LeafState, WatchedDeadline, WatchedLeaf, WriteBatch};

/// The contract's job key: prover, client, job id.
type JobKey = ([u8; 20], [u8; 20], JobId);
/// A leaf's place: batch id and index.
type LeafKey = (u64, u32);
/// A batch by its prover and root.
type Root = ([u8; 20], [u8; 32]);

/// Most audits under way at once (each ends in a native verification).
const MAX_AUDITS: usize = 8;
/// Seconds a settled deadline is kept after the deadline: as long as the core remembers
/// its request, so a replayed acceptance cannot add it again.
const RETAIN_DEADLINE_SECS: u64 = super::REQUEST_MEMORY_SECS;
/// How often a prover may fail to serve a batch's leaves before the watchtower stops
/// asking.
const MAX_REFUSALS: u32 = 3;
/// Pause before asking again for leaves a prover did not serve, ms.
const REFUSED_RETRY_MS: u64 = 5_000;
/// Audits a leaf may end undecided (the chain's verifier could not be asked) before it
/// is given up.
const MAX_UNDECIDED: u32 = 5;
/// How many recent events are remembered to apply each once.
const RECENT_EVENTS: usize = 4_096;
/// How long a notice waits for its batch's event, ms.
const EARLY_NOTICE_MS: u64 = 60_000;
/// How often settled state is pruned, ms.
const PRUNE_EVERY_MS: u64 = 10_000;
/// Longest wait for a DHT provider lookup (kademlia's own query timeout is a minute,
/// longer than a challenge window may be).
const PROVIDER_LOOKUP: Duration = Duration::from_secs(5);
/// Most commitment notices kept while their batch's event is not seen yet.
const MAX_EARLY_NOTICES: usize = 4_096;
/// Pause before an action the chain refused for a reason that may pass, ms.
const RETRY_MS: u64 = 3_000;
/// The spread of the pause before a challenge, ms: two watchtowers that found the same
/// fault rarely send at once, and the later one sees the first in its `eth_call`.
const JITTER_MS: u64 = 1_500;

/// What the rest of the node tells the watchtower.
pub(crate) enum WatchInput {
    /// A commitment notice that passed the gossip checks.
    Notice(Box<CommitmentNotice>),
    /// A job's award and the winner's acceptance, both checked.
    Accepted(Box<Accepted>),
    /// Market events, in chain order.
    Chain(Vec<MarketEvent>),
    /// Provers' registered ed25519 keys.
    Keys(Vec<(EthAddress, [u8; 32])>),
    /// The last block the follower read, and whether that was the chain's head.
    Head { block: u64, caught_up: bool },
    /// The client holds the verified proof of its job (this round's id).
    Delivered(JobId),
    /// A reorg replaced the blocks from this one on: their events are read again.
    Rollback(u64),
}

/// A job's award and the winner's acceptance, both checked, with the job's client.
pub(crate) struct Accepted {
    pub award: Award,
    pub acceptance: Acceptance,
    pub client: Address,
    /// The client's nonce of the job (its id derives from it).
    pub nonce: u64,
    pub client_key: PeerKey,
    /// The statement the award binds (from the request): only a leaf of it meets the
    /// deadline.
    pub circuit_id: CircuitId,
    pub public_inputs_hash: Hash32,
}

/// What the watchtower's own tasks report.
pub(crate) enum Report {
    BatchTime {
        batch_id: u64,
        timestamp: Option<u64>,
    },
    BatchLeaves {
        batch_id: u64,
        leaves: Option<Vec<JobLeaf>>,
    },
    /// A batch's leaves read from its committing transaction.
    Published {
        batch_id: u64,
        leaves: Option<Vec<JobLeaf>>,
    },
    Audited {
        key: LeafKey,
        audit: Audit,
    },
    Sent {
        target: Target,
        result: Result<Box<ethers::types::TransactionReceipt>, ChainError>,
    },
}

/// What an audit found.
pub(crate) enum Audit {
    /// The proof matches the leaf and verifies.
    Valid {
        inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    },
    /// The proof matches the leaf and does not verify.
    Invalid {
        inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    },
    /// No source gave a proof matching the leaf.
    Unavailable,
    /// The proof could not be judged now (the chain could not be asked).
    Undecided,
}

/// What a challenge task acts on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    Invalid(LeafKey),
    Withheld(LeafKey),
    Deadline(JobKey),
    Equivocation(JobKey),
    Finalize(u64),
}

impl Target {
    const fn kind(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "invalid_proof",
            Self::Withheld(_) => "withheld_proof",
            Self::Deadline(_) => "missed_deadline",
            Self::Equivocation(_) => "equivocation",
            Self::Finalize(_) => "finalize",
        }
    }
}

/// Whether the leaves of a batch are all known.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Leaves {
    /// Some come from notices; the rest may follow.
    Partial,
    /// Asked of the prover.
    Asking,
    /// All known.
    Complete,
    /// The prover did not serve them.
    Refused,
}

/// A batch seen in a `BatchCommitted` event.
struct ChainBatch {
    prover: [u8; 20],
    root: [u8; 32],
    count: u32,
    block: u64,
    timestamp: Option<u64>,
    seen_ms: u64,
    /// Which indices are known (from notices or the prover); a set, so a batch whose
    /// leaves never come costs nothing however large its count.
    known: HashSet<u32>,
    leaves: Leaves,
    /// How often the prover did not serve the leaves, and when it last did not (ms).
    refusals: u32,
    refused_ms: u64,
    /// When to read the block's time again after a failed read (ms; 0: not failed).
    time_retry_ms: u64,
}

/// The watchtower actor.
pub(crate) struct Watchtower {
    s: Arc<Shared>,
    /// The watchtower role: sample and audit every prover's leaves, watch every deadline.
    /// Without it (a client), only this node's own jobs are watched.
    audit: bool,
    me: EthAddress,
    secret: [u8; 32],
    reports: mpsc::Sender<Report>,
    /// To the core, in the order said: what the chain shows of the client's own rounds
    /// (see `own`), and the block read to.
    to_core: mpsc::UnboundedSender<Internal>,
    head: u64,
    /// Whether the follower has read every event up to the chain's head: until then a
    /// missing commitment may only not be read yet.
    caught_up: bool,
    keys: HashMap<EthAddress, [u8; 32]>,
    batches: BTreeMap<u64, ChainBatch>,
    by_root: HashMap<Root, u64>,
    /// Notices whose batch's event is not read yet, with when they came (ms).
    early: HashMap<Root, Vec<(u64, CommitmentNotice)>>,
    early_count: usize,
    leaves: BTreeMap<LeafKey, WatchedLeaf>,
    by_job: HashMap<JobKey, Vec<LeafKey>>,
    deadlines: HashMap<JobKey, WatchedDeadline>,
    client_keys: HashMap<JobId, PeerKey>,
    /// Every challenge seen: its job, fault and challenger.
    challenges: HashMap<u64, (JobKey, u8, EthAddress)>,
    /// Jobs with an open challenge by someone else, with the challenge's block.
    pending_other: HashMap<JobKey, u64>,
    /// Slashed jobs, with the slash's block.
    slashed: HashMap<JobKey, u64>,
    /// Slashes by others not yet confirmed: (job, block, fault). Their jobs are given up
    /// as taken (and a client's own round as lost) only once confirmed.
    unconfirmed_slashes: Vec<(JobKey, u64, u8)>,
    in_flight: HashSet<Target>,
    audits: usize,
    retry_at: HashMap<Target, u64>,
    /// Jobs whose leaves disagree, still to be challenged.
    equivocations: HashSet<JobKey>,
    last_prune_ms: u64,
    /// Audits of a leaf that ended undecided.
    undecided: HashMap<LeafKey, u32>,
    /// The last events applied, to apply each once.
    recent_events: HashSet<(ethers::types::H256, u64)>,
    recent_order: VecDeque<(ethers::types::H256, u64)>,
}

impl Watchtower {
    /// A watchtower for the node; its reports come back on the returned receiver.
    pub(crate) fn new(
        s: Arc<Shared>,
        core: mpsc::Sender<Internal>,
    ) -> (Self, mpsc::Receiver<Report>) {
        let (reports, rx) = mpsc::channel(1_024);
        // One forwarder, so the words reach the core in the order said: a purchase before
        // its end, and before the block read to past it (a send spawned per word could
        // swap them). It never blocks the watchtower (the core waits on it too); its
        // queue holds a few words per round of this client's own and one per poll.
        let (to_core, mut words) = mpsc::unbounded_channel::<Internal>();
        tokio::spawn(async move {
            while let Some(word) = words.recv().await {
                if core.send(word).await.is_err() {
                    break;
                }
            }
        });
        let mut keyed = b"provernet watchtower sampling".to_vec();
        keyed.extend_from_slice(&s.identity.to_bytes());
        let watch = Self {
            audit: s.config.roles.watchtower,
            me: s.wallet_address(),
            secret: keccak256(&keyed),
            reports,
            to_core,
            head: 0,
            caught_up: false,
            keys: HashMap::new(),
            batches: BTreeMap::new(),
            by_root: HashMap::new(),
            early: HashMap::new(),
            early_count: 0,
            leaves: BTreeMap::new(),
            by_job: HashMap::new(),
            deadlines: HashMap::new(),
            client_keys: HashMap::new(),
            challenges: HashMap::new(),
            pending_other: HashMap::new(),
            slashed: HashMap::new(),
            unconfirmed_slashes: Vec::new(),
            in_flight: HashSet::new(),
            audits: 0,
            retry_at: HashMap::new(),
            equivocations: HashSet::new(),
            last_prune_ms: 0,
            undecided: HashMap::new(),
            recent_events: HashSet::new(),
            recent_order: VecDeque::new(),
            s,
        };
        (watch, rx)
    }

    /// Whether this watchtower samples `leaf`: a keyed hash of its secret and the job
    /// below the sample rate.
    fn sampled(&self, leaf: &JobLeaf) -> bool {
        sampled(&self.secret, leaf, self.s.config.watchtower.sample_rate)
    }

    /// Whether this node audits `leaf` as a watchtower (it has the role and samples it).
    /// Whether this watchtower audits the leaf: sampled, and of a circuit whose id this
    /// node derived from its own verifier. Anyone registers circuits, at any time, so a
    /// leaf under any other id is bait: its verdict on chain can change between the
    /// audit and the challenge (registered in the meantime, or a verifier that reads
    /// state), and the challenge's bond would go to the prover. Honest clients and
    /// provers use only ids they derive, so nothing they rely on goes unaudited.
    fn samples(&self, leaf: &JobLeaf) -> bool {
        self.audit && self.s.circuits.contains(&leaf.circuit_id) && self.sampled(leaf)
    }

    fn jitter_ms(&self, job: &JobKey) -> u64 {
        let mut keyed = self.secret.to_vec();
        keyed.extend_from_slice(&job.2.0);
        let hash = keccak256(&keyed);
        u64::from(u16::from_be_bytes([hash[0], hash[1]])) % JITTER_MS
    }

    /// Loads what the store holds.
    fn recover(&mut self) {
        let leaves = match self.s.store.watched_leaves() {
            Ok(leaves) => leaves,
            Err(error) => {
                tracing::error!(target: "watch", %error, "cannot load watched leaves");
                Vec::new()
            }
        };
        let deadlines = match self.s.store.watched_deadlines() {
            Ok(deadlines) => deadlines,
            Err(error) => {
                tracing::error!(target: "watch", %error, "cannot load watched deadlines");
                Vec::new()
            }
        };
        tracing::info!(target: "watch", leaves = leaves.len(), deadlines = deadlines.len(), "recovered watch state");
        for mut leaf in leaves {
            if let LeafState::Challenging { .. } = leaf.state {
                // Sent or not before the stop: the replayed events say which; else the
                // audit runs again and its eth_call finds any challenge that landed.
                leaf.state = LeafState::Pending;
            }
            let key = (leaf.batch_id, leaf.index);
            self.by_job
                .entry((leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id))
                .or_default()
                .push(key);
            self.leaves.insert(key, leaf);
        }
        for watch in deadlines {
            let key = (watch.award.0.prover.0, watch.client, watch.award.0.job_id);
            self.deadlines.insert(key, watch);
        }
        self.recover_own();
        if self.audit {
            // Two leaves of one job found before the stop and not yet challenged: the
            // challenge's own eth_call says whether it already landed.
            for (job, keys) in &self.by_job {
                let hashes: HashSet<Hash32> = keys
                    .iter()
                    .filter_map(|k| self.leaves.get(k))
                    .map(|l| l.leaf.hash())
                    .collect();
                if hashes.len() > 1 {
                    self.equivocations.insert(*job);
                }
            }
        }
    }

    pub(crate) async fn run(
        mut self,
        mut inputs: mpsc::Receiver<WatchInput>,
        mut reports: mpsc::Receiver<Report>,
        shutdown: CancellationToken,
    ) {
        self.recover();
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                input = inputs.recv() => match input {
                    Some(input) => self.on_input(input),
                    None => break,
                },
                Some(report) = reports.recv() => self.on_report(report),
                _ = tick.tick() => self.tick(),
            }
        }
        tracing::info!(target: "watch", "watchtower stopped");
    }

    fn on_input(&mut self, input: WatchInput) {
        match input {
            WatchInput::Notice(notice) => self.on_notice(*notice),
            WatchInput::Accepted(accepted) => {
                self.on_accepted(*accepted);
            }
            WatchInput::Chain(events) => {
                for event in events {
                    self.on_event(event);
                }
            }
            WatchInput::Keys(keys) => self.keys.extend(keys),
            WatchInput::Head { block, caught_up } => {
                self.head = block;
                self.caught_up = caught_up;
                // Every event up to `block` is applied and its words said: a client's core
                // asks whether a job is paid no higher (`Core::paid_check_block`).
                if self.s.config.roles.client {
                    let _ = self.to_core.send(Internal::WatchedTo(block));
                }
            }
            WatchInput::Delivered(job) => self.on_delivered(job),
            WatchInput::Rollback(from) => self.on_rollback(from),
        }
    }

    fn write(&self, batch: WriteBatch) {
        if let Err(error) = self.s.store.write(batch) {
            tracing::error!(target: "store", %error, "watch write failed");
        }
    }

    fn save_leaf(&self, key: LeafKey) {
        if let Some(leaf) = self.leaves.get(&key) {
            let mut batch = WriteBatch::default();
            batch.watched_leaf(leaf);
            self.write(batch);
        }
    }

    fn save_deadline(&self, key: &JobKey) {
        if let Some(watch) = self.deadlines.get(key) {
            let mut batch = WriteBatch::default();
            batch.watched_deadline(watch);
            self.write(batch);
        }
    }

    /// Whether batch `batch_id`'s challenge window still leaves two blocks for a
    /// challenge: one for the commitment to its evidence, one for itself.
    fn window_open(&self, batch_id: u64) -> bool {
        self.batches.get(&batch_id).is_some_and(|b| {
            self.head.saturating_add(1) < b.block.saturating_add(self.s.window_blocks)
        })
    }

    /// Whether `job` was slashed, or is challenged by someone else, in a block with
    /// `chain.confirmations` on top: only then does this node give up its own challenge
    /// for good (a reorg may still take either off the chain). `None`: neither is known.
    fn taken_by_other(&self, job: &JobKey) -> Option<bool> {
        let block = self
            .slashed
            .get(job)
            .or_else(|| self.pending_other.get(job))?;
        Some(block.saturating_add(self.s.config.chain.confirmations) <= self.head)
    }

    fn is_own(&self, client: &Address) -> bool {
        client.0 == self.me.0
    }

    // ---- inputs -----------------------------------------------------------------------

    fn on_notice(&mut self, notice: CommitmentNotice) {
        let root = (notice.prover.0, notice.batch_root.0);
        match self.by_root.get(&root).copied() {
            Some(batch_id) => {
                self.add_leaf(batch_id, notice.leaf_index, notice.leaf, notice.merkle_path)
            }
            None => {
                // The notice came before our follower read the commit; keep it a while.
                if self.early_count >= MAX_EARLY_NOTICES {
                    return;
                }
                self.early_count += 1;
                self.early.entry(root).or_default().push((now_ms(), notice));
            }
        }
    }

    fn on_accepted(&mut self, accepted: Accepted) {
        let Accepted {
            award,
            acceptance,
            client,
            nonce,
            client_key,
            circuit_id,
            public_inputs_hash,
        } = accepted;
        if !self.audit && !self.is_own(&client) {
            return;
        }
        self.client_keys.insert(award.job_id, client_key);
        let key = (award.prover.0, client.0, award.job_id);
        if self.deadlines.contains_key(&key) {
            return;
        }
        if self.deadlines.len() >= self.s.config.network.request_capacity && !self.is_own(&client) {
            // As many as the core remembers requests: anyone can sign acceptances for
            // its own jobs, so the table is bounded like the request table.
            tracing::debug!(target: "watch", job = %award.job_id, "deadline table full");
            return;
        }
        tracing::debug!(target: "watch", job = %award.job_id, deadline = award.deadline, "watching a deadline");
        self.deadlines.insert(
            key,
            WatchedDeadline {
                client: client.0,
                nonce,
                award: Stored(award),
                acceptance: Stored(acceptance),
                circuit_id: circuit_id.0,
                public_inputs_hash: public_inputs_hash.0,
                state: DeadlineState::Waiting,
                owner_done: false,
                purchase: false,
            },
        );
        self.save_deadline(&key);
        self.audit_own_leaves(&key);
    }

    /// Records a committed leaf, samples it and looks for a second leaf of its job.
    fn add_leaf(&mut self, batch_id: u64, index: u32, leaf: JobLeaf, path: Vec<Hash32>) {
        let Some(batch) = self.batches.get_mut(&batch_id) else {
            return;
        };
        if index >= batch.count || !batch.known.insert(index) {
            return;
        }
        let complete = batch.known.len() == batch.count as usize;
        if complete {
            batch.leaves = Leaves::Complete;
        }
        let prover = batch.prover;
        if !self.audit && !self.is_own(&leaf.client) {
            return;
        }
        let key = (batch_id, index);
        if self.leaves.contains_key(&key) {
            return;
        }
        self.s.metrics.watch.jobs_seen.inc();
        let as_tower = self.samples(&leaf);
        // A client audits its own leaves whose proof it lacks: the winner may have
        // committed the job without delivering it (see `own`).
        let own = self.own_round(prover, &leaf).is_some();
        let sampled = (as_tower || own) && self.window_open(batch_id);
        if sampled && as_tower {
            self.s.metrics.watch.sampled.inc();
        }
        let job = (prover, leaf.client.0, leaf.job_id);
        tracing::debug!(target: "watch", job = %leaf.job_id, batch_id, index, sampled, "leaf seen");
        self.leaves.insert(
            key,
            WatchedLeaf {
                batch_id,
                index,
                prover,
                leaf,
                path: path.iter().map(|h| Hex32(h.0)).collect(),
                state: if sampled {
                    LeafState::Pending
                } else {
                    LeafState::Unsampled
                },
            },
        );
        self.save_leaf(key);
        let keys = self.by_job.entry(job).or_default();
        keys.push(key);
        let first = keys[0];
        if self.audit
            && first != key
            && self.leaves.get(&first).map(|l| l.leaf.hash())
                != self.leaves.get(&key).map(|l| l.leaf.hash())
        {
            self.equivocations.insert(job);
        }
        if complete && self.audit {
            self.check_root(batch_id);
        }
        if own && !sampled {
            // Seen only after its window (this node was down): out of reach.
            self.report_own_unobtainable(key);
        }
    }

    // ---- the timer --------------------------------------------------------------------

    fn tick(&mut self) {
        let now = now_ms();
        self.ask_for_leaves(now);
        self.start_audits(now);
        self.challenge_equivocations(now);
        self.check_deadlines(now);
        self.settle_confirmed_slashes();
        self.finalize(now);
        if now >= self.last_prune_ms + PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            self.prune(now / 1_000);
        }
    }

    fn due(&self, target: &Target, now: u64) -> bool {
        !self.in_flight.contains(target) && self.retry_at.get(target).is_none_or(|t| *t <= now)
    }

    fn set_leaf(&mut self, key: LeafKey, state: LeafState) {
        if let Some(leaf) = self.leaves.get_mut(&key) {
            leaf.state = state;
            self.save_leaf(key);
        }
    }

    // ---- reports (the tasks are in `batches`, `audit` and `send`) ------------------------

    fn on_report(&mut self, report: Report) {
        match report {
            Report::BatchTime {
                batch_id,
                timestamp,
            } => {
                if let Some(b) = self.batches.get_mut(&batch_id) {
                    b.timestamp = timestamp;
                    if timestamp.is_none() {
                        // Asked again a little later (a deadline may wait on it).
                        b.time_retry_ms = now_ms() + RETRY_MS;
                    }
                }
            }
            Report::BatchLeaves { batch_id, leaves } => self.on_leaves(batch_id, leaves),
            Report::Published { batch_id, leaves } => self.on_published(batch_id, leaves),
            Report::Audited { key, audit } => self.on_audited(key, audit),
            Report::Sent { target, result } => self.on_sent(target, result),
        }
    }
}

/// Whether an own challenge's event may (re)open a leaf's record: anything not settled,
/// or settled as `taken` by our own `eth_call` seeing our own challenge (after a
/// restart, before the events were replayed).
fn reopenable_leaf(state: &LeafState) -> bool {
    match state {
        LeafState::Done { outcome } => outcome == "taken",
        LeafState::Challenged { .. } => false,
        _ => true,
    }
}

/// As [`reopenable_leaf`], for a deadline.
fn reopenable_deadline(state: &DeadlineState) -> bool {
    match state {
        DeadlineState::Done { outcome } => outcome == "taken",
        DeadlineState::Challenged { .. } => false,
        DeadlineState::Waiting => true,
    }
}

fn done(outcome: &str) -> LeafState {
    LeafState::Done {
        outcome: outcome.to_owned(),
    }
}

fn inclusion(leaf: &WatchedLeaf) -> Inclusion {
    Inclusion {
        batch_id: leaf.batch_id,
        leaf: leaf.leaf.clone(),
        path: leaf.path.iter().map(|h| Hash32(h.0)).collect(),
    }
}

fn gwei(wei: U256) -> u64 {
    u64::try_from(wei / U256::exp10(9)).unwrap_or(u64::MAX)
}

/// Whether a watchtower with `secret` samples `leaf` at `rate`: the first 8 bytes of
/// keccak(secret ‖ client ‖ job id), as a fraction of 2^64, below the rate. Without the
/// secret nobody can tell which jobs are checked; with it the choice is the same after a
/// restart.
pub fn sampled(secret: &[u8; 32], leaf: &JobLeaf, rate: f64) -> bool {
    let mut keyed = secret.to_vec();
    keyed.extend_from_slice(&leaf.client.0);
    keyed.extend_from_slice(&leaf.job_id.0);
    crate::config::below(&keccak256(&keyed), rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::CircuitId;

    fn leaf(n: u32) -> JobLeaf {
        let mut id = [0u8; 32];
        id[..4].copy_from_slice(&n.to_be_bytes());
        JobLeaf {
            job_id: JobId(id),
            circuit_id: CircuitId([1; 32]),
            public_inputs_hash: Hash32([2; 32]),
            proof_hash: Hash32([3; 32]),
            client: Address([4; 20]),
            price: 1,
        }
    }

    #[test]
    fn sampling_is_keyed_by_the_secret_and_follows_the_rate() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let leaves: Vec<JobLeaf> = (0..10_000).map(leaf).collect();
        let count = |secret: &[u8; 32], rate: f64| {
            leaves.iter().filter(|l| sampled(secret, l, rate)).count()
        };
        assert_eq!(count(&a, 1.0), 10_000);
        assert_eq!(count(&a, 0.0), 0);
        // Binomial(10000, 0.2): mean 2000, sd 40; the ids and secrets are fixed.
        let n = count(&a, 0.2);
        assert!((1_850..2_150).contains(&n), "{n}");
        // Another secret picks other jobs: the overlap is about 0.2 · 0.2.
        let both = leaves
            .iter()
            .filter(|l| sampled(&a, l, 0.2) && sampled(&b, l, 0.2))
            .count();
        assert!((300..500).contains(&both), "{both}");
    }
}
