// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase, EtherRefusingWatchtower} from "./ChallengesBase.sol";

/// Commitments to evidence (`commitEvidence`), credits, `isDisputed` and `isFinal`: one
/// test per rule and per revert reason (docs/contracts.md). The setting, the figures used
/// throughout and the shared helpers are in ChallengesBase.
contract EvidenceAndFinalityChallengesTest is ChallengesBase {
    // ================================================================================
    // commitEvidence
    // ================================================================================

    /// A commitment records the block it was made in, per account and digest; the first one
    /// stays (committing again, in any later block, changes nothing), and another account's
    /// commitment to the same digest is its own.
    function test_commitEvidence_recordsTheFirstBlockPerAccountAndDigest() public {
        bytes32 digest = keccak256("a challenge's input");
        bytes32 other = keccak256("another challenge's input");
        uint256 n = block.number;
        assertEq(market.evidenceCommitments(watchtower, digest), 0);
        vm.prank(watchtower);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(watchtower, digest), n);

        vm.roll(n + 3);
        vm.prank(watchtower);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(watchtower, digest), n, "the first commitment stays");
        vm.prank(otherClient);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(otherClient, digest), n + 3, "per account");
        assertEq(market.evidenceCommitments(watchtower, digest), n);
        vm.prank(watchtower);
        market.commitEvidence(other);
        assertEq(market.evidenceCommitments(watchtower, other), n + 3, "per digest");
        assertEq(market.evidenceCommitments(otherClient, other), 0);
    }

    /// A challenge is taken only with its challenger's commitment to its exact input from
    /// an earlier block, checked after the challenge's own checks: none gives
    /// EvidenceNotCommitted(0), one of this block EvidenceNotCommitted(block.number), and
    /// a refused challenge leaves the commitment in place. Taken, it consumes it.
    function test_challengeWithheldProof_takesOnlyACommitmentFromAnEarlierBlock() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        bytes32 digest = _evidenceDigest(
            watchtower, abi.encodeCall(market.challengeWithheldProof, (at, NO_NONCE, 0, bytes32(0), bytes32(0)))
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));

        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(digest);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, n));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        // Another input (another leaf) is not covered by it.
        vm.roll(n + 1);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        market.challengeWithheldProof{value: BOND}(_at(realBatch, _real(), 0), NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(market.evidenceCommitments(watchtower, digest), n, "kept through the refusals");

        vm.prank(watchtower);
        uint256 id = market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(id, 0);
        assertEq(market.evidenceCommitments(watchtower, digest), 0, "consumed");
        assertEq(_openChallenges(prover), 1);
    }

    // ================================================================================
    // withdrawCredits
    // ================================================================================

    function test_withdrawCredits_revertsWithNothingOwed() public {
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawCredits();
    }

    function test_withdrawCredits_paysZeroesAndEmits() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        uint256 owed = BOND + REWARD;
        uint256 before = watchtower.balance;
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.CreditsWithdrawn(watchtower, owed);
        vm.prank(watchtower);
        market.withdrawCredits();
        assertEq(watchtower.balance, before + owed);
        assertEq(market.credits(watchtower), 0);
        assertEq(address(market).balance, marketBefore - owed);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawCredits();
    }

    /// A recipient that refuses ether cannot block the slash that pays it; only its own
    /// withdrawal fails, and its credits stay.
    function test_withdrawCredits_revertsWhenTheRecipientRefusesEther() public {
        EtherRefusingWatchtower refuser = new EtherRefusingWatchtower(market);
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        // The market sees the refuser as the challenger: it commits from its address.
        _evidence(address(refuser), abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        refuser.challengeEquivocation(atA, atB);
        assertEq(market.credits(address(refuser)), REWARD);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TransferFailed.selector));
        refuser.withdrawCredits();
        assertEq(market.credits(address(refuser)), REWARD);
    }

    function test_withdrawCredits_proverTakesAFalseChallengersBond() public {
        _commitRealBatch();
        _challengeInvalid(0, proof);
        vm.prank(prover);
        market.withdrawCredits();
        assertEq(prover.balance, BOND);
        assertEq(address(market).balance, STAKE);
    }

    // ================================================================================
    // isDisputed
    // ================================================================================

    /// Disputed while a challenge is open or once slashed: a prover whose challenges were
    /// all answered is not, a slashed one stays disputed.
    function test_isDisputed_falseOnceEveryChallengeIsAnsweredAndTrueAfterASlash() public {
        _commitRealBatch();
        assertFalse(_isDisputed(prover));
        uint256 first = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256 second = _challengeWithheld(otherClient, realBatch, _real(), 0);
        assertTrue(_isDisputed(prover));
        market.revealProof(first, inputs, proof);
        assertTrue(_isDisputed(prover), "one challenge still open");
        market.revealProof(second, inputs, proof);
        assertFalse(_isDisputed(prover), "all answered");

        _challengeInvalid(1, badProof);
        assertTrue(_isDisputed(prover));
        assertEq(_openChallenges(prover), 0);
        _closeWindow(realBatch);
        vm.roll(block.number + 10 * UNBONDING_DELAY);
        assertTrue(_isDisputed(prover), "a slashed prover stays disputed");
        assertFalse(_isDisputed(otherProver));
    }

    // ================================================================================
    // isFinal
    // ================================================================================

    function test_isFinal_onlyAfterTheWindow() public {
        _commitRealBatch();
        bytes32[] memory path = _path(_real(), 0);
        assertFalse(_isFinal(realBatch, real[0], path));
        vm.roll(block.number + CHALLENGE_WINDOW);
        assertFalse(_isFinal(realBatch, real[0], path), "last block of the window");
        vm.roll(block.number + 1);
        assertTrue(_isFinal(realBatch, real[0], path));
    }

    function test_isFinal_falseForAnotherCircuitInputsOrProof() public {
        _commitRealBatch();
        _closeWindow(realBatch);
        MarketTypes.Leaf memory l = real[0];
        bytes32[] memory path = _path(_real(), 0);
        bytes32 other = keccak256("other");
        assertFalse(market.isFinal(other, l.publicInputsHash, l.proofHash, realBatch, l, path));
        assertFalse(market.isFinal(l.circuitId, other, l.proofHash, realBatch, l, path));
        assertFalse(market.isFinal(l.circuitId, l.publicInputsHash, other, realBatch, l, path));
        assertTrue(market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, realBatch, l, path));
    }

    function test_isFinal_falseOnBadPathOrUnknownBatch() public {
        _commitRealBatch();
        _closeWindow(realBatch);
        assertFalse(_isFinal(realBatch, real[0], _path(_real(), 1)));
        assertFalse(_isFinal(realBatch + 1, real[0], _path(_real(), 0)));
        MarketTypes.Leaf memory altered = real[0];
        altered.price += 1;
        assertFalse(_isFinal(realBatch, altered, _path(_real(), 0)));
    }

    function test_isFinal_falseForASlashedJob() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        _closeWindow(realBatch);
        assertFalse(_isFinal(realBatch, real[1], _path(_real(), 1)));
        assertTrue(_isFinal(realBatch, real[0], _path(_real(), 0)), "other jobs of the batch stay final");
    }

    /// The same leaf committed in a second batch is the same job: once the job is slashed
    /// through one copy, the other copy is not final either (and cannot be challenged
    /// again: AlreadySlashed).
    function test_isFinal_falseForASlashedJobRecommittedInAnotherBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[1]);
        _challengeInvalid(1, badProof);
        _expectInvalidRevert(copy, badProof, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        _closeWindow(copy.batchId);
        assertFalse(_isFinal(copy.batchId, copy.leaf, copy.path));
    }

    /// ... nor payable from the second batch.
    function test_claim_revertsForASlashedJobRecommittedInAnotherBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[1]);
        _challengeInvalid(1, badProof);
        _closeWindow(copy.batchId);
        _deposit(client, 1 ether);
        MarketTypes.Award memory a = _award(real[1], prover);
        bytes memory sig = _sign(clientKey, a);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, real[1].jobId));
        _claimAt(copy, 1, a, sig);
    }

    /// ... and while one copy is under challenge, the other is neither final nor payable.
    function test_isFinal_falseWhileAnotherCopyOfTheLeafIsChallenged() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[3]);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        _closeWindow(copy.batchId);
        assertFalse(_isFinal(copy.batchId, copy.leaf, copy.path));
        _deposit(client, 1 ether);
        MarketTypes.Award memory a = _award(real[3], prover);
        bytes memory sig = _sign(clientKey, a);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _claimAt(copy, 3, a, sig);
    }

    function test_isFinal_falseWhileChallengedAndTrueOnceAnswered() public {
        _commitRealBatch();
        vm.roll(block.number + CHALLENGE_WINDOW); // challenged at the last block of the window
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + 1);
        bytes32[] memory path = _path(_real(), 3);
        assertFalse(_isFinal(realBatch, real[3], path));
        market.revealProof(id, inputs, proof);
        assertTrue(_isFinal(realBatch, real[3], path));
    }
}
