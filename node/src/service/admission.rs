//! Which job requests this node hears and forwards: those whose client's free deposit on
//! chain pays their maximum price on top of its other auctions, within the client's share
//! of the request table (the rule is [`super::requests::RequestTable::admit`]).
//!
//! A client that never deposited (no `Deposited` event names it, as the chain follower
//! saw) is not heard at all, without a read: requests from fresh accounts cost nothing to
//! sign and nothing to refuse. For the others, a read of their funds in the last
//! [`FUNDS_TTL_MS`] decides at once; an older read (up to [`ADMIT_TTL_MS`]) only admits,
//! since the client may have deposited since a refusal. Otherwise the request waits,
//! unforwarded, for a read of the client's funds (at most 2 s) and is judged again when
//! it returns, once (gossipsub holds an unvalidated message for about 2.5 s). The reads
//! are few (32 at once), so one peer's requests may have started at most
//! [`MAX_READS_PER_PEER`] that are not answered yet; requests for a client being read join
//! its read; one peer's requests wait at most [`MAX_PARKED_PER_PEER`] at once, all peers'
//! [`MAX_PARKED`].

use libp2p::PeerId;
use libp2p::gossipsub::MessageId;
use provernet_protocol::{JobRequest, VerifiedEnvelope};

use super::funds::{FUNDS_TTL_MS, MAX_READS};
use super::requests::Admission;
use super::rules::Verdict;
use super::{Core, eth, now_s};

/// How long a read that admits a client's requests is trusted, ms.
const ADMIT_TTL_MS: u64 = 300_000;
/// Most request messages waiting for reads, from all peers.
const MAX_PARKED: usize = 1_024;
/// Most reads that one peer's requests may have started and not seen answered.
const MAX_READS_PER_PEER: usize = 8;
/// Most request messages from one peer waiting for reads.
const MAX_PARKED_PER_PEER: usize = 64;

/// A request message waiting for a read of its client's funds.
#[derive(Debug)]
pub(super) struct Parked {
    id: MessageId,
    source: PeerId,
    envelope: VerifiedEnvelope,
}

impl Core {
    /// What the admission rule decides of `request` before its client's signature is
    /// checked, so that a flood of requests no node will hear costs no secp256k1 work: a
    /// client that a fresh read shows unable to pay, or over its share of the table, is
    /// not heard (a forged request in its name no more than a real one); a request that
    /// would wait for a read of its client's funds and cannot (`source` has its share of
    /// waiting requests, or every read is taken) is ignored now.
    pub(super) fn precheck_admission(
        &self,
        request: &JobRequest,
        source: PeerId,
    ) -> Result<(), Verdict> {
        let client = eth(&request.client);
        if !self.book.depositors.contains(&client) {
            // Never deposited: nothing to read, whoever signed it.
            return Err(Verdict::Ignore("client_unfunded"));
        }
        if request.bid_window_ends > now_s().saturating_add(super::requests::MAX_BID_WINDOW_SECS) {
            return Err(Verdict::Ignore("bid_window_too_long"));
        }
        if let Some(read) = self.funds_read_within(&client, FUNDS_TTL_MS) {
            return self
                .book
                .requests
                .admit(request, read.free, now_s())
                .map(|_| ());
        }
        if self.funds_read_within(&client, ADMIT_TTL_MS).is_some() || self.can_park(source, &client)
        {
            Ok(())
        } else {
            Err(Verdict::Ignore("deposit_reads_busy"))
        }
    }

    /// Whether a request from `source` could wait for a read of `client`'s funds: one
    /// being read already, or a new read that `source` has room to start.
    fn can_park(&self, source: PeerId, client: &ethers::types::Address) -> bool {
        let started = self
            .prover
            .funds
            .reads_by_peer
            .get(&source)
            .copied()
            .unwrap_or(0);
        let parked = self
            .prover
            .funds
            .parked_by_peer
            .get(&source)
            .copied()
            .unwrap_or(0);
        self.prover.funds.parked < MAX_PARKED
            && parked < MAX_PARKED_PER_PEER
            && (self.prover.funds.reading.contains_key(client)
                || (self.prover.funds.reading.len() < MAX_READS && started < MAX_READS_PER_PEER))
    }

    /// Admits `request` to the request table, making room when the rule says so, or
    /// says why not; [`Verdict::Wait`] when its client's funds must be read first.
    /// Runs after [`Core::precheck_admission`] (every path to it checks the request
    /// first), so the client deposited and the window is short.
    pub(super) fn admit_request(&mut self, request: &JobRequest) -> Result<(), Verdict> {
        let client = eth(&request.client);
        let now = now_s();
        let admission = if let Some(read) = self.funds_read_within(&client, FUNDS_TTL_MS) {
            self.book.requests.admit(request, read.free, now)?
        } else {
            let read = self
                .funds_read_within(&client, ADMIT_TTL_MS)
                .ok_or(Verdict::Wait)?;
            match self.book.requests.admit(request, read.free, now) {
                Ok(admission) => admission,
                // The client may have deposited since: read again.
                Err(Verdict::Ignore("client_unfunded" | "client_requests_exceed_deposit")) => {
                    return Err(Verdict::Wait);
                }
                Err(verdict) => return Err(verdict),
            }
        };
        if let Admission::Evict(id) = admission {
            tracing::debug!(target: "market", evicted = %id, for_client = ?client, "request table full: the heaviest client's latest request makes room");
            self.book.requests.remove(&id);
            self.prover.my_bids.remove(&id);
        }
        Ok(())
    }

    /// Holds a request message until its client's funds are read, or says why it cannot
    /// wait (its message id back, and the reason it is ignored).
    pub(super) fn park(
        &mut self,
        id: MessageId,
        source: PeerId,
        envelope: VerifiedEnvelope,
    ) -> Result<(), (MessageId, &'static str)> {
        let Ok(request) = envelope.open::<JobRequest>() else {
            return Err((id, "invalid_payload"));
        };
        let client = eth(&request.client);
        if !self.can_park(source, &client) {
            return Err((id, "deposit_reads_busy"));
        }
        let new_read = !self.prover.funds.reading.contains_key(&client);
        if !self.start_read(client) {
            return Err((id, "deposit_reads_busy"));
        }
        let Some(reading) = self.prover.funds.reading.get_mut(&client) else {
            return Err((id, "deposit_reads_busy"));
        };
        if new_read {
            reading.started_by = Some(source);
            *self.prover.funds.reads_by_peer.entry(source).or_default() += 1;
        }
        reading.messages.push(Parked {
            id,
            source,
            envelope,
        });
        self.prover.funds.parked += 1;
        *self.prover.funds.parked_by_peer.entry(source).or_default() += 1;
        Ok(())
    }

    /// Judges again the messages that waited for a read (which came back, or failed).
    pub(super) async fn judge_parked(&mut self, messages: Vec<Parked>) {
        for Parked {
            id,
            source,
            envelope,
        } in messages
        {
            self.prover.funds.parked = self.prover.funds.parked.saturating_sub(1);
            if let Some(n) = self.prover.funds.parked_by_peer.get_mut(&source) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    self.prover.funds.parked_by_peer.remove(&source);
                }
            }
            self.judge_gossip(id, source, envelope, true).await;
        }
    }
}
