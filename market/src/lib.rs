//! The market: what a client and a prover do with a job, as pure state machines.
//!
//! Owned here (issue "Node"): the client's auction (collect valid bids for the bid window,
//! award the lowest price — ties broken by earlier promised deadline, then larger stake,
//! then lowest peer id — and re-auction with a raised maximum when no bid arrives, the
//! winner does not accept in time, or misses its deadline) and the prover's side (bid by
//! a price policy, never take more jobs than it can prove by their deadlines, accept only
//! after the fetched inputs match the request's hash, batch leaves and commit by size or
//! time). It consumes checked messages from `provernet-protocol` and emits the actions
//! the node carries out; it performs no I/O itself.
//!
//! Nothing is implemented yet: this crate exists so the dependency arrows
//! `protocol ← market ← node` are in place from the start.
