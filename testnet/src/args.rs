//! The command line of `provernet testnet`.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

/// `provernet testnet …`.
#[derive(Debug, Subcommand)]
pub enum TestnetCommand {
    /// Start anvil, deploy, start the nodes, drive a workload, write a report, and stop
    /// everything again (unless --keep).
    Up(Box<UpArgs>),
    /// Stop every process a `testnet up` in DIR started (by the pids it recorded).
    Down(DownArgs),
    /// Show the nodes of the testnet in DIR and their jobs, from their HTTP APIs.
    Status(StatusArgs),
    /// The market under load: measure the provers' capacity, then run the same testnet
    /// at shares of it and print throughput, latency beside an M/D/c queue's, re-auctions,
    /// failures and honest slashes per level.
    Load(crate::load::LoadArgs),
}

/// The default testnet directory.
pub const DEFAULT_DIR: &str = "testnet-run";

/// `provernet testnet up`.
#[derive(Debug, Clone, Args)]
pub struct UpArgs {
    /// The testnet's directory: configs, data, logs and the report go here. It is
    /// emptied first if it holds an earlier testnet.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
    /// Prover nodes.
    #[arg(long, default_value_t = 3)]
    pub provers: usize,
    /// Watchtower nodes.
    #[arg(long, default_value_t = 2)]
    pub watchtowers: usize,
    /// Client nodes (jobs are spread over them in turn).
    #[arg(long, default_value_t = 1)]
    pub clients: usize,
    /// Networking-only nodes: they validate and forward gossip and take no other role.
    #[arg(long, default_value_t = 0)]
    pub relays: usize,
    /// Jobs to submit.
    #[arg(long, default_value_t = 30)]
    pub jobs: usize,
    /// Submit for this many seconds instead of a fixed number of jobs.
    #[arg(long)]
    pub duration: Option<u64>,
    /// Jobs submitted per second.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// How submissions are spaced: `uniform` (every 1/rate s) or `poisson` (independent
    /// arrivals, as many users' jobs come: with --jobs, that many at times drawn
    /// uniformly over jobs/rate seconds, a Poisson process given its count, so the rate
    /// offered is exactly the one asked; with --duration, exponential gaps).
    #[arg(long, value_enum, default_value_t = Arrivals::Uniform)]
    pub arrivals: Arrivals,
    /// The circuit mix, picked uniformly per job (comma-separated circuit names).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "poseidon-chain-12,model-4-8r-3-s8"
    )]
    pub circuits: Vec<String>,
    /// A model package (`provernet model import`): its circuit joins the mix, and its
    /// jobs prove inferences of this model (every node knows its circuit).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The model jobs' inputs, `{"inputs": [[...], ...]}` (as a calibration file), taken
    /// in turn [default: zeros, the first value differing per job].
    #[arg(long, requires = "model")]
    pub model_inputs: Option<PathBuf>,
    /// The lowest maximum price a job offers, wei.
    #[arg(long, default_value_t = 1_000_000_000_000_000)]
    pub price_min: u128,
    /// The highest maximum price a job offers, wei (each job draws uniformly between).
    #[arg(long, default_value_t = 2_000_000_000_000_000)]
    pub price_max: u128,
    /// Seconds from submission by which a job's proof must be committed.
    #[arg(long, default_value_t = 60)]
    pub deadline: u64,
    /// How many provers cheat (the last ones started).
    #[arg(long, default_value_t = 1)]
    pub cheaters: usize,
    /// How they cheat, one mode per cheater in turn: invalid (commit a corrupted
    /// proof), withhold (commit, never show the proof), late (accept, never prove),
    /// equivocate (commit two leaves for one job).
    #[arg(long, value_delimiter = ',', default_value = "invalid")]
    pub cheat: Vec<CheatKind>,
    /// The share of its jobs a cheater cheats on (0..=1).
    #[arg(long, default_value_t = 0.3)]
    pub cheat_rate: f64,
    /// Kill the first honest prover with SIGKILL once this many jobs are verified,
    /// and start it again on the same data dir.
    #[arg(long)]
    pub crash_prover_after: Option<usize>,
    /// Kill this many times with SIGKILL, at random moments of the workload, the first
    /// honest prover and the last watchtower in turn, restarting each at once on its
    /// data dir; the report then checks that nothing was committed twice, no claim was
    /// lost and no challenge was lost or repeated.
    #[arg(long, default_value_t = 0)]
    pub kills: usize,
    /// Cut one node off from every peer for this many seconds (through its dev API's
    /// connection filter: connections closed and refused both ways, the chain still
    /// reachable), then let it rejoin.
    #[arg(long)]
    pub partition: Option<u64>,
    /// Seconds into the workload when the partition starts.
    #[arg(long, default_value_t = 10)]
    pub partition_at: u64,
    /// The node to cut off; by default the last honest prover that is not crashed.
    #[arg(long)]
    pub partition_node: Option<String>,
    /// Make the first honest prover's proofs take --slowdown times as long from this many
    /// seconds into the workload (through its dev API; a node refuses that API off the dev
    /// chain), as a machine that slows down.
    #[arg(long)]
    pub slow_prover_at: Option<u64>,
    /// How much slower, with --slow-prover-at (1..=10).
    #[arg(long, default_value_t = 2.0, requires = "slow_prover_at")]
    pub slowdown: f64,
    /// The probability that a watchtower audits a committed job (0..=1). The default
    /// audits every job, so every injected fault is caught; lower it to watch sampling
    /// miss some.
    #[arg(long, default_value_t = 1.0)]
    pub sample_rate: f64,
    /// First TCP port to use (anvil; then each node's p2p and API ports in turn).
    /// 0 picks free ports.
    #[arg(long, default_value_t = 0)]
    pub base_port: u16,
    /// Seconds to wait, after the last job is submitted, for everything to settle
    /// before the run is reported as timed out.
    #[arg(long, default_value_t = 150)]
    pub timeout: u64,
    /// Leave anvil and the nodes running after the report (stop them with
    /// `provernet testnet down`).
    #[arg(long)]
    pub keep: bool,
    /// After the run, prove every verified job's witness again through the library alone
    /// (not through a node; the nodes are idle but still running), three times each, and
    /// report e2e ÷ the median per job.
    #[arg(long)]
    pub raw_prove: bool,
    /// Record the run's figures for `provernet bench report` under this label (in the
    /// file `PROVERNET_BENCH_FIGURES` names; printed either way).
    #[arg(long)]
    pub bench: Option<String>,
    /// Seed of the workload's random choices (circuits, prices).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The anvil binary; by default the one `scripts/setup.sh` installs under
    /// node_modules/ of the checkout.
    #[arg(long, env = "PROVERNET_ANVIL")]
    pub anvil: Option<PathBuf>,
    /// The solc used to compile verifiers; by default the checkout's `scripts/solc`.
    #[arg(long, env = "PROVERNET_SOLC")]
    pub solc: Option<PathBuf>,
    /// Where proving keys, the dev SRS and compiled verifiers are cached.
    #[arg(long, env = "PROVERNET_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// How a workload's submissions are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arrivals {
    /// One every 1/rate seconds.
    Uniform,
    /// Exponential gaps of mean 1/rate seconds.
    Poisson,
}

/// A way to cheat, as `--cheat` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ValueEnum)]
pub enum CheatKind {
    /// Commit (and deliver) a corrupted proof: an invalid-proof slash.
    Invalid,
    /// Commit a leaf and never show its proof: a withheld-proof slash.
    Withhold,
    /// Accept a job and never prove it: a missed-deadline slash.
    Late,
    /// Commit two different leaves for one job: an equivocation slash.
    Equivocate,
}

impl CheatKind {
    /// The node's `[prover.cheat] mode`.
    pub fn node_mode(self) -> &'static str {
        match self {
            Self::Invalid => "invalid-proof",
            Self::Withhold => "withhold",
            Self::Late => "miss-deadline",
            Self::Equivocate => "equivocate",
        }
    }

    /// The kind for a node's mode name (as its cheat ledger writes it).
    pub fn from_node_mode(mode: &str) -> Option<Self> {
        [Self::Invalid, Self::Withhold, Self::Late, Self::Equivocate]
            .into_iter()
            .find(|k| k.node_mode() == mode)
    }

    /// The contract's `Fault` a slash for this cheat carries.
    pub fn fault(self) -> u8 {
        match self {
            Self::Invalid => 1,
            Self::Withhold => 2,
            Self::Late => 3,
            Self::Equivocate => 4,
        }
    }

    /// The report's name of the fault.
    pub fn fault_name(self) -> &'static str {
        provernet_slashing::fault_name(self.fault())
    }
}

/// `provernet testnet down`.
#[derive(Debug, Clone, Args)]
pub struct DownArgs {
    /// The testnet's directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

/// `provernet testnet status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The testnet's directory.
    #[arg(long, default_value = DEFAULT_DIR)]
    pub dir: PathBuf,
}

impl UpArgs {
    /// The nodes' names, in start order's roles: `watchtower-1…`, `prover-1…`,
    /// `client-1…`, `relay-1…`.
    pub fn node_names(&self) -> Vec<String> {
        [
            ("watchtower", self.watchtowers),
            ("prover", self.provers),
            ("client", self.clients),
            ("relay", self.relays),
        ]
        .into_iter()
        .flat_map(|(role, n)| (1..=n).map(move |i| format!("{role}-{i}")))
        .collect()
    }

    /// Refuses flags that cannot make a testnet, naming the flag.
    ///
    /// # Errors
    /// The first flag that is wrong, and why.
    pub fn check(&self) -> anyhow::Result<()> {
        use anyhow::bail;
        if self.provers == 0 {
            bail!("--provers must be at least 1");
        }
        if self.clients == 0 {
            bail!("--clients must be at least 1");
        }
        if self.cheaters > self.provers {
            bail!(
                "--cheaters {} is more than --provers {}",
                self.cheaters,
                self.provers
            );
        }
        if self.cheaters > 0 && self.cheaters == self.provers {
            bail!("--cheaters must leave at least one honest prover to finish the jobs");
        }
        if self.cheaters > 0 && self.cheat.is_empty() {
            bail!("--cheat needs at least one mode");
        }
        if self.cheat.len() > self.cheaters.max(1) && self.cheaters > 0 {
            bail!(
                "--cheat lists {} modes but --cheaters is {}: each cheater takes one mode",
                self.cheat.len(),
                self.cheaters
            );
        }
        if !(0.0..=1.0).contains(&self.cheat_rate) {
            bail!("--cheat-rate must be within 0..=1");
        }
        if !(0.0..=1.0).contains(&self.sample_rate) {
            bail!("--sample-rate must be within 0..=1");
        }
        if !(self.rate > 0.0 && self.rate <= 100.0) {
            bail!("--rate must be above 0 and at most 100 jobs per second");
        }
        if !(1.0..=10.0).contains(&self.slowdown) {
            bail!("--slowdown must be within 1..=10");
        }
        if self.slow_prover_at.is_some() && self.provers == self.cheaters {
            bail!("--slow-prover-at needs an honest prover to slow");
        }
        if self.slow_prover_at.is_some() && (self.kills > 0 || self.crash_prover_after.is_some()) {
            bail!(
                "--slow-prover-at slows the prover that --kills and --crash-prover-after \
                 restart, and a restart undoes it: use one or the other"
            );
        }
        if self.duration.is_none() && self.jobs == 0 {
            bail!("--jobs must be at least 1 (or give --duration)");
        }
        if self.duration == Some(0) {
            bail!("--duration must be at least 1 second");
        }
        if self.price_min == 0 || self.price_min > self.price_max {
            bail!("--price-min must be above 0 and at most --price-max");
        }
        if self.deadline < 10 || self.deadline > crate::chain::MAX_DEADLINE_SECS {
            bail!(
                "--deadline must be between 10 and {} seconds (the testnet market's maxDeadline)",
                crate::chain::MAX_DEADLINE_SECS
            );
        }
        if self.circuits.is_empty() {
            bail!("--circuits needs at least one circuit");
        }
        for name in &self.circuits {
            if name.parse::<provernet_circuits::Circuit>().is_err() {
                bail!(
                    "--circuits: unknown circuit `{name}`; known: {} and imported models' \
                     (model-…, or give --model)",
                    provernet_circuits::Circuit::ALL
                        .map(provernet_circuits::Circuit::name)
                        .join(", ")
                );
            }
        }
        if self.crash_prover_after.is_some() && self.provers - self.cheaters < 2 {
            bail!(
                "--crash-prover-after needs two honest provers (one keeps working while the \
                 other restarts)"
            );
        }
        if self.partition.is_some_and(|secs| secs == 0 || secs > 3_600) {
            bail!("--partition must be within 1..=3600 seconds");
        }
        if let Some(name) = &self.partition_node {
            if self.partition.is_none() {
                bail!("--partition-node needs --partition");
            }
            let names = self.node_names();
            if !names.contains(name) {
                bail!(
                    "--partition-node {name} is not a node of this testnet (nodes: {})",
                    names.join(", ")
                );
            }
        }
        if self.kills > 0 && (self.provers - self.cheaters < 2 || self.watchtowers < 2) {
            bail!(
                "--kills needs two honest provers and two watchtowers (one of each is killed \
                 in turn while the others keep working; the first watchtower is every node's \
                 bootstrap peer)"
            );
        }
        if self.bench.as_ref().is_some_and(|l| {
            l.is_empty() || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }) {
            bail!("--bench takes a label of letters, digits and _");
        }
        let nodes = self.provers + self.watchtowers + self.clients + self.relays;
        if self.base_port != 0 && usize::from(self.base_port) + 2 * nodes + 1 > 65_535 {
            bail!("--base-port {} leaves too few ports", self.base_port);
        }
        Ok(())
    }
}

/// `provernet testnet up` with `flags`, parsed as its command line would be (the
/// defaults and the environment included).
///
/// # Errors
/// Flags the command line would refuse.
pub(crate) fn parse_up(flags: &[&str]) -> anyhow::Result<UpArgs> {
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: TestnetCommand,
    }
    let mut argv = vec!["provernet", "up"];
    argv.extend_from_slice(flags);
    match Cli::try_parse_from(argv)?.command {
        TestnetCommand::Up(args) => Ok(*args),
        other => anyhow::bail!("not `up`: {other:?}"),
    }
}

/// [`parse_up`], for tests.
#[cfg(test)]
pub(crate) fn up(flags: &[&str]) -> UpArgs {
    parse_up(flags).expect("parses")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_make_a_testnet_of_six_nodes_with_one_cheater() {
        let args = up(&[]);
        args.check().expect("defaults are valid");
        assert_eq!(
            (args.provers, args.watchtowers, args.clients, args.jobs),
            (3, 2, 1, 30)
        );
        assert_eq!(
            (args.cheaters, args.cheat.as_slice()),
            (1, &[CheatKind::Invalid][..])
        );
    }

    #[test]
    fn each_cheat_mode_maps_to_the_node_mode_and_the_contract_fault() {
        for (kind, mode, fault, name) in [
            (CheatKind::Invalid, "invalid-proof", 1, "invalid_proof"),
            (CheatKind::Withhold, "withhold", 2, "withheld_proof"),
            (CheatKind::Late, "miss-deadline", 3, "missed_deadline"),
            (CheatKind::Equivocate, "equivocate", 4, "equivocation"),
        ] {
            assert_eq!(kind.node_mode(), mode);
            assert_eq!(CheatKind::from_node_mode(mode), Some(kind));
            assert_eq!((kind.fault(), kind.fault_name()), (fault, name));
        }
        assert_eq!(CheatKind::from_node_mode("lazy"), None);
    }

    #[test]
    fn flags_out_of_range_are_refused_by_name() {
        for (flags, needle) in [
            (&["--provers", "0"][..], "--provers"),
            (&["--clients", "0"], "--clients"),
            (&["--cheat-rate", "1.5"], "--cheat-rate"),
            (&["--sample-rate=-0.1"], "--sample-rate"),
            (&["--rate", "0"], "--rate"),
            (&["--price-min", "5", "--price-max", "4"], "--price-min"),
            (&["--deadline", "5"], "--deadline"),
            (&["--deadline", "601"], "--deadline"),
            (&["--partition", "0"], "--partition"),
            (&["--jobs", "0"], "--jobs"),
            (&["--base-port", "65530"], "--base-port"),
            (
                &["--partition-node", "prover-1"],
                "--partition-node needs --partition",
            ),
            (
                &["--partition", "5", "--partition-node", "prover-9"],
                "--partition-node prover-9 is not a node",
            ),
            (&["--kills", "2", "--watchtowers", "1"], "--kills needs"),
            (&["--kills", "2", "--provers", "2"], "--kills needs"),
            (&["--bench", "a b"], "--bench takes a label"),
            (
                &["--slow-prover-at", "5", "--slowdown", "11"],
                "--slowdown must be within",
            ),
            (
                &["--slow-prover-at", "5", "--crash-prover-after", "3"],
                "a restart undoes it",
            ),
            (
                &[
                    "--partition",
                    "5",
                    "--partition-node",
                    "relay-2",
                    "--relays",
                    "1",
                ],
                "--partition-node relay-2 is not a node",
            ),
        ] {
            let error = up(flags).check().expect_err("refused").to_string();
            assert!(error.contains(needle), "{flags:?}: {error}");
        }
    }
}
