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
//! peer's application-specific score (P5), which gossipsub adds with weight 1. It decays
//! like the invalid-message count ([`APP_SCORE_DECAY`] a second), so an honest peer that
//! once sent something bad is not held to it for ever.
//!
//! Colocation (P6): peers beyond [`COLOCATION_THRESHOLD`] behind one IP address cost each
//! of them [`COLOCATION_WEIGHT`] per squared surplus, so a farm of identities on one host
//! cannot take a ban and come back under new peer ids at no cost. Loopback addresses are
//! exempt (local testnets run every node on one).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

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
/// What is left of an application score after a second: a penalty halves in about 69 s.
pub const APP_SCORE_DECAY: f64 = 0.99;
/// Application scores closer to 0 than this are forgotten.
const FORGET_BELOW: f64 = 0.5;
/// Most peers whose application score is kept.
pub const MAX_SCORED: usize = 16_384;
/// Peers allowed behind one IP address before colocation costs them.
pub const COLOCATION_THRESHOLD: f64 = 3.0;
/// Cost per squared peer beyond the threshold: 10 peers on one address cost each of them
/// 5 · 7² = 245, below the graylist threshold.
pub const COLOCATION_WEIGHT: f64 = -5.0;

/// Misbehaviour outside gossip, as the node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerAction {
    /// A request or response that is not a valid signed envelope of an expected kind.
    MalformedExchange,
    /// A pushed proof that does not verify, or inputs that do not match their hash.
    BadContent,
    /// A request it was not entitled to make.
    Unauthorized,
    /// Gossip beyond its budget: one tenth of a second's budget dropped
    /// ([`super::budget::Overflow`]).
    OverBudget,
}

impl PeerAction {
    /// The points it costs.
    pub const fn cost(self) -> f64 {
        match self {
            Self::MalformedExchange => -20.0,
            Self::BadContent => -100.0,
            Self::Unauthorized => -5.0,
            Self::OverBudget => -2.0,
        }
    }

    /// The metrics label.
    pub const fn name(self) -> &'static str {
        match self {
            Self::MalformedExchange => "malformed_exchange",
            Self::BadContent => "bad_content",
            Self::Unauthorized => "unauthorized",
            Self::OverBudget => "over_budget",
        }
    }
}

/// The score parameters for the node's topics.
pub fn params(topics: &[TopicHash]) -> (PeerScoreParams, PeerScoreThresholds) {
    let mut params = PeerScoreParams {
        app_specific_weight: 1.0,
        ip_colocation_factor_weight: COLOCATION_WEIGHT,
        ip_colocation_factor_threshold: COLOCATION_THRESHOLD,
        // Every node of a local testnet shares one loopback address.
        ip_colocation_factor_whitelist: HashSet::from([
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]),
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

/// `score` after `elapsed` of decay.
pub fn decayed(score: f64, elapsed: Duration) -> f64 {
    score * APP_SCORE_DECAY.powf(elapsed.as_secs_f64())
}

/// Application-specific scores from request-response misbehaviour, with bans.
#[derive(Debug, Default)]
pub struct AppScores {
    /// Score and when it was last decayed.
    scores: HashMap<PeerId, (f64, Instant)>,
    banned: HashMap<PeerId, Instant>,
}

impl AppScores {
    /// Applies `action` at `now`; returns the peer's new application score.
    pub fn report(&mut self, peer: PeerId, action: PeerAction, now: Instant) -> f64 {
        if !self.scores.contains_key(&peer) && self.scores.len() >= MAX_SCORED {
            self.decay(now);
            if self.scores.len() >= MAX_SCORED
                && let Some(mildest) = self
                    .scores
                    .iter()
                    .max_by(|a, b| a.1.0.total_cmp(&b.1.0))
                    .map(|(p, _)| *p)
            {
                self.scores.remove(&mildest);
            }
        }
        let (score, at) = self.scores.entry(peer).or_insert((0.0, now));
        *score = decayed(*score, now.saturating_duration_since(*at)) + action.cost();
        *at = now;
        *score
    }

    /// Decays every score to `now`; returns each peer's new score (0 for those
    /// forgotten, which leave the table), for gossipsub.
    pub fn decay(&mut self, now: Instant) -> Vec<(PeerId, f64)> {
        let mut updated = Vec::with_capacity(self.scores.len());
        self.scores.retain(|peer, (score, at)| {
            *score = decayed(*score, now.saturating_duration_since(*at));
            *at = now;
            let keep = score.abs() >= FORGET_BELOW;
            updated.push((*peer, if keep { *score } else { 0.0 }));
            keep
        });
        updated
    }

    /// Bans `peer` for [`BAN_SECS`].
    pub fn ban(&mut self, peer: PeerId) {
        self.banned
            .insert(peer, Instant::now() + Duration::from_secs(BAN_SECS));
    }

    /// Whether `peer` is banned now (forgetting expired bans).
    pub fn is_banned(&mut self, peer: &PeerId) -> bool {
        match self.banned.get(peer) {
            Some(until) if *until > Instant::now() => true,
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
        assert_eq!(
            scores.report(peer, PeerAction::BadContent, Instant::now()),
            -100.0
        );
        assert!(!scores.is_banned(&peer));
        scores.ban(peer);
        assert!(scores.is_banned(&peer));
        assert_eq!(scores.banned(), 1);
    }

    #[test]
    fn application_scores_decay_and_are_forgotten_near_zero() {
        let mut scores = AppScores::default();
        let (peer, start) = (PeerId::random(), Instant::now());
        scores.report(peer, PeerAction::BadContent, start);
        // Half is left after about 69 s; a second report adds to what is left.
        let later = start + Duration::from_secs(69);
        let left = scores.decay(later)[0].1;
        assert!((left + 50.0).abs() < 0.5, "{left}");
        let again = scores.report(peer, PeerAction::BadContent, later);
        assert!((again - (left - 100.0)).abs() < 1e-9);
        // Ten minutes on it is forgotten, and gossipsub is told 0.
        assert_eq!(
            scores.decay(later + Duration::from_secs(600)),
            vec![(peer, 0.0)]
        );
        assert!(scores.decay(later + Duration::from_secs(601)).is_empty());
    }

    #[test]
    fn the_score_table_stays_bounded_dropping_the_mildest() {
        let mut scores = AppScores::default();
        let now = Instant::now();
        let mild = PeerId::random();
        scores.report(mild, PeerAction::Unauthorized, now);
        for _ in 1..MAX_SCORED {
            scores.report(PeerId::random(), PeerAction::BadContent, now);
        }
        let newcomer = PeerId::random();
        scores.report(newcomer, PeerAction::BadContent, now);
        assert_eq!(scores.scores.len(), MAX_SCORED);
        assert!(!scores.scores.contains_key(&mild), "the mildest went");
        assert!(scores.scores.contains_key(&newcomer));
    }
}
