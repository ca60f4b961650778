//! The chain worker: the prover's transactions, off the core. Commitments and claims go
//! one after another (a claim needs its commitment mined); answers to challenges run
//! beside them, so a claim of many jobs never holds one up. Both send through the
//! account's transaction queue, which orders them by urgency and owns the nonces.

use super::*;

/// Runs the prover's chain tasks: `tasks` in order, `answers` beside them.
pub(super) async fn chain_worker(
    shared: Arc<Shared>,
    tasks: mpsc::Receiver<ChainTask>,
    answers: mpsc::Receiver<ChainTask>,
    core: mpsc::Sender<Internal>,
    shutdown: CancellationToken,
) {
    tokio::select! {
        () = shutdown.cancelled() => {}
        () = run(&shared, tasks, &core) => {}
        () = run(&shared, answers, &core) => {}
    }
}

/// Runs `tasks` one at a time, reporting each to the core; returns when either side
/// closes.
async fn run(shared: &Shared, mut tasks: mpsc::Receiver<ChainTask>, core: &mpsc::Sender<Internal>) {
    while let Some(task) = tasks.recv().await {
        let report = match task {
            ChainTask::Commit {
                seq,
                leaves,
                sealed_at_block,
            } => Internal::Committed {
                seq,
                result: settle::commit(shared, &leaves, sealed_at_block).await,
            },
            ChainTask::Claim {
                seq,
                batch_id,
                leaves,
            } => Internal::Claimed {
                seq,
                result: settle::claim(shared, batch_id, &leaves).await,
            },
            ChainTask::Reveal { challenge, proof } => Internal::Answered {
                challenge,
                done: settle::reveal(shared, challenge, &proof).await,
            },
            ChainTask::Answer { challenge, at } => Internal::Answered {
                challenge,
                done: settle::answer(shared, challenge, &at).await,
            },
        };
        if core.send(report).await.is_err() {
            return;
        }
    }
}
