// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "forge-std/Test.sol";
import {ProverMarket} from "../../src/ProverMarket.sol";
import {BatchLeaf} from "../../src/BatchLeaf.sol";

/// A batch tree as OpenZeppelin's MerkleProof checks it and `provernet_protocol::merkle`
/// builds it: sorted-pair keccak256, and a level with an odd number of nodes promotes its
/// last node unchanged (so that node has no sibling at that level).
library MerkleBuilder {
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        require(leaves.length > 0, "MerkleBuilder: no leaves");
        bytes32[] memory level = _copy(leaves);
        uint256 n = level.length;
        while (n > 1) {
            n = _up(level, n);
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory path) {
        require(index < leaves.length, "MerkleBuilder: index out of range");
        bytes32[] memory level = _copy(leaves);
        uint256 n = level.length;
        path = new bytes32[](256);
        uint256 len;
        while (n > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < n) path[len++] = level[sibling];
            n = _up(level, n);
            index /= 2;
        }
        assembly ("memory-safe") {
            mstore(path, len)
        }
    }

    /// Replaces the first ceil(n/2) entries of `level` by the next level up; returns its size.
    function _up(bytes32[] memory level, uint256 n) private pure returns (uint256) {
        uint256 half = n / 2;
        for (uint256 i = 0; i < half; i++) {
            level[i] = hashPair(level[2 * i], level[2 * i + 1]);
        }
        if (n % 2 == 1) level[half] = level[n - 1];
        return half + n % 2;
    }

    function _copy(bytes32[] memory a) private pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
    }
}

/// Deployment, actors and helpers shared by the ProverMarket unit, fuzz and invariant suites.
abstract contract MarketFixture is Test {
    uint256 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant CHALLENGE_WINDOW = 10;
    uint64 internal constant RESPONSE_WINDOW = 5;
    uint64 internal constant UNBONDING_DELAY = 20;
    uint64 internal constant DEPOSIT_DELAY = 30;

    bytes32 internal constant PEER_KEY = keccak256("prover ed25519 key");
    bytes32 internal constant CIRCUIT = keccak256("circuit");

    ProverMarket internal market;
    address internal owner = makeAddr("owner");
    address internal prover = makeAddr("prover");
    address internal otherProver = makeAddr("otherProver");
    address internal client;
    uint256 internal clientKey;
    address internal otherClient;
    uint256 internal otherClientKey;

    function setUp() public virtual {
        (client, clientKey) = makeAddrAndKey("client");
        (otherClient, otherClientKey) = makeAddrAndKey("otherClient");
        market = new ProverMarket(owner, MIN_STAKE, CHALLENGE_WINDOW, RESPONSE_WINDOW, UNBONDING_DELAY, DEPOSIT_DELAY);
        // Start away from block 0 / timestamp 0 so "block.number - x" arithmetic in tests is safe.
        vm.roll(100);
        vm.warp(1_700_000_000);
    }

    // ---- actors ----------------------------------------------------------------------

    function _register(address who, uint256 stake) internal {
        vm.deal(who, stake);
        vm.prank(who);
        market.register{value: stake}(keccak256(abi.encode(who)));
    }

    function _deposit(address who, uint256 amount) internal {
        vm.deal(who, amount);
        vm.prank(who);
        market.deposit{value: amount}();
    }

    function _stakeOf(address who) internal view returns (uint256 stake) {
        (stake,,,,,) = market.provers(who);
    }

    function _unbondingOf(address who) internal view returns (uint256 unbonding, uint64 at) {
        (,, unbonding, at,,) = market.provers(who);
    }

    // ---- leaves, batches, awards -------------------------------------------------------

    function _leaf(uint256 i, address client_, uint256 price) internal pure returns (ProverMarket.Leaf memory) {
        return ProverMarket.Leaf({
            jobId: keccak256(abi.encode("job", client_, i)),
            circuitId: CIRCUIT,
            publicInputsHash: keccak256(abi.encode("inputs", i)),
            proofHash: keccak256(abi.encode("proof", i)),
            client: client_,
            price: price
        });
    }

    function _hash(ProverMarket.Leaf memory l) internal pure returns (bytes32) {
        return BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
    }

    function _hashes(ProverMarket.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            h[i] = _hash(leaves[i]);
        }
    }

    /// `n` leaves of `client_` with prices 1 gwei, 2 gwei, ...
    function _leaves(uint256 n, address client_) internal pure returns (ProverMarket.Leaf[] memory leaves) {
        leaves = new ProverMarket.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(i, client_, (i + 1) * 1 gwei);
        }
    }

    function _commit(address who, ProverMarket.Leaf[] memory leaves) internal returns (uint256 batchId) {
        bytes32 root = MerkleBuilder.root(_hashes(leaves));
        vm.prank(who);
        batchId = market.commitBatch(root, uint32(leaves.length));
    }

    function _path(ProverMarket.Leaf[] memory leaves, uint256 index) internal pure returns (bytes32[] memory) {
        return MerkleBuilder.proof(_hashes(leaves), index);
    }

    /// The award the client of `l` gives `to`, due one hour from now.
    function _award(ProverMarket.Leaf memory l, address to) internal view returns (ProverMarket.Award memory) {
        return
            ProverMarket.Award({
                jobId: l.jobId, prover: to, price: l.price, deadline: uint64(block.timestamp + 1 hours)
            });
    }

    function _sign(uint256 key, ProverMarket.Award memory a) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.awardDigest(a));
        return abi.encodePacked(r, s, v);
    }

    /// Rolls past the challenge window of `batchId`.
    function _closeWindow(uint256 batchId) internal {
        (,,, uint64 blockNumber,) = market.batches(batchId);
        vm.roll(blockNumber + CHALLENGE_WINDOW + 1);
    }
}
