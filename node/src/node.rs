//! `provernet node` and `provernet client`.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use provernet_node::config::NodeConfig;
use provernet_node::identity::{Keys, load_eth_key, load_or_create_identity};
use provernet_node::service::{self, Startup};
use provernet_node::store::{RocksStore, Store};

use crate::{ApiArgs, ClientCommand, NodeArgs};

/// The configuration from the file (if any) with the flags applied.
fn configure(args: NodeArgs) -> anyhow::Result<NodeConfig> {
    let mut config = match &args.config {
        Some(path) => NodeConfig::load(path)?,
        None => NodeConfig::default(),
    };
    if let Some(path) = &args.network {
        provernet_node::network_file::NetworkFile::load(path)?.apply(&mut config);
    }
    if let Some(dir) = args.data_dir {
        config.data_dir = dir;
    }
    config.roles.prover |= args.prover;
    config.roles.client |= args.client;
    config.roles.watchtower |= args.watchtower;
    config.roles.relay |= args.relay;
    if !args.listen.is_empty() {
        config.network.listen = args.listen;
    }
    config.network.bootstrap.extend(args.bootstrap);
    if let Some(url) = args.rpc_url {
        config.chain.rpc_url = url;
    }
    if let Some(market) = args.market {
        config.chain.market = market;
    }
    if let Some(file) = args.eth_key_file {
        config.chain.key_file = Some(file);
    }
    if let Some(api) = args.api {
        config.api.listen = api;
    }
    if !args.circuits.is_empty() {
        config.prover.circuits = args.circuits;
    }
    if let Some(srs) = args.srs {
        config.proving.srs_file = Some(srs);
    }
    config.proving.dev_srs |= args.dev_srs;
    config.check()?;
    Ok(config)
}

/// Runs a node with the watchtower role until Ctrl-C (the file may add other roles).
pub fn run_watchtower(mut args: NodeArgs) -> anyhow::Result<()> {
    args.watchtower = true;
    run_node(args)
}

/// Runs a node until Ctrl-C (or SIGTERM), or until one of its tasks fails (then an error).
pub fn run_node(args: NodeArgs) -> anyhow::Result<()> {
    let config = configure(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let identity = load_or_create_identity(&config.data_dir)?;
        // The chain id is set again from the RPC at start.
        let wallet = load_eth_key(config.chain.key_file.as_deref(), &config.chain.key_env, 1)?;
        let db = config.data_dir.join("db");
        let store =
            Store::new(Arc::new(RocksStore::open(&db).with_context(|| {
                format!("cannot open the database at {}", db.display())
            })?));
        store
            .check_schema()
            .with_context(|| format!("cannot use the database at {}", db.display()))?;
        // Before the node starts: a token that cannot be read stops nothing half-started.
        let token = if config.api.enabled {
            Some(provernet_node::identity::load_or_create_api_token(
                &config.data_dir,
            )?)
        } else {
            None
        };
        let node = service::start(Startup {
            config: config.clone(),
            keys: Keys { identity, wallet },
            store,
            engine: None,
        })
        .await?;
        if let Some(token) = token {
            let address = config.api.listen;
            let bound = provernet_node::api::serve(node.clone(), address, config.api.dev, &token)
                .await
                .with_context(|| format!("cannot serve the API on {address} (api.listen)"))?;
            eprintln!("api: http://{bound}");
        }
        for address in &node.listen_addrs {
            eprintln!("listening: {address}/p2p/{}", node.net.peer_id());
        }
        eprintln!("address: {:?}", node.address);
        // What `register(peerKey)` on the market takes for a prover.
        eprintln!(
            "peer key: 0x{}",
            provernet_protocol::primitives::to_hex(node.peer_key.as_bytes())
        );
        tokio::select! {
            () = wait_for_signal() => eprintln!("shutting down"),
            // A task of the node failed and stopped it (`service/supervise.rs`).
            () = node.shutdown.cancelled() => {}
        }
        node.shutdown.cancel();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        match node.failure.get() {
            Some(why) => anyhow::bail!("the node stopped: {why}"),
            None => Ok(()),
        }
    })
}

async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// `provernet client …`: talks to a node's HTTP API.
pub fn client(command: ClientCommand) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let http = reqwest::Client::new();
        match command {
            ClientCommand::Submit {
                api,
                circuit,
                model,
                input,
                max_price,
                deadline,
            } => {
                let (circuit, text) = match model {
                    Some(package) => {
                        let (circuit, witness, _) = crate::model::witness_for(&package, &input)?;
                        (circuit.name().to_owned(), witness.to_string())
                    }
                    None => (
                        circuit.unwrap_or_default(),
                        std::fs::read_to_string(&input)
                            .with_context(|| format!("cannot read {}", input.display()))?,
                    ),
                };
                let body = serde_json::json!({
                    "circuit": circuit,
                    "input": text,
                    "max_price": max_price.to_string(),
                    "deadline_secs": deadline,
                });
                let request = http.post(format!("{}/v1/jobs", api.api)).json(&body);
                let answer = call(with_token(request, &api)?, &api.api).await?;
                let id = answer["id"]
                    .as_str()
                    .context("the node answered without an id")?;
                println!("{id}");
            }
            ClientCommand::Status { api, job } => {
                let request = http.get(format!("{}/v1/jobs/{job}", api.api));
                let answer = call(with_token(request, &api)?, &api.api).await?;
                println!("{}", serde_json::to_string_pretty(&answer)?);
            }
            ClientCommand::Proof { api, job, out } => {
                let request = http.get(format!("{}/v1/jobs/{job}/proof", api.api));
                let answer = call(with_token(request, &api)?, &api.api).await?;
                let text = serde_json::to_string_pretty(&answer)? + "\n";
                std::fs::write(&out, &text)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                eprintln!("proof written to {}", out.display());
                if let Some(line) = provernet_circuits::proof_file::from_json(&text)
                    .ok()
                    .as_ref()
                    .and_then(crate::model::describe)
                {
                    println!("{line}");
                }
            }
        }
        Ok(())
    })
}

/// `request` with the API token of `api.token_file`, if one is given.
fn with_token(
    request: reqwest::RequestBuilder,
    api: &ApiArgs,
) -> anyhow::Result<reqwest::RequestBuilder> {
    let Some(file) = &api.token_file else {
        return Ok(request);
    };
    let token = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the API token file {}", file.display()))?;
    Ok(request.bearer_auth(token.trim()))
}

async fn call(request: reqwest::RequestBuilder, api: &str) -> anyhow::Result<serde_json::Value> {
    let response = request.send().await.with_context(|| {
        format!("cannot reach the node's API at {api} (is the node running, with api.enabled and this api.listen?)")
    })?;
    let status = response.status();
    let body: serde_json::Value = response
        .json()
        .await
        .context("the node's answer is not JSON")?;
    if !status.is_success() {
        bail!(
            "the node refused ({status}): {}",
            body["error"].as_str().unwrap_or("no reason given")
        );
    }
    Ok(body)
}
