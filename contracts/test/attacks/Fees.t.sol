// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// Attacks on the mechanism: claims stay cheap (property 9), escrowed and reserved fees
/// (property 4). Each is written as its attacker would try it, asserting that it fails and
/// that the attacker ends poorer (or no richer) than playing by the rules;
/// docs/contracts.md's threat model names each test. The setting and the shared helpers are
/// in AttacksBase.
contract FeesAttacksTest is AttacksBase {
    // ---- claims stay cheap, and fit a block (property 9) ----------------------------------

    /// A watchtower challenges an honest prover once (and loses its bond to the prover's
    /// answer), hoping to make every later claim of that prover dearer for good. After the
    /// answer, the prover's claims cost what an unchallenged prover's cost.
    function test_attack_aFalseChallengeDoesNotMakeLaterClaimsDearer() public {
        _register(cheater, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        _deposit(client, 1 ether);
        // The challenged prover answers a missed-deadline challenge on job 1000.
        MarketTypes.Leaf[] memory answered = _leavesFrom(1000, 1, client);
        MarketTypes.Award memory award = _award(answered[0], cheater);
        uint256 answeredBatch = _commit(cheater, answered);
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        market.answerMissedDeadline(id, _at(answeredBatch, answered, 0));
        assertFalse(_isDisputed(cheater));

        // Both provers commit and claim one job each, the same shape, for two clients
        // (so that neither claim finds the other's storage already warm).
        _deposit(otherClient, 1 ether);
        MarketTypes.Leaf[] memory mine = _leavesFrom(1, 1, client);
        MarketTypes.Leaf[] memory theirs = _leavesFrom(1, 1, otherClient);
        uint256 mineBatch = _commit(cheater, mine);
        uint256 theirBatch = _commit(otherProver, theirs);
        _closeWindow(theirBatch);
        uint256 gasMine = _claimOne(cheater, clientKey, mineBatch, mine[0], 1);
        uint256 gasTheirs = _claimOne(otherProver, otherClientKey, theirBatch, theirs[0], 1);
        emit log_named_uint("claim gas, prover after an answered challenge", gasMine);
        emit log_named_uint("claim gas, prover never challenged", gasTheirs);
        // The per-job lookups of a disputed prover cost about 4,200 gas.
        assertApproxEqAbs(gasMine, gasTheirs, 500, "an answered challenge leaves no lasting cost");
    }

    function _claimOne(address who, uint256 key, uint256 batchId, MarketTypes.Leaf memory l, uint64 nonce)
        internal
        returns (uint256 gasUsed)
    {
        MarketTypes.Award memory a = _award(l, who);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _batchJob(l, 0, nonce, a.deadline, _sign(key, a));
        bytes32[] memory hashes = new bytes32[](1); // the batch's only leaf, given by the claim
        vm.prank(who);
        uint256 before = gasleft();
        market.claimBatch(batchId, hashes, jobs);
        gasUsed = before - gasleft();
    }

    // ---- escrowed fees (property 4) ----------------------------------------------------

    /// A client requests the withdrawal of its whole deposit, lets the request mature and
    /// holds it, then awards jobs against the deposit, planning to empty it in the block of
    /// the prover's claim. The chain shows the prover no free deposit while the request
    /// stands (so a prover checking `freeDeposit` does not bid); a request held past its
    /// execution period lapses, and the claim is paid.
    function test_attack_aHeldWithdrawalRequestCannotEmptyTheDepositAtTheClaim() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        assertEq(market.freeDeposit(client), 0, "a prover sees nothing it can count on");
        uint64 at = market.withdrawableAt(client);
        vm.roll(at + DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether, "a lapsed request frees the deposit");

        // Awarded now against the free deposit, committed, window closed.
        MarketTypes.Leaf[] memory leaves = _leavesFrom(0, 1, client);
        leaves[0].price = 1 ether;
        uint256 batchId = _commit(cheater, leaves);
        _closeWindow(batchId);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, at + DEPOSIT_DELAY));
        market.withdrawDeposit();
        MarketTypes.Award memory a = _award(leaves[0], cheater);
        bytes memory sig = _sign(clientKey, a);
        _claimJob(cheater, batchId, leaves, 0, 0, a, sig);
        assertEq(market.deposits(client), 0, "the prover was paid in full");
    }

    // ---- reserved fees (property 4, with reservations) ------------------------------------

    /// `client`'s job `nonce` at `price`, alone in a batch `p` commits; window closed.
    function _pricedJob(address p, uint64 nonce, uint256 price)
        internal
        returns (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award)
    {
        leaves = _leavesFrom(nonce, 1, client);
        leaves[0].price = price;
        award = _award(leaves[0], p);
        batchId = _commit(p, leaves);
        _closeWindow(batchId);
    }

    /// The client's deposit D and its reservation R for `prover`: the client signs awards
    /// to `otherProver` at price D (what the chain shows it as free) and to `prover` at R
    /// (what `prover` bid on), hoping that whichever claims second finds the funds gone.
    /// `otherProver` claims first and empties the deposit; `prover`'s claim is still paid
    /// in full, from its reservation. The client paid exactly the two prices and has
    /// nothing left to take back.
    function test_attack_overAwardingCannotShortchangeAReservedProver() public {
        uint256 d = 1 ether;
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        uint64 until = _reservedFor(prover, d + r, r);
        assertEq(market.freeDeposit(client), d);

        (uint256 first, MarketTypes.Leaf[] memory toOther, MarketTypes.Award memory a2) = _pricedJob(otherProver, 0, d);
        (uint256 second, MarketTypes.Leaf[] memory toReserved, MarketTypes.Award memory a1) = _pricedJob(prover, 1, r);
        _claimJob(otherProver, first, toOther, 0, 0, a2, _sign(clientKey, a2));
        assertEq(market.deposits(client), 0, "the first claim emptied the deposit");
        _claimJob(prover, second, toReserved, 0, 1, a1, _sign(clientKey, a1));

        assertEq(prover.balance, r, "the reserved prover was paid in full");
        assertEq(otherProver.balance, d);
        assertEq(_reservedAmount(client, prover), 0);
        vm.warp(until + 1);
        vm.prank(client);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        assertEq(client.balance + market.deposits(client), 0, "the client got nothing back");
    }

    /// The client's deposit D and its reservation R for `prover`. `otherProver` bids on the
    /// free deposit D and is awarded a job at D; `prover` is awarded jobs totalling R.
    /// `prover` claims first, hoping to be paid out of the shared deposit and keep its
    /// reservation for later: its claims take only its reservation, the deposit that
    /// `otherProver` counted on is intact, and `otherProver` is then paid in full. The
    /// client paid exactly the prices and has nothing left to take back.
    function test_attack_aReservedProverCannotDrainTheDepositOthersCountOn() public {
        uint256 d = 1 ether;
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        uint64 until = _reservedFor(prover, d + r, r);
        assertEq(market.freeDeposit(client), d, "what otherProver bids on");
        (uint256 theirs, MarketTypes.Leaf[] memory toOther, MarketTypes.Award memory a2) = _pricedJob(otherProver, 0, d);

        // `prover`'s jobs 1 and 2, at 0.2 and 0.3 ether, claimed first, in one call.
        MarketTypes.Leaf[] memory mine = _leavesFrom(1, 2, client);
        mine[0].price = 0.2 ether;
        mine[1].price = 0.3 ether;
        uint256 myBatch = _commit(prover, mine);
        _closeWindow(myBatch);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](2);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory a = _award(mine[i], prover);
            jobs[i] = _batchJob(mine[i], i, _nonce(i + 1), a.deadline, _sign(clientKey, a));
        }
        vm.prank(prover);
        market.claimBatch(myBatch, new bytes32[](2), jobs);
        assertEq(prover.balance, r);
        assertEq(_reservedAmount(client, prover), 0, "the reservation paid");
        assertEq(market.deposits(client), d, "the deposit otherProver counts on is intact");
        assertEq(market.freeDeposit(client), d);

        _claimJob(otherProver, theirs, toOther, 0, 0, a2, _sign(clientKey, a2));
        assertEq(otherProver.balance, d, "otherProver was paid in full");
        assertEq(market.deposits(client), 0);
        vm.warp(until + 1);
        vm.prank(client);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        assertEq(client.balance + market.deposits(client), 0, "the client got nothing back");
    }

    /// The client reserves R for `prover`, which bids on it; the job is awarded at R. The
    /// client then tries to take the funds back before `prover` claims: a withdrawal
    /// request reaches only the deposit (refused beyond it; an extra deposit withdrawn
    /// comes out alone), and `release` is refused up to the reservation's last second.
    /// `prover` claims in that second and is paid in full; the client ends with only its
    /// extra deposit.
    function test_attack_withdrawingReservedFundsBeforeUntilFails() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        uint64 until = _reservedFor(prover, r, r);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award) = _pricedJob(prover, 0, r);

        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, r));
        market.requestDepositWithdrawal(r);
        _deposit(client, 0.1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.1 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.1 ether, "only the extra deposit came out");
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);
        vm.warp(until);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);

        _claimJob(prover, batchId, leaves, 0, 0, award, _sign(clientKey, award));
        assertEq(prover.balance, r, "paid in full");
        assertEq(_reservedAmount(client, prover), 0);
        assertEq(client.balance + market.deposits(client), 0.1 ether, "the client is no richer");
    }

    /// The cheater holds a genuine award of the client's, whose deposit is empty: all of it
    /// is reserved for `prover`. The cheater claims anyway, hoping to be paid out of
    /// `prover`'s reservation, then tries to move the reservation itself (`release` and
    /// `reserve` act on the caller's own funds only). Everything is refused; `prover` is
    /// then paid from its reservation.
    function test_attack_anotherProverCannotBePaidFromAReservation() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(cheater, MIN_STAKE);
        uint64 until = _reservedFor(prover, r, r);
        (uint256 theirs, MarketTypes.Leaf[] memory stolen, MarketTypes.Award memory a2) =
            _pricedJob(cheater, 0, 0.2 ether);
        bytes memory sig2 = _sign(clientKey, a2);

        // The deposit is empty and the cheater has no reservation: 0 + 0.
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 0.2 ether));
        _claimJob(cheater, theirs, stolen, 0, 0, a2, sig2);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, r));
        market.reserve(cheater, r, until);
        vm.warp(until + 1); // even after `until`
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 0.2 ether));
        _claimJob(cheater, theirs, stolen, 0, 0, a2, sig2);

        assertEq(cheater.balance, 0, "the cheater got nothing");
        assertEq(_reservedAmount(client, prover), r, "the reservation is intact");
        (uint256 mine, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory a1) = _pricedJob(prover, 1, r);
        _claimJob(prover, mine, leaves, 0, 1, a1, _sign(clientKey, a1));
        assertEq(prover.balance, r);
    }

    /// The client reserves R for `prover` until a day from now and, before `prover` claims,
    /// tries to bring `until` forward (to now, to 0, to a second earlier, adding funds) so
    /// that it can release the reservation at once. Every shortening is refused, `release`
    /// stays too early, and `prover` is paid in full.
    function test_attack_shorteningAReservationCannotTakeItBack() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        uint64 until = _reservedFor(prover, r + 0.1 ether, r);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award) = _pricedJob(prover, 0, r);

        bytes memory err = abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, until);
        uint64[3] memory earlier = [uint64(block.timestamp), 0, until - 1];
        for (uint256 i = 0; i < earlier.length; i++) {
            vm.prank(client);
            vm.expectRevert(err);
            market.reserve(prover, 0, earlier[i]);
        }
        vm.prank(client);
        vm.expectRevert(err);
        market.reserve(prover, 0.1 ether, uint64(block.timestamp));
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);
        (, uint64 stillUntil) = market.reservations(client, prover);
        assertEq(stillUntil, until);

        _claimJob(prover, batchId, leaves, 0, 0, award, _sign(clientKey, award));
        assertEq(prover.balance, r, "paid in full");
        assertEq(market.deposits(client), 0.1 ether, "the deposit was not touched");
    }
}
