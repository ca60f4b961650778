//! The local multi-node testnet: `provernet testnet up | down | status | load`.
//!
//! `up` starts anvil on 127.0.0.1, deploys the market and one EVM verifier per circuit of
//! the workload (each given the gas it was measured to need, plus 5 %), registers and
//! stakes the provers, funds the clients, and starts every node as a separate
//! `provernet node` process with its own data dir, keys, ports, config file and log under
//! the testnet directory. It then drives a workload through the clients' HTTP APIs,
//! injects the faults asked for (cheating provers, a prover killed with SIGKILL and
//! restarted), shows progress, and when every job has settled writes a report (text,
//! `report.json` and SVG plots) from what the chain and the nodes' APIs say. Nothing is
//! simulated: proofs are real Halo2 proofs, slashes are real transactions.
//!
//! The orchestrator talks to nodes only as a user would: config files, the command line,
//! the HTTP API and the chain. It does not link the node library, so what it shows is
//! what a deployment would see.

mod args;
mod bench;
mod chain;
pub mod figure;
mod load;
mod plot;
mod procs;
mod report;
mod run;
mod setup;
mod state;

pub use args::{CheatKind, DownArgs, StatusArgs, TestnetCommand, UpArgs};
pub use bench::{BenchCommand, bench_main};

/// Runs a `provernet testnet` subcommand; `exe` is the `provernet` binary to start nodes
/// with.
///
/// # Errors
/// Anything that stops the testnet from starting or running, with what to do about it.
/// `up` also fails when the run ends with a problem (a timeout, an injected fault left
/// unslashed, an honest prover slashed, a node that died), after writing the report.
pub fn main(command: TestnetCommand, exe: &std::path::Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = match command {
        TestnetCommand::Up(args) => runtime.block_on(run::up(*args, exe)),
        TestnetCommand::Down(args) => runtime.block_on(state::down(&args.dir)),
        TestnetCommand::Status(args) => runtime.block_on(state::status(&args.dir)),
        TestnetCommand::Load(args) => runtime.block_on(load::load(args, exe)),
    };
    // An interrupted setup may leave key generation or solc running on a blocking
    // thread; do not wait for it (every process is already stopped).
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    result
}
