//! The winner's acceptance, sent straight to its client while the award stays unsigned.
//!
//! The acceptance and the signed award it earns are gossiped once each. Either can be
//! lost (a drop, the client down or restarting when the acceptance went out): the client
//! then re-auctions a round its winner accepted (`no_acceptance`), or the winner holds a
//! proof it can never claim. So a prover whose award is still unsigned
//! [`RESEND_AFTER_MS`] after accepting sends its signed acceptance to the client over
//! request-response, then again after twice as long each time (at most 96 s apart), at
//! most [`RESENDS`] times and until [`RESEND_HORIZON_MS`] past the deadline (a signed
//! award that turns up after the job was committed unsigned still lets the prover claim
//! it, even after a watchtower's plain challenge was answered); the client treats it as the gossiped one (the same checks, the same
//! rule: it signs only while the round is current) and answers with the round's signed
//! award, which the prover checks against the request's statement before taking it.
//! What is still lost after that (the client down for longer) is paid through the chain:
//! the proof committed unsigned, the client's node buys it with a withheld-proof challenge
//! showing its award (`watch/audit.rs`), and the reveal pays the prover the price.

use std::sync::Arc;

use provernet_protocol::{Award, JobId};
use provernet_slashing::eip712;

use super::{Core, Internal, award_terms, eth};
use crate::config::CheatMode;
use crate::identity::peer_id_of;
use crate::store::WorkState;

/// How long after accepting (and between tries) the acceptance goes to the client
/// directly, ms: well within the client's default acceptance timeout (5 s).
pub const RESEND_AFTER_MS: u64 = 1_500;
/// Most tries per job.
pub const RESENDS: u32 = 20;
/// How long after the deadline the tries go on, ms.
pub const RESEND_HORIZON_MS: u64 = 3_600_000;

impl Core {
    /// Starts the resends of `id`'s acceptance if its award is still unsigned (called when
    /// the prover accepts, and for every job after a restart): the tick then looks at
    /// these jobs only, not at every job the node holds.
    pub(super) fn expect_signed_award(&mut self, id: JobId, now: u64) {
        if self.awaits_signed_award(&id, now) {
            self.prover
                .resends
                .entry(id)
                .or_insert((now + RESEND_AFTER_MS, 0));
        }
    }

    /// Whether `id` was accepted, its award is still unsigned, and its resends are not
    /// over (by count or by time).
    fn awaits_signed_award(&self, id: &JobId, now: u64) -> bool {
        self.prover.works.get(id).is_some_and(|w| {
            matches!(
                w.state,
                WorkState::Accepted | WorkState::Proven | WorkState::Batched
            ) && !w.award.0.is_signed()
                && w.acceptance.is_some()
                && now < w.award.0.deadline.saturating_mul(1_000) + RESEND_HORIZON_MS
        })
    }

    /// Sends the acceptances due (see the module); forgets jobs no longer waiting.
    pub(super) fn resend_acceptances(&mut self, now: u64) {
        let due: Vec<(JobId, u32)> = self
            .prover
            .resends
            .iter()
            .filter(|(_, (next, _))| now >= *next)
            .map(|(id, (_, sent))| (*id, *sent))
            .collect();
        for (id, sent) in due {
            if !self.awaits_signed_award(&id, now) || sent >= RESENDS {
                self.prover.resends.remove(&id);
                continue;
            }
            let backoff = RESEND_AFTER_MS << sent.min(6);
            self.prover.resends.insert(id, (now + backoff, sent + 1));
            if self.s.cheats(&id, CheatMode::SkipAcceptance) {
                continue;
            }
            self.send_acceptance(id);
        }
    }

    fn send_acceptance(&self, id: JobId) {
        let Some(work) = self.prover.works.get(&id) else {
            return;
        };
        let Some(acceptance) = work.acceptance.as_ref().map(|a| a.0.clone()) else {
            return;
        };
        let Some(client) = provernet_protocol::PeerKey::from_bytes(&work.client_key.0) else {
            return;
        };
        let Some(peer) = peer_id_of(&client) else {
            return;
        };
        let shared = Arc::clone(&self.s);
        let internal = self.internal.clone();
        tokio::spawn(async move {
            // One try: the resends are the retries.
            if let Ok(award) = super::ask::ask::<_, Award>(
                &shared,
                peer,
                &acceptance,
                Some(&client),
                super::ask::Retry::ONCE,
            )
            .await
            {
                let _ = internal.send(Internal::AwardByExchange(award)).await;
            }
        });
    }

    /// The client's answer to an acceptance sent to it directly: taken when it is the
    /// client's EIP-712 signature of this prover's award of the request's statement.
    pub(super) async fn take_award_by_exchange(&mut self, award: Award) {
        let Some(work) = self.prover.works.get(&award.job_id) else {
            return;
        };
        if !award.is_signed() || award.selection() != work.award.0.selection() {
            return;
        }
        let request = &work.request.0;
        let digest = self.s.domain.award_digest(&award_terms(
            &award,
            request.circuit_id,
            request.public_inputs_hash,
        ));
        if eip712::recover(digest, &award.signature.0) != Some(eth(&request.client)) {
            tracing::warn!(target: "market::prover", job = %award.job_id, "the client answered the acceptance with a bad award signature");
            return;
        }
        tracing::info!(target: "market::prover", job = %award.job_id, "signed award received from the client directly");
        self.prover.resends.remove(&award.job_id);
        self.take_signed_award(&award).await;
    }
}
