//! What the API shows of a client's jobs, why a submission is refused, and the job
//! gauges.

use std::str::FromStr;

use provernet_circuits::Circuit;
use provernet_circuits::job::SubmissionError;
use provernet_protocol::primitives::to_hex;
use serde::{Deserialize, Serialize};

use super::eth;
use crate::store::ClientJob;

/// Why a job was not submitted. Every variant is the caller's to fix.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// This node does not run the client role.
    #[error("this node does not run the client role (start it with --client)")]
    NotClient,
    /// The submission is invalid, or names a circuit this node is not configured for
    /// ([`SubmissionError::UnknownCircuit`]).
    #[error(transparent)]
    Invalid(#[from] SubmissionError),
    /// The store failed.
    #[error("cannot store the job: {0}")]
    Store(String),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
    /// The client's free deposit does not pay the first round's maximum price, so no node
    /// would hear the request.
    #[error(
        "the client's free deposit on chain ({free} wei) does not pay the maximum price ({max_price} wei): no node forwards such a request; add to the deposit (`deposit()` on the market) or lower the price"
    )]
    Unfunded {
        /// `freeDeposit(client)`, wei.
        free: ethers::types::U256,
        /// The maximum price asked, wei.
        max_price: u128,
    },
    /// The client's deposit cannot be read.
    #[error("cannot read the client's deposit from the chain: {0}")]
    Chain(String),
    /// A model's inference that cannot be submitted (`models`): the text says why.
    #[error("{0}")]
    Model(String),
}

/// A job's status as the API shows it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobStatus {
    /// The id given at submission.
    pub id: String,
    /// The current round's job id (on chain).
    pub current_id: String,
    /// The circuit.
    pub circuit: String,
    /// `bidding`, `awarded`, `accepted`, `verified`, `paid` or `failed`.
    pub state: String,
    /// Auction round, from 0.
    pub round: u32,
    /// The current maximum price, wei.
    pub max_price: String,
    /// The winner's Ethereum address.
    pub prover: Option<String>,
    /// The awarded price, wei.
    pub price: Option<String>,
    /// The awarded deadline, unix seconds.
    pub deadline: Option<u64>,
    /// Submission time, unix ms.
    pub submitted_ms: u64,
    /// Milliseconds from submission to the (last) award.
    pub award_ms: Option<u64>,
    /// Milliseconds from submission to the verified proof.
    pub e2e_ms: Option<u64>,
    /// What happened in earlier rounds.
    pub history: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl JobStatus {
    /// The status of `job`.
    pub fn of(job: &ClientJob) -> Self {
        let request = &job.request.0;
        let award = job.award.as_ref().map(|a| &a.0);
        Self {
            id: format!("0x{}", to_hex(&job.id.0)),
            current_id: format!("0x{}", to_hex(&job.current_id().0)),
            circuit: job.circuit.clone(),
            state: job.state.name().to_owned(),
            round: request.round,
            max_price: request.max_price.to_string(),
            prover: award.map(|a| format!("{:?}", eth(&a.prover))),
            price: award.map(|a| a.price.to_string()),
            deadline: award.map(|a| a.deadline),
            submitted_ms: job.submitted_ms,
            award_ms: job.awarded_ms.map(|t| t.saturating_sub(job.submitted_ms)),
            e2e_ms: job.verified_ms.map(|t| t.saturating_sub(job.submitted_ms)),
            history: job.history.clone(),
            error: job.error.clone(),
        }
    }
}

/// A proof, as `provernet client proof` writes it.
pub fn proof_file(job: &ClientJob) -> Option<String> {
    let proof = job.proof.as_ref()?;
    let circuit = Circuit::from_str(&job.circuit).ok()?;
    Some(provernet_circuits::proof_file::to_json(
        &provernet_circuits::prover::Proof {
            circuit,
            circuit_id: job.request.0.circuit_id,
            public_inputs: proof.inputs(),
            proof: proof.proof.clone(),
        },
    ))
}

/// How many of `states` are each of `all`, in one pass.
fn tally<S: PartialEq, const N: usize>(all: [S; N], states: impl Iterator<Item = S>) -> [usize; N] {
    let mut counts = [0; N];
    for state in states {
        if let Some(i) = all.iter().position(|s| *s == state) {
            counts[i] += 1;
        }
    }
    counts
}

impl super::Core {
    /// Sets `provernet_jobs{role, state}` from the jobs held: one pass over each role's
    /// open jobs (settled ones are not held).
    pub(super) fn update_gauges(&self) {
        use crate::metrics::JobState;
        use crate::store::{ClientState, WorkState};
        let jobs = &self.s.metrics.market.jobs;
        let set = |role: &str, state: &str, n: usize| {
            jobs.get_or_create(&JobState {
                role: role.into(),
                state: state.into(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
        };
        let clients = tally(ClientState::ALL, self.client.jobs.values().map(|j| j.state));
        for (state, n) in ClientState::ALL.iter().zip(clients) {
            set("client", state.name(), n);
        }
        let works = tally(WorkState::ALL, self.prover.works.values().map(|w| w.state));
        for (state, n) in WorkState::ALL.iter().zip(works) {
            set("prover", state.name(), n);
        }
        self.update_held();
    }

    /// Sets `provernet_held_*`: the size of each structure the core keeps that peers or
    /// the chain fill, and of the store's memory.
    fn update_held(&self) {
        let held = &self.s.metrics.held;
        held.entries("requests", self.book.requests.len());
        held.entries("client_jobs", self.client.jobs.len());
        held.entries("client_rounds", self.client.by_current.len());
        held.entries("client_bids", self.client.bids.values().map(Vec::len).sum());
        held.entries("works", self.prover.works.len());
        held.entries("my_bids", self.prover.my_bids.len());
        held.entries("batches", self.prover.batches.len());
        held.entries("claimed_batches", self.prover.claimed.len());
        held.entries("challenges_against", self.prover.against.len());
        held.entries("stakes", self.book.stakes.len());
        if let Some(seen) = &self.seen {
            held.entries("replay_cache", provernet_protocol::lock_seen(seen).len());
        }
        for (what, n) in self.s.store.held() {
            held.store(what, n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::tally;
    use crate::store::WorkState;

    #[test]
    fn each_state_is_counted_once() {
        let states = [WorkState::Accepted, WorkState::Awarded, WorkState::Accepted];
        let counts = tally(WorkState::ALL, states.into_iter());
        for (state, n) in WorkState::ALL.iter().zip(counts) {
            let expected = states.iter().filter(|s| *s == state).count();
            assert_eq!(n, expected, "{state:?}");
        }
        assert_eq!(counts.iter().sum::<usize>(), states.len());
    }
}
