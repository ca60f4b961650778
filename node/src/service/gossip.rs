//! The market rules a gossip message must meet beyond its envelope (which the
//! dispatcher checked): the request it refers to is known, the bidder is staked under the
//! key that signed, EIP-712 signatures recover to the right accounts, prices and
//! deadlines are within the request. Each failure is Reject (the sender broke a rule
//! every honest node checks the same way), Ignore (we may lack state an honest sender
//! had), or Charge: ignored and charged to the signer on that client's jobs, when the rule
//! depends on the version of the job this node saw (`rules`).

use libp2p::PeerId;
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use provernet_protocol::{
    Acceptance, Award, Bid, ChallengeNotice, CommitmentNotice, JobId, JobRequest, MessageKind,
    ProverAdvert, VerifiedEnvelope,
};
use provernet_slashing::eip712;

use super::rules::{
    OnJob, Verdict, acceptance_within_award, award_within_request, bid_within_request,
    record_heard, within_job_quota,
};
use super::{Core, SeenRequest, acceptance_terms, award_terms, eth, now_s, wei};
use crate::metrics::{Metrics, Validation};

/// Requests with a deadline further out are ignored (and never remembered).
pub(crate) const MAX_DEADLINE_SECS: u64 = 30 * 86_400;

/// Counts a validation result.
pub(crate) fn count(metrics: &Metrics, kind: &str, acceptance: &MessageAcceptance, reason: &str) {
    let result = match acceptance {
        MessageAcceptance::Accept => "accept",
        MessageAcceptance::Ignore => "ignore",
        MessageAcceptance::Reject => "reject",
    };
    metrics
        .net
        .validation
        .get_or_create(&Validation {
            kind: kind.to_owned(),
            result: result.to_owned(),
            reason: reason.to_owned(),
        })
        .inc();
}

impl Core {
    pub(super) async fn on_gossip(
        &mut self,
        id: MessageId,
        source: PeerId,
        envelope: VerifiedEnvelope,
    ) {
        self.judge_gossip(id, source, envelope, false).await;
    }

    /// Judges a message; `rechecked` when it waited for a read of its client's deposit
    /// already (it does not wait twice).
    pub(super) async fn judge_gossip(
        &mut self,
        id: MessageId,
        source: PeerId,
        envelope: VerifiedEnvelope,
        rechecked: bool,
    ) {
        let kind = envelope.kind();
        // A copy the market accepted already (one within the dispatcher's batch, or one
        // recorded while this was queued): nobody's fault.
        let replayed = self
            .seen
            .as_ref()
            .is_some_and(|seen| provernet_protocol::lock_seen(seen).contains(&envelope.id()));
        let verdict = if replayed {
            Err(Verdict::Ignore("replayed"))
        } else {
            self.check_gossip(&envelope, source).await
        };
        let (acceptance, reason) = match verdict {
            Ok(()) => (MessageAcceptance::Accept, "ok"),
            Err(Verdict::Reject(reason)) => (MessageAcceptance::Reject, reason),
            Err(Verdict::Ignore(reason)) => (MessageAcceptance::Ignore, reason),
            Err(Verdict::Charge(reason, client)) => {
                self.book
                    .charges
                    .charge(*envelope.signer().as_bytes(), client, now_s());
                (MessageAcceptance::Ignore, reason)
            }
            Err(Verdict::Wait) if rechecked => (MessageAcceptance::Ignore, "deposit_unknown"),
            Err(Verdict::Wait) => match self.park(id, source, envelope) {
                Ok(()) => return,
                Err((id, reason)) => {
                    count(
                        &self.s.metrics,
                        kind.name(),
                        &MessageAcceptance::Ignore,
                        reason,
                    );
                    self.s
                        .net
                        .validated(id, source, MessageAcceptance::Ignore)
                        .await;
                    return;
                }
            },
        };
        if acceptance == MessageAcceptance::Accept {
            if let Some(budget) = &self.gossip_budget {
                budget
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .refund(source);
            }
            // Only what the market accepted takes room in the replay cache, which makes
            // room by the soonest expiring entry when full: no flood of envelopes the
            // market does not want can fill it against honest traffic.
            if let Some(seen) = &self.seen {
                let forget_after = self.s.context.forget_after(envelope.expires_at());
                let _ = provernet_protocol::lock_seen(seen).record(
                    envelope.id(),
                    forget_after,
                    now_s(),
                );
            }
        } else {
            tracing::debug!(target: "net::gossip", %source, kind = kind.name(), reason, "message refused");
        }
        count(&self.s.metrics, kind.name(), &acceptance, reason);
        self.s.net.validated(id, source, acceptance).await;
    }

    /// Checks a message and, when it passes, acts on it.
    async fn check_gossip(
        &mut self,
        envelope: &VerifiedEnvelope,
        source: PeerId,
    ) -> Result<(), Verdict> {
        let bad = |_| Verdict::Reject("invalid_payload");
        match envelope.kind() {
            MessageKind::JobRequest => {
                let request: JobRequest = envelope.open().map_err(bad)?;
                self.check_heard(envelope, envelope.signer())?;
                self.check_request(envelope, &request, source)?;
                self.admit_request(&request)?;
                self.on_request_seen(envelope, request).await;
            }
            MessageKind::Bid => {
                let bid: Bid = envelope.open().map_err(bad)?;
                let candidate = self.check_bid(envelope, &bid)?;
                self.check_job_quota(&bid.job_id, envelope, OnJob::Bid)?;
                self.on_bid(bid, candidate);
            }
            MessageKind::Award => {
                let award: Award = envelope.open().map_err(bad)?;
                self.check_award(envelope, &award)?;
                self.check_job_quota(&award.job_id, envelope, OnJob::Award)?;
                self.on_award(award).await;
            }
            MessageKind::Acceptance => {
                let acceptance: Acceptance = envelope.open().map_err(bad)?;
                self.check_acceptance(envelope, &acceptance)?;
                self.check_job_quota(&acceptance.job_id, envelope, OnJob::Acceptance)?;
                self.record_acceptance(&acceptance);
                if !self.s.config.client.cheat_drop_gossiped_acceptances {
                    self.on_acceptance(acceptance).await;
                }
            }
            MessageKind::ProverAdvert => {
                let advert: ProverAdvert = envelope.open().map_err(bad)?;
                self.check_staked_signer(&advert.stake_address, envelope)?;
                self.check_signer_budget(envelope)?;
            }
            MessageKind::CommitmentNotice => {
                // The Merkle path to the root is checked when the payload is opened.
                let notice: CommitmentNotice = envelope.open().map_err(bad)?;
                self.check_staked_signer(&notice.prover, envelope)?;
                self.check_signer_budget(envelope)?;
                if let Some(watch) = &self.watch {
                    // A full queue loses a notice; the batch's leaves can still be asked
                    // of its prover.
                    let _ = watch.try_send(super::WatchInput::Notice(Box::new(notice)));
                }
            }
            MessageKind::ChallengeNotice => {
                // Challenges are on chain, and every node learns them from the chain's
                // events: no node publishes or needs this notice, so none is forwarded
                // (any key could otherwise flood the topic with valid ones).
                let _: ChallengeNotice = envelope.open().map_err(bad)?;
                return Err(Verdict::Ignore("not_used"));
            }
            MessageKind::InputRequest
            | MessageKind::InputResponse
            | MessageKind::ProofRequest
            | MessageKind::ProofResponse
            | MessageKind::BatchRequest
            | MessageKind::BatchResponse => return Err(Verdict::Reject("not_a_gossip_kind")),
        }
        Ok(())
    }

    /// A checked acceptance, however it came (gossip, or sent directly by its winner):
    /// kept with its request, and its deadline watched once the award is signed too.
    pub(super) fn record_acceptance(&mut self, acceptance: &Acceptance) {
        if let Some(seen) = self.book.requests.get_mut(&acceptance.job_id) {
            seen.acceptance = Some(acceptance.clone());
        }
        self.watch_if_complete(&acceptance.job_id);
    }

    /// Hands a job's signed award and the winner's acceptance, once both are known (in
    /// either order), to the watchtower (a client's node watches its own jobs' deadlines).
    pub(super) fn watch_if_complete(&self, job_id: &JobId) {
        let Some(watch) = &self.watch else { return };
        let Some(seen) = self.book.requests.get(job_id) else {
            return;
        };
        let (Some(award), Some(acceptance)) = (seen.award.clone(), seen.acceptance.as_ref()) else {
            return;
        };
        if !award.is_signed() {
            return;
        }
        let input = super::WatchInput::Accepted(Box::new(super::watch::Accepted {
            award,
            acceptance: acceptance.clone(),
            client: seen.request.client,
            nonce: seen.request.nonce,
            client_key: seen.client_key,
            circuit_id: seen.request.circuit_id,
            public_inputs_hash: seen.request.public_inputs_hash,
        }));
        if seen.request.client == self.s.address {
            // The client's own round: its watchtower must know it (it decides whether the
            // round may be re-auctioned), however full the queue is with gossip.
            let watch = watch.clone();
            tokio::spawn(async move {
                let _ = watch.send(input).await;
            });
        } else {
            let _ = watch.try_send(input);
        }
    }

    fn check_request(
        &self,
        envelope: &VerifiedEnvelope,
        request: &JobRequest,
        source: PeerId,
    ) -> Result<(), Verdict> {
        let now = now_s();
        if request.proving_deadline <= now {
            return Err(Verdict::Ignore("deadline_passed"));
        }
        // The market's maxDeadline: stake may leave before a longer promise can be
        // challenged, so no prover bids on one (docs/contracts.md).
        if request.proving_deadline > now + self.s.max_deadline_secs.min(MAX_DEADLINE_SECS) {
            return Err(Verdict::Ignore("deadline_too_far"));
        }
        if self
            .book
            .requests
            .get(&request.job_id())
            .is_some_and(|seen| seen.client_key == *envelope.signer() && seen.request == *request)
        {
            // The same request in a new envelope: an honest client publishes each round's
            // request once (a re-auction is a new job id), so there is nothing new to
            // forward and no signature to check again.
            return Err(Verdict::Ignore("duplicate_request"));
        }
        // Whatever the admission rule decides without the signature, before the
        // signature's secp256k1 work (`admission`).
        self.precheck_admission(request, source)?;
        let digest = self.s.domain.request_digest(&eip712::Request {
            job_id: request.job_id().0,
            peer_key: *envelope.signer().as_bytes(),
            circuit_id: request.circuit_id.0,
            input_hash: request.input_hash.0,
            public_inputs_hash: request.public_inputs_hash.0,
            max_price: wei(request.max_price),
            deadline: request.proving_deadline,
        });
        if eip712::recover(digest, &request.client_signature.0) != Some(eth(&request.client)) {
            // Only the client's own key may publish its job ids.
            return Err(Verdict::Reject("bad_request_signature"));
        }
        let changed = self
            .book
            .requests
            .get(&request.job_id())
            .is_some_and(|seen| seen.client_key != *envelope.signer() || seen.request != *request);
        if changed {
            // The client signed two requests for one job id; whoever forwards the second
            // may not have seen the first, so this costs the forwarder nothing: it is
            // charged to the signer, which the client's own signature authorized.
            return Err(Verdict::Charge(
                "request_changed",
                *envelope.signer().as_bytes(),
            ));
        }
        Ok(())
    }

    async fn on_request_seen(&mut self, envelope: &VerifiedEnvelope, request: JobRequest) {
        let id = request.job_id();
        tracing::debug!(target: "market", job = %id, round = request.round, "request seen");
        if self.book.requests.contains_key(&id) {
            return;
        }
        self.book.requests.insert(
            id,
            SeenRequest {
                forget_after: request
                    .proving_deadline
                    .saturating_add(super::REQUEST_MEMORY_SECS),
                client_key: *envelope.signer(),
                request: request.clone(),
                award: None,
                acceptance: None,
                heard: Vec::new(),
            },
        );
        self.learn_from(&request);
        if self.s.config.roles.prover {
            self.consider_bidding(&request, *envelope.signer()).await;
        }
    }

    /// The signer is heard on `client`'s jobs: not over its quota of charges (`rules`).
    fn check_heard(
        &self,
        envelope: &VerifiedEnvelope,
        client: &provernet_protocol::PeerKey,
    ) -> Result<(), Verdict> {
        if self
            .book
            .charges
            .over_quota(envelope.signer(), client, now_s())
        {
            return Err(Verdict::Ignore("signer_over_quota"));
        }
        Ok(())
    }

    /// The signer may have one more message of `kind` accepted on `job` (the rule is
    /// [`within_job_quota`]); if so, it is counted as accepted, since every check of the
    /// message has passed by then.
    fn check_job_quota(
        &mut self,
        job: &JobId,
        envelope: &VerifiedEnvelope,
        kind: OnJob,
    ) -> Result<(), Verdict> {
        let seen = self
            .book
            .requests
            .get_mut(job)
            .ok_or(Verdict::Ignore("unknown_request"))?;
        within_job_quota(&seen.heard, envelope.signer(), seen.client_key, kind)?;
        record_heard(&mut seen.heard, envelope.signer(), kind);
        Ok(())
    }

    /// A staked signer's adverts and notices are held to its budget (`SignerBudgets`):
    /// over it they are ignored, not forwarded; the budget refills with time, and which
    /// copies a node heard first depends on its view, so nobody is charged.
    fn check_signer_budget(&mut self, envelope: &VerifiedEnvelope) -> Result<(), Verdict> {
        if self
            .book
            .signer_budgets
            .admit(envelope.kind(), envelope.signer())
        {
            Ok(())
        } else {
            Err(Verdict::Ignore("signer_budget"))
        }
    }

    /// The signer must be the key `prover` registered, with at least the minimum stake.
    fn check_staked_signer(
        &self,
        prover: &provernet_protocol::Address,
        envelope: &VerifiedEnvelope,
    ) -> Result<super::StakeInfo, Verdict> {
        // Unknown may mean our chain view lags: Ignore, not Reject.
        let stake = self
            .book
            .stake_of(prover)
            .ok_or(Verdict::Ignore("prover_not_registered"))?;
        if stake.peer_key != *envelope.signer().as_bytes() {
            return Err(Verdict::Reject("signer_not_prover_key"));
        }
        // The stake moves (slashes, unbonding, top-ups) and our view of it lags or leads
        // a forwarder's: Ignore.
        if stake.stake < self.s.min_stake {
            return Err(Verdict::Ignore("stake_below_minimum"));
        }
        Ok(stake)
    }

    fn check_bid(
        &self,
        envelope: &VerifiedEnvelope,
        bid: &Bid,
    ) -> Result<provernet_market::auction::Candidate, Verdict> {
        let seen = self
            .book
            .requests
            .get(&bid.job_id)
            .ok_or(Verdict::Ignore("unknown_request"))?;
        if now_s() > seen.request.bid_window_ends {
            return Err(Verdict::Ignore("bid_window_closed"));
        }
        // A bidder has standing to be charged only once it is a registered prover.
        let stake = self.check_staked_signer(&bid.prover, envelope)?;
        self.check_heard(envelope, &seen.client_key)?;
        bid_within_request(&seen.request, seen.client_key, bid)?;
        let digest = self.s.domain.bid_digest(&eip712::Bid {
            job_id: bid.job_id.0,
            price: wei(bid.price),
            deadline: bid.promised_deadline,
        });
        if eip712::recover(digest, &bid.signature.0) != Some(eth(&bid.prover)) {
            return Err(Verdict::Reject("bad_bid_signature"));
        }
        Ok(provernet_market::auction::Candidate {
            prover: bid.prover,
            peer: *envelope.signer(),
            price: bid.price,
            deadline: bid.promised_deadline,
            stake: stake.stake,
        })
    }

    fn check_award(&self, envelope: &VerifiedEnvelope, award: &Award) -> Result<(), Verdict> {
        let seen = self
            .book
            .requests
            .get(&award.job_id)
            .ok_or(Verdict::Ignore("unknown_request"))?;
        self.check_heard(envelope, &seen.client_key)?;
        award_within_request(
            &seen.request,
            seen.client_key,
            seen.award.as_ref(),
            envelope.signer(),
            award,
        )?;
        if !award.is_signed() {
            return self.check_award_winner(award);
        }
        let digest = self.s.domain.award_digest(&award_terms(
            award,
            seen.request.circuit_id,
            seen.request.public_inputs_hash,
        ));
        // The digest binds the statement of the request version this node holds.
        if eip712::recover(digest, &award.signature.0) != Some(eth(&seen.request.client)) {
            return Err(Verdict::Charge(
                "bad_award_signature",
                *seen.client_key.as_bytes(),
            ));
        }
        self.check_award_winner(award)
    }

    /// The award names a registered prover under the key that won.
    fn check_award_winner(&self, award: &Award) -> Result<(), Verdict> {
        let stake = self
            .book
            .stake_of(&award.prover)
            .ok_or(Verdict::Ignore("prover_not_registered"))?;
        if stake.peer_key != *award.prover_key.as_bytes() {
            return Err(Verdict::Reject("award_key_not_prover_key"));
        }
        Ok(())
    }

    pub(super) fn check_acceptance(
        &self,
        envelope: &VerifiedEnvelope,
        acceptance: &Acceptance,
    ) -> Result<(), Verdict> {
        let seen = self
            .book
            .requests
            .get(&acceptance.job_id)
            .ok_or(Verdict::Ignore("unknown_request"))?;
        let award = seen
            .award
            .as_ref()
            .ok_or(Verdict::Ignore("unknown_award"))?;
        self.check_heard(envelope, &seen.client_key)?;
        acceptance_within_award(
            &seen.request,
            seen.client_key,
            award,
            envelope.signer(),
            acceptance,
        )?;
        let digest = self.s.domain.acceptance_digest(&acceptance_terms(
            acceptance,
            eth(&seen.request.client),
            seen.request.circuit_id,
            seen.request.public_inputs_hash,
        ));
        // The digest binds the award and request versions this node holds.
        if eip712::recover(digest, &acceptance.signature.0) != Some(eth(&award.prover)) {
            return Err(Verdict::Charge(
                "bad_acceptance_signature",
                *seen.client_key.as_bytes(),
            ));
        }
        Ok(())
    }
}
