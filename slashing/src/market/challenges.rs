//! [`Market`]'s challenges: each sent by commit–reveal after an `eth_call` shows the
//! market would take it, and the answers to them.

use ethers::abi::Detokenize;
use ethers::contract::{ContractCall, ContractError};
use ethers::providers::Middleware;
use ethers::types::{Address, BlockNumber, Bytes, TransactionReceipt, U256};
use provernet_protocol::FieldBytes;

use super::{ChainError, Market, contract_error, events_of, not_committed};
use crate::bindings::{self, ProverMarketEvents};
use crate::eip712;
use crate::evidence::{
    self, Equivocation, EvidenceError, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};

impl<M: Middleware + 'static> Market<M> {
    /// Sends a challenge by commit–reveal: first a commitment to the call's exact input
    /// (`commitEvidence`), then, from the next block, the challenge itself, which the
    /// market takes only from the account that committed to it earlier. A copy of the
    /// challenge sent from another account while it waits in the mempool is refused.
    /// Every other check of the challenge runs (`eth_call` on the pending block) before
    /// the commitment is sent, so a challenge the market would refuse costs nothing.
    async fn submit_challenge<D: Detokenize>(
        &self,
        call: ContractCall<M, D>,
    ) -> Result<TransactionReceipt, ChainError> {
        let data = call
            .calldata()
            .ok_or_else(|| ChainError::Rpc("a challenge without calldata".into()))?;
        // The digest names the sender: a copy of the commitment commits its copier to
        // nothing it could send.
        let sender = self
            .client
            .default_sender()
            .ok_or_else(|| ChainError::Rpc("no sender to commit a challenge from".into()))?;
        let digest = ethers::utils::keccak256([sender.as_bytes(), data.as_ref()].concat());
        let pending = || call.clone().block(BlockNumber::Pending);
        match pending().call().await.map_err(contract_error) {
            Ok(_) => {} // committed earlier (a retry after a restart)
            Err(e) if not_committed(&e).is_some() => {
                self.submit(self.contract.commit_evidence(digest)).await?;
            }
            Err(e) => return Err(e),
        }
        // The commitment counts from the block after its own: the pending block, unless
        // the node evaluates "pending" as the latest block, then the next one mined.
        let mut attempts = 0;
        loop {
            match pending().call().await.map_err(contract_error) {
                Ok(_) => break,
                Err(e) if not_committed(&e).is_some_and(|at| at != 0) && attempts < 60 => {
                    attempts += 1;
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
        let gas = self
            .client
            .estimate_gas(&pending().tx, Some(BlockNumber::Pending.into()))
            .await
            .map_err(|e| contract_error(ContractError::<M>::MiddlewareError { e }))?;
        self.send_checked(pending().gas(gas + gas / 5)).await
    }

    async fn bond(&self) -> Result<U256, ChainError> {
        self.view(self.contract.challenge_bond()).await
    }

    /// Checks an inclusion against the batch's root on chain; returns the batch's prover.
    async fn check_inclusion(&self, at: &Inclusion) -> Result<Address, ChainError> {
        let (prover, root, _, _, _) = self.batch(at.batch_id).await?;
        if !at.verifies(&root) {
            return Err(EvidenceError::NotInBatch {
                batch_id: at.batch_id,
            }
            .into());
        }
        Ok(prover)
    }

    /// Challenges a committed proof as invalid, with the bond. Refused locally if the
    /// leaf is not in the batch or the chain's verifier accepts the proof (the bond would
    /// go to the prover).
    ///
    /// # Errors
    /// [`ChainError::Evidence`]; otherwise as the contract refuses.
    pub async fn challenge_invalid_proof(
        &self,
        evidence: &InvalidProof,
    ) -> Result<TransactionReceipt, ChainError> {
        self.check_inclusion(&evidence.at).await?;
        if self
            .check_proof(
                evidence.at.leaf.circuit_id.0,
                &evidence.public_inputs,
                &evidence.proof,
            )
            .await?
        {
            return Err(EvidenceError::ProofVerifies.into());
        }
        self.submit_invalid_proof_unchecked(evidence).await
    }

    /// Sends an invalid-proof challenge without asking the verifier first. If the proof
    /// verifies, the challenge is false and its bond goes to the prover: use
    /// [`Market::challenge_invalid_proof`] unless that is what you mean.
    ///
    /// # Errors
    /// As the contract refuses.
    pub async fn submit_invalid_proof_unchecked(
        &self,
        evidence: &InvalidProof,
    ) -> Result<TransactionReceipt, ChainError> {
        let bond = self.bond().await?;
        self.submit_challenge(
            self.contract
                .challenge_invalid_proof(
                    evidence.at.to_abi(),
                    evidence::inputs_to_abi(&evidence.public_inputs),
                    evidence.proof_bytes(),
                )
                .value(bond),
        )
        .await
    }

    /// Challenges a withheld proof, with the bond; returns the challenge id.
    ///
    /// # Errors
    /// [`ChainError::Evidence`]; otherwise as the contract refuses.
    pub async fn challenge_withheld_proof(
        &self,
        evidence: &WithheldProof,
    ) -> Result<(u64, TransactionReceipt), ChainError> {
        self.check_inclusion(&evidence.at).await?;
        let bond = self.bond().await?;
        // A plain challenge shows no award (`r` zero): nothing is bought.
        let (nonce, deadline, r, vs) = match &evidence.purchase {
            Some(purchase) => {
                let (r, vs) =
                    eip712::compact(&purchase.signature).ok_or(EvidenceError::BadSignature {
                        which: "award",
                        expected: Address::from(evidence.at.leaf.client.0),
                    })?;
                (purchase.nonce, purchase.deadline, r, vs)
            }
            None => (0, 0, [0; 32], [0; 32]),
        };
        let receipt = self
            .submit_challenge(
                self.contract
                    .challenge_withheld_proof(evidence.at.to_abi(), nonce, deadline, r, vs)
                    .value(bond),
            )
            .await?;
        Ok((opened_id(&receipt)?, receipt))
    }

    /// Answers a withheld-proof challenge with the proof.
    ///
    /// # Errors
    /// As the contract refuses (`ProofRejected`, `ResponseWindowClosed`, …).
    pub async fn reveal_proof(
        &self,
        challenge_id: u64,
        public_inputs: &[FieldBytes],
        proof: &[u8],
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.reveal_proof(
            challenge_id.into(),
            evidence::inputs_to_abi(public_inputs),
            Bytes::from(proof.to_vec()),
        ))
        .await
    }

    /// Challenges a missed deadline, with the bond; returns the challenge id.
    ///
    /// # Errors
    /// As the contract refuses (`DeadlineNotPassed`, `BadAcceptanceSignature`, …).
    pub async fn challenge_missed_deadline(
        &self,
        evidence: &MissedDeadline,
    ) -> Result<(u64, TransactionReceipt), ChainError> {
        let a = &evidence.acceptance;
        let w = &evidence.award;
        let bond = self.bond().await?;
        let call = self
            .contract
            .challenge_missed_deadline(
                bindings::Acceptance {
                    job_id: a.job_id,
                    client: a.client,
                    input_hash: a.input_hash,
                    price: a.price,
                    deadline: a.deadline,
                    circuit_id: a.circuit_id,
                    public_inputs_hash: a.public_inputs_hash,
                },
                Bytes::from(evidence.prover_signature.clone()),
                bindings::Award {
                    job_id: w.job_id,
                    prover: w.prover,
                    price: w.price,
                    deadline: w.deadline,
                    circuit_id: w.circuit_id,
                    public_inputs_hash: w.public_inputs_hash,
                },
                Bytes::from(evidence.client_signature.clone()),
            )
            .value(bond);
        let receipt = self.submit_challenge(call).await?;
        Ok((opened_id(&receipt)?, receipt))
    }

    /// Answers a missed-deadline challenge with the job's leaf in a batch posted in time.
    ///
    /// # Errors
    /// As the contract refuses (`CommittedAfterDeadline`, `LeafMismatch`, …).
    pub async fn answer_missed_deadline(
        &self,
        challenge_id: u64,
        at: &Inclusion,
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(
            self.contract
                .answer_missed_deadline(challenge_id.into(), at.to_abi()),
        )
        .await
    }

    /// Settles an unanswered challenge after its response window.
    ///
    /// # Errors
    /// As the contract refuses (`ResponseWindowOpen`, `ChallengeNotOpen`, …).
    pub async fn finalize_challenge(
        &self,
        challenge_id: u64,
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.finalize_challenge(challenge_id.into()))
            .await
    }

    /// Proves equivocation: two different leaves for one job in batches of one prover.
    ///
    /// # Errors
    /// [`ChainError::Evidence`]; otherwise as the contract refuses.
    pub async fn challenge_equivocation(
        &self,
        evidence: &Equivocation,
    ) -> Result<TransactionReceipt, ChainError> {
        let prover_a = self.check_inclusion(&evidence.a).await?;
        let prover_b = self.check_inclusion(&evidence.b).await?;
        if prover_a != prover_b {
            return Err(EvidenceError::NotSameProver.into());
        }
        self.submit_challenge(
            self.contract
                .challenge_equivocation(evidence.a.to_abi(), evidence.b.to_abi()),
        )
        .await
    }
}

fn opened_id(receipt: &TransactionReceipt) -> Result<u64, ChainError> {
    events_of(receipt)
        .into_iter()
        .find_map(|e| match e {
            ProverMarketEvents::ChallengeOpenedFilter(c) => u64::try_from(c.challenge_id).ok(),
            _ => None,
        })
        .ok_or(ChainError::MissingEvent {
            tx: receipt.transaction_hash,
            event: "ChallengeOpened",
        })
}
