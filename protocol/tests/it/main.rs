//! Integration tests of the protocol crate: one module per topic.

mod envelope;
mod fixtures;
mod fuzz;
mod limits;
mod payload;
mod roundtrip;
mod support;
