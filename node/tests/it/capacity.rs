//! A prover's capacity: what its bids hold is always given back.

use provernet_circuits::Circuit;
use provernet_node::service::now_s;
use provernet_protocol::{Context, SignedEnvelope};

use crate::support::{
    Testnet, bids, eventually, selection, stored_request, submit, wait_for_state,
};

const CLIENT: u32 = 1;
const PROVER: u32 = 4;

/// A funded client answers a prover's bid with an award that names the prover at
/// another price than it bid (any client may sign one, and gossip forwards it: the terms
/// are within the request). The prover does not take it. It used to keep the capacity its
/// bid held for good: once that hold's deadline passed, every later job looked late
/// behind it and the prover never bid again — one message silenced it. Now every hold that
/// neither a standing bid nor a job being proven needs is let go at the next tick, and a
/// job that is late already never blocks work that can wait behind it: the prover bids on
/// the client's next job, and proves it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_award_off_the_bid_does_not_take_a_provers_capacity_for_good() {
    let mut net = Testnet::new().await;
    net.register_prover(PROVER).await;
    net.deposit(CLIENT, "1").await;
    let mut config = net.config("client", false, true);
    // One round per job, and a bid window long enough to award first.
    config.client.max_rounds = 1;
    config.client.bid_window_ms = 5_000;
    let client = net.start(config, CLIENT).await;
    let prover = net.start(net.config("prover", true, false), PROVER).await;
    net.wait_for_mesh(1).await;

    let first = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000_000_000, 60))
        .await
        .expect("submitted");
    eventually(30, "the prover bid", || async {
        (bids(&prover, "sent") >= 1).then_some(())
    })
    .await;
    let request = stored_request(&client, &first).await;
    // Not the price the prover bid (its policy never bids 1 wei).
    let award = selection(&net, &request, PROVER, 1);
    let context = Context::new(net.anvil.chain_id());
    let envelope =
        SignedEnvelope::sign(&award, &context, now_s() + 120, &net.keys(CLIENT).identity)
            .expect("signs")
            .to_bytes();
    client.net.publish(envelope).await;
    wait_for_state(&client, &first, &["failed"], 60).await;

    // The hold the bid took ends well before this: its promise is some 20 s out (the
    // bid window's end, the estimate, the commit margin).
    tokio::time::sleep(std::time::Duration::from_secs(20)).await;
    let bids_before = bids(&prover, "sent");
    let second = client
        .submit(submit(Circuit::PoseidonChain12, 2, 1_000_000_000, 60))
        .await
        .expect("submitted");
    wait_for_state(&client, &second, &["verified", "paid"], 120).await;
    assert!(bids(&prover, "sent") > bids_before, "the prover bid again");
}
