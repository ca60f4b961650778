//! Slashing evidence, built from what a prover committed and checked locally before it
//! goes anywhere near the chain.
//!
//! Each constructor refuses evidence that cannot hold whatever the chain says (hashes that
//! do not match the leaf, two leaves of different jobs, signatures that recover to the
//! wrong account); [`crate::Market`] then checks the rest against the chain with
//! `eth_call` (the leaf is in the batch's root, the window is open, the job is not already
//! slashed) before it spends gas.

use ethers::types::{Address as EthAddress, Bytes, U256};
use provernet_protocol::merkle::{MerkleTree, verify_path};
use provernet_protocol::{Address, CircuitId, FieldBytes, Hash32, JobId, JobLeaf};

use crate::bindings;
use crate::eip712::{self, Domain};

/// Why evidence was refused before sending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The leaf index is outside the batch.
    #[error("leaf {index} is outside a batch of {len}")]
    NoSuchLeaf {
        /// The index asked for.
        index: usize,
        /// The batch size.
        len: usize,
    },
    /// The Merkle path does not lead from the leaf to the batch's root.
    #[error("the leaf is not in batch {batch_id}'s root")]
    NotInBatch {
        /// The batch.
        batch_id: u64,
    },
    /// keccak256 of the public inputs is not the leaf's.
    #[error("the public inputs do not hash to the leaf's public inputs hash")]
    PublicInputsMismatch,
    /// keccak256 of the proof is not the leaf's.
    #[error("the proof does not hash to the leaf's proof hash")]
    ProofMismatch,
    /// The proof verifies, so an invalid-proof challenge would forfeit its bond.
    #[error("the proof verifies: an invalid-proof challenge would lose its bond to the prover")]
    ProofVerifies,
    /// The two leaves are of different jobs (id or client).
    #[error("the two leaves are of different jobs")]
    NotSameJob,
    /// The two leaves are identical.
    #[error("the two leaves are identical: that is not equivocation")]
    SameLeaf,
    /// The two batches were posted by different provers.
    #[error("the two batches were posted by different provers")]
    NotSameProver,
    /// A signature is malformed or recovers to the wrong account.
    #[error("the {which} signature does not recover to {expected:?}")]
    BadSignature {
        /// "award" or "acceptance".
        which: &'static str,
        /// Who should have signed.
        expected: EthAddress,
    },
    /// The acceptance and the award disagree on a field.
    #[error("the acceptance and the award disagree on {field}")]
    AcceptanceMismatch {
        /// The field.
        field: &'static str,
    },
    /// The deadline has not passed yet.
    #[error("the deadline {deadline} has not passed (now {now})")]
    DeadlineNotPassed {
        /// The deadline (unix seconds).
        deadline: u64,
        /// The time checked against.
        now: u64,
    },
}

/// A leaf and its Merkle path in batch `batch_id`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inclusion {
    /// The batch on chain.
    pub batch_id: u64,
    /// The leaf.
    pub leaf: JobLeaf,
    /// Sibling hashes from the leaf up.
    pub path: Vec<Hash32>,
}

impl Inclusion {
    /// The inclusion of `leaves[index]` in the batch made of `leaves`.
    ///
    /// # Errors
    /// [`EvidenceError::NoSuchLeaf`] if `index` is out of range (or `leaves` is empty).
    pub fn from_batch(
        batch_id: u64,
        leaves: &[JobLeaf],
        index: usize,
    ) -> Result<Self, EvidenceError> {
        let no_such = EvidenceError::NoSuchLeaf {
            index,
            len: leaves.len(),
        };
        let tree =
            MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()).ok_or(no_such.clone())?;
        let path = tree.path(index).ok_or(no_such.clone())?;
        let leaf = leaves.get(index).ok_or(no_such)?.clone();
        Ok(Self {
            batch_id,
            leaf,
            path,
        })
    }

    /// Whether the path leads from the leaf to `root`.
    pub fn verifies(&self, root: &Hash32) -> bool {
        verify_path(root, &self.leaf.hash(), &self.path)
    }

    /// The contract's `Inclusion`.
    pub fn to_abi(&self) -> bindings::Inclusion {
        bindings::Inclusion {
            batch_id: self.batch_id.into(),
            leaf: leaf_to_abi(&self.leaf),
            path: self.path.iter().map(|h| h.0).collect(),
        }
    }
}

/// The contract's `Leaf`.
pub fn leaf_to_abi(leaf: &JobLeaf) -> bindings::Leaf {
    bindings::Leaf {
        job_id: leaf.job_id.0,
        circuit_id: leaf.circuit_id.0,
        public_inputs_hash: leaf.public_inputs_hash.0,
        proof_hash: leaf.proof_hash.0,
        client: EthAddress::from(leaf.client.0),
        price: U256::from(leaf.price),
    }
}

/// A leaf as the contract published it in `BatchCommitted`; `None` if its price does
/// not fit 128 bits (the contract refuses such a leaf at commit).
pub fn leaf_from_abi(leaf: &bindings::Leaf) -> Option<JobLeaf> {
    Some(JobLeaf {
        job_id: JobId(leaf.job_id),
        circuit_id: CircuitId(leaf.circuit_id),
        public_inputs_hash: Hash32(leaf.public_inputs_hash),
        proof_hash: Hash32(leaf.proof_hash),
        client: Address(leaf.client.0),
        price: u128::try_from(leaf.price).ok()?,
    })
}

/// Public inputs as the contract takes them (`uint256[]`, 32-byte big-endian words).
pub fn inputs_to_abi(inputs: &[FieldBytes]) -> Vec<U256> {
    inputs.iter().map(|x| U256::from_big_endian(&x.0)).collect()
}

/// A committed proof that should not verify.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidProof {
    /// Where the leaf was committed.
    pub at: Inclusion,
    /// The public inputs the leaf commits to.
    pub public_inputs: Vec<FieldBytes>,
    /// The proof the leaf commits to.
    pub proof: Vec<u8>,
}

impl InvalidProof {
    /// Checks that the inputs and proof are the ones the leaf commits to. Whether the
    /// proof really fails is asked of the chain's verifier ([`crate::Market`]).
    ///
    /// # Errors
    /// [`EvidenceError::PublicInputsMismatch`], [`EvidenceError::ProofMismatch`].
    pub fn new(
        at: Inclusion,
        public_inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    ) -> Result<Self, EvidenceError> {
        check_matches(&at.leaf, &public_inputs, &proof)?;
        Ok(Self {
            at,
            public_inputs,
            proof,
        })
    }

    /// The proof as the contract takes it.
    pub fn proof_bytes(&self) -> Bytes {
        Bytes::from(self.proof.clone())
    }
}

/// Checks that `inputs` and `proof` hash to what `leaf` commits to.
///
/// # Errors
/// [`EvidenceError::PublicInputsMismatch`], [`EvidenceError::ProofMismatch`].
pub fn check_matches(
    leaf: &JobLeaf,
    inputs: &[FieldBytes],
    proof: &[u8],
) -> Result<(), EvidenceError> {
    if JobLeaf::public_inputs_hash(inputs) != leaf.public_inputs_hash {
        return Err(EvidenceError::PublicInputsMismatch);
    }
    if Hash32(provernet_protocol::keccak256(proof)) != leaf.proof_hash {
        return Err(EvidenceError::ProofMismatch);
    }
    Ok(())
}

/// A committed leaf whose proof nobody could obtain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithheldProof {
    /// Where the leaf was committed.
    pub at: Inclusion,
    /// The job's client buying the proof: its award of the leaf, shown (the leaf's price
    /// then moves from its reservation for the prover, then its deposit, into the
    /// challenge, for the prover on a reveal, and its bond comes back). Anyone else shows none: a plain challenge.
    pub purchase: Option<Purchase>,
}

/// What a client shows to buy the proof of its job's leaf: its award of the leaf to the
/// batch's prover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purchase {
    /// The client's nonce of the job (the job id derives from it).
    pub nonce: u64,
    /// The awarded deadline (unix seconds).
    pub deadline: u64,
    /// The client's 65-byte EIP-712 signature of the award.
    pub signature: Vec<u8>,
}

/// A prover that accepted a job and did not commit it by the deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissedDeadline {
    /// The prover's acceptance.
    pub acceptance: eip712::Acceptance,
    /// Its signature by the prover.
    pub prover_signature: Vec<u8>,
    /// The client's award.
    pub award: eip712::Award,
    /// Its signature by the client.
    pub client_signature: Vec<u8>,
}

impl MissedDeadline {
    /// Checks both signatures against `domain`, that the acceptance and the award are of
    /// the same job, client, price, deadline and statement, and that the deadline is before `now`.
    ///
    /// # Errors
    /// [`EvidenceError::BadSignature`], [`EvidenceError::AcceptanceMismatch`],
    /// [`EvidenceError::DeadlineNotPassed`].
    pub fn new(
        domain: &Domain,
        acceptance: eip712::Acceptance,
        prover_signature: Vec<u8>,
        award: eip712::Award,
        client_signature: Vec<u8>,
        now: u64,
    ) -> Result<Self, EvidenceError> {
        let client = acceptance.client;
        if eip712::recover(domain.award_digest(&award), &client_signature) != Some(client) {
            return Err(EvidenceError::BadSignature {
                which: "award",
                expected: client,
            });
        }
        if eip712::recover(domain.acceptance_digest(&acceptance), &prover_signature)
            != Some(award.prover)
        {
            return Err(EvidenceError::BadSignature {
                which: "acceptance",
                expected: award.prover,
            });
        }
        let mismatch = |field| Err(EvidenceError::AcceptanceMismatch { field });
        if acceptance.job_id != award.job_id {
            return mismatch("job id");
        }
        if acceptance.price != award.price {
            return mismatch("price");
        }
        if acceptance.deadline != award.deadline {
            return mismatch("deadline");
        }
        if (acceptance.circuit_id, acceptance.public_inputs_hash)
            != (award.circuit_id, award.public_inputs_hash)
        {
            return mismatch("statement");
        }
        if now <= award.deadline {
            return Err(EvidenceError::DeadlineNotPassed {
                deadline: award.deadline,
                now,
            });
        }
        Ok(Self {
            acceptance,
            prover_signature,
            award,
            client_signature,
        })
    }
}

/// Two different leaves for one job in batches of one prover.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// One leaf.
    pub a: Inclusion,
    /// The other.
    pub b: Inclusion,
}

impl Equivocation {
    /// Checks the leaves are of one job (id and client) and differ. That both batches are
    /// the same prover's is checked against the chain.
    ///
    /// # Errors
    /// [`EvidenceError::NotSameJob`], [`EvidenceError::SameLeaf`].
    pub fn new(a: Inclusion, b: Inclusion) -> Result<Self, EvidenceError> {
        if a.leaf.job_id != b.leaf.job_id || a.leaf.client != b.leaf.client {
            return Err(EvidenceError::NotSameJob);
        }
        if a.leaf.hash() == b.leaf.hash() {
            return Err(EvidenceError::SameLeaf);
        }
        Ok(Self { a, b })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provernet_protocol::{Address, CircuitId, JobId};

    fn leaf(i: u8) -> JobLeaf {
        JobLeaf {
            job_id: JobId([i; 32]),
            circuit_id: CircuitId([9; 32]),
            public_inputs_hash: JobLeaf::public_inputs_hash(&[FieldBytes([i; 32])]),
            proof_hash: Hash32(provernet_protocol::keccak256(&[i])),
            client: Address([5; 20]),
            price: u128::from(i) + 1,
        }
    }

    #[test]
    fn inclusion_paths_verify_against_the_batch_root() {
        let leaves: Vec<JobLeaf> = (0..5).map(leaf).collect();
        let root = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect())
            .expect("non-empty")
            .root();
        for i in 0..5 {
            let at = Inclusion::from_batch(3, &leaves, i).expect("in range");
            assert!(at.verifies(&root));
            assert_eq!(at.to_abi().batch_id, 3u64.into());
        }
        assert_eq!(
            Inclusion::from_batch(0, &leaves, 5),
            Err(EvidenceError::NoSuchLeaf { index: 5, len: 5 })
        );
        let mut at = Inclusion::from_batch(0, &leaves, 1).expect("in range");
        at.leaf.price += 1;
        assert!(!at.verifies(&root));
    }

    #[test]
    fn invalid_proof_evidence_must_match_the_leaf() {
        let leaves = vec![leaf(1)];
        let at = Inclusion::from_batch(0, &leaves, 0).expect("in range");
        assert!(InvalidProof::new(at.clone(), vec![FieldBytes([1; 32])], vec![1]).is_ok());
        assert_eq!(
            InvalidProof::new(at.clone(), vec![FieldBytes([2; 32])], vec![1]),
            Err(EvidenceError::PublicInputsMismatch)
        );
        assert_eq!(
            InvalidProof::new(at, vec![FieldBytes([1; 32])], vec![1, 0]),
            Err(EvidenceError::ProofMismatch)
        );
    }

    #[test]
    fn equivocation_needs_two_different_leaves_of_one_job() {
        let a = Inclusion::from_batch(0, &[leaf(1)], 0).expect("in range");
        let mut other = leaf(1);
        other.proof_hash = Hash32([0; 32]);
        let b = Inclusion::from_batch(1, &[other], 0).expect("in range");
        assert!(Equivocation::new(a.clone(), b).is_ok());
        assert_eq!(
            Equivocation::new(a.clone(), a.clone()),
            Err(EvidenceError::SameLeaf)
        );
        let c = Inclusion::from_batch(1, &[leaf(2)], 0).expect("in range");
        assert_eq!(Equivocation::new(a, c), Err(EvidenceError::NotSameJob));
    }
}
