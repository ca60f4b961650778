//! A prover priced per second of proving (`PricePolicy::PerSecond`) asks more for a
//! circuit that takes it longer: its bids follow its own measured proving times, so a
//! larger model, or any slower circuit, costs more.

use provernet_circuits::Circuit;
use provernet_market::pricing::PricePolicy;

use crate::support::{Testnet, submit, wait_for_state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_price_per_second_asks_more_for_a_circuit_that_takes_longer() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let mut config = net.config("prover", true, false);
    let wei_per_second = 1_000_000_000u128;
    config.prover.price = PricePolicy::PerSecond {
        wei: wei_per_second,
        floor: 1,
    };
    config.prover.circuits = vec![
        Circuit::PoseidonChain12.name().into(),
        Circuit::PoseidonChain16.name().into(),
    ];
    net.start(config, 3).await;
    net.wait_for_mesh(1).await;
    net.wait_for_provers().await;

    let max_price = 1_000_000_000_000_000u128;
    let small = client
        .submit(submit(Circuit::PoseidonChain12, 1, max_price, 90))
        .await
        .expect("submitted");
    wait_for_state(&client, &small, &["verified", "paid"], 90).await;
    let large = client
        .submit(submit(Circuit::PoseidonChain16, 2, max_price, 90))
        .await
        .expect("submitted");
    wait_for_state(&client, &large, &["verified", "paid"], 90).await;
    let price = |id| -> u128 {
        let status = client.job(id).expect("store").expect("job");
        assert_eq!(status.round, 0, "{status:?}");
        status
            .price
            .expect("awarded")
            .parse()
            .expect("a price in wei")
    };
    let (small, large) = (price(&small), price(&large));
    eprintln!(
        "per second of proving: poseidon-chain-12 {small} wei, poseidon-chain-16 {large} wei"
    );
    // Each is a measured proving time (ms) × wei per second / 1000: positive, below a
    // minute of proving, and the longer circuit the dearer.
    for price in [small, large] {
        assert!(
            price > 1 && price < 60 * wei_per_second,
            "{small} and {large}"
        );
    }
    assert!(
        large > small,
        "poseidon-chain-16 ({large} wei) costs more than poseidon-chain-12 ({small} wei)"
    );
    client.shutdown.cancel();
}
