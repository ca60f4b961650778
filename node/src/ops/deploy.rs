//! `provernet market deploy`: a new market, its parameters checked against the
//! constructor's rules before anything is sent ([`check_params`]), the deployment checked
//! by `eth_call` and the account's balance, then sent, mined and confirmed like every
//! operator command.

use std::sync::Arc;

use anyhow::{Context as _, anyhow, bail};
use ethers::providers::Middleware;
use ethers::types::{Address, H256, U256};
use provernet_protocol::{Hash32, keccak256};
use provernet_slashing::MarketParams;
use provernet_slashing::bindings::ProverMarket;

use super::amount;
use crate::service::ChainClient;

/// The longest window or delay the market accepts (`MAX_DELAY`: a u32's largest value).
pub const MAX_DELAY: u64 = u32::MAX as u64;
/// Basis points in a whole.
pub const BPS: u64 = 10_000;

/// The constructor's rules, each broken one a sentence naming the flag to change. Kept
/// in step with `ProverMarket`'s constructor (contracts/src/ProverMarket.sol); the unit
/// test breaks each rule once.
///
/// # Errors
/// The first rule `params` breaks.
pub fn check_params(p: &MarketParams) -> Result<(), String> {
    let fmt = |wei: U256| amount::format(wei);
    if p.min_stake.is_zero() {
        return Err("--min-stake must be above 0".into());
    }
    if p.challenge_window == 0 || p.response_window == 0 {
        return Err("--challenge-window and --response-window must be above 0 blocks".into());
    }
    for (flag, value) in [
        ("--challenge-window", p.challenge_window),
        ("--response-window", p.response_window),
        ("--unbonding-delay", p.unbonding_delay),
        ("--deposit-withdrawal-delay", p.deposit_withdrawal_delay),
        ("--max-deadline", p.max_deadline),
        ("--deadline-challenge-period", p.deadline_challenge_period),
    ] {
        if value > MAX_DELAY {
            return Err(format!(
                "{flag} {value} is above the market's bound of {MAX_DELAY}"
            ));
        }
    }
    if p.unbonding_delay <= p.challenge_window + p.response_window {
        return Err(format!(
            "--unbonding-delay {} must exceed the challenge and response windows together \
             ({} blocks), so a prover cannot unbond away from a challenge",
            p.unbonding_delay,
            p.challenge_window + p.response_window
        ));
    }
    if p.challenge_window <= p.response_window + 2 {
        return Err(format!(
            "--challenge-window {} must exceed --response-window {} by more than 2 blocks",
            p.challenge_window, p.response_window
        ));
    }
    if p.deposit_withdrawal_delay <= p.challenge_window {
        return Err(format!(
            "--deposit-withdrawal-delay {} must exceed --challenge-window {}, so awards stay \
             claimable after a withdrawal request",
            p.deposit_withdrawal_delay, p.challenge_window
        ));
    }
    if p.challenge_bond.is_zero() {
        return Err("--challenge-bond must be above 0".into());
    }
    if p.slash_per_job.is_zero() || p.slash_per_job > p.min_stake {
        return Err(format!(
            "--slash-per-job {} must be above 0 and at most --min-stake {}",
            fmt(p.slash_per_job),
            fmt(p.min_stake)
        ));
    }
    if u64::from(p.reward_bps) + u64::from(p.refund_bps) > BPS {
        return Err(format!(
            "--reward-bps {} and --refund-bps {} add up to more than {BPS}",
            p.reward_bps, p.refund_bps
        ));
    }
    if p.max_deadline == 0 || p.deadline_challenge_period == 0 {
        return Err("--max-deadline and --deadline-challenge-period must be above 0 s".into());
    }
    Ok(())
}

/// A deployed market.
#[derive(Clone, Copy, Debug)]
pub struct Deployed {
    /// Its address.
    pub address: Address,
    /// The block it was deployed in.
    pub block: u64,
    /// keccak256 of its runtime code (a network file's `market_code_hash`).
    pub code_hash: H256,
}

/// Deploys a market with `params` from `client`'s account: checked first (the rules,
/// `eth_call`, the balance); `Ok(None)` on a dry run. Waits for `confirmations`.
///
/// # Errors
/// Nothing sent: a broken rule, a refusal, too little ether. Sent: no receipt, a revert,
/// a reorg.
pub async fn deploy(
    client: Arc<ChainClient>,
    params: MarketParams,
    confirmations: u64,
    dry_run: bool,
) -> anyhow::Result<Option<Deployed>> {
    check_params(&params).map_err(|rule| anyhow!("refused, nothing sent: {rule}"))?;
    let account = client.address();
    let deployer = ProverMarket::deploy(Arc::clone(&client), (params,))
        .context("cannot build the deployment")?;
    deployer
        .call()
        .await
        .map_err(|e| anyhow!("the chain refuses the deployment, nothing sent: {e}"))?;
    let gas = client
        .estimate_gas(&deployer.deployer.tx, None)
        .await
        .context("cannot estimate the deployment's gas")?;
    let price = client
        .get_gas_price()
        .await
        .context("cannot read the gas price")?;
    let balance = client
        .get_balance(account, None)
        .await
        .context("cannot read the account's balance")?;
    let needed = gas.saturating_mul(price);
    println!("deploy: ProverMarket from {account:?}, about {gas} gas at {price} wei a gas");
    if balance < needed {
        bail!(
            "the account {account:?} holds {} and the deployment needs about {}: fund it \
             first; nothing was sent",
            amount::format(balance),
            amount::format(needed)
        );
    }
    if dry_run {
        println!("dry run: nothing sent");
        return Ok(None);
    }
    let (contract, receipt) = deployer.send_with_receipt().await.map_err(|e| {
        anyhow!(
            "the deployment failed ({e}): it may have reached the chain; look at the \
             account's transactions before running the command again"
        )
    })?;
    let tx = receipt.transaction_hash;
    let block = receipt.block_number.unwrap_or_default().as_u64();
    println!("sent: transaction {tx:?}");
    if receipt.status != Some(1u64.into()) {
        bail!("the deployment {tx:?} reverted in block {block}: no market was made");
    }
    println!("market: {:?} (block {block})", contract.address());
    println!(
        "mined: block {block}, gas used {}",
        receipt.gas_used.unwrap_or_default()
    );
    super::confirm(&client, confirmations, tx, block)
        .await
        .with_context(|| format!("the market was deployed in block {block}: look it up"))?;
    if confirmations > 0 {
        println!("confirmed: {confirmations} block(s) on top");
    }
    let code = client
        .get_code(contract.address(), None)
        .await
        .context("cannot read the market's code")?;
    if code.is_empty() {
        bail!(
            "no code at {:?} after the deployment {tx:?}: look it up",
            contract.address()
        );
    }
    Ok(Some(Deployed {
        address: contract.address(),
        block,
        code_hash: H256(Hash32(keccak256(&code)).0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn good() -> MarketParams {
        let eth = U256::exp10(18);
        MarketParams {
            min_stake: eth,
            challenge_window: 15,
            response_window: 5,
            unbonding_delay: 40,
            deposit_withdrawal_delay: 700,
            challenge_bond: eth / 10,
            slash_per_job: eth / 20,
            reward_bps: 3_000,
            refund_bps: 2_000,
            max_deadline: 600,
            deadline_challenge_period: 600,
        }
    }

    #[test]
    fn each_constructor_rule_is_checked_first() {
        assert_eq!(check_params(&good()), Ok(()));
        type Breaks = fn(&mut MarketParams);
        let cases: [(Breaks, &str); 9] = [
            (|p| p.min_stake = U256::zero(), "--min-stake"),
            (
                |p| p.response_window = 0,
                "--response-window must be above 0",
            ),
            (|p| p.unbonding_delay = 20, "--unbonding-delay 20"),
            (
                |p| p.challenge_window = 7,
                "--challenge-window 7 must exceed",
            ),
            (
                |p| p.deposit_withdrawal_delay = 15,
                "--deposit-withdrawal-delay 15",
            ),
            (|p| p.challenge_bond = U256::zero(), "--challenge-bond"),
            (|p| p.slash_per_job = p.min_stake + 1, "at most --min-stake"),
            (|p| p.refund_bps = 7_001, "add up to more than"),
            (
                |p| p.max_deadline = MAX_DELAY + 1,
                "--max-deadline 4294967296",
            ),
        ];
        for (breaks, expected) in cases {
            let mut params = good();
            breaks(&mut params);
            let error = check_params(&params).expect_err(expected);
            assert!(error.contains(expected), "{expected}: {error}");
        }
    }
}
