// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "./utils/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BatchLeaf} from "../src/BatchLeaf.sol";

/// The Rust protocol crate and the contracts must agree on leaves and batch roots, or no
/// commitment could ever be challenged. The vectors are written by the Rust test
/// `fixtures::batch_leaves_fixture_is_current` (scripts/regen-fixtures.sh), never by hand.
contract BatchLeafTest is Test {
    string internal json;

    function setUp() public {
        json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/batch-leaves.json"));
    }

    function key(uint256 i, string memory field) internal pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "].", field);
    }

    function leafOf(uint256 i) internal view returns (bytes32) {
        uint256[] memory inputs = vm.parseJsonUintArray(json, key(i, "publicInputs"));
        bytes32 inputsHash = BatchLeaf.publicInputsHash(inputs);
        assertEq(inputsHash, vm.parseJsonBytes32(json, key(i, "publicInputsHash")), "inputs hash");
        return BatchLeaf.hash(
            vm.parseJsonBytes32(json, key(i, "jobId")),
            vm.parseJsonBytes32(json, key(i, "circuitId")),
            inputsHash,
            vm.parseJsonBytes32(json, key(i, "proofHash")),
            vm.parseJsonAddress(json, key(i, "client")),
            vm.parseJsonUint(json, key(i, "price"))
        );
    }

    function test_leavesMatchRust() public view {
        uint256 count = vm.parseJsonUint(json, ".count");
        assertGt(count, 2);
        for (uint256 i = 0; i < count; i++) {
            assertEq(leafOf(i), vm.parseJsonBytes32(json, key(i, "leaf")), "leaf");
        }
    }

    function test_rustPathsVerifyWithOpenZeppelin() public view {
        uint256 count = vm.parseJsonUint(json, ".count");
        bytes32 root = vm.parseJsonBytes32(json, ".root");
        for (uint256 i = 0; i < count; i++) {
            bytes32[] memory path = vm.parseJsonBytes32Array(json, key(i, "path"));
            bytes32 leaf = leafOf(i);
            assertTrue(MerkleProof.verify(path, root, leaf), "path of leaf i");
            assertFalse(MerkleProof.verify(path, root, leaf ^ bytes32(uint256(1))), "altered leaf");
            assertFalse(MerkleProof.verify(path, root ^ bytes32(uint256(1)), leaf), "other root");
        }
    }
}
