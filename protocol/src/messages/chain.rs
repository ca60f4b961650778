//! Gossiped notices of what happened on chain: commitments and challenges.

use provernet_proto::v1;

use super::wire::{amount, fixed, fixed_list, in_range, nonzero};
use super::{PayloadError, amount_to_wire, payload};
use crate::kind::{MAX_BATCH_SIZE, MAX_MERKLE_DEPTH};
use crate::merkle;
use crate::primitives::{Address, CircuitId, FieldBytes, Hash32, JobId, Wei, keccak256};

/// What a batch commits to for one job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobLeaf {
    /// The job.
    pub job_id: JobId,
    /// The circuit the proof is for.
    pub circuit_id: CircuitId,
    /// [`JobLeaf::public_inputs_hash`] of the public inputs.
    pub public_inputs_hash: Hash32,
    /// keccak256 of the proof bytes.
    pub proof_hash: Hash32,
    /// The paying client.
    pub client: Address,
    /// The awarded price.
    pub price: Wei,
}

impl JobLeaf {
    /// keccak256 of the public inputs, each 32 bytes big-endian, concatenated (what
    /// Solidity's `keccak256(abi.encodePacked(uint256[]))` gives).
    pub fn public_inputs_hash(inputs: &[FieldBytes]) -> Hash32 {
        let bytes: Vec<u8> = inputs.iter().flat_map(|x| x.0).collect();
        Hash32(keccak256(&bytes))
    }

    /// The leaf: keccak256(abi.encode(jobId, circuitId, publicInputsHash, proofHash,
    /// client, price)), six 32-byte words.
    pub fn hash(&self) -> Hash32 {
        let mut words = [0u8; 192];
        words[0..32].copy_from_slice(&self.job_id.0);
        words[32..64].copy_from_slice(&self.circuit_id.0);
        words[64..96].copy_from_slice(&self.public_inputs_hash.0);
        words[96..128].copy_from_slice(&self.proof_hash.0);
        words[140..160].copy_from_slice(&self.client.0);
        words[176..192].copy_from_slice(&self.price.to_be_bytes());
        Hash32(keccak256(&words))
    }

    pub(crate) fn parse(wire: v1::JobLeaf) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("leaf.job_id", &wire.job_id)?,
            circuit_id: fixed("leaf.circuit_id", &wire.circuit_id)?,
            public_inputs_hash: fixed("leaf.public_inputs_hash", &wire.public_inputs_hash)?,
            proof_hash: fixed("leaf.proof_hash", &wire.proof_hash)?,
            client: fixed("leaf.client_address", &wire.client_address)?,
            price: amount("leaf.price", &wire.price)?,
        })
    }
}

impl From<&JobLeaf> for v1::JobLeaf {
    fn from(m: &JobLeaf) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            circuit_id: m.circuit_id.0.to_vec(),
            public_inputs_hash: m.public_inputs_hash.0.to_vec(),
            proof_hash: m.proof_hash.0.to_vec(),
            client_address: m.client.0.to_vec(),
            price: amount_to_wire(m.price),
        }
    }
}

/// A prover committed a batch holding a job's leaf. The path is checked against the root
/// here; whether the root is really on chain under that prover is the node's check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitmentNotice {
    /// The committing prover, non-zero.
    pub prover: Address,
    /// The batch root posted on chain.
    pub batch_root: Hash32,
    /// Leaves in the batch, 1..=[`MAX_BATCH_SIZE`].
    pub batch_size: u32,
    /// The leaf's index, below `batch_size`.
    pub leaf_index: u32,
    /// The job's leaf content.
    pub leaf: JobLeaf,
    /// Siblings from leaf to root, at most [`MAX_MERKLE_DEPTH`]; must lead to `batch_root`.
    pub merkle_path: Vec<Hash32>,
    /// The block in which the root was posted.
    pub commit_block: u64,
}

impl CommitmentNotice {
    fn parse(wire: v1::CommitmentNotice) -> Result<Self, PayloadError> {
        Ok(Self {
            prover: fixed("prover_address", &wire.prover_address)?,
            batch_root: fixed("batch_root", &wire.batch_root)?,
            batch_size: wire.batch_size,
            leaf_index: wire.leaf_index,
            leaf: JobLeaf::parse(wire.leaf.ok_or(PayloadError::Zero { field: "leaf" })?)?,
            merkle_path: fixed_list("merkle_path", &wire.merkle_path, MAX_MERKLE_DEPTH)?,
            commit_block: wire.commit_block,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("prover_address", self.prover.0)?;
        in_range(
            "batch_size",
            self.batch_size.into(),
            1,
            MAX_BATCH_SIZE.into(),
        )?;
        in_range(
            "leaf_index",
            self.leaf_index.into(),
            0,
            u64::from(self.batch_size) - 1,
        )?;
        if self.merkle_path.len() > MAX_MERKLE_DEPTH {
            return Err(PayloadError::TooLong {
                field: "merkle_path",
                max: MAX_MERKLE_DEPTH,
                got: self.merkle_path.len(),
            });
        }
        if !merkle::verify_path(&self.batch_root, &self.leaf.hash(), &self.merkle_path) {
            return Err(PayloadError::MerklePath);
        }
        Ok(())
    }
}

impl From<&CommitmentNotice> for v1::CommitmentNotice {
    fn from(m: &CommitmentNotice) -> Self {
        Self {
            prover_address: m.prover.0.to_vec(),
            batch_root: m.batch_root.0.to_vec(),
            batch_size: m.batch_size,
            leaf_index: m.leaf_index,
            leaf: Some(v1::JobLeaf::from(&m.leaf)),
            merkle_path: m.merkle_path.iter().map(|h| h.0.to_vec()).collect(),
            commit_block: m.commit_block,
        }
    }
}

payload!(CommitmentNotice, v1::CommitmentNotice, CommitmentNotice);

/// The slashable faults of docs/economics.md and ../shared/DESIGN.md.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChallengeKind {
    /// The committed proof does not verify.
    InvalidProof,
    /// The prover did not serve the committed proof.
    WithheldProof,
    /// The prover did not commit by its accepted deadline.
    MissedDeadline,
    /// The prover committed two different leaves for one job.
    Equivocation,
}

impl ChallengeKind {
    fn from_wire(value: i32) -> Result<Self, PayloadError> {
        match v1::ChallengeKind::try_from(value) {
            Ok(v1::ChallengeKind::InvalidProof) => Ok(Self::InvalidProof),
            Ok(v1::ChallengeKind::WithheldProof) => Ok(Self::WithheldProof),
            Ok(v1::ChallengeKind::MissedDeadline) => Ok(Self::MissedDeadline),
            Ok(v1::ChallengeKind::Equivocation) => Ok(Self::Equivocation),
            Ok(v1::ChallengeKind::Unspecified) | Err(_) => Err(PayloadError::UnknownEnum {
                field: "kind",
                value,
            }),
        }
    }

    fn to_wire(self) -> v1::ChallengeKind {
        match self {
            Self::InvalidProof => v1::ChallengeKind::InvalidProof,
            Self::WithheldProof => v1::ChallengeKind::WithheldProof,
            Self::MissedDeadline => v1::ChallengeKind::MissedDeadline,
            Self::Equivocation => v1::ChallengeKind::Equivocation,
        }
    }
}

/// A challenge landed on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeNotice {
    /// The challenged job.
    pub job_id: JobId,
    /// The fault alleged.
    pub kind: ChallengeKind,
    /// The challenged prover, non-zero.
    pub prover: Address,
    /// Who challenged, non-zero.
    pub challenger: Address,
    /// The challenge transaction.
    pub tx_hash: Hash32,
    /// Its block, non-zero.
    pub block: u64,
}

impl ChallengeNotice {
    fn parse(wire: v1::ChallengeNotice) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            kind: ChallengeKind::from_wire(wire.kind)?,
            prover: fixed("prover_address", &wire.prover_address)?,
            challenger: fixed("challenger_address", &wire.challenger_address)?,
            tx_hash: fixed("tx_hash", &wire.tx_hash)?,
            block: wire.block,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        nonzero("prover_address", self.prover.0)?;
        nonzero("challenger_address", self.challenger.0)?;
        nonzero("block", self.block)?;
        Ok(())
    }
}

impl From<&ChallengeNotice> for v1::ChallengeNotice {
    fn from(m: &ChallengeNotice) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            kind: m.kind.to_wire().into(),
            prover_address: m.prover.0.to_vec(),
            challenger_address: m.challenger.0.to_vec(),
            tx_hash: m.tx_hash.0.to_vec(),
            block: m.block,
        }
    }
}

payload!(ChallengeNotice, v1::ChallengeNotice, ChallengeNotice);
