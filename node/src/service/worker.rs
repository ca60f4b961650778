//! The chain worker: the prover's transactions, off the core. Commitments and claims run
//! side by side, up to `chain.max_in_flight` at once (a claim is asked for only once its
//! commitment is recorded); answers to challenges run in a lane of their own, so a claim
//! of many jobs never holds one up. Both send through the account's transaction queue,
//! which orders them by urgency and owns the nonces.

use super::*;

/// Runs the prover's chain tasks: `tasks` and `answers`, each lane with up to
/// `chain.max_in_flight` tasks at once.
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

/// Runs `tasks`, up to `chain.max_in_flight` at once, reporting each to the core; returns
/// when either side closes. Tasks run side by side: a commitment waits for its
/// confirmations (`chain.confirmations`), and an urgent batch sealed meanwhile must not
/// wait behind it. Their order needs nothing more: the core asks for a claim only once
/// its commitment is recorded, and never for two tasks of one batch at once.
async fn run(
    shared: &Arc<Shared>,
    mut tasks: mpsc::Receiver<ChainTask>,
    core: &mpsc::Sender<Internal>,
) {
    let limit = shared.config.chain.max_in_flight.max(1);
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            task = tasks.recv(), if running.len() < limit => {
                let Some(task) = task else { return };
                let shared = Arc::clone(shared);
                let core = core.clone();
                running.spawn(async move {
                    let report = perform(&shared, task).await;
                    let _ = core.send(report).await;
                });
            }
            Some(done) = running.join_next(), if !running.is_empty() => {
                // A task that panicked told the core nothing: its batch would wait for
                // good. The worker dies with it, and the supervisor stops the node.
                if let Err(error) = done
                    && error.is_panic()
                {
                    std::panic::resume_unwind(error.into_panic());
                }
            }
        }
    }
}

/// Runs one task; what the core is told of it.
async fn perform(shared: &Shared, task: ChainTask) -> Internal {
    match task {
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
    }
}
