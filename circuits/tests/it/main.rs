//! Integration tests of the circuits crate: one module per topic.

mod anvil;
mod keys;
mod prove;
mod support;
