// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {AttacksBase} from "./AttacksBase.sol";

/// Attacks on the mechanism: a proof forced out of its prover is paid for (issue 16). Each
/// is written as its attacker would try it, asserting that it fails and that the attacker
/// ends poorer (or no richer) than playing by the rules; docs/contracts.md's threat model
/// names each test. The setting and the shared helpers are in AttacksBase.
contract BuyingWithheldProofsAttacksTest is AttacksBase {
    // ---- a proof forced out is paid for (issue 16) -----------------------------------------

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
}
