// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// Registration, stake, unbonding and stake withdrawal: one test per rule and per revert
/// reason of ProverMarket (docs/contracts.md). The shared helpers are in MarketTestBase.
contract StakeTest is MarketTestBase {
    // ================================================================================
    // register
    // ================================================================================

    function test_register_revertsWhenStakeBelowMinimum() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.register{value: MIN_STAKE - 1}(PEER_KEY);
    }

    function test_register_revertsWithoutValue() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, 0, MIN_STAKE));
        market.register(PEER_KEY);
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        _register(prover, MIN_STAKE);
        vm.deal(prover, 2 * MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyRegistered.selector));
        market.register{value: 2 * MIN_STAKE}(PEER_KEY);
    }

    function test_register_revertsOnZeroPeerKey() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.InvalidParameters.selector));
        market.register{value: MIN_STAKE}(bytes32(0));
    }

    function test_register_revertsWhenPeerKeyTaken() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        market.register{value: MIN_STAKE}(PEER_KEY);
        vm.deal(otherProver, MIN_STAKE);
        vm.prank(otherProver);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PeerKeyTaken.selector, prover));
        market.register{value: MIN_STAKE}(PEER_KEY);
        (,,,,,,,,,,, bool registered) = market.provers(otherProver);
        assertFalse(registered);
        assertEq(market.proverOfPeerKey(PEER_KEY), prover);
    }

    function test_register_storesProverAndEmits() public {
        vm.deal(prover, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ProverRegistered(prover, PEER_KEY, MIN_STAKE);
        vm.prank(prover);
        market.register{value: MIN_STAKE}(PEER_KEY);

        (
            uint256 stake,
            uint256 debt,
            bytes32 peerKey,
            uint256 unbonding,
            uint40 at,
            uint40 after_,
            uint32 open,
            uint32 slashedJobs,
            uint40 riskEpoch,
            uint32 riskCurrent,
            uint32 riskPrevious,
            bool registered
        ) = market.provers(prover);
        assertEq(stake, MIN_STAKE);
        assertEq(debt, 0);
        assertEq(peerKey, PEER_KEY);
        assertEq(unbonding, 0);
        assertEq(at, 0);
        assertEq(after_, 0);
        assertEq(open, 0);
        assertEq(slashedJobs, 0);
        assertEq(riskEpoch, 0);
        assertEq(riskCurrent, 0);
        assertEq(riskPrevious, 0);
        assertTrue(registered);
        assertEq(market.proverOfPeerKey(PEER_KEY), prover);
        assertEq(address(market).balance, MIN_STAKE);
        assertEq(prover.balance, 0);
    }

    // ================================================================================
    // addStake
    // ================================================================================

    function test_addStake_revertsWhenNotRegistered() public {
        vm.deal(prover, 1 ether);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.addStake{value: 1 ether}();
    }

    function test_addStake_revertsOnZeroAmount() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.addStake();
    }

    function test_addStake_addsAndEmits() public {
        _register(prover, MIN_STAKE);
        vm.deal(prover, 3 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeAdded(prover, 3 ether, MIN_STAKE + 3 ether);
        vm.prank(prover);
        market.addStake{value: 3 ether}();
        assertEq(_stakeOf(prover), MIN_STAKE + 3 ether);
        assertEq(address(market).balance, MIN_STAKE + 3 ether);
    }

    // ================================================================================
    // unbond
    // ================================================================================

    function test_unbond_revertsWhenNotRegistered() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.unbond(1);
    }

    function test_unbond_revertsOnZeroAmount() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.unbond(0);
    }

    function test_unbond_revertsAboveStake() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientStake.selector, 2 ether, 2 ether + 1));
        market.unbond(2 ether + 1);
    }

    function test_unbond_movesStakeAsideAndEmits() public {
        _register(prover, 3 ether);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        uint64 afterTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.UnbondingStarted(prover, 1 ether, at, afterTime);
        vm.prank(prover);
        market.unbond(1 ether);

        (uint256 unbonding, uint64 unbondableAt) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 2 ether);
        assertEq(unbonding, 1 ether);
        assertEq(unbondableAt, at);
        assertEq(_unbondableAfter(prover), afterTime);
        assertEq(address(market).balance, 3 ether, "nothing leaves the contract");
    }

    function test_unbond_allOfTheStake() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(2 ether);
        assertEq(_stakeOf(prover), 0);
        assertFalse(_isStaked(prover));
    }

    function test_unbond_againAccumulatesAndRestartsDelay() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        vm.roll(block.number + 7);
        vm.warp(block.timestamp + 70);
        uint64 restarted = uint64(block.number) + UNBONDING_DELAY;
        uint64 restartedTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.UnbondingStarted(prover, 0.5 ether, restarted, restartedTime);
        vm.prank(prover);
        market.unbond(0.5 ether);

        (uint256 unbonding, uint64 unbondableAt) = _unbondingOf(prover);
        assertEq(unbonding, 1.5 ether);
        assertEq(unbondableAt, restarted);
        assertEq(_unbondableAfter(prover), restartedTime, "time restarts too");
        assertEq(_stakeOf(prover), 1.5 ether);
    }

    function test_unbond_belowMinimumMakesProverUnstaked() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        market.unbond(1);
        assertFalse(_isStaked(prover));
    }

    // ================================================================================
    // withdrawStake
    // ================================================================================

    function test_withdrawStake_revertsWhenNothingUnbonding() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsForUnknownProver() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsOneBlockBeforeDelayEnds() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        vm.warp(_unbondableAfter(prover)); // the time condition holds: only the blocks are missing
        vm.roll(at - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
        market.withdrawStake();
    }

    /// Blocks pass much faster than the deadline horizon: the unbonding delay alone is not
    /// enough while a deadline the prover may have accepted can still be challenged.
    function test_withdrawStake_revertsOneSecondBeforeTimeDelayEnds() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 unbondableAfter = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        assertEq(_unbondableAfter(prover), unbondableAfter);
        vm.roll(block.number + 100 * UNBONDING_DELAY);
        vm.warp(unbondableAfter - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();

        vm.warp(unbondableAfter);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 1 ether);
    }

    function test_withdrawStake_revertsAtOldTimeBoundaryAfterRestart() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 first = _unbondableAfter(prover);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 second = _unbondableAfter(prover);
        assertEq(second, first + 1 hours);
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(first);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, second));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsAtOldBoundaryAfterRestart() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 first = uint64(block.number) + UNBONDING_DELAY;
        vm.roll(block.number + 5);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 second = uint64(block.number) + UNBONDING_DELAY;
        vm.warp(_unbondableAfter(prover));
        vm.roll(first);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, second));
        market.withdrawStake();
    }

    function test_withdrawStake_paysExactAmountAtBoundaryAndEmits() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1.25 ether);
        // Exactly at both boundaries: the first block and the first second allowed.
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(block.timestamp + MAX_DEADLINE + DEADLINE_PERIOD + 1);

        uint256 proverBefore = prover.balance;
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 1.25 ether, 0);
        vm.prank(prover);
        market.withdrawStake();

        assertEq(prover.balance, proverBefore + 1.25 ether);
        assertEq(address(market).balance, marketBefore - 1.25 ether);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
        assertEq(_stakeOf(prover), 1.75 ether, "bonded stake untouched");
    }

    function test_withdrawStake_cannotWithdrawTwice() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        _passUnbonding(prover);
        vm.prank(prover);
        market.withdrawStake();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsWhileChallengeOpen() public {
        _register(prover, 3 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        uint256 id = _commit(prover, leaves);
        vm.prank(prover);
        market.unbond(1 ether);
        _challengeWithheld(otherClient, id, leaves, 1);
        _passUnbonding(prover);
        (,,,,,, uint32 open,,,,,) = market.provers(prover);
        assertEq(open, 1);

        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeOpen.selector, uint32(1)));
        market.withdrawStake();
    }
}
