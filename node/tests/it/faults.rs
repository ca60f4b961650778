//! Re-auctions (no bids, a winner that vanishes before its deadline) and recovery of a
//! prover killed mid-proof.

use std::time::Duration;

use provernet_circuits::Circuit;
use provernet_market::pricing::PricePolicy;
use provernet_node::store::WorkState;
use provernet_slashing::bindings::ProverMarketEvents;

use crate::support::{Testnet, all_claimed, eventually, submit, wait_for_state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_bids_raise_the_price_until_a_prover_bids() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let mut config = net.config("prover", true, false);
    // Works for 1,200 wei at least: the first maximum (1,000) gets no bid, the raised
    // one (1,250 with the default 25 % step) does.
    config.prover.price = PricePolicy::Fixed { wei: 1_200 };
    net.start(config, 3).await;
    net.wait_for_mesh(1).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000, 60))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 60).await;
    let status = client.job(&id).expect("store").expect("job");
    assert_eq!(status.round, 1);
    assert_eq!(status.history, vec!["round 0: no_bids".to_owned()]);
    assert_eq!(status.max_price, "1250");
    assert_eq!(status.price.as_deref(), Some("1200"));
    assert_ne!(status.current_id, status.id, "each round is its own job id");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_winner_that_misses_its_deadline_is_replaced() {
    let (mut net, client) = Testnet::with_client(&[3, 4]).await;
    let mut cheap = net.config("cheap", true, false);
    cheap.prover.price = PricePolicy::Fixed { wei: 500 };
    cheap.prover.circuits = vec![Circuit::PoseidonChain16.name().into()];
    cheap.prover.estimate_ms = 6_000;
    let cheap = net.start(cheap, 3).await;
    let mut dear = net.config("dear", true, false);
    dear.prover.price = PricePolicy::Fixed { wei: 900 };
    dear.prover.circuits = vec![Circuit::PoseidonChain16.name().into()];
    dear.prover.estimate_ms = 6_000;
    net.start(dear, 4).await;
    net.wait_for_mesh(2).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain16, 7, 1_000, 90))
        .await
        .expect("submitted");
    // The cheap prover wins and accepts, then vanishes before it can deliver.
    wait_for_state(&client, &id, &["accepted"], 30).await;
    cheap.shutdown.cancel();
    let first = client.job(&id).expect("store").expect("job");
    assert_eq!(first.price.as_deref(), Some("500"));

    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
    let status = client.job(&id).expect("store").expect("job");
    assert_eq!(status.history, vec!["round 0: missed_deadline".to_owned()]);
    assert_eq!(
        status.price.as_deref(),
        Some("900"),
        "the other prover delivered"
    );
    assert_eq!(
        status.max_price, "1000",
        "a missed deadline does not raise the price"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_killed_mid_proof_resumes_from_its_database_and_commits_once() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let mut config = net.config("prover", true, false);
    config.prover.circuits = vec![Circuit::PoseidonChain16.name().into()];
    config.prover.estimate_ms = 6_000;
    config.prover.batch_size = 1;
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain16, 11, 1_000, 120))
        .await
        .expect("submitted");
    // Wait until the prover has accepted (and so is proving), then kill it.
    {
        let store = prover.store.clone();
        eventually(30, "the prover's acceptance", || {
            let store = store.clone();
            async move {
                store
                    .works()
                    .expect("store")
                    .iter()
                    .any(|w| w.state == WorkState::Accepted)
                    .then_some(())
            }
        })
        .await;
    }
    drop(prover);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let prover = net.restart(1).await;
    assert_eq!(
        prover.store.works().expect("store")[0].state,
        WorkState::Accepted,
        "the restarted prover found its accepted job in its database"
    );

    wait_for_state(&client, &id, &["paid"], 120).await;
    let works = prover.store.works().expect("store");
    assert_eq!(works.len(), 1);
    assert_eq!(works[0].state, WorkState::Batched);
    // The client can see the payment before the prover has read its claim's receipt.
    all_claimed(&prover, true, 30).await;
    assert_eq!(prover.store.batches().expect("store").len(), 1);
    let commits = net
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e, ProverMarketEvents::BatchCommittedFilter(_)))
        .count();
    assert_eq!(commits, 1, "committed once");
    let status = client.job(&id).expect("store").expect("job");
    assert!(
        status.history.is_empty(),
        "no re-auction was needed: {:?}",
        status.history
    );
}
