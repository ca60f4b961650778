//! The slashing crate against a real anvil: artifacts, EIP-712 encodings, every slashing
//! path with real Halo2 proofs, and the event follower.

mod artifact;
mod chain;
mod slashing;
mod support;
mod txqueue;
