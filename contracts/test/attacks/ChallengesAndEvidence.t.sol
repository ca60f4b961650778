// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// Attacks on the mechanism: bounded challenges with no escape (property 8), and challenges
/// that cannot be copied (commit–reveal of evidence). Each is written as its attacker would
/// try it, asserting that it fails and that the attacker ends poorer (or no richer) than
/// playing by the rules; docs/contracts.md's threat model names each test. The setting and
/// the shared helpers are in AttacksBase.
contract ChallengesAndEvidenceAttacksTest is AttacksBase {
    // ---- bounded challenges, no escape (property 8) --------------------------------------

    /// A year after a deadline, a challenger tries to slash an honest prover that has
    /// since gone offline (and so cannot answer): refused, the challenger keeps its bond.
    function test_attack_missedDeadlineChallengeLongAfterTheDeadlineIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        uint64 closesAt = award.deadline + DEADLINE_PERIOD;
        vm.warp(award.deadline + 365 days);
        _expectMissedRevert(award, abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, closesAt));
        // The last second of the period is still open.
        vm.warp(closesAt);
        _challengeMissed(award);
    }

    /// A challenger reopens a missed-deadline challenge after the prover answered it,
    /// hoping to catch it offline the second time: refused.
    function test_attack_reopeningAnAnsweredMissedDeadlineChallengeIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        MarketTypes.Leaf[] memory leaves = _leavesFrom(1, 1, client);
        uint256 batchId = _commit(cheater, leaves);
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        uint256 creditsBefore = market.credits(cheater);
        market.answerMissedDeadline(id, _at(batchId, leaves, 0));
        assertEq(market.credits(cheater) - creditsBefore, BOND, "the answer earned the bond");
        _expectMissedRevert(award, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, award.jobId));
        assertFalse(_isDisputed(cheater));
    }

    /// The same for a withheld-proof challenge: once the proof was revealed, the leaf
    /// cannot be challenged as withheld again.
    function test_attack_rechallengingARevealedLeafAsWithheldIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = MarketTypes.Leaf({
            jobId: _jobId(client, 1),
            circuitId: circuit,
            publicInputsHash: keccak256(abi.encodePacked(inputs)),
            proofHash: keccak256(proof),
            client: client,
            price: 1 gwei
        });
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        market.revealProof(id, inputs, proof);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, leaves[0].jobId));
        market.challengeWithheldProof{value: BOND}(_at(batchId, leaves, 0), NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// The cheater registers, wins an award with the longest deadline and unbonds its whole
    /// stake at once.
    function _unbondAfterALongAward() internal returns (MarketTypes.Award memory award) {
        _register(cheater, MIN_STAKE);
        award = _award(_leaf(1, client, 1 gwei), cheater, uint64(block.timestamp + MAX_DEADLINE));
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
    }

    /// Finalizes challenge `id` after its response window, then withdraws the cheater's
    /// unbonded stake: the slash was taken first.
    function _finalizeThenWithdraw(uint256 id) internal {
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        _passUnbonding(cheater);
        uint256 balanceBefore = cheater.balance;
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(cheater.balance - balanceBefore, MIN_STAKE - SLASH_PER_JOB, "the slash was taken first");
    }

    /// A prover accepts a job with the longest deadline the market allows and unbonds its
    /// whole stake at once, planning to withdraw before the deadline so that a slash for
    /// missing it finds nothing. The withdrawal waits until the deadline's challenge
    /// period is over; the challenge comes first and the slash takes unbonding stake.
    function test_attack_withdrawingStakeBeforeALongDeadlineFails() public {
        MarketTypes.Award memory award = _unbondAfterALongAward();
        // The unbonding delay in blocks passes long before the deadline.
        vm.roll(block.number + UNBONDING_DELAY + 1);
        vm.warp(award.deadline - 1);
        uint64 unbondableAfter = _unbondableAfter(cheater);
        assertGe(unbondableAfter, uint256(award.deadline) + DEADLINE_PERIOD);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();
        // The deadline passes unmet; a watchtower challenges; nobody can answer.
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();
        _finalizeThenWithdraw(id);
    }

    /// The same cheater times its withdrawal for the last second in which its missed
    /// deadline can still be challenged (the deadline plus the period, where the deadline
    /// is as late as `maxDeadline` allows after its `unbond`). The stake stays until the
    /// second after: the challenge of that last second still finds it.
    function test_attack_withdrawingInTheLastSecondOfTheChallengePeriodFails() public {
        MarketTypes.Award memory award = _unbondAfterALongAward();
        uint64 lastSecond = award.deadline + DEADLINE_PERIOD;
        assertEq(_unbondableAfter(cheater), lastSecond + 1);
        vm.roll(block.number + UNBONDING_DELAY + 1);
        vm.warp(lastSecond);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, lastSecond + 1));
        market.withdrawStake();
        _finalizeThenWithdraw(_challengeMissed(award));
    }

    // ---- a challenge cannot be copied (commit–reveal of evidence) ---------------------------

    /// Anyone who copies challenges out of the mempool.
    address internal copier = makeAddr("copier");

    /// EvidenceNotCommitted(committedAt).
    function _notCommitted(uint256 committedAt) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, committedAt);
    }

    /// `who` commits to itself sending the challenge input `call` (`_evidenceDigest`) in
    /// the current block.
    function _commitTo(address who, bytes memory call) internal {
        vm.prank(who);
        market.commitEvidence(_evidenceDigest(who, call));
    }

    /// After a copied bonded challenge: the watchtower has its bond back and the reward, the
    /// copier has no credit and its bond never left, the cheater lost the full slash.
    function _assertOnlyTheWatchtowerWasPaid(address copier_) internal view {
        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower: its bond back and the reward");
        assertEq(market.credits(copier_), 0, "the copier: nothing");
        assertEq(copier_.balance, BOND, "its bond never left");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash, none of it recouped");
    }

    /// The cheater, registered, commits one leaf whose proof (all zero) does not verify;
    /// returns it, its inclusion, the proof and the input of its invalid-proof challenge.
    function _invalidLeafAndItsChallenge()
        internal
        returns (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call)
    {
        _register(cheater, MIN_STAKE);
        bad = new bytes(proof.length);
        leaves = _leafWith(circuit, inputs, bad);
        at = _at(_commit(cheater, leaves), leaves, 0);
        call = abi.encodeCall(market.challengeInvalidProof, (at, inputs, bad));
    }

    /// The cheater commits a leaf whose proof does not verify. A watchtower commits to its
    /// invalid-proof challenge in block N and sends it in block N+1. The cheater sees it in
    /// the mempool and sends the very same call first, from its own account, to take the
    /// reward of its own slash back (any other copier would do the same, for the reward):
    /// refused, it never committed. It commits at once and sends the copy again, still
    /// ahead of the watchtower in that block (a builder could order them so): refused, a
    /// commitment counts from the next block on. The watchtower's challenge slashes; in
    /// block N+2 the cheater's aged commitment meets a slashed job. The watchtower has its
    /// bond back and the reward; the cheater lost the full slash and recouped nothing.
    function test_attack_aCopiedInvalidProofChallengeEarnsTheCopierNothing() public {
        (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call) =
            _invalidLeafAndItsChallenge();
        vm.deal(watchtower, BOND);
        vm.deal(cheater, BOND);

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        assertEq(market.evidenceCommitments(watchtower, _evidenceDigest(watchtower, call)), block.number);
        vm.roll(block.number + 1);

        // Block N+1: the watchtower's challenge is in the mempool; the copy goes first.
        vm.prank(cheater);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        _commitTo(cheater, call);
        vm.prank(cheater);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        // Then the watchtower's own.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)));

        // Block N+2: the copy, with a commitment from an earlier block, comes too late.
        vm.roll(block.number + 1);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, leaves[0].jobId));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);

        _assertOnlyTheWatchtowerWasPaid(cheater);
    }

    /// The copier watches commitments instead of challenges: it sees the watchtower's
    /// `commitEvidence(d)` in the mempool in block N and sends the same `commitEvidence(d)`
    /// from its own account in that block, then, in block N+1, copies the watchtower's
    /// invalid-proof challenge (the very same input) and sends it first. The digest names
    /// its sender: `d` commits the copier to the watchtower sending that input, never to
    /// itself sending it, so the copy finds no commitment (EvidenceNotCommitted(0)) although
    /// the copier committed to `d` in an earlier block. The watchtower's challenge slashes
    /// and is rewarded; the copier gets nothing, and its copied commitment stays unusable.
    function test_attack_aCopiedCommitmentCommitsTheCopierToNothing() public {
        (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call) =
            _invalidLeafAndItsChallenge();
        bytes32 d = _evidenceDigest(watchtower, call);
        vm.deal(watchtower, BOND);
        vm.deal(copier, BOND);

        // Block N: the watchtower commits, and the copier sends the same commitment.
        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(d);
        vm.prank(copier);
        market.commitEvidence(d);
        assertEq(market.evidenceCommitments(copier, d), n, "the copier holds the same digest, of block N");
        vm.roll(n + 1);

        // Block N+1: the copy of the watchtower's challenge goes first.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        // Then the watchtower's own.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)));
        assertEq(market.evidenceCommitments(watchtower, d), 0, "the watchtower's commitment is consumed");
        assertEq(market.evidenceCommitments(copier, d), n, "the copier's is left, to nothing it can send");

        _assertOnlyTheWatchtowerWasPaid(copier);
    }

    /// The cheater accepts a job and misses its deadline. A watchtower commits to the
    /// missed-deadline challenge in block N and sends it in block N+1; a copier sends the
    /// same call first, to be the challenger of record and collect the reward when the
    /// challenge is finalized: refused, then refused again with a commitment of the same
    /// block. The watchtower's challenge opens; in block N+2 the copier's aged commitment
    /// meets the pending challenge, and after the slash the slashed job. Finalizing it
    /// itself, the copier only pays the watchtower.
    function test_attack_aCopiedMissedDeadlineChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        MarketTypes.Acceptance memory acc = _acceptance(award, client);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        bytes memory call = abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig));
        vm.deal(watchtower, BOND);
        vm.deal(copier, BOND);
        vm.warp(award.deadline + 1);

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
        vm.prank(watchtower);
        uint256 id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        // Block N+2: the job's challenge is the watchtower's.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        // Nobody answers; the copier finalizes, and the reward goes to the challenger.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.prank(copier);
        market.finalizeChallenge(id);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, award.jobId));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        _assertOnlyTheWatchtowerWasPaid(copier);
    }

    /// The cheater withholds the proof of a job. Its client commits to its withheld-proof
    /// challenge buying the proof (naming the job's nonce, showing its signed award) in
    /// block N and sends it in block N+1. A copier sends the very same call first, hoping
    /// to be the challenger of record and collect the reward when the cheater is slashed
    /// (from another account the call buys nothing, but a reward is a reward): it finds no commitment, then one of its own
    /// block. The client's challenge opens; in block N+2 the copier's aged commitment meets
    /// the pending challenge, and after the slash the slashed job. The client gets its bond
    /// back, the reward, and into its deposit the price and the refund; the copier nothing.
    function test_attack_aCopiedBuyingChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        MarketTypes.Inclusion memory at = _at(_commit(cheater, leaves), leaves, 0);
        Purchase memory buy = _signedPurchase(clientKey, _award(leaves[0], cheater, _buyDeadline()), 1);
        bytes memory call = _withheldCall(at, buy);
        vm.deal(client, BOND);
        vm.deal(copier, BOND);

        // Block N: the client commits to its challenge.
        _commitTo(client, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        _withheld(at, buy, BOND);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        _withheld(at, buy, BOND);
        vm.prank(client);
        uint256 id = _withheld(at, buy, BOND);
        assertTrue(_challenge(id).bought);

        // Block N+2: the job's challenge is the client's.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _withheld(at, buy, BOND);

        // The cheater never reveals; the copier finalizes, and the reward is the client's.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.prank(copier);
        market.finalizeChallenge(id);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, leaves[0].jobId));
        _withheld(at, buy, BOND);

        assertEq(market.credits(client), BOND + REWARD, "the client: its bond back and the reward");
        assertEq(market.deposits(client), PRICE + REFUND, "and the price back, and the refund");
        assertEq(market.credits(copier), 0, "the copier: nothing");
        assertEq(copier.balance, BOND, "its bond never left");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash");
    }

    /// The cheater commits two different leaves for one job. A watchtower commits to the
    /// equivocation challenge (no bond) in block N and sends it in block N+1; a copier
    /// sends the same call first, to take the reward: refused, then refused again with a
    /// commitment of the same block; in block N+2 the job is slashed. The reward is the
    /// watchtower's.
    function test_attack_aCopiedEquivocationChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory one = _leavesFrom(1, 1, client);
        MarketTypes.Leaf[] memory twin = _leavesFrom(1, 1, client);
        twin[0].proofHash = keccak256("another proof");
        MarketTypes.Inclusion memory atA = _at(_commit(cheater, one), one, 0);
        MarketTypes.Inclusion memory atB = _at(_commit(cheater, twin), twin, 0);
        bytes memory call = abi.encodeCall(market.challengeEquivocation, (atA, atB));

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeEquivocation(atA, atB);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeEquivocation(atA, atB);
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        // Block N+2: too late.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, one[0].jobId));
        market.challengeEquivocation(atA, atB);

        assertEq(market.credits(watchtower), REWARD, "the watchtower: the reward (no bond)");
        assertEq(market.credits(copier), 0, "the copier: nothing");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB);
    }

    /// A griefer tries to undo a watchtower's commitment: it sends the watchtower's very
    /// digest, seen in the mempool, from its own account (commitments are per account: the
    /// watchtower's stays), and no call commits for another account. A commitment cannot
    /// be refreshed either, not even by its owner: the first one stays, so a later one
    /// never delays a challenge. A commitment serves one challenge: taken, it is gone, and
    /// the same input again is refused until committed again. Shown with the griefer's
    /// false invalid-proof challenge of an honest prover's valid proof, an input that stays
    /// acceptable: its commitment of the same block is refused, the one of the block
    /// before is taken (the bond goes to the prover), and the replay finds none. The
    /// griefer ends one bond poorer; the watchtower is paid.
    function test_attack_aCommitmentCannotBeRefreshedNorReused() public {
        address griefer = makeAddr("griefer");
        _register(cheater, MIN_STAKE);
        _register(prover, MIN_STAKE);
        bytes memory bad = new bytes(proof.length);
        MarketTypes.Leaf[] memory badLeaf = _leafWith(circuit, inputs, bad);
        MarketTypes.Inclusion memory atBad = _at(_commit(cheater, badLeaf), badLeaf, 0);
        MarketTypes.Leaf[] memory goodLeaf = _leafWith(circuit, inputs, proof);
        MarketTypes.Inclusion memory atGood = _at(_commit(prover, goodLeaf), goodLeaf, 0);
        bytes32 watched =
            _evidenceDigest(watchtower, abi.encodeCall(market.challengeInvalidProof, (atBad, inputs, bad)));
        bytes32 falseOne =
            _evidenceDigest(griefer, abi.encodeCall(market.challengeInvalidProof, (atGood, inputs, proof)));
        vm.deal(watchtower, BOND);
        vm.deal(griefer, 3 * BOND);

        // Block N: the watchtower commits.
        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(watched);

        // Block N+1: the griefer commits to the same digest, and the watchtower commits
        // again: the watchtower's commitment is still the one of block N.
        vm.roll(n + 1);
        vm.prank(griefer);
        market.commitEvidence(watched);
        vm.prank(watchtower);
        market.commitEvidence(watched);
        assertEq(market.evidenceCommitments(watchtower, watched), n, "neither overwritten nor refreshed");
        assertEq(market.evidenceCommitments(griefer, watched), n + 1, "the griefer's is its own");

        // The griefer's false challenge, committed in its own block: refused.
        vm.prank(griefer);
        market.commitEvidence(falseOne);
        vm.prank(griefer);
        vm.expectRevert(_notCommitted(n + 1));
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);

        // The watchtower's challenge is taken, and so is its commitment.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(atBad, inputs, bad);
        assertEq(market.evidenceCommitments(watchtower, watched), 0, "consumed");

        // Block N+2: the griefer's false challenge is taken once; the replay is refused.
        vm.roll(n + 2);
        vm.prank(griefer);
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);
        assertEq(market.evidenceCommitments(griefer, falseOne), 0, "consumed");
        vm.prank(griefer);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);

        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower is paid");
        assertEq(market.credits(prover), BOND, "the honest prover has the one bond of the false challenge");
        assertEq(griefer.balance, 2 * BOND, "the griefer lost one bond");
        assertEq(market.credits(griefer), 0);
        assertEq(_stakeOf(prover), MIN_STAKE, "the honest prover was never slashed");
    }
}
