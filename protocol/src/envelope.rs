//! The ed25519-signed envelope every message travels in.
//!
//! A message goes through three types, each proof of what was checked:
//!
//! 1. [`SignedEnvelope::decode`]: the bytes are no larger than any envelope may be, decode,
//!    speak this protocol version, are for this chain, name a known kind, carry a payload
//!    within that kind's size limit, a valid signer key and a 64-byte signature, and
//!    are neither expired nor dated too far ahead. Cheap; safe on the network task.
//! 2. [`SignedEnvelope::verify`] or [`verify_batch`] → [`VerifiedEnvelope`]: the signature
//!    holds. CPU-bound; run it off the network task.
//! 3. [`VerifiedEnvelope::open`]: the payload decodes into the domain message of its kind
//!    and passes that message's rules.
//!
//! Replay protection sits between 2 and 3 in [`crate::Validator`], which keys a bounded
//! [`crate::SeenCache`] by [`MessageId`].
//!
//! The signature covers `TAG ‖ version ‖ chain_id ‖ kind ‖ expires_at ‖ signer ‖
//! len(payload) ‖ payload`, integers big-endian (u32, u64, u32, u64, -, u32). Every field
//! but the payload has a fixed length, so the encoding is unambiguous, and the payload is
//! signed exactly as sent: the receiver never re-encodes anything.

use ed25519_dalek::{Signature, Signer, SigningKey};
use prost::Message as _;
use provernet_proto::v1;

use crate::ed25519;
use crate::kind::MessageKind;
use crate::messages::{Payload, PayloadError};
use crate::primitives::{MessageId, PeerKey, keccak256};

/// The protocol version this crate speaks. 2: requests announce the statement, awards
/// are gossiped as a selection then signed, and one ed25519 rule (ZIP-215) decides every
/// signature; a version-1 node would judge these messages differently, so it is refused.
pub const PROTOCOL_VERSION: u32 = 2;

/// Domain separation tag: no other protocol signs bytes starting with it.
const SIGNING_TAG: &[u8; 22] = b"provernet/envelope/v1\0";
/// Length of the signed bytes before the payload.
const HEADER_LEN: usize = SIGNING_TAG.len() + 4 + 8 + 4 + 8 + 32 + 4;

/// What a node checks envelopes against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    /// The chain id of the market (EIP-155).
    pub chain_id: u64,
    /// The furthest ahead an expiry may lie, in seconds.
    pub max_ttl_secs: u64,
    /// How far apart two honest clocks may be, in seconds. An envelope stays acceptable
    /// this long past its expiry, and may be dated this much further ahead.
    pub clock_skew_secs: u64,
}

impl Context {
    /// Default furthest expiry: 10 minutes.
    pub const DEFAULT_MAX_TTL_SECS: u64 = 600;
    /// Default clock skew tolerance: 30 seconds.
    pub const DEFAULT_CLOCK_SKEW_SECS: u64 = 30;

    /// A context for `chain_id` with the default bounds.
    pub fn new(chain_id: u64) -> Self {
        Self {
            chain_id,
            max_ttl_secs: Self::DEFAULT_MAX_TTL_SECS,
            clock_skew_secs: Self::DEFAULT_CLOCK_SKEW_SECS,
        }
    }

    /// The time after which a replay cache may forget an envelope expiring at `expires_at`:
    /// past it, the envelope is refused as expired anyway.
    pub fn forget_after(&self, expires_at: u64) -> u64 {
        expires_at.saturating_add(self.clock_skew_secs)
    }
}

/// Why an envelope was refused. [`EnvelopeError::is_sender_fault`] tells whether the
/// peer that sent it should be penalized (gossipsub Reject) or not (Ignore).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Larger than any envelope may be. Sender's fault.
    #[error("envelope of {len} bytes exceeds the maximum of {max}")]
    Oversized {
        /// Bytes received.
        len: usize,
        /// The bound.
        max: usize,
    },
    /// Not a protobuf envelope (truncated, garbage). Sender's fault.
    #[error("envelope does not decode: {0}")]
    Malformed(prost::DecodeError),
    /// Another protocol version. Sender's fault: versions use their own topics.
    #[error("protocol version {got} is not supported (this node speaks {PROTOCOL_VERSION})")]
    UnsupportedVersion {
        /// The version in the envelope.
        got: u32,
    },
    /// For another chain. Sender's fault.
    #[error("envelope is for chain {got}, this market is on chain {expected}")]
    WrongChain {
        /// This node's chain.
        expected: u64,
        /// The envelope's chain.
        got: u64,
    },
    /// An unspecified or unknown message kind. Sender's fault.
    #[error("unknown message kind {0}")]
    UnknownKind(i32),
    /// The payload is larger than its kind allows. Sender's fault.
    #[error("{kind} payload of {len} bytes exceeds its maximum of {max}")]
    PayloadTooLarge {
        /// The kind.
        kind: MessageKind,
        /// Bytes received.
        len: usize,
        /// The kind's bound.
        max: usize,
    },
    /// The signer is not a valid, non-weak ed25519 public key. Sender's fault.
    #[error("signer is not a valid ed25519 public key")]
    InvalidSignerKey,
    /// The signature is not 64 bytes. Sender's fault.
    #[error("signature must be 64 bytes, got {len}")]
    MalformedSignature {
        /// Bytes received.
        len: usize,
    },
    /// Past its expiry. Not the sender's fault: gossip can be slow.
    #[error("envelope expired at {expires_at}, now is {now}")]
    Expired {
        /// The envelope's expiry.
        expires_at: u64,
        /// This node's time.
        now: u64,
    },
    /// Expires further ahead than allowed, which would make it replayable for too long.
    /// Sender's fault.
    #[error("envelope expires at {expires_at}, later than the allowed {max}")]
    ExpiryTooFar {
        /// The envelope's expiry.
        expires_at: u64,
        /// The latest allowed now.
        max: u64,
    },
    /// The signature does not verify. Sender's fault.
    #[error("signature does not verify")]
    BadSignature,
    /// Signed by a key other than the one this exchange requires. Sender's fault.
    #[error("envelope signed by {got}, expected {expected}")]
    WrongSigner {
        /// The key that had to sign.
        expected: Box<PeerKey>,
        /// The key that signed.
        got: Box<PeerKey>,
    },
    /// Already seen. Not the sender's fault: a peer may forward what another already
    /// delivered.
    #[error("envelope {id} was already seen")]
    Replayed {
        /// Its id.
        id: MessageId,
    },
    /// The replay cache is full of unexpired entries, so the envelope cannot be checked
    /// for replay and is dropped. Not the sender's fault: this node is overloaded.
    #[error("replay cache is full ({capacity} unexpired entries); dropping the envelope")]
    SeenCacheFull {
        /// The cache's capacity.
        capacity: usize,
    },
    /// The payload was opened as another kind than it is. Sender's fault when it comes
    /// from a topic or protocol that carries one kind only.
    #[error("expected a {expected} envelope, got {got}")]
    KindMismatch {
        /// The kind asked for.
        expected: MessageKind,
        /// The kind carried.
        got: MessageKind,
    },
    /// The payload is not a valid message of its kind. Sender's fault.
    #[error("invalid {kind} payload: {error}")]
    Payload {
        /// The kind.
        kind: MessageKind,
        /// What is wrong with it.
        error: PayloadError,
    },
}

impl EnvelopeError {
    /// Whether the peer that sent the envelope is at fault (Reject and penalize) or not
    /// (Ignore). Expiry, in either direction, is judged by this node's clock, which a
    /// forwarder's may differ from: neither is the sender's fault.
    pub fn is_sender_fault(&self) -> bool {
        !matches!(
            self,
            Self::Expired { .. }
                | Self::ExpiryTooFar { .. }
                | Self::Replayed { .. }
                | Self::SeenCacheFull { .. }
        )
    }

    /// A stable label for metrics and logs.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Oversized { .. } => "oversized",
            Self::Malformed(_) => "malformed",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::WrongChain { .. } => "wrong_chain",
            Self::UnknownKind(_) => "unknown_kind",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::InvalidSignerKey => "invalid_signer_key",
            Self::MalformedSignature { .. } => "malformed_signature",
            Self::Expired { .. } => "expired",
            Self::ExpiryTooFar { .. } => "expiry_too_far",
            Self::BadSignature => "bad_signature",
            Self::WrongSigner { .. } => "wrong_signer",
            Self::Replayed { .. } => "replayed",
            Self::SeenCacheFull { .. } => "seen_cache_full",
            Self::KindMismatch { .. } => "kind_mismatch",
            Self::Payload { .. } => "invalid_payload",
        }
    }
}

/// An envelope whose structure, bounds and times were checked, but not yet its signature.
#[derive(Clone, Debug)]
pub struct SignedEnvelope {
    kind: MessageKind,
    chain_id: u64,
    expires_at: u64,
    signer: PeerKey,
    signature: Signature,
    /// `HEADER ‖ payload`: what the signature covers. The payload is not kept twice.
    signed_bytes: Vec<u8>,
    id: MessageId,
}

impl SignedEnvelope {
    /// Signs `payload` for `context.chain_id`, valid until `expires_at`. Refuses a payload
    /// that fails its own kind's rules: peers would reject it.
    pub fn sign<P: Payload>(
        payload: &P,
        context: &Context,
        expires_at: u64,
        key: &SigningKey,
    ) -> Result<Self, PayloadError> {
        payload.check()?;
        let encoded = payload.encode_to_vec();
        let max = P::KIND.max_payload_len();
        if encoded.len() > max {
            return Err(PayloadError::TooLong {
                field: "payload",
                max,
                got: encoded.len(),
            });
        }
        Ok(Self::sign_unchecked(
            P::KIND,
            &encoded,
            context,
            expires_at,
            key,
        ))
    }

    /// Signs raw payload bytes as `kind` without checking them. For tools and tests that
    /// must produce envelopes peers will reject; nodes use [`SignedEnvelope::sign`].
    pub fn sign_unchecked(
        kind: MessageKind,
        payload: &[u8],
        context: &Context,
        expires_at: u64,
        key: &SigningKey,
    ) -> Self {
        let signer = PeerKey::from(key.verifying_key());
        let signed_bytes = signed_bytes(kind, context.chain_id, expires_at, &signer, payload);
        let signature = key.sign(&signed_bytes);
        let id = MessageId(keccak256(&signed_bytes));
        Self {
            kind,
            chain_id: context.chain_id,
            expires_at,
            signer,
            signature,
            signed_bytes,
            id,
        }
    }

    /// Decodes `bytes` and checks everything but the signature, at time `now` (unix seconds).
    pub fn decode(bytes: &[u8], context: &Context, now: u64) -> Result<Self, EnvelopeError> {
        Self::decode_with(bytes, context, now, PeerKey::from_bytes)
    }

    /// As [`SignedEnvelope::decode`], with the signer's key parsed by `parse_key`, which
    /// must accept exactly what [`PeerKey::from_bytes`] accepts (a cache of keys already
    /// parsed saves the point decompression).
    pub fn decode_with(
        bytes: &[u8],
        context: &Context,
        now: u64,
        parse_key: impl FnOnce(&[u8; 32]) -> Option<PeerKey>,
    ) -> Result<Self, EnvelopeError> {
        let max = MessageKind::max_envelope_len();
        if bytes.len() > max {
            return Err(EnvelopeError::Oversized {
                len: bytes.len(),
                max,
            });
        }
        let wire = v1::Envelope::decode(bytes).map_err(EnvelopeError::Malformed)?;
        if wire.version != PROTOCOL_VERSION {
            return Err(EnvelopeError::UnsupportedVersion { got: wire.version });
        }
        if wire.chain_id != context.chain_id {
            return Err(EnvelopeError::WrongChain {
                expected: context.chain_id,
                got: wire.chain_id,
            });
        }
        let kind =
            MessageKind::from_wire(wire.kind).ok_or(EnvelopeError::UnknownKind(wire.kind))?;
        if wire.payload.len() > kind.max_payload_len() {
            return Err(EnvelopeError::PayloadTooLarge {
                kind,
                len: wire.payload.len(),
                max: kind.max_payload_len(),
            });
        }
        let signer = <&[u8; 32]>::try_from(wire.signer.as_slice())
            .ok()
            .and_then(parse_key)
            .ok_or(EnvelopeError::InvalidSignerKey)?;
        let signature = <&[u8; 64]>::try_from(wire.signature.as_slice())
            .map(Signature::from_bytes)
            .map_err(|_| EnvelopeError::MalformedSignature {
                len: wire.signature.len(),
            })?;
        if now > context.forget_after(wire.expires_at) {
            return Err(EnvelopeError::Expired {
                expires_at: wire.expires_at,
                now,
            });
        }
        let latest = now
            .saturating_add(context.max_ttl_secs)
            .saturating_add(context.clock_skew_secs);
        if wire.expires_at > latest {
            return Err(EnvelopeError::ExpiryTooFar {
                expires_at: wire.expires_at,
                max: latest,
            });
        }
        let signed_bytes =
            signed_bytes(kind, wire.chain_id, wire.expires_at, &signer, &wire.payload);
        let id = MessageId(keccak256(&signed_bytes));
        Ok(Self {
            kind,
            chain_id: wire.chain_id,
            expires_at: wire.expires_at,
            signer,
            signature,
            signed_bytes,
            id,
        })
    }

    /// Checks the signature, by the one rule every path uses ([`crate::ed25519`]).
    pub fn verify(self) -> Result<VerifiedEnvelope, EnvelopeError> {
        if !ed25519::verify(
            self.signer.verifying_key(),
            &self.signed_bytes,
            &self.signature,
        ) {
            return Err(EnvelopeError::BadSignature);
        }
        Ok(VerifiedEnvelope(self))
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        v1::Envelope {
            version: PROTOCOL_VERSION,
            chain_id: self.chain_id,
            kind: self.kind.to_wire().into(),
            expires_at: self.expires_at,
            signer: self.signer.as_bytes().to_vec(),
            payload: self.payload().to_vec(),
            signature: self.signature.to_bytes().to_vec(),
        }
        .encode_to_vec()
    }

    /// The id: keccak256 of the signed bytes.
    pub fn id(&self) -> MessageId {
        self.id
    }

    /// The kind.
    pub fn kind(&self) -> MessageKind {
        self.kind
    }

    /// The claimed signer.
    pub fn signer(&self) -> &PeerKey {
        &self.signer
    }

    /// Expiry, unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// The bytes the signature covers: header, signer and payload.
    pub fn signed_bytes(&self) -> &[u8] {
        &self.signed_bytes
    }

    /// The payload bytes, exactly as signed.
    pub fn payload(&self) -> &[u8] {
        &self.signed_bytes[HEADER_LEN..]
    }
}

/// Verifies many envelopes at once with one batch equation. When the batch fails as a
/// whole, each envelope is verified alone, so one bad signature costs only its own
/// envelope. Results are in input order, and each is what [`SignedEnvelope::verify`] says
/// of that envelope: both use the same rule ([`crate::ed25519`]).
pub fn verify_batch(
    envelopes: Vec<SignedEnvelope>,
) -> Vec<Result<VerifiedEnvelope, EnvelopeError>> {
    if envelopes.len() < 2 {
        return envelopes.into_iter().map(SignedEnvelope::verify).collect();
    }
    let items: Vec<ed25519::Item<'_>> = envelopes
        .iter()
        .map(|e| {
            (
                e.signer.verifying_key(),
                e.signed_bytes.as_slice(),
                &e.signature,
            )
        })
        .collect();
    if ed25519::verify_all(&items) {
        envelopes
            .into_iter()
            .map(|e| Ok(VerifiedEnvelope(e)))
            .collect()
    } else {
        envelopes.into_iter().map(SignedEnvelope::verify).collect()
    }
}

/// An envelope whose signature verified. Only [`SignedEnvelope::verify`] and
/// [`verify_batch`] make one.
#[derive(Clone, Debug)]
pub struct VerifiedEnvelope(SignedEnvelope);

impl VerifiedEnvelope {
    /// Decodes and validates the payload as `P`.
    pub fn open<P: Payload>(&self) -> Result<P, EnvelopeError> {
        if self.0.kind != P::KIND {
            return Err(EnvelopeError::KindMismatch {
                expected: P::KIND,
                got: self.0.kind,
            });
        }
        P::decode(self.0.payload()).map_err(|error| EnvelopeError::Payload {
            kind: P::KIND,
            error,
        })
    }

    /// Fails unless `expected` signed it: for exchanges with a known counterpart.
    pub fn expect_signer(&self, expected: &PeerKey) -> Result<(), EnvelopeError> {
        if self.0.signer == *expected {
            Ok(())
        } else {
            Err(EnvelopeError::WrongSigner {
                expected: Box::new(*expected),
                got: Box::new(self.0.signer),
            })
        }
    }

    /// The checked envelope underneath.
    pub fn envelope(&self) -> &SignedEnvelope {
        &self.0
    }

    /// The id.
    pub fn id(&self) -> MessageId {
        self.0.id
    }

    /// The kind.
    pub fn kind(&self) -> MessageKind {
        self.0.kind
    }

    /// The verified signer.
    pub fn signer(&self) -> &PeerKey {
        &self.0.signer
    }

    /// Expiry, unix seconds.
    pub fn expires_at(&self) -> u64 {
        self.0.expires_at
    }
}

/// `TAG ‖ version ‖ chain_id ‖ kind ‖ expires_at ‖ signer ‖ len(payload) ‖ payload`.
fn signed_bytes(
    kind: MessageKind,
    chain_id: u64,
    expires_at: u64,
    signer: &PeerKey,
    payload: &[u8],
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(HEADER_LEN + payload.len());
    bytes.extend_from_slice(SIGNING_TAG);
    bytes.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    bytes.extend_from_slice(&chain_id.to_be_bytes());
    bytes.extend_from_slice(&(kind.to_wire() as u32).to_be_bytes());
    bytes.extend_from_slice(&expires_at.to_be_bytes());
    bytes.extend_from_slice(signer.as_bytes());
    // Payloads are bounded far below 4 GiB by `max_payload_len`.
    bytes.extend_from_slice(
        &u32::try_from(payload.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    bytes.extend_from_slice(payload);
    bytes
}
