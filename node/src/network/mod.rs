//! The libp2p network: one task owns the [`Swarm`]; the node holds a [`NetworkHandle`]
//! that sends [`Command`]s and reads [`Event`]s (the shape of rust-libp2p's
//! `examples/file-sharing`).
//!
//! - Transport: TCP + noise + yamux.
//! - [`Behaviour`]: connection limits, gossipsub (one market topic per chain, messages
//!   validated by the node before they are forwarded), kademlia (discovery from bootstrap
//!   addresses), identify (feeds kademlia the addresses peers listen on), and
//!   request-response over [`codec::FrameCodec`] (input fetch, proof delivery).
//! - The task only routes. Every gossip message goes to the node, which must report
//!   Accept, Ignore or Reject for it ([`Command::Validated`]); when the node's queue is
//!   full the task reports Ignore itself, so nothing waits unboundedly.

mod api;
mod behaviour;
pub mod budget;
pub mod codec;
pub mod gate;
pub mod providers;
pub mod scoring;

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use libp2p::futures::StreamExt;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageId};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, identify, kad};
use tokio::sync::{mpsc, oneshot};

use self::scoring::{AppScores, BAN_THRESHOLD, PeerAction};

/// How often kademlia looks for more peers.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);
/// Below this many connections the node dials peers kademlia discovers.
const TARGET_PEERS: usize = 16;

/// The gossip topic of the market on chain `chain_id`.
pub fn market_topic(chain_id: u64) -> IdentTopic {
    IdentTopic::new(format!("/provernet/2/{chain_id}/market"))
}

/// How the network is set up.
#[derive(Clone, Debug)]
pub struct NetworkConfig {
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start (with `/p2p/<id>` when known: they also seed kademlia).
    pub bootstrap: Vec<Multiaddr>,
    /// The chain id (names the topic).
    pub chain_id: u64,
    /// Most established connections.
    pub max_connections: u32,
    /// Longest gossip message.
    pub max_gossip_bytes: usize,
    /// Longest request frame.
    pub max_request_bytes: usize,
    /// Longest response frame.
    pub max_response_bytes: usize,
    /// Depth of the queue of events to the node.
    pub event_queue: usize,
    /// Request-response timeout.
    pub request_timeout: Duration,
    /// What each peer may send of inbound requests ([`budget`]).
    pub inbound: budget::Limits,
    /// Stops the task (and closes every connection) when cancelled.
    pub shutdown: tokio_util::sync::CancellationToken,
}

pub use api::{
    ARRIVALS_KEPT, Arrival, Command, Event, NetworkError, NetworkHandle, NetworkInfo, RequestError,
};
pub use behaviour::{Behaviour, BehaviourEvent};

/// A bounded log of [`Arrival`]s.
#[derive(Debug, Default)]
struct Arrivals(VecDeque<Arrival>);

impl Arrivals {
    fn push(&mut self, id: &MessageId, own: bool) {
        if self.0.len() == ARRIVALS_KEPT {
            self.0.pop_front();
        }
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        self.0.push_back(Arrival {
            id: provernet_protocol::primitives::to_hex(&id.0),
            at_ms,
            own,
        });
    }
}

/// Starts the network task. Returns the handle, the event stream and the addresses it
/// listens on (with port 0 resolved).
///
/// # Errors
/// [`NetworkError`] when the stack cannot be built or an address cannot be bound.
pub async fn spawn(
    config: NetworkConfig,
    keypair: Keypair,
) -> Result<(NetworkHandle, mpsc::Receiver<Event>, Vec<Multiaddr>), NetworkError> {
    let (handle, events, listening, task) = start(config, keypair).await?;
    tokio::spawn(task);
    Ok((handle, events, listening))
}

/// The network handle, its events, the addresses it listens on and the network task,
/// which the caller runs ([`spawn`] runs it on its own; the node under its supervisor).
///
/// # Errors
/// As [`spawn`].
pub(crate) async fn start(
    config: NetworkConfig,
    keypair: Keypair,
) -> Result<
    (
        NetworkHandle,
        mpsc::Receiver<Event>,
        Vec<Multiaddr>,
        impl Future<Output = ()> + Send + 'static,
    ),
    NetworkError,
> {
    let peer_id = keypair.public().to_peer_id();
    let mut swarm = behaviour::build_swarm(&config, keypair)?;
    for address in &config.listen {
        swarm
            .listen_on(address.clone())
            .map_err(|e| NetworkError::Listen {
                address: address.clone(),
                reason: e.to_string(),
            })?;
    }
    // Wait until every listener is bound (or failed), to report real addresses.
    let mut listening = Vec::new();
    while listening.len() < config.listen.len() {
        match swarm.select_next_some().await {
            SwarmEvent::NewListenAddr { address, .. } => listening.push(address),
            SwarmEvent::ListenerError { error, .. } => {
                return Err(NetworkError::Listen {
                    address: config.listen[listening.len()].clone(),
                    reason: error.to_string(),
                });
            }
            SwarmEvent::ListenerClosed {
                reason: Err(error), ..
            } => {
                return Err(NetworkError::Listen {
                    address: config.listen[listening.len()].clone(),
                    reason: error.to_string(),
                });
            }
            _ => {}
        }
    }
    // A network file lists its bootstrap nodes for all, them included: not dialled.
    let bootstrap: Vec<Multiaddr> = config
        .bootstrap
        .iter()
        .filter(|address| peer_of(address).as_ref() != Some(swarm.local_peer_id()))
        .cloned()
        .collect();
    for address in &bootstrap {
        if let Some(peer) = peer_of(address) {
            swarm
                .behaviour_mut()
                .kad
                .add_address(&peer, address.clone());
        }
        if let Err(error) = swarm.dial(address.clone()) {
            tracing::warn!(target: "net", %address, %error, "cannot dial bootstrap peer");
        }
    }
    let (commands, command_rx) = mpsc::channel(1024);
    let (event_tx, events) = mpsc::channel(config.event_queue);
    let topic = market_topic(config.chain_id);
    let task = Task {
        swarm,
        commands: command_rx,
        events: event_tx,
        topic,
        pending: HashMap::new(),
        lookups: HashMap::new(),
        scores: AppScores::default(),
        shutdown: config.shutdown.clone(),
        bootstrap,
        isolated_until: None,
        arrivals: Arrivals::default(),
        inbound: budget::InboundBudget::new(config.inbound),
    };
    Ok((
        NetworkHandle { commands, peer_id },
        events,
        listening,
        task.run(),
    ))
}

/// The peer id at the end of a multiaddr, if any.
pub fn peer_of(address: &Multiaddr) -> Option<PeerId> {
    address.iter().find_map(|p| match p {
        libp2p::multiaddr::Protocol::P2p(peer) => Some(peer),
        _ => None,
    })
}

struct Task {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<Event>,
    topic: IdentTopic,
    pending: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, RequestError>>>,
    /// Provider lookups under way, with what they found so far.
    lookups: HashMap<kad::QueryId, (oneshot::Sender<Vec<PeerId>>, Vec<PeerId>)>,
    scores: AppScores,
    shutdown: tokio_util::sync::CancellationToken,
    /// Dialled again after an isolation.
    bootstrap: Vec<Multiaddr>,
    /// Until when the node refuses every connection ([`Command::Isolate`]).
    isolated_until: Option<tokio::time::Instant>,
    /// Gossip arrivals and publications, for propagation measurements.
    arrivals: Arrivals,
    /// Per-peer budgets of inbound requests.
    inbound: budget::InboundBudget,
}

impl Task {
    async fn run(mut self) {
        let mut ban_check = tokio::time::interval(Duration::from_secs(1));
        // Discovery: a kademlia bootstrap (a lookup of our own id, then of random ids
        // per bucket) soon after start and then periodically; peers it finds are dialled
        // while the node has few connections.
        let mut discovery = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(2),
            DISCOVERY_INTERVAL,
        );
        loop {
            tokio::select! {
                () = self.shutdown.cancelled() => break,
                command = self.commands.recv() => match command {
                    Some(command) => self.command(command),
                    // Every handle is gone: the node is shutting down.
                    None => break,
                },
                event = self.swarm.select_next_some() => self.swarm_event(event),
                _ = ban_check.tick() => {
                    for (peer, score) in self.scores.decay(std::time::Instant::now()) {
                        self.swarm.behaviour_mut().gossipsub.set_application_score(&peer, score);
                    }
                    self.ban_low_scores();
                    self.end_isolation();
                }
                _ = discovery.tick() => {
                    // Fails only while the routing table is empty (no bootstrap peer yet).
                    let _ = self.swarm.behaviour_mut().kad.bootstrap();
                }
            }
        }
        tracing::debug!(target: "net", "network task stopped");
    }

    fn command(&mut self, command: Command) {
        let behaviour = self.swarm.behaviour_mut();
        match command {
            Command::Publish { data } => {
                match behaviour.gossipsub.publish(self.topic.clone(), data) {
                    Ok(id) => self.arrivals.push(&id, true),
                    // No peers yet is normal at start; the node's timers retry what matters.
                    Err(error) => tracing::debug!(target: "net::gossip", %error, "publish failed"),
                }
            }
            Command::Arrivals(reply) => {
                let _ = reply.send(self.arrivals.0.iter().cloned().collect());
            }
            Command::Validated {
                id,
                source,
                acceptance,
            } => {
                behaviour
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
            }
            Command::Request { peer, data, reply } => {
                let id = behaviour.exchange.send_request(&peer, data);
                self.pending.insert(id, reply);
            }
            Command::Respond { channel, data } => {
                // Fails when the requester has gone; nothing to do then.
                let _ = behaviour.exchange.send_response(channel, data);
            }
            Command::Penalize { peer, action } => {
                let score = self.scores.report(peer, action, std::time::Instant::now());
                behaviour.gossipsub.set_application_score(&peer, score);
                tracing::debug!(target: "net::score", %peer, action = action.name(), score, "penalized");
            }
            Command::Dial(address) => {
                if let Err(error) = self.swarm.dial(address.clone()) {
                    tracing::warn!(target: "net", %address, %error, "dial failed");
                }
            }
            Command::Isolate(duration) => {
                self.isolated_until = Some(tokio::time::Instant::now() + duration);
                self.swarm.behaviour_mut().gate.close();
                let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
                tracing::warn!(target: "net", secs = duration.as_secs(), peers = peers.len(), "cut off from every peer on request");
                for peer in peers {
                    let _ = self.swarm.disconnect_peer_id(peer);
                }
            }
            Command::Provide(key) => {
                if let Err(error) = behaviour.kad.start_providing(kad::RecordKey::new(&key)) {
                    tracing::debug!(target: "net", %error, "cannot announce a key");
                }
            }
            Command::Unprovide(key) => {
                behaviour.kad.stop_providing(&kad::RecordKey::new(&key));
            }
            Command::FindProviders { key, reply } => {
                let id = behaviour.kad.get_providers(kad::RecordKey::new(&key));
                self.lookups.insert(id, (reply, Vec::new()));
            }
            Command::Info(reply) => {
                let peers = self
                    .swarm
                    .connected_peers()
                    .map(|p| {
                        (
                            *p,
                            self.swarm
                                .behaviour()
                                .gossipsub
                                .peer_score(p)
                                .unwrap_or(0.0),
                        )
                    })
                    .collect();
                let topic_peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .all_peers()
                    .filter(|(_, topics)| topics.contains(&&self.topic.hash()))
                    .count();
                let records = self.swarm.behaviour_mut().kad.store_mut();
                let keys = (records.own_keys(), records.remote_keys());
                let _ = reply.send(NetworkInfo {
                    peer_id: Some(*self.swarm.local_peer_id()),
                    listen_addrs: self.swarm.listeners().cloned().collect(),
                    peers,
                    topic_peers,
                    banned: self.scores.banned(),
                    requests_over_budget: self.inbound.dropped(),
                    isolated: self.isolated_until.is_some(),
                    provided_keys: keys.0,
                    remote_provider_keys: keys.1,
                });
            }
        }
    }

    /// Ends an isolation whose time is up, and dials the bootstrap peers again.
    fn end_isolation(&mut self) {
        if self
            .isolated_until
            .is_none_or(|until| tokio::time::Instant::now() < until)
        {
            return;
        }
        self.isolated_until = None;
        self.swarm.behaviour_mut().gate.open();
        tracing::warn!(target: "net", "isolation over: dialling the bootstrap peers again");
        for address in self.bootstrap.clone() {
            if let Err(error) = self.swarm.dial(address.clone()) {
                tracing::warn!(target: "net", %address, %error, "cannot dial bootstrap peer");
            }
        }
        // And the peers kademlia knows, as discovery would.
        let known: Vec<PeerId> = self
            .swarm
            .behaviour_mut()
            .kad
            .kbuckets()
            .flat_map(|bucket| {
                bucket
                    .iter()
                    .map(|entry| *entry.node.key.preimage())
                    .collect::<Vec<_>>()
            })
            .take(TARGET_PEERS)
            .collect();
        for peer in known {
            let _ = self.swarm.dial(peer);
        }
        let _ = self.swarm.behaviour_mut().kad.bootstrap();
    }

    fn ban_low_scores(&mut self) {
        let low: Vec<PeerId> = self
            .swarm
            .connected_peers()
            .filter(|p| {
                self.swarm
                    .behaviour()
                    .gossipsub
                    .peer_score(p)
                    .is_some_and(|s| s <= BAN_THRESHOLD)
            })
            .copied()
            .collect();
        for peer in low {
            tracing::info!(target: "net::score", %peer, "banning peer below the score threshold");
            self.scores.ban(peer);
            let _ = self.swarm.disconnect_peer_id(peer);
        }
    }

    fn swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                self.arrivals.push(&message_id, false);
                let event = Event::Gossip {
                    id: message_id.clone(),
                    source: propagation_source,
                    data: message.data,
                };
                if self.events.try_send(event).is_err() {
                    // The node is behind: an explicit Ignore, never an unbounded buffer.
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Exchange(event)) => self.exchange_event(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                for address in info.listen_addrs {
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer_id, address);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, ..
            })) => {
                let connected = self.swarm.connected_peers().count();
                if !self.swarm.is_connected(&peer)
                    && connected < TARGET_PEERS
                    && !self.scores.is_banned(&peer)
                {
                    // Kademlia knows its addresses; the dial uses them.
                    let _ = self.swarm.dial(peer);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::OutboundQueryProgressed {
                id,
                result: kad::QueryResult::GetProviders(result),
                step,
                ..
            })) => self.providers_found(id, result, step.last),
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                if self.scores.is_banned(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                } else {
                    tracing::debug!(target: "net", peer = %peer_id, "connected");
                }
            }
            SwarmEvent::ConnectionClosed { peer_id, .. } => {
                // Its request budget stays (`budget`): reconnecting buys no fresh burst.
                tracing::debug!(target: "net", peer = %peer_id, "disconnected");
            }
            _ => {}
        }
    }

    fn providers_found(&mut self, id: kad::QueryId, result: kad::GetProvidersResult, last: bool) {
        let me = *self.swarm.local_peer_id();
        let done = match result {
            Ok(kad::GetProvidersOk::FoundProviders { providers, .. }) => {
                // The first providers found are enough: the caller tries them in turn.
                self.lookups.get_mut(&id).is_some_and(|(_, found)| {
                    found.extend(providers.into_iter().filter(|p| *p != me));
                    !found.is_empty()
                })
            }
            Ok(kad::GetProvidersOk::FinishedWithNoAdditionalRecord { .. }) | Err(_) => true,
        };
        if done || last {
            if let Some((reply, mut found)) = self.lookups.remove(&id) {
                found.sort();
                found.dedup();
                let _ = reply.send(found);
            }
            if let Some(mut query) = self.swarm.behaviour_mut().kad.query_mut(&id) {
                query.finish();
            }
        }
    }

    fn exchange_event(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if self.scores.is_banned(&peer) {
                        return;
                    }
                    // Over its peer's budget: dropped before the node sees it.
                    if !self
                        .inbound
                        .admit(peer, request.len(), std::time::Instant::now())
                    {
                        tracing::debug!(target: "net::exchange", %peer, "request over the peer's budget: dropped");
                        return;
                    }
                    // A full queue drops the channel: the requester sees a failure and
                    // may retry.
                    let _ = self.events.try_send(Event::Request {
                        peer,
                        data: request,
                        channel,
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.pending.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.pending.remove(&request_id) {
                    let _ = reply.send(Err(RequestError::Failed(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(target: "net::exchange", %peer, %error, "inbound request failed");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }
}
