//! Wire types of the provernet protocol, package `provernet.v1`.
//!
//! The `.proto` files under `proto/provernet/v1/` are the source of truth; `build.rs`
//! turns them into Rust with prost-build. Nothing here is validated: a value of these
//! types is whatever bytes a peer sent. The `provernet-protocol` crate converts them into
//! domain types with `TryFrom`, so code past that boundary only sees checked values.
//!
//! - `envelope.proto`: [`v1::Envelope`], the ed25519-signed wrapper of every message,
//!   and [`v1::MessageKind`].
//! - `market.proto`: [`v1::JobRequest`], [`v1::Bid`], [`v1::Award`], [`v1::Acceptance`],
//!   [`v1::ProverAdvert`] (gossip).
//! - `exchange.proto`: [`v1::InputRequest`]/[`v1::InputResponse`] and
//!   [`v1::ProofRequest`]/[`v1::ProofResponse`] (request-response).
//! - `chain.proto`: [`v1::CommitmentNotice`], [`v1::ChallengeNotice`] (gossip).

/// Generated types of package `provernet.v1`.
#[allow(missing_docs, unused_qualifications, clippy::all)]
pub mod v1 {
    include!(concat!(env!("OUT_DIR"), "/provernet.v1.rs"));
}

/// The part of the ONNX model format that `provernet model import` reads
/// (`proto/onnx/model.proto`): a file's bytes decode into [`onnx::ModelProto`].
#[allow(missing_docs, unused_qualifications, clippy::all)]
pub mod onnx {
    include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
}

pub use prost::Message;
