//! Integration tests of the `provernet` binary.

mod cli;
mod proving;
