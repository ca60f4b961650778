//! The account's transaction queue on a real anvil whose blocks the test mines: a gas
//! spike does not leave a transaction stuck, an answer to a challenge waits only for
//! what is in flight, never for the queue of commitments and claims behind it, and a
//! reorg that takes mined transactions off the chain brings them back under their nonces.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{
    Address, BlockNumber, Eip1559TransactionRequest, Transaction, TransactionReceipt, U256,
};
use ethers::utils::AnvilInstance;
use provernet_slashing::anvil;
use provernet_slashing::txqueue::{Priority, QueueConfig, TxQueue};

type Client = SignerMiddleware<Provider<Http>, LocalWallet>;

/// Anvil that mines only when told, a client of its first account, and a queue of it.
async fn manual_chain(max_in_flight: usize) -> (AnvilInstance, Arc<Client>, TxQueue) {
    manual_chain_with(max_in_flight, None, 0).await
}

/// As [`manual_chain`], the queue offering at most `cap` wei per gas and reporting a
/// receipt once `confirmations` blocks are on top of it.
async fn manual_chain_with(
    max_in_flight: usize,
    cap: Option<U256>,
    confirmations: u64,
) -> (AnvilInstance, Arc<Client>, TxQueue) {
    let anvil = anvil::spawn();
    let provider = Provider::<Http>::try_from(anvil.endpoint())
        .expect("endpoint")
        .interval(Duration::from_millis(50));
    let wallet = LocalWallet::from(anvil.keys()[0].clone()).with_chain_id(anvil.chain_id());
    let client = Arc::new(SignerMiddleware::new(provider, wallet.clone()));
    client
        .provider()
        .request::<_, serde_json::Value>("evm_setAutomine", [false])
        .await
        .expect("automine off");
    let (queue, task) = TxQueue::new(
        Arc::clone(&client),
        wallet,
        QueueConfig {
            max_in_flight,
            bump_after: Duration::from_millis(300),
            bump_percent: 25,
            max_fee_per_gas: cap,
            poll: Duration::from_millis(100),
            confirmations,
        },
        std::future::pending(),
    );
    tokio::spawn(task);
    (anvil, client, queue)
}

async fn mine(client: &Client) {
    client
        .provider()
        .request::<_, serde_json::Value>("evm_mine", ())
        .await
        .expect("mines");
}

/// Mines a block every 200 ms until `sender` has its receipt; returns it.
async fn mine_until_done(
    client: &Client,
    sender: tokio::task::JoinHandle<Result<TransactionReceipt, provernet_slashing::ChainError>>,
) -> TransactionReceipt {
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        mine(client).await;
        if sender.is_finished() {
            return sender.await.expect("joins").expect("mined");
        }
    }
    panic!("the transaction was not mined");
}

/// The account's mined nonce.
async fn mined_nonce(client: &Client) -> U256 {
    client
        .get_transaction_count(client.address(), Some(BlockNumber::Latest.into()))
        .await
        .expect("nonce")
}

/// The transaction a receipt is of.
async fn transaction(client: &Client, receipt: &TransactionReceipt) -> Transaction {
    client
        .get_transaction(receipt.transaction_hash)
        .await
        .expect("tx")
        .expect("known")
}

fn transfer(to: u64) -> ethers::types::transaction::eip2718::TypedTransaction {
    Eip1559TransactionRequest::new()
        .to(Address::from_low_u64_be(0x1_0000 + to))
        .value(1u64)
        .into()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// The base fee jumps tenfold just after a transaction is sent, so its fee no longer
/// pays for inclusion: it would wait in the pool for good. The queue sends it again
/// under the same nonce with a raised fee, and it is mined at the new price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_stuck_under_a_gas_spike_is_replaced_and_mined() {
    let (_anvil, client, queue) = manual_chain(4).await;
    let sender = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.send(transfer(7), Priority::Normal).await })
    };
    wait_until("the transaction is sent", || {
        queue.stats().sent.load(Ordering::Relaxed) == 1
    })
    .await;
    let base = client
        .get_block(BlockNumber::Latest)
        .await
        .expect("block")
        .and_then(|b| b.base_fee_per_gas)
        .expect("a base fee");
    let spike = base * 10 + U256::from(1_000_000_000u64);
    client
        .provider()
        .request::<_, serde_json::Value>("anvil_setNextBlockBaseFeePerGas", [spike])
        .await
        .expect("base fee set");
    mine(&client).await;
    // The block at the spiked base fee left it out.
    let nonce = mined_nonce(&client).await;
    assert_eq!(
        nonce,
        U256::zero(),
        "the underpriced transaction was not mined"
    );
    // Mine while the queue raises its fee, until it is in.
    let receipt = mine_until_done(&client, sender).await;
    assert!(
        queue.stats().replaced.load(Ordering::Relaxed) >= 1,
        "it was replaced"
    );
    let price = receipt.effective_gas_price.expect("a price");
    assert!(
        price > base,
        "mined at {price}, above the fee it was first sent with (base {base})"
    );
    let tx = transaction(&client, &receipt).await;
    assert_eq!(tx.nonce, U256::zero(), "under its first nonce");
}

/// Six commitments and claims wait while two are in flight; then an answer to a
/// challenge arrives. It takes the next nonce, ahead of the four still waiting: it is
/// mined in the next block after the two in flight, whatever waits behind it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_waits_only_for_what_is_in_flight() {
    let (_anvil, client, queue) = manual_chain(2).await;
    let mut normal = Vec::new();
    for i in 0..6 {
        let queue = queue.clone();
        normal.push(tokio::spawn(async move {
            queue.send(transfer(100 + i), Priority::Normal).await
        }));
    }
    wait_until("two are in flight", || {
        queue.stats().sent.load(Ordering::Relaxed) == 2
    })
    .await;
    // Let the other four reach the queue.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let answer = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.send(transfer(9), Priority::Answer).await })
    };
    for _ in 0..100 {
        mine(&client).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        if answer.is_finished() && normal.iter().all(|n| n.is_finished()) {
            break;
        }
    }
    let receipt = answer.await.expect("joins").expect("the answer is mined");
    let tx = transaction(&client, &receipt).await;
    assert_eq!(
        tx.nonce,
        U256::from(2),
        "the answer came right after the two in flight"
    );
    for n in normal {
        n.await
            .expect("joins")
            .expect("every commitment is mined too");
    }
    assert_eq!(queue.stats().mined.load(Ordering::Relaxed), 7);
}

/// The node drops the transaction from its pool (a restart, an eviction) while the queue
/// may not raise its fee (at its cap): it is broadcast again as it is, and mined under its
/// nonce; the account is not left with a nonce nobody will ever fill.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_dropped_from_the_pool_at_the_fee_cap_is_broadcast_again() {
    // A cap of 2 gwei: above anvil's base fee (1 gwei, falling), at or below what the
    // queue offers, so no raise is possible.
    let (_anvil, client, queue) = manual_chain_with(4, Some(U256::from(2_000_000_000u64)), 0).await;
    let sender = {
        let queue = queue.clone();
        tokio::spawn(async move { queue.send(transfer(8), Priority::Normal).await })
    };
    wait_until("the transaction is sent", || {
        queue.stats().sent.load(Ordering::Relaxed) == 1
    })
    .await;
    client
        .provider()
        .request::<_, serde_json::Value>("anvil_dropAllTransactions", ())
        .await
        .expect("pool emptied");
    mine(&client).await;
    let nonce = mined_nonce(&client).await;
    assert_eq!(nonce, U256::zero(), "the dropped transaction was not mined");
    let receipt = mine_until_done(&client, sender).await;
    let tx = transaction(&client, &receipt).await;
    assert_eq!(tx.nonce, U256::zero(), "under its first nonce");
    assert_eq!(
        queue.stats().replaced.load(Ordering::Relaxed),
        0,
        "broadcast again as it was, not raised past the cap"
    );
}

/// Two transactions are mined; before their three confirmations a reorg takes both
/// blocks off the chain (the account's mined nonce falls back to 0). Neither caller has
/// been told anything yet. The queue sends the same two transactions again, under the
/// same nonces: both are mined on the new chain, and each caller gets its receipt only
/// once three blocks are on top of it. No nonce is left empty, none is used twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mined_transactions_a_reorg_removes_are_sent_again_under_their_nonces() {
    let (_anvil, client, queue) = manual_chain_with(4, None, 3).await;
    let snapshot = anvil::snapshot(client.as_ref()).await.expect("snapshot");
    let mut senders = Vec::new();
    for (i, to) in [11u64, 12].into_iter().enumerate() {
        let sender = {
            let queue = queue.clone();
            tokio::spawn(async move { queue.send(transfer(to), Priority::Normal).await })
        };
        senders.push(sender);
        wait_until("the transaction is sent", || {
            queue.stats().sent.load(Ordering::Relaxed) == i as u64 + 1
        })
        .await;
        mine(&client).await;
        wait_until("its receipt is seen", || {
            queue.stats().mined.load(Ordering::Relaxed) == i as u64 + 1
        })
        .await;
    }
    assert_eq!(mined_nonce(&client).await, U256::from(2), "both mined");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        senders.iter().all(|s| !s.is_finished()),
        "no receipt is reported before its confirmations"
    );
    anvil::reorg_to(client.as_ref(), snapshot)
        .await
        .expect("revert");
    assert_eq!(
        mined_nonce(&client).await,
        U256::zero(),
        "the reorg took both off the chain"
    );
    wait_until("the queue sees the reorg", || {
        queue.stats().reorged.load(Ordering::Relaxed) == 2
    })
    .await;
    let mut nonces = Vec::new();
    for sender in senders {
        let receipt = mine_until_done(&client, sender).await;
        let head = client.get_block_number().await.expect("head").as_u64();
        let block = receipt.block_number.expect("a block").as_u64();
        assert!(
            head >= block + 3,
            "reported at head {head}, mined at {block}: three confirmations"
        );
        nonces.push(transaction(&client, &receipt).await.nonce);
    }
    assert_eq!(
        nonces,
        [U256::zero(), U256::one()],
        "the same nonces, in order"
    );
    assert_eq!(
        mined_nonce(&client).await,
        U256::from(2),
        "and no other transaction of the account"
    );
    assert_eq!(
        queue.stats().sent.load(Ordering::Relaxed),
        2,
        "never signed anew"
    );
}
