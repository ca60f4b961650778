// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {MerkleBuilder} from "../utils/MarketFixture.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// The Merkle builder against the Rust fixture, and fuzz tests: one test per rule and per
/// revert reason of ProverMarket (docs/contracts.md). The shared helpers are in
/// MarketTestBase.
contract MarketFuzzTest is MarketTestBase {
    // ================================================================================
    // the test helper itself
    // ================================================================================

    function test_merkleBuilder_reproducesRustFixture() public view {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/batch-leaves.json"));
        uint256 count = vm.parseJsonUint(json, ".count");
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            leaves[i] = vm.parseJsonBytes32(json, string.concat(".cases[", vm.toString(i), "].leaf"));
        }
        assertEq(MerkleBuilder.root(leaves), vm.parseJsonBytes32(json, ".root"));
        for (uint256 i = 0; i < count; i++) {
            bytes32[] memory rust = vm.parseJsonBytes32Array(json, string.concat(".cases[", vm.toString(i), "].path"));
            bytes32[] memory ours = MerkleBuilder.proof(leaves, i);
            assertEq(ours.length, rust.length);
            for (uint256 j = 0; j < ours.length; j++) {
                assertEq(ours[j], rust[j]);
            }
        }
    }

    function testFuzz_merkleBuilder_everyPathVerifies(uint256 n, uint256 seed) public pure {
        n = bound(n, 1, 64);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = keccak256(abi.encode(seed, i));
        }
        bytes32 root = MerkleBuilder.root(leaves);
        for (uint256 i = 0; i < n; i++) {
            assertTrue(MerkleProof.verify(MerkleBuilder.proof(leaves, i), root, leaves[i]));
        }
    }

    // ================================================================================
    // fuzz
    // ================================================================================

    function testFuzz_register_belowMinimumReverts(uint256 stake) public {
        stake = bound(stake, 0, MIN_STAKE - 1);
        vm.deal(prover, stake);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, stake, MIN_STAKE));
        market.register{value: stake}(PEER_KEY);
    }

    function testFuzz_stake_unbondAndWithdraw(uint256 stake, uint256 amount, uint256 wait, uint256 waitTime) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        amount = bound(amount, 1, stake);
        wait = bound(wait, 0, 3 * UNBONDING_DELAY);
        waitTime = bound(waitTime, 0, 2 * (MAX_DEADLINE + DEADLINE_PERIOD));
        _register(prover, stake);
        vm.prank(prover);
        market.unbond(amount);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        uint64 afterTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        assertEq(_isStaked(prover), stake - amount >= MIN_STAKE);

        vm.roll(block.number + wait);
        vm.warp(block.timestamp + waitTime);
        // forge-lint: disable-next-line(block-timestamp)
        bool timePassed = block.timestamp >= afterTime;
        vm.prank(prover);
        if (block.number < at) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
            market.withdrawStake();
            assertEq(prover.balance, 0);
        } else if (!timePassed) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, afterTime));
            market.withdrawStake();
            assertEq(prover.balance, 0);
        } else {
            market.withdrawStake();
            assertEq(prover.balance, amount);
        }
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover) + unbonding + prover.balance, stake);
        assertEq(address(market).balance, _stakeOf(prover) + unbonding);
    }

    function testFuzz_unbond_aboveStakeReverts(uint256 stake, uint256 amount) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        amount = bound(amount, stake + 1, type(uint256).max);
        _register(prover, stake);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientStake.selector, stake, amount));
        market.unbond(amount);
    }

    function testFuzz_deposit_withdrawAfterClaim(uint256 deposited, uint256 requested, uint256 price) public {
        deposited = bound(deposited, 1, 1e30);
        requested = bound(requested, 1, deposited);
        price = bound(price, 0, deposited);
        _register(prover, MIN_STAKE);
        _deposit(client, deposited);
        vm.prank(client);
        market.requestDepositWithdrawal(requested);

        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, price);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a, sig);

        vm.roll(block.number + DEPOSIT_DELAY);
        uint256 left = deposited - price;
        uint256 expected = requested < left ? requested : left;
        vm.prank(client);
        if (expected == 0) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
            market.withdrawDeposit();
        } else {
            market.withdrawDeposit();
        }
        assertEq(client.balance, expected);
        assertEq(prover.balance, price);
        assertEq(market.deposits(client), left - expected);
        assertEq(address(market).balance, MIN_STAKE + left - expected);
    }

    function testFuzz_claim_everyLeafOnce(uint256 n, uint256 seed, uint256 first) public {
        n = bound(n, 1, 64);
        first = bound(first, 0, n - 1);
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](n);
        uint256 total;
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(i, client, bound(uint256(keccak256(abi.encode(seed, i))), 0, 1e24));
            total += leaves[i].price;
        }
        _deposit(client, total);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);

        // Claim every leaf once, starting at `first` and wrapping around.
        for (uint256 k = 0; k < n; k++) {
            _claimOf(id, leaves, (first + k) % n, "");
        }
        assertEq(prover.balance, total);
        assertEq(market.deposits(client), 0);
        assertEq(address(market).balance, MIN_STAKE);

        _claimOf(id, leaves, first, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[first].jobId));
    }

    /// Claims leaf `i` of batch `id` (all leaves of `client`) as `prover`, with a fresh
    /// award; expects `err` unless it is empty.
    function _claimOf(uint256 id, MarketTypes.Leaf[] memory leaves, uint256 i, bytes memory err) internal {
        MarketTypes.Award memory a = _award(leaves[i], prover);
        bytes memory sig = _sign(clientKey, a);
        if (err.length != 0) vm.expectRevert(err);
        _claimJob(prover, id, leaves, i, _nonce(i), a, sig);
    }

    function testFuzz_claim_windowBoundary(uint256 wait) public {
        wait = bound(wait, 0, 3 * CHALLENGE_WINDOW);
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[2], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(block.number + wait);
        if (block.number <= closesAt) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt));
            _claimJob(prover, id, leaves, 2, 2, a, sig);
            assertEq(prover.balance, 0);
        } else {
            _claimJob(prover, id, leaves, 2, 2, a, sig);
            assertEq(prover.balance, leaves[2].price);
        }
    }

    function testFuzz_claim_wrongSignerRejected(uint256 key) public {
        key = bound(key, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        vm.assume(key != clientKey);
        _setUpBatch();
        bytes memory sig = _sign(key, awards[0]);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            awards[0],
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// `exposure` and `commitBatch` agree with a model that keeps every batch: leaves at
    /// risk are those committed in the current epoch or the one before.
    function testFuzz_commitBatch_exposureMatchesModel(uint256 stake, uint256 seed) public {
        stake = bound(stake, MIN_STAKE, 5 * MIN_STAKE);
        _register(prover, stake);
        uint256 covered = stake / SLASH_PER_JOB;
        uint256[] memory blocks = new uint256[](12);
        uint256[] memory counts = new uint256[](12);
        uint256 n;
        for (uint256 step = 0; step < 12; step++) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            vm.roll(block.number + r % (3 * EPOCH));
            uint32 count = uint32(bound(r >> 64, 1, covered));
            uint256 epoch = block.number / EPOCH;
            uint256 atRisk;
            for (uint256 k = 0; k < n; k++) {
                uint256 e = blocks[k] / EPOCH;
                if (e == epoch || e + 1 == epoch) atRisk += counts[k];
            }
            (uint256 viewRisk, uint256 viewCovered) = market.exposure(prover);
            assertEq(viewRisk, atRisk);
            assertEq(viewCovered, covered);
            if (atRisk + count > covered) {
                _expectExposureTooHigh(prover, count, atRisk + count, covered);
            } else {
                _commitCount(prover, count);
                (blocks[n], counts[n]) = (block.number, count);
                n++;
            }
        }
    }
}
