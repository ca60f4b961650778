//! Attacks on a prover's payment: a client that cannot pay gets no bid.

use ethers::types::U256;
use provernet_circuits::Circuit;
use provernet_node::metrics::kind;
use provernet_node::service::NodeHandle;

use crate::support::{Testnet, eth, eventually, submit, wait_for_state};

/// The prover's `provernet_bids_total{kind}` count.
fn bids(node: &NodeHandle, label: &str) -> u64 {
    node.metrics.market.bids.get_or_create(&kind(label)).get()
}

/// A client asks for the withdrawal of its whole deposit and then requests proofs,
/// hoping provers will prove jobs it can empty the deposit under. While the request
/// stands, the chain's free deposit is zero: the prover declines every round (and says so
/// in its metrics), nothing is awarded, and nothing is proven for free. Once the client
/// replaces the request with one of 1 wei, the deposit can pay again, and its job is
/// proven and paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfunded_client_gets_no_bid_until_its_deposit_can_pay() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let market = net.market(1);
    market
        .contract()
        .request_deposit_withdrawal(eth("1"))
        .send()
        .await
        .expect("sent")
        .await
        .expect("mined");
    let config = net.config("prover", true, false);
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000, 120))
        .await
        .expect("submitted");
    let declined = |node: &NodeHandle| bids(node, "declined_unfunded");
    eventually(30, "the prover declines the unfunded client", || async {
        (declined(&prover) >= 2).then_some(())
    })
    .await;
    let status = client.job(&id).expect("store").expect("job");
    assert!(status.price.is_none(), "nothing was awarded: {status:?}");
    assert_eq!(bids(&prover, "sent"), 0, "no bid was sent");

    // The client takes back its request (a new one of 1 wei replaces it): it can pay.
    market
        .contract()
        .request_deposit_withdrawal(U256::one())
        .send()
        .await
        .expect("sent")
        .await
        .expect("mined");
    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
    let status = client.job(&id).expect("store").expect("job");
    assert!(status.round >= 1, "the first rounds got no bid");
}

/// A prover's leaf of a circuit the market has not registered is slashable whatever its
/// proof (anyone's invalid-proof challenge wins), so an honest prover must not take such
/// a job: it declines (and says so) until the circuit is registered, then bids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_bids_on_no_circuit_the_market_has_not_registered() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let config = net.config("prover", true, false);
    let prover = net.start_unregistered(config, 3).await;
    net.wait_for_mesh(1).await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 2, 1_000, 120))
        .await
        .expect("submitted");
    let declined = |node: &NodeHandle| bids(node, "declined_unregistered");
    eventually(
        30,
        "the prover declines the unregistered circuit",
        || async { (declined(&prover) >= 1).then_some(()) },
    )
    .await;
    assert_eq!(bids(&prover, "sent"), 0, "no bid was sent");
    // Once the market registers the circuit, the prover's chain follower sees it.
    net.register_verifier(Circuit::PoseidonChain12).await;
    wait_for_state(&client, &id, &["verified", "paid"], 120).await;
}

/// Anyone registers circuits, so an attacker tries to take the circuit's id before the
/// honest registration: with another circuit's verifier of the same number of public
/// inputs (its valid sample passes registration), and with the circuit's own verifier and
/// a sample padded by a word (the verifier ignores trailing bytes), which would make
/// every honest proof of the id "of another length", so slashable. The market derives
/// each id from the verifier's code and the sample's shape: both registrations get other
/// ids, the circuit's id stays free, the prover declines its jobs until the honest
/// registration (which gets exactly the id the node computed), and then proves and is
/// paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_register_another_verifier_under_a_circuits_id() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let attacker = net.market(4);
    let id = crate::support::engine()
        .circuit_id(Circuit::PoseidonChain12)
        .expect("circuit id");
    let (creation, inputs, proof) = crate::support::verifier(Circuit::PoseidonChain16);
    let other = attacker
        .deploy_code(creation)
        .await
        .expect("verifier deploys");
    let taken = attacker
        .register_circuit(other, &inputs, &proof)
        .await
        .expect("anyone registers a circuit");
    assert_ne!(taken, id.0, "another verifier has another id");
    let (creation, inputs, mut proof) = crate::support::verifier(Circuit::PoseidonChain12);
    let own = attacker
        .deploy_code(creation)
        .await
        .expect("verifier deploys");
    proof.extend_from_slice(&[0; 32]);
    let padded = attacker
        .register_circuit(own, &inputs, &proof)
        .await
        .expect("the verifier ignores the padding");
    assert_ne!(padded, id.0, "another proof length has another id");
    let (verifier, _) = net.owner.registration(id.0).await.expect("registration");
    assert!(verifier.is_zero(), "the circuit's id is still free");

    let config = net.config("prover", true, false);
    let prover = net.start_unregistered(config, 3).await;
    net.wait_for_mesh(1).await;
    let job = client
        .submit(submit(Circuit::PoseidonChain12, 3, 1_000, 120))
        .await
        .expect("submitted");
    eventually(
        60,
        "the prover declines the unregistered circuit",
        || async { (bids(&prover, "declined_unregistered") >= 1).then_some(()) },
    )
    .await;
    assert_eq!(
        bids(&prover, "sent"),
        0,
        "no bid on an unregistered circuit"
    );
    // The honest registration: the same code, the sample's true shape, the node's id.
    net.register_verifier(Circuit::PoseidonChain12).await;
    wait_for_state(&client, &job, &["verified", "paid"], 120).await;
}
