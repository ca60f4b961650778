//! The chain side: anvil as a child process, the market and verifiers deployed,
//! provers staked and clients funded, and what the chain says afterwards (events and
//! the gas of every transaction).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider};
use ethers::signers::{LocalWallet, Signer};
use ethers::types::{Address, BlockNumber, H256, U256};
use provernet_circuits::{Circuit, Prover, ProverConfig, SrsSource};
use provernet_protocol::primitives::from_hex;
use provernet_slashing::bindings::{PROVERMARKET_ABI, ProverMarketEvents};
use provernet_slashing::{Market, MarketParams};

/// The chain id anvil uses, and the only one cheating provers accept.
pub const CHAIN_ID: u64 = 31_337;

/// A signing chain client.
pub type Client = SignerMiddleware<Provider<Http>, LocalWallet>;

/// The market's parameters on a testnet: a 15-block challenge window and a 5-block
/// response window on 1-second blocks, a 1 ETH minimum stake, a 0.1 ETH bond; a slash
/// takes 0.05 ETH per faulty job (30 % of that to the challenger, 20 % to the client), so
/// a prover's stake of 10 ETH covers 200 leaves inside open windows; deadlines of up to
/// 10 minutes, challengeable for 10 minutes after they pass; a deposit withdrawal waits
/// longer than the longest deadline plus a window (700 blocks), so every award signed
/// before it is paid first.
/// The longest proving deadline on a testnet, seconds (`--deadline` is bounded by it).
pub const MAX_DEADLINE_SECS: u64 = 600;

pub fn market_params() -> MarketParams {
    let eth = |n: u64| U256::from(n) * U256::exp10(18);
    MarketParams {
        min_stake: eth(1),
        challenge_window: 15,
        response_window: 5,
        unbonding_delay: 40,
        deposit_withdrawal_delay: 700,
        challenge_bond: eth(1) / 10,
        slash_per_job: eth(1) / 20,
        reward_bps: 3_000,
        refund_bps: 2_000,
        max_deadline: MAX_DEADLINE_SECS,
        deadline_challenge_period: 600,
    }
}

/// What each prover stakes, wei (10 ETH: several slashes before it falls below the
/// minimum).
pub fn prover_stake() -> U256 {
    U256::from(10u64) * U256::exp10(18)
}

/// What each client deposits, wei.
pub fn client_deposit() -> U256 {
    U256::from(10u64) * U256::exp10(18)
}

/// How long a client's reservations last, seconds: longer than any run.
pub const RESERVATION_SECS: u64 = 7 * 24 * 3_600;

/// What each client reserves for each of `provers` provers, wei: an equal share of its
/// deposit, one share left unreserved.
pub fn client_reservation(provers: usize) -> U256 {
    client_deposit() / U256::from(provers + 1)
}

/// Reserves [`client_reservation`] of `market`'s sender's deposit for each of `provers`
/// until `until` (unix seconds).
///
/// # Errors
/// As the market refuses.
pub async fn reserve(
    market: &Market<Client>,
    provers: &[Address],
    until: u64,
) -> Result<(), provernet_slashing::ChainError> {
    for prover in provers {
        market
            .reserve(*prover, client_reservation(provers.len()), until)
            .await?;
    }
    Ok(())
}

/// The latest block's timestamp, unix seconds.
///
/// # Errors
/// When the node cannot be read.
pub async fn now(provider: &Provider<Http>) -> anyhow::Result<u64> {
    let block = provider
        .get_block(BlockNumber::Latest)
        .await?
        .context("no latest block")?;
    Ok(block.timestamp.as_u64())
}

/// Starts anvil on 127.0.0.1:`port` with `accounts` funded accounts, logging to `log`,
/// mining each transaction at once (setup is quick) until [`interval_mining`]. The
/// caller owns the process from here on, so it is stopped whatever happens next.
///
/// # Errors
/// The binary is missing or cannot be started.
pub fn spawn_anvil(binary: &Path, port: u16, accounts: usize, log: &Path) -> anyhow::Result<Child> {
    if !binary.is_file() {
        bail!(
            "anvil not found at {}: run scripts/setup.sh (or pass --anvil PATH)",
            binary.display()
        );
    }
    let out = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
    Command::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--accounts", &accounts.to_string()])
        .args(["--chain-id", &CHAIN_ID.to_string()])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))
}

/// Waits (30 s at most) until `anvil` listens, and returns the private keys of its first
/// `accounts` accounts, in its order.
///
/// # Errors
/// Anvil exits or stays silent (its log's last lines are given: a port in use shows
/// there), or lists too few keys.
pub async fn anvil_keys(
    anvil: &mut Child,
    accounts: usize,
    log: &Path,
) -> anyhow::Result<Vec<[u8; 32]>> {
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains("Listening on") {
            let keys = private_keys(&text);
            if keys.len() < accounts {
                bail!(
                    "anvil listed {} private keys, {accounts} needed (see {})",
                    keys.len(),
                    log.display()
                );
            }
            return Ok(keys);
        }
        if let Some(status) = anvil.try_wait()? {
            bail!(
                "anvil exited ({status}) before listening:\n{}",
                tail(&text, 5)
            );
        }
        if Instant::now() > until {
            bail!("anvil did not start within 30 s:\n{}", tail(&text, 5));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The private keys anvil prints at start, `(i) 0x…` under "Private Keys".
fn private_keys(log: &str) -> Vec<[u8; 32]> {
    let Some(start) = log.find("Private Keys") else {
        return Vec::new();
    };
    log[start..]
        .lines()
        .skip(1)
        .filter_map(|line| {
            let (_, key) = line.trim().split_once(") 0x")?;
            from_hex(key.trim()).and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        })
        .collect()
}

/// The last `n` lines of `text`, indented.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A read-only provider polling every 100 ms.
pub fn provider(endpoint: &str) -> anyhow::Result<Provider<Http>> {
    Ok(Provider::<Http>::try_from(endpoint)?.interval(Duration::from_millis(100)))
}

/// A client signing with `key`.
pub fn client(endpoint: &str, key: &[u8; 32]) -> anyhow::Result<Arc<Client>> {
    let wallet = LocalWallet::from_bytes(key)
        .map_err(|e| anyhow!("a dev key is not a key: {e}"))?
        .with_chain_id(CHAIN_ID);
    Ok(Arc::new(SignerMiddleware::new(provider(endpoint)?, wallet)))
}

/// From now on anvil mines a block every second, so challenge windows pass on their own.
///
/// # Errors
/// The RPC call fails.
pub async fn interval_mining(provider: &Provider<Http>) -> anyhow::Result<()> {
    provider
        .request::<_, ()>("evm_setIntervalMining", [1u64])
        .await
        .context("evm_setIntervalMining")
}

/// A circuit's verifier on chain.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Verifier {
    /// The circuit's name.
    pub circuit: String,
    /// Its id as the market derived it (verifier code hash and proof shape), 0x-hex.
    pub circuit_id: String,
    /// The verifier contract.
    pub address: String,
    /// Gas a valid proof took to verify (execution only, `eth_estimateGas`).
    pub measured_gas: u64,
    /// The cap the market measured and registered.
    pub gas_limit: u64,
    /// Proof length, bytes.
    pub proof_len: usize,
}

/// Compiles (or loads from the key cache) each circuit's verifier, deploys it, measures
/// the gas a valid proof takes, and registers it; the market's id must be the one the
/// nodes derive.
///
/// # Errors
/// Key generation, solc, a deployment, a verifier that rejects a valid proof, or a
/// registration under another id than the nodes compute.
pub async fn deploy_verifiers(
    owner: &Market<Client>,
    circuits: &[Circuit],
    cache_dir: &Path,
    solc: &Path,
) -> anyhow::Result<Vec<Verifier>> {
    let config = ProverConfig {
        solc: solc.to_owned(),
        ..ProverConfig::new(SrsSource::DevInsecure, cache_dir.to_owned())
    };
    let engine = Arc::new(
        tokio::task::spawn_blocking(move || Prover::new(&config))
            .await?
            .context("cannot load the dev SRS")?,
    );
    let mut verifiers = Vec::new();
    for &circuit in circuits {
        let engine = Arc::clone(&engine);
        let compiled = tokio::task::spawn_blocking(move || engine.verifier(circuit))
            .await?
            .with_context(|| format!("the {} verifier", circuit.name()))?;
        let code = provernet_slashing::registration::VerifierCode {
            circuit_id: compiled.circuit_id,
            creation: &compiled.creation,
            runtime: &compiled.runtime,
            sample_inputs: &compiled.sample_inputs,
            sample_proof: &compiled.sample_proof,
        };
        let registered = provernet_slashing::registration::register_verifier(owner, code)
            .await
            .with_context(|| format!("registering the {} verifier", circuit.name()))?;
        verifiers.push(Verifier {
            circuit: circuit.name().to_owned(),
            circuit_id: registered.circuit_id.to_string(),
            address: format!("{:?}", registered.verifier),
            measured_gas: registered.measured_gas,
            gas_limit: registered.gas_limit,
            proof_len: registered.proof_len,
        });
    }
    Ok(verifiers)
}

/// One transaction, as the report counts gas.
#[derive(Clone, Debug)]
pub struct Tx {
    /// Its sender.
    pub from: Address,
    /// The market function called (`deploy` for a creation, `other` for anything else).
    pub function: String,
    /// Gas used.
    pub gas: u64,
    /// Whether it succeeded.
    pub ok: bool,
}

/// A market event with where it was emitted.
#[derive(Clone, Debug)]
pub struct Logged {
    /// The event.
    pub event: ProverMarketEvents,
    /// When the observer first saw it, ms since the run started.
    pub seen_ms: u64,
}

/// Follows the chain from block 0: every market event and every transaction's gas.
pub struct Observer {
    market: Market<Client>,
    provider: Provider<Http>,
    selectors: HashMap<[u8; 4], String>,
    next_block: u64,
    /// Events so far.
    pub events: Vec<Logged>,
    /// Transactions so far.
    pub txs: Vec<Tx>,
}

impl Observer {
    /// An observer of `market`.
    pub fn new(market: Market<Client>, provider: Provider<Http>) -> Self {
        let selectors = PROVERMARKET_ABI
            .functions()
            .map(|f| (f.short_signature(), f.name.clone()))
            .collect();
        Self {
            market,
            provider,
            selectors,
            next_block: 0,
            events: Vec::new(),
            txs: Vec::new(),
        }
    }

    /// Reads the blocks mined since the last call.
    ///
    /// # Errors
    /// An RPC call fails.
    pub async fn poll(&mut self, now_ms: u64) -> anyhow::Result<()> {
        let head = self.provider.get_block_number().await?.as_u64();
        if head < self.next_block {
            return Ok(());
        }
        let events = self
            .market
            .contract()
            .events()
            .from_block(self.next_block)
            .to_block(head)
            .query()
            .await
            .map_err(|e| anyhow!("reading market events: {e}"))?;
        // Kept only once every block has been read, so a failed call never counts an
        // event or a transaction twice (the next poll reads the same blocks again).
        let events: Vec<Logged> = events
            .into_iter()
            .map(|event| Logged {
                event,
                seen_ms: now_ms,
            })
            .collect();
        let mut txs = Vec::new();
        for number in self.next_block..=head {
            let Some(block) = self
                .provider
                .get_block_with_txs(BlockNumber::Number(number.into()))
                .await?
            else {
                continue;
            };
            let receipts = self
                .provider
                .get_block_receipts(BlockNumber::Number(number.into()))
                .await?;
            let gas: HashMap<H256, (u64, bool)> = receipts
                .iter()
                .map(|r| {
                    (
                        r.transaction_hash,
                        (
                            r.gas_used.map_or(0, |g| g.as_u64()),
                            r.status.is_some_and(|s| s.as_u64() == 1),
                        ),
                    )
                })
                .collect();
            for tx in block.transactions {
                let (used, ok) = gas.get(&tx.hash).copied().unwrap_or((0, false));
                let function = match tx.to {
                    None => "deploy".to_owned(),
                    Some(to) if to == self.market.address() => tx
                        .input
                        .get(..4)
                        .and_then(|s| <[u8; 4]>::try_from(s).ok())
                        .and_then(|s| self.selectors.get(&s).cloned())
                        .unwrap_or_else(|| "other".to_owned()),
                    Some(_) => "other".to_owned(),
                };
                txs.push(Tx {
                    from: tx.from,
                    function,
                    gas: used,
                    ok,
                });
            }
        }
        self.events.extend(events);
        self.txs.extend(txs);
        self.next_block = head + 1;
        Ok(())
    }
}

/// An account's balances.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Balances {
    /// Ether, wei.
    pub eth: String,
    /// Stake, wei.
    pub stake: String,
    /// Credits (rewards, refunds, bonds), wei.
    pub credits: String,
    /// Client deposit, wei.
    pub deposit: String,
}

/// `account`'s balances now.
///
/// # Errors
/// An RPC call fails.
pub async fn balances(market: &Market<Client>, account: Address) -> anyhow::Result<Balances> {
    let eth = market.client().get_balance(account, None).await?;
    let (stake, _, _) = market.stake_of(account).await.map_err(|e| anyhow!("{e}"))?;
    let credits = market.credits(account).await.map_err(|e| anyhow!("{e}"))?;
    let deposit = market
        .deposit_of(account)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    Ok(Balances {
        eth: eth.to_string(),
        stake: stake.to_string(),
        credits: credits.to_string(),
        deposit: deposit.to_string(),
    })
}

/// The checkout `provernet` runs from: the working directory or one above it that has
/// `scripts/setup.sh`, else the directory this crate was built from.
pub fn checkout() -> PathBuf {
    if let Ok(cwd) = std::env::current_dir() {
        for dir in cwd.ancestors() {
            if dir.join("scripts/setup.sh").is_file() && dir.join("contracts").is_dir() {
                return dir.to_owned();
            }
        }
    }
    provernet_slashing::compile::checkout()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_private_keys_anvil_prints_are_read_in_order() {
        let log = "Available Accounts\n==================\n\n\
                   (0) 0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266 (10000.000000000000000000 ETH)\n\n\
                   Private Keys\n==================\n\n\
                   (0) 0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80\n\
                   (1) 0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d\n\n\
                   Wallet\n==================\nListening on 127.0.0.1:8545\n";
        let keys = private_keys(log);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0][0], 0xac);
        assert_eq!(keys[1][31], 0x0d);
        assert!(private_keys("no keys here").is_empty());
    }

    #[test]
    fn a_tail_keeps_the_last_lines() {
        assert_eq!(tail("a\nb\nc", 2), "    b\n    c");
        assert_eq!(tail("", 3), "");
    }
}
