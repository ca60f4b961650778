//! Retention: a settled job leaves the node's memory at once and its disk after
//! `store.retention_secs`; a restart loads none of it.

use std::time::Duration;

use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;

use crate::support::{Testnet, all_claimed, eventually, metric_total, submit};

/// `node`'s `provernet_market_jobs` gauge of `role` and `state`: jobs held in memory.
fn held(node: &NodeHandle, role: &str, state: &str) -> u64 {
    let labels = format!("provernet_market_jobs{{role=\"{role}\",state=\"{state}\"}} ");
    metric_total(node, |line| line.starts_with(&labels))
}

/// `node`'s `provernet_market_jobs_settled_total` of `role` and `state`.
fn settled(node: &NodeHandle, role: &str, state: &str) -> u64 {
    let labels =
        format!("provernet_market_jobs_settled_total{{role=\"{role}\",state=\"{state}\"}} ");
    metric_total(node, |line| line.starts_with(&labels))
}

/// A client keeping settled jobs 1 s and a prover keeping them the default week settle
/// two jobs. Paid and claimed, each leaves both nodes' memory at once, and neither node
/// announces its proof in the DHT any more (before, both did for 48 hours). The client's
/// records (the job and its input) leave its disk after a second and a sweep: the API no
/// longer knows the job. The prover's stay, and a restart of the prover loads none of
/// them into memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_jobs_leave_memory_at_once_and_the_disk_after_their_retention() {
    let mut net = Testnet::new().await;
    let client = net
        .start_client(&[3], |config| config.store.retention_secs = 1)
        .await;
    let mut config = net.config("prover", true, false);
    config.prover.batch_size = 2;
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;

    let mut ids = Vec::new();
    for n in [21, 22] {
        let id = client
            .submit(submit(Circuit::PoseidonChain12, n, 1_000, 90))
            .await
            .expect("submitted");
        ids.push(id);
    }
    for id in &ids {
        eventually(120, "the job is paid or already gone", || async {
            let state = client.job(id).expect("store").map(|s| s.state);
            matches!(state.as_deref(), Some("paid") | None).then_some(())
        })
        .await;
    }
    all_claimed(&prover, true, 30).await;
    // Out of memory at once: no gauge holds them, the settled counters count them.
    eventually(5, "the gauges are counted again", || async {
        (settled(&client, "client", "paid") == 2 && settled(&prover, "prover", "claimed") == 2)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for state in ["verified", "paid"] {
        assert_eq!(held(&client, "client", state), 0, "client jobs {state}");
    }
    for state in ["proven", "batched"] {
        assert_eq!(held(&prover, "prover", state), 0, "prover jobs {state}");
    }
    for node in [&client, &prover] {
        eventually(
            5,
            "the settled jobs' proofs are no longer announced",
            || async { (node.net.info().await?.provided_keys == 0).then_some(()) },
        )
        .await;
    }

    // The client's records leave its disk after 1 s and the next sweep (every 10 s).
    for id in &ids {
        eventually(30, "the client's record is removed", || async {
            client.job(id).expect("store").is_none().then_some(())
        })
        .await;
        assert_eq!(
            client.store.input(id).expect("store"),
            None,
            "input removed"
        );
    }
    let page = client.jobs_page(None, 100).expect("store");
    assert!(page.is_empty(), "the API lists no job: {page:?}");

    // The prover keeps its records for a week; a restart loads none into memory.
    let works = prover.store.works().expect("store");
    assert_eq!(
        works.len(),
        2,
        "the prover's records stay for their retention"
    );
    drop(prover);
    let prover = net.restart(1).await;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for state in ["awarded", "accepted", "proven", "batched", "released"] {
        assert_eq!(
            held(&prover, "prover", state),
            0,
            "prover jobs {state} after restart"
        );
    }
    assert_eq!(prover.store.works().expect("store").len(), 2);
}
