// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Test.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {BatchLeaf} from "../../src/BatchLeaf.sol";
import {MerkleBuilder} from "../utils/MarketFixture.sol";
import {HandlerState, proverState} from "./HandlerState.sol";

/// The invariant handler's views for the invariants, and its model: the predicates and
/// pickers its actions start from, the predicted slashes and errors, and the helpers the
/// action groups share (test/invariant/).
abstract contract HandlerModel is HandlerState {
    // ---- views for the invariants -------------------------------------------------------

    function proverAt(uint256 i) external view returns (address) {
        return provers[i];
    }

    function clientAt(uint256 i) external view returns (address) {
        return clients[i];
    }

    function actorCount() external pure returns (uint256) {
        return 3;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function accountAt(uint256 i) external view returns (address) {
        return accounts[i];
    }

    function jobCount() external view returns (uint256) {
        return jobRefs.length;
    }

    function jobAt(uint256 i) external view returns (address client, uint64 nonce) {
        return (jobRefs[i].client, jobRefs[i].nonce);
    }

    function jobKeyCount() external view returns (uint256) {
        return jobKeys.length;
    }

    function jobKeyAt(uint256 i) external view returns (bytes32) {
        return jobKeys[i];
    }

    function batchCount() external view returns (uint256) {
        return committed.length;
    }

    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

    /// Challenge `id`'s status, whether it bought the proof, and what the market holds for
    /// it while it is open: its bond, and a bought proof's price.
    function challengeAt(uint256 id)
        external
        view
        returns (MarketTypes.ChallengeStatus status, bool bought, uint256 held)
    {
        Ch storage c = challenges[id];
        return (c.status, c.bought, c.bond + (c.bought ? c.price : 0));
    }

    function modelOf(address p) external view returns (ProverModel memory) {
        return model[p];
    }

    function slashCount() external view returns (uint256) {
        return slashRecords.length;
    }

    function slashAt(uint256 i) external view returns (SlashRecord memory) {
        return slashRecords[i];
    }

    function commitCount() external view returns (uint256) {
        return commitRecords.length;
    }

    function commitAt(uint256 i) external view returns (CommitRecord memory) {
        return commitRecords[i];
    }

    /// Challenges against `p` that are open in the handler's model.
    function openChallengesOf(address p) public view returns (uint32 n) {
        for (uint256 i = 0; i < challenges.length; i++) {
            if (challenges[i].prover == p && challenges[i].status == MarketTypes.ChallengeStatus.Open) n++;
        }
    }

    /// Whether the market must look up `p`'s jobs on claims: a challenge against it is open,
    /// or it was slashed.
    function disputedModel(address p) public view returns (bool) {
        return openChallengesOf(p) != 0 || model[p].slashedJobs != 0;
    }

    /// The leaves of `p` committed in the current epoch of `challengeWindow +
    /// responseWindow + 1` blocks and in the one before, counted from the batches (open
    /// challenges do not count again), and what its bonded stake covers beyond its debt.
    function exposureModel(address p) public view returns (uint256 atRisk, uint256 covered) {
        uint256 epochLength = uint256(challengeWindow) + responseWindow + 1;
        uint256 epoch = block.number / epochLength;
        for (uint256 k = committed.length; k > 0; k--) {
            Committed storage b = committed[k - 1];
            if (b.blockNumber / epochLength + 1 < epoch) break; // batches are in block order
            if (b.prover == p) atRisk += jobsOf[k - 1].length;
        }
        ProverModel storage m = model[p];
        covered = m.stake > m.debt ? (m.stake - m.debt) / slashPerJob : 0;
    }

    /// Batch `id` as it was published, the leaves its transaction's input holds, and for
    /// each whether `isFinal` must hold for it now: its window has closed, its circuit is
    /// registered, and its job is neither slashed nor under challenge (looked up only while
    /// its prover is disputed, as the market does).
    function publishedBatch(uint256 id)
        external
        view
        returns (Published memory pub, MarketTypes.Leaf[] memory leaves, bool[] memory finals)
    {
        pub = published[id];
        leaves = abi.decode(pub.input, (MarketTypes.Leaf[]));
        finals = new bool[](leaves.length);
        Committed storage b = committed[id];
        if (block.number <= b.blockNumber + challengeWindow) return (pub, leaves, finals);
        bool disputed = model[b.prover].slashedJobs != 0 || openChallengesOf(b.prover) != 0;
        for (uint256 i = 0; i < leaves.length; i++) {
            bytes32 key = disputed ? _jobKey(b.prover, leaves[i].client, leaves[i].jobId) : bytes32(0);
            // A leaf of a circuit nobody registered is never final.
            (address verifier,,,,) = market.circuits(leaves[i].circuitId);
            bool registered = verifier != address(0);
            finals[i] = registered && (!disputed || (ghost_slashesOf[key] == 0 && ghost_pendingOf[key] == 0));
        }
    }

    /// The leaves of refused batches kept, with their paths.
    function refusedLeaves() external view returns (MarketTypes.Leaf[] memory leaves, bytes32[][] memory paths) {
        leaves = new MarketTypes.Leaf[](phantoms.length);
        paths = new bytes32[][](phantoms.length);
        for (uint256 i = 0; i < phantoms.length; i++) {
            (leaves[i], paths[i]) = (phantoms[i].leaf, phantoms[i].path);
        }
    }

    /// The client's deposit less a withdrawal request that has not lapsed.
    function freeDepositModel(address c) external view returns (uint256) {
        uint256 balance = ghost_deposits[c];
        uint256 requested = ghost_requested[c];
        if (requested == 0 || block.number >= uint256(ghost_withdrawableAt[c]) + depositDelay) return balance;
        return requested >= balance ? 0 : balance - requested;
    }

    function jobRef(address client, uint64 nonce) external pure returns (bytes32) {
        return _jobRef(client, nonce);
    }

    function awardRef(address client, address prover, uint64 nonce) external pure returns (bytes32) {
        return _awardRef(client, prover, nonce);
    }

    /// The public inputs hash of the statement with the one public input `input`.
    function _inputsHashOf(uint256 input) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(input));
    }

    function _statementRef(address c, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(c, jobId));
    }

    /// Whether `l` is a leaf of the statement its job was awarded for.
    function _ofAwardedStatement(MarketTypes.Leaf memory l) internal view returns (bool) {
        return l.circuitId == circuit && l.publicInputsHash == awardedInputsHash[_statementRef(l.client, l.jobId)];
    }

    /// The award of job `jobId` of client `c` to `p` at `price`, due at `deadline`, for the
    /// statement the client awarded the job for.
    function _awardOf(address c, bytes32 jobId, address p, uint256 price, uint64 deadline)
        internal
        view
        returns (MarketTypes.Award memory)
    {
        return MarketTypes.Award({
            jobId: jobId,
            prover: p,
            price: price,
            deadline: deadline,
            circuitId: circuit,
            publicInputsHash: awardedInputsHash[_statementRef(c, jobId)]
        });
    }

    function _kindName(uint8 kind) internal pure returns (string memory) {
        if (kind == UNREGISTERED) return " (unregistered circuit)";
        if (kind == EXTRA_INPUT) return " (one input too many)";
        if (kind == LONG_PROOF) return " (proof too long)";
        return "";
    }

    /// The public inputs of `j`'s leaf, and if `extra` one more: `tag`, with which
    /// `inputs ‖ proof` of a valid plain leaf starts as the stand-in accepts (`input ‖ tag
    /// ‖ ...`), so only the market's input count refuses it.
    function _inputsOf(Job memory j, bool extra) internal pure returns (uint256[] memory inputs) {
        uint256 n = j.kind == EXTRA_INPUT ? 2 : 1;
        inputs = new uint256[](extra ? n + 1 : n);
        inputs[0] = j.input;
        if (n == 2) inputs[1] = j.extraInput;
        if (extra) inputs[n] = uint256(keccak256(abi.encode(j.input)));
    }

    function _knowKey(bytes32 key) internal {
        if (!knownKey[key]) {
            knownKey[key] = true;
            jobKeys.push(key);
        }
    }

    /// Books the price of a job of client `c` paid to prover `p` as the market takes it:
    /// from the reservation for `p` first, as much as it holds, and the rest from the
    /// deposit; returns whether the reservation paid part of it and whether the deposit
    /// did.
    function _book(address c, address p, uint256 price, string memory what)
        internal
        returns (bool reserved, bool deposited)
    {
        uint256 fromReservation = _min(ghost_reserved[c][p], price);
        uint256 rest = price - fromReservation;
        if (ghost_deposits[c] < rest) {
            _unexpected(string.concat(what, " paid a job that the reservation and the deposit do not cover"));
            return (false, false);
        }
        ghost_reserved[c][p] -= fromReservation;
        ghost_deposits[c] -= rest;
        return (fromReservation != 0, rest != 0);
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    // ---- internals -------------------------------------------------------------------------

    /// The first account of `list` from index `who` on (wrapping around) that `fits`, and
    /// whether there is one: handlers act on an account the action fits rather than return.
    function _first(address[] storage list, uint256 who, function(address) internal view returns (bool) fits)
        internal
        view
        returns (address, bool)
    {
        uint256 n = list.length;
        for (uint256 k = 0; k < n; k++) {
            address a = list[(who % n + k) % n];
            if (fits(a)) return (a, true);
        }
        return (address(0), false);
    }

    function _unregistered(address p) internal view returns (bool) {
        return !model[p].registered;
    }

    function _registered(address p) internal view returns (bool) {
        return model[p].registered;
    }

    function _staked(address p) internal view returns (bool) {
        return model[p].registered && model[p].stake >= minStake;
    }

    /// Registered with some bonded stake (what `unbond` needs).
    function _bonded(address p) internal view returns (bool) {
        return model[p].registered && model[p].stake != 0;
    }

    function _unbonding(address p) internal view returns (bool) {
        return model[p].unbonding != 0;
    }

    /// A registered dishonest prover holding (bonded and unbonding) less than one slash.
    function _belowOneSlash(address p) internal view returns (bool) {
        ProverModel storage m = model[p];
        return p != honest && m.registered && m.stake + m.unbonding < slashPerJob;
    }

    function _hasDeposit(address c) internal view returns (bool) {
        return ghost_deposits[c] != 0;
    }

    function _requested(address c) internal view returns (bool) {
        return ghost_requested[c] != 0;
    }

    /// A withdrawal request that has not lapsed.
    function _liveRequest(address c) internal view returns (bool) {
        return ghost_requested[c] != 0 && block.number < uint256(ghost_withdrawableAt[c]) + depositDelay;
    }

    function _owed(address a) internal view returns (bool) {
        return ghost_credits[a] != 0;
    }

    /// A batch whose challenge window is still open, the newest first (else, or one time in
    /// four, any batch): challenges need open windows, and claims keep closing them.
    function _pickBatch(uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 k = committed.length; k > 0; k--) {
                if (block.number <= committed[k - 1].blockNumber + challengeWindow) return k - 1;
            }
        }
        return (seed >> 8) % committed.length;
    }

    /// An equivocation whose later batch's window is open, the newest first (else, or one
    /// time in four, any).
    function _pickPair(uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 k = equivocations.length; k > 0; k--) {
                Pair storage e = equivocations[k - 1];
                uint64 later = committed[e.batchB].blockNumber; // B was committed after A
                if (block.number <= later + challengeWindow) return k - 1;
            }
        }
        return (seed >> 8) % equivocations.length;
    }

    /// An open challenge of `fault` still in its response window if there is one, else any
    /// challenge of `fault` (one time in four, or if there is none, any challenge).
    function _pickChallenge(uint256 seed, MarketTypes.Fault fault) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            uint256 ofFault = n;
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                Ch storage c = challenges[id];
                if (c.fault != fault) continue;
                if (c.status == MarketTypes.ChallengeStatus.Open && block.number <= c.respondBy) return id;
                if (ofFault == n) ofFault = id;
            }
            if (ofFault != n) return ofFault;
        }
        return start;
    }

    /// One time in eight, the newest challenge of `fault` that was answered, if any.
    function _pickAnswered(uint256 seed, MarketTypes.Fault fault) internal view returns (bool found, uint256 id) {
        if (seed % 8 != 0) return (false, 0);
        for (uint256 k = challenges.length; k > 0; k--) {
            Ch storage c = challenges[k - 1];
            if (c.fault == fault && c.status == MarketTypes.ChallengeStatus.Answered) return (true, k - 1);
        }
    }

    /// An open challenge if there is one (one time in four, or if there is none, any).
    function _pickOpen(uint256 seed) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                if (challenges[id].status == MarketTypes.ChallengeStatus.Open) return id;
            }
        }
        return start;
    }

    /// The error opening a challenge of `fault` on `key` meets (slashed first, then
    /// pending, then answered before), or "".
    function _openError(bytes32 key, bytes32 jobId, MarketTypes.Fault fault) internal view returns (bytes memory) {
        if (ghost_slashesOf[key] != 0) return abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, jobId);
        uint256 pending = ghost_pendingOf[key];
        if (pending != 0) return abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending - 1);
        if (_answeredBefore(key, fault)) return abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, jobId);
        return "";
    }

    function _answeredBefore(bytes32 key, MarketTypes.Fault fault) internal view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return ghost_answeredFaults[key] & (1 << uint8(fault)) != 0;
    }

    function _opened(Ch memory c, bytes32 key) internal {
        challenges.push(c);
        ghost_pendingOf[key] = challenges.length;
    }

    function _answered(uint256 id) internal {
        Ch storage c = challenges[id];
        c.status = MarketTypes.ChallengeStatus.Answered;
        bytes32 key = _jobKey(c.prover, c.client, c.jobId);
        ghost_pendingOf[key] = 0;
        // forge-lint: disable-next-line(incorrect-shift)
        ghost_answeredFaults[key] |= 1 << uint8(c.fault);
        // A client that bought the proof gets its bond back and the prover the price (what
        // a claim would have paid it); else the prover takes the bond.
        if (c.bought) {
            ghost_credits[c.challenger] += c.bond;
            ghost_credits[c.prover] += c.price;
            ghost_paidAmountOf[_awardRef(c.client, c.prover, jobsOf[c.batchId][c.index].nonce)] += c.price;
            _count("answered: a bought proof (the price to the prover, the bond back)");
        } else {
            ghost_credits[c.prover] += c.bond;
        }
    }

    /// Whether a leaf of a batch of block `committedAt` still counts at risk.
    function _stillAtRisk(uint256 committedAt) internal view returns (bool) {
        uint256 epochLength = uint256(challengeWindow) + responseWindow + 1;
        return committedAt / epochLength + 1 >= block.number / epochLength;
    }

    /// The slash of `prover` for a job of `price`, as the model implies it. Of a leaf at
    /// risk (`atRisk`): `slashPerJob`, or all the prover has left if less. Of a job whose
    /// leaf is not at risk: only what stake and unbonding hold beyond the debt and
    /// `slashPerJob` for each leaf at risk, at most `slashPerJob`; the rest is owed.
    function _predictSlash(
        address prover,
        address client,
        bytes32 jobId,
        uint256 price,
        MarketTypes.Fault fault,
        address challenger,
        bool atRisk
    ) internal view returns (Slash memory s) {
        s.prover = prover;
        s.client = client;
        s.jobId = jobId;
        s.key = _jobKey(prover, client, jobId);
        s.fault = fault;
        s.challenger = challenger;
        s.price = price;
        s.stake = model[prover].stake;
        s.unbonding = model[prover].unbonding;
        s.atRisk = atRisk;
        uint256 available = s.stake + s.unbonding;
        s.amount = slashPerJob;
        if (!atRisk) {
            (uint256 leavesAtRisk,) = exposureModel(prover);
            uint256 held = model[prover].debt + leavesAtRisk * slashPerJob;
            uint256 free = available > held ? available - held : 0;
            if (s.amount > free) {
                s.debtAdded = s.amount - free;
                s.amount = free;
            }
        }
        if (s.amount > available) s.amount = available;
        s.reward = s.amount * rewardBps / 10_000;
        s.refund = s.amount * refundBps / 10_000;
        if (s.refund > price) s.refund = price;
        s.burned = s.amount - s.reward - s.refund;
    }

    /// Before a call that may slash `prover`: records the call's events and returns what
    /// the prover holds (bonded and unbonding, as the market says).
    function _beforeSlash(address prover) internal returns (uint256 available) {
        vm.recordLogs();
        MarketTypes.Prover memory p = proverState(market, prover);
        debtBeforeSlash = p.debt;
        stakeBeforeSlash = p.stake;
        unbondingBeforeSlash = p.unbonding;
        (leavesAtRiskBeforeSlash,) = market.exposure(prover);
        return p.stake + p.unbonding;
    }

    /// The prover's debt, bonded and unbonding stake and leaves at risk as the market held
    /// them before the call `_beforeSlash` prepared.
    uint256 internal debtBeforeSlash;
    uint256 internal stakeBeforeSlash;
    uint256 internal unbondingBeforeSlash;
    uint256 internal leavesAtRiskBeforeSlash;

    /// After a successful call that slashes (`slashes`) or not: reads its `Slashed` events,
    /// records each with what the prover held before and after, checks them against the
    /// prediction `s` and books the predicted slash in the model.
    function _afterSlash(Slash memory s, bool slashes, uint256 available, bool leafValid) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        MarketTypes.Prover memory after_ = proverState(market, s.prover);
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != MarketTypes.Slashed.selector) continue;
            n++;
            SlashRecord memory r = _slashRecord(logs[i]);
            r.leafValid = leafValid;
            r.answeredBefore = _answeredBefore(r.key, r.fault);
            r.available = available;
            r.taken = available - (after_.stake + after_.unbonding);
            r.stakeBefore = stakeBeforeSlash;
            r.unbondingBefore = unbondingBeforeSlash;
            r.stakeAfter = after_.stake;
            r.atRisk = s.atRisk;
            r.debtBefore = debtBeforeSlash;
            r.leavesAtRisk = leavesAtRiskBeforeSlash;
            r.debtAdded = after_.debt - debtBeforeSlash;
            r.price = s.price;
            slashRecords.push(r);
            if (r.key != s.key || r.fault != s.fault) _unexpected("slashed another job or for another fault");
            if (r.amount != s.amount || r.reward != s.reward || r.refund != s.refund || r.burned != s.burned) {
                _unexpected("Slashed event with a wrong split");
            }
            if (r.prover == honest) _count("honest prover slashed");
        }
        if (n != (slashes ? 1 : 0)) _unexpected(slashes ? "no slash" : "unexpected slash");
        if (slashes) _applySlash(s);
    }

    function _slashRecord(Vm.Log memory log) internal pure returns (SlashRecord memory r) {
        r.prover = address(uint160(uint256(log.topics[1])));
        address client = address(uint160(uint256(log.topics[3])));
        r.key = _jobKey(r.prover, client, log.topics[2]);
        (r.fault,, r.amount, r.reward, r.refund, r.burned) =
            abi.decode(log.data, (MarketTypes.Fault, address, uint256, uint256, uint256, uint256));
    }

    /// Books slash `s` in the model and checks the market took it: bonded stake first,
    /// then unbonding, for a leaf at risk (the bonded stake covers it); unbonding stake
    /// first, then bonded, for any other (so it never takes the bonded cover of the leaves
    /// at risk, nor leaves unbonding stake to be withdrawn while it does).
    function _applySlash(Slash memory s) internal {
        ProverModel storage m = model[s.prover];
        uint256 fromStake;
        if (s.atRisk) fromStake = s.amount <= m.stake ? s.amount : m.stake;
        else if (s.amount > m.unbonding) fromStake = s.amount - m.unbonding;
        m.stake -= fromStake;
        m.unbonding -= s.amount - fromStake;
        m.debt += s.debtAdded;
        m.slashedJobs++;
        MarketTypes.Prover memory p = proverState(market, s.prover);
        if (p.stake != m.stake || p.unbonding != m.unbonding) _unexpected("slash took a wrong amount");
        if (p.debt != m.debt) _unexpected("slash left a wrong debt");
        ghost_deposits[s.client] += s.refund;
        if (market.deposits(s.client) != ghost_deposits[s.client]) _unexpected("slash refunded a wrong amount");
        ghost_slashesOf[s.key]++;
        ghost_credits[s.challenger] += s.reward;
        ghost_burned += s.burned;
        if (s.atRisk && s.amount < slashPerJob) _count("slash (stake exhausted)");
        if (s.debtAdded != 0) _count(s.amount == 0 ? "slash (all owed)" : "slash (surplus taken, rest owed)");
        if (s.atRisk && s.amount > s.stake) _count("slash (at risk, bonded then unbonding)");
        if (!s.atRisk && s.amount != 0 && s.unbonding != 0) {
            _count(
                fromStake == 0
                    ? "slash (no leaf at risk, from unbonding)"
                    : "slash (no leaf at risk, unbonding then bonded)"
            );
        }
    }

    function _inclusion(uint256 batchId, uint256 index) internal view returns (MarketTypes.Inclusion memory) {
        MarketTypes.Leaf[] memory leaves = _leavesOf(jobsOf[batchId]);
        return MarketTypes.Inclusion({
            batchId: batchId, leaf: leaves[index], path: MerkleBuilder.proof(_hashes(leaves), index)
        });
    }

    function _register(address p, uint256 amount) internal returns (bool ok) {
        vm.deal(p, amount);
        vm.prank(p);
        try market.register{value: amount}(keccak256(abi.encode(p))) {
            ghost_paidIn += amount;
            model[p].registered = true;
            model[p].stake = amount;
            return true;
        } catch {
            _unexpected("register reverted");
        }
    }

    function _addStake(address p, uint256 amount) internal returns (bool ok) {
        vm.deal(p, amount);
        vm.prank(p);
        try market.addStake{value: amount}() {
            ghost_paidIn += amount;
            model[p].stake += amount;
            return true;
        } catch {
            _unexpected("addStake reverted");
        }
    }

    /// Registers `p` with the minimum stake, or adds what it lacks of it beyond its debt
    /// (a prover in debt tops up to go on committing), if it has not that much.
    function _stakeUp(address p) internal {
        ProverModel storage m = model[p];
        if (!m.registered) _register(p, minStake);
        else if (m.stake < minStake + m.debt) _addStake(p, minStake + m.debt - m.stake);
    }

    function _topUp(address c, uint256 need) internal {
        uint256 available = ghost_deposits[c];
        if (available < need) _deposit(c, need - available);
    }

    function _deposit(address c, uint256 amount) internal {
        vm.deal(c, amount);
        vm.prank(c);
        try market.deposit{value: amount}() {
            ghost_paidIn += amount;
            ghost_deposits[c] += amount;
        } catch {
            _unexpected("deposit reverted");
        }
    }

    function _clientIndex(address c) internal view returns (uint256) {
        for (uint256 i = 0; i < clients.length; i++) {
            if (clients[i] == c) return i;
        }
        revert("unknown client");
    }

    function _jobRef(address client, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encode(client, nonce));
    }

    /// The key of `client`'s award of its job `nonce` to `prover`.
    function _awardRef(address client, address prover, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encode(client, prover, nonce));
    }

    function _leavesOf(Job[] memory js) internal pure returns (MarketTypes.Leaf[] memory leaves) {
        leaves = new MarketTypes.Leaf[](js.length);
        for (uint256 i = 0; i < js.length; i++) {
            leaves[i] = js[i].leaf;
        }
    }

    function _leafHash(MarketTypes.Leaf memory l) internal pure returns (bytes32) {
        return BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
    }

    function _hashes(MarketTypes.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            h[i] = _leafHash(leaves[i]);
        }
    }

    function _expectRevert(bytes memory reason, bytes memory expected, string memory what) internal {
        if (expected.length == 0) {
            _unexpected(string.concat(what, " reverted"));
        } else if (keccak256(reason) != keccak256(expected)) {
            _unexpected(string.concat(what, " reverted with another error"));
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            _count(string.concat(what, " reverted ", _errorName(bytes4(expected)))); // its selector
        }
    }

    function _count(string memory what) internal {
        if (calls[what]++ == 0) counterNames.push(what);
    }

    function counterCount() external view returns (uint256) {
        return counterNames.length;
    }

    /// The name of an error the handler predicts (for the counters).
    function _errorName(bytes4 selector) internal pure returns (string memory) {
        bytes4[37] memory selectors = [
            MarketTypes.NotRegistered.selector,
            MarketTypes.StakeTooLow.selector,
            MarketTypes.NothingToWithdraw.selector,
            MarketTypes.TooEarly.selector,
            MarketTypes.ChallengeOpen.selector,
            MarketTypes.InsufficientDeposit.selector,
            MarketTypes.WindowOpen.selector,
            MarketTypes.WindowClosed.selector,
            MarketTypes.AlreadyClaimed.selector,
            MarketTypes.CommittedAfterDeadline.selector,
            MarketTypes.BadAwardSignature.selector,
            MarketTypes.ProofRejected.selector,
            MarketTypes.AlreadySlashed.selector,
            MarketTypes.ChallengePending.selector,
            MarketTypes.JobSlashed.selector,
            MarketTypes.WrongChallenge.selector,
            MarketTypes.ChallengeNotOpen.selector,
            MarketTypes.ResponseWindowClosed.selector,
            MarketTypes.ResponseWindowOpen.selector,
            MarketTypes.DeadlineNotPassed.selector,
            MarketTypes.LeafMismatch.selector,
            MarketTypes.NotBatchProver.selector,
            MarketTypes.ExposureTooHigh.selector,
            MarketTypes.ChallengePeriodOver.selector,
            MarketTypes.AlreadyAnswered.selector,
            MarketTypes.RequestLapsed.selector,
            MarketTypes.NotDirectCall.selector,
            MarketTypes.PublicInputsMismatch.selector,
            MarketTypes.EmptyBatch.selector,
            MarketTypes.PriceTooLarge.selector,
            CircuitStore.CircuitExists.selector,
            CircuitStore.InvalidParameters.selector,
            CircuitStore.SampleProofRejected.selector,
            CircuitStore.VerifierAcceptsCorruptedProof.selector,
            MarketTypes.EvidenceNotCommitted.selector,
            MarketTypes.ReservationShortened.selector,
            MarketTypes.WrongBond.selector
        ];
        string[37] memory names = [
            "NotRegistered",
            "StakeTooLow",
            "NothingToWithdraw",
            "TooEarly",
            "ChallengeOpen",
            "InsufficientDeposit",
            "WindowOpen",
            "WindowClosed",
            "AlreadyClaimed",
            "CommittedAfterDeadline",
            "BadAwardSignature",
            "ProofRejected",
            "AlreadySlashed",
            "ChallengePending",
            "JobSlashed",
            "WrongChallenge",
            "ChallengeNotOpen",
            "ResponseWindowClosed",
            "ResponseWindowOpen",
            "DeadlineNotPassed",
            "LeafMismatch",
            "NotBatchProver",
            "ExposureTooHigh",
            "ChallengePeriodOver",
            "AlreadyAnswered",
            "RequestLapsed",
            "NotDirectCall",
            "PublicInputsMismatch",
            "EmptyBatch",
            "PriceTooLarge",
            "CircuitExists",
            "InvalidParameters",
            "SampleProofRejected",
            "VerifierAcceptsCorruptedProof",
            "EvidenceNotCommitted",
            "ReservationShortened",
            "WrongBond"
        ];
        for (uint256 i = 0; i < selectors.length; i++) {
            if (selectors[i] == selector) return names[i];
        }
        return vm.toString(abi.encodePacked(selector));
    }

    function _unexpected(string memory what) internal {
        ghost_unexpected++;
        ghost_lastUnexpected = what;
    }
}
