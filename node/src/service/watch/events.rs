//! The market's events as the watchtower applies them: batches, challenges opened,
//! answered, voided or false, proofs revealed, slashes; and how they settle its records.

use super::*;

impl Watchtower {
    pub(super) fn on_event(&mut self, event: MarketEvent) {
        // A transaction's own events are applied from its receipt and again when the
        // follower reads them.
        if !self.recent_events.insert((event.tx, event.log_index)) {
            return;
        }
        self.recent_order.push_back((event.tx, event.log_index));
        if self.recent_order.len() > RECENT_EVENTS
            && let Some(old) = self.recent_order.pop_front()
        {
            self.recent_events.remove(&old);
        }
        match event.event {
            E::BatchCommittedFilter(b) => {
                let Ok(batch_id) = u64::try_from(b.batch_id) else {
                    return;
                };
                if self.batches.contains_key(&batch_id) {
                    return;
                }
                let prover = b.prover.0;
                let known: HashSet<u32> = self
                    .leaves
                    .range((batch_id, 0)..=(batch_id, u32::MAX))
                    .map(|(key, _)| key.1)
                    .filter(|index| *index < b.count)
                    .collect();
                self.batches.insert(
                    batch_id,
                    ChainBatch {
                        prover,
                        root: b.root,
                        count: b.count,
                        block: event.block,
                        timestamp: None,
                        seen_ms: now_ms(),
                        leaves: if known.len() == b.count as usize {
                            Leaves::Complete
                        } else {
                            Leaves::Partial
                        },
                        known,
                        refusals: 0,
                        refused_ms: 0,
                        time_retry_ms: 0,
                    },
                );
                self.by_root.insert((prover, b.root), batch_id);
                self.fetch_time(batch_id, event.block);
                if let Some(notices) = self.early.remove(&(prover, b.root)) {
                    self.early_count = self.early_count.saturating_sub(notices.len());
                    for (_, n) in notices {
                        self.add_leaf(batch_id, n.leaf_index, n.leaf, n.merkle_path);
                    }
                }
                // Every leaf is the input of the committing transaction: learned from the
                // chain alone, whatever the prover gossips or serves.
                self.fetch_published(batch_id, event.tx);
            }
            E::ChallengeOpenedFilter(c) => {
                let Ok(id) = u64::try_from(c.challenge_id) else {
                    return;
                };
                let job = (c.prover.0, c.client.0, JobId(c.job_id));
                self.challenges.insert(id, (job, c.fault, c.challenger));
                if c.challenger != self.me {
                    self.pending_other.insert(job, event.block);
                    return;
                }
                self.count(fault_name(c.fault), "opened");
                self.report_own_bought(&job, c.fault);
                let state = (id, c.respond_by);
                match c.fault {
                    2 => {
                        for key in self.by_job.get(&job).cloned().unwrap_or_default() {
                            if let Some(leaf) = self.leaves.get_mut(&key)
                                && reopenable_leaf(&leaf.state)
                            {
                                leaf.state = LeafState::Challenged {
                                    id: state.0,
                                    respond_by: state.1,
                                };
                                self.save_leaf(key);
                            }
                        }
                    }
                    3 => {
                        if let Some(watch) = self.deadlines.get_mut(&job)
                            && reopenable_deadline(&watch.state)
                        {
                            watch.state = DeadlineState::Challenged {
                                id: state.0,
                                respond_by: state.1,
                            };
                            self.save_deadline(&job);
                        }
                    }
                    _ => {}
                }
            }
            E::ChallengeAnsweredFilter(a) => {
                let Ok(id) = u64::try_from(a.challenge_id) else {
                    return;
                };
                let Some((job, fault, challenger)) = self.challenges.get(&id).copied() else {
                    return;
                };
                self.pending_other.remove(&job);
                self.challenges.remove(&id);
                if fault == 3 {
                    // A missed deadline answered: the prover's leaf is in a batch posted by
                    // the deadline, whoever challenged (a client's round will be paid).
                    self.report_own_committed(&job);
                }
                if challenger == self.me {
                    self.count(fault_name(fault), "answered");
                    // A client's withheld-proof challenge of its own job gets its bond back.
                    let refunded = fault == 2 && job.1 == self.me.0;
                    if !refunded {
                        self.s.metrics.watch.bonds_lost_gwei.inc_by(gwei(a.bond));
                    }
                    if self.settle_challenge(&job, id, "answered") {
                        tracing::warn!(target: "watch", job = %job.2, challenge = id, "the prover answered our challenge: bond lost");
                    }
                }
            }
            E::ChallengeVoidedFilter(v) => {
                let Ok(id) = u64::try_from(v.challenge_id) else {
                    return;
                };
                if let Some((job, fault, _)) = self.challenges.remove(&id) {
                    self.pending_other.remove(&job);
                    if v.challenger == self.me {
                        self.count(fault_name(fault), "void");
                        self.settle_challenge(&job, id, "void");
                        self.report_own_voided(&job, fault);
                    }
                }
            }
            E::FalseChallengeFilter(f) => {
                if f.challenger != self.me {
                    return;
                }
                self.count(fault_name(f.fault), "false");
                self.s.metrics.watch.bonds_lost_gwei.inc_by(gwei(f.bond));
                tracing::error!(target: "watch", job = ?f.job_id, "our challenge was false: bond lost");
                let jobs: Vec<JobKey> = self
                    .by_job
                    .keys()
                    .filter(|(p, _, j)| *p == f.prover.0 && j.0 == f.job_id)
                    .copied()
                    .collect();
                for job in jobs {
                    self.settle_open(&job, "false", false);
                }
            }
            E::ProofRevealedFilter(r) => {
                // The proof is now public, and the chain checked that it matches the leaf
                // and verifies: a pending audit of the job needs no fetch.
                let Some((job, _, _)) = u64::try_from(r.challenge_id)
                    .ok()
                    .and_then(|id| self.challenges.get(&id).copied())
                else {
                    return;
                };
                let hash = Hash32(keccak256(&r.proof));
                if let Some((prover, leaf)) = self
                    .by_job
                    .get(&job)
                    .and_then(|keys| {
                        keys.iter()
                            .filter_map(|k| self.leaves.get(k))
                            .find(|l| l.leaf.proof_hash == hash)
                    })
                    .map(|l| (l.prover, l.leaf.clone()))
                {
                    let inputs = r
                        .public_inputs
                        .iter()
                        .map(|x| {
                            let mut word = [0u8; 32];
                            x.to_big_endian(&mut word);
                            FieldBytes(word)
                        })
                        .collect();
                    self.report_own_proof(prover, &leaf, inputs, r.proof.to_vec());
                }
                for key in self.by_job.get(&job).cloned().unwrap_or_default() {
                    if self
                        .leaves
                        .get(&key)
                        .is_some_and(|l| l.state == LeafState::Pending && l.leaf.proof_hash == hash)
                    {
                        self.set_leaf(key, LeafState::Valid);
                    }
                }
            }
            E::SlashedFilter(x) => {
                let job = (x.prover.0, x.client.0, JobId(x.job_id));
                self.slashed.insert(job, event.block);
                self.pending_other.remove(&job);
                // Challenges of the job with this fault are settled by this slash.
                let fault = x.fault;
                let settled_ids: Vec<u64> = self
                    .challenges
                    .iter()
                    .filter(|(_, (j, f, by))| *j == job && *f == fault && *by != self.me)
                    .map(|(id, _)| *id)
                    .collect();
                for id in settled_ids {
                    self.challenges.remove(&id);
                }
                if x.challenger == self.me {
                    self.report_own_lost(&job, x.fault);
                    self.equivocations.remove(&job);
                    self.count(fault_name(x.fault), "slashed");
                    self.s.metrics.watch.rewards_gwei.inc_by(gwei(x.reward));
                    tracing::info!(target: "watch", job = %job.2, fault = fault_name(x.fault), reward = %x.reward, "prover slashed on our challenge");
                    self.settle_open(&job, "slashed", true);
                    // The challenge of ours this slash settled, if it was a bonded one; any
                    // other open challenge of ours on the job is finalized (void) to get
                    // its bond back.
                    let ours: Vec<u64> = self
                        .challenges
                        .iter()
                        .filter(|(_, (j, fault, by))| {
                            *j == job && *fault == x.fault && *by == self.me
                        })
                        .map(|(id, _)| *id)
                        .collect();
                    for id in ours {
                        self.settle_challenge(&job, id, "slashed");
                        self.challenges.remove(&id);
                    }
                } else {
                    // A reorg may still take another's slash off the chain: this node gives
                    // its own work on the job up once the slash is confirmed.
                    self.unconfirmed_slashes.push((job, event.block, x.fault));
                    self.settle_confirmed_slashes();
                }
            }
            _ => {}
        }
    }

    pub(super) fn count(&self, kind: &str, outcome: &str) {
        self.s
            .metrics
            .watch
            .challenges
            .get_or_create(&ChallengeOutcome {
                kind: kind.to_owned(),
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// Settles this node's records of `job` that no challenge of its own holds open (a
    /// leaf pending or being challenged; with `deadlines`, a deadline waiting): returns
    /// whether any was.
    pub(super) fn settle_open(&mut self, job: &JobKey, outcome: &str, deadlines: bool) -> bool {
        let mut settled = false;
        for key in self.by_job.get(job).cloned().unwrap_or_default() {
            if let Some(leaf) = self.leaves.get_mut(&key)
                && matches!(
                    leaf.state,
                    LeafState::Pending | LeafState::Challenging { .. }
                )
            {
                leaf.state = LeafState::Done {
                    outcome: outcome.to_owned(),
                };
                settled = true;
                self.save_leaf(key);
            }
        }
        if deadlines
            && let Some(watch) = self.deadlines.get_mut(job)
            && watch.state == DeadlineState::Waiting
        {
            watch.state = DeadlineState::Done {
                outcome: outcome.to_owned(),
            };
            settled = true;
            self.save_deadline(job);
        }
        settled
    }

    /// Settles this node's records of `job` held open by its challenge `id`.
    pub(super) fn settle_challenge(&mut self, job: &JobKey, id: u64, outcome: &str) -> bool {
        let mut settled = false;
        for key in self.by_job.get(job).cloned().unwrap_or_default() {
            if let Some(leaf) = self.leaves.get_mut(&key)
                && matches!(leaf.state, LeafState::Challenged { id: open, .. } if open == id)
            {
                leaf.state = LeafState::Done {
                    outcome: outcome.to_owned(),
                };
                settled = true;
                self.save_leaf(key);
            }
        }
        if let Some(watch) = self.deadlines.get_mut(job)
            && matches!(watch.state, DeadlineState::Challenged { id: open, .. } if open == id)
        {
            watch.state = DeadlineState::Done {
                outcome: outcome.to_owned(),
            };
            settled = true;
            self.save_deadline(job);
        }
        settled
    }
}
