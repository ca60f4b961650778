//! `provernet market deploy`: a new market from the command line, and the network file
//! (`--network-out`) that nodes join it with.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use ethers::types::H256;
use provernet_circuits::srs::{Srs, SrsSource};
use provernet_node::config::NodeConfig;
use provernet_node::network_file::{NetworkFile, SrsEntry};
use provernet_node::ops::{self, amount, deploy};
use provernet_slashing::MarketParams;

/// `provernet market deploy`: the market's parameters (defaults for a chain of 12-second
/// blocks: windows of an hour and a day), and what the network file says.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// Least stake with which a prover may commit (`1eth`, `200gwei`, wei).
    #[arg(long, default_value = "1eth")]
    min_stake: String,
    /// Blocks after a batch is posted during which it may be challenged.
    #[arg(long, default_value_t = 300)]
    challenge_window: u64,
    /// Blocks a challenged prover has to answer.
    #[arg(long, default_value_t = 50)]
    response_window: u64,
    /// Blocks between unbonding and withdrawal (more than both windows).
    #[arg(long, default_value_t = 7_200)]
    unbonding_delay: u64,
    /// Blocks between a client's withdrawal request and the withdrawal (more than the
    /// challenge window).
    #[arg(long, default_value_t = 7_200)]
    deposit_withdrawal_delay: u64,
    /// Bond of a challenge.
    #[arg(long, default_value = "0.1eth")]
    challenge_bond: String,
    /// Taken from a prover's stake per slashed job (at most --min-stake).
    #[arg(long, default_value = "0.05eth")]
    slash_per_job: String,
    /// Part of a slash paid to the challenger, basis points.
    #[arg(long, default_value_t = 3_000)]
    reward_bps: u16,
    /// Part of a slash refunded to the job's client, basis points.
    #[arg(long, default_value_t = 2_000)]
    refund_bps: u16,
    /// Longest proving deadline after an award, seconds.
    #[arg(long, default_value_t = 3_600)]
    max_deadline: u64,
    /// Seconds after a deadline during which a missed deadline can be challenged.
    #[arg(long, default_value_t = 3_600)]
    deadline_challenge_period: u64,
    /// Write the network file here (`provernet node --network FILE` joins with it).
    #[arg(long)]
    network_out: Option<PathBuf>,
    /// The network's SRS file (its keccak256 goes in the network file).
    #[arg(long)]
    srs: Option<PathBuf>,
    /// The network uses the INSECURE dev SRS (local chains only).
    #[arg(long)]
    dev_srs: bool,
    /// Where nodes get the SRS, for people (e.g. the ceremony's file and the import).
    #[arg(long, default_value = "")]
    srs_source: String,
    /// A bootstrap peer for the network file (repeatable).
    #[arg(long)]
    bootstrap: Vec<String>,
    /// A circuit the network proves, for the network file (repeatable).
    #[arg(long = "circuit")]
    circuits: Vec<String>,
    /// The network's name, for people.
    #[arg(long, default_value = "provernet")]
    name: String,
}

impl DeployArgs {
    fn params(&self) -> anyhow::Result<MarketParams> {
        Ok(MarketParams {
            min_stake: amount::parse(&self.min_stake).context("--min-stake")?,
            challenge_window: self.challenge_window,
            response_window: self.response_window,
            unbonding_delay: self.unbonding_delay,
            deposit_withdrawal_delay: self.deposit_withdrawal_delay,
            challenge_bond: amount::parse(&self.challenge_bond).context("--challenge-bond")?,
            slash_per_job: amount::parse(&self.slash_per_job).context("--slash-per-job")?,
            reward_bps: self.reward_bps,
            refund_bps: self.refund_bps,
            max_deadline: self.max_deadline,
            deadline_challenge_period: self.deadline_challenge_period,
        })
    }

    /// The SRS's hash, before anything is sent: a missing or bad file stops the command.
    fn srs_hash(&self, config: &NodeConfig) -> anyhow::Result<Option<H256>> {
        if self.network_out.is_none() {
            return Ok(None);
        }
        let source = match (&self.srs, self.dev_srs) {
            (Some(_), true) => bail!("--srs and --dev-srs: choose one"),
            (None, false) => bail!(
                "--network-out needs the network's SRS: --srs FILE (provernet srs import \
                 writes one), or --dev-srs on a local chain"
            ),
            (Some(file), false) => SrsSource::File(file.clone()),
            (None, true) => SrsSource::DevInsecure,
        };
        let cache = config
            .proving
            .cache_dir
            .clone()
            .unwrap_or_else(provernet_circuits::default_cache_dir);
        let srs = Srs::load(&source, &cache)?;
        Ok(Some(H256(srs.fingerprint().0)))
    }
}

/// Runs `provernet market deploy`.
pub fn run(
    config: &NodeConfig,
    confirmations: u64,
    dry_run: bool,
    args: &DeployArgs,
) -> anyhow::Result<()> {
    let params = args.params()?;
    deploy::check_params(&params)
        .map_err(|rule| anyhow::anyhow!("refused, nothing sent: {rule}"))?;
    let srs_hash = args.srs_hash(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (client, chain_id) = ops::signing_client(
            &config.chain.rpc_url,
            config.chain.key_file.as_deref(),
            &config.chain.key_env,
            Duration::from_millis(config.chain.poll_interval_ms.max(10)),
        )
        .await?;
        if args.dev_srs && chain_id != provernet_node::config::LOCAL_CHAIN_ID {
            bail!("--dev-srs is for the local chain only; this chain's id is {chain_id}");
        }
        let Some(deployed) = deploy::deploy(client, params, confirmations, dry_run).await? else {
            return Ok(());
        };
        println!("market: {:?}", deployed.address);
        println!("block: {}", deployed.block);
        println!("code hash: {:?}", deployed.code_hash);
        if let (Some(path), Some(hash)) = (&args.network_out, srs_hash) {
            let file = NetworkFile {
                name: args.name.clone(),
                chain_id,
                market: deployed.address,
                market_code_hash: deployed.code_hash,
                deploy_block: deployed.block,
                bootstrap: args.bootstrap.clone(),
                circuits: args.circuits.clone(),
                srs: SrsEntry {
                    hash,
                    source: args.srs_source.clone(),
                    dev: args.dev_srs,
                },
            };
            file.write(path)
                .with_context(|| format!("the market is deployed; writing {}", path.display()))?;
            println!("network file: {}", path.display());
        }
        Ok(())
    })
}
