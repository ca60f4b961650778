// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase} from "./ChallengesBase.sol";

/// The equivocation challenge: one test per rule and per revert reason (docs/contracts.md).
/// The setting, the figures used throughout and the shared helpers are in ChallengesBase.
contract EquivocationChallengesTest is ChallengesBase {
    // ================================================================================
    // challengeEquivocation
    // ================================================================================

    function test_challengeEquivocation_twoBatchesSlashWithRefundCappedAtTheLowerPrice() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(3 gwei, 2 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        // The first batch's window has closed; the later one's is open: still caught.
        vm.roll(block.number + CHALLENGE_WINDOW + 2);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        uint256 marketBefore = address(market).balance;
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            a.jobId,
            client,
            MarketTypes.Fault.Equivocation,
            watchtower,
            SLASH,
            REWARD,
            2 gwei,
            SLASH - REWARD - 2 gwei
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        assertEq(market.credits(watchtower), REWARD, "no bond: reward only");
        assertEq(market.deposits(client), 2 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 2 gwei);
        assertEq(address(market).balance, marketBefore - (SLASH - REWARD - 2 gwei));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertTrue(market.slashed(_key(a)));
        assertTrue(_isDisputed(prover));
    }

    function test_challengeEquivocation_bothLeavesInOneBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(5 gwei, 9 gwei);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](3);
        leaves[0] = a;
        leaves[1] = _leaf(1, client, 1 gwei);
        leaves[2] = b;
        uint256 id = _commit(prover, leaves);
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (_at(id, leaves, 2), _at(id, leaves, 0))));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            a.jobId,
            client,
            MarketTypes.Fault.Equivocation,
            watchtower,
            SLASH,
            REWARD,
            5 gwei,
            SLASH - REWARD - 5 gwei
        );
        vm.prank(watchtower);
        market.challengeEquivocation(_at(id, leaves, 2), _at(id, leaves, 0));
        assertTrue(_isDisputed(prover));
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_challengeEquivocation_revertsOnBatchesOfTwoProvers() public {
        _register(otherProver, MIN_STAKE);
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(otherProver, b);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameProver.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnAnotherJobId() public {
        (MarketTypes.Leaf memory a,) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, _leaf(JOB + 1, client, 1 gwei));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameJob.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnSameJobIdOfAnotherClient() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        b.client = otherClient;
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameJob.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnTheSameLeafTwice() public {
        MarketTypes.Leaf memory a = _leaf(JOB, client, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, a); // recommitted, same content
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.SameLeaf.selector));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.SameLeaf.selector));
        market.challengeEquivocation(atA, atA);
    }

    function test_challengeEquivocation_revertsWhenFirstLeafNotInBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atA.leaf.publicInputsHash = keccak256("not committed");
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenSecondLeafNotInBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atB.path = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenTheLaterWindowClosed() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        vm.roll(block.number + 3);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeEquivocation(atB, atA);
    }

    function test_challengeEquivocation_revertsOnUnknownBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atB.batchId = 2;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 2));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenAlreadySlashed() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _evidence(address(this), abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, a.jobId));
        market.challengeEquivocation(atB, atA);
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }
}
