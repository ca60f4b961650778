// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// Deposits, withdrawal requests, withdrawals and `freeDeposit`: one test per rule and per
/// revert reason of ProverMarket (docs/contracts.md). The shared helpers are in
/// MarketTestBase.
contract DepositsTest is MarketTestBase {
    // ================================================================================
    // deposit
    // ================================================================================

    function test_deposit_revertsOnZeroAmount() public {
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.deposit();
    }

    function test_deposit_accumulatesAndEmits() public {
        _deposit(client, 1 ether);
        vm.deal(client, 2 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Deposited(client, 2 ether, 3 ether);
        vm.prank(client);
        market.deposit{value: 2 ether}();
        assertEq(market.deposits(client), 3 ether);
        assertEq(address(market).balance, 3 ether);
    }

    // ================================================================================
    // requestDepositWithdrawal
    // ================================================================================

    function test_requestDepositWithdrawal_revertsOnZeroAmount() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.requestDepositWithdrawal(0);
    }

    function test_requestDepositWithdrawal_revertsAboveDeposit() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 1 ether, 1 ether + 1));
        market.requestDepositWithdrawal(1 ether + 1);
    }

    function test_requestDepositWithdrawal_revertsWithoutDeposit() public {
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1));
        market.requestDepositWithdrawal(1);
    }

    function test_requestDepositWithdrawal_recordsAndEmits() public {
        _deposit(client, 1 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawalRequested(client, 0.4 ether, at);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        assertEq(market.withdrawalRequested(client), 0.4 ether);
        assertEq(market.withdrawableAt(client), at);
        assertEq(market.deposits(client), 1 ether, "deposit stays until the withdrawal");
    }

    function test_requestDepositWithdrawal_againReplacesAmountAndRestartsDelay() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + 3);
        vm.prank(client);
        market.requestDepositWithdrawal(0.1 ether);
        assertEq(market.withdrawalRequested(client), 0.1 ether);
        assertEq(market.withdrawableAt(client), uint64(block.number) + DEPOSIT_DELAY);
    }

    // ================================================================================
    // withdrawDeposit
    // ================================================================================

    function test_withdrawDeposit_revertsWithoutRequest() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_revertsOneBlockBeforeDelayEnds() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(at - 1);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysRequestedAmountAtBoundaryAndEmits() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);

        uint256 before = client.balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawn(client, 0.4 ether);
        vm.prank(client);
        market.withdrawDeposit();

        assertEq(client.balance, before + 0.4 ether);
        assertEq(market.deposits(client), 0.6 ether);
        assertEq(market.withdrawalRequested(client), 0);
        assertEq(address(market).balance, 0.6 ether);
    }

    function test_withdrawDeposit_cannotWithdrawTwice() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysWhatIsLeftAfterClaims() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 5 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(4 ether);

        // A job awarded for 3 ether is claimed while the withdrawal waits.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 3 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);
        assertEq(market.deposits(client), 2 ether);

        vm.roll(block.number + DEPOSIT_DELAY);
        uint256 before = client.balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawn(client, 2 ether);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, before + 2 ether);
        assertEq(market.deposits(client), 0);
        assertEq(address(market).balance, MIN_STAKE);
    }

    function test_withdrawDeposit_revertsWhenClaimsTookEverything() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);

        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 1 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);

        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysAtTheLastBlockBeforeTheRequestLapses() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(at + DEPOSIT_DELAY - 1);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.4 ether);
        assertEq(market.deposits(client), 0.6 ether);
    }

    /// A request runs for `depositWithdrawalDelay` blocks from `withdrawableAt` and then
    /// lapses; a new request starts over.
    function test_withdrawDeposit_revertsRequestLapsedAtTheFirstLapsedBlock() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        uint64 lapsedAt = at + DEPOSIT_DELAY;
        vm.roll(lapsedAt);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsedAt));
        market.withdrawDeposit();
        vm.roll(lapsedAt + 1_000);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsedAt));
        market.withdrawDeposit();
        assertEq(market.deposits(client), 1 ether);

        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 again = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(again - 1);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, again));
        market.withdrawDeposit();
        vm.roll(again);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.4 ether);
    }

    // ================================================================================
    // freeDeposit
    // ================================================================================

    function test_freeDeposit_isTheDepositWithoutARequest() public {
        assertEq(market.freeDeposit(client), 0);
        _deposit(client, 1 ether);
        assertEq(market.freeDeposit(client), 1 ether);
    }

    /// A pending request counts from the request until it lapses: through the delay and
    /// through the blocks in which it may be carried out.
    function test_freeDeposit_lessAPendingRequestUntilItLapses() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        assertEq(market.freeDeposit(client), 0.6 ether);
        vm.roll(at);
        assertEq(market.freeDeposit(client), 0.6 ether);
        vm.roll(at + DEPOSIT_DELAY - 1);
        assertEq(market.freeDeposit(client), 0.6 ether, "last block the request may run");
        vm.roll(at + DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether, "lapsed: the whole deposit again");
    }

    function test_freeDeposit_isZeroWhenTheRequestCoversTheDeposit() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        assertEq(market.freeDeposit(client), 0, "request == deposit");

        // A claim paid meanwhile leaves the request above the deposit.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 0.3 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);
        assertEq(market.deposits(client), 0.7 ether);
        assertEq(market.freeDeposit(client), 0, "request > deposit");

        _deposit(client, 0.5 ether);
        assertEq(market.freeDeposit(client), 0.2 ether, "a top-up above the request is free");
    }

    function test_freeDeposit_ignoresALapsedRequestAndFollowsANewOne() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        vm.roll(block.number + 2 * DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.25 ether);
        assertEq(market.freeDeposit(client), 0.75 ether);
    }

    function test_freeDeposit_isTheDepositAfterTheWithdrawal() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(market.freeDeposit(client), 0.6 ether);
    }
}
