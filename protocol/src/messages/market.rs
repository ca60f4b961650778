//! Gossiped market messages: request, bid, award, acceptance, advert.

use std::collections::HashSet;

use provernet_proto::v1;

use super::wire::{amount, fixed, fixed_list, in_range, nonzero};
use super::{PayloadError, amount_to_wire, payload};
use crate::kind::{MAX_ADVERTISED_CIRCUITS, MAX_AUCTION_ROUNDS, MAX_INPUT_BYTES};
use crate::primitives::{
    Address, CircuitId, EthSignature, Hash32, JobId, PeerKey, Wei, keccak256_concat,
};

/// Domain tag of the job id derivation.
const JOB_ID_TAG: &[u8] = b"provernet/job-id/v1";

/// A client asks for a proof of `circuit_id` over inputs hashing to `input_hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobRequest {
    /// The circuit to prove.
    pub circuit_id: CircuitId,
    /// keccak256 of the input bytes.
    pub input_hash: Hash32,
    /// keccak256 of the public inputs (32-byte words) of the statement to prove, computed by
    /// the client from its input: the award binds it (with the circuit), so a proof of any
    /// other statement is neither paid nor an answer to a missed deadline.
    pub public_inputs_hash: Hash32,
    /// Length of the input bytes, 1..=[`MAX_INPUT_BYTES`].
    pub input_size: u32,
    /// The most the client pays, non-zero.
    pub max_price: Wei,
    /// End of the bid window (unix seconds), before `proving_deadline`.
    pub bid_window_ends: u64,
    /// Proof due (unix seconds).
    pub proving_deadline: u64,
    /// The client's Ethereum address, non-zero.
    pub client: Address,
    /// Client-chosen, unique per client.
    pub nonce: u64,
    /// Auction round, below [`MAX_AUCTION_ROUNDS`].
    pub round: u32,
    /// The client's EIP-712 signature binding the job id to the envelope's signer (see
    /// `provernet_slashing::eip712::Request`); nodes check it, as they know the domain.
    pub client_signature: EthSignature,
    /// The circuit's name, at most [`MAX_CIRCUIT_NAME`] bytes of `[a-z0-9-]`, possibly
    /// empty. Not signed by the client and not trusted: a node that does not know
    /// `circuit_id` may derive a circuit from it, and uses that circuit only if the id it
    /// derives is `circuit_id`.
    pub circuit_name: String,
}

/// The longest circuit name a request may carry, bytes: an eight-layer model's name of
/// four-digit widths is 54.
pub const MAX_CIRCUIT_NAME: usize = 64;

/// A job's id: keccak256(tag ‖ client ‖ nonce as 8 bytes big-endian), as the market's
/// `jobIdOf` derives it.
pub fn job_id_of(client: &Address, nonce: u64) -> JobId {
    JobId(keccak256_concat(&[
        JOB_ID_TAG,
        client.as_bytes(),
        &nonce.to_be_bytes(),
    ]))
}

impl JobRequest {
    /// The job's id ([`job_id_of`] its client and nonce). Every peer derives it, so it is
    /// never sent and no client can claim another's job id.
    pub fn job_id(&self) -> JobId {
        job_id_of(&self.client, self.nonce)
    }

    fn parse(wire: v1::JobRequest) -> Result<Self, PayloadError> {
        Ok(Self {
            circuit_id: fixed("circuit_id", &wire.circuit_id)?,
            input_hash: fixed("input_hash", &wire.input_hash)?,
            public_inputs_hash: fixed("public_inputs_hash", &wire.public_inputs_hash)?,
            input_size: wire.input_size,
            max_price: amount("max_price", &wire.max_price)?,
            bid_window_ends: wire.bid_window_ends,
            proving_deadline: wire.proving_deadline,
            client: fixed("client_address", &wire.client_address)?,
            nonce: wire.nonce,
            round: wire.round,
            client_signature: fixed("client_signature", &wire.client_signature)?,
            circuit_name: wire.circuit_name,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        in_range(
            "input_size",
            self.input_size.into(),
            1,
            MAX_INPUT_BYTES.into(),
        )?;
        nonzero("max_price", self.max_price)?;
        nonzero("client_address", self.client.0)?;
        nonzero("bid_window_ends", self.bid_window_ends)?;
        in_range(
            "round",
            self.round.into(),
            0,
            u64::from(MAX_AUCTION_ROUNDS) - 1,
        )?;
        if self.bid_window_ends >= self.proving_deadline {
            return Err(PayloadError::Inconsistent(
                "the bid window must end before the deadline",
            ));
        }
        let name_char = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
        if self.circuit_name.len() > MAX_CIRCUIT_NAME || !self.circuit_name.bytes().all(name_char) {
            return Err(PayloadError::Inconsistent(
                "a circuit name is at most 64 bytes of [a-z0-9-]",
            ));
        }
        Ok(())
    }
}

impl From<&JobRequest> for v1::JobRequest {
    fn from(m: &JobRequest) -> Self {
        Self {
            circuit_id: m.circuit_id.0.to_vec(),
            input_hash: m.input_hash.0.to_vec(),
            input_size: m.input_size,
            max_price: amount_to_wire(m.max_price),
            bid_window_ends: m.bid_window_ends,
            proving_deadline: m.proving_deadline,
            client_address: m.client.0.to_vec(),
            nonce: m.nonce,
            round: m.round,
            client_signature: m.client_signature.0.to_vec(),
            public_inputs_hash: m.public_inputs_hash.0.to_vec(),
            circuit_name: m.circuit_name.clone(),
        }
    }
}

payload!(JobRequest, v1::JobRequest, JobRequest);

/// A prover's offer for one round of a job. Whether the price is within the request's
/// maximum and the prover is staked is checked by the node, which knows the request and
/// the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Bid {
    /// The job.
    pub job_id: JobId,
    /// The auction round it bids in.
    pub round: u32,
    /// Asked price, non-zero.
    pub price: Wei,
    /// When the prover promises to have committed the proof (unix seconds), non-zero.
    pub promised_deadline: u64,
    /// The prover's staked address, non-zero.
    pub prover: Address,
    /// EIP-712 signature of (job, price, deadline) by `prover`.
    pub signature: EthSignature,
}

impl Bid {
    fn parse(wire: v1::Bid) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            round: wire.round,
            price: amount("price", &wire.price)?,
            promised_deadline: wire.promised_deadline,
            prover: fixed("prover_address", &wire.prover_address)?,
            signature: fixed("eip712_signature", &wire.eip712_signature)?,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("price", self.price)?;
        nonzero("promised_deadline", self.promised_deadline)?;
        nonzero("prover_address", self.prover.0)?;
        in_range(
            "round",
            self.round.into(),
            0,
            u64::from(MAX_AUCTION_ROUNDS) - 1,
        )
    }
}

impl From<&Bid> for v1::Bid {
    fn from(m: &Bid) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            round: m.round,
            price: amount_to_wire(m.price),
            promised_deadline: m.promised_deadline,
            prover_address: m.prover.0.to_vec(),
            eip712_signature: m.signature.0.to_vec(),
        }
    }
}

payload!(Bid, v1::Bid, Bid);

/// The client's choice of winner for one round, gossiped twice: first as the **selection**
/// (`signature` all zero), which lets the winner fetch the input and accept; then, once the
/// client has the winner's acceptance in time, **signed** (the EIP-712 award the contract
/// pays). A winner that never accepted holds no signed award, so it can claim nothing,
/// whatever it commits (issue "Sound mechanism", property 3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Award {
    /// The job.
    pub job_id: JobId,
    /// The round this award closes.
    pub round: u32,
    /// The winner's Ethereum address, non-zero.
    pub prover: Address,
    /// The winner's ed25519 key (the signer of its bid envelope).
    pub prover_key: PeerKey,
    /// The winning price, non-zero.
    pub price: Wei,
    /// The winning bid's promised deadline (unix seconds), non-zero.
    pub deadline: u64,
    /// The client's EIP-712 award signature (job, prover, price, deadline and the
    /// request's statement), or 65 zero bytes in the selection.
    pub signature: EthSignature,
}

impl Award {
    /// Whether this is the signed award rather than the selection.
    pub fn is_signed(&self) -> bool {
        self.signature.0 != [0; 65]
    }

    /// The selection this award is, or was before it was signed.
    pub fn selection(&self) -> Self {
        Self {
            signature: EthSignature([0; 65]),
            ..self.clone()
        }
    }

    fn parse(wire: v1::Award) -> Result<Self, PayloadError> {
        let key: [u8; 32] = fixed("prover_key", &wire.prover_key)?;
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            round: wire.round,
            prover: fixed("prover_address", &wire.prover_address)?,
            prover_key: PeerKey::from_bytes(&key).ok_or(PayloadError::InvalidKey {
                field: "prover_key",
            })?,
            price: amount("price", &wire.price)?,
            deadline: wire.deadline,
            signature: fixed("eip712_signature", &wire.eip712_signature)?,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("price", self.price)?;
        nonzero("deadline", self.deadline)?;
        nonzero("prover_address", self.prover.0)?;
        in_range(
            "round",
            self.round.into(),
            0,
            u64::from(MAX_AUCTION_ROUNDS) - 1,
        )
    }
}

impl From<&Award> for v1::Award {
    fn from(m: &Award) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            round: m.round,
            prover_address: m.prover.0.to_vec(),
            prover_key: m.prover_key.as_bytes().to_vec(),
            price: amount_to_wire(m.price),
            deadline: m.deadline,
            eip712_signature: m.signature.0.to_vec(),
        }
    }
}

payload!(Award, v1::Award, Award);

/// The winner's binding promise, made after it fetched and checked the inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// The job.
    pub job_id: JobId,
    /// The round whose award it accepts.
    pub round: u32,
    /// keccak256 of the inputs it received.
    pub input_hash: Hash32,
    /// The awarded price, non-zero.
    pub price: Wei,
    /// The awarded deadline (unix seconds), non-zero.
    pub deadline: u64,
    /// EIP-712 signature of (job, client, input hash, price, deadline) by the prover; the
    /// client is the request's (`provernet_slashing::eip712::Acceptance`).
    pub signature: EthSignature,
}

impl Acceptance {
    fn parse(wire: v1::Acceptance) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            round: wire.round,
            input_hash: fixed("input_hash", &wire.input_hash)?,
            price: amount("price", &wire.price)?,
            deadline: wire.deadline,
            signature: fixed("eip712_signature", &wire.eip712_signature)?,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("price", self.price)?;
        nonzero("deadline", self.deadline)?;
        in_range(
            "round",
            self.round.into(),
            0,
            u64::from(MAX_AUCTION_ROUNDS) - 1,
        )
    }
}

impl From<&Acceptance> for v1::Acceptance {
    fn from(m: &Acceptance) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            round: m.round,
            input_hash: m.input_hash.0.to_vec(),
            price: amount_to_wire(m.price),
            deadline: m.deadline,
            eip712_signature: m.signature.0.to_vec(),
        }
    }
}

payload!(Acceptance, v1::Acceptance, Acceptance);

/// A prover announces what it proves and how busy it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProverAdvert {
    /// The address its stake is registered under, non-zero.
    pub stake_address: Address,
    /// Circuits it proves: 1..=[`MAX_ADVERTISED_CIRCUITS`], no duplicates.
    pub circuits: Vec<CircuitId>,
    /// Jobs it proves at once, non-zero.
    pub capacity: u32,
    /// Accepted jobs not yet committed.
    pub queued: u32,
}

impl ProverAdvert {
    fn parse(wire: v1::ProverAdvert) -> Result<Self, PayloadError> {
        Ok(Self {
            stake_address: fixed("stake_address", &wire.stake_address)?,
            circuits: fixed_list("circuits", &wire.circuits, MAX_ADVERTISED_CIRCUITS)?,
            capacity: wire.capacity,
            queued: wire.queued,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("stake_address", self.stake_address.0)?;
        nonzero("capacity", self.capacity)?;
        in_range(
            "circuits",
            self.circuits.len() as u64,
            1,
            MAX_ADVERTISED_CIRCUITS as u64,
        )?;
        let mut seen = HashSet::with_capacity(self.circuits.len());
        if !self.circuits.iter().all(|c| seen.insert(c)) {
            return Err(PayloadError::Duplicate { field: "circuits" });
        }
        Ok(())
    }
}

impl From<&ProverAdvert> for v1::ProverAdvert {
    fn from(m: &ProverAdvert) -> Self {
        Self {
            stake_address: m.stake_address.0.to_vec(),
            circuits: m.circuits.iter().map(|c| c.0.to_vec()).collect(),
            capacity: m.capacity,
            queued: m.queued,
        }
    }
}

payload!(ProverAdvert, v1::ProverAdvert, ProverAdvert);
