//! The whole inbound check of an envelope, in the order that wastes least work.

use std::collections::HashMap;

use crate::envelope::{Context, EnvelopeError, SignedEnvelope, VerifiedEnvelope, verify_batch};
use crate::primitives::PeerKey;
use crate::replay::SeenCache;

/// How many signer keys the validator keeps decompressed. A market has a few hundred
/// active signers; past this many the cache starts over.
pub const KEYS_KEPT: usize = 4_096;

/// Decodes, bounds-checks, verifies and deduplicates inbound envelopes.
///
/// The order is: decode and bounds (cheap), replay lookup (cheap: a replay costs no
/// signature check), signature, then replay insertion — only after the signature holds,
/// so a forged envelope cannot claim the id of a genuine one. Opening the payload is
/// left to the caller ([`VerifiedEnvelope::open`]), which knows the kind it expects.
#[derive(Debug)]
pub struct Validator {
    context: Context,
    seen: SeenCache,
    /// Signer keys already decompressed and checked, by their bytes: decompressing a
    /// point costs about a third of a signature check, and signers repeat.
    keys: HashMap<[u8; 32], PeerKey>,
}

impl Validator {
    /// A validator for `context` whose replay cache holds `seen_capacity` ids.
    pub fn new(context: Context, seen_capacity: usize) -> Self {
        Self {
            context,
            seen: SeenCache::new(seen_capacity),
            keys: HashMap::new(),
        }
    }

    /// The context envelopes are checked against.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Checks one envelope at time `now` (unix seconds).
    pub fn validate(&mut self, bytes: &[u8], now: u64) -> Result<VerifiedEnvelope, EnvelopeError> {
        let envelope = self.precheck(bytes, now)?;
        let verified = envelope.verify()?;
        self.remember(&verified, now)?;
        Ok(verified)
    }

    /// Checks many envelopes at time `now`, verifying their signatures as one batch.
    /// Results are in input order; a duplicate within the batch is a replay of the first.
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
                    .and_then(|envelope| self.remember(&envelope, now).map(|()| envelope)),
            })
            .collect()
    }

    fn precheck(&mut self, bytes: &[u8], now: u64) -> Result<SignedEnvelope, EnvelopeError> {
        let keys = &mut self.keys;
        let envelope = SignedEnvelope::decode_with(bytes, &self.context, now, |raw| {
            if let Some(key) = keys.get(raw) {
                return Some(*key);
            }
            let key = PeerKey::from_bytes(raw)?;
            if keys.len() >= KEYS_KEPT {
                keys.clear();
            }
            keys.insert(*raw, key);
            Some(key)
        })?;
        if self.seen.contains(&envelope.id()) {
            return Err(EnvelopeError::Replayed { id: envelope.id() });
        }
        Ok(envelope)
    }

    fn remember(&mut self, envelope: &VerifiedEnvelope, now: u64) -> Result<(), EnvelopeError> {
        let forget_after = self.context.forget_after(envelope.expires_at());
        self.seen.insert(envelope.id(), forget_after, now)
    }
}
