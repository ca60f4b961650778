//! A testnet's chain setup through the operator commands: `provernet market deploy`
//! (which writes the network file, `network.toml`, that every node then joins with),
//! `provernet stake register` and `provernet deposit add`, run as an operator runs them.
//! Every testnet run exercises them; their transcripts are in `setup.log`.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use ed25519_dalek::SigningKey;
use ethers::providers::{Http, Provider};
use ethers::types::{Address, U256};
use provernet_slashing::Market;

use crate::chain;
use crate::procs::{NodeSpec, Role};

/// The operator commands of the `provernet` binary at `exe`, on the chain at `rpc`.
pub struct Operator<'a> {
    /// The `provernet` binary.
    pub exe: &'a Path,
    /// The chain's RPC.
    pub rpc: &'a str,
    /// The key cache (the dev SRS's hash is read from it).
    pub cache_dir: &'a Path,
    /// Each command's transcript is appended here.
    pub log: PathBuf,
}

impl Operator<'_> {
    /// Runs `provernet ARGS --rpc-url RPC` on the blocking pool (a stop signal is still
    /// heard meanwhile); its stdout, or an error with its stderr.
    async fn run(&self, args: Vec<String>) -> anyhow::Result<String> {
        let mut command = Command::new(self.exe);
        command
            .args(&args)
            .arg("--rpc-url")
            .arg(self.rpc)
            .env("PROVERNET_CACHE_DIR", self.cache_dir)
            .env_remove("PROVERNET_CONFIG")
            .env_remove("PROVERNET_ETH_KEY")
            .env_remove("PROVERNET_MARKET")
            .env_remove("PROVERNET_NETWORK");
        let exe = self.exe.display().to_string();
        let output = tokio::task::spawn_blocking(move || command.output())
            .await?
            .with_context(|| format!("cannot run {exe}"))?;
        let (stdout, stderr) = (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        );
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        writeln!(log, "$ provernet {}\n{stdout}{stderr}", args.join(" "))?;
        if !output.status.success() {
            bail!("`provernet {}` failed: {}", args.join(" "), stderr.trim());
        }
        Ok(stdout)
    }

    /// `provernet market deploy` with the testnet's parameters from the account of `key`,
    /// writing the network file at `network` (the dev SRS, `first` as the bootstrap peer,
    /// `circuits`): the market.
    ///
    /// # Errors
    /// The command failed, or printed no market.
    pub async fn deploy_market(
        &self,
        key: &Path,
        first: &NodeSpec,
        circuits: &[String],
        network: &Path,
    ) -> anyhow::Result<Address> {
        let params = chain::market_params();
        let bootstrap = format!(
            "/ip4/127.0.0.1/tcp/{}/p2p/{}",
            first.p2p_port,
            peer_id(&first.identity)
        );
        let mut args: Vec<String> = [
            "market",
            "deploy",
            "--name",
            "provernet-testnet",
            "--dev-srs",
            "--srs-source",
            "the dev SRS (INSECURE, local chains only)",
        ]
        .map(str::to_owned)
        .into();
        args.extend(["--bootstrap".to_owned(), bootstrap]);
        for (flag, value) in [
            ("--eth-key-file", key.display().to_string()),
            ("--network-out", network.display().to_string()),
            ("--min-stake", params.min_stake.to_string()),
            ("--challenge-window", params.challenge_window.to_string()),
            ("--response-window", params.response_window.to_string()),
            ("--unbonding-delay", params.unbonding_delay.to_string()),
            (
                "--deposit-withdrawal-delay",
                params.deposit_withdrawal_delay.to_string(),
            ),
            ("--challenge-bond", params.challenge_bond.to_string()),
            ("--slash-per-job", params.slash_per_job.to_string()),
            ("--reward-bps", params.reward_bps.to_string()),
            ("--refund-bps", params.refund_bps.to_string()),
            ("--max-deadline", params.max_deadline.to_string()),
            (
                "--deadline-challenge-period",
                params.deadline_challenge_period.to_string(),
            ),
        ] {
            args.extend([flag.to_owned(), value]);
        }
        for circuit in circuits {
            args.extend(["--circuit".to_owned(), circuit.clone()]);
        }
        let out = self.run(args).await?;
        out.lines()
            .find_map(|line| line.strip_prefix("market: "))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|address| address.parse().ok())
            .context("`provernet market deploy` printed no market address")
    }

    /// `provernet stake register AMOUNT` for the prover `spec`, with its identity.
    ///
    /// # Errors
    /// The command failed.
    pub async fn stake(&self, spec: &NodeSpec, network: &Path, amount: U256) -> anyhow::Result<()> {
        self.on_network(spec, network, &["stake", "register", &amount.to_string()])
            .await
    }

    /// `provernet deposit add AMOUNT` for the client `spec`.
    ///
    /// # Errors
    /// The command failed.
    pub async fn deposit(
        &self,
        spec: &NodeSpec,
        network: &Path,
        amount: U256,
    ) -> anyhow::Result<()> {
        self.on_network(spec, network, &["deposit", "add", &amount.to_string()])
            .await
    }

    async fn on_network(
        &self,
        spec: &NodeSpec,
        network: &Path,
        command: &[&str],
    ) -> anyhow::Result<()> {
        let mut args: Vec<String> = command.iter().map(|a| (*a).to_owned()).collect();
        for (flag, value) in [
            ("--network", network.to_path_buf()),
            ("--data-dir", spec.data_dir()),
            ("--eth-key-file", spec.dir.join("eth.key")),
        ] {
            args.extend([flag.to_owned(), value.display().to_string()]);
        }
        args.extend(["--confirmations".to_owned(), "0".to_owned()]);
        self.run(args).await.map(|_| ())
    }
}

/// Stakes each prover of `specs` and funds each client with the operator commands, then
/// reserves each client's share for every prover through the market's binding (no
/// command reserves yet): the provers' addresses.
///
/// # Errors
/// A command or a reservation failed.
pub async fn stake_and_fund(
    operator: &Operator<'_>,
    specs: &[NodeSpec],
    network: &Path,
    provider: &Provider<Http>,
    market: Address,
) -> anyhow::Result<Vec<Address>> {
    let provers = specs
        .iter()
        .filter(|s| s.role == Role::Prover)
        .map(|s| crate::run::address_of(&s.eth_key))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let reserved_until = chain::now(provider).await? + chain::RESERVATION_SECS;
    for spec in specs {
        match spec.role {
            Role::Prover => operator.stake(spec, network, chain::prover_stake()).await,
            Role::Client => {
                operator
                    .deposit(spec, network, chain::client_deposit())
                    .await
            }
            Role::Watchtower | Role::Relay => Ok(()),
        }
        .with_context(|| format!("setting up {} on chain", spec.name))?;
        if spec.role == Role::Client {
            let client = chain::client(operator.rpc, &spec.eth_key)?;
            chain::reserve(&Market::at(market, client), &provers, reserved_until)
                .await
                .map_err(|e| anyhow::anyhow!("reservations of {}: {e}", spec.name))?;
        }
    }
    Ok(provers)
}

/// The libp2p peer id of an ed25519 identity: base58 of the identity multihash of its
/// protobuf-encoded public key (what a node prints as `…/p2p/<peer id>`).
pub fn peer_id(identity: &SigningKey) -> String {
    peer_id_of(identity.verifying_key().as_bytes())
}

fn peer_id_of(public: &[u8; 32]) -> String {
    // multihash: identity (0x00), 36 bytes; PublicKey { Type: Ed25519 (1), Data: 32 bytes }.
    let mut bytes = vec![0x00, 36, 0x08, 0x01, 0x12, 32];
    bytes.extend_from_slice(public);
    base58(&bytes)
}

/// Bitcoin's base58 alphabet, as multiformats' base58btc.
fn base58(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    let mut digits: Vec<u8> = Vec::new();
    for &byte in bytes {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|b| **b == 0).count();
    std::iter::repeat_n('1', zeros)
        .chain(
            digits
                .iter()
                .rev()
                .map(|d| char::from(ALPHABET[usize::from(*d)])),
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_are_libp2ps() {
        // A pair a provernet node printed (libp2p's own derivation).
        let public = "f7b78681a7b2ed1c91699d613f7d1bcc543d1710131600610c1d9a2c80882929";
        let public: [u8; 32] = provernet_protocol::primitives::from_hex(public)
            .and_then(|b| b.try_into().ok())
            .expect("32 bytes");
        assert_eq!(
            peer_id_of(&public),
            "12D3KooWSVMBT2Cton5WqWuHTfLPbWL51Upu9ztFEi9ydSV7UwrY"
        );
        assert_eq!(base58(&[0, 0, 1]), "112");
    }
}
