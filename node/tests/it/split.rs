//! A client splits the mesh: two awards of one round, one to each half.

use provernet_circuits::Circuit;
use provernet_node::service::{NodeHandle, now_s};
use provernet_protocol::{Context, SignedEnvelope};

use crate::support::{
    Testnet, eventually, metric_total, selection, stored_request, submit, validations,
};

/// Rejects of `kind` this node reported, whatever the reason.
fn rejects(node: &NodeHandle, kind: &str) -> u64 {
    let needle = format!("kind=\"{kind}\",result=\"reject\"");
    metric_total(node, |line| line.contains(&needle))
}

/// A client signs two awards of one round of its job, each to another registered prover,
/// and has two peers publish them at the same moment, one each: every node hears one
/// version first and the other from an honest forwarder. A second award used to be a
/// Reject, so each node penalized the honest relay that forwarded the other version (four
/// such messages graylist it). It is now ignored and charged to the client's key on its own
/// jobs: no honest node reports a Reject for an award, none is banned, and the honest
/// relays stay connected with scores of at least zero.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_splitting_the_mesh_with_two_awards_gets_no_honest_forwarder_penalized() {
    let (mut net, client) = Testnet::with_client(&[3, 4]).await;
    let relay = |net: &Testnet, name: &str| {
        let mut config = net.config(name, false, false);
        config.roles.relay = true;
        config
    };
    let relay_a = net.start(relay(&net, "relay-a"), 5).await;
    let relay_b = net.start(relay(&net, "relay-b"), 6).await;
    let rogue_a = net.start(relay(&net, "rogue-a"), 7).await;
    let rogue_b = net.start(relay(&net, "rogue-b"), 8).await;
    net.wait_for_mesh(4).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000_000, 300))
        .await
        .expect("submitted");
    let request = stored_request(&client, &id).await;
    eventually(30, "both relays hold the request", || async {
        [&relay_a, &relay_b]
            .iter()
            .all(|r| validations(r, "job_request", "accept", "ok") >= 1)
            .then_some(())
    })
    .await;
    let identity = net.keys(1).identity;
    let context = Context::new(net.anvil.chain_id());
    let award = |prover: u32| {
        let award = selection(&net, &request, prover, 1_000);
        SignedEnvelope::sign(&award, &context, now_s() + 120, &identity)
            .expect("signs")
            .to_bytes()
    };
    let (first, second) = (award(3), award(4));
    tokio::join!(rogue_a.net.publish(first), rogue_b.net.publish(second));

    let second_awards = |node: &NodeHandle| validations(node, "award", "ignore", "second_award");
    eventually(30, "a node hears both versions", || async {
        (second_awards(&relay_a) + second_awards(&relay_b) + second_awards(&client) >= 1)
            .then_some(())
    })
    .await;
    // Let every copy arrive and be judged.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    println!(
        "split: second awards charged: relay a {}, relay b {}, client {}",
        second_awards(&relay_a),
        second_awards(&relay_b),
        second_awards(&client)
    );
    for node in [&relay_a, &relay_b, &client] {
        assert_eq!(rejects(node, "award"), 0, "no award was rejected");
        let info = node.net.info().await.expect("info");
        assert_eq!(info.banned, 0, "nobody was banned");
        for (peer, score) in &info.peers {
            assert!(*score >= 0.0, "{peer} scores {score}");
        }
    }
    let peers_of_a = relay_a.net.info().await.expect("info").peers;
    assert!(
        peers_of_a.iter().any(|(p, _)| *p == relay_b.net.peer_id()),
        "the relays are still connected"
    );
}
