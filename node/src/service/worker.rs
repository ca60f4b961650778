//! The chain worker: the prover's transactions, off the core. Commitments and claims run
//! side by side (a claim is asked for only once its commitment is recorded); answers to
//! challenges run in a lane of their own, so a claim of many jobs never holds one up.
//! Both send through the account's transaction queue, which orders them by urgency, owns
//! the nonces and alone bounds what is in flight (`chain.max_in_flight`): a task waiting
//! for its confirmations holds no transaction back.

use super::*;

/// Tasks under way at once in one lane. Each is a batch's commitment or claim, or an
/// answer, from its first read to its confirmations; the core asks for one commitment per
/// sealed batch and at most `chain.max_in_flight` claims at once, so this bound is only a
/// backstop.
const LANE_TASKS: usize = 64;

/// Runs the prover's chain tasks: `tasks` and `answers`, each lane with up to
/// [`LANE_TASKS`] at once.
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

/// Runs `tasks`, up to [`LANE_TASKS`] at once, reporting each to the core; returns when
/// either side closes. Tasks run side by side: a commitment waits for its confirmations
/// (`chain.confirmations`), and an urgent batch sealed meanwhile must not wait behind it
/// (were the lane as narrow as `chain.max_in_flight`, at 1 each commitment would hold the
/// next one back through its confirmations, and under load an honest prover would
/// commit after its deadlines). Their order needs nothing more: the core asks for a claim
/// only once its commitment is recorded, and never for two tasks of one batch at once.
async fn run(
    shared: &Arc<Shared>,
    mut tasks: mpsc::Receiver<ChainTask>,
    core: &mpsc::Sender<Internal>,
) {
    let mut running = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            task = tasks.recv(), if running.len() < LANE_TASKS => {
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
