// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {CircuitStore} from "./CircuitStore.sol";

/// @title CircuitRegistrar
/// @notice Circuit registration, run by `ProverMarket` through DELEGATECALL on the market's
///         own storage and in its name (its events are the market's). The market creates
///         its registrar in its constructor and never changes it, so nobody holds a power
///         over registration. Called directly, it writes only its own storage, which
///         nothing reads.
contract CircuitRegistrar is CircuitStore {
    /// @notice Registers a circuit, by anyone, once. Its id is derived from what decides
    ///         its verdicts: `circuitIdOf(verifier's code hash, number of public inputs,
    ///         proof length)`, the two counts taken from a valid sample proof, so nobody
    ///         can register another verifier or another shape under an id in use, and the
    ///         same verifier code of the same shape has one id wherever it is deployed.
    ///         The gas each verification is given is measured here on the sample (what the
    ///         call took, plus a 32nd), so no registrant chooses it: it cannot starve
    ///         valid proofs into slashes nor make challenges dearer. The sample with its
    ///         first proof byte flipped must be rejected, so a verifier that accepts
    ///         anything is refused. Nothing about a registered circuit changes afterwards.
    function registerCircuit(address verifier, uint256[] calldata sampleInputs, bytes calldata sampleProof)
        external
        returns (bytes32 circuitId)
    {
        CircuitStorage storage s = _circuits();
        if (verifier.code.length == 0 || sampleProof.length == 0) revert InvalidParameters();
        // No code starts with 0xEF (EIP-3541) but an EIP-7702 delegation, which its
        // account can move at any time: such a verifier could change its verdicts.
        bytes1 first;
        assembly ("memory-safe") {
            extcodecopy(verifier, 0, 0, 1)
            first := mload(0)
        }
        if (first == 0xef) revert InvalidParameters();
        if (sampleProof.length > type(uint32).max || sampleInputs.length > type(uint16).max) {
            revert InvalidParameters();
        }
        circuitId = circuitIdOf(verifier.codehash, sampleInputs.length, sampleProof.length);
        if (s.circuits[circuitId].verifier != address(0)) revert CircuitExists(circuitId);
        bytes memory input = abi.encodePacked(sampleInputs, sampleProof);
        uint256 before = gasleft();
        if (!_call(verifier, MAX_VERIFIER_GAS, input)) revert SampleProofRejected();
        // What the call took (the verifier's run and the call's own cost), and a 32nd: a
        // verifier needs a little more than it uses, since each precompile call it makes
        // keeps 1/64 of what it forwards (the real verifier: 282.7k used, 284.0k needed,
        // a cap of 291.5k). A rejected proof burns the whole cap, so the margin is what
        // every invalid-proof slash pays beyond the verifier's cost. Verifier code that reads accounts or storage could be
        // measured warm here and run cold later: no node serves such code (ids name the
        // code, and nodes serve only the verifiers they compile).
        uint256 used = before - gasleft();
        uint256 gasLimit = used + used / 32;
        if (gasLimit > MAX_VERIFIER_GAS) gasLimit = MAX_VERIFIER_GAS;
        input[sampleInputs.length * 32] ^= 0x01;
        if (_call(verifier, gasLimit, input)) revert VerifierAcceptsCorruptedProof();
        s.circuits[circuitId] = Circuit({
            verifier: verifier,
            // At most MAX_VERIFIER_GAS, checked above.
            // forge-lint: disable-next-line(unsafe-typecast)
            gasLimit: uint32(gasLimit),
            // Both checked to fit above.
            // forge-lint: disable-next-line(unsafe-typecast)
            publicInputs: uint16(sampleInputs.length),
            // forge-lint: disable-next-line(unsafe-typecast)
            proofLength: uint32(sampleProof.length),
            codeHash: verifier.codehash
        });
        s.registeredAt[circuitId] = block.number;
        // At most MAX_VERIFIER_GAS.
        // forge-lint: disable-next-line(unsafe-typecast)
        emit CircuitRegistered(circuitId, verifier, sampleProof.length, sampleInputs.length, uint64(gasLimit));
    }
}
