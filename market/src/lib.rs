//! The market's decisions, as pure functions and small state machines.
//!
//! The node (crate `provernet-node`) carries out I/O — gossip, request-response, the
//! chain, storage — and asks this crate what to do:
//!
//! - [`auction`]: the client's choice of winner among valid bids (lowest price; ties by
//!   earlier promised deadline, then larger stake, then lowest peer key) and the raised
//!   maximum price of a re-auction.
//! - [`pricing`]: the prover's price policy (the node works out the deadline it
//!   promises from [`schedule`]).
//! - [`schedule`]: the prover's commitments: it never takes a job it cannot prove by its
//!   deadline given the jobs it already holds.
//! - [`batch`]: the prover's open batch of leaves, sealed by size or by age.
//! - [`funds`]: whether the client's free deposit pays for a job and the prover's stake
//!   covers one more leaf at risk.
//!
//! ```text
//! JobRequest ──funds + pricing::quote + schedule::admit──▶ Bid    (prover)
//! Bids ────────auction::choose──────────────────▶ Award           (client)
//! no bid ──auction::raised_price──▶ next round at a higher maximum
//! no acceptance / missed deadline ──▶ next round at the same maximum
//! proven leaf ─batch::Batcher::push──▶ sealed batch ─▶ commitBatch  (prover)
//! ```
//!
//! Times are unix milliseconds unless a name says seconds; amounts are wei.

pub mod auction;
pub mod batch;
pub mod funds;
pub mod pricing;
pub mod schedule;
