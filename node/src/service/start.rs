//! Starting a node: the configuration checked, the chain reached, the store, network,
//! dispatcher, chain follower, chain worker and core spawned.

use tracing::Instrument as _;

use super::known::KnownCircuits;
use super::supervise::Supervisor;
use super::*;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is wrong.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The chain cannot be reached or the market read.
    #[error("chain at {url}: {reason}")]
    Chain {
        /// The RPC URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The database cannot be opened.
    #[error("database: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The network cannot start.
    #[error(transparent)]
    Network(#[from] network::NetworkError),
    /// The proving engine cannot load.
    #[error("proving engine: {0}")]
    Engine(String),
}

/// Connections to the chain's RPC kept open while idle, at most.
const RPC_IDLE_CONNECTIONS: usize = 4;

/// Everything a node is started with.
pub struct Startup {
    /// The configuration (already checked by the caller or checked here).
    pub config: NodeConfig,
    /// Its keys.
    pub keys: Keys,
    /// The store.
    pub store: Store,
    /// A shared proving engine (tests share one between in-process nodes); else one is
    /// built from `config.proving`.
    pub engine: Option<Arc<Engine>>,
}

/// Starts a node: network, chain follower, chain worker, core. Returns once it listens.
///
/// # Errors
/// [`StartError`].
pub async fn start(startup: Startup) -> Result<NodeHandle, StartError> {
    let Startup {
        config,
        keys,
        store,
        engine,
    } = startup;
    config.check()?;
    // Logged at each step: where a slow start spends its time.
    let begun = std::time::Instant::now();
    let url = config.chain.rpc_url.clone();
    let chain_error = |reason: String| StartError::Chain {
        url: url.clone(),
        reason,
    };
    // A burst of calls (a claim's reads, the follower's log ranges) opens connections
    // beyond these, closed once done: the RPC provider sees a bounded number kept open.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(RPC_IDLE_CONNECTIONS)
        .build()
        .map_err(|e| chain_error(e.to_string()))?;
    let rpc_url = reqwest::Url::parse(&config.chain.rpc_url)
        .map_err(|e| chain_error(format!("not a URL: {e}")))?;
    let provider =
        Provider::new(Http::new_with_client(rpc_url, http)).interval(Duration::from_millis(50));
    let chain_id = provider
        .get_chainid()
        .await
        .map_err(|e| chain_error(format!("cannot read the chain id: {e}")))?;
    let chain_id = u64::try_from(chain_id)
        .map_err(|_| chain_error(format!("the chain id {chain_id} does not fit 64 bits")))?;
    let head = provider
        .get_block_number()
        .await
        .map_err(|e| chain_error(format!("cannot read the head: {e}")))?
        .as_u64();
    let cheats = [
        ("prover.cheat", config.prover.cheat.is_some()),
        ("client.cheat_never_sign", config.client.cheat_never_sign),
        (
            "client.cheat_drop_signed_award",
            config.client.cheat_drop_signed_award,
        ),
        (
            "client.cheat_drop_gossiped_acceptances",
            config.client.cheat_drop_gossiped_acceptances,
        ),
    ];
    if let Some((field, _)) = cheats
        .iter()
        .find(|(_, on)| *on && chain_id != crate::config::LOCAL_CHAIN_ID)
    {
        return Err(StartError::Config(crate::config::ConfigError::Field {
            field,
            reason: format!(
                "{} (this chain's id is {chain_id})",
                crate::config::CHEAT_REFUSED
            ),
        }));
    }
    if config.api.dev && chain_id != crate::config::LOCAL_CHAIN_ID {
        return Err(StartError::Config(crate::config::ConfigError::Field {
            field: "api.dev",
            reason: format!(
                "{} (this chain's id is {chain_id})",
                crate::config::DEV_API_REFUSED
            ),
        }));
    }
    let wallet = keys.wallet.clone().with_chain_id(chain_id);
    let client = Arc::new(SignerMiddleware::new(provider, wallet.clone()));
    let market_address = config.market_address()?;
    let code = client
        .get_code(market_address, None)
        .await
        .map_err(|e| chain_error(e.to_string()))?;
    if code.is_empty() {
        return Err(chain_error(format!(
            "no contract at chain.market = {market_address:?}"
        )));
    }
    // Joined from a network file: this chain and this market are the network's.
    if let Some(network) = &config.joined {
        crate::network_file::check_chain(network, chain_id, &code)
            .map_err(|e| chain_error(e.to_string()))?;
    }
    let market = Market::at(market_address, Arc::clone(&client));
    // The market's parameters, read side by side.
    let contract = market.contract();
    let (
        window_blocks,
        response_blocks,
        min_stake,
        challenge_bond,
        max_deadline_secs,
        deadline_challenge_secs,
    ) = tokio::try_join!(
        market_param(contract.challenge_window()),
        market_param(contract.response_window()),
        market_param(contract.min_stake()),
        market_param(contract.challenge_bond()),
        market_param(contract.max_deadline()),
        market_param(contract.deadline_challenge_period()),
    )
    .map_err(chain_error)?;
    if config.roles.prover {
        // A commitment counts (its batch id known) `confirmations` blocks after it is
        // mined; a missed-deadline challenge may open in that very block, and its answer
        // needs the batch id and a block to land in.
        if config.chain.confirmations.saturating_add(2) >= response_blocks {
            return Err(StartError::Config(crate::config::ConfigError::Field {
                field: "chain.confirmations",
                reason: format!(
                    "{} leaves no time to answer a challenge within the market's response window of {response_blocks} blocks: at most {} on this market",
                    config.chain.confirmations,
                    response_blocks.saturating_sub(3)
                ),
            }));
        }
    }

    let engine = match engine {
        Some(engine) => engine,
        None => {
            let srs = provernet_circuits::srs::SrsSource::choose(
                config.proving.srs_file.clone(),
                config.proving.dev_srs,
            )
            .map_err(|e| StartError::Engine(e.to_string()))?;
            let cache_dir = config
                .proving
                .cache_dir
                .clone()
                .unwrap_or_else(default_cache_dir);
            let mut engine_config = provernet_circuits::prover::ProverConfig::new(srs, cache_dir);
            if let Some(solc) = &config.proving.solc {
                engine_config.solc = solc.clone();
            }
            let engine = tokio::task::spawn_blocking(move || Engine::new(&engine_config))
                .await
                .map_err(|e| StartError::Engine(e.to_string()))?
                .map_err(|e| StartError::Engine(e.to_string()))?;
            tracing::info!(target: "node", since_start_ms = begun.elapsed().as_millis(), "SRS loaded");
            Arc::new(engine)
        }
    };
    // The dev SRS, by its hash wherever it came from (`--dev-srs` or a copy of its file):
    // anyone can forge proofs under it, so only the local chain runs on it.
    if engine.srs().is_insecure() && chain_id != crate::config::LOCAL_CHAIN_ID {
        return Err(StartError::Config(crate::config::ConfigError::Field {
            field: "proving.srs_file",
            reason: format!(
                "the SRS is the INSECURE dev SRS (hash {}), refused on chain {chain_id}: \
                 use a real SRS (provernet srs import)",
                engine.srs().fingerprint()
            ),
        }));
    }
    if let Some(network) = &config.joined {
        crate::network_file::check_srs(network, engine.srs().fingerprint())
            .map_err(|e| StartError::Engine(e.to_string()))?;
    }
    // What each circuit needs: its id (from its verifier) and verifying keys everywhere;
    // its proving keys only on a prover of it.
    let mut proves: HashSet<Circuit> = if config.roles.prover {
        config.prover_circuits()?.into_iter().collect()
    } else {
        HashSet::new()
    };
    // The model circuits of the jobs a prover held when it stopped, learned from their
    // requests before the restart: learned again now, so the jobs resume (`learn`).
    // The work column is read once, here; `recover` resumes from the same records.
    let works = store.works()?;
    let mut known = config.known_circuits()?;
    // A client's own models: read now, so a bad package stops the start, and known, so
    // its own submissions check. Files of up to 64 MiB each: read on the blocking pool.
    let models = if config.roles.client {
        let dirs = config.client.models.clone();
        tokio::task::spawn_blocking(move || ClientModels::load(&dirs))
            .await
            .map_err(|e| StartError::Engine(e.to_string()))??
    } else {
        ClientModels::default()
    };
    known.extend(models.circuits());
    let learned: Vec<(CircuitId, Circuit)> = if config.roles.prover {
        learn::held_models(&works)
            .into_iter()
            // Not what it proves already; a circuit it knows but does not prove (a
            // client's model, `proving.models`) is proved again for the held job.
            .filter(|(_, circuit)| !proves.contains(circuit))
            .collect()
    } else {
        Vec::new()
    };
    proves.extend(learned.iter().map(|(_, circuit)| *circuit));
    // Begun first, they load beside the verifying keys and the network's start.
    let mut proving_keys = tokio::task::JoinSet::new();
    for circuit in proves.iter().copied() {
        let engine = Arc::clone(&engine);
        proving_keys.spawn_blocking(move || {
            let started = std::time::Instant::now();
            let loaded = engine.keys(circuit).map(|_| ());
            (circuit, loaded, started.elapsed().as_millis())
        });
    }
    // Each circuit's verifying keys and verifier, loaded side by side on the blocking
    // pool (a proved circuit's shared with its proving keys' load above).
    let mut loading = tokio::task::JoinSet::new();
    known.extend(learned.iter().map(|(_, circuit)| *circuit));
    known.sort();
    known.dedup();
    for circuit in known {
        let needed = proves.contains(&circuit) || config.roles.client || config.roles.watchtower;
        if !needed {
            continue;
        }
        let engine = Arc::clone(&engine);
        loading.spawn_blocking(move || (circuit, engine.circuit_id(circuit)));
    }
    let mut circuits = HashMap::new();
    while let Some(loaded) = loading.join_next().await {
        let (circuit, id) = loaded.map_err(|e| StartError::Engine(e.to_string()))?;
        let id = id.map_err(|e| StartError::Engine(format!("{}: {e}", circuit.name())))?;
        circuits.insert(id, circuit);
    }
    for (id, circuit) in &learned {
        if circuits.get(id) != Some(circuit) {
            // Its request passed this check when the job was won; a build whose id
            // differs now (another SRS or compiler) cannot serve the job.
            tracing::error!(target: "node", circuit = circuit.name(), %id, "a held job's model circuit no longer derives its id: the job cannot resume");
        }
    }
    tracing::info!(
        target: "node",
        since_start_ms = begun.elapsed().as_millis(),
        circuits = circuits.len(),
        "verifying keys and verifiers loaded"
    );

    // Only now that chain, market, SRS, models and keys are the node's: its first
    // transaction.
    if config.roles.client && config.client.min_deposit_wei > 0 {
        let me = client.address();
        let have = market
            .deposit_of(me)
            .await
            .map_err(|e| chain_error(e.to_string()))?;
        let want = U256::from(config.client.min_deposit_wei);
        if have < want {
            market.deposit(want - have).await.map_err(|e| {
                chain_error(format!(
                    "cannot top up the deposit (client.min_deposit_wei): {e}"
                ))
            })?;
            tracing::info!(target: "chain", deposited = %(want - have), "deposit topped up");
        }
    }

    let shutdown = CancellationToken::new();
    let network_config = NetworkConfig {
        listen: config.listen_addrs()?,
        bootstrap: config.bootstrap_addrs()?,
        chain_id,
        max_connections: config.network.max_connections,
        // Gossipsub applies this to a whole RPC frame, which can carry many messages and
        // control entries: a bound near one message's size silently drops batches of
        // them. Each message's own size is checked per kind by the dispatcher.
        max_gossip_bytes: provernet_protocol::MessageKind::max_envelope_len(),
        // Requests are small (the largest a pushed proof): a flood of them queues
        // little; responses carry inputs up to 1 MiB.
        max_request_bytes: provernet_protocol::MessageKind::max_request_envelope_len(),
        max_response_bytes: provernet_protocol::MessageKind::max_envelope_len(),
        event_queue: config.network.event_queue,
        request_timeout: Duration::from_millis(config.network.request_timeout_ms),
        inbound: network::budget::Limits {
            requests_per_s: config.network.inbound_requests_per_s,
            bytes_per_s: config.network.inbound_bytes_per_s,
        },
        shutdown: shutdown.clone(),
    };
    let (net, events, listen_addrs, network_task) =
        network::start(network_config, keys.libp2p()).await?;

    let metrics = Arc::new(Metrics::default());
    let context = Context::new(chain_id);
    let peer_key = PeerKey::from(keys.identity.verifying_key());
    let address = Address(wallet.address().0);
    // One queue owns this account's nonces: the chain worker, the answers to challenges
    // and the watchtower's challenges all send through it.
    let (transactions, queue_task) = provernet_slashing::txqueue::TxQueue::new(
        Arc::clone(market.client()),
        wallet.clone(),
        provernet_slashing::txqueue::QueueConfig {
            max_in_flight: config.chain.max_in_flight,
            bump_after: Duration::from_millis(config.chain.bump_after_ms),
            bump_percent: config.chain.bump_percent,
            max_fee_per_gas: (config.chain.max_fee_gwei > 0)
                .then(|| U256::from(config.chain.max_fee_gwei) * 1_000_000_000u64),
            poll: Duration::from_millis(config.chain.poll_interval_ms),
            confirmations: config.chain.confirmations,
        },
        shutdown.clone().cancelled_owned(),
    );
    let shared = Arc::new(Shared {
        domain: Domain {
            chain_id,
            market: market_address,
        },
        identity: keys.identity.clone(),
        peer_key,
        wallet,
        address,
        context: context.clone(),
        market: market.clone().with_queue(
            transactions.clone(),
            provernet_slashing::txqueue::Priority::Normal,
        ),
        store: store.clone(),
        metrics: Arc::clone(&metrics),
        engine,
        net: net.clone(),
        circuits: KnownCircuits::new(circuits, proves),
        window_blocks,
        response_blocks,
        min_stake: u128::try_from(min_stake).unwrap_or(u128::MAX),
        challenge_bond: u128::try_from(challenge_bond).unwrap_or(u128::MAX),
        max_deadline_secs,
        deadline_challenge_secs,
        transactions,
        config: config.clone(),
        slowdown: Arc::new(std::sync::atomic::AtomicU32::new(NO_SLOWDOWN)),
    });
    let (internal_tx, internal_rx) = mpsc::channel(4_096);
    let (chain_tx, chain_rx) = mpsc::channel(1_024);
    let (answers_tx, answers_rx) = mpsc::channel(1_024);
    let watch = if config.roles.watchtower || config.roles.client {
        let (watch_tx, watch_rx) = mpsc::channel(8_192);
        Some((watch_tx, watch_rx))
    } else {
        None
    };
    let watch_tx = watch.as_ref().map(|(tx, _)| tx.clone());

    // Every line a node's tasks log names the node (several run in one test process).
    let span = tracing::info_span!("node", peer = %dispatch::short_peer(&net.peer_id()));
    let validator = Validator::new(context.clone(), config.network.replay_capacity);
    let seen = validator.seen();
    // The dispatcher charges each peer's gossip to its budget; the core refunds what the
    // market accepted.
    let gossip_budget = Arc::new(std::sync::Mutex::new(network::budget::InboundBudget::new(
        network::budget::Limits {
            requests_per_s: config.network.gossip_per_peer_per_s,
            bytes_per_s: config.network.gossip_bytes_per_peer_per_s,
        },
    )));
    // Every long-lived task runs under the supervisor: one that ends before the node is
    // asked to stop stops the node.
    let supervisor = Supervisor::new(shutdown.clone());
    supervisor.spawn("network", span.clone(), network_task);
    supervisor.spawn("transaction queue", span.clone(), queue_task);
    supervisor.spawn(
        "dispatcher",
        span.clone(),
        dispatch::dispatch(
            events,
            net.clone(),
            validator,
            // Requests have a replay cache of their own: gossip cannot fill it.
            Validator::new(context.clone(), config.network.replay_capacity),
            Arc::clone(&gossip_budget),
            internal_tx.clone(),
            Arc::clone(&metrics),
            shutdown.clone(),
        ),
    );
    supervisor.spawn(
        "chain follower",
        span.clone(),
        follow::follow_chain(
            Arc::clone(&shared),
            internal_tx.clone(),
            watch_tx.clone(),
            shutdown.clone(),
        ),
    );
    if let Some((_, watch_rx)) = watch {
        let (tower, reports) = Watchtower::new(Arc::clone(&shared), internal_tx.clone());
        supervisor.spawn(
            "watchtower",
            span.clone(),
            tower.run(watch_rx, reports, shutdown.clone()),
        );
    }
    supervisor.spawn(
        "chain worker",
        span.clone(),
        worker::chain_worker(
            Arc::clone(&shared),
            chain_rx,
            answers_rx,
            internal_tx.clone(),
            shutdown.clone(),
        ),
    );

    supervisor.spawn(
        "store compaction",
        span.clone(),
        retention::compact_store(shared.store.clone(), shutdown.clone()),
    );
    let mut core = Core::new(Arc::clone(&shared), internal_tx.clone(), chain_tx);
    core.learning.learned = learned.len();
    core.prover.answers = Some(answers_tx);
    core.gossip_budget = Some(gossip_budget);
    core.watch = watch_tx;
    core.seen = Some(seen);
    // A start that fails from here stops the tasks already spawned, as a stop asked for.
    let stop_on_error = shutdown.clone().drop_guard();
    // The head before anything uses it (a batch recovery seals records it, and a commit
    // looks for an earlier copy of itself from there); the follower only raises it.
    core.book.head = head;
    // The store is read while the proving keys load. Held work is judged and proved with
    // its keys loaded: none of it waits for a key no estimate covers. The other circuits'
    // keys load on while the node runs; it bids on a circuit once its keys are in
    // (`consider_bidding`). A key that does not load leaves its circuit unbid on.
    core.recover(works)?;
    tracing::info!(target: "node", since_start_ms = begun.elapsed().as_millis(), "store read");
    let mut waiting = core.held_circuits();
    // A circuit this node no longer proves has no key loading.
    waiting.retain(|circuit| shared.circuits.proves(circuit));
    while !waiting.is_empty() {
        let Some(loaded) = proving_keys.join_next().await else {
            break;
        };
        if let Ok((circuit, _, _)) = &loaded {
            waiting.remove(circuit);
        }
        proving_keys_loaded(loaded);
    }
    core.recover_prover();
    if !proving_keys.is_empty() {
        // Ends when the last key is in, or when the node stops; failures are logged, and
        // leave their circuits unbid on.
        let stop = shutdown.clone();
        tokio::spawn(
            async move {
                loop {
                    tokio::select! {
                        () = stop.cancelled() => break,
                        loaded = proving_keys.join_next() => match loaded {
                            Some(loaded) => proving_keys_loaded(loaded),
                            None => break,
                        },
                    }
                }
            }
            .instrument(span.clone()),
        );
    }
    // The DHT records of the proofs this node serves lived in memory: announce the recent
    // ones again, queued before the core runs, so ahead of any withdrawal a settlement
    // sends.
    let announce = core.proofs_to_announce(now_s());
    if !announce.is_empty() {
        tracing::info!(target: "node", proofs = announce.len(), "announcing recent proofs again in the DHT");
        for key in announce {
            net.provide(key).await;
        }
    }
    if config.roles.prover {
        // Known before the first bid; the follower keeps it fresh from here.
        core.prover.funds.exposure = follow::read_exposure(&shared, EthAddress::from(address.0))
            .await
            .ok();
        core.prover.registered = follow::read_registrations(&shared, &HashSet::new())
            .await
            .into_iter()
            .collect();
    }
    supervisor.spawn("core", span, core.run(internal_rx, shutdown.clone()));
    tracing::info!(
        target: "node",
        peer = %net.peer_id(),
        address = ?EthAddress::from(address.0),
        listen = ?listen_addrs,
        since_start_ms = begun.elapsed().as_millis(),
        "node started"
    );
    stop_on_error.disarm();
    Ok(NodeHandle {
        internal: internal_tx,
        store,
        net,
        metrics,
        address: EthAddress::from(address.0),
        peer_key,
        listen_addrs,
        shutdown,
        failure: supervisor.failure(),
        tasks: supervisor.tasks(),
        roles: config.roles,
        market: shared.market.clone(),
        models: Arc::new(models),
        slowdown: Arc::clone(&shared.slowdown),
    })
}

/// One of the market's parameters, read at start; the error's text.
async fn market_param<T: ethers::abi::Detokenize>(
    call: ethers::contract::ContractCall<ChainClient, T>,
) -> Result<T, String> {
    call.call().await.map_err(|e| e.to_string())
}

/// Logs one circuit's proving-key load.
fn proving_keys_loaded(
    loaded: Result<
        (Circuit, Result<(), provernet_circuits::CircuitError>, u128),
        tokio::task::JoinError,
    >,
) {
    match loaded {
        Ok((circuit, Ok(()), ms)) => {
            tracing::info!(target: "node", circuit = circuit.name(), ms, "proving keys loaded");
        }
        Ok((circuit, Err(error), _)) => {
            tracing::error!(target: "node", circuit = circuit.name(), %error, "cannot load the proving keys: not bidding on the circuit");
        }
        Err(error) => {
            tracing::error!(target: "node", %error, "a proving-key load failed: not bidding on its circuit");
        }
    }
}
