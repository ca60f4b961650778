//! The operator commands as an operator runs them against a real anvil: `provernet stake`,
//! `deposit` and `credits`, each checked on chain afterwards; every bad input refused
//! with a sentence and nothing sent (the account's nonce does not move).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::Signer;
use ethers::types::{Address, U256};
use ethers::utils::Anvil;
use provernet_protocol::primitives::to_hex;
use provernet_slashing::{Market, anvil};

use crate::support::{eth, market_for, params, wallet};

struct Operator<'a> {
    rpc: &'a str,
    market: Address,
    data_dir: PathBuf,
    key_file: PathBuf,
}

impl Operator<'_> {
    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_provernet"))
            .args(args)
            .arg("--rpc-url")
            .arg(self.rpc)
            .arg("--market")
            .arg(format!("{:?}", self.market))
            .arg("--eth-key-file")
            .arg(&self.key_file)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env_remove("PROVERNET_CONFIG")
            .env_remove("PROVERNET_ETH_KEY")
            .output()
            .expect("the binary runs")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "{args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).expect("utf-8")
    }

    fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(output.status.code(), Some(1), "{args:?} should fail");
        String::from_utf8(output.stderr).expect("utf-8")
    }
}

pub fn key_file(dir: &Path, name: &str, secret: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("0x{}\n", to_hex(secret))).expect("key file");
    path
}

/// Moves the chain `blocks` blocks and `blocks × seconds` seconds on.
async fn mine(provider: &Provider<Http>, blocks: u64, seconds: u64) {
    let _: serde_json::Value = provider
        .request("anvil_mine", (U256::from(blocks), U256::from(seconds)))
        .await
        .expect("anvil_mine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_and_a_client_manage_stake_and_deposit_from_the_command_line() {
    let anvil = Anvil::at(anvil::binary())
        .arg("--host")
        .arg("127.0.0.1")
        .spawn();
    let owner = market_for(&anvil, 0);
    let market = Market::deploy(Arc::clone(owner.client()), params())
        .await
        .expect("deploy");
    let provider = Provider::<Http>::try_from(anvil.endpoint()).expect("provider");
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = anvil.endpoint();
    let secret = |i: usize| anvil.keys()[i].to_bytes().to_vec();
    let prover = Operator {
        rpc: &endpoint,
        market: market.address(),
        data_dir: dir.path().join("prover-node"),
        key_file: key_file(dir.path(), "prover.key", &secret(2)),
    };
    let prover_address = wallet(&anvil, 2).address();
    let nonce = |who: Address| {
        let provider = provider.clone();
        async move {
            provider
                .get_transaction_count(who, None)
                .await
                .expect("nonce")
        }
    };

    // A dry run (which makes no identity), no identity, below the minimum stake: nothing
    // sent.
    let dry = prover.ok(&["stake", "register", "2eth", "--new-identity", "--dry-run"]);
    assert!(
        dry.contains("register(bytes32)") && dry.contains("dry run: nothing sent"),
        "{dry}"
    );
    assert!(!prover.data_dir.join("identity.key").exists());
    let error = prover.fails(&["stake", "register", "2eth"]);
    assert!(
        error.contains("no identity in") && error.contains("--new-identity"),
        "{error}"
    );
    let error = prover.fails(&["stake", "register", "0.5eth", "--new-identity"]);
    assert!(
        error.contains("below the market's minimum of 1 ETH"),
        "{error}"
    );
    assert_eq!(nonce(prover_address).await, U256::zero());
    // The refused registration left the identity it made: the next one uses it.
    let identity_file = prover.data_dir.join("identity.key");
    let made = std::fs::read(&identity_file).expect("the identity --new-identity made");
    for bad in ["1.2.3eth", "-1eth", "2btc", "0.0000000000000000001eth"] {
        let error = prover.fails(&["stake", "register", bad]);
        assert!(error.contains(&format!("amount `{bad}`")), "{error}");
    }
    assert_eq!(nonce(prover_address).await, U256::zero());

    // Registered with the identity the node will use: nobody decodes a peer id.
    let out = prover.ok(&["stake", "register", "2eth"]);
    assert!(
        out.contains("sent: transaction 0x") && out.contains("mined: block"),
        "{out}"
    );
    assert_eq!(std::fs::read(&identity_file).expect("still there"), made);
    let identity = provernet_node::identity::load_or_create_identity(&prover.data_dir)
        .expect("the identity register made");
    let (stake, _, peer_key, ..) = market
        .contract()
        .provers(prover_address)
        .call()
        .await
        .expect("provers");
    assert_eq!(stake, eth("2"));
    assert_eq!(peer_key, identity.verifying_key().to_bytes());
    let error = prover.fails(&["stake", "register", "2eth"]);
    assert!(error.contains("registered prover already"), "{error}");

    prover.ok(&["stake", "add", "1.5eth"]);
    let out = prover.ok(&["stake", "unbond", "1000000000gwei"]);
    assert!(
        out.contains("stake: 2.5 ETH") && out.contains("unbonding: 1 ETH"),
        "{out}"
    );
    let error = prover.fails(&["stake", "unbond", "9eth"]);
    assert!(error.contains("cannot unbond 9 ETH"), "{error}");
    let error = prover.fails(&["stake", "withdraw"]);
    assert!(error.contains("unbonding delay has not passed"), "{error}");
    // Past the unbonding delay (20 blocks) and every deadline's challenge period
    // (3,600 + 600 seconds).
    mine(&provider, 25, 200).await;
    let before = provider
        .get_balance(prover_address, None)
        .await
        .expect("balance");
    let out = prover.ok(&["stake", "withdraw"]);
    assert!(out.contains("unbonding: 0 ETH"), "{out}");
    let after = provider
        .get_balance(prover_address, None)
        .await
        .expect("balance");
    assert!(
        after > before + eth("0.99"),
        "the unbonded ether came back: {before} → {after}"
    );
    let status = prover.ok(&["stake", "status"]);
    assert!(
        status.contains("stake: 2.5 ETH") && status.contains("open challenges: 0"),
        "{status}"
    );

    // A client: deposit, request a withdrawal, carry it out after the delay.
    let client = Operator {
        key_file: key_file(dir.path(), "client.key", &secret(3)),
        data_dir: dir.path().join("client-node"),
        ..prover
    };
    client.ok(&["deposit", "add", "1eth"]);
    let out = client.ok(&["deposit", "withdraw", "0.4eth"]);
    assert!(
        out.contains("free (what it can still pay): 0.6 ETH"),
        "{out}"
    );
    let error = client.fails(&["deposit", "withdraw"]);
    assert!(error.contains("withdrawal delay has not passed"), "{error}");
    mine(&provider, 31, 1).await;
    let out = client.ok(&["deposit", "withdraw"]);
    assert!(out.contains("deposit: 0.6 ETH"), "{out}");
    let error = client.fails(&["deposit", "withdraw"]);
    assert!(error.contains("no withdrawal was requested"), "{error}");
    let error = client.fails(&["credits", "withdraw"]);
    assert!(error.contains("no credits"), "{error}");
    assert!(client.ok(&["credits", "status"]).contains("credits: 0 ETH"));
    let info = client.ok(&["market", "info"]);
    assert!(
        info.contains("minStake: 1 ETH") && info.contains("unbondingDelay: 20 blocks"),
        "{info}"
    );

    // A key with no ether, a market address with no code, an unreachable chain.
    let poor = Operator {
        key_file: key_file(dir.path(), "poor.key", &[7; 32]),
        ..client
    };
    let error = poor.fails(&["deposit", "add", "1eth"]);
    assert!(
        error.contains("holds 0 ETH") && error.contains("nothing was sent"),
        "{error}"
    );
    let nowhere = Operator {
        market: prover_address,
        ..poor
    };
    let error = nowhere.fails(&["deposit", "status"]);
    assert!(
        error.contains("no contract at the market address"),
        "{error}"
    );
    let down = Operator {
        rpc: "http://127.0.0.1:9",
        ..nowhere
    };
    let error = down.fails(&["credits", "status"]);
    assert!(error.contains("cannot reach the chain"), "{error}");
}

/// `provernet credits withdraw` run by the owner of anvil account `index` on `market`
/// (`watch.rs`: a watchtower takes its reward out while its node runs on the account).
pub(crate) fn withdraw_credits(
    anvil: &ethers::utils::AnvilInstance,
    market: Address,
    index: usize,
) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let endpoint = anvil.endpoint();
    let operator = Operator {
        rpc: &endpoint,
        market,
        data_dir: dir.path().join("node"),
        key_file: key_file(dir.path(), "key", &anvil.keys()[index].to_bytes()),
    };
    operator.ok(&["credits", "withdraw"])
}
