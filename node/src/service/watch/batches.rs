//! A batch's leaves and times: from commitment notices, the committing transaction's
//! input, or the prover; its block's time; the root check.

use super::*;

impl Watchtower {
    /// Asks silent provers for the leaves of batches whose notices did not come.
    pub(super) fn ask_for_leaves(&mut self, now: u64) {
        for batch in self.batches.values_mut() {
            // A refusal may be a passing failure: ask again a little later, a few times.
            if batch.leaves == Leaves::Refused
                && batch.refusals < MAX_REFUSALS
                && now >= batch.refused_ms + REFUSED_RETRY_MS
            {
                batch.leaves = Leaves::Partial;
            }
        }
        let wait = self.s.config.watchtower.notice_wait_ms;
        // Without the watchtower role only provers of this node's waiting jobs matter.
        let watched: HashSet<[u8; 20]> = if self.audit {
            HashSet::new()
        } else {
            self.deadlines
                .iter()
                .filter(|(_, w)| w.state == DeadlineState::Waiting)
                .map(|((prover, _, _), _)| *prover)
                .collect()
        };
        let wanted: Vec<u64> = self
            .batches
            .iter()
            .filter(|(id, b)| {
                b.leaves == Leaves::Partial
                    && now >= b.seen_ms + wait
                    && self.window_open(**id)
                    && (self.audit || watched.contains(&b.prover))
            })
            .map(|(id, _)| *id)
            .collect();
        for batch_id in wanted {
            self.fetch_leaves(batch_id);
        }
    }

    /// Notices' paths do not fix the index of their leaf (the tree hashes sorted pairs):
    /// once every index is known, the leaves in index order must give the root, or the
    /// batch is asked of its prover, whose answer replaces them.
    pub(super) fn check_root(&mut self, batch_id: u64) {
        let Some(batch) = self.batches.get(&batch_id) else {
            return;
        };
        let hashes: Vec<Hash32> = self
            .leaves
            .range((batch_id, 0)..=(batch_id, u32::MAX))
            .map(|(_, l)| l.leaf.hash())
            .collect();
        let root = (hashes.len() == batch.count as usize)
            .then(|| MerkleTree::new(hashes))
            .flatten()
            .map(|t| t.root());
        if root != Some(Hash32(batch.root)) {
            tracing::warn!(target: "watch", batch_id, "the notices' leaves do not give the root: asking the prover");
            if let Some(batch) = self.batches.get_mut(&batch_id) {
                batch.leaves = Leaves::Partial;
                batch.seen_ms = 0;
            }
        }
    }

    /// Reads again the times of batches whose read failed, once their pause is over.
    pub(super) fn refetch_times(&mut self, now: u64) {
        let due: Vec<(u64, u64)> = self
            .batches
            .iter()
            .filter(|(_, b)| {
                b.timestamp.is_none() && b.time_retry_ms != 0 && now >= b.time_retry_ms
            })
            .map(|(id, b)| (*id, b.block))
            .collect();
        for (batch_id, block) in due {
            if let Some(b) = self.batches.get_mut(&batch_id) {
                b.time_retry_ms = 0;
            }
            self.fetch_time(batch_id, block);
        }
    }

    pub(super) fn fetch_time(&self, batch_id: u64, block: u64) {
        let client = Arc::clone(self.s.market.client());
        let reports = self.reports.clone();
        tokio::spawn(async move {
            use ethers::providers::Middleware;
            let client = &client;
            let timestamp = Retry::RPC
                .run(|_| async move {
                    match client.get_block(block).await {
                        Ok(Some(b)) => Ok(b.timestamp.low_u64()),
                        _ => Err(Try::Again(())),
                    }
                })
                .await
                .ok();
            let _ = reports
                .send(Report::BatchTime {
                    batch_id,
                    timestamp,
                })
                .await;
        });
    }

    /// Reads a batch's leaves from the input of the transaction that committed it.
    pub(super) fn fetch_published(&self, batch_id: u64, tx: ethers::types::H256) {
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let market = &shared.market;
            let leaves = Retry::RPC
                .run(|_| async move {
                    market.published_leaves(tx).await.map_err(|error| {
                        tracing::debug!(target: "watch", batch_id, %error, "cannot read a batch's leaves from its transaction yet");
                        Try::Again(())
                    })
                })
                .await
                .ok();
            let _ = reports.send(Report::Published { batch_id, leaves }).await;
        });
    }

    pub(super) fn fetch_leaves(&mut self, batch_id: u64) {
        let Some(batch) = self.batches.get_mut(&batch_id) else {
            return;
        };
        if batch.leaves != Leaves::Partial {
            return;
        }
        let prover_key = self
            .keys
            .get(&EthAddress::from(batch.prover))
            .and_then(PeerKey::from_bytes);
        let Some((key, peer)) = prover_key.and_then(|k| Some((k, peer_id_of(&k)?))) else {
            batch.leaves = Leaves::Refused;
            return;
        };
        batch.leaves = Leaves::Asking;
        tracing::info!(target: "watch", batch_id, "no notices for a batch: asking its prover for the leaves");
        let root = Hash32(batch.root);
        let count = batch.count as usize;
        let shared = Arc::clone(&self.s);
        let reports = self.reports.clone();
        tokio::spawn(async move {
            let (shared, key) = (&shared, &key);
            // Tried again on a wrong answer too: the prover may not have sealed it yet.
            let leaves = Retry::peer(3)
                .run(|_| async move {
                    request_leaves(shared, peer, key, batch_id)
                        .await
                        .filter(|got| {
                            got.len() == count
                                && MerkleTree::new(got.iter().map(JobLeaf::hash).collect())
                                    .is_some_and(|t| t.root() == root)
                        })
                        .ok_or(Try::Again(()))
                })
                .await
                .ok();
            let _ = reports.send(Report::BatchLeaves { batch_id, leaves }).await;
        });
    }

    /// A batch's leaves from the chain: taken when they hash to its root (they always do:
    /// the contract computed the root from them), else the notices and the prover's
    /// answers remain the way to learn them.
    pub(super) fn on_published(&mut self, batch_id: u64, leaves: Option<Vec<JobLeaf>>) {
        let Some(batch) = self.batches.get(&batch_id) else {
            return;
        };
        let root = leaves
            .as_ref()
            .and_then(|l| MerkleTree::new(l.iter().map(JobLeaf::hash).collect()))
            .map(|tree| tree.root().0);
        match leaves {
            Some(leaves) if root == Some(batch.root) && leaves.len() == batch.count as usize => {
                self.s
                    .metrics
                    .watch
                    .batch_fetches
                    .get_or_create(&kind("published"))
                    .inc();
                self.take_leaves(batch_id, leaves);
            }
            _ => {
                tracing::warn!(target: "watch", batch_id, "cannot read the batch's leaves from the chain")
            }
        }
    }

    pub(super) fn on_leaves(&mut self, batch_id: u64, leaves: Option<Vec<JobLeaf>>) {
        let Some(batch) = self.batches.get_mut(&batch_id) else {
            return;
        };
        let Some(leaves) = leaves else {
            batch.leaves = Leaves::Refused;
            batch.refusals += 1;
            batch.refused_ms = now_ms();
            self.s
                .metrics
                .watch
                .batch_fetches
                .get_or_create(&kind("refused"))
                .inc();
            tracing::warn!(target: "watch", batch_id, "the prover did not serve the batch's leaves");
            return;
        };
        self.s
            .metrics
            .watch
            .batch_fetches
            .get_or_create(&kind("served"))
            .inc();
        self.take_leaves(batch_id, leaves);
    }

    /// Learns every leaf of a batch, in tree order (from the chain, or served by its
    /// prover): a leaf a notice put at an index is replaced by the one given here.
    pub(super) fn take_leaves(&mut self, batch_id: u64, leaves: Vec<JobLeaf>) {
        let Some(tree) = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()) else {
            return;
        };
        for (index, leaf) in leaves.into_iter().enumerate() {
            let path = tree.path(index).unwrap_or_default();
            let key = (batch_id, u32::try_from(index).unwrap_or(u32::MAX));
            if self
                .leaves
                .get(&key)
                .is_some_and(|l| l.leaf.hash() != leaf.hash())
            {
                // A notice put another leaf at this index: the prover's answer, which
                // gives the root, replaces it.
                if let Some(old) = self.leaves.remove(&key) {
                    let job = (old.prover, old.leaf.client.0, old.leaf.job_id);
                    if let Some(keys) = self.by_job.get_mut(&job) {
                        keys.retain(|k| *k != key);
                    }
                }
                if let Some(batch) = self.batches.get_mut(&batch_id) {
                    batch.known.remove(&key.1);
                }
            }
            self.add_leaf(
                batch_id,
                u32::try_from(index).unwrap_or(u32::MAX),
                leaf,
                path,
            );
        }
        if let Some(batch) = self.batches.get_mut(&batch_id) {
            batch.leaves = Leaves::Complete;
        }
    }
}

/// Asks the prover for batch `batch_id`'s leaves.
pub(super) async fn request_leaves(
    s: &Shared,
    peer: PeerId,
    key: &PeerKey,
    batch_id: u64,
) -> Option<Vec<JobLeaf>> {
    // One try: the caller tries again, the leaves' count and root included.
    let response: BatchResponse =
        super::super::ask::ask(s, peer, &BatchRequest { batch_id }, Some(key), Retry::ONCE)
            .await
            .ok()?;
    match response.leaves {
        Response::Ok(leaves) if response.batch_id == batch_id => Some(leaves),
        _ => None,
    }
}
