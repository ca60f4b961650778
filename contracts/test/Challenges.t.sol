// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {CircuitStore} from "../src/CircuitStore.sol";
import {MarketFixture} from "./utils/MarketFixture.sol";

/// A watchtower contract that refuses ether: what a slash owes it stays in its credits.
contract EtherRefusingWatchtower {
    ProverMarket internal immutable market;

    constructor(ProverMarket market_) {
        market = market_;
    }

    function challengeEquivocation(MarketTypes.Inclusion calldata a, MarketTypes.Inclusion calldata b) external {
        market.challengeEquivocation(a, b);
    }

    function withdrawCredits() external {
        market.withdrawCredits();
    }
}

/// The four challenges, the slash split, credits and the consumer view `isFinal`: one test
/// per rule and per revert reason (docs/contracts.md). Invalid-proof and withheld-proof
/// challenges run against the real poseidon-chain-12 EVM verifier and proof of
/// test/fixtures/poseidon-chain-12-verifier.json.
///
/// Figures used throughout: the prover stakes 4 ether; one slash takes the fixed
/// `SLASH_PER_JOB` (0.01 ether), of which the challenger gets 30 % (0.003 ether) as credit,
/// the client 20 % capped at the job's price (at most 0.002 ether) into its deposit, and
/// the rest (0.005 ether with the full refund) is burned.
contract ChallengesTest is MarketFixture {
    uint256 internal constant STAKE = 4 ether;
    uint256 internal constant SLASH = SLASH_PER_JOB;
    uint256 internal constant REWARD = SLASH * REWARD_BPS / 10_000;
    uint256 internal constant FULL_REFUND = SLASH * REFUND_BPS / 10_000;
    uint256 internal constant BURN = SLASH - REWARD - FULL_REFUND;

    address internal watchtower = makeAddr("watchtower");
    uint256 internal proverKey;
    uint256 internal otherProverKey;

    // The real verifier fixture.
    address internal verifier;
    /// The id the market derived for it, and the gas cap it measured.
    bytes32 internal realCircuit;
    uint256 internal cap;
    uint256 internal proofLength;
    uint256[] internal inputs;
    /// The valid proof of `inputs`.
    bytes internal proof;
    /// The valid proof with its first byte flipped: right length, rejected by the verifier.
    bytes internal badProof;
    /// The valid proof with two bytes appended: the verifier accepts it, the market must not.
    bytes internal longProof;

    /// The batch of `_commitRealBatch`: a valid proof (nonce 0, 1 gwei), a corrupted proof
    /// (nonce 1, 1 ether), an over-long proof (nonce 2, 1 gwei) and a valid proof (nonce 3,
    /// 2 gwei), all of `client`.
    MarketTypes.Leaf[] internal real;
    uint256 internal realBatch;

    function setUp() public override {
        super.setUp();
        (, proverKey) = makeAddrAndKey("prover");
        (, otherProverKey) = makeAddrAndKey("otherProver");
        string memory json = vm.readFile(string.concat(vm.projectRoot(), VERIFIER_FIXTURE));
        proofLength = vm.parseJsonUint(json, ".proofLength");
        (inputs, proof) = _verifierSample();
        badProof = bytes.concat(proof);
        badProof[0] = badProof[0] ^ 0x01;
        longProof = bytes.concat(proof, hex"00ff");
        (verifier, realCircuit) = _registerFixtureVerifier();
        cap = _circuit(realCircuit).gasLimit;
        _register(prover, STAKE);
    }

    // ================================================================================
    // helpers
    // ================================================================================

    function _realLeaf(uint256 nonce, uint256 price, bytes memory proof_)
        internal
        view
        returns (MarketTypes.Leaf memory)
    {
        return MarketTypes.Leaf({
            jobId: _jobId(client, _nonce(nonce)),
            circuitId: realCircuit,
            publicInputsHash: keccak256(abi.encodePacked(inputs)),
            proofHash: keccak256(proof_),
            client: client,
            price: price
        });
    }

    function _commitRealBatch() internal {
        real.push(_realLeaf(0, 1 gwei, proof));
        real.push(_realLeaf(1, 1 ether, badProof));
        real.push(_realLeaf(2, 1 gwei, longProof));
        real.push(_realLeaf(3, 2 gwei, proof));
        realBatch = _commit(prover, _real());
    }

    function _real() internal view returns (MarketTypes.Leaf[] memory) {
        return real;
    }

    function _key(MarketTypes.Leaf memory l) internal view returns (bytes32) {
        return _jobKey(prover, l.client, l.jobId);
    }

    /// The watchtower challenges leaf `i` of the real batch as invalid with `proof_`,
    /// committing its evidence first.
    function _challengeInvalid(uint256 i, bytes memory proof_) internal {
        _evidenceInvalid(i, proof_);
        _sendInvalid(i, proof_);
    }

    /// The watchtower's commitment to the challenge of `_challengeInvalid`, in the block
    /// before (apart, so that a test can expect the challenge's own events).
    function _evidenceInvalid(uint256 i, bytes memory proof_) internal {
        _evidence(
            watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(realBatch, _real(), i), inputs, proof_))
        );
    }

    /// The challenge of `_challengeInvalid` alone.
    function _sendInvalid(uint256 i, bytes memory proof_) internal {
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), i);
        uint256[] memory inputs_ = inputs;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs_, proof_);
    }

    function _expectInvalidRevert(MarketTypes.Inclusion memory at, bytes memory proof_, bytes memory err) internal {
        uint256[] memory inputs_ = inputs;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(err);
        market.challengeInvalidProof{value: BOND}(at, inputs_, proof_);
    }

    function _openChallenges(address who) internal view returns (uint32 open) {
        (,,,,,, open,,,,,) = market.provers(who);
    }

    /// Splits `ret`, the revert data of InsufficientGas, into its arguments.
    function _insufficientGas(bytes memory ret) internal pure returns (uint256 available, uint256 required) {
        // casting to 'bytes4' is safe because it keeps the first four bytes: the selector
        // forge-lint: disable-next-line(unsafe-typecast)
        require(ret.length == 68 && bytes4(ret) == CircuitStore.InsufficientGas.selector, "not InsufficientGas");
        assembly ("memory-safe") {
            available := mload(add(ret, 0x24))
            required := mload(add(ret, 0x44))
        }
    }

    /// `inputs` plus the valid proof's first word as one more public input, and the proof
    /// shifted by that word with `extra` at its end (same length): together the valid call
    /// data plus one word.
    function _shiftedByOneWord(bytes32 extra) internal view returns (uint256[] memory more, bytes memory shifted) {
        more = new uint256[](inputs.length + 1);
        for (uint256 i = 0; i < inputs.length; i++) {
            more[i] = inputs[i];
        }
        bytes memory valid = proof;
        uint256 firstWord;
        assembly ("memory-safe") {
            firstWord := mload(add(valid, 0x20))
        }
        more[inputs.length] = firstWord;
        shifted = new bytes(valid.length);
        for (uint256 i = 32; i < valid.length; i++) {
            shifted[i - 32] = valid[i];
        }
        for (uint256 i = 0; i < 32; i++) {
            shifted[valid.length - 32 + i] = extra[i];
        }
    }

    // ---- missed deadline -----------------------------------------------------------------

    uint64 internal constant JOB = 7;

    /// The award of job 7 of `client` to `prover` for 1 ether, due in one hour, for the
    /// statement of `_leaf(JOB, client, 1 ether)` (the leaf that answers it).
    function _mdAward() internal view returns (MarketTypes.Award memory) {
        return _award(_leaf(JOB, client, 1 ether), prover);
    }

    /// The prover's acceptance of award `a` of `client`.
    function _acceptanceOf(MarketTypes.Award memory a) internal view returns (MarketTypes.Acceptance memory) {
        return _acceptance(a, client);
    }

    /// The watchtower challenges the missed deadline of `award`, committing its evidence
    /// first.
    function _challengeMissed(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig
    ) internal returns (uint256 id) {
        _evidenceMissed(acc, accSig, award, awardSig);
        id = _sendMissed(acc, accSig, award, awardSig);
    }

    /// The watchtower's commitment to the challenge of `_challengeMissed`, in the block
    /// before.
    function _evidenceMissed(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig
    ) internal {
        _evidence(watchtower, abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig)));
    }

    /// The challenge of `_challengeMissed` alone.
    function _sendMissed(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig
    ) internal returns (uint256 id) {
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    function _expectMissedRevert(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig,
        bytes memory err
    ) internal {
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(err);
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    /// Opens a missed-deadline challenge on `_mdAward()` one second after its deadline.
    function _openMissed() internal returns (uint256 id, MarketTypes.Award memory award) {
        award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        id = _challengeMissed(acc, accSig, award, awardSig);
    }

    // ---- equivocation ----------------------------------------------------------------------

    /// Job 7 of `client` as two different leaves: another proof and another price.
    function _twins(uint256 priceA, uint256 priceB)
        internal
        view
        returns (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b)
    {
        a = _leaf(JOB, client, priceA);
        b = _leaf(JOB, client, priceB);
        b.proofHash = keccak256("another proof");
    }

    /// Commits `l` (with a filler leaf before it) as a batch of `who`; returns the inclusion.
    function _commitOne(address who, MarketTypes.Leaf memory l) internal returns (MarketTypes.Inclusion memory) {
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(100 + block.number, client, 1 gwei);
        leaves[1] = l;
        uint256 id = _commit(who, leaves);
        return _at(id, leaves, 1);
    }

    /// The prover claims the leaf of `at`, a batch of `_commitOne` (whose other leaf is the
    /// leaf's only sibling, its path), alone: job `nonce`, with `award`'s deadline and the
    /// client's signature `sig`.
    function _claimAt(MarketTypes.Inclusion memory at, uint64 nonce, MarketTypes.Award memory award, bytes memory sig)
        internal
    {
        require(at.path.length == 1, "_claimAt: not a batch of _commitOne");
        bytes32[] memory hashes = new bytes32[](2);
        hashes[0] = at.path[0];
        _claimSingle(prover, at.batchId, hashes, _batchJob(at.leaf, 1, nonce, award.deadline, sig));
    }

    // ================================================================================
    // commitEvidence
    // ================================================================================

    /// A commitment records the block it was made in, per account and digest; the first one
    /// stays (committing again, in any later block, changes nothing), and another account's
    /// commitment to the same digest is its own.
    function test_commitEvidence_recordsTheFirstBlockPerAccountAndDigest() public {
        bytes32 digest = keccak256("a challenge's input");
        bytes32 other = keccak256("another challenge's input");
        uint256 n = block.number;
        assertEq(market.evidenceCommitments(watchtower, digest), 0);
        vm.prank(watchtower);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(watchtower, digest), n);

        vm.roll(n + 3);
        vm.prank(watchtower);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(watchtower, digest), n, "the first commitment stays");
        vm.prank(otherClient);
        market.commitEvidence(digest);
        assertEq(market.evidenceCommitments(otherClient, digest), n + 3, "per account");
        assertEq(market.evidenceCommitments(watchtower, digest), n);
        vm.prank(watchtower);
        market.commitEvidence(other);
        assertEq(market.evidenceCommitments(watchtower, other), n + 3, "per digest");
        assertEq(market.evidenceCommitments(otherClient, other), 0);
    }

    /// A challenge is taken only with its challenger's commitment to its exact input from
    /// an earlier block, checked after the challenge's own checks: none gives
    /// EvidenceNotCommitted(0), one of this block EvidenceNotCommitted(block.number), and
    /// a refused challenge leaves the commitment in place. Taken, it consumes it.
    function test_challengeWithheldProof_takesOnlyACommitmentFromAnEarlierBlock() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        bytes32 digest = _evidenceDigest(
            watchtower, abi.encodeCall(market.challengeWithheldProof, (at, NO_NONCE, 0, bytes32(0), bytes32(0)))
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));

        uint256 n = block.number;
        vm.prank(watchtower);
        market.commitEvidence(digest);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, n));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        // Another input (another leaf) is not covered by it.
        vm.roll(n + 1);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        market.challengeWithheldProof{value: BOND}(_at(realBatch, _real(), 0), NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(market.evidenceCommitments(watchtower, digest), n, "kept through the refusals");

        vm.prank(watchtower);
        uint256 id = market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(id, 0);
        assertEq(market.evidenceCommitments(watchtower, digest), 0, "consumed");
        assertEq(_openChallenges(prover), 1);
    }

    // ================================================================================
    // checkProof (real verifier)
    // ================================================================================

    function test_checkProof_decidesAsTheChallengesDo() public view {
        assertEq(_circuit(realCircuit).proofLength, proofLength);
        assertEq(_circuit(realCircuit).publicInputs, inputs.length);
        assertTrue(market.checkProof(realCircuit, inputs, proof));
        assertFalse(market.checkProof(realCircuit, inputs, badProof));
        assertFalse(market.checkProof(realCircuit, inputs, longProof), "wrong length");
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        assertFalse(market.checkProof(realCircuit, other, proof));
    }

    /// A circuit that is not registered proves nothing: a proof of it is invalid, even one
    /// that another circuit's verifier accepts.
    function test_checkProof_falseForAnUnregisteredCircuit() public view {
        assertEq(_circuit(CIRCUIT).verifier, address(0));
        assertFalse(market.checkProof(CIRCUIT, inputs, proof));
        assertFalse(market.checkProof(bytes32(0), inputs, proof));
        assertTrue(market.checkProof(realCircuit, inputs, proof));
    }

    /// N+1 public inputs whose last one is the proof's first word, and the proof shifted by
    /// that word with one more word at its end: the call data is the valid call's plus a
    /// word, and the proof keeps its length. The EVM verifier ignores trailing bytes and
    /// accepts it; the market must not, as the number of inputs is not the circuit's.
    function test_checkProof_falseForOneMorePublicInputWithTheProofShiftedByOneWord() public view {
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(keccak256("extra word"));
        assertEq(more.length, inputs.length + 1);
        assertEq(shifted.length, proofLength, "the registered length");
        assertEq(
            abi.encodePacked(more, shifted),
            abi.encodePacked(inputs, proof, keccak256("extra word")),
            "the valid call data plus one word"
        );
        (bool accepted,) = verifier.staticcall{gas: VERIFIER_GAS}(abi.encodePacked(more, shifted));
        assertTrue(accepted, "the EVM verifier accepts it");
        assertFalse(market.checkProof(realCircuit, more, shifted));
        // Fewer inputs than the circuit's are refused too.
        assertFalse(market.checkProof(realCircuit, new uint256[](0), proof));
    }

    // ================================================================================
    // challengeInvalidProof (real verifier)
    // ================================================================================

    function test_challengeInvalidProof_corruptedProofSlashesWithExactSplit() public {
        _commitRealBatch();
        MarketTypes.Leaf memory l = real[1]; // price 1 ether: refund not capped
        uint256 marketBefore = address(market).balance;
        uint256 burnBefore = address(0).balance;
        _evidenceInvalid(1, badProof);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        _sendInvalid(1, badProof);

        assertEq(SLASH, _slashOf(STAKE));
        assertEq(SLASH, 0.01 ether);
        assertEq(BURN, 0.005 ether);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD, "bond back plus reward");
        assertEq(market.deposits(client), FULL_REFUND, "the refund goes into the client's deposit");
        assertEq(market.credits(client), 0);
        assertEq(market.credits(prover), 0);
        assertEq(market.totalBurned(), BURN);
        assertEq(address(market).balance, marketBefore + BOND - BURN, "only the burn leaves");
        assertEq(address(0).balance, burnBefore + BURN);
        assertTrue(market.slashed(_key(l)));
        assertTrue(_isDisputed(prover));
        assertEq(market.challengeCount(), 0, "decided at once, nothing stored");
    }

    function test_challengeInvalidProof_refundIsCappedAtThePrice() public {
        _commitRealBatch();
        // Leaf 2 costs 1 gwei; its proof has bytes appended (wrong length: invalid).
        MarketTypes.Leaf memory l = real[2];
        _evidenceInvalid(2, longProof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            1 gwei,
            SLASH - REWARD - 1 gwei
        );
        _sendInvalid(2, longProof);
        assertEq(market.deposits(client), 1 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 1 gwei);
    }

    function test_challengeInvalidProof_proofWithAppendedBytesIsSlashedThoughTheVerifierAcceptsIt() public {
        _commitRealBatch();
        (bool accepted,) = verifier.staticcall{gas: VERIFIER_GAS}(abi.encodePacked(inputs, longProof));
        assertTrue(accepted, "the EVM verifier ignores trailing bytes");
        _challengeInvalid(2, longProof);
        assertTrue(market.slashed(_key(real[2])));
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_challengeInvalidProof_validProofIsAFalseChallenge() public {
        _commitRealBatch();
        uint256 marketBefore = address(market).balance;
        _evidenceInvalid(0, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.FalseChallenge(prover, real[0].jobId, MarketTypes.Fault.InvalidProof, watchtower, BOND);
        _sendInvalid(0, proof);

        assertEq(market.credits(prover), BOND, "the bond goes to the prover");
        assertEq(market.credits(watchtower), 0);
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[0])));
        assertFalse(_isDisputed(prover));
        assertEq(market.totalBurned(), 0);
        assertEq(address(market).balance, marketBefore + BOND);
    }

    function test_challengeInvalidProof_revertsOnWrongBond() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        uint256[] memory inputs_ = inputs;
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 0));
        market.challengeInvalidProof(at, inputs_, badProof);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND + 1));
        market.challengeInvalidProof{value: BOND + 1}(at, inputs_, badProof);
    }

    function test_challengeInvalidProof_revertsOnUnknownBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        at.batchId = 1;
        _expectInvalidRevert(at, badProof, abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 1));
    }

    function test_challengeInvalidProof_acceptedAtLastBlockOfWindow() public {
        _commitRealBatch();
        vm.roll(block.number + CHALLENGE_WINDOW);
        _challengeInvalid(1, badProof);
        assertTrue(market.slashed(_key(real[1])));
    }

    function test_challengeInvalidProof_revertsOneBlockAfterWindow() public {
        _commitRealBatch();
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        _expectInvalidRevert(
            _at(realBatch, _real(), 1), badProof, abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt)
        );
    }

    function test_challengeInvalidProof_revertsWhenLeafNotInBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        at.path = _path(_real(), 0);
        _expectInvalidRevert(at, badProof, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
    }

    function test_challengeInvalidProof_revertsOnOtherPublicInputs() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector));
        market.challengeInvalidProof{value: BOND}(at, other, badProof);
    }

    function test_challengeInvalidProof_revertsOnProofOtherThanCommitted() public {
        _commitRealBatch();
        // Leaf 0 committed the valid proof; a challenger cannot swap in a bad one.
        _expectInvalidRevert(
            _at(realBatch, _real(), 0), badProof, abi.encodeWithSelector(MarketTypes.ProofMismatch.selector)
        );
    }

    /// A leaf naming a circuit that is not registered is invalid: the prover is slashed and
    /// the bond returned, even when its proof is one another circuit's verifier accepts.
    function test_challengeInvalidProof_slashesALeafOfAnUnregisteredCircuit() public {
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _realLeaf(0, 1 ether, proof);
        leaves[0].circuitId = keccak256("unregistered circuit");
        uint256 id = _commit(prover, leaves);
        uint256[] memory inputs_ = inputs;
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(id, leaves, 0), inputs_, proof)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaves[0].jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(id, leaves, 0), inputs_, proof);
        assertTrue(market.slashed(_key(leaves[0])));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD, "bond back plus reward");
        assertEq(market.credits(prover), 0);
    }

    /// A leaf committing one more public input and the proof shifted by a word (the valid
    /// call data plus a word, which the EVM verifier accepts) is slashed.
    function test_challengeInvalidProof_slashesOneMorePublicInputWithTheProofShiftedByOneWord() public {
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(keccak256("extra word"));
        MarketTypes.Leaf memory l = _realLeaf(0, 1 ether, shifted);
        l.publicInputsHash = keccak256(abi.encodePacked(more));
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = l;
        leaves[1] = _realLeaf(1, 1 gwei, proof);
        uint256 id = _commit(prover, leaves);

        // Its withheld-proof challenge cannot be answered with it either.
        uint256 withheld = _challengeWithheld(otherClient, id, leaves, 0);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(withheld, more, shifted);

        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (_at(id, leaves, 0), more, shifted)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            l.jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(_at(id, leaves, 0), more, shifted);
        assertTrue(market.slashed(_key(l)));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(watchtower), BOND + REWARD);
    }

    function test_challengeInvalidProof_revertsWhenAlreadySlashed() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        _expectInvalidRevert(
            _at(realBatch, _real(), 1),
            badProof,
            abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId)
        );
        assertEq(_stakeOf(prover), STAKE - SLASH, "one slash per job");
    }

    function test_challengeInvalidProof_revertsInsufficientGasInsteadOfFailingTheVerifier() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0); // the valid proof
        uint256[] memory inputs_ = inputs;
        _evidenceInvalid(0, proof);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        // Exactly what forwarding the cap requires: enough to run the checks, and more
        // than the valid proof needs, but not enough to forward the whole cap once the
        // checks ran.
        try market.challengeInvalidProof{value: BOND, gas: cap + cap / 63 + 5_000}(at, inputs_, proof) {
            revert("a call that cannot forward the verifier gas must revert");
        } catch (bytes memory ret) {
            (uint256 available, uint256 required) = _insufficientGas(ret);
            assertEq(required, cap + cap / 63 + 5_000);
            assertLt(available, required);
            assertGt(available, cap * 32 / 33, "more than the verifier took on the sample");
        }
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[0])));
        assertEq(market.credits(prover), 0);
    }

    /// Whatever gas a challenger gives the call, a valid proof is never slashed: the call
    /// either refuses (InsufficientGas) or the verifier runs with its whole cap and accepts.
    function test_challengeInvalidProof_validProofCannotBeStarvedIntoASlash() public {
        _commitRealBatch();
        bytes memory data = abi.encodeCall(market.challengeInvalidProof, (_at(realBatch, _real(), 0), inputs, proof));
        uint256 refused;
        uint256 accepted;
        // Coarse steps over the whole range, then 500-gas steps around the threshold (the
        // cap, what forwarding it costs and the checks before the call).
        for (uint256 g = 100_000; g <= 1_200_000; g += (g >= cap && g < cap + 100_000) ? 500 : 50_000) {
            // An accepted call consumes the commitment; a refused one leaves it (committing
            // again is then a no-op: the first commitment stays).
            _evidence(watchtower, data);
            vm.deal(watchtower, BOND);
            vm.prank(watchtower);
            (bool ok, bytes memory ret) = address(market).call{value: BOND, gas: g}(data);
            if (ok) {
                accepted++;
                assertEq(market.credits(prover), accepted * BOND, "every accepted call is a false challenge");
            } else {
                refused++;
                _assertRefusedForGas(ret);
            }
            assertEq(_stakeOf(prover), STAKE);
            assertFalse(market.slashed(_key(real[0])));
        }
        assertGt(refused, 0);
        assertGt(accepted, 0);
    }

    function test_challengeInvalidProof_takesUnbondingStakeWhenBondedStakeIsTooSmall() public {
        _commitRealBatch();
        vm.prank(prover);
        market.unbond(STAKE - 0.004 ether); // bonded 0.004 ether: less than one slash
        _evidenceInvalid(1, badProof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            real[1].jobId,
            client,
            MarketTypes.Fault.InvalidProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        _sendInvalid(1, badProof);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 0);
        assertEq(unbonding, STAKE - 0.004 ether - (SLASH - 0.004 ether));
    }

    /// A slash is a fixed amount: k faulty jobs cost k times as much.
    function test_challengeInvalidProof_eachJobIsSlashedTheFixedAmount() public {
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _realLeaf(0, 1 ether, badProof);
        leaves[1] = _realLeaf(1, 1 ether, longProof);
        real.push(leaves[0]);
        real.push(leaves[1]);
        realBatch = _commit(prover, leaves);
        _challengeInvalid(0, badProof);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        _challengeInvalid(1, longProof);
        assertEq(_stakeOf(prover), STAKE - 2 * SLASH, "the second slash takes as much as the first");
        assertEq(market.credits(watchtower), 2 * BOND + 2 * REWARD, "both bonds back, two rewards");
        assertEq(market.totalBurned(), 2 * BURN);
    }

    // ================================================================================
    // challengeWithheldProof / revealProof
    // ================================================================================

    function test_challengeWithheldProof_opensAChallenge() public {
        _commitRealBatch();
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        uint256 marketBefore = address(market).balance;
        _evidenceWithheld(watchtower, realBatch, _real(), 3);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, real[3].jobId, MarketTypes.Fault.WithheldProof, watchtower, client, respondBy
        );
        uint256 id = _sendWithheld(watchtower, realBatch, _real(), 3);

        assertEq(id, 0);
        assertEq(market.challengeCount(), 1);
        assertEq(_openChallenges(prover), 1);
        assertEq(market.pendingChallenge(_key(real[3])), id + 1);
        assertTrue(_isDisputed(prover));
        assertEq(address(market).balance, marketBefore + BOND, "the bond is held");
        MarketTypes.Challenge memory c = _challenge(id);
        assertEq(uint8(c.fault), uint8(MarketTypes.Fault.WithheldProof));
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(c.respondBy, respondBy);
        (,, uint40 committedAt,,) = market.batches(realBatch);
        assertEq(c.deadline, committedAt, "a withheld-proof challenge holds its batch's block");
        assertFalse(c.bought, "nothing bought");
        assertEq(c.challenger, watchtower);
        assertEq(c.prover, prover);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 2 gwei);
        assertEq(c.jobId, real[3].jobId);
        assertEq(c.circuitId, realCircuit);
        assertEq(c.publicInputsHash, real[3].publicInputsHash);
        assertEq(c.proofHash, keccak256(proof));
    }

    function test_challengeWithheldProof_revertsOnUnknownBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        at.batchId = realBatch + 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, realBatch + 1));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsOnWrongBond() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND - 1));
        market.challengeWithheldProof{value: BOND - 1}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsOneBlockAfterWindow() public {
        _commitRealBatch();
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsWhenLeafNotInBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        at.leaf.price += 1;
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// A leaf naming a circuit that is not registered (CIRCUIT has no verifier here) can be
    /// challenged as withheld; no proof answers it, not even one that another circuit's
    /// verifier accepts, so finalizing slashes.
    function test_challengeWithheldProof_opensOnAnUnregisteredCircuitAndFinalizeSlashes() public {
        assertEq(_circuit(CIRCUIT).verifier, address(0));
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 gwei);
        leaves[1] = _realLeaf(1, 1 ether, proof);
        leaves[1].circuitId = CIRCUIT;
        uint256 id = _commit(prover, leaves);
        uint256 challengeId = _challengeWithheld(watchtower, id, leaves, 1);
        assertEq(_openChallenges(prover), 1);
        assertEq(
            _challenge(challengeId).circuitId,
            bytes32(0),
            "no circuit can answer: the leaf's was not registered by its batch"
        );

        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(challengeId, inputs, proof);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaves[1].jobId,
            client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        market.finalizeChallenge(challengeId);
        assertTrue(market.slashed(_key(leaves[1])));
        // The leaf is priced at 1 ether, above `challengeBond`: the bond is `challengeBond`.
        assertEq(market.credits(watchtower), BOND + REWARD, "the bond back, and the reward");
    }

    function test_challengeWithheldProof_revertsWhileAnotherIsPending() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_challengeWithheldProof_revertsWhenAlreadySlashed() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    /// An answered withheld-proof challenge cannot be opened again on the job, by anyone:
    /// the prover answers each fault once, not once per challenger.
    function test_challengeWithheldProof_revertsAlreadyAnsweredOnceAnswered() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[3].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        // forge-lint: disable-next-line(incorrect-shift)
        assertEq(market.answeredFaults(_key(real[3])), 1 << uint8(MarketTypes.Fault.WithheldProof));
        assertEq(market.challengeCount(), 1);
        // Other jobs of the batch can still be challenged.
        _challengeWithheld(otherClient, realBatch, _real(), 0);
        assertEq(market.challengeCount(), 2);
    }

    /// The answered bit is per fault, and AlreadySlashed and ChallengePending are checked
    /// before it.
    function test_challengeWithheldProof_answeredIsCheckedAfterSlashedAndPending() public {
        _commitRealBatch();
        uint256 withheld = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(withheld, inputs, proof);

        // A missed-deadline challenge on the same job is another fault: it opens.
        MarketTypes.Award memory award = _award(real[3], prover);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        uint256 missed = _challengeMissed(acc, accSig, award, awardSig);

        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.deal(otherClient, 2 * BOND);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, missed));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));

        vm.roll(block.number + RESPONSE_WINDOW + 1); // still inside the batch's window
        market.finalizeChallenge(missed);
        vm.prank(otherClient);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[3].jobId));
        market.challengeWithheldProof{value: BOND}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
    }

    function test_revealProof_realProofAnswersAndPaysTheBondToTheProver() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + RESPONSE_WINDOW); // the last block to answer
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ProofRevealed(id, real[3].jobId, inputs, proof);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        // Anyone holding the proof may reveal it: here the client.
        vm.prank(client);
        market.revealProof(id, inputs, proof);

        assertEq(market.credits(prover), BOND);
        assertEq(market.credits(watchtower), 0);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_key(real[3])), 0);
        assertEq(_stakeOf(prover), STAKE);
        assertFalse(market.slashed(_key(real[3])));
    }

    function test_revealProof_revertsOnUnknownChallenge() public {
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 0));
        market.revealProof(0, inputs, proof);
    }

    function test_revealProof_revertsOnMissedDeadlineChallenge() public {
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id));
        market.revealProof(id, inputs, proof);
    }

    function test_revealProof_revertsWhenAlreadyAnswered() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), BOND, "paid once");
    }

    function test_revealProof_revertsAfterResponseWindow() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, respondBy));
        market.revealProof(id, inputs, proof);
    }

    function test_revealProof_revertsOnOtherPublicInputs() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256[] memory other = new uint256[](1);
        other[0] = inputs[0] ^ 1;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector));
        market.revealProof(id, other, proof);
    }

    function test_revealProof_revertsOnProofOtherThanCommitted() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofMismatch.selector));
        market.revealProof(id, inputs, longProof);
    }

    function test_revealProof_revertsWhenTheCommittedProofDoesNotVerify() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(id, inputs, badProof);
    }

    function test_revealProof_revertsWhenTheCommittedProofHasAppendedBytes() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 2);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ProofRejected.selector));
        market.revealProof(id, inputs, longProof);
    }

    // ---- the bond of a withheld-proof challenge, and the client buying the proof ---------------

    /// The client buys the proof of leaf `i` of the real batch (job `i`), naming its nonce,
    /// committing its evidence first.
    function _buy(uint256 i) internal returns (uint256 id) {
        return _buyWithheld(realBatch, _real(), i, _nonce(i));
    }

    /// The prover claims leaf `i` of the real batch (job `i`) alone with the client's award
    /// of it, expecting `err` ("" for success).
    function _claimReal(uint256 i, bytes memory err) internal {
        MarketTypes.Award memory award = _award(real[i], prover);
        bytes memory sig = _sign(clientKey, award);
        if (err.length != 0) vm.expectRevert(err);
        _claimJob(prover, realBatch, _real(), i, _nonce(i), award, sig);
    }

    /// The bond is `challengeBond` whatever the leaf's price (leaf 1 is priced at 1 ether,
    /// ten bonds) and whoever sends it: the price is refused from a watchtower and from the
    /// client buying the proof alike, and the bond is checked first, before the batch.
    function test_challengeWithheldProof_bondIsChallengeBondWhateverThePrice() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 1);
        bytes memory wrong = abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 1 ether);
        vm.deal(watchtower, 1 ether);
        vm.prank(watchtower);
        vm.expectRevert(wrong);
        market.challengeWithheldProof{value: 1 ether}(at, NO_NONCE, 0, bytes32(0), bytes32(0));
        Purchase memory buy = _purchase(realBatch, _real(), 1, 1);
        vm.deal(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(wrong);
        _withheld(at, buy, 1 ether);
        at.batchId = realBatch + 1;
        vm.prank(client);
        vm.expectRevert(wrong);
        _withheld(at, buy, 1 ether);

        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 1);
        assertEq(_challenge(id).bond, BOND);
        assertEq(_challenge(id).price, 1 ether);
        assertEq(market.deposits(client), 1 ether);
    }

    /// The job's client showing its signed award of the leaf to the batch's prover, with
    /// the job's nonce, buys the proof: the challenge opens marked `bought` with bond
    /// `challengeBond`, the award's paid bit is set (and only its), and the leaf's
    /// price moves from the client's deposit into the challenge (the market's balance grows
    /// by the bond alone).
    function test_challengeWithheldProof_clientShowingItsAwardBuysTheProof() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        uint256 marketBefore = address(market).balance;
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        _evidenceWithheldWith(client, realBatch, _real(), 3, buy);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, real[3].jobId, MarketTypes.Fault.WithheldProof, client, client, respondBy
        );
        uint256 id = _sendWithheldWith(client, realBatch, _real(), 3, buy);

        MarketTypes.Challenge memory c = _challenge(id);
        assertTrue(c.bought, "bought");
        assertEq(c.challenger, client);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 2 gwei);
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(market.deposits(client), 1 ether - 2 gwei, "the price left the deposit");
        assertEq(address(market).balance, marketBefore + BOND, "the price stays in the market");
        assertEq(_paidWord(client, prover, 0), 1 << 3, "job 3's bit, and only it");
        assertTrue(market.isPaid(client, prover, 3));
        assertEq(market.pendingChallenge(_key(real[3])), id + 1);
        assertEq(_openChallenges(prover), 1);
    }

    /// The bit set is the named job's: nonce 300 is bit 44 of word 1.
    function test_challengeWithheldProof_buyingMarksTheNamedJobsBit() public {
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _realLeaf(300, 1 gwei, proof);
        uint256 batchId = _commit(prover, leaves);
        uint256 id = _buyWithheld(batchId, leaves, 0, 300);
        assertTrue(_challenge(id).bought);
        assertEq(_paidWord(client, prover, 1), 1 << 44);
        assertEq(_paidWord(client, prover, 0), 0);
        assertTrue(market.isPaid(client, prover, 300));
        assertFalse(market.isPaid(client, prover, 44));
        assertFalse(market.isPaid(client, prover, 299));
        assertFalse(market.isPaid(client, prover, 301));
        assertEq(market.deposits(client), 1 ether - 1 gwei);
    }

    /// A purchase needs the price in the client's deposit: one wei short is
    /// `InsufficientDeposit(deposit, price)`, checked before the evidence (an uncommitted
    /// purchase meets it too), and changes nothing. With exactly the price it goes through
    /// and empties the deposit.
    function test_challengeWithheldProof_buyingRevertsInsufficientDeposit() public {
        _commitRealBatch();
        _deposit(client, 2 gwei - 1);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        bytes memory short = abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 2 gwei - 1, 2 gwei);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(short);
        _withheld(at, buy, BOND);
        _evidenceWithheldWith(client, realBatch, _real(), 3, buy);
        vm.prank(client);
        vm.expectRevert(short);
        _withheld(at, buy, BOND);
        assertFalse(market.isPaid(client, prover, 3), "not marked paid");
        assertEq(market.deposits(client), 2 gwei - 1);
        assertEq(market.challengeCount(), 0);

        _deposit(client, 1);
        vm.deal(client, BOND);
        vm.prank(client);
        uint256 id = _withheld(at, buy, BOND);
        assertTrue(_challenge(id).bought);
        assertEq(market.deposits(client), 0);
    }

    /// An award already paid (claimed by its prover from an earlier batch, here the same
    /// leaf committed again by the same prover) cannot be bought: `AlreadyClaimed`, and
    /// nothing is taken. The client's plain challenge of it still opens.
    function test_challengeWithheldProof_buyingRevertsAlreadyClaimedForAPaidJob() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _closeWindow(realBatch);
        _claimReal(3, "");
        assertTrue(market.isPaid(client, prover, 3));
        uint256 again = _commit(prover, _real());
        Purchase memory buy = _purchase(again, _real(), 3, 3);
        _evidenceWithheldWith(client, again, _real(), 3, buy);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
        _withheld(_at(again, _real(), 3), buy, BOND);
        assertEq(market.deposits(client), 1 ether - 2 gwei, "nothing more taken");

        uint256 id = _challengeWithheld(client, again, _real(), 3);
        assertFalse(_challenge(id).bought);
    }

    /// The job's state is checked before the purchase: a pending challenge, an answered
    /// one and a slashed job are refused as for anyone (`ChallengePending`,
    /// `AlreadyAnswered`, `AlreadySlashed`), though the client has no deposit to pay with.
    function test_challengeWithheldProof_buyingChecksTheJobBeforeThePurchase() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory at3 = _at(realBatch, _real(), 3);
        MarketTypes.Inclusion memory at1 = _at(realBatch, _real(), 1);
        Purchase memory buy3 = _purchase(realBatch, _real(), 3, 3);
        Purchase memory buy1 = _purchase(realBatch, _real(), 1, 1);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        _challengeInvalid(1, badProof);
        vm.deal(client, BOND);
        vm.startPrank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _withheld(at3, buy3, BOND);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        _withheld(at1, buy1, BOND);
        vm.stopPrank();
        market.revealProof(id, inputs, proof);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[3].jobId));
        _withheld(at3, buy3, BOND);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(client, prover, 1));
    }

    /// The client showing its valid award of the leaf with another job's nonce is refused,
    /// `BadAwardSignature` (the nonce is checked against the leaf's job), and changes
    /// nothing; without a signature, whatever nonce it names, it buys nothing: a plain
    /// challenge, no price taken, no job marked paid.
    function test_challengeWithheldProof_aWrongNonceFromTheClientBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory wrong = _purchase(realBatch, _real(), 3, 0);
        _evidenceWithheldWith(client, realBatch, _real(), 3, wrong);
        vm.expectRevert(MarketTypes.BadAwardSignature.selector);
        _sendWithheldWith(client, realBatch, _real(), 3, wrong);
        assertEq(market.challengeCount(), 0);

        uint256 id = _challengeWithheldNaming(client, realBatch, _real(), 3, 0);
        assertFalse(_challenge(id).bought);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(client, prover, 0));
    }

    /// The client naming the job's own nonce without a signature (`r` zero, whatever `vs`
    /// and deadline) buys nothing: a plain challenge.
    function test_challengeWithheldProof_theClientWithoutASignatureBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory buy = _purchase(realBatch, _real(), 3, 3);
        buy.r = bytes32(0);
        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, buy);
        assertFalse(_challenge(id).bought);
        assertEq(_challenge(id).challenger, client);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
    }

    /// Another account naming the job's nonce and showing the client's valid award buys
    /// nothing: a plain challenge, and neither its deposit nor the client's is touched.
    function test_challengeWithheldProof_theJobsNonceFromAnotherAccountBuysNothing() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        uint256 id = _challengeWithheldWith(otherClient, realBatch, _real(), 3, _purchase(realBatch, _real(), 3, 3));
        assertFalse(_challenge(id).bought);
        assertEq(_challenge(id).challenger, otherClient);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.deposits(otherClient), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
        assertFalse(market.isPaid(otherClient, prover, 3));
    }

    /// The award the client shows to buy leaf `i` of the real batch: of the leaf to the
    /// prover, due `_buyDeadline()`.
    function _realAward(uint256 i) internal view returns (MarketTypes.Award memory) {
        return _award(real[i], prover, _buyDeadline());
    }

    /// `from` sends the withheld-proof challenge of leaf `i` of batch `batchId` of the real
    /// leaves showing `b` with `value`, committed to in the block before, expecting `err`.
    function _expectWithheld(
        address from,
        uint256 batchId,
        uint256 i,
        Purchase memory b,
        uint256 value,
        bytes memory err
    ) internal {
        _evidenceWithheldWith(from, batchId, _real(), i, b);
        MarketTypes.Inclusion memory at = _at(batchId, _real(), i);
        vm.deal(from, value);
        vm.prank(from);
        vm.expectRevert(err);
        _withheld(at, b, value);
    }

    /// A purchase shows the client's signature of its award of the leaf to the batch's
    /// prover (the leaf's job, price and statement, the shown deadline) with the job's
    /// nonce; anything else is `BadAwardSignature` and changes nothing: a signature by
    /// another account, another deadline than the signed one, an award at another price,
    /// to another prover, of another job, of another circuit or public inputs, bytes that
    /// are no signature, the job's signature with another job's nonce.
    function test_challengeWithheldProof_buyingRevertsBadAwardSignature() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _realAward(3);
        Purchase[] memory bad = new Purchase[](10);
        bad[0] = _signedPurchase(otherClientKey, award, 3);
        bad[1] = _signedPurchase(clientKey, award, 3);
        bad[1].deadline -= 1;
        MarketTypes.Award memory other = _realAward(3);
        other.price = 1 gwei;
        bad[2] = _signedPurchase(clientKey, other, 3);
        other = _realAward(3);
        other.prover = otherProver;
        bad[3] = _signedPurchase(clientKey, other, 3);
        bad[4] = _signedPurchase(clientKey, _realAward(0), 3); // job 0's award
        other = _realAward(3);
        other.circuitId = CIRCUIT;
        bad[5] = _signedPurchase(clientKey, other, 3);
        other = _realAward(3);
        other.publicInputsHash = keccak256("other inputs");
        bad[6] = _signedPurchase(clientKey, other, 3);
        bad[7] = _signedPurchase(clientKey, award, 3);
        bad[7].vs = bytes32(0);
        bad[8] = _signedPurchase(clientKey, award, 3);
        bad[8].r = bytes32(type(uint256).max);
        bad[9] = _signedPurchase(clientKey, award, 0); // job 0's nonce
        for (uint256 k = 0; k < bad.length; k++) {
            _expectWithheld(
                client, realBatch, 3, bad[k], BOND, abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
            );
        }
        assertEq(market.challengeCount(), 0);
        assertEq(_paidWord(client, prover, 0), 0, "no award marked paid");
        assertEq(_paidWord(client, otherProver, 0), 0, "not even the other prover's");
        assertEq(market.deposits(client), 1 ether, "no price taken");

        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, _signedPurchase(clientKey, award, 3));
        assertTrue(_challenge(id).bought, "the award as signed buys");
    }

    /// The award is checked after the bond, the batch, its window, the leaf and the job's
    /// state: a purchase with a bad signature meets `WrongBond`, `UnknownBatch`,
    /// `WindowClosed`, `LeafNotInBatch`, `ChallengePending` and `AlreadySlashed` first.
    function test_challengeWithheldProof_buyingChecksTheAwardAfterTheJobsState() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        Purchase memory bad = _signedPurchase(otherClientKey, _realAward(0), 0);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0);
        vm.deal(client, 10 * BOND);
        vm.startPrank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, BOND + 1));
        _withheld(at, bad, BOND + 1);
        at.batchId = realBatch + 1;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, realBatch + 1));
        _withheld(at, bad, BOND);
        at.batchId = realBatch;
        at.leaf.price += 1;
        vm.expectRevert(MarketTypes.LeafNotInBatch.selector);
        _withheld(at, bad, BOND);
        vm.stopPrank();

        uint256 pending = _challengeWithheld(watchtower, realBatch, _real(), 0);
        _expectWithheld(
            client, realBatch, 0, bad, BOND, abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending)
        );
        _challengeInvalid(1, badProof);
        Purchase memory bad1 = _signedPurchase(otherClientKey, _realAward(1), 1);
        _expectWithheld(
            client, realBatch, 1, bad1, BOND, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId)
        );
        market.revealProof(pending, inputs, proof);
        _expectWithheld(
            client, realBatch, 0, bad, BOND, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, real[0].jobId)
        );

        (,, uint40 committedIn,,) = market.batches(realBatch);
        uint64 closedAt = uint64(committedIn) + CHALLENGE_WINDOW;
        _closeWindow(realBatch);
        _expectWithheld(
            client, realBatch, 3, bad, BOND, abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closedAt)
        );
        assertEq(_paidWord(client, prover, 0), 0, "no job marked paid");
    }

    /// The award is checked before the payment and the evidence: a bad signature on a job
    /// already paid, from an empty deposit, or without a commitment is `BadAwardSignature`
    /// (not `AlreadyClaimed`, `InsufficientDeposit`, `EvidenceNotCommitted`); a valid one
    /// then meets those, in that order.
    function test_challengeWithheldProof_buyingChecksTheAwardBeforeThePayment() public {
        _commitRealBatch();
        bytes memory badAward = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        Purchase memory bad = _signedPurchase(otherClientKey, _realAward(0), 0);
        Purchase memory good = _signedPurchase(clientKey, _realAward(0), 0);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 0);
        // No deposit, no commitment.
        vm.deal(client, 2 * BOND);
        vm.prank(client);
        vm.expectRevert(badAward);
        _withheld(at, bad, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1 gwei));
        _withheld(at, good, BOND);
        _deposit(client, 1 ether);
        vm.deal(client, BOND);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, 0));
        _withheld(at, good, BOND);

        // Job 0 paid by a claim; the same leaf committed again.
        _closeWindow(realBatch);
        _claimReal(0, "");
        uint256 again = _commit(prover, _real());
        Purchase memory badAgain = _signedPurchase(otherClientKey, _award(real[0], prover, _buyDeadline()), 0);
        _expectWithheld(client, again, 0, badAgain, BOND, badAward);
        Purchase memory goodAgain = _signedPurchase(clientKey, _award(real[0], prover, _buyDeadline()), 0);
        _expectWithheld(
            client,
            again,
            0,
            goodAgain,
            BOND,
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[0].jobId)
        );
    }

    /// Only the leaf's client buys: another account showing a signature, valid or not, its
    /// own or the client's, opens a plain challenge (the signature is not even checked),
    /// and so does the client showing none (`r` zero, whatever `vs`).
    function test_challengeWithheldProof_aSignatureFromAnotherAccountIsIgnored() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        _deposit(otherClient, 1 ether);
        Purchase memory garbage = Purchase({nonce: 0, deadline: 1, r: keccak256("r"), vs: keccak256("vs")});
        uint256 a = _challengeWithheldWith(otherClient, realBatch, _real(), 0, garbage);
        uint256 b =
            _challengeWithheldWith(watchtower, realBatch, _real(), 3, _signedPurchase(clientKey, _realAward(3), 3));
        garbage.r = bytes32(0);
        garbage.nonce = 2;
        uint256 c = _challengeWithheldWith(client, realBatch, _real(), 2, garbage);
        assertFalse(_challenge(a).bought);
        assertFalse(_challenge(b).bought);
        assertFalse(_challenge(c).bought);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.deposits(otherClient), 1 ether);
        assertEq(_paidWord(client, prover, 0), 0);
        assertEq(_paidWord(otherClient, prover, 0), 0);
    }

    /// A purchase checks the shown award as a claim would: an award due before the batch
    /// was committed is `CommittedAfterDeadline` (nothing taken), and one due at the
    /// commit buys, though that deadline is past by now (the window bounds a purchase).
    function test_challengeWithheldProof_buyingTakesAnAwardDueByTheCommit() public {
        uint64 committedAt = uint64(block.timestamp);
        _commitRealBatch();
        _deposit(client, 1 ether);
        vm.warp(committedAt + 1 hours);
        MarketTypes.Award memory late = _award(real[3], prover, committedAt - 1);
        _expectWithheld(
            client,
            realBatch,
            3,
            _signedPurchase(clientKey, late, 3),
            BOND,
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, committedAt, committedAt - 1)
        );
        assertFalse(market.isPaid(client, prover, 3));
        assertEq(market.deposits(client), 1 ether, "nothing taken");

        MarketTypes.Award memory award = _award(real[3], prover, committedAt);
        uint256 id = _challengeWithheldWith(client, realBatch, _real(), 3, _signedPurchase(clientKey, award, 3));
        assertTrue(_challenge(id).bought);
        assertTrue(market.isPaid(client, prover, 3));
        assertEq(market.deposits(client), 1 ether - real[3].price);
    }

    /// A bought proof revealed: the bond back to the client, the price credited to the
    /// prover (what was taken from the deposit; the market's balance does not move). The
    /// job stays paid: the prover's claim of it is `AlreadyClaimed`.
    function test_revealProof_ofABoughtProofCreditsThePriceToTheProverAndReturnsTheBond() public {
        _commitRealBatch();
        _deposit(client, 2 gwei);
        uint256 id = _buy(3);
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), 2 gwei, "the price to the prover");
        assertEq(market.credits(client), BOND, "the bond back to the client");
        assertEq(market.deposits(client), 0, "the price is spent");
        assertEq(address(market).balance, marketBefore);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertTrue(market.isPaid(client, prover, 3));
        assertFalse(_isDisputed(prover));

        _deposit(client, 1 ether);
        _closeWindow(realBatch);
        _claimReal(3, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
        _claimReal(0, "");
        assertEq(prover.balance, 1 gwei, "other jobs are claimed as before");
    }

    /// The job's client without its nonce is any challenger: the reveal pays its bond to
    /// the prover, and its deposit is not touched.
    function test_revealProof_paysTheProverTheBondOfAPlainChallengeByTheClient() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint256 id = _challengeWithheld(client, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        assertEq(market.credits(prover), BOND, "the bond to the prover");
        assertEq(market.credits(client), 0);
        assertEq(market.deposits(client), 1 ether);
        assertFalse(market.isPaid(client, prover, 3));
    }

    // ================================================================================
    // finalizeChallenge
    // ================================================================================

    function test_finalizeChallenge_revertsOnUnknownChallenge() public {
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 3));
        market.finalizeChallenge(3);
    }

    function test_finalizeChallenge_revertsAtLastResponseBlock() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowOpen.selector, respondBy));
        market.finalizeChallenge(id);
    }

    function test_finalizeChallenge_slashesAnUnansweredWithheldProof() public {
        _commitRealBatch();
        vm.prank(prover);
        market.unbond(1 ether);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            real[3].jobId,
            client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            REWARD,
            2 gwei,
            SLASH - REWARD - 2 gwei
        );
        market.finalizeChallenge(id); // anyone may finalize

        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Slashed));
        assertEq(market.credits(watchtower), BOND + REWARD);
        assertEq(market.deposits(client), 2 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 2 gwei);
        assertEq(address(market).balance, marketBefore - (SLASH - REWARD - 2 gwei));
        assertEq(_stakeOf(prover), 3 ether - SLASH);
        assertTrue(market.slashed(_key(real[3])));
        assertEq(market.pendingChallenge(_key(real[3])), 0);
        assertEq(_openChallenges(prover), 0);

        // With no challenge open, the unbonded stake can leave.
        _passUnbonding(prover);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 1 ether);
    }

    function test_finalizeChallenge_revertsWhenFinalizedTwice() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_finalizeChallenge_revertsOnAnsweredChallenge() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        market.revealProof(id, inputs, proof);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.finalizeChallenge(id);
    }

    function test_finalizeChallenge_isVoidWhenTheJobWasSlashedMeanwhile() public {
        // Job 7 withheld in one batch, and equivocated in a second one.
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _evidence(watchtower, abi.encodeCall(market.challengeWithheldProof, (atA, NO_NONCE, 0, bytes32(0), bytes32(0))));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        uint256 id = market.challengeWithheldProof{value: BOND}(atA, NO_NONCE, 0, bytes32(0), bytes32(0));
        _evidence(otherClient, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(otherClient);
        market.challengeEquivocation(atA, atB);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(market.credits(otherClient), REWARD);

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, watchtower, BOND);
        // No Slashed event at all (count 0, matched on the event signature alone).
        vm.expectEmit(false, false, false, false, address(market), 0);
        emit MarketTypes.Slashed(address(0), 0, address(0), MarketTypes.Fault.None, address(0), 0, 0, 0, 0);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.credits(watchtower), BOND, "only the bond back");
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_key(a)), 0);
    }

    /// A bought proof not revealed (leaf 1's committed proof does not verify, so no reveal
    /// can answer): the slash as for any challenger, the bond and the reward to the client,
    /// and the price back into its deposit with the refund. The job stays marked paid; the
    /// prover's claim of it is `JobSlashed`.
    function test_finalizeChallenge_slashOfABoughtProofReturnsThePriceToTheDeposit() public {
        _commitRealBatch();
        _deposit(client, 1 ether);
        uint256 id = _buy(1);
        assertEq(market.deposits(client), 0);
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, real[1].jobId, client, MarketTypes.Fault.WithheldProof, client, SLASH, REWARD, FULL_REFUND, BURN
        );
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Slashed));
        assertEq(market.deposits(client), 1 ether + FULL_REFUND, "the price back, and the refund");
        assertEq(market.credits(client), BOND + REWARD, "the bond back, and the reward");
        assertEq(market.credits(prover), 0);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertEq(address(market).balance, marketBefore - BURN, "only the burn left the market");
        assertTrue(market.isPaid(client, prover, 1), "the paid bit stays");

        _closeWindow(realBatch);
        _claimReal(1, abi.encodeWithSelector(MarketTypes.JobSlashed.selector, real[1].jobId));
    }

    /// A bought proof whose job was slashed meanwhile (equivocation): void, the bond and the
    /// price come back (the equivocation's refund went into the deposit already), no slash.
    function test_finalizeChallenge_voidOfABoughtProofReturnsThePrice() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(0.5 ether, 1 ether);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _deposit(client, 1 ether);
        Purchase memory buy = _signedPurchase(clientKey, _award(a, prover), JOB);
        _evidence(client, _withheldCall(atA, buy));
        vm.deal(client, BOND);
        vm.prank(client);
        uint256 id = _withheld(atA, buy, BOND);
        assertTrue(_challenge(id).bought);
        assertEq(market.deposits(client), 0.5 ether);
        _evidence(otherClient, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(otherClient);
        market.challengeEquivocation(atA, atB);
        assertEq(market.deposits(client), 0.5 ether + FULL_REFUND, "the equivocation's refund");

        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, client, BOND);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.deposits(client), 1 ether + FULL_REFUND, "the price back");
        assertEq(market.credits(client), BOND, "the bond back, no reward");
        assertEq(_stakeOf(prover), STAKE - SLASH, "the one slash");
        assertTrue(market.isPaid(client, prover, JOB), "the paid bit stays");
    }

    /// A bought proof that no reveal could answer because its circuit's verifier changed:
    /// void, no slash, the bond and the price back. The paid bit stays: the prover's claim
    /// of the job is `AlreadyClaimed`.
    function test_finalizeChallenge_voidForAChangedVerifierReturnsABoughtProofsPrice() public {
        _commitRealBatch();
        _deposit(client, 2 gwei);
        uint256 id = _buy(3);
        vm.etch(verifier, address(new EtherRefusingWatchtower(market)).code);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeVoided(id, client, BOND);
        market.finalizeChallenge(id);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Void));
        assertEq(market.deposits(client), 2 gwei, "the price back");
        assertEq(market.credits(client), BOND, "the bond back");
        assertEq(market.credits(prover), 0);
        assertEq(_stakeOf(prover), STAKE, "no slash");
        assertTrue(market.isPaid(client, prover, 3), "the paid bit stays");

        _closeWindow(realBatch);
        _claimReal(3, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, real[3].jobId));
    }

    // ================================================================================
    // challengeMissedDeadline / answerMissedDeadline
    // ================================================================================

    function test_challengeMissedDeadline_opensAChallenge() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        _evidenceMissed(acc, accSig, award, awardSig);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeOpened(
            0, prover, award.jobId, MarketTypes.Fault.MissedDeadline, watchtower, client, respondBy
        );
        uint256 id = _sendMissed(acc, accSig, award, awardSig);

        MarketTypes.Challenge memory c = _challenge(id);
        assertEq(uint8(c.fault), uint8(MarketTypes.Fault.MissedDeadline));
        assertEq(uint8(c.status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(c.respondBy, respondBy);
        assertEq(c.deadline, award.deadline);
        assertEq(c.challenger, watchtower);
        assertEq(c.prover, prover);
        assertEq(c.client, client);
        assertEq(c.bond, BOND);
        assertEq(c.price, 1 ether);
        assertEq(c.jobId, award.jobId);
        assertEq(c.circuitId, award.circuitId, "the awarded statement: what an answer must show");
        assertEq(c.publicInputsHash, award.publicInputsHash);
        assertEq(c.proofHash, bytes32(0));
        assertEq(_openChallenges(prover), 1);
        assertEq(market.pendingChallenge(_jobKey(prover, client, award.jobId)), id + 1);
    }

    function test_acceptanceDigest_isEip712() public view {
        MarketTypes.Acceptance memory a = _acceptanceOf(_mdAward());
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("provernet"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes32 typeHash = keccak256(
            "Acceptance(bytes32 jobId,address client,bytes32 inputHash,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)"
        );
        bytes32 structHash = keccak256(
            abi.encode(typeHash, a.jobId, a.client, a.inputHash, a.price, a.deadline, a.circuitId, a.publicInputsHash)
        );
        assertEq(market.acceptanceDigest(a), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    function test_challengeMissedDeadline_revertsOnWrongBond() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongBond.selector, BOND, 0));
        market.challengeMissedDeadline(acc, accSig, award, awardSig);
    }

    function test_challengeMissedDeadline_revertsOnMalformedAwardSignature() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        vm.warp(award.deadline + 1);
        bytes memory err = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        _expectMissedRevert(acc, accSig, award, "", err);
        _expectMissedRevert(acc, accSig, award, abi.encodePacked(bytes32(0), bytes32(0), uint8(27)), err);
    }

    /// An award signed by someone else names another client than the acceptance does.
    function test_challengeMissedDeadline_revertsOnAwardSignedBySomeoneElse() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(otherClientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AcceptanceMismatch.selector)
        );
    }

    function test_challengeMissedDeadline_revertsOnAcceptanceSignedBySomeoneElse() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(otherProverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    /// The prover accepted; the award names another prover, whose acceptance is missing.
    function test_challengeMissedDeadline_revertsOnAcceptanceForAnotherProversAward() public {
        _register(otherProver, MIN_STAKE);
        MarketTypes.Award memory award = _mdAward();
        award.prover = otherProver;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    function test_challengeMissedDeadline_revertsOnMalformedAcceptanceSignature() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(
            acc, hex"1234", award, awardSig, abi.encodeWithSelector(MarketTypes.BadAcceptanceSignature.selector)
        );
    }

    /// Each field of the acceptance must equal the award's (the prover signs what it
    /// signs; the mismatch is caught, not a bad signature).
    function test_challengeMissedDeadline_revertsOnEachAcceptanceFieldMismatch() public {
        MarketTypes.Award memory award = _mdAward();
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        bytes memory err = abi.encodeWithSelector(MarketTypes.AcceptanceMismatch.selector);
        for (uint256 field = 0; field < 6; field++) {
            MarketTypes.Acceptance memory acc = _acceptanceOf(award);
            if (field == 0) acc.jobId = _jobId(client, JOB + 1);
            if (field == 1) acc.client = otherClient;
            if (field == 2) acc.price = award.price - 1;
            if (field == 3) acc.deadline = award.deadline + 1;
            if (field == 4) acc.circuitId = keccak256("another circuit");
            if (field == 5) acc.publicInputsHash = keccak256("other public inputs");
            _expectMissedRevert(acc, _signAcceptance(proverKey, acc), award, awardSig, err);
        }
    }

    function test_challengeMissedDeadline_revertsAtTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.DeadlineNotPassed.selector, award.deadline)
        );
    }

    function test_challengeMissedDeadline_revertsForUnregisteredProver() public {
        (address stranger, uint256 strangerKey) = makeAddrAndKey("unregistered prover");
        MarketTypes.Award memory award = _mdAward();
        award.prover = stranger;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(strangerKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        _expectMissedRevert(acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
    }

    function test_challengeMissedDeadline_revertsWhileAnotherIsPending() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id)
        );
    }

    function test_challengeMissedDeadline_revertsWhenAlreadySlashed() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, award.jobId)
        );
    }

    function test_challengeMissedDeadline_revertsAlreadyAnsweredOnceAnswered() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        market.answerMissedDeadline(id, at);
        _expectMissedRevert(
            acc, accSig, award, awardSig, abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, award.jobId)
        );
        assertEq(market.credits(prover), BOND);
    }

    /// A missed deadline can be challenged until `deadlineChallengePeriod` seconds after
    /// it, inclusive.
    function test_challengeMissedDeadline_acceptedAtTheEndOfTheChallengePeriod() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + DEADLINE_PERIOD);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        assertEq(_openChallenges(prover), 1);
        assertEq(_challenge(id).deadline, award.deadline);
    }

    function test_challengeMissedDeadline_revertsOneSecondAfterTheChallengePeriod() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + DEADLINE_PERIOD + 1);
        bytes memory err =
            abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, award.deadline + DEADLINE_PERIOD);
        _expectMissedRevert(acc, accSig, award, awardSig, err);
        vm.warp(award.deadline + 30 days);
        _expectMissedRevert(acc, accSig, award, awardSig, err);
        assertEq(market.challengeCount(), 0);
    }

    function test_answerMissedDeadline_leafInBatchPostedAtTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.roll(block.number + RESPONSE_WINDOW);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ChallengeAnswered(id, prover, BOND);
        market.answerMissedDeadline(id, at);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Answered));
        assertEq(market.credits(prover), BOND);
        assertEq(_openChallenges(prover), 0);
        assertEq(market.pendingChallenge(_jobKey(prover, client, award.jobId)), 0);
        assertEq(_stakeOf(prover), STAKE);
    }

    function test_answerMissedDeadline_revertsWhenBatchPostedAfterTheDeadline() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.expectRevert(
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, award.deadline + 1, award.deadline)
        );
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnBatchOfAnotherProver() public {
        _register(otherProver, MIN_STAKE);
        MarketTypes.Inclusion memory at = _commitOne(otherProver, _leaf(JOB, client, 1 ether));
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, otherProver, prover));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnLeafOfAnotherJob() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB + 1, client, 1 ether));
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnLeafOfAnotherClient() public {
        MarketTypes.Leaf memory l = _leaf(JOB, otherClient, 1 ether);
        l.jobId = _jobId(client, JOB); // the right id, under another client
        MarketTypes.Inclusion memory at = _commitOne(prover, l);
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, at);
    }

    /// The job's own leaf, for another circuit or other public inputs than the awarded
    /// ones: a proof of another statement is no delivery of this one.
    function test_answerMissedDeadline_revertsOnLeafOfAnotherStatement() public {
        MarketTypes.Leaf memory otherCircuit = _leaf(JOB, client, 1 ether);
        otherCircuit.circuitId = keccak256("another circuit");
        MarketTypes.Inclusion memory atCircuit = _commitOne(prover, otherCircuit);
        MarketTypes.Leaf memory otherInputs = _leaf(JOB, client, 1 ether);
        otherInputs.publicInputsHash = keccak256("other public inputs");
        MarketTypes.Inclusion memory atInputs = _commitOne(prover, otherInputs);
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, atCircuit);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafMismatch.selector));
        market.answerMissedDeadline(id, atInputs);
        assertEq(uint8(_challenge(id).status), uint8(MarketTypes.ChallengeStatus.Open));
        assertEq(market.credits(prover), 0);
    }

    function test_answerMissedDeadline_revertsWhenLeafNotInBatch() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        // The awarded job and statement at the awarded price, but not the committed leaf.
        at.leaf.proofHash = keccak256("a proof never committed");
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnUnknownBatch() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        at.batchId = 9;
        (uint256 id,) = _openMissed();
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 9));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsAfterResponseWindow() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        (uint256 id,) = _openMissed();
        uint64 respondBy = uint64(block.number) + RESPONSE_WINDOW;
        vm.roll(respondBy + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, respondBy));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnWithheldProofChallenge() public {
        _commitRealBatch();
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        MarketTypes.Inclusion memory at = _at(realBatch, _real(), 3);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id));
        market.answerMissedDeadline(id, at);
    }

    function test_answerMissedDeadline_revertsOnUnknownChallenge() public {
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownChallenge.selector, 0));
        market.answerMissedDeadline(0, at);
    }

    function test_answerMissedDeadline_revertsWhenAlreadyAnswered() public {
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        market.answerMissedDeadline(id, at);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id));
        market.answerMissedDeadline(id, at);
        assertEq(market.credits(prover), BOND, "paid once");
    }

    /// A missed-deadline challenge names no batch: while it is open the job is neither
    /// payable nor final in any batch of the prover, and once answered it is both.
    function test_missedDeadline_openChallengeHoldsTheJobInEveryBatch() public {
        // The leaf's circuit is registered: a leaf of an unregistered one is never final.
        MarketTypes.Leaf memory l = _leaf(JOB, client, 1 ether);
        l.circuitId = realCircuit;
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _award(l, prover);
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, l);
        vm.warp(award.deadline + 1);
        _closeWindow(at.batchId);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        assertTrue(_isDisputed(prover));
        assertFalse(_isFinal(at.batchId, at.leaf, at.path));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _claimAt(at, JOB, award, awardSig);

        market.answerMissedDeadline(id, at);
        assertFalse(_isDisputed(prover), "answered: no longer disputed");
        assertTrue(_isFinal(at.batchId, at.leaf, at.path));
        _claimAt(at, JOB, award, awardSig);
        assertEq(prover.balance, 1 ether);
    }

    /// A job slashed for a missed deadline is not paid, even from a batch posted in time
    /// (the prover did not answer).
    function test_missedDeadline_slashedJobIsNotPaid() public {
        _deposit(client, 1 ether);
        MarketTypes.Award memory award = _mdAward();
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        MarketTypes.Inclusion memory at = _commitOne(prover, _leaf(JOB, client, 1 ether));
        vm.warp(award.deadline + 1);
        uint256 id = _challengeMissed(acc, accSig, award, awardSig);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(id);
        _closeWindow(at.batchId);
        assertFalse(_isFinal(at.batchId, at.leaf, at.path));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, award.jobId));
        _claimAt(at, JOB, award, awardSig);
    }

    function test_finalizeChallenge_slashesAnUnansweredMissedDeadline() public {
        (uint256 id, MarketTypes.Award memory award) = _openMissed();
        uint256 marketBefore = address(market).balance;
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            award.jobId,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            SLASH,
            REWARD,
            FULL_REFUND,
            SLASH - REWARD - FULL_REFUND
        );
        market.finalizeChallenge(id);
        assertEq(market.credits(watchtower), BOND + REWARD);
        assertEq(market.deposits(client), FULL_REFUND);
        assertEq(market.totalBurned(), BURN);
        assertEq(address(market).balance, marketBefore - BURN);
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertTrue(market.slashed(_jobKey(prover, client, award.jobId)));
        assertEq(_openChallenges(prover), 0);
    }

    // ================================================================================
    // challengeEquivocation
    // ================================================================================

    function test_challengeEquivocation_twoBatchesSlashWithRefundCappedAtTheLowerPrice() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(3 gwei, 2 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        // The first batch's window has closed; the later one's is open: still caught.
        vm.roll(block.number + CHALLENGE_WINDOW + 2);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        uint256 marketBefore = address(market).balance;
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            a.jobId,
            client,
            MarketTypes.Fault.Equivocation,
            watchtower,
            SLASH,
            REWARD,
            2 gwei,
            SLASH - REWARD - 2 gwei
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        assertEq(market.credits(watchtower), REWARD, "no bond: reward only");
        assertEq(market.deposits(client), 2 gwei);
        assertEq(market.totalBurned(), SLASH - REWARD - 2 gwei);
        assertEq(address(market).balance, marketBefore - (SLASH - REWARD - 2 gwei));
        assertEq(_stakeOf(prover), STAKE - SLASH);
        assertTrue(market.slashed(_key(a)));
        assertTrue(_isDisputed(prover));
    }

    function test_challengeEquivocation_bothLeavesInOneBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(5 gwei, 9 gwei);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](3);
        leaves[0] = a;
        leaves[1] = _leaf(1, client, 1 gwei);
        leaves[2] = b;
        uint256 id = _commit(prover, leaves);
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (_at(id, leaves, 2), _at(id, leaves, 0))));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            a.jobId,
            client,
            MarketTypes.Fault.Equivocation,
            watchtower,
            SLASH,
            REWARD,
            5 gwei,
            SLASH - REWARD - 5 gwei
        );
        vm.prank(watchtower);
        market.challengeEquivocation(_at(id, leaves, 2), _at(id, leaves, 0));
        assertTrue(_isDisputed(prover));
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    function test_challengeEquivocation_revertsOnBatchesOfTwoProvers() public {
        _register(otherProver, MIN_STAKE);
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(otherProver, b);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameProver.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnAnotherJobId() public {
        (MarketTypes.Leaf memory a,) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, _leaf(JOB + 1, client, 1 gwei));
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameJob.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnSameJobIdOfAnotherClient() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        b.client = otherClient;
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotSameJob.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsOnTheSameLeafTwice() public {
        MarketTypes.Leaf memory a = _leaf(JOB, client, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, a); // recommitted, same content
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.SameLeaf.selector));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.SameLeaf.selector));
        market.challengeEquivocation(atA, atA);
    }

    function test_challengeEquivocation_revertsWhenFirstLeafNotInBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atA.leaf.publicInputsHash = keccak256("not committed");
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenSecondLeafNotInBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atB.path = new bytes32[](0);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenTheLaterWindowClosed() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        vm.roll(block.number + 3);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt + 1);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt));
        market.challengeEquivocation(atB, atA);
    }

    function test_challengeEquivocation_revertsOnUnknownBatch() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        atB.batchId = 2;
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 2));
        market.challengeEquivocation(atA, atB);
    }

    function test_challengeEquivocation_revertsWhenAlreadySlashed() public {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        _evidence(address(this), abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        market.challengeEquivocation(atA, atB);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, a.jobId));
        market.challengeEquivocation(atB, atA);
        assertEq(_stakeOf(prover), STAKE - SLASH);
    }

    // ================================================================================
    // the split at its extremes
    // ================================================================================

    /// Commits `a` and `b` as single-leaf batches of `prover` two epochs (of
    /// `challengeWindow + responseWindow + 1` blocks) apart, so that at most one leaf is at risk
    /// at a time (a stake covering one slash suffices), and the second batch's window is open.
    function _commitApart(MarketTypes.Leaf memory a, MarketTypes.Leaf memory b)
        internal
        returns (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB)
    {
        MarketTypes.Leaf[] memory one = _one(a);
        atA = _at(_commit(prover, one), one, 0);
        vm.roll(block.number + 2 * EPOCH);
        one = _one(b);
        atB = _at(_commit(prover, one), one, 0);
    }

    /// A market whose slash is the whole least stake (`slashPerJob` = `minStake` = STAKE),
    /// split 75 % reward and 25 % refund; the prover registered with STAKE.
    function _wholeStakeMarket() internal {
        MarketTypes.Params memory p = _params();
        p.minStake = STAKE;
        p.slashPerJob = STAKE;
        p.rewardBps = 7_500;
        p.refundBps = 2_500;
        market = new ProverMarket(p);
        _register(prover, STAKE);
    }

    /// slashPerJob = minStake: one slash takes the whole least stake; reward + refund =
    /// 100 %: nothing burns.
    function test_slash_slashPerJobOfMinStakeTakesTheWholeStakeWithoutBurn() public {
        _wholeStakeMarket();
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(5 ether, 5 ether);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        uint256 burnBefore = address(0).balance;
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, a.jobId, client, MarketTypes.Fault.Equivocation, watchtower, STAKE, 3 ether, 1 ether, 0
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);

        assertEq(_stakeOf(prover), 0);
        assertEq(market.credits(watchtower), 3 ether);
        assertEq(market.deposits(client), 1 ether);
        assertEq(market.totalBurned(), 0);
        assertEq(address(0).balance, burnBefore);
        assertEq(address(market).balance, STAKE, "everything stays: credit and deposit");
        assertFalse(_isStaked(prover));

        vm.prank(watchtower);
        market.withdrawCredits();
        assertEq(watchtower.balance, 3 ether);
        assertEq(address(market).balance, 1 ether, "the client's refunded deposit");
    }

    /// The same split with a cheap job: what the refund cap keeps back is burned.
    function test_slash_refundCapBurnsTheRest() public {
        _wholeStakeMarket();
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(0.25 ether, 0.75 ether);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);
        assertEq(market.deposits(client), 0.25 ether);
        assertEq(market.totalBurned(), 0.75 ether);
        assertEq(address(market).balance, STAKE - 0.75 ether);
    }

    /// Opens a missed-deadline challenge on job `nonce` of `client` (price 1 ether, due in
    /// an hour), one second after its deadline.
    function _openMissedJob(uint64 nonce) internal returns (uint256 id, bytes32 jobId) {
        MarketTypes.Award memory award = _award(_leaf(nonce, client, 1 ether), prover);
        jobId = award.jobId;
        MarketTypes.Acceptance memory acc = _acceptanceOf(award);
        bytes memory accSig = _signAcceptance(proverKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.warp(award.deadline + 1);
        id = _challengeMissed(acc, accSig, award, awardSig);
    }

    /// A missed deadline's slash (no leaf at risk, none held here) takes `slashPerJob` from
    /// unbonding stake first, then bonded stake, and all that is left once less than
    /// `slashPerJob` remains, owing the rest. (Missed deadlines are jobs never committed,
    /// so the exposure bound does not limit them.)
    function test_slash_takesWhatIsLeftWhenLessThanSlashPerJob() public {
        MarketTypes.Params memory p = _params();
        p.slashPerJob = MIN_STAKE;
        market = new ProverMarket(p);
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.75 ether); // bonded 0.75 ether, unbonding 0.75 ether
        (uint256 first, bytes32 firstJob) = _openMissedJob(JOB);
        (uint256 second, bytes32 secondJob) = _openMissedJob(JOB + 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            firstJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            1 ether,
            0.3 ether,
            0.2 ether,
            0.5 ether
        );
        market.finalizeChallenge(first);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0, "0.75 ether unbonding first");
        assertEq(_stakeOf(prover), 0.5 ether, "then 0.25 ether bonded");
        assertEq(_debtOf(prover), 0);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            secondJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            0.5 ether,
            0.15 ether,
            0.1 ether,
            0.25 ether
        );
        market.finalizeChallenge(second);
        (unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 0);
        assertEq(unbonding, 0);
        assertEq(_debtOf(prover), 0.5 ether, "the rest of the second slash owed");
        assertEq(market.totalBurned(), 0.75 ether);
        assertEq(market.credits(watchtower), 2 * BOND + 0.45 ether);
        assertEq(market.deposits(client), 0.3 ether);
        assertEq(address(market).balance, 2 * BOND + 0.45 ether + 0.3 ether, "credits and deposit only");
    }

    /// A slash conserves value: the stake and unbonding stake lose exactly `amount`
    /// (`slashPerJob`), and reward + refund + burn = amount, for any fixed slash, stake,
    /// split and price.
    function testFuzz_slash_splitConservesValue(
        uint256 slashPerJob,
        uint256 stake,
        uint256 unbonding,
        uint16 rewardBps,
        uint16 refundBps,
        uint256 price
    ) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        unbonding = bound(unbonding, 0, stake);
        price = bound(price, 0, 1e30);
        MarketTypes.Params memory p = _params();
        p.slashPerJob = bound(slashPerJob, 1, MIN_STAKE);
        p.rewardBps = uint16(bound(rewardBps, 0, 10_000));
        p.refundBps = uint16(bound(refundBps, 0, 10_000 - p.rewardBps));
        market = new ProverMarket(p);
        _register(prover, stake);

        uint256 amount = _min(p.slashPerJob, stake);
        uint256 reward = amount * p.rewardBps / 10_000;
        uint256 refund = _min(amount * p.refundBps / 10_000, price);
        uint256 burned = amount - reward - refund;
        _equivocateAfterUnbonding(unbonding, price, amount, reward, refund, burned);

        assertEq(amount, p.slashPerJob, "the least stake covers one slash");
        assertLe(reward + refund, amount);
        (uint256 unbondingAfter,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover) + unbondingAfter, stake - amount);
        // Bonded stake goes first.
        assertEq(_stakeOf(prover), amount <= stake - unbonding ? stake - unbonding - amount : 0);
        assertEq(market.credits(watchtower), reward);
        assertEq(market.deposits(client), refund);
        assertEq(market.totalBurned(), burned);
        assertEq(address(market).balance, stake - burned);
    }

    /// Commits job 7 twice with different proofs, unbonds `unbonding`, and has the
    /// watchtower prove the equivocation, expecting exactly this `Slashed` event.
    function _equivocateAfterUnbonding(
        uint256 unbonding,
        uint256 price,
        uint256 amount,
        uint256 reward,
        uint256 refund,
        uint256 burned
    ) internal {
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(price, price);
        (MarketTypes.Inclusion memory atA, MarketTypes.Inclusion memory atB) = _commitApart(a, b);
        if (unbonding != 0) {
            vm.prank(prover);
            market.unbond(unbonding);
        }
        _evidence(watchtower, abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, a.jobId, client, MarketTypes.Fault.Equivocation, watchtower, amount, reward, refund, burned
        );
        vm.prank(watchtower);
        market.challengeEquivocation(atA, atB);
    }

    function _min(uint256 x, uint256 y) internal pure returns (uint256) {
        return x < y ? x : y;
    }

    // ================================================================================
    // slash debt
    // ================================================================================

    /// A market at the fixture's parameters with `prover` registered with `stake`.
    function _freshMarket(uint256 stake) internal {
        market = new ProverMarket(_params());
        _register(prover, stake);
    }

    function _debt() internal view returns (uint256) {
        return _debtOf(prover);
    }

    /// Opens missed-deadline challenges on `n` jobs of `client` (from nonce `from`), lets
    /// them go unanswered and finalizes them; returns what each took from the prover.
    function _missedSlashes(uint64 from, uint256 n) internal returns (uint256[] memory taken) {
        uint256[] memory ids = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            // forge-lint: disable-next-line(unsafe-typecast)
            (ids[i],) = _openMissedJob(from + uint64(i));
        }
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taken = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            (uint256 unbonding,) = _unbondingOf(prover);
            uint256 before = _stakeOf(prover) + unbonding;
            market.finalizeChallenge(ids[i]);
            (unbonding,) = _unbondingOf(prover);
            taken[i] = before - _stakeOf(prover) - unbonding;
        }
    }

    /// A missed deadline's slash takes only what the stake holds beyond the leaves at risk
    /// (`slashPerJob` each), at most `slashPerJob`; the rest of `slashPerJob` is debt. The
    /// `Slashed` event's split is that of what was taken (nothing: all zero).
    function test_slash_missedDeadlineTakesOnlyTheSurplusAndOwesTheRest() public {
        _freshMarket(MIN_STAKE + SLASH / 2);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client)); // the whole cover
        (uint256 first, bytes32 firstJob) = _openMissedJob(JOB);
        (uint256 second, bytes32 secondJob) = _openMissedJob(JOB + 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        uint256 half = SLASH / 2;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            firstJob,
            client,
            MarketTypes.Fault.MissedDeadline,
            watchtower,
            half,
            half * REWARD_BPS / 10_000,
            half * REFUND_BPS / 10_000,
            half - half * REWARD_BPS / 10_000 - half * REFUND_BPS / 10_000
        );
        market.finalizeChallenge(first);
        assertEq(_stakeOf(prover), MIN_STAKE);
        assertEq(_debt(), half, "the rest of the slash");
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(prover, secondJob, client, MarketTypes.Fault.MissedDeadline, watchtower, 0, 0, 0, 0);
        market.finalizeChallenge(second);
        assertEq(_stakeOf(prover), MIN_STAKE, "nothing beyond the leaves at risk is left");
        assertEq(_debt(), half + SLASH, "the whole slash owed");
        assertTrue(market.slashed(_jobKey(prover, client, secondJob)), "slashed all the same");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, MIN_STAKE / SLASH);
        assertEq(covered, (MIN_STAKE - half - SLASH) / SLASH, "the debt covers no leaf");
    }

    /// With no leaf at risk, a missed deadline takes the full slash and owes nothing.
    function test_slash_missedDeadlineWithNoLeafAtRiskTakesTheFullSlash() public {
        _freshMarket(MIN_STAKE);
        uint256[] memory taken = _missedSlashes(JOB, 2);
        assertEq(taken[0], SLASH);
        assertEq(taken[1], SLASH);
        assertEq(_debt(), 0);
    }

    /// Unbonding stake counts: a missed deadline takes the surplus of stake and unbonding
    /// stake together beyond the leaves at risk (all of it unbonding here: unbonding stake
    /// goes first in any case).
    function test_slash_missedDeadlineTakesTheSurplusOfUnbondingStakeToo() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH - 3, client));
        vm.prank(prover);
        market.unbond(MIN_STAKE);
        uint256[] memory taken = _missedSlashes(JOB, 4);
        assertEq(taken[0] + taken[1] + taken[2], 3 * SLASH, "three slashes of surplus, from unbonding");
        assertEq(taken[3], 0);
        assertEq(_debt(), SLASH);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, MIN_STAKE - 3 * SLASH, "what backs the leaves at risk stays");
    }

    /// A missed deadline's slash is of no leaf at risk: it takes unbonding stake first, so
    /// while the unbonding stake covers it the bonded stake, which backs the leaves at
    /// risk, is untouched (and cannot be emptied for a withdrawal of the untouched
    /// unbonding stake); only once the unbonding stake is gone does it take bonded stake
    /// beyond the cover of the leaves at risk, then owe the rest.
    function test_slash_missedDeadlineTakesUnbondingStakeFirst() public {
        _freshMarket(MIN_STAKE + 3 * SLASH + SLASH / 2);
        uint256 n = MIN_STAKE / SLASH;
        _commit(prover, _leaves(n, client)); // what MIN_STAKE covers
        vm.prank(prover);
        market.unbond(3 * SLASH); // bonded MIN_STAKE + SLASH / 2: half a slash of surplus
        uint256[] memory taken = _missedSlashes(JOB + 1000, 2);
        assertEq(taken[0], SLASH);
        assertEq(taken[1], SLASH);
        assertEq(_stakeOf(prover), MIN_STAKE + SLASH / 2, "bonded stake untouched");
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, SLASH, "both slashes from unbonding stake");
        assertEq(_debt(), 0);

        // Then the rest of the unbonding stake, the bonded surplus, and the rest is owed.
        taken = _missedSlashes(JOB + 2000, 3);
        assertEq(taken[0], SLASH, "the last of the unbonding stake");
        assertEq(taken[1], SLASH / 2, "the bonded surplus");
        assertEq(taken[2], 0, "nothing beyond the leaves at risk");
        (unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
        assertEq(_stakeOf(prover), MIN_STAKE, "the cover of the leaves at risk stays bonded");
        assertEq(_debt(), SLASH / 2 + SLASH, "the rest owed");
        (uint256 atRisk,) = market.exposure(prover);
        assertEq(atRisk, n, "the leaves still count at risk");
    }

    /// Commits one leaf of `client` (an unregistered circuit: nobody can reveal it) as a
    /// batch of `prover`, has the watchtower challenge it as withheld; returns the
    /// challenge and the batch's block.
    function _withheldLeaf() internal returns (uint256 id, uint256 committedAt) {
        MarketTypes.Leaf[] memory leaves = _one(_leaf(JOB, client, 1 gwei));
        committedAt = block.number;
        id = _challengeWithheld(watchtower, _commit(prover, leaves), leaves, 0);
    }

    /// The first block from which a leaf of a batch of block `committedAt` no longer counts
    /// at risk: the start of the second epoch (of `challengeWindow + responseWindow + 1`
    /// blocks) after its own.
    function _leftTheCountAt(uint256 committedAt) internal pure returns (uint256) {
        return (committedAt / EPOCH + 2) * EPOCH;
    }

    /// A withheld proof finalized while its leaf still counts at risk (the last block it
    /// does) takes the full slash, even out of stake that backs other leaves at risk: its
    /// leaf is among them.
    function test_slash_withheldProofStillAtRiskTakesTheFullSlash() public {
        _freshMarket(MIN_STAKE);
        (uint256 id, uint256 committedAt) = _withheldLeaf();
        vm.roll(_leftTheCountAt(committedAt) - 1);
        _commit(prover, _leaves(MIN_STAKE / SLASH - 1, client)); // the rest of the cover
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, covered, "the whole cover, the withheld leaf included");
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "the full slash");
        assertEq(_debt(), 0);
    }

    /// Regression (a review found it with epochs of `challengeWindow + responseWindow`
    /// blocks): a withheld-proof challenge opened in the last block of its window, on a batch
    /// committed in the last block of an epoch, is first finalizable at `respondBy + 1` =
    /// batch + W + R + 1, the very block its leaf used to leave the count. The prover then
    /// refilled the freed cover, and even a prompt finalization was a slash of no leaf at
    /// risk: nothing taken, all owed (no reward, no refund). With epochs of W + R + 1 blocks
    /// that block is the last the leaf counts in: the cover is not free (the refill is
    /// refused) and the prompt finalization takes the full `slashPerJob`, reward and refund
    /// paid. The leaf leaves the count one block later (batch + W + R + 2), where a second
    /// challenge opened with the first, finalized a block late, is a slash of no leaf at
    /// risk, as docs/contracts.md says (only a finalization after the leaf left the count,
    /// which a prompt finalization never is).
    function test_slash_promptFinalizationOfAWithheldChallengeOpenedAtTheEndOfItsWindowIsAtRisk() public {
        _freshMarket(MIN_STAKE + SLASH); // may still commit after one slash
        uint256 cover = MIN_STAKE / SLASH + 1;
        vm.roll((block.number / EPOCH + 1) * EPOCH - 1); // the last block of an epoch
        MarketTypes.Leaf[] memory leaves = _leaves(cover, client); // the whole cover, unrevealable
        uint256 committedAt = block.number;
        uint256 batchId = _commit(prover, leaves);
        vm.roll(committedAt + CHALLENGE_WINDOW); // the window's last block
        uint256 prompt = _challengeWithheld(watchtower, batchId, leaves, 0);
        uint256 late = _challengeWithheld(watchtower, batchId, leaves, 1);
        vm.roll(block.number + RESPONSE_WINDOW + 1); // the first block finalization is possible
        assertEq(block.number, committedAt + CHALLENGE_WINDOW + RESPONSE_WINDOW + 1);
        assertEq(block.number, _leftTheCountAt(committedAt) - 1, "the last block the leaf counts in");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, cover, "the challenged leaves still count");
        assertEq(covered, cover);

        // The prover would refill its cover: none is free.
        MarketTypes.Leaf[] memory next = new MarketTypes.Leaf[](1);
        next[0] = _leaf(1000, client, 1 gwei);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, cover + 1, cover));
        market.commitBatch(next);

        // As prompt as it can be: the full slash, reward and refund (capped at the price).
        _finalizedInFull(prompt, leaves[0]);

        // One block later the leaves leave the count: the cover left is free, the prover
        // refills it, and the other challenge, finalized a block late, takes nothing.
        vm.roll(block.number + 1);
        assertEq(block.number, _leftTheCountAt(committedAt), "the leaf leaves the count here");
        (atRisk, covered) = market.exposure(prover);
        assertEq(atRisk, 0, "the leaves left the count");
        assertEq(covered, cover - 1);
        next = new MarketTypes.Leaf[](cover - 1);
        for (uint256 i = 0; i < next.length; i++) {
            next[i] = _leaf(1000 + i, client, 1 gwei);
        }
        _commit(prover, next); // the freed cover, refilled
        market.finalizeChallenge(late);
        assertEq(_stakeOf(prover), MIN_STAKE, "a late finalization takes none of the cover");
        assertEq(_debt(), SLASH, "and is owed in full");
    }

    /// The rule the regression above checks at its edge, wherever the batch falls in its
    /// epoch and whenever in its window the challenge is opened: the prover refills all the
    /// cover it can in the first block a withheld-proof challenge can be finalized, and a
    /// finalization in that block still takes the full `slashPerJob`.
    function testFuzz_slash_promptFinalizationOfAWithheldChallengeIsAtRisk(uint256 offset, uint256 opened) public {
        _freshMarket(MIN_STAKE);
        vm.roll(block.number + bound(offset, 0, 2 * EPOCH));
        MarketTypes.Leaf[] memory leaves = _leaves(MIN_STAKE / SLASH, client); // the whole cover
        uint256 committedAt = block.number;
        uint256 batchId = _commit(prover, leaves);
        vm.roll(committedAt + bound(opened, 1, CHALLENGE_WINDOW));
        uint256 id = _challengeWithheld(watchtower, batchId, leaves, 0);
        vm.roll(block.number + RESPONSE_WINDOW + 1); // the first block finalization is possible
        assertLt(block.number, _leftTheCountAt(committedAt), "the leaf still counts");
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        if (covered > atRisk) {
            MarketTypes.Leaf[] memory next = new MarketTypes.Leaf[](covered - atRisk);
            for (uint256 i = 0; i < next.length; i++) {
                next[i] = _leaf(1000 + i, client, 1 gwei);
            }
            _commit(prover, next); // the freed cover, refilled
        }
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "a prompt finalization is slashed in full");
        assertEq(_debt(), 0, "nothing owed");
    }

    /// Finalizes withheld-proof challenge `id` (by `watchtower`, of `leaf`, whose price is
    /// below the refund) and checks it took the full slash: the reward credited with the
    /// bond, the refund (the price) into the client's deposit, the rest burned, no debt.
    function _finalizedInFull(uint256 id, MarketTypes.Leaf memory leaf) internal {
        uint256 reward = SLASH * REWARD_BPS / 10_000;
        assertLt(leaf.price, SLASH * REFUND_BPS / 10_000);
        uint256 stake = _stakeOf(prover);
        uint256 credits = market.credits(watchtower);
        uint256 deposit = market.deposits(leaf.client);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover,
            leaf.jobId,
            leaf.client,
            MarketTypes.Fault.WithheldProof,
            watchtower,
            SLASH,
            reward,
            leaf.price,
            SLASH - reward - leaf.price
        );
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), stake - SLASH, "a promptly finalized withheld proof is slashed in full");
        assertEq(_debt(), 0, "nothing owed");
        assertEq(market.credits(watchtower), credits + BOND + reward, "bond and reward");
        assertEq(market.deposits(leaf.client), deposit + leaf.price, "the refund");
    }

    /// Finalized from the block its leaf left the count, it is a slash of no leaf at risk:
    /// it takes only the surplus beyond the leaves at risk (none here) and owes the rest.
    function test_slash_withheldProofFinalizedAfterItsLeafLeftTheCountOwesTheRest() public {
        _freshMarket(MIN_STAKE);
        (uint256 id, uint256 committedAt) = _withheldLeaf();
        vm.roll(_leftTheCountAt(committedAt));
        _commit(prover, _leaves(MIN_STAKE / SLASH, client)); // the whole cover
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Slashed(
            prover, _jobId(client, JOB), client, MarketTypes.Fault.WithheldProof, watchtower, 0, 0, 0, 0
        );
        market.finalizeChallenge(id);
        assertEq(_stakeOf(prover), MIN_STAKE, "nothing taken");
        assertEq(_debt(), SLASH, "all owed");
        assertEq(market.credits(watchtower), BOND, "the bond back, no reward");
    }

    /// An invalid-proof slash is of a leaf at risk: it takes the full slash whatever the
    /// debt (out of the stake that covers that leaf).
    function test_slash_invalidProofTakesTheFullSlashWhateverTheDebt() public {
        _freshMarket(MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(MIN_STAKE / SLASH, client);
        // Of a circuit the fresh market never registered: invalid whatever the proof.
        leaves[0] = _realLeaf(JOB, 1 gwei, badProof);
        uint256 batchId = _commit(prover, leaves);
        _missedSlashes(100, 2);
        assertEq(_debt(), 2 * SLASH);
        MarketTypes.Inclusion memory at = _at(batchId, leaves, 0);
        _evidence(watchtower, abi.encodeCall(market.challengeInvalidProof, (at, inputs, badProof)));
        vm.deal(watchtower, BOND);
        vm.prank(watchtower);
        market.challengeInvalidProof{value: BOND}(at, inputs, badProof);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH, "the full slash");
        assertEq(_debt(), 2 * SLASH, "the debt unchanged");
    }

    /// The withdrawal burns the debt first (to address(0), counted in `totalBurned`) and
    /// pays the rest.
    function test_withdrawStake_burnsTheDebtFirst() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client));
        _missedSlashes(JOB + 1000, 3);
        assertEq(_debt(), 3 * SLASH);
        vm.prank(prover);
        market.unbond(0.5 ether);
        _passUnbonding(prover);
        uint256 burnedBefore = market.totalBurned();
        uint256 zeroBefore = address(0).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 0.5 ether - 3 * SLASH, 3 * SLASH);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 0.5 ether - 3 * SLASH, "the rest paid");
        assertEq(market.totalBurned() - burnedBefore, 3 * SLASH);
        assertEq(address(0).balance - zeroBefore, 3 * SLASH, "burned");
        assertEq(_debt(), 0);
        (, uint256 covered) = market.exposure(prover);
        assertEq(covered, 0.5 ether / SLASH, "the stake left covers leaves again in full");
    }

    /// A debt larger than the unbonding stake takes all of it; the rest stays owed.
    function test_withdrawStake_burnsAllOfASmallerUnbondingAndKeepsTheRestOwed() public {
        _freshMarket(MIN_STAKE);
        _commit(prover, _leaves(MIN_STAKE / SLASH, client));
        _missedSlashes(JOB + 1000, 3);
        vm.prank(prover);
        market.unbond(SLASH);
        _passUnbonding(prover);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 0, SLASH);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 0, "nothing paid");
        assertEq(_debt(), 2 * SLASH, "the rest still owed");
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
    }

    /// Whatever the stake, unbonding stake, leaves at risk and number of missed
    /// deadlines, each slash takes `min(slashPerJob, free)` where free is what stake and
    /// unbonding hold beyond the debt and the leaves at risk, and owes the rest: taken +
    /// debt added is exactly `slashPerJob`, and nothing the leaves at risk need is taken;
    /// the slashes take unbonding stake first, then bonded.
    function testFuzz_slash_missedDeadlinesNeverTakeTheCoverOfLeavesAtRisk(
        uint256 stake,
        uint256 unbonding,
        uint256 gap,
        uint256 n
    ) public {
        stake = bound(stake, MIN_STAKE, MIN_STAKE + 5 * SLASH);
        unbonding = bound(unbonding, 0, stake - MIN_STAKE);
        uint256 leaves = stake / SLASH - bound(gap, 0, 3);
        n = bound(n, 1, 5);
        _freshMarket(stake);
        _commit(prover, _leaves(leaves, client));
        if (unbonding != 0) {
            vm.prank(prover);
            market.unbond(unbonding);
        }
        uint256 total = stake;
        uint256 debt;
        uint256[] memory taken = _missedSlashes(JOB + 1000, n);
        for (uint256 i = 0; i < n; i++) {
            uint256 held = debt + leaves * SLASH;
            uint256 free = total > held ? total - held : 0;
            uint256 expected = _min(SLASH, free);
            assertEq(taken[i], expected, "took the surplus, at most a slash");
            total -= expected;
            debt += SLASH - expected;
        }
        assertEq(_debt(), debt, "owes the rest of each slash");
        (uint256 left,) = _unbondingOf(prover);
        assertGe(_stakeOf(prover) + left, leaves * SLASH, "the leaves at risk are still covered");
        uint256 sum = stake - total;
        uint256 fromStake = sum > unbonding ? sum - unbonding : 0;
        assertEq(_stakeOf(prover), stake - unbonding - fromStake, "unbonding stake first, then bonded");
    }

    // ================================================================================
    // withdrawCredits
    // ================================================================================

    function test_withdrawCredits_revertsWithNothingOwed() public {
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawCredits();
    }

    function test_withdrawCredits_paysZeroesAndEmits() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        uint256 owed = BOND + REWARD;
        uint256 before = watchtower.balance;
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.CreditsWithdrawn(watchtower, owed);
        vm.prank(watchtower);
        market.withdrawCredits();
        assertEq(watchtower.balance, before + owed);
        assertEq(market.credits(watchtower), 0);
        assertEq(address(market).balance, marketBefore - owed);
        vm.prank(watchtower);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawCredits();
    }

    /// A recipient that refuses ether cannot block the slash that pays it; only its own
    /// withdrawal fails, and its credits stay.
    function test_withdrawCredits_revertsWhenTheRecipientRefusesEther() public {
        EtherRefusingWatchtower refuser = new EtherRefusingWatchtower(market);
        (MarketTypes.Leaf memory a, MarketTypes.Leaf memory b) = _twins(1 gwei, 1 gwei);
        MarketTypes.Inclusion memory atA = _commitOne(prover, a);
        MarketTypes.Inclusion memory atB = _commitOne(prover, b);
        // The market sees the refuser as the challenger: it commits from its address.
        _evidence(address(refuser), abi.encodeCall(market.challengeEquivocation, (atA, atB)));
        refuser.challengeEquivocation(atA, atB);
        assertEq(market.credits(address(refuser)), REWARD);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TransferFailed.selector));
        refuser.withdrawCredits();
        assertEq(market.credits(address(refuser)), REWARD);
    }

    function test_withdrawCredits_proverTakesAFalseChallengersBond() public {
        _commitRealBatch();
        _challengeInvalid(0, proof);
        vm.prank(prover);
        market.withdrawCredits();
        assertEq(prover.balance, BOND);
        assertEq(address(market).balance, STAKE);
    }

    // ================================================================================
    // isDisputed
    // ================================================================================

    /// Disputed while a challenge is open or once slashed: a prover whose challenges were
    /// all answered is not, a slashed one stays disputed.
    function test_isDisputed_falseOnceEveryChallengeIsAnsweredAndTrueAfterASlash() public {
        _commitRealBatch();
        assertFalse(_isDisputed(prover));
        uint256 first = _challengeWithheld(watchtower, realBatch, _real(), 3);
        uint256 second = _challengeWithheld(otherClient, realBatch, _real(), 0);
        assertTrue(_isDisputed(prover));
        market.revealProof(first, inputs, proof);
        assertTrue(_isDisputed(prover), "one challenge still open");
        market.revealProof(second, inputs, proof);
        assertFalse(_isDisputed(prover), "all answered");

        _challengeInvalid(1, badProof);
        assertTrue(_isDisputed(prover));
        assertEq(_openChallenges(prover), 0);
        _closeWindow(realBatch);
        vm.roll(block.number + 10 * UNBONDING_DELAY);
        assertTrue(_isDisputed(prover), "a slashed prover stays disputed");
        assertFalse(_isDisputed(otherProver));
    }

    // ================================================================================
    // isFinal
    // ================================================================================

    function _isFinal(uint256 batchId, MarketTypes.Leaf memory l, bytes32[] memory path) internal view returns (bool) {
        return market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, batchId, l, path);
    }

    function test_isFinal_onlyAfterTheWindow() public {
        _commitRealBatch();
        bytes32[] memory path = _path(_real(), 0);
        assertFalse(_isFinal(realBatch, real[0], path));
        vm.roll(block.number + CHALLENGE_WINDOW);
        assertFalse(_isFinal(realBatch, real[0], path), "last block of the window");
        vm.roll(block.number + 1);
        assertTrue(_isFinal(realBatch, real[0], path));
    }

    function test_isFinal_falseForAnotherCircuitInputsOrProof() public {
        _commitRealBatch();
        _closeWindow(realBatch);
        MarketTypes.Leaf memory l = real[0];
        bytes32[] memory path = _path(_real(), 0);
        bytes32 other = keccak256("other");
        assertFalse(market.isFinal(other, l.publicInputsHash, l.proofHash, realBatch, l, path));
        assertFalse(market.isFinal(l.circuitId, other, l.proofHash, realBatch, l, path));
        assertFalse(market.isFinal(l.circuitId, l.publicInputsHash, other, realBatch, l, path));
        assertTrue(market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, realBatch, l, path));
    }

    function test_isFinal_falseOnBadPathOrUnknownBatch() public {
        _commitRealBatch();
        _closeWindow(realBatch);
        assertFalse(_isFinal(realBatch, real[0], _path(_real(), 1)));
        assertFalse(_isFinal(realBatch + 1, real[0], _path(_real(), 0)));
        MarketTypes.Leaf memory altered = real[0];
        altered.price += 1;
        assertFalse(_isFinal(realBatch, altered, _path(_real(), 0)));
    }

    function test_isFinal_falseForASlashedJob() public {
        _commitRealBatch();
        _challengeInvalid(1, badProof);
        _closeWindow(realBatch);
        assertFalse(_isFinal(realBatch, real[1], _path(_real(), 1)));
        assertTrue(_isFinal(realBatch, real[0], _path(_real(), 0)), "other jobs of the batch stay final");
    }

    /// The same leaf committed in a second batch is the same job: once the job is slashed
    /// through one copy, the other copy is not final either (and cannot be challenged
    /// again: AlreadySlashed).
    function test_isFinal_falseForASlashedJobRecommittedInAnotherBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[1]);
        _challengeInvalid(1, badProof);
        _expectInvalidRevert(copy, badProof, abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, real[1].jobId));
        _closeWindow(copy.batchId);
        assertFalse(_isFinal(copy.batchId, copy.leaf, copy.path));
    }

    /// ... nor payable from the second batch.
    function test_claim_revertsForASlashedJobRecommittedInAnotherBatch() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[1]);
        _challengeInvalid(1, badProof);
        _closeWindow(copy.batchId);
        _deposit(client, 1 ether);
        MarketTypes.Award memory a = _award(real[1], prover);
        bytes memory sig = _sign(clientKey, a);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.JobSlashed.selector, real[1].jobId));
        _claimAt(copy, 1, a, sig);
    }

    /// ... and while one copy is under challenge, the other is neither final nor payable.
    function test_isFinal_falseWhileAnotherCopyOfTheLeafIsChallenged() public {
        _commitRealBatch();
        MarketTypes.Inclusion memory copy = _commitOne(prover, real[3]);
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        _closeWindow(copy.batchId);
        assertFalse(_isFinal(copy.batchId, copy.leaf, copy.path));
        _deposit(client, 1 ether);
        MarketTypes.Award memory a = _award(real[3], prover);
        bytes memory sig = _sign(clientKey, a);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengePending.selector, id));
        _claimAt(copy, 3, a, sig);
    }

    function test_isFinal_falseWhileChallengedAndTrueOnceAnswered() public {
        _commitRealBatch();
        vm.roll(block.number + CHALLENGE_WINDOW); // challenged at the last block of the window
        uint256 id = _challengeWithheld(watchtower, realBatch, _real(), 3);
        vm.roll(block.number + 1);
        bytes32[] memory path = _path(_real(), 3);
        assertFalse(_isFinal(realBatch, real[3], path));
        market.revealProof(id, inputs, proof);
        assertTrue(_isFinal(realBatch, real[3], path));
    }
}
