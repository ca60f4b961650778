// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketState} from "./MarketState.sol";

/// @title MarketStakes
/// @notice Provers' stakes in `ProverMarket`: registration, adding stake, unbonding and
///         withdrawal (debt burned first), and the count of leaves a prover holds at risk
///         that its bonded stake must cover (`exposure`, checked by `commitBatch`).
abstract contract MarketStakes is MarketState {
    // ---- stake ----------------------------------------------------------------------

    /// @notice Registers the caller as a prover with its node's ed25519 key, which no other
    ///         prover may hold.
    function register(bytes32 peerKey) external payable {
        Prover storage p = provers[msg.sender];
        if (p.registered) revert AlreadyRegistered();
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        if (peerKey == bytes32(0)) revert InvalidParameters();
        address holder = proverOfPeerKey[peerKey];
        if (holder != address(0)) revert PeerKeyTaken(holder);
        proverOfPeerKey[peerKey] = msg.sender;
        p.registered = true;
        p.peerKey = peerKey;
        p.stake = msg.value;
        emit ProverRegistered(msg.sender, peerKey, msg.value);
    }

    /// @notice Adds to the caller's stake.
    function addStake() external payable {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (msg.value == 0) revert ZeroAmount();
        p.stake += msg.value;
        emit StakeAdded(msg.sender, msg.value, p.stake);
    }

    /// @notice Moves `amount` of stake to unbonding; it can be withdrawn after the
    ///         unbonding delay and once more than `maxDeadline + deadlineChallengePeriod`
    ///         seconds have passed (so every deadline the prover accepted before has
    ///         passed its challenge period, its last second included). Starting again adds to the amount and restarts both.
    ///         Unbonding stake can still be slashed.
    function unbond(uint256 amount) external {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (amount == 0) revert ZeroAmount();
        if (amount > p.stake) revert InsufficientStake(p.stake, amount);
        p.stake -= amount;
        p.unbonding += amount;
        // Both fit uint40 for ~10^12 blocks or seconds; the delays are at most 2^32 - 1.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.unbondableAt = uint40(block.number + unbondingDelay);
        // forge-lint: disable-next-line(unsafe-typecast,block-timestamp)
        p.unbondableAfter = uint40(block.timestamp + maxDeadline + deadlineChallengePeriod + 1);
        emit UnbondingStarted(msg.sender, amount, p.unbondableAt, p.unbondableAfter);
    }

    /// @notice Withdraws unbonded stake once the delays have passed and no challenge is
    ///         open.
    function withdrawStake() external nonReentrant {
        Prover storage p = provers[msg.sender];
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.number < p.unbondableAt) revert TooEarly(p.unbondableAt);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < p.unbondableAfter) revert TooEarly(p.unbondableAfter);
        if (p.openChallenges != 0) revert ChallengeOpen(p.openChallenges);
        p.unbonding = 0;
        // Debt is paid first, by burning.
        uint256 owed = p.debt < amount ? p.debt : amount;
        p.debt -= owed;
        amount -= owed;
        totalBurned += owed;
        emit StakeWithdrawn(msg.sender, amount, owed);
        if (owed != 0) _send(address(0), owed);
        if (amount != 0) _send(msg.sender, amount);
    }

    /// @notice Whether claims of `prover` (and `isFinal` on its batches) must look up each
    ///         job's state: while a challenge against it is open, or once it was slashed.
    ///         A prover whose challenges were all answered is not disputed.
    function isDisputed(address prover) internal view returns (bool) {
        Prover storage p = provers[prover];
        return p.openChallenges != 0 || p.slashedJobs != 0;
    }

    /// @notice Leaves `prover` holds at risk, as `commitBatch` counts them, and the most
    ///         its bonded stake covers at `slashPerJob` each. A leaf counts from its batch
    ///         until the end of the epoch of `challengeWindow + responseWindow + 1` blocks
    ///         after the one it was committed in: at least until a challenge opened at the
    ///         end of its window can be finalized. Open challenges do not count again: one bond
    ///         could otherwise make an honest prover's commit revert at its deadline.
    function exposure(address prover) public view returns (uint256 leavesAtRisk, uint256 covered) {
        Prover storage p = provers[prover];
        (, uint256 current, uint256 previous) = _risk(p);
        leavesAtRisk = current + previous;
        covered = _covered(p);
    }

    // ---- leaves at risk --------------------------------------------------------------

    /// Counts `count` new leaves at risk for `p` and refuses them beyond what its bonded
    /// stake covers (see `commitBatch`).
    function _addRisk(Prover storage p, uint32 count) internal {
        (uint256 epoch, uint256 current, uint256 previous) = _risk(p);
        current += count;
        uint256 covered = _covered(p);
        uint256 atRisk = current + previous;
        if (atRisk > covered) revert ExposureTooHigh(atRisk, covered);
        // Leaves at risk never exceed `covered` < 2^32 for any stake a chain holds at a
        // sane `slashPerJob`; the check above bounds them first.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskEpoch = uint40(epoch);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskCurrent = uint32(current);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskPrevious = uint32(previous);
    }

    /// The current epoch and `p`'s leaves at risk committed in it and in the one before.
    function _risk(Prover storage p) internal view returns (uint256 epoch, uint256 current, uint256 previous) {
        epoch = block.number / _epochLength();
        if (p.riskEpoch == epoch) {
            current = p.riskCurrent;
            previous = p.riskPrevious;
        } else if (p.riskEpoch + 1 == epoch) {
            previous = p.riskCurrent;
        }
    }

    /// Leaves `p`'s bonded stake covers beyond its debt.
    function _covered(Prover storage p) internal view returns (uint256) {
        return p.stake > p.debt ? (p.stake - p.debt) / slashPerJob : 0;
    }

    /// Whether a leaf of a batch posted at block `committedAt` still counts at risk.
    function _stillAtRisk(uint256 committedAt) internal view returns (bool) {
        uint256 epoch = _epochLength();
        return committedAt / epoch + 1 >= block.number / epoch;
    }

    /// Blocks of an epoch of leaves at risk: `W + R + 1`, so a leaf counts at least until
    /// a challenge opened in the last block of its window can be finalized (`W + R + 1`
    /// blocks after its batch).
    function _epochLength() internal view returns (uint256) {
        return uint256(challengeWindow) + responseWindow + 1;
    }
}
