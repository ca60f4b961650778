//! The local multi-node testnet (issue "Local testnet").
//!
//! Owned here: starting anvil on 127.0.0.1, deploying the contracts and verifiers,
//! funding and staking accounts, starting provers, watchtowers and clients as separate
//! processes with their own data dirs and configs, driving a workload, injecting faults,
//! showing progress, writing the report, and tearing everything down.
//!
//! Nothing is implemented yet.
