//! Prometheus metrics, one struct per subsystem, all in one registry served at `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A label with one value.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    /// The value.
    pub kind: String,
}

/// A validation result.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Validation {
    /// Message kind.
    pub kind: String,
    /// accept, ignore or reject.
    pub result: String,
    /// Why (the error's metrics label, or "ok").
    pub reason: String,
}

/// A job state.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobState {
    /// client or prover.
    pub role: String,
    /// The state's name.
    pub state: String,
}

/// Network metrics.
#[derive(Debug, Default)]
pub struct NetMetrics {
    /// Connected peers.
    pub peers: Gauge,
    /// Gossip and request-response validation results.
    pub validation: Family<Validation, Counter>,
    /// Penalties reported outside gossip.
    pub penalties: Family<Kind, Counter>,
}

/// Market metrics.
#[derive(Debug)]
pub struct MarketMetrics {
    /// Jobs by role and state.
    pub jobs: Family<JobState, Gauge>,
    /// Bids sent (prover) and received (client).
    pub bids: Family<Kind, Counter>,
    /// Awards made (client) and won (prover).
    pub awards: Family<Kind, Counter>,
    /// Re-auctions by cause.
    pub reauctions: Family<Kind, Counter>,
    /// Proofs generated, delivered, verified, by outcome.
    pub proofs: Family<Kind, Counter>,
    /// Seconds from request to verified proof at the client.
    pub e2e_seconds: Histogram,
    /// Seconds from request to award.
    pub award_seconds: Histogram,
    /// Seconds spent proving.
    pub prove_seconds: Histogram,
}

impl Default for MarketMetrics {
    fn default() -> Self {
        Self {
            jobs: Family::default(),
            bids: Family::default(),
            awards: Family::default(),
            reauctions: Family::default(),
            proofs: Family::default(),
            e2e_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            award_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            prove_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
        }
    }
}

/// Chain metrics.
#[derive(Debug, Default)]
pub struct ChainMetrics {
    /// Gas used by this node's transactions, by kind.
    pub gas: Family<Kind, Counter>,
    /// Transactions by kind and outcome.
    pub transactions: Family<Kind, Counter>,
    /// The chain head seen.
    pub head: Gauge,
}

impl ChainMetrics {
    /// Counts a mined transaction of `kind` and the gas it used.
    pub fn mined(&self, kind: &str, gas: u64) {
        let label = Kind {
            kind: kind.to_owned(),
        };
        self.gas.get_or_create(&label).inc_by(gas);
        self.transactions.get_or_create(&label).inc();
    }
}

/// Every metric of the node.
#[derive(Debug, Default)]
pub struct Metrics {
    /// `provernet_net_*`.
    pub net: NetMetrics,
    /// `provernet_market_*`.
    pub market: MarketMetrics,
    /// `provernet_chain_*`.
    pub chain: ChainMetrics,
}

/// A label set with one value.
pub fn kind(value: &str) -> Kind {
    Kind {
        kind: value.to_owned(),
    }
}

impl Metrics {
    /// Registers everything in a new registry.
    pub fn registry(&self) -> Registry {
        let mut registry = Registry::with_prefix("provernet");
        let net = registry.sub_registry_with_prefix("net");
        net.register("peers", "Connected peers", self.net.peers.clone());
        net.register(
            "validation",
            "Messages by kind and validation result",
            self.net.validation.clone(),
        );
        net.register(
            "penalties",
            "Penalties by action",
            self.net.penalties.clone(),
        );
        let market = registry.sub_registry_with_prefix("market");
        market.register("jobs", "Jobs by role and state", self.market.jobs.clone());
        market.register("bids", "Bids sent or received", self.market.bids.clone());
        market.register("awards", "Awards made or won", self.market.awards.clone());
        market.register(
            "reauctions",
            "Re-auctions by cause",
            self.market.reauctions.clone(),
        );
        market.register("proofs", "Proofs by outcome", self.market.proofs.clone());
        market.register(
            "e2e_seconds",
            "Request to verified proof at the client",
            self.market.e2e_seconds.clone(),
        );
        market.register(
            "award_seconds",
            "Request to award at the client",
            self.market.award_seconds.clone(),
        );
        market.register(
            "prove_seconds",
            "Proving time",
            self.market.prove_seconds.clone(),
        );
        let chain = registry.sub_registry_with_prefix("chain");
        chain.register("gas", "Gas used by kind", self.chain.gas.clone());
        chain.register(
            "transactions",
            "Transactions by kind and outcome",
            self.chain.transactions.clone(),
        );
        chain.register("head", "Chain head block", self.chain.head.clone());
        registry
    }

    /// The registry in the text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry());
        out
    }
}
