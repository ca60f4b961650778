//! The Rust encodings agree with the contract's, and the event follower sees what
//! happened, in order, resuming where it stopped.

use std::sync::Arc;
use std::time::Duration;

use ethers::types::U256;
use futures_util::StreamExt;
use provernet_slashing::bindings::ProverMarketEvents;
use provernet_slashing::eip712;
use provernet_slashing::events::{EventFollower, EventKind};

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
    let setup = follower.poll().await.expect("polls");
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
        follower.poll().await.expect("polls").is_empty(),
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
