//! Integration tests of the circuits crate: one module per topic.

mod anvil;
mod fixtures;
mod keys;
mod model;
mod prove;
mod ptau;
mod support;
