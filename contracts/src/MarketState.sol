// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {CircuitStore} from "./CircuitStore.sol";
import {MarketTypes} from "./MarketTypes.sol";

/// @title MarketState
/// @notice The parameters (immutables, checked and set by `ProverMarket`'s constructor) and
///         the storage of `ProverMarket`, and the helpers every part of it uses. Every state
///         variable of the market is declared here, in storage order, after EIP712's two
///         fallback strings: no other part of the market declares storage.
abstract contract MarketState is MarketTypes, CircuitStore, EIP712, ReentrancyGuardTransient {
    // ---- parameters ------------------------------------------------------------------

    uint256 public immutable minStake;
    uint64 public immutable challengeWindow;
    uint64 public immutable responseWindow;
    uint64 public immutable unbondingDelay;
    uint64 public immutable depositWithdrawalDelay;
    uint256 public immutable challengeBond;
    uint256 public immutable slashPerJob;
    uint16 public immutable rewardBps;
    uint16 public immutable refundBps;
    uint64 public immutable maxDeadline;
    uint64 public immutable deadlineChallengePeriod;
    /// Runs `registerCircuit` (see `CircuitRegistrar`); created by the constructor.
    address internal immutable registrar;

    // ---- state ------------------------------------------------------------------------

    mapping(address => Prover) public provers;
    /// ed25519 key → the prover registered with it: one key, one stake.
    mapping(bytes32 => address) public proverOfPeerKey;
    mapping(address => uint256) public deposits;
    mapping(address => uint256) public withdrawalRequested;
    /// First block of a withdrawal request's execution: it may run from there for
    /// `depositWithdrawalDelay` blocks, and then lapses.
    mapping(address => uint64) public withdrawableAt;
    Batch[] public batches;
    /// Paid awards: bit (nonce % 256) of word (nonce / 256) of the (client, prover). A job
    /// id derives from (client, nonce) and an award names its prover, so each award has
    /// exactly one bit, and a batch of one client's jobs touches few storage words. The
    /// prover is part of the key: an award is paid at most once, and a second award of
    /// the same job to another prover (a sybil claiming first) cannot take the first
    /// award's pay; the client that signed both pays both.
    mapping(address => mapping(address => mapping(uint256 => uint256))) internal paidJobs;
    Challenge[] internal challenges;
    /// Jobs a prover was slashed for, keyed by `jobKey(prover, client, jobId)`.
    mapping(bytes32 => bool) public slashed;
    /// The challenge waiting for an answer on a job, plus one (0: none).
    mapping(bytes32 => uint256) public pendingChallenge;
    /// Faults answered on a job key, one bit per `Fault`: an answered challenge cannot be
    /// opened again (an honest prover answers each fault once, not once per challenger).
    mapping(bytes32 => uint256) public answeredFaults;
    /// Ether owed to an account (challenge rewards and bonds), withdrawn with
    /// `withdrawCredits`: nothing a slash or an answer pays can be blocked by a recipient.
    mapping(address => uint256) public credits;
    /// Challenger → keccak256 of its address and a challenge call's whole input → the
    /// block in which it committed to them (`commitEvidence`). A challenge is taken only
    /// from the account that committed to itself sending that exact input, in an earlier
    /// block: a copy of a challenge, or of its commitment, sent from another account, is
    /// refused.
    mapping(address => mapping(bytes32 => uint256)) public evidenceCommitments;
    /// Total ether burned by slashes.
    uint256 public totalBurned;
    /// client → prover → the part of the client's deposit set aside for that prover
    /// (`reserve`): what lets a prover count on being paid whatever awards the client
    /// signs to others.
    mapping(address => mapping(address => Reservation)) public reservations;

    // ---- shared internals ------------------------------------------------------------

    /// @notice The key under which a prover's faults and challenges on a job are recorded.
    function jobKey(address prover, address client, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(prover, client, jobId));
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
