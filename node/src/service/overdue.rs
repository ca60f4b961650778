//! A client's accepted round after its deadline: re-auctioned only once the chain shows
//! it can never be paid, so that a client pays each job at most once.
//!
//! The winner of an accepted round holds a signed award: any leaf of the awarded
//! statement it commits by the deadline is paid, delivered to the client or not. So when
//! the proof has not arrived by the deadline, the client does not re-auction at once (a
//! winner that committed and kept the proof would then be paid beside the next round's
//! winner). It waits for this node's watchtower (`watch::own`): the awarded prover
//! slashed for the job (a missed deadline challenged and finalized, a withheld or invalid
//! proof) — the round is lost, re-auction; the awarded prover's leaf committed in time —
//! the round will be paid, never re-auctioned, and its proof follows: fetched from
//! wherever it is served, or revealed on chain after a withheld-proof challenge (whose
//! failure to answer is a slash, so a lost round after all).

use provernet_protocol::JobId;

use super::Core;
use super::watch::OwnRound;
use crate::metrics::kind;
use crate::store::ClientState;
use crate::store::records::{ClientJob, Hex32, ProofRecord};

/// How long after its deadline (and grace) an accepted round that the chain has not shown
/// committed may wait for the chain's word before it is re-auctioned anyway, ms: a
/// watchtower that cannot decide (the chain unreachable, a batch whose leaves nobody
/// serves) must not hold the job forever. Beyond this, a late-found leaf of the winner
/// could be paid beside the next round's: logged as such.
pub(super) const OVERDUE_LIMIT_MS: u64 = 300_000;

/// Whether the accepted round with `deadline_s` is to be re-auctioned at `now_ms` without
/// the chain's word (see [`OVERDUE_LIMIT_MS`]), on a node started at `started_ms`: the
/// limit counts from the deadline and grace, and from the start (after which the
/// watchtower first replays the chain).
pub(super) fn overdue_past_limit(
    deadline_s: u64,
    grace_ms: u64,
    started_ms: u64,
    now_ms: u64,
) -> bool {
    let from = deadline_s
        .saturating_mul(1_000)
        .saturating_add(grace_ms)
        .max(started_ms);
    now_ms >= from.saturating_add(OVERDUE_LIMIT_MS)
}

/// Whether client job `job` settles once the chain shows it paid: verified, or accepted
/// and committed in time (its proof may never come; paid, its prover can be paid no
/// more), unless the client's own withheld-proof challenge bought it. That purchase
/// marks the award paid at once, and its reveal (the proof) or its unanswered end (a
/// slash: the price back to the deposit, the round lost and re-auctioned) comes later,
/// to a job that must still be open; every challenge ends in one or the other.
pub(super) fn settles_once_paid(job: &ClientJob) -> bool {
    job.state == ClientState::Verified
        || (job.state == ClientState::Accepted && job.committed_in_time && !job.bought)
}

/// Whether a slash for `fault` shows its prover at fault on the job (an invalid proof, an
/// equivocation: its own signed doing), rather than failing it (a missed deadline, a
/// proof not revealed in time: perhaps a crash).
pub(super) fn at_fault(fault: u8) -> bool {
    matches!(
        provernet_slashing::fault_name(fault),
        "invalid_proof" | "equivocation"
    )
}

impl Core {
    /// The watchtower's word on round `job` of one of this client's jobs.
    pub(super) async fn on_own_round(&mut self, job: JobId, outcome: OwnRound) {
        let Some(user_id) = self.client.by_current.get(&job).copied() else {
            return;
        };
        let Some(record) = self.client.jobs.get(&user_id) else {
            return;
        };
        if record.current_id() != job
            || !matches!(record.state, ClientState::Awarded | ClientState::Accepted)
        {
            return;
        }
        match outcome {
            OwnRound::Lost { fault } => {
                tracing::info!(target: "market::client", job = %user_id, fault = provernet_slashing::fault_name(fault), "the round's winner was slashed: re-auction");
                // An invalid proof or two leaves for one job are the prover's own doing; a
                // missed deadline or an unanswered challenge may be a crash: only failed.
                if at_fault(fault) {
                    self.mark_at_fault(user_id, job);
                }
                self.reauction(user_id, "missed_deadline").await;
            }
            OwnRound::Unobtainable => {
                // Not final: a proof served or revealed later, or a slash, still counts.
                tracing::error!(target: "market::client", job = %user_id, "the winner committed the proof in time but served it to no one, and the window to force it out passed: the round is paid without it");
                self.mark_round(
                    user_id,
                    Some("the winner committed the proof in time but served it to no one, and no challenge could force it out before the challenge window closed: the round is paid without it"),
                );
            }
            OwnRound::Committed => {
                tracing::info!(target: "market::client", job = %user_id, "the round's winner committed in time: waiting for its proof, not re-auctioning");
                self.mark_round(user_id, None);
            }
            OwnRound::Bought => {
                tracing::info!(target: "market::client", job = %user_id, "the round's proof bought by our withheld-proof challenge: waiting for its reveal");
                // Bought with the award shown: only a leaf posted by the award's deadline
                // can be (the contract checks it), so it is committed in time, and never
                // re-auctioned but on the purchase's own end.
                if let Some(job) = self.client.jobs.get_mut(&user_id) {
                    job.bought = true;
                }
                self.mark_round(user_id, None);
            }
            OwnRound::Proof {
                circuit_id,
                inputs,
                proof,
            } => {
                let request = &record.request.0;
                // Of the awarded statement only (the watchtower audits only the awarded
                // prover's leaf of it; checked again here).
                if circuit_id != request.circuit_id
                    || provernet_protocol::JobLeaf::public_inputs_hash(&inputs)
                        != request.public_inputs_hash
                {
                    tracing::warn!(target: "market::client", job = %user_id, "a proof of another statement: ignored");
                    return;
                }
                let Some(circuit) = self.s.circuits.get(&request.circuit_id) else {
                    return;
                };
                let record = ProofRecord {
                    circuit: circuit.name().to_owned(),
                    public_inputs: inputs.iter().map(|x| Hex32(x.0)).collect(),
                    proof,
                };
                if self.take_proof(user_id, job, record).await {
                    self.s
                        .metrics
                        .market
                        .proofs
                        .get_or_create(&kind("from_commitment"))
                        .inc();
                    tracing::info!(target: "market::client", job = %user_id, "proof taken from the winner's commitment");
                }
            }
        }
    }
}

impl Core {
    /// Records that client job `user_id`'s current round was committed in time (so it is
    /// never re-auctioned), with `note` as its error if its proof is out of reach.
    fn mark_round(&mut self, user_id: JobId, note: Option<&str>) {
        let Some(job) = self.client.jobs.get_mut(&user_id) else {
            return;
        };
        job.committed_in_time = true;
        if let Some(note) = note {
            job.error = Some(note.to_owned());
        }
        let mut batch = crate::store::WriteBatch::default();
        batch.client_job(job);
        self.write(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::{Address, CircuitId, EthSignature, Hash32, JobRequest};

    fn job(state: ClientState, committed_in_time: bool, bought: bool) -> ClientJob {
        let request = JobRequest {
            circuit_id: CircuitId([1; 32]),
            input_hash: Hash32([2; 32]),
            public_inputs_hash: Hash32([3; 32]),
            input_size: 4,
            max_price: 5,
            bid_window_ends: 6,
            proving_deadline: 7,
            client: Address([8; 20]),
            nonce: 9,
            round: 0,
            client_signature: EthSignature([0; 65]),
            circuit_name: String::new(),
        };
        let mut job = ClientJob::submitted("poseidon-chain-12", request, 60, 0);
        job.state = state;
        job.committed_in_time = committed_in_time;
        job.bought = bought;
        job
    }

    #[test]
    fn a_round_bought_before_its_reveal_stays_open_though_paid() {
        use ClientState::{Accepted, Awarded, Verified};
        // The race a client lost: its withheld-proof challenge marks the award paid at
        // once; settling then dropped the job before the reveal brought the proof (or
        // the slash that makes the round lost).
        assert!(!settles_once_paid(&job(Accepted, true, true)));
        // Not committed in time, or not accepted: nothing to be paid for yet.
        assert!(!settles_once_paid(&job(Accepted, false, false)));
        assert!(!settles_once_paid(&job(Awarded, true, false)));
        // The proof came (the reveal makes the bought round verified), or a round
        // committed in time that nobody bought: paid, it settles.
        assert!(settles_once_paid(&job(Verified, true, true)));
        assert!(settles_once_paid(&job(Accepted, true, false)));
    }

    #[test]
    fn only_a_slash_for_the_provers_own_doing_puts_it_at_fault() {
        // 1 invalid proof, 2 withheld proof, 3 missed deadline, 4 equivocation.
        assert!(at_fault(1) && at_fault(4));
        assert!(!at_fault(2) && !at_fault(3) && !at_fault(0) && !at_fault(9));
    }

    #[test]
    fn an_overdue_round_waits_for_the_chain_up_to_the_limit() {
        let deadline = 1_000;
        let grace = 2_000;
        let due = 1_000_000 + grace + OVERDUE_LIMIT_MS;
        assert!(!overdue_past_limit(deadline, grace, 0, due - 1));
        assert!(overdue_past_limit(deadline, grace, 0, due));
        assert!(!overdue_past_limit(u64::MAX, grace, 0, u64::MAX - 1));
        // A node started after the deadline waits the limit from its start.
        let started = 5_000_000;
        assert!(!overdue_past_limit(
            deadline,
            grace,
            started,
            started + OVERDUE_LIMIT_MS - 1
        ));
        assert!(overdue_past_limit(
            deadline,
            grace,
            started,
            started + OVERDUE_LIMIT_MS
        ));
    }
}
