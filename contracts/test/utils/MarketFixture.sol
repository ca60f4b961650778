// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "./Test.sol";
import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {BatchLeaf} from "../../src/BatchLeaf.sol";

/// A batch tree as OpenZeppelin's MerkleProof checks it and `provernet_protocol::merkle`
/// builds it: sorted-pair keccak256, and a level with an odd number of nodes promotes its
/// last node unchanged (so that node has no sibling at that level).
library MerkleBuilder {
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        require(leaves.length > 0, "MerkleBuilder: no leaves");
        bytes32[] memory level = _copy(leaves);
        uint256 n = level.length;
        while (n > 1) {
            n = _up(level, n);
        }
        return level[0];
    }

    function proof(bytes32[] memory leaves, uint256 index) internal pure returns (bytes32[] memory path) {
        require(index < leaves.length, "MerkleBuilder: index out of range");
        bytes32[] memory level = _copy(leaves);
        uint256 n = level.length;
        path = new bytes32[](256);
        uint256 len;
        while (n > 1) {
            uint256 sibling = index ^ 1;
            if (sibling < n) path[len++] = level[sibling];
            n = _up(level, n);
            index /= 2;
        }
        assembly ("memory-safe") {
            mstore(path, len)
        }
    }

    /// Replaces the first ceil(n/2) entries of `level` by the next level up; returns its size.
    function _up(bytes32[] memory level, uint256 n) private pure returns (uint256) {
        uint256 half = n / 2;
        for (uint256 i = 0; i < half; i++) {
            level[i] = hashPair(level[2 * i], level[2 * i + 1]);
        }
        if (n % 2 == 1) level[half] = level[n - 1];
        return half + n % 2;
    }

    function _copy(bytes32[] memory a) private pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; i++) {
            b[i] = a[i];
        }
    }
}

/// Deployment, actors and helpers shared by the ProverMarket unit, fuzz and invariant suites.
abstract contract MarketFixture is Test {
    uint256 internal constant MIN_STAKE = 1 ether;
    uint64 internal constant CHALLENGE_WINDOW = 10;
    uint64 internal constant RESPONSE_WINDOW = 5;
    /// Blocks of an epoch of leaves at risk (`MarketStakes._epochLength`): a challenge
    /// window, the response window after it and one block, so a leaf counts at least until
    /// a challenge opened in the last block of its window can be finalized.
    uint256 internal constant EPOCH = uint256(CHALLENGE_WINDOW) + RESPONSE_WINDOW + 1;
    uint64 internal constant UNBONDING_DELAY = 20;
    uint64 internal constant DEPOSIT_DELAY = 30;
    uint256 internal constant BOND = 0.1 ether;
    uint256 internal constant SLASH_PER_JOB = 0.01 ether;
    uint16 internal constant REWARD_BPS = 3_000;
    uint16 internal constant REFUND_BPS = 2_000;
    /// Gas tests give the raw verifier in direct calls: plenty (the real one needs about
    /// 284k). The market gives it the cap it measured at registration instead.
    uint64 internal constant VERIFIER_GAS = 1_000_000;
    uint64 internal constant MAX_DEADLINE = 1 days;
    uint64 internal constant DEADLINE_PERIOD = 1 hours;
    /// The market's internal constants (ProverMarket.sol, CircuitStore.sol): the most
    /// leaves a batch holds, and the most gas a verifier call may be given.
    uint32 internal constant MAX_BATCH_SIZE = 512;
    uint64 internal constant MAX_VERIFIER_GAS = 10_000_000;

    bytes32 internal constant PEER_KEY = keccak256("prover ed25519 key");
    /// The circuit `_leaf` names: a placeholder that no registration can have (a circuit's
    /// id is derived from its verifier's code hash and its proofs' shape, `circuitIdOf`), so
    /// a leaf of it is a leaf of an unregistered circuit. Suites that need a registered
    /// circuit hold the id `registerCircuit` returned (`_registerFixtureVerifier`).
    bytes32 internal constant CIRCUIT = keccak256("circuit");

    ProverMarket internal market;
    address internal prover = makeAddr("prover");
    address internal otherProver = makeAddr("otherProver");
    address internal client;
    uint256 internal clientKey;
    address internal otherClient;
    uint256 internal otherClientKey;

    function setUp() public virtual {
        (client, clientKey) = makeAddrAndKey("client");
        (otherClient, otherClientKey) = makeAddrAndKey("otherClient");
        market = new ProverMarket(_params());
        // Start away from block 0 / timestamp 0 so "block.number - x" arithmetic in tests is safe.
        vm.roll(100);
        vm.warp(1_700_000_000);
    }

    /// The parameters every suite deploys with.
    function _params() internal pure returns (MarketTypes.Params memory) {
        return MarketTypes.Params({
            minStake: MIN_STAKE,
            challengeWindow: CHALLENGE_WINDOW,
            responseWindow: RESPONSE_WINDOW,
            unbondingDelay: UNBONDING_DELAY,
            depositWithdrawalDelay: DEPOSIT_DELAY,
            challengeBond: BOND,
            slashPerJob: SLASH_PER_JOB,
            rewardBps: REWARD_BPS,
            refundBps: REFUND_BPS,
            maxDeadline: MAX_DEADLINE,
            deadlineChallengePeriod: DEADLINE_PERIOD
        });
    }

    // ---- the real verifier ---------------------------------------------------------------

    /// A real poseidon-chain-12 verifier, proof and public inputs written by the circuits
    /// crate (scripts/regen-fixtures.sh).
    string internal constant VERIFIER_FIXTURE = "/test/fixtures/poseidon-chain-12-verifier.json";

    /// Deploys the fixture's EVM verifier; returns its address.
    function _deployVerifier() internal returns (address verifier) {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), VERIFIER_FIXTURE));
        bytes memory code = vm.parseJsonBytes(json, ".verifierCreationCode");
        assembly ("memory-safe") {
            verifier := create(0, add(code, 0x20), mload(code))
        }
        require(verifier != address(0), "verifier deployment failed");
    }

    // ---- actors ----------------------------------------------------------------------

    function _register(address who, uint256 stake) internal {
        vm.deal(who, stake);
        vm.prank(who);
        market.register{value: stake}(keccak256(abi.encode(who)));
    }

    function _deposit(address who, uint256 amount) internal {
        vm.deal(who, amount);
        vm.prank(who);
        market.deposit{value: amount}();
    }

    /// The market's `MAX_DELAY` (internal: no getter): the largest delay or window it
    /// accepts, in blocks (and largest deadline or period, in seconds).
    uint64 internal constant MAX_DELAY = type(uint32).max;

    /// The market's `jobKey` (internal: no getter), spelled out: the key under which a
    /// prover's faults and challenges on a job are recorded.
    function _jobKey(address prover_, address client_, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(prover_, client_, jobId));
    }

    /// The market's `isDisputed` (internal: no getter), from the `provers` getter: a
    /// challenge against `who` is open, or it was slashed.
    function _isDisputed(address who) internal view returns (bool) {
        (,,,,,, uint32 open, uint32 slashedJobs,,,,) = market.provers(who);
        return open != 0 || slashedJobs != 0;
    }

    /// Word `word` of the market's paid awards of `client_` to `prover_` (internal: no
    /// getter), rebuilt from `isPaid`: bit b is set when the award of job `word * 256 + b`
    /// to `prover_` has been paid (claimed, or bought by a withheld-proof challenge).
    function _paidWord(address client_, address prover_, uint256 word) internal view returns (uint256 bits) {
        require(word < 1 << 56, "_paidWord: no such word");
        for (uint256 b = 0; b < 256; b++) {
            if (market.isPaid(client_, prover_, _nonce(word * 256 + b))) bits |= uint256(1) << b;
        }
    }

    function _stakeOf(address who) internal view returns (uint256 stake) {
        (stake,,,,,,,,,,,) = market.provers(who);
    }

    /// What `who` owes of slashes that could not be taken when they came (burned out of
    /// its unbonding stake when it withdraws).
    function _debtOf(address who) internal view returns (uint256 debt) {
        (, debt,,,,,,,,,,) = market.provers(who);
    }

    /// Whether `who` is registered with at least the minimum stake (it may commit).
    function _isStaked(address who) internal view returns (bool) {
        (uint256 stake,,,,,,,,,,, bool registered) = market.provers(who);
        return registered && stake >= MIN_STAKE;
    }

    /// Unbonding stake, and the block from which it may be withdrawn.
    function _unbondingOf(address who) internal view returns (uint256 unbonding, uint64 at) {
        (,,, unbonding, at,,,,,,,) = market.provers(who);
    }

    /// The time (unix seconds) from which unbonding stake may be withdrawn.
    function _unbondableAfter(address who) internal view returns (uint64 t) {
        (,,,,, t,,,,,,) = market.provers(who);
    }

    /// Rolls and warps to where `who`'s unbonding stake may be withdrawn.
    function _passUnbonding(address who) internal {
        (, uint64 at) = _unbondingOf(who);
        if (block.number < at) vm.roll(at);
        uint64 t = _unbondableAfter(who);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < t) vm.warp(t);
    }

    /// What one slash of a leaf at risk takes from a prover holding `available` (bonded +
    /// unbonding).
    function _slashOf(uint256 available) internal pure returns (uint256) {
        return available < SLASH_PER_JOB ? available : SLASH_PER_JOB;
    }

    /// A nonce no job of the suites has (they number their jobs from 0 up): a withheld-proof
    /// challenge naming it buys nothing, even from the job's client (a plain challenge).
    uint64 internal constant NO_NONCE = type(uint64).max;

    // ---- leaves, batches, awards -------------------------------------------------------

    /// Leaf of job `i` (the client's nonce) of `client_`; circuit, inputs and proof hashes
    /// are placeholders unique to `i`.
    function _leaf(uint256 i, address client_, uint256 price) internal pure returns (MarketTypes.Leaf memory) {
        return MarketTypes.Leaf({
            jobId: _jobId(client_, _nonce(i)),
            circuitId: CIRCUIT,
            publicInputsHash: keccak256(abi.encode("inputs", i)),
            proofHash: keccak256(abi.encode("proof", i)),
            client: client_,
            price: price
        });
    }

    /// The id of job `nonce` of `client_`, derived as `MarketClaims.jobIdOf` and the Rust
    /// protocol crate do (spelled out here so a change on either side shows).
    function _jobId(address client_, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked("provernet/job-id/v1", client_, nonce));
    }

    /// Index `i` as a client nonce (checked: tests only use small indices).
    function _nonce(uint256 i) internal pure returns (uint64) {
        require(i <= type(uint64).max, "nonce out of range");
        // forge-lint: disable-next-line(unsafe-typecast)
        return uint64(i);
    }

    function _hash(MarketTypes.Leaf memory l) internal pure returns (bytes32) {
        return BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
    }

    function _hashes(MarketTypes.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            h[i] = _hash(leaves[i]);
        }
    }

    /// `n` leaves of `client_` (nonces 0..n-1) with prices 1 gwei, 2 gwei, ...
    function _leaves(uint256 n, address client_) internal pure returns (MarketTypes.Leaf[] memory leaves) {
        leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(i, client_, (i + 1) * 1 gwei);
        }
    }

    /// Commits `leaves` as `who`, in its own transaction (`commitBatch` takes only a plain
    /// account's direct call: tx.origin is the caller).
    function _commit(address who, MarketTypes.Leaf[] memory leaves) internal returns (uint256 batchId) {
        vm.prank(who, who);
        batchId = market.commitBatch(leaves);
    }

    /// One leaf as a batch.
    function _one(MarketTypes.Leaf memory leaf) internal pure returns (MarketTypes.Leaf[] memory leaves) {
        leaves = new MarketTypes.Leaf[](1);
        leaves[0] = leaf;
    }

    function _path(MarketTypes.Leaf[] memory leaves, uint256 index) internal pure returns (bytes32[] memory) {
        return MerkleBuilder.proof(_hashes(leaves), index);
    }

    /// The award the client of `l` gives `to` for `l`'s job at `l`'s price, due one hour
    /// from now.
    function _award(MarketTypes.Leaf memory l, address to) internal view returns (MarketTypes.Award memory) {
        return _award(l, to, uint64(block.timestamp + 1 hours));
    }

    /// The award the client of `l` gives `to` for `l`'s job at `l`'s price, due at
    /// `deadline`, for the statement `l` names: its circuit and public inputs hash (what
    /// the client computes from the inputs it submits). Only a leaf of that statement can
    /// be paid with it or answer a missed deadline.
    function _award(MarketTypes.Leaf memory l, address to, uint64 deadline)
        internal
        pure
        returns (MarketTypes.Award memory)
    {
        return MarketTypes.Award({
            jobId: l.jobId,
            prover: to,
            price: l.price,
            deadline: deadline,
            circuitId: l.circuitId,
            publicInputsHash: l.publicInputsHash
        });
    }

    function _sign(uint256 key, MarketTypes.Award memory a) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.awardDigest(a));
        return abi.encodePacked(r, s, v);
    }

    // ---- claims ------------------------------------------------------------------------

    /// The ERC-2098 compact form (r, vs) of a signature r ‖ s ‖ v as `_sign` gives it (65
    /// bytes, v 27 or 28, low s): the only form `claimBatch` takes.
    function _compact(bytes memory sig) internal pure returns (bytes32 r, bytes32 vs) {
        require(sig.length == 65, "_compact: not a 65-byte signature");
        bytes32 s;
        uint8 v;
        assembly ("memory-safe") {
            r := mload(add(sig, 0x20))
            s := mload(add(sig, 0x40))
            v := byte(0, mload(add(sig, 0x60)))
        }
        require((v == 27 || v == 28) && uint256(s) >> 255 == 0, "_compact: no compact form");
        vs = v == 28 ? bytes32(uint256(s) | (uint256(1) << 255)) : s;
    }

    /// The `claimBatch` job of leaf `l` at `index` of its batch: job `nonce` of `l.client`,
    /// awarded with `deadline`, with the client's signature `sig` of its award (`_sign`).
    /// The market rebuilds the award from the job (its id from the client and nonce), the
    /// caller and `deadline`: a signature of any other award (another job, prover, price,
    /// deadline or statement) is refused, `BadAwardSignature`.
    function _batchJob(MarketTypes.Leaf memory l, uint256 index, uint64 nonce, uint64 deadline, bytes memory sig)
        internal
        pure
        returns (MarketTypes.BatchClaim memory)
    {
        (bytes32 r, bytes32 vs) = _compact(sig);
        return MarketTypes.BatchClaim({
            // forge-lint: disable-next-line(unsafe-typecast)
            index: uint32(index), // tests use small batches
            nonce: nonce,
            deadline: deadline,
            client: l.client,
            price: l.price,
            circuitId: l.circuitId,
            publicInputsHash: l.publicInputsHash,
            proofHash: l.proofHash,
            r: r,
            vs: vs
        });
    }

    /// Claims `job` alone, as `who`, from batch `batchId` whose leaf hashes are `hashes`
    /// (overwritten: zero at the job's index, where the market puts the leaf the job
    /// describes, so a leaf that is not the batch's there fails the root check,
    /// `LeafNotInBatch`). `claimBatch` is the only claim: a single job is claimed this way.
    /// Makes no call before the claim, so a `vm.expectRevert` before it applies to the claim.
    function _claimSingle(address who, uint256 batchId, bytes32[] memory hashes, MarketTypes.BatchClaim memory job)
        internal
    {
        if (job.index < hashes.length) hashes[job.index] = bytes32(0);
        MarketTypes.BatchClaim[] memory jobs = new MarketTypes.BatchClaim[](1);
        jobs[0] = job;
        vm.prank(who);
        market.claimBatch(batchId, hashes, jobs);
    }

    /// Claims leaf `index` of `leaves`, committed as batch `batchId`, alone, as `who`: job
    /// `nonce`, with `award`'s deadline and the client's signature `sig` of `award`.
    function _claimJob(
        address who,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 index,
        uint64 nonce,
        MarketTypes.Award memory award,
        bytes memory sig
    ) internal {
        _claimSingle(who, batchId, _hashes(leaves), _batchJob(leaves[index], index, nonce, award.deadline, sig));
    }

    /// The acceptance `a.prover` signs for award `a` of `client_`'s job, after receiving
    /// the job's inputs: the same job, price, deadline and statement.
    function _acceptance(MarketTypes.Award memory a, address client_)
        internal
        pure
        returns (MarketTypes.Acceptance memory)
    {
        return MarketTypes.Acceptance({
            jobId: a.jobId,
            client: client_,
            inputHash: keccak256(abi.encode("inputs of", a.jobId)),
            price: a.price,
            deadline: a.deadline,
            circuitId: a.circuitId,
            publicInputsHash: a.publicInputsHash
        });
    }

    function _signAcceptance(uint256 key, MarketTypes.Acceptance memory a) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, market.acceptanceDigest(a));
        return abi.encodePacked(r, s, v);
    }

    /// Leaf `i` of `leaves`, committed as batch `batchId`, with its Merkle path.
    function _at(uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i)
        internal
        pure
        returns (MarketTypes.Inclusion memory)
    {
        return MarketTypes.Inclusion({batchId: batchId, leaf: leaves[i], path: _path(leaves, i)});
    }

    /// What a withheld-proof challenge shows besides the leaf: the job's `nonce`, and the
    /// client's award of the leaf to the batch's prover (its `deadline` and ERC-2098
    /// signature `r`, `vs`). `r` zero: a plain challenge, whoever sends it.
    struct Purchase {
        uint64 nonce;
        uint64 deadline;
        bytes32 r;
        bytes32 vs;
    }

    /// A plain challenge naming `nonce` (no signature: nothing bought, whoever sends it).
    function _plain(uint64 nonce) internal pure returns (Purchase memory) {
        return Purchase({nonce: nonce, deadline: 0, r: bytes32(0), vs: bytes32(0)});
    }

    /// The private key of the suites' clients that sign awards (`client`, `otherClient`,
    /// or one `_signer` made).
    mapping(address => uint256) internal signerKeys;

    /// An account made with a known key (`makeAddrAndKey`), so that it can sign awards.
    function _signer(string memory name) internal returns (address who) {
        uint256 key;
        (who, key) = makeAddrAndKey(name);
        signerKeys[who] = key;
    }

    function _keyOf(address who) internal view returns (uint256 key) {
        if (who == client) return clientKey;
        if (who == otherClient) return otherClientKey;
        key = signerKeys[who];
        require(key != 0, "_keyOf: no key for this account");
    }

    /// The deadline `_purchase` signs: one hour from now.
    function _buyDeadline() internal view returns (uint64) {
        return uint64(block.timestamp + 1 hours);
    }

    /// The purchase of leaf `i` of batch `batchId` by its client: job `nonce`, with the
    /// client's signature of its award of the leaf to the batch's prover (`_buyDeadline`).
    function _purchase(uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i, uint64 nonce)
        internal
        view
        returns (Purchase memory)
    {
        (address batchProver,,,,) = market.batches(batchId);
        return _signedPurchase(_keyOf(leaves[i].client), _award(leaves[i], batchProver, _buyDeadline()), nonce);
    }

    /// Job `nonce` shown with `award`, signed with `key`.
    function _signedPurchase(uint256 key, MarketTypes.Award memory award, uint64 nonce)
        internal
        view
        returns (Purchase memory b)
    {
        (b.r, b.vs) = _compact(_sign(key, award));
        b.nonce = nonce;
        b.deadline = award.deadline;
    }

    /// Opens a plain withheld-proof challenge on leaf `i` of batch `batchId` as
    /// `challenger` (bond `challengeBond`, naming `NO_NONCE` and no signature: nothing
    /// bought, whoever sends it), committing its evidence first (`_evidenceWithheld`, then
    /// `_sendWithheld`).
    function _challengeWithheld(address challenger, uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i)
        internal
        returns (uint256 challengeId)
    {
        return _challengeWithheldNaming(challenger, batchId, leaves, i, NO_NONCE);
    }

    /// Commits `challenger` to the withheld-proof challenge of `_challengeWithheld` (a
    /// separate step so that a test can expect an event or a revert of the challenge
    /// itself, which `vm.expectEmit` and `vm.expectRevert` match against the next call).
    function _evidenceWithheld(address challenger, uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i)
        internal
    {
        _evidenceWithheldNaming(challenger, batchId, leaves, i, NO_NONCE);
    }

    /// Sends the withheld-proof challenge of `_challengeWithheld`, without committing to it.
    function _sendWithheld(address challenger, uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i)
        internal
        returns (uint256 challengeId)
    {
        return _sendWithheldNaming(challenger, batchId, leaves, i, NO_NONCE);
    }

    /// The job's client (`leaves[i].client`) buys the proof of leaf `i` of batch `batchId`:
    /// a withheld-proof challenge naming the job's `nonce` with its signed award of the
    /// leaf to the batch's prover (`_purchase`; bond `challengeBond`; the leaf's price
    /// leaves its deposit), committing its evidence first.
    function _buyWithheld(uint256 batchId, MarketTypes.Leaf[] memory leaves, uint256 i, uint64 nonce)
        internal
        returns (uint256 challengeId)
    {
        return _challengeWithheldWith(leaves[i].client, batchId, leaves, i, _purchase(batchId, leaves, i, nonce));
    }

    /// Opens a plain withheld-proof challenge (no signature) on leaf `i` of batch
    /// `batchId` as `challenger` naming `nonce`: nothing is bought, whoever sends it. Bond
    /// `challengeBond`; commits its evidence first.
    function _challengeWithheldNaming(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        uint64 nonce
    ) internal returns (uint256 challengeId) {
        return _challengeWithheldWith(challenger, batchId, leaves, i, _plain(nonce));
    }

    /// Commits `challenger` to the plain withheld-proof challenge of leaf `i` of `batchId`
    /// naming `nonce`.
    function _evidenceWithheldNaming(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        uint64 nonce
    ) internal {
        _evidenceWithheldWith(challenger, batchId, leaves, i, _plain(nonce));
    }

    /// Sends the plain withheld-proof challenge of leaf `i` of `batchId` naming `nonce` as
    /// `challenger`, with bond `challengeBond`, without committing to it.
    function _sendWithheldNaming(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        uint64 nonce
    ) internal returns (uint256 challengeId) {
        return _sendWithheldWith(challenger, batchId, leaves, i, _plain(nonce));
    }

    /// Opens a withheld-proof challenge on leaf `i` of batch `batchId` as `challenger`
    /// showing `b` (a purchase when `challenger` is the leaf's client and `b` its valid
    /// signed award; a plain challenge when `b.r` is zero or `challenger` is not the
    /// client), with bond `challengeBond`, committing its evidence first.
    function _challengeWithheldWith(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        Purchase memory b
    ) internal returns (uint256 challengeId) {
        _evidenceWithheldWith(challenger, batchId, leaves, i, b);
        challengeId = _sendWithheldWith(challenger, batchId, leaves, i, b);
    }

    /// Commits `challenger` to the withheld-proof challenge of leaf `i` of `batchId`
    /// showing `b`.
    function _evidenceWithheldWith(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        Purchase memory b
    ) internal {
        _evidence(challenger, _withheldCall(_at(batchId, leaves, i), b));
    }

    /// Sends the withheld-proof challenge of leaf `i` of `batchId` showing `b` as
    /// `challenger`, with bond `challengeBond`, without committing to it.
    function _sendWithheldWith(
        address challenger,
        uint256 batchId,
        MarketTypes.Leaf[] memory leaves,
        uint256 i,
        Purchase memory b
    ) internal returns (uint256 challengeId) {
        vm.deal(challenger, challenger.balance + BOND);
        vm.prank(challenger);
        challengeId = _withheld(_at(batchId, leaves, i), b, BOND);
    }

    /// Calls `challengeWithheldProof` with `at` and `b`, sending `value` (no prank: the
    /// caller sets it).
    function _withheld(MarketTypes.Inclusion memory at, Purchase memory b, uint256 value) internal returns (uint256) {
        return market.challengeWithheldProof{value: value}(at, b.nonce, b.deadline, b.r, b.vs);
    }

    /// The input of a plain `challengeWithheldProof(at, nonce, 0, 0, 0)`.
    function _withheldCall(MarketTypes.Inclusion memory at, uint64 nonce) internal view returns (bytes memory) {
        return _withheldCall(at, _plain(nonce));
    }

    /// The input of `challengeWithheldProof(at, b.nonce, b.deadline, b.r, b.vs)`.
    function _withheldCall(MarketTypes.Inclusion memory at, Purchase memory b) internal view returns (bytes memory) {
        return abi.encodeCall(market.challengeWithheldProof, (at, b.nonce, b.deadline, b.r, b.vs));
    }

    // ---- evidence commitments ------------------------------------------------------------

    /// The digest `who` commits to before sending the challenge call `call` (its whole
    /// calldata: selector and arguments, byte for byte what the real call sends):
    /// keccak256(who ‖ call), as `MarketChallenges._takeEvidence` computes it from msg.sender
    /// and msg.data (spelled out here so a change on either side shows).
    function _evidenceDigest(address who, bytes memory call) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(who, call));
    }

    /// Commits `who` to sending the challenge call `call` (`_evidenceDigest`) in the block
    /// before this one, so that `who` may send it now: a challenge is taken only from the
    /// account that committed to itself sending its exact input in an earlier block.
    /// Rolls back to the current block after, so no test's timing changes (only the block
    /// number moves; the timestamp stays). A block number of 0 stores no commitment, so
    /// the current block must be 2 or later (the fixture starts at 100).
    function _evidence(address who, bytes memory call) internal {
        uint256 n = block.number;
        require(n >= 2, "_evidence: no earlier block to commit in");
        vm.roll(n - 1);
        vm.prank(who);
        market.commitEvidence(_evidenceDigest(who, call));
        vm.roll(n);
    }

    // ---- challenges (no getter) ----------------------------------------------------------

    /// Storage slot of the market's `challenges` array (internal: it has no getter). From
    /// `forge inspect ProverMarket storageLayout`; `_challenge` checks it against
    /// `challengeCount()`, so a layout change fails loudly instead of reading garbage.
    uint256 internal constant CHALLENGES_SLOT = 9;
    /// Storage words per `Challenge`: fault, status, respondBy, deadline and bought share
    /// the first; challenger, prover, client, bond, price, jobId, circuitId,
    /// publicInputsHash and proofHash take one each.
    uint256 internal constant CHALLENGE_WORDS = 10;

    /// The stored challenge, read from the market's storage.
    function _challenge(uint256 id) internal view returns (MarketTypes.Challenge memory c) {
        uint256 count = uint256(vm.load(address(market), bytes32(CHALLENGES_SLOT)));
        require(count == market.challengeCount(), "CHALLENGES_SLOT is not the challenges array");
        require(id < count, "no such challenge");
        uint256 base = uint256(keccak256(abi.encode(CHALLENGES_SLOT))) + id * CHALLENGE_WORDS;
        uint256 w0 = uint256(vm.load(address(market), bytes32(base)));
        // The first word packs fault, status, respondBy, deadline and bought from its low
        // end; each cast keeps exactly its field's bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        c.fault = MarketTypes.Fault(uint8(w0));
        // forge-lint: disable-next-line(unsafe-typecast)
        c.status = MarketTypes.ChallengeStatus(uint8(w0 >> 8));
        // forge-lint: disable-next-line(unsafe-typecast)
        c.respondBy = uint64(w0 >> 16);
        // forge-lint: disable-next-line(unsafe-typecast)
        c.deadline = uint64(w0 >> 80);
        // forge-lint: disable-next-line(unsafe-typecast)
        c.bought = uint8(w0 >> 144) != 0;
        c.challenger = address(uint160(uint256(vm.load(address(market), bytes32(base + 1)))));
        c.prover = address(uint160(uint256(vm.load(address(market), bytes32(base + 2)))));
        c.client = address(uint160(uint256(vm.load(address(market), bytes32(base + 3)))));
        c.bond = uint256(vm.load(address(market), bytes32(base + 4)));
        c.price = uint256(vm.load(address(market), bytes32(base + 5)));
        c.jobId = vm.load(address(market), bytes32(base + 6));
        c.circuitId = vm.load(address(market), bytes32(base + 7));
        c.publicInputsHash = vm.load(address(market), bytes32(base + 8));
        c.proofHash = vm.load(address(market), bytes32(base + 9));
        require(c.challenger != address(0) && c.prover != address(0), "CHALLENGE_WORDS: not a challenge");
    }

    // ---- circuits (getter) -------------------------------------------------------------

    /// A challenge refused for want of gas: `InsufficientGas` before the verifier runs, or
    /// out of gas (no revert data) after its verdict, when the cap left too little for
    /// the rest of the call. Either way the whole call reverts and nothing changes.
    function _assertRefusedForGas(bytes memory ret) internal pure {
        if (ret.length == 0) return;
        // casting to 'bytes4' keeps the first four bytes: the selector
        // forge-lint: disable-next-line(unsafe-typecast)
        require(ret.length == 68 && bytes4(ret) == CircuitStore.InsufficientGas.selector, "not refused for gas");
    }

    /// The registration of `circuitId` (all zero if none).
    function _circuit(bytes32 circuitId) internal view returns (CircuitStore.Circuit memory c) {
        (c.verifier, c.gasLimit, c.publicInputs, c.proofLength, c.codeHash) = market.circuits(circuitId);
    }

    /// The registration of `circuitId` is still `before`, field by field.
    function _assertUnchanged(bytes32 circuitId, CircuitStore.Circuit memory before) internal view {
        CircuitStore.Circuit memory c = _circuit(circuitId);
        assertEq(c.verifier, before.verifier, "verifier");
        assertEq(c.gasLimit, before.gasLimit, "gas cap");
        assertEq(c.publicInputs, before.publicInputs, "public inputs");
        assertEq(c.proofLength, before.proofLength, "proof length");
        assertEq(c.codeHash, before.codeHash, "code hash");
    }

    /// Rolls past the challenge window of `batchId`.
    function _closeWindow(uint256 batchId) internal {
        (,, uint40 blockNumber,,) = market.batches(batchId);
        vm.roll(blockNumber + CHALLENGE_WINDOW + 1);
    }

    // ---- circuits ----------------------------------------------------------------------

    /// The fixture's sample: the public inputs and the valid proof of its verifier.
    function _verifierSample() internal view returns (uint256[] memory sampleInputs, bytes memory sampleProof) {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), VERIFIER_FIXTURE));
        sampleInputs = vm.parseJsonUintArray(json, ".publicInputs");
        sampleProof = vm.parseJsonBytes(json, ".proof");
    }

    /// Deploys the fixture's verifier and registers it with the fixture's sample, from an
    /// account of no standing (registration is permissionless); returns its address and the
    /// circuit id the market derived from its code and the sample's shape.
    function _registerFixtureVerifier() internal returns (address verifier, bytes32 circuitId) {
        verifier = _deployVerifier();
        (uint256[] memory sampleInputs, bytes memory sampleProof) = _verifierSample();
        vm.prank(makeAddr("registrant"));
        circuitId = market.registerCircuit(verifier, sampleInputs, sampleProof);
    }
}

/// A contract that commits batches for whoever calls it: the leaves would be inside its
/// caller's input, in an encoding only it knows (`commitBatch` refuses it).
contract CommitRelay {
    ProverMarket internal immutable market;

    constructor(ProverMarket market_) {
        market = market_;
    }

    function commit(MarketTypes.Leaf[] calldata leaves) external returns (uint256) {
        return market.commitBatch(leaves);
    }
}
