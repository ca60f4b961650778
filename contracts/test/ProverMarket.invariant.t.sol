// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {ProverMarket} from "../src/ProverMarket.sol";
import {BatchLeaf} from "../src/BatchLeaf.sol";
import {MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";

/// Drives ProverMarket from three provers and three clients with bounded random inputs.
/// Every market call goes through try/catch, so the handler itself never reverts (its ghost
/// variables would be rolled back with it): the handler predicts each outcome and counts
/// any call that did not do what it predicted in `ghost_unexpected`, which an invariant
/// keeps at zero.
contract MarketHandler is Test {
    ProverMarket internal immutable market;
    uint64 internal immutable challengeWindow;

    address[] internal provers;
    address[] internal clients;
    mapping(address => uint256) internal keyOf;

    // ---- ghosts ----------------------------------------------------------------------
    uint256 public ghost_paidIn;
    uint256 public ghost_paidOut;
    uint256 public ghost_unexpected;
    string public ghost_lastUnexpected;
    /// Successful claims per claim key (client, job id).
    mapping(bytes32 => uint256) public ghost_claimsOf;
    bytes32[] internal jobIds; // every distinct job id committed so far
    bytes32[] internal claimKeys; // every distinct (client, job id) committed so far
    mapping(bytes32 => bool) internal knownKey;
    mapping(bytes32 => bool) internal knownJob;
    /// Successful calls per handler function, and the expected reverts seen (coverage).
    mapping(string => uint256) public calls;

    struct Committed {
        uint256 id;
        address prover;
        uint64 blockNumber;
        uint64 timestamp;
        uint64 deadline;
    }

    Committed[] internal committed;
    mapping(uint256 => ProverMarket.Leaf[]) internal leavesOf; // index in `committed` → leaves
    uint256 internal nonce;

    constructor(ProverMarket market_) {
        market = market_;
        challengeWindow = market_.challengeWindow();
        for (uint256 i = 0; i < 3; i++) {
            provers.push(makeAddr(string.concat("prover", vm.toString(i))));
            (address c, uint256 k) = makeAddrAndKey(string.concat("client", vm.toString(i)));
            clients.push(c);
            keyOf[c] = k;
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

    function claimKeyCount() external view returns (uint256) {
        return claimKeys.length;
    }

    function claimKeyAt(uint256 i) external view returns (bytes32) {
        return claimKeys[i];
    }

    function batchCount() external view returns (uint256) {
        return committed.length;
    }

    // ---- stake ---------------------------------------------------------------------------

    function register(uint256 who, uint256 amount) external {
        address p = provers[who % provers.length];
        (,,,,, bool registered) = market.provers(p);
        if (registered) return;
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
        address p = provers[who % provers.length];
        (,,,,, bool registered) = market.provers(p);
        if (!registered) return;
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
        address p = provers[who % provers.length];
        (uint256 stake,,,,, bool registered) = market.provers(p);
        if (!registered || stake == 0) return;
        amount = _bound(amount, 1, stake);
        vm.prank(p);
        try market.unbond(amount) {
            calls["unbond"]++;
        } catch {
            _unexpected("unbond reverted");
        }
    }

    function withdrawStake(uint256 who) external {
        address p = provers[who % provers.length];
        (,, uint256 unbonding, uint64 at,,) = market.provers(p);
        if (unbonding == 0) return;
        if (block.number < at && (who >> 128) % 2 == 0) vm.roll(at); // else check the delay holds
        uint256 before = p.balance;
        vm.prank(p);
        try market.withdrawStake() {
            if (block.number < at) _unexpected("withdrawStake before the delay");
            if (p.balance != before + unbonding) _unexpected("withdrawStake paid a wrong amount");
            ghost_paidOut += unbonding;
            calls["withdrawStake"]++;
        } catch (bytes memory reason) {
            _expectRevert(
                reason, abi.encodeWithSelector(ProverMarket.TooEarly.selector, at), block.number < at, "withdrawStake"
            );
        }
    }

    // ---- deposits ------------------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        address c = clients[who % clients.length];
        amount = _bound(amount, 1, 10 ether);
        vm.deal(c, amount);
        vm.prank(c);
        try market.deposit{value: amount}() {
            ghost_paidIn += amount;
            calls["deposit"]++;
        } catch {
            _unexpected("deposit reverted");
        }
    }

    function requestDepositWithdrawal(uint256 who, uint256 amount) external {
        address c = clients[who % clients.length];
        uint256 available = market.deposits(c);
        if (available == 0) return;
        amount = _bound(amount, 1, available);
        vm.prank(c);
        try market.requestDepositWithdrawal(amount) {
            calls["requestDepositWithdrawal"]++;
        } catch {
            _unexpected("requestDepositWithdrawal reverted");
        }
    }

    function withdrawDeposit(uint256 who) external {
        address c = clients[who % clients.length];
        uint256 requested = market.withdrawalRequested(c);
        if (requested == 0) return;
        uint64 at = market.withdrawableAt(c);
        if (block.number < at && (who >> 128) % 2 == 0) vm.roll(at); // else check the delay holds
        uint256 available = market.deposits(c);
        uint256 expected = requested < available ? requested : available;
        uint256 before = c.balance;
        vm.prank(c);
        try market.withdrawDeposit() {
            if (block.number < at) _unexpected("withdrawDeposit before the delay");
            if (c.balance != before + expected || expected == 0) _unexpected("withdrawDeposit paid a wrong amount");
            ghost_paidOut += expected;
            calls["withdrawDeposit"]++;
        } catch (bytes memory reason) {
            if (block.number < at) {
                _expectRevert(
                    reason, abi.encodeWithSelector(ProverMarket.TooEarly.selector, at), true, "withdrawDeposit"
                );
            } else {
                _expectRevert(
                    reason,
                    abi.encodeWithSelector(ProverMarket.NothingToWithdraw.selector),
                    expected == 0,
                    "withdrawDeposit"
                );
            }
        }
    }

    // ---- batches and claims ----------------------------------------------------------------

    function commitBatch(uint256 who, uint256 size, uint256 seed) external {
        address p = provers[who % provers.length];
        if (!market.isStaked(p)) return;
        size = _bound(size, 1, 8);
        ProverMarket.Leaf[] memory leaves = new ProverMarket.Leaf[](size);
        for (uint256 i = 0; i < size; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            bytes32 jobId;
            if (jobIds.length != 0 && r % 8 == 0) {
                jobId = jobIds[(r >> 8) % jobIds.length]; // the same job in another batch
            } else {
                jobId = keccak256(abi.encode("job", nonce++));
            }
            leaves[i] = ProverMarket.Leaf({
                jobId: jobId,
                circuitId: bytes32(r >> 16),
                publicInputsHash: keccak256(abi.encode(r, "inputs")),
                proofHash: keccak256(abi.encode(r, "proof")),
                client: clients[(r >> 24) % clients.length],
                price: _bound(r >> 32, 0, 1 ether)
            });
        }
        // One batch in eight is committed after its awards' deadline.
        uint64 deadline = seed % 8 == 0 ? uint64(block.timestamp - 1) : uint64(block.timestamp + (seed >> 8) % 1 days);
        vm.prank(p);
        try market.commitBatch(MerkleBuilder.root(_hashes(leaves)), uint32(size)) returns (uint256 id) {
            if (id != committed.length) _unexpected("commitBatch id");
            committed.push(
                Committed({
                    id: id,
                    prover: p,
                    blockNumber: uint64(block.number),
                    timestamp: uint64(block.timestamp),
                    deadline: deadline
                })
            );
            for (uint256 i = 0; i < size; i++) {
                leavesOf[id].push(leaves[i]);
                if (!knownJob[leaves[i].jobId]) {
                    knownJob[leaves[i].jobId] = true;
                    jobIds.push(leaves[i].jobId);
                }
                bytes32 key = market.claimKey(leaves[i].client, leaves[i].jobId);
                if (!knownKey[key]) {
                    knownKey[key] = true;
                    claimKeys.push(key);
                }
            }
            calls["commitBatch"]++;
        } catch {
            _unexpected("commitBatch reverted");
        }
    }

    function claim(uint256 batchSeed, uint256 leafSeed) external {
        if (committed.length == 0) return;
        Committed memory b = committed[batchSeed % committed.length];
        ProverMarket.Leaf[] memory leaves = leavesOf[b.id];
        uint256 index = leafSeed % leaves.length;
        ProverMarket.Leaf memory leaf = leaves[index];

        uint64 closesAt = b.blockNumber + challengeWindow;
        if (block.number <= closesAt) {
            // A quarter of the time, check the window is enforced; else wait for it to close.
            if (leafSeed % 4 == 0) {
                _tryClaim(b, leaves, index, abi.encodeWithSelector(ProverMarket.WindowOpen.selector, closesAt));
                return;
            }
            vm.roll(closesAt + 1);
        }

        // Half of the time, top up a deposit that is too low (else check the claim fails).
        uint256 available = market.deposits(leaf.client);
        if (available < leaf.price && (leafSeed >> 128) % 2 == 0) {
            uint256 topUp = leaf.price - available;
            vm.deal(leaf.client, topUp);
            vm.prank(leaf.client);
            try market.deposit{value: topUp}() {
                ghost_paidIn += topUp;
            } catch {
                _unexpected("deposit reverted");
            }
        }

        bytes memory expected;
        if (ghost_claimsOf[market.claimKey(leaf.client, leaf.jobId)] != 0) {
            expected = abi.encodeWithSelector(ProverMarket.AlreadyClaimed.selector, leaf.jobId);
        } else if (b.timestamp > b.deadline) {
            expected = abi.encodeWithSelector(ProverMarket.CommittedAfterDeadline.selector, b.timestamp, b.deadline);
        } else if (market.deposits(leaf.client) < leaf.price) {
            expected = abi.encodeWithSelector(
                ProverMarket.InsufficientDeposit.selector, market.deposits(leaf.client), leaf.price
            );
        }
        _tryClaim(b, leaves, index, expected);
    }

    function _tryClaim(Committed memory b, ProverMarket.Leaf[] memory leaves, uint256 index, bytes memory expected)
        internal
    {
        ProverMarket.Leaf memory leaf = leaves[index];
        ProverMarket.Award memory award =
            ProverMarket.Award({jobId: leaf.jobId, prover: b.prover, price: leaf.price, deadline: b.deadline});
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[leaf.client], market.awardDigest(award));
        bytes32[] memory path = MerkleBuilder.proof(_hashes(leaves), index);
        uint256 proverBefore = b.prover.balance;
        uint256 depositBefore = market.deposits(leaf.client);

        vm.prank(b.prover);
        try market.claim(b.id, leaf, path, award, abi.encodePacked(r, s, v)) {
            if (expected.length != 0) _unexpected("claim succeeded where it should revert");
            if (b.prover.balance != proverBefore + leaf.price) _unexpected("claim paid a wrong amount");
            if (market.deposits(leaf.client) != depositBefore - leaf.price) _unexpected("claim took a wrong amount");
            ghost_claimsOf[market.claimKey(leaf.client, leaf.jobId)]++;
            ghost_paidOut += leaf.price;
            calls["claim"]++;
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, expected.length != 0, "claim");
        }
    }

    // ---- time ----------------------------------------------------------------------------

    function roll(uint256 blocks) external {
        blocks = _bound(blocks, 1, 40);
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
        calls["roll"]++;
    }

    // ---- internals -------------------------------------------------------------------------

    function _hashes(ProverMarket.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            ProverMarket.Leaf memory l = leaves[i];
            h[i] = BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
        }
    }

    function _expectRevert(bytes memory reason, bytes memory expected, bool shouldRevert, string memory what) internal {
        if (!shouldRevert) {
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

    function setUp() public override {
        super.setUp();
        handler = new MarketHandler(market);
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = MarketHandler.register.selector;
        selectors[1] = MarketHandler.addStake.selector;
        selectors[2] = MarketHandler.unbond.selector;
        selectors[3] = MarketHandler.withdrawStake.selector;
        selectors[4] = MarketHandler.deposit.selector;
        selectors[5] = MarketHandler.requestDepositWithdrawal.selector;
        selectors[6] = MarketHandler.withdrawDeposit.selector;
        selectors[7] = MarketHandler.commitBatch.selector;
        selectors[8] = MarketHandler.claim.selector;
        selectors[9] = MarketHandler.roll.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The market holds exactly every prover's stake and unbonding stake plus every
    /// client's deposit, and exactly what was paid in minus what was paid out.
    function invariant_balanceIsStakesPlusDeposits() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            (uint256 stake,, uint256 unbonding,,,) = market.provers(handler.proverAt(i));
            total += stake + unbonding + market.deposits(handler.clientAt(i));
        }
        assertEq(address(market).balance, total, "balance != stakes + unbonding + deposits");
        assertEq(address(market).balance, handler.ghost_paidIn() - handler.ghost_paidOut(), "balance != in - out");
    }

    /// No job of a client is ever paid twice, and `claimed` says exactly which were paid.
    function invariant_noJobClaimedTwice() public view {
        for (uint256 i = 0; i < handler.claimKeyCount(); i++) {
            bytes32 key = handler.claimKeyAt(i);
            uint256 claims = handler.ghost_claimsOf(key);
            assertLe(claims, 1, "job claimed twice");
            assertEq(market.claimed(key), claims == 1, "claimed flag");
        }
    }

    /// Every market call did what the handler predicted (success, or the exact error).
    function invariant_everyCallAsPredicted() public view {
        assertEq(handler.ghost_unexpected(), 0, handler.ghost_lastUnexpected());
    }

    /// Batch ids are dense: the handler's batches are exactly the market's.
    function invariant_batchIdsAreDense() public view {
        assertEq(market.batchCount(), handler.batchCount());
    }
}
