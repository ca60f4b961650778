//! One queue per account for its transactions.
//!
//! The queue owns the account's nonces: it sends the most urgent waiting transaction
//! first (answers to challenges ahead of everything, then challenges, then commitments
//! and claims), keeps up to `max_in_flight` in flight at once, and watches each until a
//! receipt comes. One with no receipt after `bump_after` is sent again under the same
//! nonce with fees raised by `bump_percent` (EIP-1559 replacement; a legacy transaction
//! raises its gas price), never above `max_fee_per_gas` when one is set: a gas spike or an
//! underpriced transaction never leaves the account stuck, and a transaction never waits
//! behind more than the ones in flight. Each caller waits only for its own receipt.
//!
//! A nonce, once sent, is never given up: the queue keeps it until one of its
//! transactions is mined (so a commitment is never sent twice under two nonces), unless
//! another transaction of the account, sent from elsewhere, took it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ethers::providers::Middleware;
use ethers::types::transaction::eip2718::TypedTransaction;
use ethers::types::{Address, BlockNumber, H256, TransactionReceipt, U256};
use tokio::sync::{mpsc, oneshot};

use crate::ChainError;

/// How urgent a transaction is: the queue sends the most urgent waiting one first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    /// An answer to a challenge against this account: its response window is short.
    Answer,
    /// A challenge, or the commitment to its evidence.
    Challenge,
    /// Everything else: commitments, claims, stake and deposits.
    Normal,
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
}

type Reply = oneshot::Sender<Result<TransactionReceipt, ChainError>>;

struct Job {
    tx: TypedTransaction,
    reply: Reply,
}

struct InFlight {
    nonce: U256,
    tx: TypedTransaction,
    /// Every hash sent under this nonce, the latest last: any of them may be mined.
    hashes: Vec<H256>,
    sent_at: Instant,
    /// Polls that found the nonce taken and none of our hashes mined.
    taken_polls: u32,
    capped: bool,
    reply: Reply,
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
    /// A queue sending from `from` through `client` (which signs), and the task that runs
    /// it until `shutdown` resolves or every handle is dropped and nothing is in flight.
    pub fn new<M: Middleware + 'static>(
        client: Arc<M>,
        from: Address,
        config: QueueConfig,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> (Self, impl Future<Output = ()> + Send + 'static) {
        let (jobs, rx) = mpsc::channel(1_024);
        let stats = Arc::new(QueueStats::default());
        let runner = Runner {
            client,
            from,
            config,
            stats: Arc::clone(&stats),
            waiting: BTreeMap::new(),
            in_flight: Vec::new(),
            next_nonce: None,
            seq: 0,
        };
        (Self { jobs, stats }, runner.run(rx, shutdown))
    }

    /// Sends `tx` (its nonce and fees are the queue's) and waits for its receipt, which
    /// must report success.
    ///
    /// # Errors
    /// [`ChainError::Reverted`] when mined and reverted; [`ChainError::Rpc`] when it could
    /// not be sent (nothing spent) or the queue stopped; [`ChainError::Dropped`] when
    /// another transaction of the account took its nonce.
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

struct Runner<M> {
    client: Arc<M>,
    from: Address,
    config: QueueConfig,
    stats: Arc<QueueStats>,
    waiting: BTreeMap<(Priority, u64), Job>,
    in_flight: Vec<InFlight>,
    next_nonce: Option<U256>,
    seq: u64,
}

fn rpc(error: impl std::fmt::Display) -> ChainError {
    ChainError::Rpc(error.to_string())
}

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

impl<M: Middleware + 'static> Runner<M> {
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
            if !open && self.waiting.is_empty() && self.in_flight.is_empty() {
                return;
            }
            tokio::select! {
                () = &mut shutdown => return,
                job = jobs.recv(), if open => match job {
                    Some((priority, job)) => {
                        self.waiting.insert((priority, self.seq), job);
                        self.seq += 1;
                    }
                    None => open = false,
                },
                _ = tick.tick() => self.poll().await,
            }
            while self.in_flight.len() < self.config.max_in_flight.max(1) {
                let Some((_, job)) = self.waiting.pop_first() else {
                    break;
                };
                if job.reply.is_closed() {
                    continue;
                }
                self.send_new(job).await;
            }
            self.stats
                .in_flight
                .store(self.in_flight.len() as u64, Ordering::Relaxed);
        }
    }

    /// The fees to offer now: the node's estimate (from its fee history; its gas price
    /// where it keeps none), capped.
    async fn estimate(&self) -> Result<(U256, U256), ChainError> {
        let (max_fee, tip) = match self.client.estimate_eip1559_fees(None).await {
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

    async fn send_new(&mut self, job: Job) {
        let Job { mut tx, reply } = job;
        let prepared = async {
            let nonce = match self.next_nonce {
                Some(nonce) => nonce,
                None => self
                    .client
                    .get_transaction_count(self.from, Some(BlockNumber::Pending.into()))
                    .await
                    .map_err(rpc)?,
            };
            tx.set_from(self.from);
            tx.set_nonce(nonce);
            let (max_fee, tip) = self.estimate().await?;
            set_fees(&mut tx, max_fee, tip);
            if tx.gas().is_none() {
                let gas = self.client.estimate_gas(&tx, None).await.map_err(rpc)?;
                tx.set_gas(gas);
            }
            let pending = self
                .client
                .send_transaction(tx.clone(), None)
                .await
                .map_err(rpc)?;
            Ok::<_, ChainError>((nonce, pending.tx_hash()))
        }
        .await;
        match prepared {
            Ok((nonce, hash)) => {
                self.next_nonce = Some(nonce + 1);
                self.stats.sent.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(target: "chain", ?hash, %nonce, "transaction sent");
                self.in_flight.push(InFlight {
                    nonce,
                    tx,
                    hashes: vec![hash],
                    sent_at: Instant::now(),
                    taken_polls: 0,
                    capped: false,
                    reply,
                });
            }
            Err(error) => {
                // Not in the pool (a refusal, a failed estimate, an RPC failure): its
                // nonce is read again from the node for the next one.
                self.next_nonce = None;
                let _ = reply.send(Err(error));
            }
        }
    }

    /// Looks for the receipts of what is in flight; replaces what waited too long. One
    /// read of the account's mined nonce per poll: receipts are looked for only under
    /// the nonces it has passed.
    async fn poll(&mut self) {
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
                Some(result) => {
                    let done = self.in_flight.swap_remove(index);
                    let _ = done.reply.send(result);
                }
                None => index += 1,
            }
        }
    }

    /// The outcome of the transaction at `index` if it has one, given the account's
    /// `mined` nonce; else replaces it when due.
    async fn check(
        &mut self,
        index: usize,
        mined: U256,
    ) -> Option<Result<TransactionReceipt, ChainError>> {
        let nonce = self.in_flight[index].nonce;
        if nonce >= mined {
            // Not mined yet.
            if self.in_flight[index].sent_at.elapsed() >= self.config.bump_after {
                self.replace(index).await;
            }
            return None;
        }
        let hashes = self.in_flight[index].hashes.clone();
        for hash in hashes.iter().rev() {
            match self.client.get_transaction_receipt(*hash).await {
                Ok(Some(receipt)) => {
                    self.stats.mined.fetch_add(1, Ordering::Relaxed);
                    return Some(if receipt.status == Some(1u64.into()) {
                        Ok(receipt)
                    } else {
                        Err(ChainError::Reverted { tx: *hash })
                    });
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(target: "chain", %error, "cannot read a receipt");
                    return None;
                }
            }
        }
        // The nonce is spent and none of ours has a receipt: another transaction of the
        // account took it (receipts may lag the count for a poll or two).
        let flight = &mut self.in_flight[index];
        flight.taken_polls += 1;
        if flight.taken_polls < 3 {
            return None;
        }
        let tx = flight.hashes.last().copied().unwrap_or_default();
        tracing::warn!(target: "chain", ?tx, %nonce, "another transaction of this account took the nonce");
        Some(Err(ChainError::Dropped { tx }))
    }

    /// Sends the transaction at `index` again under its nonce with raised fees.
    async fn replace(&mut self, index: usize) {
        let (old_max, old_tip) = fees(&self.in_flight[index].tx);
        let (now_max, now_tip) = self.estimate().await.unwrap_or((old_max, old_tip));
        let percent = self.config.bump_percent.max(10);
        let (max_fee, tip) = self.capped(
            raised(old_max, percent).max(now_max),
            raised(old_tip, percent).max(now_tip),
        );
        let flight = &mut self.in_flight[index];
        flight.sent_at = Instant::now();
        if max_fee <= old_max {
            if !flight.capped {
                flight.capped = true;
                tracing::error!(target: "chain", nonce = %flight.nonce, %old_max, "a transaction is stuck at the highest fee allowed (chain.max_fee_gwei)");
            }
            return;
        }
        let mut tx = flight.tx.clone();
        set_fees(&mut tx, max_fee, tip);
        match self.client.send_transaction(tx.clone(), None).await {
            Ok(pending) => {
                let flight = &mut self.in_flight[index];
                tracing::info!(target: "chain", nonce = %flight.nonce, %max_fee, %tip, "transaction replaced with a raised fee");
                flight.hashes.push(pending.tx_hash());
                flight.tx = tx;
                self.stats.replaced.fetch_add(1, Ordering::Relaxed);
            }
            // Mined meanwhile ("nonce too low"), or the node refused the raise: the next
            // poll finds the receipt, or tries again.
            Err(error) => {
                tracing::debug!(target: "chain", %error, "replacement not sent");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raise_is_at_least_the_percent_and_one_wei() {
        assert_eq!(raised(U256::from(100), 10), U256::from(111));
        assert_eq!(raised(U256::zero(), 25), U256::one());
        assert_eq!(raised(U256::MAX, 25), U256::MAX / 100 + 1);
    }

    #[test]
    fn answers_go_before_challenges_and_challenges_before_the_rest() {
        let mut order = [Priority::Normal, Priority::Answer, Priority::Challenge];
        order.sort();
        assert_eq!(
            order,
            [Priority::Answer, Priority::Challenge, Priority::Normal]
        );
    }
}
