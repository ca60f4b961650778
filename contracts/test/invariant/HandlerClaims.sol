// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {HandlerBatches} from "./HandlerBatches.sol";

/// The invariant handler's claims: of one job, of several, and second awards of a job.
abstract contract HandlerClaims is HandlerBatches {
    // ---- claims --------------------------------------------------------------------------

    /// Claims one job of a batch alone: `claimBatch` with one job, the only way to claim.
    /// One time in four, a job whose award to the batch's prover is unpaid and whose client
    /// holds a reservation for that prover, if there is one; one time in eight, a job
    /// whose award to the batch's prover is unpaid while its award to another prover was
    /// paid (a second award of the job, paid too), if there is one.
    function claim(uint256 batchSeed, uint256 leafSeed) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        uint256[] memory picked = new uint256[](1);
        picked[0] = leafSeed % jobsOf[id].length;
        uint256 r = uint256(keccak256(abi.encode(leafSeed, "claim")));
        if (r % 4 == 0) (id, picked[0],) = _reservedJob(id, picked[0]);
        else if (r % 8 == 1) (id, picked[0]) = _secondAward(id, picked[0]);
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        Job memory j = js[picked[0]];

        uint64 closesAt = b.blockNumber + challengeWindow;
        if (block.number <= closesAt) {
            // A quarter of the time, check the window is enforced; else wait for it to close.
            if (leafSeed % 4 == 0) {
                _tryClaim(id, b, js, picked, abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt), "claim");
                return;
            }
            vm.roll(closesAt + 1);
        }
        // A quarter of the time, top up the deposit to the whole price; a quarter of the
        // time to exactly what the client's reservation for the prover leaves of it (the
        // price split, the deposit emptied); else leave it (the claim may fail).
        uint256 topUp = (r >> 8) % 4;
        if (topUp == 0) _topUp(j.leaf.client, j.leaf.price);
        else if (topUp == 1) _topUp(j.leaf.client, _beyondReserved(j.leaf.client, b.prover, j.leaf.price));
        if (!_ofAwardedStatement(j.leaf)) _count("claim: leaf of another statement");
        _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim");
    }

    /// Claims a random subset of a batch's jobs (sometimes one twice) in one call; one time
    /// in four, if there is one, every unpaid job of a batch of one client that holds a
    /// reservation for the batch's prover (so that the reservation pays the first jobs and
    /// the deposit, if need be, the rest).
    function claimBatch(uint256 batchSeed, uint256 mask) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        uint256 r = uint256(keccak256(abi.encode(mask, "claimBatch")));
        uint256[] memory picked;
        bool found;
        if (r % 4 == 0) {
            uint256 index;
            (id, index, found) = _reservedJob(id, 0);
            if (found) picked = _unpaidOf(id, jobsOf[id][index].leaf.client);
        }
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        if (!found) picked = _subset(js.length, mask);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number <= closesAt) {
            if (mask % 4 == 0) expected = abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt);
            else vm.roll(closesAt + 1);
        }
        if (expected.length == 0) {
            // One time in four, top up each client's deposit to what its jobs cost; one time
            // in four to exactly what its reservation for the prover leaves of that (the
            // reservation pays the first jobs, the deposit the rest, and both end empty);
            // one time in four to half of what its jobs cost; else leave it.
            _topUpFor(b.prover, js, picked, (r >> 8) % 4);
            expected = _batchPayError(b, js, picked);
        }
        _tryClaim(id, b, js, picked, expected, "claimBatch");
    }

    /// A client's second award of a job, to another prover: dishonest prover 1 or 2 (staked
    /// up first) commits a copy of a leaf of another prover's batch (of a job whose award
    /// to another prover was paid, if there is one), which its client awarded it too. One
    /// time in four the client buys the proof from it at once; else, after its window, the
    /// prover claims it with the client's award (the deposit topped up to the price), and
    /// half of the time claims it again. Paid is recorded per award (client, prover,
    /// nonce): the second award is paid as the first was, once (`AlreadyClaimed` again).
    function secondAward(uint256 who, uint256 seed) external {
        if (committed.length == 0) return;
        address p = provers[1 + who % 2];
        // From a hash: the fuzzer's inputs are often small numbers, whose high bits are 0.
        seed = uint256(keccak256(abi.encode(seed, "secondAward")));
        (uint256 from, uint256 index, bool found) = _copyFor(p, seed);
        if (!found) return;
        _stakeUp(p);
        Job[] memory js = new Job[](1);
        js[0] = jobsOf[from][index];
        (bool ok, uint256 id) = _tryCommit(p, js, new uint256[](1), uint64(block.timestamp + 1 hours), true);
        if (!ok) return;
        if ((seed >> 8) % 4 == 0) {
            _challengeWithheld(id, 0, watchtowers[who % watchtowers.length], seed >> 16, EARLIER, BY_CLIENT_BUYING);
            return;
        }
        Committed memory b = committed[id];
        vm.roll(b.blockNumber + challengeWindow + 1);
        _topUp(js[0].leaf.client, js[0].leaf.price);
        uint256[] memory picked = new uint256[](1);
        _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim (a second award)");
        if ((seed >> 12) % 2 == 0) {
            _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim (a second award, again)");
        }
    }

    /// A leaf, from batch `seed % batches` on, of a batch of another prover than `p`: the
    /// first of a job whose award to that prover was paid and whose award to `p` was not,
    /// else the first of a job whose award to `p` was not paid, else the first found; none
    /// if every batch is `p`'s.
    function _copyFor(address p, uint256 seed) internal view returns (uint256 id, uint256 index, bool found) {
        uint256 n = committed.length;
        bool unpaid;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (seed % n + k) % n;
            if (committed[b].prover == p) continue;
            for (uint256 i = 0; i < jobsOf[b].length; i++) {
                (bool paidToIts, bool paidToP) = _paidTo(b, i, p);
                if (paidToIts && !paidToP) return (b, i, true);
                if (!found || (!paidToP && !unpaid)) (id, index, found, unpaid) = (b, i, true, !paidToP);
            }
        }
    }

    /// Whether the award of the job of leaf `i` of batch `b` to the batch's prover was
    /// paid, and whether its award to `p` was.
    function _paidTo(uint256 b, uint256 i, address p) internal view returns (bool paidToIts, bool paidToP) {
        Job storage j = jobsOf[b][i];
        paidToIts = ghost_paymentsOf[_awardRef(j.leaf.client, committed[b].prover, j.nonce)] != 0;
        paidToP = ghost_paymentsOf[_awardRef(j.leaf.client, p, j.nonce)] != 0;
    }

    /// Tops up the deposit of each client of jobs `picked` (claimed by `p`) as `claimBatch`
    /// says: `mode` 0 to what its jobs cost, 1 to what its reservation for `p` leaves of
    /// that, 2 to half of what they cost, 3 not at all.
    function _topUpFor(address p, Job[] memory js, uint256[] memory picked, uint256 mode) internal {
        if (mode == 3) return;
        for (uint256 k = 0; k < picked.length; k++) {
            address c = js[picked[k]].leaf.client;
            uint256 sum = _sumFor(js, picked, c);
            if (mode == 0) _topUp(c, sum);
            else if (mode == 1) _topUp(c, _beyondReserved(c, p, sum));
            else _topUp(c, sum / 2);
        }
    }

    /// Claims jobs `picked` of batch `id` in one call as its prover, each with its client's
    /// award (at the price and for the statement it awarded), expecting `expected` (""
    /// for success). On success books each price, in order, as the market must take it:
    /// from the client's reservation for the batch's prover first, as much as it holds,
    /// and the rest from the client's deposit; and checks every deposit and every
    /// reservation for that prover.
    function _tryClaim(
        uint256 id,
        Committed memory b,
        Job[] memory js,
        uint256[] memory picked,
        bytes memory expected,
        string memory what
    ) internal {
        (MarketTypes.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total) = _batchClaims(b, js, picked);
        uint256 proverBefore = b.prover.balance;
        vm.prank(b.prover);
        try market.claimBatch(id, hashes, cs) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            if (b.prover.balance != proverBefore + total) _unexpected(string.concat(what, " paid a wrong amount"));
            (uint256 fromReservation, uint256 split) = _bookPaid(b.prover, js, picked, what);
            for (uint256 c = 0; c < clients.length; c++) {
                if (market.deposits(clients[c]) != ghost_deposits[clients[c]]) {
                    _unexpected(string.concat(what, " took a wrong amount"));
                }
                (uint128 reserved,) = market.reservations(clients[c], b.prover);
                if (reserved != ghost_reserved[clients[c]][b.prover]) {
                    _unexpected(string.concat(what, " took a wrong amount from a reservation"));
                }
            }
            ghost_paidOut += total;
            _count(what);
            if (fromReservation != 0) _count(string.concat(what, ": paid from a reservation"));
            if (fromReservation != 0 && fromReservation != picked.length) {
                _count(string.concat(what, ": paid from a deposit and a reservation"));
            }
            if (split != 0) _count(string.concat(what, ": a price split between a reservation and a deposit"));
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// Books jobs `picked`, paid to `p`, in order (`_book`); returns how many the
    /// reservation paid (part of), and how many it and the deposit split.
    function _bookPaid(address p, Job[] memory js, uint256[] memory picked, string memory what)
        internal
        returns (uint256 fromReservation, uint256 split)
    {
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            bytes32 ref = _awardRef(j.leaf.client, p, j.nonce);
            if (!_ofAwardedStatement(j.leaf)) {
                _unexpected(string.concat(what, " paid a leaf of another statement"));
            }
            ghost_paymentsOf[ref]++;
            ghost_paidAmountOf[ref] += j.leaf.price;
            _paidAward(j.leaf.client, j.nonce, what);
            (bool reserved, bool deposited) = _book(j.leaf.client, p, j.leaf.price, what);
            if (reserved) fromReservation++;
            if (reserved && deposited) split++;
        }
    }

    /// The first job, from batch `id` on, whose award to its batch's prover is unpaid and
    /// whose client holds a reservation for that prover, or (`id`, `index`) if there is
    /// none.
    function _reservedJob(uint256 id, uint256 index) internal view returns (uint256, uint256, bool) {
        uint256 n = committed.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (id + k) % n;
            Job[] storage js = jobsOf[b];
            for (uint256 i = 0; i < js.length; i++) {
                address c = js[i].leaf.client;
                address p = committed[b].prover;
                if (ghost_reserved[c][p] != 0 && ghost_paymentsOf[_awardRef(c, p, js[i].nonce)] == 0) {
                    return (b, i, true);
                }
            }
        }
        return (id, index, false);
    }

    /// The first job, from batch `id` on, whose award to its batch's prover is unpaid while
    /// an award of it to another prover was paid, or (`id`, `index`) if there is none.
    function _secondAward(uint256 id, uint256 index) internal returns (uint256, uint256) {
        uint256 n = committed.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (id + k) % n;
            Job[] storage js = jobsOf[b];
            for (uint256 i = 0; i < js.length; i++) {
                address c = js[i].leaf.client;
                uint64 nonce = js[i].nonce;
                if (
                    awardsPaidOf[_jobRef(c, nonce)] != 0
                        && ghost_paymentsOf[_awardRef(c, committed[b].prover, nonce)] == 0
                ) {
                    _count("claim: the second award of a job, paid to another prover before");
                    return (b, i);
                }
            }
        }
        return (id, index);
    }

    /// The indices of the jobs of client `c` in batch `id` whose award to the batch's
    /// prover is unpaid.
    function _unpaidOf(uint256 id, address c) internal view returns (uint256[] memory picked) {
        Job[] storage js = jobsOf[id];
        address p = committed[id].prover;
        picked = new uint256[](js.length);
        uint256 n;
        for (uint256 i = 0; i < js.length; i++) {
            if (js[i].leaf.client == c && ghost_paymentsOf[_awardRef(c, p, js[i].nonce)] == 0) picked[n++] = i;
        }
        assembly ("memory-safe") {
            mstore(picked, n)
        }
    }

    /// What of `amount` the client `c`'s reservation for `p` does not cover.
    function _beyondReserved(address c, address p, uint256 amount) internal view returns (uint256) {
        uint256 reserved = ghost_reserved[c][p];
        return amount > reserved ? amount - reserved : 0;
    }

    /// The indices whose bit is set in `mask`; one time in eight the first one twice.
    function _subset(uint256 n, uint256 mask) internal pure returns (uint256[] memory picked) {
        uint256 count;
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> (8 + i)) & 1 == 1) count++;
        }
        bool twice = count != 0 && (mask >> 64) % 8 == 0;
        picked = new uint256[](twice ? count + 1 : count);
        uint256 k;
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> (8 + i)) & 1 == 1) picked[k++] = i;
        }
        if (twice) picked[k] = picked[0];
    }

    function _sumFor(Job[] memory js, uint256[] memory picked, address c) internal pure returns (uint256 sum) {
        for (uint256 k = 0; k < picked.length; k++) {
            if (js[picked[k]].leaf.client == c) sum += js[picked[k]].leaf.price;
        }
    }

    /// The claims of jobs `picked`, each with its client's award (at the price and for the
    /// statement it awarded, which the market checks against the leaf's through the
    /// signature).
    function _batchClaims(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (MarketTypes.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total)
    {
        hashes = _hashes(_leavesOf(js));
        cs = new MarketTypes.BatchClaim[](picked.length);
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            MarketTypes.Award memory award = _awardOf(
                j.leaf.client, j.leaf.jobId, b.prover, ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)], b.deadline
            );
            (bytes32 r, bytes32 vs) = vm.signCompact(keyOf[j.leaf.client], market.awardDigest(award));
            cs[k] = MarketTypes.BatchClaim({
                // forge-lint: disable-next-line(unsafe-typecast)
                index: uint32(picked[k]), // batches hold at most 12 leaves here
                nonce: j.nonce,
                deadline: b.deadline,
                client: j.leaf.client,
                price: j.leaf.price,
                circuitId: j.leaf.circuitId,
                publicInputsHash: j.leaf.publicInputsHash,
                proofHash: j.leaf.proofHash,
                r: r,
                vs: vs
            });
            hashes[picked[k]] = bytes32(0);
            total += j.leaf.price;
        }
    }

    /// The first error the jobs `picked` of a batch meet, in the order the market checks
    /// them, or "". Each price comes from what is left of its client's reservation for the
    /// batch's prover first, as much as that holds, and the rest from what is left of its
    /// client's deposit.
    function _batchPayError(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (bytes memory)
    {
        uint256[] memory spent = new uint256[](clients.length);
        uint256[] memory spentReserved = new uint256[](clients.length);
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            if (j.leaf.price != ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)] || !_ofAwardedStatement(j.leaf)) {
                // The client signed its award at another price, or for another statement,
                // than the leaf's.
                return abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
            }
            uint256 c = _clientIndex(j.leaf.client);
            bool paidNow;
            for (uint256 e = 0; e < k; e++) {
                // The same job earlier in this call (the same leaf, or another leaf for it):
                // the same award, to the batch's prover.
                Job memory earlier = js[picked[e]];
                if (earlier.leaf.client == j.leaf.client && earlier.nonce == j.nonce) paidNow = true;
            }
            uint256 available = ghost_deposits[j.leaf.client] - spent[c];
            uint256 reserved = ghost_reserved[j.leaf.client][b.prover] - spentReserved[c];
            bytes memory err = _payError(b, j, available, reserved, paidNow);
            if (err.length != 0) return err;
            uint256 fromReservation = _min(reserved, j.leaf.price);
            spentReserved[c] += fromReservation;
            spent[c] += j.leaf.price - fromReservation;
        }
        return "";
    }

    /// The first error paying job `j` of batch `b` meets (`available`: the client's deposit
    /// left; `reserved`: its reservation for the batch's prover left), in the order the
    /// market checks, or "".
    function _payError(Committed memory b, Job memory j, uint256 available, uint256 reserved, bool paidNow)
        internal
        view
        returns (bytes memory)
    {
        if (b.timestamp > b.deadline) {
            return abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, b.deadline);
        }
        if (disputedModel(b.prover)) {
            bytes32 key = _jobKey(b.prover, j.leaf.client, j.leaf.jobId);
            if (ghost_slashesOf[key] != 0) {
                return abi.encodeWithSelector(MarketTypes.JobSlashed.selector, j.leaf.jobId);
            }
            uint256 pending = ghost_pendingOf[key];
            if (pending != 0) return abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending - 1);
        }
        if (paidNow || ghost_paymentsOf[_awardRef(j.leaf.client, b.prover, j.nonce)] != 0) {
            return abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, j.leaf.jobId);
        }
        if (available < j.leaf.price - _min(reserved, j.leaf.price)) {
            return abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, available + reserved, j.leaf.price);
        }
        return "";
    }
}
