//! `provernet stake|deposit|credits`: an operator's on-chain actions, read from the same
//! configuration as the node (flags, environment or the node's TOML), each checked before
//! it is sent (docs/operating.md).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use ethers::providers::Middleware as _;
use ethers::types::U256;
use provernet_node::config::NodeConfig;
use provernet_node::identity::{IDENTITY_FILE, load_or_create_identity};
use provernet_node::ops::advice::Action;
use provernet_node::ops::{Operator, amount};
use provernet_protocol::primitives::to_hex;

/// The account, the chain and the market: as the node reads them, flags first.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// The node's TOML config file: its `[chain]` section and `data_dir` are read.
    #[arg(long, env = "PROVERNET_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// The node's data directory (its identity: `stake register` takes it from here).
    #[arg(long, env = "PROVERNET_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// A network file (`network.toml`): its market, where its events begin.
    #[arg(long, env = "PROVERNET_NETWORK", global = true)]
    network: Option<PathBuf>,
    /// The chain's JSON-RPC URL.
    #[arg(long, env = "PROVERNET_RPC_URL", global = true)]
    rpc_url: Option<String>,
    /// The ProverMarket contract address.
    #[arg(long, env = "PROVERNET_MARKET", global = true)]
    market: Option<String>,
    /// A file holding the Ethereum private key (hex); else chain.key_env
    /// ($PROVERNET_ETH_KEY).
    #[arg(long, global = true)]
    eth_key_file: Option<PathBuf>,
    /// Blocks on top of the transaction's before it is reported done, 0..=64 [default:
    /// the config's chain.confirmations; 0: done at its receipt].
    #[arg(long, global = true)]
    confirmations: Option<u64>,
    /// Check the call (`eth_call`, the account's balance) and show it; send nothing.
    #[arg(long, global = true)]
    dry_run: bool,
}

/// `provernet stake …`.
#[derive(Debug, Args)]
pub struct StakeArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: StakeCommand,
}

#[derive(Debug, Subcommand)]
enum StakeCommand {
    /// Register the account as a prover with the node's identity (read from its data dir)
    /// and a first stake of AMOUNT (`2eth`, `1500000000gwei`, wei). The registration
    /// binds the account to that identity for good.
    Register {
        #[arg(allow_hyphen_values = true)]
        amount: String,
        /// Make the identity in the data dir when it has none yet (before the node's first
        /// start); without it, a data dir without an identity is an error.
        #[arg(long)]
        new_identity: bool,
    },
    /// Add AMOUNT to the stake.
    Add {
        #[arg(allow_hyphen_values = true)]
        amount: String,
    },
    /// Start unbonding AMOUNT of the stake (still slashable until it is withdrawn).
    Unbond {
        #[arg(allow_hyphen_values = true)]
        amount: String,
    },
    /// Withdraw the unbonded stake once the delays are over and no challenge is open.
    Withdraw,
    /// The stake, unbonding, open challenges and leaves at risk.
    Status,
}

/// `provernet deposit …` (clients).
#[derive(Debug, Args)]
pub struct DepositArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: DepositCommand,
}

#[derive(Debug, Subcommand)]
enum DepositCommand {
    /// Add AMOUNT to the account's client deposit, from which awarded jobs are paid.
    Add {
        #[arg(allow_hyphen_values = true)]
        amount: String,
    },
    /// With AMOUNT: request a withdrawal, which can be carried out once the market's
    /// delay has passed and for as many blocks again. Without: carry out the request.
    Withdraw {
        #[arg(allow_hyphen_values = true)]
        amount: Option<String>,
    },
    /// The deposit, what it can still pay, and a pending withdrawal.
    Status,
}

/// `provernet credits …` (watchtowers: challenge rewards and bonds).
#[derive(Debug, Args)]
pub struct CreditsArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: CreditsCommand,
}

#[derive(Debug, Subcommand)]
enum CreditsCommand {
    /// Withdraw every credit (challenge rewards, returned bonds).
    Withdraw,
    /// The account's credits.
    Status,
}

/// The node's configuration with the flags applied.
fn configure(args: &ChainArgs) -> anyhow::Result<NodeConfig> {
    let mut config = match &args.config {
        Some(path) => NodeConfig::load(path)?,
        None => NodeConfig::default(),
    };
    if let Some(dir) = &args.data_dir {
        config.data_dir.clone_from(dir);
    }
    if let Some(path) = &args.network {
        provernet_node::network_file::NetworkFile::load(path)?.apply(&mut config);
    }
    if let Some(url) = &args.rpc_url {
        config.chain.rpc_url.clone_from(url);
    }
    if let Some(market) = &args.market {
        config.chain.market.clone_from(market);
    }
    if let Some(file) = &args.eth_key_file {
        config.chain.key_file = Some(file.clone());
    }
    if let Some(network) = &config.joined {
        network
            .check_market(config.market_address()?)
            .map_err(anyhow::Error::msg)?;
    }
    Ok(config)
}

/// Runs `body` with the operator `args` describe, on a runtime of its own.
fn with_operator<F>(args: &ChainArgs, body: F) -> anyhow::Result<()>
where
    F: AsyncFnOnce(&Operator, &NodeConfig) -> anyhow::Result<()>,
{
    let config = configure(args)?;
    let confirmations = args.confirmations.unwrap_or(config.chain.confirmations);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let operator = Operator::connect(&config, confirmations, args.dry_run).await?;
        println!(
            "account {:?} on chain {}, market {:?}",
            operator.account,
            operator.chain_id,
            operator.market.address()
        );
        body(&operator, &config).await
    })
}

/// Sends with `op`, then shows the state with `status`. Once a transaction is mined, a
/// failed read of the state is a warning, not a failure: the command must not be run
/// again for it (it would send twice).
async fn send_then<D, S>(
    op: &Operator,
    sent: Option<(
        Action,
        ethers::contract::ContractCall<provernet_node::service::ChainClient, D>,
    )>,
    status: S,
) -> anyhow::Result<()>
where
    D: ethers::abi::Detokenize,
    S: AsyncFnOnce() -> anyhow::Result<()>,
{
    let mined = match sent {
        Some((action, call)) => op.send(action, call).await?.is_some(),
        None => false,
    };
    match status().await {
        Err(error) if mined => {
            eprintln!(
                "warning: the transaction was mined; reading the state after it failed: \
                 {error:#}"
            );
            Ok(())
        }
        other => other,
    }
}

fn wei(text: &str) -> anyhow::Result<U256> {
    Ok(amount::parse(text)?)
}

/// `provernet stake …`.
pub fn stake(args: StakeArgs) -> anyhow::Result<()> {
    with_operator(&args.chain, async |op, config| {
        let market = &op.market;
        let call = match &args.command {
            StakeCommand::Register {
                amount,
                new_identity,
            } => {
                let stake = wei(amount)?;
                let peer_key = identity(config, *new_identity, op.dry_run)?;
                Some((Action::Register, market.register(peer_key).value(stake)))
            }
            StakeCommand::Add { amount } => {
                Some((Action::AddStake, market.add_stake().value(wei(amount)?)))
            }
            StakeCommand::Unbond { amount } => {
                let amount = wei(amount)?;
                let (_, _, _, unbonding, ..) = market.provers(op.account).call().await?;
                if !unbonding.is_zero() {
                    println!(
                        "note: {} is unbonding already; unbonding more restarts both delays \
                         for all of it",
                        amount::format(unbonding)
                    );
                }
                Some((Action::Unbond, market.unbond(amount)))
            }
            StakeCommand::Withdraw => Some((Action::WithdrawStake, market.withdraw_stake())),
            StakeCommand::Status => None,
        };
        send_then(op, call, async || stake_status(op).await).await
    })
}

/// The node's identity in its data dir, as its 32-byte public key; made there only when
/// asked (and not on a dry run, which uses a throwaway key and says so).
fn identity(config: &NodeConfig, new_identity: bool, dry_run: bool) -> anyhow::Result<[u8; 32]> {
    let dir = &config.data_dir;
    if dir.as_os_str().is_empty() {
        bail!("no data dir: give the node's (--data-dir, or data_dir in --config)");
    }
    let exists = dir.join(IDENTITY_FILE).exists();
    let key = if exists {
        load_or_create_identity(dir)?
    } else if !new_identity {
        bail!(
            "no identity in {} ({IDENTITY_FILE}): give the data dir the node runs with, or \
             pass --new-identity to make one there before its first start (registration \
             binds the account to it for good)",
            dir.display()
        );
    } else if dry_run {
        use rand_core::RngCore as _;
        let mut secret = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut secret);
        println!(
            "dry run: a new identity would be made in {}; a throwaway key stands in",
            dir.display()
        );
        ed25519_dalek::SigningKey::from_bytes(&secret)
    } else {
        load_or_create_identity(dir)?
    };
    let peer_key = key.verifying_key().to_bytes();
    let peer_id = libp2p::identity::ed25519::PublicKey::try_from_bytes(&peer_key)
        .map(|k| {
            libp2p::identity::PublicKey::from(k)
                .to_peer_id()
                .to_string()
        })
        .unwrap_or_default();
    println!(
        "node identity ({}{}): peer key 0x{}, peer id {peer_id}",
        dir.display(),
        if exists { "" } else { ", new" },
        to_hex(&peer_key)
    );
    Ok(peer_key)
}

async fn stake_status(op: &Operator) -> anyhow::Result<()> {
    let (stake, debt, peer_key, unbonding, at, after, open, slashed, _, _, _, registered) =
        op.market.provers(op.account).call().await?;
    if !registered {
        println!("prover: not registered (`provernet stake register AMOUNT`)");
        return Ok(());
    }
    let (at_risk, covered) = op.market.exposure(op.account).call().await?;
    let (block, now) = op.head().await?;
    println!("prover: registered, peer key 0x{}", to_hex(&peer_key));
    println!("stake: {}", amount::format(stake));
    if !debt.is_zero() {
        println!(
            "debt: {} (burned from the next withdrawal)",
            amount::format(debt)
        );
    }
    println!("unbonding: {}", amount::format(unbonding));
    if !unbonding.is_zero() {
        let when = if block < at || now < after {
            ""
        } else if open > 0 {
            ": once no challenge is open"
        } else {
            ": now"
        };
        println!(
            "withdrawable: from block {at} (now {block}) and unix time {after} (now {now}){when}"
        );
        if !debt.is_zero() {
            println!(
                "of which burned at withdrawal: {}",
                amount::format(debt.min(unbonding))
            );
        }
    }
    println!("open challenges: {open}");
    println!("slashed jobs: {slashed}");
    println!("leaves at risk: {at_risk} (the stake covers {covered})");
    println!("balance: {}", amount::format(op.balance().await?));
    Ok(())
}

/// `provernet deposit …`.
pub fn deposit(args: DepositArgs) -> anyhow::Result<()> {
    with_operator(&args.chain, async |op, _| {
        let market = &op.market;
        let call = match &args.command {
            DepositCommand::Add { amount } => {
                Some((Action::Deposit, market.deposit().value(wei(amount)?)))
            }
            DepositCommand::Withdraw {
                amount: Some(amount),
            } => {
                let amount = wei(amount)?;
                let requested = market.withdrawal_requested(op.account).call().await?;
                if !requested.is_zero() {
                    println!(
                        "note: this replaces the pending request of {} (and restarts its delay)",
                        amount::format(requested)
                    );
                }
                Some((
                    Action::RequestWithdrawal,
                    market.request_deposit_withdrawal(amount),
                ))
            }
            DepositCommand::Withdraw { amount: None } => {
                Some((Action::WithdrawDeposit, market.withdraw_deposit()))
            }
            DepositCommand::Status => None,
        };
        send_then(op, call, async || deposit_status(op).await).await
    })
}

async fn deposit_status(op: &Operator) -> anyhow::Result<()> {
    let market = &op.market;
    let deposit = market.deposits(op.account).call().await?;
    let free = market.free_deposit(op.account).call().await?;
    let requested = market.withdrawal_requested(op.account).call().await?;
    println!("deposit: {}", amount::format(deposit));
    println!("free (what it can still pay): {}", amount::format(free));
    if !requested.is_zero() {
        let at = market.withdrawable_at(op.account).call().await?;
        let delay = market.deposit_withdrawal_delay().call().await?;
        let (block, _) = op.head().await?;
        let lapses = at.saturating_add(delay);
        let when = if block < at {
            "not yet: `provernet deposit withdraw` from then"
        } else if block < lapses {
            "now: `provernet deposit withdraw`"
        } else {
            "lapsed: request it again"
        };
        println!(
            "withdrawal requested: {}, in blocks {at} to {} (now {block}): {when}",
            amount::format(requested),
            lapses.saturating_sub(1)
        );
    }
    println!("balance: {}", amount::format(op.balance().await?));
    Ok(())
}

/// `provernet credits …`.
pub fn credits(args: CreditsArgs) -> anyhow::Result<()> {
    with_operator(&args.chain, async |op, _| {
        let call = match args.command {
            CreditsCommand::Withdraw => {
                Some((Action::WithdrawCredits, op.market.withdraw_credits()))
            }
            CreditsCommand::Status => None,
        };
        send_then(op, call, async || {
            let credits = op.market.credits(op.account).call().await?;
            println!("credits: {}", amount::format(credits));
            println!("balance: {}", amount::format(op.balance().await?));
            Ok(())
        })
        .await
    })
}

/// `provernet market …`.
#[derive(Debug, Args)]
pub struct MarketArgs {
    #[command(flatten)]
    chain: ChainArgs,
    #[command(subcommand)]
    command: MarketCommand,
}

#[derive(Debug, Subcommand)]
enum MarketCommand {
    /// The market's parameters, totals and registered circuits.
    Info,
    /// Deploy a new market (it has no owner); with --network-out, write the network
    /// file nodes join it with.
    Deploy(Box<crate::market_deploy::DeployArgs>),
}

/// `provernet market info`.
pub fn market(args: MarketArgs) -> anyhow::Result<()> {
    if let MarketCommand::Deploy(deploy) = &args.command {
        let config = configure(&args.chain)?;
        let confirmations = args
            .chain
            .confirmations
            .unwrap_or(config.chain.confirmations);
        return crate::market_deploy::run(&config, confirmations, args.chain.dry_run, deploy);
    }
    with_operator(&args.chain, async |op, config| {
        let m = &op.market;
        println!("minStake: {}", amount::format(m.min_stake().call().await?));
        println!(
            "slashPerJob: {}",
            amount::format(m.slash_per_job().call().await?)
        );
        println!(
            "challengeBond: {}",
            amount::format(m.challenge_bond().call().await?)
        );
        println!(
            "challengeWindow: {} blocks",
            m.challenge_window().call().await?
        );
        println!(
            "responseWindow: {} blocks",
            m.response_window().call().await?
        );
        println!(
            "unbondingDelay: {} blocks",
            m.unbonding_delay().call().await?
        );
        println!(
            "depositWithdrawalDelay: {} blocks",
            m.deposit_withdrawal_delay().call().await?
        );
        println!("maxDeadline: {} s", m.max_deadline().call().await?);
        println!(
            "deadlineChallengePeriod: {} s",
            m.deadline_challenge_period().call().await?
        );
        println!("rewardBps: {}", m.reward_bps().call().await?);
        println!("refundBps: {}", m.refund_bps().call().await?);
        println!("batches: {}", m.batch_count().call().await?);
        println!("challenges: {}", m.challenge_count().call().await?);
        println!("burned: {}", amount::format(m.total_burned().call().await?));
        let held = op
            .client
            .get_balance(m.address(), None)
            .await
            .context("cannot read the market's balance")?;
        println!("held: {}", amount::format(held));
        // In ranges of `chain.log_range` blocks: what a public RPC serves.
        let (head, _) = op.head().await?;
        let step = config.chain.log_range.max(1);
        let mut registered = Vec::new();
        let mut from = config.chain.from_block;
        while from <= head {
            let to = from.saturating_add(step - 1).min(head);
            registered.extend(
                m.circuit_registered_filter()
                    .from_block(from)
                    .to_block(to)
                    .query()
                    .await
                    .with_context(|| {
                        format!(
                            "cannot read the market's CircuitRegistered events in blocks \
                             {from}..={to} (chain.log_range, chain.from_block)"
                        )
                    })?,
            );
            from = to + 1;
        }
        println!("circuits: {}", registered.len());
        for circuit in registered {
            println!(
                "  0x{}  verifier {:?}, {} public inputs, proof {} bytes, {} gas",
                to_hex(&circuit.circuit_id),
                circuit.verifier,
                circuit.public_inputs,
                circuit.proof_length,
                circuit.gas_limit
            );
        }
        Ok(())
    })
}
