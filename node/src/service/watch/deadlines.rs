//! Deadlines and equivocations: whether an accepted job was committed in time, the
//! missed-deadline and equivocation challenges, and finalizing unanswered challenges.

use super::*;

impl Watchtower {
    pub(super) fn check_deadlines(&mut self, now: u64) {
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
            match self.taken_by_other(&job) {
                Some(true) => {
                    // A slash of an own job was reported with its event; a challenge by
                    // someone else reports when it is decided.
                    self.settle_open(&job, "taken", true);
                    continue;
                }
                // Not confirmed yet: a reorg may still take it off the chain.
                Some(false) => continue,
                None => {}
            }
            let watched = &self.deadlines[&job];
            let deadline = watched.award.0.deadline;
            let statement = (watched.circuit_id, watched.public_inputs_hash);
            // And at the awarded price: a leaf at another one is never paid (the claim's
            // award signature does not match it) nor answers the deadline (`LeafMismatch`).
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

    pub(super) fn challenge_deadline(&mut self, job: JobKey) {
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
    pub(super) fn finalize(&mut self, now: u64) {
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

    pub(super) fn challenge_equivocations(&mut self, now: u64) {
        let jobs: Vec<JobKey> = self.equivocations.iter().copied().collect();
        for job in jobs {
            let target = Target::Equivocation(job);
            if !self.due(&target, now) {
                continue;
            }
            match self.slashed.get(&job) {
                Some(block)
                    if block.saturating_add(self.s.config.chain.confirmations) <= self.head =>
                {
                    self.equivocations.remove(&job);
                    continue;
                }
                Some(_) => continue,
                None => {}
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
}
