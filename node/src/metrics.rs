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
    /// Jobs held in memory (not settled) by role and state.
    pub jobs: Family<JobState, Gauge>,
    /// Jobs settled since start, by role and how: client `paid`, `failed`; prover
    /// `released`, `claimed` (`service::retention`).
    pub settled: Family<JobState, Counter>,
    /// Settled records removed from the disk past their retention (`service::retention`).
    pub removed: Counter,
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
    /// Circuits whose proving time this prover has measured (`service::calibrate`): it
    /// bids on no other.
    pub measured_circuits: Gauge,
    /// Model circuits learned from requests, and requests that taught nothing, by
    /// outcome (`service::learn`).
    pub learned: Family<Kind, Counter>,
}

impl Default for MarketMetrics {
    fn default() -> Self {
        Self {
            jobs: Family::default(),
            settled: Family::default(),
            removed: Counter::default(),
            bids: Family::default(),
            awards: Family::default(),
            reauctions: Family::default(),
            proofs: Family::default(),
            e2e_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            award_seconds: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            prove_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 14)),
            measured_circuits: Gauge::default(),
            learned: Family::default(),
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
    /// This account's transactions in flight (sent, no receipt yet).
    pub in_flight: Gauge,
    /// Replacements sent with raised fees since the node started.
    pub replaced: Gauge,
    /// This account's mined transactions that a reorg took off the chain and the queue
    /// sent again, since the node started.
    pub tx_reorged: Gauge,
    /// Reorgs the follower saw (blocks it had read, replaced).
    pub reorgs: Counter,
    /// The block the follower started reading from at this start.
    pub resumed_at: Gauge,
    /// How long the follower took from its start to the chain's head, ms (0 until then).
    pub catch_up_ms: Gauge,
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

    /// Sets the transaction queue's gauges from what it reports.
    pub fn queue(&self, stats: &provernet_slashing::txqueue::QueueStats) {
        use std::sync::atomic::{AtomicU64, Ordering};
        let count = |n: &AtomicU64| i64::try_from(n.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        self.in_flight.set(count(&stats.in_flight));
        self.replaced.set(count(&stats.replaced));
        self.tx_reorged.set(count(&stats.reorged));
    }
}

/// A challenge's kind and what became of it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChallengeOutcome {
    /// `invalid_proof`, `withheld_proof`, `missed_deadline`, `equivocation`.
    pub kind: String,
    /// `opened`, `slashed`, `answered`, `void`, `false`, `taken`, `window_closed`,
    /// `disagreement`.
    pub outcome: String,
}

/// `provernet_watch_*`: the watchtower's work. Challenge outcomes, rewards and lost bonds
/// are counted from the chain's events naming this node's account as challenger, so after
/// a restart they cover the account's whole history again.
#[derive(Debug, Default)]
pub struct WatchMetrics {
    /// Committed leaves seen (from notices or batch leaves fetched from provers).
    pub jobs_seen: Counter,
    /// Leaves sampled for an audit.
    pub sampled: Counter,
    /// Audits by result: `valid`, `invalid`, `unavailable`, `undecided`.
    pub audits: Family<Kind, Counter>,
    /// Challenges by kind and outcome.
    pub challenges: Family<ChallengeOutcome, Counter>,
    /// Rewards credited to this account by slashes it caused, gwei.
    pub rewards_gwei: Counter,
    /// Bonds this account lost to provers (answered or false challenges), gwei.
    pub bonds_lost_gwei: Counter,
    /// Batches whose leaves were asked of their prover: `served`, `refused`.
    pub batch_fetches: Family<Kind, Counter>,
    /// Where audited proofs came from: `prover`, `client`, `provider` (a DHT provider).
    pub proof_sources: Family<Kind, Counter>,
}

/// `provernet_held_*`: the size of what a node holds, so a long run can say what grows.
#[derive(Debug, Default)]
pub struct HeldMetrics {
    /// Entries of each in-memory structure that peers or the chain fill, by structure.
    pub entries: Family<Kind, Gauge>,
    /// The store's memory, bytes, by kind (memtables, block cache, table readers), and its
    /// live table files (`kind="table_files"`, a count).
    pub store: Family<Kind, Gauge>,
}

impl HeldMetrics {
    /// Sets the entries of `what` to `n`.
    pub fn entries(&self, what: &str, n: usize) {
        set(&self.entries, what, u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Sets the store's `what` to `n`.
    pub fn store(&self, what: &str, n: u64) {
        set(&self.store, what, n);
    }
}

/// Sets gauge `what` of `family` to `n` (saturated at the gauge's range).
fn set(family: &Family<Kind, Gauge>, what: &str, n: u64) {
    family
        .get_or_create(&kind(what))
        .set(i64::try_from(n).unwrap_or(i64::MAX));
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
    /// `provernet_watch_*`.
    pub watch: WatchMetrics,
    /// `provernet_held_*`.
    pub held: HeldMetrics,
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
        market.register(
            "jobs",
            "Jobs held (not settled) by role and state",
            self.market.jobs.clone(),
        );
        market.register(
            "jobs_settled",
            "Jobs settled since start, by role and how",
            self.market.settled.clone(),
        );
        market.register(
            "records_removed",
            "Settled records removed from the disk past their retention",
            self.market.removed.clone(),
        );
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
        market.register(
            "measured_circuits",
            "Circuits whose proving time this prover has measured (it bids on no other)",
            self.market.measured_circuits.clone(),
        );
        market.register(
            "learned",
            "Model circuits learned from requests, and attempts that taught nothing, by outcome",
            self.market.learned.clone(),
        );
        let chain = registry.sub_registry_with_prefix("chain");
        chain.register("gas", "Gas used by kind", self.chain.gas.clone());
        chain.register(
            "transactions",
            "Transactions by kind and outcome",
            self.chain.transactions.clone(),
        );
        chain.register("head", "Chain head block", self.chain.head.clone());
        chain.register(
            "in_flight",
            "Transactions of this account sent and not mined",
            self.chain.in_flight.clone(),
        );
        chain.register(
            "replaced",
            "Transactions sent again with raised fees since start",
            self.chain.replaced.clone(),
        );
        chain.register(
            "tx_reorged",
            "Mined transactions of this account a reorg removed, sent again, since start",
            self.chain.tx_reorged.clone(),
        );
        chain.register(
            "reorgs",
            "Reorgs of blocks the follower had read",
            self.chain.reorgs.clone(),
        );
        chain.register(
            "resumed_at",
            "The block the follower started from at this start",
            self.chain.resumed_at.clone(),
        );
        chain.register(
            "catch_up_ms",
            "From start to the chain's head, ms",
            self.chain.catch_up_ms.clone(),
        );
        let watch = registry.sub_registry_with_prefix("watch");
        watch.register(
            "jobs_seen",
            "Committed jobs seen",
            self.watch.jobs_seen.clone(),
        );
        watch.register("sampled", "Jobs sampled", self.watch.sampled.clone());
        watch.register(
            "audits",
            "Audits of sampled jobs by result",
            self.watch.audits.clone(),
        );
        watch.register(
            "challenges",
            "Challenges by kind and outcome",
            self.watch.challenges.clone(),
        );
        watch.register(
            "rewards_gwei",
            "Slash rewards earned, gwei",
            self.watch.rewards_gwei.clone(),
        );
        watch.register(
            "bonds_lost_gwei",
            "Challenge bonds lost to provers, gwei",
            self.watch.bonds_lost_gwei.clone(),
        );
        watch.register(
            "batch_fetches",
            "Batch leaves asked of provers, by result",
            self.watch.batch_fetches.clone(),
        );
        watch.register(
            "proof_sources",
            "Where audited proofs came from",
            self.watch.proof_sources.clone(),
        );
        let held = registry.sub_registry_with_prefix("held");
        held.register(
            "entries",
            "Entries held in memory, by structure",
            self.held.entries.clone(),
        );
        held.register(
            "store",
            "The store's memory in bytes by kind, and its live table files",
            self.held.store.clone(),
        );
        registry
    }

    /// The registry in the text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every series the Grafana dashboard (`deploy/grafana/provernet.json`) queries, in
    /// its panels, nested panels and variables, is one the node exports, with the suffix
    /// its type gives it (`_total` on a counter, `_bucket`/`_sum`/`_count` on a histogram,
    /// none on a gauge): a renamed metric cannot leave a panel empty unnoticed.
    #[test]
    fn the_dashboard_queries_only_series_the_node_exports() {
        let dashboard: serde_json::Value =
            serde_json::from_str(include_str!("../../deploy/grafana/provernet.json"))
                .expect("the dashboard is JSON");
        // A family is encoded once it has a label set: one each, as a running node has.
        let metrics = Metrics::default();
        let one = kind("x");
        let job = JobState {
            role: "client".into(),
            state: "waiting".into(),
        };
        metrics
            .net
            .validation
            .get_or_create(&Validation {
                kind: "bid".into(),
                result: "accept".into(),
                reason: "ok".into(),
            })
            .inc();
        metrics.market.jobs.get_or_create(&job).set(1);
        metrics.market.settled.get_or_create(&job).inc();
        metrics
            .watch
            .challenges
            .get_or_create(&ChallengeOutcome {
                kind: "invalid_proof".into(),
                outcome: "opened".into(),
            })
            .inc();
        for family in [
            &metrics.net.penalties,
            &metrics.market.bids,
            &metrics.market.awards,
            &metrics.market.reauctions,
            &metrics.market.proofs,
            &metrics.market.learned,
            &metrics.chain.gas,
            &metrics.chain.transactions,
            &metrics.watch.audits,
            &metrics.watch.batch_fetches,
            &metrics.watch.proof_sources,
        ] {
            family.get_or_create(&one).inc();
        }
        metrics.held.entries("x", 1);
        metrics.held.store("x", 1);
        let exported = metrics.encode();
        let types: std::collections::HashMap<&str, &str> = exported
            .lines()
            .filter_map(|line| line.strip_prefix("# TYPE "))
            .filter_map(|rest| rest.split_once(' '))
            .collect();
        let series_exists = |name: &str| {
            let typed = |family: &str, kind: &str| types.get(family) == Some(&kind);
            typed(name, "gauge")
                || name
                    .strip_suffix("_total")
                    .is_some_and(|f| typed(f, "counter"))
                || ["_bucket", "_sum", "_count"].iter().any(|suffix| {
                    name.strip_suffix(suffix)
                        .is_some_and(|f| typed(f, "histogram"))
                })
        };
        let mut queries: Vec<&str> = Vec::new();
        let mut panels: Vec<&serde_json::Value> = vec![&dashboard];
        while let Some(panel) = panels.pop() {
            panels.extend(panel["panels"].as_array().into_iter().flatten());
            for target in panel["targets"].as_array().into_iter().flatten() {
                queries.push(target["expr"].as_str().expect("a query"));
            }
        }
        for variable in dashboard["templating"]["list"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if variable["type"] == "query" {
                queries.push(variable["query"].as_str().expect("a query"));
            }
        }
        let mut names = 0;
        for query in &queries {
            let mut rest = *query;
            while let Some(at) = rest.find("provernet_") {
                let name: String = rest[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                rest = &rest[at + name.len()..];
                assert!(
                    series_exists(&name),
                    "the dashboard queries {name}, which the node does not export: {query}"
                );
                names += 1;
            }
        }
        assert!(
            names >= 30 && queries.len() >= 30,
            "{names} names in {} queries",
            queries.len()
        );
        // The check itself: a series the node does not export, or one with the wrong
        // suffix for its type, is caught.
        for wrong in [
            "provernet_net_peers_total",
            "provernet_market_bids",
            "provernet_market_e2e_seconds",
            "provernet_no_such_metric",
        ] {
            assert!(!series_exists(wrong), "{wrong}");
        }
    }
}
