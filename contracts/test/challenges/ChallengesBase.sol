// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

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
/// per rule and per revert reason (docs/contracts.md), in the test contracts of
/// test/challenges/; this is their common setting and helpers. Invalid-proof and
/// withheld-proof challenges run against the real poseidon-chain-12 EVM verifier and proof
/// of test/fixtures/poseidon-chain-12-verifier.json.
///
/// Figures used throughout: the prover stakes 4 ether; one slash takes the fixed
/// `SLASH_PER_JOB` (0.01 ether), of which the challenger gets 30 % (0.003 ether) as credit,
/// the client 20 % capped at the job's price (at most 0.002 ether) into its deposit, and
/// the rest (0.005 ether with the full refund) is burned.
abstract contract ChallengesBase is MarketFixture {
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

    function _isFinal(uint256 batchId, MarketTypes.Leaf memory l, bytes32[] memory path) internal view returns (bool) {
        return market.isFinal(l.circuitId, l.publicInputsHash, l.proofHash, batchId, l, path);
    }
}
