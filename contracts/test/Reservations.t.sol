// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// Client reservations: `reserve` moves part of a client's deposit into a reservation for
/// one prover until a time, `release` moves it back after that time, and a claim takes a
/// job's price from the client's reservation for the claiming prover first, as much as it
/// holds, and the rest from the client's deposit. One test per rule and per revert reason.
contract ReservationsTest is MarketFixture {
    /// The reservations' time, a day from the start.
    uint64 internal until;
    /// The deadline of every award here.
    uint64 internal deadline;

    function setUp() public override {
        super.setUp();
        until = uint64(block.timestamp + 1 days);
        deadline = uint64(block.timestamp + 1 hours);
    }

    // ---- helpers -------------------------------------------------------------------------

    function _reserve(address c, address p, uint256 amount, uint64 u) internal {
        vm.prank(c);
        market.reserve(p, amount, u);
    }

    function _reservation(address c, address p) internal view returns (uint256 amount, uint64 u) {
        (amount, u) = market.reservations(c, p);
    }

    function _assertReservation(address c, address p, uint256 amount, uint64 u) internal view {
        (uint256 a, uint64 t) = _reservation(c, p);
        assertEq(a, amount, "reserved amount");
        assertEq(t, u, "reserved until");
    }

    /// `client` deposits `deposited` and reserves `reserved` of it for `prover` until
    /// `until`; `prover` is registered.
    function _setUpFunds(uint256 deposited, uint256 reserved) internal {
        _register(prover, MIN_STAKE);
        _deposit(client, deposited);
        _reserve(client, prover, reserved, until);
    }

    /// Commits `leaves` as `prover` and closes the window.
    function _committed(MarketTypes.Leaf[] memory leaves) internal returns (uint256 id) {
        id = _commit(prover, leaves);
        _closeWindow(id);
    }

    /// The `prover`'s claim of leaf `index` (job `nonce`), signed with `key`.
    function _job(MarketTypes.Leaf memory l, uint256 index, uint64 nonce, uint256 key)
        internal
        view
        returns (MarketTypes.BatchClaim memory)
    {
        return _batchJob(l, index, nonce, deadline, _sign(key, _award(l, prover, deadline)));
    }

    /// The `prover`'s claims of leaves `indices` of `leaves` (all of `client`, leaf i job i).
    function _jobs(MarketTypes.Leaf[] memory leaves, uint256[] memory indices)
        internal
        view
        returns (MarketTypes.BatchClaim[] memory jobs)
    {
        jobs = new MarketTypes.BatchClaim[](indices.length);
        for (uint256 k = 0; k < indices.length; k++) {
            jobs[k] = _job(leaves[indices[k]], indices[k], _nonce(indices[k]), clientKey);
        }
    }

    /// Claims `jobs` of batch `id` (of `leaves`) in one call as `prover`.
    function _claimAll(uint256 id, MarketTypes.Leaf[] memory leaves, MarketTypes.BatchClaim[] memory jobs) internal {
        bytes32[] memory h = _hashes(leaves);
        for (uint256 k = 0; k < jobs.length; k++) {
            h[jobs[k].index] = bytes32(0);
        }
        vm.prank(prover);
        market.claimBatch(id, h, jobs);
    }

    /// One leaf of `client`, job 0, at `price`, committed by `prover`, window closed;
    /// claimed alone by `prover` with the client's award.
    function _claimOneAt(uint256 price) internal {
        MarketTypes.Leaf[] memory leaves = _one(_leaf(0, client, price));
        uint256 id = _committed(leaves);
        MarketTypes.Award memory a = _award(leaves[0], prover, deadline);
        _claimJob(prover, id, leaves, 0, 0, a, _sign(clientKey, a));
    }

    function _order(uint256 a, uint256 b, uint256 c, uint256 d, uint256 e) internal pure returns (uint256[] memory x) {
        x = new uint256[](5);
        (x[0], x[1], x[2], x[3], x[4]) = (a, b, c, d, e);
    }

    // ================================================================================
    // reserve
    // ================================================================================

    function test_reserve_movesDepositIntoTheReservationAndEmits() public {
        _deposit(client, 1 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Reserved(client, prover, 0.4 ether, 0.4 ether, until);
        _reserve(client, prover, 0.4 ether, until);
        assertEq(market.deposits(client), 0.6 ether);
        assertEq(market.freeDeposit(client), 0.6 ether, "a reservation is no free deposit");
        _assertReservation(client, prover, 0.4 ether, until);
        assertEq(address(market).balance, 1 ether, "no ether moved");
        assertEq(client.balance, 0);
    }

    function test_reserve_topsUpAndExtends() public {
        _deposit(client, 1 ether);
        _reserve(client, prover, 0.4 ether, until);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Reserved(client, prover, 0.1 ether, 0.5 ether, until + 1 hours);
        _reserve(client, prover, 0.1 ether, until + 1 hours);
        _assertReservation(client, prover, 0.5 ether, until + 1 hours);
        assertEq(market.deposits(client), 0.5 ether);

        // Nothing more, only later.
        _reserve(client, prover, 0, until + 2 hours);
        _assertReservation(client, prover, 0.5 ether, until + 2 hours);
        assertEq(market.deposits(client), 0.5 ether);

        // More, and the same time (not earlier).
        _reserve(client, prover, 0.2 ether, until + 2 hours);
        _assertReservation(client, prover, 0.7 ether, until + 2 hours);
        assertEq(market.deposits(client), 0.3 ether);
        assertEq(address(market).balance, 1 ether);
    }

    function test_reserve_revertsWhenShortened() public {
        _deposit(client, 1 ether);
        _reserve(client, prover, 0.4 ether, until);
        bytes memory err = abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, until);
        vm.prank(client);
        vm.expectRevert(err);
        market.reserve(prover, 0, until - 1);
        vm.prank(client);
        vm.expectRevert(err);
        market.reserve(prover, 0.1 ether, until - 1); // not even with more
        vm.prank(client);
        vm.expectRevert(err);
        market.reserve(prover, 0, 0);
        _assertReservation(client, prover, 0.4 ether, until);
        assertEq(market.deposits(client), 0.6 ether);
    }

    function test_reserve_revertsBeyondTheDeposit() public {
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1));
        market.reserve(prover, 1, until);

        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 1 ether, 1 ether + 1));
        market.reserve(prover, 1 ether + 1, until);
        _assertReservation(client, prover, 0, 0);

        _reserve(client, prover, 1 ether, until); // all of it
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1));
        market.reserve(prover, 1, until);
        _assertReservation(client, prover, 1 ether, until);
        assertEq(market.deposits(client), 0);
    }

    /// A reservation is one client's for one prover: neither another client's nor another
    /// prover's changes it, and `until` is per reservation.
    function test_reserve_isPerClientAndProver() public {
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        _reserve(client, prover, 0.1 ether, until);
        _reserve(client, otherProver, 0.2 ether, until - 1 hours);
        _reserve(otherClient, prover, 0.3 ether, until + 1 hours);
        _assertReservation(client, prover, 0.1 ether, until);
        _assertReservation(client, otherProver, 0.2 ether, until - 1 hours);
        _assertReservation(otherClient, prover, 0.3 ether, until + 1 hours);
        _assertReservation(otherClient, otherProver, 0, 0);
        assertEq(market.deposits(client), 0.7 ether);
        assertEq(market.deposits(otherClient), 0.7 ether);
    }

    // ================================================================================
    // release
    // ================================================================================

    function test_release_revertsBeforeAndAtUntil() public {
        _deposit(client, 1 ether);
        _reserve(client, prover, 0.4 ether, until);
        bytes memory err = abi.encodeWithSelector(MarketTypes.TooEarly.selector, until);
        vm.prank(client);
        vm.expectRevert(err);
        market.release(prover);
        vm.warp(until - 1);
        vm.prank(client);
        vm.expectRevert(err);
        market.release(prover);
        vm.warp(until); // the last second of the reservation
        vm.prank(client);
        vm.expectRevert(err);
        market.release(prover);
        _assertReservation(client, prover, 0.4 ether, until);
        assertEq(market.deposits(client), 0.6 ether);
    }

    function test_release_returnsTheAmountToTheDepositAfterUntil() public {
        _deposit(client, 1 ether);
        _reserve(client, prover, 0.4 ether, until);
        vm.warp(until + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ReservationReleased(client, prover, 0.4 ether);
        vm.prank(client);
        market.release(prover);
        assertEq(market.deposits(client), 1 ether);
        _assertReservation(client, prover, 0, until); // `until` stays: no later one can be earlier
        assertEq(client.balance, 0, "back into the deposit, not sent");
        assertEq(address(market).balance, 1 ether);

        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, until));
        market.reserve(prover, 0.1 ether, until - 1);
        _reserve(client, prover, 0.1 ether, until + 1 days);
        _assertReservation(client, prover, 0.1 ether, until + 1 days);
    }

    function test_release_revertsWhenNothingIsReserved() public {
        bytes memory err = abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector);
        // Never reserved (`until` is 0, long past).
        vm.prank(client);
        vm.expectRevert(err);
        market.release(prover);

        // Only a time reserved.
        _deposit(client, 1 ether);
        _reserve(client, prover, 0, until);
        vm.warp(until + 1);
        vm.prank(client);
        vm.expectRevert(err);
        market.release(prover);

        // Released already.
        _reserve(client, otherProver, 0.2 ether, until);
        vm.prank(client);
        market.release(otherProver);
        vm.prank(client);
        vm.expectRevert(err);
        market.release(otherProver);
        assertEq(market.deposits(client), 1 ether);
    }

    /// Claims took part of the reservation: the rest comes back.
    function test_release_returnsWhatClaimsLeft() public {
        _setUpFunds(0.5 ether, 0.5 ether);
        _claimOneAt(0.3 ether);
        _assertReservation(client, prover, 0.2 ether, until);
        vm.warp(until + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ReservationReleased(client, prover, 0.2 ether);
        vm.prank(client);
        market.release(prover);
        assertEq(market.deposits(client), 0.2 ether);
        assertEq(prover.balance, 0.3 ether);
    }

    // ================================================================================
    // claims
    // ================================================================================

    /// The claimer's reservation pays first, even when the deposit alone would cover the
    /// price: the deposit, which other provers may count on, is not touched.
    function test_claim_takesTheClaimersReservationFirst() public {
        _setUpFunds(1 ether, 0.5 ether);
        _claimOneAt(0.3 ether);
        assertEq(prover.balance, 0.3 ether);
        assertEq(market.deposits(client), 0.5 ether, "the deposit is untouched");
        _assertReservation(client, prover, 0.2 ether, until);
        assertEq(address(market).balance, MIN_STAKE + 0.7 ether);
    }

    /// A reservation that holds exactly the price is emptied, the deposit untouched.
    function test_claim_aReservationOfExactlyThePriceIsEmptied() public {
        _setUpFunds(0.4 ether, 0.3 ether);
        _claimOneAt(0.3 ether);
        assertEq(prover.balance, 0.3 ether);
        assertEq(market.deposits(client), 0.1 ether);
        _assertReservation(client, prover, 0, until);
    }

    /// A price larger than the reservation is split: the reservation is emptied and the
    /// rest comes from the deposit.
    function test_claim_splitsAPriceBeyondTheReservationWithTheDeposit() public {
        _setUpFunds(0.4 ether, 0.2 ether);
        _claimOneAt(0.3 ether);
        assertEq(prover.balance, 0.3 ether, "paid in full, in one transfer");
        _assertReservation(client, prover, 0, until);
        assertEq(market.deposits(client), 0.1 ether, "the rest, 0.1, from the deposit");
        assertTrue(market.isPaid(client, prover, 0));
        assertEq(address(market).balance, MIN_STAKE + 0.1 ether);
    }

    /// The reservation and the deposit together fall short of the price: nothing is paid,
    /// and the error names both together (0.05 + 0.2) and the price.
    function test_claim_revertsWhenTheReservationAndTheDepositTogetherFallShort() public {
        _setUpFunds(0.25 ether, 0.2 ether);
        MarketTypes.Leaf[] memory leaves = _one(_leaf(0, client, 0.3 ether));
        uint256 id = _committed(leaves);
        MarketTypes.Award memory a = _award(leaves[0], prover, deadline);
        bytes memory sig = _sign(clientKey, a);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0.25 ether, 0.3 ether));
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertEq(market.deposits(client), 0.05 ether);
        _assertReservation(client, prover, 0.2 ether, until);
        assertFalse(market.isPaid(client, prover, 0));
        assertEq(prover.balance, 0);
    }

    /// A prover without a reservation is paid from the deposit alone: another prover's
    /// reservation neither pays it nor counts in the error's figure.
    function test_claim_anotherProversClaimTakesOnlyTheDeposit() public {
        _setUpFunds(0.8 ether, 0.5 ether); // deposit 0.3
        _register(otherProver, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 0.2 ether);
        leaves[1] = _leaf(1, client, 0.2 ether);
        uint256 id = _commit(otherProver, leaves);
        _closeWindow(id);
        MarketTypes.Award memory a0 = _award(leaves[0], otherProver, deadline);
        MarketTypes.Award memory a1 = _award(leaves[1], otherProver, deadline);
        _claimJob(otherProver, id, leaves, 0, 0, a0, _sign(clientKey, a0));
        assertEq(otherProver.balance, 0.2 ether);
        assertEq(market.deposits(client), 0.1 ether);
        _assertReservation(client, prover, 0.5 ether, until);

        bytes memory sig1 = _sign(clientKey, a1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0.1 ether, 0.2 ether));
        _claimJob(otherProver, id, leaves, 1, 1, a1, sig1);
        _assertReservation(client, prover, 0.5 ether, until);
    }

    /// Claims do not look at `until`: a reservation not yet released still pays its prover.
    function test_claim_takesAnUnreleasedReservationAfterUntil() public {
        _setUpFunds(0.5 ether, 0.5 ether);
        vm.warp(until + 1 days);
        deadline = uint64(block.timestamp + 1 hours);
        _claimOneAt(0.3 ether);
        _assertReservation(client, prover, 0.2 ether, until);
        assertEq(prover.balance, 0.3 ether);
    }

    /// Jobs 0..4 (1..5 gwei) in order, a reservation of 8 gwei and a deposit of 8: the
    /// reservation pays jobs 0, 1 and 2 (6 gwei) and 2 gwei of job 3, the deposit the
    /// other 2 gwei of job 3 and job 4. One transfer of 15 gwei.
    function test_claimBatch_reservationPaysTheFirstJobsAndTheDepositTheRest() public {
        _setUpFunds(16 gwei, 8 gwei);
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        uint256 id = _committed(leaves);
        uint256[] memory order = _order(0, 1, 2, 3, 4);
        MarketTypes.BatchClaim[] memory jobs = _jobs(leaves, order);
        vm.expectCall(prover, "", 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(id, prover, 15 gwei, hex"0000000000000001000000020000000300000004");
        _claimAll(id, leaves, jobs);
        assertEq(prover.balance, 15 gwei);
        _assertReservation(client, prover, 0, until);
        assertEq(market.deposits(client), 1 gwei);
        for (uint256 i = 0; i < 5; i++) {
            assertTrue(market.isPaid(client, prover, _nonce(i)));
        }
        assertEq(address(market).balance, MIN_STAKE + 1 gwei);
    }

    /// What a call takes does not depend on the order of its jobs: jobs 3, 4, 0, 1, 2 (4,
    /// 5, 1, 2, 3 gwei) with a reservation of 12 gwei and a deposit of 6 take 4, 5, 1 and
    /// 2 from the reservation, then 3 from the deposit, as jobs 0..4 in order would (1, 2,
    /// 3, 4, then 2 of job 4 from the reservation and 3 from the deposit).
    function test_claimBatch_anyOrderTakesTheReservationFirst() public {
        _setUpFunds(18 gwei, 12 gwei);
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        uint256 id = _committed(leaves);
        _claimAll(id, leaves, _jobs(leaves, _order(3, 4, 0, 1, 2)));
        assertEq(prover.balance, 15 gwei);
        _assertReservation(client, prover, 0, until);
        assertEq(market.deposits(client), 3 gwei);
    }

    /// The reservation a call holds in memory is written back when the client's paid-jobs
    /// word or the client changes, and read again after: `client` (reservation 7 gwei,
    /// deposit 3) pays job 0 (3 gwei) and job 300 (4 gwei, another paid-jobs word) from
    /// its reservation, which is then empty; `otherClient`'s job (2 gwei) takes its own
    /// reservation for the prover (1 gwei) and 1 from its deposit; back to `client`, job 1
    /// (1 gwei) finds the reservation empty and comes from the deposit.
    function test_claimBatch_reservationAcrossPaidWordsAndClients() public {
        _setUpFunds(10 gwei, 7 gwei); // deposit 3
        _deposit(otherClient, 1 ether);
        _reserve(otherClient, prover, 1 gwei, until);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](4);
        leaves[0] = _leaf(0, client, 3 gwei);
        leaves[1] = _leaf(300, client, 4 gwei); // another paid-jobs word
        leaves[2] = _leaf(0, otherClient, 2 gwei);
        leaves[3] = _leaf(1, client, 1 gwei); // back to the first word, after another client
        uint256 id = _committed(leaves);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](4);
        jobs[0] = _job(leaves[0], 0, 0, clientKey);
        jobs[1] = _job(leaves[1], 1, 300, clientKey);
        jobs[2] = _job(leaves[2], 2, 0, otherClientKey);
        jobs[3] = _job(leaves[3], 3, 1, clientKey);
        _claimAll(id, leaves, jobs);
        assertEq(prover.balance, 10 gwei);
        _assertReservation(client, prover, 0, until);
        assertEq(market.deposits(client), 2 gwei);
        _assertReservation(otherClient, prover, 0, until);
        assertEq(market.deposits(otherClient), 1 ether - 2 gwei);
        assertTrue(market.isPaid(client, prover, 300));
        assertTrue(market.isPaid(client, prover, 1));
        assertTrue(market.isPaid(otherClient, prover, 0));
    }

    /// The funds run out in the middle of a call: the whole call reverts, the reservation
    /// and the deposit are as before. Reservation 5 gwei, deposit 1: job 2 (3 gwei) leaves
    /// 2 reserved; job 3 (4 gwei) would take those 2 and needs 2 from a deposit of 1. The
    /// error names what the call still held, 2 + 1, and the price.
    function test_claimBatch_revertsWholeCallWhenTheFundsRunOut() public {
        _setUpFunds(6 gwei, 5 gwei); // deposit 1
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        uint256 id = _committed(leaves);
        uint256[] memory order = new uint256[](2);
        (order[0], order[1]) = (2, 3);
        MarketTypes.BatchClaim[] memory jobs = _jobs(leaves, order);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 3 gwei, 4 gwei));
        _claimAll(id, leaves, jobs);
        _assertReservation(client, prover, 5 gwei, until);
        assertEq(market.deposits(client), 1 gwei);
        assertFalse(market.isPaid(client, prover, 2));
        assertEq(prover.balance, 0);
    }

    /// The error's figure is what the call still held after the jobs before: reservation
    /// 3 gwei, deposit 4. Job 4 (5 gwei) empties the reservation and takes 2 from the
    /// deposit; job 3 (4 gwei) then finds 0 + 2: `InsufficientDeposit(2 gwei, 4 gwei)`.
    function test_claimBatch_errorNamesWhatTheCallStillHeld() public {
        _setUpFunds(7 gwei, 3 gwei); // deposit 4
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        uint256 id = _committed(leaves);
        uint256[] memory order = new uint256[](2);
        (order[0], order[1]) = (4, 3);
        MarketTypes.BatchClaim[] memory jobs = _jobs(leaves, order);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 2 gwei, 4 gwei));
        _claimAll(id, leaves, jobs);
        _assertReservation(client, prover, 3 gwei, until);
        assertEq(market.deposits(client), 4 gwei);

        // Job 4 alone is paid: 3 from the reservation, 2 from the deposit.
        order = new uint256[](1);
        order[0] = 4;
        _claimAll(id, leaves, _jobs(leaves, order));
        _assertReservation(client, prover, 0, until);
        assertEq(market.deposits(client), 2 gwei);
        assertEq(prover.balance, 5 gwei);
    }

    /// A client's withdrawal reaches its deposit only: a request for more than the deposit
    /// is refused, and a withdrawal pays what the deposit holds, the reservation untouched.
    function test_withdrawDeposit_neverReachesTheReservation() public {
        _setUpFunds(1 ether, 0.6 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0.4 ether, 1 ether));
        market.requestDepositWithdrawal(1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.4 ether);
        assertEq(market.deposits(client), 0);
        _assertReservation(client, prover, 0.6 ether, until);
    }
}
