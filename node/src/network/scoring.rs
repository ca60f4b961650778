//! What a peer's misbehaviour costs it.
//!
//! Gossip: every message ends in Accept, Ignore or Reject. A Reject counts as an invalid
//! message delivery in gossipsub's peer score (P4: weight [`INVALID_MESSAGE_WEIGHT`] per
//! squared count, decaying), so one bad message costs 10 points, three cost 90, and a
//! peer that keeps sending them reaches [`GRAYLIST_THRESHOLD`] (four bad messages, less
//! what has decayed),
//! after which gossipsub ignores it and the node disconnects it and refuses it for
//! [`BAN_SECS`] ([`BAN_THRESHOLD`] is the graylist threshold: gossipsub stops counting a
//! graylisted peer's messages, so a lower one would never be reached). Ignore costs nothing: it covers what an honest peer may
//! send (a bid for a request we have not seen, an expired message, a full queue).
//!
//! Request-response: misbehaviour there is reported as a [`PeerAction`] and lowers the
//! peer's application-specific score (P5), which gossipsub adds with weight 1.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::PeerId;
use libp2p::gossipsub::{PeerScoreParams, PeerScoreThresholds, TopicHash, TopicScoreParams};

/// Weight of one invalid gossip message (squared count) on our topics.
pub const INVALID_MESSAGE_WEIGHT: f64 = -10.0;
/// Below this gossipsub stops gossiping to the peer.
pub const GOSSIP_THRESHOLD: f64 = -40.0;
/// Below this gossipsub does not publish to the peer.
pub const PUBLISH_THRESHOLD: f64 = -80.0;
/// Below this gossipsub ignores everything the peer sends.
pub const GRAYLIST_THRESHOLD: f64 = -160.0;
/// Below this the node disconnects the peer and refuses it for [`BAN_SECS`].
pub const BAN_THRESHOLD: f64 = GRAYLIST_THRESHOLD;
/// How long a banned peer is refused.
pub const BAN_SECS: u64 = 600;

/// Misbehaviour outside gossip, as the node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerAction {
    /// A request or response that is not a valid signed envelope of an expected kind.
    MalformedExchange,
    /// A pushed proof that does not verify, or inputs that do not match their hash.
    BadContent,
    /// A request it was not entitled to make.
    Unauthorized,
}

impl PeerAction {
    /// The points it costs.
    pub const fn cost(self) -> f64 {
        match self {
            Self::MalformedExchange => -20.0,
            Self::BadContent => -100.0,
            Self::Unauthorized => -5.0,
        }
    }

    /// The metrics label.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MalformedExchange => "malformed_exchange",
            Self::BadContent => "bad_content",
            Self::Unauthorized => "unauthorized",
        }
    }
}

/// The score parameters for the node's topics.
pub fn params(topics: &[TopicHash]) -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams {
        app_specific_weight: 1.0,
        // One IP per node on loopback testnets: do not punish colocation.
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    };
    for topic in topics {
        params.topics.insert(
            topic.clone(),
            TopicScoreParams {
                topic_weight: 1.0,
                time_in_mesh_weight: 0.01,
                time_in_mesh_quantum: Duration::from_secs(1),
                time_in_mesh_cap: 100.0,
                first_message_deliveries_weight: 0.5,
                first_message_deliveries_decay: 0.9,
                first_message_deliveries_cap: 20.0,
                // A quiet market is normal: no penalty for few deliveries.
                mesh_message_deliveries_weight: 0.0,
                mesh_failure_penalty_weight: 0.0,
                invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
                invalid_message_deliveries_decay: 0.99,
                ..TopicScoreParams::default()
            },
        );
    }
    let thresholds = PeerScoreThresholds {
        gossip_threshold: GOSSIP_THRESHOLD,
        publish_threshold: PUBLISH_THRESHOLD,
        graylist_threshold: GRAYLIST_THRESHOLD,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

/// Application-specific scores from request-response misbehaviour, with bans.
#[derive(Debug, Default)]
pub struct AppScores {
    scores: HashMap<PeerId, f64>,
    banned: HashMap<PeerId, std::time::Instant>,
}

impl AppScores {
    /// Applies `action`; returns the peer's new application score.
    pub fn report(&mut self, peer: PeerId, action: PeerAction) -> f64 {
        let score = self.scores.entry(peer).or_default();
        *score += action.cost();
        *score
    }

    /// Bans `peer` for [`BAN_SECS`].
    pub fn ban(&mut self, peer: PeerId) {
        self.banned.insert(
            peer,
            std::time::Instant::now() + Duration::from_secs(BAN_SECS),
        );
    }

    /// Whether `peer` is banned now (forgetting expired bans).
    pub fn is_banned(&mut self, peer: &PeerId) -> bool {
        match self.banned.get(peer) {
            Some(until) if *until > std::time::Instant::now() => true,
            Some(_) => {
                self.banned.remove(peer);
                self.scores.remove(peer);
                false
            }
            None => false,
        }
    }

    /// How many peers are banned.
    pub fn banned(&self) -> usize {
        self.banned.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_accepted_by_gossipsub_and_bans_expire_only_later() {
        let topic = libp2p::gossipsub::IdentTopic::new("t").hash();
        let (params, thresholds) = params(&[topic]);
        assert!(params.validate().is_ok());
        assert!(thresholds.validate().is_ok());
        let mut scores = AppScores::default();
        let peer = PeerId::random();
        assert_eq!(scores.report(peer, PeerAction::BadContent), -100.0);
        assert!(!scores.is_banned(&peer));
        scores.ban(peer);
        assert!(scores.is_banned(&peer));
        assert_eq!(scores.banned(), 1);
    }
}
