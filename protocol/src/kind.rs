//! Message kinds and the size each may take on the wire.

use std::fmt;

use provernet_proto::v1;

/// Largest input a job may carry (the bytes the winner fetches from the client).
pub const MAX_INPUT_BYTES: u32 = 1 << 20;
/// Largest proof a job may produce.
pub const MAX_PROOF_BYTES: usize = 64 << 10;
/// Most public inputs a proof may have.
pub const MAX_PUBLIC_INPUTS: usize = 1024;
/// Deepest Merkle path a commitment notice may carry.
pub const MAX_MERKLE_DEPTH: usize = 32;
/// Most leaves a batch may have.
pub const MAX_BATCH_SIZE: u32 = 1 << 9;
/// Most leaves a prover sends in one [`crate::BatchResponse`] (a larger batch is audited
/// from its commitment notices only).
pub const MAX_BATCH_LEAVES_SERVED: usize = 4096;
/// Bytes one leaf takes in a [`crate::BatchResponse`]: six fields of tag, length and
/// value (four 32-byte hashes, a 20-byte address, a 32-byte amount), plus its own tag and
/// two-byte length.
const SERVED_LEAF_BYTES: usize = 4 * 34 + 22 + 34 + 3;
/// Most circuits a prover may advertise.
pub const MAX_ADVERTISED_CIRCUITS: usize = 64;
/// Most auction rounds a job may go through (the first plus re-auctions).
pub const MAX_AUCTION_ROUNDS: u32 = 16;

/// What an envelope carries. The kind is part of the signed bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// [`crate::JobRequest`], gossiped by a client.
    JobRequest,
    /// [`crate::Bid`], gossiped by a prover.
    Bid,
    /// [`crate::Award`], gossiped by a client.
    Award,
    /// [`crate::Acceptance`], gossiped by the winning prover.
    Acceptance,
    /// [`crate::InputRequest`], sent by the winner to the client.
    InputRequest,
    /// [`crate::InputResponse`], the client's answer.
    InputResponse,
    /// [`crate::ProofRequest`], sent to whoever holds a proof.
    ProofRequest,
    /// [`crate::ProofResponse`], a proof and its public inputs.
    ProofResponse,
    /// [`crate::CommitmentNotice`], gossiped by a prover after `commitBatch`.
    CommitmentNotice,
    /// [`crate::ChallengeNotice`], gossiped by a challenger.
    ChallengeNotice,
    /// [`crate::ProverAdvert`], gossiped by a prover.
    ProverAdvert,
    /// [`crate::BatchRequest`], sent by a watchtower to a prover.
    BatchRequest,
    /// [`crate::BatchResponse`], the prover's answer.
    BatchResponse,
}

impl MessageKind {
    /// Every kind, in wire order.
    pub const ALL: [MessageKind; 13] = [
        Self::JobRequest,
        Self::Bid,
        Self::Award,
        Self::Acceptance,
        Self::InputRequest,
        Self::InputResponse,
        Self::ProofRequest,
        Self::ProofResponse,
        Self::CommitmentNotice,
        Self::ChallengeNotice,
        Self::ProverAdvert,
        Self::BatchRequest,
        Self::BatchResponse,
    ];

    /// The largest payload (encoded message) this kind may have. Each bound is a little
    /// above the largest valid message of the kind; a test checks that the largest
    /// valid message of every kind fits.
    pub const fn max_payload_len(self) -> usize {
        match self {
            Self::JobRequest | Self::Bid | Self::Award | Self::Acceptance => 512,
            Self::InputRequest | Self::ProofRequest => 128,
            Self::BatchRequest => 16,
            Self::BatchResponse => MAX_BATCH_LEAVES_SERVED * SERVED_LEAF_BYTES + 64,
            Self::ChallengeNotice => 256,
            Self::CommitmentNotice => 2 << 10,
            Self::ProverAdvert => 4 << 10,
            Self::InputResponse => MAX_INPUT_BYTES as usize + 128,
            Self::ProofResponse => MAX_PROOF_BYTES + MAX_PUBLIC_INPUTS * 34 + 256,
        }
    }

    /// The largest envelope of any kind, in bytes: the largest payload plus room for
    /// the envelope's own fields.
    pub const fn max_envelope_len() -> usize {
        let mut max = 0;
        let mut i = 0;
        while i < Self::ALL.len() {
            let len = Self::ALL[i].max_payload_len();
            if len > max {
                max = len;
            }
            i += 1;
        }
        max + ENVELOPE_OVERHEAD
    }

    /// Whether this kind is sent as a request-response request: the asks, and a proof
    /// pushed to its client.
    pub const fn is_request(self) -> bool {
        matches!(
            self,
            Self::InputRequest | Self::ProofRequest | Self::BatchRequest | Self::ProofResponse
        )
    }

    /// The largest envelope a request may be ([`MessageKind::is_request`]): what a node
    /// reads of a request frame at most, far below the largest response (an input).
    pub const fn max_request_envelope_len() -> usize {
        let mut max = 0;
        let mut i = 0;
        while i < Self::ALL.len() {
            let len = Self::ALL[i].max_payload_len();
            if Self::ALL[i].is_request() && len > max {
                max = len;
            }
            i += 1;
        }
        max + ENVELOPE_OVERHEAD
    }

    /// Whether this kind is gossiped (as opposed to sent by request-response).
    pub const fn is_gossip(self) -> bool {
        matches!(
            self,
            Self::JobRequest
                | Self::Bid
                | Self::Award
                | Self::Acceptance
                | Self::CommitmentNotice
                | Self::ChallengeNotice
                | Self::ProverAdvert
        )
    }

    /// The number this kind has on the wire and in the signed bytes.
    pub fn to_wire(self) -> v1::MessageKind {
        match self {
            Self::JobRequest => v1::MessageKind::JobRequest,
            Self::Bid => v1::MessageKind::Bid,
            Self::Award => v1::MessageKind::Award,
            Self::Acceptance => v1::MessageKind::Acceptance,
            Self::InputRequest => v1::MessageKind::InputRequest,
            Self::InputResponse => v1::MessageKind::InputResponse,
            Self::ProofRequest => v1::MessageKind::ProofRequest,
            Self::ProofResponse => v1::MessageKind::ProofResponse,
            Self::CommitmentNotice => v1::MessageKind::CommitmentNotice,
            Self::ChallengeNotice => v1::MessageKind::ChallengeNotice,
            Self::ProverAdvert => v1::MessageKind::ProverAdvert,
            Self::BatchRequest => v1::MessageKind::BatchRequest,
            Self::BatchResponse => v1::MessageKind::BatchResponse,
        }
    }

    /// The kind with wire number `value`, if there is one (0, "unspecified", is none).
    pub fn from_wire(value: i32) -> Option<Self> {
        let kind = match v1::MessageKind::try_from(value).ok()? {
            v1::MessageKind::Unspecified => return None,
            v1::MessageKind::JobRequest => Self::JobRequest,
            v1::MessageKind::Bid => Self::Bid,
            v1::MessageKind::Award => Self::Award,
            v1::MessageKind::Acceptance => Self::Acceptance,
            v1::MessageKind::InputRequest => Self::InputRequest,
            v1::MessageKind::InputResponse => Self::InputResponse,
            v1::MessageKind::ProofRequest => Self::ProofRequest,
            v1::MessageKind::ProofResponse => Self::ProofResponse,
            v1::MessageKind::CommitmentNotice => Self::CommitmentNotice,
            v1::MessageKind::ChallengeNotice => Self::ChallengeNotice,
            v1::MessageKind::ProverAdvert => Self::ProverAdvert,
            v1::MessageKind::BatchRequest => Self::BatchRequest,
            v1::MessageKind::BatchResponse => Self::BatchResponse,
        };
        Some(kind)
    }

    /// A short name for logs and metrics labels.
    pub const fn name(self) -> &'static str {
        match self {
            Self::JobRequest => "job_request",
            Self::Bid => "bid",
            Self::Award => "award",
            Self::Acceptance => "acceptance",
            Self::InputRequest => "input_request",
            Self::InputResponse => "input_response",
            Self::ProofRequest => "proof_request",
            Self::ProofResponse => "proof_response",
            Self::CommitmentNotice => "commitment_notice",
            Self::ChallengeNotice => "challenge_notice",
            Self::ProverAdvert => "prover_advert",
            Self::BatchRequest => "batch_request",
            Self::BatchResponse => "batch_response",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Bytes an envelope adds around its payload, at most: version, chain id, kind and
/// expiry varints, the 32-byte key, the 64-byte signature, tags and length prefixes.
pub(crate) const ENVELOPE_OVERHEAD: usize = 192;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_bounded_far_below_responses() {
        let request = MessageKind::max_request_envelope_len();
        for kind in MessageKind::ALL {
            if kind.is_request() {
                assert!(
                    kind.max_payload_len() + ENVELOPE_OVERHEAD <= request,
                    "{kind}"
                );
            }
            assert!(!(kind.is_request() && kind.is_gossip()), "{kind}");
        }
        // A pushed proof is the largest request; an input response is ten times larger.
        assert_eq!(
            request,
            MessageKind::ProofResponse.max_payload_len() + ENVELOPE_OVERHEAD
        );
        assert!(request * 10 < MessageKind::max_envelope_len());
    }

    #[test]
    fn wire_numbers_round_trip() {
        for kind in MessageKind::ALL {
            assert_eq!(MessageKind::from_wire(kind.to_wire() as i32), Some(kind));
        }
        assert_eq!(MessageKind::from_wire(0), None);
        assert_eq!(MessageKind::from_wire(14), None);
        assert_eq!(MessageKind::from_wire(-1), None);
    }
}
