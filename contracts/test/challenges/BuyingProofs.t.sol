// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {ChallengesBase} from "./ChallengesBase.sol";

/// The bond of a withheld-proof challenge, and the client buying its job's proof with one:
/// one test per rule and per revert reason (docs/contracts.md). The setting, the figures
/// used throughout and the shared helpers are in ChallengesBase.
contract BuyingProofsChallengesTest is ChallengesBase {
    // ---- the bond of a withheld-proof challenge, and the client buying the proof ---------------

    /// The bond is `challengeBond` whatever the leaf's price (leaf 1 is priced at 1 ether,
    /// ten bonds) and whoever sends it: the price is refused from a watchtower and from the
    /// client buying the proof alike, and the bond is checked first, before the batch.
    function test_challengeWithheldProof_bondIsChallengeBondWhateverThePrice() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        bytes memory wrong = abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 1 ether);
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(wrong);
        market.challengeWithheldProof{value: 1 ether}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        Purchase memory buy = _purchase(realBatch, _real(), 1, 1);
        vm.deal(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(wrong);
        _withheld(at, buy, 1 ether);
        at.batchId = realBatch + 1;
        vm.prank(client);
        vm.expectRevert(wrong);
        _withheld(at, buy, 1 ether);

        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 1);
        assertEq(_challenge(id).bond, BOND);
        assertEq(_challenge(id).price, 1 ether);
        assertEq(market.deposits(client), 1 ether);
    }

    /// The job's client showing its signed award of the leaf to the batch's prover, with
    /// the job's nonce, buys the proof: the challenge opens marked `bought` with bond
    /// `challengeBond`, the award's paid bit is set (and only its), and the leaf's
    /// price moves from the client's deposit into the challenge (the market's balance grows
    /// by the bond alone).
    function test_challengeWithheldProof_clientShowingItsAwardBuysTheProof() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        uint256 marketBefore = address(market).balance;
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        _evidenceWithheldWith(client, realBatch, _real(), 3, buy);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, real[3].jobId, MarketTypes.Fault.WithheldProof, client, client, respondBy
        );
        uint256 id = _sendWithheldWith(client, realBatch, _real(), 3, buy);

        MarketTypes.Challenge memory c = _challenge(id);
        assertTrue(c.bought, "bought");
        assertEq(c.challenger, client);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 2 gwei);
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(market.deposits(client), 1 ether - 2 gwei, "the price left the deposit");
        assertEq(address(market).balance, marketBefore + BOND, "the price stays in the market");
        assertEq(_paidWord(client, prover, 0), 1 << 3, "job 3's bit, and only it");
        assertTrue(market.isPaid(client, prover, 3));
        assertEq(market.pendingChallenge(_key(real[3])), id + 1);
        assertEq(_openChallenges(prover), 1);
    }

    /// The bit set is the named job's: nonce 300 is bit 44 of word 1.
    function test_challengeWithheldProof_buyingMarksTheNamedJobsBit() public {
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _realLeaf(300, 1 gwei, proof);
        uint256 batchId = _commit(prover, leaves);
        uint256 id = _buyWithheld(batchId, leaves, 0, 300);
        assertTrue(_challenge(id).bought);
        assertEq(_paidWord(client, prover, 1), 1 << 44);
        assertEq(_paidWord(client, prover, 0), 0);
        assertTrue(market.isPaid(client, prover, 300));
        assertFalse(market.isPaid(client, prover, 44));
        assertFalse(market.isPaid(client, prover, 299));
        assertFalse(market.isPaid(client, prover, 301));
        assertEq(market.deposits(client), 1 ether - 1 gwei);
    }

    /// A purchase needs the price in the client's deposit: one wei short is
    /// `InsufficientDeposit(deposit, price)`, checked before the evidence (an uncommitted
    /// purchase meets it too), and changes nothing. With exactly the price it goes through
    /// and empties the deposit.
    function test_challengeWithheldProof_buyingRevertsInsufficientDeposit() public {
        _commitRealBatch();
        _deposit(client, 2 gwei - 1);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        bytes memory short = abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 2 gwei - 1, 2 gwei);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(short);
        _withheld(at, buy, BOND);
        _evidenceWithheldWith(client, realBatch, _real(), 3, buy);
        vm.prank(client);
        vm.expectRevert(short);
        _withheld(at, buy, BOND);
        assertFalse(market.isPaid(client, prover, 3), "not marked paid");
        assertEq(market.deposits(client), 2 gwei - 1);
        assertEq(market.challengeCount(), 0);

        _deposit(client, 1);
        vm.deal(client, BOND);
        vm.prank(client);
        uint256 id = _withheld(at, buy, BOND);
        assertTrue(_challenge(id).bought);
        assertEq(market.deposits(client), 0);
    }

    /// An award already paid (claimed by its prover from an earlier batch, here the same
    /// leaf committed again by the same prover) cannot be bought: `AlreadyClaimed`, and
    /// nothing is taken. The client's plain challenge of it still opens.
    function test_challengeWithheldProof_buyingRevertsAlreadyClaimedForAPaidJob() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _closeWindow(realBatch);
        _claimReal(3, "");
        assertTrue(market.isPaid(client, prover, 3));
        uint256 again = _commit(prover, _real());
        Purchase memory buy = _purchase(again, _real(), 3, 3);
        _evidenceWithheldWith(client, again, _real(), 3, buy);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
        _withheld(_at(again, _real(), 3), buy, BOND);
        assertEq(market.deposits(client), 1 ether - 2 gwei, "nothing more taken");

        uint256 id = _challengeWithheld(client, again, _real(), 3);
        assertFalse(_challenge(id).bought);
    }

    /// The job's state is checked before the purchase: a pending challenge, an answered
    /// one and a slashed job are refused as for anyone (`ChallengePending`,
    /// `AlreadyAnswered`, `AlreadySlashed`), though the client has no deposit to pay with.
    function test_challengeWithheldProof_buyingChecksTheJobBeforeThePurchase() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at3 = _at(realBatch, _real(), 3);
        MarketTypes.Inclusion memory at1 = _at(realBatch, _real(), 1);
        Purchase memory buy3 = _purchase(realBatch, _real(), 3, 3);
        Purchase memory buy1 = _purchase(realBatch, _real(), 1, 1);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        _challengeInvalid(1, badProof);
        vm.deal(client, BOND);
        vm.startPrank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _withheld(at3, buy3, BOND);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        _withheld(at1, buy1, BOND);
        vm.stopPrank();
        market.revealProof(id, inputs, proof);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[3].jobId));
        _withheld(at3, buy3, BOND);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(client, prover, 1));
    }

    /// The client showing its valid award of the leaf with another job's nonce is refused,
    /// `BadAwardSignature` (the nonce is checked against the leaf's job), and changes
    /// nothing; without a signature, whatever nonce it names, it buys nothing: a plain
    /// challenge, no price taken, no job marked paid.
    function test_challengeWithheldProof_aWrongNonceFromTheClientBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory wrong = _purchase(realBatch, _real(), 3, 0);
        _evidenceWithheldWith(client, realBatch, _real(), 3, wrong);
        vm.expectRevert(MarketTypes.BadAwardSignature.selector);
        _sendWithheldWith(client, realBatch, _real(), 3, wrong);
        assertEq(market.challengeCount(), 0);

        uint256 id = _challengeWithheldNaming(client, realBatch, _real(), 3, 0);
        assertFalse(_challenge(id).bought);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(client, prover, 0));
    }

    /// The client naming the job's own nonce without a signature (`r` zero, whatever `vs`
    /// and deadline) buys nothing: a plain challenge.
    function test_challengeWithheldProof_theClientWithoutASignatureBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        buy.r = bytes32(0);
        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, buy);
        assertFalse(_challenge(id).bought);
        assertEq(_challenge(id).challenger, client);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
    }

    /// Another account naming the job's nonce and showing the client's valid award buys
    /// nothing: a plain challenge, and neither its deposit nor the client's is touched.
    function test_challengeWithheldProof_theJobsNonceFromAnotherAccountBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        uint256 id = _challengeWithheldWith(otherClient, realBatch, _real(), 3, _purchase(realBatch, _real(), 3, 3));
        assertFalse(_challenge(id).bought);
        assertEq(_challenge(id).challenger, otherClient);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.deposits(otherClient), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(otherClient, prover, 3));
    }

    /// The award the client shows to buy leaf `i` of the real batch: of the leaf to the
    /// prover, due `_buyDeadline()`.
    function _realAward(uint256 i) internal view returns (MarketTypes.Award memory) {
        return _award(real[i], prover, _buyDeadline());
    }

    /// `from` sends the withheld-proof challenge of leaf `i` of batch `batchId` of the real
    /// leaves showing `b` with `value`, committed to in the block before, expecting `err`.
    function _expectWithheld(
        address from,
        uint256 batchId,
        uint256 i,
        Purchase memory b,
        uint256 value,
        bytes memory err
    ) internal {
        _evidenceWithheldWith(from, batchId, _real(), i, b);
        MarketTypes.Inclusion memory at = _at(batchId, _real(), i);
        vm.deal(from, value);
        vm.prank(from);
        vm.expectRevert(err);
        _withheld(at, b, value);
    }

    /// A purchase shows the client's signature of its award of the leaf to the batch's
    /// prover (the leaf's job, price and statement, the shown deadline) with the job's
    /// nonce; anything else is `BadAwardSignature` and changes nothing: a signature by
    /// another account, another deadline than the signed one, an award at another price,
    /// to another prover, of another job, of another circuit or public inputs, bytes that
    /// are no signature, the job's signature with another job's nonce.
    function test_challengeWithheldProof_buyingRevertsBadAwardSignature() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _realAward(3);
        Purchase[] memory bad = new Purchase[](10);
        bad[0] = _signedPurchase(otherClientKey, award, 3);
        bad[1] = _signedPurchase(clientKey, award, 3);
        bad[1].deadline -= 1;
        MarketTypes.Award memory other = _realAward(3);
        other.price = 1 gwei;
        bad[2] = _signedPurchase(clientKey, other, 3);
        other = _realAward(3);
        other.prover = otherProver;
        bad[3] = _signedPurchase(clientKey, other, 3);
        bad[4] = _signedPurchase(clientKey, _realAward(0), 3); // job 0's award
        other = _realAward(3);
        other.circuitId = CIRCUIT;
        bad[5] = _signedPurchase(clientKey, other, 3);
        other = _realAward(3);
        other.publicInputsHash = keccak256("other inputs");
        bad[6] = _signedPurchase(clientKey, other, 3);
        bad[7] = _signedPurchase(clientKey, award, 3);
        bad[7].vs = bytes32(0);
        bad[8] = _signedPurchase(clientKey, award, 3);
        bad[8].r = bytes32(type(uint256).max);
        bad[9] = _signedPurchase(clientKey, award, 0); // job 0's nonce
        for (uint256 k = 0; k < bad.length; k++) {
            _expectWithheld(
                client, realBatch, 3, bad[k], BOND, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
            );
        }
        assertEq(market.challengeCount(), 0);
        assertEq(_paidWord(client, prover, 0), 0, "no award marked paid");
        assertEq(_paidWord(client, otherProver, 0), 0, "not even the other prover's");
        assertEq(market.deposits(client), 1 ether, "no price taken");

        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, _signedPurchase(clientKey, award, 3));
        assertTrue(_challenge(id).bought, "the award as signed buys");
    }

    /// The award is checked after the bond, the batch, its window, the leaf and the job's
    /// state: a purchase with a bad signature meets `WrongBond`, `UnknownBatch`,
    /// `WindowClosed`, `LeafNotInBatch`, `ChallengePending` and `AlreadySlashed` first.
    function test_challengeWithheldProof_buyingChecksTheAwardAfterTheJobsState() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory bad = _signedPurchase(otherClientKey, _realAward(0), 0);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0);
        vm.deal(client, 10 * BOND);
        vm.startPrank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND + 1));
        _withheld(at, bad, BOND + 1);
        at.batchId = realBatch + 1;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, realBatch + 1));
        _withheld(at, bad, BOND);
        at.batchId = realBatch;
        at.leaf.price += 1;
        vm.expectRevert(MarketTypes.LeafNotInBatch.selector);
        _withheld(at, bad, BOND);
        vm.stopPrank();

        uint256 pending = _challengeWithheld(watchtower, realBatch, _real(), 0);
        _expectWithheld(
            client, realBatch, 0, bad, BOND, abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending)
        );
        _challengeInvalid(1, badProof);
        Purchase memory bad1 = _signedPurchase(otherClientKey, _realAward(1), 1);
        _expectWithheld(
            client, realBatch, 1, bad1, BOND, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId)
        );
        market.revealProof(pending, inputs, proof);
        _expectWithheld(
            client, realBatch, 0, bad, BOND, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[0].jobId)
        );

        (,, uint40 committedIn,,) = market.batches(realBatch);
        uint64 closedAt = uint64(committedIn) + CHALLENGE_WINDOW;
        _closeWindow(realBatch);
        _expectWithheld(
            client, realBatch, 3, bad, BOND, abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closedAt)
        );
        assertEq(_paidWord(client, prover, 0), 0, "no job marked paid");
    }

    /// The award is checked before the payment and the evidence: a bad signature on a job
    /// already paid, from an empty deposit, or without a commitment is `BadAwardSignature`
    /// (not `AlreadyClaimed`, `InsufficientDeposit`, `EvidenceNotCommitted`); a valid one
    /// then meets those, in that order.
    function test_challengeWithheldProof_buyingChecksTheAwardBeforeThePayment() public {
        _commitRealBatch();
        bytes memory badAward = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        Purchase memory bad = _signedPurchase(otherClientKey, _realAward(0), 0);
        Purchase memory good = _signedPurchase(clientKey, _realAward(0), 0);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0);
        // No deposit, no commitment.
        vm.deal(client, 2 * BOND);
        vm.prank(client);
        vm.expectRevert(badAward);
        _withheld(at, bad, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1 gwei));
        _withheld(at, good, BOND);
        _deposit(client, 1 ether);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        _withheld(at, good, BOND);

        // Job 0 paid by a claim; the same leaf committed again.
        _closeWindow(realBatch);
        _claimReal(0, "");
        uint256 again = _commit(prover, _real());
        Purchase memory badAgain = _signedPurchase(otherClientKey, _award(real[0], prover, _buyDeadline()), 0);
        _expectWithheld(client, again, 0, badAgain, BOND, badAward);
        Purchase memory goodAgain = _signedPurchase(clientKey, _award(real[0], prover, _buyDeadline()), 0);
        _expectWithheld(
            client,
            again,
            0,
            goodAgain,
            BOND,
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[0].jobId)
        );
    }

    /// Only the leaf's client buys: another account showing a signature, valid or not, its
    /// own or the client's, opens a plain challenge (the signature is not even checked),
    /// and so does the client showing none (`r` zero, whatever `vs`).
    function test_challengeWithheldProof_aSignatureFromAnotherAccountIsIgnored() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        Purchase memory garbage = Purchase({nonce: 0, deadline: 1, r: keccak256("r"), vs: keccak256("vs")});
        uint256 a = _challengeWithheldWith(otherClient, realBatch, _real(), 0, garbage);
        uint256 b =
            _challengeWithheldWith(watchtower, realBatch, _real(), 3, _signedPurchase(clientKey, _realAward(3), 3));
        garbage.r = bytes32(0);
        garbage.nonce = 2;
        uint256 c = _challengeWithheldWith(client, realBatch, _real(), 2, garbage);
        assertFalse(_challenge(a).bought);
        assertFalse(_challenge(b).bought);
        assertFalse(_challenge(c).bought);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.deposits(otherClient), 1 ether);
        assertEq(_paidWord(client, prover, 0), 0);
        assertEq(_paidWord(otherClient, prover, 0), 0);
    }

    /// A purchase checks the shown award as a claim would: an award due before the batch
    /// was committed is `CommittedAfterDeadline` (nothing taken), and one due at the
    /// commit buys, though that deadline is past by now (the window bounds a purchase).
    function test_challengeWithheldProof_buyingTakesAnAwardDueByTheCommit() public {
        uint64 committedAt = uint64(block.timestamp);
        _commitRealBatch();
        _deposit(client, 1 ether);
        vm.warp(committedAt + 1 hours);
        MarketTypes.Award memory late = _award(real[3], prover, committedAt - 1);
        _expectWithheld(
            client,
            realBatch,
            3,
            _signedPurchase(clientKey, late, 3),
            BOND,
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, committedAt, committedAt - 1)
        );
        assertFalse(market.isPaid(client, prover, 3));
        assertEq(market.deposits(client), 1 ether, "nothing taken");

        MarketTypes.Award memory award = _award(real[3], prover, committedAt);
        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, _signedPurchase(clientKey, award, 3));
        assertTrue(_challenge(id).bought);
        assertTrue(market.isPaid(client, prover, 3));
        assertEq(market.deposits(client), 1 ether - real[3].price);
    }

    /// A bought proof revealed: the bond back to the client, the price credited to the
    /// prover (what was taken from the deposit; the market's balance does not move). The
    /// job stays paid: the prover's claim of it is `AlreadyClaimed`.
    function test_revealProof_ofABoughtProofCreditsThePriceToTheProverAndReturnsTheBond() public {
        _commitRealBatch();
        _deposit(client, 2 gwei);
        uint256 id = _buy(3);
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), 2 gwei, "the price to the prover");
        assertEq(market.credits(client), BOND, "the bond back to the client");
        assertEq(market.deposits(client), 0, "the price is spent");
        assertEq(address(market).balance, marketBefore);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertTrue(market.isPaid(client, prover, 3));
        assertFalse(_isDisputed(prover));

        _deposit(client, 1 ether);
        _closeWindow(realBatch);
        _claimReal(3, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
        _claimReal(0, "");
        assertEq(prover.balance, 1 gwei, "other jobs are claimed as before");
    }

    /// The job's client without its nonce is any challenger: the reveal pays its bond to
    /// the prover, and its deposit is not touched.
    function test_revealProof_paysTheProverTheBondOfAPlainChallengeByTheClient() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint256 id = _challengeWithheld(client, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), BOND, "the bond to the prover");
        assertEq(market.credits(client), 0);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
    }
}
