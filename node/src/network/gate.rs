//! A switch in front of every connection, closed while the node is cut off on purpose
//! ([`super::Command::Isolate`], the dev API's partition). A closed gate refuses dials
//! before they start and denies connections others open as soon as their handshake
//! ends, before any protocol runs on them: no gossip, request or DHT message passes
//! either way.

use std::convert::Infallible;
use std::task::{Context, Poll};

use libp2p::core::Endpoint;
use libp2p::core::transport::PortUse;
use libp2p::swarm::{
    ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm, dummy,
};
use libp2p::{Multiaddr, PeerId};

/// Open unless [`Gate::close`]d.
#[derive(Debug, Default)]
pub struct Gate {
    closed: bool,
}

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("this node is cut off from every peer on purpose")]
struct Closed;

impl Gate {
    /// Refuses every connection from now on.
    pub fn close(&mut self) {
        self.closed = true;
    }

    /// Lets connections through again.
    pub fn open(&mut self) {
        self.closed = false;
    }

    fn pass(&self) -> Result<dummy::ConnectionHandler, ConnectionDenied> {
        if self.closed {
            Err(ConnectionDenied::new(Closed))
        } else {
            Ok(dummy::ConnectionHandler)
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _maybe_peer: Option<PeerId>,
        _addresses: &[Multiaddr],
        _effective_role: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        self.pass().map(|_| Vec::new())
    }

    fn handle_established_inbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _local_addr: &Multiaddr,
        _remote_addr: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.pass()
    }

    fn handle_established_outbound_connection(
        &mut self,
        _connection_id: ConnectionId,
        _peer: PeerId,
        _addr: &Multiaddr,
        _role_override: Endpoint,
        _port_use: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.pass()
    }

    fn on_swarm_event(&mut self, _event: FromSwarm) {}

    fn on_connection_handler_event(
        &mut self,
        _peer_id: PeerId,
        _connection_id: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}
