//! A prover's work after a restart: what was awarded or accepted resumes (or is let go
//! when its deadline can no longer be met), what was proven goes on to its batch and its
//! client.

use provernet_circuits::Circuit;
use provernet_protocol::JobId;

use super::{Core, now_ms};
use crate::store::WorkState;

impl Core {
    pub(super) fn recover_prover(&mut self) {
        let now = now_ms();
        // The proving times measured before the restart, latest last: the estimates
        // the jobs below are judged by are this machine's, not the configured guess.
        let mut proven: Vec<(u64, Circuit, u64)> = self
            .works
            .values()
            .filter_map(|w| {
                let circuit = self.s.circuits.get(&w.request.0.circuit_id).copied()?;
                Some((w.awarded_ms, circuit, w.prove_ms?))
            })
            .collect();
        proven.sort_by_key(|(at, ..)| *at);
        for (_, circuit, ms) in proven {
            self.measured(circuit, ms);
        }
        let ids: Vec<JobId> = self.works.keys().copied().collect();
        for id in ids {
            self.expect_signed_award(id, now);
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
