//! Attacks on the request table: requests from clients that cannot pay, and from a
//! funded client that signs far more than it means to buy.

use ethers::signers::LocalWallet;
use ethers::types::U256;
use provernet_node::service::NodeHandle;

use crate::support::{Testnet, bids, eventually, validations, wallet};

/// A request of `client` (its Ethereum key) for job `nonce`, signed as a client node signs
/// it, in an envelope of `key`, with a maximum price of `max_price` wei, a deadline
/// `deadline_secs` from now and a bid window ending `window_secs` from now.
pub(crate) fn signed_request(
    net: &Testnet,
    client: &LocalWallet,
    key: &ed25519_dalek::SigningKey,
    nonce: u64,
    max_price: u128,
    deadline_secs: u64,
    window_secs: u64,
) -> Vec<u8> {
    crate::support::sign_request_for(
        net.anvil.chain_id(),
        net.owner.address(),
        client,
        key,
        nonce,
        max_price,
        (deadline_secs, window_secs, 120),
        (provernet_protocol::CircuitId([7; 32]), ""),
    )
}

fn requests(node: &NodeHandle, result: &str, reason: &str) -> u64 {
    validations(node, "job_request", result, reason)
}

/// Requests from fresh Ethereum accounts with no deposit cost nothing to sign, and each
/// used to enter every node's request table (65,536 of them filled it for 30 days) and
/// hold provers' attention. Now a node hears a request only while its client's free
/// deposit pays its maximum price, and a client no `Deposited` event names is refused
/// without even a read of the chain: 200 such requests, each from its own account, are
/// ignored by every node (never forwarded, no bid, no room taken, no read), a client with
/// a deposit is heard, and its job is proven and paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_of_clients_without_a_deposit_are_not_forwarded_and_take_no_room() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x42; 32]);
    for i in 0..200u64 {
        let mut secret = [0x11u8; 32];
        secret[..8].copy_from_slice(&(i + 1).to_be_bytes());
        let account = LocalWallet::from_bytes(&secret).expect("a key");
        let frame = signed_request(&net, &account, &key, 0, 1_000_000, 600, 30);
        rogue.net.publish(frame).await;
    }
    let refused = |node: &NodeHandle| requests(node, "ignore", "client_unfunded");
    eventually(60, "every node refuses the unfunded requests", || async {
        (refused(&prover) >= 200 && refused(&client) >= 200).then_some(())
    })
    .await;
    // No account of the flood ever deposited: refused without a read of the chain, so
    // the flood takes no read from honest clients.
    assert_eq!(requests(&prover, "ignore", "deposit_reads_busy"), 0);
    for node in [&prover, &client] {
        assert_eq!(
            requests(node, "accept", "ok"),
            0,
            "no unfunded request was accepted (so none was forwarded)"
        );
    }
    assert_eq!(bids(&prover, "sent"), 0, "and none was bid on");
    crate::flood::a_job_is_verified(&client, 9).await;
}

/// A client with a deposit signs requests by the hundred with far deadlines, priced
/// below any prover's floor, to fill every node's request table (and so turn away other
/// clients' requests). It holds at most its share (a sixteenth of the table, here 16 of
/// 256); another client's job is still heard, proven and paid, and the flooder is no
/// richer: nothing was bid, awarded or paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_funded_client_holds_only_its_share_of_the_request_table() {
    let mut net = Testnet::new().await;
    net.register_prover(3).await;
    net.deposit(1, "1").await;
    net.deposit(4, "1").await;
    let small = |mut config: provernet_node::config::NodeConfig| {
        config.network.request_capacity = 256;
        config
    };
    let client = net.start(small(net.config("client", false, true)), 1).await;
    let prover = net.start(small(net.config("prover", true, false)), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let flooder = wallet(&net.anvil, 4);
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x43; 32]);
    let deposit_before = net.deposit_of(4).await;
    for nonce in 0..300u64 {
        rogue
            .net
            .publish(signed_request(&net, &flooder, &key, nonce, 1, 3_000, 30))
            .await;
        if nonce == 0 {
            // Once its funds are read, the flooder is judged by its share alone.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    eventually(60, "the prover judges the flood", || async {
        (requests(&prover, "ignore", "client_quota") >= 250).then_some(())
    })
    .await;
    let accepted = requests(&prover, "accept", "ok");
    println!(
        "funded flood: the prover accepted {accepted}, refused {} over the client's share",
        requests(&prover, "ignore", "client_quota")
    );
    assert!(
        accepted <= 16,
        "the flooder holds at most a sixteenth of the table, not {accepted}"
    );
    crate::flood::a_job_is_verified(&client, 10).await;
    assert_eq!(bids(&prover, "sent"), 1, "only the honest job was bid on");
    assert_eq!(
        net.deposit_of(4).await,
        deposit_before,
        "nothing was paid from or to the flooder's deposit"
    );
}

/// A client deposits 1 wei and signs requests of 1 wei each whose bid windows end at once,
/// hoping that a request out of its window no longer counts against its deposit, so that
/// 1 wei buys any number of places in every node's table. Every request not awarded
/// counts, window ended or not, until it leaves the table two minutes after its window:
/// of 300, each node holds one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_wei_deposit_buys_one_request_at_a_time() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    net.market(4)
        .deposit(U256::one())
        .await
        .expect("deposits 1 wei");
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let flooder = wallet(&net.anvil, 4);
    let key = ed25519_dalek::SigningKey::from_bytes(&[0x44; 32]);
    for nonce in 0..300u64 {
        rogue
            .net
            .publish(signed_request(&net, &flooder, &key, nonce, 1, 60, 0))
            .await;
        if nonce == 0 {
            // Its funds read, the first request is held; the rest is judged by the rule.
            eventually(30, "the prover holds the first request", || async {
                (requests(&prover, "accept", "ok") == 1).then_some(())
            })
            .await;
        }
    }
    // A read is trusted 2 s for a bid: past it, requests wait for another read (64 at most
    // from one peer, the rest ignored as such), and are then refused by the rule.
    let over = |node: &NodeHandle| {
        requests(node, "ignore", "client_requests_exceed_deposit")
            + requests(node, "ignore", "deposit_reads_busy")
    };
    eventually(60, "the prover judges the flood", || async {
        (over(&prover) >= 250).then_some(())
    })
    .await;
    assert_eq!(
        requests(&prover, "accept", "ok"),
        1,
        "one request of 1 wei held for a deposit of 1 wei"
    );
    crate::flood::a_job_is_verified(&client, 13).await;
}
