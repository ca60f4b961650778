// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// A "verifier" that accepts every call.
contract AcceptsAnything {
    fallback() external {}
}

/// A "verifier" that rejects every call.
contract RejectsEverything {
    fallback() external {
        revert();
    }
}

/// Attacks on the mechanism: circuits immutable, registration permissionless, no owner
/// (property 5). Each is written as its attacker would try it, asserting that it fails and
/// that the attacker ends poorer (or no richer) than playing by the rules;
/// docs/contracts.md's threat model names each test. The setting and the shared helpers are
/// in AttacksBase.
contract CircuitsAttacksTest is AttacksBase {
    // ---- circuits immutable, registration permissionless, no owner (property 5) -------------

    /// An attacker races the honest registrant of the circuit nodes use, to own its id and
    /// its verdicts: on a market where nothing is registered yet, it registers first the
    /// real verifier's code at its own deployment. The id derives from the code and the
    /// shape, so it gets exactly the honest id (and the honest registration then reverts
    /// `CircuitExists`), but the verdicts are the real verifier's: the valid proof verifies,
    /// a corrupted one fails, and the attacker's own bad leaf of it is slashed. Any other
    /// verifier (one accepting all, one rejecting all, or the real one with a sample of
    /// another proof length, 32 bytes more that it ignores) gets another id, never the
    /// honest one.
    function test_attack_squattingACircuitIdIsImpossible() public {
        market = new ProverMarket(_params());
        bytes32 honestId = market.circuitIdOf(realVerifier.codehash, inputs.length, proof.length);
        assertEq(honestId, circuit, "ids do not depend on the market nor on the deployment");
        address squatted = _deployVerifier();
        vm.prank(cheater);
        assertEq(market.registerCircuit(squatted, inputs, proof), honestId, "the squatter gets the honest id");
        vm.prank(makeAddr("honest registrant"));
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.CircuitExists.selector, honestId));
        market.registerCircuit(realVerifier, inputs, proof);
        assertEq(_circuit(honestId).verifier, squatted);
        assertEq(_circuit(honestId).codeHash, realVerifier.codehash, "the real verifier's code");
        assertTrue(market.checkProof(honestId, inputs, proof), "the valid proof verifies");
        assertFalse(market.checkProof(honestId, inputs, _badProof()), "a corrupted one does not");

        // Its own bad leaf of the id is slashed as on the honest registration.
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(honestId, inputs, _badProof());
        _challengeInvalidAs(watchtower, _commit(cheater, leaves), leaves, _badProof());
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the squatter is slashed");

        // Any other verifier has another id.
        address acceptAll = address(new AcceptsAnything());
        address rejectAll = address(new RejectsEverything());
        bytes memory longer = bytes.concat(proof, bytes32(0));
        vm.startPrank(cheater);
        vm.expectRevert(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        market.registerCircuit(acceptAll, inputs, proof);
        vm.expectRevert(CircuitStore.SampleProofRejected.selector);
        market.registerCircuit(rejectAll, inputs, proof);
        bytes32 longId = market.registerCircuit(squatted, inputs, longer);
        vm.stopPrank();
        assertNotEq(market.circuitIdOf(acceptAll.codehash, inputs.length, proof.length), honestId);
        assertNotEq(market.circuitIdOf(rejectAll.codehash, inputs.length, proof.length), honestId);
        assertNotEq(longId, honestId, "another proof length, another id");
        assertEq(_circuit(honestId).proofLength, proof.length, "the honest id keeps its shape");
        assertFalse(market.checkProof(honestId, inputs, longer));
    }

    /// The cheater, staked, commits a leaf under an id nobody registered: the real
    /// verifier's code with the proof padded by a word (which the verifier ignores).
    function _commitBait()
        internal
        returns (bytes memory padded, bytes32 bait, MarketTypes.Leaf[] memory leaves, uint256 batchId)
    {
        padded = bytes.concat(proof, bytes32(0));
        bait = market.circuitIdOf(realVerifier.codehash, inputs.length, padded.length);
        _register(cheater, MIN_STAKE);
        leaves = _leafWith(bait, inputs, padded);
        batchId = _commit(cheater, leaves);
    }

    /// The bait was slashed: the cheater is poorer, the watchtower has its bond and reward,
    /// the cheater no bond.
    function _assertTheBaitPaidTheWatchtower() internal view {
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the cheater is poorer");
        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower gets its bond and reward");
        assertEq(market.credits(cheater), 0, "no bond for the cheater");
    }

    /// A prover baits watchtowers: it commits a leaf under an id nobody registered (its own
    /// copy of the real verifier with a proof padded by a word, which the verifier
    /// ignores), waits for a watchtower to commit to its invalid-proof challenge, then
    /// registers the id before the challenge lands, hoping the verifier now accepts the
    /// proof so the challenge is false and the bond its own. A circuit counts for a leaf
    /// only if registered by the leaf's batch's block: the challenge still slashes, the
    /// watchtower is paid, and the leaf is never final.
    function test_attack_registeringABaitCircuitAfterTheCommitDoesNotSaveTheLeaf() public {
        (bytes memory padded, bytes32 bait, MarketTypes.Leaf[] memory leaves, uint256 batchId) = _commitBait();
        MarketTypes.Inclusion memory at = _at(batchId, leaves, 0);
        bytes memory call = abi.encodeCall(market.challengeInvalidProof, (at, inputs, padded));
        _evidence(watchtower, call);
        // Seen the commitment: the cheater registers the bait id in the next block.
        vm.roll(block.number + 1);
        address copy = _deployVerifier();
        vm.prank(cheater);
        assertEq(market.registerCircuit(copy, inputs, padded), bait);
        assertTrue(market.checkProof(bait, inputs, padded), "the id verifies the proof from now on");
        vm.roll(block.number + 1);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, padded);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)), "slashed all the same");
        _assertTheBaitPaidTheWatchtower();
        _closeWindow(batchId);
        MarketTypes.Leaf memory l = leaves[0];
        assertFalse(market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, batchId, l, new bytes32[](0)));
    }

    /// The same bait against a withheld-proof challenge: the cheater registers the id inside
    /// the response window and reveals the padded proof, which the copy accepts. The
    /// challenge records that no circuit can answer it (the leaf's was not registered by
    /// its batch's block): the reveal is rejected and finalization slashes.
    function test_attack_registeringABaitCircuitCannotAnswerAWithheldChallenge() public {
        (bytes memory padded,, MarketTypes.Leaf[] memory leaves, uint256 batchId) = _commitBait();
        uint256 challengeId = _challengeWithheld(watchtower, batchId, leaves, 0);
        address copy = _deployVerifier();
        vm.prank(cheater);
        market.registerCircuit(copy, inputs, padded);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.ProofRejected.selector);
        market.revealProof(challengeId, inputs, padded);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(challengeId);
        _assertTheBaitPaidTheWatchtower();
    }

    /// A registrant would give the circuit a gas cap below the verifier's cost, so that
    /// every valid proof is rejected and every honest prover's leaf slashable (or one far
    /// above it, so that rejected proofs make challenges dearer). The cap is no parameter:
    /// the market measures it on the sample, the same whatever gas the registration is sent
    /// with (too little to run the sample with the most a verifier may take is refused).
    /// The valid proof verifies with it: challenged as invalid with any gas, it is never
    /// slashed, and each challenge the market takes costs the challenger its bond.
    function test_attack_anUnderCappedVerifierCannotBeRegistered() public {
        uint256 cap = _circuit(circuit).gasLimit;
        uint256[3] memory gasSent = [uint256(10_400_000), 12_000_000, 30_000_000];
        for (uint256 i = 0; i < gasSent.length; i++) {
            ProverMarket fresh = new ProverMarket(_params());
            vm.prank(cheater);
            bytes32 id = fresh.registerCircuit{gas: gasSent[i]}(realVerifier, inputs, proof);
            (, uint32 measured,,,) = fresh.circuits(id);
            assertEq(measured, cap, "the same cap whatever gas was sent");
        }
        ProverMarket starved = new ProverMarket(_params());
        vm.prank(cheater);
        try starved.registerCircuit{gas: 9_000_000}(realVerifier, inputs, proof) {
            revert("a registration that cannot run the sample with the most gas must revert");
        } catch (bytes memory ret) {
            // casting to 'bytes4' keeps the first four bytes: the selector
            // forge-lint: disable-next-line(unsafe-typecast)
            assertEq(bytes4(ret), CircuitStore.InsufficientGas.selector);
        }
        (bool ok,) = realVerifier.staticcall{gas: cap}(abi.encodePacked(inputs, proof));
        assertTrue(ok, "the valid proof verifies within the cap");
        assertTrue(market.checkProof(circuit, inputs, proof));

        // An honest prover's valid leaf, challenged as invalid with gas from below the cap
        // to well above it: each call is refused (InsufficientGas, or out of gas after the
        // verdict) or a false challenge.
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        MarketTypes.Inclusion memory at = _at(_commit(prover, leaves), leaves, 0);
        bytes memory call = abi.encodeCall(market.challengeInvalidProof, (at, inputs, proof));
        uint256 accepted;
        for (uint256 g = cap / 2; g <= 2 * cap; g += cap / 32) {
            _evidence(watchtower, call);
            vm.deal(watchtower, BOND);
            vm.prank(watchtower);
            (bool taken, bytes memory ret) = address(market).call{value: BOND, gas: g}(call);
            if (taken) accepted++;
            else _assertRefusedForGas(ret);
        }
        assertGt(accepted, 0);
        assertEq(market.credits(prover), accepted * BOND, "every challenge taken was false: its bond to the prover");
        assertEq(market.credits(watchtower), 0, "the challenger got nothing back");
        assertEq(_stakeOf(prover), MIN_STAKE, "the honest prover was never slashed");
        assertFalse(market.slashed(_jobKey(prover, client, leaves[0].jobId)));
    }

    /// A prover would register a verifier that accepts anything, then commit junk under
    /// its id that no invalid-proof challenge can slash (and take the bond of every
    /// watchtower that tries). Registration runs the sample with its first proof byte
    /// flipped: a verifier that accepts it is refused, from any account. Its id stays
    /// unregistered, so the junk leaf is slashed as invalid.
    function test_attack_anAcceptAllVerifierCannotBeRegistered() public {
        address acceptAll = address(new AcceptsAnything());
        bytes32 id = market.circuitIdOf(acceptAll.codehash, inputs.length, proof.length);
        vm.prank(cheater);
        vm.expectRevert(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        market.registerCircuit(acceptAll, inputs, proof);
        assertEq(_circuit(id).verifier, address(0), "not registered");

        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(id, inputs, _badProof());
        _challengeInvalidAs(watchtower, _commit(cheater, leaves), leaves, _badProof());
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the cheater lost the slash");
        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower: its bond back and the reward");
    }

    /// Anyone (the first registrant included: there is no owner) would re-register the live
    /// circuit to change its verdicts: with the same deployment or another of the same code,
    /// with a corrupted sample of the same shape. Each derives the live id and reverts
    /// `CircuitExists`; the registration stays exactly as it was, and so do its verdicts.
    function test_attack_noAccountCanChangeARegisteredCircuit() public {
        CircuitStore.Circuit memory before = _circuit(circuit);
        address copy = _deployVerifier();
        address[3] memory accounts = [makeAddr("registrant"), cheater, client];
        bytes memory err = abi.encodeWithSelector(CircuitStore.CircuitExists.selector, circuit);
        for (uint256 i = 0; i < accounts.length; i++) {
            vm.startPrank(accounts[i]);
            vm.expectRevert(err);
            market.registerCircuit(realVerifier, inputs, proof);
            vm.expectRevert(err);
            market.registerCircuit(copy, inputs, proof);
            vm.expectRevert(err);
            market.registerCircuit(copy, inputs, _badProof());
            vm.stopPrank();
        }
        _assertUnchanged(circuit, before);
        assertTrue(market.checkProof(circuit, inputs, proof));
        assertFalse(market.checkProof(circuit, inputs, _badProof()));
    }

    /// A registrant registers a verifier and later changes the code at its address (an
    /// EIP-7702 delegation moved or cleared, a self-destruct and redeploy) to one that
    /// accepts anything, so that invalid proofs are not slashed and challengers lose their
    /// bonds. The code hash is pinned at registration: changed code gives no verdict, so no
    /// bond is lost to it and no proof is called valid by it.
    function test_attack_changingAVerifiersCodeAfterRegistrationDecidesNothing() public {
        _register(cheater, MIN_STAKE);
        bytes memory bad = new bytes(proof.length);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, bad);
        uint256 batchId = _commit(cheater, leaves);
        vm.etch(realVerifier, address(new AcceptsAnything()).code);
        assertTrue(_rawAccepts(realVerifier, inputs, bad), "the new code accepts the bad proof");
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.VerifierChanged.selector, circuit));
        market.checkProof(circuit, inputs, bad);
        MarketTypes.Inclusion memory at = _at(batchId, leaves, 0);
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (at, inputs, bad)));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.VerifierChanged.selector, circuit));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        assertEq(watchtower.balance, BOND, "the challenger kept its bond");
    }

    /// An attacker registers as a verifier its account delegated under EIP-7702 to the real
    /// verifier, planning to re-delegate it later to code that decides otherwise. No code
    /// but a delegation starts with 0xEF (EIP-3541): such a registration is refused.
    function test_attack_aDelegatedAccountCannotBeRegisteredAsAVerifier() public {
        address delegated = makeAddr("delegated");
        vm.etch(delegated, abi.encodePacked(hex"ef0100", realVerifier));
        bytes32 id = market.circuitIdOf(delegated.codehash, inputs.length, proof.length);
        vm.prank(delegated);
        vm.expectRevert(CircuitStore.InvalidParameters.selector);
        market.registerCircuit(delegated, inputs, proof);
        assertEq(_circuit(id).verifier, address(0), "not registered");
    }

    /// An honest prover's valid leaf is challenged as withheld; then the code at its
    /// circuit's verifier changes (on a chain where code still can), so no reveal can be
    /// verified. The challenge is voided when finalized: the challenger gets its bond
    /// back, the honest prover is not slashed, and the leaf is never final.
    function test_attack_aChangedVerifierCannotGetAnHonestProverSlashedForWithholding() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        uint256 batchId = _commit(prover, leaves);
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        vm.etch(realVerifier, address(new AcceptsAnything()).code);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.VerifierChanged.selector, circuit));
        market.revealProof(id, inputs, proof);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        uint256 stakeBefore = _stakeOf(prover);
        vm.expectEmit(address(market));
        emit MarketTypes.ChallengeVoided(id, watchtower, BOND);
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), stakeBefore, "the honest prover is not slashed");
        assertEq(market.credits(watchtower), BOND, "the challenger's bond is back");
        _closeWindow(batchId);
        MarketTypes.Leaf memory l = leaves[0];
        assertFalse(
            market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, batchId, l, new bytes32[](0)),
            "a leaf of a changed verifier is never final"
        );
    }

    function _rawAccepts(address verifier, uint256[] memory inputs_, bytes memory proof_)
        internal
        view
        returns (bool ok)
    {
        (ok,) = verifier.staticcall(abi.encodePacked(inputs_, proof_));
    }
}
