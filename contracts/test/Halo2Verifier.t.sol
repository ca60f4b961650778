// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "./utils/Test.sol";

/// A real verifier and proof written by the circuits crate
/// (`fixtures::evm_verifier_fixture_is_current`, scripts/regen-fixtures.sh): the EVM side
/// of every invalid-proof challenge. A valid proof passes; any change to it or to its
/// public inputs reverts.
contract Halo2VerifierTest is Test {
    address internal verifier;
    uint256[] internal publicInputs;
    bytes internal proof;
    uint256 internal proofLength;

    function setUp() public {
        string memory json =
            vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/poseidon-chain-12-verifier.json"));
        bytes memory code = vm.parseJsonBytes(json, ".verifierCreationCode");
        address deployed;
        assembly ("memory-safe") {
            deployed := create(0, add(code, 0x20), mload(code))
        }
        require(deployed != address(0), "verifier deployment failed");
        verifier = deployed;
        publicInputs = vm.parseJsonUintArray(json, ".publicInputs");
        proof = vm.parseJsonBytes(json, ".proof");
        proofLength = vm.parseJsonUint(json, ".proofLength");
    }

    /// Gas given to each verification. A rejected proof burns all the gas it is given (the
    /// bn254 precompiles consume everything on invalid points), so callers must cap it.
    uint256 internal constant VERIFY_GAS = 1_000_000;

    function verifies(uint256[] memory inputs, bytes memory proofBytes) internal view returns (bool ok) {
        (ok,) = verifier.staticcall{gas: VERIFY_GAS}(abi.encodePacked(inputs, proofBytes));
    }

    function test_validProofVerifies() public view {
        assertEq(proof.length, proofLength);
        assertTrue(verifies(publicInputs, proof));
    }

    /// Calls the verifier with `VERIFY_GAS` on calldata already in memory; returns the
    /// outcome and the gas the call used.
    function measure(bytes memory calldata_) internal view returns (bool ok, uint256 used) {
        address target = verifier;
        uint256 before = gasleft();
        (ok,) = target.staticcall{gas: VERIFY_GAS}(calldata_);
        used = before - gasleft();
    }

    function test_validProofGas() public {
        (bool ok, uint256 used) = measure(abi.encodePacked(publicInputs, proof));
        assertTrue(ok);
        emit log_named_uint("verify call gas (execution only)", used);
        assertLt(used, 360_000);
    }

    function test_aRejectedProofBurnsAllGasItIsGiven() public {
        bytes memory bad = bytes.concat(proof);
        bad[0] = bad[0] ^ 0x01;
        (bool ok, uint256 used) = measure(abi.encodePacked(publicInputs, bad));
        assertFalse(ok);
        emit log_named_uint("rejected proof gas", used);
        assertGt(used, VERIFY_GAS * 9 / 10);
    }

    function test_flippedProofByteReverts() public view {
        for (uint256 i = 0; i < proof.length; i += proof.length / 8) {
            bytes memory bad = bytes.concat(proof);
            bad[i] = bad[i] ^ 0x01;
            assertFalse(verifies(publicInputs, bad), "flipped byte accepted");
        }
    }

    function test_wrongPublicInputReverts() public view {
        uint256[] memory inputs = new uint256[](publicInputs.length);
        for (uint256 i = 0; i < inputs.length; i++) {
            inputs[i] = publicInputs[i];
        }
        inputs[0] ^= 1;
        assertFalse(verifies(inputs, proof));
    }

    function test_truncatedProofReverts() public view {
        bytes memory short = new bytes(proof.length - 32);
        for (uint256 i = 0; i < short.length; i++) {
            short[i] = proof[i];
        }
        assertFalse(verifies(publicInputs, short));
    }

    /// The EVM verifier, like halo2's, ignores bytes after the proof: the contracts must
    /// check the proof length themselves (docs/contracts.md).
    function test_appendedBytesAreIgnoredByTheVerifier() public view {
        assertTrue(verifies(publicInputs, bytes.concat(proof, hex"00ff")));
    }
}
