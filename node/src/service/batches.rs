//! The prover's batches on chain: leaves queued and sealed into batches, the commit and
//! its outcome, the claim of the fees once the window closes, and the batch's leaves
//! served to watchtowers that ask (a silent prover's leaves are on chain anyway).

use provernet_protocol::kind::MAX_BATCH_LEAVES_SERVED;
use provernet_protocol::merkle::MerkleTree;
use provernet_protocol::{
    BatchRequest, BatchResponse, CommitmentNotice, Hash32, JobId, JobLeaf, Response, keccak256,
};
use provernet_slashing::evidence::Inclusion;

use super::prover::RETRY_MS;
use super::{Core, eth, now_ms};
use crate::config::CheatMode;
use crate::metrics::kind;
use crate::store::records::BatchLeaf;
use crate::store::{BatchRecord, BatchState, Work, WorkState, WriteBatch};

impl Core {
    pub(super) fn leaf_of(work: &Work) -> Option<BatchLeaf> {
        let proof = work.proof.as_ref()?;
        let request = &work.request.0;
        let award = &work.award.0;
        Some(BatchLeaf {
            leaf: JobLeaf {
                job_id: work.job_id,
                circuit_id: request.circuit_id,
                public_inputs_hash: JobLeaf::public_inputs_hash(&proof.inputs()),
                proof_hash: Hash32(keccak256(&proof.proof)),
                client: request.client,
                price: award.price,
            },
            nonce: request.nonce,
            deadline: award.deadline,
            award_signature: award.signature.0.to_vec(),
        })
    }

    pub(super) async fn enqueue_leaf(&mut self, id: JobId) {
        let Some(leaf) = self.prover.works.get(&id).and_then(Self::leaf_of) else {
            return;
        };
        let twin = self.s.cheats(&id, CheatMode::Equivocate).then(|| {
            // Test-only misbehaviour: a second leaf for the job, with another proof hash.
            let mut twin = leaf.clone();
            twin.leaf.proof_hash = Hash32(keccak256(&twin.leaf.proof_hash.0));
            tracing::warn!(target: "market::prover", job = %id, "cheating: committing two leaves for one job");
            twin
        });
        if let Some(sealed) = self.prover.batcher.push(now_ms(), (id, leaf)) {
            self.seal(sealed);
        }
        if let Some(twin) = twin
            && let Some(sealed) = self.prover.batcher.push(now_ms(), (id, twin))
        {
            self.seal(sealed);
        }
    }

    /// Seals leaves into a batch: the batch and its jobs' new state land together, before
    /// any transaction is sent.
    pub(super) fn seal(&mut self, items: Vec<(JobId, BatchLeaf)>) {
        let seq = match self.s.store.next_batch_seq() {
            Ok(seq) => seq,
            Err(error) => {
                tracing::error!(target: "store", %error, "cannot read the batch counter");
                return;
            }
        };
        let record = BatchRecord {
            seq,
            leaves: items.iter().map(|(_, leaf)| leaf.clone()).collect(),
            state: BatchState::Sealed,
            sealed_at_block: self.book.head,
        };
        let mut batch = WriteBatch::default();
        batch.batch(&record).set_next_batch_seq(seq + 1);
        for (id, _) in &items {
            if let Some(work) = self.prover.works.get_mut(id) {
                work.state = WorkState::Batched;
                work.batch = Some(seq);
                batch.work(work);
            }
        }
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::prover", seq, leaves = record.leaves.len(), "batch sealed");
        self.prover.batches.insert(seq, record);
    }

    pub(super) async fn on_committed(&mut self, seq: u64, result: Result<(u64, u64), String>) {
        self.prover.in_flight.remove(&seq);
        let (id, block) = match result {
            Ok(done) => done,
            Err(reason) => {
                tracing::warn!(target: "chain", seq, reason, "commit failed; will retry");
                self.s
                    .metrics
                    .chain
                    .transactions
                    .get_or_create(&kind("commit_failed"))
                    .inc();
                self.prover.retry_at.insert(seq, now_ms() + RETRY_MS);
                return;
            }
        };
        let Some(record) = self.prover.batches.get_mut(&seq) else {
            return;
        };
        record.state = BatchState::Committed { id, block };
        let mut batch = WriteBatch::default();
        batch.batch(record);
        let leaves = record.job_leaves();
        if !self.write(batch) {
            return;
        }
        tracing::info!(target: "market::prover", seq, batch_id = id, block, leaves = leaves.len(), "batch committed");
        if self.s.config.prover.cheat.is_some() {
            self.record_committed_cheats(&leaves);
        }
        let Some(tree) = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect()) else {
            return;
        };
        if self
            .s
            .config
            .prover
            .cheat
            .as_ref()
            .is_some_and(|c| c.silent)
        {
            tracing::warn!(target: "market::prover", batch_id = id, "cheating: no commitment notices");
            return;
        }
        let size = u32::try_from(leaves.len()).unwrap_or(u32::MAX);
        for (index, leaf) in leaves.into_iter().enumerate() {
            let notice = CommitmentNotice {
                prover: self.s.address,
                batch_root: tree.root(),
                batch_size: size,
                leaf_index: u32::try_from(index).unwrap_or(u32::MAX),
                merkle_path: tree.path(index).unwrap_or_default(),
                leaf,
                commit_block: block,
            };
            self.s.publish(&notice).await;
        }
    }

    /// Records the faults a (test-only) cheating prover has just put on chain: a fault
    /// is one only once its leaf is committed (a prover slashed below the minimum stake
    /// proves on but can no longer commit).
    fn record_committed_cheats(&self, leaves: &[JobLeaf]) {
        for leaf in leaves {
            let id = leaf.job_id;
            for mode in [CheatMode::InvalidProof, CheatMode::Withhold] {
                if self.s.cheats(&id, mode) {
                    self.s.record_cheat(&id, mode);
                }
            }
            // The second leaf of an equivocation carries another proof hash than the
            // proof this prover holds.
            let own = self
                .prover
                .works
                .get(&id)
                .and_then(|w| w.proof.as_ref())
                .map(|p| keccak256(&p.proof));
            if self.s.cheats(&id, CheatMode::Equivocate)
                && own.is_some_and(|hash| hash != leaf.proof_hash.0)
            {
                self.s.record_cheat(&id, CheatMode::Equivocate);
            }
        }
    }

    pub(super) fn on_claimed(&mut self, seq: u64, result: Result<(), String>) {
        self.prover.in_flight.remove(&seq);
        if let Err(reason) = result {
            tracing::warn!(target: "chain", seq, reason, "claim failed; will retry");
            self.s
                .metrics
                .chain
                .transactions
                .get_or_create(&kind("claim_failed"))
                .inc();
            self.prover.retry_at.insert(seq, now_ms() + RETRY_MS);
            return;
        }
        let paid: Vec<(ethers::types::Address, u128)> = self
            .prover
            .batches
            .get(&seq)
            .map(|b| {
                b.leaves
                    .iter()
                    .map(|l| (eth(&l.leaf.client), l.leaf.price))
                    .collect()
            })
            .unwrap_or_default();
        self.funds_claimed(&paid);
        let Some(mut record) = self.prover.batches.remove(&seq) else {
            return;
        };
        let BatchState::Committed { id, .. } = record.state else {
            self.prover.batches.insert(seq, record);
            return;
        };
        record.state = BatchState::Claimed { id };
        let mut batch = WriteBatch::default();
        batch.batch(&record);
        self.expire_batch(&mut batch, &record);
        if !self.write(batch) {
            self.prover.batches.insert(seq, record);
            return;
        }
        // Settled (a claim pays only a final batch): the store keeps it and its jobs for
        // their retention; the core stops looking at them.
        self.prover.claimed.insert(id, seq);
        self.prover.retry_at.remove(&seq);
        let jobs: Vec<JobId> = record.leaves.iter().map(|leaf| leaf.leaf.job_id).collect();
        self.forget_works(&jobs, "claimed");
        tracing::info!(target: "market::prover", seq, batch_id = id, "fees claimed");
    }

    /// Where job `id` was committed, from the batch `seq` holding it.
    pub(super) fn inclusion_of(&self, id: &JobId, seq: Option<u64>) -> Option<Inclusion> {
        let seq = seq?;
        let record = match self.prover.batches.get(&seq) {
            Some(record) => record.clone(),
            None => self.s.store.batch(seq).ok()??,
        };
        let batch_id = match record.state {
            BatchState::Committed { id, .. } | BatchState::Claimed { id } => id,
            BatchState::Sealed => return None,
        };
        let leaves = record.job_leaves();
        let index = leaves.iter().position(|l| l.job_id == *id)?;
        Inclusion::from_batch(batch_id, &leaves, index).ok()
    }

    /// The leaves of one of this prover's batches, to a watchtower that asks.
    pub(super) fn serve_batch(&self, request: &BatchRequest) -> super::exchange::Answer {
        let committed = |b: &BatchRecord| {
            matches!(b.state, BatchState::Committed { id, .. } | BatchState::Claimed { id }
                if id == request.batch_id)
        };
        // Unclaimed batches are in memory; claimed ones are read by key from the store
        // (any peer may ask: never a scan).
        let leaves = self
            .prover
            .batches
            .values()
            .find(|b| committed(b))
            .cloned()
            .or_else(|| {
                let seq = self.prover.claimed.get(&request.batch_id)?;
                self.s.store.batch(*seq).ok()?.filter(committed)
            })
            .map(|b| b.job_leaves())
            .filter(|l| !l.is_empty() && l.len() <= MAX_BATCH_LEAVES_SERVED);
        let response = BatchResponse {
            batch_id: request.batch_id,
            leaves: match leaves {
                Some(leaves) => Response::Ok(leaves),
                None => Response::Refused(provernet_protocol::Refusal::Unavailable),
            },
        };
        Box::new(move |shared: &super::Shared| shared.envelope(&response))
    }
}
