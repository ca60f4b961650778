//! `provernet`: the node and its command-line tools.
//!
//! The binary is thin: it parses the command line and hands each subcommand to the crate
//! that owns it. The node itself lives in the library (`provernet_node`); `node.rs` turns
//! flags into its configuration and runs it until Ctrl-C. `provernet testnet` belongs to
//! `provernet_testnet`, which starts this same binary once per node.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::filter::Targets;

mod account;
mod market_deploy;
mod model;
mod node;
mod proving;
mod trusted_setup;

use node::{client, run_node, run_watchtower};
use proving::{CircuitsCommand, ProveArgs, VerifyArgs};

/// A decentralized market for Halo2 proofs: clients gossip proof requests, staked provers
/// bid, prove and commit on chain, and watchtowers challenge bad proofs.
#[derive(Debug, Parser)]
#[command(name = "provernet", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node with any mix of the prover, client and watchtower roles.
    Node(NodeArgs),
    /// Run a node with the watchtower role only: sample commitments, verify proofs,
    /// challenge bad ones.
    Watchtower(NodeArgs),
    /// Submit jobs to a running client node and fetch their proofs.
    #[command(subcommand)]
    Client(ClientCommand),
    /// A prover's stake on the market: register, add, unbond, withdraw, status.
    Stake(account::StakeArgs),
    /// A client's deposit on the market: add, withdraw, status.
    Deposit(account::DepositArgs),
    /// A watchtower's credits on the market (rewards, bonds): withdraw, status.
    Credits(account::CreditsArgs),
    /// The market on chain: its parameters, totals and circuits.
    Market(account::MarketArgs),
    /// Inspect circuits, export their EVM verifiers, register them on the market.
    #[command(subcommand)]
    Circuits(CircuitsCommand),
    /// Bring your own model: import an ONNX MLP as a model package, make its witnesses.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// The trusted setup: import a public powers-of-tau ceremony's file as the SRS.
    #[command(subcommand)]
    Srs(trusted_setup::SrsCommand),
    /// Prove a witness for a circuit (prover tool, no network).
    Prove(ProveArgs),
    /// Verify a proof natively (prover tool, no network).
    Verify(VerifyArgs),
    /// Bring up, inspect and tear down a local multi-node testnet on anvil.
    #[command(subcommand)]
    Testnet(provernet_testnet::TestnetCommand),
    /// Whether cheating pays, given sampling rate, watchtowers, stake and prices.
    Economics(EconomicsArgs),
    /// Collect the benchmarks' figures (`scripts/bench.sh` runs the benchmarks, then this).
    #[command(subcommand)]
    Bench(provernet_testnet::BenchCommand),
}

/// Where a node keeps its state and how it is configured. Flags override the file.
#[derive(Debug, Args)]
struct NodeArgs {
    /// The node's TOML config file (see docs/operating.md); flags override it.
    #[arg(long, env = "PROVERNET_CONFIG")]
    config: Option<PathBuf>,
    /// A network file (`network.toml`): the chain, market, bootstrap peers and SRS of
    /// the network to join; the node refuses to start on another chain, market or SRS.
    #[arg(long, env = "PROVERNET_NETWORK")]
    network: Option<PathBuf>,
    /// The data directory (identity key, database).
    #[arg(long, env = "PROVERNET_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Take the prover role.
    #[arg(long)]
    prover: bool,
    /// Take the client role.
    #[arg(long)]
    client: bool,
    /// Take the watchtower role.
    #[arg(long)]
    watchtower: bool,
    /// Only validate and forward market gossip (when no other role is taken).
    #[arg(long)]
    relay: bool,
    /// A listen multiaddr (repeatable), e.g. /ip4/127.0.0.1/tcp/9000.
    #[arg(long)]
    listen: Vec<String>,
    /// A bootstrap peer multiaddr (repeatable), ending in /p2p/<peer id>.
    #[arg(long)]
    bootstrap: Vec<String>,
    /// The chain's JSON-RPC URL.
    #[arg(long, env = "PROVERNET_RPC_URL")]
    rpc_url: Option<String>,
    /// The ProverMarket contract address.
    #[arg(long, env = "PROVERNET_MARKET")]
    market: Option<String>,
    /// A file holding the Ethereum private key (hex); else $PROVERNET_ETH_KEY.
    #[arg(long)]
    eth_key_file: Option<PathBuf>,
    /// Where the HTTP API and /metrics listen, e.g. 127.0.0.1:8645.
    #[arg(long)]
    api: Option<std::net::SocketAddr>,
    /// Circuits to prove (repeatable), for the prover role.
    #[arg(long = "circuit")]
    circuits: Vec<String>,
    /// The SRS file (halo2's format: `provernet srs import` writes one).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// Use the insecure development SRS (local testnets only).
    #[arg(long)]
    dev_srs: bool,
}

/// Where a node's API is, and its token.
#[derive(Debug, Args)]
struct ApiArgs {
    /// The node's API.
    #[arg(long, env = "PROVERNET_API", default_value = "http://127.0.0.1:8645")]
    api: String,
    /// The node's API token file (`<data_dir>/api-token`, which the node creates at first
    /// start): needed to submit, and to read from an API that is not on loopback.
    #[arg(long, env = "PROVERNET_API_TOKEN_FILE")]
    token_file: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Submit a job; prints its id.
    Submit {
        #[command(flatten)]
        api: ApiArgs,
        /// The circuit's name.
        #[arg(long, required_unless_present = "model", conflicts_with = "model")]
        circuit: Option<String>,
        /// A model package (`provernet model import`): the job proves an inference of it,
        /// and --input is the model's input (numbers, as the model takes them).
        #[arg(long)]
        model: Option<PathBuf>,
        /// The witness JSON file (with --model: the input, an array of numbers or
        /// `{"input": [...]}`).
        #[arg(long)]
        input: PathBuf,
        /// The most to pay, in wei.
        #[arg(long)]
        max_price: u128,
        /// Seconds from now by which the proof must be committed.
        #[arg(long)]
        deadline: u64,
    },
    /// Show a job's state as JSON.
    Status {
        #[command(flatten)]
        api: ApiArgs,
        /// The job id (0x-prefixed hex).
        job: String,
    },
    /// Write a job's verified proof to a file.
    Proof {
        #[command(flatten)]
        api: ApiArgs,
        /// The job id (0x-prefixed hex).
        job: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

/// Amounts are in any one unit (wei, gwei or ETH): only their ratios matter.
#[derive(Debug, Args)]
struct EconomicsArgs {
    /// Probability that one watchtower samples a job (0..=1).
    #[arg(long)]
    sample_rate: f64,
    /// Number of independent watchtowers.
    #[arg(long)]
    watchtowers: u32,
    /// The prover's bonded stake.
    #[arg(long)]
    stake: f64,
    /// What one slashed job takes from the stake (the contract's slashPerJob).
    #[arg(long)]
    slash_per_job: f64,
    /// The job's price.
    #[arg(long)]
    price: f64,
    /// What proving the job costs the prover.
    #[arg(long)]
    prove_cost: f64,
}

/// Prints whether cheating pays.
fn economics(args: &EconomicsArgs) -> anyhow::Result<()> {
    let assessment = provernet_node::economics::Market {
        sample_rate: args.sample_rate,
        watchtowers: args.watchtowers,
        stake: args.stake,
        slash_per_job: args.slash_per_job,
        price: args.price,
        prove_cost: args.prove_cost,
    }
    .assess()?;
    println!("{assessment}");
    Ok(())
}

fn main() -> ExitCode {
    // PROVERNET_LOG: a level (trace, debug, info — the default —, warn, error), or levels
    // per target as `info,market::prover=debug`; targets are shown so a line says which
    // subsystem wrote it (docs/operating.md lists them).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = log_filter(std::env::var("PROVERNET_LOG").ok().as_deref());
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(tracing::Level::TRACE)
        .finish()
        .with(filter)
        .init();
    let cli = Cli::parse();
    report(match cli.command {
        Command::Circuits(command) => proving::circuits(command),
        Command::Model(command) => model::run(command),
        Command::Srs(command) => trusted_setup::run(command),
        Command::Prove(args) => proving::prove(args),
        Command::Verify(args) => proving::verify(args),
        Command::Node(args) => run_node(args),
        Command::Client(command) => client(command),
        Command::Stake(args) => account::stake(args),
        Command::Deposit(args) => account::deposit(args),
        Command::Credits(args) => account::credits(args),
        Command::Market(args) => account::market(args),
        Command::Watchtower(args) => run_watchtower(args),
        Command::Economics(args) => economics(&args),
        Command::Testnet(command) => testnet(command),
        Command::Bench(command) => provernet_testnet::bench_main(command),
    })
}

/// `provernet testnet …`, starting nodes with this binary.
fn testnet(command: provernet_testnet::TestnetCommand) -> anyhow::Result<()> {
    let exe = std::env::current_exe().map_err(|e| {
        anyhow::anyhow!("cannot find the provernet binary to start nodes with: {e}")
    })?;
    provernet_testnet::main(command, &exe)
}

/// The log filter `PROVERNET_LOG` names: unset or empty, INFO; levels per target keep
/// INFO for the others unless a bare level says otherwise; what does not parse is said on
/// stderr, and INFO stands.
fn log_filter(directives: Option<&str>) -> Targets {
    let info = || Targets::new().with_default(tracing::Level::INFO);
    let Some(text) = directives.map(str::trim).filter(|t| !t.is_empty()) else {
        return info();
    };
    let spaced: String = text.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    match spaced.parse::<Targets>() {
        Ok(targets) if targets.default_level().is_some() => targets,
        Ok(targets) => targets.with_default(tracing::Level::INFO),
        Err(error) => {
            eprintln!("PROVERNET_LOG={text}: {error}; logging at info");
            info()
        }
    }
}

/// Prints an error with its causes and turns it into exit status 1.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use tracing::Level;
    use tracing_subscriber::filter::LevelFilter;

    use super::log_filter;

    #[test]
    fn provernet_log_takes_a_level_or_levels_per_target_and_keeps_info_otherwise() {
        for unset in [None, Some(""), Some("  ")] {
            assert_eq!(log_filter(unset).default_level(), Some(LevelFilter::INFO));
        }
        assert_eq!(
            log_filter(Some("debug")).default_level(),
            Some(LevelFilter::DEBUG)
        );
        let per_target = log_filter(Some("info, market::prover=debug"));
        assert!(per_target.would_enable("market::prover", &Level::DEBUG));
        assert!(!per_target.would_enable("net", &Level::DEBUG));
        assert!(per_target.would_enable("node", &Level::ERROR));
        // A target alone keeps everything else at info.
        let alone = log_filter(Some("market::prover=debug"));
        assert!(alone.would_enable("node", &Level::INFO));
        assert!(alone.would_enable("market::prover", &Level::DEBUG));
    }
}
