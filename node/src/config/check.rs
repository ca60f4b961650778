//! [`NodeConfig::check`]: every field a node needs, the first bad one named.

use super::{
    ANSWER_MARGIN_SECS, CHEAT_REFUSED, ConfigError, DEV_API_REFUSED, MAX_CLIENT_MODELS, NodeConfig,
    field,
};

impl NodeConfig {
    /// Checks every field a node needs; the error names the first bad one.
    ///
    /// # Errors
    /// [`ConfigError::Field`].
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.data_dir.as_os_str().is_empty() {
            return Err(field(
                "data_dir",
                "must be set (flag --data-dir or `data_dir = \"…\"`)",
            ));
        }
        if !(self.roles.prover || self.roles.client || self.roles.watchtower || self.roles.relay) {
            return Err(field(
                "roles",
                "no role chosen: set roles.prover, roles.client, roles.watchtower or roles.relay (or --prover, --client, --watchtower, --relay)",
            ));
        }
        if self.listen_addrs()?.is_empty() {
            return Err(field("network.listen", "at least one address is needed"));
        }
        if let Some(network) = &self.joined {
            network
                .check_market(self.market_address()?)
                .map_err(|reason| field("chain.market", reason))?;
        }
        self.bootstrap_addrs()?;
        self.known_circuits()?;
        if self.network.max_connections == 0 {
            return Err(field("network.max_connections", "must be above 0"));
        }
        if self.network.event_queue == 0 {
            return Err(field("network.event_queue", "must be above 0"));
        }
        if self.network.request_capacity < 16 {
            return Err(field("network.request_capacity", "must be at least 16"));
        }
        if self.network.replay_capacity == 0 {
            return Err(field("network.replay_capacity", "must be above 0"));
        }
        if self.network.gossip_per_peer_per_s == 0 {
            return Err(field("network.gossip_per_peer_per_s", "must be above 0"));
        }
        // A burst must take the largest gossip message.
        if self.network.gossip_bytes_per_peer_per_s * 2
            < provernet_protocol::MessageKind::max_envelope_len() as u64
        {
            return Err(field(
                "network.gossip_bytes_per_peer_per_s",
                "must allow the largest gossip message in a two-second burst",
            ));
        }
        if self.network.inbound_requests_per_s == 0 {
            return Err(field("network.inbound_requests_per_s", "must be above 0"));
        }
        // A burst must take the largest request (a pushed proof).
        if self.network.inbound_bytes_per_s * 2
            < provernet_protocol::MessageKind::max_request_envelope_len() as u64
        {
            return Err(field(
                "network.inbound_bytes_per_s",
                "must allow the largest request (a pushed proof) in a two-second burst",
            ));
        }
        if !(self.chain.rpc_url.starts_with("http://")
            || self.chain.rpc_url.starts_with("https://"))
        {
            return Err(field(
                "chain.rpc_url",
                format!("`{}` is not an http(s) URL", self.chain.rpc_url),
            ));
        }
        self.market_address()?;
        if self.chain.poll_interval_ms == 0 {
            return Err(field("chain.poll_interval_ms", "must be above 0"));
        }
        if !(1..=16).contains(&self.chain.max_in_flight) {
            return Err(field("chain.max_in_flight", "must be between 1 and 16"));
        }
        if self.chain.bump_after_ms < self.chain.poll_interval_ms {
            return Err(field(
                "chain.bump_after_ms",
                "must be at least chain.poll_interval_ms",
            ));
        }
        if self.chain.confirmations > 64 {
            return Err(field(
                "chain.confirmations",
                "must be at most 64 (state that deep is read, and a full node keeps 128 blocks of it)",
            ));
        }
        if !(1..=10 * 365 * 24 * 3_600).contains(&self.store.retention_secs) {
            return Err(field(
                "store.retention_secs",
                "must be between 1 and 315360000 (ten years)",
            ));
        }
        if !ANSWER_MARGIN_SECS.contains(&self.store.answer_margin_secs) {
            return Err(field(
                "store.answer_margin_secs",
                format!(
                    "must be between {} and {} (a minute to thirty days)",
                    ANSWER_MARGIN_SECS.start(),
                    ANSWER_MARGIN_SECS.end()
                ),
            ));
        }
        if !(1..=100_000).contains(&self.chain.log_range) {
            return Err(field("chain.log_range", "must be between 1 and 100000"));
        }
        if !(10..=100).contains(&self.chain.bump_percent) {
            return Err(field(
                "chain.bump_percent",
                "must be between 10 and 100 (nodes refuse a replacement raised by less than 10 %)",
            ));
        }
        if self.proving.srs_file.is_none() && !self.proving.dev_srs {
            return Err(field(
                "proving.srs_file",
                "set an SRS file, or proving.dev_srs = true on a local testnet",
            ));
        }
        if self.client.cheat_never_sign && !self.proving.dev_srs {
            return Err(field("client.cheat_never_sign", CHEAT_REFUSED));
        }
        if self.client.cheat_drop_signed_award && !self.proving.dev_srs {
            return Err(field("client.cheat_drop_signed_award", CHEAT_REFUSED));
        }
        if self.client.cheat_drop_gossiped_acceptances && !self.proving.dev_srs {
            return Err(field(
                "client.cheat_drop_gossiped_acceptances",
                CHEAT_REFUSED,
            ));
        }
        if self.roles.prover {
            let circuits = self.prover_circuits()?.len();
            if circuits == 0 {
                return Err(field(
                    "prover.circuits",
                    "a prover needs at least one circuit",
                ));
            }
            // Its advert names every circuit it proves, learned ones too.
            let max = provernet_protocol::kind::MAX_ADVERTISED_CIRCUITS;
            if circuits.saturating_add(self.proving.learn_models) > max {
                return Err(field(
                    "proving.learn_models",
                    format!(
                        "with prover.circuits, at most {max} circuits (an advert names them all)"
                    ),
                ));
            }
            if self.prover.workers == 0 {
                return Err(field("prover.workers", "must be above 0"));
            }
            self.prover
                .price
                .check()
                .map_err(|reason| field("prover.price", reason))?;
            let max = provernet_protocol::kind::MAX_BATCH_SIZE as usize;
            if self.prover.batch_size == 0 || self.prover.batch_size > max {
                return Err(field(
                    "prover.batch_size",
                    "must be in 1..=512 (the market's MAX_BATCH_SIZE)",
                ));
            }
            if self.prover.estimate_ms == 0 {
                return Err(field("prover.estimate_ms", "must be above 0"));
            }
            if let Some(cheat) = &self.prover.cheat {
                if !self.proving.dev_srs {
                    return Err(field("prover.cheat", CHEAT_REFUSED));
                }
                if !(0.0..=1.0).contains(&cheat.rate) {
                    return Err(field("prover.cheat.rate", "must be in 0..=1"));
                }
            }
        }
        if self.api.dev && !self.proving.dev_srs {
            return Err(field("api.dev", DEV_API_REFUSED));
        }
        if self.roles.watchtower {
            let w = &self.watchtower;
            if !(0.0..=1.0).contains(&w.sample_rate) {
                return Err(field("watchtower.sample_rate", "must be in 0..=1"));
            }
            if w.fetch_attempts == 0 {
                return Err(field("watchtower.fetch_attempts", "must be above 0"));
            }
        }
        if self.roles.client {
            let c = &self.client;
            if c.bid_window_ms == 0 || c.bid_window_ms > 60_000 {
                return Err(field("client.bid_window_ms", "must be in 1..=60000"));
            }
            if c.models.len() > MAX_CLIENT_MODELS {
                return Err(field(
                    "client.models",
                    format!("at most {MAX_CLIENT_MODELS} packages"),
                ));
            }
            if c.max_rounds == 0 || c.max_rounds > provernet_protocol::kind::MAX_AUCTION_ROUNDS {
                return Err(field(
                    "client.max_rounds",
                    format!(
                        "must be in 1..={}",
                        provernet_protocol::kind::MAX_AUCTION_ROUNDS
                    ),
                ));
            }
            if c.price_cap_bps < 10_000 {
                return Err(field(
                    "client.price_cap_bps",
                    "must be at least 10000 (the first maximum)",
                ));
            }
            if c.accept_timeout_ms == 0 || c.accept_timeout_ms > 60_000 {
                return Err(field(
                    "client.accept_timeout_ms",
                    "must be in 1..=60000 (nodes forget a request whose award is not signed two minutes after its bid window)",
                ));
            }
        }
        Ok(())
    }
}
