//! The prover role: bid, accept after checking inputs, prove in a bounded pool, deliver,
//! batch, commit, announce, claim.

use std::str::FromStr;
use std::sync::Arc;

use provernet_circuits::Circuit;
use provernet_circuits::job::{InputRefusal, check_fetched_input};
use provernet_protocol::kind::MAX_BATCH_LEAVES_SERVED;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    Acceptance, Award, BatchRequest, BatchResponse, Bid, CircuitId, CommitmentNotice, EthSignature,
    Hash32, InputRequest, InputResponse, JobId, JobLeaf, JobRequest, PeerKey, ProofBody,
    ProofResponse, ProverAdvert, Response, SignedEnvelope, keccak256,
};
use provernet_slashing::eip712;
use provernet_slashing::evidence::Inclusion;

use super::{
    Against, ChainTask, Core, Internal, Shared, acceptance_terms, eth, now_ms, now_s, wei,
};
use crate::config::CheatMode;
use crate::identity::peer_id_of;
use crate::metrics::kind;
use crate::network::scoring::PeerAction;
use crate::store::records::{BatchLeaf, Hex32, ProofRecord, Stored};
use crate::store::{BatchRecord, BatchState, Work, WorkState, WriteBatch};

/// How long an answer to a challenge waits before it is tried again, ms.
const ANSWER_RETRY_MS: u64 = 1_000;
/// How long a failed chain action waits before it is tried again, ms.
const RETRY_MS: u64 = 3_000;
/// How long after a request's bid window the capacity held for a bid is kept while no
/// award has been seen, ms.
const BID_HOLD_GRACE_MS: u64 = 5_000;
/// How often a prover advertises its circuits and load, ms.
const ADVERT_INTERVAL_MS: u64 = 5_000;
/// How many recent proving times the estimate looks at.
pub(super) const ESTIMATE_WINDOW: usize = 8;
/// Slack in a promised deadline for the time between a bid and its award, ms.
const DRIFT_MS: u64 = 1_000;

impl Core {
    fn estimate_ms(&self, circuit: Circuit) -> u64 {
        // A quarter more than measured: proving time varies with the machine's load.
        // The slowest of the recent proofs, or the configured estimate before any: the
        // machine's load varies, and a late proof costs a slash, an early one nothing.
        let base = self
            .estimates
            .get(&circuit)
            .and_then(|times| times.iter().max().copied())
            .unwrap_or(self.s.config.prover.estimate_ms);
        base + base / 4
    }

    pub(super) async fn consider_bidding(&mut self, request: &JobRequest, _client: PeerKey) {
        let id = request.job_id();
        let Some(circuit) = self.s.circuits.get(&request.circuit_id).copied() else {
            return;
        };
        if !self.s.proves.contains(&circuit) || self.my_bids.contains_key(&id) {
            return;
        }
        if !self.registered.contains(&request.circuit_id) {
            // Its leaf would be slashable whatever the proof (`read_registrations`).
            self.s
                .metrics
                .market
                .bids
                .get_or_create(&kind("declined_unregistered"))
                .inc();
            return;
        }
        let me = self.stake_of(&self.s.address);
        if me
            .is_none_or(|s| s.stake < self.s.min_stake || s.peer_key != *self.s.peer_key.as_bytes())
        {
            tracing::debug!(target: "market::prover", "not bidding: not staked under this key (yet)");
            return;
        }
        // A deadline beyond the market's maxDeadline never gets here: the gossip rule
        // (`check_request`) ignores such requests before they are remembered.
        let now = now_ms();
        let Some(price) = self.s.config.prover.price.quote(request.max_price) else {
            return;
        };
        if self
            .check_funds(id, &request.client, price, request.proving_deadline, now)
            .is_err()
        {
            return;
        }
        let margin = self.s.config.prover.commit_margin_ms;
        // The schedule keeps the commit margin between a proof's end and its deadline;
        // the promise adds [`DRIFT_MS`] more, for the time between this quote and the
        // award.
        let latest_ms = request.proving_deadline * 1_000;
        let Some(finish) = self
            .schedule
            .quote(now, self.estimate_ms(circuit), latest_ms)
        else {
            tracing::debug!(target: "market::prover", job = %id, held = self.schedule.len(), "not bidding: no capacity by the deadline");
            return;
        };
        let promised = (finish + margin + DRIFT_MS).div_ceil(1_000);
        if promised > request.proving_deadline {
            return;
        }
        // Hold the capacity while the bid stands, so bids never promise more than the
        // prover can deliver if it wins them all.
        if !self
            .schedule
            .admit(now, id, self.estimate_ms(circuit), promised * 1_000)
        {
            return;
        }
        self.bid_holds
            .insert(id, request.bid_window_ends * 1_000 + BID_HOLD_GRACE_MS);
        let digest = self.s.domain.bid_digest(&eip712::Bid {
            job_id: id.0,
            price: wei(price),
            deadline: promised,
        });
        let Ok(signature) = eip712::sign(&self.s.wallet, digest) else {
            return;
        };
        let bid = Bid {
            job_id: id,
            round: request.round,
            price,
            promised_deadline: promised,
            prover: self.s.address,
            signature: EthSignature(signature),
        };
        self.my_bids.insert(id, bid.clone());
        self.s
            .metrics
            .market
            .bids
            .get_or_create(&kind("sent"))
            .inc();
        self.s.publish(&bid).await;
    }

    pub(super) async fn on_award(&mut self, award: Award) {
        let Some(seen) = self.requests.get_mut(&award.job_id) else {
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
        let Some(seen) = self.requests.get(&award.job_id) else {
            return;
        };
        if self.bid_holds.remove(&award.job_id).is_some()
            && (award.prover != self.s.address || award.prover_key != self.s.peer_key)
        {
            // Another prover won: the capacity held for our bid is free again.
            self.schedule.release(&award.job_id);
        }
        let request = seen.request.clone();
        let client_key = seen.client_key;
        if !self.s.config.roles.prover
            || award.prover != self.s.address
            || award.prover_key != self.s.peer_key
            || self.works.contains_key(&award.job_id)
        {
            return;
        }
        let Some(bid) = self.my_bids.get(&award.job_id) else {
            return;
        };
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
        let Some(circuit) = self.s.circuits.get(&request.circuit_id).copied() else {
            return;
        };
        let now = now_ms();
        let admitted = self.schedule.admit(
            now,
            award.job_id,
            self.estimate_ms(circuit),
            award.deadline * 1_000,
        );
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
            self.schedule.release(&work.job_id);
            work.state = WorkState::Released;
            work.error = Some("the stake covers no more leaves at risk".into());
        } else if let (true, Err(decline)) = (admitted, funded) {
            // Another bid on this client's jobs won first and took what paid this one.
            tracing::warn!(target: "market::prover", job = %work.job_id, ?decline, "award not taken: the client's funds do not pay it on top of its other jobs");
            self.schedule.release(&work.job_id);
            work.state = WorkState::Released;
            work.error = Some("the client's funds do not pay it on top of its other jobs".into());
        } else if !admitted {
            // Taking it would make this or another job late: let the award lapse.
            tracing::warn!(target: "market::prover", job = %work.job_id, held = self.schedule.len(), "award not taken: no capacity by its deadline");
            work.state = WorkState::Released;
            work.error = Some("no capacity by the deadline".into());
        }
        let mut batch = WriteBatch::default();
        batch.work(&work);
        if !self.write(batch) {
            self.schedule.release(&work.job_id);
            return;
        }
        let fetch = work.state == WorkState::Awarded;
        let id = work.job_id;
        self.works.insert(id, work);
        if fetch {
            self.fetch_inputs(id);
        }
    }

    /// Keeps the client's signature of an award this node holds as a selection: the leaf
    /// is claimable with it. Without it (the client never saw the acceptance in time, or a
    /// restart lost the gossip) the job is still proven and committed, so that a
    /// missed-deadline challenge can be answered, but it cannot be claimed.
    async fn take_signed_award(&mut self, award: &Award) {
        let Some(work) = self.works.get_mut(&award.job_id) else {
            return;
        };
        if work.award.0.is_signed() || work.award.0 != award.selection() {
            return;
        }
        work.award = Stored(award.clone());
        let deadline_ms = work.award.0.deadline * 1_000;
        let mut batch = WriteBatch::default();
        batch.work(work);
        if !self.write(batch) {
            return;
        }
        if self.unsigned.remove(&(deadline_ms, award.job_id)) {
            self.release_signed(award.job_id).await;
        }
    }

    fn fetch_inputs(&self, id: JobId) {
        let Some(work) = self.works.get(&id) else {
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
        let circuit = self.s.circuits.get(&job.circuit_id).copied();
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let result = match fetch(&shared, peer, &client_key, &request).await {
                Err(reason) => Err(InputsError::NotReceived(reason)),
                // Parsing up to 1 MiB and computing the statement: on the blocking pool,
                // never on the core.
                Ok(input) => match tokio::task::spawn_blocking(move || {
                    let circuit = circuit.ok_or(InputRefusal::NotWitness)?;
                    check_fetched_input(circuit, &job, &input).map(|()| input)
                })
                .await
                {
                    Ok(checked) => checked.map_err(InputsError::Refused),
                    // Our own check failing to run is not the client's fault.
                    Err(error) => Err(InputsError::NotReceived(error.to_string())),
                },
            };
            let _ = internal.send(Internal::Inputs { job: id, result }).await;
        });
    }

    fn release(&mut self, id: &JobId, why: String) {
        self.schedule.release(id);
        let Some(work) = self.works.get_mut(id) else {
            return;
        };
        tracing::warn!(target: "market::prover", job = %id, reason = %why, "job released");
        work.state = WorkState::Released;
        work.error = Some(why);
        let mut batch = WriteBatch::default();
        batch.work(work);
        self.write(batch);
    }

    /// The input fetched for an awarded job, already checked off the core
    /// (`check_fetched_input`: hash, size, a witness, and the statement the request
    /// announced, which the award binds: a proof of any other is neither paid nor a
    /// delivery).
    pub(super) async fn on_inputs(&mut self, id: JobId, result: Result<Vec<u8>, InputsError>) {
        let Some(work) = self.works.get(&id) else {
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
        let Some(work) = self.works.get_mut(&id) else {
            return;
        };
        work.state = WorkState::Accepted;
        work.acceptance = Some(Stored(acceptance.clone()));
        let mut batch = WriteBatch::default();
        batch.work(work).input(&id, &input);
        if !self.write(batch) {
            return;
        }
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
            self.schedule.release(&id);
            return;
        }
        self.start_proving(id, input);
    }

    /// Queues an accepted job for proving: the proving pool takes jobs earliest deadline
    /// first, the order the schedule assumed when it admitted them.
    fn start_proving(&mut self, id: JobId, input: Vec<u8>) {
        let Some(work) = self.works.get(&id) else {
            return;
        };
        self.ready.insert((work.award.0.deadline, id), input);
        self.pump();
    }

    /// Starts queued jobs while workers are free.
    fn pump(&mut self) {
        while self.running < self.s.config.prover.workers {
            let Some(((_, id), input)) = self.ready.pop_first() else {
                return;
            };
            let Some(work) = self.works.get(&id) else {
                continue;
            };
            let Some(circuit) = self.s.circuits.get(&work.request.0.circuit_id).copied() else {
                continue;
            };
            let input = if self.s.cheats(&id, CheatMode::OtherStatement) {
                // Test-only misbehaviour: a valid proof, of a statement nobody awarded.
                tracing::warn!(target: "market::prover", job = %id, "cheating: proving the circuit's example instead of the job");
                circuit.example_witness().to_string().into_bytes()
            } else {
                input
            };
            self.running += 1;
            let engine = Arc::clone(&self.s.engine);
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
        self.running = self.running.saturating_sub(1);
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
        self.schedule.release(&id);
        if let Ok(circuit) = Circuit::from_str(&proof.circuit) {
            let times = self.estimates.entry(circuit).or_default();
            if times.len() == ESTIMATE_WINDOW {
                times.pop_front();
            }
            times.push_back(ms);
        }
        let metrics = &self.s.metrics.market;
        metrics.proofs.get_or_create(&kind("generated")).inc();
        metrics.prove_seconds.observe(ms as f64 / 1_000.0);
        if let Some(work) = self.works.get(&id) {
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
        let Some(work) = self.works.get_mut(&id) else {
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
            self.unsigned.insert((deadline_ms, id));
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

    /// The first proof of each circuit after a start goes through the market's own
    /// `checkProof` (off the core). The registration under this id is of this build's
    /// verifier code and shape (ids are derived), but its gas cap was measured once, at
    /// registration: a repricing of the EVM since (a fork raising a precompile's cost
    /// beyond the cap's margin) makes the market reject every valid proof, so every leaf
    /// would be slashable. A rejection stops the bids on that circuit
    /// (`circuit_rejected`).
    fn check_registration(&mut self, circuit_id: CircuitId, proof: &ProofRecord) {
        if !self.checked_on_chain.insert(circuit_id) {
            return;
        }
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        let (inputs, bytes) = (proof.inputs(), proof.proof.clone());
        tokio::spawn(async move {
            match shared
                .market
                .check_proof(circuit_id.0, &inputs, &bytes)
                .await
            {
                Ok(accepted) => {
                    let _ = internal
                        .send(Internal::RegistrationChecked {
                            circuit: circuit_id,
                            accepted,
                        })
                        .await;
                }
                Err(error) => {
                    tracing::warn!(target: "chain", %error, "cannot check this build's proof against the registration");
                    let _ = internal
                        .send(Internal::RegistrationUnchecked(circuit_id))
                        .await;
                }
            }
        });
    }

    pub(super) fn on_registration_checked(&mut self, circuit: CircuitId, accepted: bool) {
        if accepted {
            return;
        }
        let name = self.s.circuits.get(&circuit).map_or("?", |c| c.name());
        tracing::error!(target: "market::prover", circuit = name, "the market's verifier rejects this build's proof of the circuit: no more bids on it");
        self.registered.remove(&circuit);
        self.rejected.insert(circuit);
        self.s
            .metrics
            .market
            .bids
            .get_or_create(&kind("circuit_rejected"))
            .inc();
    }

    /// A proven job whose award just got signed: delivered, announced and batched as any.
    async fn release_signed(&mut self, id: JobId) {
        let Some(work) = self.works.get(&id) else {
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
        while let Some(&(deadline_ms, id)) = self.unsigned.first() {
            if now + margin < deadline_ms {
                return;
            }
            self.unsigned.remove(&(deadline_ms, id));
            tracing::warn!(target: "market::prover", job = %id, "the client never signed the award: committing the proof unsigned, unclaimable");
            self.enqueue_leaf(id).await;
        }
    }

    /// Tells the market which circuits this prover proves and how busy it is.
    async fn advertise(&self) {
        let staked = self.stake_of(&self.s.address).is_some_and(|s| {
            s.stake >= self.s.min_stake && s.peer_key == *self.s.peer_key.as_bytes()
        });
        if !staked {
            return;
        }
        let mut circuits: Vec<CircuitId> = self
            .s
            .circuits
            .iter()
            .filter(|(_, c)| self.s.proves.contains(c))
            .map(|(id, _)| *id)
            .collect();
        circuits.sort_by_key(|id| id.0);
        let advert = ProverAdvert {
            stake_address: self.s.address,
            circuits,
            capacity: u32::try_from(self.s.config.prover.workers).unwrap_or(u32::MAX),
            queued: u32::try_from(self.schedule.len()).unwrap_or(u32::MAX),
        };
        self.s.publish(&advert).await;
    }

    fn leaf_of(work: &Work) -> Option<BatchLeaf> {
        let proof = work.proof.as_ref()?;
        let request = &work.request.0;
        let award = &work.award.0;
        Some(BatchLeaf {
            leaf: JobLeaf {
                job_id: work.job_id,
                circuit_id: request.circuit_id,
                public_inputs_hash: JobLeaf::public_inputs_hash(&proof.inputs()),
                proof_hash: Hash32(keccak256(&proof.proof)),
                client: request.client,
                price: award.price,
            },
            nonce: request.nonce,
            deadline: award.deadline,
            award_signature: award.signature.0.to_vec(),
        })
    }

    async fn enqueue_leaf(&mut self, id: JobId) {
        let Some(leaf) = self.works.get(&id).and_then(Self::leaf_of) else {
            return;
        };
        let twin = self.s.cheats(&id, CheatMode::Equivocate).then(|| {
            // Test-only misbehaviour: a second leaf for the job, with another proof hash.
            let mut twin = leaf.clone();
            twin.leaf.proof_hash = Hash32(keccak256(&twin.leaf.proof_hash.0));
            tracing::warn!(target: "market::prover", job = %id, "cheating: committing two leaves for one job");
            twin
        });
        if let Some(sealed) = self.batcher.push(now_ms(), (id, leaf)) {
            self.seal(sealed);
        }
        if let Some(twin) = twin
            && let Some(sealed) = self.batcher.push(now_ms(), (id, twin))
        {
            self.seal(sealed);
        }
    }

    fn deliver(&self, id: JobId) {
        if self.s.cheats(&id, CheatMode::Withhold) || self.s.cheats(&id, CheatMode::SkipAcceptance)
        {
            return;
        }
        if self.s.cheats(&id, CheatMode::SkipDelivery) {
            self.s.record_cheat(&id, CheatMode::SkipDelivery);
            return;
        }
        let Some(work) = self.works.get(&id) else {
            return;
        };
        if !work.award.0.is_signed() {
            // Not before the client is bound to pay (see `on_proven`).
            return;
        }
        let Some(proof) = &work.proof else { return };
        let Some(client_key) = PeerKey::from_bytes(&work.client_key.0) else {
            return;
        };
        let Some(peer) = peer_id_of(&client_key) else {
            return;
        };
        let delivery = ProofResponse {
            job_id: id,
            body: Response::Ok(ProofBody {
                circuit_id: work.request.0.circuit_id,
                public_inputs: proof.inputs(),
                proof: proof.proof.clone(),
            }),
        };
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            let mut ok = false;
            for attempt in 0..5u64 {
                // Signed afresh for every attempt: the client's replay cache refuses a
                // frame it has seen, and an attempt may have arrived without its answer.
                let Some(frame) = shared.envelope(&delivery) else {
                    break;
                };
                if shared.net.request(peer, frame).await.is_ok() {
                    ok = true;
                    break;
                }
                // At least a second apart, so the next envelope's expiry (and id) differs.
                tokio::time::sleep(std::time::Duration::from_millis(1_000 * (attempt + 1))).await;
            }
            let _ = internal.send(Internal::Delivered { job: id, ok }).await;
        });
    }

    pub(super) fn on_delivered(&mut self, id: JobId, ok: bool) {
        let Some(work) = self.works.get_mut(&id) else {
            return;
        };
        self.s
            .metrics
            .market
            .proofs
            .get_or_create(&kind(if ok { "delivered" } else { "undelivered" }))
            .inc();
        if ok && !work.delivered {
            work.delivered = true;
            let mut batch = WriteBatch::default();
            batch.work(work);
            self.write(batch);
        }
    }

    /// Seals leaves into a batch: the batch and its jobs' new state land together, before
    /// any transaction is sent.
    fn seal(&mut self, items: Vec<(JobId, BatchLeaf)>) {
        let seq = match self.s.store.next_batch_seq() {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(target: "store", %error, "cannot read the batch counter");
                return;
            }
        };
        let record = BatchRecord {
            seq,
            leaves: items.iter().map(|(_, leaf)| leaf.clone()).collect(),
            state: BatchState::Sealed,
            sealed_at_block: self.head,
        };
        let mut batch = WriteBatch::default();
        batch.batch(&record).set_next_batch_seq(seq + 1);
        for (id, _) in &items {
            if let Some(work) = self.works.get_mut(id) {
                work.state = WorkState::Batched;
                work.batch = Some(seq);
                batch.work(work);
            }
        }
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::prover", seq, leaves = record.leaves.len(), "batch sealed");
        self.batches.insert(seq, record);
    }

    pub(super) async fn tick_prover(&mut self, now: u64) {
        self.answer_challenges(now);
        self.commit_unsigned_due(now).await;
        if now >= self.last_advert_ms + ADVERT_INTERVAL_MS {
            self.last_advert_ms = now;
            self.advertise().await;
            tracing::debug!(
                target: "market::prover",
                held = self.schedule.len(),
                bids = self.bid_holds.len(),
                queued = self.ready.len(),
                running = self.running,
                works = self.works.len(),
                "load"
            );
        }
        let expired: Vec<JobId> = self
            .bid_holds
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            // No award came for the bid (or we missed it): free its capacity.
            self.bid_holds.remove(&id);
            if !self.works.contains_key(&id) {
                self.schedule.release(&id);
            }
        }
        let margin = self.s.config.prover.commit_margin_ms;
        let urgent = self
            .batcher
            .items()
            .iter()
            .map(|(_, leaf)| (leaf.deadline * 1_000).saturating_sub(margin / 2))
            .min();
        if let Some(sealed) = self.batcher.poll(now, urgent) {
            self.seal(sealed);
        }
        let mut tasks = Vec::new();
        for batch in self.batches.values() {
            if self.in_flight.contains(&batch.seq)
                || self.retry_at.get(&batch.seq).is_some_and(|t| *t > now)
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
                    if self.head > block.saturating_add(self.s.window_blocks) =>
                {
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
                self.in_flight.insert(seq);
            }
        }
    }

    pub(super) async fn on_committed(&mut self, seq: u64, result: Result<(u64, u64), String>) {
        self.in_flight.remove(&seq);
        let (id, block) = match result {
            Ok(done) => done,
            Err(reason) => {
                tracing::warn!(target: "chain", seq, reason, "commit failed; will retry");
                self.s
                    .metrics
                    .chain
                    .transactions
                    .get_or_create(&kind("commit_failed"))
                    .inc();
                self.retry_at.insert(seq, now_ms() + RETRY_MS);
                return;
            }
        };
        let Some(record) = self.batches.get_mut(&seq) else {
            return;
        };
        record.state = BatchState::Committed { id, block };
        let mut batch = WriteBatch::default();
        batch.batch(record);
        let leaves = record.job_leaves();
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::prover", seq, batch_id = id, block, leaves = leaves.len(), "batch committed");
        if self.s.config.prover.cheat.is_some() {
            self.record_committed_cheats(&leaves);
        }
        let Some(tree) = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()) else {
            return;
        };
        if self
            .s
            .config
            .prover
            .cheat
            .as_ref()
            .is_some_and(|c| c.silent)
        {
            tracing::warn!(target: "market::prover", batch_id = id, "cheating: no commitment notices");
            return;
        }
        let size = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        for (index, leaf) in leaves.into_iter().enumerate() {
            let notice = CommitmentNotice {
                prover: self.s.address,
                batch_root: tree.root(),
                batch_size: size,
                leaf_index: u32::try_from(index).unwrap_or(u32::MAX),
                merkle_path: tree.path(index).unwrap_or_default(),
                leaf,
                commit_block: block,
            };
            self.s.publish(&notice).await;
        }
    }

    /// Records the faults a (test-only) cheating prover has just put on chain: a fault
    /// is one only once its leaf is committed (a prover slashed below the minimum stake
    /// proves on but can no longer commit).
    fn record_committed_cheats(&self, leaves: &[JobLeaf]) {
        for leaf in leaves {
            let id = leaf.job_id;
            for mode in [CheatMode::InvalidProof, CheatMode::Withhold] {
                if self.s.cheats(&id, mode) {
                    self.s.record_cheat(&id, mode);
                }
            }
            // The second leaf of an equivocation carries another proof hash than the
            // proof this prover holds.
            let own = self
                .works
                .get(&id)
                .and_then(|w| w.proof.as_ref())
                .map(|p| keccak256(&p.proof));
            if self.s.cheats(&id, CheatMode::Equivocate)
                && own.is_some_and(|hash| hash != leaf.proof_hash.0)
            {
                self.s.record_cheat(&id, CheatMode::Equivocate);
            }
        }
    }

    pub(super) fn on_claimed(&mut self, seq: u64, result: Result<(), String>) {
        self.in_flight.remove(&seq);
        if let Err(reason) = result {
            tracing::warn!(target: "chain", seq, reason, "claim failed; will retry");
            self.s
                .metrics
                .chain
                .transactions
                .get_or_create(&kind("claim_failed"))
                .inc();
            self.retry_at.insert(seq, now_ms() + RETRY_MS);
            return;
        }
        let paid: Vec<(ethers::types::Address, u128)> = self
            .batches
            .get(&seq)
            .map(|b| {
                b.leaves
                    .iter()
                    .map(|l| (eth(&l.leaf.client), l.leaf.price))
                    .collect()
            })
            .unwrap_or_default();
        self.funds_claimed(&paid);
        let Some(record) = self.batches.get_mut(&seq) else {
            return;
        };
        if let BatchState::Committed { id, .. } = record.state {
            record.state = BatchState::Claimed { id };
            let mut batch = WriteBatch::default();
            batch.batch(record);
            if self.write(batch) {
                // Done: the store keeps it; the core stops looking at it.
                self.batches.remove(&seq);
                self.claimed.insert(id, seq);
                self.retry_at.remove(&seq);
                tracing::info!(target: "market::prover", seq, batch_id = id, "fees claimed");
            }
        }
    }

    /// Records challenges against this prover; [`Core::answer_challenges`] answers them.
    pub(super) fn on_challenged(&mut self, challenges: Vec<Against>) {
        for challenge in challenges {
            if !matches!(challenge.fault, 2 | 3) || self.against.contains_key(&challenge.id) {
                // Invalid proofs and equivocation have no answer.
                continue;
            }
            if self.head > challenge.respond_by {
                // Replayed after a restart: long settled.
                continue;
            }
            tracing::warn!(target: "market::prover", challenge = challenge.id, job = %challenge.job, fault = challenge.fault, "challenged");
            if challenge.fault == 2 && self.s.cheats(&challenge.job, CheatMode::Withhold) {
                tracing::warn!(target: "market::prover", challenge = challenge.id, "cheating: not revealing the proof");
                continue;
            }
            self.against.insert(challenge.id, challenge);
        }
    }

    /// Sends the answers due: a withheld proof with the proof, a missed deadline with the
    /// leaf's inclusion in a batch posted in time. Each is tried until the chain has it or
    /// its response window has passed.
    pub(super) fn answer_challenges(&mut self, now: u64) {
        let head = self.head;
        let expired: Vec<u64> = self
            .against
            .values()
            .filter(|c| head > c.respond_by)
            .map(|c| c.id)
            .collect();
        for id in expired {
            if let Some(c) = self.against.remove(&id)
                && !self.answering.contains(&id)
            {
                tracing::error!(target: "market::prover", challenge = id, job = %c.job, "the response window passed without an answer");
            }
            self.answer_retry_at.remove(&id);
        }
        let due: Vec<Against> = self
            .against
            .values()
            .filter(|c| {
                !self.answering.contains(&c.id)
                    && self.answer_retry_at.get(&c.id).is_none_or(|t| *t <= now)
            })
            .copied()
            .collect();
        for c in due {
            let Some(work) = self
                .works
                .get(&c.job)
                .filter(|w| w.request.0.client == c.client)
            else {
                tracing::warn!(target: "market::prover", challenge = c.id, job = %c.job, "challenged over a job this prover does not know");
                self.against.remove(&c.id);
                continue;
            };
            let task = match c.fault {
                2 => work.proof.clone().map(|proof| ChainTask::Reveal {
                    challenge: c.id,
                    proof,
                }),
                _ => self
                    .inclusion_of(&c.job, work.batch)
                    .map(|at| ChainTask::Answer {
                        challenge: c.id,
                        at,
                    }),
            };
            let Some(task) = task else {
                // Not proven or not committed (yet: a commit may be on its way).
                self.answer_retry_at.insert(c.id, now + ANSWER_RETRY_MS);
                continue;
            };
            if self
                .answers
                .as_ref()
                .is_some_and(|a| a.try_send(task).is_ok())
            {
                self.answering.insert(c.id);
            } else {
                self.answer_retry_at.insert(c.id, now + ANSWER_RETRY_MS);
            }
        }
    }

    pub(super) fn on_answered(&mut self, challenge: u64, done: bool) {
        self.answering.remove(&challenge);
        if done {
            self.against.remove(&challenge);
            self.answer_retry_at.remove(&challenge);
        } else {
            self.answer_retry_at
                .insert(challenge, now_ms() + ANSWER_RETRY_MS);
        }
    }

    /// Where job `id` was committed, from the batch `seq` holding it.
    fn inclusion_of(&self, id: &JobId, seq: Option<u64>) -> Option<Inclusion> {
        let seq = seq?;
        let record = match self.batches.get(&seq) {
            Some(record) => record.clone(),
            None => self.s.store.batch(seq).ok()??,
        };
        let batch_id = match record.state {
            BatchState::Committed { id, .. } | BatchState::Claimed { id } => id,
            BatchState::Sealed => return None,
        };
        let leaves = record.job_leaves();
        let index = leaves.iter().position(|l| l.job_id == *id)?;
        Inclusion::from_batch(batch_id, &leaves, index).ok()
    }

    /// The leaves of one of this prover's batches, to a watchtower that asks.
    pub(super) fn serve_batch(&self, request: &BatchRequest) -> Option<Vec<u8>> {
        let committed = |b: &BatchRecord| {
            matches!(b.state, BatchState::Committed { id, .. } | BatchState::Claimed { id }
                if id == request.batch_id)
        };
        // Unclaimed batches are in memory; claimed ones are read by key from the store
        // (any peer may ask: never a scan).
        let leaves = self
            .batches
            .values()
            .find(|b| committed(b))
            .cloned()
            .or_else(|| {
                let seq = self.claimed.get(&request.batch_id)?;
                self.s.store.batch(*seq).ok()?.filter(committed)
            })
            .map(|b| b.job_leaves())
            .filter(|l| !l.is_empty() && l.len() <= MAX_BATCH_LEAVES_SERVED);
        self.s.envelope(&BatchResponse {
            batch_id: request.batch_id,
            leaves: match leaves {
                Some(leaves) => Response::Ok(leaves),
                None => Response::Refused(provernet_protocol::Refusal::Unavailable),
            },
        })
    }

    pub(super) fn recover_prover(&mut self) {
        let now = now_ms();
        let ids: Vec<JobId> = self.works.keys().copied().collect();
        for id in ids {
            let Some(work) = self.works.get(&id) else {
                continue;
            };
            let deadline_ms = work.award.0.deadline * 1_000;
            let circuit = self.s.circuits.get(&work.request.0.circuit_id).copied();
            match work.state {
                WorkState::Awarded | WorkState::Accepted => {
                    let Some(circuit) = circuit else { continue };
                    let estimate = self.estimate_ms(circuit);
                    let late =
                        now + estimate + self.s.config.prover.commit_margin_ms / 2 > deadline_ms;
                    if late && work.state == WorkState::Awarded {
                        // Not accepted yet: letting it lapse costs nothing.
                        self.release(
                            &id,
                            "the deadline can no longer be met after a restart".into(),
                        );
                        continue;
                    }
                    if now >= deadline_ms {
                        // Past already: proving it would only hold up the other jobs.
                        self.release(&id, "the deadline passed while the node was down".into());
                        continue;
                    }
                    if late {
                        // Accepted: releasing it would make the slash certain, while proving
                        // at once may still commit in time (the estimate is cautious).
                        tracing::warn!(target: "market::prover", job = %id, deadline_ms, estimate, "resuming an accepted job that may miss its deadline after a restart");
                    }
                    self.schedule.force(id, estimate, deadline_ms);
                    if work.state == WorkState::Awarded {
                        self.fetch_inputs(id);
                    } else {
                        match self.s.store.input(&id) {
                            Ok(Some(input)) => {
                                tracing::info!(target: "market::prover", job = %id, "resuming proving after a restart");
                                self.start_proving(id, input);
                            }
                            _ => self.release(&id, "inputs lost".into()),
                        }
                    }
                }
                WorkState::Proven if !work.award.0.is_signed() => {
                    // Still waiting for the client's signature (see `on_proven`).
                    self.unsigned.insert((deadline_ms, id));
                }
                WorkState::Proven => {
                    if let Some(leaf) = Self::leaf_of(work) {
                        let delivered = work.delivered;
                        if let Some(sealed) = self.batcher.push(now, (id, leaf)) {
                            self.seal(sealed);
                        }
                        if !delivered {
                            self.deliver(id);
                        }
                    }
                }
                WorkState::Batched => {
                    if !work.delivered {
                        self.deliver(id);
                    }
                }
                WorkState::Released => {}
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
    let mut last = String::new();
    for attempt in 0..3u64 {
        // Signed afresh for every attempt (see `deliver`).
        let frame = shared
            .envelope(request)
            .ok_or("cannot sign the input request")?;
        match shared.net.request(peer, frame).await {
            Ok(bytes) => {
                let envelope = SignedEnvelope::decode(&bytes, &shared.context, now_s())
                    .and_then(SignedEnvelope::verify)
                    .map_err(|e| e.to_string())?;
                envelope.expect_signer(client).map_err(|e| e.to_string())?;
                let response: InputResponse = envelope.open().map_err(|e| e.to_string())?;
                return match response.input {
                    Response::Ok(input) => Ok(input),
                    Response::Refused(why) => Err(format!("client refused: {why:?}")),
                };
            }
            Err(error) => last = error.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(1_000 * (attempt + 1))).await;
    }
    Err(last)
}
