// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// `claimBatch`: several jobs of one batch paid in one call with one transfer, from the
/// batch's leaf hashes (zero where a claim supplies the leaf) and compact (ERC-2098) award
/// signatures. One test per rule and per revert reason (docs/contracts.md).
contract ClaimBatchTest is MarketFixture {
    /// The batch of `_setUpBatch`: leaves of `client` with nonces 0..n-1 and prices
    /// 1 gwei, 2 gwei, ..., awarded with `deadline`, committed by `prover`, window closed.
    MarketTypes.Leaf[] internal leaves;
    uint256 internal batchId;
    uint64 internal deadline;

    function _setUpBatch(uint256 n) internal {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory ls = _leaves(n, client);
        for (uint256 i = 0; i < n; i++) {
            leaves.push(ls[i]);
        }
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, ls);
        _closeWindow(batchId);
    }

    function _leavesMem() internal view returns (MarketTypes.Leaf[] memory) {
        return leaves;
    }

    /// The claim of leaf `l` at `index`, with nonce `nonce`, signed with `key` for `to`.
    function _claimOf(MarketTypes.Leaf memory l, uint256 index, uint64 nonce, uint256 key, address to)
        internal
        view
        returns (MarketTypes.BatchClaim memory c)
    {
        c = _batchJob(l, index, nonce, deadline, _sign(key, _award(l, to, deadline)));
    }

    /// The client's claim of leaf `i` of the batch.
    function _job(uint256 i) internal view returns (MarketTypes.BatchClaim memory) {
        return _claimOf(leaves[i], i, _nonce(i), clientKey, prover);
    }

    function _jobs(uint256[] memory indices) internal view returns (MarketTypes.BatchClaim[] memory jobs) {
        jobs = new MarketTypes.BatchClaim[](indices.length);
        for (uint256 k = 0; k < indices.length; k++) {
            jobs[k] = _job(indices[k]);
        }
    }

    /// The batch's leaf hashes with zero at every index a claim in `jobs` supplies.
    function _hashesFor(MarketTypes.BatchClaim[] memory jobs) internal view returns (bytes32[] memory h) {
        h = _hashes(_leavesMem());
        for (uint256 k = 0; k < jobs.length; k++) {
            h[jobs[k].index] = bytes32(0);
        }
    }

    function _indices(uint256 a) internal pure returns (uint256[] memory x) {
        x = new uint256[](1);
        x[0] = a;
    }

    function _indices(uint256 a, uint256 b) internal pure returns (uint256[] memory x) {
        x = new uint256[](2);
        (x[0], x[1]) = (a, b);
    }

    function _indices(uint256 a, uint256 b, uint256 c) internal pure returns (uint256[] memory x) {
        x = new uint256[](3);
        (x[0], x[1], x[2]) = (a, b, c);
    }

    function _claimBatch(MarketTypes.BatchClaim[] memory jobs) internal {
        bytes32[] memory h = _hashesFor(jobs);
        vm.prank(prover);
        market.claimBatch(batchId, h, jobs);
    }

    function _expectClaimBatchRevert(bytes32[] memory h, MarketTypes.BatchClaim[] memory jobs, bytes memory err)
        internal
    {
        vm.prank(prover);
        vm.expectRevert(err);
        market.claimBatch(batchId, h, jobs);
    }

    function _packed(uint256[] memory indices) internal pure returns (bytes memory out) {
        for (uint256 k = 0; k < indices.length; k++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            out = bytes.concat(out, bytes4(uint32(indices[k])));
        }
    }

    // ================================================================================
    // payment
    // ================================================================================

    function test_claimBatch_paysSeveralJobsWithOneTransfer() public {
        _setUpBatch(5);
        uint256[] memory order = new uint256[](5);
        (order[0], order[1], order[2], order[3], order[4]) = (4, 1, 3, 0, 2);
        MarketTypes.BatchClaim[] memory jobs = _jobs(order);
        uint256 total = 15 gwei;
        uint256 marketBefore = address(market).balance;

        vm.expectCall(prover, "", 1); // one transfer for all the jobs
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(batchId, prover, total, _packed(order));
        _claimBatch(jobs);

        assertEq(prover.balance, total);
        assertEq(market.deposits(client), 1 ether - total);
        assertEq(address(market).balance, marketBefore - total);
        for (uint256 i = 0; i < 5; i++) {
            assertTrue(market.isPaid(client, prover, _nonce(i)));
        }
    }

    function test_claimBatch_paysJobsOfSeveralClients() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        leaves.push(_leaf(0, client, 3 gwei));
        leaves.push(_leaf(0, otherClient, 5 gwei)); // same nonce, another client: another job
        leaves.push(_leaf(1, client, 7 gwei));
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, _leavesMem());
        _closeWindow(batchId);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](3);
        jobs[0] = _claimOf(leaves[0], 0, 0, clientKey, prover);
        jobs[1] = _claimOf(leaves[1], 1, 0, otherClientKey, prover);
        jobs[2] = _claimOf(leaves[2], 2, 1, clientKey, prover);
        _claimBatch(jobs);
        assertEq(prover.balance, 15 gwei);
        assertEq(market.deposits(client), 1 ether - 10 gwei);
        assertEq(market.deposits(otherClient), 1 ether - 5 gwei);
        assertTrue(market.isPaid(otherClient, prover, 0));
        assertFalse(market.isPaid(otherClient, prover, 1));
    }

    /// A call holds a client's deposit and paid-jobs word in memory while consecutive
    /// claims are that client's: jobs in several paid words, and a client coming back
    /// after another, are paid and recorded exactly as one claim each would.
    function test_claimBatch_paysAcrossPaidWordsAndInterleavedClients() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        leaves.push(_leaf(0, client, 3 gwei));
        leaves.push(_leaf(300, client, 5 gwei)); // another paid-jobs word
        leaves.push(_leaf(1, client, 7 gwei)); // back to the first word
        leaves.push(_leaf(0, otherClient, 11 gwei));
        leaves.push(_leaf(2, client, 13 gwei)); // back to the first client
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, _leavesMem());
        _closeWindow(batchId);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](5);
        jobs[0] = _claimOf(leaves[0], 0, 0, clientKey, prover);
        jobs[1] = _claimOf(leaves[1], 1, 300, clientKey, prover);
        jobs[2] = _claimOf(leaves[2], 2, 1, clientKey, prover);
        jobs[3] = _claimOf(leaves[3], 3, 0, otherClientKey, prover);
        jobs[4] = _claimOf(leaves[4], 4, 2, clientKey, prover);
        _claimBatch(jobs);
        assertEq(prover.balance, 39 gwei);
        assertEq(market.deposits(client), 1 ether - 28 gwei);
        assertEq(market.deposits(otherClient), 1 ether - 11 gwei);
        for (uint64 n = 0; n < 3; n++) {
            assertTrue(market.isPaid(client, prover, n));
        }
        assertTrue(market.isPaid(client, prover, 300));
        assertFalse(market.isPaid(client, prover, 3));
        assertTrue(market.isPaid(otherClient, prover, 0));
        assertFalse(market.isPaid(otherClient, prover, 1));
        // Every one of them is paid for good: claiming any again fails.
        for (uint256 k = 0; k < 5; k++) {
            MarketTypes.BatchClaim[] memory again = new MarketTypes.BatchClaim[](1);
            again[0] = jobs[k];
            _expectClaimBatchRevert(
                _hashesFor(again), again, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[k].jobId)
            );
        }
    }

    /// The same job claimed twice with another client's claim between them: the first
    /// claim's record, written back when the client changed, still stops the second.
    function test_claimBatch_revertsOnTheSameJobTwiceAroundAnotherClient() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        leaves.push(_leaf(0, client, 3 gwei));
        leaves.push(_leaf(0, otherClient, 5 gwei));
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, _leavesMem());
        _closeWindow(batchId);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](3);
        jobs[0] = _claimOf(leaves[0], 0, 0, clientKey, prover);
        jobs[1] = _claimOf(leaves[1], 1, 0, otherClientKey, prover);
        jobs[2] = jobs[0];
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[0].jobId)
        );
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claimBatch_partialClaimsThenTheRest() public {
        _setUpBatch(5);
        _claimBatch(_jobs(_indices(1, 3)));
        assertEq(prover.balance, 6 gwei);
        assertFalse(market.isPaid(client, prover, 0));
        assertTrue(market.isPaid(client, prover, 1));
        assertFalse(market.isPaid(client, prover, 2));
        assertTrue(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(client, prover, 4));

        _claimBatch(_jobs(_indices(0, 2, 4)));
        assertEq(prover.balance, 15 gwei);
        assertEq(market.deposits(client), 1 ether - 15 gwei);
    }

    function test_claimBatch_acceptsTheClaimedLeafGivenInFull() public {
        _setUpBatch(4);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(2));
        vm.prank(prover);
        market.claimBatch(batchId, _hashes(_leavesMem()), jobs); // no zero placeholder
        assertEq(prover.balance, 3 gwei);
    }

    function test_claimBatch_withNoJobsPaysNothing() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory none = new MarketTypes.BatchClaim[](0);
        vm.expectCall(prover, "", 0);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(batchId, prover, 0, "");
        _claimBatch(none);
        assertEq(market.deposits(client), 1 ether);
    }

    function test_claimBatch_singleLeafBatch() public {
        _setUpBatch(1);
        _claimBatch(_jobs(_indices(0)));
        assertEq(prover.balance, 1 gwei);
    }

    // ================================================================================
    // reverts
    // ================================================================================

    function test_claimBatch_revertsOnUnknownBatch() public {
        _setUpBatch(2);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        bytes32[] memory h = _hashesFor(jobs);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, batchId + 1));
        market.claimBatch(batchId + 1, h, jobs);
    }

    function test_claimBatch_revertsWhenCallerIsNotBatchProver() public {
        _setUpBatch(2);
        _register(otherProver, MIN_STAKE);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _claimOf(leaves[0], 0, 0, clientKey, otherProver);
        bytes32[] memory h = _hashesFor(jobs);
        vm.prank(otherProver);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, prover, otherProver));
        market.claimBatch(batchId, h, jobs);
    }

    function test_claimBatch_revertsWhileWindowOpen() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        leaves.push(_leaf(0, client, 1 gwei));
        leaves.push(_leaf(1, client, 1 gwei));
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, _leavesMem());
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt)
        );
    }

    function test_claimBatch_revertsOnWrongNumberOfLeaves() public {
        _setUpBatch(5);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        bytes32[] memory h = _hashesFor(jobs);
        bytes32[] memory fewer = new bytes32[](4);
        bytes32[] memory more = new bytes32[](6);
        for (uint256 i = 0; i < 4; i++) {
            fewer[i] = h[i];
        }
        for (uint256 i = 0; i < 5; i++) {
            more[i] = h[i];
        }
        _expectClaimBatchRevert(fewer, jobs, abi.encodeWithSelector(MarketTypes.BadBatchLeaves.selector, 5, 4));
        _expectClaimBatchRevert(more, jobs, abi.encodeWithSelector(MarketTypes.BadBatchLeaves.selector, 5, 6));
    }

    function test_claimBatch_revertsWhenLeavesDoNotMakeTheRoot() public {
        _setUpBatch(5);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        bytes32[] memory h = _hashesFor(jobs);
        h[3] = keccak256("not leaf 3");
        _expectClaimBatchRevert(h, jobs, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
    }

    function test_claimBatch_revertsWhenClaimedLeafDiffersFromTheGivenHash() public {
        _setUpBatch(5);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        jobs[0].index = 1; // leaf 0's content at index 1, whose hash is given
        bytes32[] memory h = _hashes(_leavesMem());
        _expectClaimBatchRevert(h, jobs, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
    }

    function test_claimBatch_revertsWhenClaimedLeafIsPutAtAnotherIndex() public {
        _setUpBatch(5);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        jobs[0].index = 4; // the placeholder is at 4, leaf 0 stays in place: no root
        bytes32[] memory h = _hashes(_leavesMem());
        h[4] = bytes32(0);
        _expectClaimBatchRevert(h, jobs, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
    }

    function test_claimBatch_revertsOnAlteredLeafField() public {
        _setUpBatch(5);
        bytes memory err = abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector);
        for (uint256 field = 0; field < 3; field++) {
            MarketTypes.Leaf memory l = leaves[2];
            if (field == 0) l.circuitId = keccak256("other circuit");
            if (field == 1) l.publicInputsHash = keccak256("other inputs");
            if (field == 2) l.proofHash = keccak256("other proof");
            // Signed for the altered leaf's statement, so the leaf itself is what fails.
            MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
            jobs[0] = _claimOf(l, 2, 2, clientKey, prover);
            _expectClaimBatchRevert(_hashesFor(jobs), jobs, err);
        }
    }

    /// The tree hashes sorted pairs, so swapping a leaf with its sibling keeps the root: a
    /// claim may name its sibling's index. It is still paid once, as its award (client,
    /// prover, nonce) says.
    function test_claimBatch_indexIsCheckedOnlyUpToSiblingOrder() public {
        _setUpBatch(2);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        jobs[0].index = 1;
        bytes32[] memory h = new bytes32[](2);
        h[0] = _hash(leaves[1]); // the sibling moved to index 0
        vm.prank(prover);
        market.claimBatch(batchId, h, jobs);
        assertTrue(market.isPaid(client, prover, 0));
        assertEq(prover.balance, 1 gwei);
        _expectClaimBatchRevert(
            _hashesFor(_jobs(_indices(0))),
            _jobs(_indices(0)),
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[0].jobId)
        );
    }

    function test_claimBatch_revertsOnIndexOutOfRange() public {
        _setUpBatch(5);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        bytes32[] memory h = _hashesFor(jobs);
        jobs[0].index = 5;
        _expectClaimBatchRevert(h, jobs, abi.encodeWithSelector(MarketTypes.BadIndex.selector, 5));
    }

    function test_claimBatch_revertsOnAwardSignedBySomeoneElse() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _claimOf(leaves[1], 1, 1, otherClientKey, prover);
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector));
    }

    function test_claimBatch_revertsOnAwardForAnotherProver() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _claimOf(leaves[1], 1, 1, clientKey, otherProver);
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector));
    }

    function test_claimBatch_revertsOnSignatureOfAnotherDeadline() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(1));
        jobs[0].deadline += 1;
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector));
    }

    function test_claimBatch_revertsOnBadVs() public {
        _setUpBatch(3);
        bytes memory err = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        for (uint256 k = 0; k < 3; k++) {
            MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(1));
            uint256 vs = uint256(jobs[0].vs);
            uint256 parity = vs >> 255;
            uint256 s = vs & ((uint256(1) << 255) - 1);
            if (k == 0) jobs[0].vs = bytes32(vs ^ (uint256(1) << 255)); // other parity: other signer
            if (k == 1) jobs[0].vs = bytes32((parity << 255) | (n - s)); // high s (malleated)
            if (k == 2) jobs[0].vs = bytes32(0);
            _expectClaimBatchRevert(_hashesFor(jobs), jobs, err);
        }
    }

    /// In a batch claim the job id is derived from (client, nonce), never sent: a wrong
    /// nonce names another job, whose award the client did not sign (or whose leaf is not
    /// the one given).
    function test_claimBatch_revertsOnWrongNonce() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(1));
        jobs[0].nonce = 2;
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector));
        _expectClaimBatchRevert(
            _hashes(_leavesMem()), jobs, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector)
        );
        assertFalse(market.isPaid(client, prover, 1));
        assertFalse(market.isPaid(client, prover, 2));
    }

    function test_claimBatch_revertsOnTheSameJobTwiceInOneCall() public {
        _setUpBatch(3);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(2, 2));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[2].jobId)
        );
        assertFalse(market.isPaid(client, prover, 2));
    }

    /// A job paid alone (`_claimJob`) fails a later claim of several jobs that holds it:
    /// the whole call reverts, the other job stays unpaid.
    function test_claimBatch_revertsOnJobPaidByAnEarlierClaim() public {
        _setUpBatch(3);
        MarketTypes.Award memory a = _award(leaves[1], prover, deadline);
        bytes memory sig = _sign(clientKey, a);
        _claimJob(prover, batchId, _leavesMem(), 1, 1, a, sig);
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0, 1));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[1].jobId)
        );
        assertEq(prover.balance, 2 gwei, "paid once");
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claimBatch_revertsWhenCommittedAfterTheDeadline() public {
        _setUpBatch(3);
        (,,, uint32 committedAt,) = market.batches(batchId);
        deadline = committedAt - 1;
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0));
        _expectClaimBatchRevert(
            _hashesFor(jobs),
            jobs,
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, uint64(committedAt), deadline)
        );
    }

    function test_claimBatch_revertsWholeCallWhenADepositRunsOut() public {
        _setUpBatch(3);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether - 4 gwei);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit(); // 4 gwei left: jobs 0 (1 gwei) and 2 (3 gwei) but not 1 too
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0, 2, 1));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 2 gwei)
        );
        assertEq(market.deposits(client), 4 gwei);
        assertFalse(market.isPaid(client, prover, 0));
        _claimBatch(_jobs(_indices(0, 2)));
        assertEq(prover.balance, 4 gwei);
    }

    // ---- disputed batches ----------------------------------------------------------------

    function test_claimBatch_revertsOnASlashedJobButPaysTheOthers() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory ls = _leaves(3, client);
        for (uint256 i = 0; i < 3; i++) {
            leaves.push(ls[i]);
        }
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, ls);
        // The prover commits job 1 again with another proof: equivocation.
        MarketTypes.Leaf[] memory twin = new MarketTypes.Leaf[](1);
        twin[0] = _leaf(1, client, ls[1].price);
        twin[0].proofHash = keccak256("another proof");
        uint256 twinBatch = _commit(prover, twin);
        MarketTypes.Inclusion memory atA = _at(batchId, ls, 1);
        MarketTypes.Inclusion memory atB = _at(twinBatch, twin, 0);
        _evidence(address(this), abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        market.challengeEquivocation(atA, atB);
        assertTrue(_isDisputed(prover));
        _closeWindow(batchId);

        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(0, 1));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.JobSlashed.selector, ls[1].jobId)
        );
        _claimBatch(_jobs(_indices(0, 2)));
        assertEq(prover.balance, 4 gwei);
    }

    function test_claimBatch_revertsOnAJobUnderChallengeButPaysTheOthers() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory ls = _leaves(3, client);
        for (uint256 i = 0; i < 3; i++) {
            leaves.push(ls[i]);
        }
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, ls);
        vm.roll(block.number + CHALLENGE_WINDOW); // challenged at the window's last block
        uint256 id = _challengeWithheld(otherClient, batchId, ls, 2);
        vm.roll(block.number + 1);

        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(2));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id)
        );
        _claimBatch(_jobs(_indices(0, 1)));
        assertEq(prover.balance, 3 gwei);
    }

    // ---- the largest batch ---------------------------------------------------------------

    /// Gas of a transaction with `data` as calldata whose execution takes `execution`: the
    /// larger of the standard cost (EIP-2028 calldata) and the EIP-7623 calldata floor.
    function _txGas(bytes memory data, uint256 execution) internal pure returns (uint256) {
        uint256 zeros;
        for (uint256 i = 0; i < data.length; i++) {
            if (data[i] == 0) zeros++;
        }
        uint256 tokens = zeros + 4 * (data.length - zeros);
        uint256 standard = 21_000 + 4 * tokens + execution;
        uint256 floor = 21_000 + 10 * tokens;
        return standard > floor ? standard : floor;
    }

    /// A committed batch of `n` leaves whose window has closed, and a prover under
    /// challenge (another of its jobs, challenged at its window's last block, still open):
    /// its claims read every job's slash and challenge state.
    function _setUpLargestBatchUnderChallenge(uint256 n) internal {
        _register(prover, (n + 1) * SLASH_PER_JOB); // covers the batch and one more leaf
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory ls = _leaves(n, client);
        for (uint256 i = 0; i < n; i++) {
            leaves.push(ls[i]);
        }
        deadline = uint64(block.timestamp + 1 hours);
        batchId = _commit(prover, ls);

        MarketTypes.Leaf[] memory other = new MarketTypes.Leaf[](1);
        other[0] = _leaf(n, client, 1 gwei);
        uint256 otherBatch = _commit(prover, other);
        vm.roll(block.number + CHALLENGE_WINDOW);
        _challengeWithheld(otherClient, otherBatch, other, 0);
        _closeWindow(batchId);
        assertTrue(_isDisputed(prover));
    }

    /// A `claimBatch` of every leaf of a batch of `MAX_BATCH_SIZE` leaves, by a prover under
    /// challenge, stays below EIP-7825's cap of 2^24 gas per transaction, calldata
    /// included.
    function test_claimBatch_largestBatchFitsInABlock() public {
        uint256 n = MAX_BATCH_SIZE;
        _setUpLargestBatchUnderChallenge(n);
        uint256[] memory all = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            all[i] = i;
        }
        MarketTypes.BatchClaim[] memory jobs = _jobs(all);
        bytes memory data = abi.encodeCall(market.claimBatch, (batchId, _hashesFor(jobs), jobs));
        vm.prank(prover);
        (bool ok,) = address(market).call(data);
        assertTrue(ok);
        // The gas of the call itself: a gasleft() difference here would also count copying
        // the calldata within this test's (large) memory.
        uint256 execution = vm.lastCallGas().gasTotalUsed;
        uint256 total = _txGas(data, execution);
        emit log_named_uint("claimBatch of the largest batch, gas", total);
        assertLt(total, 1 << 24, "a claim of the largest batch fits one transaction");
        assertEq(prover.balance, n * (n + 1) / 2 * 1 gwei);
    }

    // ================================================================================
    // the awarded statement (one job or several alike)
    // ================================================================================

    /// A leaf of the statement the client awarded (its circuit and public inputs hash) is
    /// paid, claimed alone or with others.
    function test_claimAndClaimBatch_payALeafOfTheAwardedStatement() public {
        _setUpBatch(3);
        MarketTypes.Award memory a = _award(leaves[0], prover, deadline);
        assertEq(a.circuitId, leaves[0].circuitId);
        assertEq(a.publicInputsHash, leaves[0].publicInputsHash);
        bytes memory sig = _sign(clientKey, a);
        _claimJob(prover, batchId, _leavesMem(), 0, 0, a, sig);
        _claimBatch(_jobs(_indices(1, 2)));
        assertTrue(market.isPaid(client, prover, 0));
        assertTrue(market.isPaid(client, prover, 1));
        assertTrue(market.isPaid(client, prover, 2));
        assertEq(prover.balance, 1 gwei + 2 gwei + 3 gwei);
        assertEq(market.deposits(client), 1 ether - 6 gwei);
    }

    /// The client awarded job 1 for other public inputs of the same circuit than the leaf
    /// the prover committed: no claim pays it, with the leaf as committed (the award does
    /// not match it) nor with the awarded statement put in its place (then it is not the
    /// committed leaf).
    function test_claimAndClaimBatch_refuseALeafOfOtherPublicInputs() public {
        _setUpBatch(3);
        MarketTypes.Award memory a = _award(leaves[1], prover, deadline);
        a.publicInputsHash = keccak256(abi.encodePacked(uint256(7), uint256(11))); // what the client sent

        (bytes32 r, bytes32 vs) = _compact(_sign(clientKey, a));
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(1));
        (jobs[0].r, jobs[0].vs) = (r, vs);
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector));

        // The awarded statement in the claim: the signature holds, the leaf is not the
        // committed one.
        jobs[0].publicInputsHash = a.publicInputsHash;
        _expectClaimBatchRevert(_hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));

        assertFalse(market.isPaid(client, prover, 1));
        assertEq(prover.balance, 0);
        assertEq(market.deposits(client), 1 ether);
    }

    // ================================================================================
    // fuzz
    // ================================================================================

    /// Any subset of a batch is paid exactly, in one transfer, and the rest stays payable.
    function testFuzz_claimBatch_randomSubsets(uint256 n, uint256 mask) public {
        n = bound(n, 1, 40);
        _setUpBatch(n);
        uint256 count;
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> i) & 1 == 1) count++;
        }
        uint256[] memory first = new uint256[](count);
        uint256[] memory rest = new uint256[](n - count);
        uint256 firstTotal;
        (uint256 a, uint256 b) = (0, 0);
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> i) & 1 == 1) {
                first[a++] = i;
                firstTotal += leaves[i].price;
            } else {
                rest[b++] = i;
            }
        }

        _claimBatch(_jobs(first));
        assertEq(prover.balance, firstTotal);
        assertEq(market.deposits(client), 1 ether - firstTotal);
        for (uint256 i = 0; i < n; i++) {
            assertEq(market.isPaid(client, prover, _nonce(i)), (mask >> i) & 1 == 1);
        }

        _claimBatch(_jobs(rest));
        uint256 total = n * (n + 1) / 2 * 1 gwei;
        assertEq(prover.balance, total);
        assertEq(market.deposits(client), 1 ether - total);
        assertEq(address(market).balance, MIN_STAKE + 1 ether - total);
        uint256 again = (mask >> 64) % n;
        MarketTypes.BatchClaim[] memory jobs = _jobs(_indices(again));
        _expectClaimBatchRevert(
            _hashesFor(jobs), jobs, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[again].jobId)
        );
    }
}
