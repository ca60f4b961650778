//! The state each role keeps of its own jobs, apart from the [`super::book::Book`] that
//! every role reads. A node that is not a client (or not a prover) keeps its part empty.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use ethers::types::Address as EthAddress;
use provernet_circuits::Circuit;
use provernet_market::auction::Candidate;
use provernet_market::batch::Batcher;
use provernet_market::schedule::Schedule;
use provernet_protocol::{Bid, CircuitId, JobId};
use tokio::sync::mpsc;

use super::{Against, ChainTask, funds, now_ms};
use crate::config::NodeConfig;
use crate::store::records::BatchLeaf;
use crate::store::{BatchRecord, ClientJob, Work};

/// A client's jobs: their rounds, the bids they collect, the proofs they are paid for.
pub(crate) struct ClientState {
    pub(super) jobs: HashMap<JobId, ClientJob>,
    /// Provers at fault on any of this client's jobs: awarded none of them again.
    pub(super) cheaters: HashSet<[u8; 20]>,
    /// A round's job id → the job's first id (the one the user knows it by).
    pub(super) by_current: HashMap<JobId, JobId>,
    /// Bids collected for each round still open.
    pub(super) bids: HashMap<JobId, Vec<(Candidate, Bid)>>,
    pub(super) last_paid_check_ms: u64,
    /// Rounds whose pushed proof is being verified (one verification each at a time).
    pub(super) verifying: HashSet<JobId>,
    pub(super) paid_check_running: bool,
    /// Verified jobs: when each is asked about next, and the last wait (ms).
    pub(super) paid_due: HashMap<JobId, (u64, u64)>,
    /// Provers of this client's verified jobs that claimed fees, and the block of their
    /// earliest claim not asked about: their jobs are asked about once it is confirmed
    /// (`paid`).
    pub(super) claims: HashMap<EthAddress, u64>,
    /// Jobs that were collecting bids when the node stopped.
    pub(super) restarted: Vec<JobId>,
    /// When this node started, ms: an overdue round waits for the chain's word at least
    /// `overdue::OVERDUE_LIMIT_MS` after it (the watchtower replays the chain first).
    pub(super) started_ms: u64,
}

impl ClientState {
    pub(super) fn new() -> Self {
        Self {
            jobs: HashMap::new(),
            cheaters: HashSet::new(),
            by_current: HashMap::new(),
            bids: HashMap::new(),
            last_paid_check_ms: 0,
            verifying: HashSet::new(),
            paid_check_running: false,
            paid_due: HashMap::new(),
            claims: HashMap::new(),
            restarted: Vec::new(),
            started_ms: now_ms(),
        }
    }
}

/// A bid this prover sent, and the time its schedule holds the job to.
pub(crate) struct MyBid {
    pub(super) bid: Bid,
    /// When the job is expected proven plus the commit margin, unix ms: what the schedule
    /// holds it to. The bid promises later (`Schedule::bid`), and the room between
    /// is kept free for a slowdown.
    pub(super) due_ms: u64,
}

/// A prover's work: its bids, the jobs it proves, its batches on chain and the
/// challenges it answers.
pub(crate) struct ProverState {
    pub(super) works: HashMap<JobId, Work>,
    pub(super) my_bids: HashMap<JobId, MyBid>,
    /// Capacity held for standing bids, until the given unix ms.
    pub(super) bid_holds: HashMap<JobId, u64>,
    /// Clients' free deposits and this prover's exposure, as the chain shows them.
    pub(super) funds: funds::Funds,
    /// Circuits the prover bids on: registered on the market as this build's.
    pub(super) registered: HashSet<CircuitId>,
    /// Circuits whose registration was checked against a proof of this build.
    pub(super) checked_on_chain: HashSet<CircuitId>,
    /// Circuits whose registration rejected this build's proof: never bid on again.
    pub(super) rejected: HashSet<CircuitId>,
    pub(super) last_advert_ms: u64,
    pub(super) schedule: Schedule<JobId>,
    pub(super) batcher: Batcher<(JobId, BatchLeaf)>,
    pub(super) batches: BTreeMap<u64, BatchRecord>,
    /// Claimed batches (kept only in the store): batch id on chain → sequence number.
    pub(super) claimed: HashMap<u64, u64>,
    /// Batches whose commit or claim is with the chain worker.
    pub(super) in_flight: HashSet<u64>,
    /// When a batch's failed commit or claim may be tried again (ms).
    pub(super) retry_at: HashMap<u64, u64>,
    /// The last proving times per circuit, ms (at most [`super::estimates::ESTIMATE_WINDOW`]).
    pub(super) estimates: HashMap<Circuit, VecDeque<u64>>,
    /// Accepted jobs waiting for a proving worker, earliest deadline first (the time the
    /// schedule holds each to, unix ms).
    pub(super) ready: BTreeMap<(u64, JobId), Vec<u8>>,
    /// Proven jobs whose award the client has not signed yet, by awarded deadline (ms):
    /// their proofs go to nobody until it does (`prover::take_signed_award`).
    pub(super) unsigned: BTreeSet<(u64, JobId)>,
    /// Accepted jobs whose award is unsigned: when their acceptance goes to the client
    /// directly next (ms) and how many times it went (`acceptances.rs`).
    pub(super) resends: HashMap<JobId, (u64, u32)>,
    /// Proofs being generated now (a calibration's too).
    pub(super) running: usize,
    /// The circuit whose proving time is being measured (`calibrate`).
    pub(super) calibrating: Option<Circuit>,
    /// Circuits measured only by a calibration so far: their estimates keep the
    /// configured one as a floor (`estimates::estimate_ms`).
    pub(super) calibrated_only: HashSet<Circuit>,
    /// Circuits whose calibration failed: when it is tried again (ms).
    pub(super) calibration_retry_at: HashMap<Circuit, u64>,
    /// Challenges against this prover still to answer, by id.
    pub(super) against: HashMap<u64, Against>,
    /// Answers being sent, and when failed ones may be tried again (ms).
    pub(super) answering: HashSet<u64>,
    pub(super) answer_retry_at: HashMap<u64, u64>,
    /// Where answers go (the chain worker, ahead of its other work).
    pub(super) answers: Option<mpsc::Sender<ChainTask>>,
}

impl ProverState {
    pub(super) fn new(config: &NodeConfig) -> Self {
        let prover = &config.prover;
        Self {
            works: HashMap::new(),
            my_bids: HashMap::new(),
            bid_holds: HashMap::new(),
            funds: funds::Funds::default(),
            registered: HashSet::new(),
            checked_on_chain: HashSet::new(),
            rejected: HashSet::new(),
            last_advert_ms: 0,
            schedule: Schedule::new(prover.workers, prover.commit_margin_ms),
            batcher: Batcher::new(prover.batch_size, prover.batch_max_age_ms),
            batches: BTreeMap::new(),
            claimed: HashMap::new(),
            in_flight: HashSet::new(),
            retry_at: HashMap::new(),
            estimates: HashMap::new(),
            ready: BTreeMap::new(),
            unsigned: BTreeSet::new(),
            resends: HashMap::new(),
            running: 0,
            calibrating: None,
            calibrated_only: HashSet::new(),
            calibration_retry_at: HashMap::new(),
            against: HashMap::new(),
            answering: HashSet::new(),
            answer_retry_at: HashMap::new(),
            answers: None,
        }
    }
}
