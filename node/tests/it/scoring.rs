//! Peer scoring against identity farms: many peer ids behind one address cost each of
//! them, so a farm cannot take a ban and come back under fresh ids for free.

use provernet_node::config::NodeConfig;
use provernet_node::network::scoring::{BAN_THRESHOLD, COLOCATION_THRESHOLD, COLOCATION_WEIGHT};
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
/// honest node. Gossipsub's colocation factor costs each of n identities on one address
/// 5 · (n − 3)² points: from 9 on (180) that is below the ban threshold, so the node bans
/// every farm identity connected then and keeps the peer that is alone on its address.
/// Which of 9 or 10 are banned depends on whether the tenth connection was up at the
/// node's ban check (once a second); either way at most one farm identity is left, below
/// the colocation threshold. (Loopback's 127.0.0.1, where local testnets run every node,
/// is exempt.)
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

    // The fewest identities on one address whose colocation cost reaches the ban.
    let banned_from = (0..=farm.len())
        .find(|&n| {
            COLOCATION_WEIGHT * (n as f64 - COLOCATION_THRESHOLD).max(0.0).powi(2) <= BAN_THRESHOLD
        })
        .expect("ten identities on one address reach the ban");
    assert_eq!(banned_from, 9);
    let info = eventually(120, "the farm is banned", || async {
        let info = honest.net.info().await.expect("info");
        (info.banned >= banned_from).then_some(info)
    })
    .await;
    let farm_ids: Vec<_> = farm.iter().map(|n| n.net.peer_id()).collect();
    let left = info
        .peers
        .iter()
        .filter(|(p, _)| farm_ids.contains(p))
        .count();
    assert!(
        left + info.banned <= farm.len() && left < COLOCATION_THRESHOLD as usize,
        "{left} farm identities are still connected, {} banned: {:?}",
        info.banned,
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
