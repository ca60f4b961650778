// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {HandlerFunds} from "./HandlerFunds.sol";

/// The invariant handler's evidence commitments, the challenges decided at once (invalid
/// proof, equivocation) and the withheld-proof challenge with its reveal.
abstract contract HandlerChallenges is HandlerFunds {
    // ---- challenges decided at once --------------------------------------------------------

    /// Challenges a leaf of a batch whose window is open, mostly, as invalid; one time in
    /// four with one public input too many.
    function challengeInvalidProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        uint256 id = _pickBatch(batchSeed);
        if (block.number > committed[id].blockNumber + challengeWindow && leafSeed % 4 != 0) return; // mostly open
        address w = watchtowers[who % watchtowers.length];
        bool extra = uint256(keccak256(abi.encode(leafSeed, "extra"))) % 4 == 0;
        _challengeInvalid(id, leafSeed % jobsOf[id].length, w, extra, _evidenceMode(who));
    }

    /// Challenges leaf `index` of batch `id` as invalid, with its public inputs and proof
    /// (and one public input too many if `extra`), after checking that `checkProof` decides
    /// them as the challenge will, and refuses them with one public input too many. `w`
    /// commits to the challenge's input as `evidence` says (`_evidence`).
    function _challengeInvalid(uint256 id, uint256 index, address w, bool extra, uint8 evidence) internal {
        Committed memory b = committed[id];
        Job memory j = jobsOf[id][index];
        bytes32 key = _jobKey(b.prover, j.leaf.client, j.leaf.jobId);
        if (market.checkProof(j.leaf.circuitId, _inputsOf(j, false), j.proof) != j.valid) {
            _unexpected("checkProof decided otherwise");
        }
        if (market.checkProof(j.leaf.circuitId, _inputsOf(j, true), j.proof)) {
            _unexpected("checkProof accepted one public input too many");
        } else if (j.valid) {
            _count("checkProof refused one input too many");
        }
        uint256[] memory inputs = _inputsOf(j, extra);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number > closesAt) {
            expected = abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
        } else if (extra) {
            expected = abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector);
        } else if (ghost_slashesOf[key] != 0) {
            expected = abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, j.leaf.jobId);
        }
        Slash memory s =
            _predictSlash(b.prover, j.leaf.client, j.leaf.jobId, j.leaf.price, MarketTypes.Fault.InvalidProof, w, true);
        MarketTypes.Inclusion memory at = _inclusion(id, index);
        bytes32 digest;
        (expected, digest) =
            _evidence(w, abi.encodeCall(market.challengeInvalidProof, (at, inputs, j.proof)), evidence, expected);

        vm.deal(w, bond);
        uint256 available = _beforeSlash(b.prover);
        vm.prank(w);
        try market.challengeInvalidProof{value: bond}(at, inputs, j.proof) {
            if (expected.length != 0) _unexpected("challengeInvalidProof succeeded where it should revert");
            _evidenceTaken(w, digest);
            ghost_paidIn += bond;
            // Whether it slashes is measured (the `Slashed` events); `j.valid` predicts it.
            _afterSlash(s, !j.valid, available, j.valid);
            if (j.valid) {
                ghost_credits[b.prover] += bond;
                _count("challengeInvalidProof (false challenge)");
            } else {
                ghost_credits[w] += bond;
                _count(string.concat("challengeInvalidProof (slash)", _kindName(j.kind)));
            }
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeInvalidProof");
        }
    }

    function challengeEquivocation(uint256 seed, uint256 who) external {
        if (equivocations.length == 0) return;
        Pair memory e = equivocations[_pickPair(seed)];
        if ((seed >> 128) % 2 == 0) {
            (e.batchA, e.indexA, e.batchB, e.indexB) = (e.batchB, e.indexB, e.batchA, e.indexA);
        }
        address w = watchtowers[who % watchtowers.length];
        bytes memory expected;
        Slash memory s;
        {
            Committed memory a = committed[e.batchA];
            Committed memory b = committed[e.batchB];
            MarketTypes.Leaf memory la = jobsOf[e.batchA][e.indexA].leaf;
            MarketTypes.Leaf memory lb = jobsOf[e.batchB][e.indexB].leaf;
            bytes32 key = _jobKey(a.prover, la.client, la.jobId);

            uint64 closesAt = (a.blockNumber > b.blockNumber ? a.blockNumber : b.blockNumber) + challengeWindow;
            if (block.number > closesAt) {
                if (seed % 4 != 0) return;
                expected = abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
            } else if (ghost_slashesOf[key] != 0) {
                expected = abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, la.jobId);
            }
            uint256 price = la.price < lb.price ? la.price : lb.price;
            s = _predictSlash(a.prover, la.client, la.jobId, price, MarketTypes.Fault.Equivocation, w, true);
        }
        _challengeEquivocation(e, w, expected, s, _evidenceMode(who));
    }

    /// `w` proves the equivocation `e`, committing to the challenge's input as `evidence`
    /// says (`_evidence`), and expects `expected`, or else the slash `s`.
    function _challengeEquivocation(Pair memory e, address w, bytes memory expected, Slash memory s, uint8 evidence)
        internal
    {
        MarketTypes.Inclusion memory atA = _inclusion(e.batchA, e.indexA);
        MarketTypes.Inclusion memory atB = _inclusion(e.batchB, e.indexB);
        bytes32 digest;
        (expected, digest) = _evidence(w, abi.encodeCall(market.challengeEquivocation, (atA, atB)), evidence, expected);

        uint256 available = _beforeSlash(s.prover);
        vm.prank(w);
        try market.challengeEquivocation(atA, atB) {
            if (expected.length != 0) _unexpected("challengeEquivocation succeeded where it should revert");
            _evidenceTaken(w, digest);
            _afterSlash(s, true, available, false);
            _count("challengeEquivocation");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeEquivocation");
        }
    }

    // ---- challenges that wait for an answer ------------------------------------------------

    /// Challenges a withheld proof: of a leaf of a batch whose window is open, mostly, or
    /// (one time in eight) of the leaf of a withheld-proof challenge answered before; as
    /// `_withheldMode` picks the challenger, the nonce it names and its bond.
    function challengeWithheldProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        (uint256 id, uint256 index) = _withheldTarget(batchSeed, leafSeed);
        if (block.number > committed[id].blockNumber + challengeWindow && leafSeed % 4 != 0) return;
        _challengeWithheld(
            id,
            index,
            watchtowers[who % watchtowers.length],
            leafSeed >> 128,
            _evidenceMode(who),
            _withheldMode(uint256(keccak256(abi.encode(who, "withheld"))))
        );
    }

    /// Who challenges a withheld proof, naming which nonce and showing which award, with
    /// what bond (always `challengeBond` but for WITH_A_WRONG_BOND): a watchtower naming
    /// any nonce, no signature (a plain challenge), mostly; the job's client naming the
    /// job's nonce and showing its signed award of the leaf to the batch's prover, which
    /// buys the proof (the leaf's price from its reservation for the batch's prover first,
    /// then its deposit, as a claim would take it; refused, `AlreadyClaimed`, once that
    /// award is paid, `InsufficientDeposit` when the two fall short); the job's client
    /// not buying (BY_CLIENT_NOT_BUYING: its valid award with another job's nonce, or a
    /// signature of its award to another prover, `BadAwardSignature`; or no signature,
    /// plain); a watchtower naming the job's nonce and showing the client's valid award
    /// (plain: only the client buys); the job's client buying with another bond than
    /// `challengeBond` (the leaf's price, or one wei more than the bond: `WrongBond`).
    uint8 internal constant BY_WATCHTOWER = 0;
    uint8 internal constant BY_CLIENT_BUYING = 1;
    uint8 internal constant BY_CLIENT_NOT_BUYING = 2;
    uint8 internal constant BY_WATCHTOWER_WITH_THE_AWARD = 3;
    uint8 internal constant WITH_A_WRONG_BOND = 4;

    /// Half of the time BY_WATCHTOWER; else one of the others, BY_CLIENT_BUYING three times
    /// as often as each of them.
    function _withheldMode(uint256 r) internal pure returns (uint8) {
        r %= 12;
        if (r < 6) return BY_WATCHTOWER;
        if (r < 9) return BY_CLIENT_BUYING;
        if (r < 10) return BY_CLIENT_NOT_BUYING;
        if (r < 11) return BY_WATCHTOWER_WITH_THE_AWARD;
        return WITH_A_WRONG_BOND;
    }

    /// The arguments of a withheld-proof challenge of leaf `index` of batch `id` in `mode`
    /// (`w`: the watchtower; `seed` picks a watchtower's nonce and how the client does not
    /// buy): its sender, the nonce it names, the award deadline and ERC-2098 signature it
    /// shows (`r` zero: none), the bond it sends, whether it buys the proof (its sender is
    /// the job's client showing its valid award of the leaf to the batch's prover with the
    /// job's nonce), whether the award it shows is refused (`BadAwardSignature`: the client
    /// showing a signature of another award or another job's nonce), and the error the
    /// bond meets ("" if none).
    struct WithheldCall {
        address from;
        uint64 nonce;
        uint64 deadline;
        bytes32 r;
        bytes32 vs;
        uint256 value;
        bool buys;
        bool badAward;
        bytes err;
    }

    function _withheldCall(uint256 id, uint256 index, address w, uint8 mode, uint256 seed)
        internal
        view
        returns (WithheldCall memory call)
    {
        Job memory j = jobsOf[id][index];
        call.value = bond;
        if (mode == BY_WATCHTOWER) {
            // forge-lint: disable-next-line(unsafe-typecast)
            (call.from, call.nonce) = (w, uint64(seed >> 64)); // any nonce
            return call;
        }
        // The client's award of the leaf to the batch's prover, as it signs it.
        call.deadline = uint64(block.timestamp + 1 hours);
        address awardedTo = committed[id].prover;
        call.nonce = j.nonce;
        if (mode == BY_WATCHTOWER_WITH_THE_AWARD) {
            call.from = w;
        } else if (mode == BY_CLIENT_NOT_BUYING) {
            call.from = j.leaf.client;
            uint256 how = (seed >> 32) % 3;
            // Nonces here stay far below 2^64 - 1.
            if (how == 0) (call.nonce, call.badAward) = (j.nonce + 1, true);
            else if (how == 1) (awardedTo, call.badAward) = (w, true);
            else return call; // no signature: plain
        } else {
            (call.from, call.buys) = (j.leaf.client, true);
            if (mode == WITH_A_WRONG_BOND) {
                call.value = j.leaf.price != bond ? j.leaf.price : bond + 1;
                call.err = abi.encodeWithSelector(MarketTypes.WrongBond.selector, bond, call.value);
            }
        }
        MarketTypes.Leaf memory l = j.leaf;
        MarketTypes.Award memory award = MarketTypes.Award({
            jobId: l.jobId,
            prover: awardedTo,
            price: l.price,
            deadline: call.deadline,
            circuitId: l.circuitId,
            publicInputsHash: l.publicInputsHash
        });
        (call.r, call.vs) = vm.signCompact(keyOf[l.client], market.awardDigest(award));
    }

    /// Challenges leaf `index` of batch `id` as withheld, as `mode` says (`_withheldCall`;
    /// `w` the watchtower); the honest prover reveals its proof at once (`_honestReveal`,
    /// with `seed`). The challenger commits to the challenge's input as `evidence` says
    /// (`_evidence`). A client buying the proof has its deposit first topped up to the price
    /// half of the time, one time in four moved whole into its reservation for the batch's
    /// prover (which pays the purchase first, as it would that prover's claim), else
    /// left as it is (it may be short).
    function _challengeWithheld(uint256 id, uint256 index, address w, uint256 seed, uint8 evidence, uint8 mode)
        internal
        returns (bool opened, uint256 challengeId)
    {
        WithheldCall memory call = _withheldCall(id, index, w, mode, seed);
        MarketTypes.Inclusion memory at = _inclusion(id, index);
        // A call buys exactly when its sender is the job's client showing a signature
        // (checked: its award of the leaf to the batch's prover, with the job's own nonce).
        if (call.buys != (call.from == at.leaf.client && call.r != 0 && !call.badAward)) {
            _unexpected("handler: a purchase mispredicted");
        }
        if (mode == BY_CLIENT_BUYING) {
            uint256 funding = (seed >> 8) % 4;
            if (funding < 2) _topUp(at.leaf.client, at.leaf.price);
            else if (funding == 2) _reserveAll(at.leaf.client, committed[id].prover);
        }
        bytes32 key = _jobKey(committed[id].prover, at.leaf.client, at.leaf.jobId);
        bytes memory expected = _withheldError(id, key, at.leaf, call);
        bytes32 digest;
        (expected, digest) = _evidence(
            call.from,
            abi.encodeCall(market.challengeWithheldProof, (at, call.nonce, call.deadline, call.r, call.vs)),
            evidence,
            expected
        );
        vm.deal(call.from, call.value);
        vm.prank(call.from);
        try market.challengeWithheldProof{value: call.value}(at, call.nonce, call.deadline, call.r, call.vs) returns (
            uint256 id_
        ) {
            (opened, challengeId) = (true, id_);
            if (expected.length != 0) _unexpected("challengeWithheldProof succeeded where it should revert");
            _evidenceTaken(call.from, digest);
            if (challengeId != challenges.length) _unexpected("challenge id");
            ghost_paidIn += call.value;
            if (call.buys) _bought(id, index);
            _openedWithheld(id, index, call, key);
            if (committed[id].prover == honest) _honestReveal(challengeId, seed);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeWithheldProof");
            if ((call.buys || call.badAward) && !_fundsOfJobAsBooked(id, index)) {
                _unexpected("a refused purchase took a price");
            }
        }
    }

    /// Client `c` moves its whole deposit into its reservation for `p` (a reservation pays
    /// `p`'s claims, and the client's purchases from `p`, before the deposit), keeping the
    /// reservation's `until` or making it now.
    function _reserveAll(address c, address p) internal {
        uint256 amount = ghost_deposits[c];
        uint64 until = ghost_reservedUntil[c][p];
        // forge-lint: disable-next-line(block-timestamp)
        if (until < block.timestamp) until = uint64(block.timestamp);
        vm.prank(c);
        try market.reserve(p, amount, until) {
            ghost_deposits[c] = 0;
            ghost_reserved[c][p] += amount;
            ghost_reservedUntil[c][p] = until;
            _count("reserve (the whole deposit, before a purchase)");
        } catch {
            _unexpected("reserve reverted");
        }
    }

    /// Books the purchase of the proof of leaf `index` of batch `id` just opened: the award
    /// of the job to the batch's prover is marked paid and its price left the client's
    /// reservation for that prover first, as much as it holds, and the rest its deposit
    /// (`_book`, as for a claim).
    function _bought(uint256 id, uint256 index) internal {
        Job storage j = jobsOf[id][index];
        address p = committed[id].prover;
        bytes32 ref = _awardRef(j.leaf.client, p, j.nonce);
        (bool fromReservation,) = _book(j.leaf.client, p, j.leaf.price, "challengeWithheldProof (buying)");
        if (fromReservation) _count("challengeWithheldProof (buying): paid from a reservation");
        ghost_paymentsOf[ref]++;
        ghost_boughtPriceOf[ref] = j.leaf.price;
        ghost_boughtAward[ref] = true;
        _paidAward(j.leaf.client, j.nonce, "challengeWithheldProof (buying)");
        if (!_fundsAsBooked(j.leaf.client, p)) _unexpected("challengeWithheldProof took a wrong price");
        if (!market.isPaid(j.leaf.client, p, j.nonce)) _unexpected("a bought award not marked paid");
    }

    /// Whether the deposit of the client of leaf `index` of batch `id`, and its reservation
    /// for the batch's prover, are what the handler booked.
    function _fundsOfJobAsBooked(uint256 id, uint256 index) internal view returns (bool) {
        return _fundsAsBooked(jobsOf[id][index].leaf.client, committed[id].prover);
    }

    /// Whether client `c`'s deposit and its reservation for `p` are what the handler booked.
    function _fundsAsBooked(address c, address p) internal view returns (bool) {
        (uint128 reserved,) = market.reservations(c, p);
        return market.deposits(c) == ghost_deposits[c] && reserved == ghost_reserved[c][p];
    }

    /// Counts an award of job `nonce` of client `c` just paid (`what` paid it), and when
    /// another award of the job, to another prover, was paid before.
    function _paidAward(address c, uint64 nonce, string memory what) internal {
        if (awardsPaidOf[_jobRef(c, nonce)]++ != 0) {
            _count(string.concat(what, ": a job paid before to another prover"));
        }
    }

    /// The error a withheld-proof challenge `call` of `leaf`, of batch `id` (job key `key`),
    /// meets, in the order the market checks (the bond, the window, the job's state, then
    /// the purchase: the award refused, the batch committed after its deadline, the award
    /// already paid, the reservation for the prover and the deposit short of the price),
    /// before its evidence.
    function _withheldError(uint256 id, bytes32 key, MarketTypes.Leaf memory leaf, WithheldCall memory call)
        internal
        view
        returns (bytes memory)
    {
        if (call.err.length != 0) return call.err;
        uint64 closesAt = committed[id].blockNumber + challengeWindow;
        if (block.number > closesAt) return abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
        bytes memory err = _openError(key, leaf.jobId, MarketTypes.Fault.WithheldProof);
        if (err.length != 0) return err;
        if (call.badAward) return abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        if (!call.buys) return err;
        return _purchaseError(committed[id], leaf, call);
    }

    /// The error the purchase `call` of `leaf`, of batch `b`, meets once its award is
    /// checked, or "": it is paid as a claim would be (posted by the award's deadline, the
    /// award not paid yet, the price from the reservation for the prover first, then the
    /// deposit).
    function _purchaseError(Committed memory b, MarketTypes.Leaf memory leaf, WithheldCall memory call)
        internal
        view
        returns (bytes memory)
    {
        if (b.timestamp > call.deadline) {
            return abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, call.deadline);
        }
        if (ghost_paymentsOf[_awardRef(leaf.client, b.prover, call.nonce)] != 0) {
            return abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaf.jobId);
        }
        uint256 available = ghost_deposits[leaf.client];
        uint256 reserved = ghost_reserved[leaf.client][b.prover];
        if (available < leaf.price - _min(reserved, leaf.price)) {
            return abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, available + reserved, leaf.price);
        }
        return "";
    }

    /// Books the withheld-proof challenge `call` opened on leaf `index` of batch `id`.
    function _openedWithheld(uint256 id, uint256 index, WithheldCall memory call, bytes32 key) internal {
        Job storage j = jobsOf[id][index];
        _opened(
            Ch({
                fault: MarketTypes.Fault.WithheldProof,
                status: MarketTypes.ChallengeStatus.Open,
                prover: committed[id].prover,
                client: j.leaf.client,
                jobId: j.leaf.jobId,
                challenger: call.from,
                respondBy: uint64(block.number) + responseWindow,
                deadline: committed[id].blockNumber,
                price: j.leaf.price,
                batchId: id,
                index: index,
                bond: call.value,
                bought: call.buys
            }),
            key
        );
        _count(string.concat("challengeWithheldProof", _kindName(j.kind)));
        if (call.buys) _count("challengeWithheldProof (the client buying the proof)");
        else if (call.from == j.leaf.client) _count("challengeWithheldProof (the client, no signature: plain)");
        else if (call.r != 0) _count("challengeWithheldProof (another account showing the client's award)");
    }

    function _withheldTarget(uint256 batchSeed, uint256 leafSeed) internal view returns (uint256 id, uint256 index) {
        (bool again, uint256 answered) = _pickAnswered(batchSeed >> 128, MarketTypes.Fault.WithheldProof);
        if (again) return (challenges[answered].batchId, challenges[answered].index);
        id = _pickBatch(batchSeed);
        index = leafSeed % jobsOf[id].length;
    }

    /// Reveals the committed proof of a withheld-proof challenge (an open one in its window,
    /// mostly); one time in four with one public input too many.
    function revealProof(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickChallenge(seed, MarketTypes.Fault.WithheldProof);
        Ch memory c = challenges[id];
        bool extra = uint256(keccak256(abi.encode(seed, "extra"))) % 4 == 0;
        Job memory j;
        bytes memory expected;
        if (c.fault != MarketTypes.Fault.WithheldProof) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id);
            j.proof = new bytes(64);
        } else {
            j = jobsOf[c.batchId][c.index];
            if (c.status != MarketTypes.ChallengeStatus.Open) {
                expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
            } else if (block.number > c.respondBy) {
                expected = abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, c.respondBy);
            } else if (extra) {
                expected = abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector);
            } else if (!j.valid) {
                expected = abi.encodeWithSelector(MarketTypes.ProofRejected.selector);
            }
        }
        _reveal(id, j, extra, expected, string.concat("revealProof", _kindName(j.kind)));
    }

    function _reveal(uint256 id, Job memory j, bool extra, bytes memory expected, string memory what) internal {
        try market.revealProof(id, _inputsOf(j, extra), j.proof) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            _answered(id);
            _count(what);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// The honest prover answers withheld-proof challenge `id` at once, or (one time in
    /// four) in the last block of its response window.
    function _honestReveal(uint256 id, uint256 seed) internal {
        Ch memory c = challenges[id];
        if (seed % 4 == 0) vm.roll(c.respondBy);
        _reveal(id, jobsOf[c.batchId][c.index], false, "", "revealProof (honest)");
    }

    // ---- evidence commitments ----------------------------------------------------------------

    /// How a challenger commits to a challenge's input (`commitEvidence`) before sending
    /// it: in the block before (EARLIER, as a watchtower does), not at all (NO_COMMITMENT),
    /// or in the challenge's own block (SAME_BLOCK). The last two are refused, unless a
    /// standing commitment to the same input from an earlier block is left over.
    uint8 internal constant EARLIER = 0;
    uint8 internal constant NO_COMMITMENT = 1;
    uint8 internal constant SAME_BLOCK = 2;

    /// Mostly EARLIER; one time in sixteen NO_COMMITMENT, one in sixteen SAME_BLOCK.
    function _evidenceMode(uint256 seed) internal pure returns (uint8) {
        uint256 r = uint256(keccak256(abi.encode(seed, "evidence"))) % 16;
        return r == 0 ? NO_COMMITMENT : r == 1 ? SAME_BLOCK : EARLIER;
    }

    /// `w` commits to the challenge call `call` (its whole input) as `mode` says. Returns
    /// the error the challenge meets: `expected`, the error of its earlier checks, if any
    /// (the market checks the evidence after everything else, just before the verdict);
    /// else EvidenceNotCommitted unless `w` holds a commitment from an earlier block; and
    /// the commitment's digest.
    function _evidence(address w, bytes memory call, uint8 mode, bytes memory expected)
        internal
        returns (bytes memory, bytes32 digest)
    {
        // What `w` commits to: itself sending `call` (`MarketChallenges._takeEvidence`).
        digest = keccak256(abi.encodePacked(w, call));
        uint256 n = block.number;
        if (mode == EARLIER && n >= 2) {
            vm.roll(n - 1);
            _commitEvidence(w, digest);
            vm.roll(n);
        } else if (mode != NO_COMMITMENT) {
            _commitEvidence(w, digest);
        }
        uint256 at = ghost_evidenceAt[w][digest];
        if (market.evidenceCommitments(w, digest) != at) _unexpected("evidence commitment not as booked");
        if (expected.length == 0 && (at == 0 || at >= n)) {
            expected = abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, at);
        }
        return (expected, digest);
    }

    function _commitEvidence(address w, bytes32 digest) internal {
        if (ghost_evidenceAt[w][digest] != 0) _count("commitEvidence (first commitment stays)");
        vm.prank(w);
        market.commitEvidence(digest);
        if (ghost_evidenceAt[w][digest] == 0) ghost_evidenceAt[w][digest] = block.number;
    }

    /// After a challenge of `w` was taken: its commitment is consumed.
    function _evidenceTaken(address w, bytes32 digest) internal {
        delete ghost_evidenceAt[w][digest];
        if (market.evidenceCommitments(w, digest) != 0) _unexpected("evidence commitment not consumed");
    }
}
