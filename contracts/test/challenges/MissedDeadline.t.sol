// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase} from "./ChallengesBase.sol";

/// The missed-deadline challenge and its answer: one test per rule and per revert reason
/// (docs/contracts.md). The setting, the figures used throughout and the shared helpers are
/// in ChallengesBase.
contract MissedDeadlineChallengesTest is ChallengesBase {
    // ================================================================================
    // challengeMissedDeadline / answerMissedDeadline
    // ================================================================================

    function test_challengeMissedDeadline_opensAChallenge() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        _evidenceMissed(acc, accSig, award, awardSig);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, award.jobId, MarketTypes.Fault.MissedDeadline, watchtower, client, respondBy
        );
        uint256 id = _sendMissed(acc, accSig, award, awardSig);

        MarketTypes.Challenge memory c = _challenge(id);
        assertEq(uint8(c.fault), uint8(MarketTypes.Fault.MissedDeadline));
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(c.respondBy, respondBy);
        assertEq(c.deadline, award.deadline);
        assertEq(c.challenger, watchtower);
        assertEq(c.prover, prover);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 1 ether);
        assertEq(c.jobId, award.jobId);
        assertEq(c.circuitId, award.circuitId, "the awarded statement: what an answer must show");
        assertEq(c.publicInputsHash, award.publicInputsHash);
        assertEq(c.proofHash, bytes32(0));
        assertEq(_openChallenges(prover), 1);
        assertEq(market.pendingChallenge(_jobKey(prover, client, award.jobId)), id + 1);
    }

    function test_acceptanceDigest_isEip712() public view {
        MarketTypes.Acceptance memory a = _acceptanceOf(_mdAward());
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("provernet"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes32 typeHash = keccak256(
            "Acceptance(bytes32 jobId,address client,bytes32 inputHash,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)"
        );
        bytes32 structHash = keccak256(
            abi.encode(typeHash, a.jobId, a.client, a.inputHash, a.price, a.deadline, a.circuitId, a.publicInputsHash)
        );
        assertEq(market.acceptanceDigest(a), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    function test_challengeMissedDeadline_revertsOnWrongBond() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 0));
        market.challengeMissedDeadline(acc, accSig, award, awardSig);
    }

    function test_challengeMissedDeadline_revertsOnMalformedAwardSignature() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        vm.warp(award.deadline + 1);
        bytes memory err = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        _expectMissedRevert(acc, accSig, award, "", err);
        _expectMissedRevert(acc, accSig, award, abi.encodePacked(bytes32(0), bytes32(0), uint8(27)), err);
    }

    /// An award signed by someone else names another client than the acceptance does.
    function test_challengeMissedDeadline_revertsOnAwardSignedBySomeoneElse() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(otherClientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AcceptanceMismatch.selector)
        );
    }

    function test_challengeMissedDeadline_revertsOnAcceptanceSignedBySomeoneElse() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(otherProverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    /// The prover accepted; the award names another prover, whose acceptance is missing.
    function test_challengeMissedDeadline_revertsOnAcceptanceForAnotherProversAward() public {
        _register(otherProver, MIN_STAKE);
        MarketTypes.Award memory award = _mdAward();
        award.prover = otherProver;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    function test_challengeMissedDeadline_revertsOnMalformedAcceptanceSignature() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, hex"1234", award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    /// Each field of the acceptance must equal the award's (the prover signs what it
    /// signs; the mismatch is caught, not a bad signature).
    function test_challengeMissedDeadline_revertsOnEachAcceptanceFieldMismatch() public {
        MarketTypes.Award memory award = _mdAward();
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        bytes memory err = abi.encodeWithSelector(MarketTypes.AcceptanceMismatch.selector);
        for (uint256 field = 0; field < 6; field++) {
            MarketTypes.Acceptance memory acc = _acceptanceOf(award);
            if (field == 0) acc.jobId = _jobId(client, JOB + 1);
            if (field == 1) acc.client = otherClient;
            if (field == 2) acc.price = award.price - 1;
            if (field == 3) acc.deadline = award.deadline + 1;
            if (field == 4) acc.circuitId = keccak256("another circuit");
            if (field == 5) acc.publicInputsHash = keccak256("other public inputs");
            _expectMissedRevert(acc, _signAcceptance(proverKey, acc), award, awardSig, err);
        }
    }

    function test_challengeMissedDeadline_revertsAtTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.DeadlineNotPassed.selector, award.deadline)
        );
    }

    function test_challengeMissedDeadline_revertsForUnregisteredProver() public {
        (address stranger, uint256 strangerKey) = makeAddrAndKey("unregistered prover");
        MarketTypes.Award memory award = _mdAward();
        award.prover = stranger;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(strangerKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
    }

    function test_challengeMissedDeadline_revertsWhileAnotherIsPending() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id)
        );
    }

    function test_challengeMissedDeadline_revertsWhenAlreadySlashed() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, award.jobId)
        );
    }

    function test_challengeMissedDeadline_revertsAlreadyAnsweredOnceAnswered() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        market.answerMissedDeadline(id, at);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, award.jobId)
        );
        assertEq(market.credits(prover), BOND);
    }

    /// A missed deadline can be challenged until `deadlineChallengePeriod` seconds after
    /// it, inclusive.
    function test_challengeMissedDeadline_acceptedAtTheEndOfTheChallengePeriod() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + DEADLINE_PERIOD);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        assertEq(_openChallenges(prover), 1);
        assertEq(_challenge(id).deadline, award.deadline);
    }

    function test_challengeMissedDeadline_revertsOneSecondAfterTheChallengePeriod() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + DEADLINE_PERIOD + 1);
        bytes memory err =
            abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, award.deadline + DEADLINE_PERIOD);
        _expectMissedRevert(acc, accSig, award, awardSig, err);
        vm.warp(award.deadline + 30 days);
        _expectMissedRevert(acc, accSig, award, awardSig, err);
        assertEq(market.challengeCount(), 0);
    }

    function test_answerMissedDeadline_leafInBatchPostedAtTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.roll(block.number + RESPONSE_WINDOW);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        market.answerMissedDeadline(id, at);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertEq(market.credits(prover), BOND);
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_jobKey(prover, client, award.jobId)), 0);
        assertEq(_stakeOf(prover), STAKE);
    }

    function test_answerMissedDeadline_revertsWhenBatchPostedAfterTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.expectRevert(
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, award.deadline + 1, award.deadline)
        );
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnBatchOfAnotherProver() public {
        _register(otherProver, MIN_STAKE);
        MarketTypes.Inclusion memory at = _commitOne(otherProver, _leaf(JOB, client, 1 ether));
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, otherProver, prover));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnLeafOfAnotherJob() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB + 1, client, 1 ether));
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnLeafOfAnotherClient() public {
        MarketTypes.Leaf memory l = _leaf(JOB, otherClient, 1 ether);
        l.jobId = _jobId(client, JOB); // the right id, under another client
        MarketTypes.Inclusion memory at = _commitOne(prover, l);
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, at);
    }

    /// The job's own leaf, for another circuit or other public inputs than the awarded
    /// ones: a proof of another statement is no delivery of this one.
    function test_answerMissedDeadline_revertsOnLeafOfAnotherStatement() public {
        MarketTypes.Leaf memory otherCircuit = _leaf(JOB, client, 1 ether);
        otherCircuit.circuitId = keccak256("another circuit");
        MarketTypes.Inclusion memory atCircuit = _commitOne(prover, otherCircuit);
        MarketTypes.Leaf memory otherInputs = _leaf(JOB, client, 1 ether);
        otherInputs.publicInputsHash = keccak256("other public inputs");
        MarketTypes.Inclusion memory atInputs = _commitOne(prover, otherInputs);
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, atCircuit);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, atInputs);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(market.credits(prover), 0);
    }

    function test_answerMissedDeadline_revertsWhenLeafNotInBatch() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        // The awarded job and statement at the awarded price, but not the committed leaf.
        at.leaf.proofHash = keccak256("a proof never committed");
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnUnknownBatch() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        at.batchId = 9;
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 9));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsAfterResponseWindow() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        (uint256 id,) = _openMissed();
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, respondBy));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnWithheldProofChallenge() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnUnknownChallenge() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 0));
        market.answerMissedDeadline(0, at);
    }

    function test_answerMissedDeadline_revertsWhenAlreadyAnswered() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        market.answerMissedDeadline(id, at);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.answerMissedDeadline(id, at);
        assertEq(market.credits(prover), BOND, "paid once");
    }

    /// A missed-deadline challenge names no batch: while it is open the job is neither
    /// payable nor final in any batch of the prover, and once answered it is both.
    function test_missedDeadline_openChallengeHoldsTheJobInEveryBatch() public {
        // The leaf's circuit is registered: a leaf of an unregistered one is never final.
        MarketTypes.Leaf memory l = _leaf(JOB, client, 1 ether);
        l.circuitId = realCircuit;
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _award(l, prover);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, l);
        vm.warp(award.deadline + 1);
        _closeWindow(at.batchId);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        assertTrue(_isDisputed(prover));
        assertFalse(_isFinal(at.batchId, at.leaf, at.path));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _claimAt(at, JOB, award, awardSig);

        market.answerMissedDeadline(id, at);
        assertFalse(_isDisputed(prover), "answered: no longer disputed");
        assertTrue(_isFinal(at.batchId, at.leaf, at.path));
        _claimAt(at, JOB, award, awardSig);
        assertEq(prover.balance, 1 ether);
    }

    /// A job slashed for a missed deadline is not paid, even from a batch posted in time
    /// (the prover did not answer).
    function test_missedDeadline_slashedJobIsNotPaid() public {
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        _closeWindow(at.batchId);
        assertFalse(_isFinal(at.batchId, at.leaf, at.path));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, award.jobId));
        _claimAt(at, JOB, award, awardSig);
    }

    function test_finalizeChallenge_slashesAnUnansweredMissedDeadline() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            award.jobId,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        market.finalizeChallenge(id);
        assertEq(market.credits(watchtower), BOND + REWARD);
        assertEq(market.deposits(client), FULL_REFUND);
        assertEq(market.totalBurned(), BURN);
        assertEq(address(market).balance, marketBefore - BURN);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertTrue(market.slashed(_jobKey(prover, client, award.jobId)));
        assertEq(_openChallenges(prover), 0);
    }
}
