// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {CommitRelay, MerkleBuilder} from "../utils/MarketFixture.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// Attacks on the mechanism: paid only for a proven, awarded statement (property 1) and
/// every committed leaf public (property 2). Each is written as its attacker would try it,
/// asserting that it fails and that the attacker ends poorer (or no richer) than playing by
/// the rules; docs/contracts.md's threat model names each test. The setting and the shared
/// helpers are in AttacksBase.
contract StatementsAttacksTest is AttacksBase {
    // ---- paid only for a proven statement (property 1, in part) ------------------------------

    /// A prover commits a leaf naming a circuit nobody registered, with junk for a proof,
    /// so that no verifier can be asked about it and it becomes final unchallenged.
    /// Unregistered means invalid: the invalid-proof challenge slashes it.
    function test_attack_aLeafOfAnUnregisteredCircuitIsSlashedAsInvalid() public {
        _register(cheater, MIN_STAKE);
        bytes32 nowhere = keccak256("a circuit nobody registered");
        bytes memory junk = hex"00c0ffee";
        MarketTypes.Leaf[] memory leaves = _leafWith(nowhere, inputs, junk);
        uint256 batchId = _commit(cheater, leaves);
        assertFalse(market.checkProof(nowhere, inputs, junk), "checkProof says invalid");
        _challengeInvalidAs(watchtower, batchId, leaves, junk);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)));
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the cheater lost the slash");
        assertEq(market.credits(watchtower), BOND + SLASH_PER_JOB * REWARD_BPS / 10_000);
    }

    /// The same leaf challenged as withheld (the watchtower could not get a proof): no
    /// reveal can answer it, so finalizing slashes it.
    function test_attack_aWithheldLeafOfAnUnregisteredCircuitCannotBeAnswered() public {
        // As on any live chain, address(0) holds ether (every slash burns some there), so
        // its code hash is keccak256("") and not zero: no reason to think an unregistered
        // circuit's verifier "changed", which would void the challenge.
        vm.deal(address(0), 1 wei);
        _register(cheater, MIN_STAKE);
        bytes32 nowhere = keccak256("a circuit nobody registered");
        MarketTypes.Leaf[] memory leaves = _leafWith(nowhere, inputs, proof);
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        vm.expectRevert(MarketTypes.ProofRejected.selector);
        market.revealProof(id, inputs, proof);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB);
    }

    /// A prover claims a statement with one public input more than the circuit has, the
    /// proof shifted by a word: `inputs ‖ proof` is a valid call plus one trailing word,
    /// which the verifier ignores. The circuit's input count is fixed at registration, so
    /// the leaf is invalid and slashed.
    function test_attack_anExtraPublicInputWithTheProofShiftedIsSlashed() public {
        _register(cheater, MIN_STAKE);
        uint256[] memory shiftedInputs = new uint256[](inputs.length + 1);
        for (uint256 i = 0; i < inputs.length; i++) {
            shiftedInputs[i] = inputs[i];
        }
        bytes memory shiftedProof = new bytes(proof.length);
        uint256 firstWord;
        for (uint256 i = 0; i < proof.length; i++) {
            if (i < 32) firstWord = (firstWord << 8) | uint8(proof[i]);
            if (i + 32 < proof.length) shiftedProof[i] = proof[i + 32];
        }
        shiftedInputs[inputs.length] = firstWord;
        // The verifier itself accepts the call: the same bytes plus 32 zero bytes.
        (bool accepted,) = realVerifier.staticcall(abi.encodePacked(shiftedInputs, shiftedProof));
        assertTrue(accepted, "the raw verifier ignores the trailing word");
        assertFalse(market.checkProof(circuit, shiftedInputs, shiftedProof), "the market does not");
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, shiftedInputs, shiftedProof);
        uint256 batchId = _commit(cheater, leaves);
        _evidence(
            watchtower,
            abi.encodeCall(market.challengeInvalidProof, (_at(batchId, leaves, 0), shiftedInputs, shiftedProof))
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(batchId, leaves, 0), shiftedInputs, shiftedProof);
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB);
    }

    // ---- paid only for the awarded statement (property 1, in part) -------------------------

    /// Public inputs of the registered circuit other than its registration sample's: what
    /// a client computes from a witness of its own.
    function _clientInputs() internal view returns (uint256[] memory asked) {
        asked = new uint256[](inputs.length);
        for (uint256 i = 0; i < inputs.length; i++) {
            asked[i] = inputs[i];
        }
        asked[0] = inputs[0] + 1;
    }

    /// The batch claim of leaf `l` (alone in its batch), job `nonce`, with `key`'s compact
    /// signature of `award`.
    function _batchClaimOf(MarketTypes.Leaf memory l, uint64 nonce, MarketTypes.Award memory award, uint256 key)
        internal
        view
        returns (MarketTypes.BatchClaim[] memory jobs)
    {
        jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _batchJob(l, 0, nonce, award.deadline, _sign(key, award));
    }

    /// The client awards job 1 for its own statement; the cheater skips the proving and
    /// commits, by the deadline, the circuit's public registration sample as the job's leaf,
    /// hoping that a proof which verifies (of another statement) passes for delivery. No
    /// invalid-proof challenge can catch it, but the award binds the statement: no claim
    /// pays the leaf, it does not answer the missed deadline, and the cheater is slashed
    /// while the client pays nothing.
    function test_attack_aValidProofOfAnotherStatementIsNotPaid() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _one(
            MarketTypes.Leaf({
                jobId: _jobId(client, 1),
                circuitId: circuit,
                publicInputsHash: keccak256(abi.encodePacked(inputs)),
                proofHash: keccak256(proof),
                client: client,
                price: 0.1 ether
            })
        );
        MarketTypes.Award memory award = _award(leaves[0], cheater);
        award.publicInputsHash = keccak256(abi.encodePacked(_clientInputs()));
        uint256 stakeBefore = _stakeOf(cheater);
        uint256 balanceBefore = cheater.balance;
        uint256 depositBefore = market.deposits(client);

        uint256 batchId = _commit(cheater, leaves);
        // The proof verifies: a watchtower challenging it as invalid would lose its bond to
        // the cheater (tried, then undone).
        assertTrue(market.checkProof(circuit, inputs, proof), "a valid proof, of the sample's statement");
        uint256 snapshot = vm.snapshotState();
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(batchId, leaves, 0), inputs, proof)));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.FalseChallenge(cheater, leaves[0].jobId, MarketTypes.Fault.InvalidProof, watchtower, BOND);
        market.challengeInvalidProof{value: BOND}(_at(batchId, leaves, 0), inputs, proof);
        vm.revertToState(snapshot);

        // After the window the cheater claims its fee with the client's award.
        _closeWindow(batchId);
        MarketTypes.BatchClaim[] memory jobs = _batchClaimOf(leaves[0], 1, award, clientKey);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.BadAwardSignature.selector);
        market.claimBatch(batchId, new bytes32[](1), jobs);

        // The deadline passes; the client challenges with the cheater's acceptance and its
        // award. The cheater's leaf is no answer.
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissedAs(client, award);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.LeafMismatch.selector);
        market.answerMissedDeadline(id, _at(batchId, leaves, 0));
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);

        assertEq(_stakeOf(cheater), stakeBefore - SLASH_PER_JOB, "the cheater was slashed");
        assertEq(cheater.balance, balanceBefore, "and never paid");
        assertEq(market.credits(cheater), 0);
        assertFalse(market.isPaid(client, cheater, 1));
        assertEq(
            market.deposits(client),
            depositBefore + SLASH_PER_JOB * REFUND_BPS / 10_000,
            "the client paid nothing, and got the refund"
        );
        assertEq(market.credits(client), BOND + SLASH_PER_JOB * REWARD_BPS / 10_000, "its bond back, and the reward");
    }

    /// A client holding the prover's acceptance of its job for statement S1 signs a second
    /// award of that job, to that prover, for statement S2 (which the prover never took,
    /// so never proved), hoping to slash the prover for missing it and lose nothing. The
    /// acceptance must name the award's statement; with the honest award, the prover, who
    /// committed the S1 leaf by the deadline, answers and takes the client's bond.
    function test_attack_aClientCannotPairAnAcceptanceWithAnotherStatement() public {
        (address greedy, uint256 greedyKey) = makeAddrAndKey("greedy client");
        (, uint256 proverKey) = makeAddrAndKey("prover");
        _register(prover, MIN_STAKE);
        _deposit(greedy, 1 ether);
        MarketTypes.Leaf[] memory s1 = _leavesFrom(1, 1, greedy);
        MarketTypes.Award memory award1 = _award(s1[0], prover);
        bytes memory sig1 = _sign(greedyKey, award1);
        MarketTypes.Acceptance memory acc = _acceptance(award1, greedy);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        uint256 batchId = _commit(prover, s1);

        vm.deal(greedy, 1 ether);
        uint256 balanceBefore = greedy.balance;
        uint256 depositBefore = market.deposits(greedy);
        uint256 stakeBefore = _stakeOf(prover);
        vm.warp(award1.deadline + 1);
        _expectRefusedWithAnotherStatement(acc, accSig, award1, greedy, greedyKey);
        assertEq(market.challengeCount(), 0);

        // With the award the prover accepted, the challenge opens, and the S1 leaf answers.
        _evidence(greedy, abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award1, sig1)));
        vm.prank(greedy);
        uint256 id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award1, sig1);
        market.answerMissedDeadline(id, _at(batchId, s1, 0));

        assertEq(greedy.balance, balanceBefore - BOND, "the client lost its bond");
        assertEq(market.credits(greedy), 0);
        assertEq(market.deposits(greedy), depositBefore);
        assertEq(market.credits(prover), BOND, "to the prover");
        assertEq(_stakeOf(prover), stakeBefore, "which was never slashed");
        assertFalse(_isDisputed(prover));
    }

    /// `challenger` (key `key`) signs `award` again for another statement S2 (other public
    /// inputs, then another circuit) and challenges its missed deadline with `acc`, the
    /// prover's acceptance of `award`: refused both times.
    function _expectRefusedWithAnotherStatement(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        address challenger,
        uint256 key
    ) internal {
        for (uint256 field = 0; field < 2; field++) {
            MarketTypes.Award memory s2 = MarketTypes.Award({
                jobId: award.jobId,
                prover: award.prover,
                price: award.price,
                deadline: award.deadline,
                circuitId: field == 1 ? keccak256("S2: another circuit") : award.circuitId,
                publicInputsHash: field == 0 ? keccak256("S2: other public inputs") : award.publicInputsHash
            });
            bytes memory sig = _sign(key, s2);
            vm.prank(challenger);
            vm.expectRevert(MarketTypes.AcceptanceMismatch.selector);
            market.challengeMissedDeadline{value: BOND}(acc, accSig, s2, sig);
        }
    }

    // ---- every committed leaf is public (property 2) ---------------------------------------

    /// A prover would commit a root and keep its leaves to itself, so that nobody can
    /// challenge a self-dealt leaf with an invalid proof before it becomes final. A batch
    /// can only be committed with its leaves, in the prover's own transaction (whose input
    /// anyone reads from the chain): the contract computes the root from them. Wrapping the
    /// call in a contract, whose input nobody could decode, is refused. A watchtower that
    /// reads the leaves from the chain has the bad one slashed; `isFinal` never holds for
    /// it, while an unchallenged leaf of the batch becomes final.
    function test_attack_aBatchCannotHideItsLeaves() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leavesFrom(0, 5, cheater);
        // Of the registered circuit: a leaf of an unregistered one is never final.
        leaves[0].circuitId = circuit;
        bytes memory bad = hex"0bad";
        leaves[3] = _leafWith(circuit, inputs, bad)[0];
        CommitRelay wrapper = new CommitRelay(market);
        vm.prank(cheater, cheater);
        vm.expectRevert(MarketTypes.NotDirectCall.selector);
        wrapper.commit(leaves);
        vm.prank(cheater); // a direct call, but not the account's own transaction
        vm.expectRevert(MarketTypes.NotDirectCall.selector);
        market.commitBatch(leaves);

        uint256 batchId = _commit(cheater, leaves);
        (,,,, bytes32 root) = market.batches(batchId);
        assertEq(root, MerkleBuilder.root(_hashes(leaves)), "the stored root is the leaves'");
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(batchId, leaves, 3), inputs, bad)));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(batchId, leaves, 3), inputs, bad);
        _closeWindow(batchId);
        assertFalse(
            market.isFinal(
                circuit, keccak256(abi.encodePacked(inputs)), keccak256(bad), batchId, leaves[3], _path(leaves, 3)
            ),
            "the bad leaf never becomes final"
        );
        assertTrue(
            market.isFinal(
                circuit, leaves[0].publicInputsHash, leaves[0].proofHash, batchId, leaves[0], _path(leaves, 0)
            ),
            "an unchallenged leaf does"
        );
    }
}
