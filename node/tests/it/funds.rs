//! Attacks on a prover's payment: a client that cannot pay gets no bid.

use ethers::signers::Signer as _;
use ethers::types::U256;
use provernet_circuits::Circuit;
use provernet_node::service::{NodeHandle, SubmitError};

use crate::support::{Testnet, bids, eth, eventually, submit, validations, wait_for_state, wallet};

/// A client asks for the withdrawal of its whole deposit and then requests proofs,
/// hoping provers will prove jobs it can empty the deposit under. While the request
/// stands, the chain's free deposit is zero: its node refuses the submission and says
/// why, and a request it publishes anyway (signed as the client signs them) is ignored by
/// every node (so forwarded by none, and the prover says why in its metrics); nothing is
/// awarded, and nothing is proven for free. Once the client replaces the withdrawal
/// request with one of 1 wei, the deposit can pay again, and its job is proven and paid.
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
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;

    let refused = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000, 120))
        .await
        .expect_err("an unfunded submission is refused");
    assert!(
        matches!(refused, SubmitError::Unfunded { free, max_price: 1_000 } if free.is_zero()),
        "{refused}"
    );
    // The client's own keys sign a request anyway, and another peer publishes it.
    let frame = crate::admission::signed_request(
        &net,
        &wallet(&net.anvil, 1),
        &net.keys(1).identity,
        77,
        1_000,
        120,
        30,
    );
    rogue.net.publish(frame).await;
    let declined =
        |node: &NodeHandle| validations(node, "job_request", "ignore", "client_unfunded");
    eventually(
        30,
        "the nodes ignore the unfunded client's request",
        || async { (declined(&prover) >= 1 && declined(&client) >= 1).then_some(()) },
    )
    .await;
    assert_eq!(
        validations(&prover, "job_request", "accept", "ok"),
        0,
        "no request of the unfunded client was accepted, so none was forwarded"
    );
    assert_eq!(bids(&prover, "sent"), 0, "no bid was sent");

    // The client takes back its withdrawal request (a new one of 1 wei replaces it): it
    // can pay.
    market
        .contract()
        .request_deposit_withdrawal(U256::one())
        .send()
        .await
        .expect("sent")
        .await
        .expect("mined");
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 1, 1_000, 120))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified", "paid"], 90).await;
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

/// A client that signs awards beyond its deposit (to other provers, in other halves of
/// the mesh) can leave a prover that counted on its deposit unpaid; a prover that
/// requires a reservation cannot be. It declines the client's job (and says so) while
/// the client has set nothing aside for it, bids once the client reserves exactly two of
/// its prices for it, and is paid both jobs out of that reservation, leaving the deposit
/// that other provers count on untouched; a paid job no longer counts against the
/// reservation, so the second one is bid on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_that_requires_a_reservation_bids_only_on_one_and_is_paid_out_of_it() {
    let mut net = Testnet::new().await;
    // Re-auctions keep the maximum price, so every job is priced alike.
    let client = net
        .start_client(&[3], |config| config.client.price_cap_bps = 10_000)
        .await;
    let mut config = net.config("prover", true, false);
    config.prover.require_reservation = true;
    let price = config.prover.price.quote(1_000, 0).expect("a price");
    let prover = net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    let first = client
        .submit(submit(Circuit::PoseidonChain12, 3, 1_000, 120))
        .await
        .expect("submitted");
    eventually(
        30,
        "the prover declines a client without a reservation",
        || async { (bids(&prover, "declined_unreserved") >= 2).then_some(()) },
    )
    .await;
    assert_eq!(bids(&prover, "sent"), 0, "no bid was sent");

    let me = wallet(&net.anvil, 1).address();
    let prover_address = wallet(&net.anvil, 3).address();
    let until = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        + 86_400;
    let two = U256::from(2 * price);
    net.market(1)
        .reserve(prover_address, two, until)
        .await
        .expect("reserves");
    let deposit = net.deposit_of(1).await;
    assert_eq!(deposit, eth("1") - two);
    let reserved = || async {
        net.owner
            .reservation(me, prover_address)
            .await
            .expect("reservation")
            .0
    };

    wait_for_state(&client, &first, &["paid"], 150).await;
    assert_eq!(
        reserved().await,
        price,
        "the first fee came out of the reservation"
    );
    let second = client
        .submit(submit(Circuit::PoseidonChain12, 4, 1_000, 120))
        .await
        .expect("submitted");
    wait_for_state(&client, &second, &["paid"], 150).await;
    assert_eq!(reserved().await, 0, "so did the second");
    assert_eq!(
        net.deposit_of(1).await,
        deposit,
        "the deposit other provers count on is untouched"
    );
    for id in [first, second] {
        let status = client.job(&id).expect("store").expect("job");
        assert_eq!(status.price, Some(price.to_string()), "{status:?}");
    }
}

/// A client can let the winner prove, never sign the award, and force the proof out with
/// a plain withheld-proof challenge from another account: the reveal pays the prover the
/// market's `challengeBond` (0.1 ETH here) and nothing more. So a prover never bids above
/// that bond: with a price of 0.4 ETH it declines (and says so), while a prover asking
/// 0.05 ETH takes the job, which is proven and paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_bids_no_price_above_the_bond_that_forces_a_proof_out() {
    use provernet_market::pricing::PricePolicy;
    let (mut net, client) = Testnet::with_client(&[3, 4]).await;
    let mut config = net.config("dear", true, false);
    config.prover.price = PricePolicy::Fixed {
        wei: eth_u128("0.4"),
    };
    let dear = net.start(config, 3).await;
    let mut config = net.config("cheap", true, false);
    config.prover.price = PricePolicy::Fixed {
        wei: eth_u128("0.05"),
    };
    // Both up and measured before the job: a prover started while a client re-auctions
    // would miss rounds while it calibrates, and the rounds it saw count against the
    // client's deposit (`requests::admit`) until they leave its table.
    net.start(config, 4).await;
    net.wait_for_mesh(2).await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 3, eth_u128("0.5"), 120))
        .await
        .expect("submitted");
    eventually(30, "the dear prover declines", || async {
        (bids(&dear, "declined_above_bond") >= 1).then_some(())
    })
    .await;
    assert_eq!(bids(&dear, "sent"), 0, "no bid above the bond was sent");
    wait_for_state(&client, &id, &["verified", "paid"], 120).await;
    let status = client.job(&id).expect("store").expect("job");
    assert_eq!(
        status.price,
        Some(eth_u128("0.05").to_string()),
        "{status:?}"
    );
    assert_eq!(bids(&dear, "sent"), 0);
}

fn eth_u128(amount: &str) -> u128 {
    eth(amount).as_u128()
}
