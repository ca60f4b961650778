// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Test.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {HandlerModel} from "./HandlerModel.sol";
import {proverState} from "./HandlerState.sol";

/// The invariant handler's actions on stakes, deposits, credits, reservations, circuit
/// registrations and time.
abstract contract HandlerFunds is HandlerModel {
    // ---- stake ---------------------------------------------------------------------------

    function register(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _unregistered);
        if (!found) return;
        amount = _bound(amount, minStake, 10 * minStake);
        if (_register(p, amount)) _count("register");
    }

    function addStake(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _registered);
        if (!found) return;
        amount = _bound(amount, 1, 5 ether);
        if (_addStake(p, amount)) _count("addStake");
    }

    /// Unbonds part of a prover's stake; one time in four all of it but less than one slash
    /// (so that what stays can be exhausted by slashes).
    function unbond(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _bonded);
        if (!found) return;
        ProverModel storage m = model[p];
        if ((who >> 128) % 4 == 0) amount = m.stake - amount % (m.stake < slashPerJob ? m.stake : slashPerJob);
        else amount = _bound(amount, 1, m.stake);
        vm.recordLogs();
        vm.prank(p);
        try market.unbond(amount) {
            m.stake -= amount;
            m.unbonding += amount;
            m.unbondableAt = uint64(block.number) + unbondingDelay;
            m.unbondableAfter = uint64(block.timestamp) + maxDeadline + deadlinePeriod + 1;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.UnbondingStarted.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount, m.unbondableAt, m.unbondableAfter))
            ) _unexpected("unbond: wrong UnbondingStarted event");
            _count("unbond");
        } catch {
            _unexpected("unbond reverted");
        }
    }

    /// Withdraws a prover's unbonded stake. Three times in four the chain first rolls to
    /// the block it may be withdrawn from; of those, half of the time the clock also moves
    /// on to the time it may be withdrawn from (`maxDeadline + deadlineChallengePeriod`
    /// after the unbonding) and one time in six to one second before it. Else the delays
    /// are checked as they stand.
    function withdrawStake(uint256 who) external {
        (address p, bool found) = _first(provers, who, _unbonding);
        if (!found) return;
        ProverModel storage m = model[p];
        uint256 mode = (who >> 128) % 8;
        if (mode < 6 && block.number < m.unbondableAt) vm.roll(m.unbondableAt);
        // forge-lint: disable-next-line(block-timestamp)
        if (mode < 3 && block.timestamp < m.unbondableAfter) vm.warp(m.unbondableAfter);
        // forge-lint: disable-next-line(block-timestamp)
        else if (mode == 3 && block.timestamp + 1 < m.unbondableAfter) vm.warp(m.unbondableAfter - 1);
        uint32 open = openChallengesOf(p);
        uint256 amount = m.unbonding;
        // forge-lint: disable-next-line(block-timestamp)
        bool tooSoon = block.timestamp < m.unbondableAfter;
        bytes memory expected;
        if (block.number < m.unbondableAt) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, m.unbondableAt);
        } else if (tooSoon) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, m.unbondableAfter);
        } else if (open != 0) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeOpen.selector, open);
        }
        // The debt is burned first, out of the unbonding stake.
        uint256 owed = m.debt < amount ? m.debt : amount;
        uint256 before = p.balance;
        vm.recordLogs();
        vm.prank(p);
        try market.withdrawStake() {
            if (expected.length != 0) _unexpected("withdrawStake succeeded where it should revert");
            if (p.balance != before + amount - owed) _unexpected("withdrawStake paid a wrong amount");
            _checkWithdrawn(p, amount - owed, owed);
            m.unbonding = 0;
            m.debt -= owed;
            ghost_paidOut += amount - owed;
            ghost_burned += owed;
            if (proverState(market, p).debt != m.debt) _unexpected("withdrawStake left a wrong debt");
            _count(owed == 0 ? "withdrawStake" : "withdrawStake (debt burned)");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawStake");
            if (block.number >= m.unbondableAt && tooSoon) _count("withdrawStake reverted TooEarly (time)");
        }
    }

    /// The call just made emitted exactly `StakeWithdrawn(p, paid, burned)` of the market.
    function _checkWithdrawn(address p, uint256 paid, uint256 burned) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != MarketTypes.StakeWithdrawn.selector) {
                continue;
            }
            n++;
            if (
                logs[i].topics[1] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[i].data) != keccak256(abi.encode(paid, burned))
            ) _unexpected("withdrawStake: wrong StakeWithdrawn event");
        }
        if (n != 1) _unexpected("withdrawStake: not one StakeWithdrawn event");
    }

    // ---- deposits and credits ------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        address c = clients[who % clients.length];
        amount = _bound(amount, 1, 10 ether);
        _deposit(c, amount);
        _count("deposit");
    }

    function requestDepositWithdrawal(uint256 who, uint256 amount) external {
        (address c, bool found) = _first(clients, who, _hasDeposit);
        if (!found) return;
        amount = _bound(amount, 1, ghost_deposits[c]);
        vm.prank(c);
        try market.requestDepositWithdrawal(amount) {
            ghost_requested[c] = amount;
            ghost_withdrawableAt[c] = uint64(block.number) + depositDelay;
            _count("requestDepositWithdrawal");
        } catch {
            _unexpected("requestDepositWithdrawal reverted");
        }
    }

    /// Withdraws a requested deposit, mostly of a client whose request has not lapsed. Three
    /// times in eight the chain first rolls to the request's first block, one time in eight
    /// to its last, one time in eight to the block it lapses at; else the window is checked.
    function withdrawDeposit(uint256 who) external {
        (address c, bool found) = _first(clients, who, (who >> 136) % 4 == 0 ? _requested : _liveRequest);
        if (!found) (c, found) = _first(clients, who, _requested);
        if (!found) return;
        uint64 at = ghost_withdrawableAt[c];
        uint64 lapsesAt = at + depositDelay;
        uint256 mode = (who >> 128) % 8;
        if (mode < 3 && block.number < at) vm.roll(at);
        else if (mode == 3 && block.number + 1 < lapsesAt) vm.roll(lapsesAt - 1);
        else if (mode == 4 && block.number < lapsesAt) vm.roll(lapsesAt);
        uint256 requested = ghost_requested[c];
        uint256 available = ghost_deposits[c];
        uint256 amount = requested < available ? requested : available;
        bytes memory expected;
        if (block.number < at) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, at);
        } else if (block.number >= lapsesAt) {
            expected = abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsesAt);
        } else if (amount == 0) {
            expected = abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector);
        }
        uint256 before = c.balance;
        vm.prank(c);
        try market.withdrawDeposit() {
            if (expected.length != 0) _unexpected("withdrawDeposit succeeded where it should revert");
            if (c.balance != before + amount) _unexpected("withdrawDeposit paid a wrong amount");
            ghost_requested[c] = 0;
            ghost_deposits[c] -= amount;
            ghost_paidOut += amount;
            _count("withdrawDeposit");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawDeposit");
        }
    }

    /// Withdraws the credits of the first account owed some from `who` on (one time in four,
    /// or when none is owed any, of account `who`, which must fail unless it is owed some).
    function withdrawCredits(uint256 who) external {
        address a = accounts[who % accounts.length];
        if ((who >> 128) % 4 != 0) {
            (address creditor, bool found) = _first(accounts, who, _owed);
            if (found) a = creditor;
        }
        uint256 owed = ghost_credits[a];
        bytes memory expected = owed == 0 ? abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector) : bytes("");
        uint256 before = a.balance;
        vm.prank(a);
        try market.withdrawCredits() {
            if (expected.length != 0) _unexpected("withdrawCredits succeeded with nothing owed");
            if (a.balance != before + owed) _unexpected("withdrawCredits paid a wrong amount");
            ghost_credits[a] = 0;
            ghost_paidOut += owed;
            _count("withdrawCredits");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawCredits");
        }
    }

    // ---- reservations ----------------------------------------------------------------------

    /// A client reserves part of its deposit for a prover, until a time from now to four
    /// hours on, or the reservation's current `until` if that is later. Three times in four
    /// the pair is one that claims meet: the prover of a committed batch and the client of
    /// one of its leaves. One time in eight it reserves nothing (only the time may move),
    /// one time in four all of its deposit (so that later claims fall to the reservation),
    /// one time in eight it keeps exactly the current `until`; one time in eight it asks
    /// for more than its deposit, and one time in eight for an `until` earlier than a
    /// reservation's (the first one from this pair on that has one): both refused.
    function reserve(uint256 who, uint256 amount, uint256 until) external {
        uint256 r = uint256(keccak256(abi.encode(who, "reserve")));
        uint256 mode = (r >> 128) % 8;
        (address c, address p) = _reservationPair(r, mode == 3);
        uint256 balance = ghost_deposits[c];
        uint64 current = ghost_reservedUntil[c][p];
        if (mode == 0) amount = 0;
        else if (mode == 1) amount = balance + _bound(amount, 1, 1 ether);
        else if (mode == 4 || mode == 5) amount = balance;
        else amount = _bound(amount, 0, balance);
        uint64 u = uint64(block.timestamp + _bound(until, 0, 4 hours));
        if (u < current) u = current;
        if (mode == 2) u = current;
        else if (mode == 3 && current != 0) u = uint64(_bound(until, 0, current - 1));
        bytes memory expected;
        if (u < current) {
            expected = abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, current);
        } else if (amount > balance) {
            expected = abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, balance, amount);
        }
        vm.recordLogs();
        vm.prank(c);
        try market.reserve(p, amount, u) {
            if (expected.length != 0) _unexpected("reserve succeeded where it should revert");
            ghost_deposits[c] -= amount;
            ghost_reserved[c][p] += amount;
            ghost_reservedUntil[c][p] = u;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.Reserved.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(c)))
                    || logs[0].topics[2] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount, ghost_reserved[c][p], u))
            ) _unexpected("reserve: wrong Reserved event");
            if (market.deposits(c) != ghost_deposits[c]) _unexpected("reserve took a wrong amount");
            _count(amount == 0 ? "reserve (nothing)" : "reserve");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "reserve");
        }
    }

    /// The (client, prover) pair `reserve` acts on (see there); with `dated`, the first
    /// pair from it on whose reservation has an `until`, if any.
    function _reservationPair(uint256 r, bool dated) internal view returns (address c, address p) {
        c = clients[r % clients.length];
        p = provers[(r >> 64) % provers.length];
        if (committed.length != 0 && (r >> 192) % 4 != 0) {
            uint256 id = (r >> 8) % committed.length;
            p = committed[id].prover;
            c = jobsOf[id][(r >> 16) % jobsOf[id].length].leaf.client;
        }
        if (!dated || ghost_reservedUntil[c][p] != 0) return (c, p);
        uint256 n = clients.length * provers.length;
        uint256 from = _clientIndex(c) * provers.length + _proverIndex(p);
        for (uint256 k = 1; k < n; k++) {
            uint256 i = (from + k) % n;
            (address c2, address p2) = (clients[i / provers.length], provers[i % provers.length]);
            if (ghost_reservedUntil[c2][p2] != 0) return (c2, p2);
        }
    }

    function _proverIndex(address p) internal view returns (uint256) {
        for (uint256 i = 0; i < provers.length; i++) {
            if (provers[i] == p) return i;
        }
        revert("unknown prover");
    }

    /// A client takes back its reservation for a prover: the first reservation, from `who`
    /// on, that holds something (one time in eight, or when none does, any). Three times in
    /// eight the clock first moves past its `until`, one time in eight exactly to it (too
    /// early); else the time is checked as it stands.
    function release(uint256 who) external {
        uint256 r = uint256(keccak256(abi.encode(who, "release")));
        uint256 n = clients.length * provers.length;
        uint256 pick = r % n;
        if ((r >> 136) % 8 != 0) {
            for (uint256 k = 0; k < n; k++) {
                uint256 i = (r % n + k) % n;
                if (ghost_reserved[clients[i / provers.length]][provers[i % provers.length]] != 0) {
                    pick = i;
                    break;
                }
            }
        }
        address c = clients[pick / provers.length];
        address p = provers[pick % provers.length];
        uint64 until = ghost_reservedUntil[c][p];
        uint256 mode = (r >> 128) % 8;
        // forge-lint: disable-next-line(block-timestamp)
        if (mode < 3 && block.timestamp <= until) vm.warp(uint256(until) + 1);
        // forge-lint: disable-next-line(block-timestamp)
        else if (mode == 3 && block.timestamp < until) vm.warp(until);
        uint256 amount = ghost_reserved[c][p];
        bytes memory expected;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= until) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, until);
        } else if (amount == 0) {
            expected = abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector);
        }
        uint256 before = c.balance;
        vm.recordLogs();
        vm.prank(c);
        try market.release(p) {
            if (expected.length != 0) _unexpected("release succeeded where it should revert");
            ghost_reserved[c][p] = 0;
            ghost_deposits[c] += amount;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.ReservationReleased.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(c)))
                    || logs[0].topics[2] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount))
            ) _unexpected("release: wrong ReservationReleased event");
            if (c.balance != before) _unexpected("release sent ether");
            if (market.deposits(c) != ghost_deposits[c]) _unexpected("release returned a wrong amount");
            _count("release");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "release");
        }
    }

    // ---- circuits --------------------------------------------------------------------------

    /// Any account registers a circuit. Refused: the stand-in's code with a sample of its
    /// circuit's shape, from its own deployment or another, even a sample it rejects (the
    /// live id: `CircuitExists`); an account delegated to the stand-in, a verifier without
    /// code, an empty sample proof (`InvalidParameters`); a sample the stand-in rejects, of
    /// another shape (`SampleProofRejected`); a verifier that accepts anything, and the
    /// stand-in's valid sample shifted by a word (two public inputs), whose flipped byte
    /// the stand-in never reads (`VerifierAcceptsCorruptedProof`). Registered: the
    /// stand-in's valid sample with 1 to 4 bytes more (which it ignores), once per length,
    /// under an id of its own that no leaf of the handler names, so no verdict changes
    /// (`invariant_theStandInsCircuitNeverChanges`).
    function registerCircuit(uint256 seed) external {
        uint256 mode = seed % 8;
        uint256 x = uint256(keccak256(abi.encode(seed, "sample")));
        bytes32 tag = keccak256(abi.encode(x));
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = x;
        bytes memory proof = abi.encode(tag, seed);
        address verifier = standIn;
        address caller = accounts[(seed >> 8) % accounts.length];
        bytes32 newId;
        bytes memory expected = abi.encodeWithSelector(CircuitStore.InvalidParameters.selector);
        if (mode == 0) {
            if ((seed >> 16) % 2 == 0) verifier = standInCopy;
            if ((seed >> 17) % 2 == 0) proof = abi.encode(~tag, seed);
            expected = abi.encodeWithSelector(CircuitStore.CircuitExists.selector, circuit);
        } else if (mode == 1) {
            verifier = delegatedStandIn;
        } else if (mode == 2) {
            verifier = address(uint160(uint256(keccak256(abi.encode(seed, "no code")))));
        } else if (mode == 3) {
            proof = "";
        } else if (mode == 4) {
            proof = abi.encode(~tag, seed, seed);
            expected = abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector);
        } else if (mode == 5) {
            verifier = (seed >> 16) % 2 == 0 ? acceptingVerifier : standIn;
            if (verifier == standIn) {
                inputs = new uint256[](2);
                (inputs[0], inputs[1]) = (x, uint256(tag));
                proof = abi.encode(seed, seed);
            }
            expected = abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        } else {
            proof = bytes.concat(proof, new bytes(1 + (seed >> 16) % 4));
            newId = market.circuitIdOf(standIn.codehash, 1, proof.length);
            expected = registeredByHandler[newId]
                ? abi.encodeWithSelector(CircuitStore.CircuitExists.selector, newId)
                : bytes("");
        }
        vm.prank(caller);
        try market.registerCircuit(verifier, inputs, proof) returns (bytes32 id) {
            if (expected.length != 0) _unexpected("registerCircuit succeeded where it should revert");
            else if (id != newId) _unexpected("registerCircuit returned another id");
            registeredByHandler[id] = true;
            _count("registerCircuit (a longer sample, its own id)");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "registerCircuit");
        }
    }

    // ---- time ----------------------------------------------------------------------------

    function roll(uint256 blocks) external {
        blocks = _bound(blocks, 1, 15);
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
        _count("roll");
    }
}
