//! The provernet node: wires the protocol, market, slashing and circuits crates to
//! libp2p, RocksDB, the chain and an HTTP API.
//!
//! - [`config`]: the TOML configuration and its checks.
//! - [`identity`]: the ed25519 identity (created on first start) and the Ethereum key.
//! - [`network`]: the libp2p task (gossipsub, kademlia, identify, request-response,
//!   connection limits) behind a [`network::NetworkHandle`]; [`network::scoring`] says
//!   what misbehaviour costs.
//! - [`network_file`]: the network file (`--network`) and the checks it makes at start.
//! - [`store`]: the state a restart needs, in RocksDB (or memory for tests).
//! - [`service`]: the node itself: the core actor, the client and prover roles, and the
//!   watchtower actor.
//! - [`economics`]: whether cheating pays (`provernet economics`).
//! - [`ops`]: the operator commands' chain side (`provernet stake|deposit|credits|market`).
//! - [`api`]: the HTTP JSON API and `/metrics`; [`metrics`]: what is measured.
//!
//! Data flow: gossip → `network` → envelope checks (batched, off the runtime) → the core's
//! market rules (stake, EIP-712, request bounds) → client or prover logic → store →
//! actions (gossip, request-response, proving pool, chain worker).

pub mod api;
pub mod config;
pub mod economics;
pub mod identity;
pub mod metrics;
pub mod network;
pub mod network_file;
pub mod ops;
pub mod service;
pub mod store;
