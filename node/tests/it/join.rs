//! Joining a network from its network file alone, as operators would on a public chain:
//! `provernet market deploy` writes the file, `circuits register`, `stake register` and
//! `deposit add` read it, a prover and a client run as separate processes from it, and a
//! job is proven, verified and committed. A node given a network file whose chain, market
//! or SRS is not the one it finds refuses to start; a deployment with bad parameters or
//! an account with no ether sends nothing.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::Signer as _;
use ethers::types::H256;
use ethers::utils::Anvil;
use provernet_circuits::Circuit;
use provernet_node::network_file::NetworkFile;
use provernet_slashing::anvil;

use crate::operator::key_file;
use crate::support::{eventually, wallet, witness};

fn provernet(args: &[&str]) -> Command {
    crate::support::provernet_command(args)
}

fn run(args: &[&str]) -> Output {
    provernet(args).output().expect("the binary runs")
}

fn ok(args: &[&str]) -> String {
    let output = run(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    eprintln!("$ provernet {}\n{stdout}", args.join(" "));
    stdout
}

fn fails(args: &[&str]) -> String {
    let output = run(args);
    assert!(!output.status.success(), "{args:?} should fail");
    String::from_utf8(output.stderr).expect("utf-8")
}

/// A node process, killed when dropped; its stderr in a file.
struct NodeProcess {
    child: Child,
    log: PathBuf,
}

impl NodeProcess {
    fn start(args: &[&str], log: PathBuf) -> Self {
        let file = std::fs::File::create(&log).expect("log");
        let child = provernet(args)
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the node starts");
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn as_refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn text(path: &Path) -> String {
    path.to_str().expect("utf-8").to_owned()
}

/// A node started from `network` that must refuse: its error.
fn refused_start(network: &Path, data_dir: &Path, rpc: &str, key: &str, srs: &[&str]) -> String {
    let (network, data_dir) = (text(network), text(data_dir));
    let mut args = vec![
        "node",
        "--network",
        &network,
        "--relay",
        "--data-dir",
        &data_dir,
        "--rpc-url",
        rpc,
        "--eth-key-file",
        key,
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ];
    args.extend_from_slice(srs);
    let output = run(&args);
    assert!(!output.status.success(), "the node should refuse to start");
    String::from_utf8(output.stderr).expect("utf-8")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_and_a_client_join_from_a_network_file_alone() {
    let anvil = Anvil::at(anvil::binary())
        .arg("--host")
        .arg("127.0.0.1")
        .block_time(1u64)
        .spawn();
    let rpc = anvil.endpoint();
    let provider = Provider::<Http>::try_from(rpc.as_str()).expect("provider");
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = |i: usize| anvil.keys()[i].to_bytes().to_vec();
    let deployer_key = text(&key_file(dir.path(), "deployer.key", &secret(0)));
    let prover_key = text(&key_file(dir.path(), "prover.key", &secret(1)));
    let client_key = text(&key_file(dir.path(), "client.key", &secret(2)));
    let empty_key = text(&key_file(dir.path(), "empty.key", &[7; 32]));
    let net = dir.path().join("network.toml");
    let deploy = |key: &str, extra: &[&str]| {
        let mut args = vec![
            "market",
            "deploy",
            "--rpc-url",
            &rpc,
            "--eth-key-file",
            key,
            "--challenge-window",
            "15",
            "--response-window",
            "5",
            "--unbonding-delay",
            "40",
            "--deposit-withdrawal-delay",
            "700",
            "--max-deadline",
            "600",
            "--deadline-challenge-period",
            "600",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };

    // Bad deployments send nothing.
    let deployer = wallet(&anvil, 0).address();
    let nonce = provider
        .get_transaction_count(deployer, None)
        .await
        .expect("nonce");
    let error = fails(&as_refs(&deploy(
        &deployer_key,
        &["--slash-per-job", "2eth"],
    )));
    assert!(
        error.contains("--slash-per-job 2 ETH must be above 0 and at most --min-stake 1 ETH"),
        "{error}"
    );
    let error = fails(&as_refs(&deploy(
        &deployer_key,
        &["--network-out", &text(&net)],
    )));
    assert!(
        error.contains("--network-out needs the network's SRS"),
        "{error}"
    );
    let error = fails(&as_refs(&deploy(&empty_key, &[])));
    assert!(error.contains("fund it first; nothing was sent"), "{error}");
    assert_eq!(
        provider
            .get_transaction_count(deployer, None)
            .await
            .expect("nonce"),
        nonce,
        "nothing sent"
    );
    assert!(!net.exists(), "no network file for a refused deployment");

    // The deployment, and its network file.
    let out = ok(&as_refs(&deploy(
        &deployer_key,
        &[
            "--network-out",
            &text(&net),
            "--dev-srs",
            "--srs-source",
            "the dev SRS (INSECURE, local chains only)",
            "--circuit",
            "poseidon-chain-12",
            "--name",
            "join-test",
        ],
    )));
    assert!(out.contains("network file:"), "{out}");
    let mut network = NetworkFile::load(&net).expect("the written file loads");
    let code = provider.get_code(network.market, None).await.expect("code");
    assert_eq!(
        network.market_code_hash,
        H256(provernet_protocol::keccak256(&code)),
        "the file names the deployed code"
    );
    let market = format!("{:?}", network.market);

    // The circuit registered, the prover staked, the client funded: from the file.
    ok(&[
        "circuits",
        "register",
        "--circuit",
        "poseidon-chain-12",
        "--rpc-url",
        &rpc,
        "--market",
        &market,
        "--eth-key-file",
        &deployer_key,
        "--dev-srs",
    ]);
    let prover_dir = dir.path().join("prover");
    let client_dir = dir.path().join("client");
    let net_arg = text(&net);
    let on_network = |key: &str, data_dir: &Path, args: &[&str]| {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend(
            [
                "--network",
                &net_arg,
                "--rpc-url",
                &rpc,
                "--eth-key-file",
                key,
                "--data-dir",
                &text(data_dir),
            ]
            .map(str::to_owned),
        );
        all
    };
    ok(&as_refs(&on_network(
        &prover_key,
        &prover_dir,
        &["stake", "register", "2eth", "--new-identity"],
    )));
    ok(&as_refs(&on_network(
        &client_key,
        &client_dir,
        &["deposit", "add", "5eth"],
    )));

    // The prover runs from the file; the network publishes it as a bootstrap peer.
    let prover_port = free_port().to_string();
    let prover_listen = format!("/ip4/127.0.0.1/tcp/{prover_port}");
    let start = |key: &str, data_dir: &Path, args: &[&str], log: &str| {
        let mut all = vec!["node"];
        all.extend_from_slice(args);
        NodeProcess::start(
            &as_refs(&on_network(key, data_dir, &all)),
            dir.path().join(log),
        )
    };
    let prover = start(
        &prover_key,
        &prover_dir,
        &[
            "--prover",
            "--circuit",
            "poseidon-chain-12",
            "--listen",
            &prover_listen,
        ],
        "prover.log",
    );
    let peer = eventually(120, "the prover listens", || {
        let log = prover.log();
        async move {
            log.lines()
                .find_map(|line| line.strip_prefix("listening: "))
                .map(str::to_owned)
        }
    })
    .await;
    network.bootstrap.push(peer);
    network
        .write(&net)
        .expect("the network file, with its bootstrap peer");

    // The client runs from the file alone (its peers from it too), and submits a job.
    let api_port = free_port();
    let api = format!("127.0.0.1:{api_port}");
    let client = start(
        &client_key,
        &client_dir,
        &[
            "--client",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--api",
            &api,
        ],
        "client.log",
    );
    let token = client_dir.join(provernet_node::identity::API_TOKEN_FILE);
    eventually(120, "the client's API", || {
        let log = client.log();
        async move { log.contains("api: http://").then_some(()) }
    })
    .await;
    let input = dir.path().join("witness.json");
    std::fs::write(&input, witness(Circuit::PoseidonChain12, 11)).expect("witness");
    let api_url = format!("http://{api}");
    let submit = |api_url: String, token: String, input: String| {
        let output = provernet(&[
            "client",
            "submit",
            "--token-file",
            &token,
            "--circuit",
            "poseidon-chain-12",
            "--input",
            &input,
            "--max-price",
            "1000000000000000",
            "--deadline",
            "120",
        ])
        .env("PROVERNET_API", api_url)
        .output()
        .expect("runs");
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    // Submitted once the client has a peer to gossip to.
    let id = eventually(120, "the job submitted", || {
        let out = submit(api_url.clone(), text(&token), text(&input));
        async move { out }
    })
    .await;
    let state = |wanted: &'static [&'static str]| {
        let output = provernet(&["client", "status", &id])
            .env("PROVERNET_API", &api_url)
            .output()
            .expect("runs");
        async move {
            let json: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
            wanted.contains(&json["state"].as_str()?).then_some(())
        }
    };
    eventually(180, "the job verified", || state(&["verified", "paid"])).await;
    // Settled: the prover claimed its fee once the challenge window passed.
    eventually(180, "the job paid", || state(&["paid"])).await;
    // The prover's commitment is on chain.
    eventually(120, "the prover's batch on chain", || {
        let output = run(&as_refs(&on_network(
            &prover_key,
            &prover_dir,
            &["market", "info"],
        )));
        async move {
            let out = String::from_utf8_lossy(&output.stdout).into_owned();
            out.lines()
                .any(|line| line.starts_with("batches: ") && line != "batches: 0")
                .then_some(())
        }
    })
    .await;
    let status = ok(&as_refs(&on_network(
        &prover_key,
        &prover_dir,
        &["stake", "status"],
    )));
    eprintln!("prover: {status}");
    drop(client);
    drop(prover);

    // Another chain's, another market's or another SRS's network file: refused at start
    // by a node, and before anything is sent by an operator command.
    let key = prover_key.clone();
    let dev_copy = dir.path().join("dev-copy.srs");
    std::fs::copy(dev_srs_file(), &dev_copy).expect("a copy of the dev SRS's file");
    let dev_copy = text(&dev_copy);
    let (real_srs, unread_srs) = (H256::repeat_byte(2), text(&dir.path().join("unread.srs")));
    let wrong = |edit: &dyn Fn(&mut NetworkFile), name: &str, srs: &str| {
        let mut file = network.clone();
        edit(&mut file);
        let path = dir.path().join(name);
        file.write(&path).expect("write");
        let srs: &[&str] = if file.srs.dev { &[] } else { &["--srs", srs] };
        let data_dir = dir.path().join(format!("{name}.d"));
        (
            path.clone(),
            refused_start(&path, &data_dir, &rpc, &key, srs),
        )
    };
    let (code_file, error) = wrong(
        &|f| f.market_code_hash = H256::repeat_byte(1),
        "code.toml",
        "",
    );
    assert!(error.contains("is not the network's market"), "{error}");
    let error = fails(&[
        "stake",
        "status",
        "--network",
        &text(&code_file),
        "--rpc-url",
        &rpc,
        "--eth-key-file",
        &prover_key,
        "--data-dir",
        &text(&prover_dir),
    ]);
    assert!(
        error.contains("is not the network's market"),
        "an operator command too: {error}"
    );
    let other_market = format!("{:?}", ethers::types::Address::repeat_byte(9));
    let mut with_market = on_network(&prover_key, &prover_dir, &["stake", "add", "1eth"]);
    with_market.extend(["--market".to_owned(), other_market]);
    let error = fails(&as_refs(&with_market));
    assert!(
        error.contains("is not the network file's market"),
        "{error}"
    );
    // A network on a real SRS; the node brings the dev SRS's file under another name.
    let (_, error) = wrong(
        &|f| {
            f.srs.hash = real_srs;
            f.srs.dev = false;
        },
        "srs.toml",
        &dev_copy,
    );
    assert!(error.contains("this node's SRS hashes to"), "{error}");
    let (_, error) = wrong(
        &|f| {
            f.chain_id = 5;
            f.srs.hash = real_srs;
            f.srs.dev = false;
        },
        "chain.toml",
        &unread_srs,
    );
    assert!(error.contains("the RPC serves chain 31337"), "{error}");
}

/// The dev SRS's file in the test's key cache.
fn dev_srs_file() -> PathBuf {
    crate::support::cache_dir().join("srs/dev-INSECURE-k16.srs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dev_srs_is_refused_off_the_local_chain_under_any_name() {
    let anvil = Anvil::at(anvil::binary())
        .arg("--host")
        .arg("127.0.0.1")
        .chain_id(5u64)
        .spawn();
    let rpc = anvil.endpoint();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = text(&key_file(
        dir.path(),
        "deployer.key",
        &anvil.keys()[0].to_bytes(),
    ));
    let net = text(&dir.path().join("network.toml"));
    let deploy = |extra: &[&str]| {
        let mut args = vec![
            "market",
            "deploy",
            "--rpc-url",
            &rpc,
            "--eth-key-file",
            &key,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let refused = |output: Output| {
        assert!(!output.status.success(), "refused");
        String::from_utf8(output.stderr).expect("utf-8")
    };
    let error = refused(deploy(&["--dev-srs", "--network-out", &net]));
    assert!(
        error.contains("INSECURE dev SRS, for the local chain only; this chain's id is 5"),
        "{error}"
    );
    // The same file under another name: known by its hash.
    let copy = dir.path().join("my-ceremony.srs");
    std::fs::copy(dev_srs_file(), &copy).expect("copy");
    let error = refused(deploy(&["--srs", &text(&copy), "--network-out", &net]));
    assert!(error.contains("INSECURE dev SRS"), "{error}");
    assert!(!dir.path().join("network.toml").exists());
    // A market on chain 5, and a node there that brings the dev SRS's file.
    let out = String::from_utf8(deploy(&[]).stdout).expect("utf-8");
    let market = out
        .lines()
        .find_map(|line| line.strip_prefix("market: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the market's address")
        .to_owned();
    let output = run(&[
        "node",
        "--relay",
        "--data-dir",
        &text(&dir.path().join("node")),
        "--rpc-url",
        &rpc,
        "--market",
        &market,
        "--eth-key-file",
        &key,
        "--srs",
        &text(&copy),
        "--listen",
        "/ip4/127.0.0.1/tcp/0",
    ]);
    let error = refused(output);
    assert!(error.contains("the SRS is the INSECURE dev SRS"), "{error}");
    assert!(error.contains("refused on chain 5"), "{error}");
}
