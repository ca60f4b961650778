// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {CircuitStore} from "../src/CircuitStore.sol";
import {MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";
import {InvariantStandInVerifier, proverState} from "./invariant/HandlerState.sol";
import {MarketHandler} from "./invariant/MarketHandler.sol";

/// The invariants of ProverMarket, checked after every call of `MarketHandler`
/// (test/invariant/MarketHandler.sol): the only target contract, called at the selectors
/// `setUp` lists (in that order), from the seed of foundry.toml.
contract ProverMarketInvariantTest is MarketFixture {
    MarketHandler internal handler;
    /// The stand-in's circuit: the id the market derived, and its registration.
    bytes32 internal standInCircuit;
    CircuitStore.Circuit internal standInRegistration;
    /// The suite's slash per job: ten times the fixture's, so that a prover at the minimum
    /// stake covers 10 leaves at risk and the handler's batches (1-12 leaves) reach the
    /// exposure bound; at the fixture's 0.01 ether it covers 100, which they never reach.
    uint256 internal constant SUITE_SLASH_PER_JOB = MIN_STAKE / 10;

    function setUp() public override {
        super.setUp();
        MarketTypes.Params memory params = _params();
        params.slashPerJob = SUITE_SLASH_PER_JOB;
        market = new ProverMarket(params);
        address standIn = address(new InvariantStandInVerifier());
        // A sample the stand-in accepts: one public input, and a 64-byte proof whose first
        // word is keccak256 of it (its first byte flipped, the stand-in rejects it).
        uint256[] memory sampleInputs = new uint256[](1);
        sampleInputs[0] = 7;
        bytes memory sampleProof = abi.encode(keccak256(abi.encode(uint256(7))), uint256(0));
        standInCircuit = market.registerCircuit(standIn, sampleInputs, sampleProof);
        standInRegistration = _circuit(standInCircuit);
        assertEq(standInCircuit, market.circuitIdOf(standIn.codehash, 1, 64));
        assertEq(standInRegistration.verifier, standIn);
        assertEq(standInRegistration.proofLength, 64);
        assertEq(standInRegistration.publicInputs, 1);
        assertGt(standInRegistration.gasLimit, 0);
        handler = new MarketHandler(market, standInCircuit, standIn);
        bytes4[] memory selectors = new bytes4[](26);
        selectors[0] = handler.register.selector;
        selectors[1] = handler.addStake.selector;
        selectors[2] = handler.unbond.selector;
        selectors[3] = handler.withdrawStake.selector;
        selectors[4] = handler.deposit.selector;
        selectors[5] = handler.requestDepositWithdrawal.selector;
        selectors[6] = handler.withdrawDeposit.selector;
        selectors[7] = handler.withdrawCredits.selector;
        selectors[8] = handler.commitBatch.selector;
        selectors[9] = handler.claim.selector;
        selectors[10] = handler.claimBatch.selector;
        selectors[11] = handler.challengeInvalidProof.selector;
        selectors[12] = handler.challengeEquivocation.selector;
        selectors[13] = handler.challengeWithheldProof.selector;
        selectors[14] = handler.revealProof.selector;
        selectors[15] = handler.challengeMissedDeadline.selector;
        selectors[16] = handler.answerMissedDeadline.selector;
        selectors[17] = handler.finalizeChallenge.selector;
        selectors[18] = handler.roll.selector;
        selectors[19] = handler.commitBatch.selector; // batches twice as often
        selectors[20] = handler.commitBadLeaf.selector;
        selectors[21] = handler.registerCircuit.selector;
        selectors[22] = handler.reserve.selector;
        selectors[23] = handler.release.selector;
        selectors[24] = handler.missedDeadlineAtFullCover.selector;
        selectors[25] = handler.secondAward.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The market holds exactly every stake, unbonding stake, deposit, reservation, open
    /// challenge's bond (`challengeBond`) and, for an open challenge that bought a proof,
    /// its price (taken from the client's deposit until the reveal credits it to the prover
    /// or the finalization returns it to the deposit), and credit; exactly what was paid in minus what was paid out and burned (by slashes, and
    /// debt burned at withdrawals). Every prover's stake, debt, unbonding stake and its two
    /// release times, every
    /// client's deposit and free deposit, every client's reservation for every prover and
    /// its `until`, and every account's credit are what the handler booked.
    function invariant_balanceIsAccountedFor() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            MarketTypes.Prover memory s = proverState(market, p);
            MarketHandler.ProverModel memory m = handler.modelOf(p);
            assertEq(s.stake, m.stake, "stake");
            assertEq(s.debt, m.debt, "debt");
            assertEq(s.unbonding, m.unbonding, "unbonding");
            assertEq(s.unbondableAt, m.unbondableAt, "unbondableAt");
            assertEq(s.unbondableAfter, m.unbondableAfter, "unbondableAfter");
            assertEq(s.registered, m.registered, "registered");
            address c = handler.clientAt(i);
            assertEq(market.deposits(c), handler.ghost_deposits(c), "deposit");
            assertEq(market.freeDeposit(c), handler.freeDepositModel(c), "freeDeposit");
            total += s.stake + s.unbonding + market.deposits(c) + _reservationsOf(c);
        }
        for (uint256 i = 0; i < handler.accountCount(); i++) {
            address a = handler.accountAt(i);
            assertEq(market.credits(a), handler.ghost_credits(a), "credits");
            total += market.credits(a);
        }
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (MarketTypes.ChallengeStatus status,, uint256 held) = handler.challengeAt(id);
            if (status == MarketTypes.ChallengeStatus.Open) total += held;
        }
        assertEq(
            address(market).balance,
            total,
            "balance != stakes + deposits + reservations + open bonds and bought prices + credits"
        );
        assertEq(market.totalBurned(), handler.ghost_burned(), "burned");
        assertEq(
            address(market).balance,
            handler.ghost_paidIn() - handler.ghost_paidOut() - market.totalBurned(),
            "balance != in - out - burned"
        );
    }

    /// The sum of client `c`'s reservations, each checked against the handler's booking.
    function _reservationsOf(address c) internal view returns (uint256 sum) {
        for (uint256 k = 0; k < handler.actorCount(); k++) {
            address p = handler.proverAt(k);
            (uint128 amount, uint64 until) = market.reservations(c, p);
            assertEq(amount, handler.ghost_reserved(c, p), "reservation");
            assertEq(until, handler.ghost_reservedUntil(c, p), "reservation until");
            sum += amount;
        }
    }

    /// An award (client, prover, nonce) is marked paid at most once, by its prover's claim
    /// or by its client buying the proof from its prover, and `isPaid` says exactly which
    /// were, for every job and every prover (a purchase sets it when the challenge opens,
    /// and it stays set whatever the challenge's end; paying one prover's award marks no
    /// other prover's). A claim pays exactly the price its client awarded; a purchase pays
    /// the prover the leaf's price (which the client chose to buy at) on the reveal, or
    /// nothing (the price goes back to the deposit): never both, never more. A job whose
    /// client signed awards of it to several provers (as the handler's clients do to every
    /// prover committing a leaf of it) may be paid to each of them, once.
    function invariant_awardPaidAtMostOnceAtItsPrice() public view {
        for (uint256 i = 0; i < handler.jobCount(); i++) {
            (address client, uint64 nonce) = handler.jobAt(i);
            uint256 awarded = handler.ghost_awardedPrice(handler.jobRef(client, nonce));
            for (uint256 k = 0; k < handler.actorCount(); k++) {
                address p = handler.proverAt(k);
                bytes32 ref = handler.awardRef(client, p, nonce);
                uint256 payments = handler.ghost_paymentsOf(ref);
                uint256 paid = handler.ghost_paidAmountOf(ref);
                assertLe(payments, 1, "award paid twice");
                assertEq(market.isPaid(client, p, nonce), payments == 1, "isPaid");
                if (handler.ghost_boughtAward(ref)) {
                    assertEq(payments, 1, "a bought award is marked paid");
                    uint256 price = handler.ghost_boughtPriceOf(ref);
                    assertTrue(paid == 0 || paid == price, "bought award paid another price");
                } else {
                    assertLe(paid, awarded, "award paid more than its price");
                    assertEq(paid, payments == 1 ? awarded : 0, "award paid another price");
                }
            }
        }
    }

    /// No prover is slashed twice for one job; `slashed`, `pendingChallenge` and
    /// `answeredFaults` say exactly what happened; each prover's open-challenge and slashed
    /// job counts and `isDisputed` match its challenges and slashes, and every challenge is
    /// in the state the handler expects.
    function invariant_slashesAndChallengesMatch() public view {
        for (uint256 i = 0; i < handler.jobKeyCount(); i++) {
            bytes32 key = handler.jobKeyAt(i);
            uint256 slashes = handler.ghost_slashesOf(key);
            assertLe(slashes, 1, "job slashed twice");
            assertEq(market.slashed(key), slashes == 1, "slashed flag");
            assertEq(market.pendingChallenge(key), handler.ghost_pendingOf(key), "pending challenge");
            assertEq(market.answeredFaults(key), handler.ghost_answeredFaults(key), "answered faults");
        }
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            MarketTypes.Prover memory s = proverState(market, p);
            assertEq(s.openChallenges, handler.openChallengesOf(p), "openChallenges");
            assertEq(s.slashedJobs, handler.modelOf(p).slashedJobs, "slashedJobs");
            assertEq(_isDisputed(p), handler.disputedModel(p), "isDisputed");
        }
        assertEq(market.challengeCount(), handler.challengeCount(), "challenge ids");
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (MarketTypes.ChallengeStatus status, bool bought,) = handler.challengeAt(id);
            MarketTypes.Challenge memory c = _challenge(id);
            assertEq(uint8(c.status), uint8(status), "challenge status");
            assertEq(c.bought, bought, "challenge bought");
        }
    }

    /// A leaf whose proof verifies is never slashed as invalid, a proof once revealed is
    /// never slashed as withheld (nor a deadline once shown met as missed), and the honest
    /// prover, which commits only proofs that verify and answers every challenge, is never
    /// slashed at all. (Equivocation, and challenges left unanswered, are faults whatever
    /// the proofs.)
    function invariant_honestLeavesAreNeverSlashed() public view {
        address honest = handler.honest();
        assertEq(proverState(market, honest).slashedJobs, 0, "honest prover slashed");
        for (uint256 i = 0; i < handler.slashCount(); i++) {
            MarketHandler.SlashRecord memory r = handler.slashAt(i);
            assertTrue(r.prover != honest, "honest prover slashed");
            if (r.fault == MarketTypes.Fault.InvalidProof) {
                assertFalse(r.leafValid, "leaf that verifies slashed as invalid");
                assertTrue(handler.ghost_hasInvalidLeaf(r.key), "job with only valid leaves slashed as invalid");
            }
            if (r.fault == MarketTypes.Fault.WithheldProof || r.fault == MarketTypes.Fault.MissedDeadline) {
                assertFalse(r.answeredBefore, "slashed for a fault it answered");
            }
        }
    }

    /// Every slashed job cost its prover exactly `slashPerJob`: what the slash took (as
    /// measured from the market's state around the call and its `Slashed` event) plus the
    /// debt it added, unless the prover's stake and unbonding stake ran out first (then it
    /// took all of it). A slash of a leaf at risk (invalid proof, equivocation, a withheld
    /// proof finalized while its leaf still counts) takes the whole of it, or all that is
    /// left, and adds no debt; a slash of a job whose leaf is not at risk (a missed
    /// deadline, a withheld proof finalized late) takes only what stake and unbonding held
    /// beyond the debt and the leaves at risk, at most `slashPerJob`, and owes the rest:
    /// it never takes the cover of a leaf at risk. A slash of a leaf at risk takes bonded
    /// stake first, then unbonding; any other takes unbonding stake first, then bonded, so
    /// that a prover whose bonded stake held its debt and `slashPerJob` per leaf at risk
    /// before such a slash still holds them after it (the debt as it was before the slash:
    /// the part of `slashPerJob` the slash could not take is owed, not taken). The split
    /// into reward, refund (at most the job's price) and burn is of what was taken.
    function invariant_everySlashTakesThePerJobAmount() public view {
        uint256 perJob = market.slashPerJob();
        for (uint256 i = 0; i < handler.slashCount(); i++) {
            MarketHandler.SlashRecord memory r = handler.slashAt(i);
            if (r.atRisk) {
                uint256 expected = r.available < perJob ? r.available : perJob;
                assertEq(
                    r.taken, expected, "slash of a leaf at risk took other than min(slashPerJob, stake + unbonding)"
                );
                assertEq(r.debtAdded, 0, "slash of a leaf at risk added debt");
                uint256 fromStake = r.taken < r.stakeBefore ? r.taken : r.stakeBefore;
                assertEq(r.stakeBefore - r.stakeAfter, fromStake, "slash of a leaf at risk took unbonding stake first");
            } else {
                uint256 held = r.debtBefore + r.leavesAtRisk * perJob;
                uint256 free = r.available > held ? r.available - held : 0;
                assertLe(r.taken, free, "slash of no leaf at risk took the cover of leaves at risk");
                assertEq(r.taken, free < perJob ? free : perJob, "slash of no leaf at risk took other than the surplus");
                if (r.stakeBefore >= held) {
                    assertGe(r.stakeAfter, held, "slash of no leaf at risk took the bonded cover of leaves at risk");
                }
                uint256 fromStake = r.taken > r.unbondingBefore ? r.taken - r.unbondingBefore : 0;
                assertEq(r.stakeBefore - r.stakeAfter, fromStake, "slash of no leaf at risk took bonded stake first");
            }
            uint256 cost = r.atRisk && r.available < perJob ? r.available : perJob;
            assertEq(r.taken + r.debtAdded, cost, "slashed job cost its prover other than slashPerJob (taken + debt)");
            if (!r.atRisk || r.available >= perJob) {
                assertGe(r.taken + r.debtAdded, perJob, "slashed job cost less than slashPerJob");
            }
            assertEq(r.amount, r.taken, "Slashed amount != stake taken");
            assertEq(r.reward, r.amount * REWARD_BPS / 10_000, "reward");
            uint256 refund = r.amount * REFUND_BPS / 10_000;
            assertEq(r.refund, refund < r.price ? refund : r.price, "refund");
            assertEq(r.reward + r.refund + r.burned, r.amount, "split");
        }
    }

    /// No commit left its prover with more leaves at risk (committed in this epoch of
    /// `challengeWindow + responseWindow + 1` blocks or the one before, its batch's included;
    /// open challenges do not count again) than its bonded stake covers at `slashPerJob`
    /// each beyond its debt, as `exposure` reported right after it; and `exposure` counts
    /// exactly those leaves now.
    function invariant_exposureWithinStake() public view {
        for (uint256 i = 0; i < handler.commitCount(); i++) {
            MarketHandler.CommitRecord memory r = handler.commitAt(i);
            assertLe(r.atRisk, r.covered, "commit beyond what the stake covers");
            assertLe(r.modelAtRisk, r.modelCovered, "commit beyond what the stake covers (model)");
            assertEq(r.atRisk, r.modelAtRisk, "leaves at risk after a commit");
            assertEq(r.covered, r.modelCovered, "cover after a commit");
        }
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            (uint256 atRisk, uint256 covered) = market.exposure(p);
            (uint256 modelAtRisk, uint256 modelCovered) = handler.exposureModel(p);
            assertEq(atRisk, modelAtRisk, "leaves at risk");
            assertEq(covered, modelCovered, "cover");
        }
    }

    /// Data availability: every batch was published in exactly one `BatchCommitted` event,
    /// with its prover, root and count, by a call whose input (its transaction's, as the
    /// call must be the prover's own) holds the batch's leaves: the stored and published
    /// root is the root of exactly those leaves, so no other leaf can be shown in the
    /// batch, and anyone can learn every leaf from the chain. `isFinal` holds for a
    /// published leaf exactly when the model says (window closed, job neither slashed nor
    /// under challenge), and never for a leaf that was not published with the batch: a
    /// published leaf with one field changed, a leaf of the batch before, a leaf of a
    /// refused batch.
    function invariant_everyLeafPublished() public view {
        uint256 n = market.batchCount();
        assertEq(handler.batchCount(), n, "batches");
        assertEq(handler.ghost_batchEvents(), n, "BatchCommitted events != batches");
        (MarketTypes.Leaf[] memory refused, bytes32[][] memory refusedPaths) = handler.refusedLeaves();
        MarketTypes.Leaf memory before;
        bytes32[] memory beforePath;
        for (uint256 id = 0; id < n; id++) {
            bytes32[] memory h;
            (h, before, beforePath) = _checkPublished(id, before, beforePath);
            for (uint256 k = 0; k < refused.length; k++) {
                if (!_holds(h, _hash(refused[k]))) {
                    assertFalse(_isFinal(id, refused[k], refusedPaths[k]), "isFinal for a refused leaf");
                }
            }
        }
    }

    /// Checks batch `id` as `invariant_everyLeafPublished` says, and that `before` (a leaf
    /// of the batch before, at `beforePath` in its tree) is not final in it unless
    /// published with it; returns its leaf hashes, its first leaf and that leaf's path.
    function _checkPublished(uint256 id, MarketTypes.Leaf memory before, bytes32[] memory beforePath)
        internal
        view
        returns (bytes32[] memory h, MarketTypes.Leaf memory, bytes32[] memory)
    {
        (MarketTypes.Leaf[] memory leaves, bool[] memory finals) = _publishedAsStored(id);
        h = _hashes(leaves);
        bytes32[][] memory paths = _paths(h);
        for (uint256 i = 0; i < leaves.length; i++) {
            assertEq(_isFinal(id, leaves[i], paths[i]), finals[i], "isFinal");
        }
        uint256 f = id % leaves.length;
        assertFalse(_isFinal(id, _forged(leaves[f], id), paths[f]), "isFinal for a leaf not published");
        if (id != 0 && !_holds(h, _hash(before))) {
            assertFalse(_isFinal(id, before, beforePath), "isFinal for a leaf of another batch");
        }
        return (h, leaves[0], paths[0]);
    }

    /// Batch `id` was published once, as stored, with the root of the leaves of its
    /// transaction's input; those leaves, and whether each must be final now.
    function _publishedAsStored(uint256 id)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves, bool[] memory finals)
    {
        (address prover, uint24 count,,, bytes32 root) = market.batches(id);
        MarketHandler.Published memory pub;
        (pub, leaves, finals) = handler.publishedBatch(id);
        assertEq(pub.events, 1, "batch not published exactly once");
        assertEq(pub.prover, prover, "published prover");
        assertEq(pub.root, root, "published root");
        assertEq(pub.count, count, "published count");
        assertEq(leaves.length, count, "published leaves");
        assertEq(MerkleBuilder.root(_hashes(leaves)), root, "stored root is not the root of the published leaves");
    }

    /// The Merkle path of every leaf of the tree of `hashes` (as MerkleBuilder.proof).
    function _paths(bytes32[] memory hashes) internal pure returns (bytes32[][] memory paths) {
        uint256 n = hashes.length;
        uint256 depth;
        for (uint256 m = n; m > 1; m = (m + 1) / 2) {
            depth++;
        }
        paths = new bytes32[][](n);
        uint256[] memory lengths = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            paths[i] = new bytes32[](depth);
        }
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            level[i] = hashes[i];
        }
        uint256 shift;
        for (uint256 m = n; m > 1; shift++) {
            for (uint256 i = 0; i < n; i++) {
                uint256 sibling = (i >> shift) ^ 1;
                if (sibling < m) paths[i][lengths[i]++] = level[sibling];
            }
            uint256 half = m / 2;
            for (uint256 k = 0; k < half; k++) {
                level[k] = MerkleBuilder.hashPair(level[2 * k], level[2 * k + 1]);
            }
            if (m % 2 == 1) level[half] = level[m - 1];
            m = half + m % 2;
        }
        for (uint256 i = 0; i < n; i++) {
            bytes32[] memory path = paths[i];
            uint256 len = lengths[i];
            assembly ("memory-safe") {
                mstore(path, len)
            }
        }
    }

    function _isFinal(uint256 id, MarketTypes.Leaf memory leaf, bytes32[] memory path) internal view returns (bool) {
        return market.isFinal(leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, id, leaf, path);
    }

    /// A copy of `leaf` with one field (picked by `seed`) changed.
    function _forged(MarketTypes.Leaf memory leaf, uint256 seed) internal pure returns (MarketTypes.Leaf memory f) {
        f = MarketTypes.Leaf(leaf.jobId, leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, leaf.client, leaf.price);
        uint256 field = seed % 6;
        if (field == 0) f.jobId = ~f.jobId;
        else if (field == 1) f.circuitId = ~f.circuitId;
        else if (field == 2) f.publicInputsHash = ~f.publicInputsHash;
        else if (field == 3) f.proofHash = ~f.proofHash;
        else if (field == 4) f.client = address(~uint160(f.client));
        else f.price = f.price + 1;
    }

    function _holds(bytes32[] memory hashes, bytes32 h) internal pure returns (bool) {
        for (uint256 i = 0; i < hashes.length; i++) {
            if (hashes[i] == h) return true;
        }
        return false;
    }

    /// The stand-in's circuit is as it was registered, whoever registered what since (the
    /// handler's registrations of other shapes got other ids), and still gives the stand-in's
    /// verdicts.
    function invariant_theStandInsCircuitNeverChanges() public view {
        _assertUnchanged(standInCircuit, standInRegistration);
        uint256[] memory input = new uint256[](1);
        input[0] = 7;
        bytes memory valid = abi.encode(keccak256(abi.encode(uint256(7))), uint256(0));
        assertTrue(market.checkProof(standInCircuit, input, valid));
        assertFalse(market.checkProof(standInCircuit, input, bytes.concat(valid, hex"00")));
    }

    /// Every market call did what the handler predicted (success, or the exact error), and
    /// batch ids are dense.
    function invariant_everyCallAsPredicted() public view {
        assertEq(handler.ghost_unexpected(), 0, handler.ghost_lastUnexpected());
        assertEq(market.batchCount(), handler.batchCount());
    }
}
