//! The whole inbound check of an envelope, in the order that wastes least work.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::envelope::{Context, EnvelopeError, SignedEnvelope, VerifiedEnvelope, verify_batch};
use crate::primitives::PeerKey;
use crate::replay::SeenCache;

/// How many signer keys the validator keeps decompressed. A market has a few hundred
/// active signers; past this many the cache starts over.
pub const KEYS_KEPT: usize = 4_096;

/// A replay cache shared between the validator (which looks envelopes up before their
/// signature check) and whoever decides which envelopes are accepted and records them.
pub type SharedSeen = Arc<Mutex<SeenCache>>;

/// Locks a shared replay cache (a panic while it was held left it consistent: every
/// operation on it is a few map updates).
pub fn lock_seen(seen: &SharedSeen) -> MutexGuard<'_, SeenCache> {
    seen.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Decodes, bounds-checks, verifies and deduplicates inbound envelopes.
///
/// The order is: decode and bounds (cheap), replay lookup (cheap: a replay costs no
/// signature check), signature, then — for [`Validator::validate`] — replay insertion,
/// only after the signature holds, so a forged envelope cannot claim the id of a genuine
/// one. [`Validator::validate_batch`] records nothing: the caller records, in
/// [`Validator::seen`], the envelopes it accepts, so envelopes that no rule accepts never
/// take room in the cache. Opening the payload is left to the caller
/// ([`VerifiedEnvelope::open`]), which knows the kind it expects.
#[derive(Debug)]
pub struct Validator {
    context: Context,
    seen: SharedSeen,
    /// Keys that signed a valid envelope, by their bytes (kept after verification): a
    /// point decompression costs about a third of a signature check, and signers repeat.
    keys: HashMap<[u8; 32], PeerKey>,
}

impl Validator {
    /// A validator for `context` whose replay cache holds `seen_capacity` ids.
    pub fn new(context: Context, seen_capacity: usize) -> Self {
        Self {
            context,
            seen: Arc::new(Mutex::new(SeenCache::new(seen_capacity))),
            keys: HashMap::new(),
        }
    }

    /// The replay cache, for the caller to record what it accepts.
    pub fn seen(&self) -> SharedSeen {
        Arc::clone(&self.seen)
    }

    /// How many signer keys are kept decompressed (each signed a valid envelope).
    pub fn keys_kept(&self) -> usize {
        self.keys.len()
    }

    /// The context envelopes are checked against.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Checks one envelope at time `now` (unix seconds) and records it as seen. A full
    /// cache makes room by forgetting the soonest expiring envelope, never by refusing
    /// this one: no peer can fill it against honest traffic (a forgotten envelope could be
    /// replayed, which the callers' budgets and idempotent handling bound).
    pub fn validate(&mut self, bytes: &[u8], now: u64) -> Result<VerifiedEnvelope, EnvelopeError> {
        let envelope = self.precheck(bytes, now)?;
        let verified = envelope.verify()?;
        self.remember(&verified, now)?;
        Ok(verified)
    }

    /// Checks many envelopes at time `now`, verifying their signatures as one batch, and
    /// refuses those already recorded as seen; records none (the caller records what it
    /// accepts: a copy of an envelope within one batch passes here and is the caller's
    /// replay). Results are in input order.
    pub fn validate_batch(
        &mut self,
        messages: &[&[u8]],
        now: u64,
    ) -> Vec<Result<VerifiedEnvelope, EnvelopeError>> {
        let prechecked: Vec<_> = messages
            .iter()
            .map(|bytes| self.precheck(bytes, now))
            .collect();
        let mut slots = Vec::with_capacity(messages.len());
        let mut to_verify = Vec::new();
        for result in prechecked {
            match result {
                Ok(envelope) => {
                    slots.push(None);
                    to_verify.push(envelope);
                }
                Err(error) => slots.push(Some(Err(error))),
            }
        }
        let mut verified = verify_batch(to_verify).into_iter();
        slots
            .into_iter()
            .map(|slot| match slot {
                Some(error) => error,
                None => verified
                    .next()
                    .unwrap_or(Err(EnvelopeError::BadSignature))
                    .inspect(|envelope| self.keep_key(envelope)),
            })
            .collect()
    }

    fn precheck(&self, bytes: &[u8], now: u64) -> Result<SignedEnvelope, EnvelopeError> {
        let envelope = SignedEnvelope::decode_with(bytes, &self.context, now, |raw| {
            self.keys
                .get(raw)
                .copied()
                .or_else(|| PeerKey::from_bytes(raw))
        })?;
        if lock_seen(&self.seen).contains(&envelope.id()) {
            return Err(EnvelopeError::Replayed { id: envelope.id() });
        }
        Ok(envelope)
    }

    /// Records a verified envelope's id, and keeps its signer's key.
    fn remember(&mut self, envelope: &VerifiedEnvelope, now: u64) -> Result<(), EnvelopeError> {
        self.keep_key(envelope);
        let forget_after = self.context.forget_after(envelope.expires_at());
        lock_seen(&self.seen).record(envelope.id(), forget_after, now)
    }

    /// Keeps a verified envelope's signer's key: only keys that signed something valid
    /// are kept, so junk signatures cannot churn the cache.
    fn keep_key(&mut self, envelope: &VerifiedEnvelope) {
        let signer = *envelope.signer();
        if !self.keys.contains_key(signer.as_bytes()) {
            if self.keys.len() >= KEYS_KEPT {
                self.keys.clear();
            }
            self.keys.insert(*signer.as_bytes(), signer);
        }
    }
}
