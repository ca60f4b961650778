//! `provernet model register` and `provernet circuits register`: a circuit registered on
//! a real market by the command a client or an operator runs, under the id every node
//! derives; run again it sends nothing; a wrong market address or package is a clear
//! error with nothing sent.

use std::process::{Command, Output};

use crate::support::{Testnet, cache_dir, engine, small_package, wallet};

fn register(
    net: &Testnet,
    package: &std::path::Path,
    market: &str,
    key: &std::path::Path,
) -> Output {
    run(
        net,
        &["model", "register", &package.to_string_lossy()],
        market,
        key,
    )
}

fn run(net: &Testnet, command: &[&str], market: &str, key: &std::path::Path) -> Output {
    let (_, _, solc) = provernet_slashing::compile::repo_paths();
    Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args(command)
        .args(["--rpc-url", &net.anvil.endpoint(), "--market", market])
        .arg("--eth-key-file")
        .arg(key)
        .args(["--dev-srs", "--cache-dir"])
        .arg(cache_dir())
        .arg("--solc")
        .arg(solc)
        .env_remove("PROVERNET_ETH_KEY")
        .output()
        .expect("binary runs")
}

/// The command succeeded, printed the id nodes derive, and the market has the circuit
/// registered with its number of public inputs; its output.
async fn registered(
    net: &Testnet,
    output: &Output,
    circuit: provernet_circuits::Circuit,
    id: provernet_protocol::CircuitId,
) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains(&format!("circuit id   {id}")), "{stdout}");
    let (verifier, inputs) = net.owner.registration(id.0).await.expect("reads");
    assert!(!verifier.is_zero());
    assert_eq!(inputs.as_usize(), circuit.num_public_inputs());
    stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_registers_its_model_once_under_the_id_nodes_derive() {
    let net = Testnet::new().await;
    let dir = net.dir.path().join("package");
    let circuit = small_package(&dir);
    let id = engine().circuit_id(circuit).expect("the id nodes derive");
    let key = net.dir.path().join("eth.key");
    let secret = net.anvil.keys()[6].to_bytes();
    std::fs::write(&key, provernet_protocol::primitives::to_hex(&secret)).expect("key");
    let account = wallet(&net.anvil, 6);
    let account = ethers::signers::Signer::address(&account);
    let market = format!("{:?}", net.owner.address());

    // Refused, nothing sent: no contract at the address, no package in the directory.
    let nowhere = register(
        &net,
        &dir,
        "0x0000000000000000000000000000000000000009",
        &key,
    );
    assert_eq!(nowhere.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&nowhere.stderr);
    assert!(stderr.contains("no contract at --market"), "{stderr}");
    let missing = register(&net, &net.dir.path().join("nothing"), &market, &key);
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains("model package"), "{stderr}");
    assert_eq!(net.nonces(account).await, (0, 0), "nothing sent");

    // Registered: the id printed is the one nodes derive, and the market has it.
    let first = register(&net, &dir, &market, &key);
    let stdout = registered(&net, &first, circuit, id).await;
    assert!(
        stdout.contains(&format!("{circuit} registered")),
        "{stdout}"
    );
    let sent = net.nonces(account).await;
    assert_eq!(sent.0, 2, "the verifier's deployment and the registration");

    // Again: nothing sent, the same id.
    let again = register(&net, &dir, &market, &key);
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{stdout}");
    assert!(stdout.contains("was registered already"), "{stdout}");
    assert!(stdout.contains(&format!("circuit id   {id}")), "{stdout}");
    assert_eq!(net.nonces(account).await, sent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_registers_a_built_in_circuit_once_from_the_command_line() {
    let net = Testnet::new().await;
    let circuit = provernet_circuits::Circuit::PoseidonChain12;
    let id = engine().circuit_id(circuit).expect("the id nodes derive");
    let key = net.dir.path().join("eth.key");
    let secret = net.anvil.keys()[7].to_bytes();
    std::fs::write(&key, provernet_protocol::primitives::to_hex(&secret)).expect("key");
    let account = ethers::signers::Signer::address(&wallet(&net.anvil, 7));
    let market = format!("{:?}", net.owner.address());
    let command = ["circuits", "register", "--circuit", circuit.name()];

    let first = run(&net, &command, &market, &key);
    let stdout = registered(&net, &first, circuit, id).await;
    assert!(
        stdout.contains("registered; verification measured at"),
        "{stdout}"
    );
    assert!(net.owner.verifier_gas(id.0).await.expect("reads") > 0);
    let sent = net.nonces(account).await;
    let again = run(&net, &command, &market, &key);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("was registered already"));
    assert_eq!(
        net.nonces(account).await,
        sent,
        "nothing sent the second time"
    );
    // An unknown circuit is refused by name, nothing sent.
    let unknown = run(
        &net,
        &["circuits", "register", "--circuit", "nope"],
        &market,
        &key,
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown circuit"));
    assert_eq!(net.nonces(account).await, sent);
}
