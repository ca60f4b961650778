// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {HandlerChallenges} from "./HandlerChallenges.sol";

/// The invariant handler's missed-deadline challenges, their answers, and the finalization
/// of challenges.
abstract contract HandlerAnswers is HandlerChallenges {
    /// Challenges a missed deadline of prover `p`: mostly for a job `p` committed (deadline
    /// at its batch's time, one second before or after it, the batch's award deadline, or
    /// now; sometimes with the clock moved to the last second the challenge may be opened,
    /// or one past it), else for a job never committed (deadline now, a few seconds ago,
    /// `deadlineChallengePeriod` ago or one second more; half of the time of a prover
    /// holding less than one slash if there is one). The honest prover signs only
    /// deadlines it met: for it, only jobs it committed, and never one second before.
    function challengeMissedDeadline(uint256 proverSeed, uint256 jobSeed, uint256 who) external {
        {
            (bool again, uint256 answered) = _pickAnswered(proverSeed >> 128, MarketTypes.Fault.MissedDeadline);
            if (again) {
                return _challengeMissedAgain(
                    answered, watchtowers[who % watchtowers.length], jobSeed >> 128, _evidenceMode(who)
                );
            }
        }
        address p = provers[proverSeed % provers.length];
        (bool found, uint256 batchId, uint256 index) = _missedLeaf(p, jobSeed);
        if ((jobSeed >> 136) % 2 == 0) {
            // A prover holding less than one slash, for a job never committed: its slash
            // takes all it has left.
            (address poor, bool any) = _first(provers, proverSeed, _belowOneSlash);
            if (any) (p, found) = (poor, false);
        }
        if (p == honest && !found) return;
        (MarketTypes.Award memory award, address c) = _missedAward(p, found, batchId, index, jobSeed);
        (bool opened, uint256 challengeId) =
            _challengeMissed(award, c, watchtowers[who % watchtowers.length], _evidenceMode(who));
        if (opened && p == honest) _honestAnswer(challengeId, batchId, index, jobSeed >> 128);
    }

    /// Challenges the award of missed-deadline challenge `answered`, answered before, again.
    function _challengeMissedAgain(uint256 answered, address w, uint256 seed, uint8 evidence) internal {
        Ch memory a = challenges[answered];
        (bool opened, uint256 id) =
            _challengeMissed(_awardOf(a.client, a.jobId, a.prover, a.price, a.deadline), a.client, w, evidence);
        if (opened && a.prover == honest) {
            (uint256 batchId, uint256 index) = _metBy(a);
            _honestAnswer(id, batchId, index, seed);
        }
    }

    /// `w` challenges the missed deadline of `award` of client `c`, committing to the
    /// challenge's input as `evidence` says (`_evidence`).
    function _challengeMissed(MarketTypes.Award memory award, address c, address w, uint8 evidence)
        internal
        returns (bool opened, uint256 challengeId)
    {
        bytes memory expected = _missedError(award, c);
        (bytes memory awardSig, MarketTypes.Acceptance memory acc, bytes memory accSig) = _signMissed(award, c);
        bytes32 digest;
        (expected, digest) = _evidence(w, _missedCall(acc, accSig, award, awardSig), evidence, expected);
        vm.deal(w, bond);
        vm.prank(w);
        try market.challengeMissedDeadline{value: bond}(acc, accSig, award, awardSig) returns (uint256 id) {
            if (expected.length != 0) _unexpected("challengeMissedDeadline succeeded where it should revert");
            _evidenceTaken(w, digest);
            if (id != challenges.length) _unexpected("challenge id");
            ghost_paidIn += bond;
            _openedMissed(award, c, w);
            return (true, id);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeMissedDeadline");
        }
    }

    /// Books a missed-deadline challenge of `w` on `award` of client `c`.
    function _openedMissed(MarketTypes.Award memory award, address c, address w) internal {
        _opened(
            Ch({
                fault: MarketTypes.Fault.MissedDeadline,
                status: MarketTypes.ChallengeStatus.Open,
                prover: award.prover,
                client: c,
                jobId: award.jobId,
                challenger: w,
                respondBy: uint64(block.number) + responseWindow,
                deadline: award.deadline,
                price: award.price,
                batchId: 0,
                index: 0,
                bond: bond,
                bought: false
            }),
            _jobKey(award.prover, c, award.jobId)
        );
        _count("challengeMissedDeadline");
    }

    /// The input of the missed-deadline challenge with these arguments.
    function _missedCall(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig
    ) internal view returns (bytes memory) {
        return abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig));
    }

    /// The error a missed-deadline challenge with `award` of client `c` meets, in the
    /// order the market checks, or "".
    function _missedError(MarketTypes.Award memory award, address c) internal returns (bytes memory) {
        bytes32 key = _jobKey(award.prover, c, award.jobId);
        _knowKey(key);
        uint64 closesAt = award.deadline + deadlinePeriod;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= award.deadline) {
            return abi.encodeWithSelector(MarketTypes.DeadlineNotPassed.selector, award.deadline);
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > closesAt) {
            return abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, closesAt);
        }
        if (!model[award.prover].registered) return abi.encodeWithSelector(MarketTypes.NotRegistered.selector);
        return _openError(key, award.jobId, MarketTypes.Fault.MissedDeadline);
    }

    /// A leaf of a batch of `p` that `jobSeed` picks, if `jobSeed` asks for a committed job
    /// (three times in four) and `p` has a batch: mostly from a batch whose time is at most
    /// `deadlineChallengePeriod` ago (its deadlines can still be challenged).
    function _missedLeaf(address p, uint256 jobSeed) internal view returns (bool found, uint256 id, uint256 index) {
        uint256 n = committed.length;
        if (jobSeed % 4 == 0 || n == 0) return (false, 0, 0);
        uint256 start = (jobSeed >> 16) % n;
        bool anyAge = (jobSeed >> 24) % 4 == 0;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (start + k) % n;
            if (committed[b].prover != p) continue;
            if (!found) (found, id) = (true, b);
            // forge-lint: disable-next-line(block-timestamp)
            if (anyAge || committed[b].timestamp + deadlinePeriod >= block.timestamp) {
                (found, id) = (true, b);
                break;
            }
        }
        if (found) index = (jobSeed >> 32) % jobsOf[id].length;
    }

    /// The award (and its client) of a missed-deadline challenge (see
    /// `challengeMissedDeadline`); moves the clock for the options that test the period's
    /// end.
    function _missedAward(address p, bool found, uint256 id, uint256 index, uint256 jobSeed)
        internal
        returns (MarketTypes.Award memory award, address c)
    {
        uint256 option = (jobSeed >> 8) % 8;
        award.prover = p;
        award.circuitId = circuit;
        if (found) {
            Job storage j = jobsOf[id][index];
            c = j.leaf.client;
            award.jobId = j.leaf.jobId;
            award.price = ghost_awardedPrice[_jobRef(c, j.nonce)];
            uint64 t = committed[id].timestamp;
            if (option == 0 || option >= 5 || (option == 1 && p == honest)) award.deadline = t;
            else if (option == 1) award.deadline = t - 1;
            else if (option == 2) award.deadline = uint64(block.timestamp);
            else if (option == 3) award.deadline = t + 1;
            else award.deadline = committed[id].deadline;
            award.publicInputsHash = awardedInputsHash[_statementRef(c, award.jobId)];
            // forge-lint: disable-next-line(block-timestamp)
            if (option == 5 && block.timestamp < t + deadlinePeriod) vm.warp(t + deadlinePeriod);
            // forge-lint: disable-next-line(block-timestamp)
            if (option == 6 && block.timestamp <= t + deadlinePeriod) vm.warp(t + deadlinePeriod + 1);
        } else {
            c = clients[(jobSeed >> 32) % clients.length];
            uint64 nonce = nextNonce[c]++; // never to be committed
            award.jobId = market.jobIdOf(c, nonce);
            award.price = _bound(jobSeed >> 64, 0, 1 ether);
            ghost_awardedPrice[_jobRef(c, nonce)] = award.price;
            award.publicInputsHash = _inputsHashOf(uint256(keccak256(abi.encode(jobSeed, "input"))));
            awardedInputsHash[_statementRef(c, award.jobId)] = award.publicInputsHash;
            // casting to uint64 is safe because timestamps here are around 1.7e9
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 now_ = uint64(block.timestamp);
            if (option == 0) award.deadline = now_;
            else if (option == 1) award.deadline = now_ - deadlinePeriod;
            else if (option == 2) award.deadline = now_ - deadlinePeriod - 1;
            // forge-lint: disable-next-line(unsafe-typecast)
            else award.deadline = now_ - uint64(option) + 2; // option < 8
        }
    }

    function _signMissed(MarketTypes.Award memory award, address c)
        internal
        view
        returns (bytes memory awardSig, MarketTypes.Acceptance memory acc, bytes memory accSig)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[c], market.awardDigest(award));
        awardSig = abi.encodePacked(r, s, v);
        acc = MarketTypes.Acceptance({
            jobId: award.jobId,
            client: c,
            inputHash: keccak256("inputs"),
            price: award.price,
            deadline: award.deadline,
            circuitId: award.circuitId,
            publicInputsHash: award.publicInputsHash
        });
        (v, r, s) = vm.sign(keyOf[award.prover], market.acceptanceDigest(acc));
        accSig = abi.encodePacked(r, s, v);
    }

    /// Answers a missed-deadline challenge with a batch of its prover holding the job's
    /// leaf if there is one, else with another leaf or another prover's batch.
    function answerMissedDeadline(uint256 seed, uint256 pick) external {
        if (challenges.length == 0 || committed.length == 0) return;
        uint256 id = _pickChallenge(seed, MarketTypes.Fault.MissedDeadline);
        Ch memory c = challenges[id];
        (uint256 batchId, uint256 index) = _answerFor(c, pick);
        Committed memory b = committed[batchId];
        MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;

        bytes memory expected;
        if (c.fault != MarketTypes.Fault.MissedDeadline) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id);
        } else if (c.status != MarketTypes.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
        } else if (block.number > c.respondBy) {
            expected = abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, c.respondBy);
        } else if (b.prover != c.prover) {
            expected = abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, b.prover, c.prover);
        } else if (b.timestamp > c.deadline) {
            expected = abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, c.deadline);
        } else if (l.jobId != c.jobId || l.client != c.client) {
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
        } else if (!_ofAwardedStatement(l)) {
            // The job's leaf, of another statement than the awarded one: no delivery.
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
            _count("answerMissedDeadline: leaf of another statement");
        } else if (l.price != c.price) {
            // At another price than the award's: no claim could pay it, no delivery.
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
            _count("answerMissedDeadline: leaf at another price");
        }
        _answerMissed(id, batchId, index, expected, "answerMissedDeadline");
    }

    function _answerMissed(uint256 id, uint256 batchId, uint256 index, bytes memory expected, string memory what)
        internal
    {
        MarketTypes.Inclusion memory at = _inclusion(batchId, index);
        try market.answerMissedDeadline(id, at) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            _answered(id);
            _count(what);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// The honest prover answers missed-deadline challenge `id` at once, or (one time in
    /// four) in the last block of its response window, with the leaf the award was for (in
    /// a batch it committed by that deadline).
    function _honestAnswer(uint256 id, uint256 batchId, uint256 index, uint256 seed) internal {
        if (seed % 4 == 0) vm.roll(challenges[id].respondBy);
        _answerMissed(id, batchId, index, "", "answerMissedDeadline (honest)");
    }

    /// A leaf of missed-deadline challenge `c`'s job and awarded statement in a batch of its
    /// prover committed by the deadline (the first such; the honest prover's challenges
    /// always have one).
    function _metBy(Ch memory c) internal view returns (uint256 batchId, uint256 index) {
        for (batchId = 0; batchId < committed.length; batchId++) {
            if (committed[batchId].prover != c.prover || committed[batchId].timestamp > c.deadline) continue;
            for (index = 0; index < jobsOf[batchId].length; index++) {
                MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;
                if (l.jobId == c.jobId && l.client == c.client && _ofAwardedStatement(l) && l.price == c.price) {
                    return (batchId, index);
                }
            }
        }
        revert("no batch met the deadline");
    }

    /// A leaf of challenge `c`'s job in a batch of its prover if any (one time in eight, any
    /// leaf of any batch instead).
    function _answerFor(Ch memory c, uint256 pick) internal view returns (uint256 batchId, uint256 index) {
        uint256 start = pick % committed.length;
        if ((pick >> 128) % 8 != 0) {
            for (uint256 k = 0; k < committed.length; k++) {
                batchId = (start + k) % committed.length;
                if (committed[batchId].prover != c.prover) continue;
                for (index = 0; index < jobsOf[batchId].length; index++) {
                    MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;
                    if (l.jobId == c.jobId && l.client == c.client) return (batchId, index);
                }
            }
        }
        batchId = start;
        index = (pick >> 64) % jobsOf[batchId].length;
    }

    /// Finalizes an open challenge, mostly; half of the time after rolling past its
    /// response window (else check the window holds).
    function finalizeChallenge(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickOpen(seed);
        Ch memory c = challenges[id];
        if (c.status == MarketTypes.ChallengeStatus.Open && block.number <= c.respondBy && (seed >> 128) % 2 == 0) {
            vm.roll(c.respondBy + 1);
        }
        _finalize(id);
    }

    function _finalize(uint256 id) internal {
        Ch memory c = challenges[id];
        bytes32 key = _jobKey(c.prover, c.client, c.jobId);
        bool void = ghost_slashesOf[key] != 0;
        bytes memory expected;
        if (c.status != MarketTypes.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
        } else if (block.number <= c.respondBy) {
            expected = abi.encodeWithSelector(MarketTypes.ResponseWindowOpen.selector, c.respondBy);
        }
        // A withheld proof's leaf counts at risk until the end of the epoch after its
        // batch's; a missed deadline's job has no leaf.
        bool atRisk = c.fault == MarketTypes.Fault.WithheldProof && _stillAtRisk(c.deadline);
        // The rule the epochs of `challengeWindow + responseWindow + 1` blocks keep: a
        // withheld proof finalized as soon as it can be (opened at the latest in the last
        // block of its window) is of a leaf still at risk.
        if (c.fault == MarketTypes.Fault.WithheldProof && block.number == c.respondBy + 1 && !atRisk) {
            _unexpected("a prompt finalization of a withheld proof is of a leaf no longer at risk");
        }
        Slash memory s = _predictSlash(c.prover, c.client, c.jobId, c.price, c.fault, c.challenger, atRisk);
        uint256 available = _beforeSlash(c.prover);
        try market.finalizeChallenge(id) {
            if (expected.length != 0) _unexpected("finalizeChallenge succeeded where it should revert");
            ghost_credits[c.challenger] += c.bond;
            // A bought proof not revealed: its price goes back into the client's deposit
            // (before the slash's refund, which `_afterSlash` checks the deposit against).
            if (c.bought) {
                ghost_deposits[c.client] += c.price;
                _count(void ? "finalizeChallenge (void, a bought proof)" : "finalizeChallenge (slash, a bought proof)");
            }
            if (!void && c.fault == MarketTypes.Fault.WithheldProof) {
                _count(atRisk ? "finalizeChallenge (withheld, leaf at risk)" : "finalizeChallenge (withheld, late)");
            }
            ghost_pendingOf[key] = 0;
            challenges[id].status = void ? MarketTypes.ChallengeStatus.Void : MarketTypes.ChallengeStatus.Slashed;
            _afterSlash(s, !void, available, false);
            if (market.deposits(c.client) != ghost_deposits[c.client]) {
                _unexpected("finalizeChallenge left a wrong deposit");
            }
            string memory kind =
                c.fault == MarketTypes.Fault.WithheldProof ? _kindName(jobsOf[c.batchId][c.index].kind) : "";
            _count(string.concat(void ? "finalizeChallenge (void)" : "finalizeChallenge (slash)", kind));
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "finalizeChallenge");
        }
    }
}
