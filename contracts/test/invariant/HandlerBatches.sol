// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Test.sol";
import {MarketClaims} from "../../src/MarketClaims.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {MerkleBuilder} from "../utils/MarketFixture.sol";
import {HandlerAnswers} from "./HandlerAnswers.sol";

/// The invariant handler's batches: honest and dishonest commits, bad leaves, and the jobs
/// and proofs they carry.
abstract contract HandlerBatches is HandlerAnswers {
    // ---- batches -------------------------------------------------------------------------

    /// Commits from the first staked prover from `who` on (one time in eight, or when none is
    /// staked, from prover `who` itself). Half of the time, that prover is first registered
    /// or staked up if it is not staked (else check the commit fails). A batch holds 1-6
    /// leaves, or (one time in eight) exactly as many as the prover's stake still covers,
    /// or one more (at most 12): the exposure bound is checked at its edge; one batch in 64
    /// is empty. One leaf in four is a job committed before (half of the time from a batch
    /// of this prover if it has one, else from any batch): half of those the same leaf
    /// again, half another leaf for that job (equivocation when the prover is the same).
    /// One plain proof in eight is invalid, and one leaf in 32 of each other kind (see
    /// `_kindOf`). One batch in eight is committed after its awards' deadline, one in
    /// sixteen prices a leaf beyond 2^128 - 1 wei, and one in sixteen is not the prover's
    /// own transaction (`vm.prank(p)` alone: tx.origin is another account). The honest
    /// prover only commits new plain jobs with valid proofs, or copies of its own leaves,
    /// by the deadline, at sane prices, in its own transactions.
    function commitBatch(uint256 who, uint256 size, uint256 seed) external {
        address p = provers[who % provers.length];
        if ((who >> 128) % 8 != 0) {
            (address staked, bool found) = _first(provers, who, _staked);
            if (found) p = staked;
        }
        if ((who >> 136) % 2 == 0) _stakeUp(p);
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        size = _batchSize(who, size, atRisk, covered);
        uint256 r = uint256(keccak256(abi.encode(seed, "batch")));
        if (r % 64 == 0) size = 0;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            (js[i], origin[i]) = _newJob(p, uint256(keccak256(abi.encode(seed, i))));
        }
        if (size != 0 && p != honest && (r >> 8) % 16 == 0) {
            js[(r >> 16) % size].leaf.price = uint256(type(uint128).max) + 1 + (r >> 128);
        }
        uint64 deadline =
            seed % 8 == 0 && p != honest ? uint64(block.timestamp - 1) : uint64(block.timestamp + (seed >> 8) % 1 days);
        _tryCommit(p, js, origin, deadline, p == honest || (r >> 24) % 16 != 0);
    }

    /// Commits a batch of 1-3 leaves of dishonest prover 1 or 2 (staked up first), one of
    /// them a new job whose leaf the market must find invalid although the stand-in accepts
    /// its inputs and proof three times in four (it names an unregistered circuit, has one
    /// public input too many, or a proof one byte too long), and has a watchtower challenge
    /// that leaf at once: half of the time as invalid (a slash), else as withheld, which the
    /// prover cannot answer (its reveal is rejected, one time in two with one public input
    /// too many) and which, half of the time, the watchtower then finalizes (a slash). One
    /// time in four the watchtower challenges the job's deadline instead (`_missBadLeaf`).
    function commitBadLeaf(uint256 who, uint256 seed) external {
        address p = provers[1 + who % 2];
        _stakeUp(p);
        uint256 size = 1 + seed % 3;
        uint256 index = (seed >> 8) % size;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i, "bad")));
            // forge-lint: disable-next-line(unsafe-typecast)
            if (i == index) js[i] = _freshJob(r, (seed >> 16) % 4 != 0, 1 + uint8((seed >> 24) % 3)); // 1-3
            else (js[i], origin[i]) = _newJob(p, r);
        }
        (bool ok, uint256 id) = _tryCommit(p, js, origin, uint64(block.timestamp + 1 hours), true);
        if (!ok) return;
        address w = watchtowers[(who >> 8) % watchtowers.length];
        if ((seed >> 48) % 4 == 0) return _missBadLeaf(id, index, w, seed >> 56);
        uint256 mode = (seed >> 32) % 4;
        if (mode < 2) return _challengeInvalid(id, index, w, false, EARLIER);
        (bool opened, uint256 challengeId) = _challengeWithheld(id, index, w, 0, EARLIER, BY_WATCHTOWER);
        if (!opened) return;
        bool extra = mode == 3;
        bytes4 err = extra ? MarketTypes.PublicInputsMismatch.selector : MarketTypes.ProofRejected.selector;
        _reveal(challengeId, js[index], extra, abi.encodeWithSelector(err), "revealProof (bad leaf)");
        if ((seed >> 40) % 2 == 0) {
            vm.roll(challenges[challengeId].respondBy + 1);
            _finalize(challengeId);
        }
    }

    /// A dishonest prover (1 or 2, staked up first) fills what its stake covers beyond
    /// its debt with a batch (at most 12 leaves), and a watchtower challenges the missed
    /// deadline of a job it accepted and never committed, due a second ago; nobody answers
    /// and the watchtower finalizes: a slash of a job with no leaf at risk, which takes only
    /// what stake and unbonding hold beyond the debt and the leaves at risk and owes the
    /// rest (what a sybil client draining its prover's stake before its bad leaves are
    /// slashed meets).
    function missedDeadlineAtFullCover(uint256 who, uint256 seed) external {
        address p = provers[1 + who % 2];
        _stakeUp(p);
        _fillCover(p, seed);
        (MarketTypes.Award memory award, address c) = _neverCommitted(p, seed);
        (bool opened, uint256 id) = _challengeMissed(award, c, watchtowers[(who >> 8) % watchtowers.length], EARLIER);
        if (!opened) return;
        vm.roll(challenges[id].respondBy + 1);
        _finalize(id);
        _count("missedDeadlineAtFullCover");
    }

    /// Commits as many new leaves from `p` as its stake still covers (at most 12).
    function _fillCover(address p, uint256 seed) internal {
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        uint256 size = covered > atRisk ? covered - atRisk : 0;
        if (size > 12) size = 12;
        if (size == 0) return;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            (js[i], origin[i]) = _newJob(p, uint256(keccak256(abi.encode(seed, i, "full"))));
        }
        _tryCommit(p, js, origin, uint64(block.timestamp + 1 hours), true);
    }

    /// An award to `p` of a job never to be committed, due a second ago, and its client.
    function _neverCommitted(address p, uint256 seed) internal returns (MarketTypes.Award memory award, address c) {
        c = clients[(seed >> 8) % clients.length];
        uint64 nonce = nextNonce[c]++;
        award.jobId = market.jobIdOf(c, nonce);
        award.prover = p;
        award.price = _bound(seed >> 64, 0, 1 ether);
        // forge-lint: disable-next-line(unsafe-typecast)
        award.deadline = uint64(block.timestamp) - 1; // timestamps here are around 1.7e9
        award.circuitId = circuit;
        award.publicInputsHash = _inputsHashOf(uint256(keccak256(abi.encode(seed, "full input"))));
        ghost_awardedPrice[_jobRef(c, nonce)] = award.price;
        awardedInputsHash[_statementRef(c, award.jobId)] = award.publicInputsHash;
    }

    /// The deadline of the job of leaf `index` of batch `id` (a bad leaf) passes and `w`
    /// challenges it as missed, with the client's award of the job's own statement. The
    /// prover answers with the leaf it committed in time: a leaf of another statement (an
    /// unregistered circuit, one public input too many) is refused, and half of the time
    /// the watchtower then finalizes (a slash); a leaf of that statement with a proof one
    /// byte too long answers (the deadline was met; the proof is another fault).
    function _missBadLeaf(uint256 id, uint256 index, address w, uint256 seed) internal {
        Committed memory b = committed[id];
        Job memory j = jobsOf[id][index];
        vm.warp(b.deadline + 1);
        (bool opened, uint256 challengeId) = _challengeMissed(
            _awardOf(
                j.leaf.client, j.leaf.jobId, b.prover, ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)], b.deadline
            ),
            j.leaf.client,
            w,
            EARLIER
        );
        if (!opened) return;
        bool ofAwarded =
            _ofAwardedStatement(j.leaf) && j.leaf.price == ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)];
        bytes memory expected = ofAwarded ? bytes("") : abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
        _answerMissed(challengeId, id, index, expected, "answerMissedDeadline (bad leaf)");
        if (!ofAwarded && seed % 2 == 0) {
            vm.roll(challenges[challengeId].respondBy + 1);
            _finalize(challengeId);
        }
    }

    /// Commits the leaves of `js` from `p` (their deadline `deadline`; `origin` as
    /// `_newJob` returns it) in a direct call (msg.sender = tx.origin = `p`) if `direct`,
    /// predicting the outcome from the model, and reads the call's `BatchCommitted` event
    /// back.
    function _tryCommit(address p, Job[] memory js, uint256[] memory origin, uint64 deadline, bool direct)
        internal
        returns (bool ok, uint256 id)
    {
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        bytes memory input = abi.encode(_leavesOf(js));
        bytes memory expected = direct
            ? _commitError(p, _leavesOf(js), atRisk + js.length, covered)
            : abi.encodeWithSelector(MarketTypes.NotDirectCall.selector);
        vm.recordLogs();
        if (direct) vm.prank(p, p);
        // Not `p`'s own transaction: the origin is pinned to the handler, since the fuzzer's
        // sender (the default origin) may be `p` itself.
        else vm.prank(p, address(this));
        (bool success, bytes memory ret) = address(market).call(bytes.concat(MarketClaims.commitBatch.selector, input));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!success) {
            _expectRevert(ret, expected, "commitBatch");
            if (_readPublished(logs, "") != 0) _unexpected("a refused batch was published");
            if (js.length != 0) _phantom(_leavesOf(js), uint256(keccak256(input)) % js.length);
            return (false, 0);
        }
        (ok, id) = (true, abi.decode(ret, (uint256)));
        if (expected.length != 0) _unexpected("commitBatch succeeded where it should revert");
        if (id != committed.length) _unexpected("commitBatch id");
        if (_readPublished(logs, input) != 1) _unexpected("commitBatch: not one BatchCommitted event");
        _committed(p, js, origin, deadline);
        _recordExposure(p, atRisk + js.length, covered);
        _count("commitBatch");
    }

    /// Records the leaves at risk and cover `exposure` reports for `p` after a commit, with
    /// the model's.
    function _recordExposure(address p, uint256 atRisk, uint256 covered) internal {
        (uint256 riskNow, uint256 coveredNow) = market.exposure(p);
        commitRecords.push(CommitRecord(p, riskNow, coveredNow, atRisk, covered));
    }

    /// Books the batch of `js` just committed by `p`.
    function _committed(address p, Job[] memory js, uint256[] memory origin, uint64 deadline) internal {
        uint256 id = committed.length;
        committed.push(
            Committed({
                prover: p, blockNumber: uint64(block.number), timestamp: uint64(block.timestamp), deadline: deadline
            })
        );
        for (uint256 i = 0; i < js.length; i++) {
            jobsOf[id].push(js[i]);
            _know(p, js[i]);
            if (origin[i] != 0) _recordEquivocation(p, id, i, origin[i]);
            if (js[i].kind != PLAIN) _count(string.concat("commitBatch: leaf", _kindName(js[i].kind)));
        }
    }

    /// Books the `BatchCommitted` events among `logs`, emitted by the call whose arguments
    /// were `input`; returns how many there were.
    function _readPublished(Vm.Log[] memory logs, bytes memory input) internal returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; i++) {
            Vm.Log memory log = logs[i];
            if (log.emitter != address(market) || log.topics[0] != MarketTypes.BatchCommitted.selector) continue;
            n++;
            Published storage pub = published[uint256(log.topics[1])];
            pub.events++;
            pub.prover = address(uint160(uint256(log.topics[2])));
            (pub.root, pub.count) = abi.decode(log.data, (bytes32, uint32));
            pub.input = input;
        }
        ghost_batchEvents += n;
    }

    /// Keeps leaf `index` of a refused batch, with its path in that batch's tree (the last
    /// two such leaves).
    function _phantom(MarketTypes.Leaf[] memory leaves, uint256 index) internal {
        Phantom memory ph = Phantom(leaves[index], MerkleBuilder.proof(_hashes(leaves), index));
        if (phantoms.length < 2) phantoms.push(ph);
        else phantoms[phantomsSeen % 2] = ph;
        phantomsSeen++;
    }

    /// 1-6 leaves, or (one time in eight) exactly as many as `covered` leaves at risk leave
    /// room for, or one more (1-12).
    function _batchSize(uint256 who, uint256 size, uint256 atRisk, uint256 covered) internal pure returns (uint256) {
        // From a hash: the fuzzer's inputs are often small numbers, whose high bits are 0.
        uint256 r = uint256(keccak256(abi.encode(who, size)));
        if (r % 8 != 0) return _bound(size, 1, 6);
        size = (covered > atRisk ? covered - atRisk : 0) + (r >> 8) % 2;
        return size == 0 ? 1 : size > 12 ? 12 : size;
    }

    /// The error committing `leaves` from `p` meets (`atRisk`: its leaves at risk with
    /// them), in the order the market checks, or "".
    function _commitError(address p, MarketTypes.Leaf[] memory leaves, uint256 atRisk, uint256 covered)
        internal
        view
        returns (bytes memory)
    {
        ProverModel storage m = model[p];
        if (!m.registered) return abi.encodeWithSelector(MarketTypes.NotRegistered.selector);
        if (m.stake < minStake) return abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, m.stake, minStake);
        if (leaves.length == 0) return abi.encodeWithSelector(MarketTypes.EmptyBatch.selector);
        if (atRisk > covered) return abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, atRisk, covered);
        for (uint256 i = 0; i < leaves.length; i++) {
            if (leaves[i].price > type(uint128).max) {
                return abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, i);
            }
        }
        return "";
    }

    /// A new job, or (one in four) a job committed before, half of the time from a batch of
    /// `p` if it has one; `origin` is (batch id + 1) << 32 | index of the leaf it was taken
    /// from, or 0. The honest prover takes only its own leaves, unchanged, and new plain
    /// jobs with valid proofs.
    function _newJob(address p, uint256 r) internal returns (Job memory j, uint256 origin) {
        bool isHonest = p == honest;
        if (committed.length != 0 && r % 4 == 0) {
            uint256 b = (r >> 8) % committed.length;
            if (isHonest || (r >> 56) % 2 == 0) b = _batchOf(p, b);
            if (!isHonest || committed[b].prover == p) {
                uint256 index = (r >> 16) % jobsOf[b].length;
                j = jobsOf[b][index];
                origin = ((b + 1) << 32) | index;
                if (!isHonest && (r >> 24) % 2 == 0) {
                    // Another leaf for the same job: another proof (maybe of another kind),
                    // maybe another price.
                    _prove(j, r, (r >> 32) % 8 != 0, _kindOf(r >> 64));
                    if ((r >> 40) % 2 == 0) j.leaf.price = _bound(r >> 48, 0, 1 ether);
                }
                return (j, origin);
            }
        }
        j = _freshJob(r, isHonest || (r >> 16) % 8 != 0, isHonest ? PLAIN : _kindOf(r >> 64));
    }

    /// A job never committed, of a client `r` picks, at a price it awards, with a leaf of
    /// `kind` (whose proof, built valid or not, the stand-in accepts when valid).
    function _freshJob(uint256 r, bool valid, uint8 kind) internal returns (Job memory j) {
        address c = clients[(r >> 8) % clients.length];
        j.nonce = nextNonce[c]++;
        j.input = uint256(keccak256(abi.encode(r, "input")));
        j.leaf.jobId = market.jobIdOf(c, j.nonce);
        j.leaf.client = c;
        j.leaf.price = _bound(r >> 32, 0, 1 ether);
        _prove(j, r, valid, kind);
        ghost_awardedPrice[_jobRef(c, j.nonce)] = j.leaf.price;
        // The client's statement: its one input under the registered circuit. A leaf of
        // another kind than PLAIN or LONG_PROOF names another statement.
        awardedInputsHash[_statementRef(c, j.leaf.jobId)] = _inputsHashOf(j.input);
    }

    /// One leaf in 32 names an unregistered circuit, one in 32 has one public input too
    /// many, one in 32 a proof one byte too long; the rest are plain.
    function _kindOf(uint256 r) internal pure returns (uint8) {
        r %= 32;
        return r == 0 ? UNREGISTERED : r == 1 ? EXTRA_INPUT : r == 2 ? LONG_PROOF : PLAIN;
    }

    /// Gives `j` (its input set) a leaf of `kind`: circuit, public inputs and a stand-in
    /// proof (see InvariantStandInVerifier) built from the valid proof `tag ‖ salt` if
    /// `valid`, else from `~tag ‖ salt`. Only a plain leaf built valid is valid.
    function _prove(Job memory j, uint256 salt, bool valid, uint8 kind) internal view {
        bytes32 tag = keccak256(abi.encode(j.input));
        bytes32 first = valid ? tag : ~tag;
        j.kind = kind;
        j.leaf.circuitId = kind == UNREGISTERED ? UNREGISTERED_CIRCUIT : circuit;
        j.extraInput = 0;
        if (kind == EXTRA_INPUT) {
            // `input, first` and `salt ‖ salt`: the proof shifted by a word.
            j.extraInput = uint256(first);
            j.proof = abi.encode(salt, salt);
        } else if (kind == LONG_PROOF) {
            j.proof = abi.encodePacked(first, salt, uint8(0));
        } else {
            j.proof = abi.encode(first, salt);
        }
        j.valid = valid && kind == PLAIN;
        j.leaf.publicInputsHash = keccak256(abi.encodePacked(_inputsOf(j, false)));
        j.leaf.proofHash = keccak256(j.proof);
    }

    /// The first batch of `p` from batch `start` on (wrapping around), else `start`.
    function _batchOf(address p, uint256 start) internal view returns (uint256) {
        for (uint256 k = 0; k < committed.length; k++) {
            uint256 b = (start + k) % committed.length;
            if (committed[b].prover == p) return b;
        }
        return start;
    }

    function _know(address p, Job memory j) internal {
        bytes32 ref = _jobRef(j.leaf.client, j.nonce);
        if (!knownJob[ref]) {
            knownJob[ref] = true;
            jobRefs.push(JobRef(j.leaf.client, j.nonce));
        }
        bytes32 key = _jobKey(p, j.leaf.client, j.leaf.jobId);
        _knowKey(key);
        if (!j.valid) ghost_hasInvalidLeaf[key] = true;
    }

    function _recordEquivocation(address p, uint256 id, uint256 i, uint256 origin) internal {
        uint256 b = (origin >> 32) - 1;
        uint256 index = origin & 0xffffffff;
        if (committed[b].prover != p) return;
        if (_leafHash(jobsOf[b][index].leaf) == _leafHash(jobsOf[id][i].leaf)) return; // a plain copy
        equivocations.push(Pair(b, index, id, i));
    }
}
