//! One way to ask a peer for something over request-response, for every role: the
//! request signed afresh for each try (the peer's replay cache refuses a frame it has
//! seen, and a try may have arrived without its answer), the answer's envelope checked
//! (expiry, signature, and its signer when one is expected) and its payload opened as the
//! type asked for. A transport failure (no connection, a timeout) is tried again after
//! [`RETRY_MS`] × the tries so far, at least a second, so that each try's envelope differs
//! (its expiry is in whole seconds, and the same bytes would be a replay); an answer that
//! comes and is wrong is not tried again: the same peer would give the same answer.

use libp2p::PeerId;
use provernet_protocol::{Payload, PeerKey, SignedEnvelope};

use super::{Shared, now_s};

/// The pause before the n-th retry is n times this, ms.
pub(crate) const RETRY_MS: u64 = 1_000;

/// Asks `peer` with `request` at most `tries` times and opens its answer as `R`, signed
/// by `signer` when one is given.
///
/// # Errors
/// In words: the last transport failure, or what is wrong with the answer.
pub(crate) async fn ask<Q: Payload, R: Payload>(
    shared: &Shared,
    peer: PeerId,
    request: &Q,
    signer: Option<&PeerKey>,
    tries: u32,
) -> Result<R, String> {
    let mut last = String::from("not asked");
    for attempt in 0..tries {
        if attempt > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(
                RETRY_MS * u64::from(attempt),
            ))
            .await;
        }
        let frame = shared
            .envelope(request)
            .ok_or_else(|| String::from("cannot sign the request"))?;
        match shared.net.request(peer, frame).await {
            Ok(bytes) => return open_answer(shared, &bytes, signer),
            Err(error) => last = error.to_string(),
        }
    }
    Err(last)
}

/// An answer's envelope checked and its payload opened.
fn open_answer<R: Payload>(
    shared: &Shared,
    bytes: &[u8],
    signer: Option<&PeerKey>,
) -> Result<R, String> {
    let envelope = SignedEnvelope::decode(bytes, &shared.context, now_s())
        .and_then(SignedEnvelope::verify)
        .map_err(|e| e.to_string())?;
    if let Some(key) = signer {
        envelope.expect_signer(key).map_err(|e| e.to_string())?;
    }
    envelope.open().map_err(|e| e.to_string())
}
