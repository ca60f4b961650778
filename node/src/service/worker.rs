//! The chain worker: the node's transactions, one at a time (one account, one nonce
//! sequence).

use super::*;

/// Sends the node's transactions one at a time (one account, one nonce sequence).
pub(super) async fn chain_worker(
    shared: Arc<Shared>,
    mut tasks: mpsc::Receiver<ChainTask>,
    mut answers: mpsc::Receiver<ChainTask>,
    core: mpsc::Sender<Internal>,
    shutdown: CancellationToken,
) {
    loop {
        // Answers to challenges first: their response window is short.
        let task = tokio::select! {
            biased;
            () = shutdown.cancelled() => return,
            task = answers.recv() => match task { Some(t) => t, None => return },
            task = tasks.recv() => match task { Some(t) => t, None => return },
        };
        let turn = shared.transactions.lock().await;
        let report = match task {
            ChainTask::Commit {
                seq,
                leaves,
                sealed_at_block,
            } => Internal::Committed {
                seq,
                result: settle::commit(&shared, &leaves, sealed_at_block).await,
            },
            ChainTask::Claim {
                seq,
                batch_id,
                leaves,
            } => Internal::Claimed {
                seq,
                result: settle::claim(&shared, batch_id, &leaves).await,
            },
            ChainTask::Reveal { challenge, proof } => Internal::Answered {
                challenge,
                done: settle::reveal(&shared, challenge, &proof).await,
            },
            ChainTask::Answer { challenge, at } => Internal::Answered {
                challenge,
                done: settle::answer(&shared, challenge, &at).await,
            },
        };
        drop(turn);
        if core.send(report).await.is_err() {
            return;
        }
    }
}
