//! The market end to end: 2 clients and 3 provers on libp2p over loopback, a real anvil,
//! real Halo2 proofs; jobs auctioned, proven, delivered, verified, committed in batches
//! and claimed after the challenge window, and the money moved as awarded.

use std::collections::{HashMap, HashSet};

use ethers::types::{Address, U256};
use provernet_circuits::Circuit;
use provernet_market::pricing::PricePolicy;
use provernet_node::store::{BatchState, ClientState, WorkState};
use provernet_protocol::JobId;
use provernet_slashing::bindings::ProverMarketEvents;

use crate::support::{Testnet, eventually, model_circuit, submit};

const CLIENTS: [u32; 2] = [1, 2];
const PROVERS: [u32; 3] = [3, 4, 5];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_jobs_over_two_circuits_are_proven_verified_committed_and_paid() {
    let mut net = Testnet::new().await;
    for prover in PROVERS {
        net.register_prover(prover).await;
    }
    for client in CLIENTS {
        net.deposit(client, "1").await;
    }
    let deposits_before: Vec<U256> = {
        let mut v = Vec::new();
        for client in CLIENTS {
            v.push(net.deposit_of(client).await);
        }
        v
    };
    // Provers with different prices: the cheapest wins while it has capacity.
    let prices = [
        PricePolicy::FractionOfMax {
            bps: 7_000,
            floor: 1,
        },
        PricePolicy::FractionOfMax {
            bps: 8_000,
            floor: 1,
        },
        PricePolicy::FractionOfMax {
            bps: 9_000,
            floor: 1,
        },
    ];
    for (i, client) in CLIENTS.iter().enumerate() {
        let config = net.config(&format!("client-{i}"), false, true);
        net.start(config, *client).await;
    }
    for (i, prover) in PROVERS.iter().enumerate() {
        let mut config = net.config(&format!("prover-{i}"), true, false);
        config.prover.price = prices[i];
        net.start(config, *prover).await;
    }
    net.wait_for_mesh(4).await;

    // 20 jobs, alternating circuits, 10 from each client.
    let mut jobs: Vec<(usize, JobId, u128)> = Vec::new();
    for n in 0..20u64 {
        let circuit = if n % 2 == 0 {
            Circuit::PoseidonChain12
        } else {
            model_circuit()
        };
        let client = usize::try_from(n % 2).expect("small");
        let max_price = 1_000_000_000_000_000u128 + u128::from(n);
        let id = net.nodes[client]
            .handle
            .submit(submit(circuit, n, max_price, 90))
            .await
            .expect("submitted");
        jobs.push((client, id, max_price));
    }

    // Every job ends paid: verified by its client, committed, claimed after the window.
    let nodes: Vec<_> = net.nodes.iter().map(|n| n.handle.clone()).collect();
    eventually(240, "every job verified and paid", || {
        let nodes = nodes.clone();
        let jobs = jobs.clone();
        async move {
            let done = jobs.iter().all(|(client, id, _)| {
                nodes[*client]
                    .job(id)
                    .expect("store")
                    .is_some_and(|s| s.state == "paid")
            });
            done.then_some(())
        }
    })
    .await;

    // The client's view: verified proofs, awards within the maximum, no failed round.
    let mut awarded: HashMap<Address, U256> = HashMap::new();
    let mut spent = [U256::zero(), U256::zero()];
    for (client, id, max_price) in &jobs {
        let job = net.nodes[*client]
            .handle
            .store
            .client_job(id)
            .expect("store")
            .expect("job");
        assert_eq!(job.state, ClientState::Paid);
        assert!(job.proof.is_some(), "the client holds the verified proof");
        let award = &job.award.as_ref().expect("awarded").0;
        // Within the round's maximum, which re-auctions raise up to the cap (2x).
        assert!(award.price <= job.request.0.max_price);
        assert!(award.price <= 2 * *max_price);
        *awarded.entry(Address::from(award.prover.0)).or_default() += U256::from(award.price);
        spent[*client] += U256::from(award.price);
    }
    // Clients paid exactly their awards from their deposits.
    for (i, client) in CLIENTS.iter().enumerate() {
        let after = net.deposit_of(*client).await;
        assert_eq!(
            deposits_before[i] - after,
            spent[i],
            "client {i} paid its awards"
        );
    }
    // Provers were paid exactly what they were awarded, by the chain's own events.
    let events = net.events().await;
    let mut paid: HashMap<Address, U256> = HashMap::new();
    let mut commits = 0;
    for event in events {
        match event {
            ProverMarketEvents::BatchFeesClaimedFilter(e) => {
                *paid.entry(e.prover).or_default() += e.total
            }
            ProverMarketEvents::BatchCommittedFilter(_) => commits += 1,
            _ => {}
        }
    }
    assert_eq!(paid, awarded, "fees paid per prover equal the awards");
    assert!(
        commits < 20,
        "jobs were batched ({commits} commitments for 20 jobs)"
    );

    // The provers' view: each paid job's work is batched and was delivered, in a batch
    // the prover has claimed. (Work of an earlier round that was re-auctioned may have
    // been released or committed too late to be paid; it is not counted.)
    let paid_ids: HashSet<JobId> = jobs
        .iter()
        .map(|(client, id, _)| {
            let job = net.nodes[*client]
                .handle
                .store
                .client_job(id)
                .expect("store")
                .expect("job");
            job.current_id()
        })
        .collect();
    let mut proven = 0;
    for node in &net.nodes[CLIENTS.len()..] {
        let batches = node.handle.store.batches().expect("store");
        for work in node.handle.store.works().expect("store") {
            if !paid_ids.contains(&work.job_id) {
                continue;
            }
            assert_eq!(work.state, WorkState::Batched, "{:?}", work.error);
            assert!(work.delivered);
            let batch = batches
                .iter()
                .find(|b| Some(b.seq) == work.batch)
                .expect("its batch");
            assert!(
                matches!(batch.state, BatchState::Claimed { .. }),
                "{:?}",
                batch.state
            );
            proven += 1;
        }
    }
    assert_eq!(
        proven, 20,
        "every paid job was proven by the prover that was paid"
    );
    for node in &net.nodes {
        node.handle.shutdown.cancel();
    }
}
