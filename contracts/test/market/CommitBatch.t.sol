// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Test.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CommitRelay, MerkleBuilder} from "../utils/MarketFixture.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// `commitBatch` and the exposure bound: one test per rule and per revert reason of
/// ProverMarket (docs/contracts.md). The shared helpers are in MarketTestBase.
contract CommitBatchTest is MarketTestBase {
    // ================================================================================
    // commitBatch / batchCount
    // ================================================================================

    function test_commitBatch_revertsWhenNotRegistered() public {
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.commitBatch(leaves);
    }

    function test_commitBatch_revertsWhenUnbondedBelowMinimum() public {
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.5 ether + 1);
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.commitBatch(leaves);
    }

    function test_commitBatch_acceptsExactlyMinimumAfterUnbonding() public {
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.5 ether);
        assertEq(_commit(prover, _leaves(1, client)), 0);
    }

    function test_commitBatch_revertsOnEmptyBatch() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory none = new MarketTypes.Leaf[](0);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EmptyBatch.selector));
        market.commitBatch(none);
    }

    function test_commitBatch_revertsAboveMaximumBatchSize() public {
        uint32 max = MAX_BATCH_SIZE;
        _register(prover, max * SLASH_PER_JOB); // a stake that covers the largest batch
        MarketTypes.Leaf[] memory leaves = _leaves(max + 1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.BatchTooLarge.selector, uint256(max) + 1, uint256(max)));
        market.commitBatch(leaves);
        assembly ("memory-safe") {
            mstore(leaves, max) // the first 512 leaves
        }
        uint256 id = _commit(prover, leaves);
        (, uint24 count,,, bytes32 root) = market.batches(id);
        assertEq(count, max);
        assertEq(root, MerkleBuilder.root(_hashes(leaves)));
    }

    /// No deposit pays more than 2^128 wei, and nodes keep prices in 128 bits: a leaf priced
    /// above that is refused, by its index in the batch (the first such leaf).
    function test_commitBatch_revertsPriceTooLarge() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(4, client);
        leaves[2].price = uint256(type(uint128).max) + 1;
        leaves[3].price = type(uint256).max;
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 2));
        market.commitBatch(leaves);
        leaves[2].price = type(uint128).max;
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 3));
        market.commitBatch(leaves);
        assertEq(market.batchCount(), 0);

        leaves[3].price = type(uint128).max; // the largest price accepted
        uint256 id = _commit(prover, leaves);
        (,,,, bytes32 root) = market.batches(id);
        assertEq(root, MerkleBuilder.root(_hashes(leaves)));
    }

    /// NotDirectCall, NotRegistered, StakeTooLow, EmptyBatch, BatchTooLarge,
    /// ExposureTooHigh, then PriceTooLarge: each is reported only once every earlier check
    /// passes.
    function test_commitBatch_revertsInOrder() public {
        MarketTypes.Leaf[] memory none = new MarketTypes.Leaf[](0);
        MarketTypes.Leaf[] memory tooMany = _leaves(513, client);
        tooMany[0].price = uint256(type(uint128).max) + 1;
        vm.prank(prover); // not the account's own transaction
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotDirectCall.selector));
        market.commitBatch(none);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.commitBatch(none);

        _register(prover, MIN_STAKE);
        vm.prank(prover);
        market.unbond(1);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.commitBatch(none);

        vm.deal(prover, 1);
        vm.prank(prover);
        market.addStake{value: 1}();
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EmptyBatch.selector));
        market.commitBatch(none);

        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.BatchTooLarge.selector, uint256(513), uint256(512)));
        market.commitBatch(tooMany);

        assembly ("memory-safe") {
            mstore(tooMany, 101) // one leaf more than the stake covers
        }
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, 101, 100));
        market.commitBatch(tooMany);

        assembly ("memory-safe") {
            mstore(tooMany, 100)
        }
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 0));
        market.commitBatch(tooMany);
        assertEq(market.batchCount(), 0);
    }

    function test_commitBatch_storesBatchAndEmits() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(7, client);
        bytes32 expectedRoot = MerkleBuilder.root(_hashes(leaves));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchCommitted(0, prover, expectedRoot, 7);
        uint256 id = _commit(prover, leaves);

        assertEq(id, 0);
        assertEq(market.batchCount(), 1);
        (address p, uint24 count, uint40 blockNumber, uint32 timestamp, bytes32 root) = market.batches(0);
        assertEq(p, prover);
        assertEq(root, expectedRoot);
        assertEq(count, 7);
        assertEq(blockNumber, block.number);
        assertEq(timestamp, block.timestamp);
    }

    /// The leaves are the input of the prover's own transaction, which the
    /// `BatchCommitted` log names: decoding that input gives every leaf, in tree order,
    /// with every field, and from it anyone rebuilds the tree, finds each leaf's path and
    /// can challenge it. A contract or a delegated account cannot commit (its input would
    /// wrap the call in an encoding only it knows).
    function test_commitBatch_theLeavesAreTheTransactionsInput() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        leaves[1].client = otherClient;
        leaves[3].price = type(uint128).max;
        bytes memory input = abi.encodeCall(market.commitBatch, (leaves));
        vm.recordLogs();
        vm.prank(prover, prover);
        (bool ok,) = address(market).call(input);
        assertTrue(ok);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], MarketTypes.BatchCommitted.selector);
        uint256 id = uint256(logs[0].topics[1]);

        // A watchtower's view: the transaction's input, decoded as `commitBatch`.
        bytes memory args = new bytes(input.length - 4);
        for (uint256 i = 0; i < args.length; i++) {
            args[i] = input[i + 4];
        }
        MarketTypes.Leaf[] memory published = abi.decode(args, (MarketTypes.Leaf[]));
        assertEq(published.length, 5);
        for (uint256 i = 0; i < 5; i++) {
            assertEq(keccak256(abi.encode(published[i])), keccak256(abi.encode(leaves[i])), "leaf i, every field");
        }
        (,,,, bytes32 stored) = market.batches(id);
        assertEq(MerkleBuilder.root(_hashes(published)), stored, "the input's leaves make the root");
        _evidence(otherClient, _withheldCall(_at(id, published, 4), NO_NONCE));
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        uint256 challengeId =
            market.challengeWithheldProof{value: BOND}(_at(id, published, 4), NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(market.pendingChallenge(_jobKey(prover, client, leaves[4].jobId)), challengeId + 1);

        // A contract in between is refused, even in the account's own transaction.
        CommitRelay relay = new CommitRelay(market);
        vm.prank(prover, prover);
        vm.expectRevert(MarketTypes.NotDirectCall.selector);
        relay.commit(leaves);
    }

    /// The contract computes the root from the leaves, as `provernet_protocol::merkle`
    /// builds it. A root without its leaves cannot be posted: the entry point that took a
    /// bare root and a count, `commitBatch(bytes32,uint32)`, is gone.
    function test_commitBatch_aRootWithoutItsLeavesCannotBePosted() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeWithSignature("commitBatch(bytes32,uint32)", keccak256("root"), uint32(7)));
        assertFalse(ok);
        assertEq(ret.length, 0, "no such function");
        assertEq(market.batchCount(), 0);

        // The Rust crate's vectors: the stored root is the root Rust computed.
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/batch-leaves.json"));
        uint256 n = vm.parseJsonUint(json, ".count");
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            string memory at = string.concat(".cases[", vm.toString(i), "].");
            leaves[i] = MarketTypes.Leaf({
                jobId: vm.parseJsonBytes32(json, string.concat(at, "jobId")),
                circuitId: vm.parseJsonBytes32(json, string.concat(at, "circuitId")),
                publicInputsHash: vm.parseJsonBytes32(json, string.concat(at, "publicInputsHash")),
                proofHash: vm.parseJsonBytes32(json, string.concat(at, "proofHash")),
                client: vm.parseJsonAddress(json, string.concat(at, "client")),
                price: vm.parseJsonUint(json, string.concat(at, "price"))
            });
        }
        uint256 id = _commit(prover, leaves);
        (,,,, bytes32 root) = market.batches(id);
        assertEq(root, vm.parseJsonBytes32(json, ".root"));

        // A single leaf is its own root; other sizes follow the same tree.
        for (uint256 size = 1; size <= 9; size++) {
            MarketTypes.Leaf[] memory batch = _leaves(size, otherClient);
            id = _commit(prover, batch);
            (,,,, root) = market.batches(id);
            assertEq(root, MerkleBuilder.root(_hashes(batch)));
            if (size == 1) assertEq(root, _hash(batch[0]));
        }
    }

    function test_commitBatch_idsIncreaseAcrossProvers() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        assertEq(_commit(prover, _leaves(1, client)), 0);
        MarketTypes.Leaf[] memory two = _leaves(2, otherClient);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchCommitted(1, otherProver, MerkleBuilder.root(_hashes(two)), 2);
        assertEq(_commit(otherProver, two), 1);
        assertEq(_commit(prover, _leaves(3, client)), 2);
        assertEq(market.batchCount(), 3);
        (address p,,,,) = market.batches(1);
        assertEq(p, otherProver);
    }

    // ================================================================================
    // commitBatch: the exposure bound / exposure
    // ================================================================================

    /// The prover's raw risk counters (epoch, leaves of that epoch, leaves of the one before).
    function _risk(address who) internal view returns (uint40 epoch, uint32 current, uint32 previous) {
        (,,,,,,,, epoch, current, previous,) = market.provers(who);
    }

    function _atRisk(address who) internal view returns (uint256 atRisk) {
        (atRisk,) = market.exposure(who);
    }

    function test_commitBatch_revertsWhenLeavesAtRiskExceedWhatTheStakeCovers() public {
        _register(prover, MIN_STAKE); // covers MIN_STAKE / SLASH_PER_JOB = 100 leaves
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 101, 101, covered);
        _commitCount(prover, 60);
        _expectExposureTooHigh(prover, 41, 101, covered);
        _commitCount(prover, 40); // exactly covered
        _expectExposureTooHigh(prover, 1, 101, covered);
        (uint256 atRisk, uint256 c) = market.exposure(prover);
        assertEq(atRisk, 100);
        assertEq(c, covered);
        assertEq(market.batchCount(), 2);
    }

    /// Leaves count in the epoch (of `challengeWindow + responseWindow + 1` blocks) they
    /// were committed in and in the next one, then drop out.
    function test_exposure_countsLeavesInTheirEpochAndTheNext() public {
        assertEq(EPOCH, 16);
        _register(prover, MIN_STAKE);
        vm.roll(10 * EPOCH); // first block of epoch 10
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 0);
        assertEq(covered, 100);

        _commitCount(prover, 30);
        vm.roll(11 * EPOCH - 1); // last block of epoch 10
        _commitCount(prover, 20);
        assertEq(_atRisk(prover), 50);
        (uint40 epoch, uint32 current, uint32 previous) = _risk(prover);
        assertEq(epoch, 10);
        assertEq(current, 50);
        assertEq(previous, 0);

        vm.roll(11 * EPOCH); // epoch 11: epoch 10's leaves still count
        assertEq(_atRisk(prover), 50);
        _commitCount(prover, 30);
        assertEq(_atRisk(prover), 80);
        (epoch, current, previous) = _risk(prover);
        assertEq(epoch, 11);
        assertEq(current, 30);
        assertEq(previous, 50);
        _expectExposureTooHigh(prover, 21, 101, 100);

        vm.roll(12 * EPOCH - 1); // last block of epoch 11: epoch 10's leaves still count
        assertEq(_atRisk(prover), 80);
        vm.roll(12 * EPOCH); // epoch 12: epoch 10's leaves are out
        assertEq(_atRisk(prover), 30);
        _commitCount(prover, 70);
        assertEq(_atRisk(prover), 100);
        _expectExposureTooHigh(prover, 1, 101, 100);

        vm.roll(13 * EPOCH); // epoch 13: only epoch 12's 70
        assertEq(_atRisk(prover), 70);

        vm.roll(14 * EPOCH); // epoch 14: nothing left
        assertEq(_atRisk(prover), 0);
        _commitCount(prover, 100);
        (epoch, current, previous) = _risk(prover);
        assertEq(epoch, 14);
        assertEq(current, 100);
        assertEq(previous, 0, "epoch 12's leaves do not come back");
    }

    /// A leaf counts at least through the last block of its batch's challenge window, the
    /// response window of a challenge opened then and the first block that challenge can be
    /// finalized in, whether it is posted in the last or the first block of an epoch: posted
    /// in the last, it leaves the count the block after (`respondBy + 2`); an open
    /// challenge does not count again.
    function test_exposure_coversTheWindowAndTheResponseToAChallengeAtItsEnd() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        vm.roll(11 * EPOCH - 1); // last block of epoch 10
        uint256 committedAt = block.number;
        MarketTypes.Leaf[] memory leaves = _leaves(7, client);
        uint256 id = _commit(prover, leaves);
        vm.roll(11 * EPOCH); // first block of epoch 11
        _commitCount(otherProver, 9);

        vm.roll(committedAt + CHALLENGE_WINDOW); // prover's window: last block
        assertEq(_atRisk(prover), 7);
        uint256 challengeId = _challengeWithheld(otherClient, id, leaves, 0);
        assertEq(_atRisk(prover), 7, "the challenged leaf counts once");
        uint256 respondBy = committedAt + CHALLENGE_WINDOW + RESPONSE_WINDOW;
        vm.roll(respondBy); // the last block to answer that challenge
        assertEq(_atRisk(prover), 7);
        vm.roll(respondBy + 1); // the first block to finalize it: the last of epoch 11
        assertEq(respondBy + 1, 12 * EPOCH - 1);
        assertEq(_atRisk(prover), 7, "the leaves count until the challenge can be finalized");
        market.finalizeChallenge(challengeId);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH_PER_JOB, "a slash of a leaf at risk, in full");
        assertEq(_atRisk(prover), 7, "a slash does not take the leaf out of the count");
        vm.roll(respondBy + 2); // the first block of epoch 12
        assertEq(_atRisk(prover), 0, "the leaves are out");

        vm.roll(11 * EPOCH + CHALLENGE_WINDOW + RESPONSE_WINDOW + 1); // otherProver's leaves
        assertEq(_atRisk(otherProver), 9);
        vm.roll(13 * EPOCH - 1); // ... and until the end of epoch 12
        assertEq(_atRisk(otherProver), 9);
        vm.roll(13 * EPOCH);
        assertEq(_atRisk(otherProver), 0);
    }

    /// Open challenges do not count as leaves at risk: a challenger's single bond cannot
    /// make the commit of an honest prover at its cover revert at its deadline (and so get
    /// its whole batch slashed for missed deadlines). The challenged leaf counts once, as a
    /// leaf; a slash lowers what the stake covers.
    function test_exposure_anOpenChallengeDoesNotBlockAnHonestCommit() public {
        _register(prover, MIN_STAKE); // covers 100
        MarketTypes.Leaf[] memory leaves = _leaves(60, client);
        uint256 id = _commit(prover, leaves);
        uint256 unanswered = _challengeWithheld(otherClient, id, leaves, 0);
        _challengeWithheld(otherClient, id, leaves, 1);
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 60, "two open challenges add nothing");
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 41, 101, 100);
        _commitCount(prover, 40);
        assertEq(_atRisk(prover), 100);

        // Once finalized, the slash lowers what the stake covers.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(unanswered);
        (atRisk, covered) = market.exposure(prover);
        assertEq(atRisk, 100);
        assertEq(covered, 99);
    }

    /// Only bonded stake covers new leaves: unbonding lowers the bound, adding stake raises it.
    function test_exposure_coveredFollowsTheBondedStake() public {
        _register(prover, 2 ether);
        _commitCount(prover, 150);
        vm.prank(prover);
        market.unbond(1 ether);
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 150);
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 1, 151, 100);

        vm.deal(prover, 1.5 ether);
        vm.prank(prover);
        market.addStake{value: 1.5 ether}();
        (, covered) = market.exposure(prover);
        assertEq(covered, 250);
        _commitCount(prover, 100);
        (atRisk,) = market.exposure(prover);
        assertEq(atRisk, 250);
    }

    function test_exposure_isPerProver() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, 2 * MIN_STAKE);
        _commitCount(prover, 100);
        _commitCount(otherProver, 200);
        (uint256 a, uint256 ca) = market.exposure(prover);
        (uint256 b, uint256 cb) = market.exposure(otherProver);
        assertEq(a, 100);
        assertEq(ca, 100);
        assertEq(b, 200);
        assertEq(cb, 200);
        _expectExposureTooHigh(prover, 1, 101, 100);
        _expectExposureTooHigh(otherProver, 1, 201, 200);
    }

    function test_exposure_isZeroForAnUnknownProver() public view {
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 0);
        assertEq(covered, 0);
    }
}
