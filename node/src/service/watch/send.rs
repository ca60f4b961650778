//! Sending a challenge or finalization, and what its result means for the records.

use super::*;
use provernet_slashing::txqueue::Priority;

impl Watchtower {
    /// Runs a challenge (or finalization) after `delay_ms`, reporting its gas or error.
    pub(super) fn send<F, Fut>(&mut self, target: Target, delay_ms: u64, action: F)
    where
        F: FnOnce(Market<ChainClient>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ethers::types::TransactionReceipt, ChainError>> + Send,
    {
        self.in_flight.insert(target);
        // Challenges go through the account's queue ahead of commitments and claims.
        let market = self.s.market.with_priority(Priority::Challenge);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            let result = action(market).await.map(Box::new);
            let _ = reports.send(Report::Sent { target, result }).await;
        });
    }

    pub(super) fn on_sent(
        &mut self,
        target: Target,
        result: Result<Box<ethers::types::TransactionReceipt>, ChainError>,
    ) {
        self.in_flight.remove(&target);
        let kind = target.kind();
        let error = match result {
            Ok(receipt) => {
                let gas = gas_of(&receipt);
                self.s.metrics.chain.mined(kind, gas);
                tracing::info!(target: "watch", kind, gas, "sent");
                // What the transaction did is in its events; the follower delivers them
                // too, but later: apply them now so the next tick does not send again.
                let events: Vec<MarketEvent> = receipt
                    .logs
                    .iter()
                    .filter_map(|log| {
                        let raw = ethers::abi::RawLog {
                            topics: log.topics.clone(),
                            data: log.data.to_vec(),
                        };
                        Some(MarketEvent {
                            event: <E as ethers::contract::EthLogDecode>::decode_log(&raw).ok()?,
                            block: receipt.block_number.map_or(0, |b| b.as_u64()),
                            tx: receipt.transaction_hash,
                            log_index: log.log_index.map_or(0, |i| i.low_u64()),
                        })
                    })
                    .collect();
                for event in events {
                    self.on_event(event);
                }
                if let Target::Equivocation(job) = target {
                    self.equivocations.remove(&job);
                }
                return;
            }
            Err(error) => error,
        };
        let taken = matches!(
            error.market_error(),
            Some(
                ProverMarketErrors::AlreadySlashed(_)
                    | ProverMarketErrors::ChallengePending(_)
                    | ProverMarketErrors::JobSlashed(_)
            )
        );
        let closed = matches!(
            error.market_error(),
            Some(ProverMarketErrors::WindowClosed(_))
        );
        let verifies = matches!(error, ChainError::Evidence(EvidenceError::ProofVerifies));
        let not_yet = matches!(
            error.market_error(),
            Some(ProverMarketErrors::DeadlineNotPassed(_))
        );
        let outcome = if taken {
            Some("taken")
        } else if closed {
            Some("window_closed")
        } else if verifies {
            Some("disagreement")
        } else {
            None
        };
        match target {
            Target::Finalize(id) => {
                // Someone else settled it, or it failed for now: the events tell, and
                // the next tick tries again if it is still open.
                tracing::debug!(target: "watch", challenge = id, %error, "finalize not sent");
                self.retry_at.insert(target, now_ms() + RETRY_MS);
            }
            Target::Invalid(key) | Target::Withheld(key) => {
                let challenging = self
                    .leaves
                    .get(&key)
                    .is_some_and(|l| matches!(l.state, LeafState::Challenging { .. }));
                // A purchase's mark stays: an error does not show the transaction was
                // not mined (a receipt lost, a retry refused by the purchase's own
                // pending challenge). Whether it is open is its leaf's state
                // (`purchase_open`).
                if let Some(outcome) = outcome.filter(|_| challenging) {
                    if verifies {
                        tracing::error!(target: "watch", batch_id = key.0, "the native verifier rejects a proof the chain's accepts: not challenging");
                    }
                    self.count(kind, outcome);
                    if closed {
                        self.report_own_unobtainable(key);
                    }
                    self.set_leaf(key, done(outcome));
                } else if challenging {
                    // Not when the events already recorded the challenge as open (a
                    // receipt lost after the transaction was mined).
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will audit again");
                    self.set_leaf(key, LeafState::Pending);
                    self.retry_at
                        .insert(Target::Invalid(key), now_ms() + RETRY_MS);
                }
            }
            Target::Deadline(job) => {
                if let Some(outcome) = outcome.filter(|_| !not_yet) {
                    self.count(kind, outcome);
                    self.settle_open(&job, outcome, true);
                } else {
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will retry");
                    self.retry_at.insert(target, now_ms() + RETRY_MS);
                }
            }
            Target::Equivocation(job) => {
                if let Some(outcome) = outcome {
                    self.count(kind, outcome);
                    self.equivocations.remove(&job);
                } else {
                    tracing::warn!(target: "watch", kind, %error, "challenge not sent; will retry");
                    self.retry_at.insert(target, now_ms() + RETRY_MS);
                }
            }
        }
    }
}
