// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase} from "./ChallengesBase.sol";

/// `checkProof` and the invalid-proof challenge, against the real verifier: one test per
/// rule and per revert reason (docs/contracts.md). The setting, the figures used throughout
/// and the shared helpers are in ChallengesBase.
contract InvalidProofChallengesTest is ChallengesBase {
    // ================================================================================
    // checkProof (real verifier)
    // ================================================================================

    function test_checkProof_decidesAsTheChallengesDo() public view {
        assertEq(_circuit(realCircuit).proofLength, proofLength);
        assertEq(_circuit(realCircuit).publicInputs, inputs.length);
        assertTrue(market.checkProof(realCircuit, inputs, proof));
        assertFalse(market.checkProof(realCircuit, inputs, badProof));
        assertFalse(market.checkProof(realCircuit, inputs, longProof), "wrong length");
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        assertFalse(market.checkProof(realCircuit, other, proof));
    }

    /// A circuit that is not registered proves nothing: a proof of it is invalid, even one
    /// that another circuit's verifier accepts.
    function test_checkProof_falseForAnUnregisteredCircuit() public view {
        assertEq(_circuit(CIRCUIT).verifier, address(0));
        assertFalse(market.checkProof(CIRCUIT, inputs, proof));
        assertFalse(market.checkProof(bytes32(0), inputs, proof));
        assertTrue(market.checkProof(realCircuit, inputs, proof));
    }

    /// N+1 public inputs whose last one is the proof's first word, and the proof shifted by
    /// that word with one more word at its end: the call data is the valid call's plus a
    /// word, and the proof keeps its length. The EVM verifier ignores trailing bytes and
    /// accepts it; the market must not, as the number of inputs is not the circuit's.
    function test_checkProof_falseForOneMorePublicInputWithTheProofShiftedByOneWord() public view {
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(keccak256("extra word"));
        assertEq(more.length, inputs.length + 1);
        assertEq(shifted.length, proofLength, "the registered length");
        assertEq(
            abi.encodePacked(more, shifted),
            abi.encodePacked(inputs, proof, keccak256("extra word")),
            "the valid call data plus one word"
        );
        (bool accepted,) = verifier.staticcall{gas: VERIFIER_GAS}(abi.encodePacked(more, shifted));
        assertTrue(accepted, "the EVM verifier accepts it");
        assertFalse(market.checkProof(realCircuit, more, shifted));
        // Fewer inputs than the circuit's are refused too.
        assertFalse(market.checkProof(realCircuit, new uint256[](0), proof));
    }

    // ================================================================================
    // challengeInvalidProof (real verifier)
    // ================================================================================

    function test_challengeInvalidProof_corruptedProofSlashesWithExactSplit() public {
        _commitRealBatch();
        MarketTypes.Leaf memory l = real[1]; // price 1 ether: refund not capped
        uint256 marketBefore = address(market).balance;
        uint256 burnBefore = address(0).balance;
        _evidenceInvalid(1, badProof);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        _sendInvalid(1, badProof);

        assertEq(SLASH, _slashOf(STAKE));
        assertEq(SLASH, 0.01 ether);
        assertEq(BURN, 0.005 ether);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD, "bond back plus reward");
        assertEq(market.deposits(client), FULL_REFUND, "the refund goes into the client's deposit");
        assertEq(market.credits(client), 0);
        assertEq(market.credits(prover), 0);
        assertEq(market.totalBurned(), BURN);
        assertEq(address(market).balance, marketBefore + BOND - BURN, "only the burn leaves");
        assertEq(address(0).balance, burnBefore + BURN);
        assertTrue(market.slashed(_key(l)));
        assertTrue(_isDisputed(prover));
        assertEq(market.challengeCount(), 0, "decided at once, nothing stored");
    }

    function test_challengeInvalidProof_refundIsCappedAtThePrice() public {
        _commitRealBatch();
        // Leaf 2 costs 1 gwei; its proof has bytes appended (wrong length: invalid).
        MarketTypes.Leaf memory l = real[2];
        _evidenceInvalid(2, longProof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            1 gwei,
            SLASH - REWARD - 1 gwei
        );
        _sendInvalid(2, longProof);
        assertEq(market.deposits(client), 1 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 1 gwei);
    }

    function test_challengeInvalidProof_proofWithAppendedBytesIsSlashedThoughTheVerifierAcceptsIt() public {
        _commitRealBatch();
        (bool accepted,) = verifier.staticcall{gas: VERIFIER_GAS}(abi.encodePacked(inputs, longProof));
        assertTrue(accepted, "the EVM verifier ignores trailing bytes");
        _challengeInvalid(2, longProof);
        assertTrue(market.slashed(_key(real[2])));
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_challengeInvalidProof_validProofIsAFalseChallenge() public {
        _commitRealBatch();
        uint256 marketBefore = address(market).balance;
        _evidenceInvalid(0, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.FalseChallenge(prover, real[0].jobId, MarketTypes.Fault.InvalidProof, watchtower, BOND);
        _sendInvalid(0, proof);

        assertEq(market.credits(prover), BOND, "the bond goes to the prover");
        assertEq(market.credits(watchtower), 0);
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[0])));
        assertFalse(_isDisputed(prover));
        assertEq(market.totalBurned(), 0);
        assertEq(address(market).balance, marketBefore + BOND);
    }

    function test_challengeInvalidProof_revertsOnWrongBond() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        uint256[] memory inputs_ = inputs;
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 0));
        market.challengeInvalidProof(at, inputs_, badProof);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND + 1));
        market.challengeInvalidProof{value: BOND + 1}(at, inputs_, badProof);
    }

    function test_challengeInvalidProof_revertsOnUnknownBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        at.batchId = 1;
        _expectInvalidRevert(at, badProof, abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 1));
    }

    function test_challengeInvalidProof_acceptedAtLastBlockOfWindow() public {
        _commitRealBatch();
        vm.roll(block.number + CHALLENGE_WINDOW);
        _challengeInvalid(1, badProof);
        assertTrue(market.slashed(_key(real[1])));
    }

    function test_challengeInvalidProof_revertsOneBlockAfterWindow() public {
        _commitRealBatch();
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        _expectInvalidRevert(
            _at(realBatch, _real(), 1), badProof, abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt)
        );
    }

    function test_challengeInvalidProof_revertsWhenLeafNotInBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        at.path = _path(_real(), 0);
        _expectInvalidRevert(at, badProof, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
    }

    function test_challengeInvalidProof_revertsOnOtherPublicInputs() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector));
        market.challengeInvalidProof{value: BOND}(at, other, badProof);
    }

    function test_challengeInvalidProof_revertsOnProofOtherThanCommitted() public {
        _commitRealBatch();
        // Leaf 0 committed the valid proof; a challenger cannot swap in a bad one.
        _expectInvalidRevert(
            _at(realBatch, _real(), 0), badProof, abi.encodeWithSelector(MarketTypes.ProofMismatch.selector)
        );
    }

    /// A leaf naming a circuit that is not registered is invalid: the prover is slashed and
    /// the bond returned, even when its proof is one another circuit's verifier accepts.
    function test_challengeInvalidProof_slashesALeafOfAnUnregisteredCircuit() public {
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _realLeaf(0, 1 ether, proof);
        leaves[0].circuitId = keccak256("unregistered circuit");
        uint256 id = _commit(prover, leaves);
        uint256[] memory inputs_ = inputs;
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(id, leaves, 0), inputs_, proof)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaves[0].jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(id, leaves, 0), inputs_, proof);
        assertTrue(market.slashed(_key(leaves[0])));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD, "bond back plus reward");
        assertEq(market.credits(prover), 0);
    }

    /// A leaf committing one more public input and the proof shifted by a word (the valid
    /// call data plus a word, which the EVM verifier accepts) is slashed.
    function test_challengeInvalidProof_slashesOneMorePublicInputWithTheProofShiftedByOneWord() public {
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(keccak256("extra word"));
        MarketTypes.Leaf memory l = _realLeaf(0, 1 ether, shifted);
        l.publicInputsHash = keccak256(abi.encodePacked(more));
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = l;
        leaves[1] = _realLeaf(1, 1 gwei, proof);
        uint256 id = _commit(prover, leaves);

        // Its withheld-proof challenge cannot be answered with it either.
        uint256 withheld = _challengeWithheld(otherClient, id, leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(withheld, more, shifted);

        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(id, leaves, 0), more, shifted)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(id, leaves, 0), more, shifted);
        assertTrue(market.slashed(_key(l)));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD);
    }

    function test_challengeInvalidProof_revertsWhenAlreadySlashed() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        _expectInvalidRevert(
            _at(realBatch, _real(), 1),
            badProof,
            abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId)
        );
        assertEq(_stakeOf(prover), STAKE - SLASH, "one slash per job");
    }

    function test_challengeInvalidProof_revertsInsufficientGasInsteadOfFailingTheVerifier() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0); // the valid proof
        uint256[] memory inputs_ = inputs;
        _evidenceInvalid(0, proof);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        // Exactly what forwarding the cap requires: enough to run the checks, and more
        // than the valid proof needs, but not enough to forward the whole cap once the
        // checks ran.
        try market.challengeInvalidProof{value: BOND, gas: cap + cap / 63 + 5_000}(at, inputs_, proof) {
            revert("a call that cannot forward the verifier gas must revert");
        } catch (bytes memory ret) {
            (uint256 available, uint256 required) = _insufficientGas(ret);
            assertEq(required, cap + cap / 63 + 5_000);
            assertLt(available, required);
            assertGt(available, cap * 32 / 33, "more than the verifier took on the sample");
        }
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[0])));
        assertEq(market.credits(prover), 0);
    }

    /// Whatever gas a challenger gives the call, a valid proof is never slashed: the call
    /// either refuses (InsufficientGas) or the verifier runs with its whole cap and accepts.
    function test_challengeInvalidProof_validProofCannotBeStarvedIntoASlash() public {
        _commitRealBatch();
        bytes memory data = abi.encodeCall(market.challengeInvalidProof, (_at(realBatch, _real(), 0), inputs, proof));
        uint256 refused;
        uint256 accepted;
        // Coarse steps over the whole range, then 500-gas steps around the threshold (the
        // cap, what forwarding it costs and the checks before the call).
        for (uint256 g = 100_000; g <= 1_200_000; g += (g >= cap && g < cap + 100_000) ? 500 : 50_000) {
            // An accepted call consumes the commitment; a refused one leaves it (committing
            // again is then a no-op: the first commitment stays).
            _evidence(watchtower, data);
            vm.deal(watchtower, BOND);
            vm.prank(watchtower);
            (bool ok, bytes memory ret) = address(market).call{value: BOND, gas: g}(data);
            if (ok) {
                accepted++;
                assertEq(market.credits(prover), accepted * BOND, "every accepted call is a false challenge");
            } else {
                refused++;
                _assertRefusedForGas(ret);
            }
            assertEq(_stakeOf(prover), STAKE);
            assertFalse(market.slashed(_key(real[0])));
        }
        assertGt(refused, 0);
        assertGt(accepted, 0);
    }

    function test_challengeInvalidProof_takesUnbondingStakeWhenBondedStakeIsTooSmall() public {
        _commitRealBatch();
        vm.prank(prover);
        market.unbond(STAKE - 0.004 ether); // bonded 0.004 ether: less than one slash
        _evidenceInvalid(1, badProof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            real[1].jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        _sendInvalid(1, badProof);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 0);
        assertEq(unbonding, STAKE - 0.004 ether - (SLASH - 0.004 ether));
    }

    /// A slash is a fixed amount: k faulty jobs cost k times as much.
    function test_challengeInvalidProof_eachJobIsSlashedTheFixedAmount() public {
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _realLeaf(0, 1 ether, badProof);
        leaves[1] = _realLeaf(1, 1 ether, longProof);
        real.push(leaves[0]);
        real.push(leaves[1]);
        realBatch = _commit(prover, leaves);
        _challengeInvalid(0, badProof);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        _challengeInvalid(1, longProof);
        assertEq(_stakeOf(prover), STAKE - 2 * SLASH, "the second slash takes as much as the first");
        assertEq(market.credits(watchtower), 2 * BOND + 2 * REWARD, "both bonds back, two rewards");
        assertEq(market.totalBurned(), 2 * BURN);
    }
}
