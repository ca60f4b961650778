//! `provernet`: the node and its command-line tools.
//!
//! The binary is thin: it parses the command line and hands each subcommand to the crate
//! that owns it. Subcommands whose crate is not built yet say so and which issue brings
//! them, and exit with an error instead of pretending to work.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

mod cli;
mod proving;

use cli::Planned;
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
    /// Inspect the built-in circuits and export their EVM verifiers.
    #[command(subcommand)]
    Circuits(CircuitsCommand),
    /// Prove a witness for a circuit (prover tool, no network).
    Prove(ProveArgs),
    /// Verify a proof natively (prover tool, no network).
    Verify(VerifyArgs),
    /// Bring up, inspect and tear down a local multi-node testnet on anvil.
    #[command(subcommand)]
    Testnet(TestnetCommand),
    /// Whether cheating pays, given sampling rate, watchtowers, stake and prices.
    Economics(EconomicsArgs),
}

/// Where a node keeps its state and how it is configured.
#[derive(Debug, Args)]
struct NodeArgs {
    /// The node's TOML config file; flags override it.
    #[arg(long, env = "PROVERNET_CONFIG")]
    config: Option<PathBuf>,
    /// The data directory (keys, database).
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
}

#[derive(Debug, Subcommand)]
enum ClientCommand {
    /// Submit a job; prints its id.
    Submit {
        /// The circuit's name or id.
        #[arg(long)]
        circuit: String,
        /// The witness JSON file.
        #[arg(long)]
        input: PathBuf,
        /// The most to pay, in wei.
        #[arg(long)]
        max_price: u128,
        /// Seconds from now by which the proof must be committed.
        #[arg(long)]
        deadline: u64,
    },
    /// Show a job's state.
    Status {
        /// The job id (0x-prefixed hex).
        job: String,
    },
    /// Write a job's proof to a file.
    Proof {
        /// The job id (0x-prefixed hex).
        job: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum TestnetCommand {
    /// Start anvil, deploy, start the nodes, drive a workload and write a report.
    Up,
    /// Stop everything `testnet up` started.
    Down,
    /// Show the running testnet's nodes and jobs.
    Status,
}

#[derive(Debug, Args)]
struct EconomicsArgs {
    /// Probability that one watchtower samples a job (0..=1).
    #[arg(long)]
    sample_rate: f64,
    /// Number of independent watchtowers.
    #[arg(long)]
    watchtowers: u32,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let planned = match cli.command {
        Command::Circuits(command) => return report(proving::circuits(command)),
        Command::Prove(args) => return report(proving::prove(args)),
        Command::Verify(args) => return report(proving::verify(args)),
        Command::Node(_) => Planned::new("node", 5),
        Command::Watchtower(_) => Planned::new("watchtower", 6),
        Command::Client(_) => Planned::new("client", 5),
        Command::Testnet(_) => Planned::new("testnet", 7),
        Command::Economics(_) => Planned::new("economics", 6),
    };
    eprintln!("error: {planned}");
    ExitCode::from(2)
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
