//! The chain side of provernet: the `ProverMarket` contract seen from Rust.
//!
//! - [`bindings`]: typed bindings generated from `artifacts/ProverMarket.json`, which
//!   [`compile`] produces from `contracts/src` (a test fails while it is stale).
//! - [`eip712`]: the typed data of bids, awards and acceptances, signing and recovery,
//!   byte for byte what the contract hashes.
//! - [`evidence`]: the four kinds of slashing evidence, built from a batch's Merkle tree and
//!   checked locally before anything is sent.
//! - [`Market`]: deploys and drives the contract. Every transaction is first run with
//!   `eth_call`, so a call the contract would refuse costs no gas and comes back as a
//!   typed [`MarketError`]; then it is sent and its receipt awaited.
//! - [`events`]: a follower of the contract's events (commitments, challenges, slashes,
//!   everything else), resumable from any block.
//! - [`anvil`]: the local chain the tests and the testnet run on.
//!
//! The batch Merkle tree lives in `provernet_protocol::merkle`, since provers and
//! watchtowers need it off chain too.

pub mod anvil;
pub mod bindings;
pub mod compile;
pub mod eip712;
pub mod events;
pub mod evidence;
mod market;
pub mod registration;
pub mod txqueue;

pub use market::{ChainError, JobClaim, Market, MarketError, MarketParams, events_of};

/// The name of the contract's `Fault` value, as metrics and reports use it.
pub fn fault_name(fault: u8) -> &'static str {
    match fault {
        1 => "invalid_proof",
        2 => "withheld_proof",
        3 => "missed_deadline",
        4 => "equivocation",
        _ => "unknown",
    }
}
