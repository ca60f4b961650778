//! The chain side of the operator commands (`provernet stake|deposit|credits|market`): the
//! account and the market from the node's own configuration, each call checked before it
//! is sent (`eth_call`, the account's balance), its hash printed, its receipt awaited with
//! confirmations, and the market's refusals turned into sentences ([`advice()`]). Amounts
//! as operators write them: [`amount`]. Not the node's transaction queue: a command sends
//! once, with the chain's fee estimate, and waits (no fee bump, no re-broadcast).

pub mod advice;
pub mod amount;
pub mod deploy;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use ethers::abi::Detokenize;
use ethers::contract::{ContractCall, ContractError};
use ethers::middleware::SignerMiddleware;
use ethers::providers::{Http, Middleware, Provider};
use ethers::types::{Address, BlockNumber, TransactionReceipt, U256};
use provernet_slashing::bindings::{ProverMarket, ProverMarketErrors};

use crate::config::NodeConfig;
use crate::service::ChainClient;
use advice::{Action, advice};

/// An account acting on a market, as the node with the same configuration would.
pub struct Operator {
    /// The market's contract, through the account's signer.
    pub market: ProverMarket<ChainClient>,
    /// The chain client.
    pub client: Arc<ChainClient>,
    /// The account's address.
    pub account: Address,
    /// The chain's id.
    pub chain_id: u64,
    /// Blocks on top of a transaction's before it is reported done (0: at its receipt).
    pub confirmations: u64,
    /// Check and show each call, send nothing.
    pub dry_run: bool,
}

impl Operator {
    /// Connects as `config` says (`chain.rpc_url`, `chain.market`, the key from
    /// `chain.key_file` or `chain.key_env`): the chain must answer and the address must
    /// hold a `ProverMarket`.
    ///
    /// # Errors
    /// A sentence naming the setting that is wrong.
    pub async fn connect(
        config: &NodeConfig,
        confirmations: u64,
        dry_run: bool,
    ) -> anyhow::Result<Self> {
        if confirmations > MAX_CONFIRMATIONS {
            bail!(
                "{confirmations} confirmations (--confirmations, else chain.confirmations): at \
                 most {MAX_CONFIRMATIONS}"
            );
        }
        let (client, chain_id) = signing_client(
            &config.chain.rpc_url,
            config.chain.key_file.as_deref(),
            &config.chain.key_env,
            Duration::from_millis(config.chain.poll_interval_ms.max(10)),
        )
        .await?;
        let account = client.address();
        let address = config.market_address()?;
        let code = client
            .get_code(address, None)
            .await
            .with_context(|| format!("cannot read the code at {address:?}"))?;
        if code.is_empty() {
            bail!(
                "no contract at the market address {address:?} on chain {chain_id}: check \
                 chain.market (--market) and chain.rpc_url (--rpc-url)"
            );
        }
        // Joined from a network file: this chain and this market are the network's, before
        // any stake or deposit is sent to it.
        if let Some(network) = &config.joined {
            crate::network_file::check_chain(network, chain_id, &code)?;
        }
        let market = ProverMarket::new(address, Arc::clone(&client));
        market.min_stake().call().await.map_err(|e| match e {
            ContractError::ProviderError { .. } | ContractError::MiddlewareError { .. }
                if !e.is_revert() =>
            {
                anyhow!("cannot read the market at {address:?}: {e}")
            }
            _ => anyhow!(
                "the contract at {address:?} on chain {chain_id} does not answer minStake() \
                 as a ProverMarket does: check chain.market (--market)"
            ),
        })?;
        Ok(Self {
            market,
            client,
            account,
            chain_id,
            confirmations,
            dry_run,
        })
    }

    /// Shows `call`, checks it (the account can pay its value, `eth_call` accepts it, the
    /// account can pay its gas); with `dry_run` stops there. Else sends it, prints its
    /// hash, and waits for its receipt and the confirmations. `Ok(None)`: a dry run.
    ///
    /// The nonce is the account's next after its pending transactions (a running node's on
    /// the same account among them), which it then waits behind.
    ///
    /// # Errors
    /// Nothing sent: a refusal as [`advice()`] words it, too little ether, the chain
    /// unreachable. Maybe sent: the send's answer lost. Sent: no receipt, a receipt that
    /// reports a revert, or a reorg that took it off the chain.
    pub async fn send<D: Detokenize>(
        &self,
        action: Action,
        mut call: ContractCall<ChainClient, D>,
    ) -> anyhow::Result<Option<TransactionReceipt>> {
        let value = call.tx.value().copied().unwrap_or_default();
        println!(
            "call: {} on the market {:?} from {:?}, value {}",
            call.function.signature(),
            self.market.address(),
            self.account,
            amount::format(value)
        );
        if let Some(data) = call.calldata() {
            println!("calldata: {data}");
        }
        let balance = self.balance().await?;
        let short = |needed: U256| {
            anyhow!(
                "the account {:?} holds {} and the call needs about {} (value and gas): fund \
                 it first; nothing was sent",
                self.account,
                amount::format(balance),
                amount::format(needed)
            )
        };
        if balance < value {
            return Err(short(value));
        }
        call.call().await.map_err(|e| refusal(action, e))?;
        let gas = call.estimate_gas().await.map_err(|e| refusal(action, e))?;
        let price = self
            .client
            .get_gas_price()
            .await
            .context("cannot read the gas price")?;
        let needed = value.saturating_add(gas.saturating_mul(price));
        println!("eth_call: accepted; about {gas} gas at {price} wei a gas");
        if balance < needed {
            return Err(short(needed));
        }
        let (latest, pending) = (
            self.nonce(BlockNumber::Latest).await?,
            self.nonce(BlockNumber::Pending).await?,
        );
        if pending > latest {
            println!(
                "note: the account has {} transaction(s) pending (a node on this account?): \
                 this one is sent after them, with nonce {pending}",
                pending - latest
            );
        }
        if self.dry_run {
            println!("dry run: nothing sent");
            return Ok(None);
        }
        call.tx.set_nonce(pending);
        let pending = match call.send().await {
            Ok(pending) => pending,
            Err(e) if e.is_revert() => return Err(refusal(action, e)),
            Err(
                e @ (ContractError::ProviderError { .. } | ContractError::MiddlewareError { .. }),
            ) => {
                bail!(
                    "the send failed ({e}): the transaction may have reached the chain; look \
                     at the account's transactions (nonce {pending}) before running the \
                     command again"
                )
            }
            Err(e) => return Err(refusal(action, e)),
        };
        let tx = pending.tx_hash();
        println!("sent: transaction {tx:?}");
        let receipt = pending
            .await
            .with_context(|| format!("waiting for the receipt of {tx:?}"))?
            .ok_or_else(|| {
                anyhow!(
                    "the node no longer knows transaction {tx:?}: look it up (and the account's \
                     nonce) before running the command again, which would send it twice"
                )
            })?;
        let block = receipt.block_number.unwrap_or_default().as_u64();
        if receipt.status != Some(1u64.into()) {
            bail!(
                "transaction {tx:?} reverted in block {block}: the chain changed between the \
                 check and the inclusion; run the command again"
            );
        }
        println!(
            "mined: block {block}, gas used {}",
            receipt.gas_used.unwrap_or_default()
        );
        self.confirm(tx, block).await.with_context(|| {
            format!(
                "transaction {tx:?} was mined in block {block}: look it up before running the \
                 command again, which would send it twice"
            )
        })?;
        if self.confirmations > 0 {
            println!("confirmed: {} block(s) on top", self.confirmations);
        }
        Ok(Some(receipt))
    }

    /// Waits for the confirmations on top of `block`, then checks `tx` is still there.
    async fn confirm(&self, tx: ethers::types::H256, block: u64) -> anyhow::Result<()> {
        confirm(&self.client, self.confirmations, tx, block).await
    }

    async fn nonce(&self, at: BlockNumber) -> anyhow::Result<U256> {
        self.client
            .get_transaction_count(self.account, Some(at.into()))
            .await
            .context("cannot read the account's nonce")
    }

    /// The account's balance.
    ///
    /// # Errors
    /// The chain unreachable.
    pub async fn balance(&self) -> anyhow::Result<U256> {
        self.client
            .get_balance(self.account, None)
            .await
            .context("cannot read the account's balance")
    }

    /// The latest block's number and timestamp.
    ///
    /// # Errors
    /// The chain unreachable.
    pub async fn head(&self) -> anyhow::Result<(u64, u64)> {
        head(&self.client).await
    }
}

/// The latest block's number and timestamp.
///
/// # Errors
/// The chain unreachable.
pub async fn head(client: &ChainClient) -> anyhow::Result<(u64, u64)> {
    let block = client
        .get_block(BlockNumber::Latest)
        .await
        .context("cannot read the latest block")?
        .ok_or_else(|| anyhow!("the chain has no latest block"))?;
    Ok((
        block.number.unwrap_or_default().as_u64(),
        block.timestamp.low_u64(),
    ))
}

/// Waits until `confirmations` blocks are on top of `block`, then checks that `tx` is
/// still in it (a reorg took it off otherwise).
///
/// # Errors
/// The chain unreachable, or `tx` no longer in `block`.
pub async fn confirm(
    client: &ChainClient,
    confirmations: u64,
    tx: ethers::types::H256,
    block: u64,
) -> anyhow::Result<()> {
    if confirmations == 0 {
        return Ok(());
    }
    let interval = client.inner().get_interval();
    while head(client).await?.0 < block.saturating_add(confirmations) {
        tokio::time::sleep(interval).await;
    }
    let receipt = client
        .get_transaction_receipt(tx)
        .await
        .with_context(|| format!("reading the receipt of {tx:?} again"))?;
    match receipt.and_then(|r| r.block_number) {
        Some(at) if at.as_u64() == block => Ok(()),
        _ => bail!(
            "transaction {tx:?} was in block {block} and a reorg took it off: it may be \
             mined again from the pool; look it up before running the command again"
        ),
    }
}

/// A client on the chain at `rpc_url`, polling every `poll`, signing with the Ethereum
/// key from `key_file` (else the variable `key_env`), and the chain's id: what every
/// command that sends starts from (`stake`, `deposit`, `credits`, `market`, `circuits
/// register`, `model register`).
///
/// # Errors
/// A URL that does not parse, a chain that does not answer, an id above 64 bits, no key.
pub async fn signing_client(
    rpc_url: &str,
    key_file: Option<&Path>,
    key_env: &str,
    poll: Duration,
) -> anyhow::Result<(Arc<ChainClient>, u64)> {
    let provider = Provider::<Http>::try_from(rpc_url)
        .with_context(|| format!("the RPC URL `{rpc_url}` is not a URL"))?
        .interval(poll);
    let chain_id = provider
        .get_chainid()
        .await
        .with_context(|| format!("cannot reach the chain at {rpc_url}"))?;
    let chain_id = u64::try_from(chain_id)
        .map_err(|_| anyhow!("the chain's id {chain_id} does not fit 64 bits"))?;
    let wallet = crate::identity::load_eth_key(key_file, key_env, chain_id)?;
    Ok((Arc::new(SignerMiddleware::new(provider, wallet)), chain_id))
}

/// The most `--confirmations` a command waits for (as `chain.confirmations`).
pub const MAX_CONFIRMATIONS: u64 = 64;

/// A call the market (or the chain) refused: nothing was sent.
fn refusal(action: Action, error: ContractError<ChainClient>) -> anyhow::Error {
    match error.decode_contract_revert::<ProverMarketErrors>() {
        Some(decoded) => anyhow!("refused, nothing sent: {}", advice(action, &decoded)),
        None => anyhow!("the call failed, nothing sent: {error}"),
    }
}
