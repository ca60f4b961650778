//! A prover's answers to the challenges against it: withheld-proof challenges answered
//! with the proof, missed-deadline ones with the leaf's inclusion, each sent ahead of the
//! chain worker's other work and tried again while its response window lasts.

use super::{Against, ChainTask, Core, now_ms};
use crate::config::CheatMode;
use crate::store::WriteBatch;
use provernet_protocol::Award;
use provernet_protocol::primitives::Address;

/// How long an answer to a challenge waits before it is tried again, ms.
const ANSWER_RETRY_MS: u64 = 1_000;

impl Core {
    /// Records challenges against this prover; [`Core::answer_challenges`] answers them.
    pub(super) async fn on_challenged(&mut self, challenges: Vec<Against>) {
        for challenge in challenges {
            if !matches!(challenge.fault, 2 | 3) || self.prover.against.contains_key(&challenge.id)
            {
                // Invalid proofs and equivocation have no answer.
                continue;
            }
            if self.book.head > challenge.respond_by {
                // Replayed after a restart: long settled.
                continue;
            }
            tracing::warn!(target: "market::prover", challenge = challenge.id, job = %challenge.job, fault = challenge.fault, "challenged");
            if challenge.fault == 2 && self.s.cheats(&challenge.job, CheatMode::Withhold) {
                tracing::warn!(target: "market::prover", challenge = challenge.id, "cheating: not revealing the proof");
                continue;
            }
            self.prover.against.insert(challenge.id, challenge);
        }
    }

    /// Sends the answers due: a withheld proof with the proof, a missed deadline with the
    /// leaf's inclusion in a batch posted in time. Each is tried until the chain has it or
    /// its response window has passed.
    pub(super) fn answer_challenges(&mut self, now: u64) {
        let head = self.book.head;
        let expired: Vec<u64> = self
            .prover
            .against
            .values()
            .filter(|c| head > c.respond_by)
            .map(|c| c.id)
            .collect();
        for id in expired {
            if let Some(c) = self.prover.against.remove(&id)
                && !self.prover.answering.contains(&id)
            {
                tracing::error!(target: "market::prover", challenge = id, job = %c.job, "the response window passed without an answer");
            }
            self.prover.answer_retry_at.remove(&id);
        }
        let due: Vec<Against> = self
            .prover
            .against
            .values()
            .filter(|c| {
                !self.prover.answering.contains(&c.id)
                    && self
                        .prover
                        .answer_retry_at
                        .get(&c.id)
                        .is_none_or(|t| *t <= now)
            })
            .copied()
            .collect();
        for c in due {
            // A job of a claimed batch has left memory, but a missed-deadline challenge
            // may still come until its period ends: its record is read by key (each
            // challenge cost a bond on chain).
            let stored;
            let work = match self.prover.works.get(&c.job) {
                Some(work) => Some(work),
                None => match self.s.store.work(&c.job) {
                    Ok(work) => {
                        stored = work;
                        stored.as_ref()
                    }
                    Err(error) => {
                        // Not a verdict on the job: read again at the next try.
                        tracing::error!(target: "store", %error, challenge = c.id, "cannot read the challenged job");
                        self.prover
                            .answer_retry_at
                            .insert(c.id, now + ANSWER_RETRY_MS);
                        continue;
                    }
                },
            };
            let Some(work) = work.filter(|w| w.request.0.client == c.client) else {
                tracing::warn!(target: "market::prover", challenge = c.id, job = %c.job, "challenged over a job this prover does not know");
                self.prover.against.remove(&c.id);
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
                self.prover
                    .answer_retry_at
                    .insert(c.id, now + ANSWER_RETRY_MS);
                continue;
            };
            if self
                .prover
                .answers
                .as_ref()
                .is_some_and(|a| a.try_send(task).is_ok())
            {
                self.prover.answering.insert(c.id);
            } else {
                self.prover
                    .answer_retry_at
                    .insert(c.id, now + ANSWER_RETRY_MS);
            }
        }
    }

    pub(super) fn on_answered(&mut self, challenge: u64, done: bool) {
        self.prover.answering.remove(&challenge);
        if done {
            self.prover.against.remove(&challenge);
            self.prover.answer_retry_at.remove(&challenge);
        } else {
            self.prover
                .answer_retry_at
                .insert(challenge, now_ms() + ANSWER_RETRY_MS);
        }
    }

    /// A signed award that came after its job was committed unsigned: written into the
    /// committed batch's leaf, which the claim after the window reads.
    pub(super) fn sign_batched_leaf(&mut self, award: &Award, client: Address) {
        let mut batch = WriteBatch::default();
        let mut changed = false;
        for record in self.prover.batches.values_mut() {
            for leaf in &mut record.leaves {
                if leaf.leaf.job_id == award.job_id
                    && leaf.leaf.client == client
                    && leaf.deadline == award.deadline
                    && leaf.award_signature.iter().all(|b| *b == 0)
                {
                    leaf.award_signature = award.signature.0.to_vec();
                    changed = true;
                }
            }
            if changed {
                batch.batch(record);
                changed = false;
            }
        }
        let _ = self.write(batch);
    }
}
