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
        return keccak256(abi.encode(jobId, circuitId, inputsHash, proofHash, client, price));
    }
}
