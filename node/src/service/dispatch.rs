//! The dispatcher between the network task and the core: gossip checked in batches off
//! the runtime, requests passed on.

use super::*;
use crate::network::scoring::PeerAction;

/// The last characters of a peer id: enough to tell nodes apart in logs.
pub(super) fn short_peer(peer: &PeerId) -> String {
    let text = peer.to_string();
    text[text.len().saturating_sub(6)..].to_owned()
}

/// Most gossip messages verified in one batch.
const VERIFY_BATCH: usize = 64;

/// Takes network events: gossip envelopes are checked in batches off the runtime (size,
/// expiry, replay, signatures); failures are reported to gossipsub here, and what passes
/// goes to the core. Requests go to the core as they are. A peer delivering gossip beyond
/// its budget (`budget`) has the excess ignored before any signature work, so no single
/// connection can take the verifiers from the others.
#[allow(clippy::too_many_arguments)]
pub(super) async fn dispatch(
    mut events: mpsc::Receiver<network::Event>,
    net: NetworkHandle,
    validator: Validator,
    budget: Arc<std::sync::Mutex<network::budget::InboundBudget>>,
    core: mpsc::Sender<Internal>,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let mut validator = Some(validator);
    let limits = budget
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .limits();
    let mut overflow = network::budget::Overflow::new(limits, std::time::Instant::now());
    loop {
        let first = tokio::select! {
            () = shutdown.cancelled() => return,
            event = events.recv() => match event { Some(e) => e, None => return },
        };
        let mut gossip = Vec::new();
        let mut pending = Some(first);
        while let Some(event) = pending.take() {
            match event {
                network::Event::Gossip { id, source, data } => {
                    let now = std::time::Instant::now();
                    let admitted = budget
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .admit(source, data.len(), now);
                    if admitted {
                        gossip.push((id, source, data));
                    } else {
                        if overflow.dropped(source, now) {
                            metrics
                                .net
                                .penalties
                                .get_or_create(&crate::metrics::kind(PeerAction::OverBudget.name()))
                                .inc();
                            net.penalize(source, PeerAction::OverBudget).await;
                        }
                        gossip::count(
                            &metrics,
                            "envelope",
                            &MessageAcceptance::Ignore,
                            "peer_budget",
                        );
                        net.validated(id, source, MessageAcceptance::Ignore).await;
                    }
                }
                network::Event::Request {
                    peer,
                    data,
                    channel,
                } => {
                    if core
                        .try_send(Internal::Request {
                            peer,
                            data,
                            channel,
                        })
                        .is_err()
                    {
                        tracing::debug!(target: "net::exchange", %peer, "core busy: request dropped");
                    }
                }
            }
            if gossip.len() < VERIFY_BATCH {
                pending = events.try_recv().ok();
            }
        }
        if gossip.is_empty() {
            continue;
        }
        let Some(mut owned) = validator.take() else {
            return;
        };
        let now = now_s();
        let joined = tokio::task::spawn_blocking(move || {
            let frames: Vec<&[u8]> = gossip.iter().map(|(_, _, d)| d.as_slice()).collect();
            let results = owned.validate_batch(&frames, now);
            let out: Vec<_> = gossip
                .into_iter()
                .zip(results)
                .map(|((id, source, _), result)| (id, source, result))
                .collect();
            (owned, out)
        })
        .await;
        let (owned, results) = match joined {
            Ok(done) => done,
            // A panic in the checks is the supervisor's to report, with its message.
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            Err(_) => return,
        };
        validator = Some(owned);
        let mut verified = Vec::new();
        for (id, source, result) in results {
            match result {
                Ok(envelope) => verified.push((id, source, envelope)),
                Err(error) => {
                    let acceptance = if error.is_sender_fault() {
                        MessageAcceptance::Reject
                    } else {
                        MessageAcceptance::Ignore
                    };
                    gossip::count(&metrics, "envelope", &acceptance, error.reason());
                    tracing::debug!(target: "net::gossip", %source, %error, "envelope refused");
                    net.validated(id, source, acceptance).await;
                }
            }
        }
        if verified.is_empty() {
            continue;
        }
        if let Err(mpsc::error::TrySendError::Full(Internal::Gossip(batch))) =
            core.try_send(Internal::Gossip(verified))
        {
            for (id, source, envelope) in batch {
                gossip::count(
                    &metrics,
                    envelope.kind().name(),
                    &MessageAcceptance::Ignore,
                    "queue_full",
                );
                net.validated(id, source, MessageAcceptance::Ignore).await;
            }
        }
    }
}
