//! The Rust encodings agree with the contract's, and the event follower sees what
//! happened, in order, resuming where it stopped.

use std::sync::Arc;
use std::time::Duration;

use ethers::providers::Middleware;
use ethers::types::U256;
use futures_util::StreamExt;
use provernet_slashing::bindings::ProverMarketEvents;
use provernet_slashing::eip712;
use provernet_slashing::events::{EventFollower, EventKind, Poll};

use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eip712_digests_match_the_contract() {
    let world = World::new().await;
    let contract = world.prover.market.contract();
    let award = eip712::Award {
        job_id: [3; 32],
        prover: world.prover.address(),
        price: U256::from(123_456u64),
        deadline: 1_800_000_000,
        circuit_id: [1; 32],
        public_inputs_hash: [2; 32],
    };
    let on_chain = contract
        .award_digest(provernet_slashing::bindings::Award {
            job_id: award.job_id,
            prover: award.prover,
            price: award.price,
            deadline: award.deadline,
            circuit_id: award.circuit_id,
            public_inputs_hash: award.public_inputs_hash,
        })
        .call()
        .await
        .expect("awardDigest");
    assert_eq!(on_chain, world.domain.award_digest(&award).0);
    let acceptance = eip712::Acceptance {
        job_id: [4; 32],
        client: world.client.address(),
        input_hash: [5; 32],
        price: U256::from(9u64),
        deadline: 77,
        circuit_id: [7; 32],
        public_inputs_hash: [8; 32],
    };
    let on_chain = contract
        .acceptance_digest(provernet_slashing::bindings::Acceptance {
            job_id: acceptance.job_id,
            client: acceptance.client,
            input_hash: acceptance.input_hash,
            price: acceptance.price,
            deadline: acceptance.deadline,
            circuit_id: acceptance.circuit_id,
            public_inputs_hash: acceptance.public_inputs_hash,
        })
        .call()
        .await
        .expect("acceptanceDigest");
    assert_eq!(on_chain, world.domain.acceptance_digest(&acceptance).0);
    // Bids are checked by nodes only (the contract never sees one): their encoding is
    // pinned by eip712's unit tests.
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_reads_every_event_in_order_and_resumes() {
    let world = World::new().await;
    let fx = fixture();
    let client = Arc::clone(world.prover.market.client());
    let mut follower = EventFollower::new(Arc::clone(&client), world.prover.market.address(), 0, 0);
    let setup = follower.poll().await.expect("polls").events;
    let kinds: Vec<EventKind> = setup.iter().map(|e| e.kind()).collect();
    assert_eq!(
        kinds.first(),
        Some(&EventKind::Circuit),
        "the market has no owner: its first event is the circuit's registration"
    );
    assert!(!kinds.contains(&EventKind::Admin), "{kinds:?}");
    assert!(kinds.contains(&EventKind::Stake), "{kinds:?}");
    assert!(kinds.contains(&EventKind::Funds), "{kinds:?}");
    assert!(
        setup
            .windows(2)
            .all(|w| (w[0].block, w[0].log_index) < (w[1].block, w[1].log_index))
    );
    assert!(
        follower.poll().await.expect("polls") == Poll::default(),
        "nothing new, nothing read twice"
    );

    let leaves = vec![world.leaf(
        &world.client,
        0,
        1,
        &fx.proof.public_inputs,
        &fx.proof.proof,
    )];
    let (batch, _) = world
        .prover
        .market
        .commit_batch(&leaves)
        .await
        .expect("commits");
    let resume_at = follower.next_block();
    let stream = EventFollower::new(client, world.prover.market.address(), resume_at, 0)
        .into_stream(Duration::from_millis(20));
    futures_util::pin_mut!(stream);
    let event = tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("an event arrives")
        .expect("stream open")
        .expect("no rpc error");
    assert_eq!(event.kind(), EventKind::Commitment);
    match event.event {
        ProverMarketEvents::BatchCommittedFilter(c) => {
            assert_eq!(c.batch_id, batch.into());
            assert_eq!(c.prover, world.prover.address());
            assert_eq!(c.count, 1);
        }
        other => panic!("expected BatchCommitted, got {other:?}"),
    }
}

/// The batch ids of the commitments among `events`, with their roots.
fn commitments(events: &[provernet_slashing::events::MarketEvent]) -> Vec<(u64, [u8; 32])> {
    events
        .iter()
        .filter_map(|e| match &e.event {
            ProverMarketEvents::BatchCommittedFilter(c) => Some((c.batch_id.as_u64(), c.root)),
            _ => None,
        })
        .collect()
}

/// A follower has read a commitment; a reorg replaces its block with a chain where
/// another batch took its id. The next poll says where the chains forked and reports
/// the new chain's commitment, never the old one again; a follower resumed from the
/// stored cursor after the reorg (a node restarted meanwhile) sees the same. The range
/// of one `eth_getLogs` is what the follower is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_follower_sees_a_reorg_and_reads_the_new_chain() {
    let world = World::new().await;
    let fx = fixture();
    let client = Arc::clone(world.prover.market.client());
    let market = world.prover.market.address();
    let mut follower = EventFollower::new(Arc::clone(&client), market, 0, 0).with_range(3);
    // Caught up, three blocks per read.
    while follower.poll().await.expect("polls") != Poll::default() {}
    let head = client.get_block_number().await.expect("head").as_u64();
    assert_eq!(follower.next_block(), head + 1);
    let snapshot = provernet_slashing::anvil::snapshot(client.as_ref())
        .await
        .expect("snapshot");
    let leaf = |n: u128| {
        world.leaf(
            &world.client,
            0,
            n,
            &fx.proof.public_inputs,
            &fx.proof.proof,
        )
    };
    let first = vec![leaf(1)];
    let (batch, _) = world
        .prover
        .market
        .commit_batch(&first)
        .await
        .expect("commits");
    let read = follower.poll().await.expect("polls");
    assert_eq!(read.rolled_back, None);
    let old = commitments(&read.events);
    assert_eq!(old.len(), 1);
    let old_block = read.events[0].block;
    let stored = follower.cursor().clone();

    provernet_slashing::anvil::reorg_to(client.as_ref(), snapshot)
        .await
        .expect("revert");
    let second = vec![leaf(2)];
    let (again, _) = world
        .prover
        .market
        .commit_batch(&second)
        .await
        .expect("commits");
    assert_eq!(again, batch, "the new chain gave the id to another batch");
    client
        .provider()
        .request::<_, serde_json::Value>("anvil_mine", [U256::from(2)])
        .await
        .expect("mines");

    let mut resumed = EventFollower::resume(Arc::clone(&client), market, stored, 0);
    for follower in [&mut follower, &mut resumed] {
        let read = follower.poll().await.expect("polls");
        let from = read.rolled_back.expect("the reorg is seen");
        assert!(
            from <= old_block,
            "read again from {from}, at or before {old_block}"
        );
        let new = commitments(&read.events);
        assert_eq!(new.len(), 1, "{new:?}");
        assert_eq!(new[0].0, batch);
        assert_ne!(
            new[0].1, old[0].1,
            "the new chain's batch, not the one reorged out"
        );
        assert_eq!(follower.poll().await.expect("polls"), Poll::default());
    }
}
