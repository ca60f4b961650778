// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title CircuitStore
/// @notice Registered circuits and how a proof is checked against one: the storage and
///         the rules that `ProverMarket` and its `CircuitRegistrar` share. The circuits
///         live at an ERC-7201 namespaced slot, so the registrar, which the market calls by
///         DELEGATECALL (registration does not fit in the market's code under EIP-170),
///         writes exactly what the market reads whatever either contract's other state.
abstract contract CircuitStore {
    /// @notice A registered circuit: two storage words, the first holding everything but
    ///         the code hash.
    struct Circuit {
        address verifier;
        /// Gas given to each call of the verifier (at most `MAX_VERIFIER_GAS`). A
        /// verifier's cost is fixed per circuit (the same curve operations for every
        /// proof), so the cap is that cost plus a small margin; a rejected proof burns
        /// the whole cap.
        uint32 gasLimit;
        /// Exact length of its proofs and exact number of its public inputs.
        uint16 publicInputs;
        uint32 proofLength;
        /// The verifier's code hash at registration: a verifier whose code changed since
        /// (an EIP-7702 delegation moved or cleared, code destroyed) decides nothing.
        bytes32 codeHash;
    }

    /// @custom:storage-location erc7201:provernet.circuits
    struct CircuitStorage {
        /// circuit id → its registration: the EVM verifier, the exact length of its proofs,
        /// the exact number of its public inputs, the gas given to each verifier call, and
        /// the verifier's code hash at registration. Fixed at registration: nothing changes
        /// a live circuit's verdicts.
        mapping(bytes32 => Circuit) circuits;
        /// circuit id → the block of its registration. A leaf's circuit counts as
        /// registered only if it was registered by the block of the leaf's batch: a verdict
        /// on a leaf never changes after the leaf is committed (anyone registers circuits,
        /// at any time).
        mapping(bytes32 => uint256) registeredAt;
    }

    /// keccak256(abi.encode(uint256(keccak256("provernet.circuits")) - 1)) & ~0xff
    /// (ERC-7201; `test_circuitStorageSlotIsTheNamespacedOne` recomputes it).
    bytes32 internal constant CIRCUIT_STORAGE = 0x4555de6335fd977d385d80f23ac08d4ab1e38357c0a8774f767c3a6cc897bd00;

    /// Largest gas a verifier call may be given.
    uint64 internal constant MAX_VERIFIER_GAS = 10_000_000;
    /// Gas the verifier call itself may cost beyond what it forwards (cold account access
    /// and the call's own opcodes); part of the check that the full cap is forwarded.
    uint256 internal constant CALL_OVERHEAD = 5_000;

    event CircuitRegistered(
        bytes32 indexed circuitId, address verifier, uint256 proofLength, uint256 publicInputs, uint64 gasLimit
    );

    error InvalidParameters();
    error InsufficientGas(uint256 available, uint256 required);
    error VerifierChanged(bytes32 circuitId);
    error CircuitExists(bytes32 circuitId);
    error SampleProofRejected();
    error VerifierAcceptsCorruptedProof();

    /// @notice The id of a circuit whose verifier has code hash `codeHash` and whose proofs
    ///         have `publicInputs` public inputs and `proofLength` bytes:
    ///         keccak256(abi.encode(codeHash, publicInputs, proofLength)). Nodes derive it
    ///         from the verifier they compile from their own keys.
    function circuitIdOf(bytes32 codeHash, uint256 publicInputs, uint256 proofLength) public pure returns (bytes32) {
        return keccak256(abi.encode(codeHash, publicInputs, proofLength));
    }

    function _circuits() internal pure returns (CircuitStorage storage s) {
        assembly ("memory-safe") {
            s.slot := CIRCUIT_STORAGE
        }
    }

    /// Whether the circuit's verifier accepts the proof. A proof of the wrong length is
    /// rejected without a call (the verifier ignores trailing bytes). The verifier gets
    /// exactly its circuit's `verifierGas`: a rejected proof burns all the gas it is given, so an
    /// uncapped call could be starved into failing on a valid proof; the call is refused
    /// unless the whole cap can be forwarded (EIP-150 keeps 1/64 back).
    function _verifies(bytes32 circuitId, uint256 committedAt, uint256[] calldata publicInputs, bytes calldata proof)
        internal
        view
        returns (bool)
    {
        Circuit memory c = _circuits().circuits[circuitId];
        // A leaf naming no circuit registered by its batch's block (`committedAt`) proves
        // nothing: invalid, so slashable, whenever the challenge lands.
        if (c.verifier == address(0) || _circuits().registeredAt[circuitId] > committedAt) return false;
        if (proof.length != c.proofLength) return false;
        // N+1 inputs with the proof shifted by a word would pass the verifier, which
        // ignores trailing bytes: the count is the circuit's, exactly.
        if (publicInputs.length != c.publicInputs) return false;
        // Code that is not the registered code gives no verdict, either way.
        if (_verifierChanged(circuitId)) revert VerifierChanged(circuitId);
        return _call(c.verifier, c.gasLimit, abi.encodePacked(publicInputs, proof));
    }

    /// Whether `circuitId` was registered by block `blockNumber`.
    function _registeredBy(bytes32 circuitId, uint256 blockNumber) internal view returns (bool) {
        uint256 at = _circuits().registeredAt[circuitId];
        return at != 0 && at <= blockNumber;
    }

    /// Whether the code at a registered circuit's verifier is no longer the registered code
    /// (never for a circuit that is not registered: address(0)'s code hash is not zero
    /// once it holds ether, which every burn sends it).
    function _verifierChanged(bytes32 circuitId) internal view returns (bool) {
        Circuit storage c = _circuits().circuits[circuitId];
        return c.verifier != address(0) && c.verifier.codehash != c.codeHash;
    }

    /// Calls `verifier` with exactly `cap` gas; refused unless the whole cap can be
    /// forwarded (EIP-150 keeps 1/64 back).
    function _call(address verifier, uint256 cap, bytes memory input) internal view returns (bool ok) {
        uint256 required = cap + cap / 63 + CALL_OVERHEAD;
        if (gasleft() < required) revert InsufficientGas(gasleft(), required);
        assembly ("memory-safe") {
            ok := staticcall(cap, verifier, add(input, 0x20), mload(input), 0, 0)
        }
    }
}
