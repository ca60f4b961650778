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
    /// The network file for a market deployed as said.
    fn network_file(
        &self,
        chain_id: u64,
        market: ethers::types::Address,
        market_code_hash: H256,
        deploy_block: u64,
        (srs_hash, insecure): (H256, bool),
    ) -> NetworkFile {
        NetworkFile {
            name: self.name.clone(),
            chain_id,
            market,
            market_code_hash,
            deploy_block,
            bootstrap: self.bootstrap.clone(),
            circuits: self.circuits.clone(),
            srs: SrsEntry {
                hash: srs_hash,
                source: self.srs_source.clone(),
                dev: insecure,
            },
        }
    }

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

    /// The SRS's hash and whether it is the insecure dev SRS, before anything is sent: a
    /// missing or bad file stops the command.
    fn srs_hash(&self, config: &NodeConfig) -> anyhow::Result<Option<(H256, bool)>> {
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
        Ok(Some((H256(srs.fingerprint().0), srs.is_insecure())))
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
    if let (Some(path), Some(hash)) = (&args.network_out, srs_hash) {
        // The file as it will be, checked now (a placeholder market): a bootstrap address
        // or a name it cannot hold stops the command before anything is sent.
        // Writable now, or the deployment would end without its file.
        if path.is_dir() {
            bail!(
                "--network-out {} is a directory; nothing sent",
                path.display()
            );
        }
        let probe = path.with_extension(format!("probe.{}", std::process::id()));
        std::fs::write(&probe, b"")
            .and_then(|()| std::fs::remove_file(&probe))
            .with_context(|| {
                format!(
                    "--network-out {}: cannot write there; nothing sent",
                    path.display()
                )
            })?;
        args.network_file(
            provernet_node::config::LOCAL_CHAIN_ID,
            ethers::types::Address::repeat_byte(1),
            H256::zero(),
            0,
            hash,
        )
        .checked_toml()
        .map_err(|e| anyhow::anyhow!("the network file would be refused ({e}); nothing sent"))?;
    }
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
        // The dev SRS: asked for, or its powers given as --srs under any name.
        let insecure = args.dev_srs || srs_hash.is_some_and(|(_, insecure)| insecure);
        if insecure && chain_id != provernet_node::config::LOCAL_CHAIN_ID {
            bail!(
                "the SRS is the INSECURE dev SRS, for the local chain only; this chain's id is \
                 {chain_id}: nothing sent"
            );
        }
        let Some(deployed) = deploy::deploy(client, params, confirmations, dry_run).await? else {
            if args.network_out.is_some() {
                println!("dry run: no network file written");
            }
            return Ok(());
        };
        println!("code hash: {:?}", deployed.code_hash);
        if let (Some(path), Some(hash)) = (&args.network_out, srs_hash) {
            let file = args.network_file(
                chain_id,
                deployed.address,
                deployed.code_hash,
                deployed.block,
                hash,
            );
            file.write(path)
                .with_context(|| format!("the market is deployed; writing {}", path.display()))?;
            println!("network file: {}", path.display());
        }
        Ok(())
    })
}
