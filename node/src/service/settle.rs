//! The prover's transactions, each run by the chain worker off the core: committing a
//! sealed batch (once, even across a crash), claiming a batch's fees, and answering
//! challenges (revealing a withheld proof, showing a leaf posted by the deadline).

use ethers::providers::Middleware as _;
use provernet_protocol::JobLeaf;
use provernet_protocol::merkle::MerkleTree;
use provernet_slashing::JobClaim;
use provernet_slashing::bindings::ProverMarketErrors;
use provernet_slashing::evidence::Inclusion;
use provernet_slashing::txqueue::Priority;

use super::{Shared, eth, gas_of};
use crate::store::records::{BatchLeaf, ProofRecord};

/// Reveals a withheld proof; returns whether the challenge needs no more answers.
pub(super) async fn reveal(shared: &Shared, challenge: u64, proof: &ProofRecord) -> bool {
    let result = shared
        .market
        .with_priority(Priority::Answer)
        .reveal_proof(challenge, &proof.inputs(), &proof.proof)
        .await;
    answered(shared, challenge, "reveal", result)
}

/// Answers a missed-deadline challenge; returns whether it needs no more answers.
pub(super) async fn answer(shared: &Shared, challenge: u64, at: &Inclusion) -> bool {
    let result = shared
        .market
        .with_priority(Priority::Answer)
        .answer_missed_deadline(challenge, at)
        .await;
    answered(shared, challenge, "answer", result)
}

/// Logs an answer's result; whether the challenge needs no more answers: answered now,
/// already settled (the follower replays every challenge after a restart), past its
/// window, or one no answer can win (the leaf was committed after its deadline). Any
/// other failure is tried again.
fn answered(
    shared: &Shared,
    challenge: u64,
    kind: &str,
    result: Result<ethers::types::TransactionReceipt, provernet_slashing::ChainError>,
) -> bool {
    match result {
        Ok(receipt) => {
            shared.metrics.chain.mined(kind, gas_of(&receipt));
            tracing::info!(target: "chain", challenge, kind, "challenge answered");
            true
        }
        Err(error)
            if matches!(
                error.market_error(),
                Some(
                    ProverMarketErrors::ChallengeNotOpen(_)
                        | ProverMarketErrors::ResponseWindowClosed(_)
                )
            ) =>
        {
            tracing::debug!(target: "chain", challenge, %error, "challenge no longer open");
            true
        }
        Err(error)
            if matches!(
                error.market_error(),
                Some(ProverMarketErrors::CommittedAfterDeadline(_))
            ) =>
        {
            tracing::error!(target: "chain", challenge, %error, "the leaf was committed after its deadline: no answer wins this challenge");
            true
        }
        Err(error) => {
            tracing::error!(target: "chain", challenge, kind, %error, "cannot answer the challenge; will retry");
            false
        }
    }
}

/// Posts a batch's root, unless a commitment of it by this prover is already on chain
/// (sent before a crash): a batch is never committed twice.
pub(super) async fn commit(
    shared: &Shared,
    leaves: &[JobLeaf],
    sealed_at_block: u64,
) -> Result<(u64, u64), String> {
    let root = MerkleTree::new(leaves.iter().map(JobLeaf::hash).collect())
        .ok_or("empty batch")?
        .root();
    // From the block the batch was sealed at to the head, in ranges a public RPC serves.
    let head = shared
        .market
        .client()
        .get_block_number()
        .await
        .map_err(|e| e.to_string())?
        .as_u64();
    // A copy found in the last `chain.confirmations` blocks may still be reorged out (or
    // its id given to another batch): it is looked for again once confirmed.
    let confirmed = head.saturating_sub(shared.config.chain.confirmations);
    let mut from = sealed_at_block;
    while from <= head {
        let to = head.min(from.saturating_add(shared.config.chain.log_range.max(1) - 1));
        let found = shared
            .market
            .contract()
            .batch_committed_filter()
            .topic2(eth(&shared.address))
            .from_block(from)
            .to_block(to)
            .query_with_meta()
            .await
            .map_err(|e| e.to_string())?
            .into_iter()
            .find(|(e, _)| e.root == root.0);
        // Found: no need to read the ranges after it.
        if let Some((event, meta)) = found {
            if meta.block_number.as_u64() > confirmed {
                return Err(
                    "an earlier commitment of this batch waits for its confirmations".into(),
                );
            }
            tracing::info!(target: "chain", "batch already on chain; not committing it again");
            return Ok((
                u64::try_from(event.batch_id).map_err(|e| e.to_string())?,
                meta.block_number.as_u64(),
            ));
        }
        from = to.saturating_add(1);
    }
    // Ahead of claims in the queue: the jobs' deadlines run, a claim has none.
    let (id, receipt) = shared
        .market
        .with_priority(Priority::Commit)
        .commit_batch(leaves)
        .await
        .map_err(|e| e.to_string())?;
    shared.metrics.chain.mined("commit", gas_of(&receipt));
    let block = receipt.block_number.map_or(0, |b| b.as_u64());
    Ok((id, block))
}

/// Claims the unpaid jobs of a batch: all in one `claimBatch`; if the contract refuses it
/// (a job slashed or under challenge), each job is checked alone and the payable ones are
/// claimed together, so one bad job does not block the others.
pub(super) async fn claim(
    shared: &Shared,
    batch_id: u64,
    leaves: &[BatchLeaf],
) -> Result<(), String> {
    let contract = shared.market.contract();
    let mut unpaid = Vec::new();
    for (index, leaf) in leaves.iter().enumerate() {
        if leaf.award_signature.iter().all(|b| *b == 0) {
            // The client never signed the award to us (it did not see our acceptance in
            // time, or kept its signature to itself): nothing to claim with.
            tracing::warn!(target: "chain", batch_id, job = %leaf.leaf.job_id, "job not claimable: the award was never signed");
            continue;
        }
        let paid = contract
            .is_paid(eth(&leaf.leaf.client), eth(&shared.address), leaf.nonce)
            .call()
            .await
            .map_err(|e| e.to_string())?;
        if !paid {
            unpaid.push(JobClaim {
                index: u32::try_from(index).map_err(|e| e.to_string())?,
                nonce: leaf.nonce,
                deadline: leaf.deadline,
                signature: leaf.award_signature.clone(),
            });
        }
    }
    if unpaid.is_empty() {
        return Ok(());
    }
    let job_leaves: Vec<JobLeaf> = leaves.iter().map(|l| l.leaf.clone()).collect();
    match shared
        .market
        .claim_batch(batch_id, &job_leaves, &unpaid)
        .await
    {
        Ok(receipt) => {
            shared.metrics.chain.mined("claim", gas_of(&receipt));
            Ok(())
        }
        Err(provernet_slashing::ChainError::Refused(error)) => {
            tracing::warn!(target: "chain", batch_id, %error, "claimBatch refused; checking job by job");
            // Each job alone by `eth_call` (a claim of one job still carries every leaf
            // hash of the batch: sending one per job would cost the whole batch's
            // calldata each time), then one claim of the payable ones.
            let mut pending = false;
            let mut payable = Vec::new();
            for job in &unpaid {
                let job_id = job_leaves
                    .get(job.index as usize)
                    .map(|leaf| leaf.job_id)
                    .ok_or("claim of a leaf outside its batch")?;
                match shared
                    .market
                    .check_claim_batch(batch_id, &job_leaves, std::slice::from_ref(job))
                    .await
                {
                    Ok(()) => payable.push(job.clone()),
                    Err(error) => {
                        // A job under challenge may become payable once the challenge is
                        // answered: the batch is tried again. Every other refusal
                        // (slashed, committed late, already paid) is final.
                        let retry =
                            matches!(
                                error.market_error(),
                                Some(ProverMarketErrors::ChallengePending(_))
                            ) || !matches!(error, provernet_slashing::ChainError::Refused(_));
                        pending |= retry;
                        tracing::warn!(target: "chain", batch_id, job = %job_id, %error, retry, "job not claimable");
                    }
                }
            }
            if !payable.is_empty() {
                match shared
                    .market
                    .claim_batch(batch_id, &job_leaves, &payable)
                    .await
                {
                    Ok(receipt) => shared.metrics.chain.mined("claim", gas_of(&receipt)),
                    Err(error) => {
                        tracing::warn!(target: "chain", batch_id, %error, "claim of the payable jobs failed; will retry");
                        pending = true;
                    }
                }
            }
            if pending {
                Err("some jobs are not claimable yet".into())
            } else {
                Ok(())
            }
        }
        Err(error) => Err(error.to_string()),
    }
}
