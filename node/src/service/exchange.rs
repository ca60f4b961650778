//! The request-response exchange as the node serves it: requests come checked and typed
//! from the dispatcher ([`Inbound`]); inputs are served to the awarded winner, proofs to
//! anyone once their award is signed, a batch's leaves by its prover, and a winner's
//! acceptance or proof sent directly is taken as its gossiped copy would be.

use provernet_protocol::{
    Acceptance, InputRequest, InputResponse, ProofBody, ProofRequest, ProofResponse, Refusal,
    Response,
};

use super::dispatch::{Asked, Inbound};
use super::{Core, Shared};
use crate::config::CheatMode;
use crate::network::scoring::PeerAction;
use crate::store::{ClientState, Work};

/// An answer made off the core: its store reads and its signature (an input is up to 1
/// MiB, a batch's leaves up to 4,096), on the blocking pool.
pub(super) type Answer = Box<dyn FnOnce(&Shared) -> Option<Vec<u8>> + Send>;

/// Most answers made off the core at once.
pub(super) const MAX_ANSWERS: usize = 16;

/// What a request gets.
enum Reply {
    /// These bytes now (or no answer).
    Now(Option<Vec<u8>>),
    /// An answer made off the core, within [`MAX_ANSWERS`] at once when the flag says so
    /// (an input to its awarded winner is not: its number is that of the client's jobs).
    Later(Answer, bool),
}

impl Core {
    pub(super) async fn on_request(&mut self, inbound: Inbound) {
        let Inbound {
            peer,
            envelope,
            request,
            channel,
        } = inbound;
        let response = match request {
            Asked::Input(request) => self.serve_input(&envelope, &request),
            Asked::Proof(request) => Reply::Later(self.serve_proof(&request), true),
            Asked::Batch(request) => Reply::Later(self.serve_batch(&request), true),
            Asked::Acceptance(acceptance) => {
                Reply::Now(self.answer_acceptance(&envelope, acceptance).await)
            }
            Asked::Push(delivery) => {
                // Answered once the proof is checked.
                self.take_delivery(peer, &envelope, delivery, channel).await;
                return;
            }
        };
        match response {
            Reply::Now(Some(bytes)) => self.s.net.respond(channel, bytes).await,
            Reply::Now(None) => {}
            Reply::Later(answer, limited) => {
                // At most `MAX_ANSWERS` made at once: beyond, the request is dropped (its
                // sender sees a failure and may try again), so slow readers cannot pile
                // up answers.
                let turn = if limited {
                    match std::sync::Arc::clone(&self.answer_turns).try_acquire_owned() {
                        Ok(turn) => Some(turn),
                        Err(_) => return,
                    }
                } else {
                    None
                };
                let shared = std::sync::Arc::clone(&self.s);
                tokio::spawn(async move {
                    let _turn = turn;
                    let made = {
                        let shared = std::sync::Arc::clone(&shared);
                        tokio::task::spawn_blocking(move || answer(&shared)).await
                    };
                    if let Ok(Some(bytes)) = made {
                        shared.net.respond(channel, bytes).await;
                    }
                });
            }
        }
    }

    /// A winner's acceptance sent to this client directly (`acceptances.rs`: the prover
    /// sends it while its award is unsigned, the gossiped acceptance or signed award may
    /// have been lost): checked as a gossiped one is, taken under the same rule (a round
    /// still current gets its award signed), and answered with the round's signed award
    /// if it has one; otherwise unanswered.
    async fn answer_acceptance(
        &mut self,
        envelope: &provernet_protocol::VerifiedEnvelope,
        acceptance: Acceptance,
    ) -> Option<Vec<u8>> {
        let user_id = *self.client.by_current.get(&acceptance.job_id)?;
        if self.s.config.client.cheat_drop_signed_award {
            return None;
        }
        if let Err(verdict) = self.check_acceptance(envelope, &acceptance) {
            tracing::debug!(target: "market::client", job = %acceptance.job_id, ?verdict, "acceptance sent directly refused");
            return None;
        }
        self.record_acceptance(&acceptance);
        self.on_acceptance(acceptance.clone()).await;
        let job = self.client.jobs.get(&user_id)?;
        let award = job.award.as_ref()?.0.clone();
        (job.current_id() == acceptance.job_id && award.is_signed())
            .then(|| self.s.envelope(&award))
            .flatten()
    }

    pub(super) async fn penalize(&self, peer: libp2p::PeerId, action: PeerAction) {
        super::dispatch::penalize(&self.s.net, &self.s.metrics, peer, action).await;
    }

    /// The inputs, to the awarded prover only (read from the store and signed off the
    /// core); a refusal at once.
    fn serve_input(
        &self,
        envelope: &provernet_protocol::VerifiedEnvelope,
        request: &InputRequest,
    ) -> Reply {
        let job_id = request.job_id;
        let refusal = move |why| InputResponse {
            job_id,
            input: Response::Refused(why),
        };
        let stored = match self
            .client
            .by_current
            .get(&request.job_id)
            .and_then(|id| self.client.jobs.get(id))
        {
            None => Err(Refusal::UnknownJob),
            Some(job) => match &job.award {
                Some(award)
                    if award.0.job_id == request.job_id
                        && award.0.prover_key == *envelope.signer()
                        && matches!(job.state, ClientState::Awarded | ClientState::Accepted) =>
                {
                    Ok(job.id)
                }
                _ => Err(Refusal::NotAuthorized),
            },
        };
        let id = match stored {
            Ok(id) => id,
            Err(why) => return Reply::Now(self.s.envelope(&refusal(why))),
        };
        Reply::Later(
            Box::new(move |shared: &Shared| {
                let response = match shared.store.input(&id) {
                    Ok(Some(input)) => InputResponse {
                        job_id,
                        input: Response::Ok(input),
                    },
                    _ => refusal(Refusal::Unavailable),
                };
                shared.envelope(&response)
            }),
            false,
        )
    }

    /// A proof to anyone who asks: the prover's own, or one this client verified. A job
    /// no longer in memory (settled: claimed with its batch) is read by key from the store
    /// off the core, by the answer: any peer may ask, so never a scan.
    fn serve_proof(&self, request: &ProofRequest) -> Answer {
        let job_id = request.job_id;
        let withheld = self.s.cheats(&job_id, CheatMode::Withhold);
        // Not a proof of a job whose award the client has not signed: that proof is the
        // prover's only leverage to be paid.
        let of_work = |w: &Work| {
            w.award
                .0
                .is_signed()
                .then(|| w.proof.clone().map(|p| (w.request.0.circuit_id, p)))
                .flatten()
        };
        let work = self.prover.works.get(&job_id);
        let job = self
            .client
            .by_current
            .get(&job_id)
            .and_then(|id| self.client.jobs.get(id));
        let known = work.is_some() || job.is_some();
        let in_memory = work.and_then(of_work).or_else(|| {
            job.and_then(|job| job.proof.clone().map(|p| (job.request.0.circuit_id, p)))
        });
        Box::new(move |shared: &Shared| {
            let record = if known {
                in_memory
            } else {
                shared
                    .store
                    .work(&job_id)
                    .ok()
                    .flatten()
                    .and_then(|w| of_work(&w))
            };
            let body = match record.filter(|_| !withheld) {
                Some((circuit_id, proof)) => Response::Ok(ProofBody {
                    circuit_id,
                    public_inputs: proof.inputs(),
                    proof: proof.proof,
                }),
                None => Response::Refused(Refusal::UnknownJob),
            };
            shared.envelope(&ProofResponse { job_id, body })
        })
    }

    /// The hashes of the proofs this node serves (a prover's, once their award is signed;
    /// a client's, once verified) whose deadline is at most [`REANNOUNCE_SECS`] old, to
    /// announce again in the DHT after a restart: the records lived in the network task's
    /// memory only, and audits fall back on them.
    pub(super) fn proofs_to_announce(&self, now_s: u64) -> Vec<Vec<u8>> {
        let recent = |deadline: u64| deadline.saturating_add(REANNOUNCE_SECS) >= now_s;
        let served = self
            .prover
            .works
            .values()
            .filter(|w| {
                w.award.0.is_signed()
                    && recent(w.award.0.deadline)
                    && !self.s.cheats(&w.job_id, CheatMode::Withhold)
            })
            .filter_map(|w| w.proof.as_ref())
            .map(|p| super::retention::proof_key(&p.proof));
        let verified = self
            .client
            .jobs
            .values()
            .filter(|j| j.award.as_ref().is_some_and(|a| recent(a.0.deadline)))
            .filter_map(|j| j.proof.as_ref())
            .map(|p| super::retention::proof_key(&p.proof));
        let mut keys: Vec<Vec<u8>> = served.chain(verified).collect();
        keys.sort();
        keys.dedup();
        keys
    }
}

/// How long after a job's deadline its proof is announced again after a restart: well
/// past any challenge window a watchtower audits in.
const REANNOUNCE_SECS: u64 = 24 * 3_600;
