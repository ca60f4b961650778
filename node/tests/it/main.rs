//! Integration tests of the `provernet` binary and the node.

mod api;
mod cli;
mod faults;
mod market;
mod proving;
mod support;
mod testnet;
mod validation;
mod watch;
