// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketState} from "./MarketState.sol";

/// @title MarketDeposits
/// @notice Clients' deposits in `ProverMarket`, from which awarded fees are paid: deposits,
///         delayed (and lapsing) withdrawal requests, reservations of a deposit for one
///         prover, and the withdrawal of credits (challenge rewards and bonds).
abstract contract MarketDeposits is MarketState {
    // ---- client deposits ------------------------------------------------------------

    /// @notice Adds to the caller's deposit, from which its awarded fees are paid.
    function deposit() external payable {
        if (msg.value == 0) revert ZeroAmount();
        deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value, deposits[msg.sender]);
    }

    /// @notice Announces a withdrawal. Awards the client signed stay claimable from the
    ///         deposit until the delay has passed: that is what "promised" means here. The
    ///         request may then be carried out for `depositWithdrawalDelay` blocks, after
    ///         which it lapses (a request cannot be held ready to empty the deposit in the
    ///         block of a prover's claim). A new request replaces the previous one.
    function requestDepositWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (amount > deposits[msg.sender]) revert InsufficientDeposit(deposits[msg.sender], amount);
        withdrawalRequested[msg.sender] = amount;
        withdrawableAt[msg.sender] = uint64(block.number) + depositWithdrawalDelay;
        emit DepositWithdrawalRequested(msg.sender, amount, withdrawableAt[msg.sender]);
    }

    /// @notice Withdraws the requested amount after the delay and before the request
    ///         lapses, or what is left of it after claims paid in the meantime.
    function withdrawDeposit() external nonReentrant {
        uint256 requested = withdrawalRequested[msg.sender];
        if (requested == 0) revert NothingToWithdraw();
        uint64 at = withdrawableAt[msg.sender];
        if (block.number < at) revert TooEarly(at);
        if (block.number >= uint256(at) + depositWithdrawalDelay) revert RequestLapsed(at + depositWithdrawalDelay);
        uint256 amount = requested < deposits[msg.sender] ? requested : deposits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        withdrawalRequested[msg.sender] = 0;
        deposits[msg.sender] -= amount;
        emit DepositWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice What a prover can count on from `client`'s deposit: the deposit less a
    ///         withdrawal request that has not lapsed. Awards the client signed and that
    ///         are not yet claimed come out of this too; a prover subtracts those it knows.
    function freeDeposit(address client) external view returns (uint256) {
        uint256 balance = deposits[client];
        uint256 requested = withdrawalRequested[client];
        if (requested == 0 || block.number >= uint256(withdrawableAt[client]) + depositWithdrawalDelay) {
            return balance;
        }
        return requested >= balance ? 0 : balance - requested;
    }

    /// @notice Moves `amount` (possibly 0) of the caller's deposit into its reservation
    ///         for `prover`, which then lasts until `until` (unix seconds; never earlier
    ///         than it already did). Until then the client cannot take it back and no
    ///         other prover's claim can: a prover that bids only while the reservation,
    ///         less what the client owes it, pays the price, and claims before `until`,
    ///         is not left unpaid by awards the client signs to others, for other jobs
    ///         or for the same one (each award is paid once, to the prover it names).
    function reserve(address prover, uint256 amount, uint64 until) external {
        Reservation storage r = reservations[msg.sender][prover];
        if (until < r.until) revert ReservationShortened(r.until);
        uint256 balance = deposits[msg.sender];
        if (amount > balance) revert InsufficientDeposit(balance, amount);
        deposits[msg.sender] = balance - amount;
        uint256 reserved = r.amount + amount;
        // casting to 'uint128' is safe because a reservation never holds more than every
        // deposit ever made, and the ether supply is far below 2^128.
        // forge-lint: disable-next-line(unsafe-typecast)
        r.amount = uint128(reserved);
        r.until = until;
        emit Reserved(msg.sender, prover, amount, reserved, until);
    }

    /// @notice Returns what is left of the caller's reservation for `prover` to its
    ///         deposit, once the reservation's `until` has passed.
    function release(address prover) external {
        Reservation storage r = reservations[msg.sender][prover];
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= r.until) revert TooEarly(r.until);
        uint256 amount = r.amount;
        if (amount == 0) revert NothingToWithdraw();
        r.amount = 0;
        deposits[msg.sender] += amount;
        emit ReservationReleased(msg.sender, prover, amount);
    }

    /// @notice Withdraws the caller's credits (challenge rewards and bonds).
    function withdrawCredits() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit CreditsWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }
}
