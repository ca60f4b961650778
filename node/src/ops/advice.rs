//! The market's custom errors as sentences that say what to do, for the operator commands
//! (`provernet stake|deposit|credits`).

use provernet_slashing::bindings::ProverMarketErrors as E;

use super::amount::format;

/// What an operator command asked the market to do: the same error means different
/// things (and calls for different remedies) after different calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// `register(peerKey)` with a stake.
    Register,
    /// `addStake()`.
    AddStake,
    /// `unbond(amount)`.
    Unbond,
    /// `withdrawStake()`.
    WithdrawStake,
    /// `deposit()`.
    Deposit,
    /// `requestDepositWithdrawal(amount)`.
    RequestWithdrawal,
    /// `withdrawDeposit()`.
    WithdrawDeposit,
    /// `withdrawCredits()`.
    WithdrawCredits,
}

/// A sentence for `error` met by `action`: what the market refused and what to do.
pub fn advice(action: Action, error: &E) -> String {
    match error {
        E::StakeTooLow(e) => format!(
            "a stake of {} is below the market's minimum of {}: register with at least that",
            format(e.stake),
            format(e.minimum)
        ),
        E::AlreadyRegistered(_) => "this account is a registered prover already: add stake with \
             `provernet stake add AMOUNT`, or use another account"
            .into(),
        E::PeerKeyTaken(e) => format!(
            "this node's identity (peer key) is registered to prover {:?} already: one node \
             identity serves one prover; register from that account, or make a new identity \
             in another data dir (--new-identity) and run the node on it",
            e.prover
        ),
        E::NotRegistered(_) => "this account is not a registered prover: register first with \
             `provernet stake register AMOUNT`"
            .into(),
        E::ZeroAmount(_) => "the amount is zero: give a positive amount".into(),
        E::InsufficientStake(e) => format!(
            "the stake is {} and cannot unbond {}: unbond at most the stake",
            format(e.available),
            format(e.requested)
        ),
        E::InsufficientDeposit(e) => format!(
            "the deposit is {}, less than {}: ask for at most the deposit",
            format(e.available),
            format(e.requested)
        ),
        E::NothingToWithdraw(_) => match action {
            Action::WithdrawStake => "nothing is unbonding: start with \
                 `provernet stake unbond AMOUNT`, then withdraw after the unbonding delay"
                .into(),
            Action::WithdrawDeposit => "no withdrawal was requested (or claims took what it \
                 asked for): request one with `provernet deposit withdraw AMOUNT`"
                .into(),
            Action::WithdrawCredits => {
                "this account has no credits (challenge rewards, bonds) to withdraw".into()
            }
            _ => "there is nothing to withdraw".into(),
        },
        E::TooEarly(e) => match action {
            Action::WithdrawStake => format!(
                "the unbonding delay has not passed (the market waits for {}, a block \
                 number or a unix time): `provernet stake status` shows when both delays \
                 end; withdraw after that",
                e.available_at
            ),
            Action::WithdrawDeposit => format!(
                "the withdrawal delay has not passed: withdraw from block {} on (before the \
                 request lapses)",
                e.available_at
            ),
            _ => format!("too early: try again from {}", e.available_at),
        },
        E::RequestLapsed(e) => format!(
            "the withdrawal request lapsed at block {}: request it again with \
             `provernet deposit withdraw AMOUNT` and withdraw within the window",
            e.lapsed_at
        ),
        E::ChallengeOpen(e) => format!(
            "{} challenge(s) against this prover are open: the stake cannot leave until they \
             are answered or finalized; try again after the response window",
            e.open_challenges
        ),
        E::InvalidParameters(_) => match action {
            Action::Register => "the node's peer key is zero: its identity file is damaged".into(),
            _ => "the market refused the parameters (InvalidParameters): check them against \
                 `provernet market info`"
                .into(),
        },
        E::CircuitExists(e) => format!(
            "circuit 0x{} is registered already: nothing to do (registration is once per \
             id and immutable)",
            provernet_protocol::primitives::to_hex(&e.circuit_id)
        ),
        E::SampleProofRejected(_) => "the verifier rejected the sample proof: the proof was \
             not made with this verifier's keys or SRS; export the verifier from the SRS the \
             proof was made with"
            .into(),
        E::VerifierAcceptsCorruptedProof(_) => "the verifier accepts a corrupted proof, so it \
             verifies nothing: compile it with the optimizer off (scripts/solc) and register \
             again"
            .into(),
        E::InsufficientGas(e) => format!(
            "the call had {} gas where {} are needed: send it with more gas",
            e.available, e.required
        ),
        E::TransferFailed(_) => "the market could not pay this account: an account that \
             refuses ether (a contract without a receive function) cannot withdraw; use an \
             externally owned account"
            .into(),
        E::ReentrancyGuardReentrantCall(_) => "a reentrant call was refused".into(),
        other => {
            format!("the market refused the call ({other:?}): see docs/contracts.md for this error")
        }
    }
}

#[cfg(test)]
mod tests {
    use ethers::types::{Address, U256};
    use provernet_slashing::bindings::{
        NothingToWithdraw, PeerKeyTaken, StakeTooLow, TooEarly, UnknownBatch,
    };

    use super::*;

    #[test]
    fn each_refusal_says_what_to_do_in_the_actions_terms() {
        let low = advice(
            Action::Register,
            &E::StakeTooLow(StakeTooLow {
                stake: U256::exp10(17) * 5,
                minimum: U256::exp10(18),
            }),
        );
        assert!(
            low.contains("0.5 ETH") && low.contains("minimum of 1 ETH"),
            "{low}"
        );
        let taken = advice(
            Action::Register,
            &E::PeerKeyTaken(PeerKeyTaken {
                prover: Address::repeat_byte(7),
            }),
        );
        assert!(
            taken.contains("0x0707") && taken.contains("data dir"),
            "{taken}"
        );
        let stake = advice(
            Action::WithdrawStake,
            &E::NothingToWithdraw(NothingToWithdraw),
        );
        let credits = advice(
            Action::WithdrawCredits,
            &E::NothingToWithdraw(NothingToWithdraw),
        );
        assert!(stake.contains("stake unbond"), "{stake}");
        assert!(credits.contains("no credits"), "{credits}");
        let early = advice(
            Action::WithdrawDeposit,
            &E::TooEarly(TooEarly { available_at: 42 }),
        );
        assert!(early.contains("block 42"), "{early}");
        // An error no operator command meets still names itself.
        let other = advice(
            Action::Deposit,
            &E::UnknownBatch(UnknownBatch {
                batch_id: U256::from(3),
            }),
        );
        assert!(other.contains("UnknownBatch"), "{other}");
    }
}
