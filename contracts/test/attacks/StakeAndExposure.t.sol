// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// Attacks on the mechanism: the stake covers every leaf at risk (property 6). Each is
/// written as its attacker would try it, asserting that it fails and that the attacker ends
/// poorer (or no richer) than playing by the rules; docs/contracts.md's threat model names
/// each test. The setting and the shared helpers are in AttacksBase.
contract StakeAndExposureAttacksTest is AttacksBase {
    // ---- stake covers exposure (property 6) ---------------------------------------------

    /// A prover cheats on as many jobs at once as it can: a batch of self-dealt leaves
    /// whose proofs it never reveals. Its stake covers exactly `stake / slashPerJob`
    /// leaves; one more is refused, and every one of them that is challenged costs it the
    /// full per-job slash, the last as much as the first (a fraction of what is left
    /// would shrink to nothing).
    function test_attack_cheatingOnEveryJobAtOnceCostsTheFullSlashOfEach() public {
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory bad = _leavesFrom(0, covered, cheater);
        MarketTypes.Leaf[] memory oneMore = _leavesFrom(covered, 1, cheater);
        uint256 batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, covered);
        assertEq(cap, covered);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, covered + 1, covered));
        market.commitBatch(oneMore);

        // Watchtowers challenge every leaf; each slash takes exactly slashPerJob.
        uint256 rewardsBefore = market.credits(watchtower);
        uint256[] memory taken = _slashAllWithheld(cheater, batchId, bad);
        for (uint256 i = 0; i < covered; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "each slash takes the full amount");
        }
        (uint256 left,) = _available(cheater);
        assertEq(left, 0, "cheating on every job it held lost the whole stake");
        // Challengers got their bonds back and the full reward of every slash.
        assertEq(
            market.credits(watchtower) - rewardsBefore,
            covered * (BOND + SLASH_PER_JOB * REWARD_BPS / 10_000),
            "the last slash rewards as much as the first"
        );
        assertFalse(_isStaked(cheater));
    }

    /// Splitting the leaves into many small batches in the same window changes nothing:
    /// the bound counts leaves, not batches.
    function test_attack_manySmallBatchesHitTheSameBound() public {
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        _register(cheater, MIN_STAKE);
        for (uint256 i = 0; i < covered; i++) {
            _commit(cheater, _leavesFrom(i, 1, cheater));
        }
        MarketTypes.Leaf[] memory next = _leavesFrom(covered, 1, cheater);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, covered + 1, covered));
        market.commitBatch(next);
        // Once every window and its response time have passed (at most two epochs of
        // W + R + 1 blocks), the leaves no longer count.
        vm.roll(block.number + 2 * EPOCH);
        (uint256 atRisk,) = market.exposure(cheater);
        assertEq(atRisk, 0);
        _commit(cheater, next);
    }

    /// Unbonding right after committing does not take the stake out of reach: the
    /// exposure was counted against bonded stake at commit, and slashes take unbonding
    /// stake until it is withdrawn, which waits longer than any window.
    function test_attack_unbondingAfterCommittingStillPaysEverySlash() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory bad = _leavesFrom(0, 3, cheater);
        uint256 batchId = _commit(cheater, bad);
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        MarketTypes.Leaf[] memory more = _leavesFrom(3, 1, cheater);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, 0, MIN_STAKE));
        market.commitBatch(more);
        uint256[] memory taken = _slashAllWithheld(cheater, batchId, bad);
        for (uint256 i = 0; i < 3; i++) {
            assertEq(taken[i], SLASH_PER_JOB);
        }
        (uint256 unbonding,) = _unbondingOf(cheater);
        assertEq(unbonding, MIN_STAKE - 3 * SLASH_PER_JOB, "the slashes came out of unbonding stake");
    }

    /// A client (or anyone) waits until an honest prover holds exactly the leaves its stake
    /// covers, then opens one withheld-proof challenge just before the prover commits its
    /// next urgent batch, hoping the commit reverts, the deadlines pass and the whole batch
    /// is slashed for missed deadlines. Open challenges do not count against the bound:
    /// the commit goes through, and the prover's answer takes the bond.
    function test_attack_oneBondCannotBlockAnHonestProversCommit() public {
        _register(cheater, MIN_STAKE);
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        MarketTypes.Leaf[] memory first = _leavesFrom(0, covered - 10, client);
        first[0].circuitId = circuit;
        first[0].publicInputsHash = keccak256(abi.encodePacked(inputs));
        first[0].proofHash = keccak256(proof);
        uint256 firstBatch = _commit(cheater, first);
        uint256 id = _challengeWithheld(watchtower, firstBatch, first, 0);
        // The urgent batch fills the cover exactly: it is committed all the same.
        _commit(cheater, _leavesFrom(covered, 10, client));
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, covered);
        assertEq(cap, covered);
        uint256 before = market.credits(cheater);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(cheater) - before, BOND, "the griefer's bond went to the prover");
    }

    /// The cheater's sybil client, and what the sybil prices its jobs at: enough for the
    /// full refund of a slash.
    address internal sybil;
    uint256 internal sybilKey;
    uint256 internal constant SYBIL_PRICE = 0.01 ether;

    /// The price of each of the client's jobs the cheater commits an invalid leaf for.
    uint256 internal constant BAD_PRICE = 0.002 ether;

    /// What `COVERED` missed deadlines leave owed by a stake of `COVERED` leaves and half a
    /// slash that holds `COVERED` leaves at risk: the first takes the half slash, and every
    /// slash but that half becomes debt.
    uint256 internal constant DRAIN_DEBT = COVERED * SLASH_PER_JOB - HALF_SLASH;

    /// A cheater staked for `COVERED` leaves and half a slash more, with a sybil client
    /// that awarded it `COVERED` jobs, due in an hour, that it never proves (the cheater
    /// signed acceptances). It commits `COVERED` leaves of an honest client's jobs with
    /// invalid proofs (its whole cover), timed so that it can then empty its own stake
    /// with the sybil's missed-deadline challenges: the sybil opens them the response
    /// window before the commit (open challenges do not count against the cover), and
    /// finalizes them in the block after it, ahead of any watchtower's challenge of the
    /// leaves (a challenge needs its evidence committed in an earlier block, so none can
    /// land before that block; the test gives the cheater the race within it). The plan:
    /// the sybil gets each slash's reward and refund back, and the watchtowers' slashes
    /// of the invalid leaves find nothing left.
    /// A missed deadline's job holds no leaf at risk: its slash takes only what the stake
    /// holds beyond `slashPerJob` for each leaf at risk (the half slash, which the first
    /// takes), and the rest of every one becomes the cheater's debt. Every invalid leaf's
    /// slash then takes the full `slashPerJob`, pays the watchtower the full reward and
    /// refunds the client in full; none is ever paid. The cheater tops its stake up to go
    /// on proving: the debt takes the top-up first, which covers no leaf, and when the
    /// cheater gives up, unbonds and withdraws, the debt is burned out of what it takes
    /// back. The pair ends poorer by the full slash of every slashed job, invalid leaves
    /// and missed deadlines alike, less only the sybil's reward and refund of the half
    /// slash.
    function test_attack_drainingItsOwnStakeWithSybilMissedDeadlinesDoesNotPayForBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 stake = MIN_STAKE + HALF_SLASH;
        _register(cheater, stake);
        _deposit(client, COVERED * BAD_PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards) = _drainAroundTheCommit();

        // The watchtower challenges every invalid leaf within the window: every one is
        // slashed in full, out of the stake the missed deadlines could not take.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        for (uint256 i = 0; i < COVERED; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "every invalid-proof slash takes the full amount");
        }
        assertEq(market.credits(watchtower), COVERED * (BOND + REWARD), "the watchtower: every bond, every full reward");
        (uint256 left,) = _available(cheater);
        assertEq(left, 0, "the invalid leaves took the whole stake");
        assertEq(_debtOf(cheater), DRAIN_DEBT, "the missed deadlines are still owed");

        // No invalid leaf is ever paid; the client got the full refund of each.
        _closeWindow(batchId);
        _assertNoneIsPaid(batchId, bad, awards);
        assertEq(market.deposits(client), COVERED * (BAD_PRICE + REFUND), "the client paid nothing, refunded in full");
        assertEq(cheater.balance + market.credits(cheater), 0, "the cheater was paid nothing");

        _topUpAndGiveUp();
        _assertThePairPaidEverySlash(stake);
    }

    /// The sybil's missed-deadline challenges opened, the cheater's whole cover of invalid
    /// leaves committed in the last block it could answer them (one more refused), and
    /// the challenges finalized in the block after: they took the half slash beyond the
    /// leaves at risk and left the rest as debt, which covers nothing.
    function _drainAroundTheCommit()
        internal
        returns (uint256 batchId, MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards)
    {
        (bad, awards) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256[] memory drains = _sybilChallenges(COVERED);
        (,,,,,, uint32 openChallenges,,,,,) = market.provers(cheater);
        assertEq(openChallenges, COVERED);

        vm.roll(block.number + RESPONSE_WINDOW);
        batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED, "the stake was intact at the commit");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, COVERED));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.roll(block.number + 1);
        for (uint256 i = 0; i < COVERED; i++) {
            (uint256 before,) = _available(cheater);
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
            (uint256 afterwards,) = _available(cheater);
            assertEq(before - afterwards, i == 0 ? HALF_SLASH : 0, "a missed deadline takes only the surplus");
            assertTrue(market.slashed(_jobKey(cheater, sybil, _jobId(sybil, _nonce(i)))), "yet it is slashed");
        }
        assertEq(_stakeOf(cheater), MIN_STAKE, "the stake behind the leaves at risk is intact");
        assertEq(_debtOf(cheater), DRAIN_DEBT, "the rest of every missed deadline's slash is debt");
        (atRisk, cap) = market.exposure(cheater);
        assertEq(cap, 0, "stake that owes the debt covers no leaf");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, 0));
        market.commitBatch(_leavesFrom(COVERED, 1, client));
        assertEq(market.credits(sybil), COVERED * BOND + REWARD / 2, "the sybil: its bonds, the reward of half a slash");
        assertEq(market.deposits(sybil), HALF_REFUND, "and the refund of half a slash");
    }

    /// The cheater tops its stake up by the minimum once the invalid leaves no longer
    /// count, to go on proving: the debt comes out of the top-up first, which covers no
    /// leaf. It gives up, unbonds everything and withdraws: the debt is burned first.
    function _topUpAndGiveUp() internal {
        vm.roll(block.number + 2 * EPOCH);
        vm.deal(cheater, MIN_STAKE);
        vm.prank(cheater);
        market.addStake{value: MIN_STAKE}();
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, 0);
        assertEq(cap, (MIN_STAKE - DRAIN_DEBT) / SLASH_PER_JOB, "the debt takes the top-up first");
        assertEq(cap, 0);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, 1, 0));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        _passUnbonding(cheater);
        uint256 burnedBefore = market.totalBurned();
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(cheater, MIN_STAKE - DRAIN_DEBT, DRAIN_DEBT);
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(cheater.balance, MIN_STAKE - DRAIN_DEBT, "only what the debt left");
        assertEq(market.totalBurned() - burnedBefore, DRAIN_DEBT, "the debt is burned");
        assertEq(_debtOf(cheater), 0);
    }

    /// The cheater and its sybil paid in the cheater's `stake` and top-up and the sybil's
    /// bonds; they hold the sybil's credits and deposit and what the cheater withdrew.
    /// They lost the full slash of every slashed job (the invalid leaves and the missed
    /// deadlines) less the sybil's reward and refund of the half slash the first missed
    /// deadline took.
    function _assertThePairPaidEverySlash(uint256 stake) internal view {
        (uint256 stillHeld,) = _available(cheater);
        uint256 held = market.credits(sybil) + market.deposits(sybil) + sybil.balance + stillHeld
            + market.credits(cheater) + cheater.balance;
        uint256 lost = stake + MIN_STAKE + COVERED * BOND - held;
        uint256 slashedJobs = 2 * COVERED;
        uint256 sybilGotBack = REWARD / 2 + HALF_REFUND;
        assertGe(lost + sybilGotBack, slashedJobs * SLASH_PER_JOB, "the pair paid every slashed job in full");
        assertEq(lost, slashedJobs * SLASH_PER_JOB - sybilGotBack, "less only the sybil's reward and refund");
        uint256 burned =
            COVERED * (SLASH_PER_JOB - REWARD - REFUND) + (HALF_SLASH - REWARD / 2 - HALF_REFUND) + DRAIN_DEBT;
        assertEq(market.totalBurned(), burned, "burned: the slashes' burns and the debt");
    }

    /// The cheater's sybil client awards it a job, which the cheater commits and the sybil
    /// challenges as withheld; the cheater leaves it unanswered. A challenge may be
    /// finalized any time after its response window: the sybil holds it until the leaf has
    /// left the count of leaves at risk (two epochs of W + R + 1 blocks), the cheater then
    /// commits invalid leaves of an honest client's jobs up to its whole cover, and the
    /// sybil finalizes in the block after, hoping the late slash takes stake that backs the
    /// invalid leaves while its reward and refund come back to the pair. A withheld proof
    /// finalized once its leaf left the count takes only what the stake holds beyond the
    /// leaves at risk (the half slash) and leaves the rest as debt; every invalid leaf is
    /// then slashed in full and pays the watchtower. The pair lost more than the full
    /// slash of every invalid leaf.
    function test_attack_aLateWithheldSlashOfItsOwnLeafCannotDrainTheCoverOfBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 stake = MIN_STAKE + HALF_SLASH;
        _register(cheater, stake);
        _deposit(client, COVERED * BAD_PRICE);
        MarketTypes.Leaf[] memory own = _leavesFrom(0, 1, sybil);
        own[0].price = SYBIL_PRICE;
        uint256 pending = _challengeWithheld(sybil, _commit(cheater, own), own, 0);

        // Held past the response window until the leaf no longer counts.
        vm.roll(block.number + 2 * EPOCH);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, 0, "the withheld leaf left the count");
        assertEq(cap, COVERED);
        (MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256 batchId = _commit(cheater, bad);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, COVERED));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.roll(block.number + 1);
        vm.prank(sybil);
        market.finalizeChallenge(pending);
        assertTrue(market.slashed(_jobKey(cheater, sybil, own[0].jobId)), "the withheld leaf is slashed");
        assertEq(_stakeOf(cheater), MIN_STAKE, "the late slash took only the half slash beyond the leaves at risk");
        assertEq(_debtOf(cheater), HALF_SLASH, "the rest is debt");
        assertEq(market.credits(sybil), BOND + REWARD / 2, "the sybil: its bond, the reward of half a slash");
        assertEq(market.deposits(sybil), HALF_REFUND, "and the refund of half a slash");

        // Every invalid leaf is slashed in full.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        for (uint256 i = 0; i < COVERED; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "every invalid-proof slash takes the full amount");
        }
        assertEq(market.credits(watchtower), COVERED * (BOND + REWARD), "the watchtower: every full reward");
        _closeWindow(batchId);
        _assertNoneIsPaid(batchId, bad, awards);

        uint256 held = market.credits(sybil) + market.deposits(sybil) + sybil.balance + _stakeOf(cheater)
            + market.credits(cheater) + cheater.balance;
        uint256 lost = stake + BOND - held;
        assertGe(lost, COVERED * SLASH_PER_JOB, "the pair paid every invalid leaf's slash in full");
        assertEq(lost, stake - REWARD / 2 - HALF_REFUND, "the whole stake, less the sybil's half reward and refund");
        assertEq(_debtOf(cheater), HALF_SLASH, "and still owes the rest of the late slash");
    }

    /// A cheater whose sybil's missed deadlines left it in debt would go on committing as
    /// if its bonded stake were whole (the debt is only burned when stake is withdrawn),
    /// then move the stake to unbonding and top it up by less than the debt. The debt
    /// covers no leaf: once its leaves no longer count, a batch the stake alone would
    /// cover is refused; a top-up goes to the debt first and covers leaves only beyond it;
    /// and the withdrawal burns the debt. The pair lost the full slash of every missed
    /// deadline, of which the sybil got nothing back.
    function test_attack_debtCoversNoLeafAndEatsATopUpFirst() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 k = 10;
        _register(cheater, MIN_STAKE);
        uint256[] memory drains = _sybilChallenges(k);
        _commit(cheater, _leavesFrom(0, COVERED, client));
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        for (uint256 i = 0; i < k; i++) {
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
        }
        assertEq(_stakeOf(cheater), MIN_STAKE, "no stake beyond the leaves at risk: none taken");
        assertEq(_debtOf(cheater), k * SLASH_PER_JOB, "every missed deadline owed in full");
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED - k);

        // Two epochs later no leaf counts: the stake alone would cover COVERED leaves.
        vm.roll(block.number + 2 * EPOCH);
        (atRisk, cap) = market.exposure(cheater);
        assertEq(atRisk, 0);
        assertEq(cap, COVERED - k, "the debt covers nothing");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED - k + 1, COVERED - k));
        market.commitBatch(_leavesFrom(COVERED, COVERED - k + 1, client));

        // Most of the stake to unbonding, less than the debt left bonded: covers nothing;
        // a top-up goes to the debt first.
        vm.prank(cheater);
        market.unbond(MIN_STAKE - 5 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 0, "bonded stake below the debt covers nothing");
        _addStakeOf(cheater, 4 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 0, "a top-up that does not clear the debt covers nothing");
        _addStakeOf(cheater, 3 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 2, "only what the stake holds beyond the debt covers leaves");

        // The withdrawal burns the debt.
        _passUnbonding(cheater);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(cheater, MIN_STAKE - 5 * SLASH_PER_JOB - k * SLASH_PER_JOB, k * SLASH_PER_JOB);
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(_debtOf(cheater), 0);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 12, "the debt paid, the whole stake covers leaves again");
        assertEq(market.totalBurned(), k * SLASH_PER_JOB, "the debt was burned");

        uint256 held = market.credits(sybil) + market.deposits(sybil) + _stakeOf(cheater) + cheater.balance;
        uint256 paidIn = MIN_STAKE + 7 * SLASH_PER_JOB + k * BOND;
        assertEq(paidIn - held, k * SLASH_PER_JOB, "the pair lost every missed deadline's full slash");
        assertEq(market.credits(sybil), k * BOND, "the sybil got its bonds back and nothing more");
        assertEq(market.deposits(sybil), 0);
    }

    function _addStakeOf(address who, uint256 amount) internal {
        vm.deal(who, who.balance + amount);
        vm.prank(who);
        market.addStake{value: amount}();
    }

    /// The cheater registers with twice the minimum, unbonds half at once, and waits out
    /// the unbonding delay in blocks and time. Its sybil client's missed deadlines are
    /// opened; the cheater commits its whole cover (bonded stake only) of invalid leaves;
    /// the sybil finalizes in the block after. A missed deadline may take what stake and
    /// unbonding stake hold beyond the leaves at risk, and the unbonding half is exactly
    /// that surplus, so each takes the full slash. Had a slash of no leaf at risk taken
    /// bonded stake first, the missed deadlines would have emptied the bonded stake that
    /// backs the invalid leaves, and the cheater would have withdrawn the untouched
    /// unbonding half in the same block, with no debt to burn (the invalid leaves' slashes
    /// then finding nothing). Such a slash takes unbonding stake first: the missed
    /// deadlines take the unbonding half, and every invalid leaf is slashed in full.
    function test_attack_withdrawingUnbondedStakeAfterSybilMissedDeadlinesStillPaysForBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        _register(cheater, 2 * MIN_STAKE);
        _deposit(client, COVERED * BAD_PRICE);
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        // The delays pass (a day and an hour in time, UNBONDING_DELAY in blocks).
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(_unbondableAfter(cheater) - 1 hours - 2);
        (MarketTypes.Leaf[] memory bad,) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256[] memory drains = _sybilChallenges(COVERED);
        vm.roll(block.number + RESPONSE_WINDOW);
        uint256 batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED, "the bonded stake covers the invalid leaves");

        vm.roll(block.number + 1);
        for (uint256 i = 0; i < COVERED; i++) {
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
        }
        // The cheater withdraws the unbonding half at once (whatever is left of it: a fix
        // may leave nothing to withdraw).
        _passUnbonding(cheater);
        uint256 before = cheater.balance;
        vm.prank(cheater);
        (bool withdrawn,) = address(market).call(abi.encodeCall(market.withdrawStake, ()));
        emit log_named_uint("withdrawal went through", withdrawn ? 1 : 0);
        emit log_named_uint("withdrawn after the missed deadlines", cheater.balance - before);
        emit log_named_uint("bonded stake left behind the invalid leaves", _stakeOf(cheater));
        emit log_named_uint("debt", _debtOf(cheater));

        // The watchtower challenges every invalid leaf within its window.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        uint256 total;
        for (uint256 i = 0; i < COVERED; i++) {
            total += taken[i];
        }
        emit log_named_uint("the invalid leaves' slashes took", total);
        assertEq(total, COVERED * SLASH_PER_JOB, "every invalid leaf is slashed in full");
    }

    /// `n` leaves of `client`'s jobs 0..n-1 at `price`, of the registered circuit with the
    /// fixture's public inputs and a proof its verifier rejects, and the client's awards
    /// of them to the cheater, due in two hours.
    function _badLeavesOfClient(uint256 n, uint256 price)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves, MarketTypes.Award[] memory awards)
    {
        leaves = new MarketTypes.Leaf[](n);
        awards = new MarketTypes.Award[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = MarketTypes.Leaf({
                jobId: _jobId(client, _nonce(i)),
                circuitId: circuit,
                publicInputsHash: keccak256(abi.encodePacked(inputs)),
                proofHash: keccak256(_badProof()),
                client: client,
                price: price
            });
            awards[i] = _award(leaves[i], cheater, uint64(block.timestamp + 2 hours));
        }
    }

    /// The sybil awards the cheater `n` jobs due in an hour, which the cheater accepts and
    /// never proves; an hour and a second later the sybil opens a missed-deadline
    /// challenge on each. Returns their ids.
    function _sybilChallenges(uint256 n) internal returns (uint256[] memory ids) {
        MarketTypes.Award[] memory awards = new MarketTypes.Award[](n);
        for (uint256 i = 0; i < n; i++) {
            awards[i] = _award(_leaf(i, sybil, SYBIL_PRICE), cheater, uint64(block.timestamp + 1 hours));
        }
        vm.warp(block.timestamp + 1 hours + 1);
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = _challengeMissedOf(sybil, sybil, sybilKey, awards[i]);
        }
    }

    /// The watchtower challenges every leaf of `batchId` as invalid with the rejected
    /// proof; returns what each slash took from the cheater.
    function _challengeAllInvalid(uint256 batchId, MarketTypes.Leaf[] memory leaves)
        internal
        returns (uint256[] memory taken)
    {
        taken = new uint256[](leaves.length);
        bytes memory badProof = _badProof();
        for (uint256 i = 0; i < leaves.length; i++) {
            (uint256 before,) = _available(cheater);
            _challengeInvalidAt(watchtower, batchId, leaves, i, badProof);
            (uint256 afterwards,) = _available(cheater);
            taken[i] = before - afterwards;
            assertTrue(market.slashed(_jobKey(cheater, client, leaves[i].jobId)), "every invalid leaf slashed");
        }
    }

    /// Each of `leaves` (batch `batchId`), claimed alone with its award, reverts JobSlashed.
    function _assertNoneIsPaid(uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award[] memory awards)
        internal
    {
        for (uint256 i = 0; i < leaves.length; i++) {
            bytes memory sig = _sign(clientKey, awards[i]);
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, leaves[i].jobId));
            _claimJob(cheater, batchId, leaves, i, _nonce(i), awards[i], sig);
            assertFalse(market.isPaid(client, cheater, _nonce(i)));
        }
    }
}
