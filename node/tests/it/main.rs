//! Integration tests of the `provernet` binary and the node.

mod admission;
mod api;
mod capacity;
mod cli;
mod false_challenge;
mod faults;
mod flood;
mod follow;
mod funds;
mod learn;
mod market;
mod operator;
mod pricing;
mod proving;
mod push;
mod register;
mod registry;
mod retention;
mod rounds;
mod scoring;
mod signers;
mod split;
mod support;
mod testnet;
mod validation;
mod watch;
