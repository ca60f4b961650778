// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase} from "./ChallengesBase.sol";

/// The slash split at its extremes, and the slash debt: one test per rule and per revert
/// reason (docs/contracts.md). The setting, the figures used throughout and the shared
/// helpers are in ChallengesBase.
contract SlashesChallengesTest is ChallengesBase {
    // ================================================================================
    // the split at its extremes
    // ================================================================================

    /// Commits `a` and `b` as single-leaf batches of `prover` two epochs (of
    /// `challengeWindow + responseWindow + 1` blocks) apart, so that at most one leaf is at risk
    /// at a time (a stake covering one slash suffices), and the second batch's window is open.
    function _commitApart(MarketTypes.Leaf memory a, MarketTypes.Leaf memory b)
        internal
        returns (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB)
    {
        MarketTypes.Leaf[] memory one = _one(a);
        atA = _at(_commit(prover, one), one, 0);
        vm.roll(block.number + 2 * EPOCH);
        one = _one(b);
        atB = _at(_commit(prover, one), one, 0);
    }

    /// A market whose slash is the whole least stake (`slashPerJob` = `minStake` = STAKE),
    /// split 75 % reward and 25 % refund; the prover registered with STAKE.
    function _wholeStakeMarket() internal {
        MarketTypes.Params memory p = _params();
        p.minStake = STAKE;
        p.slashPerJob = STAKE;
        p.rewardBps = 7_500;
        p.refundBps = 2_500;
        market = new ProverMarket(p);
        _register(prover, STAKE);
    }

    /// slashPerJob = minStake: one slash takes the whole least stake; reward + refund =
    /// 100 %: nothing burns.
    function test_slash_slashPerJobOfMinStakeTakesTheWholeStakeWithoutBurn() public {
        _wholeStakeMarket();
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(5 ether, 5 ether);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        uint256 burnBefore = address(0).balance;
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, a.jobId, client, MarketTypes.Fault.Equivocation, watchtower, STAKE, 3 ether, 1 ether, 0
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        assertEq(_stakeOf(prover), 0);
        assertEq(market.credits(watchtower), 3 ether);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.totalBurned(), 0);
        assertEq(address(0).balance, burnBefore);
        assertEq(address(market).balance, STAKE, "everything stays: credit and deposit");
        assertFalse(_isStaked(prover));

        vm.prank(watchtower);
        market.withdrawCredits();
        assertEq(watchtower.balance, 3 ether);
        assertEq(address(market).balance, 1 ether, "the client's refunded deposit");
    }

    /// The same split with a cheap job: what the refund cap keeps back is burned.
    function test_slash_refundCapBurnsTheRest() public {
        _wholeStakeMarket();
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(0.25 ether, 0.75 ether);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);
        assertEq(market.deposits(client), 0.25 ether);
        assertEq(market.totalBurned(), 0.75 ether);
        assertEq(address(market).balance, STAKE - 0.75 ether);
    }

    /// Opens a missed-deadline challenge on job `nonce` of `client` (price 1 ether, due in
    /// an hour), one second after its deadline.
    function _openMissedJob(uint64 nonce) internal returns (uint256 id, bytes32 jobId) {
        MarketTypes.Award memory award = _award(_leaf(nonce, client, 1 ether), prover);
        jobId = award.jobId;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        id = _challengeMissed(acc, accSig, award, awardSig);
    }

    /// A missed deadline's slash (no leaf at risk, none held here) takes `slashPerJob` from
    /// unbonding stake first, then bonded stake, and all that is left once less than
    /// `slashPerJob` remains, owing the rest. (Missed deadlines are jobs never committed,
    /// so the exposure bound does not limit them.)
    function test_slash_takesWhatIsLeftWhenLessThanSlashPerJob() public {
        MarketTypes.Params memory p = _params();
        p.slashPerJob = MIN_STAKE;
        market = new ProverMarket(p);
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.75 ether); // bonded 0.75 ether, unbonding 0.75 ether
        (uint256 first, bytes32 firstJob) = _openMissedJob(JOB);
        (uint256 second, bytes32 secondJob) = _openMissedJob(JOB + 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            firstJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            1 ether,
            0.3 ether,
            0.2 ether,
            0.5 ether
        );
        market.finalizeChallenge(first);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0, "0.75 ether unbonding first");
        assertEq(_stakeOf(prover), 0.5 ether, "then 0.25 ether bonded");
        assertEq(_debtOf(prover), 0);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            secondJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            0.5 ether,
            0.15 ether,
            0.1 ether,
            0.25 ether
        );
        market.finalizeChallenge(second);
        (unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 0);
        assertEq(unbonding, 0);
        assertEq(_debtOf(prover), 0.5 ether, "the rest of the second slash owed");
        assertEq(market.totalBurned(), 0.75 ether);
        assertEq(market.credits(watchtower), 2 * BOND + 0.45 ether);
        assertEq(market.deposits(client), 0.3 ether);
        assertEq(address(market).balance, 2 * BOND + 0.45 ether + 0.3 ether, "credits and deposit only");
    }

    /// A slash conserves value: the stake and unbonding stake lose exactly `amount`
    /// (`slashPerJob`), and reward + refund + burn = amount, for any fixed slash, stake,
    /// split and price.
    function testFuzz_slash_splitConservesValue(
        uint256 slashPerJob,
        uint256 stake,
        uint256 unbonding,
        uint16 rewardBps,
        uint16 refundBps,
        uint256 price
    ) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        unbonding = bound(unbonding, 0, stake);
        price = bound(price, 0, 1e30);
        MarketTypes.Params memory p = _params();
        p.slashPerJob = bound(slashPerJob, 1, MIN_STAKE);
        p.rewardBps = uint16(bound(rewardBps, 0, 10_000));
        p.refundBps = uint16(bound(refundBps, 0, 10_000 - p.rewardBps));
        market = new ProverMarket(p);
        _register(prover, stake);

        uint256 amount = _min(p.slashPerJob, stake);
        uint256 reward = amount * p.rewardBps / 10_000;
        uint256 refund = _min(amount * p.refundBps / 10_000, price);
        uint256 burned = amount - reward - refund;
        _equivocateAfterUnbonding(unbonding, price, amount, reward, refund, burned);

        assertEq(amount, p.slashPerJob, "the least stake covers one slash");
        assertLe(reward + refund, amount);
        (uint256 unbondingAfter,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover) + unbondingAfter, stake - amount);
        // Bonded stake goes first.
        assertEq(_stakeOf(prover), amount <= stake - unbonding ? stake - unbonding - amount : 0);
        assertEq(market.credits(watchtower), reward);
        assertEq(market.deposits(client), refund);
        assertEq(market.totalBurned(), burned);
        assertEq(address(market).balance, stake - burned);
    }

    /// Commits job 7 twice with different proofs, unbonds `unbonding`, and has the
    /// watchtower prove the equivocation, expecting exactly this `Slashed` event.
    function _equivocateAfterUnbonding(
        uint256 unbonding,
        uint256 price,
        uint256 amount,
        uint256 reward,
        uint256 refund,
        uint256 burned
    ) internal {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(price, price);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        if (unbonding != 0) {
            vm.prank(prover);
            market.unbond(unbonding);
        }
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, a.jobId, client, MarketTypes.Fault.Equivocation, watchtower, amount, reward, refund, burned
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);
    }

    function _min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    // ================================================================================
    // slash debt
    // ================================================================================

    /// A market at the fixture's parameters with `prover` registered with `stake`.
    function _freshMarket(uint256 stake) internal {
        market = new ProverMarket(_params());
        _register(prover, stake);
    }

    function _debt() internal view returns (uint256) {
        return _debtOf(prover);
    }

    /// Opens missed-deadline challenges on `n` jobs of `client` (from nonce `from`), lets
    /// them go unanswered and finalizes them; returns what each took from the prover.
    function _missedSlashes(uint64 from, uint256 n) internal returns (uint256[] memory taken) {
        uint256[] memory ids = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            (ids[i],) = _openMissedJob(from + uint64(i));
        }
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taken = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            (uint256 unbonding,) = _unbondingOf(prover);
            uint256 before = _stakeOf(prover) + unbonding;
            market.finalizeChallenge(ids[i]);
            (unbonding,) = _unbondingOf(prover);
            taken[i] = before - _stakeOf(prover) - unbonding;
        }
    }

    /// A missed deadline's slash takes only what the stake holds beyond the leaves at risk
    /// (`slashPerJob` each), at most `slashPerJob`; the rest of `slashPerJob` is debt. The
    /// `Slashed` event's split is that of what was taken (nothing: all zero).
    function test_slash_missedDeadlineTakesOnlyTheSurplusAndOwesTheRest() public {
        _freshMarket(MIN_STAKE + SLASH / 2);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client)); // the whole cover
        (uint256 first, bytes32 firstJob) = _openMissedJob(JOB);
        (uint256 second, bytes32 secondJob) = _openMissedJob(JOB + 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        uint256 half = SLASH / 2;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            firstJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            half,
            half * REWARD_BPS / 10_000,
            half * REFUND_BPS / 10_000,
            half - half * REWARD_BPS / 10_000 - half * REFUND_BPS / 10_000
        );
        market.finalizeChallenge(first);
        assertEq(_stakeOf(prover), MIN_STAKE);
        assertEq(_debt(), half, "the rest of the slash");
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(prover, secondJob, client, MarketTypes.Fault.MissedDeadline, watchtower, 0, 0, 0, 0);
        market.finalizeChallenge(second);
        assertEq(_stakeOf(prover), MIN_STAKE, "nothing beyond the leaves at risk is left");
        assertEq(_debt(), half + SLASH, "the whole slash owed");
        assertTrue(market.slashed(_jobKey(prover, client, secondJob)), "slashed all the same");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, MIN_STAKE / SLASH);
        assertEq(covered, (MIN_STAKE - half - SLASH) / SLASH, "the debt covers no leaf");
    }

    /// With no leaf at risk, a missed deadline takes the full slash and owes nothing.
    function test_slash_missedDeadlineWithNoLeafAtRiskTakesTheFullSlash() public {
        _freshMarket(MIN_STAKE);
        uint256[] memory taken = _missedSlashes(JOB, 2);
        assertEq(taken[0], SLASH);
        assertEq(taken[1], SLASH);
        assertEq(_debt(), 0);
    }

    /// Unbonding stake counts: a missed deadline takes the surplus of stake and unbonding
    /// stake together beyond the leaves at risk (all of it unbonding here: unbonding stake
    /// goes first in any case).
    function test_slash_missedDeadlineTakesTheSurplusOfUnbondingStakeToo() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH - 3, client));
        vm.prank(prover);
        market.unbond(MIN_STAKE);
        uint256[] memory taken = _missedSlashes(JOB, 4);
        assertEq(taken[0] + taken[1] + taken[2], 3 * SLASH, "three slashes of surplus, from unbonding");
        assertEq(taken[3], 0);
        assertEq(_debt(), SLASH);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, MIN_STAKE - 3 * SLASH, "what backs the leaves at risk stays");
    }

    /// A missed deadline's slash is of no leaf at risk: it takes unbonding stake first, so
    /// while the unbonding stake covers it the bonded stake, which backs the leaves at
    /// risk, is untouched (and cannot be emptied for a withdrawal of the untouched
    /// unbonding stake); only once the unbonding stake is gone does it take bonded stake
    /// beyond the cover of the leaves at risk, then owe the rest.
    function test_slash_missedDeadlineTakesUnbondingStakeFirst() public {
        _freshMarket(MIN_STAKE + 3 * SLASH + SLASH / 2);
        uint256 n = MIN_STAKE / SLASH;
        _commit(prover, _leaves(n, client)); // what MIN_STAKE covers
        vm.prank(prover);
        market.unbond(3 * SLASH); // bonded MIN_STAKE + SLASH / 2: half a slash of surplus
        uint256[] memory taken = _missedSlashes(JOB + 1000, 2);
        assertEq(taken[0], SLASH);
        assertEq(taken[1], SLASH);
        assertEq(_stakeOf(prover), MIN_STAKE + SLASH / 2, "bonded stake untouched");
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, SLASH, "both slashes from unbonding stake");
        assertEq(_debt(), 0);

        // Then the rest of the unbonding stake, the bonded surplus, and the rest is owed.
        taken = _missedSlashes(JOB + 2000, 3);
        assertEq(taken[0], SLASH, "the last of the unbonding stake");
        assertEq(taken[1], SLASH / 2, "the bonded surplus");
        assertEq(taken[2], 0, "nothing beyond the leaves at risk");
        (unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
        assertEq(_stakeOf(prover), MIN_STAKE, "the cover of the leaves at risk stays bonded");
        assertEq(_debt(), SLASH / 2 + SLASH, "the rest owed");
        (uint256 atRisk,) = market.exposure(prover);
        assertEq(atRisk, n, "the leaves still count at risk");
    }

    /// Commits one leaf of `client` (an unregistered circuit: nobody can reveal it) as a
    /// batch of `prover`, has the watchtower challenge it as withheld; returns the
    /// challenge and the batch's block.
    function _withheldLeaf() internal returns (uint256 id, uint256 committedAt) {
        MarketTypes.Leaf[] memory leaves = _one(_leaf(JOB, client, 1 gwei));
        committedAt = block.number;
        id = _challengeWithheld(watchtower, _commit(prover, leaves), leaves, 0);
    }

    /// The first block from which a leaf of a batch of block `committedAt` no longer counts
    /// at risk: the start of the second epoch (of `challengeWindow + responseWindow + 1`
    /// blocks) after its own.
    function _leftTheCountAt(uint256 committedAt) internal pure returns (uint256) {
        return (committedAt / EPOCH + 2) * EPOCH;
    }

    /// A withheld proof finalized while its leaf still counts at risk (the last block it
    /// does) takes the full slash, even out of stake that backs other leaves at risk: its
    /// leaf is among them.
    function test_slash_withheldProofStillAtRiskTakesTheFullSlash() public {
        _freshMarket(MIN_STAKE);
        (uint256 id, uint256 committedAt) = _withheldLeaf();
        vm.roll(_leftTheCountAt(committedAt) - 1);
        _commit(prover, _leaves(MIN_STAKE / SLASH - 1, client)); // the rest of the cover
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, covered, "the whole cover, the withheld leaf included");
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "the full slash");
        assertEq(_debt(), 0);
    }

    /// Regression (a review found it with epochs of `challengeWindow + responseWindow`
    /// blocks): a withheld-proof challenge opened in the last block of its window, on a batch
    /// committed in the last block of an epoch, is first finalizable at `respondBy + 1` =
    /// batch + W + R + 1, the very block its leaf used to leave the count. The prover then
    /// refilled the freed cover, and even a prompt finalization was a slash of no leaf at
    /// risk: nothing taken, all owed (no reward, no refund). With epochs of W + R + 1 blocks
    /// that block is the last the leaf counts in: the cover is not free (the refill is
    /// refused) and the prompt finalization takes the full `slashPerJob`, reward and refund
    /// paid. The leaf leaves the count one block later (batch + W + R + 2), where a second
    /// challenge opened with the first, finalized a block late, is a slash of no leaf at
    /// risk, as docs/contracts.md says (only a finalization after the leaf left the count,
    /// which a prompt finalization never is).
    function test_slash_promptFinalizationOfAWithheldChallengeOpenedAtTheEndOfItsWindowIsAtRisk() public {
        _freshMarket(MIN_STAKE + SLASH); // may still commit after one slash
        uint256 cover = MIN_STAKE / SLASH + 1;
        vm.roll((block.number / EPOCH + 1) * EPOCH - 1); // the last block of an epoch
        MarketTypes.Leaf[] memory leaves = _leaves(cover, client); // the whole cover, unrevealable
        uint256 committedAt = block.number;
        uint256 batchId = _commit(prover, leaves);
        vm.roll(committedAt + CHALLENGE_WINDOW); // the window's last block
        uint256 prompt = _challengeWithheld(watchtower, batchId, leaves, 0);
        uint256 late = _challengeWithheld(watchtower, batchId, leaves, 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1); // the first block finalization is possible
        assertEq(block.number, committedAt + CHALLENGE_WINDOW + RESPONSE_WINDOW + 1);
        assertEq(block.number, _leftTheCountAt(committedAt) - 1, "the last block the leaf counts in");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, cover, "the challenged leaves still count");
        assertEq(covered, cover);

        // The prover would refill its cover: none is free.
        MarketTypes.Leaf[] memory next = new MarketTypes.Leaf[](1);
        next[0] = _leaf(1000, client, 1 gwei);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, cover + 1, cover));
        market.commitBatch(next);

        // As prompt as it can be: the full slash, reward and refund (capped at the price).
        _finalizedInFull(prompt, leaves[0]);

        // One block later the leaves leave the count: the cover left is free, the prover
        // refills it, and the other challenge, finalized a block late, takes nothing.
        vm.roll(block.number + 1);
        assertEq(block.number, _leftTheCountAt(committedAt), "the leaf leaves the count here");
        (atRisk, covered) = market.exposure(prover);
        assertEq(atRisk, 0, "the leaves left the count");
        assertEq(covered, cover - 1);
        next = new MarketTypes.Leaf[](cover - 1);
        for (uint256 i = 0; i < next.length; i++) {
            next[i] = _leaf(1000 + i, client, 1 gwei);
        }
        _commit(prover, next); // the freed cover, refilled
        market.finalizeChallenge(late);
        assertEq(_stakeOf(prover), MIN_STAKE, "a late finalization takes none of the cover");
        assertEq(_debt(), SLASH, "and is owed in full");
    }

    /// The rule the regression above checks at its edge, wherever the batch falls in its
    /// epoch and whenever in its window the challenge is opened: the prover refills all the
    /// cover it can in the first block a withheld-proof challenge can be finalized, and a
    /// finalization in that block still takes the full `slashPerJob`.
    function testFuzz_slash_promptFinalizationOfAWithheldChallengeIsAtRisk(uint256 offset, uint256 opened) public {
        _freshMarket(MIN_STAKE);
        vm.roll(block.number + bound(offset, 0, 2 * EPOCH));
        MarketTypes.Leaf[] memory leaves = _leaves(MIN_STAKE / SLASH, client); // the whole cover
        uint256 committedAt = block.number;
        uint256 batchId = _commit(prover, leaves);
        vm.roll(committedAt + bound(opened, 1, CHALLENGE_WINDOW));
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        vm.roll(block.number + RESPONSE_WINDOW + 1); // the first block finalization is possible
        assertLt(block.number, _leftTheCountAt(committedAt), "the leaf still counts");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        if (covered > atRisk) {
            MarketTypes.Leaf[] memory next = new MarketTypes.Leaf[](covered - atRisk);
            for (uint256 i = 0; i < next.length; i++) {
                next[i] = _leaf(1000 + i, client, 1 gwei);
            }
            _commit(prover, next); // the freed cover, refilled
        }
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "a prompt finalization is slashed in full");
        assertEq(_debt(), 0, "nothing owed");
    }

    /// Finalizes withheld-proof challenge `id` (by `watchtower`, of `leaf`, whose price is
    /// below the refund) and checks it took the full slash: the reward credited with the
    /// bond, the refund (the price) into the client's deposit, the rest burned, no debt.
    function _finalizedInFull(uint256 id, MarketTypes.Leaf memory leaf) internal {
        uint256 reward = SLASH * REWARD_BPS / 10_000;
        assertLt(leaf.price, SLASH * REFUND_BPS / 10_000);
        uint256 stake = _stakeOf(prover);
        uint256 credits = market.credits(watchtower);
        uint256 deposit = market.deposits(leaf.client);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaf.jobId,
            leaf.client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            reward,
            leaf.price,
            SLASH - reward - leaf.price
        );
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), stake - SLASH, "a promptly finalized withheld proof is slashed in full");
        assertEq(_debt(), 0, "nothing owed");
        assertEq(market.credits(watchtower), credits + BOND + reward, "bond and reward");
        assertEq(market.deposits(leaf.client), deposit + leaf.price, "the refund");
    }

    /// Finalized from the block its leaf left the count, it is a slash of no leaf at risk:
    /// it takes only the surplus beyond the leaves at risk (none here) and owes the rest.
    function test_slash_withheldProofFinalizedAfterItsLeafLeftTheCountOwesTheRest() public {
        _freshMarket(MIN_STAKE);
        (uint256 id, uint256 committedAt) = _withheldLeaf();
        vm.roll(_leftTheCountAt(committedAt));
        _commit(prover, _leaves(MIN_STAKE / SLASH, client)); // the whole cover
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, _jobId(client, JOB), client, MarketTypes.Fault.WithheldProof, watchtower, 0, 0, 0, 0
        );
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE, "nothing taken");
        assertEq(_debt(), SLASH, "all owed");
        assertEq(market.credits(watchtower), BOND, "the bond back, no reward");
    }

    /// An invalid-proof slash is of a leaf at risk: it takes the full slash whatever the
    /// debt (out of the stake that covers that leaf).
    function test_slash_invalidProofTakesTheFullSlashWhateverTheDebt() public {
        _freshMarket(MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(MIN_STAKE / SLASH, client);
        // Of a circuit the fresh market never registered: invalid whatever the proof.
        leaves[0] = _realLeaf(JOB, 1 gwei, badProof);
        uint256 batchId = _commit(prover, leaves);
        _missedSlashes(100, 2);
        assertEq(_debt(), 2 * SLASH);
        MarketTypes.Inclusion memory at = _at(batchId, leaves, 0);
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (at, inputs, badProof)));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, badProof);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "the full slash");
        assertEq(_debt(), 2 * SLASH, "the debt unchanged");
    }

    /// The withdrawal burns the debt first (to address(0), counted in `totalBurned`) and
    /// pays the rest.
    function test_withdrawStake_burnsTheDebtFirst() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client));
        _missedSlashes(JOB + 1000, 3);
        assertEq(_debt(), 3 * SLASH);
        vm.prank(prover);
        market.unbond(0.5 ether);
        _passUnbonding(prover);
        uint256 burnedBefore = market.totalBurned();
        uint256 zeroBefore = address(0).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 0.5 ether - 3 * SLASH, 3 * SLASH);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 0.5 ether - 3 * SLASH, "the rest paid");
        assertEq(market.totalBurned() - burnedBefore, 3 * SLASH);
        assertEq(address(0).balance - zeroBefore, 3 * SLASH, "burned");
        assertEq(_debt(), 0);
        (, uint256 covered) = market.exposure(prover);
        assertEq(covered, 0.5 ether / SLASH, "the stake left covers leaves again in full");
    }

    /// A debt larger than the unbonding stake takes all of it; the rest stays owed.
    function test_withdrawStake_burnsAllOfASmallerUnbondingAndKeepsTheRestOwed() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client));
        _missedSlashes(JOB + 1000, 3);
        vm.prank(prover);
        market.unbond(SLASH);
        _passUnbonding(prover);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 0, SLASH);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 0, "nothing paid");
        assertEq(_debt(), 2 * SLASH, "the rest still owed");
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
    }

    /// Whatever the stake, unbonding stake, leaves at risk and number of missed
    /// deadlines, each slash takes `min(slashPerJob, free)` where free is what stake and
    /// unbonding hold beyond the debt and the leaves at risk, and owes the rest: taken +
    /// debt added is exactly `slashPerJob`, and nothing the leaves at risk need is taken;
    /// the slashes take unbonding stake first, then bonded.
    function testFuzz_slash_missedDeadlinesNeverTakeTheCoverOfLeavesAtRisk(
        uint256 stake,
        uint256 unbonding,
        uint256 gap,
        uint256 n
    ) public {
        stake = bound(stake, MIN_STAKE, MIN_STAKE + 5 * SLASH);
        unbonding = bound(unbonding, 0, stake - MIN_STAKE);
        uint256 leaves = stake / SLASH - bound(gap, 0, 3);
        n = bound(n, 1, 5);
        _freshMarket(stake);
        _commit(prover, _leaves(leaves, client));
        if (unbonding != 0) {
            vm.prank(prover);
            market.unbond(unbonding);
        }
        uint256 total = stake;
        uint256 debt;
        uint256[] memory taken = _missedSlashes(JOB + 1000, n);
        for (uint256 i = 0; i < n; i++) {
            uint256 held = debt + leaves * SLASH;
            uint256 free = total > held ? total - held : 0;
            uint256 expected = _min(SLASH, free);
            assertEq(taken[i], expected, "took the surplus, at most a slash");
            total -= expected;
            debt += SLASH - expected;
        }
        assertEq(_debt(), debt, "owes the rest of each slash");
        (uint256 left,) = _unbondingOf(prover);
        assertGe(_stakeOf(prover) + left, leaves * SLASH, "the leaves at risk are still covered");
        uint256 sum = stake - total;
        uint256 fromStake = sum > unbonding ? sum - unbonding : 0;
        assertEq(_stakeOf(prover), stake - unbonding - fromStake, "unbonding stake first, then bonded");
    }
}
