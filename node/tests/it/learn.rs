//! A model nobody configured: the prover and the watchtower learn its circuit from the
//! request that names it, and a client naming a circuit that is not its id's costs one
//! build and teaches nothing.

use std::time::Duration;

use provernet_circuits::Circuit;
use provernet_node::service::NodeHandle;

use crate::support::{Testnet, bids, eventually, sign_request_for, submit, wait_for_state};

/// The model the honest client brings (4 inputs, 3 hidden with ReLU, 2 outputs).
const MODEL: &str = "model-4-3r-2-s8";
/// Another architecture with as many public inputs: the liar's name passes the cheap
/// check and costs a build.
const OTHER: &str = "model-4-2r-2-s8";

fn learned(node: &NodeHandle, outcome: &str) -> u64 {
    node.metrics
        .market
        .learned
        .get_or_create(&provernet_node::metrics::kind(outcome))
        .get()
}

/// The client's model is registered on chain but configured on no other node. A rogue
/// client (funded, so heard) first names another architecture for the model's id: the
/// prover compiles that name's verifier once (no proving key), finds it is not the
/// registered one, bids nothing, and learns nothing more from that client (its second
/// name is not built). The honest client's request names the model: the prover learns
/// it, measures it, wins the job, and the client verifies the proof; the watchtower
/// learns it too. Restarted with no job held, the prover learns it again from the next
/// request, and proves that job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_learns_a_model_from_its_request_and_a_lying_name_teaches_nothing() {
    let mut net = Testnet::new().await;
    net.register_prover(3).await;
    for client in [1, 2] {
        net.deposit(client, "1").await;
    }
    let model: Circuit = MODEL.parse().expect("a model");
    net.register_verifier(model).await;
    let model_id = crate::support::engine()
        .circuit_id(model)
        .expect("the model's id");
    let mut config = net.config("client", false, true);
    config.proving.models = vec![MODEL.into()];
    // Rounds long enough for a prover to learn and measure the model within a few.
    config.client.bid_window_ms = 3_000;
    let client = net.start(config, 1).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let watchtower = net.start(net.watchtower_config("watchtower", 1.0), 4).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(3).await;
    net.wait_for_provers().await;

    // The lie: the model's id under another architecture's name, then a third name.
    let liar = crate::support::wallet(&net.anvil, 2);
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x42; 32]);
    let lie = |nonce: u64, name: &str| {
        sign_request_for(
            net.anvil.chain_id(),
            net.owner.address(),
            &liar,
            &key,
            nonce,
            1_000_000_000_000_000,
            (300, 30, 120),
            (model_id, name),
        )
    };
    rogue.net.publish(lie(1_000, OTHER)).await;
    eventually(
        120,
        "the prover built the lie's circuit and refused it",
        || async { (learned(&prover, "mismatch") == 1).then_some(()) },
    )
    .await;
    rogue.net.publish(lie(1_001, "model-4-1r-2-s8")).await;
    eventually(30, "the liar's second name is not built", || async {
        (learned(&prover, "tried") >= 1).then_some(())
    })
    .await;
    assert_eq!(
        learned(&prover, "mismatch"),
        1,
        "one verifier compiled for the liar"
    );
    let lie: Circuit = OTHER.parse().expect("a model");
    assert!(
        !crate::support::engine().proving_keys_loaded(lie),
        "no proving key built for a lie"
    );
    assert_eq!(learned(&prover, "learned"), 0);
    assert_eq!(bids(&prover, "sent"), 0, "nothing bid on a lie");

    // The honest request teaches the model; its job is proven and verified.
    let id = client
        .submit(submit(model, 1, 1_000_000_000_000_000, 240))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 240).await;
    assert_eq!(learned(&prover, "learned"), 1);
    assert_eq!(
        learned(&watchtower, "learned"),
        1,
        "the watchtower learned it"
    );

    // Restarted with no job of the model held, the prover learns it from the next
    // request (a restart with held jobs learns their models at start:
    // `service::learn::tests::a_restart_learns_again_the_models_of_held_jobs_only`).
    drop(prover);
    let prover = net.restart(1).await;
    net.wait_for_mesh(3).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let id = client
        .submit(submit(model, 2, 1_000_000_000_000_000, 240))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 240).await;
    assert_eq!(learned(&prover, "learned"), 1, "learned again");
    assert_eq!(learned(&prover, "mismatch"), 0);
}
