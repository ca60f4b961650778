//! Peer scoring against identity farms: many peer ids behind one address cost each of
//! them, so a farm cannot take a ban and come back under fresh ids for free.

use provernet_node::config::NodeConfig;
use provernet_node::service::NodeHandle;

use crate::support::{Testnet, eventually, start_node, wallet};

/// A relay node listening on `ip`, under a fresh identity (`seed`).
async fn relay(net: &Testnet, name: &str, ip: &str, seed: u8) -> NodeHandle {
    let mut config: NodeConfig = net.config(name, false, false);
    config.roles.relay = true;
    config.network.listen = vec![format!("/ip4/{ip}/tcp/0")];
    let keys = provernet_node::identity::Keys {
        identity: ed25519_dalek::SigningKey::from_bytes(&[seed; 32]),
        wallet: wallet(&net.anvil, 2),
    };
    start_node(&config, &keys).await
}

/// Ten identities on one host (127.0.0.9) and one on another (127.0.0.7) connect to an
/// honest node. Gossipsub's colocation factor costs each of the ten 5 · (10 − 3)² = 245
/// points, below the graylist threshold: the node bans every one of them, and keeps the
/// peer that is alone on its address. (Loopback's 127.0.0.1, where local testnets run
/// every node, is exempt.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_farm_of_identities_on_one_address_is_banned_and_a_lone_peer_is_kept() {
    let net = Testnet::new().await;
    let mut farm = Vec::new();
    for i in 0..10u8 {
        farm.push(relay(&net, &format!("farm-{i}"), "127.0.0.9", 100 + i).await);
    }
    let lone = relay(&net, "lone", "127.0.0.7", 99).await;
    let mut config = net.config("honest", false, false);
    config.roles.relay = true;
    config.network.bootstrap = farm
        .iter()
        .chain([&lone])
        .filter_map(NodeHandle::dial_addr)
        .map(|a| a.to_string())
        .collect();
    let honest = start_node(&config, &net.keys(1)).await;
    let lone_id = lone.net.peer_id();

    let info = eventually(60, "the farm is banned", || async {
        let info = honest.net.info().await.expect("info");
        (info.banned >= farm.len()).then_some(info)
    })
    .await;
    let farm_ids: Vec<_> = farm.iter().map(|n| n.net.peer_id()).collect();
    assert!(
        !info.peers.iter().any(|(p, _)| farm_ids.contains(p)),
        "no farm identity is still connected: {:?}",
        info.peers
    );
    let (_, lone_score) = info
        .peers
        .iter()
        .find(|(p, _)| *p == lone_id)
        .copied()
        .expect("the lone peer is still connected");
    assert!(
        lone_score >= 0.0,
        "the lone peer's score is {lone_score}, below 0"
    );
}
