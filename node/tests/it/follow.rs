//! A node on a chain that grows and reorgs: a restart resumes from the follower's stored
//! position, and a reorg that takes a commitment off the chain has it committed again.

use std::time::Instant;

use ethers::providers::Middleware;
use ethers::types::U256;
use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;
use provernet_node::store::{BatchState, WorkState};
use provernet_slashing::MarketParams;
use provernet_slashing::bindings::ProverMarketEvents;

use crate::support::{
    CHALLENGE_WINDOW, Testnet, eventually, gauge, params, state_of, submit, wait_for_state,
};

/// The commitments on the chain as it is now: (batch id, root).
async fn commitments(net: &Testnet) -> Vec<(U256, [u8; 32])> {
    net.events()
        .await
        .into_iter()
        .filter_map(|e| match e {
            ProverMarketEvents::BatchCommittedFilter(c) => Some((c.batch_id, c.root)),
            _ => None,
        })
        .collect()
}

/// A client and a prover configured by `client` and `prover` on a market whose response
/// window leaves time to answer after up to 5 confirmations (a prover refuses to start
/// otherwise), with a challenge window above it by more than 2.
async fn confirming_market(
    client: impl FnOnce(&mut provernet_node::config::NodeConfig),
    prover: impl FnOnce(&mut provernet_node::config::NodeConfig),
) -> (Testnet, NodeHandle, NodeHandle) {
    let mut net = Testnet::with_params(MarketParams {
        challenge_window: 12,
        response_window: 8,
        unbonding_delay: 30,
        ..params()
    })
    .await;
    let client = net.start_client(&[3], client).await;
    let mut config = net.config("prover", true, false);
    prover(&mut config);
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    (net, client, prover)
}

/// Waits until `node`'s follower has read block `block`.
async fn read_to(node: &NodeHandle, block: u64, secs: u64) {
    eventually(secs, "the follower reads to the block", || async {
        (gauge(node, "provernet_chain_head") >= block).then_some(())
    })
    .await;
}

/// The chain grows by 5,000 blocks while a prover and a client follow it; both restart.
/// Each resumes a few blocks below where it stopped (the market's windows), not at block
/// 0, though the prover's registration lies far below: its stake is known from the
/// stored position, so the restarted client takes the restarted prover's bid and the
/// job is proven and paid. The time to catch up is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_resumes_from_its_stored_position() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let mut config = net.config("prover", true, false);
    // A provider that serves 100 blocks per eth_getLogs.
    config.chain.log_range = 100;
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    let registered_at = net.head().await;

    let _: serde_json::Value = net
        .owner
        .client()
        .provider()
        .request("anvil_mine", [U256::from(5_000), U256::zero()])
        .await
        .expect("mines");
    let stopped_at = net.head().await;
    assert!(stopped_at >= registered_at + 5_000);
    read_to(&prover, stopped_at, 120).await;
    read_to(&client, stopped_at, 120).await;
    drop((prover, client));

    let started = Instant::now();
    let client = net.restart(0).await;
    let prover = net.restart(1).await;
    // The windows below the stored position: challenge, response, and a margin of 16.
    let lookback = CHALLENGE_WINDOW + 3 + 16;
    for (node, name) in [(&client, "client"), (&prover, "prover")] {
        // Set by the follower once it has read its stored position, after the start.
        let resumed = eventually(30, "the follower resumes", || async {
            Some(gauge(node, "provernet_chain_resumed_at")).filter(|block| *block > 0)
        })
        .await;
        assert!(
            resumed + lookback >= stopped_at && resumed <= stopped_at,
            "{name} resumed at {resumed}, stopped at {stopped_at}"
        );
        assert!(
            resumed > registered_at,
            "{name} did not read the registration again"
        );
        let catch_up_ms = eventually(60, "the follower catches up", || async {
            Some(gauge(node, "provernet_chain_catch_up_ms")).filter(|ms| *ms > 0)
        })
        .await;
        println!(
            "{name}: resumed at block {resumed} (stopped at {stopped_at}), caught up in {catch_up_ms} ms; {} ms since the restart",
            started.elapsed().as_millis()
        );
    }
    net.wait_for_mesh(1).await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 5, 1_000, 90))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
}

/// A prover that waits for 5 confirmations commits a batch; before they come, a reorg
/// takes the commitment's block off the chain. The prover's queue sends the same
/// transaction again, its follower and the client's see the reorg (the client's
/// watchtower forgets the batch and learns it again), and the batch is committed on the
/// new chain, once; only then is it recorded as committed, and the job is paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commitment_a_reorg_removes_is_committed_again() {
    let (net, client, prover) = confirming_market(
        |_| {},
        |config| {
            config.chain.confirmations = 5;
            // One job waits 3 s in its batch: time to mark the chain before it is committed.
            config.prover.batch_max_age_ms = 3_000;
        },
    )
    .await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 9, 1_000, 120))
        .await
        .expect("submitted");
    eventually(60, "the job is proven", || async {
        let works = prover.store.works().expect("store");
        works
            .iter()
            .any(|w| w.state == WorkState::Proven)
            .then_some(())
    })
    .await;
    let snapshot = provernet_slashing::anvil::snapshot(net.owner.client().as_ref())
        .await
        .expect("snapshot");
    let before = commitments(&net).await;
    assert!(before.is_empty(), "not committed yet");
    let first = eventually(30, "the commitment is mined", || async {
        commitments(&net).await.first().copied()
    })
    .await;
    let mined_at = net.head().await;
    read_to(&prover, mined_at, 30).await;
    read_to(&client, mined_at, 30).await;
    let batches = prover.store.batches().expect("store");
    assert!(
        batches.iter().all(|b| b.state == BatchState::Sealed),
        "not recorded as committed before its confirmations: {:?}",
        batches.iter().map(|b| &b.state).collect::<Vec<_>>()
    );

    provernet_slashing::anvil::reorg_to(net.owner.client().as_ref(), snapshot)
        .await
        .expect("revert");
    assert!(
        commitments(&net).await.is_empty(),
        "the reorg took the commitment off the chain"
    );

    eventually(60, "the queue sends the commitment again", || async {
        (gauge(&prover, "provernet_chain_tx_reorged") >= 1).then_some(())
    })
    .await;
    let again = eventually(60, "the commitment is mined again", || async {
        commitments(&net).await.first().copied()
    })
    .await;
    assert_eq!(again.1, first.1, "the same batch");
    eventually(60, "the batch is recorded as committed", || async {
        let batches = prover.store.batches().expect("store");
        batches
            .iter()
            .any(|b| {
                matches!(b.state, BatchState::Committed { id, .. } | BatchState::Claimed { id }
                    if U256::from(id) == again.0)
            })
            .then_some(())
    })
    .await;
    for (node, name) in [(&prover, "prover"), (&client, "client")] {
        assert!(
            gauge(node, "provernet_chain_reorgs_total") >= 1,
            "the {name}'s follower saw the reorg"
        );
    }
    wait_for_state(&client, &id, &["paid"], 120).await;
    assert_eq!(commitments(&net).await.len(), 1, "committed once");
}

/// A prover told to wait for more confirmations than the market's response window
/// leaves (its batch id would be known too late to answer a missed-deadline challenge)
/// refuses to start, naming the setting and the most it may be.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_refuses_confirmations_that_leave_no_time_to_answer() {
    let net = Testnet::new().await;
    net.register_prover(3).await;
    let mut config = net.config("prover", true, false);
    config.chain.confirmations = 1;
    let keys = net.keys(3);
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    let store = provernet_node::store::Store::memory();
    let started = provernet_node::service::start(provernet_node::service::Startup {
        config,
        keys,
        store,
        engine: Some(crate::support::engine()),
    })
    .await;
    let Err(error) = started else {
        panic!("the prover started");
    };
    let message = error.to_string();
    assert!(
        message.contains("chain.confirmations") && message.contains("at most 0"),
        "{message}"
    );
}

/// A prover sends one transaction at a time (`chain.max_in_flight` 1) and waits two
/// confirmations for each commitment; each job is a batch of its own. Mining is stopped:
/// the first batch's commitment is mined, and with no block on top of it (its
/// confirmations still to come) the second batch's commitment is sent all the same. A
/// commitment waiting for its confirmations holds the next one back only until its own
/// transaction is mined: the second batch's jobs' deadlines run meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commitment_waiting_for_its_confirmations_holds_no_other_back() {
    let (net, client, prover) = confirming_market(
        |_| {},
        |config| {
            config.chain.confirmations = 2;
            config.chain.max_in_flight = 1;
            config.prover.batch_size = 1;
        },
    )
    .await;
    // From here a block is mined only when this test says so.
    net.rpc("evm_setIntervalMining", [0u64]).await;
    let (mined, _) = net.nonces(prover.address).await;
    let mut ids = Vec::new();
    for n in 0..2 {
        let id = client
            .submit(submit(Circuit::PoseidonChain12, 20 + n, 1_000, 120))
            .await
            .expect("submitted");
        ids.push(id);
    }
    eventually(60, "the first commitment is sent", || async {
        (net.nonces(prover.address).await == (mined, mined + 1)).then_some(())
    })
    .await;
    net.rpc("evm_mine", ()).await;
    // No block on top of the first commitment: the second is sent beside its wait.
    eventually(60, "the second commitment is sent", || async {
        (net.nonces(prover.address).await == (mined + 1, mined + 2)).then_some(())
    })
    .await;
    assert!(
        prover
            .store
            .batches()
            .expect("store")
            .iter()
            .all(|b| !matches!(b.state, BatchState::Committed { .. })),
        "the first commitment was still waiting for its confirmations"
    );
    net.rpc("evm_setIntervalMining", [1u64]).await;
    for id in &ids {
        wait_for_state(&client, id, &["paid"], 90).await;
    }
    assert_eq!(
        commitments(&net).await.len(),
        2,
        "each batch committed once"
    );
}

/// The fee claims on the chain as it is now.
async fn claims(net: &Testnet) -> usize {
    net.events()
        .await
        .into_iter()
        .filter(|e| matches!(e, ProverMarketEvents::BatchFeesClaimedFilter(_)))
        .count()
}

/// A client that counts a payment only 2 blocks deep (`chain.confirmations` 2). Mining
/// stops at the block of the prover's claim, and the job stays verified: the client asks
/// at the head less 2 (one that asked at the head would ask at once, its job's prover
/// having claimed in the block it reads, and count it paid). With two blocks on top of
/// the claim, the claim makes it ask at its next check, and the job is paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_counts_only_once_its_claim_is_confirmed() {
    let (net, client, _prover) = confirming_market(
        |config| config.chain.confirmations = 2,
        |config| config.prover.batch_size = 1,
    )
    .await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 40, 1_000, 120))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified"], 90).await;
    // From here a block is mined only when this test says so: one at a time until the
    // claim is in one.
    net.rpc("evm_setIntervalMining", [0u64]).await;
    let claimed_at = eventually(120, "the prover claims its fee", || async {
        if claims(&net).await > 0 {
            return Some(net.head().await);
        }
        net.rpc("evm_mine", ()).await;
        None
    })
    .await;
    read_to(&client, claimed_at, 30).await;
    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
    assert_eq!(
        state_of(&client, &id),
        "verified",
        "counted paid with no block on top of the claim"
    );
    for _ in 0..2 {
        net.rpc("evm_mine", ()).await;
    }
    wait_for_state(&client, &id, &["paid"], 30).await;
}
