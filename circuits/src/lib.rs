//! Halo2 circuits, their keys, and native and EVM verification.
//!
//! Proofs are Halo2 with KZG over BN254 (`halo2-base` / `halo2-axiom`) and SHPLONK
//! multi-opening with a Keccak transcript, so every circuit has an EVM verifier generated
//! by `snark-verifier`.
//!
//! # Data flow
//!
//! ```text
//! witness JSON ─Circuit::parse_witness─▶ Witness (shape and ranges checked)
//!                                          │ Prover::prove (keys built or loaded once)
//!                                          ▼
//!               Proof { circuit_id, public_inputs, proof } ──▶ Prover::verify (native)
//!                                                          └──▶ evm::encode_calldata ─▶ Halo2Verifier (EVM)
//! SrsSource ─▶ Srs (dev: fixed public seed, INSECURE; or a file) ─▶ keys::load_or_build
//!          keys ─evm::solidity_verifier, solc─▶ verifier::load_or_build
//!               └─▶ circuit id = keccak(verifier code hash, public inputs, proof length)
//! ```
//!
//! - [`circuits`]: [`Circuit`] (`poseidon-chain-12`, `poseidon-chain-16`,
//!   `merkle-membership`, and one per imported model's architecture), their JSON witness
//!   formats, layouts and native reference computations. [`model`]: importing an ONNX
//!   model, quantizing it, its package and commitment.
//! - [`srs`]: the dev SRS and real SRS files. [`keys`]: deterministic, cached keys.
//!   [`verifier`]: the compiled EVM verifier and the market's circuit id. [`prover`]: [`Prover`], the API the node calls. [`evm`]: Solidity
//!   verifiers, solc, calldata. [`poseidon`]: the hash used in-circuit and natively.
//!   [`field`]: scalars in bytes and text. [`proof_file`]: the proof JSON of the CLI.
//! - [`job`]: [`job::SubmitRequest`], a proving job as a user submits it, and its checks.

pub mod circuits;
pub mod error;
pub mod evm;
pub mod field;
pub mod job;
pub mod keys;
pub mod lagrange;
pub mod model;
pub mod poseidon;
pub mod proof_file;
pub mod prover;
pub mod ptau;
pub mod srs;
pub mod verifier;

pub use circuits::{Circuit, Witness};

/// Where keys, the dev SRS and compiled verifiers are cached unless told otherwise:
/// `$PROVERNET_CACHE_DIR`, else `~/.cache/provernet/circuits` (shared by the node,
/// `provernet prove` and the testnet), else the working directory's `.provernet-cache`.
pub fn default_cache_dir() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PROVERNET_CACHE_DIR") {
        return dir.into();
    }
    std::env::var_os("HOME").map_or_else(
        || std::path::PathBuf::from(".provernet-cache"),
        |home| std::path::PathBuf::from(home).join(".cache/provernet/circuits"),
    )
}
pub use error::CircuitError;
pub use prover::{Proof, Prover, ProverConfig};
pub use srs::SrsSource;
