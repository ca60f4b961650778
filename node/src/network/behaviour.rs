//! The libp2p stack: the composed [`Behaviour`] and the swarm that runs it (transport,
//! gossipsub with peer scoring, kademlia with this node's provider store, identify,
//! request-response, connection limits).

// The derive generates an event enum whose variants carry no docs.
#![allow(missing_docs)]

use std::time::Duration;

use libp2p::gossipsub::{self, MessageAuthenticity, MessageId};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{Swarm, connection_limits, identify, kad, noise, tcp, yamux};

use super::codec::{self, FrameCodec};
use super::gate::Gate;
use super::{NetworkConfig, NetworkError, market_topic, providers, scoring};

/// The composed behaviour.
#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// First, so a closed gate refuses a connection before the others see it.
    pub(super) gate: Gate,
    pub(super) limits: connection_limits::Behaviour,
    pub(super) gossipsub: gossipsub::Behaviour,
    pub(super) kad: kad::Behaviour<providers::ProviderStore>,
    pub(super) identify: identify::Behaviour,
    pub(super) exchange: request_response::Behaviour<FrameCodec>,
}

/// Builds the swarm of `config` under `keypair`.
pub(super) fn build_swarm(
    config: &NetworkConfig,
    keypair: Keypair,
) -> Result<Swarm<Behaviour>, NetworkError> {
    let topic = market_topic(config.chain_id);
    let max_gossip = config.max_gossip_bytes;
    let (max_request, max_response) = (config.max_request_bytes, config.max_response_bytes);
    let max_connections = config.max_connections;
    let timeout = config.request_timeout;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetworkError::Build(e.to_string()))?
        .with_behaviour(|key| {
            let peer_id = key.public().to_peer_id();
            let gossip_config = gossipsub::ConfigBuilder::default()
                // Envelopes carry our own ed25519 signature; gossipsub's would be a second.
                .validation_mode(gossipsub::ValidationMode::Anonymous)
                .validate_messages()
                .message_id_fn(|m: &gossipsub::Message| {
                    MessageId::from(provernet_protocol::keccak256(&m.data)[..20].to_vec())
                })
                .max_transmit_size(max_gossip)
                .heartbeat_interval(Duration::from_millis(500))
                // Every message id received, wanted or not, stays this long (about 170
                // bytes each), so a peer flooding costs this many seconds of its ids in
                // memory: long enough for a message's copies from every mesh peer and
                // gossip's IHAVE rounds. A replay after it is judged again: the envelope
                // replay cache holds every envelope the market accepted until it
                // expires, and anything else costs the replaying peer its budget.
                .duplicate_cache_time(Duration::from_secs(15))
                .build()
                .map_err(|e| e.to_string())?;
            let mut gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, gossip_config)?;
            let (params, thresholds) = scoring::params(&[topic.hash()]);
            gossipsub.with_peer_score(params, thresholds)?;
            gossipsub.subscribe(&topic).map_err(|e| e.to_string())?;

            let mut kad = kad::Behaviour::with_config(
                peer_id,
                // Its own provider records apart from others' (see `providers`).
                providers::ProviderStore::new(peer_id),
                kad::Config::new(libp2p::StreamProtocol::new("/provernet/kad/1")),
            );
            kad.set_mode(Some(kad::Mode::Server));
            let identify = identify::Behaviour::new(identify::Config::new(
                "/provernet/2".to_owned(),
                key.public(),
            ));
            let exchange = request_response::Behaviour::with_codec(
                FrameCodec {
                    max_request,
                    max_response,
                },
                [(codec::PROTOCOL, ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(timeout),
            );
            let limits = connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(max_connections))
                    .with_max_established_per_peer(Some(2))
                    .with_max_pending_incoming(Some(max_connections)),
            );
            Ok(Behaviour {
                gate: Gate::default(),
                limits,
                gossipsub,
                kad,
                identify,
                exchange,
            })
        })
        .map_err(|e| NetworkError::Build(e.to_string()))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    Ok(swarm)
}
