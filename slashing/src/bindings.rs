//! Bindings generated from the committed artifact (`artifacts/ProverMarket.json`).
//!
//! Struct names follow the contract's: [`Leaf`], [`Inclusion`], [`Award`],
//! [`Acceptance`], [`BatchClaim`], [`Params`]. Every custom error is a variant of
//! [`ProverMarketErrors`] and every event one of [`ProverMarketEvents`].
#![allow(missing_docs, clippy::all, clippy::pedantic, unreachable_pub)]

ethers::contract::abigen!(ProverMarket, "artifacts/ProverMarket.json");

/// The committed artifact, for tests that compare it with a fresh compile.
pub const ARTIFACT_JSON: &str = include_str!("../artifacts/ProverMarket.json");
