// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// Attacks on the mechanism, each written as its attacker would try it, asserting that it
/// fails and that the attacker ends poorer (or no richer) than playing by the rules. One
/// section per property of docs/contracts.md's threat model, in the test contracts of
/// test/attacks/ (the table there names each test); this is their common setting and
/// helpers.
abstract contract AttacksBase is MarketFixture {
    address internal cheater;
    uint256 internal cheaterKey;
    address internal watchtower = makeAddr("watchtower");

    function setUp() public override {
        super.setUp();
        (cheater, cheaterKey) = makeAddrAndKey("cheater");
        // The real poseidon-chain-12 verifier, registered with its valid sample proof.
        (realVerifier, circuit) = _registerFixtureVerifier();
        (inputs, proof) = _verifierSample();
    }

    address internal realVerifier;
    /// The id the market derived for it.
    bytes32 internal circuit;
    /// A valid proof of the registered circuit and its public inputs.
    bytes internal proof;
    uint256[] internal inputs;

    // ---- helpers -----------------------------------------------------------------------

    /// `n` leaves of `client_` with nonces `from..from+n-1`, 1 gwei each.
    function _leavesFrom(uint256 from, uint256 n, address client_)
        internal
        pure
        returns (MarketTypes.Leaf[] memory leaves)
    {
        leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(from + i, client_, 1 gwei);
        }
    }

    /// Challenges every leaf of `batchId` as withheld while its window is open, lets the
    /// time to answer pass unanswered, and finalizes each challenge: the prover is slashed
    /// once per leaf. Returns what each slash took.
    function _slashAllWithheld(address who, uint256 batchId, MarketTypes.Leaf[] memory leaves)
        internal
        returns (uint256[] memory taken)
    {
        uint256[] memory ids = new uint256[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            ids[i] = _challengeWithheld(watchtower, batchId, leaves, i);
        }
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        taken = new uint256[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            (uint256 before,) = _available(who);
            market.finalizeChallenge(ids[i]);
            (uint256 afterwards,) = _available(who);
            taken[i] = before - afterwards;
        }
    }

    /// Stake + unbonding stake, and the unbonding part alone.
    function _available(address who) internal view returns (uint256 all, uint256 unbonding) {
        (unbonding,) = _unbondingOf(who);
        all = _stakeOf(who) + unbonding;
    }

    /// Opens a missed-deadline challenge, as the watchtower, on `award` of `client`'s job to
    /// the cheater, with the cheater's acceptance.
    function _challengeMissed(MarketTypes.Award memory award) internal returns (uint256 id) {
        return _challengeMissedAs(watchtower, award);
    }

    function _challengeMissedAs(address challenger, MarketTypes.Award memory award) internal returns (uint256 id) {
        return _challengeMissedOf(challenger, client, clientKey, award);
    }

    /// Opens a missed-deadline challenge, as `challenger`, on `award` of `client_`'s job
    /// (signed with `clientKey_`) to the cheater, with the cheater's acceptance.
    function _challengeMissedOf(address challenger, address client_, uint256 clientKey_, MarketTypes.Award memory award)
        internal
        returns (uint256 id)
    {
        MarketTypes.Acceptance memory acc = _acceptance(award, client_);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey_, award);
        _evidence(challenger, abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig)));
        vm.deal(challenger, challenger.balance + BOND);
        vm.prank(challenger);
        id = market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    function _expectMissedRevert(MarketTypes.Award memory award, bytes memory err) internal {
        MarketTypes.Acceptance memory acc = _acceptance(award, client);
        bytes memory accSig = _signAcceptance(cheaterKey, acc);
        bytes memory awardSig = _sign(clientKey, award);
        vm.deal(watchtower, watchtower.balance + BOND);
        vm.prank(watchtower);
        vm.expectRevert(err);
        market.challengeMissedDeadline{value: BOND}(acc, accSig, award, awardSig);
    }

    /// The leaves a minimum stake covers, and half a slash.
    uint256 internal constant COVERED = MIN_STAKE / SLASH_PER_JOB;
    uint256 internal constant HALF_SLASH = SLASH_PER_JOB / 2;

    /// The refund of a full slash and of half a slash: every job here is priced at least
    /// that, so a slash refunds its client in full.
    uint256 internal constant REFUND = SLASH_PER_JOB * REFUND_BPS / 10_000;
    uint256 internal constant HALF_REFUND = HALF_SLASH * REFUND_BPS / 10_000;

    /// A leaf for `client`'s job 1 with the given circuit and proof.
    function _leafWith(bytes32 circuitId, uint256[] memory inputs_, bytes memory proof_)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves)
    {
        leaves = _one(
            MarketTypes.Leaf({
                jobId: _jobId(client, 1),
                circuitId: circuitId,
                publicInputsHash: keccak256(abi.encodePacked(inputs_)),
                proofHash: keccak256(proof_),
                client: client,
                price: 1 gwei
            })
        );
    }

    /// An all-zero proof of the registered circuit's length: rejected by its verifier.
    function _badProof() internal view returns (bytes memory) {
        return new bytes(proof.length);
    }

    /// `challenger` challenges leaf 0 of `batchId` (`leaves`) as invalid with `inputs` and
    /// `proof_`, committing its evidence first.
    function _challengeInvalidAs(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        bytes memory proof_
    ) internal {
        _challengeInvalidAt(challenger, batchId, leaves, 0, proof_);
    }

    /// `challenger` challenges leaf `i` of `batchId` (`leaves`) as invalid with `inputs`
    /// and `proof_`, committing its evidence first.
    function _challengeInvalidAt(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        bytes memory proof_
    ) internal {
        MarketTypes.Inclusion memory at = _at(batchId, leaves, i);
        _evidence(challenger, abi.encodeCall(market.challengeInvalidProof, (at, inputs, proof_)));
        vm.deal(challenger, challenger.balance + BOND);
        vm.prank(challenger);
        market.challengeInvalidProof{value: BOND}(at, inputs, proof_);
    }

    /// `client` deposits `deposited` and reserves `reserved` of it for `p` until a day from
    /// now; returns that `until`.
    function _reservedFor(address p, uint256 deposited, uint256 reserved) internal returns (uint64 until) {
        until = uint64(block.timestamp + 1 days);
        _deposit(client, deposited);
        vm.prank(client);
        market.reserve(p, reserved, until);
    }

    function _reservedAmount(address c, address p) internal view returns (uint256 amount) {
        (amount,) = market.reservations(c, p);
    }

    /// The reward of one full slash.
    uint256 internal constant REWARD = SLASH_PER_JOB * REWARD_BPS / 10_000;

    /// The price of the jobs of the purchase attacks (BuyingWithheldProofs.t.sol): at or below
    /// `challengeBond`, as a deployment sets the bond (at or above the prices its provers take).
    uint256 internal constant PRICE = 0.05 ether;
}
