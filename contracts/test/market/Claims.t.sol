// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// Claims of one job (`claimBatch`, through the fixture's `_claimJob`), job ids and the
/// paid-job bitmap: one test per rule and per revert reason of ProverMarket
/// (docs/contracts.md). The shared helpers are in MarketTestBase.
contract ClaimsTest is MarketTestBase {
    // ================================================================================
    // claim: a single job, claimed with `claimBatch` and one job (`_claimJob`)
    // ================================================================================

    function _claim(uint256 i) internal {
        _claimJob(prover, batchId, _leavesMem(), i, _nonce(i), awards[i], sigs[i]);
    }

    function test_claim_revertsOnUnknownBatch() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf memory l = _leaf(0, client, 1);
        MarketTypes.Award memory a = _award(l, prover);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover, 0, _one(l), l, 0, 0, a, sig, abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 0)
        );
    }

    function test_claim_revertsOnBatchIdEqualToCount() public {
        _setUpBatch();
        _expectClaimRevert(
            prover,
            1,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            awards[0],
            sigs[0],
            abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 1)
        );
    }

    function test_claim_revertsWhenCallerIsNotBatchProver() public {
        _setUpBatch();
        _register(otherProver, MIN_STAKE);
        MarketTypes.Award memory a = _award(batchLeaves[0], otherProver);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            otherProver,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, prover, otherProver)
        );
    }

    function test_claim_revertsWhenWindowOpenAtCommitBlock() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt)
        );
    }

    function test_claim_revertsWhenWindowOpenAtLastBlockOfWindow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt)
        );
    }

    function test_claim_succeedsOneBlockAfterWindow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        vm.roll(block.number + CHALLENGE_WINDOW + 1);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertTrue(market.isPaid(leaves[0].client, prover, 0));
    }

    function test_claim_paysExactPriceFromDepositAndEmits() public {
        _setUpBatch();
        uint256 price = batchLeaves[2].price;
        uint256 proverBefore = prover.balance;
        uint256 marketBefore = address(market).balance;
        uint256 depositBefore = market.deposits(client);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(batchId, prover, price, abi.encodePacked(uint32(2)));
        _claim(2);

        assertEq(prover.balance, proverBefore + price);
        assertEq(address(market).balance, marketBefore - price);
        assertEq(market.deposits(client), depositBefore - price);
        assertTrue(market.isPaid(batchLeaves[2].client, prover, 2));
        assertFalse(market.isPaid(batchLeaves[1].client, prover, 1));
        assertEq(_stakeOf(prover), MIN_STAKE, "stake untouched");
    }

    function test_claim_everyJobOfABatchOnce() public {
        _setUpBatch();
        uint256 total;
        uint256 before = prover.balance;
        // Out of order, at every index of a 5-leaf tree (incl. the promoted last leaf).
        uint256[5] memory order = [uint256(4), 1, 3, 0, 2];
        for (uint256 k = 0; k < 5; k++) {
            uint256 i = order[k];
            _claim(i);
            total += batchLeaves[i].price;
            assertEq(prover.balance, before + total);
        }
        assertEq(market.deposits(client), 1 ether - total);
        for (uint256 i = 0; i < 5; i++) {
            _expectClaimRevert(
                prover,
                batchId,
                _leavesMem(),
                batchLeaves[i],
                i,
                _nonce(i),
                awards[i],
                sigs[i],
                abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[i].jobId)
            );
        }
    }

    function test_claim_singleLeafBatch() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertEq(prover.balance, leaves[0].price);
    }

    function test_claim_revertsWhenClaimedTwice() public {
        _setUpBatch();
        _claim(1);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
    }

    function test_claim_revertsWhenClaimedAgainFromAnotherBatch() public {
        _setUpBatch();
        _claim(1);
        // The prover commits the same leaf again in a second batch.
        MarketTypes.Leaf[] memory again = new MarketTypes.Leaf[](2);
        again[0] = _leaf(99, client, 1);
        again[1] = batchLeaves[1];
        uint256 second = _commit(prover, again);
        _closeWindow(second);
        _expectClaimRevert(
            prover,
            second,
            again,
            again[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
    }

    /// The client (mistakenly, or to cheat) awarded the same job to a second prover too.
    /// Paid is recorded per award (client, prover, nonce): the second award is paid to the
    /// prover it names, and the client pays both (it used to be `AlreadyClaimed`, when paid
    /// was recorded per job, which let a second award block the first's claim). Each award
    /// is still paid once: claiming either again is `AlreadyClaimed`.
    function test_claim_aSecondAwardOfTheJobToAnotherProverIsPaidOnceToo() public {
        _setUpBatch();
        _claim(1);
        uint256 price = batchLeaves[1].price;
        _register(otherProver, MIN_STAKE);
        MarketTypes.Leaf[] memory again = new MarketTypes.Leaf[](1);
        again[0] = batchLeaves[1];
        MarketTypes.Award memory a = _award(again[0], otherProver);
        bytes memory sig = _sign(clientKey, a);
        uint256 second = _commit(otherProver, again);
        _closeWindow(second);
        assertFalse(market.isPaid(client, otherProver, 1));
        _claimJob(otherProver, second, again, 0, 1, a, sig);
        assertTrue(market.isPaid(client, otherProver, 1));
        assertEq(otherProver.balance, price, "the second award is paid to its prover");
        assertEq(prover.balance, price, "the first award was paid to its own");
        assertEq(market.deposits(client), 1 ether - 2 * price, "the client paid both awards");

        _expectClaimRevert(
            otherProver,
            second,
            again,
            again[0],
            0,
            1,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, again[0].jobId)
        );
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
        assertEq(otherProver.balance + prover.balance, 2 * price, "each once");
    }

    /// The claim carries no award: the market rebuilds it from the claimed leaf, the
    /// caller and the deadline, so the client's signature of an award that differs from
    /// the leaf (here: another job) verifies nothing.
    function test_claim_revertsOnAwardForAnotherJob() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.jobId = batchLeaves[1].jobId;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    function test_claim_revertsOnAwardToAnotherProver() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.prover = otherProver;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    function test_claim_revertsOnAwardWithAnotherPrice() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.price = batchLeaves[0].price + 1;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// The award names the statement it pays a proof of: a leaf of the same job for
    /// another circuit or other public inputs is not claimable with it.
    function test_claim_revertsOnAwardOfAnotherStatement() public {
        _setUpBatch();
        bytes memory err = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        for (uint256 field = 0; field < 2; field++) {
            MarketTypes.Award memory a = awards[0];
            if (field == 0) a.circuitId = keccak256("another circuit");
            if (field == 1) a.publicInputsHash = keccak256("other public inputs");
            bytes memory sig = _sign(clientKey, a);
            _expectClaimRevert(prover, batchId, _leavesMem(), batchLeaves[0], 0, 0, a, sig, err);
        }
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claim_revertsWhenCommittedAfterDeadline() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[1], prover);
        a.deadline = uint64(block.timestamp + 60);
        bytes memory sig = _sign(clientKey, a);
        vm.warp(block.timestamp + 61);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[1],
            1,
            1,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, uint64(block.timestamp), a.deadline)
        );
    }

    function test_claim_succeedsWhenCommittedAtDeadline() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[1], prover);
        a.deadline = uint64(block.timestamp + 60);
        bytes memory sig = _sign(clientKey, a);
        vm.warp(block.timestamp + 60);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        vm.warp(block.timestamp + 1 days); // claiming late is fine: only the commit time counts
        _claimJob(prover, id, leaves, 1, 1, a, sig);
        assertTrue(market.isPaid(leaves[1].client, prover, 1));
    }

    /// A committed leaf with one field changed, with an award of the changed leaf (so the
    /// leaf itself is what fails): not the batch's leaf. The client's field is changed
    /// with the job id it derives (another client's job of the same nonce), signed by that
    /// client (which has a deposit: the root is checked after the payment).
    function test_claim_revertsWhenLeafFieldAltered() public {
        _setUpBatch();
        _deposit(otherClient, 1 ether);
        bytes memory err = abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector);
        for (uint256 field = 0; field < 4; field++) {
            MarketTypes.Leaf memory l = batchLeaves[3];
            if (field == 0) l.circuitId = keccak256("other circuit");
            if (field == 1) l.publicInputsHash = keccak256("other inputs");
            if (field == 2) l.proofHash = keccak256("other proof");
            if (field == 3) (l.client, l.jobId) = (otherClient, _jobId(otherClient, 3));
            MarketTypes.Award memory a = _award(l, prover, awards[3].deadline);
            bytes memory sig = _sign(field == 3 ? otherClientKey : clientKey, a);
            _expectClaimRevert(prover, batchId, _leavesMem(), l, 3, 3, a, sig, err);
        }
    }

    /// Leaf 3 claimed as another job (nonce 7, the job id it derives) at another price,
    /// with the client's award of exactly that: not the batch's leaf.
    function test_claim_revertsWhenJobIdAndPriceAlteredWithMatchingAward() public {
        _setUpBatch();
        MarketTypes.Leaf memory l = batchLeaves[3];
        l.price += 1;
        l.jobId = _jobId(client, 7);
        MarketTypes.Award memory a = _award(l, prover);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover, batchId, _leavesMem(), l, 3, 7, a, sig, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector)
        );
    }

    function test_claim_revertsOnLeafOfAnotherBatch() public {
        _setUpBatch();
        MarketTypes.Leaf[] memory others = new MarketTypes.Leaf[](2);
        others[0] = _leaf(50, client, 1 gwei);
        others[1] = _leaf(51, client, 1 gwei);
        uint256 second = _commit(prover, others);
        _closeWindow(second);
        MarketTypes.Award memory a = _award(others[0], prover);
        bytes memory sig = _sign(clientKey, a);
        // Right leaf and award, wrong batch.
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            others[0],
            0,
            50,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector)
        );
    }

    function test_claim_revertsOnAwardSignedBySomeoneElse() public {
        _setUpBatch();
        bytes memory sig = _sign(otherClientKey, awards[0]);
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

    function test_claim_revertsOnSignatureOfAnotherDeadline() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.deadline += 1; // the signature covers the original deadline
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sigs[0],
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// Compact signatures (r, vs) that are no signature of the award.
    function test_claim_revertsOnGarbageSignatures() public {
        _setUpBatch();
        (bytes32 r, bytes32 vs) = _compact(sigs[0]);
        bytes32[2][4] memory bad = [
            [keccak256("r"), keccak256("s")], // random r, s
            [bytes32(0), bytes32(0)], // all zero
            [bytes32(0), vs], // no r
            [r, keccak256("s")] // r with a random s
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            MarketTypes.BatchClaim memory job = _batchJob(batchLeaves[0], 0, 0, awards[0].deadline, sigs[0]);
            (job.r, job.vs) = (bad[i][0], bad[i][1]);
            vm.expectRevert(MarketTypes.BadAwardSignature.selector);
            _claimSingle(prover, batchId, _hashes(_leavesMem()), job);
        }
        assertFalse(market.isPaid(client, prover, 0));
    }

    /// The malleated twin (r, n - s, the other parity) of a valid signature.
    function test_claim_revertsOnMalleatedHighSSignature() public {
        _setUpBatch();
        MarketTypes.BatchClaim memory job = _batchJob(batchLeaves[0], 0, 0, awards[0].deadline, sigs[0]);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        uint256 parity = uint256(job.vs) >> 255;
        uint256 s = uint256(job.vs) & ((uint256(1) << 255) - 1);
        job.vs = bytes32(((1 - parity) << 255) | (n - s));
        vm.expectRevert(MarketTypes.BadAwardSignature.selector);
        _claimSingle(prover, batchId, _hashes(_leavesMem()), job);
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claim_revertsWhenDepositTooLow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether - 1);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 ether);
        leaves[1] = _leaf(1, client, 1);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 1 ether - 1, 1 ether)
        );
        assertFalse(market.isPaid(leaves[0].client, prover, 0), "job stays claimable once the client tops up");
        _deposit(client, 1);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertEq(market.deposits(client), 0);
    }

    function test_claim_revertsWhenDepositDrainedByEarlierClaims() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1.5 ether);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 ether);
        leaves[1] = _leaf(1, client, 1 ether);
        MarketTypes.Award memory a0 = _award(leaves[0], prover);
        MarketTypes.Award memory a1 = _award(leaves[1], prover);
        bytes memory s0 = _sign(clientKey, a0);
        bytes memory s1 = _sign(clientKey, a1);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a0, s0);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[1],
            1,
            1,
            a1,
            s1,
            abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0.5 ether, 1 ether)
        );
    }

    function test_claim_stillPaysWhileWithdrawalIsPending() public {
        _setUpBatch();
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        _claim(0); // within the deposit withdrawal delay
        assertEq(market.deposits(client), 1 ether - batchLeaves[0].price);
        assertEq(prover.balance, batchLeaves[0].price);
    }

    function test_claim_zeroPriceJob() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 0);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(id, prover, 0, abi.encodePacked(uint32(0)));
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertTrue(market.isPaid(leaves[0].client, prover, 0));
    }

    function test_claim_worksAfterProverUnbondedEverything() public {
        _setUpBatch();
        vm.prank(prover);
        market.unbond(MIN_STAKE);
        _claim(0);
        assertEq(prover.balance, batchLeaves[0].price);
    }

    /// Job ids derive from (client, nonce) and paid awards are recorded per client (and
    /// prover), so a leaf that borrows another client's job id cannot be claimed (the
    /// claim's client and nonce derive another job, whose award nobody signed), and a
    /// client's own job with the same nonce does not block the victim's.
    function test_claim_anotherClientsAwardForSameJobIdDoesNotBlockTheJob() public {
        _setUpBatch();
        bytes32 victimJob = batchLeaves[0].jobId;

        // The attacker is both a prover and a client (otherClientKey), price 0, no deposit.
        _register(otherProver, MIN_STAKE);
        MarketTypes.Leaf[] memory forged = new MarketTypes.Leaf[](2);
        forged[0] = _leaf(0, otherClient, 0);
        forged[0].jobId = victimJob;
        forged[1] = _leaf(0, otherClient, 0); // its own job with the victim's nonce
        MarketTypes.Award memory fa = _award(forged[0], otherProver);
        MarketTypes.Award memory oa = _award(forged[1], otherProver);
        uint256 forgedId = _commit(otherProver, forged);
        _closeWindow(forgedId);
        _expectClaimRevert(
            otherProver,
            forgedId,
            forged,
            forged[0],
            0,
            0,
            fa,
            _sign(otherClientKey, fa),
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
        bytes memory os = _sign(otherClientKey, oa);
        _claimJob(otherProver, forgedId, forged, 1, 0, oa, os);
        assertTrue(market.isPaid(otherClient, otherProver, 0));
        assertFalse(market.isPaid(client, otherProver, 0));
        assertFalse(market.isPaid(client, prover, 0));

        uint256 before = prover.balance;
        _claim(0);
        assertEq(prover.balance, before + batchLeaves[0].price);
        assertTrue(market.isPaid(client, prover, 0));
    }

    /// A claim's job id is derived from its client and nonce: a wrong nonce names another
    /// job, whose award the client did not sign.
    function test_claim_revertsWhenNonceDoesNotDeriveJobId() public {
        _setUpBatch();
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[2],
            2,
            3,
            awards[2],
            sigs[2],
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
        assertFalse(market.isPaid(client, prover, 2));
        assertFalse(market.isPaid(client, prover, 3));
    }

    function test_jobIdOf_isTaggedClientAndBigEndianNonce() public view {
        assertEq(
            market.jobIdOf(client, 0x0102030405060708),
            keccak256(bytes.concat("provernet/job-id/v1", bytes20(client), hex"0102030405060708"))
        );
        assertEq(market.jobIdOf(client, 7), _leaf(7, client, 0).jobId);
    }

    function test_isPaid_usesOneBitPerNonce() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        // Nonces 255 and 256 sit in two storage words; 257 shares 256's word.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](3);
        leaves[0] = _leaf(255, client, 1);
        leaves[1] = _leaf(256, client, 1);
        leaves[2] = _leaf(257, client, 1);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory a = _award(leaves[i], prover);
            bytes memory sig = _sign(clientKey, a);
            _claimJob(prover, id, leaves, i, _nonce(255 + i), a, sig);
        }
        assertEq(_paidWord(client, prover, 0), uint256(1) << 255);
        assertEq(_paidWord(client, prover, 1), 1);
        assertTrue(market.isPaid(client, prover, 255));
        assertTrue(market.isPaid(client, prover, 256));
        assertFalse(market.isPaid(client, prover, 257));
        assertFalse(market.isPaid(client, prover, 254));
        // The bits are the awards to `prover`: another prover's awards of the same jobs
        // are not paid.
        assertEq(_paidWord(client, otherProver, 0), 0);
        assertEq(_paidWord(client, otherProver, 1), 0);
    }
}
