// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "./utils/Test.sol";
import {ProverMarket} from "../src/ProverMarket.sol";
import {BatchLeaf} from "../src/BatchLeaf.sol";
import {MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";

/// INVARIANT-SUITE STAND-IN — NOT A HALO2 VERIFIER. The invariant handler needs thousands
/// of cheap proofs, valid and invalid, for arbitrary public inputs, which the real verifier
/// fixture cannot provide (it holds one proof). This stand-in accepts
/// `input ‖ proof` (one public input, a 64-byte proof) exactly when the proof's first word
/// is keccak256 of the input, and reverts otherwise, as a Halo2 verifier does on a bad
/// proof. The unit tests (test/Challenges.t.sol) run every verifier path against the real
/// poseidon-chain-12 verifier.
contract InvariantStandInVerifier {
    fallback() external {
        if (msg.data.length != 96 || bytes32(msg.data[32:64]) != keccak256(msg.data[0:32])) revert();
    }
}

/// Drives ProverMarket from three provers, three clients and two watchtowers with bounded
/// random inputs: stakes, deposits, batches (with re-committed and equivocating leaves and
/// invalid proofs), claims, batch claims, the four challenges and their answers,
/// finalization and credit withdrawals. Each action starts at a random actor, batch or
/// challenge and takes the first one it fits (a staked prover to commit, a client with a
/// deposit to withdraw, an open challenge to answer), and returns without calling the
/// market only when none fits; the calls the market must refuse (an unstaked prover
/// committing, a closed window, a challenge no longer open) are still made a fixed share of
/// the time. Every market call goes through try/catch, so the handler itself never reverts
/// (its ghost variables would be rolled back with it): the handler predicts each outcome
/// and counts any call that did not do what it predicted in `ghost_unexpected`, which an
/// invariant keeps at zero.
contract MarketHandler is Test {
    ProverMarket internal immutable market;
    uint64 internal immutable challengeWindow;
    uint64 internal immutable responseWindow;
    uint256 internal immutable bond;
    bytes32 internal immutable circuit;

    address[] internal provers;
    address[] internal clients;
    address[] internal watchtowers;
    address[] internal accounts; // all of the above
    mapping(address => uint256) internal keyOf;

    // ---- ghosts ----------------------------------------------------------------------
    uint256 public ghost_paidIn;
    uint256 public ghost_paidOut;
    uint256 public ghost_burned;
    uint256 public ghost_unexpected;
    string public ghost_lastUnexpected;
    mapping(address => uint256) public ghost_credits;
    /// Provers ever challenged or slashed (the market's `disputed`).
    mapping(address => bool) internal ghost_disputed;
    /// Successful payments per job, keyed by `_jobRef(client, nonce)`.
    mapping(bytes32 => uint256) public ghost_paymentsOf;
    /// `Slashed` events per job key (prover, client, job id).
    mapping(bytes32 => uint256) public ghost_slashesOf;
    /// Open challenge per job key, plus one.
    mapping(bytes32 => uint256) public ghost_pendingOf;
    /// Successful calls per handler function, and the expected reverts seen (coverage).
    mapping(string => uint256) public calls;

    struct JobRef {
        address client;
        uint64 nonce;
    }

    JobRef[] internal jobRefs; // every job committed so far
    mapping(bytes32 => bool) internal knownJob;
    bytes32[] internal jobKeys; // every (prover, job) committed or challenged so far
    mapping(bytes32 => bool) internal knownKey;
    mapping(address => uint64) internal nextNonce;

    struct Committed {
        address prover;
        uint64 blockNumber;
        uint64 timestamp;
        /// The deadline of the awards of all its leaves.
        uint64 deadline;
    }

    /// A committed leaf with what the handler knows about it.
    struct Job {
        ProverMarket.Leaf leaf;
        uint64 nonce;
        uint256 input;
        bytes proof;
        bool valid;
    }

    Committed[] internal committed; // index = batch id
    mapping(uint256 => Job[]) internal jobsOf; // batch id → its leaves

    /// Two different leaves of one job in batches of one prover.
    struct Pair {
        uint256 batchA;
        uint256 indexA;
        uint256 batchB;
        uint256 indexB;
    }

    Pair[] internal equivocations;

    struct Ch {
        ProverMarket.Fault fault;
        ProverMarket.ChallengeStatus status;
        address prover;
        address client;
        bytes32 jobId;
        address challenger;
        uint64 respondBy;
        uint64 deadline;
        uint256 price;
        uint256 batchId;
        uint256 index;
    }

    Ch[] internal challenges; // index = challenge id

    /// A slash the handler expects, with the state it was predicted from.
    struct Slash {
        address prover;
        address client;
        bytes32 key;
        address challenger;
        uint256 stake;
        uint256 unbonding;
        uint256 deposit;
        uint256 amount;
        uint256 reward;
        uint256 refund;
        uint256 burned;
    }

    constructor(ProverMarket market_, bytes32 circuit_) {
        market = market_;
        challengeWindow = market_.challengeWindow();
        responseWindow = market_.responseWindow();
        bond = market_.challengeBond();
        circuit = circuit_;
        for (uint256 i = 0; i < 3; i++) {
            (address p, uint256 pk) = makeAddrAndKey(string.concat("prover", vm.toString(i)));
            provers.push(p);
            keyOf[p] = pk;
            (address c, uint256 ck) = makeAddrAndKey(string.concat("client", vm.toString(i)));
            clients.push(c);
            keyOf[c] = ck;
            accounts.push(p);
            accounts.push(c);
        }
        for (uint256 i = 0; i < 2; i++) {
            address w = makeAddr(string.concat("watchtower", vm.toString(i)));
            watchtowers.push(w);
            accounts.push(w);
        }
    }

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

    function challengeAt(uint256 id)
        external
        view
        returns (ProverMarket.ChallengeStatus status, address prover, uint256 bond_)
    {
        return (challenges[id].status, challenges[id].prover, bond);
    }

    /// Challenges against `p` that are open in the handler's model.
    function openChallengesOf(address p) public view returns (uint32 n) {
        for (uint256 i = 0; i < challenges.length; i++) {
            if (challenges[i].prover == p && challenges[i].status == ProverMarket.ChallengeStatus.Open) n++;
        }
    }

    function jobRef(address client, uint64 nonce) external pure returns (bytes32) {
        return _jobRef(client, nonce);
    }

    // ---- stake ---------------------------------------------------------------------------

    function register(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _unregistered);
        if (!found) return;
        amount = _bound(amount, market.minStake(), 10 * market.minStake());
        vm.deal(p, amount);
        vm.prank(p);
        try market.register{value: amount}(keccak256(abi.encode(p))) {
            ghost_paidIn += amount;
            calls["register"]++;
        } catch {
            _unexpected("register reverted");
        }
    }

    function addStake(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _registered);
        if (!found) return;
        amount = _bound(amount, 1, 5 ether);
        vm.deal(p, amount);
        vm.prank(p);
        try market.addStake{value: amount}() {
            ghost_paidIn += amount;
            calls["addStake"]++;
        } catch {
            _unexpected("addStake reverted");
        }
    }

    function unbond(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _bonded);
        if (!found) return;
        (uint256 stake,,,,,) = market.provers(p);
        amount = _bound(amount, 1, stake);
        vm.prank(p);
        try market.unbond(amount) {
            calls["unbond"]++;
        } catch {
            _unexpected("unbond reverted");
        }
    }

    function withdrawStake(uint256 who) external {
        (address p, bool found) = _first(provers, who, _unbonding);
        if (!found) return;
        (,, uint256 unbonding, uint64 at,,) = market.provers(p);
        if (block.number < at && (who >> 128) % 2 == 0) vm.roll(at); // else check the delay holds
        uint32 open = openChallengesOf(p);
        bytes memory expected;
        if (block.number < at) expected = abi.encodeWithSelector(ProverMarket.TooEarly.selector, at);
        else if (open != 0) expected = abi.encodeWithSelector(ProverMarket.ChallengeOpen.selector, open);
        uint256 before = p.balance;
        vm.prank(p);
        try market.withdrawStake() {
            if (expected.length != 0) _unexpected("withdrawStake succeeded where it should revert");
            if (p.balance != before + unbonding) _unexpected("withdrawStake paid a wrong amount");
            ghost_paidOut += unbonding;
            calls["withdrawStake"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawStake");
        }
    }

    // ---- deposits and credits ------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        address c = clients[who % clients.length];
        amount = _bound(amount, 1, 10 ether);
        _deposit(c, amount);
        calls["deposit"]++;
    }

    function requestDepositWithdrawal(uint256 who, uint256 amount) external {
        (address c, bool found) = _first(clients, who, _hasDeposit);
        if (!found) return;
        uint256 available = market.deposits(c);
        amount = _bound(amount, 1, available);
        vm.prank(c);
        try market.requestDepositWithdrawal(amount) {
            calls["requestDepositWithdrawal"]++;
        } catch {
            _unexpected("requestDepositWithdrawal reverted");
        }
    }

    function withdrawDeposit(uint256 who) external {
        (address c, bool found) = _first(clients, who, _requested);
        if (!found) return;
        uint256 requested = market.withdrawalRequested(c);
        uint64 at = market.withdrawableAt(c);
        if (block.number < at && (who >> 128) % 2 == 0) vm.roll(at); // else check the delay holds
        uint256 available = market.deposits(c);
        uint256 expectedAmount = requested < available ? requested : available;
        bytes memory expected;
        if (block.number < at) expected = abi.encodeWithSelector(ProverMarket.TooEarly.selector, at);
        else if (expectedAmount == 0) expected = abi.encodeWithSelector(ProverMarket.NothingToWithdraw.selector);
        uint256 before = c.balance;
        vm.prank(c);
        try market.withdrawDeposit() {
            if (expected.length != 0) _unexpected("withdrawDeposit succeeded where it should revert");
            if (c.balance != before + expectedAmount) _unexpected("withdrawDeposit paid a wrong amount");
            ghost_paidOut += expectedAmount;
            calls["withdrawDeposit"]++;
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
        bytes memory expected = owed == 0 ? abi.encodeWithSelector(ProverMarket.NothingToWithdraw.selector) : bytes("");
        uint256 before = a.balance;
        vm.prank(a);
        try market.withdrawCredits() {
            if (expected.length != 0) _unexpected("withdrawCredits succeeded with nothing owed");
            if (a.balance != before + owed) _unexpected("withdrawCredits paid a wrong amount");
            ghost_credits[a] = 0;
            ghost_paidOut += owed;
            calls["withdrawCredits"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawCredits");
        }
    }

    // ---- batches -------------------------------------------------------------------------

    /// Commits 1-6 leaves from the first staked prover from `who` on (one time in eight, or
    /// when none is staked, from prover `who` itself). Half of the time, that prover is first
    /// registered or staked up if it is not staked (else check the commit fails). One leaf in
    /// four is a job committed before (half of the time from a batch of this prover if it
    /// has one, else from any batch): half of those the same leaf again, half another leaf
    /// for that job (equivocation when the prover is the same). One proof in eight is
    /// invalid. One batch in eight is committed after its awards' deadline.
    function commitBatch(uint256 who, uint256 size, uint256 seed) external {
        address p = provers[who % provers.length];
        if ((who >> 128) % 8 != 0) {
            (address staked, bool found) = _first(provers, who, _staked);
            if (found) p = staked;
        }
        if ((who >> 136) % 2 == 0) _stakeUp(p);
        bytes memory expected = _commitError(p);
        size = _bound(size, 1, 6);
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        ProverMarket.Leaf[] memory leaves = new ProverMarket.Leaf[](size);
        for (uint256 i = 0; i < size; i++) {
            (js[i], origin[i]) = _newJob(p, uint256(keccak256(abi.encode(seed, i))));
            leaves[i] = js[i].leaf;
        }
        uint64 deadline = seed % 8 == 0 ? uint64(block.timestamp - 1) : uint64(block.timestamp + (seed >> 8) % 1 days);
        vm.prank(p);
        // forge-lint: disable-next-line(unsafe-typecast)
        try market.commitBatch(MerkleBuilder.root(_hashes(leaves)), uint32(size)) returns (uint256 id) {
            if (expected.length != 0) _unexpected("commitBatch succeeded where it should revert");
            if (id != committed.length) _unexpected("commitBatch id");
            committed.push(
                Committed({
                    prover: p, blockNumber: uint64(block.number), timestamp: uint64(block.timestamp), deadline: deadline
                })
            );
            for (uint256 i = 0; i < size; i++) {
                jobsOf[id].push(js[i]);
                _know(p, js[i]);
                if (origin[i] != 0) _recordEquivocation(p, id, i, origin[i]);
            }
            calls["commitBatch"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "commitBatch");
        }
    }

    /// The error committing a batch from `p` meets, or "".
    function _commitError(address p) internal view returns (bytes memory) {
        (uint256 stake,,,,, bool registered) = market.provers(p);
        if (!registered) return abi.encodeWithSelector(ProverMarket.NotRegistered.selector);
        uint256 minStake = market.minStake();
        if (stake < minStake) return abi.encodeWithSelector(ProverMarket.StakeTooLow.selector, stake, minStake);
        return "";
    }

    /// A new job, or (one in four) a job committed before, half of the time from a batch of
    /// `p` if it has one; `origin` is (batch id + 1) << 32 | index of the leaf it was taken
    /// from, or 0.
    function _newJob(address p, uint256 r) internal returns (Job memory j, uint256 origin) {
        if (committed.length != 0 && r % 4 == 0) {
            uint256 b = (r >> 8) % committed.length;
            if ((r >> 56) % 2 == 0) b = _batchOf(p, b);
            uint256 index = (r >> 16) % jobsOf[b].length;
            j = jobsOf[b][index];
            origin = ((b + 1) << 32) | index;
            if ((r >> 24) % 2 == 0) {
                // Another leaf for the same job: another proof, maybe another price.
                j.valid = (r >> 32) % 8 != 0;
                j.proof = _proof(j.input, r, j.valid);
                j.leaf.proofHash = keccak256(j.proof);
                if ((r >> 40) % 2 == 0) j.leaf.price = _bound(r >> 48, 0, 1 ether);
            }
            return (j, origin);
        }
        address c = clients[(r >> 8) % clients.length];
        j.nonce = nextNonce[c]++;
        j.input = uint256(keccak256(abi.encode(r, "input")));
        j.valid = (r >> 16) % 8 != 0;
        j.proof = _proof(j.input, r, j.valid);
        j.leaf = ProverMarket.Leaf({
            jobId: market.jobIdOf(c, j.nonce),
            circuitId: circuit,
            publicInputsHash: keccak256(abi.encode(j.input)),
            proofHash: keccak256(j.proof),
            client: c,
            price: _bound(r >> 32, 0, 1 ether)
        });
    }

    /// The first batch of `p` from batch `start` on (wrapping around), else `start`.
    function _batchOf(address p, uint256 start) internal view returns (uint256) {
        for (uint256 k = 0; k < committed.length; k++) {
            uint256 b = (start + k) % committed.length;
            if (committed[b].prover == p) return b;
        }
        return start;
    }

    /// A stand-in proof of `input` (see InvariantStandInVerifier).
    function _proof(uint256 input, uint256 salt, bool valid) internal pure returns (bytes memory) {
        bytes32 tag = keccak256(abi.encode(input));
        return abi.encode(valid ? tag : ~tag, salt);
    }

    function _know(address p, Job memory j) internal {
        bytes32 ref = _jobRef(j.leaf.client, j.nonce);
        if (!knownJob[ref]) {
            knownJob[ref] = true;
            jobRefs.push(JobRef(j.leaf.client, j.nonce));
        }
        _knowKey(market.jobKey(p, j.leaf.client, j.leaf.jobId));
    }

    function _knowKey(bytes32 key) internal {
        if (!knownKey[key]) {
            knownKey[key] = true;
            jobKeys.push(key);
        }
    }

    function _recordEquivocation(address p, uint256 id, uint256 i, uint256 origin) internal {
        uint256 b = (origin >> 32) - 1;
        uint256 index = origin & 0xffffffff;
        if (committed[b].prover != p) return;
        if (_leafHash(jobsOf[b][index].leaf) == _leafHash(jobsOf[id][i].leaf)) return; // a plain copy
        equivocations.push(Pair(b, index, id, i));
    }

    // ---- claims --------------------------------------------------------------------------

    function claim(uint256 batchSeed, uint256 leafSeed) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        uint256 index = leafSeed % js.length;
        Job memory j = js[index];

        uint64 closesAt = b.blockNumber + challengeWindow;
        if (block.number <= closesAt) {
            // A quarter of the time, check the window is enforced; else wait for it to close.
            if (leafSeed % 4 == 0) {
                _tryClaim(id, b, js, index, abi.encodeWithSelector(ProverMarket.WindowOpen.selector, closesAt));
                return;
            }
            vm.roll(closesAt + 1);
        }
        // Half of the time, top up a deposit that is too low (else check the claim fails).
        if ((leafSeed >> 128) % 2 == 0) _topUp(j.leaf.client, j.leaf.price);
        _tryClaim(id, b, js, index, _payError(b, j, market.deposits(j.leaf.client), false));
    }

    function _tryClaim(uint256 id, Committed memory b, Job[] memory js, uint256 index, bytes memory expected) internal {
        Job memory j = js[index];
        ProverMarket.Award memory award =
            ProverMarket.Award({jobId: j.leaf.jobId, prover: b.prover, price: j.leaf.price, deadline: b.deadline});
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[j.leaf.client], market.awardDigest(award));
        bytes32[] memory path = MerkleBuilder.proof(_hashes(_leavesOf(js)), index);
        uint256 proverBefore = b.prover.balance;
        uint256 depositBefore = market.deposits(j.leaf.client);

        vm.prank(b.prover);
        try market.claim(id, j.leaf, j.nonce, path, award, abi.encodePacked(r, s, v)) {
            if (expected.length != 0) _unexpected("claim succeeded where it should revert");
            if (b.prover.balance != proverBefore + j.leaf.price) _unexpected("claim paid a wrong amount");
            if (market.deposits(j.leaf.client) != depositBefore - j.leaf.price) {
                _unexpected("claim took a wrong amount");
            }
            ghost_paymentsOf[_jobRef(j.leaf.client, j.nonce)]++;
            ghost_paidOut += j.leaf.price;
            calls["claim"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "claim");
        }
    }

    /// Claims a random subset of a batch's jobs (sometimes one twice) in one call.
    function claimBatch(uint256 batchSeed, uint256 mask) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        uint256[] memory picked = _subset(js.length, mask);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number <= closesAt) {
            if (mask % 4 == 0) expected = abi.encodeWithSelector(ProverMarket.WindowOpen.selector, closesAt);
            else vm.roll(closesAt + 1);
        }
        if (expected.length == 0) {
            if ((mask >> 128) % 2 == 0) {
                for (uint256 k = 0; k < picked.length; k++) {
                    _topUp(js[picked[k]].leaf.client, _sumFor(js, picked, js[picked[k]].leaf.client));
                }
            }
            expected = _batchPayError(b, js, picked);
        }

        (ProverMarket.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total) = _batchClaims(b, js, picked);
        uint256 proverBefore = b.prover.balance;
        vm.prank(b.prover);
        try market.claimBatch(id, hashes, cs) {
            if (expected.length != 0) _unexpected("claimBatch succeeded where it should revert");
            if (b.prover.balance != proverBefore + total) _unexpected("claimBatch paid a wrong amount");
            for (uint256 k = 0; k < picked.length; k++) {
                ghost_paymentsOf[_jobRef(js[picked[k]].leaf.client, js[picked[k]].nonce)]++;
            }
            ghost_paidOut += total;
            calls["claimBatch"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "claimBatch");
        }
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

    function _batchClaims(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (ProverMarket.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total)
    {
        hashes = _hashes(_leavesOf(js));
        cs = new ProverMarket.BatchClaim[](picked.length);
        for (uint256 k = 0; k < picked.length; k++) {
            ProverMarket.Leaf memory l = js[picked[k]].leaf;
            ProverMarket.Award memory award =
                ProverMarket.Award({jobId: l.jobId, prover: b.prover, price: l.price, deadline: b.deadline});
            (bytes32 r, bytes32 vs) = vm.signCompact(keyOf[l.client], market.awardDigest(award));
            cs[k] = ProverMarket.BatchClaim({
                // forge-lint: disable-next-line(unsafe-typecast)
                index: uint32(picked[k]), // batches hold at most 6 leaves here
                nonce: js[picked[k]].nonce,
                deadline: b.deadline,
                client: l.client,
                price: l.price,
                circuitId: l.circuitId,
                publicInputsHash: l.publicInputsHash,
                proofHash: l.proofHash,
                r: r,
                vs: vs
            });
            hashes[picked[k]] = bytes32(0);
            total += l.price;
        }
    }

    /// The first error the jobs `picked` of a batch meet, in the order the market checks
    /// them, or "".
    function _batchPayError(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (bytes memory)
    {
        uint256[] memory spent = new uint256[](clients.length);
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            uint256 c = _clientIndex(j.leaf.client);
            bool paidNow;
            for (uint256 e = 0; e < k; e++) {
                // The same job earlier in this call (the same leaf, or another leaf for it).
                Job memory earlier = js[picked[e]];
                if (earlier.leaf.client == j.leaf.client && earlier.nonce == j.nonce) paidNow = true;
            }
            bytes memory err = _payError(b, j, market.deposits(j.leaf.client) - spent[c], paidNow);
            if (err.length != 0) return err;
            spent[c] += j.leaf.price;
        }
        return "";
    }

    /// The first error paying job `j` of batch `b` meets (`available`: the client's deposit
    /// left), in the order the market checks, or "".
    function _payError(Committed memory b, Job memory j, uint256 available, bool paidNow)
        internal
        view
        returns (bytes memory)
    {
        if (b.timestamp > b.deadline) {
            return abi.encodeWithSelector(ProverMarket.CommittedAfterDeadline.selector, b.timestamp, b.deadline);
        }
        if (ghost_disputed[b.prover]) {
            bytes32 key = market.jobKey(b.prover, j.leaf.client, j.leaf.jobId);
            if (ghost_slashesOf[key] != 0) {
                return abi.encodeWithSelector(ProverMarket.JobSlashed.selector, j.leaf.jobId);
            }
            uint256 pending = ghost_pendingOf[key];
            if (pending != 0) return abi.encodeWithSelector(ProverMarket.ChallengePending.selector, pending - 1);
        }
        if (paidNow || ghost_paymentsOf[_jobRef(j.leaf.client, j.nonce)] != 0) {
            return abi.encodeWithSelector(ProverMarket.AlreadyClaimed.selector, j.leaf.jobId);
        }
        if (available < j.leaf.price) {
            return abi.encodeWithSelector(ProverMarket.InsufficientDeposit.selector, available, j.leaf.price);
        }
        return "";
    }

    // ---- challenges decided at once --------------------------------------------------------

    function challengeInvalidProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        uint256 id = _pickBatch(batchSeed);
        Committed memory b = committed[id];
        uint256 index = leafSeed % jobsOf[id].length;
        Job memory j = jobsOf[id][index];
        address w = watchtowers[who % watchtowers.length];
        bytes32 key = market.jobKey(b.prover, j.leaf.client, j.leaf.jobId);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number > closesAt) {
            if (leafSeed % 4 != 0) return; // mostly look for open windows
            expected = abi.encodeWithSelector(ProverMarket.WindowClosed.selector, closesAt);
        } else if (ghost_slashesOf[key] != 0) {
            expected = abi.encodeWithSelector(ProverMarket.AlreadySlashed.selector, j.leaf.jobId);
        }
        Slash memory s = _predictSlash(b.prover, j.leaf.client, j.leaf.jobId, j.leaf.price, w);
        ProverMarket.Inclusion memory at = _inclusion(id, index);
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = j.input;

        vm.deal(w, bond);
        vm.prank(w);
        try market.challengeInvalidProof{value: bond}(at, inputs, j.proof) {
            if (expected.length != 0) _unexpected("challengeInvalidProof succeeded where it should revert");
            ghost_paidIn += bond;
            if (j.valid) {
                ghost_credits[b.prover] += bond;
                calls["challengeInvalidProof (false challenge)"]++;
            } else {
                ghost_credits[w] += bond;
                _applySlash(s);
                calls["challengeInvalidProof (slash)"]++;
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
        Committed memory a = committed[e.batchA];
        Committed memory b = committed[e.batchB];
        ProverMarket.Leaf memory la = jobsOf[e.batchA][e.indexA].leaf;
        ProverMarket.Leaf memory lb = jobsOf[e.batchB][e.indexB].leaf;
        address w = watchtowers[who % watchtowers.length];
        bytes32 key = market.jobKey(a.prover, la.client, la.jobId);

        uint64 closesAt = (a.blockNumber > b.blockNumber ? a.blockNumber : b.blockNumber) + challengeWindow;
        bytes memory expected;
        if (block.number > closesAt) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(ProverMarket.WindowClosed.selector, closesAt);
        } else if (ghost_slashesOf[key] != 0) {
            expected = abi.encodeWithSelector(ProverMarket.AlreadySlashed.selector, la.jobId);
        }
        Slash memory s = _predictSlash(a.prover, la.client, la.jobId, la.price < lb.price ? la.price : lb.price, w);
        ProverMarket.Inclusion memory atA = _inclusion(e.batchA, e.indexA);
        ProverMarket.Inclusion memory atB = _inclusion(e.batchB, e.indexB);

        vm.prank(w);
        try market.challengeEquivocation(atA, atB) {
            if (expected.length != 0) _unexpected("challengeEquivocation succeeded where it should revert");
            _applySlash(s);
            calls["challengeEquivocation"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeEquivocation");
        }
    }

    // ---- challenges that wait for an answer ------------------------------------------------

    function challengeWithheldProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        uint256 id = _pickBatch(batchSeed);
        Committed memory b = committed[id];
        uint256 index = leafSeed % jobsOf[id].length;
        ProverMarket.Leaf memory l = jobsOf[id][index].leaf;
        address w = watchtowers[who % watchtowers.length];
        bytes32 key = market.jobKey(b.prover, l.client, l.jobId);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected = _openError(key, l.jobId);
        if (block.number > closesAt) {
            if (leafSeed % 4 != 0) return;
            expected = abi.encodeWithSelector(ProverMarket.WindowClosed.selector, closesAt);
        }
        ProverMarket.Inclusion memory at = _inclusion(id, index);
        vm.deal(w, bond);
        vm.prank(w);
        try market.challengeWithheldProof{value: bond}(at) returns (uint256 challengeId) {
            if (expected.length != 0) _unexpected("challengeWithheldProof succeeded where it should revert");
            if (challengeId != challenges.length) _unexpected("challenge id");
            ghost_paidIn += bond;
            _opened(
                Ch({
                    fault: ProverMarket.Fault.WithheldProof,
                    status: ProverMarket.ChallengeStatus.Open,
                    prover: b.prover,
                    client: l.client,
                    jobId: l.jobId,
                    challenger: w,
                    respondBy: uint64(block.number) + responseWindow,
                    deadline: 0,
                    price: l.price,
                    batchId: id,
                    index: index
                }),
                key
            );
            calls["challengeWithheldProof"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeWithheldProof");
        }
    }

    function revealProof(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickChallenge(seed, ProverMarket.Fault.WithheldProof);
        Ch memory c = challenges[id];
        Job memory j;
        bytes memory expected;
        if (c.fault != ProverMarket.Fault.WithheldProof) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(ProverMarket.WrongChallenge.selector, id);
            j.proof = new bytes(64);
        } else {
            j = jobsOf[c.batchId][c.index];
            if (c.status != ProverMarket.ChallengeStatus.Open) {
                expected = abi.encodeWithSelector(ProverMarket.ChallengeNotOpen.selector, id);
            } else if (block.number > c.respondBy) {
                expected = abi.encodeWithSelector(ProverMarket.ResponseWindowClosed.selector, c.respondBy);
            } else if (!j.valid) {
                expected = abi.encodeWithSelector(ProverMarket.ProofRejected.selector);
            }
        }
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = j.input;
        try market.revealProof(id, inputs, j.proof) {
            if (expected.length != 0) _unexpected("revealProof succeeded where it should revert");
            _answered(id);
            calls["revealProof"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "revealProof");
        }
    }

    /// Challenges a missed deadline of prover `p`: mostly for a job `p` committed
    /// (deadline at, or one second before, its batch's time, or about now), else for a job
    /// never committed.
    function challengeMissedDeadline(uint256 proverSeed, uint256 jobSeed, uint256 who) external {
        address p = provers[proverSeed % provers.length];
        ProverMarket.Award memory award = _missedAward(p, jobSeed);
        address c = _clientOfAward(p, jobSeed);
        address w = watchtowers[who % watchtowers.length];
        bytes32 key = market.jobKey(p, c, award.jobId);
        _knowKey(key);

        (,,,,, bool registered) = market.provers(p);
        bytes memory expected;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= award.deadline) {
            expected = abi.encodeWithSelector(ProverMarket.DeadlineNotPassed.selector, award.deadline);
        } else if (!registered) {
            expected = abi.encodeWithSelector(ProverMarket.NotRegistered.selector);
        } else {
            expected = _openError(key, award.jobId);
        }
        (bytes memory awardSig, ProverMarket.Acceptance memory acc, bytes memory accSig) = _signMissed(award, c);

        vm.deal(w, bond);
        vm.prank(w);
        try market.challengeMissedDeadline{value: bond}(acc, accSig, award, awardSig) returns (uint256 challengeId) {
            if (expected.length != 0) _unexpected("challengeMissedDeadline succeeded where it should revert");
            if (challengeId != challenges.length) _unexpected("challenge id");
            ghost_paidIn += bond;
            _opened(
                Ch({
                    fault: ProverMarket.Fault.MissedDeadline,
                    status: ProverMarket.ChallengeStatus.Open,
                    prover: p,
                    client: c,
                    jobId: award.jobId,
                    challenger: w,
                    respondBy: uint64(block.number) + responseWindow,
                    deadline: award.deadline,
                    price: award.price,
                    batchId: 0,
                    index: 0
                }),
                key
            );
            calls["challengeMissedDeadline"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeMissedDeadline");
        }
    }

    /// The batch of `p` that `jobSeed` picks, if `jobSeed` asks for a committed job and `p`
    /// has a batch.
    function _missedBatch(address p, uint256 jobSeed) internal view returns (bool found, uint256 id) {
        if (jobSeed % 4 == 0 || committed.length == 0) return (false, 0);
        uint256 start = (jobSeed >> 16) % committed.length;
        for (uint256 k = 0; k < committed.length; k++) {
            id = (start + k) % committed.length;
            if (committed[id].prover == p) return (true, id);
        }
        return (false, 0);
    }

    function _clientOfAward(address p, uint256 jobSeed) internal view returns (address) {
        (bool found, uint256 id) = _missedBatch(p, jobSeed);
        if (found) return jobsOf[id][(jobSeed >> 32) % jobsOf[id].length].leaf.client;
        return clients[(jobSeed >> 32) % clients.length];
    }

    function _missedAward(address p, uint256 jobSeed) internal returns (ProverMarket.Award memory award) {
        (bool found, uint256 id) = _missedBatch(p, jobSeed);
        uint256 option = (jobSeed >> 8) % 4;
        award.prover = p;
        if (found) {
            ProverMarket.Leaf memory l = jobsOf[id][(jobSeed >> 32) % jobsOf[id].length].leaf;
            award.jobId = l.jobId;
            award.price = l.price;
            uint64 t = committed[id].timestamp;
            award.deadline = option == 0 ? t : option == 1 ? t - 1 : option == 2 ? uint64(block.timestamp) : t + 1;
        } else {
            address c = clients[(jobSeed >> 32) % clients.length];
            award.jobId = market.jobIdOf(c, nextNonce[c]++); // never to be committed
            award.price = _bound(jobSeed >> 64, 0, 1 ether);
            // casting to uint64 is safe because timestamps here are around 1.7e9
            // forge-lint: disable-next-line(unsafe-typecast)
            award.deadline = option == 2 ? uint64(block.timestamp) : uint64(block.timestamp - 1 - option);
        }
    }

    function _signMissed(ProverMarket.Award memory award, address c)
        internal
        view
        returns (bytes memory awardSig, ProverMarket.Acceptance memory acc, bytes memory accSig)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[c], market.awardDigest(award));
        awardSig = abi.encodePacked(r, s, v);
        acc = ProverMarket.Acceptance({
            jobId: award.jobId, client: c, inputHash: keccak256("inputs"), price: award.price, deadline: award.deadline
        });
        (v, r, s) = vm.sign(keyOf[award.prover], market.acceptanceDigest(acc));
        accSig = abi.encodePacked(r, s, v);
    }

    /// Answers a missed-deadline challenge with a batch of its prover holding the job's
    /// leaf if there is one, else with another leaf or another prover's batch.
    function answerMissedDeadline(uint256 seed, uint256 pick) external {
        if (challenges.length == 0 || committed.length == 0) return;
        uint256 id = _pickChallenge(seed, ProverMarket.Fault.MissedDeadline);
        Ch memory c = challenges[id];
        (uint256 batchId, uint256 index) = _answerFor(c, pick);
        Committed memory b = committed[batchId];
        ProverMarket.Leaf memory l = jobsOf[batchId][index].leaf;

        bytes memory expected;
        if (c.fault != ProverMarket.Fault.MissedDeadline) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(ProverMarket.WrongChallenge.selector, id);
        } else if (c.status != ProverMarket.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(ProverMarket.ChallengeNotOpen.selector, id);
        } else if (block.number > c.respondBy) {
            expected = abi.encodeWithSelector(ProverMarket.ResponseWindowClosed.selector, c.respondBy);
        } else if (b.prover != c.prover) {
            expected = abi.encodeWithSelector(ProverMarket.NotBatchProver.selector, b.prover, c.prover);
        } else if (b.timestamp > c.deadline) {
            expected = abi.encodeWithSelector(ProverMarket.CommittedAfterDeadline.selector, b.timestamp, c.deadline);
        } else if (l.jobId != c.jobId || l.client != c.client) {
            expected = abi.encodeWithSelector(ProverMarket.LeafMismatch.selector);
        }
        ProverMarket.Inclusion memory at = _inclusion(batchId, index);
        try market.answerMissedDeadline(id, at) {
            if (expected.length != 0) _unexpected("answerMissedDeadline succeeded where it should revert");
            _answered(id);
            calls["answerMissedDeadline"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "answerMissedDeadline");
        }
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
                    ProverMarket.Leaf memory l = jobsOf[batchId][index].leaf;
                    if (l.jobId == c.jobId && l.client == c.client) return (batchId, index);
                }
            }
        }
        batchId = start;
        index = (pick >> 64) % jobsOf[batchId].length;
    }

    function finalizeChallenge(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickOpen(seed);
        Ch memory c = challenges[id];
        if (c.status == ProverMarket.ChallengeStatus.Open && block.number <= c.respondBy && (seed >> 128) % 2 == 0) {
            vm.roll(c.respondBy + 1); // else check the response window holds
        }
        bytes32 key = market.jobKey(c.prover, c.client, c.jobId);
        bool void = ghost_slashesOf[key] != 0;
        bytes memory expected;
        if (c.status != ProverMarket.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(ProverMarket.ChallengeNotOpen.selector, id);
        } else if (block.number <= c.respondBy) {
            expected = abi.encodeWithSelector(ProverMarket.ResponseWindowOpen.selector, c.respondBy);
        }
        Slash memory s = _predictSlash(c.prover, c.client, c.jobId, c.price, c.challenger);
        try market.finalizeChallenge(id) {
            if (expected.length != 0) _unexpected("finalizeChallenge succeeded where it should revert");
            ghost_credits[c.challenger] += bond;
            ghost_pendingOf[key] = 0;
            if (void) {
                challenges[id].status = ProverMarket.ChallengeStatus.Void;
                calls["finalizeChallenge (void)"]++;
            } else {
                challenges[id].status = ProverMarket.ChallengeStatus.Slashed;
                _applySlash(s);
                calls["finalizeChallenge (slash)"]++;
            }
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "finalizeChallenge");
        }
    }

    // ---- time ----------------------------------------------------------------------------

    function roll(uint256 blocks) external {
        blocks = _bound(blocks, 1, 15);
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
        calls["roll"]++;
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
        return !_registered(p);
    }

    function _registered(address p) internal view returns (bool registered) {
        (,,,,, registered) = market.provers(p);
    }

    function _staked(address p) internal view returns (bool) {
        return market.isStaked(p);
    }

    /// Registered with some bonded stake (what `unbond` needs).
    function _bonded(address p) internal view returns (bool) {
        (uint256 stake,,,,, bool registered) = market.provers(p);
        return registered && stake != 0;
    }

    function _unbonding(address p) internal view returns (bool) {
        (,, uint256 unbonding,,,) = market.provers(p);
        return unbonding != 0;
    }

    function _hasDeposit(address c) internal view returns (bool) {
        return market.deposits(c) != 0;
    }

    function _requested(address c) internal view returns (bool) {
        return market.withdrawalRequested(c) != 0;
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
    function _pickChallenge(uint256 seed, ProverMarket.Fault fault) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            uint256 ofFault = n;
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                Ch storage c = challenges[id];
                if (c.fault != fault) continue;
                if (c.status == ProverMarket.ChallengeStatus.Open && block.number <= c.respondBy) return id;
                if (ofFault == n) ofFault = id;
            }
            if (ofFault != n) return ofFault;
        }
        return start;
    }

    /// An open challenge if there is one (one time in four, or if there is none, any).
    function _pickOpen(uint256 seed) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                if (challenges[id].status == ProverMarket.ChallengeStatus.Open) return id;
            }
        }
        return start;
    }

    /// The error opening a challenge on `key` meets (slashed first, then pending), or "".
    function _openError(bytes32 key, bytes32 jobId) internal view returns (bytes memory) {
        if (ghost_slashesOf[key] != 0) return abi.encodeWithSelector(ProverMarket.AlreadySlashed.selector, jobId);
        uint256 pending = ghost_pendingOf[key];
        if (pending != 0) return abi.encodeWithSelector(ProverMarket.ChallengePending.selector, pending - 1);
        return "";
    }

    function _opened(Ch memory c, bytes32 key) internal {
        challenges.push(c);
        ghost_pendingOf[key] = challenges.length;
        ghost_disputed[c.prover] = true;
    }

    function _answered(uint256 id) internal {
        Ch storage c = challenges[id];
        c.status = ProverMarket.ChallengeStatus.Answered;
        ghost_pendingOf[market.jobKey(c.prover, c.client, c.jobId)] = 0;
        ghost_credits[c.prover] += bond;
    }

    /// The slash of `prover` for a job of `price`, as the market's state now implies it.
    function _predictSlash(address prover, address client, bytes32 jobId, uint256 price, address challenger)
        internal
        view
        returns (Slash memory s)
    {
        s.prover = prover;
        s.client = client;
        s.key = market.jobKey(prover, client, jobId);
        s.challenger = challenger;
        (s.stake,, s.unbonding,,,) = market.provers(prover);
        s.deposit = market.deposits(client);
        s.amount = (s.stake + s.unbonding) * market.slashBps() / 10_000;
        s.reward = s.amount * market.rewardBps() / 10_000;
        s.refund = s.amount * market.refundBps() / 10_000;
        if (s.refund > price) s.refund = price;
        s.burned = s.amount - s.reward - s.refund;
    }

    /// Checks the market took slash `s` (bonded stake first) and books it in the ghosts.
    function _applySlash(Slash memory s) internal {
        (uint256 stake,, uint256 unbonding,,,) = market.provers(s.prover);
        uint256 fromStake = s.amount <= s.stake ? s.amount : s.stake;
        if (stake != s.stake - fromStake || unbonding != s.unbonding - (s.amount - fromStake)) {
            _unexpected("slash took a wrong amount");
        }
        if (market.deposits(s.client) != s.deposit + s.refund) _unexpected("slash refunded a wrong amount");
        ghost_slashesOf[s.key]++;
        ghost_disputed[s.prover] = true;
        ghost_credits[s.challenger] += s.reward;
        ghost_burned += s.burned;
    }

    function _inclusion(uint256 batchId, uint256 index) internal view returns (ProverMarket.Inclusion memory) {
        ProverMarket.Leaf[] memory leaves = _leavesOf(jobsOf[batchId]);
        return ProverMarket.Inclusion({
            batchId: batchId, leaf: leaves[index], path: MerkleBuilder.proof(_hashes(leaves), index)
        });
    }

    /// Registers `p` with the minimum stake, or adds what it lacks of it, if it is not staked.
    function _stakeUp(address p) internal {
        (uint256 stake,,,,, bool registered) = market.provers(p);
        uint256 minStake = market.minStake();
        if (registered && stake >= minStake) return;
        uint256 amount = registered ? minStake - stake : minStake;
        vm.deal(p, amount);
        vm.prank(p);
        if (registered) {
            try market.addStake{value: amount}() {
                ghost_paidIn += amount;
            } catch {
                _unexpected("addStake reverted");
            }
        } else {
            try market.register{value: amount}(keccak256(abi.encode(p))) {
                ghost_paidIn += amount;
            } catch {
                _unexpected("register reverted");
            }
        }
    }

    function _topUp(address c, uint256 need) internal {
        uint256 available = market.deposits(c);
        if (available < need) _deposit(c, need - available);
    }

    function _deposit(address c, uint256 amount) internal {
        vm.deal(c, amount);
        vm.prank(c);
        try market.deposit{value: amount}() {
            ghost_paidIn += amount;
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

    function _leavesOf(Job[] memory js) internal pure returns (ProverMarket.Leaf[] memory leaves) {
        leaves = new ProverMarket.Leaf[](js.length);
        for (uint256 i = 0; i < js.length; i++) {
            leaves[i] = js[i].leaf;
        }
    }

    function _leafHash(ProverMarket.Leaf memory l) internal pure returns (bytes32) {
        return BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
    }

    function _hashes(ProverMarket.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
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
            calls[string.concat(what, " (expected revert)")]++;
        }
    }

    function _unexpected(string memory what) internal {
        ghost_unexpected++;
        ghost_lastUnexpected = what;
    }
}

contract ProverMarketInvariantTest is MarketFixture {
    MarketHandler internal handler;
    bytes32 internal constant STAND_IN_CIRCUIT = keccak256("invariant-suite stand-in circuit");

    function setUp() public override {
        super.setUp();
        address standIn = address(new InvariantStandInVerifier());
        vm.prank(owner);
        market.registerCircuit(STAND_IN_CIRCUIT, standIn, 64, 50_000);
        handler = new MarketHandler(market, STAND_IN_CIRCUIT);
        bytes4[] memory selectors = new bytes4[](20);
        selectors[0] = MarketHandler.register.selector;
        selectors[1] = MarketHandler.addStake.selector;
        selectors[2] = MarketHandler.unbond.selector;
        selectors[3] = MarketHandler.withdrawStake.selector;
        selectors[4] = MarketHandler.deposit.selector;
        selectors[5] = MarketHandler.requestDepositWithdrawal.selector;
        selectors[6] = MarketHandler.withdrawDeposit.selector;
        selectors[7] = MarketHandler.withdrawCredits.selector;
        selectors[8] = MarketHandler.commitBatch.selector;
        selectors[9] = MarketHandler.claim.selector;
        selectors[10] = MarketHandler.claimBatch.selector;
        selectors[11] = MarketHandler.challengeInvalidProof.selector;
        selectors[12] = MarketHandler.challengeEquivocation.selector;
        selectors[13] = MarketHandler.challengeWithheldProof.selector;
        selectors[14] = MarketHandler.revealProof.selector;
        selectors[15] = MarketHandler.challengeMissedDeadline.selector;
        selectors[16] = MarketHandler.answerMissedDeadline.selector;
        selectors[17] = MarketHandler.finalizeChallenge.selector;
        selectors[18] = MarketHandler.roll.selector;
        selectors[19] = MarketHandler.commitBatch.selector; // batches twice as often
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The market holds exactly every stake, unbonding stake, deposit, open challenge's
    /// bond and credit; exactly what was paid in minus what was paid out and burned; and
    /// every account's credit is what the handler booked.
    function invariant_balanceIsAccountedFor() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            (uint256 stake,, uint256 unbonding,,,) = market.provers(handler.proverAt(i));
            total += stake + unbonding + market.deposits(handler.clientAt(i));
        }
        for (uint256 i = 0; i < handler.accountCount(); i++) {
            address a = handler.accountAt(i);
            assertEq(market.credits(a), handler.ghost_credits(a), "credits");
            total += market.credits(a);
        }
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (ProverMarket.ChallengeStatus status,, uint256 bond) = handler.challengeAt(id);
            if (status == ProverMarket.ChallengeStatus.Open) total += bond;
        }
        assertEq(address(market).balance, total, "balance != stakes + deposits + open bonds + credits");
        assertEq(market.totalBurned(), handler.ghost_burned(), "burned");
        assertEq(
            address(market).balance,
            handler.ghost_paidIn() - handler.ghost_paidOut() - market.totalBurned(),
            "balance != in - out - burned"
        );
    }

    /// No job is paid twice, and `isPaid` says exactly which were paid.
    function invariant_noJobPaidTwice() public view {
        for (uint256 i = 0; i < handler.jobCount(); i++) {
            (address client, uint64 nonce) = handler.jobAt(i);
            uint256 payments = handler.ghost_paymentsOf(handler.jobRef(client, nonce));
            assertLe(payments, 1, "job paid twice");
            assertEq(market.isPaid(client, nonce), payments == 1, "isPaid");
        }
    }

    /// No prover is slashed twice for one job; `slashed` and `pendingChallenge` say exactly
    /// what happened; each prover's open-challenge count is its open challenges, and every
    /// challenge is in the state the handler expects.
    function invariant_slashesAndChallengesMatch() public view {
        for (uint256 i = 0; i < handler.jobKeyCount(); i++) {
            bytes32 key = handler.jobKeyAt(i);
            uint256 slashes = handler.ghost_slashesOf(key);
            assertLe(slashes, 1, "job slashed twice");
            assertEq(market.slashed(key), slashes == 1, "slashed flag");
            assertEq(market.pendingChallenge(key), handler.ghost_pendingOf(key), "pending challenge");
        }
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            (,,,, uint32 open,) = market.provers(p);
            assertEq(open, handler.openChallengesOf(p), "openChallenges");
        }
        assertEq(market.challengeCount(), handler.challengeCount(), "challenge ids");
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (ProverMarket.ChallengeStatus status,,) = handler.challengeAt(id);
            assertEq(uint8(_statusOf(id)), uint8(status), "challenge status");
        }
    }

    /// The status of challenge `id` (its getter returns the struct's fields as a tuple,
    /// whose ABI encoding is the struct's).
    function _statusOf(uint256 id) internal view returns (ProverMarket.ChallengeStatus) {
        (bool ok, bytes memory ret) = address(market).staticcall(abi.encodeCall(market.challenges, (id)));
        require(ok, "challenges getter reverted");
        return abi.decode(ret, (ProverMarket.Challenge)).status;
    }

    /// Every market call did what the handler predicted (success, or the exact error), and
    /// batch ids are dense.
    function invariant_everyCallAsPredicted() public view {
        assertEq(handler.ghost_unexpected(), 0, handler.ghost_lastUnexpected());
        assertEq(market.batchCount(), handler.batchCount());
    }
}
