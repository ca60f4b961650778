//! Supervision of the node's long-lived tasks: the network task, the dispatcher, the chain
//! follower, the chain worker, the watchtower, the store's compaction, the core and the
//! API server (`api::serve`, through [`NodeHandle::supervise`](super::NodeHandle)). Each
//! runs until the node is asked to stop, or it stops the node: a task that returns or
//! panics before then is a failure, logged at ERROR with its reason, kept as the node's
//! [`Failure`], and the node shuts down (the binary then exits with status 1). A node
//! never runs half alive, still answering peers while nothing validates or commits.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Why the node stopped on its own, if it did: the first task that panicked, else the
/// first that failed (a task whose input another one's death closed stops plainly, and
/// may be seen first).
#[derive(Clone, Debug, Default)]
pub struct Failure(Arc<Mutex<Option<(String, bool)>>>);

impl Failure {
    /// The failure, if any.
    pub fn get(&self) -> Option<String> {
        self.0
            .lock()
            .ok()
            .and_then(|failure| failure.as_ref().map(|(why, _)| why.clone()))
    }

    fn record(&self, why: String, panicked: bool) {
        if let Ok(mut failure) = self.0.lock()
            && failure
                .as_ref()
                .is_none_or(|(_, was_panic)| panicked && !was_panic)
        {
            *failure = Some((why, panicked));
        }
    }
}

/// The node's long-lived tasks by name, to kill one (`/v1/dev/kill`: a testnet shows
/// that a dead task stops the node).
#[derive(Clone, Debug, Default)]
pub struct Tasks(Arc<Mutex<BTreeMap<&'static str, tokio::task::AbortHandle>>>);

impl Tasks {
    /// Kills task `name`, as a crash of it would end it; whether there is one so named.
    pub fn kill(&self, name: &str) -> bool {
        let tasks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        tasks
            .get(name)
            .map(tokio::task::AbortHandle::abort)
            .is_some()
    }

    /// The tasks' names.
    pub fn names(&self) -> Vec<&'static str> {
        let tasks = self.0.lock().unwrap_or_else(|p| p.into_inner());
        tasks.keys().copied().collect()
    }
}

/// Spawns the node's long-lived tasks and stops the node when one fails.
#[derive(Clone, Debug)]
pub(crate) struct Supervisor {
    shutdown: CancellationToken,
    failure: Failure,
    tasks: Tasks,
}

impl Supervisor {
    pub(crate) fn new(shutdown: CancellationToken) -> Self {
        Self {
            shutdown,
            failure: Failure::default(),
            tasks: Tasks::default(),
        }
    }

    /// A supervisor of the node whose stop token, failure and tasks these are: what it
    /// spawns is supervised as the node's own tasks are.
    pub(crate) fn joining(shutdown: CancellationToken, failure: Failure, tasks: Tasks) -> Self {
        Self {
            shutdown,
            failure,
            tasks,
        }
    }

    pub(crate) fn failure(&self) -> Failure {
        self.failure.clone()
    }

    pub(crate) fn tasks(&self) -> Tasks {
        self.tasks.clone()
    }

    /// Runs `task` (named `name` in the log) until the node stops; if it ends first, by
    /// returning or by a panic, the node stops.
    pub(crate) fn spawn<F>(&self, name: &'static str, span: tracing::Span, task: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let handle = tokio::spawn(task.instrument(span.clone()));
        self.tasks
            .0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name, handle.abort_handle());
        let (shutdown, failure) = (self.shutdown.clone(), self.failure.clone());
        tokio::spawn(
            async move {
                let outcome = handle.await;
                if shutdown.is_cancelled() {
                    // Asked to stop: every task ends, and that is no failure.
                    return;
                }
                let (why, panicked) = match outcome {
                    Ok(()) => (format!("the {name} task stopped"), false),
                    Err(error) if error.is_panic() => (
                        format!("the {name} task panicked: {}", panic_text(error.into_panic())),
                        true,
                    ),
                    Err(_) => (format!("the {name} task was killed"), false),
                };
                tracing::error!(target: "node", task = name, reason = %why, "a task of the node failed: the node stops");
                failure.record(why, panicked);
                shutdown.cancel();
            }
            .instrument(span),
        );
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".to_owned())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    async fn stopped(shutdown: &CancellationToken) -> bool {
        tokio::time::timeout(Duration::from_secs(5), shutdown.cancelled())
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_task_that_panics_stops_the_node_and_says_why() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let survivor = shutdown.clone();
        supervisor.spawn("core", tracing::Span::none(), async move {
            survivor.cancelled().await;
        });
        supervisor.spawn("follower", tracing::Span::none(), async {
            panic!("a malformed block");
        });
        assert!(stopped(&shutdown).await, "the node stopped");
        let failure = supervisor.failure().get().expect("a failure");
        assert!(
            failure.contains("follower") && failure.contains("a malformed block"),
            "{failure}"
        );
    }

    #[test]
    fn a_panic_is_the_reason_given_over_a_task_that_stopped_after_it() {
        let failure = Failure::default();
        failure.record("the dispatcher task stopped".into(), false);
        failure.record("the network task panicked: boom".into(), true);
        failure.record("the core task stopped".into(), false);
        failure.record("the core task panicked: later".into(), true);
        assert_eq!(
            failure.get().as_deref(),
            Some("the network task panicked: boom")
        );
    }

    #[tokio::test]
    async fn a_task_that_returns_early_stops_the_node() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        supervisor.spawn("dispatcher", tracing::Span::none(), async {});
        assert!(stopped(&shutdown).await, "the node stopped");
        assert_eq!(
            supervisor.failure().get().as_deref(),
            Some("the dispatcher task stopped")
        );
    }

    #[tokio::test]
    async fn a_killed_task_stops_the_node() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        let token = shutdown.clone();
        supervisor.spawn("chain follower", tracing::Span::none(), async move {
            token.cancelled().await;
        });
        assert_eq!(supervisor.tasks().names(), vec!["chain follower"]);
        assert!(!supervisor.tasks().kill("core"), "no such task");
        assert!(supervisor.tasks().kill("chain follower"));
        assert!(stopped(&shutdown).await, "the node stopped");
        assert_eq!(
            supervisor.failure().get().as_deref(),
            Some("the chain follower task was killed")
        );
    }

    #[tokio::test]
    async fn tasks_ending_because_the_node_stops_are_no_failure() {
        let shutdown = CancellationToken::new();
        let supervisor = Supervisor::new(shutdown.clone());
        for name in ["core", "network"] {
            let token = shutdown.clone();
            supervisor.spawn(name, tracing::Span::none(), async move {
                token.cancelled().await;
            });
        }
        shutdown.cancel();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(supervisor.failure().get(), None);
    }
}
