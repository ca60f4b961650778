//! Audits: which leaves are audited when, fetching a committed proof from the prover, the
//! client or any DHT provider, judging it, and the challenge an audit leads to.

use super::*;

impl Watchtower {
    pub(super) fn start_audits(&mut self, now: u64) {
        let pending: Vec<LeafKey> = self
            .leaves
            .iter()
            .filter(|(_, l)| l.state == LeafState::Pending)
            .map(|(k, _)| *k)
            .collect();
        for key in pending {
            if !self.batches.contains_key(&key.0) {
                // Recovered from the store; its batch's event is not replayed yet.
                continue;
            }
            if !self.window_open(key.0) {
                self.report_own_unobtainable(key);
                self.set_leaf(key, done("window_closed"));
                continue;
            }
            let leaf = &self.leaves[&key];
            let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
            match self.slashed.get(&job) {
                Some(block)
                    if block.saturating_add(self.s.config.chain.confirmations) <= self.head =>
                {
                    self.set_leaf(key, done("taken"));
                    continue;
                }
                // Slashed in a block a reorg may still take off: wait.
                Some(_) => continue,
                None => {}
            }
            let target = Target::Invalid(key);
            if self.audits >= MAX_AUDITS || !self.due(&target, now) {
                continue;
            }
            self.audit(key);
        }
    }

    pub(super) fn audit(&mut self, key: LeafKey) {
        let Some(leaf) = self.leaves.get(&key) else {
            return;
        };
        let leaf = leaf.leaf.clone();
        let me = self.s.net.peer_id();
        let mut sources: Vec<Source> = Vec::new();
        if let Some(peer_key) = self
            .batches
            .get(&key.0)
            .and_then(|b| self.keys.get(&EthAddress::from(b.prover)))
            .and_then(PeerKey::from_bytes)
            && let Some(peer) = peer_id_of(&peer_key)
        {
            sources.push((peer, Some(peer_key), "prover"));
        }
        if let Some(peer_key) = self.client_keys.get(&leaf.job_id).copied()
            && let Some(peer) = peer_id_of(&peer_key)
            && peer != me
        {
            sources.push((peer, Some(peer_key), "client"));
        }
        let config = &self.s.config.watchtower;
        let (attempts, retry_ms) = (config.fetch_attempts, config.fetch_retry_ms);
        self.in_flight.insert(Target::Invalid(key));
        self.audits += 1;
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let audit = run_audit(&shared, &leaf, &sources, attempts, retry_ms).await;
            let _ = reports.send(Report::Audited { key, audit }).await;
        });
    }

    pub(super) fn on_audited(&mut self, key: LeafKey, audit: Audit) {
        self.in_flight.remove(&Target::Invalid(key));
        self.audits = self.audits.saturating_sub(1);
        let Some(leaf) = self.leaves.get(&key) else {
            return;
        };
        if leaf.state != LeafState::Pending {
            // Settled meanwhile (another challenger, or events after a restart).
            return;
        }
        let job = (leaf.prover, leaf.leaf.client.0, leaf.leaf.job_id);
        let at = inclusion(leaf);
        let result = match &audit {
            Audit::Valid { .. } => "valid",
            Audit::Invalid { .. } => "invalid",
            Audit::Unavailable => "unavailable",
            Audit::Undecided => "undecided",
        };
        self.s
            .metrics
            .watch
            .audits
            .get_or_create(&kind(result))
            .inc();
        tracing::info!(target: "watch", job = %job.2, batch_id = key.0, result, "audited");
        let jitter = self.jitter_ms(&job);
        let prover = leaf.prover;
        let leaf = leaf.leaf.clone();
        if self.audits_as_owner(prover, &leaf)
            && matches!(audit, Audit::Invalid { .. } | Audit::Unavailable)
            && !self.own_challenge_due(key)
        {
            // The client's own challenge is the last resort: the watchtowers act first,
            // and the winner may still deliver. Audit again later.
            self.retry_at
                .insert(Target::Invalid(key), now_ms() + RETRY_MS);
            return;
        }
        match audit {
            Audit::Valid { inputs, proof } => {
                self.set_leaf(key, LeafState::Valid);
                self.report_own_proof(prover, &leaf, inputs, proof);
            }
            Audit::Undecided => {
                let tries = self.undecided.entry(key).or_default();
                *tries += 1;
                if *tries >= MAX_UNDECIDED {
                    self.undecided.remove(&key);
                    self.set_leaf(key, done("undecided"));
                } else {
                    self.retry_at
                        .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                }
            }
            Audit::Invalid { inputs, proof } => {
                let evidence = match InvalidProof::new(at, inputs, proof) {
                    Ok(evidence) => evidence,
                    Err(error) => {
                        tracing::error!(target: "watch", %error, "audited proof does not match its leaf");
                        self.retry_at
                            .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                        return;
                    }
                };
                self.set_leaf(
                    key,
                    LeafState::Challenging {
                        kind: "invalid_proof".into(),
                    },
                );
                self.send(Target::Invalid(key), jitter, move |market| async move {
                    market.challenge_invalid_proof(&evidence).await
                });
            }
            Audit::Unavailable if self.pending_other.contains_key(&job) => {
                // Another challenge of the job is open (a withheld one would be refused):
                // audit again once it is settled.
                self.retry_at
                    .insert(Target::Invalid(key), now_ms() + RETRY_MS);
            }
            Audit::Unavailable => {
                self.set_leaf(
                    key,
                    LeafState::Challenging {
                        kind: "withheld_proof".into(),
                    },
                );
                // The client's own challenge buys the proof, showing its award: the price
                // goes to the prover with the reveal and the bond comes back. Only the
                // awarded prover's leaf of its round, whose job id is the one its nonce
                // derives (a record written before nonces were kept has none to show).
                // And only a leaf posted by the award's deadline, which a claim would have
                // paid (the contract refuses it too: `CommittedAfterDeadline`): a late leaf
                // is the missed deadline's to settle, not the client's to buy.
                let me = self.s.address;
                let posted_in_time = |deadline: u64| {
                    self.batches
                        .get(&key.0)
                        .and_then(|b| b.timestamp)
                        .is_some_and(|t| t <= deadline)
                };
                let purchase = self
                    .own_round(prover, &leaf)
                    .filter(|w| {
                        w.award.0.is_signed()
                            && provernet_protocol::job_id_of(&me, w.nonce) == leaf.job_id
                            && posted_in_time(w.award.0.deadline)
                    })
                    .map(|w| Purchase {
                        nonce: w.nonce,
                        deadline: w.award.0.deadline,
                        signature: w.award.0.signature.0.to_vec(),
                    });
                if purchase.is_some() {
                    self.mark_purchase(&(prover, leaf.client.0, leaf.job_id));
                }
                let evidence = WithheldProof { at, purchase };
                self.send(Target::Withheld(key), jitter, move |market| async move {
                    market
                        .challenge_withheld_proof(&evidence)
                        .await
                        .map(|(_, r)| r)
                });
            }
        }
    }
}

/// Where a proof may be fetched: the peer, the key it must sign with (none for a DHT
/// provider: the proof is checked against the leaf anyway), and a label for metrics.
pub(super) type Source = (PeerId, Option<PeerKey>, &'static str);

/// Fetches a leaf's proof (the prover, the client, then every DHT provider of its hash),
/// checks it is the committed one and verifies it.
pub(super) async fn run_audit(
    s: &Shared,
    leaf: &JobLeaf,
    sources: &[Source],
    attempts: u32,
    retry_ms: u64,
) -> Audit {
    let me = s.net.peer_id();
    let retry = Retry {
        tries: attempts,
        pause_ms: retry_ms,
        growing: false,
    };
    retry
        .run(|_| async move {
            // The prover and the client first; DHT providers only if neither answers.
            if let Some(audit) = try_sources(s, leaf, sources).await {
                return Ok(audit);
            }
            let lookup = s.net.find_providers(leaf.proof_hash.0.to_vec());
            let providers: Vec<Source> = tokio::time::timeout(PROVIDER_LOOKUP, lookup)
                .await
                .unwrap_or_default()
                .into_iter()
                .filter(|p| *p != me && !sources.iter().any(|(q, _, _)| q == p))
                .map(|p| (p, None, "provider"))
                .collect();
            try_sources(s, leaf, &providers).await.ok_or(Try::Again(()))
        })
        .await
        .unwrap_or(Audit::Unavailable)
}

/// Asks each source in turn; the first proof that is the committed one is judged.
pub(super) async fn try_sources(s: &Shared, leaf: &JobLeaf, sources: &[Source]) -> Option<Audit> {
    for (peer, key, source) in sources {
        let Some(body) = request_proof(s, *peer, key.as_ref(), leaf.job_id).await else {
            continue;
        };
        if body.circuit_id != leaf.circuit_id
            || evidence::check_matches(leaf, &body.public_inputs, &body.proof).is_err()
        {
            tracing::debug!(target: "watch", %peer, job = %leaf.job_id, "a proof that is not the committed one");
            continue;
        }
        s.metrics
            .watch
            .proof_sources
            .get_or_create(&kind(source))
            .inc();
        return Some(judge(s, leaf, body.public_inputs, body.proof).await);
    }
    None
}

/// Verifies natively; only circuits whose ids this node derived are judged (see
/// `Watcher::samples`): under any other id the chain's verdict may change before a
/// challenge lands.
pub(super) async fn judge(
    s: &Shared,
    leaf: &JobLeaf,
    inputs: Vec<FieldBytes>,
    proof: Vec<u8>,
) -> Audit {
    let Some(circuit) = s.circuits.get(&leaf.circuit_id) else {
        tracing::debug!(target: "watch", circuit = %leaf.circuit_id, "not a circuit this node derived: not judged");
        return Audit::Undecided;
    };
    let valid = s
        .engine
        .verify_async(circuit, inputs.clone(), proof.clone())
        .await
        .is_ok();
    if valid {
        Audit::Valid { inputs, proof }
    } else {
        Audit::Invalid { inputs, proof }
    }
}

/// Asks `peer` for job `id`'s proof; `None` if it has none or answers wrongly.
pub(super) async fn request_proof(
    s: &Shared,
    peer: PeerId,
    expect: Option<&PeerKey>,
    id: JobId,
) -> Option<provernet_protocol::ProofBody> {
    // One try: the audit asks every source, for `fetch_attempts` rounds.
    let response: ProofResponse =
        super::super::ask::ask(s, peer, &ProofRequest { job_id: id }, expect, Retry::ONCE)
            .await
            .ok()?;
    if response.job_id != id {
        return None;
    }
    match response.body {
        Response::Ok(body) => Some(body),
        Response::Refused(_) => None,
    }
}
