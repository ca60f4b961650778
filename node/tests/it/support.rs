//! A market on a fresh anvil and in-process nodes on libp2p over loopback.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ed25519_dalek::SigningKey;
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Provider};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{Address, U256};
use ethers::utils::{Anvil, AnvilInstance, parse_ether};
use provernet_circuits::model::{Architecture, Layer, Package, QuantizedModel};
use provernet_circuits::{Circuit, Prover, ProverConfig, SrsSource};
use provernet_node::config::NodeConfig;
use provernet_node::identity::Keys;
use provernet_node::service::{self, NodeHandle, Startup, SubmitRequest};
use provernet_node::store::{RocksStore, Store};
use provernet_protocol::{FieldBytes, JobId};
use provernet_slashing::bindings::ProverMarketEvents;
use provernet_slashing::{Market, MarketParams, anvil};
use tempfile::TempDir;

pub type Client = SignerMiddleware<Provider<Http>, LocalWallet>;

/// Blocks between a commitment and its claim (the market requires more than the
/// response window plus two).
pub const CHALLENGE_WINDOW: u64 = 6;

pub fn eth(amount: &str) -> U256 {
    parse_ether(amount).expect("amount")
}

/// Parameters for watchtower tests: a window long enough to audit in, a response window
/// long enough to answer in, on 1-second blocks.
pub fn watch_params() -> MarketParams {
    MarketParams {
        challenge_window: 15,
        response_window: 5,
        unbonding_delay: 40,
        deposit_withdrawal_delay: 40,
        ..params()
    }
}

/// A circuit's verifier creation code and a valid proof of it (public inputs and proof
/// bytes), built once per process.
pub fn verifier(circuit: Circuit) -> (Vec<u8>, Vec<FieldBytes>, Vec<u8>) {
    type Verifiers =
        std::sync::Mutex<std::collections::HashMap<Circuit, (Vec<u8>, Vec<FieldBytes>, Vec<u8>)>>;
    static VERIFIERS: OnceLock<Verifiers> = OnceLock::new();
    let verifiers = VERIFIERS.get_or_init(Default::default);
    let mut verifiers = verifiers.lock().expect("lock");
    verifiers
        .entry(circuit)
        .or_insert_with(|| {
            let engine = engine();
            let witness = circuit
                .parse_witness(&circuit.example_witness())
                .expect("example witness");
            let proof = engine.prove(&witness).expect("proves");
            let compiled = engine.verifier(circuit).expect("verifier compiles");
            (compiled.creation.clone(), proof.public_inputs, proof.proof)
        })
        .clone()
}

pub fn params() -> MarketParams {
    MarketParams {
        min_stake: eth("1"),
        challenge_window: CHALLENGE_WINDOW,
        response_window: 3,
        unbonding_delay: 20,
        deposit_withdrawal_delay: 30,
        challenge_bond: eth("0.1"),
        slash_per_job: eth("0.01"),
        reward_bps: 3_000,
        refund_bps: 2_000,
        max_deadline: 3_600,
        deadline_challenge_period: 600,
    }
}

/// `config` with a gossip budget per peer no test floods through, for tests of the
/// defences behind it (the budget itself: `flood.rs`).
pub fn unbudgeted(mut config: NodeConfig) -> NodeConfig {
    config.network.gossip_per_peer_per_s = 1_000_000;
    config
}

/// Logs to stderr when `PROVERNET_TEST_LOG` is set (`debug` or `info`).
pub fn init_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let level = match std::env::var("PROVERNET_TEST_LOG").as_deref() {
            Ok("debug") => tracing::Level::DEBUG,
            Ok(_) => tracing::Level::INFO,
            Err(_) => return,
        };
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_test_writer()
            .try_init();
    });
}

/// Where the tests' proving engine keeps its keys.
pub fn cache_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provernet-circuits-cache")
}

/// `provernet ARGS` as the tests run it: the tests' key cache (shared with the circuits
/// crate's tests) and this checkout's solc; no configuration from the environment.
pub fn provernet_command(args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_provernet"));
    command
        .args(args)
        .env("PROVERNET_CACHE_DIR", cache_dir())
        .env(
            "PROVERNET_SOLC",
            provernet_slashing::compile::checkout().join("scripts/solc"),
        )
        .env_remove("PROVERNET_CONFIG")
        .env_remove("PROVERNET_ETH_KEY")
        .env_remove("PROVERNET_MARKET")
        .env_remove("PROVERNET_NETWORK");
    command
}

/// One proving engine for every node of the test process (keys are built once).
pub fn engine() -> Arc<Prover> {
    static ENGINE: OnceLock<Arc<Prover>> = OnceLock::new();
    Arc::clone(ENGINE.get_or_init(|| {
        let (_, _, solc) = provernet_slashing::compile::repo_paths();
        let config = ProverConfig {
            solc,
            ..ProverConfig::new(SrsSource::DevInsecure, cache_dir())
        };
        Arc::new(Prover::new(&config).expect("dev SRS"))
    }))
}

/// A witness for `circuit` that differs with `n`.
pub fn witness(circuit: Circuit, n: u64) -> String {
    circuit.numbered_witness(n).to_string()
}

/// The circuit of an imported 4-8-3 model with a ReLU between, which the provers of a
/// test prove beside `poseidon-chain-12`.
pub fn model_circuit() -> Circuit {
    "model-4-8r-3-s8".parse().expect("a model's name")
}

pub fn submit(circuit: Circuit, n: u64, max_price: u128, deadline_secs: u64) -> SubmitRequest {
    SubmitRequest {
        circuit: circuit.name().to_owned(),
        input: witness(circuit, n),
        max_price: max_price.to_string(),
        deadline_secs,
    }
}

/// A node of the test, with the directory its database lives in.
pub struct TestNode {
    pub handle: NodeHandle,
    pub config: NodeConfig,
    pub keys: Keys,
}

/// One market at a time in this process: each runs several provers that use every
/// core, and deadlines are real time.
pub async fn serial() -> tokio::sync::OwnedMutexGuard<()> {
    static SERIAL: OnceLock<Arc<tokio::sync::Mutex<()>>> = OnceLock::new();
    Arc::clone(SERIAL.get_or_init(Arc::default))
        .lock_owned()
        .await
}

pub struct Testnet {
    /// One testnet at a time: each runs several provers that use every core, and
    /// deadlines are real time.
    _serial: tokio::sync::OwnedMutexGuard<()>,
    pub anvil: AnvilInstance,
    pub owner: Market<Client>,
    pub nodes: Vec<TestNode>,
    pub dir: TempDir,
}

impl Testnet {
    /// Anvil mining a block every second (so challenge windows pass on their own), and a
    /// deployed market.
    pub async fn new() -> Self {
        Self::with_params(params()).await
    }

    /// As [`Testnet::new`], with the market deployed with `params`.
    pub async fn with_params(params: MarketParams) -> Self {
        Self::with_anvil(params, &[]).await
    }

    /// As [`Testnet::with_params`], with `args` given to anvil too.
    pub async fn with_anvil(params: MarketParams, args: &[&str]) -> Self {
        init_logs();
        let serial = serial().await;
        let anvil = Anvil::at(anvil::binary())
            .arg("--host")
            .arg("127.0.0.1")
            .args(args.iter().copied())
            .block_time(1u64)
            .spawn();
        let owner = market_for(&anvil, 0);
        let owner = Market::deploy(Arc::clone(owner.client()), params)
            .await
            .expect("deploy");
        Self {
            _serial: serial,
            anvil,
            owner,
            nodes: Vec::new(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// A testnet whose accounts `provers` are registered provers, and whose account 1 is a
    /// client with a 1 ETH deposit, its node started.
    pub async fn with_client(provers: &[u32]) -> (Self, NodeHandle) {
        let mut net = Self::new().await;
        let client = net.start_client(provers, |_| {}).await;
        (net, client)
    }

    /// Registers accounts `provers` as provers, gives account 1 a 1 ETH deposit and
    /// starts its client node, configured by `edit`.
    pub async fn start_client(
        &mut self,
        provers: &[u32],
        edit: impl FnOnce(&mut NodeConfig),
    ) -> NodeHandle {
        for prover in provers {
            self.register_prover(*prover).await;
        }
        self.deposit(1, "1").await;
        let mut config = self.config("client", false, true);
        edit(&mut config);
        self.start(config, 1).await
    }

    /// Deploys `circuit`'s EVM verifier and registers it, so its proofs can be challenged
    /// (and provers bid on its jobs); nothing when it is registered already. The market
    /// derives the same id as the node.
    pub async fn register_verifier(&self, circuit: Circuit) {
        let id = engine().circuit_id(circuit).expect("circuit id");
        let (known, _) = self.owner.registration(id.0).await.expect("registration");
        if !known.is_zero() {
            return;
        }
        let (creation, inputs, proof) = verifier(circuit);
        let verifier = self
            .owner
            .deploy_code(creation)
            .await
            .expect("verifier deploys");
        let registered = self
            .owner
            .register_circuit(verifier, &inputs, &proof)
            .await
            .expect("circuit registers");
        assert_eq!(registered, id.0, "the market derives the node's circuit id");
    }

    /// A watchtower's configuration, sampling at `rate`.
    pub fn watchtower_config(&self, name: &str, rate: f64) -> NodeConfig {
        let mut config = self.config(name, false, false);
        config.roles.watchtower = true;
        config.watchtower.sample_rate = rate;
        config
    }

    pub fn market(&self, wallet_index: u32) -> Market<Client> {
        Market::at(
            self.owner.address(),
            Arc::clone(market_for(&self.anvil, wallet_index).client()),
        )
    }

    /// A configuration for a node using anvil account `wallet_index`.
    pub fn config(&self, name: &str, prover: bool, client: bool) -> NodeConfig {
        let mut config = NodeConfig {
            data_dir: self.dir.path().join(name),
            ..NodeConfig::default()
        };
        config.roles.prover = prover;
        config.roles.client = client;
        config.chain.rpc_url = self.anvil.endpoint();
        config.chain.market = format!("{:?}", self.owner.address());
        config.chain.poll_interval_ms = 200;
        config.proving.dev_srs = true;
        config.api.enabled = false;
        config.network.request_timeout_ms = 10_000;
        config.prover.circuits = vec![
            Circuit::PoseidonChain12.name().into(),
            model_circuit().name().into(),
        ];
        // Every node knows the model's circuit (a client submits its jobs, a watchtower
        // verifies their proofs) without learning it.
        config.proving.models = vec![model_circuit().name().into()];
        // Three provers share two cores here, and Halo2 uses every core: a proof takes
        // up to three times as long as alone.
        config.prover.estimate_ms = 8_000;
        config.prover.batch_size = 4;
        config.prover.batch_max_age_ms = 1_500;
        config.prover.commit_margin_ms = 4_000;
        config.client.bid_window_ms = 300;
        config.client.accept_timeout_ms = 3_000;
        if let Some(first) = self.nodes.first().and_then(|n| n.handle.dial_addr()) {
            config.network.bootstrap = vec![first.to_string()];
        }
        config
    }

    pub fn keys(&self, wallet_index: u32) -> Keys {
        let seed = u8::try_from(wallet_index + 1).expect("small index");
        Keys {
            identity: SigningKey::from_bytes(&[seed; 32]),
            wallet: wallet(&self.anvil, wallet_index),
        }
    }

    /// Registers account `wallet_index` as a prover under its node key, staking 2 ETH.
    pub async fn register_prover(&self, wallet_index: u32) {
        let keys = self.keys(wallet_index);
        self.market(wallet_index)
            .register(keys.identity.verifying_key().to_bytes(), eth("2"))
            .await
            .expect("register");
    }

    /// Deposits `amount` for account `wallet_index`.
    pub async fn deposit(&self, wallet_index: u32, amount: &str) {
        self.market(wallet_index)
            .deposit(eth(amount))
            .await
            .expect("deposit");
    }

    /// Starts a node with its RocksDB store in its data dir; a prover's circuits are
    /// registered on the market first (a prover bids on no other).
    pub async fn start(&mut self, config: NodeConfig, wallet_index: u32) -> NodeHandle {
        if config.roles.prover {
            for circuit in config.prover_circuits().expect("prover circuits") {
                self.register_verifier(circuit).await;
            }
        }
        self.start_unregistered(config, wallet_index).await
    }

    /// [`Self::start`] without registering anything.
    pub async fn start_unregistered(
        &mut self,
        config: NodeConfig,
        wallet_index: u32,
    ) -> NodeHandle {
        let keys = self.keys(wallet_index);
        let handle = start_node(&config, &keys).await;
        self.nodes.push(TestNode {
            handle: handle.clone(),
            config,
            keys,
        });
        handle
    }

    /// Stops node `index` as a crash would (tasks cancelled, nothing flushed on purpose)
    /// and takes it out of the testnet; its configuration and keys, to start it again.
    /// The caller must hold no handle of it.
    pub async fn stop(&mut self, index: usize) -> (NodeConfig, Keys) {
        let old = self.nodes.remove(index);
        old.handle.shutdown.cancel();
        let TestNode {
            handle,
            config,
            keys,
        } = old;
        // Every handle must be gone for the database to close, as when a process dies.
        drop(handle);
        tokio::time::sleep(Duration::from_millis(500)).await;
        (config, keys)
    }

    /// Stops node `index` (as a crash would: tasks cancelled, nothing flushed on purpose)
    /// and starts it again on the same database. The caller must hold no handle of it.
    pub async fn restart(&mut self, index: usize) -> NodeHandle {
        let (mut config, keys) = self.stop(index).await;
        // Come back on a new port; bootstrap from another node.
        config.network.bootstrap = self
            .nodes
            .first()
            .and_then(|n| n.handle.dial_addr())
            .map(|a| vec![a.to_string()])
            .unwrap_or_default();
        let handle = start_node(&config, &keys).await;
        self.nodes.insert(
            index,
            TestNode {
                handle: handle.clone(),
                config,
                keys,
            },
        );
        handle
    }

    /// Waits until every node sees at least `n` peers on the market topic.
    pub async fn wait_for_mesh(&self, n: usize) {
        let mut seen = Vec::new();
        for _ in 0..200 {
            let mut ready = true;
            seen.clear();
            for node in &self.nodes {
                let info = node.handle.net.info().await.expect("info");
                seen.push(info.topic_peers);
                if info.topic_peers < n {
                    ready = false;
                }
            }
            if ready {
                // One heartbeat more for the meshes to form.
                tokio::time::sleep(Duration::from_millis(600)).await;
                self.wait_for_provers().await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the gossip mesh did not form: each node's topic peers {seen:?}, {n} wanted");
    }

    /// Waits until every running prover has measured its proving time of each of its
    /// circuits: a prover bids on no circuit before (`service::calibrate`), as
    /// `provernet testnet up` waits before its workload.
    pub async fn wait_for_provers(&self) {
        for node in &self.nodes {
            if !node.config.roles.prover || node.handle.shutdown.is_cancelled() {
                continue;
            }
            let want = node.config.prover_circuits().expect("circuits").len();
            let metrics = Arc::clone(&node.handle.metrics);
            eventually(180, "the prover's calibration", || {
                let metrics = Arc::clone(&metrics);
                async move {
                    (usize::try_from(metrics.market.measured_circuits.get()).unwrap_or(0) >= want)
                        .then_some(())
                }
            })
            .await;
        }
    }

    /// Sends anvil's `method` with `params` (mining and the chain's clock, by hand).
    pub async fn rpc(
        &self,
        method: &str,
        params: impl serde::Serialize + std::fmt::Debug + Send + Sync,
    ) {
        use ethers::providers::Middleware as _;
        let _: serde_json::Value = self
            .owner
            .client()
            .provider()
            .request(method, params)
            .await
            .expect(method);
    }

    /// `account`'s transactions mined, and sent (mined or not).
    pub async fn nonces(&self, account: Address) -> (u64, u64) {
        use ethers::providers::Middleware as _;
        let client = self.owner.client();
        let mut nonces = [0; 2];
        for (nonce, block) in nonces.iter_mut().zip([
            ethers::types::BlockNumber::Latest,
            ethers::types::BlockNumber::Pending,
        ]) {
            *nonce = client
                .get_transaction_count(account, Some(block.into()))
                .await
                .expect("nonce")
                .as_u64();
        }
        (nonces[0], nonces[1])
    }

    /// `account`'s transactions sent and not mined yet.
    pub async fn unmined(&self, account: Address) -> u64 {
        let (mined, sent) = self.nonces(account).await;
        sent.saturating_sub(mined)
    }

    /// The chain's head.
    pub async fn head(&self) -> u64 {
        use ethers::providers::Middleware as _;
        self.owner
            .client()
            .get_block_number()
            .await
            .expect("head")
            .as_u64()
    }

    /// Every event the market emitted.
    pub async fn events(&self) -> Vec<ProverMarketEvents> {
        self.owner
            .contract()
            .events()
            .from_block(0u64)
            .query()
            .await
            .expect("events")
    }

    pub async fn deposit_of(&self, wallet_index: u32) -> U256 {
        self.owner
            .deposit_of(wallet(&self.anvil, wallet_index).address())
            .await
            .expect("deposit")
    }
}

pub async fn start_node(config: &NodeConfig, keys: &Keys) -> NodeHandle {
    start_node_with(config, keys, Some(engine())).await
}

/// [`start_node`] with `engine`; `None` loads one from `config.proving` as a node
/// process does.
pub async fn start_node_with(
    config: &NodeConfig,
    keys: &Keys,
    engine: Option<Arc<Prover>>,
) -> NodeHandle {
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    // RocksDB releases its lock when the last handle drops; a restarted node may find it
    // still held while the stopped node's last tasks end (a transaction waiting for its
    // receipt, a proof on the blocking pool: seconds on a loaded machine).
    let mut store = None;
    for _ in 0..300 {
        match RocksStore::open(&config.data_dir.join("db")) {
            Ok(s) => {
                store = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let store = Store::new(Arc::new(store.expect("database opens")));
    service::start(Startup {
        config: config.clone(),
        keys: keys.clone(),
        store,
        engine,
    })
    .await
    .expect("node starts")
}

pub fn wallet(anvil: &AnvilInstance, index: u32) -> LocalWallet {
    LocalWallet::from(anvil.keys()[index as usize].clone()).with_chain_id(anvil.chain_id())
}

pub fn market_for(anvil: &AnvilInstance, index: u32) -> Market<Client> {
    let provider = Provider::<Http>::try_from(anvil.endpoint())
        .expect("provider")
        .interval(Duration::from_millis(50));
    let client = Arc::new(SignerMiddleware::new(provider, wallet(anvil, index)));
    Market::at(Address::zero(), client)
}

/// Polls `f` every 200 ms until it returns `Some`, for at most `secs`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let until = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(value) = f().await {
            return value;
        }
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The state of a client job.
pub fn state_of(node: &NodeHandle, id: &JobId) -> String {
    node.job(id)
        .expect("store")
        .map(|s| s.state)
        .unwrap_or_default()
}

/// Waits until every batch of the prover `node` is recorded as claimed (at least one when
/// `one` is set).
pub async fn all_claimed(node: &NodeHandle, one: bool, secs: u64) {
    eventually(secs, "the prover recorded its claims", || async {
        let batches = node.store.batches().expect("store");
        ((!one || !batches.is_empty())
            && batches
                .iter()
                .all(|b| matches!(b.state, provernet_node::store::BatchState::Claimed { .. })))
        .then_some(())
    })
    .await;
}

/// Waits until a client job's state is one of `states`.
pub async fn wait_for_state(node: &NodeHandle, id: &JobId, states: &[&str], secs: u64) {
    let what = format!("job {id} {states:?}");
    eventually(secs, &what, || {
        let (node, id) = (node.clone(), *id);
        async move {
            states
                .contains(&state_of(&node, &id).as_str())
                .then_some(())
        }
    })
    .await;
}

/// A prover's `provernet_bids_total{kind}` count.
pub fn bids(node: &NodeHandle, label: &str) -> u64 {
    node.metrics
        .market
        .bids
        .get_or_create(&provernet_node::metrics::kind(label))
        .get()
}

/// A node's `provernet_net_validation_total{kind, result, reason}` count.
pub fn validations(node: &NodeHandle, kind: &str, result: &str, reason: &str) -> u64 {
    node.metrics
        .net
        .validation
        .get_or_create(&provernet_node::metrics::Validation {
            kind: kind.to_owned(),
            result: result.to_owned(),
            reason: reason.to_owned(),
        })
        .get()
}

/// This process's resident memory, bytes (0 where `/proc` cannot tell).
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<u64>().ok())
        .unwrap_or(0)
        * 4096
}

/// The sum of the samples of `node`'s metrics whose line `wanted` picks.
pub fn metric_total(node: &NodeHandle, wanted: impl Fn(&str) -> bool) -> u64 {
    node.metrics
        .encode()
        .lines()
        .filter(|line| !line.starts_with('#') && wanted(line))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// A gauge of `node`'s metrics.
pub fn gauge(node: &NodeHandle, name: &str) -> u64 {
    let prefix = format!("{name} ");
    metric_total(node, |line| line.starts_with(&prefix))
}

/// A selection award (unsigned) of `request`'s round to the prover of anvil account
/// `prover` at `price`, due by the request's deadline: what a client gossips at the end
/// of a bid window.
pub fn selection(
    net: &Testnet,
    request: &provernet_protocol::JobRequest,
    prover: u32,
    price: u128,
) -> provernet_protocol::Award {
    provernet_protocol::Award {
        job_id: request.job_id(),
        round: request.round,
        prover: provernet_protocol::Address(wallet(&net.anvil, prover).address().0),
        prover_key: provernet_protocol::PeerKey::from(net.keys(prover).identity.verifying_key()),
        price,
        deadline: request.proving_deadline,
        signature: provernet_protocol::EthSignature([0; 65]),
    }
}

/// The request the client node stored for job `id` once it submitted it.
pub async fn stored_request(client: &NodeHandle, id: &JobId) -> provernet_protocol::JobRequest {
    eventually(30, "the request is stored", || async {
        client
            .store
            .client_job(id)
            .expect("store")
            .map(|job| job.request.0)
    })
    .await
}

/// A request of `client` (its Ethereum key) for job `nonce` on chain `chain_id`'s market
/// `market`, signed as a client node signs it, in an envelope of `key` that expires
/// `expires_in` seconds from now, with a maximum price of `max_price` wei, a deadline
/// `deadline_secs` from now and a bid window ending `window_secs` from now, for the
/// circuit of id `circuit.0` named `circuit.1`.
#[allow(clippy::too_many_arguments)]
pub fn sign_request_for(
    chain_id: u64,
    market: Address,
    client: &LocalWallet,
    key: &SigningKey,
    nonce: u64,
    max_price: u128,
    (deadline_secs, window_secs, expires_in): (u64, u64, u64),
    (circuit_id, circuit_name): (provernet_protocol::CircuitId, &str),
) -> Vec<u8> {
    use provernet_protocol::{Context, EthSignature, Hash32, JobRequest, PeerKey};
    use provernet_slashing::eip712;
    let now = service::now_s();
    let mut request = JobRequest {
        client: provernet_protocol::Address(client.address().0),
        nonce,
        round: 0,
        circuit_id,
        input_hash: Hash32([3; 32]),
        public_inputs_hash: Hash32([4; 32]),
        input_size: 64,
        max_price,
        bid_window_ends: now + window_secs,
        proving_deadline: now + deadline_secs,
        client_signature: EthSignature([0; 65]),
        circuit_name: circuit_name.to_owned(),
    };
    let domain = eip712::Domain { chain_id, market };
    let digest = domain.request_digest(&eip712::Request {
        job_id: request.job_id().0,
        peer_key: *PeerKey::from(key.verifying_key()).as_bytes(),
        circuit_id: request.circuit_id.0,
        input_hash: request.input_hash.0,
        public_inputs_hash: request.public_inputs_hash.0,
        max_price: U256::from(max_price),
        deadline: request.proving_deadline,
    });
    request.client_signature = EthSignature(eip712::sign(client, digest).expect("signs"));
    provernet_protocol::SignedEnvelope::sign(
        &request,
        &Context::new(chain_id),
        now + expires_in,
        key,
    )
    .expect("signs")
    .to_bytes()
}

/// A small model's package, written to `dir`.
pub fn small_package(dir: &std::path::Path) -> Circuit {
    let layers = [
        Layer {
            outputs: 3,
            relu: true,
        },
        Layer {
            outputs: 2,
            relu: false,
        },
    ];
    let architecture = Architecture::new(4, &layers, 8).expect("an architecture");
    let model = QuantizedModel {
        architecture,
        weights: vec![
            vec![vec![256, -128, 64, 32]; 3],
            vec![vec![100, -50, 25]; 2],
        ],
        biases: vec![vec![1, 2, 3], vec![-4, 5]],
    };
    Package::new(model, [0; 32], None)
        .write(dir)
        .expect("writes the package");
    Circuit::Model(architecture)
}
