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

mod own;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use ethers::types::{Address as EthAddress, U256};
use libp2p::PeerId;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    Acceptance, Address, Award, BatchRequest, BatchResponse, CircuitId, CommitmentNotice,
    FieldBytes, Hash32, JobId, JobLeaf, PeerKey, ProofRequest, ProofResponse, Response,
    SignedEnvelope, keccak256,
};
use provernet_slashing::bindings::{ProverMarketErrors, ProverMarketEvents as E};
use provernet_slashing::events::MarketEvent;
use provernet_slashing::evidence::{
    self, Equivocation, EvidenceError, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use provernet_slashing::{ChainError, Market, fault_name};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub(crate) use own::OwnRound;

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
/// Blocks a settled leaf is kept after its batch's window closed: long enough to spot a
/// prover that commits a second leaf for the job later (equivocation), bounded so a
/// long-running watchtower's memory and database stay bounded.
const RETAIN_BLOCKS: u64 = 7_200;
/// Seconds a settled deadline is kept after the deadline: as long as the core remembers
/// its request, so a replayed acceptance cannot add it again.
const RETAIN_DEADLINE_SECS: u64 = 600;
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
}

/// A job's award and the winner's acceptance, both checked, with the job's client.
pub(crate) struct Accepted {
    pub award: Award,
    pub acceptance: Acceptance,
    pub client: Address,
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
    /// The core: what the chain shows of the client's own rounds (see `own`).
    core: mpsc::Sender<Internal>,
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
    /// Jobs with an open challenge by someone else.
    pending_other: HashSet<JobKey>,
    slashed: HashSet<JobKey>,
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
        let mut keyed = b"provernet watchtower sampling".to_vec();
        keyed.extend_from_slice(&s.identity.to_bytes());
        let watch = Self {
            audit: s.config.roles.watchtower,
            me: s.wallet_address(),
            secret: keccak256(&keyed),
            reports,
            core,
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
            pending_other: HashSet::new(),
            slashed: HashSet::new(),
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
    fn samples(&self, leaf: &JobLeaf) -> bool {
        self.audit && self.sampled(leaf)
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
            }
            WatchInput::Delivered(job) => self.on_delivered(job),
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
        if self.deadlines.len() >= super::gossip::MAX_REQUESTS && !self.is_own(&client) {
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
                award: Stored(award),
                acceptance: Stored(acceptance),
                circuit_id: circuit_id.0,
                public_inputs_hash: public_inputs_hash.0,
                state: DeadlineState::Waiting,
                owner_done: false,
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

    /// Notices' paths do not fix the index of their leaf (the tree hashes sorted pairs):
    /// once every index is known, the leaves in index order must give the root, or the
    /// batch is asked of its prover, whose answer replaces them.
    fn check_root(&mut self, batch_id: u64) {
        let Some(batch) = self.batches.get(&batch_id) else {
            return;
        };
        let hashes: Vec<Hash32> = self
            .leaves
            .range((batch_id, 0)..=(batch_id, u32::MAX))
            .map(|(_, l)| l.leaf.hash())
            .collect();
        let root = (hashes.len() == batch.count as usize)
            .then(|| MerkleTree::new(hashes))
            .flatten()
            .map(|t| t.root());
        if root != Some(Hash32(batch.root)) {
            tracing::warn!(target: "watch", batch_id, "the notices' leaves do not give the root: asking the prover");
            if let Some(batch) = self.batches.get_mut(&batch_id) {
                batch.leaves = Leaves::Partial;
                batch.seen_ms = 0;
            }
        }
    }

    fn on_event(&mut self, event: MarketEvent) {
        // A transaction's own events are applied from its receipt and again when the
        // follower reads them.
        if !self.recent_events.insert((event.tx, event.log_index)) {
            return;
        }
        self.recent_order.push_back((event.tx, event.log_index));
        if self.recent_order.len() > RECENT_EVENTS
            && let Some(old) = self.recent_order.pop_front()
        {
            self.recent_events.remove(&old);
        }
        match event.event {
            E::BatchCommittedFilter(b) => {
                let Ok(batch_id) = u64::try_from(b.batch_id) else {
                    return;
                };
                if self.batches.contains_key(&batch_id) {
                    return;
                }
                let prover = b.prover.0;
                let known: HashSet<u32> = self
                    .leaves
                    .range((batch_id, 0)..=(batch_id, u32::MAX))
                    .map(|(key, _)| key.1)
                    .filter(|index| *index < b.count)
                    .collect();
                self.batches.insert(
                    batch_id,
                    ChainBatch {
                        prover,
                        root: b.root,
                        count: b.count,
                        block: event.block,
                        timestamp: None,
                        seen_ms: now_ms(),
                        leaves: if known.len() == b.count as usize {
                            Leaves::Complete
                        } else {
                            Leaves::Partial
                        },
                        known,
                        refusals: 0,
                        refused_ms: 0,
                        time_retry_ms: 0,
                    },
                );
                self.by_root.insert((prover, b.root), batch_id);
                self.fetch_time(batch_id, event.block);
                if let Some(notices) = self.early.remove(&(prover, b.root)) {
                    self.early_count = self.early_count.saturating_sub(notices.len());
                    for (_, n) in notices {
                        self.add_leaf(batch_id, n.leaf_index, n.leaf, n.merkle_path);
                    }
                }
                // Every leaf is the input of the committing transaction: learned from the
                // chain alone, whatever the prover gossips or serves.
                self.fetch_published(batch_id, event.tx);
            }
            E::ChallengeOpenedFilter(c) => {
                let Ok(id) = u64::try_from(c.challenge_id) else {
                    return;
                };
                let job = (c.prover.0, c.client.0, JobId(c.job_id));
                self.challenges.insert(id, (job, c.fault, c.challenger));
                if c.challenger != self.me {
                    self.pending_other.insert(job);
                    return;
                }
                self.count(fault_name(c.fault), "opened");
                let state = (id, c.respond_by);
                match c.fault {
                    2 => {
                        for key in self.by_job.get(&job).cloned().unwrap_or_default() {
                            if let Some(leaf) = self.leaves.get_mut(&key)
                                && reopenable_leaf(&leaf.state)
                            {
                                leaf.state = LeafState::Challenged {
                                    id: state.0,
                                    respond_by: state.1,
                                };
                                self.save_leaf(key);
                            }
                        }
                    }
                    3 => {
                        if let Some(watch) = self.deadlines.get_mut(&job)
                            && reopenable_deadline(&watch.state)
                        {
                            watch.state = DeadlineState::Challenged {
                                id: state.0,
                                respond_by: state.1,
                            };
                            self.save_deadline(&job);
                        }
                    }
                    _ => {}
                }
            }
            E::ChallengeAnsweredFilter(a) => {
                let Ok(id) = u64::try_from(a.challenge_id) else {
                    return;
                };
                let Some((job, fault, challenger)) = self.challenges.get(&id).copied() else {
                    return;
                };
                self.pending_other.remove(&job);
                self.challenges.remove(&id);
                if fault == 3 {
                    // A missed deadline answered: the prover's leaf is in a batch posted by
                    // the deadline, whoever challenged (a client's round will be paid).
                    self.report_own_committed(&job);
                }
                if challenger == self.me {
                    self.count(fault_name(fault), "answered");
                    // A client's withheld-proof challenge of its own job gets its bond back.
                    let refunded = fault == 2 && job.1 == self.me.0;
                    if !refunded {
                        self.s.metrics.watch.bonds_lost_gwei.inc_by(gwei(a.bond));
                    }
                    if self.settle_challenge(&job, id, "answered") {
                        tracing::warn!(target: "watch", job = %job.2, challenge = id, "the prover answered our challenge: bond lost");
                    }
                }
            }
            E::ChallengeVoidedFilter(v) => {
                let Ok(id) = u64::try_from(v.challenge_id) else {
                    return;
                };
                if let Some((job, fault, _)) = self.challenges.remove(&id) {
                    self.pending_other.remove(&job);
                    if v.challenger == self.me {
                        self.count(fault_name(fault), "void");
                        self.settle_challenge(&job, id, "void");
                    }
                }
            }
            E::FalseChallengeFilter(f) => {
                if f.challenger != self.me {
                    return;
                }
                self.count(fault_name(f.fault), "false");
                self.s.metrics.watch.bonds_lost_gwei.inc_by(gwei(f.bond));
                tracing::error!(target: "watch", job = ?f.job_id, "our challenge was false: bond lost");
                let jobs: Vec<JobKey> = self
                    .by_job
                    .keys()
                    .filter(|(p, _, j)| *p == f.prover.0 && j.0 == f.job_id)
                    .copied()
                    .collect();
                for job in jobs {
                    self.settle_open(&job, "false", false);
                }
            }
            E::ProofRevealedFilter(r) => {
                // The proof is now public, and the chain checked that it matches the leaf
                // and verifies: a pending audit of the job needs no fetch.
                let Some((job, _, _)) = u64::try_from(r.challenge_id)
                    .ok()
                    .and_then(|id| self.challenges.get(&id).copied())
                else {
                    return;
                };
                let hash = Hash32(keccak256(&r.proof));
                if let Some((prover, leaf)) = self
                    .by_job
                    .get(&job)
                    .and_then(|keys| {
                        keys.iter()
                            .filter_map(|k| self.leaves.get(k))
                            .find(|l| l.leaf.proof_hash == hash)
                    })
                    .map(|l| (l.prover, l.leaf.clone()))
                {
                    let inputs = r
                        .public_inputs
                        .iter()
                        .map(|x| {
                            let mut word = [0u8; 32];
                            x.to_big_endian(&mut word);
                            FieldBytes(word)
                        })
                        .collect();
                    self.report_own_proof(prover, &leaf, inputs, r.proof.to_vec());
                }
                for key in self.by_job.get(&job).cloned().unwrap_or_default() {
                    if self
                        .leaves
                        .get(&key)
                        .is_some_and(|l| l.state == LeafState::Pending && l.leaf.proof_hash == hash)
                    {
                        self.set_leaf(key, LeafState::Valid);
                    }
                }
            }
            E::SlashedFilter(x) => {
                let job = (x.prover.0, x.client.0, JobId(x.job_id));
                self.slashed.insert(job);
                self.report_own_lost(&job);
                self.pending_other.remove(&job);
                // Challenges of the job with this fault are settled by this slash.
                let fault = x.fault;
                let settled_ids: Vec<u64> = self
                    .challenges
                    .iter()
                    .filter(|(_, (j, f, by))| *j == job && *f == fault && *by != self.me)
                    .map(|(id, _)| *id)
                    .collect();
                for id in settled_ids {
                    self.challenges.remove(&id);
                }
                self.equivocations.remove(&job);
                if x.challenger == self.me {
                    self.count(fault_name(x.fault), "slashed");
                    self.s.metrics.watch.rewards_gwei.inc_by(gwei(x.reward));
                    tracing::info!(target: "watch", job = %job.2, fault = fault_name(x.fault), reward = %x.reward, "prover slashed on our challenge");
                    self.settle_open(&job, "slashed", true);
                    // The challenge of ours this slash settled, if it was a bonded one; any
                    // other open challenge of ours on the job is finalized (void) to get
                    // its bond back.
                    let ours: Vec<u64> = self
                        .challenges
                        .iter()
                        .filter(|(_, (j, fault, by))| {
                            *j == job && *fault == x.fault && *by == self.me
                        })
                        .map(|(id, _)| *id)
                        .collect();
                    for id in ours {
                        self.settle_challenge(&job, id, "slashed");
                        self.challenges.remove(&id);
                    }
                } else {
                    self.settle_open(&job, "taken", true);
                }
            }
            _ => {}
        }
    }

    fn count(&self, kind: &str, outcome: &str) {
        self.s
            .metrics
            .watch
            .challenges
            .get_or_create(&ChallengeOutcome {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Settles this node's records of `job` that no challenge of its own holds open (a
    /// leaf pending or being challenged; with `deadlines`, a deadline waiting): returns
    /// whether any was.
    fn settle_open(&mut self, job: &JobKey, outcome: &str, deadlines: bool) -> bool {
        let mut settled = false;
        for key in self.by_job.get(job).cloned().unwrap_or_default() {
            if let Some(leaf) = self.leaves.get_mut(&key)
                && matches!(
                    leaf.state,
                    LeafState::Pending | LeafState::Challenging { .. }
                )
            {
                leaf.state = LeafState::Done {
                    outcome: outcome.to_owned(),
                };
                settled = true;
                self.save_leaf(key);
            }
        }
        if deadlines
            && let Some(watch) = self.deadlines.get_mut(job)
            && watch.state == DeadlineState::Waiting
        {
            watch.state = DeadlineState::Done {
                outcome: outcome.to_owned(),
            };
            settled = true;
            self.save_deadline(job);
        }
        settled
    }

    /// Settles this node's records of `job` held open by its challenge `id`.
    fn settle_challenge(&mut self, job: &JobKey, id: u64, outcome: &str) -> bool {
        let mut settled = false;
        for key in self.by_job.get(job).cloned().unwrap_or_default() {
            if let Some(leaf) = self.leaves.get_mut(&key)
                && matches!(leaf.state, LeafState::Challenged { id: open, .. } if open == id)
            {
                leaf.state = LeafState::Done {
                    outcome: outcome.to_owned(),
                };
                settled = true;
                self.save_leaf(key);
            }
        }
        if let Some(watch) = self.deadlines.get_mut(job)
            && matches!(watch.state, DeadlineState::Challenged { id: open, .. } if open == id)
        {
            watch.state = DeadlineState::Done {
                outcome: outcome.to_owned(),
            };
            settled = true;
            self.save_deadline(job);
        }
        settled
    }

    // ---- the timer --------------------------------------------------------------------

    fn tick(&mut self) {
        let now = now_ms();
        self.ask_for_leaves(now);
        self.start_audits(now);
        self.challenge_equivocations(now);
        self.check_deadlines(now);
        self.finalize(now);
        if now >= self.last_prune_ms + PRUNE_EVERY_MS {
            self.last_prune_ms = now;
            self.prune(now / 1_000);
        }
    }

    /// Forgets settled leaves [`RETAIN_BLOCKS`] after their window closed, settled
    /// deadlines a day after the deadline, and batches with nothing left to watch.
    fn prune(&mut self, now_s: u64) {
        let horizon = self.s.window_blocks.saturating_add(RETAIN_BLOCKS);
        let head = self.head;
        let old_batch = |b: &ChainBatch| head > b.block.saturating_add(horizon);
        let settled = |state: &LeafState| {
            matches!(
                state,
                LeafState::Unsampled | LeafState::Valid | LeafState::Done { .. }
            )
        };
        let gone: Vec<LeafKey> = self
            .leaves
            .iter()
            .filter(|(key, leaf)| {
                let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
                let watched = self
                    .deadlines
                    .get(&job)
                    .is_some_and(|w| !matches!(w.state, DeadlineState::Done { .. }));
                settled(&leaf.state) && !watched && self.batches.get(&key.0).is_some_and(old_batch)
            })
            .map(|(key, _)| *key)
            .collect();
        let mut batch = WriteBatch::default();
        for key in &gone {
            if let Some(leaf) = self.leaves.remove(key) {
                batch.delete(crate::store::Column::WatchLeaves, &leaf.key());
                let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
                if let Some(keys) = self.by_job.get_mut(&job) {
                    keys.retain(|k| k != key);
                    if keys.is_empty() {
                        self.by_job.remove(&job);
                    }
                }
            }
        }
        let done: Vec<JobKey> = self
            .deadlines
            .iter()
            .filter(|(k, w)| {
                matches!(w.state, DeadlineState::Done { .. })
                    && now_s > w.award.0.deadline.saturating_add(RETAIN_DEADLINE_SECS)
                    // A client's own round stays until it needs nothing more (`own`).
                    && (k.1 != self.me.0 || w.owner_done)
            })
            .map(|(k, _)| *k)
            .collect();
        for job in &done {
            if let Some(watch) = self.deadlines.remove(job) {
                batch.delete(crate::store::Column::WatchDeadlines, &watch.key());
                self.client_keys.remove(&job.2);
            }
        }
        // Retry times that have passed say nothing any more; undecided counts of leaves
        // that are gone neither.
        let now_ms = now_s * 1_000;
        self.retry_at.retain(|_, at| *at > now_ms);
        let leaves = &self.leaves;
        self.undecided.retain(|key, _| leaves.contains_key(key));
        // A notice whose root never reached the chain is dropped after a minute.
        let cutoff = (now_s * 1_000).saturating_sub(EARLY_NOTICE_MS);
        for notices in self.early.values_mut() {
            notices.retain(|(at, _)| *at >= cutoff);
        }
        self.early.retain(|_, notices| !notices.is_empty());
        self.early_count = self.early.values().map(Vec::len).sum();
        let leaves = &self.leaves;
        let before = self.batches.len();
        self.batches.retain(|id, b| {
            !old_batch(b) || leaves.range((*id, 0)..=(*id, u32::MAX)).next().is_some()
        });
        let batches = &self.batches;
        self.by_root.retain(|_, id| batches.contains_key(id));
        if !gone.is_empty() || !done.is_empty() || before != self.batches.len() {
            tracing::debug!(target: "watch", leaves = gone.len(), deadlines = done.len(), batches = before - self.batches.len(), "pruned settled state");
            self.write(batch);
        }
    }

    fn due(&self, target: &Target, now: u64) -> bool {
        !self.in_flight.contains(target) && self.retry_at.get(target).is_none_or(|t| *t <= now)
    }

    /// Asks silent provers for the leaves of batches whose notices did not come.
    fn ask_for_leaves(&mut self, now: u64) {
        for batch in self.batches.values_mut() {
            // A refusal may be a passing failure: ask again a little later, a few times.
            if batch.leaves == Leaves::Refused
                && batch.refusals < MAX_REFUSALS
                && now >= batch.refused_ms + REFUSED_RETRY_MS
            {
                batch.leaves = Leaves::Partial;
            }
        }
        let wait = self.s.config.watchtower.notice_wait_ms;
        // Without the watchtower role only provers of this node's waiting jobs matter.
        let watched: HashSet<[u8; 20]> = if self.audit {
            HashSet::new()
        } else {
            self.deadlines
                .iter()
                .filter(|(_, w)| w.state == DeadlineState::Waiting)
                .map(|((prover, _, _), _)| *prover)
                .collect()
        };
        let wanted: Vec<u64> = self
            .batches
            .iter()
            .filter(|(id, b)| {
                b.leaves == Leaves::Partial
                    && now >= b.seen_ms + wait
                    && self.window_open(**id)
                    && (self.audit || watched.contains(&b.prover))
            })
            .map(|(id, _)| *id)
            .collect();
        for batch_id in wanted {
            self.fetch_leaves(batch_id);
        }
    }

    fn start_audits(&mut self, now: u64) {
        let pending: Vec<LeafKey> = self
            .leaves
            .iter()
            .filter(|(_, l)| l.state == LeafState::Pending)
            .map(|(k, _)| *k)
            .collect();
        for key in pending {
            if !self.batches.contains_key(&key.0) {
                // Recovered from the store; its batch's event is not replayed yet.
                continue;
            }
            if !self.window_open(key.0) {
                self.report_own_unobtainable(key);
                self.set_leaf(key, done("window_closed"));
                continue;
            }
            let leaf = &self.leaves[&key];
            let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
            if self.slashed.contains(&job) {
                self.set_leaf(key, done("taken"));
                continue;
            }
            let target = Target::Invalid(key);
            if self.audits >= MAX_AUDITS || !self.due(&target, now) {
                continue;
            }
            self.audit(key);
        }
    }

    fn set_leaf(&mut self, key: LeafKey, state: LeafState) {
        if let Some(leaf) = self.leaves.get_mut(&key) {
            leaf.state = state;
            self.save_leaf(key);
        }
    }

    fn challenge_equivocations(&mut self, now: u64) {
        let jobs: Vec<JobKey> = self.equivocations.iter().copied().collect();
        for job in jobs {
            let target = Target::Equivocation(job);
            if !self.due(&target, now) {
                continue;
            }
            if self.slashed.contains(&job) {
                self.equivocations.remove(&job);
                continue;
            }
            // The first leaf and the first that differs from it: one pass.
            let keys = self.by_job.get(&job).cloned().unwrap_or_default();
            let mut pair = None;
            if let Some(la) = keys.first().and_then(|a| self.leaves.get(a)) {
                let first = la.leaf.hash();
                pair = keys[1..].iter().find_map(|b| {
                    let lb = self.leaves.get(b)?;
                    (lb.leaf.hash() != first)
                        .then(|| (inclusion(la), inclusion(lb), la.batch_id.max(b.0)))
                });
            }
            let Some((a, b, later)) = pair else {
                self.equivocations.remove(&job);
                continue;
            };
            if !self.window_open(later) {
                tracing::warn!(target: "watch", job = %job.2, "equivocation seen after the window closed");
                self.equivocations.remove(&job);
                continue;
            }
            let Ok(evidence) = Equivocation::new(a, b) else {
                self.equivocations.remove(&job);
                continue;
            };
            tracing::warn!(target: "watch", job = %job.2, "two leaves for one job: challenging equivocation");
            let jitter = self.jitter_ms(&job);
            self.send(target, jitter, move |market| async move {
                market.challenge_equivocation(&evidence).await
            });
        }
    }

    fn check_deadlines(&mut self, now: u64) {
        let grace = self.s.config.watchtower.deadline_grace_ms;
        let due: Vec<JobKey> = self
            .deadlines
            .iter()
            .filter(|(_, w)| {
                w.state == DeadlineState::Waiting && now >= w.award.0.deadline * 1_000 + grace
            })
            .map(|(k, _)| *k)
            .collect();
        if !self.caught_up {
            // A commitment in a block not read yet would make the challenge false.
            return;
        }
        for job in due {
            let target = Target::Deadline(job);
            if !self.due(&target, now) {
                continue;
            }
            if self.slashed.contains(&job) || self.pending_other.contains(&job) {
                // A slash of an own job was reported with its event; a challenge by
                // someone else reports when it is decided.
                self.settle_open(&job, "taken", true);
                continue;
            }
            let watched = &self.deadlines[&job];
            let deadline = watched.award.0.deadline;
            let statement = (watched.circuit_id, watched.public_inputs_hash);
            // And at the awarded price: a leaf at another one is never paid (the claim's
            // `AwardMismatch`) nor answers the deadline (`LeafMismatch`).
            let price = watched.award.0.price;
            // Committed in time, as far as we know? Only a leaf of the awarded statement
            // counts: one carrying a proof of anything else is no delivery.
            let mut unsure = false;
            let mut met = false;
            for key in self.by_job.get(&job).cloned().unwrap_or_default() {
                let of_statement = self.leaves.get(&key).is_some_and(|l| {
                    (l.leaf.circuit_id.0, l.leaf.public_inputs_hash.0) == statement
                        && l.leaf.price == price
                });
                if !of_statement {
                    continue;
                }
                match self.batches.get(&key.0).and_then(|b| b.timestamp) {
                    Some(t) if t <= deadline => met = true,
                    Some(_) => {}
                    None => unsure = true,
                }
            }
            if met {
                if let Some(w) = self.deadlines.get_mut(&job) {
                    w.state = DeadlineState::Done {
                        outcome: "met".into(),
                    };
                }
                self.save_deadline(&job);
                self.report_own_committed(&job);
                continue;
            }
            // Batches of the prover posted by the deadline whose leaves we lack: ask, and
            // decide once they are known.
            let lacking: Vec<(u64, bool)> = self
                .batches
                .iter()
                .filter(|(_, b)| {
                    b.prover == job.0
                        && b.timestamp.is_none_or(|t| t <= deadline)
                        && b.leaves != Leaves::Complete
                })
                .map(|(id, b)| {
                    (
                        *id,
                        b.leaves == Leaves::Refused && b.refusals >= MAX_REFUSALS,
                    )
                })
                .collect();
            let given_up = lacking.iter().any(|(_, gave_up)| *gave_up);
            if unsure || lacking.iter().any(|(_, gave_up)| !gave_up) {
                for (batch_id, _) in lacking {
                    self.fetch_leaves(batch_id);
                }
                self.refetch_times(now);
                continue;
            }
            if given_up {
                // The job may be in a batch whose leaves its prover keeps to itself: a
                // challenge could be answered and lose the bond.
                tracing::warn!(target: "watch", job = %job.2, "the prover did not serve batches posted by the deadline: not challenging");
                self.settle_open(&job, "undecidable", true);
                continue;
            }
            // No leaf of the statement in a batch posted by the deadline: the challenge's
            // slash tells a client its round is lost (`own`).
            self.challenge_deadline(job);
        }
    }

    fn challenge_deadline(&mut self, job: JobKey) {
        let Some(watch) = self.deadlines.get(&job) else {
            return;
        };
        let award = &watch.award.0;
        let acceptance = &watch.acceptance.0;
        let client = EthAddress::from(watch.client);
        let statement = (
            CircuitId(watch.circuit_id),
            Hash32(watch.public_inputs_hash),
        );
        let evidence = MissedDeadline::new(
            &self.s.domain,
            acceptance_terms(acceptance, client, statement.0, statement.1),
            acceptance.signature.0.to_vec(),
            award_terms(award, statement.0, statement.1),
            award.signature.0.to_vec(),
            now_s(),
        );
        let evidence = match evidence {
            Ok(evidence) => evidence,
            Err(EvidenceError::DeadlineNotPassed { .. }) => {
                self.retry_at
                    .insert(Target::Deadline(job), now_ms() + RETRY_MS);
                return;
            }
            Err(error) => {
                tracing::error!(target: "watch", job = %job.2, %error, "missed-deadline evidence is not valid");
                self.settle_open(&job, "failed", true);
                return;
            }
        };
        tracing::warn!(target: "watch", job = %job.2, deadline = award.deadline, "no commitment by the deadline: challenging");
        let jitter = self.jitter_ms(&job);
        self.send(Target::Deadline(job), jitter, move |market| async move {
            market
                .challenge_missed_deadline(&evidence)
                .await
                .map(|(_, r)| r)
        });
    }

    /// Settles this node's open challenges whose response window has passed.
    fn finalize(&mut self, now: u64) {
        let mut open: Vec<u64> = self
            .leaves
            .values()
            .filter_map(|l| match l.state {
                LeafState::Challenged { id, respond_by } if self.head > respond_by => Some(id),
                _ => None,
            })
            .collect();
        open.extend(self.deadlines.values().filter_map(|w| match w.state {
            DeadlineState::Challenged { id, respond_by } if self.head > respond_by => Some(id),
            _ => None,
        }));
        open.sort_unstable();
        open.dedup();
        for id in open {
            let target = Target::Finalize(id);
            if !self.due(&target, now) {
                continue;
            }
            self.send(target, 0, move |market| async move {
                market.finalize_challenge(id).await
            });
        }
    }

    // ---- tasks ------------------------------------------------------------------------

    /// Reads again the times of batches whose read failed, once their pause is over.
    fn refetch_times(&mut self, now: u64) {
        let due: Vec<(u64, u64)> = self
            .batches
            .iter()
            .filter(|(_, b)| {
                b.timestamp.is_none() && b.time_retry_ms != 0 && now >= b.time_retry_ms
            })
            .map(|(id, b)| (*id, b.block))
            .collect();
        for (batch_id, block) in due {
            if let Some(b) = self.batches.get_mut(&batch_id) {
                b.time_retry_ms = 0;
            }
            self.fetch_time(batch_id, block);
        }
    }

    fn fetch_time(&self, batch_id: u64, block: u64) {
        let client = Arc::clone(self.s.market.client());
        let reports = self.reports.clone();
        tokio::spawn(async move {
            use ethers::providers::Middleware;
            let mut timestamp = None;
            for _ in 0..5 {
                if let Ok(Some(b)) = client.get_block(block).await {
                    timestamp = Some(b.timestamp.low_u64());
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let _ = reports
                .send(Report::BatchTime {
                    batch_id,
                    timestamp,
                })
                .await;
        });
    }

    /// Reads a batch's leaves from the input of the transaction that committed it.
    fn fetch_published(&self, batch_id: u64, tx: ethers::types::H256) {
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let mut leaves = None;
            for _ in 0..5 {
                match shared.market.published_leaves(tx).await {
                    Ok(found) => {
                        leaves = Some(found);
                        break;
                    }
                    Err(error) => {
                        tracing::debug!(target: "watch", batch_id, %error, "cannot read a batch's leaves from its transaction yet");
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            let _ = reports.send(Report::Published { batch_id, leaves }).await;
        });
    }

    fn fetch_leaves(&mut self, batch_id: u64) {
        let Some(batch) = self.batches.get_mut(&batch_id) else {
            return;
        };
        if batch.leaves != Leaves::Partial {
            return;
        }
        let prover_key = self
            .keys
            .get(&EthAddress::from(batch.prover))
            .and_then(PeerKey::from_bytes);
        let Some((key, peer)) = prover_key.and_then(|k| Some((k, peer_id_of(&k)?))) else {
            batch.leaves = Leaves::Refused;
            return;
        };
        batch.leaves = Leaves::Asking;
        tracing::info!(target: "watch", batch_id, "no notices for a batch: asking its prover for the leaves");
        let root = Hash32(batch.root);
        let count = batch.count as usize;
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let mut leaves = None;
            for attempt in 0..3u64 {
                if let Some(got) = request_leaves(&shared, peer, &key, batch_id).await
                    && got.len() == count
                    && MerkleTree::new(got.iter().map(JobLeaf::hash).collect())
                        .is_some_and(|t| t.root() == root)
                {
                    leaves = Some(got);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500 * (attempt + 1))).await;
            }
            let _ = reports.send(Report::BatchLeaves { batch_id, leaves }).await;
        });
    }

    fn audit(&mut self, key: LeafKey) {
        let Some(leaf) = self.leaves.get(&key) else {
            return;
        };
        let leaf = leaf.leaf.clone();
        let me = self.s.net.peer_id();
        let mut sources: Vec<Source> = Vec::new();
        if let Some(peer_key) = self
            .batches
            .get(&key.0)
            .and_then(|b| self.keys.get(&EthAddress::from(b.prover)))
            .and_then(PeerKey::from_bytes)
            && let Some(peer) = peer_id_of(&peer_key)
        {
            sources.push((peer, Some(peer_key), "prover"));
        }
        if let Some(peer_key) = self.client_keys.get(&leaf.job_id).copied()
            && let Some(peer) = peer_id_of(&peer_key)
            && peer != me
        {
            sources.push((peer, Some(peer_key), "client"));
        }
        let config = &self.s.config.watchtower;
        let (attempts, retry_ms) = (config.fetch_attempts, config.fetch_retry_ms);
        self.in_flight.insert(Target::Invalid(key));
        self.audits += 1;
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let audit = run_audit(&shared, &leaf, &sources, attempts, retry_ms).await;
            let _ = reports.send(Report::Audited { key, audit }).await;
        });
    }

    /// Runs a challenge (or finalization) after `delay_ms`, reporting its gas or error.
    fn send<F, Fut>(&mut self, target: Target, delay_ms: u64, action: F)
    where
        F: FnOnce(Market<ChainClient>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ethers::types::TransactionReceipt, ChainError>> + Send,
    {
        self.in_flight.insert(target);
        let market = self.s.market.clone();
        let reports = self.reports.clone();
        let shared = Arc::clone(&self.s);
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            // One transaction of this account at a time (see `Shared::transactions`): a
            // challenge takes the turn itself for each of its two transactions.
            let result = if matches!(target, Target::Finalize(_)) {
                let _turn = shared.transactions.lock().await;
                action(market).await.map(Box::new)
            } else {
                action(market).await.map(Box::new)
            };
            let _ = reports.send(Report::Sent { target, result }).await;
        });
    }

    // ---- reports ----------------------------------------------------------------------

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

    /// A batch's leaves from the chain: taken when they hash to its root (they always do:
    /// the contract computed the root from them), else the notices and the prover's
    /// answers remain the way to learn them.
    fn on_published(&mut self, batch_id: u64, leaves: Option<Vec<JobLeaf>>) {
        let Some(batch) = self.batches.get(&batch_id) else {
            return;
        };
        let root = leaves
            .as_ref()
            .and_then(|l| MerkleTree::new(l.iter().map(JobLeaf::hash).collect()))
            .map(|tree| tree.root().0);
        match leaves {
            Some(leaves) if root == Some(batch.root) && leaves.len() == batch.count as usize => {
                self.s
                    .metrics
                    .watch
                    .batch_fetches
                    .get_or_create(&kind("published"))
                    .inc();
                self.take_leaves(batch_id, leaves);
            }
            _ => {
                tracing::warn!(target: "watch", batch_id, "cannot read the batch's leaves from the chain")
            }
        }
    }

    fn on_leaves(&mut self, batch_id: u64, leaves: Option<Vec<JobLeaf>>) {
        let Some(batch) = self.batches.get_mut(&batch_id) else {
            return;
        };
        let Some(leaves) = leaves else {
            batch.leaves = Leaves::Refused;
            batch.refusals += 1;
            batch.refused_ms = now_ms();
            self.s
                .metrics
                .watch
                .batch_fetches
                .get_or_create(&kind("refused"))
                .inc();
            tracing::warn!(target: "watch", batch_id, "the prover did not serve the batch's leaves");
            return;
        };
        self.s
            .metrics
            .watch
            .batch_fetches
            .get_or_create(&kind("served"))
            .inc();
        self.take_leaves(batch_id, leaves);
    }

    /// Learns every leaf of a batch, in tree order (from the chain, or served by its
    /// prover): a leaf a notice put at an index is replaced by the one given here.
    fn take_leaves(&mut self, batch_id: u64, leaves: Vec<JobLeaf>) {
        let Some(tree) = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()) else {
            return;
        };
        for (index, leaf) in leaves.into_iter().enumerate() {
            let path = tree.path(index).unwrap_or_default();
            let key = (batch_id, u32::try_from(index).unwrap_or(u32::MAX));
            if self
                .leaves
                .get(&key)
                .is_some_and(|l| l.leaf.hash() != leaf.hash())
            {
                // A notice put another leaf at this index: the prover's answer, which
                // gives the root, replaces it.
                if let Some(old) = self.leaves.remove(&key) {
                    let job = (old.prover, old.leaf.client.0, old.leaf.job_id);
                    if let Some(keys) = self.by_job.get_mut(&job) {
                        keys.retain(|k| *k != key);
                    }
                }
                if let Some(batch) = self.batches.get_mut(&batch_id) {
                    batch.known.remove(&key.1);
                }
            }
            self.add_leaf(
                batch_id,
                u32::try_from(index).unwrap_or(u32::MAX),
                leaf,
                path,
            );
        }
        if let Some(batch) = self.batches.get_mut(&batch_id) {
            batch.leaves = Leaves::Complete;
        }
    }

    fn on_audited(&mut self, key: LeafKey, audit: Audit) {
        self.in_flight.remove(&Target::Invalid(key));
        self.audits = self.audits.saturating_sub(1);
        let Some(leaf) = self.leaves.get(&key) else {
            return;
        };
        if leaf.state != LeafState::Pending {
            // Settled meanwhile (another challenger, or events after a restart).
            return;
        }
        let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
        let at = inclusion(leaf);
        let result = match &audit {
            Audit::Valid { .. } => "valid",
            Audit::Invalid { .. } => "invalid",
            Audit::Unavailable => "unavailable",
            Audit::Undecided => "undecided",
        };
        self.s
            .metrics
            .watch
            .audits
            .get_or_create(&kind(result))
            .inc();
        tracing::info!(target: "watch", job = %job.2, batch_id = key.0, result, "audited");
        let jitter = self.jitter_ms(&job);
        let prover = leaf.prover;
        let leaf = leaf.leaf.clone();
        if self.audits_as_owner(prover, &leaf)
            && matches!(audit, Audit::Invalid { .. } | Audit::Unavailable)
            && !self.own_challenge_due(key)
        {
            // The client's own challenge is the last resort: the watchtowers act first,
            // and the winner may still deliver. Audit again later.
            self.retry_at
                .insert(Target::Invalid(key), now_ms() + RETRY_MS);
            return;
        }
        match audit {
            Audit::Valid { inputs, proof } => {
                self.set_leaf(key, LeafState::Valid);
                self.report_own_proof(prover, &leaf, inputs, proof);
            }
            Audit::Undecided => {
                let tries = self.undecided.entry(key).or_default();
                *tries += 1;
                if *tries >= MAX_UNDECIDED {
                    self.undecided.remove(&key);
                    self.set_leaf(key, done("undecided"));
                } else {
                    self.retry_at
                        .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                }
            }
            Audit::Invalid { inputs, proof } => {
                let evidence = match InvalidProof::new(at, inputs, proof) {
                    Ok(evidence) => evidence,
                    Err(error) => {
                        tracing::error!(target: "watch", %error, "audited proof does not match its leaf");
                        self.retry_at
                            .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                        return;
                    }
                };
                self.set_leaf(
                    key,
                    LeafState::Challenging {
                        kind: "invalid_proof".into(),
                    },
                );
                self.send(Target::Invalid(key), jitter, move |market| async move {
                    market.challenge_invalid_proof(&evidence).await
                });
            }
            Audit::Unavailable if self.pending_other.contains(&job) => {
                // Another challenge of the job is open (a withheld one would be refused):
                // audit again once it is settled.
                self.retry_at
                    .insert(Target::Invalid(key), now_ms() + RETRY_MS);
            }
            Audit::Unavailable => {
                self.set_leaf(
                    key,
                    LeafState::Challenging {
                        kind: "withheld_proof".into(),
                    },
                );
                let evidence = WithheldProof { at };
                self.send(Target::Withheld(key), jitter, move |market| async move {
                    market
                        .challenge_withheld_proof(&evidence)
                        .await
                        .map(|(_, r)| r)
                });
            }
        }
    }

    fn on_sent(
        &mut self,
        target: Target,
        result: Result<Box<ethers::types::TransactionReceipt>, ChainError>,
    ) {
        self.in_flight.remove(&target);
        let kind = target.kind();
        let error = match result {
            Ok(receipt) => {
                let gas = gas_of(&receipt);
                self.s.metrics.chain.mined(kind, gas);
                tracing::info!(target: "watch", kind, gas, "sent");
                // What the transaction did is in its events; the follower delivers them
                // too, but later: apply them now so the next tick does not send again.
                let events: Vec<MarketEvent> = receipt
                    .logs
                    .iter()
                    .filter_map(|log| {
                        let raw = ethers::abi::RawLog {
                            topics: log.topics.clone(),
                            data: log.data.to_vec(),
                        };
                        Some(MarketEvent {
                            event: <E as ethers::contract::EthLogDecode>::decode_log(&raw).ok()?,
                            block: receipt.block_number.map_or(0, |b| b.as_u64()),
                            tx: receipt.transaction_hash,
                            log_index: log.log_index.map_or(0, |i| i.low_u64()),
                        })
                    })
                    .collect();
                for event in events {
                    self.on_event(event);
                }
                if let Target::Equivocation(job) = target {
                    self.equivocations.remove(&job);
                }
                return;
            }
            Err(error) => error,
        };
        let taken = matches!(
            error.market_error(),
            Some(
                ProverMarketErrors::AlreadySlashed(_)
                    | ProverMarketErrors::ChallengePending(_)
                    | ProverMarketErrors::JobSlashed(_)
            )
        );
        let closed = matches!(
            error.market_error(),
            Some(ProverMarketErrors::WindowClosed(_))
        );
        let verifies = matches!(error, ChainError::Evidence(EvidenceError::ProofVerifies));
        let not_yet = matches!(
            error.market_error(),
            Some(ProverMarketErrors::DeadlineNotPassed(_))
        );
        let outcome = if taken {
            Some("taken")
        } else if closed {
            Some("window_closed")
        } else if verifies {
            Some("disagreement")
        } else {
            None
        };
        match target {
            Target::Finalize(id) => {
                // Someone else settled it, or it failed for now: the events tell, and
                // the next tick tries again if it is still open.
                tracing::debug!(target: "watch", challenge = id, %error, "finalize not sent");
                self.retry_at.insert(target, now_ms() + RETRY_MS);
            }
            Target::Invalid(key) | Target::Withheld(key) => {
                let challenging = self
                    .leaves
                    .get(&key)
                    .is_some_and(|l| matches!(l.state, LeafState::Challenging { .. }));
                if let Some(outcome) = outcome.filter(|_| challenging) {
                    if verifies {
                        tracing::error!(target: "watch", batch_id = key.0, "the native verifier rejects a proof the chain's accepts: not challenging");
                    }
                    self.count(kind, outcome);
                    if closed {
                        self.report_own_unobtainable(key);
                    }
                    self.set_leaf(key, done(outcome));
                } else if challenging {
                    // Not when the events already recorded the challenge as open (a
                    // receipt lost after the transaction was mined).
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will audit again");
                    self.set_leaf(key, LeafState::Pending);
                    self.retry_at
                        .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                }
            }
            Target::Deadline(job) => {
                if let Some(outcome) = outcome.filter(|_| !not_yet) {
                    self.count(kind, outcome);
                    self.settle_open(&job, outcome, true);
                } else {
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will retry");
                    self.retry_at.insert(target, now_ms() + RETRY_MS);
                }
            }
            Target::Equivocation(job) => {
                if let Some(outcome) = outcome {
                    self.count(kind, outcome);
                    self.equivocations.remove(&job);
                } else {
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will retry");
                    self.retry_at.insert(target, now_ms() + RETRY_MS);
                }
            }
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

/// Asks `peer` for job `id`'s proof; `None` if it has none or answers wrongly.
async fn request_proof(
    s: &Shared,
    peer: PeerId,
    expect: Option<&PeerKey>,
    id: JobId,
) -> Option<provernet_protocol::ProofBody> {
    let frame = s.envelope(&ProofRequest { job_id: id })?;
    let bytes = s.net.request(peer, frame).await.ok()?;
    let envelope = SignedEnvelope::decode(&bytes, &s.context, now_s())
        .and_then(SignedEnvelope::verify)
        .ok()?;
    if let Some(key) = expect {
        envelope.expect_signer(key).ok()?;
    }
    let response: ProofResponse = envelope.open().ok()?;
    if response.job_id != id {
        return None;
    }
    match response.body {
        Response::Ok(body) => Some(body),
        Response::Refused(_) => None,
    }
}

/// Asks the prover for batch `batch_id`'s leaves.
async fn request_leaves(
    s: &Shared,
    peer: PeerId,
    key: &PeerKey,
    batch_id: u64,
) -> Option<Vec<JobLeaf>> {
    let frame = s.envelope(&BatchRequest { batch_id })?;
    let bytes = s.net.request(peer, frame).await.ok()?;
    let envelope = SignedEnvelope::decode(&bytes, &s.context, now_s())
        .and_then(SignedEnvelope::verify)
        .ok()?;
    envelope.expect_signer(key).ok()?;
    let response: BatchResponse = envelope.open().ok()?;
    match response.leaves {
        Response::Ok(leaves) if response.batch_id == batch_id => Some(leaves),
        _ => None,
    }
}

/// Where a proof may be fetched: the peer, the key it must sign with (none for a DHT
/// provider: the proof is checked against the leaf anyway), and a label for metrics.
type Source = (PeerId, Option<PeerKey>, &'static str);

/// Fetches a leaf's proof (the prover, the client, then every DHT provider of its hash),
/// checks it is the committed one and verifies it.
async fn run_audit(
    s: &Shared,
    leaf: &JobLeaf,
    sources: &[Source],
    attempts: u32,
    retry_ms: u64,
) -> Audit {
    let me = s.net.peer_id();
    for attempt in 0..attempts {
        // The prover and the client first; DHT providers only if neither answers.
        if let Some(audit) = try_sources(s, leaf, sources).await {
            return audit;
        }
        let lookup = s.net.find_providers(leaf.proof_hash.0.to_vec());
        let providers: Vec<Source> = tokio::time::timeout(PROVIDER_LOOKUP, lookup)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|p| *p != me && !sources.iter().any(|(q, _, _)| q == p))
            .map(|p| (p, None, "provider"))
            .collect();
        if let Some(audit) = try_sources(s, leaf, &providers).await {
            return audit;
        }
        if attempt + 1 < attempts {
            tokio::time::sleep(Duration::from_millis(retry_ms)).await;
        }
    }
    Audit::Unavailable
}

/// Asks each source in turn; the first proof that is the committed one is judged.
async fn try_sources(s: &Shared, leaf: &JobLeaf, sources: &[Source]) -> Option<Audit> {
    for (peer, key, source) in sources {
        let Some(body) = request_proof(s, *peer, key.as_ref(), leaf.job_id).await else {
            continue;
        };
        if body.circuit_id != leaf.circuit_id
            || evidence::check_matches(leaf, &body.public_inputs, &body.proof).is_err()
        {
            tracing::debug!(target: "watch", %peer, job = %leaf.job_id, "a proof that is not the committed one");
            continue;
        }
        s.metrics
            .watch
            .proof_sources
            .get_or_create(&kind(source))
            .inc();
        return Some(judge(s, leaf, body.public_inputs, body.proof).await);
    }
    None
}

/// Verifies natively when this build knows the circuit, else asks the chain's verifier.
async fn judge(s: &Shared, leaf: &JobLeaf, inputs: Vec<FieldBytes>, proof: Vec<u8>) -> Audit {
    let valid = match s.circuits.get(&leaf.circuit_id).copied() {
        Some(circuit) => s
            .engine
            .verify_async(circuit, inputs.clone(), proof.clone())
            .await
            .is_ok(),
        None => match s
            .market
            .check_proof(leaf.circuit_id.0, &inputs, &proof)
            .await
        {
            Ok(valid) => valid,
            Err(error) => {
                tracing::warn!(target: "watch", %error, "cannot ask the chain's verifier");
                return Audit::Undecided;
            }
        },
    };
    if valid {
        Audit::Valid { inputs, proof }
    } else {
        Audit::Invalid { inputs, proof }
    }
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
