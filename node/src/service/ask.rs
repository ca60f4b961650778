//! One way to ask a peer for something over request-response, for every role, and one
//! retry policy ([`Retry`]) for what a short task tries more than once (asking peers,
//! delivering proofs, reading the chain; the actors retry their transactions on their
//! ticks).
//!
//! A request is signed afresh for each try (the peer's replay cache refuses a frame it
//! has seen, and a try may have arrived without its answer), the answer's envelope checked
//! (expiry, signature, and its signer when one is expected) and its payload opened as the
//! type asked for. A transport failure (no connection, a timeout) is tried again after
//! [`RETRY_MS`] × the tries so far ([`Retry::peer`]), at least a second, so that each
//! try's envelope differs (its expiry is in whole seconds, and the same bytes would be a
//! replay); an answer that comes and is wrong is not tried again: the same peer would
//! give the same answer.

use std::future::Future;
use std::time::Duration;

use libp2p::PeerId;
use provernet_protocol::{Payload, PeerKey, SignedEnvelope};

use super::{Shared, now_s};

/// The pause before the n-th retry to a peer is n times this, ms.
pub(crate) const RETRY_MS: u64 = 1_000;

/// How many times something is tried, and the pauses between tries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Retry {
    /// Tries in all; one is made at least.
    pub(crate) tries: u32,
    /// The pause before the n-th retry, ms: n times this when `growing`, else this.
    pub(crate) pause_ms: u64,
    pub(crate) growing: bool,
}

/// What a failed try says about the next.
#[derive(Debug)]
pub(crate) enum Try<E> {
    /// Worth trying again (a transport failure, not there yet).
    Again(E),
    /// Trying again would fail the same way.
    Final(E),
}

impl Retry {
    /// One try.
    pub(crate) const ONCE: Self = Self {
        tries: 1,
        pause_ms: 0,
        growing: false,
    };

    /// The chain's RPC: five tries half a second apart.
    pub(crate) const RPC: Self = Self {
        tries: 5,
        pause_ms: 500,
        growing: false,
    };

    /// A peer over request-response: `tries` tries, 1 s, 2 s, … apart (a new envelope
    /// each time, so at least a second apart).
    pub(crate) const fn peer(tries: u32) -> Self {
        Self {
            tries,
            pause_ms: RETRY_MS,
            growing: true,
        }
    }

    /// The pause before retry `n` (1 for the first retry).
    pub(crate) fn pause(self, n: u32) -> Duration {
        let factor = if self.growing { u64::from(n) } else { 1 };
        Duration::from_millis(self.pause_ms.saturating_mul(factor))
    }

    /// Runs `attempt` (given each try's number, from 0) until it succeeds, fails
    /// [finally](Try::Final) or has been tried [`Retry::tries`] times; the last error.
    pub(crate) async fn run<T, E, F, Fut>(self, mut attempt: F) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, Try<E>>>,
    {
        let mut n = 0;
        loop {
            match attempt(n).await {
                Ok(value) => return Ok(value),
                Err(Try::Final(error)) => return Err(error),
                Err(Try::Again(error)) if n + 1 >= self.tries => return Err(error),
                Err(Try::Again(_)) => {}
            }
            n += 1;
            tokio::time::sleep(self.pause(n)).await;
        }
    }
}

/// Asks `peer` with `request` as `retry` says and opens its answer as `R`, signed by
/// `signer` when one is given.
///
/// # Errors
/// In words: the last transport failure, or what is wrong with the answer.
pub(crate) async fn ask<Q: Payload, R: Payload>(
    shared: &Shared,
    peer: PeerId,
    request: &Q,
    signer: Option<&PeerKey>,
    retry: Retry,
) -> Result<R, String> {
    retry
        .run(|_| async move {
            let bytes = send(shared, peer, request).await?;
            open_answer(shared, &bytes, signer).map_err(Try::Final)
        })
        .await
}

/// Sends `message` to `peer` as `retry` says, until the peer takes it; its answer is
/// not read.
///
/// # Errors
/// In words: the last transport failure.
pub(crate) async fn tell<Q: Payload>(
    shared: &Shared,
    peer: PeerId,
    message: &Q,
    retry: Retry,
) -> Result<(), String> {
    retry
        .run(|_| async move { send(shared, peer, message).await.map(drop) })
        .await
}

/// One try: `message` in a fresh envelope, the answer's bytes.
async fn send<Q: Payload>(
    shared: &Shared,
    peer: PeerId,
    message: &Q,
) -> Result<Vec<u8>, Try<String>> {
    let frame = shared
        .envelope(message)
        .ok_or_else(|| Try::Final(String::from("cannot sign the request")))?;
    shared
        .net
        .request(peer, frame)
        .await
        .map_err(|error| Try::Again(error.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the tries `retry` makes of an attempt that fails with `fail` until try
    /// `succeeds_at` (never if `None`), and the time they took.
    fn tries(
        retry: Retry,
        fail: fn(u32) -> Try<u32>,
        succeeds_at: Option<u32>,
    ) -> (Result<u32, u32>, u32, Duration) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let mut made = 0;
        let started = std::time::Instant::now();
        let result = runtime.block_on(retry.run(|n| {
            made += 1;
            async move {
                match succeeds_at {
                    Some(at) if n >= at => Ok(n),
                    _ => Err(fail(n)),
                }
            }
        }));
        (result, made, started.elapsed())
    }

    #[test]
    fn a_retry_tries_as_often_as_it_says_and_no_more() {
        let retry = Retry {
            tries: 3,
            pause_ms: 20,
            growing: true,
        };
        // Failing each time: three tries, pauses of 20 and 40 ms, the last error.
        let (result, made, took) = tries(retry, Try::Again, None);
        assert_eq!((result, made), (Err(2), 3));
        assert!(took >= Duration::from_millis(60), "{took:?}");
        // Succeeding at the second try: two tries, its value.
        assert_eq!(tries(retry, Try::Again, Some(1)).0, Ok(1));
        assert_eq!(tries(retry, Try::Again, Some(1)).1, 2);
        // A final failure is not tried again.
        let (result, made, _) = tries(retry, Try::Final, None);
        assert_eq!((result, made), (Err(0), 1));
        // At least one try, even told none.
        let none = Retry { tries: 0, ..retry };
        assert_eq!(tries(none, Try::Again, None).1, 1);
        assert_eq!(tries(Retry::ONCE, Try::Again, None).1, 1);
    }

    #[test]
    fn pauses_grow_only_when_told() {
        assert_eq!(Retry::peer(3).pause(1), Duration::from_secs(1));
        assert_eq!(Retry::peer(3).pause(3), Duration::from_secs(3));
        assert_eq!(Retry::RPC.pause(1), Duration::from_millis(500));
        assert_eq!(Retry::RPC.pause(4), Duration::from_millis(500));
        let huge = Retry {
            tries: 2,
            pause_ms: u64::MAX,
            growing: true,
        };
        assert_eq!(huge.pause(2), Duration::from_millis(u64::MAX));
    }
}
