//! One queue per account for its transactions.
//!
//! The queue owns the account's nonces: it sends the most urgent waiting transaction
//! first (answers to challenges ahead of everything, then challenges, then commitments,
//! then claims and the rest), keeps up to `max_in_flight` in flight at once, and watches each until a
//! receipt comes. Each is signed here, so its hash is known before it is broadcast: a
//! broadcast whose answer is lost (a timeout) is kept in flight as perhaps sent, never
//! reported as failed and sent again under another nonce. The lowest nonce in flight,
//! with no receipt after `bump_after`, is sent again with fees raised by `bump_percent`
//! (EIP-1559 replacement; a legacy transaction raises its gas price); the others, and a
//! transaction at `max_fee_per_gas` when one is set, are broadcast again as they are
//! (a node that evicted them takes them back). Each caller waits only for its own
//! receipt.
//!
//! A nonce, once broadcast, is never given up: the queue keeps it until one of its
//! transactions is mined (so a commitment is never sent twice under two nonces), unless
//! the account's mined nonce has passed it with none of them mined for `bump_after`
//! (another transaction of the account, sent from elsewhere, took it).
//!
//! A mined transaction is reported only once `confirmations` blocks are on top of it,
//! but for answers and challenges, reported at their first receipt (what their caller
//! sends next cannot wait). Until confirmed, the queue keeps every one of them, with the
//! exact bytes that were mined: when a reorg
//! takes it off the chain (its receipt is gone), the same signed transaction is
//! broadcast again under its own nonce and watched as before. It is never signed anew,
//! so what the reorg removed comes back once and only once (a commitment cannot land
//! twice under two nonces), and the nonces after it, which the reorg freed too, are not
//! left with a gap. A reorg deeper than `confirmations` is not seen.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ethers::providers::{Middleware, MiddlewareError};
use ethers::signers::Signer;
use ethers::types::transaction::eip2718::TypedTransaction;
use ethers::types::{Address, BlockNumber, Bytes, H256, TransactionReceipt, U256};
use tokio::sync::{mpsc, oneshot};

use crate::ChainError;

/// Most transactions waiting to be sent; beyond, a claim or another normal one is
/// refused at once (its caller tries again later). Answers, challenges and commitments
/// are always taken: they are few (a commitment per sealed batch), and what is at stake
/// is a slash.
const MAX_WAITING: usize = 4_096;

/// How urgent a transaction is: the queue sends the most urgent waiting one first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// An answer to a challenge against this account: its response window is short.
    Answer,
    /// A challenge, or the commitment to its evidence.
    Challenge,
    /// A batch's commitment: its jobs' deadlines run (claims, which have none, wait).
    Commit,
    /// Everything else: claims, stake and deposits.
    Normal,
}

impl Priority {
    /// Reported at its first receipt, not after `confirmations`: what its caller sends
    /// next cannot wait.
    fn urgent(self) -> bool {
        matches!(self, Self::Answer | Self::Challenge)
    }
}

/// How the queue sends.
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// Transactions in flight at once (at least 1).
    pub max_in_flight: usize,
    /// How long a transaction may stay without a receipt before it is replaced.
    pub bump_after: Duration,
    /// How much a replacement raises the fees, percent (at least 10, what nodes require).
    pub bump_percent: u64,
    /// The highest `maxFeePerGas` (or gas price) the queue offers, wei; `None`: no cap.
    pub max_fee_per_gas: Option<U256>,
    /// How often receipts are looked for.
    pub poll: Duration,
    /// Blocks on top of a transaction's block before its receipt is reported (0: at
    /// once, as on a chain without reorgs).
    pub confirmations: u64,
}

/// What the queue has done, for metrics and tests.
#[derive(Debug, Default)]
pub struct QueueStats {
    /// Transactions sent (replacements not counted).
    pub sent: AtomicU64,
    /// Replacements sent with raised fees.
    pub replaced: AtomicU64,
    /// Transactions mined.
    pub mined: AtomicU64,
    /// Transactions in flight now.
    pub in_flight: AtomicU64,
    /// Mined transactions that a reorg took off the chain, broadcast again.
    pub reorged: AtomicU64,
}

type Reply = oneshot::Sender<Result<TransactionReceipt, ChainError>>;

/// What a node said to a broadcast.
enum Broadcast {
    /// It took the transaction (or already had it).
    Taken,
    /// It refused it, saying why: nothing was spent.
    Refused(String),
    /// No answer came: it may have taken it.
    Unanswered,
}

struct Job {
    tx: TypedTransaction,
    reply: Reply,
}

struct InFlight {
    nonce: U256,
    tx: TypedTransaction,
    /// The last signed form, broadcast again as it is when due.
    raw: Bytes,
    /// Every transaction signed under this nonce, the latest last: any of them may be
    /// mined.
    hashes: Vec<(H256, Bytes)>,
    sent_at: Instant,
    /// Since when the account's mined nonce has passed ours with none of ours mined.
    spent_since: Option<Instant>,
    capped: bool,
    /// An answer or a challenge: its caller is told at the first receipt (what it sends
    /// next cannot wait for confirmations); the queue still watches it until confirmed.
    urgent: bool,
    /// `None` once the caller was told.
    reply: Option<Reply>,
}

/// A mined transaction waiting for its confirmations.
struct Mined {
    flight: InFlight,
    receipt: TransactionReceipt,
}

/// A handle to an account's transaction queue. Cheap to clone.
#[derive(Clone, Debug)]
pub struct TxQueue {
    jobs: mpsc::Sender<(Priority, Job)>,
    stats: Arc<QueueStats>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job").field("tx", &self.tx).finish()
    }
}

impl TxQueue {
    /// A queue sending from `signer`'s account (its chain id set) through `client`, and
    /// the task that runs it until `shutdown` resolves or every handle is dropped and
    /// nothing is in flight.
    pub fn new<M: Middleware + 'static, S: Signer + 'static>(
        client: Arc<M>,
        signer: S,
        config: QueueConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (jobs, rx) = mpsc::channel(1_024);
        let stats = Arc::new(QueueStats::default());
        let runner = Runner {
            client,
            from: signer.address(),
            signer,
            config,
            stats: Arc::clone(&stats),
            waiting: BTreeMap::new(),
            in_flight: Vec::new(),
            mined: Vec::new(),
            next_nonce: None,
            seq: 0,
        };
        (Self { jobs, stats }, runner.run(rx, shutdown))
    }

    /// Sends `tx` (its nonce and fees are the queue's) and waits for its receipt, which
    /// must report success, with the queue's `confirmations` blocks on top (an answer or
    /// a challenge: at its first receipt; the queue still sends it again if a reorg
    /// takes it off the chain before its confirmations).
    ///
    /// # Errors
    /// [`ChainError::Reverted`] when mined and reverted; [`ChainError::Rpc`] when it was
    /// not broadcast (its gas estimate failed, or the node refused it: nothing spent) or
    /// the queue stopped; [`ChainError::Dropped`] when another transaction of the account
    /// took its nonce.
    pub async fn send(
        &self,
        tx: TypedTransaction,
        priority: Priority,
    ) -> Result<TransactionReceipt, ChainError> {
        let (reply, receipt) = oneshot::channel();
        self.jobs
            .send((priority, Job { tx, reply }))
            .await
            .map_err(|_| ChainError::Rpc("the transaction queue stopped".into()))?;
        receipt
            .await
            .map_err(|_| ChainError::Rpc("the transaction queue stopped".into()))?
    }

    /// What the queue has done.
    pub fn stats(&self) -> &QueueStats {
        &self.stats
    }
}

struct Runner<M, S> {
    client: Arc<M>,
    signer: S,
    from: Address,
    config: QueueConfig,
    stats: Arc<QueueStats>,
    waiting: BTreeMap<(Priority, u64), Job>,
    in_flight: Vec<InFlight>,
    mined: Vec<Mined>,
    next_nonce: Option<U256>,
    seq: u64,
}

fn rpc(error: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(error.to_string())
}

/// What a caller is told of a mined transaction.
fn outcome(receipt: TransactionReceipt) -> Result<TransactionReceipt, ChainError> {
    if receipt.status == Some(1u64.into()) {
        Ok(receipt)
    } else {
        Err(ChainError::Reverted {
            tx: receipt.transaction_hash,
        })
    }
}

/// The fees to offer (max fee, tip) from the latest base fee and the recent blocks'
/// tips (`eth_feeHistory`, first percentile each): the median recent tip, at least
/// 3 gwei, on top of twice the base fee. Saturating throughout: the numbers come from the
/// RPC, which may lie (ethers' own estimator panics on some).
fn fees_from(base_fee: U256, rewards: Vec<Vec<U256>>) -> (U256, U256) {
    let mut tips: Vec<U256> = rewards
        .iter()
        .filter_map(|block| block.first().copied())
        .filter(|tip| !tip.is_zero())
        .collect();
    tips.sort_unstable();
    let median = tips.get(tips.len() / 2).copied().unwrap_or_default();
    let tip = median.max(U256::from(DEFAULT_TIP_WEI));
    (
        base_fee.saturating_mul(U256::from(2)).saturating_add(tip),
        tip,
    )
}

/// The least tip offered, wei.
const DEFAULT_TIP_WEI: u64 = 3_000_000_000;

/// `value` raised by `percent`, and by at least 1 wei.
fn raised(value: U256, percent: u64) -> U256 {
    value.saturating_mul(U256::from(100 + percent)) / U256::from(100) + U256::one()
}

/// The fees `tx` offers: (max fee or gas price, tip).
fn fees(tx: &TypedTransaction) -> (U256, U256) {
    match tx {
        TypedTransaction::Eip1559(inner) => (
            inner.max_fee_per_gas.unwrap_or_default(),
            inner.max_priority_fee_per_gas.unwrap_or_default(),
        ),
        other => {
            let price = other.gas_price().unwrap_or_default();
            (price, price)
        }
    }
}

fn set_fees(tx: &mut TypedTransaction, max_fee: U256, tip: U256) {
    match tx {
        TypedTransaction::Eip1559(inner) => {
            inner.max_fee_per_gas = Some(max_fee);
            inner.max_priority_fee_per_gas = Some(tip.min(max_fee));
        }
        other => {
            other.set_gas_price(max_fee);
        }
    }
}

impl<M: Middleware + 'static, S: Signer + 'static> Runner<M, S> {
    async fn run(
        mut self,
        mut jobs: mpsc::Receiver<(Priority, Job)>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        tokio::pin!(shutdown);
        let mut tick = tokio::time::interval(self.config.poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut open = true;
        loop {
            if !open
                && self.waiting.is_empty()
                && self.in_flight.is_empty()
                && self.mined.is_empty()
            {
                return;
            }
            tokio::select! {
                () = &mut shutdown => return,
                job = jobs.recv(), if open => match job {
                    Some((priority, job))
                        if priority == Priority::Normal && self.waiting.len() >= MAX_WAITING =>
                    {
                        tracing::warn!(target: "chain", ?priority, "the transaction queue is full: a transaction refused");
                        let _ = job.reply.send(Err(ChainError::Rpc(format!(
                            "the transaction queue is full ({MAX_WAITING} waiting)"
                        ))));
                    }
                    Some((priority, job)) => {
                        self.waiting.insert((priority, self.seq), job);
                        self.seq += 1;
                    }
                    None => open = false,
                },
                _ = tick.tick() => self.poll().await,
            }
            while self.in_flight.len() < self.config.max_in_flight.max(1) {
                let Some(((priority, _), job)) = self.waiting.pop_first() else {
                    break;
                };
                if job.reply.is_closed() {
                    continue;
                }
                self.send_new(job, priority.urgent()).await;
            }
            self.stats
                .in_flight
                .store(self.in_flight.len() as u64, Ordering::Relaxed);
        }
    }

    /// The fees to offer now: the node's estimate (from its fee history; its gas price
    /// where it keeps none), capped.
    async fn estimate(&self) -> Result<(U256, U256), ChainError> {
        let (max_fee, tip) = match self.client.estimate_eip1559_fees(Some(fees_from)).await {
            Ok(fees) => fees,
            Err(_) => {
                let price = self.client.get_gas_price().await.map_err(rpc)?;
                (price, price)
            }
        };
        Ok(self.capped(max_fee, tip))
    }

    fn capped(&self, max_fee: U256, tip: U256) -> (U256, U256) {
        match self.config.max_fee_per_gas {
            Some(cap) => (max_fee.min(cap), tip.min(cap)),
            None => (max_fee, tip),
        }
    }

    /// Signs `tx` under `nonce`; returns its raw form and hash.
    async fn sign(&self, tx: &TypedTransaction) -> Result<(Bytes, H256), ChainError> {
        let signature = self.signer.sign_transaction(tx).await.map_err(rpc)?;
        let raw = tx.rlp_signed(&signature);
        let hash = H256::from(ethers::utils::keccak256(&raw));
        Ok((raw, hash))
    }

    /// Broadcasts `raw`, and what the node said.
    async fn broadcast(&self, raw: Bytes) -> Broadcast {
        match self.client.send_raw_transaction(raw).await {
            Ok(_) => Broadcast::Taken,
            Err(error) => match error.as_error_response() {
                Some(refusal) => {
                    let message = refusal.message.to_lowercase();
                    if message.contains("already known") || message.contains("known transaction") {
                        Broadcast::Taken
                    } else {
                        Broadcast::Refused(refusal.message.clone())
                    }
                }
                // No answer (a timeout, a closed connection, a proxy's page): it may be
                // in the pool.
                None => {
                    tracing::warn!(target: "chain", %error, "a broadcast got no answer");
                    Broadcast::Unanswered
                }
            },
        }
    }

    /// The nonce for the next transaction: never one in flight.
    async fn nonce(&self) -> Result<U256, ChainError> {
        // Nor one mined and waiting for its confirmations: a reorg may bring it back.
        let after_ours = self
            .in_flight
            .iter()
            .chain(self.mined.iter().map(|m| &m.flight))
            .map(|f| f.nonce.saturating_add(U256::one()))
            .max();
        match self.next_nonce {
            Some(nonce) => Ok(nonce),
            None => {
                let pending = self
                    .client
                    .get_transaction_count(self.from, Some(BlockNumber::Pending.into()))
                    .await
                    .map_err(rpc)?;
                Ok(after_ours.map_or(pending, |n| n.max(pending)))
            }
        }
    }

    async fn send_new(&mut self, job: Job, urgent: bool) {
        let Job { mut tx, reply } = job;
        let signed = async {
            let nonce = self.nonce().await?;
            tx.set_from(self.from);
            tx.set_nonce(nonce);
            tx.set_chain_id(self.signer.chain_id());
            let (max_fee, tip) = self.estimate().await?;
            set_fees(&mut tx, max_fee, tip);
            if tx.gas().is_none() {
                let gas = self.client.estimate_gas(&tx, None).await.map_err(rpc)?;
                tx.set_gas(gas);
            }
            let (raw, hash) = self.sign(&tx).await?;
            Ok::<_, ChainError>((nonce, raw, hash))
        }
        .await;
        let (nonce, raw, hash) = match signed {
            Ok(signed) => signed,
            // Not broadcast: the nonce stays free for the next one.
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let refusal = match self.broadcast(raw.clone()).await {
            Broadcast::Taken => None,
            Broadcast::Refused(refusal) => Some(refusal),
            // No answer: in flight if the node knows it (or cannot say); not sent if it
            // answers that it does not.
            Broadcast::Unanswered => match self.client.get_transaction(hash).await {
                Ok(None) => {
                    Some("the broadcast got no answer and the node does not know it".into())
                }
                Ok(Some(_)) | Err(_) => None,
            },
        };
        if let Some(refusal) = refusal {
            // Not sent: nothing spent. The nonce is read again: the node may call it used
            // (or its transaction a replacement) because another sender on this account
            // (an operator's command) took it.
            self.next_nonce = None;
            let _ = reply.send(Err(ChainError::Rpc(refusal)));
            return;
        }
        self.next_nonce = Some(nonce.saturating_add(U256::one()));
        self.stats.sent.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(target: "chain", ?hash, %nonce, "transaction sent");
        self.in_flight.push(InFlight {
            nonce,
            tx,
            raw: raw.clone(),
            hashes: vec![(hash, raw)],
            sent_at: Instant::now(),
            spent_since: None,
            capped: false,
            urgent,
            reply: Some(reply),
        });
    }

    /// Looks for the receipts of what is in flight; replaces what waited too long. One
    /// read of the account's mined nonce per poll: receipts are looked for only under
    /// the nonces it has passed.
    async fn poll(&mut self) {
        if !self.mined.is_empty() {
            self.confirm().await;
        }
        if self.in_flight.is_empty() {
            return;
        }
        let mined = match self
            .client
            .get_transaction_count(self.from, Some(BlockNumber::Latest.into()))
            .await
        {
            Ok(mined) => mined,
            Err(error) => {
                tracing::debug!(target: "chain", %error, "cannot read the account's nonce");
                return;
            }
        };
        let mut index = 0;
        while index < self.in_flight.len() {
            match self.check(index, mined).await {
                Some(Ok((_, receipt))) if self.config.confirmations > 0 => {
                    let mut flight = self.in_flight.swap_remove(index);
                    if flight.urgent
                        && let Some(reply) = flight.reply.take()
                    {
                        let _ = reply.send(outcome(receipt.clone()));
                    }
                    self.mined.push(Mined { flight, receipt });
                }
                Some(result) => {
                    let done = self.in_flight.swap_remove(index);
                    if let Some(reply) = done.reply {
                        let _ = reply.send(result.map(|(_, receipt)| receipt));
                    }
                }
                None => index += 1,
            }
        }
    }

    /// Reports the mined transactions that have their confirmations; sends again, as they
    /// were, those a reorg took off the chain.
    async fn confirm(&mut self) {
        let head = match self.client.get_block_number().await {
            Ok(head) => head.as_u64(),
            Err(error) => {
                tracing::debug!(target: "chain", %error, "cannot read the head");
                return;
            }
        };
        let mut index = 0;
        while index < self.mined.len() {
            let hash = self.mined[index].receipt.transaction_hash;
            match self.client.get_transaction_receipt(hash).await {
                Ok(Some(receipt)) => {
                    let block = receipt.block_number.map_or(u64::MAX, |b| b.as_u64());
                    if head >= block.saturating_add(self.config.confirmations) {
                        let Mined { flight, .. } = self.mined.swap_remove(index);
                        match flight.reply {
                            Some(reply) => {
                                let _ = reply.send(outcome(receipt));
                            }
                            // Told at its first receipt; mined again after a reorg, it
                            // may have fared otherwise.
                            None if receipt.status != Some(1u64.into()) => {
                                tracing::warn!(target: "chain", tx = ?hash, nonce = %flight.nonce, "an answer or challenge mined again after a reorg reverted there");
                            }
                            None => {}
                        }
                        continue;
                    }
                    // Mined again elsewhere after a reorg: its confirmations count from there.
                    self.mined[index].receipt = receipt;
                    index += 1;
                }
                Ok(None) => {
                    let Mined { mut flight, .. } = self.mined.swap_remove(index);
                    tracing::warn!(target: "chain", tx = ?hash, nonce = %flight.nonce, "a reorg took a mined transaction off the chain: sending it again");
                    self.stats.reorged.fetch_add(1, Ordering::Relaxed);
                    if let Some((_, raw)) = flight.hashes.iter().find(|(h, _)| *h == hash) {
                        flight.raw = raw.clone();
                    }
                    flight.sent_at = Instant::now();
                    flight.spent_since = None;
                    let raw = flight.raw.clone();
                    self.in_flight.push(flight);
                    if let Broadcast::Refused(refusal) = self.broadcast(raw).await {
                        tracing::debug!(target: "chain", refusal, "a reorged transaction was refused");
                    }
                }
                Err(error) => {
                    tracing::debug!(target: "chain", %error, "cannot read a receipt");
                    index += 1;
                }
            }
        }
    }

    /// The outcome of the transaction at `index` if it has one, given the account's
    /// `mined` nonce; else replaces it when due.
    async fn check(
        &mut self,
        index: usize,
        mined: U256,
    ) -> Option<Result<(H256, TransactionReceipt), ChainError>> {
        let nonce = self.in_flight[index].nonce;
        if nonce >= mined {
            // Not mined yet: the lowest nonce, which holds up the others, is replaced with
            // raised fees when due; the others are broadcast again as they are.
            if self.in_flight[index].sent_at.elapsed() >= self.config.bump_after {
                let lowest = self.in_flight.iter().all(|f| f.nonce >= nonce);
                if lowest {
                    self.replace(index).await;
                } else {
                    self.rebroadcast(index).await;
                }
            }
            return None;
        }
        let hashes: Vec<H256> = self.in_flight[index]
            .hashes
            .iter()
            .map(|(hash, _)| *hash)
            .collect();
        for hash in hashes.into_iter().rev() {
            match self.client.get_transaction_receipt(hash).await {
                Ok(Some(receipt)) => {
                    self.stats.mined.fetch_add(1, Ordering::Relaxed);
                    // Reverted or not, a receipt waits for its confirmations: a reorg
                    // may undo either.
                    return Some(
                        if receipt.status == Some(1u64.into()) || self.config.confirmations > 0 {
                            Ok((hash, receipt))
                        } else {
                            Err(ChainError::Reverted { tx: hash })
                        },
                    );
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(target: "chain", %error, "cannot read a receipt");
                    return None;
                }
            }
        }
        // The nonce is spent and none of ours has a receipt: another transaction of the
        // account took it, or receipts lag the count (a load-balanced RPC, a reorg). Only
        // after `bump_after` of that is it given up.
        let bump_after = self.config.bump_after;
        let flight = &mut self.in_flight[index];
        let since = *flight.spent_since.get_or_insert_with(Instant::now);
        if since.elapsed() < bump_after {
            return None;
        }
        let tx = flight
            .hashes
            .last()
            .map(|(hash, _)| *hash)
            .unwrap_or_default();
        tracing::warn!(target: "chain", ?tx, %nonce, "another transaction of this account took the nonce");
        Some(Err(ChainError::Dropped { tx }))
    }

    /// Broadcasts the transaction at `index` again as it is.
    async fn rebroadcast(&mut self, index: usize) {
        self.in_flight[index].sent_at = Instant::now();
        let raw = self.in_flight[index].raw.clone();
        if let Broadcast::Refused(refusal) = self.broadcast(raw).await {
            tracing::debug!(target: "chain", refusal, "a broadcast again was refused");
        }
    }

    /// Sends the transaction at `index` again under its nonce with raised fees; at the
    /// cap (or when the cap leaves less than the raise nodes require), broadcasts it again
    /// as it is.
    async fn replace(&mut self, index: usize) {
        let (old_max, old_tip) = fees(&self.in_flight[index].tx);
        let (now_max, now_tip) = self.estimate().await.unwrap_or((old_max, old_tip));
        let percent = self.config.bump_percent.max(10);
        let (max_fee, tip) = self.capped(
            raised(old_max, percent).max(now_max),
            raised(old_tip, percent).max(now_tip),
        );
        // Nodes take a replacement only when both fees rise by a tenth.
        let enough = max_fee >= raised(old_max, 10) && tip >= raised(old_tip, 10).min(max_fee);
        if !enough {
            let flight = &mut self.in_flight[index];
            if !flight.capped {
                flight.capped = true;
                tracing::error!(target: "chain", nonce = %flight.nonce, %old_max, "a transaction is stuck at the highest fee allowed (chain.max_fee_gwei): it and every later one wait");
            }
            self.rebroadcast(index).await;
            return;
        }
        let mut tx = self.in_flight[index].tx.clone();
        set_fees(&mut tx, max_fee, tip);
        let (raw, hash) = match self.sign(&tx).await {
            Ok(signed) => signed,
            Err(error) => {
                tracing::warn!(target: "chain", %error, "cannot sign a replacement");
                return;
            }
        };
        // Kept before the broadcast: if the node took it without answering, it may be the
        // one mined.
        let flight = &mut self.in_flight[index];
        flight.hashes.push((hash, raw.clone()));
        flight.sent_at = Instant::now();
        let nonce = flight.nonce;
        match self.broadcast(raw.clone()).await {
            Broadcast::Taken | Broadcast::Unanswered => {
                tracing::info!(target: "chain", %nonce, %max_fee, %tip, "transaction replaced with a raised fee");
                let flight = &mut self.in_flight[index];
                flight.tx = tx;
                flight.raw = raw;
                self.stats.replaced.fetch_add(1, Ordering::Relaxed);
            }
            // Mined meanwhile ("nonce too low"), or the raise refused (funds short of the
            // new fee, the node's own cap): the transaction as it was goes out again, in
            // case the pool lost it; the next poll finds a receipt, or raises again.
            Broadcast::Refused(refusal) => {
                tracing::warn!(target: "chain", %nonce, refusal, "a raised fee was refused");
                self.rebroadcast(index).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees_from_a_lying_rpc_saturate_and_never_panic() {
        let gwei = |n: u64| U256::from(n) * U256::from(1_000_000_000u64);
        assert_eq!(
            fees_from(gwei(10), vec![vec![gwei(1)], vec![gwei(5)], vec![gwei(4)]]),
            (gwei(24), gwei(4))
        );
        // No tips (or empty lists): the default tip.
        assert_eq!(
            fees_from(gwei(1), vec![vec![], vec![U256::zero()]]),
            (gwei(5), gwei(3))
        );
        // Numbers no chain has: the maximum, not a panic.
        assert_eq!(
            fees_from(U256::MAX, vec![vec![U256::MAX], vec![U256::MAX]]),
            (U256::MAX, U256::MAX)
        );
    }

    #[test]
    fn a_raise_is_at_least_the_percent_and_one_wei() {
        assert_eq!(raised(U256::from(100), 10), U256::from(111));
        assert_eq!(raised(U256::zero(), 25), U256::one());
        assert_eq!(raised(U256::MAX, 25), U256::MAX / 100 + 1);
    }

    #[test]
    fn answers_go_before_challenges_challenges_before_commitments_and_those_before_the_rest() {
        let mut order = [
            Priority::Normal,
            Priority::Commit,
            Priority::Answer,
            Priority::Challenge,
        ];
        order.sort();
        assert_eq!(
            order,
            [
                Priority::Answer,
                Priority::Challenge,
                Priority::Commit,
                Priority::Normal
            ]
        );
        assert!(Priority::Answer.urgent() && Priority::Challenge.urgent());
        assert!(!Priority::Commit.urgent() && !Priority::Normal.urgent());
    }
}
