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

pub use behaviour::{Behaviour, BehaviourEvent};

/// Why a request failed. None of these is proof of the peer's fault on its own.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RequestError {
    /// Dial failure, timeout, closed connection, unsupported protocol, I/O.
    #[error("request failed: {0}")]
    Failed(String),
    /// The network task is gone (the node is shutting down).
    #[error("the network task has stopped")]
    Stopped,
}

/// What the node asks the network task to do.
#[derive(Debug)]
pub enum Command {
    /// Publish on the market topic.
    Publish {
        /// The envelope bytes.
        data: Vec<u8>,
    },
    /// The node's verdict on a gossip message.
    Validated {
        /// The message.
        id: MessageId,
        /// Who forwarded it.
        source: PeerId,
        /// The verdict.
        acceptance: MessageAcceptance,
    },
    /// Send a request frame to `peer`.
    Request {
        /// The peer.
        peer: PeerId,
        /// The frame.
        data: Vec<u8>,
        /// The response frame.
        reply: oneshot::Sender<Result<Vec<u8>, RequestError>>,
    },
    /// Answer an inbound request.
    Respond {
        /// Its channel.
        channel: ResponseChannel<Vec<u8>>,
        /// The response frame.
        data: Vec<u8>,
    },
    /// Report misbehaviour outside gossip.
    Penalize {
        /// The peer.
        peer: PeerId,
        /// What it did.
        action: PeerAction,
    },
    /// Dial an address.
    Dial(Multiaddr),
    /// The network's state.
    Info(oneshot::Sender<NetworkInfo>),
    /// Announce in the DHT that this node holds what `key` names (a proof, by hash).
    Provide(Vec<u8>),
    /// Stop announcing a key this node no longer holds (its record is kept until then).
    Unprovide(Vec<u8>),
    /// Cut this node off from every peer for a while (fault injection on testnets):
    /// connections are closed, and refused both ways until the time is up; then the
    /// bootstrap peers are dialled again.
    Isolate(Duration),
    /// The latest gossip arrivals and publications ([`Arrival`]), oldest first.
    Arrivals(oneshot::Sender<Vec<Arrival>>),
    /// Look up who announced `key`.
    FindProviders {
        /// The key.
        key: Vec<u8>,
        /// The providers found (this node excluded).
        reply: oneshot::Sender<Vec<PeerId>>,
    },
}

/// What the network tells the node.
#[derive(Debug)]
pub enum Event {
    /// A gossip message; the node must answer with [`Command::Validated`].
    Gossip {
        /// Its id.
        id: MessageId,
        /// Who forwarded it.
        source: PeerId,
        /// The envelope bytes.
        data: Vec<u8>,
    },
    /// An inbound request; the node answers with [`Command::Respond`] or drops the channel.
    Request {
        /// Who asks.
        peer: PeerId,
        /// The frame.
        data: Vec<u8>,
        /// Where the answer goes.
        channel: ResponseChannel<Vec<u8>>,
    },
}

/// When a gossip message first reached this node (or left it, when published here):
/// testnets measure propagation by matching these across nodes on one clock.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Arrival {
    /// The gossipsub message id, hex.
    pub id: String,
    /// Unix time, ms.
    pub at_ms: u64,
    /// Published by this node rather than received.
    pub own: bool,
}

/// How many arrivals the network task keeps (the oldest are dropped first).
pub const ARRIVALS_KEPT: usize = 4_096;

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

/// A snapshot of the network.
#[derive(Clone, Debug, Default)]
pub struct NetworkInfo {
    /// This node.
    pub peer_id: Option<PeerId>,
    /// Where it listens.
    pub listen_addrs: Vec<Multiaddr>,
    /// Connected peers with their gossipsub score.
    pub peers: Vec<(PeerId, f64)>,
    /// Peers subscribed to the market topic.
    pub topic_peers: usize,
    /// Peers banned now.
    pub banned: usize,
    /// Whether the node is cut off on purpose ([`Command::Isolate`]).
    pub isolated: bool,
    /// Inbound requests dropped since the start because their peer was over its budget.
    pub requests_over_budget: u64,
    /// Keys this node announces in the DHT.
    pub provided_keys: usize,
    /// Keys of other peers' provider records held.
    pub remote_provider_keys: usize,
}

/// The node's side of the network task.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    peer_id: PeerId,
}

impl NetworkHandle {
    /// This node's peer id.
    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    async fn send(&self, command: Command) {
        // Fails only when the task is gone; then there is nothing left to do.
        let _ = self.commands.send(command).await;
    }

    /// Publishes envelope bytes on the market topic.
    pub async fn publish(&self, data: Vec<u8>) {
        self.send(Command::Publish { data }).await;
    }

    /// Reports the verdict on a gossip message.
    pub async fn validated(&self, id: MessageId, source: PeerId, acceptance: MessageAcceptance) {
        self.send(Command::Validated {
            id,
            source,
            acceptance,
        })
        .await;
    }

    /// Sends a request and waits for the response frame.
    ///
    /// # Errors
    /// [`RequestError`].
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, RequestError> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Request { peer, data, reply }).await;
        answer.await.map_err(|_| RequestError::Stopped)?
    }

    /// Answers an inbound request.
    pub async fn respond(&self, channel: ResponseChannel<Vec<u8>>, data: Vec<u8>) {
        self.send(Command::Respond { channel, data }).await;
    }

    /// Reports misbehaviour outside gossip.
    pub async fn penalize(&self, peer: PeerId, action: PeerAction) {
        self.send(Command::Penalize { peer, action }).await;
    }

    /// Dials an address.
    pub async fn dial(&self, address: Multiaddr) {
        self.send(Command::Dial(address)).await;
    }

    /// Announces in the DHT that this node holds what `key` names.
    pub async fn provide(&self, key: Vec<u8>) {
        self.send(Command::Provide(key)).await;
    }

    /// Stops announcing `key` in the DHT, queued at once behind every command sent
    /// before; false when the queue is full (the record then lives out its TTL).
    pub fn unprovide(&self, key: Vec<u8>) -> bool {
        self.commands.try_send(Command::Unprovide(key)).is_ok()
    }

    /// The peers that announced `key` (empty if none, or when the task has stopped).
    pub async fn find_providers(&self, key: Vec<u8>) -> Vec<PeerId> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::FindProviders { key, reply }).await;
        answer.await.unwrap_or_default()
    }

    /// Cuts the node off from every peer for `duration` (testnets' fault injection).
    pub async fn isolate(&self, duration: Duration) {
        self.send(Command::Isolate(duration)).await;
    }

    /// The latest gossip arrivals and publications, oldest first (empty when the task
    /// has stopped).
    pub async fn arrivals(&self) -> Vec<Arrival> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Arrivals(reply)).await;
        answer.await.unwrap_or_default()
    }

    /// The network's state (`None` when the task has stopped).
    pub async fn info(&self) -> Option<NetworkInfo> {
        let (reply, answer) = oneshot::channel();
        self.send(Command::Info(reply)).await;
        answer.await.ok()
    }
}

/// Why the network could not start.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The transport or a behaviour could not be built.
    #[error("cannot build the libp2p stack: {0}")]
    Build(String),
    /// A listen address cannot be bound (in use, not local, malformed).
    #[error("cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: Multiaddr,
        /// Why.
        reason: String,
    },
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
    for address in &config.bootstrap {
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
        bootstrap: config.bootstrap.clone(),
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
