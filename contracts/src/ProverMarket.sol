// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {CircuitRegistrar} from "./CircuitRegistrar.sol";
import {MarketDeposits} from "./MarketDeposits.sol";
import {MarketChallenges} from "./MarketChallenges.sol";

/// @title ProverMarket
/// @notice Stakes, client deposits, batched commitments, fee claims, challenges and
///         slashing of the provernet prover market. docs/contracts.md lists every rule,
///         revert and event.
/// @dev The deployed contract: its constructor and the circuit registry's entry points.
///      The rest is split by job into abstract contracts, one per file: `MarketTypes`
///      (types, constants, events, errors), `MarketState` (parameters and all storage),
///      `MarketStakes` (provers' stakes and leaves at risk), `MarketDeposits` (clients'
///      deposits, reservations, credits), `MarketClaims` (batches, fee claims, `isFinal`)
///      and `MarketChallenges` (challenges and slashing); circuits are in `CircuitStore`
///      and `CircuitRegistrar`.
contract ProverMarket is MarketDeposits, MarketChallenges {
    constructor(Params memory p) EIP712("provernet", "1") {
        if (p.minStake == 0 || p.challengeWindow == 0 || p.responseWindow == 0) revert InvalidParameters();
        // Windows are bounded so block arithmetic on them can never overflow.
        if (
            p.challengeWindow > MAX_DELAY || p.responseWindow > MAX_DELAY || p.unbondingDelay > MAX_DELAY
                || p.depositWithdrawalDelay > MAX_DELAY
        ) revert InvalidParameters();
        // A prover cannot run from a challenge: stake stays slashable for both windows.
        if (p.unbondingDelay <= uint256(p.challengeWindow) + p.responseWindow) revert InvalidParameters();
        // A window outlasts an answer period by more than the block commit–reveal adds, so
        // a pending challenge (one per job) cannot shelter a leaf until its window ends:
        // whoever opens one, another challenge of that leaf can still be committed and sent.
        if (p.challengeWindow <= uint256(p.responseWindow) + 2) revert InvalidParameters();
        // Awards must stay claimable after a withdrawal request for at least a window.
        if (p.depositWithdrawalDelay <= p.challengeWindow) revert InvalidParameters();
        if (p.challengeBond == 0) revert InvalidParameters();
        // A slash takes a fixed amount that the least stake covers at least once.
        if (p.slashPerJob == 0 || p.slashPerJob > p.minStake) revert InvalidParameters();
        if (uint256(p.rewardBps) + p.refundBps > BPS) revert InvalidParameters();
        if (p.maxDeadline == 0 || p.maxDeadline > MAX_DELAY) revert InvalidParameters();
        if (p.deadlineChallengePeriod == 0 || p.deadlineChallengePeriod > MAX_DELAY) revert InvalidParameters();
        minStake = p.minStake;
        challengeWindow = p.challengeWindow;
        responseWindow = p.responseWindow;
        unbondingDelay = p.unbondingDelay;
        depositWithdrawalDelay = p.depositWithdrawalDelay;
        challengeBond = p.challengeBond;
        slashPerJob = p.slashPerJob;
        rewardBps = p.rewardBps;
        refundBps = p.refundBps;
        maxDeadline = p.maxDeadline;
        deadlineChallengePeriod = p.deadlineChallengePeriod;
        registrar = address(new CircuitRegistrar());
    }

    // ---- circuits -------------------------------------------------------------------

    /// @notice Registers a circuit, by anyone, once. Its id is derived from what decides
    ///         its verdicts: `circuitIdOf(verifier's code hash, number of public inputs,
    ///         proof length)`, the two counts taken from a valid sample proof, so nobody
    ///         can register another verifier or another shape under an id in use. The gas
    ///         each verification is given is measured on the sample, and the sample with
    ///         its first proof byte flipped must be rejected. Nothing about a registered
    ///         circuit changes afterwards. Run by `CircuitRegistrar` on this contract's
    ///         storage (DELEGATECALL), whose result or revert is this call's.
    function registerCircuit(address, uint256[] calldata, bytes calldata) external returns (bytes32) {
        address target = registrar;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @notice A registered circuit (all zero if none): its verifier, the gas each call of
    ///         it is given, its number of public inputs, its proof length and its
    ///         verifier's code hash at registration.
    function circuits(bytes32 circuitId)
        external
        view
        returns (address verifier, uint32 gasLimit, uint16 publicInputs, uint32 proofLength, bytes32 codeHash)
    {
        Circuit storage c = _circuits().circuits[circuitId];
        return (c.verifier, c.gasLimit, c.publicInputs, c.proofLength, c.codeHash);
    }
}
