// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase, EtherRefusingWatchtower} from "./ChallengesBase.sol";

/// The withheld-proof challenge, `revealProof` and `finalizeChallenge`: one test per rule
/// and per revert reason (docs/contracts.md). The setting, the figures used throughout and
/// the shared helpers are in ChallengesBase.
contract WithheldProofChallengesTest is ChallengesBase {
    // ================================================================================
    // challengeWithheldProof / revealProof
    // ================================================================================

    function test_challengeWithheldProof_opensAChallenge() public {
        _commitRealBatch();
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        uint256 marketBefore = address(market).balance;
        _evidenceWithheld(watchtower, realBatch, _real(), 3);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, real[3].jobId, MarketTypes.Fault.WithheldProof, watchtower, client, respondBy
        );
        uint256 id = _sendWithheld(watchtower, realBatch, _real(), 3);

        assertEq(id, 0);
        assertEq(market.challengeCount(), 1);
        assertEq(_openChallenges(prover), 1);
        assertEq(market.pendingChallenge(_key(real[3])), id + 1);
        assertTrue(_isDisputed(prover));
        assertEq(address(market).balance, marketBefore + BOND, "the bond is held");
        MarketTypes.Challenge memory c = _challenge(id);
        assertEq(uint8(c.fault), uint8(MarketTypes.Fault.WithheldProof));
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(c.respondBy, respondBy);
        (,, uint40 committedAt,,) = market.batches(realBatch);
        assertEq(c.deadline, committedAt, "a withheld-proof challenge holds its batch's block");
        assertFalse(c.bought, "nothing bought");
        assertEq(c.challenger, watchtower);
        assertEq(c.prover, prover);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 2 gwei);
        assertEq(c.jobId, real[3].jobId);
        assertEq(c.circuitId, realCircuit);
        assertEq(c.publicInputsHash, real[3].publicInputsHash);
        assertEq(c.proofHash, keccak256(proof));
    }

    function test_challengeWithheldProof_revertsOnUnknownBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        at.batchId = realBatch + 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, realBatch + 1));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsOnWrongBond() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND - 1));
        market.challengeWithheldProof{value: BOND - 1}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsOneBlockAfterWindow() public {
        _commitRealBatch();
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsWhenLeafNotInBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        at.leaf.price += 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// A leaf naming a circuit that is not registered (CIRCUIT has no verifier here) can be
    /// challenged as withheld; no proof answers it, not even one that another circuit's
    /// verifier accepts, so finalizing slashes.
    function test_challengeWithheldProof_opensOnAnUnregisteredCircuitAndFinalizeSlashes() public {
        assertEq(_circuit(CIRCUIT).verifier, address(0));
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 gwei);
        leaves[1] = _realLeaf(1, 1 ether, proof);
        leaves[1].circuitId = CIRCUIT;
        uint256 id = _commit(prover, leaves);
        uint256 challengeId = _challengeWithheld(watchtower, id, leaves, 1);
        assertEq(_openChallenges(prover), 1);
        assertEq(
            _challenge(challengeId).circuitId,
            bytes32(0),
            "no circuit can answer: the leaf's was not registered by its batch"
        );

        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(challengeId, inputs, proof);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaves[1].jobId,
            client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        market.finalizeChallenge(challengeId);
        assertTrue(market.slashed(_key(leaves[1])));
        // The leaf is priced at 1 ether, above `challengeBond`: the bond is `challengeBond`.
        assertEq(market.credits(watchtower), BOND + REWARD, "the bond back, and the reward");
    }

    function test_challengeWithheldProof_revertsWhileAnotherIsPending() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsWhenAlreadySlashed() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// An answered withheld-proof challenge cannot be opened again on the job, by anyone:
    /// the prover answers each fault once, not once per challenger.
    function test_challengeWithheldProof_revertsAlreadyAnsweredOnceAnswered() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[3].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        // forge-lint: disable-next-line(incorrect-shift)
        assertEq(market.answeredFaults(_key(real[3])), 1 << uint8(MarketTypes.Fault.WithheldProof));
        assertEq(market.challengeCount(), 1);
        // Other jobs of the batch can still be challenged.
        _challengeWithheld(otherClient, realBatch, _real(), 0);
        assertEq(market.challengeCount(), 2);
    }

    /// The answered bit is per fault, and AlreadySlashed and ChallengePending are checked
    /// before it.
    function test_challengeWithheldProof_answeredIsCheckedAfterSlashedAndPending() public {
        _commitRealBatch();
        uint256 withheld = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(withheld, inputs, proof);

        // A missed-deadline challenge on the same job is another fault: it opens.
        MarketTypes.Award memory award = _award(real[3], prover);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        uint256 missed = _challengeMissed(acc, accSig, award, awardSig);

        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, 2 * BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, missed));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));

        vm.roll(block.number + RESPONSE_WINDOW + 1); // still inside the batch's window
        market.finalizeChallenge(missed);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[3].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_revealProof_realProofAnswersAndPaysTheBondToTheProver() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + RESPONSE_WINDOW); // the last block to answer
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ProofRevealed(id, real[3].jobId, inputs, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        // Anyone holding the proof may reveal it: here the client.
        vm.prank(client);
        market.revealProof(id, inputs, proof);

        assertEq(market.credits(prover), BOND);
        assertEq(market.credits(watchtower), 0);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_key(real[3])), 0);
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[3])));
    }

    function test_revealProof_revertsOnUnknownChallenge() public {
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 0));
        market.revealProof(0, inputs, proof);
    }

    function test_revealProof_revertsOnMissedDeadlineChallenge() public {
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id));
        market.revealProof(id, inputs, proof);
    }

    function test_revealProof_revertsWhenAlreadyAnswered() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), BOND, "paid once");
    }

    function test_revealProof_revertsAfterResponseWindow() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, respondBy));
        market.revealProof(id, inputs, proof);
    }

    function test_revealProof_revertsOnOtherPublicInputs() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector));
        market.revealProof(id, other, proof);
    }

    function test_revealProof_revertsOnProofOtherThanCommitted() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofMismatch.selector));
        market.revealProof(id, inputs, longProof);
    }

    function test_revealProof_revertsWhenTheCommittedProofDoesNotVerify() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(id, inputs, badProof);
    }

    function test_revealProof_revertsWhenTheCommittedProofHasAppendedBytes() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 2);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(id, inputs, longProof);
    }

    // ================================================================================
    // finalizeChallenge
    // ================================================================================

    function test_finalizeChallenge_revertsOnUnknownChallenge() public {
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 3));
        market.finalizeChallenge(3);
    }

    function test_finalizeChallenge_revertsAtLastResponseBlock() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowOpen.selector, respondBy));
        market.finalizeChallenge(id);
    }

    function test_finalizeChallenge_slashesAnUnansweredWithheldProof() public {
        _commitRealBatch();
        vm.prank(prover);
        market.unbond(1 ether);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            real[3].jobId,
            client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            REWARD,
            2 gwei,
            SLASH - REWARD - 2 gwei
        );
        market.finalizeChallenge(id); // anyone may finalize

        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Slashed));
        assertEq(market.credits(watchtower), BOND + REWARD);
        assertEq(market.deposits(client), 2 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 2 gwei);
        assertEq(address(market).balance, marketBefore - (SLASH - REWARD - 2 gwei));
        assertEq(_stakeOf(prover), 3 ether - SLASH);
        assertTrue(market.slashed(_key(real[3])));
        assertEq(market.pendingChallenge(_key(real[3])), 0);
        assertEq(_openChallenges(prover), 0);

        // With no challenge open, the unbonded stake can leave.
        _passUnbonding(prover);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 1 ether);
    }

    function test_finalizeChallenge_revertsWhenFinalizedTwice() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_finalizeChallenge_revertsOnAnsweredChallenge() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.finalizeChallenge(id);
    }

    function test_finalizeChallenge_isVoidWhenTheJobWasSlashedMeanwhile() public {
        // Job 7 withheld in one batch, and equivocated in a second one.
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _evidence(watchtower, abi.encodeCall(market.challengeWithheldProof, (atA, NO_NONCE, 0, bytes32(0), bytes32(0))));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        uint256 id = market.challengeWithheldProof{value: BOND}(atA, NO_NONCE, 0, bytes32(0), bytes32(0));
        _evidence(otherClient, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(otherClient);
        market.challengeEquivocation(atA, atB);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(otherClient), REWARD);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, watchtower, BOND);
        // No Slashed event at all (count 0, matched on the event signature alone).
        vm.expectEmit(false, false, false, false, address(market), 0);
        emit MarketTypes.Slashed(address(0), 0, address(0), MarketTypes.Fault.None, address(0), 0, 0, 0, 0);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.credits(watchtower), BOND, "only the bond back");
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_key(a)), 0);
    }

    /// A bought proof not revealed (leaf 1's committed proof does not verify, so no reveal
    /// can answer): the slash as for any challenger, the bond and the reward to the client,
    /// and the price back into its deposit with the refund. The job stays marked paid; the
    /// prover's claim of it is `JobSlashed`.
    function test_finalizeChallenge_slashOfABoughtProofReturnsThePriceToTheDeposit() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint256 id = _buy(1);
        assertEq(market.deposits(client), 0);
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, real[1].jobId, client, MarketTypes.Fault.WithheldProof, client, SLASH, REWARD, FULL_REFUND, BURN
        );
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Slashed));
        assertEq(market.deposits(client), 1 ether + FULL_REFUND, "the price back, and the refund");
        assertEq(market.credits(client), BOND + REWARD, "the bond back, and the reward");
        assertEq(market.credits(prover), 0);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(address(market).balance, marketBefore - BURN, "only the burn left the market");
        assertTrue(market.isPaid(client, prover, 1), "the paid bit stays");

        _closeWindow(realBatch);
        _claimReal(1, abi.encodeWithSelector(MarketTypes.JobSlashed.selector, real[1].jobId));
    }

    /// A bought proof whose job was slashed meanwhile (equivocation): void, the bond and the
    /// price come back (the equivocation's refund went into the deposit already), no slash.
    function test_finalizeChallenge_voidOfABoughtProofReturnsThePrice() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(0.5 ether, 1 ether);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _deposit(client, 1 ether);
        Purchase memory buy = _signedPurchase(clientKey, _award(a, prover), JOB);
        _evidence(client, _withheldCall(atA, buy));
        vm.deal(client, BOND);
        vm.prank(client);
        uint256 id = _withheld(atA, buy, BOND);
        assertTrue(_challenge(id).bought);
        assertEq(market.deposits(client), 0.5 ether);
        _evidence(otherClient, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(otherClient);
        market.challengeEquivocation(atA, atB);
        assertEq(market.deposits(client), 0.5 ether + FULL_REFUND, "the equivocation's refund");

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, client, BOND);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.deposits(client), 1 ether + FULL_REFUND, "the price back");
        assertEq(market.credits(client), BOND, "the bond back, no reward");
        assertEq(_stakeOf(prover), STAKE - SLASH, "the one slash");
        assertTrue(market.isPaid(client, prover, JOB), "the paid bit stays");
    }

    /// A bought proof that no reveal could answer because its circuit's verifier changed:
    /// void, no slash, the bond and the price back. The paid bit stays: the prover's claim
    /// of the job is `AlreadyClaimed`.
    function test_finalizeChallenge_voidForAChangedVerifierReturnsABoughtProofsPrice() public {
        _commitRealBatch();
        _deposit(client, 2 gwei);
        uint256 id = _buy(3);
        vm.etch(verifier, address(new EtherRefusingWatchtower(market)).code);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, client, BOND);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.deposits(client), 2 gwei, "the price back");
        assertEq(market.credits(client), BOND, "the bond back");
        assertEq(market.credits(prover), 0);
        assertEq(_stakeOf(prover), STAKE, "no slash");
        assertTrue(market.isPaid(client, prover, 3), "the paid bit stays");

        _closeWindow(realBatch);
        _claimReal(3, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
    }
}
