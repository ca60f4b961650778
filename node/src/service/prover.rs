//! The prover role: bid, accept after checking inputs, prove in a bounded pool, deliver,
//! batch, commit, announce, claim.

use std::str::FromStr;
use std::sync::Arc;

use provernet_circuits::Circuit;
use provernet_circuits::job::{InputRefusal, check_fetched_input};
use provernet_protocol::{
    Acceptance, Award, CircuitId, EthSignature, InputRequest, InputResponse, JobId, PeerKey,
    ProverAdvert, Response, keccak256,
};
use provernet_slashing::eip712;

use super::roles::MyBid;
use super::{ChainTask, Core, Internal, Shared, acceptance_terms, eth, now_ms};
use crate::config::CheatMode;
use crate::identity::peer_id_of;
use crate::metrics::kind;
use crate::network::scoring::PeerAction;
use crate::store::records::{Hex32, ProofRecord, Stored};
use crate::store::{BatchState, Work, WorkState, WriteBatch};

/// How long a failed chain action waits before it is tried again, ms.
pub(super) const RETRY_MS: u64 = 3_000;
/// How long after a request's bid window the capacity held for a bid is kept while no
/// award has been seen, ms.
pub(super) const BID_HOLD_GRACE_MS: u64 = 5_000;
/// The longest bid window a client node opens (`client.bid_window_ms`), ms: the longest
/// a bid holds capacity, whatever the request says.
pub(super) const MAX_BID_WINDOW_MS: u64 = 60_000;
/// How often a prover advertises its circuits and load, ms.
const ADVERT_INTERVAL_MS: u64 = 5_000;
/// Slack in a promised deadline for the time between a bid and its award, ms.
pub(super) const DRIFT_MS: u64 = 1_000;

impl Core {
    pub(super) async fn on_award(&mut self, award: Award) {
        let Some(seen) = self.book.requests.get_mut(&award.job_id) else {
            return;
        };
        // The signed award replaces the selection, never the other way round.
        if seen.award.as_ref().is_none_or(|a| !a.is_signed()) {
            seen.award = Some(award.clone());
        }
        if award.is_signed() {
            self.watch_if_complete(&award.job_id);
            self.take_signed_award(&award).await;
        }
        let Some(seen) = self.book.requests.get(&award.job_id) else {
            return;
        };
        if self.prover.bid_holds.remove(&award.job_id).is_some()
            && (award.prover != self.s.address || award.prover_key != self.s.peer_key)
        {
            // Another prover won: the capacity held for our bid is free again.
            self.prover.schedule.release(&award.job_id);
        }
        let request = seen.request.clone();
        let client_key = seen.client_key;
        if !self.s.config.roles.prover
            || award.prover != self.s.address
            || award.prover_key != self.s.peer_key
            || self.prover.works.contains_key(&award.job_id)
        {
            return;
        }
        let Some(MyBid { bid, due_ms }) = self.prover.my_bids.get(&award.job_id) else {
            return;
        };
        let due_ms = *due_ms;
        if bid.price != award.price || bid.promised_deadline != award.deadline {
            tracing::warn!(target: "market::prover", job = %award.job_id, "award differs from our bid; not taking it");
            return;
        }
        self.s
            .metrics
            .market
            .awards
            .get_or_create(&kind("won"))
            .inc();
        let Some(circuit) = self.s.circuits.get(&request.circuit_id) else {
            return;
        };
        let now = now_ms();
        // Checked again from now: an award that comes late (a client that held it back
        // past the bid window) or after proving slowed is declined, which is free.
        // Nor while a circuit is being built (`learn`): the build takes the cores the
        // schedule counts on. An award that comes after its bid's hold lapsed can meet
        // one; declining is free.
        // Held at the bid's due time (its place), taken when it still ends by its
        // promise, which binds: the room the bid left is for a job of a later deadline
        // that took the worker first, or an estimate that rose since.
        let building = self.learning.busy.is_some();
        let estimate = self.estimate_ms(circuit);
        let promised_ms = award.deadline.saturating_mul(1_000);
        let admitted = !building
            && self
                .prover
                .schedule
                .admit_by(now, award.job_id, estimate, now, due_ms, promised_ms);
        let mut work = Work {
            job_id: award.job_id,
            request: Stored(request),
            award: Stored(award),
            client_key: Hex32(*client_key.as_bytes()),
            state: WorkState::Awarded,
            acceptance: None,
            proof: None,
            prove_ms: None,
            delivered: false,
            batch: None,
            awarded_ms: now,
            error: None,
        };
        let funded = self.award_funded(
            work.job_id,
            &work.request.0.client,
            work.award.0.price,
            work.award.0.deadline,
        );
        if admitted && !self.stake_covers_one_more() {
            // Committing it would take more leaves at risk than the stake covers, and
            // `commitBatch` would refuse the batch: let the award lapse.
            tracing::warn!(target: "market::prover", job = %work.job_id, "award not taken: the stake covers no more leaves at risk");
            work.state = WorkState::Released;
            work.error = Some("the stake covers no more leaves at risk".into());
        } else if let (true, Err(decline)) = (admitted, funded) {
            // Another bid on this client's jobs won first and took what paid this one, or
            // this node no longer knows the client's funds (a restart since the bid).
            let why = decline.award_refusal();
            tracing::warn!(target: "market::prover", job = %work.job_id, ?decline, "award not taken: {why}");
            work.state = WorkState::Released;
            work.error = Some(why.into());
        } else if building {
            tracing::warn!(target: "market::prover", job = %work.job_id, "award not taken: a circuit is being built");
            work.state = WorkState::Released;
            work.error = Some("a circuit is being built".into());
        } else if !admitted {
            // Taking it would make this or another job late: let the award lapse.
            tracing::warn!(target: "market::prover", job = %work.job_id, held = self.prover.schedule.len(), "award not taken: no capacity by its deadline");
            work.state = WorkState::Released;
            work.error = Some("no capacity by the deadline".into());
        }
        if work.state == WorkState::Released {
            // Whatever the reason, the award holds no capacity: left held, a hold past
            // its deadline would take a lane for good.
            self.prover.schedule.release(&work.job_id);
        }
        let released = work.state == WorkState::Released;
        let mut batch = WriteBatch::default();
        batch.work(&work);
        if released {
            self.expire_work(&mut batch, work.job_id);
        }
        if !self.write(batch) {
            self.prover.schedule.release(&work.job_id);
            return;
        }
        if released {
            // Settled: never held in memory; the award is not taken again.
            self.forget_works(&[work.job_id], "released");
            return;
        }
        let fetch = work.state == WorkState::Awarded;
        let id = work.job_id;
        self.prover.works.insert(id, work);
        if fetch {
            self.fetch_inputs(id);
        }
    }

    /// Keeps the client's signature of an award this node holds as a selection: the leaf
    /// is claimable with it. Without it (the client never saw the acceptance in time, or a
    /// restart lost the gossip) the job is still proven and committed, so that a
    /// missed-deadline challenge can be answered, but it cannot be claimed.
    pub(super) async fn take_signed_award(&mut self, award: &Award) {
        let Some(work) = self.prover.works.get_mut(&award.job_id) else {
            return;
        };
        if work.award.0.is_signed() || work.award.0 != award.selection() {
            return;
        }
        work.award = Stored(award.clone());
        let deadline_ms = work.award.0.deadline * 1_000;
        let batched = work.state == WorkState::Batched;
        let client = work.request.0.client;
        let mut batch = WriteBatch::default();
        batch.work(work);
        if !self.write(batch) {
            return;
        }
        if batched {
            // Committed unsigned already (`commit_unsigned_due`): claimable now.
            self.sign_batched_leaf(award, client);
        }
        if self.prover.unsigned.remove(&(deadline_ms, award.job_id)) {
            self.release_signed(award.job_id).await;
        }
    }

    pub(super) fn fetch_inputs(&self, id: JobId) {
        let Some(work) = self.prover.works.get(&id) else {
            return;
        };
        let Some(client_key) = PeerKey::from_bytes(&work.client_key.0) else {
            return;
        };
        let Some(peer) = peer_id_of(&client_key) else {
            return;
        };
        let request = InputRequest {
            job_id: id,
            round: work.request.0.round,
        };
        let job = work.request.0.clone();
        let circuit = self.s.circuits.get(&job.circuit_id);
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = match fetch(&shared, peer, &client_key, &request).await {
                Err(reason) => Err(InputsError::NotReceived(reason)),
                // Parsing up to 1 MiB, computing the statement and writing the input to
                // the store: on the blocking pool, never on the core. The input is stored
                // before the core marks the job accepted, so a restart finds it.
                Ok(input) => {
                    let store = shared.store.clone();
                    match tokio::task::spawn_blocking(move || {
                        let circuit = circuit.ok_or(InputRefusal::NotWitness)?;
                        check_fetched_input(circuit, &job, &input)?;
                        let mut batch = WriteBatch::default();
                        batch.input(&id, &input);
                        Ok(store.write(batch).map(|()| input))
                    })
                    .await
                    {
                        Ok(Ok(Ok(input))) => Ok(input),
                        Ok(Err(refusal)) => Err(InputsError::Refused(refusal)),
                        // Our own store or check failing is not the client's fault.
                        Ok(Ok(Err(error))) => Err(InputsError::NotReceived(format!(
                            "the input could not be stored: {error}"
                        ))),
                        Err(error) => Err(InputsError::NotReceived(error.to_string())),
                    }
                }
            };
            let _ = internal.send(Internal::Inputs { job: id, result }).await;
        });
    }

    pub(super) fn release(&mut self, id: &JobId, why: String) {
        self.prover.schedule.release(id);
        let Some(work) = self.prover.works.get_mut(id) else {
            return;
        };
        tracing::warn!(target: "market::prover", job = %id, reason = %why, "job released");
        work.state = WorkState::Released;
        work.error = Some(why);
        let mut batch = WriteBatch::default();
        batch.work(work);
        self.expire_work(&mut batch, *id);
        if self.write(batch) {
            self.forget_works(&[*id], "released");
        }
    }

    /// The input fetched for an awarded job, already checked off the core
    /// (`check_fetched_input`: hash, size, a witness, and the statement the request
    /// announced, which the award binds: a proof of any other is neither paid nor a
    /// delivery).
    pub(super) async fn on_inputs(&mut self, id: JobId, result: Result<Vec<u8>, InputsError>) {
        let Some(work) = self.prover.works.get(&id) else {
            return;
        };
        if work.state != WorkState::Awarded {
            return;
        }
        let input = match result {
            Ok(input) => input,
            Err(InputsError::NotReceived(reason)) => {
                self.release(&id, format!("inputs not received: {reason}"));
                return;
            }
            Err(InputsError::Refused(refusal)) => {
                let client = PeerKey::from_bytes(&work.client_key.0).and_then(|k| peer_id_of(&k));
                self.release(&id, refusal.to_string());
                if let Some(peer) = client {
                    self.penalize(peer, PeerAction::BadContent).await;
                }
                return;
            }
        };
        let request = work.request.0.clone();
        let award = work.award.0.clone();
        // The acceptance binds (a missed deadline is slashed): the proof must still be
        // expected done in time, half the commit margin before the deadline (when a
        // batch holding it is sealed at the latest), though the input came late or
        // proving slowed since the award.
        let estimate = self
            .s
            .circuits
            .get(&request.circuit_id)
            .map(|c| self.estimate_ms(c));
        let slack = self.s.config.prover.commit_margin_ms / 2;
        let promised_ms = award.deadline.saturating_mul(1_000);
        if !estimate.is_some_and(|e| {
            self.prover
                .schedule
                .still_on_time(now_ms(), &id, e, slack, promised_ms)
        }) {
            self.release(&id, "the deadline can no longer be met".into());
            return;
        }
        let mut acceptance = Acceptance {
            job_id: id,
            round: award.round,
            input_hash: request.input_hash,
            price: award.price,
            deadline: award.deadline,
            signature: EthSignature([0; 65]),
        };
        let digest = self.s.domain.acceptance_digest(&acceptance_terms(
            &acceptance,
            eth(&request.client),
            request.circuit_id,
            request.public_inputs_hash,
        ));
        let Ok(signature) = eip712::sign(&self.s.wallet, digest) else {
            return;
        };
        acceptance.signature = EthSignature(signature);
        let Some(work) = self.prover.works.get_mut(&id) else {
            return;
        };
        work.state = WorkState::Accepted;
        work.acceptance = Some(Stored(acceptance.clone()));
        let mut batch = WriteBatch::default();
        batch.work(work);
        if !self.write(batch) {
            return;
        }
        self.expect_signed_award(id, now_ms());
        if self.s.cheats(&id, CheatMode::SkipAcceptance) {
            // Test-only misbehaviour: never tell the client, prove and commit anyway.
            tracing::warn!(target: "market::prover", job = %id, "cheating: proving without publishing the acceptance");
            self.s.record_cheat(&id, CheatMode::SkipAcceptance);
        } else {
            self.s.publish(&acceptance).await;
        }
        if self.s.cheats(&id, CheatMode::MissDeadline) {
            tracing::warn!(target: "market::prover", job = %id, "cheating: accepted, and will never prove it");
            self.s.record_cheat(&id, CheatMode::MissDeadline);
            self.prover.schedule.release(&id);
            return;
        }
        self.start_proving(id, input);
    }

    /// Queues an accepted job for proving: the proving pool takes jobs earliest deadline
    /// first, the order the schedule assumed when it admitted them.
    pub(super) fn start_proving(&mut self, id: JobId, input: Vec<u8>) {
        let Some(work) = self.prover.works.get(&id) else {
            return;
        };
        // In the order the schedule assumed: by the time it holds the job to (earlier
        // than its promise), or the promise for a job it no longer holds.
        let due_ms = self
            .prover
            .schedule
            .deadline_of(&id)
            .unwrap_or(work.award.0.deadline.saturating_mul(1_000));
        self.prover.ready.insert((due_ms, id), input);
        self.pump();
    }

    /// Starts queued jobs while workers are free.
    pub(super) fn pump(&mut self) {
        while self.prover.running < self.s.config.prover.workers {
            let Some(((_, id), input)) = self.prover.ready.pop_first() else {
                return;
            };
            let Some(work) = self.prover.works.get(&id) else {
                continue;
            };
            let Some(circuit) = self.s.circuits.get(&work.request.0.circuit_id) else {
                continue;
            };
            let input = if self.s.cheats(&id, CheatMode::OtherStatement) {
                // Test-only misbehaviour: a valid proof, of a statement nobody awarded.
                tracing::warn!(target: "market::prover", job = %id, "cheating: proving the circuit's example instead of the job");
                circuit.example_witness().to_string().into_bytes()
            } else {
                input
            };
            self.prover.running += 1;
            self.prover.schedule.start(&id, now_ms());
            let engine = Arc::clone(&self.s.engine);
            let slowdown = Arc::clone(&self.s.slowdown);
            let internal = self.internal.clone();
            tokio::spawn(async move {
                let result = async {
                    let text = String::from_utf8(input).map_err(|e| e.to_string())?;
                    let witness = circuit
                        .parse_witness_str(&text)
                        .map_err(|e| e.to_string())?;
                    let started = std::time::Instant::now();
                    let proof = engine
                        .prove_async(witness)
                        .await
                        .map_err(|e| e.to_string())?;
                    super::estimates::dev_slowdown(&slowdown, started.elapsed()).await;
                    let ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
                    Ok((
                        ProofRecord {
                            circuit: circuit.name().to_owned(),
                            public_inputs: proof.public_inputs.iter().map(|x| Hex32(x.0)).collect(),
                            proof: proof.proof,
                        },
                        ms,
                    ))
                }
                .await;
                let _ = internal.send(Internal::Proven { job: id, result }).await;
            });
        }
    }

    pub(super) async fn on_proven(
        &mut self,
        id: JobId,
        result: Result<(ProofRecord, u64), String>,
    ) {
        self.prover.running = self.prover.running.saturating_sub(1);
        self.pump();
        let (proof, ms) = match result {
            Ok(done) => done,
            Err(reason) => {
                self.s
                    .metrics
                    .market
                    .proofs
                    .get_or_create(&kind("failed"))
                    .inc();
                self.release(&id, format!("proving failed: {reason}"));
                return;
            }
        };
        self.prover.schedule.release(&id);
        if let Ok(circuit) = Circuit::from_str(&proof.circuit) {
            self.measured(circuit, ms);
        }
        let metrics = &self.s.metrics.market;
        metrics.proofs.get_or_create(&kind("generated")).inc();
        metrics.prove_seconds.observe(ms as f64 / 1_000.0);
        if let Some(work) = self.prover.works.get(&id) {
            self.check_registration(work.request.0.circuit_id, &proof);
        }
        let mut proof = proof;
        if self.s.cheats(&id, CheatMode::InvalidProof) {
            // Test-only misbehaviour: a flipped byte makes the proof fail verification.
            let middle = proof.proof.len() / 2;
            if let Some(byte) = proof.proof.get_mut(middle) {
                *byte ^= 0x5a;
            }
            tracing::warn!(target: "market::prover", job = %id, "cheating: committing a corrupted proof");
        }
        let withheld = self.s.cheats(&id, CheatMode::Withhold);
        let proof_hash = keccak256(&proof.proof);
        let Some(work) = self.prover.works.get_mut(&id) else {
            return;
        };
        tracing::info!(target: "market::prover", job = %id, prove_ms = ms, "proven");
        work.state = WorkState::Proven;
        work.proof = Some(proof);
        work.prove_ms = Some(ms);
        let signed = work.award.0.is_signed();
        let deadline_ms = work.award.0.deadline * 1_000;
        let mut batch = WriteBatch::default();
        batch.work(work);
        if !self.write(batch) {
            return;
        }
        if !signed && !self.s.cheats(&id, CheatMode::SkipAcceptance) {
            // The client has not signed the award yet (it comes right after our
            // acceptance): the proof goes to nobody before it does, or a client could take
            // the work without ever being bound to pay. The tick commits it anyway when
            // the deadline nears.
            self.prover.unsigned.insert((deadline_ms, id));
            return;
        }
        if withheld {
            tracing::warn!(target: "market::prover", job = %id, "cheating: withholding the proof");
        } else {
            self.s.net.provide(proof_hash.to_vec()).await;
            self.deliver(id);
        }
        self.enqueue_leaf(id).await;
    }

    /// A proven job whose award just got signed: delivered, announced and batched as any.
    async fn release_signed(&mut self, id: JobId) {
        let Some(work) = self.prover.works.get(&id) else {
            return;
        };
        let Some(proof) = &work.proof else { return };
        let proof_hash = keccak256(&proof.proof);
        if !self.s.cheats(&id, CheatMode::Withhold) {
            self.s.net.provide(proof_hash.to_vec()).await;
            self.deliver(id);
        }
        self.enqueue_leaf(id).await;
    }

    /// Proven jobs still without a signed award whose deadline nears: committed unsigned
    /// (not delivered), since a client that signed without gossiping could otherwise win a
    /// missed-deadline challenge. They can never be claimed.
    async fn commit_unsigned_due(&mut self, now: u64) {
        let margin = self.s.config.prover.commit_margin_ms;
        while let Some(&(deadline_ms, id)) = self.prover.unsigned.first() {
            if now + margin < deadline_ms {
                return;
            }
            self.prover.unsigned.remove(&(deadline_ms, id));
            tracing::warn!(target: "market::prover", job = %id, "the client never signed the award: committing the proof unsigned, unclaimable");
            self.enqueue_leaf(id).await;
        }
    }

    /// Tells the market which circuits this prover proves and how busy it is.
    async fn advertise(&self) {
        let staked = self.book.stake_of(&self.s.address).is_some_and(|s| {
            s.stake >= self.s.min_stake && s.peer_key == *self.s.peer_key.as_bytes()
        });
        if !staked {
            return;
        }
        let circuits: Vec<CircuitId> = self
            .s
            .circuits
            .proved_ids()
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        let advert = ProverAdvert {
            stake_address: self.s.address,
            circuits,
            capacity: u32::try_from(self.s.config.prover.workers).unwrap_or(u32::MAX),
            queued: u32::try_from(self.prover.schedule.len()).unwrap_or(u32::MAX),
        };
        self.s.publish(&advert).await;
    }

    pub(super) async fn tick_prover(&mut self, now: u64) {
        self.calibrate(now);
        self.answer_challenges(now);
        self.resend_acceptances(now);
        self.commit_unsigned_due(now).await;
        if now >= self.prover.last_advert_ms + ADVERT_INTERVAL_MS {
            self.prover.last_advert_ms = now;
            self.advertise().await;
            tracing::debug!(
                target: "market::prover",
                held = self.prover.schedule.len(),
                bids = self.prover.bid_holds.len(),
                queued = self.prover.ready.len(),
                running = self.prover.running,
                works = self.prover.works.len(),
                "load"
            );
        }
        // A bid with no award by its hold's end (lost, or the award missed) frees its
        // capacity; so does every job no longer bid on or being proven, whatever path let
        // it go.
        self.prover.bid_holds.retain(|_, until| *until > now);
        let (holds, works) = (&self.prover.bid_holds, &self.prover.works);
        self.prover.schedule.retain(|id| {
            holds.contains_key(id) || works.get(id).is_some_and(|w| w.state.holds_capacity())
        });
        let margin = self.s.config.prover.commit_margin_ms;
        let urgent = self
            .prover
            .batcher
            .items()
            .iter()
            .map(|(_, leaf)| (leaf.deadline * 1_000).saturating_sub(margin / 2))
            .min();
        if let Some(sealed) = self.prover.batcher.poll(now, urgent) {
            self.seal(sealed);
        }
        let mut tasks = Vec::new();
        // Claims under way at once, at most as many as the queue sends at once: each
        // reads the chain once per leaf, and after a restart every batch past its window
        // is claimable (commitments, whose deadlines run, are not held back).
        let mut claims = self
            .prover
            .batches
            .values()
            .filter(|b| {
                self.prover.in_flight.contains(&b.seq)
                    && matches!(b.state, BatchState::Committed { .. })
            })
            .count();
        for batch in self.prover.batches.values() {
            if self.prover.in_flight.contains(&batch.seq)
                || self
                    .prover
                    .retry_at
                    .get(&batch.seq)
                    .is_some_and(|t| *t > now)
            {
                continue;
            }
            match batch.state {
                BatchState::Sealed => tasks.push(ChainTask::Commit {
                    seq: batch.seq,
                    leaves: batch.job_leaves(),
                    sealed_at_block: batch.sealed_at_block,
                }),
                BatchState::Committed { id, block }
                    if self.book.head > block.saturating_add(self.s.window_blocks)
                        && claims < self.s.config.chain.max_in_flight =>
                {
                    claims += 1;
                    tasks.push(ChainTask::Claim {
                        seq: batch.seq,
                        batch_id: id,
                        leaves: batch.leaves.clone(),
                    });
                }
                _ => {}
            }
        }
        for task in tasks {
            let seq = match &task {
                ChainTask::Commit { seq, .. } | ChainTask::Claim { seq, .. } => *seq,
                ChainTask::Reveal { .. } | ChainTask::Answer { .. } => continue,
            };
            if self.chain.try_send(task).is_ok() {
                self.prover.in_flight.insert(seq);
            }
        }
    }
}

/// Why an awarded job's input is not there to accept.
pub(crate) enum InputsError {
    /// The client did not send it (no answer, a refusal, a transport error).
    NotReceived(String),
    /// It came, and fails the checks: the client's fault.
    Refused(InputRefusal),
}

/// Fetches a job's inputs from its client.
async fn fetch(
    shared: &Shared,
    peer: libp2p::PeerId,
    client: &PeerKey,
    request: &InputRequest,
) -> Result<Vec<u8>, String> {
    let response: InputResponse = super::ask::ask(
        shared,
        peer,
        request,
        Some(client),
        super::ask::Retry::peer(3),
    )
    .await?;
    match response.input {
        Response::Ok(input) => Ok(input),
        Response::Refused(why) => Err(format!("client refused: {why:?}")),
    }
}
