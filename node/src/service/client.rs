//! The client role: submit, auction, award, take delivery (inputs are served in
//! `exchange.rs`), verify, and
//! re-auction when no bid comes, the winner does not accept, or (`overdue`) the round
//! can no longer be paid.

use libp2p::PeerId;
use libp2p::request_response::ResponseChannel;
use provernet_circuits::job::{CheckedSubmission, SubmissionError, SubmitRequest};
use provernet_market::auction;
use provernet_protocol::{
    Acceptance, Address, Award, Bid, EthSignature, Hash32, JobId, JobLeaf, JobRequest,
    ProofResponse, Response, keccak256,
};
use provernet_slashing::eip712;

use super::{Core, Internal, SeenRequest, award_terms, eth, now_ms, wei};
use crate::metrics::kind;
use crate::network::scoring::PeerAction;
use crate::store::records::{Hex32, ProofRecord, Stored};
use crate::store::{ClientJob, ClientState, WriteBatch};

pub use super::status::{JobStatus, SubmitError, proof_file};

/// What verifying a pushed proof showed.
pub(crate) enum Checked {
    /// It verifies.
    Valid,
    /// It does not, through the proof itself: the pusher's fault.
    Invalid(String),
    /// This node could not verify it (its keys, a task): nobody's fault but its own.
    Failed(String),
}

/// The most back-offs (`client.no_bid_backoff_ms`) a job waits after a round without
/// bids before its next round.
const NO_BID_BACKOFF_STEPS: usize = 3;

impl Core {
    pub(super) fn recover_client(&mut self) {
        let now = now_ms();
        for job in self.client.jobs.values_mut() {
            // An awarded winner gets its full time to accept again.
            match job.state {
                ClientState::Bidding => {
                    // Its bids were in memory only and its request's bid window has
                    // likely closed: the first tick starts a new round at the same price.
                    self.client.restarted.push(job.id);
                    job.round_started_ms = now;
                }
                ClientState::Awarded => job.awarded_ms = Some(now),
                _ => {}
            }
        }
        let ids: Vec<JobId> = self
            .client
            .jobs
            .values()
            .filter(|j| !j.state.is_done())
            .map(|j| j.id)
            .collect();
        for id in ids {
            if let Some(job) = self.client.jobs.get(&id) {
                self.remember_own_request(
                    job.request.0.clone(),
                    job.award.as_ref().map(|a| a.0.clone()),
                );
            }
        }
    }

    /// The client's EIP-712 signature of `request` (with a placeholder signature) for
    /// this node's key.
    fn sign_request(&self, mut request: JobRequest) -> Option<JobRequest> {
        let digest = self.s.domain.request_digest(&eip712::Request {
            job_id: request.job_id().0,
            peer_key: *self.s.peer_key.as_bytes(),
            circuit_id: request.circuit_id.0,
            input_hash: request.input_hash.0,
            public_inputs_hash: request.public_inputs_hash.0,
            max_price: wei(request.max_price),
            deadline: request.proving_deadline,
        });
        match eip712::sign(&self.s.wallet, digest) {
            Ok(signature) => {
                request.client_signature = EthSignature(signature);
                Some(request)
            }
            Err(error) => {
                tracing::error!(target: "market::client", %error, "cannot sign a request");
                None
            }
        }
    }

    fn remember_own_request(&mut self, request: JobRequest, award: Option<Award>) {
        self.book.requests.insert(
            request.job_id(),
            SeenRequest {
                forget_after: request
                    .proving_deadline
                    .saturating_add(super::REQUEST_MEMORY_SECS),
                client_key: self.s.peer_key,
                request,
                award,
                acceptance: None,
                heard: Vec::new(),
            },
        );
    }

    pub(super) async fn submit(&mut self, submit: SubmitRequest) -> Result<JobId, SubmitError> {
        if !self.s.config.roles.client {
            return Err(SubmitError::NotClient);
        }
        let bid_window_secs = self.s.config.client.bid_window_ms.div_ceil(1_000);
        let CheckedSubmission {
            circuit,
            input,
            public_inputs_hash,
            max_price,
            deadline_secs,
        } = submit.check(
            bid_window_secs + 2..=super::gossip::MAX_DEADLINE_SECS.min(self.s.max_deadline_secs),
            |circuit| self.s.circuits.id_of(circuit).is_some(),
        )?;
        let circuit_id = self
            .s
            .circuits
            .id_of(circuit)
            .ok_or_else(|| SubmissionError::UnknownCircuit(submit.circuit.clone()))?;
        let nonce = self
            .s
            .store
            .next_nonce()
            .map_err(|e| SubmitError::Store(e.to_string()))?;
        let now = now_ms();
        let request = JobRequest {
            circuit_id,
            input_hash: Hash32(keccak256(&input)),
            public_inputs_hash,
            input_size: u32::try_from(input.len()).unwrap_or(u32::MAX),
            max_price,
            bid_window_ends: (now + self.s.config.client.bid_window_ms).div_ceil(1_000),
            proving_deadline: now / 1_000 + deadline_secs,
            client: self.s.address,
            nonce,
            round: 0,
            client_signature: EthSignature([0; 65]),
            // A model's circuit is named, so nodes that do not know it can learn it
            // (`learn`); a built-in one every node knows.
            circuit_name: match circuit {
                provernet_circuits::Circuit::Model(_) => circuit.name().to_owned(),
                _ => String::new(),
            },
        };
        let Some(request) = self.sign_request(request) else {
            return Err(SubmitError::Store("cannot sign the request".into()));
        };
        let id = request.job_id();
        let job = ClientJob::submitted(circuit.name(), request.clone(), deadline_secs, now);
        let mut batch = WriteBatch::default();
        batch
            .client_job(&job)
            .input(&id, &input)
            .set_next_nonce(nonce + 1);
        self.s
            .store
            .write(batch)
            .map_err(|e| SubmitError::Store(e.to_string()))?;
        self.client.by_current.insert(id, id);
        self.client.jobs.insert(id, job);
        self.remember_own_request(request.clone(), None);
        self.s.publish(&request).await;
        tracing::info!(target: "market::client", job = %id, circuit = circuit.name(), max_price, "job submitted");
        Ok(id)
    }

    pub(super) fn on_bid(&mut self, bid: Bid, candidate: auction::Candidate) {
        let Some(user_id) = self.client.by_current.get(&bid.job_id) else {
            return;
        };
        let Some(job) = self.client.jobs.get(user_id) else {
            return;
        };
        if job.state != ClientState::Bidding {
            return;
        }
        self.s
            .metrics
            .market
            .bids
            .get_or_create(&kind("received"))
            .inc();
        let bids = self.client.bids.entry(bid.job_id).or_default();
        // One bid per prover per round: the first counts.
        if bids.iter().all(|(c, _)| c.prover != candidate.prover) && bids.len() < 256 {
            bids.push((candidate, bid));
        }
    }

    /// The winner accepted the current round in time: signs the award (the promise the
    /// contract pays) and gossips it. An acceptance of a round already given up is
    /// ignored, so that round's winner never holds a signed award.
    pub(super) async fn on_acceptance(&mut self, acceptance: Acceptance) {
        let Some(user_id) = self.client.by_current.get(&acceptance.job_id).copied() else {
            return;
        };
        let Some(job) = self.client.jobs.get(&user_id) else {
            return;
        };
        if job.state != ClientState::Awarded || job.current_id() != acceptance.job_id {
            return;
        }
        let Some(signed) = self.sign_award(job) else {
            return;
        };
        let Some(job) = self.client.jobs.get_mut(&user_id) else {
            return;
        };
        job.state = ClientState::Accepted;
        job.award = Some(Stored(signed.clone()));
        job.acceptance = Some(Stored(acceptance.clone()));
        job.accepted_ms = Some(now_ms());
        let mut batch = WriteBatch::default();
        batch.client_job(job);
        if !self.write(batch) {
            return;
        }
        if let Some(seen) = self.book.requests.get_mut(&acceptance.job_id) {
            seen.acceptance = Some(acceptance);
        }
        self.publish_signed_award(signed).await;
    }

    /// The current round's award signed: the EIP-712 promise the contract pays. Signed
    /// once per round, when the winner's acceptance arrives in time or, if that was lost,
    /// when its proof arrives and verifies while the round is still current: either way
    /// before the round is given up, never after.
    fn sign_award(&self, job: &ClientJob) -> Option<Award> {
        let selection = job.award.as_ref().map(|a| a.0.clone())?;
        if selection.is_signed() || self.s.config.client.cheat_never_sign {
            return None;
        }
        let request = &job.request.0;
        let digest = self.s.domain.award_digest(&award_terms(
            &selection,
            request.circuit_id,
            request.public_inputs_hash,
        ));
        match eip712::sign(&self.s.wallet, digest) {
            Ok(signature) => Some(Award {
                signature: EthSignature(signature),
                ..selection
            }),
            Err(error) => {
                tracing::error!(target: "market::client", %error, "cannot sign an award");
                None
            }
        }
    }

    /// Remembers and gossips a just-signed award (its winner commits with it; watchtowers
    /// need it for a missed-deadline challenge).
    async fn publish_signed_award(&mut self, signed: Award) {
        if let Some(seen) = self.book.requests.get_mut(&signed.job_id) {
            seen.award = Some(signed.clone());
        }
        self.watch_if_complete(&signed.job_id);
        if self.s.config.client.cheat_drop_signed_award {
            tracing::warn!(target: "market::client", job = %signed.job_id, "cheating: not gossiping the signed award");
            return;
        }
        self.s.publish(&signed).await;
    }

    pub(super) async fn tick_client(&mut self, now: u64) {
        for id in std::mem::take(&mut self.client.restarted) {
            self.reauction(id, "restart").await;
        }
        let config = self.s.config.client.clone();
        let mut due: Vec<(JobId, &'static str)> = Vec::new();
        for job in self.client.jobs.values() {
            match job.state {
                ClientState::Bidding if now >= job.round_started_ms + config.bid_window_ms => {
                    due.push((job.id, "award"));
                }
                ClientState::Waiting if now >= job.round_started_ms => {
                    due.push((job.id, "start"));
                }
                ClientState::Awarded
                    if now >= job.awarded_ms.unwrap_or(now) + config.accept_timeout_ms =>
                {
                    due.push((job.id, "no_acceptance"));
                }
                // Past its deadline, an accepted round waits for the chain's word before it
                // is re-auctioned (`overdue`), up to a limit.
                ClientState::Accepted if !job.committed_in_time => {
                    let deadline = job.award.as_ref().map_or(0, |a| a.0.deadline);
                    let grace = config.deadline_grace_ms;
                    if super::overdue::overdue_past_limit(
                        deadline,
                        grace,
                        self.client.started_ms,
                        now,
                    ) {
                        tracing::warn!(target: "market::client", job = %job.id, "no word from the chain on an overdue round: re-auctioning (its winner may still be paid)");
                        due.push((job.id, "unsettled"));
                    }
                }
                _ => {}
            }
        }
        for (id, what) in due {
            match what {
                "award" => self.close_auction(id).await,
                "start" => self.start_round(id).await,
                cause => self.reauction(id, cause).await,
            }
        }
        self.tick_paid(now);
    }

    async fn close_auction(&mut self, id: JobId) {
        let Some(job) = self.client.jobs.get(&id) else {
            return;
        };
        let current = job.current_id();
        let bids = self.client.bids.remove(&current).unwrap_or_default();
        // A prover proven at fault on any of this client's jobs never gets one of them
        // again; one that failed this job in an earlier round only when no other prover
        // bids.
        let all: Vec<auction::Candidate> = bids.iter().map(|(c, _)| c.clone()).collect();
        let failed: Vec<Address> = job.failed_provers.iter().copied().map(Address).collect();
        let at_fault: Vec<Address> = self.client.cheaters.iter().copied().map(Address).collect();
        let candidates: Vec<auction::Candidate> = auction::eligible(&all, &failed, &at_fault)
            .into_iter()
            .cloned()
            .collect();
        let terms = auction::Terms {
            max_price: job.request.0.max_price,
            window_ends: job.request.0.bid_window_ends,
            deadline: job.request.0.proving_deadline,
        };
        let Some(winner) = auction::choose(&candidates, &terms).cloned() else {
            self.reauction(id, "no_bids").await;
            return;
        };
        // The selection: the EIP-712 award is signed only once the winner's acceptance
        // arrives in time (`on_acceptance`), so a winner that never accepted can claim
        // nothing for this round, whatever it commits.
        let award = Award {
            job_id: current,
            round: job.request.0.round,
            prover: winner.prover,
            prover_key: winner.peer,
            price: winner.price,
            deadline: winner.deadline,
            signature: EthSignature([0; 65]),
        };
        let now = now_ms();
        let Some(job) = self.client.jobs.get_mut(&id) else {
            return;
        };
        job.state = ClientState::Awarded;
        job.award = Some(Stored(award.clone()));
        job.awarded_ms = Some(now);
        let submitted = job.submitted_ms;
        let mut batch = WriteBatch::default();
        batch.client_job(job);
        if !self.write(batch) {
            return;
        }
        if let Some(seen) = self.book.requests.get_mut(&current) {
            seen.award = Some(award.clone());
        }
        let metrics = &self.s.metrics.market;
        metrics.awards.get_or_create(&kind("made")).inc();
        metrics
            .award_seconds
            .observe(now.saturating_sub(submitted) as f64 / 1_000.0);
        tracing::info!(target: "market::client", job = %id, prover = ?eth(&winner.prover), price = winner.price, bids = candidates.len(), "awarded");
        self.s.publish(&award).await;
    }

    /// Ends a round that found no prover: gives up after `max_rounds`, else schedules the
    /// next round — at once after a lost winner (same price: the market had a taker), or
    /// after a back-off with a raised price (capped) when nobody bid.
    pub(super) async fn reauction(&mut self, id: JobId, cause: &'static str) {
        let config = self.s.config.client.clone();
        let Some(job) = self.client.jobs.get_mut(&id) else {
            return;
        };
        let old = job.request.0.clone();
        let cap = job
            .first_max_price
            .saturating_mul(u128::from(config.price_cap_bps))
            / 10_000;
        job.history.push(format!("round {}: {cause}", old.round));
        if let Some(award) = &job.award
            && !job.failed_provers.contains(&award.0.prover.0)
        {
            job.failed_provers.push(award.0.prover.0);
        }
        self.s
            .metrics
            .market
            .reauctions
            .get_or_create(&kind(cause))
            .inc();
        let now = now_ms();
        let mut immediate = false;
        if old.round + 1 >= config.max_rounds {
            job.state = ClientState::Failed;
            job.error = Some(format!(
                "no prover delivered in {} rounds (last: {cause})",
                old.round + 1
            ));
        } else if cause == "no_bids" {
            let quiet_rounds = job
                .history
                .iter()
                .filter(|h| h.ends_with("no_bids"))
                .count();
            job.state = ClientState::Waiting;
            job.next_max_price = Some(
                auction::raised_price(old.max_price, config.price_step_bps, cap).unwrap_or(cap),
            );
            // Longer after each quiet round, up to [`NO_BID_BACKOFF_STEPS`] times the
            // back-off: provers free capacity at the pace they prove, so a job that waits
            // longer between rounds leaves them idle once their queues drain.
            job.round_started_ms =
                now + config.no_bid_backoff_ms * quiet_rounds.min(NO_BID_BACKOFF_STEPS) as u64;
        } else {
            job.state = ClientState::Waiting;
            job.next_max_price = Some(old.max_price);
            job.round_started_ms = now;
            immediate = true;
        }
        job.award = None;
        job.awarded_ms = None;
        job.acceptance = None;
        job.accepted_ms = None;
        job.committed_in_time = false;
        job.bought = false;
        // A note of the round given up (its proof out of reach) is not the next one's.
        if job.state != ClientState::Failed {
            job.error = None;
        }
        let failed = job.state == ClientState::Failed;
        let mut batch = WriteBatch::default();
        batch.client_job(job);
        if failed {
            self.expire_client_job(&mut batch, id);
        }
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::client", job = %id, cause, round = old.round, failed, "round ended without a proof");
        if failed {
            self.forget_client_jobs(&[id]);
        }
        if immediate {
            self.start_round(id).await;
        }
    }

    /// Publishes the next round's request: a fresh nonce, so its own job id.
    async fn start_round(&mut self, id: JobId) {
        let config = self.s.config.client.clone();
        let Some(job) = self.client.jobs.get(&id) else {
            return;
        };
        let old = job.request.0.clone();
        let max_price = job.next_max_price.unwrap_or(old.max_price);
        let deadline_secs = job.deadline_secs;
        let nonce = match self.s.store.next_nonce() {
            Ok(n) => n,
            Err(error) => {
                tracing::error!(target: "store", %error, "cannot read the nonce");
                return;
            }
        };
        let now = now_ms();
        let unsigned = JobRequest {
            max_price,
            bid_window_ends: (now + config.bid_window_ms).div_ceil(1_000),
            proving_deadline: now / 1_000 + deadline_secs,
            nonce,
            round: old.round + 1,
            ..old
        };
        let Some(request) = self.sign_request(unsigned) else {
            return;
        };
        let Some(job) = self.client.jobs.get_mut(&id) else {
            return;
        };
        job.request = Stored(request.clone());
        job.state = ClientState::Bidding;
        job.round_started_ms = now;
        job.next_max_price = None;
        let mut batch = WriteBatch::default();
        batch.client_job(job).set_next_nonce(nonce + 1);
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::client", job = %id, round = request.round, max_price, "re-auction");
        self.client.by_current.insert(request.job_id(), id);
        self.remember_own_request(request.clone(), None);
        self.s.publish(&request).await;
    }

    /// A proof pushed by the winner: checked against the job and verified off the core.
    pub(super) async fn take_delivery(
        &mut self,
        peer: PeerId,
        envelope: &provernet_protocol::VerifiedEnvelope,
        delivery: ProofResponse,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        let Some(user_id) = self.client.by_current.get(&delivery.job_id).copied() else {
            self.s.net.respond(channel, Vec::new()).await;
            return;
        };
        let Some(job) = self.client.jobs.get(&user_id) else {
            return;
        };
        if job.current_id() != delivery.job_id {
            // A proof for an earlier round, which was re-auctioned: too late, no offence.
            self.s.net.respond(channel, Vec::new()).await;
            return;
        }
        let from_winner = job
            .award
            .as_ref()
            .is_some_and(|a| a.0.job_id == delivery.job_id && a.0.prover_key == *envelope.signer());
        let waiting = matches!(job.state, ClientState::Awarded | ClientState::Accepted);
        let Response::Ok(body) = delivery.body else {
            self.s.net.respond(channel, Vec::new()).await;
            return;
        };
        if !from_winner {
            self.penalize(peer, PeerAction::Unauthorized).await;
            return;
        }
        let winner_at_fault = job
            .award
            .as_ref()
            .is_some_and(|a| job.faulty_provers.contains(&a.0.prover.0));
        if !waiting || winner_at_fault {
            // Already have it (a retry), or the round moved on; or the winner already
            // pushed a proof of it that does not verify: one verification of its pushes
            // per round is all it gets (the proof may still come from its commitment).
            self.s.net.respond(channel, Vec::new()).await;
            return;
        }
        // A proof of another circuit or another statement (valid or not) is not this job's.
        if body.circuit_id != job.request.0.circuit_id
            || JobLeaf::public_inputs_hash(&body.public_inputs) != job.request.0.public_inputs_hash
        {
            self.penalize(peer, PeerAction::BadContent).await;
            return;
        }
        let Some(circuit) = self.s.circuits.get(&body.circuit_id) else {
            return;
        };
        let proof = ProofRecord {
            circuit: circuit.name().to_owned(),
            public_inputs: body.public_inputs.iter().map(|x| Hex32(x.0)).collect(),
            proof: body.proof.clone(),
        };
        let current = delivery.job_id;
        if !self.client.verifying.insert(current) {
            // The winner pushed it again while its first copy is being verified: one
            // verification per job at a time, however often it pushes.
            self.s.net.respond(channel, Vec::new()).await;
            return;
        }
        let engine = std::sync::Arc::clone(&self.s.engine);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let ok = match engine
                .verify_async(circuit, body.public_inputs, body.proof)
                .await
            {
                Ok(()) => Checked::Valid,
                Err(error) if error.is_proof_fault() => Checked::Invalid(error.to_string()),
                Err(error) => Checked::Failed(error.to_string()),
            };
            let _ = internal
                .send(Internal::ProofChecked {
                    user_id,
                    current,
                    peer,
                    proof,
                    ok,
                    channel,
                })
                .await;
        });
    }

    pub(super) async fn on_proof_checked(
        &mut self,
        user_id: JobId,
        current: JobId,
        peer: PeerId,
        proof: ProofRecord,
        ok: Checked,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        self.client.verifying.remove(&current);
        if let Checked::Failed(reason) = ok {
            // This node could not verify (keys, a task): not the pusher's fault. No
            // answer, so the winner pushes it again.
            tracing::error!(target: "market::client", job = %user_id, reason, "cannot verify a delivered proof");
            return;
        }
        if let Checked::Invalid(reason) = ok {
            tracing::warn!(target: "market::client", job = %user_id, %peer, reason, "delivered proof does not verify");
            // Signed by the winner's key: it is at fault on this job, whatever it does next
            // (the round goes on: it may still commit a valid proof in time, and is paid then).
            self.mark_at_fault(user_id, current);
            self.s
                .metrics
                .market
                .proofs
                .get_or_create(&kind("rejected"))
                .inc();
            self.penalize(peer, PeerAction::BadContent).await;
            return;
        }
        // Answered once taken, or at once if the round moved on or the job is done (a
        // retry); not when the store failed.
        let stale = self
            .client
            .jobs
            .get(&user_id)
            .is_some_and(|j| j.current_id() != current || j.state.is_done());
        if stale || self.take_proof(user_id, current, proof).await {
            self.s.net.respond(channel, Vec::new()).await;
        }
    }

    /// Records the winner of round `current` of job `user_id` as at fault on the job: no
    /// later round awards it again (`auction::eligible`).
    pub(super) fn mark_at_fault(&mut self, user_id: JobId, current: JobId) {
        let Some(job) = self.client.jobs.get_mut(&user_id) else {
            return;
        };
        let Some(award) = job.award.as_ref().filter(|a| a.0.job_id == current) else {
            return;
        };
        let prover = award.0.prover.0;
        if job.faulty_provers.contains(&prover) {
            return;
        }
        job.faulty_provers.push(prover);
        self.client.cheaters.insert(prover);
        tracing::info!(target: "market::client", job = %user_id, prover = ?eth(&award.0.prover), "prover at fault on this job: never awarded a job of this client again");
        let mut batch = WriteBatch::default();
        batch.client_job(job);
        self.write(batch);
    }

    /// The current round's proof, verified (delivered by the winner, fetched by this
    /// node's watchtower from the committed leaf, or revealed on chain): the job is done.
    /// Returns whether it was taken (the round is current and the job was waiting).
    pub(super) async fn take_proof(
        &mut self,
        user_id: JobId,
        current: JobId,
        proof: ProofRecord,
    ) -> bool {
        let now = now_ms();
        let Some(job) = self.client.jobs.get(&user_id) else {
            return false;
        };
        if job.current_id() != current || job.state.is_done() {
            return false;
        }
        // The winner delivered in this round although its acceptance never reached us: it
        // did the job, so it gets the signed award it needs to be paid.
        let signed = self.sign_award(job);
        let Some(job) = self.client.jobs.get_mut(&user_id) else {
            return false;
        };
        if let Some(signed) = &signed {
            job.award = Some(Stored(signed.clone()));
        }
        job.state = ClientState::Verified;
        let proof_hash = keccak256(&proof.proof);
        job.proof = Some(proof);
        job.verified_ms = Some(now);
        let e2e = now.saturating_sub(job.submitted_ms);
        let mut batch = WriteBatch::default();
        batch.client_job(job);
        if !self.write(batch) {
            return false;
        }
        if let Some(signed) = signed {
            self.publish_signed_award(signed).await;
        }
        let metrics = &self.s.metrics.market;
        metrics.proofs.get_or_create(&kind("verified")).inc();
        metrics.e2e_seconds.observe(e2e as f64 / 1_000.0);
        tracing::info!(target: "market::client", job = %user_id, e2e_ms = e2e, "proof verified");
        // Its leaves need no audit by this node's watchtower any more.
        if let Some(watch) = self.watch.clone() {
            tokio::spawn(async move {
                let _ = watch.send(super::WatchInput::Delivered(current)).await;
            });
        }
        // Anyone may fetch it from here too (a watchtower, when the prover is gone).
        self.s.net.provide(proof_hash.to_vec()).await;
        true
    }
}
