//! The dispatcher between the network task and the core: gossip checked in batches off
//! the runtime; requests checked one by one (signature, expiry, replay) and opened as the
//! request their kind names, so the core takes only typed, signed requests ([`Inbound`]).

use provernet_protocol::{
    Acceptance, BatchRequest, InputRequest, MessageKind, ProofRequest, ProofResponse,
    VerifiedEnvelope,
};

use super::*;
use crate::network::scoring::PeerAction;

/// A peer's request over request-response, its envelope checked and opened.
pub(crate) struct Inbound {
    pub(super) peer: PeerId,
    /// The checked envelope: its signer is who asks.
    pub(super) envelope: VerifiedEnvelope,
    pub(super) request: Asked,
    /// Where the answer goes.
    pub(super) channel: ResponseChannel<Vec<u8>>,
}

/// What a peer may ask over request-response.
pub(crate) enum Asked {
    /// A winner asks its client for the job's inputs.
    Input(InputRequest),
    /// Anyone asks for a job's proof.
    Proof(ProofRequest),
    /// A watchtower asks a prover for a batch's leaves.
    Batch(BatchRequest),
    /// A winner sends its acceptance to the client directly.
    Acceptance(Acceptance),
    /// A winner pushes its proof to the client.
    Push(ProofResponse),
}

impl Asked {
    /// The request `envelope`'s kind names; `None` for a kind that is no request, or a
    /// payload that does not decode as its kind.
    fn open(envelope: &VerifiedEnvelope) -> Option<Self> {
        Some(match envelope.kind() {
            MessageKind::InputRequest => Self::Input(envelope.open().ok()?),
            MessageKind::ProofRequest => Self::Proof(envelope.open().ok()?),
            MessageKind::BatchRequest => Self::Batch(envelope.open().ok()?),
            MessageKind::Acceptance => Self::Acceptance(envelope.open().ok()?),
            MessageKind::ProofResponse => Self::Push(envelope.open().ok()?),
            _ => return None,
        })
    }
}

/// Scores `peer` down for `action`, and counts it.
pub(super) async fn penalize(
    net: &NetworkHandle,
    metrics: &Metrics,
    peer: PeerId,
    action: PeerAction,
) {
    metrics
        .net
        .penalties
        .get_or_create(&crate::metrics::kind(action.name()))
        .inc();
    net.penalize(peer, action).await;
}

/// A request's envelope checked and opened; what is wrong counted, and its sender scored
/// down when the fault is its own (a bad signature, a payload of no request's kind), not
/// when it may be the network's (expired, replayed).
async fn check_request(
    requests: &mut Validator,
    net: &NetworkHandle,
    metrics: &Metrics,
    peer: PeerId,
    data: &[u8],
) -> Option<(VerifiedEnvelope, Asked)> {
    let envelope = match requests.validate(data, now_s()) {
        Ok(envelope) => envelope,
        Err(error) => {
            let acceptance = if error.is_sender_fault() {
                MessageAcceptance::Reject
            } else {
                MessageAcceptance::Ignore
            };
            gossip::count(metrics, "exchange", &acceptance, error.reason());
            if error.is_sender_fault() {
                penalize(net, metrics, peer, PeerAction::MalformedExchange).await;
            }
            return None;
        }
    };
    match Asked::open(&envelope) {
        Some(asked) => Some((envelope, asked)),
        None => {
            penalize(net, metrics, peer, PeerAction::MalformedExchange).await;
            None
        }
    }
}

/// The last characters of a peer id: enough to tell nodes apart in logs.
pub(super) fn short_peer(peer: &PeerId) -> String {
    let text = peer.to_string();
    text[text.len().saturating_sub(6)..].to_owned()
}

/// Most gossip messages verified in one batch.
const VERIFY_BATCH: usize = 64;

/// Takes network events: gossip envelopes are checked in batches off the runtime (size,
/// expiry, replay, signatures); failures are reported to gossipsub here, and what passes
/// goes to the core. Requests are checked with `requests` (a replay cache of their own)
/// and go to the core typed. A peer delivering gossip beyond
/// its budget (`budget`) has the excess ignored before any signature work, so no single
/// connection can take the verifiers from the others.
#[allow(clippy::too_many_arguments)]
pub(super) async fn dispatch(
    mut events: mpsc::Receiver<network::Event>,
    net: NetworkHandle,
    validator: Validator,
    mut requests: Validator,
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
                            penalize(&net, &metrics, source, PeerAction::OverBudget).await;
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
                    if let Some((envelope, request)) =
                        check_request(&mut requests, &net, &metrics, peer, &data).await
                    {
                        let inbound = Inbound {
                            peer,
                            envelope,
                            request,
                            channel,
                        };
                        if core.try_send(Internal::Request(Box::new(inbound))).is_err() {
                            tracing::debug!(target: "net::exchange", %peer, "core busy: request dropped");
                        }
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

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;
    use provernet_protocol::{Context, JobId, SignedEnvelope};

    use super::*;

    const FAR: u64 = 4_000_000_000;

    fn checked(envelope: SignedEnvelope) -> VerifiedEnvelope {
        envelope.verify().expect("signed")
    }

    /// The core sees only requests: a gossip kind sent as a request, or a request kind
    /// whose payload does not decode, never reaches it (the dispatcher scores the sender).
    #[test]
    fn only_a_request_kind_with_its_payload_is_a_request() {
        let (context, key) = (Context::new(31_337), SigningKey::from_bytes(&[7; 32]));
        let request = ProofRequest {
            job_id: JobId([3; 32]),
        };
        let signed = SignedEnvelope::sign(&request, &context, FAR, &key).expect("valid");
        let Some(Asked::Proof(opened)) = Asked::open(&checked(signed)) else {
            panic!("a proof request");
        };
        assert_eq!(opened.job_id, request.job_id);
        let gossip =
            SignedEnvelope::sign_unchecked(MessageKind::JobRequest, &[], &context, FAR, &key);
        assert!(Asked::open(&checked(gossip)).is_none(), "a gossip kind");
        let garbled = SignedEnvelope::sign_unchecked(
            MessageKind::InputRequest,
            &[0xff; 7],
            &context,
            FAR,
            &key,
        );
        assert!(
            Asked::open(&checked(garbled)).is_none(),
            "an undecodable payload"
        );
    }
}
