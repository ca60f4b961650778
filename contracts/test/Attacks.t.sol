// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {CircuitStore} from "../src/CircuitStore.sol";
import {CommitRelay, MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";

/// Attacks on the mechanism, each written as its attacker would try it, asserting that it
/// fails and that the attacker ends poorer (or no richer) than playing by the rules. One
/// section per property of docs/contracts.md's threat model; the table there names each
/// test.
contract AttacksTest is MarketFixture {
    address internal cheater;
    uint256 internal cheaterKey;
    address internal watchtower = makeAddr("watchtower");

    function setUp() public override {
        super.setUp();
        (cheater, cheaterKey) = makeAddrAndKey("cheater");
        // The real poseidon-chain-12 verifier, registered with its valid sample proof.
        (realVerifier, circuit) = _registerFixtureVerifier();
        (inputs, proof) = _verifierSample();
    }

    address internal realVerifier;
    /// The id the market derived for it.
    bytes32 internal circuit;
    /// A valid proof of the registered circuit and its public inputs.
    bytes internal proof;
    uint256[] internal inputs;

    // ---- helpers -----------------------------------------------------------------------

    /// `n` leaves of `client_` with nonces `from..from+n-1`, 1 gwei each.
    function _leavesFrom(uint256 from, uint256 n, address client_)
        internal
        pure
        returns (MarketTypes.Leaf[] memory leaves)
    {
        leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(from + i, client_, 1 gwei);
        }
    }

    /// Challenges every leaf of `batchId` as withheld while its window is open, lets the
    /// time to answer pass unanswered, and finalizes each challenge: the prover is slashed
    /// once per leaf. Returns what each slash took.
    function _slashAllWithheld(address who, uint256 batchId, MarketTypes.Leaf[] memory leaves)
        internal
        returns (uint256[] memory taken)
    {
        uint256[] memory ids = new uint256[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            ids[i] = _challengeWithheld(watchtower, batchId, leaves, i);
        }
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taken = new uint256[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            (uint256 before,) = _available(who);
            market.finalizeChallenge(ids[i]);
            (uint256 afterwards,) = _available(who);
            taken[i] = before - afterwards;
        }
    }

    /// Stake + unbonding stake, and the unbonding part alone.
    function _available(address who) internal view returns (uint256 all, uint256 unbonding) {
        (unbonding,) = _unbondingOf(who);
        all = _stakeOf(who) + unbonding;
    }

    /// Opens a missed-deadline challenge, as the watchtower, on `award` of `client`'s job to
    /// the cheater, with the cheater's acceptance.
    function _challengeMissed(MarketTypes.Award memory award) internal returns (uint256 id) {
        return _challengeMissedAs(watchtower, award);
    }

    function _challengeMissedAs(address challenger, MarketTypes.Award memory award) internal returns (uint256 id) {
        return _challengeMissedOf(challenger, client, clientKey, award);
    }

    /// Opens a missed-deadline challenge, as `challenger`, on `award` of `client_`'s job
    /// (signed with `clientKey_`) to the cheater, with the cheater's acceptance.
    function _challengeMissedOf(address challenger, address client_, uint256 clientKey_, MarketTypes.Award memory award)
        internal
        returns (uint256 id)
    {
        MarketTypes.Acceptance memory acc = _acceptance(award, client_);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey_, award);
        _evidence(challenger, abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig)));
        vm.deal(challenger, challenger.balance + BOND);
        vm.prank(challenger);
        id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    function _expectMissedRevert(MarketTypes.Award memory award, bytes memory err) internal {
        MarketTypes.Acceptance memory acc = _acceptance(award, client);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.deal(watchtower, watchtower.balance + BOND);
        vm.prank(watchtower);
        vm.expectRevert(err);
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    // ---- stake covers exposure (property 6) ---------------------------------------------

    /// A prover cheats on as many jobs at once as it can: a batch of self-dealt leaves
    /// whose proofs it never reveals. Its stake covers exactly `stake / slashPerJob`
    /// leaves; one more is refused, and every one of them that is challenged costs it the
    /// full per-job slash, the last as much as the first (a fraction of what is left
    /// would shrink to nothing).
    function test_attack_cheatingOnEveryJobAtOnceCostsTheFullSlashOfEach() public {
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory bad = _leavesFrom(0, covered, cheater);
        MarketTypes.Leaf[] memory oneMore = _leavesFrom(covered, 1, cheater);
        uint256 batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, covered);
        assertEq(cap, covered);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, covered + 1, covered));
        market.commitBatch(oneMore);

        // Watchtowers challenge every leaf; each slash takes exactly slashPerJob.
        uint256 rewardsBefore = market.credits(watchtower);
        uint256[] memory taken = _slashAllWithheld(cheater, batchId, bad);
        for (uint256 i = 0; i < covered; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "each slash takes the full amount");
        }
        (uint256 left,) = _available(cheater);
        assertEq(left, 0, "cheating on every job it held lost the whole stake");
        // Challengers got their bonds back and the full reward of every slash.
        assertEq(
            market.credits(watchtower) - rewardsBefore,
            covered * (BOND + SLASH_PER_JOB * REWARD_BPS / 10_000),
            "the last slash rewards as much as the first"
        );
        assertFalse(_isStaked(cheater));
    }

    /// Splitting the leaves into many small batches in the same window changes nothing:
    /// the bound counts leaves, not batches.
    function test_attack_manySmallBatchesHitTheSameBound() public {
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        _register(cheater, MIN_STAKE);
        for (uint256 i = 0; i < covered; i++) {
            _commit(cheater, _leavesFrom(i, 1, cheater));
        }
        MarketTypes.Leaf[] memory next = _leavesFrom(covered, 1, cheater);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, covered + 1, covered));
        market.commitBatch(next);
        // Once every window and its response time have passed (at most two epochs of
        // W + R + 1 blocks), the leaves no longer count.
        vm.roll(block.number + 2 * EPOCH);
        (uint256 atRisk,) = market.exposure(cheater);
        assertEq(atRisk, 0);
        _commit(cheater, next);
    }

    /// Unbonding right after committing does not take the stake out of reach: the
    /// exposure was counted against bonded stake at commit, and slashes take unbonding
    /// stake until it is withdrawn, which waits longer than any window.
    function test_attack_unbondingAfterCommittingStillPaysEverySlash() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory bad = _leavesFrom(0, 3, cheater);
        uint256 batchId = _commit(cheater, bad);
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        MarketTypes.Leaf[] memory more = _leavesFrom(3, 1, cheater);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, 0, MIN_STAKE));
        market.commitBatch(more);
        uint256[] memory taken = _slashAllWithheld(cheater, batchId, bad);
        for (uint256 i = 0; i < 3; i++) {
            assertEq(taken[i], SLASH_PER_JOB);
        }
        (uint256 unbonding,) = _unbondingOf(cheater);
        assertEq(unbonding, MIN_STAKE - 3 * SLASH_PER_JOB, "the slashes came out of unbonding stake");
    }

    /// A client (or anyone) waits until an honest prover holds exactly the leaves its stake
    /// covers, then opens one withheld-proof challenge just before the prover commits its
    /// next urgent batch, hoping the commit reverts, the deadlines pass and the whole batch
    /// is slashed for missed deadlines. Open challenges do not count against the bound:
    /// the commit goes through, and the prover's answer takes the bond.
    function test_attack_oneBondCannotBlockAnHonestProversCommit() public {
        _register(cheater, MIN_STAKE);
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        MarketTypes.Leaf[] memory first = _leavesFrom(0, covered - 10, client);
        first[0].circuitId = circuit;
        first[0].publicInputsHash = keccak256(abi.encodePacked(inputs));
        first[0].proofHash = keccak256(proof);
        uint256 firstBatch = _commit(cheater, first);
        uint256 id = _challengeWithheld(watchtower, firstBatch, first, 0);
        // The urgent batch fills the cover exactly: it is committed all the same.
        _commit(cheater, _leavesFrom(covered, 10, client));
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, covered);
        assertEq(cap, covered);
        uint256 before = market.credits(cheater);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(cheater) - before, BOND, "the griefer's bond went to the prover");
    }

    /// The cheater's sybil client, and what the sybil prices its jobs at: enough for the
    /// full refund of a slash.
    address internal sybil;
    uint256 internal sybilKey;
    uint256 internal constant SYBIL_PRICE = 0.01 ether;
    /// The leaves a minimum stake covers, and half a slash.
    uint256 internal constant COVERED = MIN_STAKE / SLASH_PER_JOB;
    uint256 internal constant HALF_SLASH = SLASH_PER_JOB / 2;
    /// The price of each of the client's jobs the cheater commits an invalid leaf for.
    uint256 internal constant BAD_PRICE = 0.002 ether;
    /// The refund of a full slash and of half a slash: every job here is priced at least
    /// that, so a slash refunds its client in full.
    uint256 internal constant REFUND = SLASH_PER_JOB * REFUND_BPS / 10_000;
    uint256 internal constant HALF_REFUND = HALF_SLASH * REFUND_BPS / 10_000;
    /// What `COVERED` missed deadlines leave owed by a stake of `COVERED` leaves and half a
    /// slash that holds `COVERED` leaves at risk: the first takes the half slash, and every
    /// slash but that half becomes debt.
    uint256 internal constant DRAIN_DEBT = COVERED * SLASH_PER_JOB - HALF_SLASH;

    /// A cheater staked for `COVERED` leaves and half a slash more, with a sybil client
    /// that awarded it `COVERED` jobs, due in an hour, that it never proves (the cheater
    /// signed acceptances). It commits `COVERED` leaves of an honest client's jobs with
    /// invalid proofs (its whole cover), timed so that it can then empty its own stake
    /// with the sybil's missed-deadline challenges: the sybil opens them the response
    /// window before the commit (open challenges do not count against the cover), and
    /// finalizes them in the block after it, ahead of any watchtower's challenge of the
    /// leaves (a challenge needs its evidence committed in an earlier block, so none can
    /// land before that block; the test gives the cheater the race within it). The plan:
    /// the sybil gets each slash's reward and refund back, and the watchtowers' slashes
    /// of the invalid leaves find nothing left.
    /// A missed deadline's job holds no leaf at risk: its slash takes only what the stake
    /// holds beyond `slashPerJob` for each leaf at risk (the half slash, which the first
    /// takes), and the rest of every one becomes the cheater's debt. Every invalid leaf's
    /// slash then takes the full `slashPerJob`, pays the watchtower the full reward and
    /// refunds the client in full; none is ever paid. The cheater tops its stake up to go
    /// on proving: the debt takes the top-up first, which covers no leaf, and when the
    /// cheater gives up, unbonds and withdraws, the debt is burned out of what it takes
    /// back. The pair ends poorer by the full slash of every slashed job, invalid leaves
    /// and missed deadlines alike, less only the sybil's reward and refund of the half
    /// slash.
    function test_attack_drainingItsOwnStakeWithSybilMissedDeadlinesDoesNotPayForBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 stake = MIN_STAKE + HALF_SLASH;
        _register(cheater, stake);
        _deposit(client, COVERED * BAD_PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards) = _drainAroundTheCommit();

        // The watchtower challenges every invalid leaf within the window: every one is
        // slashed in full, out of the stake the missed deadlines could not take.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        for (uint256 i = 0; i < COVERED; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "every invalid-proof slash takes the full amount");
        }
        assertEq(market.credits(watchtower), COVERED * (BOND + REWARD), "the watchtower: every bond, every full reward");
        (uint256 left,) = _available(cheater);
        assertEq(left, 0, "the invalid leaves took the whole stake");
        assertEq(_debtOf(cheater), DRAIN_DEBT, "the missed deadlines are still owed");

        // No invalid leaf is ever paid; the client got the full refund of each.
        _closeWindow(batchId);
        _assertNoneIsPaid(batchId, bad, awards);
        assertEq(market.deposits(client), COVERED * (BAD_PRICE + REFUND), "the client paid nothing, refunded in full");
        assertEq(cheater.balance + market.credits(cheater), 0, "the cheater was paid nothing");

        _topUpAndGiveUp();
        _assertThePairPaidEverySlash(stake);
    }

    /// The sybil's missed-deadline challenges opened, the cheater's whole cover of invalid
    /// leaves committed in the last block it could answer them (one more refused), and
    /// the challenges finalized in the block after: they took the half slash beyond the
    /// leaves at risk and left the rest as debt, which covers nothing.
    function _drainAroundTheCommit()
        internal
        returns (uint256 batchId, MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards)
    {
        (bad, awards) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256[] memory drains = _sybilChallenges(COVERED);
        (,,,,,, uint32 openChallenges,,,,,) = market.provers(cheater);
        assertEq(openChallenges, COVERED);

        vm.roll(block.number + RESPONSE_WINDOW);
        batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED, "the stake was intact at the commit");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, COVERED));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.roll(block.number + 1);
        for (uint256 i = 0; i < COVERED; i++) {
            (uint256 before,) = _available(cheater);
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
            (uint256 afterwards,) = _available(cheater);
            assertEq(before - afterwards, i == 0 ? HALF_SLASH : 0, "a missed deadline takes only the surplus");
            assertTrue(market.slashed(_jobKey(cheater, sybil, _jobId(sybil, _nonce(i)))), "yet it is slashed");
        }
        assertEq(_stakeOf(cheater), MIN_STAKE, "the stake behind the leaves at risk is intact");
        assertEq(_debtOf(cheater), DRAIN_DEBT, "the rest of every missed deadline's slash is debt");
        (atRisk, cap) = market.exposure(cheater);
        assertEq(cap, 0, "stake that owes the debt covers no leaf");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, 0));
        market.commitBatch(_leavesFrom(COVERED, 1, client));
        assertEq(market.credits(sybil), COVERED * BOND + REWARD / 2, "the sybil: its bonds, the reward of half a slash");
        assertEq(market.deposits(sybil), HALF_REFUND, "and the refund of half a slash");
    }

    /// The cheater tops its stake up by the minimum once the invalid leaves no longer
    /// count, to go on proving: the debt comes out of the top-up first, which covers no
    /// leaf. It gives up, unbonds everything and withdraws: the debt is burned first.
    function _topUpAndGiveUp() internal {
        vm.roll(block.number + 2 * EPOCH);
        vm.deal(cheater, MIN_STAKE);
        vm.prank(cheater);
        market.addStake{value: MIN_STAKE}();
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, 0);
        assertEq(cap, (MIN_STAKE - DRAIN_DEBT) / SLASH_PER_JOB, "the debt takes the top-up first");
        assertEq(cap, 0);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, 1, 0));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        _passUnbonding(cheater);
        uint256 burnedBefore = market.totalBurned();
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(cheater, MIN_STAKE - DRAIN_DEBT, DRAIN_DEBT);
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(cheater.balance, MIN_STAKE - DRAIN_DEBT, "only what the debt left");
        assertEq(market.totalBurned() - burnedBefore, DRAIN_DEBT, "the debt is burned");
        assertEq(_debtOf(cheater), 0);
    }

    /// The cheater and its sybil paid in the cheater's `stake` and top-up and the sybil's
    /// bonds; they hold the sybil's credits and deposit and what the cheater withdrew.
    /// They lost the full slash of every slashed job (the invalid leaves and the missed
    /// deadlines) less the sybil's reward and refund of the half slash the first missed
    /// deadline took.
    function _assertThePairPaidEverySlash(uint256 stake) internal view {
        (uint256 stillHeld,) = _available(cheater);
        uint256 held = market.credits(sybil) + market.deposits(sybil) + sybil.balance + stillHeld
            + market.credits(cheater) + cheater.balance;
        uint256 lost = stake + MIN_STAKE + COVERED * BOND - held;
        uint256 slashedJobs = 2 * COVERED;
        uint256 sybilGotBack = REWARD / 2 + HALF_REFUND;
        assertGe(lost + sybilGotBack, slashedJobs * SLASH_PER_JOB, "the pair paid every slashed job in full");
        assertEq(lost, slashedJobs * SLASH_PER_JOB - sybilGotBack, "less only the sybil's reward and refund");
        uint256 burned =
            COVERED * (SLASH_PER_JOB - REWARD - REFUND) + (HALF_SLASH - REWARD / 2 - HALF_REFUND) + DRAIN_DEBT;
        assertEq(market.totalBurned(), burned, "burned: the slashes' burns and the debt");
    }

    /// The cheater's sybil client awards it a job, which the cheater commits and the sybil
    /// challenges as withheld; the cheater leaves it unanswered. A challenge may be
    /// finalized any time after its response window: the sybil holds it until the leaf has
    /// left the count of leaves at risk (two epochs of W + R + 1 blocks), the cheater then
    /// commits invalid leaves of an honest client's jobs up to its whole cover, and the
    /// sybil finalizes in the block after, hoping the late slash takes stake that backs the
    /// invalid leaves while its reward and refund come back to the pair. A withheld proof
    /// finalized once its leaf left the count takes only what the stake holds beyond the
    /// leaves at risk (the half slash) and leaves the rest as debt; every invalid leaf is
    /// then slashed in full and pays the watchtower. The pair lost more than the full
    /// slash of every invalid leaf.
    function test_attack_aLateWithheldSlashOfItsOwnLeafCannotDrainTheCoverOfBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 stake = MIN_STAKE + HALF_SLASH;
        _register(cheater, stake);
        _deposit(client, COVERED * BAD_PRICE);
        MarketTypes.Leaf[] memory own = _leavesFrom(0, 1, sybil);
        own[0].price = SYBIL_PRICE;
        uint256 pending = _challengeWithheld(sybil, _commit(cheater, own), own, 0);

        // Held past the response window until the leaf no longer counts.
        vm.roll(block.number + 2 * EPOCH);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, 0, "the withheld leaf left the count");
        assertEq(cap, COVERED);
        (MarketTypes.Leaf[] memory bad, MarketTypes.Award[] memory awards) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256 batchId = _commit(cheater, bad);
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED + 1, COVERED));
        market.commitBatch(_leavesFrom(COVERED, 1, client));

        vm.roll(block.number + 1);
        vm.prank(sybil);
        market.finalizeChallenge(pending);
        assertTrue(market.slashed(_jobKey(cheater, sybil, own[0].jobId)), "the withheld leaf is slashed");
        assertEq(_stakeOf(cheater), MIN_STAKE, "the late slash took only the half slash beyond the leaves at risk");
        assertEq(_debtOf(cheater), HALF_SLASH, "the rest is debt");
        assertEq(market.credits(sybil), BOND + REWARD / 2, "the sybil: its bond, the reward of half a slash");
        assertEq(market.deposits(sybil), HALF_REFUND, "and the refund of half a slash");

        // Every invalid leaf is slashed in full.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        for (uint256 i = 0; i < COVERED; i++) {
            assertEq(taken[i], SLASH_PER_JOB, "every invalid-proof slash takes the full amount");
        }
        assertEq(market.credits(watchtower), COVERED * (BOND + REWARD), "the watchtower: every full reward");
        _closeWindow(batchId);
        _assertNoneIsPaid(batchId, bad, awards);

        uint256 held = market.credits(sybil) + market.deposits(sybil) + sybil.balance + _stakeOf(cheater)
            + market.credits(cheater) + cheater.balance;
        uint256 lost = stake + BOND - held;
        assertGe(lost, COVERED * SLASH_PER_JOB, "the pair paid every invalid leaf's slash in full");
        assertEq(lost, stake - REWARD / 2 - HALF_REFUND, "the whole stake, less the sybil's half reward and refund");
        assertEq(_debtOf(cheater), HALF_SLASH, "and still owes the rest of the late slash");
    }

    /// A cheater whose sybil's missed deadlines left it in debt would go on committing as
    /// if its bonded stake were whole (the debt is only burned when stake is withdrawn),
    /// then move the stake to unbonding and top it up by less than the debt. The debt
    /// covers no leaf: once its leaves no longer count, a batch the stake alone would
    /// cover is refused; a top-up goes to the debt first and covers leaves only beyond it;
    /// and the withdrawal burns the debt. The pair lost the full slash of every missed
    /// deadline, of which the sybil got nothing back.
    function test_attack_debtCoversNoLeafAndEatsATopUpFirst() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        uint256 k = 10;
        _register(cheater, MIN_STAKE);
        uint256[] memory drains = _sybilChallenges(k);
        _commit(cheater, _leavesFrom(0, COVERED, client));
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        for (uint256 i = 0; i < k; i++) {
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
        }
        assertEq(_stakeOf(cheater), MIN_STAKE, "no stake beyond the leaves at risk: none taken");
        assertEq(_debtOf(cheater), k * SLASH_PER_JOB, "every missed deadline owed in full");
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED - k);

        // Two epochs later no leaf counts: the stake alone would cover COVERED leaves.
        vm.roll(block.number + 2 * EPOCH);
        (atRisk, cap) = market.exposure(cheater);
        assertEq(atRisk, 0);
        assertEq(cap, COVERED - k, "the debt covers nothing");
        vm.prank(cheater, cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, COVERED - k + 1, COVERED - k));
        market.commitBatch(_leavesFrom(COVERED, COVERED - k + 1, client));

        // Most of the stake to unbonding, less than the debt left bonded: covers nothing;
        // a top-up goes to the debt first.
        vm.prank(cheater);
        market.unbond(MIN_STAKE - 5 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 0, "bonded stake below the debt covers nothing");
        _addStakeOf(cheater, 4 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 0, "a top-up that does not clear the debt covers nothing");
        _addStakeOf(cheater, 3 * SLASH_PER_JOB);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 2, "only what the stake holds beyond the debt covers leaves");

        // The withdrawal burns the debt.
        _passUnbonding(cheater);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(cheater, MIN_STAKE - 5 * SLASH_PER_JOB - k * SLASH_PER_JOB, k * SLASH_PER_JOB);
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(_debtOf(cheater), 0);
        (, cap) = market.exposure(cheater);
        assertEq(cap, 12, "the debt paid, the whole stake covers leaves again");
        assertEq(market.totalBurned(), k * SLASH_PER_JOB, "the debt was burned");

        uint256 held = market.credits(sybil) + market.deposits(sybil) + _stakeOf(cheater) + cheater.balance;
        uint256 paidIn = MIN_STAKE + 7 * SLASH_PER_JOB + k * BOND;
        assertEq(paidIn - held, k * SLASH_PER_JOB, "the pair lost every missed deadline's full slash");
        assertEq(market.credits(sybil), k * BOND, "the sybil got its bonds back and nothing more");
        assertEq(market.deposits(sybil), 0);
    }

    function _addStakeOf(address who, uint256 amount) internal {
        vm.deal(who, who.balance + amount);
        vm.prank(who);
        market.addStake{value: amount}();
    }

    /// The cheater registers with twice the minimum, unbonds half at once, and waits out
    /// the unbonding delay in blocks and time. Its sybil client's missed deadlines are
    /// opened; the cheater commits its whole cover (bonded stake only) of invalid leaves;
    /// the sybil finalizes in the block after. A missed deadline may take what stake and
    /// unbonding stake hold beyond the leaves at risk, and the unbonding half is exactly
    /// that surplus, so each takes the full slash. Had a slash of no leaf at risk taken
    /// bonded stake first, the missed deadlines would have emptied the bonded stake that
    /// backs the invalid leaves, and the cheater would have withdrawn the untouched
    /// unbonding half in the same block, with no debt to burn (the invalid leaves' slashes
    /// then finding nothing). Such a slash takes unbonding stake first: the missed
    /// deadlines take the unbonding half, and every invalid leaf is slashed in full.
    function test_attack_withdrawingUnbondedStakeAfterSybilMissedDeadlinesStillPaysForBadLeaves() public {
        (sybil, sybilKey) = makeAddrAndKey("sybil");
        _register(cheater, 2 * MIN_STAKE);
        _deposit(client, COVERED * BAD_PRICE);
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
        // The delays pass (a day and an hour in time, UNBONDING_DELAY in blocks).
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(_unbondableAfter(cheater) - 1 hours - 2);
        (MarketTypes.Leaf[] memory bad,) = _badLeavesOfClient(COVERED, BAD_PRICE);
        uint256[] memory drains = _sybilChallenges(COVERED);
        vm.roll(block.number + RESPONSE_WINDOW);
        uint256 batchId = _commit(cheater, bad);
        (uint256 atRisk, uint256 cap) = market.exposure(cheater);
        assertEq(atRisk, COVERED);
        assertEq(cap, COVERED, "the bonded stake covers the invalid leaves");

        vm.roll(block.number + 1);
        for (uint256 i = 0; i < COVERED; i++) {
            vm.prank(sybil);
            market.finalizeChallenge(drains[i]);
        }
        // The cheater withdraws the unbonding half at once (whatever is left of it: a fix
        // may leave nothing to withdraw).
        _passUnbonding(cheater);
        uint256 before = cheater.balance;
        vm.prank(cheater);
        (bool withdrawn,) = address(market).call(abi.encodeCall(market.withdrawStake, ()));
        emit log_named_uint("withdrawal went through", withdrawn ? 1 : 0);
        emit log_named_uint("withdrawn after the missed deadlines", cheater.balance - before);
        emit log_named_uint("bonded stake left behind the invalid leaves", _stakeOf(cheater));
        emit log_named_uint("debt", _debtOf(cheater));

        // The watchtower challenges every invalid leaf within its window.
        vm.roll(block.number + 1);
        uint256[] memory taken = _challengeAllInvalid(batchId, bad);
        uint256 total;
        for (uint256 i = 0; i < COVERED; i++) {
            total += taken[i];
        }
        emit log_named_uint("the invalid leaves' slashes took", total);
        assertEq(total, COVERED * SLASH_PER_JOB, "every invalid leaf is slashed in full");
    }

    /// `n` leaves of `client`'s jobs 0..n-1 at `price`, of the registered circuit with the
    /// fixture's public inputs and a proof its verifier rejects, and the client's awards
    /// of them to the cheater, due in two hours.
    function _badLeavesOfClient(uint256 n, uint256 price)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves, MarketTypes.Award[] memory awards)
    {
        leaves = new MarketTypes.Leaf[](n);
        awards = new MarketTypes.Award[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = MarketTypes.Leaf({
                jobId: _jobId(client, _nonce(i)),
                circuitId: circuit,
                publicInputsHash: keccak256(abi.encodePacked(inputs)),
                proofHash: keccak256(_badProof()),
                client: client,
                price: price
            });
            awards[i] = _award(leaves[i], cheater, uint64(block.timestamp + 2 hours));
        }
    }

    /// The sybil awards the cheater `n` jobs due in an hour, which the cheater accepts and
    /// never proves; an hour and a second later the sybil opens a missed-deadline
    /// challenge on each. Returns their ids.
    function _sybilChallenges(uint256 n) internal returns (uint256[] memory ids) {
        MarketTypes.Award[] memory awards = new MarketTypes.Award[](n);
        for (uint256 i = 0; i < n; i++) {
            awards[i] = _award(_leaf(i, sybil, SYBIL_PRICE), cheater, uint64(block.timestamp + 1 hours));
        }
        vm.warp(block.timestamp + 1 hours + 1);
        ids = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            ids[i] = _challengeMissedOf(sybil, sybil, sybilKey, awards[i]);
        }
    }

    /// The watchtower challenges every leaf of `batchId` as invalid with the rejected
    /// proof; returns what each slash took from the cheater.
    function _challengeAllInvalid(uint256 batchId, MarketTypes.Leaf[] memory leaves)
        internal
        returns (uint256[] memory taken)
    {
        taken = new uint256[](leaves.length);
        bytes memory badProof = _badProof();
        for (uint256 i = 0; i < leaves.length; i++) {
            (uint256 before,) = _available(cheater);
            _challengeInvalidAt(watchtower, batchId, leaves, i, badProof);
            (uint256 afterwards,) = _available(cheater);
            taken[i] = before - afterwards;
            assertTrue(market.slashed(_jobKey(cheater, client, leaves[i].jobId)), "every invalid leaf slashed");
        }
    }

    /// Each of `leaves` (batch `batchId`), claimed alone with its award, reverts JobSlashed.
    function _assertNoneIsPaid(uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award[] memory awards)
        internal
    {
        for (uint256 i = 0; i < leaves.length; i++) {
            bytes memory sig = _sign(clientKey, awards[i]);
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, leaves[i].jobId));
            _claimJob(cheater, batchId, leaves, i, _nonce(i), awards[i], sig);
            assertFalse(market.isPaid(client, cheater, _nonce(i)));
        }
    }

    // ---- bounded challenges, no escape (property 8) --------------------------------------

    /// A year after a deadline, a challenger tries to slash an honest prover that has
    /// since gone offline (and so cannot answer): refused, the challenger keeps its bond.
    function test_attack_missedDeadlineChallengeLongAfterTheDeadlineIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        uint64 closesAt = award.deadline + DEADLINE_PERIOD;
        vm.warp(award.deadline + 365 days);
        _expectMissedRevert(award, abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, closesAt));
        // The last second of the period is still open.
        vm.warp(closesAt);
        _challengeMissed(award);
    }

    /// A challenger reopens a missed-deadline challenge after the prover answered it,
    /// hoping to catch it offline the second time: refused.
    function test_attack_reopeningAnAnsweredMissedDeadlineChallengeIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        MarketTypes.Leaf[] memory leaves = _leavesFrom(1, 1, client);
        uint256 batchId = _commit(cheater, leaves);
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        uint256 creditsBefore = market.credits(cheater);
        market.answerMissedDeadline(id, _at(batchId, leaves, 0));
        assertEq(market.credits(cheater) - creditsBefore, BOND, "the answer earned the bond");
        _expectMissedRevert(award, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, award.jobId));
        assertFalse(_isDisputed(cheater));
    }

    /// The same for a withheld-proof challenge: once the proof was revealed, the leaf
    /// cannot be challenged as withheld again.
    function test_attack_rechallengingARevealedLeafAsWithheldIsRefused() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = MarketTypes.Leaf({
            jobId: _jobId(client, 1),
            circuitId: circuit,
            publicInputsHash: keccak256(abi.encodePacked(inputs)),
            proofHash: keccak256(proof),
            client: client,
            price: 1 gwei
        });
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        market.revealProof(id, inputs, proof);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, leaves[0].jobId));
        market.challengeWithheldProof{value: BOND}(_at(batchId, leaves, 0), NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// The cheater registers, wins an award with the longest deadline and unbonds its whole
    /// stake at once.
    function _unbondAfterALongAward() internal returns (MarketTypes.Award memory award) {
        _register(cheater, MIN_STAKE);
        award = _award(_leaf(1, client, 1 gwei), cheater, uint64(block.timestamp + MAX_DEADLINE));
        vm.prank(cheater);
        market.unbond(MIN_STAKE);
    }

    /// Finalizes challenge `id` after its response window, then withdraws the cheater's
    /// unbonded stake: the slash was taken first.
    function _finalizeThenWithdraw(uint256 id) internal {
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        _passUnbonding(cheater);
        uint256 balanceBefore = cheater.balance;
        vm.prank(cheater);
        market.withdrawStake();
        assertEq(cheater.balance - balanceBefore, MIN_STAKE - SLASH_PER_JOB, "the slash was taken first");
    }

    /// A prover accepts a job with the longest deadline the market allows and unbonds its
    /// whole stake at once, planning to withdraw before the deadline so that a slash for
    /// missing it finds nothing. The withdrawal waits until the deadline's challenge
    /// period is over; the challenge comes first and the slash takes unbonding stake.
    function test_attack_withdrawingStakeBeforeALongDeadlineFails() public {
        MarketTypes.Award memory award = _unbondAfterALongAward();
        // The unbonding delay in blocks passes long before the deadline.
        vm.roll(block.number + UNBONDING_DELAY + 1);
        vm.warp(award.deadline - 1);
        uint64 unbondableAfter = _unbondableAfter(cheater);
        assertGe(unbondableAfter, uint256(award.deadline) + DEADLINE_PERIOD);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();
        // The deadline passes unmet; a watchtower challenges; nobody can answer.
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();
        _finalizeThenWithdraw(id);
    }

    /// The same cheater times its withdrawal for the last second in which its missed
    /// deadline can still be challenged (the deadline plus the period, where the deadline
    /// is as late as `maxDeadline` allows after its `unbond`). The stake stays until the
    /// second after: the challenge of that last second still finds it.
    function test_attack_withdrawingInTheLastSecondOfTheChallengePeriodFails() public {
        MarketTypes.Award memory award = _unbondAfterALongAward();
        uint64 lastSecond = award.deadline + DEADLINE_PERIOD;
        assertEq(_unbondableAfter(cheater), lastSecond + 1);
        vm.roll(block.number + UNBONDING_DELAY + 1);
        vm.warp(lastSecond);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, lastSecond + 1));
        market.withdrawStake();
        _finalizeThenWithdraw(_challengeMissed(award));
    }

    // ---- claims stay cheap, and fit a block (property 9) ----------------------------------

    /// A watchtower challenges an honest prover once (and loses its bond to the prover's
    /// answer), hoping to make every later claim of that prover dearer for good. After the
    /// answer, the prover's claims cost what an unchallenged prover's cost.
    function test_attack_aFalseChallengeDoesNotMakeLaterClaimsDearer() public {
        _register(cheater, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        _deposit(client, 1 ether);
        // The challenged prover answers a missed-deadline challenge on job 1000.
        MarketTypes.Leaf[] memory answered = _leavesFrom(1000, 1, client);
        MarketTypes.Award memory award = _award(answered[0], cheater);
        uint256 answeredBatch = _commit(cheater, answered);
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        market.answerMissedDeadline(id, _at(answeredBatch, answered, 0));
        assertFalse(_isDisputed(cheater));

        // Both provers commit and claim one job each, the same shape, for two clients
        // (so that neither claim finds the other's storage already warm).
        _deposit(otherClient, 1 ether);
        MarketTypes.Leaf[] memory mine = _leavesFrom(1, 1, client);
        MarketTypes.Leaf[] memory theirs = _leavesFrom(1, 1, otherClient);
        uint256 mineBatch = _commit(cheater, mine);
        uint256 theirBatch = _commit(otherProver, theirs);
        _closeWindow(theirBatch);
        uint256 gasMine = _claimOne(cheater, clientKey, mineBatch, mine[0], 1);
        uint256 gasTheirs = _claimOne(otherProver, otherClientKey, theirBatch, theirs[0], 1);
        emit log_named_uint("claim gas, prover after an answered challenge", gasMine);
        emit log_named_uint("claim gas, prover never challenged", gasTheirs);
        // The per-job lookups of a disputed prover cost about 4,200 gas.
        assertApproxEqAbs(gasMine, gasTheirs, 500, "an answered challenge leaves no lasting cost");
    }

    function _claimOne(address who, uint256 key, uint256 batchId, MarketTypes.Leaf memory l, uint64 nonce)
        internal
        returns (uint256 gasUsed)
    {
        MarketTypes.Award memory a = _award(l, who);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = _batchJob(l, 0, nonce, a.deadline, _sign(key, a));
        bytes32[] memory hashes = new bytes32[](1); // the batch's only leaf, given by the claim
        vm.prank(who);
        uint256 before = gasleft();
        market.claimBatch(batchId, hashes, jobs);
        gasUsed = before - gasleft();
    }

    // ---- paid only for a proven statement (property 1, in part) ------------------------------

    /// A leaf for `client`'s job 1 with the given circuit and proof.
    function _leafWith(bytes32 circuitId, uint256[] memory inputs_, bytes memory proof_)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves)
    {
        leaves = _one(
            MarketTypes.Leaf({
                jobId: _jobId(client, 1),
                circuitId: circuitId,
                publicInputsHash: keccak256(abi.encodePacked(inputs_)),
                proofHash: keccak256(proof_),
                client: client,
                price: 1 gwei
            })
        );
    }

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

    // ---- circuits immutable, registration permissionless, no owner (property 5) -------------

    /// An all-zero proof of the registered circuit's length: rejected by its verifier.
    function _badProof() internal view returns (bytes memory) {
        return new bytes(proof.length);
    }

    /// `challenger` challenges leaf 0 of `batchId` (`leaves`) as invalid with `inputs` and
    /// `proof_`, committing its evidence first.
    function _challengeInvalidAs(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        bytes memory proof_
    ) internal {
        _challengeInvalidAt(challenger, batchId, leaves, 0, proof_);
    }

    /// `challenger` challenges leaf `i` of `batchId` (`leaves`) as invalid with `inputs`
    /// and `proof_`, committing its evidence first.
    function _challengeInvalidAt(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        bytes memory proof_
    ) internal {
        MarketTypes.Inclusion memory at = _at(batchId, leaves, i);
        _evidence(challenger, abi.encodeCall(market.challengeInvalidProof, (at, inputs, proof_)));
        vm.deal(challenger, challenger.balance + BOND);
        vm.prank(challenger);
        market.challengeInvalidProof{value: BOND}(at, inputs, proof_);
    }

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

    // ---- escrowed fees (property 4) ----------------------------------------------------

    /// A client requests the withdrawal of its whole deposit, lets the request mature and
    /// holds it, then awards jobs against the deposit, planning to empty it in the block of
    /// the prover's claim. The chain shows the prover no free deposit while the request
    /// stands (so a prover checking `freeDeposit` does not bid); a request held past its
    /// execution period lapses, and the claim is paid.
    function test_attack_aHeldWithdrawalRequestCannotEmptyTheDepositAtTheClaim() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        assertEq(market.freeDeposit(client), 0, "a prover sees nothing it can count on");
        uint64 at = market.withdrawableAt(client);
        vm.roll(at + DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether, "a lapsed request frees the deposit");

        // Awarded now against the free deposit, committed, window closed.
        MarketTypes.Leaf[] memory leaves = _leavesFrom(0, 1, client);
        leaves[0].price = 1 ether;
        uint256 batchId = _commit(cheater, leaves);
        _closeWindow(batchId);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, at + DEPOSIT_DELAY));
        market.withdrawDeposit();
        MarketTypes.Award memory a = _award(leaves[0], cheater);
        bytes memory sig = _sign(clientKey, a);
        _claimJob(cheater, batchId, leaves, 0, 0, a, sig);
        assertEq(market.deposits(client), 0, "the prover was paid in full");
    }

    // ---- reserved fees (property 4, with reservations) ------------------------------------

    /// `client` deposits `deposited` and reserves `reserved` of it for `p` until a day from
    /// now; returns that `until`.
    function _reservedFor(address p, uint256 deposited, uint256 reserved) internal returns (uint64 until) {
        until = uint64(block.timestamp + 1 days);
        _deposit(client, deposited);
        vm.prank(client);
        market.reserve(p, reserved, until);
    }

    /// `client`'s job `nonce` at `price`, alone in a batch `p` commits; window closed.
    function _pricedJob(address p, uint64 nonce, uint256 price)
        internal
        returns (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award)
    {
        leaves = _leavesFrom(nonce, 1, client);
        leaves[0].price = price;
        award = _award(leaves[0], p);
        batchId = _commit(p, leaves);
        _closeWindow(batchId);
    }

    function _reservedAmount(address c, address p) internal view returns (uint256 amount) {
        (amount,) = market.reservations(c, p);
    }

    /// The client's deposit D and its reservation R for `prover`: the client signs awards
    /// to `otherProver` at price D (what the chain shows it as free) and to `prover` at R
    /// (what `prover` bid on), hoping that whichever claims second finds the funds gone.
    /// `otherProver` claims first and empties the deposit; `prover`'s claim is still paid
    /// in full, from its reservation. The client paid exactly the two prices and has
    /// nothing left to take back.
    function test_attack_overAwardingCannotShortchangeAReservedProver() public {
        uint256 d = 1 ether;
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        uint64 until = _reservedFor(prover, d + r, r);
        assertEq(market.freeDeposit(client), d);

        (uint256 first, MarketTypes.Leaf[] memory toOther, MarketTypes.Award memory a2) = _pricedJob(otherProver, 0, d);
        (uint256 second, MarketTypes.Leaf[] memory toReserved, MarketTypes.Award memory a1) = _pricedJob(prover, 1, r);
        _claimJob(otherProver, first, toOther, 0, 0, a2, _sign(clientKey, a2));
        assertEq(market.deposits(client), 0, "the first claim emptied the deposit");
        _claimJob(prover, second, toReserved, 0, 1, a1, _sign(clientKey, a1));

        assertEq(prover.balance, r, "the reserved prover was paid in full");
        assertEq(otherProver.balance, d);
        assertEq(_reservedAmount(client, prover), 0);
        vm.warp(until + 1);
        vm.prank(client);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        assertEq(client.balance + market.deposits(client), 0, "the client got nothing back");
    }

    /// The client's deposit D and its reservation R for `prover`. `otherProver` bids on the
    /// free deposit D and is awarded a job at D; `prover` is awarded jobs totalling R.
    /// `prover` claims first, hoping to be paid out of the shared deposit and keep its
    /// reservation for later: its claims take only its reservation, the deposit that
    /// `otherProver` counted on is intact, and `otherProver` is then paid in full. The
    /// client paid exactly the prices and has nothing left to take back.
    function test_attack_aReservedProverCannotDrainTheDepositOthersCountOn() public {
        uint256 d = 1 ether;
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        uint64 until = _reservedFor(prover, d + r, r);
        assertEq(market.freeDeposit(client), d, "what otherProver bids on");
        (uint256 theirs, MarketTypes.Leaf[] memory toOther, MarketTypes.Award memory a2) = _pricedJob(otherProver, 0, d);

        // `prover`'s jobs 1 and 2, at 0.2 and 0.3 ether, claimed first, in one call.
        MarketTypes.Leaf[] memory mine = _leavesFrom(1, 2, client);
        mine[0].price = 0.2 ether;
        mine[1].price = 0.3 ether;
        uint256 myBatch = _commit(prover, mine);
        _closeWindow(myBatch);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](2);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory a = _award(mine[i], prover);
            jobs[i] = _batchJob(mine[i], i, _nonce(i + 1), a.deadline, _sign(clientKey, a));
        }
        vm.prank(prover);
        market.claimBatch(myBatch, new bytes32[](2), jobs);
        assertEq(prover.balance, r);
        assertEq(_reservedAmount(client, prover), 0, "the reservation paid");
        assertEq(market.deposits(client), d, "the deposit otherProver counts on is intact");
        assertEq(market.freeDeposit(client), d);

        _claimJob(otherProver, theirs, toOther, 0, 0, a2, _sign(clientKey, a2));
        assertEq(otherProver.balance, d, "otherProver was paid in full");
        assertEq(market.deposits(client), 0);
        vm.warp(until + 1);
        vm.prank(client);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        assertEq(client.balance + market.deposits(client), 0, "the client got nothing back");
    }

    /// The client reserves R for `prover`, which bids on it; the job is awarded at R. The
    /// client then tries to take the funds back before `prover` claims: a withdrawal
    /// request reaches only the deposit (refused beyond it; an extra deposit withdrawn
    /// comes out alone), and `release` is refused up to the reservation's last second.
    /// `prover` claims in that second and is paid in full; the client ends with only its
    /// extra deposit.
    function test_attack_withdrawingReservedFundsBeforeUntilFails() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        uint64 until = _reservedFor(prover, r, r);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award) = _pricedJob(prover, 0, r);

        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, r));
        market.requestDepositWithdrawal(r);
        _deposit(client, 0.1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.1 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.1 ether, "only the extra deposit came out");
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);
        vm.warp(until);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);

        _claimJob(prover, batchId, leaves, 0, 0, award, _sign(clientKey, award));
        assertEq(prover.balance, r, "paid in full");
        assertEq(_reservedAmount(client, prover), 0);
        assertEq(client.balance + market.deposits(client), 0.1 ether, "the client is no richer");
    }

    /// The cheater holds a genuine award of the client's, whose deposit is empty: all of it
    /// is reserved for `prover`. The cheater claims anyway, hoping to be paid out of
    /// `prover`'s reservation, then tries to move the reservation itself (`release` and
    /// `reserve` act on the caller's own funds only). Everything is refused; `prover` is
    /// then paid from its reservation.
    function test_attack_anotherProverCannotBePaidFromAReservation() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        _register(cheater, MIN_STAKE);
        uint64 until = _reservedFor(prover, r, r);
        (uint256 theirs, MarketTypes.Leaf[] memory stolen, MarketTypes.Award memory a2) =
            _pricedJob(cheater, 0, 0.2 ether);
        bytes memory sig2 = _sign(clientKey, a2);

        // The deposit is empty and the cheater has no reservation: 0 + 0.
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 0.2 ether));
        _claimJob(cheater, theirs, stolen, 0, 0, a2, sig2);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.NothingToWithdraw.selector);
        market.release(prover);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, r));
        market.reserve(cheater, r, until);
        vm.warp(until + 1); // even after `until`
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 0.2 ether));
        _claimJob(cheater, theirs, stolen, 0, 0, a2, sig2);

        assertEq(cheater.balance, 0, "the cheater got nothing");
        assertEq(_reservedAmount(client, prover), r, "the reservation is intact");
        (uint256 mine, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory a1) = _pricedJob(prover, 1, r);
        _claimJob(prover, mine, leaves, 0, 1, a1, _sign(clientKey, a1));
        assertEq(prover.balance, r);
    }

    /// The client reserves R for `prover` until a day from now and, before `prover` claims,
    /// tries to bring `until` forward (to now, to 0, to a second earlier, adding funds) so
    /// that it can release the reservation at once. Every shortening is refused, `release`
    /// stays too early, and `prover` is paid in full.
    function test_attack_shorteningAReservationCannotTakeItBack() public {
        uint256 r = 0.5 ether;
        _register(prover, MIN_STAKE);
        uint64 until = _reservedFor(prover, r + 0.1 ether, r);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves, MarketTypes.Award memory award) = _pricedJob(prover, 0, r);

        bytes memory err = abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, until);
        uint64[3] memory earlier = [uint64(block.timestamp), 0, until - 1];
        for (uint256 i = 0; i < earlier.length; i++) {
            vm.prank(client);
            vm.expectRevert(err);
            market.reserve(prover, 0, earlier[i]);
        }
        vm.prank(client);
        vm.expectRevert(err);
        market.reserve(prover, 0.1 ether, uint64(block.timestamp));
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, until));
        market.release(prover);
        (, uint64 stillUntil) = market.reservations(client, prover);
        assertEq(stillUntil, until);

        _claimJob(prover, batchId, leaves, 0, 0, award, _sign(clientKey, award));
        assertEq(prover.balance, r, "paid in full");
        assertEq(market.deposits(client), 0.1 ether, "the deposit was not touched");
    }

    // ---- a challenge cannot be copied (commit–reveal of evidence) ---------------------------

    /// Anyone who copies challenges out of the mempool.
    address internal copier = makeAddr("copier");

    /// The reward of one full slash.
    uint256 internal constant REWARD = SLASH_PER_JOB * REWARD_BPS / 10_000;

    /// EvidenceNotCommitted(committedAt).
    function _notCommitted(uint256 committedAt) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, committedAt);
    }

    /// `who` commits to itself sending the challenge input `call` (`_evidenceDigest`) in
    /// the current block.
    function _commitTo(address who, bytes memory call) internal {
        vm.prank(who);
        market.commitEvidence(_evidenceDigest(who, call));
    }

    // ---- a proof forced out is paid for (issue 16) -----------------------------------------

    /// The price of the jobs below: at or below `challengeBond`, as a deployment sets the bond
    /// (at or above the prices its provers take).
    uint256 internal constant PRICE = 0.05 ether;
    /// The largest price a leaf may carry (`commitBatch` refuses more: `PriceTooLarge`).
    uint256 internal constant HUGE_PRICE = type(uint128).max;

    /// `n` leaves of `client`'s jobs 1..n at `price`, of the registered circuit with its
    /// valid proof, committed by `prover`; returns the batch.
    function _pricedValidLeaves(uint256 n, uint256 price)
        internal
        returns (uint256 batchId, MarketTypes.Leaf[] memory leaves)
    {
        leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leafWith(circuit, inputs, proof)[0];
            leaves[i].jobId = _jobId(client, _nonce(i + 1));
            leaves[i].price = price;
        }
        batchId = _commit(prover, leaves);
    }

    /// `challenger` sends the withheld-proof challenge of leaf `i` showing `b` (a nonce,
    /// and an award's deadline and signature, or none) with `value`, committed to in the
    /// block before, and expects `err`.
    function _expectWithheldRevert(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        Purchase memory b,
        uint256 value,
        bytes memory err
    ) internal {
        _evidenceWithheldWith(challenger, batchId, leaves, i, b);
        vm.deal(challenger, challenger.balance + value);
        vm.prank(challenger);
        vm.expectRevert(err);
        _withheld(_at(batchId, leaves, i), b, value);
        vm.deal(challenger, challenger.balance - value);
    }

    /// BadAwardSignature().
    function _badAward() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
    }

    /// `who` claims leaf 0 of `leaves` (job `nonce` of `client`), alone in batch `batchId`,
    /// with the client's signed award, and expects `err`.
    function _expectClaimRevert(
        address who,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint64 nonce,
        bytes memory err
    ) internal {
        MarketTypes.Award memory award = _award(leaves[0], who);
        bytes memory sig = _sign(clientKey, award);
        vm.expectRevert(err);
        _claimJob(who, batchId, leaves, 0, nonce, award, sig);
    }

    /// The winner commits its leaf in time but keeps the proof from its client, hoping the
    /// client's withheld-proof challenge (its only way to the proof) pays it the bond when
    /// it reveals. The client's own challenge buys the proof instead (naming the job's
    /// nonce): the reveal gives the client its bond back and credits the prover the price,
    /// what a claim would have paid it (the job is then paid: a claim of it is
    /// `AlreadyClaimed`). Withholding earned the prover nothing but its reveal's gas bill.
    function test_attack_withholdingFromItsClientEarnsTheProverNoBond() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _buyWithheld(batchId, leaves, 0, 1);
        vm.prank(cheater);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(cheater), PRICE, "the withholding prover earned the price, not the bond");
        assertEq(market.credits(client), BOND, "the client's bond is back");
        assertEq(market.deposits(client), 0, "the client paid the price");
        assertTrue(market.isPaid(client, cheater, 1));

        _closeWindow(batchId);
        _expectClaimRevert(cheater, batchId, leaves, 1, _alreadyClaimed(leaves[0].jobId));
        assertEq(cheater.balance, 0, "and no fee on top");
    }

    /// A withholding prover that required its client to reserve everything for it: the
    /// client's deposit is all reserved for the prover (`freeDeposit` 0, exactly what the
    /// prover's bid asked), the prover commits in time and never serves the proof, hoping
    /// the client's purchase fails for want of a free deposit and the reservation then
    /// pays its claim after the window, proof never shown. The purchase takes the price
    /// as a claim would, out of the reservation first: it opens; unrevealed, it slashes
    /// the prover, the price goes back to the client's deposit, and the prover's claim
    /// after the window is refused. The prover ends poorer by the slash and is paid
    /// nothing; the client has its bond and its price back.
    function test_attack_aReservedWinnerThatWithholdsTheProofIsBoughtOutOfTheReservation() public {
        _register(cheater, MIN_STAKE);
        _reservedFor(cheater, PRICE, PRICE);
        assertEq(market.freeDeposit(client), 0, "nothing free: all reserved for the prover");
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _buyWithheld(batchId, leaves, 0, 1);
        assertTrue(_challenge(id).bought, "the purchase opened");
        assertEq(_reservedAmount(client, cheater), 0, "the price came out of the reservation");
        assertEq(market.deposits(client), 0);
        assertTrue(market.isPaid(client, cheater, 1));

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        assertLt(_stakeOf(cheater), MIN_STAKE, "the withholding prover is slashed");
        assertGe(market.deposits(client), PRICE, "the price is back in the client's deposit");
        assertEq(market.credits(client), BOND + SLASH_PER_JOB * REWARD_BPS / 10_000, "the bond back, and the reward");
        _closeWindow(batchId);
        _expectClaimRevert(
            cheater, batchId, leaves, 1, abi.encodeWithSelector(MarketTypes.JobSlashed.selector, leaves[0].jobId)
        );
        assertEq(cheater.balance + market.credits(cheater), 0, "the prover is paid nothing");
    }

    /// AlreadyClaimed(jobId).
    function _alreadyClaimed(bytes32 jobId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, jobId);
    }

    /// A client bids, lets an honest prover commit the leaves of its jobs, and never signs
    /// the awards, so that nothing lets the prover claim the fees; it then forces the
    /// proofs out with withheld-proof challenges, counting on getting the bond back. It
    /// cannot buy without signing: from its own account, naming the job's nonce but with
    /// no signature, its challenge is a plain one (the reveal pays the bond to the prover).
    /// To buy, it must sign the award of the leaf to the prover after all, and then the
    /// price leaves its deposit (sending the price as the bond is refused: the bond is
    /// `challengeBond` whoever sends it), the reveal credits it to the prover and returns
    /// the bond. From another account of its own, even naming the job's nonce and showing
    /// the signed award, the challenge is a plain one and the reveal pays the bond to the
    /// prover. Through a plain challenge a proof costs `challengeBond` whatever its price,
    /// so a prover node never bids above `challengeBond` (here `PRICE` <= `BOND`;
    /// `market::funds::price_within_bond`): it is paid at least its price either way.
    function test_attack_aClientThatNeverSignedTheAwardPaysThePriceToForceTheProofOut() public {
        address clientsOther = makeAddr("client's other account");
        _register(prover, MIN_STAKE);
        _deposit(client, PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(3, PRICE);
        // Unsigned, with the job's own nonce: a plain challenge.
        uint256 unsigned = _challengeWithheldNaming(client, batchId, leaves, 2, 3);
        assertFalse(_challenge(unsigned).bought, "no signature, no purchase");
        assertEq(market.deposits(client), PRICE, "no price moved");
        // Signed: a purchase (and the bond is challengeBond, not the price).
        Purchase memory buy = _purchase(batchId, leaves, 0, 1);
        _expectWithheldRevert(
            client, batchId, leaves, 0, buy, PRICE, abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, PRICE)
        );
        uint256 bought = _buyWithheld(batchId, leaves, 0, 1);
        assertTrue(_challenge(bought).bought);
        assertEq(market.deposits(client), 0, "the price left the client's deposit");
        uint256 plain = _challengeWithheldWith(clientsOther, batchId, leaves, 1, _purchase(batchId, leaves, 1, 2));
        assertFalse(_challenge(plain).bought, "another account showing the award buys nothing");
        assertEq(_challenge(plain).bond, BOND);
        vm.startPrank(prover);
        market.revealProof(bought, inputs, proof);
        market.revealProof(plain, inputs, proof);
        market.revealProof(unsigned, inputs, proof);
        vm.stopPrank();

        assertEq(market.credits(client), BOND, "the buyer's bond came back, not the unsigned challenge's");
        assertEq(market.credits(clientsOther), 0, "the other account's did not");
        assertEq(market.credits(prover), PRICE + 2 * BOND, "the prover: the price of one proof, the bond of the others");
        // What the two accounts put in (the deposit and three bonds) less what they hold.
        uint256 held = client.balance + clientsOther.balance + market.credits(client) + market.credits(clientsOther)
            + market.deposits(client);
        uint256 paid = PRICE + 3 * BOND - held;
        assertEq(paid, PRICE + 2 * BOND, "the pair paid the price and two bonds");
        assertGe(BOND, PRICE, "the residual: the bond is at or above the price");
        assertGe(paid, 3 * PRICE, "at least the price of each proof");
        assertTrue(market.isPaid(client, prover, 1), "the bought job is paid");
        assertFalse(market.isPaid(client, prover, 2), "the others are not: nothing was bought");
        assertFalse(market.isPaid(client, prover, 3));
        assertEq(_stakeOf(prover), MIN_STAKE);
    }

    /// A prover commits a leaf at the largest price a leaf may carry (2^128 - 1 wei),
    /// hoping no watchtower can afford the bond of a withheld-proof challenge, and keeps
    /// its proof. The bond is `challengeBond` whatever the price (the price is refused,
    /// `WrongBond`): a watchtower challenges for exactly that, nobody answers, and the
    /// prover is slashed in full; the watchtower has its bond back and the reward, the
    /// client the refund (the price caps it only above the refund).
    function test_attack_aHugePriceDoesNotMakeALeafUnchallengeable() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = HUGE_PRICE;
        uint256 batchId = _commit(cheater, leaves);
        bytes memory wrongBond = abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, HUGE_PRICE);
        _expectWithheldRevert(watchtower, batchId, leaves, 0, _plain(NO_NONCE), HUGE_PRICE, wrongBond);
        uint256 marketBefore = address(market).balance;
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        assertEq(address(market).balance - marketBefore, BOND, "the bond was challengeBond");
        assertEq(_challenge(id).bond, BOND);
        assertEq(_challenge(id).price, HUGE_PRICE);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)), "slashed");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash");
        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower: its bond back and the reward");
        assertEq(market.deposits(client), REFUND, "the client: the refund");
        assertEq(market.credits(cheater), 0);
    }

    /// A prover inflates a leaf's price (here to 2^128 - 1 wei) hoping a watchtower's
    /// withheld-proof challenge, which its reveal answers, pays it that much. The bond is
    /// `challengeBond`, and a reveal of a challenge that bought nothing pays the prover the
    /// bond alone: the watchtower lost exactly `challengeBond`, and the client's deposit
    /// was never touched (only the client buys).
    function test_attack_inflatingALeafsPriceTakesNoMoreThanTheBondFromAWatchtower() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = HUGE_PRICE;
        uint256 batchId = _commit(cheater, leaves);
        // The watchtower even names the job's nonce and shows the client's award: it buys
        // nothing.
        uint256 id = _challengeWithheldWith(watchtower, batchId, leaves, 0, _purchase(batchId, leaves, 0, 1));
        assertFalse(_challenge(id).bought);
        vm.prank(cheater);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(cheater), BOND, "the prover: the bond, nothing more");
        assertEq(watchtower.balance + market.credits(watchtower), 0, "the watchtower lost exactly the bond");
        assertEq(market.deposits(client), 1 ether, "the client paid nothing");
        assertFalse(market.isPaid(client, cheater, 1));
        assertEq(address(market).balance, MIN_STAKE + 1 ether + BOND, "nothing else moved");
    }

    /// A client buys the proof of its job (the price leaves its deposit, which it asked to
    /// withdraw in full first, hoping the proof comes for the bond alone) and then tries to
    /// have the same award paid, or bought, again. A second purchase is refused while the
    /// first is pending (`ChallengePending`) and once it is answered (`AlreadyAnswered`);
    /// on a copy of the leaf another prover committed, its award to the winner buys
    /// nothing (`BadAwardSignature`: it names the winner); nor can the client take the
    /// price back by finalizing the answered challenge. The prover, credited the price by
    /// its reveal, claims the job with the client's signed award: `AlreadyClaimed`.
    /// Paid is recorded per award (client, prover, nonce), so a second award of the job,
    /// signed to the other prover, is another award: it buys the other prover's copy and
    /// takes the price a second time (under the old per-job rule it was refused
    /// `AlreadyClaimed`; the client that signs two awards of a job pays both), and that
    /// award too is then paid once: the other prover's claim of it is `AlreadyClaimed`.
    /// The withdrawal gets what is left. The client paid each award's price once; each
    /// prover was paid once.
    function test_attack_aBoughtProofIsPaidOnce() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        _deposit(client, 3 * PRICE);
        vm.prank(client);
        market.requestDepositWithdrawal(3 * PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(1, PRICE);
        bytes32 jobId = leaves[0].jobId;
        Purchase memory buy = _purchase(batchId, leaves, 0, 1);
        uint256 id = _buyWithheld(batchId, leaves, 0, 1);
        assertEq(market.deposits(client), 2 * PRICE, "the price left the deposit at once");
        bytes memory pending = abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id);
        _expectWithheldRevert(client, batchId, leaves, 0, buy, BOND, pending);

        vm.prank(prover);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), PRICE, "the prover was paid by its reveal");
        assertEq(market.credits(client), BOND, "the client's bond is back");
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.finalizeChallenge(id);
        bytes memory answered = abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, jobId);
        _expectWithheldRevert(client, batchId, leaves, 0, buy, BOND, answered);
        uint256 copy = _commit(otherProver, leaves);
        _expectWithheldRevert(client, copy, leaves, 0, buy, BOND, _badAward());
        assertEq(market.deposits(client), 2 * PRICE, "nothing more taken");

        // A second award of the job, signed to otherProver: another award, bought and paid.
        uint256 second = _buyWithheld(copy, leaves, 0, 1);
        assertTrue(_challenge(second).bought, "the second award buys");
        assertEq(market.deposits(client), PRICE, "and takes its price");
        assertTrue(market.isPaid(client, prover, 1));
        assertTrue(market.isPaid(client, otherProver, 1));
        vm.prank(otherProver);
        market.revealProof(second, inputs, proof);
        assertEq(market.credits(otherProver), PRICE, "the other prover was paid its award's price");
        assertEq(market.credits(client), 2 * BOND, "both bonds back");

        _closeWindow(batchId);
        _expectClaimRevert(prover, batchId, leaves, 1, _alreadyClaimed(jobId));
        _closeWindow(copy);
        _expectClaimRevert(otherProver, copy, leaves, 1, _alreadyClaimed(jobId));

        vm.roll(market.withdrawableAt(client));
        vm.prank(client);
        market.withdrawDeposit();
        vm.prank(client);
        market.withdrawCredits();
        assertEq(client.balance, PRICE + 2 * BOND, "the client got back all but the two awards' prices");
        assertEq(market.deposits(client), 0);
        assertEq(prover.balance + otherProver.balance, 0, "no claim paid");
        assertEq(market.credits(prover), PRICE, "the prover was paid once");
        assertEq(market.credits(otherProver), PRICE, "and so was the other prover");
    }

    /// The client tries to have the bond back without paying: it shows its valid award of
    /// its job's leaf with another job's nonce (refused, `BadAwardSignature`: the nonce is
    /// checked against the leaf's job, so no other job's bit is set), then challenges the
    /// leaf naming another job's nonce without a signature (a plain challenge), and a
    /// watchtower shows the client's signed award with the job's right nonce (only the
    /// client buys). None buys: no price moves, no job is marked paid, and each reveal pays
    /// the bond to the prover. Both jobs stay the prover's to claim with the client's
    /// awards.
    function test_attack_aWrongNonceOrAnotherAccountBuysNothing() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 2 * PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(2, PRICE);
        _expectWithheldRevert(client, batchId, leaves, 0, _purchase(batchId, leaves, 0, 2), BOND, _badAward());
        assertEq(market.challengeCount(), 0);
        uint256 wrongNonce = _challengeWithheldNaming(client, batchId, leaves, 0, 2);
        uint256 notTheClient = _challengeWithheldWith(watchtower, batchId, leaves, 1, _purchase(batchId, leaves, 1, 2));
        assertFalse(_challenge(wrongNonce).bought, "another job's nonce buys nothing");
        assertFalse(_challenge(notTheClient).bought, "nor does another account");
        assertEq(market.deposits(client), 2 * PRICE, "no price moved");
        assertFalse(market.isPaid(client, prover, 1));
        assertFalse(market.isPaid(client, prover, 2));
        vm.startPrank(prover);
        market.revealProof(wrongNonce, inputs, proof);
        market.revealProof(notTheClient, inputs, proof);
        vm.stopPrank();
        assertEq(market.credits(prover), 2 * BOND, "each bond to the prover");
        assertEq(market.credits(client) + market.credits(watchtower), 0, "no bond back");
        assertEq(market.deposits(client), 2 * PRICE);

        _closeWindow(batchId);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory award = _award(leaves[i], prover);
            _claimJob(prover, batchId, leaves, i, _nonce(i + 1), award, _sign(clientKey, award));
        }
        assertEq(prover.balance, 2 * PRICE, "both jobs claimed, once");
        assertEq(market.deposits(client), 0);
    }

    /// A prover (the cheater) commits leaves naming client C's jobs 0 and 1 at a price,
    /// hoping C's plain withheld-proof challenges buy them: nodes sent nonce 0 for "none",
    /// and naming the job's nonce used to be enough. A challenge without a signature (`r`
    /// zero) buys nothing whoever sends it, C included, whatever nonce it names (0, or the
    /// job's own): no price moves, no job is marked paid, and the reveals pay the cheater
    /// the bonds alone, as any plain challenge. C's jobs stay unpaid, so the prover C
    /// awarded them to claims them with its awards.
    function test_attack_aPlainChallengeFromTheClientNeverBuys() public {
        _register(cheater, MIN_STAKE);
        _register(prover, MIN_STAKE);
        _deposit(client, 2 * PRICE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        for (uint256 i = 0; i < 2; i++) {
            leaves[i] = _leafWith(circuit, inputs, proof)[0];
            leaves[i].jobId = market.jobIdOf(client, _nonce(i));
            leaves[i].price = PRICE;
        }
        uint256 batchId = _commit(cheater, leaves);
        uint256 nonceZero = _challengeWithheldNaming(client, batchId, leaves, 0, 0);
        uint256 rightNonce = _challengeWithheldNaming(client, batchId, leaves, 1, 1);
        assertFalse(_challenge(nonceZero).bought, "nonce 0 without a signature buys nothing");
        assertFalse(_challenge(rightNonce).bought, "nor the job's nonce without a signature");
        assertEq(market.deposits(client), 2 * PRICE, "no price moved");
        assertEq(_paidWord(client, cheater, 0), 0, "no job marked paid");
        vm.startPrank(cheater);
        market.revealProof(nonceZero, inputs, proof);
        market.revealProof(rightNonce, inputs, proof);
        vm.stopPrank();
        assertEq(market.credits(cheater), 2 * BOND, "the bonds to the prover, no price");
        assertEq(market.credits(client), 0);
        assertEq(market.deposits(client), 2 * PRICE);
        assertFalse(market.isPaid(client, cheater, 0));
        assertFalse(market.isPaid(client, cheater, 1));

        // The prover C awarded the jobs to is paid for them.
        uint256 winners = _commit(prover, leaves);
        _closeWindow(winners);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory award = _award(leaves[i], prover);
            _claimJob(prover, winners, leaves, i, _nonce(i), award, _sign(clientKey, award));
        }
        assertEq(prover.balance, 2 * PRICE, "the winner claimed both jobs");
        assertEq(market.deposits(client), 0);
    }

    /// Client C awarded its job to an honest winner, then has its sybil prover S commit a
    /// copy of the winner's leaf (same job, statement and proof hash) at price 0, and at
    /// the award's price, and tries to buy the proof on S's leaf, to set the job's paid bit
    /// for nothing and block the winner's claim. It shows its award to the winner: that
    /// signature is over the winner, not S (and over the award's price, not 0), so the
    /// purchase is refused, `BadAwardSignature`, and nothing moves. The winner's claim goes
    /// through; C pays the price as awarded. (A second award signed to S buys, but it is
    /// S's award that is then paid, not the winner's, whose claim still goes through:
    /// `test_attack_aSecondAwardToASybilThatBuysCannotBlockTheWinnersClaim`.)
    function test_attack_aClientCannotBuyFromAProverItNeverAwarded() public {
        address sybilProver = otherProver;
        _register(prover, MIN_STAKE);
        _register(sybilProver, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 winners = _commit(prover, leaves);
        MarketTypes.Award memory award = _award(leaves[0], prover, _buyDeadline());
        Purchase memory toTheWinner = _signedPurchase(clientKey, award, 1);

        MarketTypes.Leaf[] memory free = _leafWith(circuit, inputs, proof);
        free[0].price = 0;
        uint256 freeCopy = _commit(sybilProver, free);
        _expectWithheldRevert(client, freeCopy, free, 0, toTheWinner, BOND, _badAward());
        uint256 pricedCopy = _commit(sybilProver, leaves);
        _expectWithheldRevert(client, pricedCopy, leaves, 0, toTheWinner, BOND, _badAward());
        assertEq(market.challengeCount(), 0);
        assertFalse(market.isPaid(client, prover, 1), "the winner's award is not marked paid");
        assertFalse(market.isPaid(client, sybilProver, 1), "nor any award to the sybil");
        assertEq(market.deposits(client), PRICE, "no price moved");

        _closeWindow(winners);
        _claimJob(prover, winners, leaves, 0, 1, award, _sign(clientKey, award));
        assertEq(prover.balance, PRICE, "the winner is paid");
        assertEq(market.deposits(client), 0, "the client paid the price as awarded");
        assertEq(market.credits(sybilProver), 0);
        assertEq(_stakeOf(sybilProver), MIN_STAKE);
    }

    /// Client C awarded its job to an honest winner at `PRICE`, then signs a second award
    /// of the same job to its sybil prover S at price 0 and buys the proof on S's copy of
    /// the winner's leaf, hoping the purchase marks the job paid for nothing and blocks the
    /// winner's claim (it did when paid was recorded per job). The purchase is valid (C
    /// did award the leaf to S), but it marks paid only S's award (client, S, nonce), at
    /// price 0; with the proof public, anyone reveals and C has its bond back. The
    /// winner's award is another award: its claim goes through and is paid `PRICE` in
    /// full, and S's award is paid once (S's own claim of it is `AlreadyClaimed`). C and S
    /// together end where an honest C does, down the price, and paid the purchase's gas
    /// besides: nothing back beyond the bond.
    function test_attack_aSecondAwardToASybilThatBuysCannotBlockTheWinnersClaim() public {
        address sybilProver = otherProver;
        _register(prover, MIN_STAKE);
        _register(sybilProver, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 winners = _commit(prover, leaves);
        MarketTypes.Award memory award = _award(leaves[0], prover, _buyDeadline());

        MarketTypes.Leaf[] memory free = _leafWith(circuit, inputs, proof);
        free[0].price = 0;
        uint256 freeCopy = _commit(sybilProver, free);
        uint256 id = _buyWithheld(freeCopy, free, 0, 1); // signs an award to the sybil, at 0
        assertTrue(_challenge(id).bought, "the second award buys: C did sign it");
        assertTrue(market.isPaid(client, sybilProver, 1), "the sybil's award is paid");
        assertFalse(market.isPaid(client, prover, 1), "the winner's award is not");
        assertEq(market.deposits(client), PRICE, "at its price, 0");
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(client), BOND, "the client's bond is back");
        assertEq(market.credits(sybilProver), 0, "the sybil was paid its award's price, 0");

        _closeWindow(freeCopy);
        _expectClaimRevert(sybilProver, freeCopy, free, 1, _alreadyClaimed(free[0].jobId));
        _closeWindow(winners);
        _claimJob(prover, winners, leaves, 0, 1, award, _sign(clientKey, award));
        assertTrue(market.isPaid(client, prover, 1));
        assertEq(prover.balance, PRICE, "the winner is paid in full");
        assertEq(market.deposits(client), 0, "the client paid the price");

        // C and S put in the deposit and the bond (S's stake is intact); what they hold
        // now is the bond alone: they paid the price, as an honest client would.
        assertEq(_stakeOf(sybilProver), MIN_STAKE);
        uint256 held = client.balance + market.credits(client) + market.deposits(client) + sybilProver.balance
            + market.credits(sybilProver);
        assertEq(held, BOND, "nothing back beyond the bond");
        assertEq(PRICE + BOND - held, PRICE, "the pair paid the price, as an honest client");
    }

    /// Client C awarded its job to an honest winner at `PRICE`, then signs a second award
    /// of the same job, at the same price, to its sybil prover S, which commits a copy of
    /// the winner's leaf and claims it first (as soon as its window closes), hoping the
    /// job is then paid and the winner's claim refused (it was, when paid was recorded
    /// per job). S's claim pays S's award only; the winner's claim goes through and is
    /// paid in full. C paid both awards (its deposit is down by the sum); C and S together
    /// are down the price, as an honest C is, plus the gas of S's commit and claim. The
    /// attack cost money and blocked nothing. (A deposit that covered the winner's price
    /// alone, with no reservation, would have been emptied by S's claim: that is
    /// over-awarding, as with an award of any other job, and a reservation for the winner
    /// protects it: `test_attack_aSecondAwardOfTheSameJobCannotTakeTheReservedWinnersPay`.)
    function test_attack_aSecondAwardToASybilThatClaimsFirstCannotBlockTheWinnersClaim() public {
        address sybilProver = otherProver;
        _register(prover, MIN_STAKE);
        _register(sybilProver, MIN_STAKE);
        _deposit(client, 2 * PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 winners = _commit(prover, leaves);
        MarketTypes.Award memory award = _award(leaves[0], prover);

        uint256 copy = _commit(sybilProver, leaves);
        MarketTypes.Award memory second = _award(leaves[0], sybilProver);
        _closeWindow(copy);
        _claimJob(sybilProver, copy, leaves, 0, 1, second, _sign(clientKey, second));
        assertTrue(market.isPaid(client, sybilProver, 1), "the sybil's award is paid");
        assertFalse(market.isPaid(client, prover, 1), "the winner's is not");
        _expectClaimRevert(sybilProver, copy, leaves, 1, _alreadyClaimed(leaves[0].jobId));

        _closeWindow(winners);
        _claimJob(prover, winners, leaves, 0, 1, award, _sign(clientKey, award));
        assertTrue(market.isPaid(client, prover, 1));
        assertEq(prover.balance, PRICE, "the winner is paid in full");
        assertEq(sybilProver.balance, PRICE, "the sybil was paid its award");
        assertEq(market.deposits(client), 0, "the client paid both awards");

        uint256 held = client.balance + market.credits(client) + market.deposits(client) + sybilProver.balance
            + market.credits(sybilProver);
        assertEq(2 * PRICE - held, PRICE, "the pair paid the price, as an honest client, and the gas");
        assertEq(_stakeOf(sybilProver), MIN_STAKE);
    }

    /// The winner of client C's job holds a reservation of `PRICE`, which is all C has.
    /// C signs a second award of the same job, at the same price, to its sybil prover S,
    /// which claims first, hoping to take the winner's pay. S has no reservation and the
    /// free deposit is empty: `InsufficientDeposit`. The winner is then paid in full from
    /// its reservation.
    function test_attack_aSecondAwardOfTheSameJobCannotTakeTheReservedWinnersPay() public {
        address sybilProver = otherProver;
        _register(prover, MIN_STAKE);
        _register(sybilProver, MIN_STAKE);
        _reservedFor(prover, PRICE, PRICE);
        assertEq(market.freeDeposit(client), 0);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 winners = _commit(prover, leaves);
        uint256 copy = _commit(sybilProver, leaves);
        _closeWindow(copy);
        _expectClaimRevert(
            sybilProver, copy, leaves, 1, abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, PRICE)
        );
        assertFalse(market.isPaid(client, sybilProver, 1));

        _closeWindow(winners);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        _claimJob(prover, winners, leaves, 0, 1, award, _sign(clientKey, award));
        assertEq(prover.balance, PRICE, "the winner is paid in full");
        assertEq(_reservedAmount(client, prover), 0);
        assertEq(sybilProver.balance, 0);
    }

    /// A prover claims its award, then commits the same leaf again in a second batch and
    /// claims the same award from it, hoping to be paid twice: `AlreadyClaimed`. Nor can
    /// the client, meanwhile, buy the proof from the second batch with that award (it is
    /// paid: `AlreadyClaimed`, nothing taken). Paid once, at its price.
    function test_attack_aClaimedAwardCannotBeClaimedOrBoughtAgainFromAnotherBatch() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 2 * PRICE);
        (uint256 first, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(1, PRICE);
        bytes32 jobId = leaves[0].jobId;
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        _closeWindow(first);
        _claimJob(prover, first, leaves, 0, 1, award, sig);
        assertEq(prover.balance, PRICE);

        uint256 again = _commit(prover, leaves);
        _expectWithheldRevert(client, again, leaves, 0, _purchase(again, leaves, 0, 1), BOND, _alreadyClaimed(jobId));
        assertEq(market.challengeCount(), 0);
        _closeWindow(again);
        vm.expectRevert(_alreadyClaimed(jobId));
        _claimJob(prover, again, leaves, 0, 1, award, sig);
        assertEq(prover.balance, PRICE, "paid once");
        assertEq(market.deposits(client), PRICE, "the client paid the price once");
    }

    /// A client buys the proof of its award to prover P, P reveals and is credited the
    /// price; P then claims the same award with the client's signature, from its batch
    /// and from a second batch carrying the same leaf, hoping for the fee on top:
    /// `AlreadyClaimed` both times. Paid once, at its price.
    function test_attack_aBoughtAwardCannotAlsoBeClaimed() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 2 * PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(1, PRICE);
        bytes32 jobId = leaves[0].jobId;
        uint256 id = _buyWithheld(batchId, leaves, 0, 1);
        vm.prank(prover);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), PRICE, "the reveal paid the price");
        assertTrue(market.isPaid(client, prover, 1));

        uint256 again = _commit(prover, leaves);
        _closeWindow(batchId);
        _expectClaimRevert(prover, batchId, leaves, 1, _alreadyClaimed(jobId));
        _closeWindow(again);
        _expectClaimRevert(prover, again, leaves, 1, _alreadyClaimed(jobId));
        assertEq(prover.balance, 0, "no fee on top");
        assertEq(market.credits(prover), PRICE, "paid once");
        assertEq(market.deposits(client), PRICE, "the client paid the price once");
    }

    /// The client buys with a signature that is not its award of the leaf to the batch's
    /// prover: signed by another account, with another deadline than the one it signed,
    /// over another price than the leaf's, to another prover, over another statement, or
    /// not a signature at all. Each is refused, `BadAwardSignature`, and nothing moves; the
    /// valid award then buys.
    function test_attack_aBuyWithABadAwardSignatureIsRefused() public {
        _register(prover, MIN_STAKE);
        _deposit(client, PRICE);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(1, PRICE);
        MarketTypes.Award memory award = _award(leaves[0], prover, _buyDeadline());

        Purchase[] memory bad = new Purchase[](6);
        bad[0] = _signedPurchase(otherClientKey, award, 1);
        bad[1] = _signedPurchase(clientKey, award, 1);
        bad[1].deadline += 1;
        MarketTypes.Award memory other = _award(leaves[0], prover, _buyDeadline());
        other.price = 0;
        bad[2] = _signedPurchase(clientKey, other, 1);
        other = _award(leaves[0], otherProver, _buyDeadline());
        bad[3] = _signedPurchase(clientKey, other, 1);
        other = _award(leaves[0], prover, _buyDeadline());
        other.publicInputsHash = keccak256("other inputs");
        bad[4] = _signedPurchase(clientKey, other, 1);
        bad[5] = _signedPurchase(clientKey, award, 1);
        bad[5].r = keccak256("not a signature");
        for (uint256 k = 0; k < bad.length; k++) {
            _expectWithheldRevert(client, batchId, leaves, 0, bad[k], BOND, _badAward());
        }
        assertEq(market.challengeCount(), 0);
        assertFalse(market.isPaid(client, prover, 1));
        assertFalse(market.isPaid(client, otherProver, 1), "nor the award to another prover");
        assertEq(market.deposits(client), PRICE);

        uint256 id = _challengeWithheldWith(client, batchId, leaves, 0, _signedPurchase(clientKey, award, 1));
        assertTrue(_challenge(id).bought, "the valid award buys");
        assertEq(market.deposits(client), 0);
    }

    /// A client buys the proof without the deposit to pay it, hoping the challenge opens
    /// anyway and the reveal returns its bond: `InsufficientDeposit(deposit, price)`, and
    /// nothing changed (no challenge, the job not marked paid). Its plain challenge instead
    /// (no signature) pays the bond to the prover on the reveal.
    function test_attack_buyingWithoutTheDepositIsRefused() public {
        _register(prover, MIN_STAKE);
        _deposit(client, PRICE - 1);
        (uint256 batchId, MarketTypes.Leaf[] memory leaves) = _pricedValidLeaves(1, PRICE);
        bytes memory short = abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, PRICE - 1, PRICE);
        _expectWithheldRevert(client, batchId, leaves, 0, _purchase(batchId, leaves, 0, 1), BOND, short);
        assertEq(market.challengeCount(), 0);
        assertFalse(market.isPaid(client, prover, 1), "not marked paid");
        assertEq(market.deposits(client), PRICE - 1);

        uint256 id = _challengeWithheldNaming(client, batchId, leaves, 0, 0);
        vm.prank(prover);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), BOND, "the plain challenge's bond went to the prover");
        assertEq(market.credits(client), 0);
        assertEq(market.deposits(client), PRICE - 1);
    }

    /// A prover takes the client's price into a bought challenge and keeps the proof,
    /// hoping to keep the price or have it stuck. Unanswered, the challenge slashes the
    /// prover in full; the client's deposit gets the price back and the refund, its
    /// credits the bond and the reward. The job stays marked paid, and the prover's claim
    /// of it with the client's award is refused (`JobSlashed`).
    function test_attack_aBoughtProofNotRevealedSlashesTheProverAndRefundsThePrice() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        uint256 batchId = _commit(cheater, leaves);
        uint256 id = _buyWithheld(batchId, leaves, 0, 1);
        assertEq(market.deposits(client), 0);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Slashed));
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash");
        assertEq(market.deposits(client), PRICE + REFUND, "the price back, and the refund");
        assertEq(market.credits(client), BOND + REWARD, "the bond back, and the reward");
        assertEq(market.credits(cheater), 0, "the prover kept nothing");
        assertTrue(market.isPaid(client, cheater, 1), "the job stays marked paid");
        _closeWindow(batchId);
        _expectClaimRevert(
            cheater, batchId, leaves, 1, abi.encodeWithSelector(MarketTypes.JobSlashed.selector, leaves[0].jobId)
        );
    }

    /// The winner commits, by the deadline, a leaf of the awarded statement at another price
    /// than the award's: no claim can pay it (`BadAwardSignature`), and the winner hopes it still
    /// answers a missed-deadline challenge so the client's round neither pays nor ends. Only
    /// a leaf of the award's price answers: the winner is slashed.
    function test_attack_aLeafAtAnotherPriceDoesNotAnswerAMissedDeadline() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        MarketTypes.Award memory award = _award(leaves[0], cheater);
        leaves[0].price = award.price + 1;
        uint256 batchId = _commit(cheater, leaves);
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(award);
        MarketTypes.Inclusion memory at = _at(batchId, leaves, 0);
        vm.prank(cheater);
        vm.expectRevert(MarketTypes.LeafMismatch.selector);
        market.answerMissedDeadline(id, at);
        uint256 stakeBefore = _stakeOf(cheater);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        assertEq(stakeBefore - _stakeOf(cheater), SLASH_PER_JOB, "slashed");
    }

    /// After a copied bonded challenge: the watchtower has its bond back and the reward, the
    /// copier has no credit and its bond never left, the cheater lost the full slash.
    function _assertOnlyTheWatchtowerWasPaid(address copier_) internal view {
        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower: its bond back and the reward");
        assertEq(market.credits(copier_), 0, "the copier: nothing");
        assertEq(copier_.balance, BOND, "its bond never left");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash, none of it recouped");
    }

    /// The cheater, registered, commits one leaf whose proof (all zero) does not verify;
    /// returns it, its inclusion, the proof and the input of its invalid-proof challenge.
    function _invalidLeafAndItsChallenge()
        internal
        returns (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call)
    {
        _register(cheater, MIN_STAKE);
        bad = new bytes(proof.length);
        leaves = _leafWith(circuit, inputs, bad);
        at = _at(_commit(cheater, leaves), leaves, 0);
        call = abi.encodeCall(market.challengeInvalidProof, (at, inputs, bad));
    }

    /// The cheater commits a leaf whose proof does not verify. A watchtower commits to its
    /// invalid-proof challenge in block N and sends it in block N+1. The cheater sees it in
    /// the mempool and sends the very same call first, from its own account, to take the
    /// reward of its own slash back (any other copier would do the same, for the reward):
    /// refused, it never committed. It commits at once and sends the copy again, still
    /// ahead of the watchtower in that block (a builder could order them so): refused, a
    /// commitment counts from the next block on. The watchtower's challenge slashes; in
    /// block N+2 the cheater's aged commitment meets a slashed job. The watchtower has its
    /// bond back and the reward; the cheater lost the full slash and recouped nothing.
    function test_attack_aCopiedInvalidProofChallengeEarnsTheCopierNothing() public {
        (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call) =
            _invalidLeafAndItsChallenge();
        vm.deal(watchtower, BOND);
        vm.deal(cheater, BOND);

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        assertEq(market.evidenceCommitments(watchtower, _evidenceDigest(watchtower, call)), block.number);
        vm.roll(block.number + 1);

        // Block N+1: the watchtower's challenge is in the mempool; the copy goes first.
        vm.prank(cheater);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        _commitTo(cheater, call);
        vm.prank(cheater);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        // Then the watchtower's own.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)));

        // Block N+2: the copy, with a commitment from an earlier block, comes too late.
        vm.roll(block.number + 1);
        vm.prank(cheater);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, leaves[0].jobId));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);

        _assertOnlyTheWatchtowerWasPaid(cheater);
    }

    /// The copier watches commitments instead of challenges: it sees the watchtower's
    /// `commitEvidence(d)` in the mempool in block N and sends the same `commitEvidence(d)`
    /// from its own account in that block, then, in block N+1, copies the watchtower's
    /// invalid-proof challenge (the very same input) and sends it first. The digest names
    /// its sender: `d` commits the copier to the watchtower sending that input, never to
    /// itself sending it, so the copy finds no commitment (EvidenceNotCommitted(0)) although
    /// the copier committed to `d` in an earlier block. The watchtower's challenge slashes
    /// and is rewarded; the copier gets nothing, and its copied commitment stays unusable.
    function test_attack_aCopiedCommitmentCommitsTheCopierToNothing() public {
        (MarketTypes.Leaf[] memory leaves, MarketTypes.Inclusion memory at, bytes memory bad, bytes memory call) =
            _invalidLeafAndItsChallenge();
        bytes32 d = _evidenceDigest(watchtower, call);
        vm.deal(watchtower, BOND);
        vm.deal(copier, BOND);

        // Block N: the watchtower commits, and the copier sends the same commitment.
        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(d);
        vm.prank(copier);
        market.commitEvidence(d);
        assertEq(market.evidenceCommitments(copier, d), n, "the copier holds the same digest, of block N");
        vm.roll(n + 1);

        // Block N+1: the copy of the watchtower's challenge goes first.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        // Then the watchtower's own.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, bad);
        assertTrue(market.slashed(_jobKey(cheater, client, leaves[0].jobId)));
        assertEq(market.evidenceCommitments(watchtower, d), 0, "the watchtower's commitment is consumed");
        assertEq(market.evidenceCommitments(copier, d), n, "the copier's is left, to nothing it can send");

        _assertOnlyTheWatchtowerWasPaid(copier);
    }

    /// The cheater accepts a job and misses its deadline. A watchtower commits to the
    /// missed-deadline challenge in block N and sends it in block N+1; a copier sends the
    /// same call first, to be the challenger of record and collect the reward when the
    /// challenge is finalized: refused, then refused again with a commitment of the same
    /// block. The watchtower's challenge opens; in block N+2 the copier's aged commitment
    /// meets the pending challenge, and after the slash the slashed job. Finalizing it
    /// itself, the copier only pays the watchtower.
    function test_attack_aCopiedMissedDeadlineChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Award memory award = _award(_leaf(1, client, 1 gwei), cheater);
        MarketTypes.Acceptance memory acc = _acceptance(award, client);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        bytes memory call = abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig));
        vm.deal(watchtower, BOND);
        vm.deal(copier, BOND);
        vm.warp(award.deadline + 1);

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
        vm.prank(watchtower);
        uint256 id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        // Block N+2: the job's challenge is the watchtower's.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        // Nobody answers; the copier finalizes, and the reward goes to the challenger.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.prank(copier);
        market.finalizeChallenge(id);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, award.jobId));
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);

        _assertOnlyTheWatchtowerWasPaid(copier);
    }

    /// The cheater withholds the proof of a job. Its client commits to its withheld-proof
    /// challenge buying the proof (naming the job's nonce, showing its signed award) in
    /// block N and sends it in block N+1. A copier sends the very same call first, hoping
    /// to be the challenger of record and collect the reward when the cheater is slashed
    /// (from another account the call buys nothing, but a reward is a reward): it finds no commitment, then one of its own
    /// block. The client's challenge opens; in block N+2 the copier's aged commitment meets
    /// the pending challenge, and after the slash the slashed job. The client gets its bond
    /// back, the reward, and into its deposit the price and the refund; the copier nothing.
    function test_attack_aCopiedBuyingChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        _deposit(client, PRICE);
        MarketTypes.Leaf[] memory leaves = _leafWith(circuit, inputs, proof);
        leaves[0].price = PRICE;
        MarketTypes.Inclusion memory at = _at(_commit(cheater, leaves), leaves, 0);
        Purchase memory buy = _signedPurchase(clientKey, _award(leaves[0], cheater, _buyDeadline()), 1);
        bytes memory call = _withheldCall(at, buy);
        vm.deal(client, BOND);
        vm.deal(copier, BOND);

        // Block N: the client commits to its challenge.
        _commitTo(client, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        _withheld(at, buy, BOND);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        _withheld(at, buy, BOND);
        vm.prank(client);
        uint256 id = _withheld(at, buy, BOND);
        assertTrue(_challenge(id).bought);

        // Block N+2: the job's challenge is the client's.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _withheld(at, buy, BOND);

        // The cheater never reveals; the copier finalizes, and the reward is the client's.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.prank(copier);
        market.finalizeChallenge(id);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, leaves[0].jobId));
        _withheld(at, buy, BOND);

        assertEq(market.credits(client), BOND + REWARD, "the client: its bond back and the reward");
        assertEq(market.deposits(client), PRICE + REFUND, "and the price back, and the refund");
        assertEq(market.credits(copier), 0, "the copier: nothing");
        assertEq(copier.balance, BOND, "its bond never left");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB, "the full slash");
    }

    /// The cheater commits two different leaves for one job. A watchtower commits to the
    /// equivocation challenge (no bond) in block N and sends it in block N+1; a copier
    /// sends the same call first, to take the reward: refused, then refused again with a
    /// commitment of the same block; in block N+2 the job is slashed. The reward is the
    /// watchtower's.
    function test_attack_aCopiedEquivocationChallengeEarnsTheCopierNothing() public {
        _register(cheater, MIN_STAKE);
        MarketTypes.Leaf[] memory one = _leavesFrom(1, 1, client);
        MarketTypes.Leaf[] memory twin = _leavesFrom(1, 1, client);
        twin[0].proofHash = keccak256("another proof");
        MarketTypes.Inclusion memory atA = _at(_commit(cheater, one), one, 0);
        MarketTypes.Inclusion memory atB = _at(_commit(cheater, twin), twin, 0);
        bytes memory call = abi.encodeCall(market.challengeEquivocation, (atA, atB));

        // Block N: the watchtower commits to its challenge.
        _commitTo(watchtower, call);
        vm.roll(block.number + 1);

        // Block N+1: the copy goes first, without a commitment, then with one of this block.
        vm.prank(copier);
        vm.expectRevert(_notCommitted(0));
        market.challengeEquivocation(atA, atB);
        _commitTo(copier, call);
        vm.prank(copier);
        vm.expectRevert(_notCommitted(block.number));
        market.challengeEquivocation(atA, atB);
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        // Block N+2: too late.
        vm.roll(block.number + 1);
        vm.prank(copier);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, one[0].jobId));
        market.challengeEquivocation(atA, atB);

        assertEq(market.credits(watchtower), REWARD, "the watchtower: the reward (no bond)");
        assertEq(market.credits(copier), 0, "the copier: nothing");
        assertEq(_stakeOf(cheater), MIN_STAKE - SLASH_PER_JOB);
    }

    /// A griefer tries to undo a watchtower's commitment: it sends the watchtower's very
    /// digest, seen in the mempool, from its own account (commitments are per account: the
    /// watchtower's stays), and no call commits for another account. A commitment cannot
    /// be refreshed either, not even by its owner: the first one stays, so a later one
    /// never delays a challenge. A commitment serves one challenge: taken, it is gone, and
    /// the same input again is refused until committed again. Shown with the griefer's
    /// false invalid-proof challenge of an honest prover's valid proof, an input that stays
    /// acceptable: its commitment of the same block is refused, the one of the block
    /// before is taken (the bond goes to the prover), and the replay finds none. The
    /// griefer ends one bond poorer; the watchtower is paid.
    function test_attack_aCommitmentCannotBeRefreshedNorReused() public {
        address griefer = makeAddr("griefer");
        _register(cheater, MIN_STAKE);
        _register(prover, MIN_STAKE);
        bytes memory bad = new bytes(proof.length);
        MarketTypes.Leaf[] memory badLeaf = _leafWith(circuit, inputs, bad);
        MarketTypes.Inclusion memory atBad = _at(_commit(cheater, badLeaf), badLeaf, 0);
        MarketTypes.Leaf[] memory goodLeaf = _leafWith(circuit, inputs, proof);
        MarketTypes.Inclusion memory atGood = _at(_commit(prover, goodLeaf), goodLeaf, 0);
        bytes32 watched =
            _evidenceDigest(watchtower, abi.encodeCall(market.challengeInvalidProof, (atBad, inputs, bad)));
        bytes32 falseOne =
            _evidenceDigest(griefer, abi.encodeCall(market.challengeInvalidProof, (atGood, inputs, proof)));
        vm.deal(watchtower, BOND);
        vm.deal(griefer, 3 * BOND);

        // Block N: the watchtower commits.
        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(watched);

        // Block N+1: the griefer commits to the same digest, and the watchtower commits
        // again: the watchtower's commitment is still the one of block N.
        vm.roll(n + 1);
        vm.prank(griefer);
        market.commitEvidence(watched);
        vm.prank(watchtower);
        market.commitEvidence(watched);
        assertEq(market.evidenceCommitments(watchtower, watched), n, "neither overwritten nor refreshed");
        assertEq(market.evidenceCommitments(griefer, watched), n + 1, "the griefer's is its own");

        // The griefer's false challenge, committed in its own block: refused.
        vm.prank(griefer);
        market.commitEvidence(falseOne);
        vm.prank(griefer);
        vm.expectRevert(_notCommitted(n + 1));
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);

        // The watchtower's challenge is taken, and so is its commitment.
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(atBad, inputs, bad);
        assertEq(market.evidenceCommitments(watchtower, watched), 0, "consumed");

        // Block N+2: the griefer's false challenge is taken once; the replay is refused.
        vm.roll(n + 2);
        vm.prank(griefer);
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);
        assertEq(market.evidenceCommitments(griefer, falseOne), 0, "consumed");
        vm.prank(griefer);
        vm.expectRevert(_notCommitted(0));
        market.challengeInvalidProof{value: BOND}(atGood, inputs, proof);

        assertEq(market.credits(watchtower), BOND + REWARD, "the watchtower is paid");
        assertEq(market.credits(prover), BOND, "the honest prover has the one bond of the false challenge");
        assertEq(griefer.balance, 2 * BOND, "the griefer lost one bond");
        assertEq(market.credits(griefer), 0);
        assertEq(_stakeOf(prover), MIN_STAKE, "the honest prover was never slashed");
    }
}

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
