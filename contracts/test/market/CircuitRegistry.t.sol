// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "../utils/Test.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {CircuitRegistrar} from "../../src/CircuitRegistrar.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// A "verifier" that accepts every call: `registerCircuit` must refuse it.
contract AcceptEverythingVerifier {
    fallback() external {}
}

/// A verifier that checks the public inputs and ignores the proof: it accepts the sample
/// with its first proof byte flipped, so `registerCircuit` refuses it.
contract InputsOnlyVerifier {
    bytes32 internal immutable inputsHash;
    uint256 internal immutable inputsLength;

    constructor(uint256[] memory inputs) {
        inputsHash = keccak256(abi.encodePacked(inputs));
        inputsLength = inputs.length * 32;
    }

    fallback() external {
        require(msg.data.length > inputsLength && keccak256(msg.data[:inputsLength]) == inputsHash, "rejected");
    }
}

/// A verifier that accepts exactly one call data (inputs ‖ proof) and rejects every other.
contract ExactInputVerifier {
    bytes32 internal immutable accepted;

    constructor(bytes memory input) {
        accepted = keccak256(input);
    }

    fallback() external {
        require(keccak256(msg.data) == accepted, "rejected");
    }
}

/// A verifier that accepts exactly one call data, and costs about `burn` gas whatever the
/// call: what it spends before looking at the input.
contract CostlyExactInputVerifier {
    bytes32 internal immutable accepted;
    uint256 internal immutable burn;

    constructor(bytes memory input, uint256 burn_) {
        accepted = keccak256(input);
        burn = burn_;
    }

    fallback() external {
        uint256 start = gasleft();
        while (start - gasleft() < burn) {}
        require(keccak256(msg.data) == accepted, "rejected");
    }
}

/// The circuit registry: one test per rule and per revert reason of ProverMarket
/// (docs/contracts.md). The shared helpers are in MarketTestBase.
contract CircuitRegistryTest is MarketTestBase {
    // ================================================================================
    // registerCircuit / circuitIdOf
    // ================================================================================

    /// Registers `verifier` with the sample from an account of no standing (registration
    /// is permissionless), expecting `err` unless it is empty; returns the id it got.
    function _registerWith(address verifier, uint256[] memory sampleInputs, bytes memory sampleProof, bytes memory err)
        internal
        returns (bytes32 circuitId)
    {
        vm.prank(makeAddr("anyone"));
        if (err.length != 0) vm.expectRevert(err);
        circuitId = market.registerCircuit(verifier, sampleInputs, sampleProof);
    }

    /// The id a registration of `verifier`'s code with a sample of this shape gets.
    function _idOf(address verifier, uint256[] memory sampleInputs, bytes memory sampleProof)
        internal
        view
        returns (bytes32)
    {
        return market.circuitIdOf(verifier.codehash, sampleInputs.length, sampleProof.length);
    }

    function _invalidParameters() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(CircuitStore.InvalidParameters.selector);
    }

    /// Nothing is stored for `circuitId`.
    function _assertUnregistered(bytes32 circuitId) internal view {
        assertEq(_circuit(circuitId).verifier, address(0));
        assertEq(_circuit(circuitId).proofLength, 0);
        assertEq(_circuit(circuitId).publicInputs, 0);
        assertEq(_circuit(circuitId).gasLimit, 0);
    }

    /// `logs` hold exactly one event of the market, `CircuitRegistered` of `circuitId`,
    /// naming what the registration stored (the gas cap it measured included).
    function _assertRegisteredEvent(Vm.Log[] memory logs, bytes32 circuitId) internal view {
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].emitter, address(market));
        assertEq(logs[0].topics.length, 2);
        assertEq(logs[0].topics[0], CircuitStore.CircuitRegistered.selector);
        assertEq(logs[0].topics[1], circuitId);
        CircuitStore.Circuit memory c = _circuit(circuitId);
        assertEq(logs[0].data, abi.encode(c.verifier, c.proofLength, c.publicInputs, c.gasLimit));
    }

    /// `sampleProof` with its first byte flipped (what `registerCircuit` checks is rejected).
    function _flipped(bytes memory sampleProof) internal pure returns (bytes memory corrupted) {
        corrupted = bytes.concat(sampleProof);
        corrupted[0] ^= 0x01;
    }

    /// The same call data as `(sampleInputs, sampleProof)` plus one word, split as one more
    /// public input: the proof's first word moves into the inputs and `extra` ends the proof,
    /// which keeps its length.
    function _shiftedByOneWord(uint256[] memory sampleInputs, bytes memory sampleProof, bytes32 extra)
        internal
        pure
        returns (uint256[] memory moreInputs, bytes memory shiftedProof)
    {
        moreInputs = new uint256[](sampleInputs.length + 1);
        for (uint256 i = 0; i < sampleInputs.length; i++) {
            moreInputs[i] = sampleInputs[i];
        }
        uint256 firstWord;
        assembly ("memory-safe") {
            firstWord := mload(add(sampleProof, 0x20))
        }
        moreInputs[sampleInputs.length] = firstWord;
        shiftedProof = new bytes(sampleProof.length);
        for (uint256 i = 32; i < sampleProof.length; i++) {
            shiftedProof[i - 32] = sampleProof[i];
        }
        for (uint256 i = 0; i < 32; i++) {
            shiftedProof[sampleProof.length - 32 + i] = extra[i];
        }
    }

    /// The least gas with which `verifier` accepts `input`, by binary search over direct
    /// calls (a verifier's cost is the same for every call of the same input).
    function _leastGas(address verifier, bytes memory input) internal view returns (uint64 lo) {
        uint64 hi = VERIFIER_GAS;
        (bool ok,) = verifier.staticcall{gas: hi}(input);
        require(ok, "the sample verifies with VERIFIER_GAS");
        lo = 1;
        while (lo < hi) {
            uint64 mid = (lo + hi) / 2;
            (ok,) = verifier.staticcall{gas: mid}(input);
            if (ok) hi = mid;
            else lo = mid + 1;
        }
    }

    /// The id is keccak256(abi.encode(codeHash, publicInputs, proofLength)): the literal
    /// is the one the nodes' `circuit_id_of` is tested against (circuits/src/verifier.rs).
    function test_circuitIdOf_matchesTheNodes() public view {
        bytes32 codeHash = bytes32(type(uint256).max / 0xff * 0x11); // 0x1111…11
        bytes32 id = market.circuitIdOf(codeHash, 1, 1984);
        assertEq(id, 0x1a2a439528bfa793d49ebc3b3725f639ebf7166bb1bb59d2886995c15bb4a981);
        assertEq(id, keccak256(abi.encode(codeHash, uint256(1), uint256(1984))));
        assertNotEq(id, market.circuitIdOf(codeHash, 2, 1952), "another number of public inputs");
        assertNotEq(id, market.circuitIdOf(codeHash, 1, 2016), "another proof length");
        assertNotEq(id, market.circuitIdOf(~codeHash, 1, 1984), "another verifier");
    }

    /// Any account registers a circuit, and gets the id derived from its verifier's code
    /// and its sample's shape.
    function test_registerCircuit_isPermissionless() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.prank(client);
        bytes32 id = market.registerCircuit(verifier, ins, prf);
        assertEq(id, _idOf(verifier, ins, prf));
        assertEq(_circuit(id).verifier, verifier);
        assertTrue(market.checkProof(id, ins, prf));
    }

    function test_registerCircuit_revertsOnZeroVerifier() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        _registerWith(address(0), ins, prf, _invalidParameters());
        _assertUnregistered(_idOf(address(0), ins, prf));
    }

    function test_registerCircuit_revertsOnVerifierWithoutCode() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        address eoa = makeAddr("an EOA");
        _registerWith(eoa, ins, prf, _invalidParameters());
        _assertUnregistered(_idOf(eoa, ins, prf));
    }

    /// The sample sets the length of the circuit's proofs: an empty one is refused, even by
    /// a verifier that accepts the inputs alone.
    function test_registerCircuit_revertsOnEmptySampleProof() public {
        (uint256[] memory ins,) = _verifierSample();
        address inputsAlone = address(new ExactInputVerifier(abi.encodePacked(ins)));
        address verifier = _deployVerifier();
        _registerWith(inputsAlone, ins, "", _invalidParameters());
        _registerWith(verifier, ins, "", _invalidParameters());
        _assertUnregistered(_idOf(inputsAlone, ins, ""));
        _assertUnregistered(_idOf(verifier, ins, ""));
    }

    function test_registerCircuit_storesAndEmits() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        assertEq(prf.length, 1984);
        assertEq(ins.length, 1);
        vm.recordLogs();
        bytes32 id = _registerWith(verifier, ins, prf, "");
        assertEq(id, market.circuitIdOf(verifier.codehash, 1, 1984), "the derived id");
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).verifier, verifier);
        assertEq(_circuit(id).proofLength, 1984, "the sample's length");
        assertEq(_circuit(id).publicInputs, 1, "the sample's number of inputs");
        assertEq(_circuit(id).codeHash, verifier.codehash);
        assertGt(_circuit(id).gasLimit, 0);
        assertTrue(market.checkProof(id, ins, prf));
        assertFalse(market.checkProof(id, ins, _flipped(prf)));
    }

    /// The fixture's verifier registers under the id the circuits crate derived for it
    /// (`circuit_id_of`, written into the fixture): a node finds the registration of the
    /// verifier it compiled from its own keys, whoever registered it.
    function test_registerCircuit_derivesTheIdTheNodesDo() public {
        (, bytes32 id) = _registerFixtureVerifier();
        string memory json = vm.readFile(string.concat(vm.projectRoot(), VERIFIER_FIXTURE));
        assertEq(id, vm.parseJsonBytes32(json, ".circuitId"));
    }

    /// The gas each verification is given is measured on the sample: the verifier's cost
    /// (about 284k gas for the real verifier), plus a 32nd. Nobody chooses it, and it
    /// verifies the valid proof.
    function test_registerCircuit_measuresTheGasCapOnTheSample() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        uint64 cost = _leastGas(verifier, abi.encodePacked(ins, prf));
        emit log_named_uint("verifier cost of the sample (gas)", cost);
        assertGt(cost, 250_000);
        assertLt(cost, 360_000);
        bytes32 id = _registerWith(verifier, ins, prf, "");
        uint256 cap = _circuit(id).gasLimit;
        emit log_named_uint("gas cap measured at registration", cap);
        assertGe(cap, cost + cost / 50, "the cost and a margin");
        assertLe(cap, cost + cost / 32 + 1_000, "the cost, a 32nd and the call's own cost");
        (bool ok,) = verifier.staticcall{gas: cap}(abi.encodePacked(ins, prf));
        assertTrue(ok, "the valid proof verifies within the cap");
        assertTrue(market.checkProof(id, ins, prf));
    }

    /// A verifier whose cost comes near the most a call may be given gets that most (the
    /// margin is cut, never the cost); one that needs more cannot verify its sample.
    function test_registerCircuit_capsTheGasAtTheMaximum() public {
        bytes memory sample = abi.encodePacked(keccak256("a proof"));
        uint256[] memory none = new uint256[](0);
        uint64 max = MAX_VERIFIER_GAS;
        address costly = address(new CostlyExactInputVerifier(sample, max - max / 40));
        bytes32 id = _registerWith(costly, none, sample, "");
        assertEq(_circuit(id).gasLimit, max, "the cost and a 32nd, cut at the maximum");
        assertTrue(market.checkProof(id, none, sample));
        address tooCostly = address(new CostlyExactInputVerifier(sample, max));
        _registerWith(tooCostly, none, sample, abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector));
        _assertUnregistered(_idOf(tooCostly, none, sample));
    }

    /// The sample is run with the most gas a call may be given: a registration sent with
    /// too little gas to forward all of it is refused, so no registrant can starve the
    /// sample's run.
    function test_registerCircuit_revertsInsufficientGasWhenTheMaximumCannotBeForwarded() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.prank(prover);
        try market.registerCircuit{gas: 5_000_000}(verifier, ins, prf) {
            revert("a registration that cannot forward the maximum must revert");
        } catch (bytes memory ret) {
            // casting to 'bytes4' keeps the first four bytes: the selector
            // forge-lint: disable-next-line(unsafe-typecast)
            assertEq(bytes4(ret), CircuitStore.InsufficientGas.selector);
        }
        _assertUnregistered(_idOf(verifier, ins, prf));
    }

    /// A circuit is registered once: nobody can register its id again, whether with the
    /// same deployment, another deployment of the same code (the same id) or a sample of
    /// the same shape that does not even verify (`CircuitExists` is checked before the
    /// sample), and nothing about it changes.
    function test_registerCircuit_revertsCircuitExistsOnASecondRegistration() public {
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        CircuitStore.Circuit memory before = _circuit(id);
        bytes memory err = abi.encodeWithSelector(CircuitStore.CircuitExists.selector, id);
        address otherDeployment = _deployVerifier();
        assertEq(_idOf(otherDeployment, ins, prf), id, "the same code has the same id anywhere");
        uint256[] memory otherInputs = new uint256[](1);
        otherInputs[0] = ins[0] ^ 1;

        _registerWith(verifier, ins, prf, err);
        _registerWith(otherDeployment, ins, prf, err);
        _registerWith(verifier, ins, _flipped(prf), err);
        _registerWith(otherDeployment, otherInputs, prf, err);
        _assertUnchanged(id, before);
        assertEq(_circuit(id).verifier, verifier, "the first registration's");
    }

    /// The same verifier with a sample of another shape (a longer proof, which it accepts
    /// since it ignores trailing bytes; one more public input, the proof shifted by a word)
    /// registers under another id: a circuit of another shape can never stand for the one
    /// registered, whose verdicts do not change.
    function test_registerCircuit_anotherShapeGetsAnotherId() public {
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        CircuitStore.Circuit memory before = _circuit(id);
        bytes memory longer = bytes.concat(prf, hex"00ff");
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(ins, prf, keccak256("extra"));

        bytes32 longId = _registerWith(verifier, ins, longer, "");
        bytes32 shiftedId = _registerWith(verifier, more, shifted, "");
        assertNotEq(longId, id);
        assertNotEq(shiftedId, id);
        assertNotEq(longId, shiftedId);
        assertEq(_circuit(longId).proofLength, 1986);
        assertEq(_circuit(shiftedId).publicInputs, 2);
        _assertUnchanged(id, before);
        assertTrue(market.checkProof(id, ins, prf));
        assertFalse(market.checkProof(id, ins, longer), "not a proof of the registered shape");
        assertFalse(market.checkProof(id, more, shifted), "not a proof of the registered shape");
    }

    function test_registerCircuit_revertsSampleProofRejectedOnACorruptedSample() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        bytes memory err = abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector);
        _registerWith(verifier, ins, _flipped(prf), err);
        bytes memory lastFlipped = bytes.concat(prf);
        lastFlipped[prf.length - 1] ^= 0x01;
        _registerWith(verifier, ins, lastFlipped, err);
        uint256[] memory otherInputs = new uint256[](1);
        otherInputs[0] = ins[0] ^ 1;
        _registerWith(verifier, otherInputs, prf, err);
        _registerWith(verifier, new uint256[](0), prf, err);
        _assertUnregistered(_idOf(verifier, ins, prf));
        _assertUnregistered(_idOf(verifier, new uint256[](0), prf));
    }

    function test_registerCircuit_revertsVerifierAcceptsCorruptedProofForAnAcceptEverythingVerifier() public {
        address anything = address(new AcceptEverythingVerifier());
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        bytes memory err = abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        _registerWith(anything, ins, prf, err);
        _registerWith(anything, new uint256[](0), hex"00", err);
        _assertUnregistered(_idOf(anything, ins, prf));
        _assertUnregistered(_idOf(anything, new uint256[](0), hex"00"));
    }

    /// The corrupted copy flips the first byte of the proof, not of the inputs: a verifier
    /// that checks the inputs and ignores the proof is refused too.
    function test_registerCircuit_revertsVerifierAcceptsCorruptedProofForAVerifierIgnoringTheProof() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        address inputsOnly = address(new InputsOnlyVerifier(ins));
        _registerWith(inputsOnly, ins, prf, abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector));
        _assertUnregistered(_idOf(inputsOnly, ins, prf));
    }

    /// A circuit without public inputs: the corrupted copy flips byte 0 of the call data.
    function test_registerCircuit_circuitWithoutPublicInputs() public {
        bytes memory sample = abi.encodePacked(keccak256("a proof"), hex"c0ffee");
        address exact = address(new ExactInputVerifier(sample));
        uint256[] memory none = new uint256[](0);
        vm.recordLogs();
        bytes32 id = _registerWith(exact, none, sample, "");
        assertEq(id, market.circuitIdOf(exact.codehash, 0, 35));
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).publicInputs, 0);
        assertEq(_circuit(id).proofLength, 35);
        assertTrue(market.checkProof(id, none, sample));
        assertFalse(market.checkProof(id, none, _flipped(sample)));
    }

    /// ERC-7201's location of namespace "provernet.circuits", from the formula:
    /// keccak256(abi.encode(uint256(keccak256(id)) - 1)) & ~0xff.
    function _circuitNamespace() internal pure returns (bytes32) {
        return keccak256(abi.encode(uint256(keccak256("provernet.circuits")) - 1)) & ~bytes32(uint256(0xff));
    }

    /// The circuits live at the ERC-7201 namespace "provernet.circuits" (the location
    /// computed here from the formula, the constant the source states): the registrar,
    /// run by DELEGATECALL, and the market agree on it whatever either's other storage,
    /// and none of the market's own variables (slots 0 to 16) comes near it. A registration
    /// writes the verifier, its gas cap and its circuit's shape in the first word of
    /// `circuits[id]` (the mapping at the namespace's first slot), the code hash in the
    /// second, and its block in `registeredAt[id]` (the mapping at the second slot).
    function test_circuitStorageSlotIsTheNamespacedOne() public {
        bytes32 ns = _circuitNamespace();
        assertEq(ns, 0x4555de6335fd977d385d80f23ac08d4ab1e38357c0a8774f767c3a6cc897bd00, "CIRCUIT_STORAGE");
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        CircuitStore.Circuit memory c = _circuit(id);
        bytes32 slot = keccak256(abi.encode(id, ns));
        uint256 w0 = uint256(vm.load(address(market), slot));
        // Each cast keeps exactly its field's bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(address(uint160(w0)), verifier, "the verifier, at circuits[id] in the namespace");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint32(w0 >> 160), c.gasLimit, "its gas cap");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint16(w0 >> 192), c.publicInputs, "its number of public inputs");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint32(w0 >> 208), c.proofLength, "its proof length");
        assertEq(w0 >> 240, 0, "nothing else in the word");
        assertEq(vm.load(address(market), bytes32(uint256(slot) + 1)), verifier.codehash, "the code hash, next");
        bytes32 at = keccak256(abi.encode(id, uint256(ns) + 1));
        assertEq(uint256(vm.load(address(market), at)), block.number, "registeredAt[id], at the second slot");
    }

    /// The market's registrar is the contract its constructor created (its first CREATE,
    /// at nonce 1). Called directly, by anyone, it runs on its own storage: the
    /// registration succeeds there, with the registrar's own event, and the market knows
    /// nothing of it (no circuit, no verdict); the same registration through the market is
    /// then a first registration.
    function test_registerCircuit_directlyAtTheRegistrarRegistersNothingInTheMarket() public {
        address registrar = vm.computeCreateAddress(address(market), 1);
        assertGt(registrar.code.length, 0, "the market's registrar");
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.recordLogs();
        vm.prank(makeAddr("anyone"));
        bytes32 id = CircuitRegistrar(registrar).registerCircuit(verifier, ins, prf);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].emitter, registrar, "the registrar's own event, not the market's");
        assertEq(id, market.circuitIdOf(verifier.codehash, ins.length, prf.length));
        bytes32 slot = keccak256(abi.encode(id, _circuitNamespace()));
        assertEq(address(uint160(uint256(vm.load(registrar, slot)))), verifier, "stored in the registrar's storage");
        _assertUnregistered(id);
        assertEq(vm.load(address(market), slot), bytes32(0), "nothing in the market's");
        assertFalse(market.checkProof(id, ins, prf), "no verdict in the market");

        vm.recordLogs();
        assertEq(_registerWith(verifier, ins, prf, ""), id, "through the market: a first registration");
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).verifier, verifier);
        assertTrue(market.checkProof(id, ins, prf));
    }
}
