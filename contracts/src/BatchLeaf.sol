// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title BatchLeaf
/// @notice The leaf a prover commits for each job in a batch, computed exactly as the Rust
///         side does (`provernet_protocol::JobLeaf::hash`). Batch roots are checked with
///         OpenZeppelin's MerkleProof (sorted-pair keccak256), as built by
///         `provernet_protocol::merkle::MerkleTree`.
library BatchLeaf {
    /// @notice keccak256 of the public inputs, each a 32-byte big-endian word, concatenated.
    function publicInputsHash(uint256[] memory publicInputs) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(publicInputs));
    }

    /// @notice leaf = keccak256(abi.encode(jobId, circuitId, publicInputsHash, proofHash, client, price)).
    function hash(
        bytes32 jobId,
        bytes32 circuitId,
        bytes32 inputsHash,
        bytes32 proofHash,
        address client,
        uint256 price
    ) internal pure returns (bytes32) {
        // keccak256(abi.encode(...)) in scratch memory: claims hash one leaf per job, and
        // allocating for each would grow memory quadratically.
        bytes32 h;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, jobId)
            mstore(add(m, 0x20), circuitId)
            mstore(add(m, 0x40), inputsHash)
            mstore(add(m, 0x60), proofHash)
            mstore(add(m, 0x80), client)
            mstore(add(m, 0xa0), price)
            h := keccak256(m, 0xc0)
        }
        return h;
    }
}
