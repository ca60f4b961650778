//! [`Market`]: deploying and driving `ProverMarket`.

use std::sync::Arc;

use ethers::abi::{Detokenize, RawLog};
use ethers::contract::{ContractCall, ContractError, EthLogDecode};
use ethers::providers::Middleware;
use ethers::types::{Address, Bytes, H256, TransactionReceipt, U256};
use provernet_protocol::{FieldBytes, Hash32, JobLeaf};

use crate::bindings::{self, ProverMarket, ProverMarketErrors, ProverMarketEvents};
use crate::eip712::{self, Domain};
use crate::evidence::{self, EvidenceError, Inclusion};
use crate::txqueue::{Priority, TxQueue};

mod challenges;

/// The deployment parameters (the contract's `Params`).
pub type MarketParams = bindings::Params;

/// A custom error of the contract: why it refused a call.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(&self.0))]
pub struct MarketError(pub ProverMarketErrors);

/// The error's name and arguments, e.g. `WindowClosed { closed_at: 130 }`.
fn describe(error: &ProverMarketErrors) -> String {
    // The generated Debug prints `Variant(Variant { fields })`; keep the inner part.
    let debug = format!("{error:?}");
    match debug.split_once('(') {
        Some((_, rest)) => rest.strip_suffix(')').unwrap_or(rest).to_owned(),
        None => debug,
    }
}

/// Why a chain operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The contract refused the call (found by `eth_call` before sending, or by a send
    /// that failed estimation): nothing was spent.
    #[error("the market refused the call: {0}")]
    Refused(#[from] MarketError),
    /// The evidence was refused locally: nothing was sent.
    #[error("evidence refused before sending: {0}")]
    Evidence(#[from] EvidenceError),
    /// The transaction was mined and reverted (the chain changed between the check and
    /// the inclusion).
    #[error("transaction {tx:?} reverted on chain")]
    Reverted {
        /// The transaction.
        tx: H256,
    },
    /// The transaction left the pool without a receipt.
    #[error("transaction {tx:?} was dropped")]
    Dropped {
        /// The transaction.
        tx: H256,
    },
    /// The receipt lacks an event the call always emits.
    #[error("the receipt of {tx:?} has no {event} event")]
    MissingEvent {
        /// The transaction.
        tx: H256,
        /// The event expected.
        event: &'static str,
    },
    /// The node or the transport failed.
    #[error("chain request failed: {0}")]
    Rpc(String),
}

impl ChainError {
    /// The contract's error, if the contract refused.
    pub fn market_error(&self) -> Option<&ProverMarketErrors> {
        match self {
            Self::Refused(MarketError(e)) => Some(e),
            _ => None,
        }
    }
}

fn contract_error<M: Middleware>(error: ContractError<M>) -> ChainError {
    match error.decode_contract_revert::<ProverMarketErrors>() {
        Some(decoded) => ChainError::Refused(MarketError(decoded)),
        None => ChainError::Rpc(error.to_string()),
    }
}

/// The block of the caller's commitment (0: none) if the market refused a challenge for
/// lack of an earlier commitment to its input.
fn not_committed(error: &ChainError) -> Option<u64> {
    match error.market_error() {
        Some(ProverMarketErrors::EvidenceNotCommitted(e)) => Some(e.committed_at.low_u64()),
        _ => None,
    }
}

/// A job of a `claim_batch`: its index in the batch, the client's nonce, the awarded
/// deadline and the client's 65-byte award signature.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobClaim {
    /// Index of the job's leaf in the batch.
    pub index: u32,
    /// The client's nonce of the job (its id derives from it).
    pub nonce: u64,
    /// The awarded deadline.
    pub deadline: u64,
    /// The client's award signature, `r ‖ s ‖ v`.
    pub signature: Vec<u8>,
}

/// The market contract, through a signing middleware.
#[derive(Debug)]
pub struct Market<M> {
    contract: ProverMarket<M>,
    client: Arc<M>,
    /// The account's transaction queue and the priority of this handle's transactions;
    /// without one, each transaction is sent on its own (see [`Market::with_queue`]).
    queue: Option<(TxQueue, Priority)>,
}

impl<M> Clone for Market<M> {
    fn clone(&self) -> Self {
        Self {
            contract: self.contract.clone(),
            client: Arc::clone(&self.client),
            queue: self.queue.clone(),
        }
    }
}

impl<M: Middleware + 'static> Market<M> {
    /// The market at `address`.
    pub fn at(address: Address, client: Arc<M>) -> Self {
        Self {
            contract: ProverMarket::new(address, Arc::clone(&client)),
            client,
            queue: None,
        }
    }

    /// The same market, whose transactions go through `queue` at `priority`: the queue
    /// owns the account's nonces, so every handle of one account must use it.
    #[must_use]
    pub fn with_queue(mut self, queue: TxQueue, priority: Priority) -> Self {
        self.queue = Some((queue, priority));
        self
    }

    /// The same market, whose transactions go at `priority` (through the same queue).
    #[must_use]
    pub fn with_priority(&self, priority: Priority) -> Self {
        let mut market = self.clone();
        if let Some((_, p)) = &mut market.queue {
            *p = priority;
        }
        market
    }

    /// Deploys a market (it has no owner: nobody holds a power over it).
    ///
    /// # Errors
    /// [`ChainError::Refused`] for parameters the constructor refuses.
    pub async fn deploy(client: Arc<M>, params: MarketParams) -> Result<Self, ChainError> {
        let deployer =
            ProverMarket::deploy(Arc::clone(&client), (params,)).map_err(|e| contract_error(e))?;
        let contract = deployer.send().await.map_err(|e| contract_error(e))?;
        Ok(Self::at(contract.address(), client))
    }

    /// The contract's address.
    pub fn address(&self) -> Address {
        self.contract.address()
    }

    /// The generated binding, for calls this type does not wrap.
    pub fn contract(&self) -> &ProverMarket<M> {
        &self.contract
    }

    /// The middleware.
    pub fn client(&self) -> &Arc<M> {
        &self.client
    }

    /// The EIP-712 domain of this market on this chain.
    ///
    /// # Errors
    /// [`ChainError::Rpc`] if the chain id cannot be read.
    pub async fn domain(&self) -> Result<Domain, ChainError> {
        let chain_id = self
            .client
            .get_chainid()
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        Ok(Domain {
            chain_id: u64::try_from(chain_id).map_err(|_| {
                ChainError::Rpc(format!("chain id {chain_id} does not fit 64 bits"))
            })?,
            market: self.address(),
        })
    }

    /// Runs `call` with `eth_call`; if the contract accepts, sends it and waits for its
    /// receipt.
    async fn submit<D: Detokenize>(
        &self,
        call: ContractCall<M, D>,
    ) -> Result<TransactionReceipt, ChainError> {
        call.call().await.map_err(contract_error)?;
        self.send_checked(call).await
    }

    /// Sends `call` and waits for its receipt, which must report success.
    async fn send_checked<D: Detokenize>(
        &self,
        call: ContractCall<M, D>,
    ) -> Result<TransactionReceipt, ChainError> {
        if let Some((queue, priority)) = &self.queue {
            return queue.send(call.tx.clone(), *priority).await;
        }
        let pending = call.send().await.map_err(contract_error)?;
        let tx = pending.tx_hash();
        let receipt = pending
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .ok_or(ChainError::Dropped { tx })?;
        if receipt.status != Some(1u64.into()) {
            return Err(ChainError::Reverted { tx });
        }
        Ok(receipt)
    }

    async fn view<D: Detokenize>(&self, call: ContractCall<M, D>) -> Result<D, ChainError> {
        call.call().await.map_err(contract_error)
    }

    // ---- stake, deposits, circuits -----------------------------------------------------

    /// Registers the sender as a prover with its ed25519 key and `stake` wei.
    ///
    /// # Errors
    /// [`ChainError::Refused`] with `StakeTooLow`, `AlreadyRegistered`, `PeerKeyTaken`, …
    pub async fn register(
        &self,
        peer_key: [u8; 32],
        stake: U256,
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.register(peer_key).value(stake))
            .await
    }

    /// Adds `amount` wei to the sender's stake.
    ///
    /// # Errors
    /// As the contract refuses.
    pub async fn add_stake(&self, amount: U256) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.add_stake().value(amount)).await
    }

    /// Starts unbonding `amount` wei.
    ///
    /// # Errors
    /// As the contract refuses.
    pub async fn unbond(&self, amount: U256) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.unbond(amount)).await
    }

    /// Withdraws unbonded stake.
    ///
    /// # Errors
    /// As the contract refuses (`TooEarly`, `ChallengeOpen`, …).
    pub async fn withdraw_stake(&self) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.withdraw_stake()).await
    }

    /// Adds `amount` wei to the sender's client deposit.
    ///
    /// # Errors
    /// As the contract refuses.
    pub async fn deposit(&self, amount: U256) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.deposit().value(amount)).await
    }

    /// Sets `amount` wei of the sender's deposit aside for `prover` until `until` (unix
    /// seconds): only that prover's claims take from it, before the deposit, and the
    /// sender takes what is left back only with [`Market::release`] after `until`.
    ///
    /// # Errors
    /// As the contract refuses (`InsufficientDeposit`, `ReservationShortened`).
    pub async fn reserve(
        &self,
        prover: Address,
        amount: U256,
        until: u64,
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.reserve(prover, amount, until))
            .await
    }

    /// Returns what is left of the sender's reservation for `prover` to its deposit.
    ///
    /// # Errors
    /// As the contract refuses (`TooEarly` before the reservation's end,
    /// `NothingToWithdraw`).
    pub async fn release(&self, prover: Address) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.release(prover)).await
    }

    /// Withdraws the sender's credits (rewards, refunds, bonds).
    ///
    /// # Errors
    /// `NothingToWithdraw` if there are none.
    pub async fn withdraw_credits(&self) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.contract.withdraw_credits()).await
    }

    /// Registers a circuit (anyone may, once per id) and returns its id, which the
    /// contract derives from the verifier's code hash and the sample's shape (number of
    /// public inputs, proof length): `provernet_circuits::verifier::circuit_id_of`. The
    /// contract measures the gas the sample takes and gives every later verification
    /// that plus a 32nd; it runs the sample with its first proof byte flipped, which
    /// must be rejected.
    ///
    /// # Errors
    /// As the contract refuses (`CircuitExists`, `SampleProofRejected`,
    /// `VerifierAcceptsCorruptedProof`, `InvalidParameters`).
    pub async fn register_circuit(
        &self,
        verifier: Address,
        sample_inputs: &[FieldBytes],
        sample_proof: &[u8],
    ) -> Result<[u8; 32], ChainError> {
        let call = self.contract.register_circuit(
            verifier,
            evidence::inputs_to_abi(sample_inputs),
            Bytes::from(sample_proof.to_vec()),
        );
        // The id is the call's result: read it first (the same state decides both).
        let id = self.view(call.clone()).await?;
        self.submit(call).await?;
        Ok(id)
    }

    /// Deploys contract creation code (an EVM verifier) from the sender.
    ///
    /// # Errors
    /// [`ChainError::Rpc`] or [`ChainError::Reverted`] if the deployment fails.
    pub async fn deploy_code(&self, creation: Vec<u8>) -> Result<Address, ChainError> {
        let tx = ethers::types::TransactionRequest::new().data(Bytes::from(creation));
        let pending = self
            .client
            .send_transaction(tx, None)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?;
        let hash = pending.tx_hash();
        let receipt = pending
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .ok_or(ChainError::Dropped { tx: hash })?;
        match (receipt.status, receipt.contract_address) {
            (Some(s), Some(address)) if s == 1u64.into() => Ok(address),
            _ => Err(ChainError::Reverted { tx: hash }),
        }
    }

    // ---- views ------------------------------------------------------------------------

    /// `(stake, unbonding, open challenges)` of a prover.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn stake_of(&self, prover: Address) -> Result<(U256, U256, u32), ChainError> {
        let (stake, _, _, unbonding, _, _, open, ..) =
            self.view(self.contract.provers(prover)).await?;
        Ok((stake, unbonding, open))
    }

    /// What `client`'s deposit can still pay: the deposit less a withdrawal request that
    /// has not lapsed (`freeDeposit`).
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn free_deposit(&self, client: Address) -> Result<U256, ChainError> {
        self.view(self.contract.free_deposit(client)).await
    }

    /// `(amount, until)` of `client`'s reservation for `prover` (`reservations`):
    /// wei set aside for that prover's claims, and the unix second after which the
    /// client may take it back.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn reservation(
        &self,
        client: Address,
        prover: Address,
    ) -> Result<(u128, u64), ChainError> {
        self.view(self.contract.reservations(client, prover)).await
    }

    /// `(leaves at risk, leaves covered)` of a prover, as `commitBatch` counts them
    /// (`exposure`).
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn exposure(&self, prover: Address) -> Result<(U256, U256), ChainError> {
        self.view(self.contract.exposure(prover)).await
    }

    /// A circuit's registration: its verifier (zero when it is not registered) and its
    /// number of public inputs.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn registration(&self, circuit_id: [u8; 32]) -> Result<(Address, U256), ChainError> {
        let (verifier, _, inputs, ..) = self.view(self.contract.circuits(circuit_id)).await?;
        Ok((verifier, U256::from(inputs)))
    }

    /// The gas the market gives each verification of a circuit (0 when it is not
    /// registered): measured by the contract at registration.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn verifier_gas(&self, circuit_id: [u8; 32]) -> Result<u64, ChainError> {
        let (_, gas, ..) = self.view(self.contract.circuits(circuit_id)).await?;
        Ok(u64::from(gas))
    }

    /// Credits owed to `account`.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn credits(&self, account: Address) -> Result<U256, ChainError> {
        self.view(self.contract.credits(account)).await
    }

    /// A client's deposit.
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn deposit_of(&self, client: Address) -> Result<U256, ChainError> {
        self.view(self.contract.deposits(client)).await
    }

    /// A batch: `(prover, root, count, block, timestamp)`.
    ///
    /// # Errors
    /// [`ChainError::Rpc`]; `eth_call` of an unknown id fails.
    pub async fn batch(
        &self,
        batch_id: u64,
    ) -> Result<(Address, Hash32, u32, u64, u64), ChainError> {
        let count = self.view(self.contract.batch_count()).await?;
        if U256::from(batch_id) >= count {
            return Err(ChainError::Refused(MarketError(
                ProverMarketErrors::UnknownBatch(bindings::UnknownBatch {
                    batch_id: batch_id.into(),
                }),
            )));
        }
        let (prover, count, block, timestamp, root) =
            self.view(self.contract.batches(batch_id.into())).await?;
        Ok((prover, Hash32(root), count, block, u64::from(timestamp)))
    }

    /// Whether a consumer may rely on the committed proof (`isFinal`).
    ///
    /// # Errors
    /// [`ChainError::Rpc`].
    pub async fn is_final(&self, at: &Inclusion) -> Result<bool, ChainError> {
        let leaf = &at.leaf;
        self.view(self.contract.is_final(
            leaf.circuit_id.0,
            leaf.public_inputs_hash.0,
            leaf.proof_hash.0,
            at.batch_id.into(),
            evidence::leaf_to_abi(leaf),
            at.path.iter().map(|h| h.0).collect(),
        ))
        .await
    }

    /// Whether the circuit's on-chain verifier accepts the proof, as a challenge decides it
    /// (false for a circuit that is not registered, a proof of another length or another
    /// number of public inputs than the circuit's).
    ///
    /// # Errors
    /// [`ChainError::Rpc`]; `InsufficientGas` if the call cannot forward the cap.
    pub async fn check_proof(
        &self,
        circuit_id: [u8; 32],
        public_inputs: &[FieldBytes],
        proof: &[u8],
    ) -> Result<bool, ChainError> {
        self.view(self.contract.check_proof(
            circuit_id,
            evidence::inputs_to_abi(public_inputs),
            Bytes::from(proof.to_vec()),
        ))
        .await
    }

    // ---- commitments and claims -------------------------------------------------------

    /// Posts a batch of `leaves`; returns the batch id.
    ///
    /// # Errors
    /// As the contract refuses (`NotRegistered`, `StakeTooLow`, …).
    pub async fn commit_batch(
        &self,
        leaves: &[JobLeaf],
    ) -> Result<(u64, TransactionReceipt), ChainError> {
        if leaves.is_empty() {
            return Err(ChainError::Refused(MarketError(
                ProverMarketErrors::EmptyBatch(bindings::EmptyBatch),
            )));
        }
        let leaves = leaves.iter().map(evidence::leaf_to_abi).collect();
        let receipt = self.submit(self.contract.commit_batch(leaves)).await?;
        let id = events_of(&receipt)
            .into_iter()
            .find_map(|e| match e {
                ProverMarketEvents::BatchCommittedFilter(b) => u64::try_from(b.batch_id).ok(),
                _ => None,
            })
            .ok_or(ChainError::MissingEvent {
                tx: receipt.transaction_hash,
                event: "BatchCommitted",
            })?;
        Ok((id, receipt))
    }

    /// The leaves of a batch, read from the input of the transaction that committed it
    /// (the `BatchCommitted` log's transaction): `commitBatch` takes only a plain
    /// account's own transaction, so that input is the call, whoever sent it.
    ///
    /// # Errors
    /// [`ChainError::Rpc`] if the transaction cannot be read, is not a call of the
    /// market's `commitBatch`, or holds a leaf no node can represent.
    pub async fn published_leaves(&self, tx: H256) -> Result<Vec<JobLeaf>, ChainError> {
        use ethers::abi::AbiDecode;
        let transaction = self
            .client
            .get_transaction(tx)
            .await
            .map_err(|e| ChainError::Rpc(e.to_string()))?
            .ok_or_else(|| ChainError::Rpc(format!("transaction {tx:?} not found")))?;
        if transaction.to != Some(self.address()) {
            return Err(ChainError::Rpc(format!(
                "transaction {tx:?} is not a call to the market"
            )));
        }
        let call = bindings::CommitBatchCall::decode(&transaction.input).map_err(|e| {
            ChainError::Rpc(format!("transaction {tx:?} is not a commitBatch: {e}"))
        })?;
        call.leaves
            .iter()
            .map(evidence::leaf_from_abi)
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ChainError::Rpc(format!("transaction {tx:?} holds a price above 2^128")))
    }

    /// Claims several jobs of batch `batch_id`, whose leaves are `leaves` (all of them, in
    /// order), in one transaction. The leaves of the claimed jobs are sent as their parts
    /// (the contract rebuilds them), the others as hashes. The claims are sent ordered by
    /// client and nonce, the order the contract pays cheapest.
    ///
    /// # Errors
    /// [`ChainError::Evidence`] for an index outside the batch or a malformed signature;
    /// otherwise as the contract refuses.
    pub async fn claim_batch(
        &self,
        batch_id: u64,
        leaves: &[JobLeaf],
        jobs: &[JobClaim],
    ) -> Result<TransactionReceipt, ChainError> {
        self.submit(self.claim_batch_call(batch_id, leaves, jobs)?)
            .await
    }

    /// Whether [`Market::claim_batch`] with these jobs would pay now (`eth_call`, nothing
    /// sent): a node that meets a refused batch tries each job this way, then claims the
    /// payable ones in one transaction.
    ///
    /// # Errors
    /// As [`Market::claim_batch`].
    pub async fn check_claim_batch(
        &self,
        batch_id: u64,
        leaves: &[JobLeaf],
        jobs: &[JobClaim],
    ) -> Result<(), ChainError> {
        self.view(self.claim_batch_call(batch_id, leaves, jobs)?)
            .await
    }

    fn claim_batch_call(
        &self,
        batch_id: u64,
        leaves: &[JobLeaf],
        jobs: &[JobClaim],
    ) -> Result<ContractCall<M, ()>, ChainError> {
        let mut hashes: Vec<[u8; 32]> = leaves.iter().map(|l| l.hash().0).collect();
        let mut claims = Vec::with_capacity(jobs.len());
        for job in jobs {
            let index = job.index as usize;
            let leaf = leaves.get(index).ok_or(EvidenceError::NoSuchLeaf {
                index,
                len: leaves.len(),
            })?;
            let (r, vs) = eip712::compact(&job.signature).ok_or(EvidenceError::BadSignature {
                which: "award",
                expected: Address::from(leaf.client.0),
            })?;
            hashes[index] = [0; 32];
            claims.push(bindings::BatchClaim {
                index: job.index,
                nonce: job.nonce,
                deadline: job.deadline,
                client: Address::from(leaf.client.0),
                price: U256::from(leaf.price),
                circuit_id: leaf.circuit_id.0,
                public_inputs_hash: leaf.public_inputs_hash.0,
                proof_hash: leaf.proof_hash.0,
                r,
                vs,
            });
        }
        // By client, then nonce: the contract holds one client's deposit and paid-jobs
        // word while its claims follow each other and writes them back once.
        claims.sort_by_key(|c| (c.client, c.nonce));
        Ok(self.contract.claim_batch(batch_id.into(), hashes, claims))
    }
}

/// The market events a receipt carries.
pub fn events_of(receipt: &TransactionReceipt) -> Vec<ProverMarketEvents> {
    receipt
        .logs
        .iter()
        .filter_map(|log| {
            ProverMarketEvents::decode_log(&RawLog {
                topics: log.topics.clone(),
                data: log.data.to_vec(),
            })
            .ok()
        })
        .collect()
}
