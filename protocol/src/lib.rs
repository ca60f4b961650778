//! The provernet protocol: domain messages, their validation, and the signed envelope.
//!
//! This crate is what every role agrees on. It never touches the network, the chain or
//! storage; the node calls it to turn bytes from a peer into checked values.
//!
//! # Data flow
//!
//! ```text
//! bytes ──SignedEnvelope::decode──▶ SignedEnvelope ──verify / verify_batch──▶ VerifiedEnvelope
//!         (size, version, chain,       (bounds checked)    (ed25519, batched)        │
//!          kind, key, expiry)                                                        │
//!                                              Validator: replay check (SeenCache) ◀─┘
//!                                                                                    │
//!                                  VerifiedEnvelope::open::<Bid>() ──▶ Bid (rules checked)
//! ```
//!
//! - [`envelope`]: [`SignedEnvelope`], [`VerifiedEnvelope`], [`EnvelopeError`] and the
//!   domain-separated bytes the ed25519 signature covers.
//! - [`messages`]: one domain type per wire message ([`JobRequest`], [`Bid`], [`Award`],
//!   [`Acceptance`], [`InputRequest`], [`InputResponse`], [`ProofRequest`],
//!   [`ProofResponse`], [`BatchRequest`], [`BatchResponse`], [`CommitmentNotice`],
//!   [`ChallengeNotice`], [`ProverAdvert`]),
//!   each converted from `provernet_proto::v1` with `TryFrom` and back with `From`.
//! - [`kind`]: [`MessageKind`] and the size bounds per kind.
//! - [`replay`]: [`SeenCache`], the bounded replay cache.
//! - [`validator`]: [`Validator`], the inbound pipeline in the right order.
//! - [`frame`]: [`frame::LengthPrefix`], the length prefix of request-response frames.
//! - [`merkle`]: batch trees in OpenZeppelin `MerkleProof` form, used by commitment
//!   notices and, later, by provers building batches.
//!
//! Every rejection is its own error variant and says whether the sending peer is at
//! fault ([`EnvelopeError::is_sender_fault`]); how much that costs the peer is the
//! node's scoring policy, not this crate's.
//!
//! Domain fields are public so the node can build messages; a value that arrived from
//! the network has passed [`Payload::check`], and [`SignedEnvelope::sign`] runs the same
//! check, so this node never signs what its peers would reject.

pub mod ed25519;
pub mod envelope;
pub mod frame;
pub mod kind;
pub mod merkle;
pub mod messages;
pub mod primitives;
pub mod replay;
pub mod validator;

pub use envelope::{
    Context, EnvelopeError, PROTOCOL_VERSION, SignedEnvelope, VerifiedEnvelope, verify_batch,
};
pub use kind::MessageKind;
pub use messages::{
    Acceptance, Award, BatchRequest, BatchResponse, Bid, ChallengeKind, ChallengeNotice,
    CommitmentNotice, InputRequest, InputResponse, JobLeaf, JobRequest, MAX_CIRCUIT_NAME, Payload,
    PayloadError, ProofBody, ProofRequest, ProofResponse, ProverAdvert, Refusal, Response,
    job_id_of,
};
pub use primitives::{
    Address, CircuitId, EthSignature, FieldBytes, Hash32, JobId, MessageId, PeerKey, Wei, keccak256,
};
pub use replay::SeenCache;
pub use validator::{SharedSeen, Validator, lock_seen};
