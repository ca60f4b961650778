//! A winner's proof on its way to the client: pushed once the award is signed, with the
//! outcome recorded, so the client has it before the leaf is committed.

use std::sync::Arc;

use provernet_protocol::{JobId, PeerKey, ProofBody, ProofResponse, Response};

use super::{Core, Internal};
use crate::config::CheatMode;
use crate::identity::peer_id_of;
use crate::metrics::kind;
use crate::store::WriteBatch;

impl Core {
    pub(super) fn deliver(&self, id: JobId) {
        if self.s.cheats(&id, CheatMode::Withhold) || self.s.cheats(&id, CheatMode::SkipAcceptance)
        {
            return;
        }
        if self.s.cheats(&id, CheatMode::SkipDelivery) {
            self.s.record_cheat(&id, CheatMode::SkipDelivery);
            return;
        }
        let Some(work) = self.prover.works.get(&id) else {
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
            let ok = super::ask::tell(&shared, peer, &delivery, super::ask::Retry::peer(5))
                .await
                .is_ok();
            let _ = internal.send(Internal::Delivered { job: id, ok }).await;
        });
    }

    pub(super) fn on_delivered(&mut self, id: JobId, ok: bool) {
        let Some(work) = self.prover.works.get_mut(&id) else {
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
}
