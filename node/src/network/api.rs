//! What the node and the network task say to each other: the [`Command`]s the node
//! sends, the [`Event`]s it reads, the [`NetworkHandle`] that carries them, and the
//! errors. The node depends on this side only; the swarm behind it is `mod.rs`.

use super::*;

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
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) peer_id: PeerId,
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
