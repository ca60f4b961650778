// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "./utils/Test.sol";
import {Vm} from "./utils/Test.sol";
import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketClaims} from "../src/MarketClaims.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {CircuitStore} from "../src/CircuitStore.sol";
import {BatchLeaf} from "../src/BatchLeaf.sol";
import {MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";

/// INVARIANT-SUITE STAND-IN — NOT A HALO2 VERIFIER. The invariant handler needs thousands
/// of cheap proofs, valid and invalid, for arbitrary public inputs, which the real verifier
/// fixture cannot provide (it holds one proof). This stand-in accepts
/// `input ‖ proof` (one public input, a 64-byte proof) when the proof's first word is
/// keccak256 of the input, and reverts otherwise, as a Halo2 verifier does on a bad proof.
/// Like a Halo2 verifier it reads only what it needs and ignores trailing bytes, so it also
/// accepts a longer proof, and two public inputs `input, tag` followed by any 64 bytes (a
/// valid proof shifted by a word): only the market's exact proof length and public-input
/// count (fixed at registration) refuse those. The unit tests (test/Challenges.t.sol) run
/// every verifier path against the real poseidon-chain-12 verifier.
contract InvariantStandInVerifier {
    fallback() external {
        if (msg.data.length < 96 || bytes32(msg.data[32:64]) != keccak256(msg.data[0:32])) revert();
    }
}

/// A verifier that accepts anything: `registerCircuit` must refuse it.
contract AcceptingVerifier {
    fallback() external {}
}

/// A prover's state as the market's `provers` getter returns it (every field of the struct
/// is a value type, so the getter's tuple encodes as the struct).
function proverState(ProverMarket market, address p) view returns (MarketTypes.Prover memory) {
    (bool ok, bytes memory ret) = address(market).staticcall(abi.encodeCall(market.provers, (p)));
    require(ok, "provers getter reverted");
    return abi.decode(ret, (MarketTypes.Prover));
}

/// Drives ProverMarket from three provers, three clients and two watchtowers with bounded
/// random inputs: stakes, deposits, batches (with re-committed and equivocating leaves,
/// invalid proofs, leaves naming an unregistered circuit, with one public input too many or
/// a proof one byte too long, and refused batches: empty, or pricing a leaf beyond 2^128 - 1
/// wei), clients' reservations for provers (reserved and released), claims (one job or
/// several, paid from deposits and reservations; second awards of a job, to another prover), the four challenges and their answers (some with one public
/// input too many; clients buying their jobs' proofs with withheld-proof challenges), finalization, credit withdrawals and circuit registrations the market
/// must refuse. Each action starts at a random actor, batch or challenge and takes the
/// first one it fits (a staked prover to commit, a client with a deposit to withdraw, an
/// open challenge to answer), and returns without calling the market only when none fits;
/// the calls the market must refuse (an unstaked prover committing, a closed window, a
/// challenge no longer open) are still made a fixed share of the time. Every market call
/// goes through try/catch (or a low-level call), so the handler itself never reverts (its
/// ghost variables would be rolled back with it): the handler predicts each outcome from
/// its own model of the market (stakes, deposits, requests, challenges, leaves at risk)
/// and counts any call that did not do what it predicted in `ghost_unexpected`, which an
/// invariant keeps at zero.
///
/// Prover 0 is honest: it commits only proofs that verify, never two different leaves for
/// one job, never a batch after its awards' deadline, accepts (signs) only deadlines it met,
/// and answers every challenge against it within the response window (right after it is
/// opened, or in the window's last block). Provers 1 and 2 do whatever the inputs say.
///
/// Every commit is a direct call of its prover (msg.sender = tx.origin; one dishonest
/// commit in sixteen is not, and is refused), so its input is the transaction's: the
/// handler keeps that input and reads the call's `BatchCommitted` event back
/// (`published`), and the invariants check that each batch was published once, with the
/// root of exactly the leaves of that input, and that `isFinal` holds only for those.
contract MarketHandler is Test {
    ProverMarket internal immutable market;
    uint64 internal immutable challengeWindow;
    uint64 internal immutable responseWindow;
    uint64 internal immutable unbondingDelay;
    uint64 internal immutable depositDelay;
    uint64 internal immutable maxDeadline;
    uint64 internal immutable deadlinePeriod;
    uint256 internal immutable bond;
    uint256 internal immutable minStake;
    uint256 internal immutable slashPerJob;
    uint256 internal immutable rewardBps;
    uint256 internal immutable refundBps;
    bytes32 internal immutable circuit;
    /// The stand-in verifier of `circuit`, another deployment of its code, an account
    /// delegated to it (EIP-7702) and a verifier that accepts anything.
    address internal immutable standIn;
    address internal immutable standInCopy;
    address internal immutable delegatedStandIn;
    address internal immutable acceptingVerifier;
    /// The honest prover (prover 0).
    address public immutable honest;

    /// A circuit id never registered (no registration derives it: ids are keccak256 of a
    /// code hash and two counts): a leaf naming it is invalid whatever its proof.
    bytes32 internal constant UNREGISTERED_CIRCUIT = keccak256("invariant-suite unregistered circuit");
    /// Circuits the handler registered (the stand-in's code with longer samples): their
    /// second registration is refused.
    mapping(bytes32 => bool) internal registeredByHandler;

    /// Kinds of leaves. PLAIN: the stand-in's circuit, one public input, a 64-byte proof
    /// (valid or not). The others are invalid although the stand-in accepts their
    /// `inputs ‖ proof` (when built from a valid proof): UNREGISTERED names
    /// `UNREGISTERED_CIRCUIT`; EXTRA_INPUT has two public inputs, `input, tag`, and the
    /// valid proof shifted by a word; LONG_PROOF has the valid proof and one more byte.
    uint8 internal constant PLAIN = 0;
    uint8 internal constant UNREGISTERED = 1;
    uint8 internal constant EXTRA_INPUT = 2;
    uint8 internal constant LONG_PROOF = 3;

    address[] internal provers;
    address[] internal clients;
    address[] internal watchtowers;
    address[] internal accounts; // all of the above
    mapping(address => uint256) internal keyOf;

    /// The market's `jobKey` (internal: no getter), spelled out.
    function _jobKey(address p, address c, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(p, c, jobId));
    }

    // ---- the model -------------------------------------------------------------------

    /// What the handler expects the market's `provers` entry to hold (the leaves at risk
    /// are derived from the batches instead: `exposureModel`).
    struct ProverModel {
        uint256 stake;
        /// Slashes owed beyond what they could take (`_predictSlash`), burned first from
        /// the unbonding stake a withdrawal takes out.
        uint256 debt;
        uint256 unbonding;
        uint64 unbondableAt;
        uint64 unbondableAfter;
        uint32 slashedJobs;
        bool registered;
    }

    mapping(address => ProverModel) internal model;
    mapping(address => uint256) public ghost_deposits;
    mapping(address => uint256) public ghost_requested;
    mapping(address => uint64) public ghost_withdrawableAt;
    /// Each client's reservation for each prover, and its `until` (the market's
    /// `reservations`): only `reserve` adds to it, only claims of that prover (before the
    /// deposit, as much as it holds) and `release` after `until` take from it.
    mapping(address => mapping(address => uint256)) public ghost_reserved;
    mapping(address => mapping(address => uint64)) public ghost_reservedUntil;

    // ---- ghosts ----------------------------------------------------------------------
    uint256 public ghost_paidIn;
    uint256 public ghost_paidOut;
    uint256 public ghost_burned;
    uint256 public ghost_unexpected;
    string public ghost_lastUnexpected;
    mapping(address => uint256) public ghost_credits;
    /// Times each award was marked paid (a claim by its prover, or its client buying the
    /// proof from its prover with a withheld-proof challenge), and what its prover was
    /// paid for it (a claim: the awarded price; a purchase: the leaf's price, on the
    /// reveal), keyed by `_awardRef(client, prover, nonce)`. The market records paid per
    /// award: the clients here sign an award of a job to every prover that commits a leaf
    /// of it (one price per job), so a job committed by two provers may be paid to each,
    /// once.
    mapping(bytes32 => uint256) public ghost_paymentsOf;
    mapping(bytes32 => uint256) public ghost_paidAmountOf;
    /// Awards whose client bought the proof, and the price it bought it at (the leaf's,
    /// which the client saw: it may differ from the awarded price).
    mapping(bytes32 => bool) public ghost_boughtAward;
    mapping(bytes32 => uint256) public ghost_boughtPriceOf;
    /// Awards of each job paid, to any prover, keyed by `_jobRef(client, nonce)` (to count
    /// how often a job is paid to a second prover).
    mapping(bytes32 => uint256) internal awardsPaidOf;
    /// The price the client awarded each job at, keyed by `_jobRef(client, nonce)` (its
    /// only award price, whichever prover it awards the job to: the client signs no other,
    /// so a leaf committed at another price cannot be claimed).
    mapping(bytes32 => uint256) public ghost_awardedPrice;
    /// The statement each job was awarded for: the public inputs hash of the client's
    /// inputs, under the stand-in's `circuit` (clients award only a registered circuit),
    /// keyed by `_statementRef(client, job id)`. The client signs no other, so a leaf of
    /// another circuit or other public inputs is neither paid nor an answer to a missed
    /// deadline.
    mapping(bytes32 => bytes32) internal awardedInputsHash;
    /// `Slashed` events per job key (prover, client, job id).
    mapping(bytes32 => uint256) public ghost_slashesOf;
    /// The block of each challenger's standing commitment to a challenge input (digest),
    /// as the market's `evidenceCommitments` must hold it: the first commitment stays
    /// until the challenge it commits to is taken.
    mapping(address => mapping(bytes32 => uint256)) internal ghost_evidenceAt;
    /// Open challenge per job key, plus one.
    mapping(bytes32 => uint256) public ghost_pendingOf;
    /// Faults answered per job key, one bit per `Fault` (the market's `answeredFaults`).
    mapping(bytes32 => uint256) public ghost_answeredFaults;
    /// Job keys for which their prover committed at least one leaf whose proof does not
    /// verify.
    mapping(bytes32 => bool) public ghost_hasInvalidLeaf;
    /// Successful calls per handler function, the expected reverts seen per error, and a
    /// few rare paths (coverage), with their names in the order first counted.
    mapping(string => uint256) public calls;
    string[] public counterNames;

    struct JobRef {
        address client;
        uint64 nonce;
    }

    JobRef[] internal jobRefs; // every job committed so far
    mapping(bytes32 => bool) internal knownJob;
    bytes32[] internal jobKeys; // every (prover, job) committed or challenged so far
    mapping(bytes32 => bool) internal knownKey;
    mapping(address => uint64) internal nextNonce;

    struct Committed {
        address prover;
        uint64 blockNumber;
        uint64 timestamp;
        /// The deadline of the awards of all its leaves.
        uint64 deadline;
    }

    /// A committed leaf with what the handler knows about it.
    struct Job {
        MarketTypes.Leaf leaf;
        uint64 nonce;
        uint256 input;
        /// EXTRA_INPUT: the second public input (else 0, and none).
        uint256 extraInput;
        bytes proof;
        /// Whether the market accepts the leaf's public inputs and proof (`checkProof`).
        bool valid;
        uint8 kind;
    }

    Committed[] internal committed; // index = batch id
    mapping(uint256 => Job[]) internal jobsOf; // batch id → its leaves

    /// Two different leaves of one job in batches of one prover.
    struct Pair {
        uint256 batchA;
        uint256 indexA;
        uint256 batchB;
        uint256 indexB;
    }

    Pair[] internal equivocations;

    struct Ch {
        MarketTypes.Fault fault;
        MarketTypes.ChallengeStatus status;
        address prover;
        address client;
        bytes32 jobId;
        address challenger;
        uint64 respondBy;
        /// MissedDeadline: the awarded deadline. WithheldProof: the block of the leaf's
        /// batch (as the market keeps it).
        uint64 deadline;
        uint256 price;
        uint256 batchId;
        uint256 index;
        /// What the challenger sent: `challengeBond`.
        uint256 bond;
        /// WithheldProof: opened by the job's client buying the proof: `price` left its
        /// deposit, for the prover on a reveal (with the bond back to the client), back to
        /// the deposit on a slash or a void.
        bool bought;
    }

    Ch[] internal challenges; // index = challenge id

    /// A slash the handler expects, with the model's state it was predicted from.
    struct Slash {
        address prover;
        address client;
        bytes32 jobId;
        bytes32 key;
        MarketTypes.Fault fault;
        address challenger;
        uint256 price;
        uint256 stake;
        uint256 unbonding;
        /// Whether the job's leaf counts among the prover's leaves at risk (invalid proof,
        /// equivocation, a withheld proof finalized while its leaf still counts): the slash
        /// takes `slashPerJob` (all that is left if less); else it takes only what stake
        /// and unbonding hold beyond the debt and the leaves at risk, and owes the rest.
        bool atRisk;
        uint256 amount;
        uint256 debtAdded;
        uint256 reward;
        uint256 refund;
        uint256 burned;
    }

    /// A slash that happened, as measured: the market's state around the call and its
    /// `Slashed` event, with what the handler knew of the job.
    struct SlashRecord {
        address prover;
        bytes32 key;
        MarketTypes.Fault fault;
        /// InvalidProof: whether the challenged leaf's proof verifies.
        bool leafValid;
        /// Whether this fault had been answered on this job key before.
        bool answeredBefore;
        /// The prover's stake + unbonding just before the call, and how much less it held
        /// just after.
        uint256 available;
        uint256 taken;
        /// The prover's bonded stake and unbonding stake just before the call, and its
        /// bonded stake just after: which of the two the slash took from.
        uint256 stakeBefore;
        uint256 unbondingBefore;
        uint256 stakeAfter;
        /// Whether the slash was of a leaf at risk (as the handler predicted it), the
        /// prover's debt and leaves at risk (`exposure`) just before the call, and how much
        /// its debt grew.
        bool atRisk;
        uint256 debtBefore;
        uint256 leavesAtRisk;
        uint256 debtAdded;
        /// The price the refund is capped at.
        uint256 price;
        uint256 amount;
        uint256 reward;
        uint256 refund;
        uint256 burned;
    }

    SlashRecord[] internal slashRecords;

    /// A successful commit: the leaves at risk and cover the market reports just after it
    /// (`exposure`), and the model's.
    struct CommitRecord {
        address prover;
        uint256 atRisk;
        uint256 covered;
        uint256 modelAtRisk;
        uint256 modelCovered;
    }

    CommitRecord[] internal commitRecords;

    /// A batch as its `BatchCommitted` events published it: how many there were, the last
    /// one's fields, and the arguments of the call that emitted it (the input of its
    /// transaction, less the selector).
    struct Published {
        uint256 events;
        address prover;
        bytes32 root;
        uint32 count;
        bytes input;
    }

    mapping(uint256 => Published) internal published;
    /// `BatchCommitted` events seen, for any batch.
    uint256 public ghost_batchEvents;

    /// A leaf of a refused batch (never published, unless another batch holds it too), with
    /// its path in the tree that batch would have had; the last two.
    struct Phantom {
        MarketTypes.Leaf leaf;
        bytes32[] path;
    }

    Phantom[] internal phantoms;
    uint256 internal phantomsSeen;

    constructor(ProverMarket market_, bytes32 circuit_, address standIn_) {
        market = market_;
        challengeWindow = market_.challengeWindow();
        responseWindow = market_.responseWindow();
        unbondingDelay = market_.unbondingDelay();
        depositDelay = market_.depositWithdrawalDelay();
        maxDeadline = market_.maxDeadline();
        deadlinePeriod = market_.deadlineChallengePeriod();
        bond = market_.challengeBond();
        minStake = market_.minStake();
        slashPerJob = market_.slashPerJob();
        rewardBps = market_.rewardBps();
        refundBps = market_.refundBps();
        circuit = circuit_;
        standIn = standIn_;
        standInCopy = address(new InvariantStandInVerifier());
        delegatedStandIn = makeAddr("delegated stand-in");
        vm.etch(delegatedStandIn, abi.encodePacked(hex"ef0100", standIn_));
        acceptingVerifier = address(new AcceptingVerifier());
        for (uint256 i = 0; i < 3; i++) {
            (address p, uint256 pk) = makeAddrAndKey(string.concat("prover", vm.toString(i)));
            provers.push(p);
            keyOf[p] = pk;
            (address c, uint256 ck) = makeAddrAndKey(string.concat("client", vm.toString(i)));
            clients.push(c);
            keyOf[c] = ck;
            accounts.push(p);
            accounts.push(c);
        }
        for (uint256 i = 0; i < 2; i++) {
            address w = makeAddr(string.concat("watchtower", vm.toString(i)));
            watchtowers.push(w);
            accounts.push(w);
        }
        honest = provers[0];
    }

    // ---- views for the invariants -------------------------------------------------------

    function proverAt(uint256 i) external view returns (address) {
        return provers[i];
    }

    function clientAt(uint256 i) external view returns (address) {
        return clients[i];
    }

    function actorCount() external pure returns (uint256) {
        return 3;
    }

    function accountCount() external view returns (uint256) {
        return accounts.length;
    }

    function accountAt(uint256 i) external view returns (address) {
        return accounts[i];
    }

    function jobCount() external view returns (uint256) {
        return jobRefs.length;
    }

    function jobAt(uint256 i) external view returns (address client, uint64 nonce) {
        return (jobRefs[i].client, jobRefs[i].nonce);
    }

    function jobKeyCount() external view returns (uint256) {
        return jobKeys.length;
    }

    function jobKeyAt(uint256 i) external view returns (bytes32) {
        return jobKeys[i];
    }

    function batchCount() external view returns (uint256) {
        return committed.length;
    }

    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

    /// Challenge `id`'s status, whether it bought the proof, and what the market holds for
    /// it while it is open: its bond, and a bought proof's price.
    function challengeAt(uint256 id)
        external
        view
        returns (MarketTypes.ChallengeStatus status, bool bought, uint256 held)
    {
        Ch storage c = challenges[id];
        return (c.status, c.bought, c.bond + (c.bought ? c.price : 0));
    }

    function modelOf(address p) external view returns (ProverModel memory) {
        return model[p];
    }

    function slashCount() external view returns (uint256) {
        return slashRecords.length;
    }

    function slashAt(uint256 i) external view returns (SlashRecord memory) {
        return slashRecords[i];
    }

    function commitCount() external view returns (uint256) {
        return commitRecords.length;
    }

    function commitAt(uint256 i) external view returns (CommitRecord memory) {
        return commitRecords[i];
    }

    /// Challenges against `p` that are open in the handler's model.
    function openChallengesOf(address p) public view returns (uint32 n) {
        for (uint256 i = 0; i < challenges.length; i++) {
            if (challenges[i].prover == p && challenges[i].status == MarketTypes.ChallengeStatus.Open) n++;
        }
    }

    /// Whether the market must look up `p`'s jobs on claims: a challenge against it is open,
    /// or it was slashed.
    function disputedModel(address p) public view returns (bool) {
        return openChallengesOf(p) != 0 || model[p].slashedJobs != 0;
    }

    /// The leaves of `p` committed in the current epoch of `challengeWindow +
    /// responseWindow + 1` blocks and in the one before, counted from the batches (open
    /// challenges do not count again), and what its bonded stake covers beyond its debt.
    function exposureModel(address p) public view returns (uint256 atRisk, uint256 covered) {
        uint256 epochLength = uint256(challengeWindow) + responseWindow + 1;
        uint256 epoch = block.number / epochLength;
        for (uint256 k = committed.length; k > 0; k--) {
            Committed storage b = committed[k - 1];
            if (b.blockNumber / epochLength + 1 < epoch) break; // batches are in block order
            if (b.prover == p) atRisk += jobsOf[k - 1].length;
        }
        ProverModel storage m = model[p];
        covered = m.stake > m.debt ? (m.stake - m.debt) / slashPerJob : 0;
    }

    /// Batch `id` as it was published, the leaves its transaction's input holds, and for
    /// each whether `isFinal` must hold for it now: its window has closed, its circuit is
    /// registered, and its job is neither slashed nor under challenge (looked up only while
    /// its prover is disputed, as the market does).
    function publishedBatch(uint256 id)
        external
        view
        returns (Published memory pub, MarketTypes.Leaf[] memory leaves, bool[] memory finals)
    {
        pub = published[id];
        leaves = abi.decode(pub.input, (MarketTypes.Leaf[]));
        finals = new bool[](leaves.length);
        Committed storage b = committed[id];
        if (block.number <= b.blockNumber + challengeWindow) return (pub, leaves, finals);
        bool disputed = model[b.prover].slashedJobs != 0 || openChallengesOf(b.prover) != 0;
        for (uint256 i = 0; i < leaves.length; i++) {
            bytes32 key = disputed ? _jobKey(b.prover, leaves[i].client, leaves[i].jobId) : bytes32(0);
            // A leaf of a circuit nobody registered is never final.
            (address verifier,,,,) = market.circuits(leaves[i].circuitId);
            bool registered = verifier != address(0);
            finals[i] = registered && (!disputed || (ghost_slashesOf[key] == 0 && ghost_pendingOf[key] == 0));
        }
    }

    /// The leaves of refused batches kept, with their paths.
    function refusedLeaves() external view returns (MarketTypes.Leaf[] memory leaves, bytes32[][] memory paths) {
        leaves = new MarketTypes.Leaf[](phantoms.length);
        paths = new bytes32[][](phantoms.length);
        for (uint256 i = 0; i < phantoms.length; i++) {
            (leaves[i], paths[i]) = (phantoms[i].leaf, phantoms[i].path);
        }
    }

    /// The client's deposit less a withdrawal request that has not lapsed.
    function freeDepositModel(address c) external view returns (uint256) {
        uint256 balance = ghost_deposits[c];
        uint256 requested = ghost_requested[c];
        if (requested == 0 || block.number >= uint256(ghost_withdrawableAt[c]) + depositDelay) return balance;
        return requested >= balance ? 0 : balance - requested;
    }

    function jobRef(address client, uint64 nonce) external pure returns (bytes32) {
        return _jobRef(client, nonce);
    }

    function awardRef(address client, address prover, uint64 nonce) external pure returns (bytes32) {
        return _awardRef(client, prover, nonce);
    }

    // ---- stake ---------------------------------------------------------------------------

    function register(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _unregistered);
        if (!found) return;
        amount = _bound(amount, minStake, 10 * minStake);
        if (_register(p, amount)) _count("register");
    }

    function addStake(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _registered);
        if (!found) return;
        amount = _bound(amount, 1, 5 ether);
        if (_addStake(p, amount)) _count("addStake");
    }

    /// Unbonds part of a prover's stake; one time in four all of it but less than one slash
    /// (so that what stays can be exhausted by slashes).
    function unbond(uint256 who, uint256 amount) external {
        (address p, bool found) = _first(provers, who, _bonded);
        if (!found) return;
        ProverModel storage m = model[p];
        if ((who >> 128) % 4 == 0) amount = m.stake - amount % (m.stake < slashPerJob ? m.stake : slashPerJob);
        else amount = _bound(amount, 1, m.stake);
        vm.recordLogs();
        vm.prank(p);
        try market.unbond(amount) {
            m.stake -= amount;
            m.unbonding += amount;
            m.unbondableAt = uint64(block.number) + unbondingDelay;
            m.unbondableAfter = uint64(block.timestamp) + maxDeadline + deadlinePeriod + 1;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.UnbondingStarted.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount, m.unbondableAt, m.unbondableAfter))
            ) _unexpected("unbond: wrong UnbondingStarted event");
            _count("unbond");
        } catch {
            _unexpected("unbond reverted");
        }
    }

    /// Withdraws a prover's unbonded stake. Three times in four the chain first rolls to
    /// the block it may be withdrawn from; of those, half of the time the clock also moves
    /// on to the time it may be withdrawn from (`maxDeadline + deadlineChallengePeriod`
    /// after the unbonding) and one time in six to one second before it. Else the delays
    /// are checked as they stand.
    function withdrawStake(uint256 who) external {
        (address p, bool found) = _first(provers, who, _unbonding);
        if (!found) return;
        ProverModel storage m = model[p];
        uint256 mode = (who >> 128) % 8;
        if (mode < 6 && block.number < m.unbondableAt) vm.roll(m.unbondableAt);
        // forge-lint: disable-next-line(block-timestamp)
        if (mode < 3 && block.timestamp < m.unbondableAfter) vm.warp(m.unbondableAfter);
        // forge-lint: disable-next-line(block-timestamp)
        else if (mode == 3 && block.timestamp + 1 < m.unbondableAfter) vm.warp(m.unbondableAfter - 1);
        uint32 open = openChallengesOf(p);
        uint256 amount = m.unbonding;
        // forge-lint: disable-next-line(block-timestamp)
        bool tooSoon = block.timestamp < m.unbondableAfter;
        bytes memory expected;
        if (block.number < m.unbondableAt) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, m.unbondableAt);
        } else if (tooSoon) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, m.unbondableAfter);
        } else if (open != 0) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeOpen.selector, open);
        }
        // The debt is burned first, out of the unbonding stake.
        uint256 owed = m.debt < amount ? m.debt : amount;
        uint256 before = p.balance;
        vm.recordLogs();
        vm.prank(p);
        try market.withdrawStake() {
            if (expected.length != 0) _unexpected("withdrawStake succeeded where it should revert");
            if (p.balance != before + amount - owed) _unexpected("withdrawStake paid a wrong amount");
            _checkWithdrawn(p, amount - owed, owed);
            m.unbonding = 0;
            m.debt -= owed;
            ghost_paidOut += amount - owed;
            ghost_burned += owed;
            if (proverState(market, p).debt != m.debt) _unexpected("withdrawStake left a wrong debt");
            _count(owed == 0 ? "withdrawStake" : "withdrawStake (debt burned)");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawStake");
            if (block.number >= m.unbondableAt && tooSoon) _count("withdrawStake reverted TooEarly (time)");
        }
    }

    /// The call just made emitted exactly `StakeWithdrawn(p, paid, burned)` of the market.
    function _checkWithdrawn(address p, uint256 paid, uint256 burned) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != MarketTypes.StakeWithdrawn.selector) {
                continue;
            }
            n++;
            if (
                logs[i].topics[1] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[i].data) != keccak256(abi.encode(paid, burned))
            ) _unexpected("withdrawStake: wrong StakeWithdrawn event");
        }
        if (n != 1) _unexpected("withdrawStake: not one StakeWithdrawn event");
    }

    // ---- deposits and credits ------------------------------------------------------------

    function deposit(uint256 who, uint256 amount) external {
        address c = clients[who % clients.length];
        amount = _bound(amount, 1, 10 ether);
        _deposit(c, amount);
        _count("deposit");
    }

    function requestDepositWithdrawal(uint256 who, uint256 amount) external {
        (address c, bool found) = _first(clients, who, _hasDeposit);
        if (!found) return;
        amount = _bound(amount, 1, ghost_deposits[c]);
        vm.prank(c);
        try market.requestDepositWithdrawal(amount) {
            ghost_requested[c] = amount;
            ghost_withdrawableAt[c] = uint64(block.number) + depositDelay;
            _count("requestDepositWithdrawal");
        } catch {
            _unexpected("requestDepositWithdrawal reverted");
        }
    }

    /// Withdraws a requested deposit, mostly of a client whose request has not lapsed. Three
    /// times in eight the chain first rolls to the request's first block, one time in eight
    /// to its last, one time in eight to the block it lapses at; else the window is checked.
    function withdrawDeposit(uint256 who) external {
        (address c, bool found) = _first(clients, who, (who >> 136) % 4 == 0 ? _requested : _liveRequest);
        if (!found) (c, found) = _first(clients, who, _requested);
        if (!found) return;
        uint64 at = ghost_withdrawableAt[c];
        uint64 lapsesAt = at + depositDelay;
        uint256 mode = (who >> 128) % 8;
        if (mode < 3 && block.number < at) vm.roll(at);
        else if (mode == 3 && block.number + 1 < lapsesAt) vm.roll(lapsesAt - 1);
        else if (mode == 4 && block.number < lapsesAt) vm.roll(lapsesAt);
        uint256 requested = ghost_requested[c];
        uint256 available = ghost_deposits[c];
        uint256 amount = requested < available ? requested : available;
        bytes memory expected;
        if (block.number < at) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, at);
        } else if (block.number >= lapsesAt) {
            expected = abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsesAt);
        } else if (amount == 0) {
            expected = abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector);
        }
        uint256 before = c.balance;
        vm.prank(c);
        try market.withdrawDeposit() {
            if (expected.length != 0) _unexpected("withdrawDeposit succeeded where it should revert");
            if (c.balance != before + amount) _unexpected("withdrawDeposit paid a wrong amount");
            ghost_requested[c] = 0;
            ghost_deposits[c] -= amount;
            ghost_paidOut += amount;
            _count("withdrawDeposit");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawDeposit");
        }
    }

    /// Withdraws the credits of the first account owed some from `who` on (one time in four,
    /// or when none is owed any, of account `who`, which must fail unless it is owed some).
    function withdrawCredits(uint256 who) external {
        address a = accounts[who % accounts.length];
        if ((who >> 128) % 4 != 0) {
            (address creditor, bool found) = _first(accounts, who, _owed);
            if (found) a = creditor;
        }
        uint256 owed = ghost_credits[a];
        bytes memory expected = owed == 0 ? abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector) : bytes("");
        uint256 before = a.balance;
        vm.prank(a);
        try market.withdrawCredits() {
            if (expected.length != 0) _unexpected("withdrawCredits succeeded with nothing owed");
            if (a.balance != before + owed) _unexpected("withdrawCredits paid a wrong amount");
            ghost_credits[a] = 0;
            ghost_paidOut += owed;
            _count("withdrawCredits");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "withdrawCredits");
        }
    }

    // ---- batches -------------------------------------------------------------------------

    /// Commits from the first staked prover from `who` on (one time in eight, or when none is
    /// staked, from prover `who` itself). Half of the time, that prover is first registered
    /// or staked up if it is not staked (else check the commit fails). A batch holds 1-6
    /// leaves, or (one time in eight) exactly as many as the prover's stake still covers,
    /// or one more (at most 12): the exposure bound is checked at its edge; one batch in 64
    /// is empty. One leaf in four is a job committed before (half of the time from a batch
    /// of this prover if it has one, else from any batch): half of those the same leaf
    /// again, half another leaf for that job (equivocation when the prover is the same).
    /// One plain proof in eight is invalid, and one leaf in 32 of each other kind (see
    /// `_kindOf`). One batch in eight is committed after its awards' deadline, one in
    /// sixteen prices a leaf beyond 2^128 - 1 wei, and one in sixteen is not the prover's
    /// own transaction (`vm.prank(p)` alone: tx.origin is another account). The honest
    /// prover only commits new plain jobs with valid proofs, or copies of its own leaves,
    /// by the deadline, at sane prices, in its own transactions.
    function commitBatch(uint256 who, uint256 size, uint256 seed) external {
        address p = provers[who % provers.length];
        if ((who >> 128) % 8 != 0) {
            (address staked, bool found) = _first(provers, who, _staked);
            if (found) p = staked;
        }
        if ((who >> 136) % 2 == 0) _stakeUp(p);
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        size = _batchSize(who, size, atRisk, covered);
        uint256 r = uint256(keccak256(abi.encode(seed, "batch")));
        if (r % 64 == 0) size = 0;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            (js[i], origin[i]) = _newJob(p, uint256(keccak256(abi.encode(seed, i))));
        }
        if (size != 0 && p != honest && (r >> 8) % 16 == 0) {
            js[(r >> 16) % size].leaf.price = uint256(type(uint128).max) + 1 + (r >> 128);
        }
        uint64 deadline =
            seed % 8 == 0 && p != honest ? uint64(block.timestamp - 1) : uint64(block.timestamp + (seed >> 8) % 1 days);
        _tryCommit(p, js, origin, deadline, p == honest || (r >> 24) % 16 != 0);
    }

    /// Commits a batch of 1-3 leaves of dishonest prover 1 or 2 (staked up first), one of
    /// them a new job whose leaf the market must find invalid although the stand-in accepts
    /// its inputs and proof three times in four (it names an unregistered circuit, has one
    /// public input too many, or a proof one byte too long), and has a watchtower challenge
    /// that leaf at once: half of the time as invalid (a slash), else as withheld, which the
    /// prover cannot answer (its reveal is rejected, one time in two with one public input
    /// too many) and which, half of the time, the watchtower then finalizes (a slash). One
    /// time in four the watchtower challenges the job's deadline instead (`_missBadLeaf`).
    function commitBadLeaf(uint256 who, uint256 seed) external {
        address p = provers[1 + who % 2];
        _stakeUp(p);
        uint256 size = 1 + seed % 3;
        uint256 index = (seed >> 8) % size;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            uint256 r = uint256(keccak256(abi.encode(seed, i, "bad")));
            // forge-lint: disable-next-line(unsafe-typecast)
            if (i == index) js[i] = _freshJob(r, (seed >> 16) % 4 != 0, 1 + uint8((seed >> 24) % 3)); // 1-3
            else (js[i], origin[i]) = _newJob(p, r);
        }
        (bool ok, uint256 id) = _tryCommit(p, js, origin, uint64(block.timestamp + 1 hours), true);
        if (!ok) return;
        address w = watchtowers[(who >> 8) % watchtowers.length];
        if ((seed >> 48) % 4 == 0) return _missBadLeaf(id, index, w, seed >> 56);
        uint256 mode = (seed >> 32) % 4;
        if (mode < 2) return _challengeInvalid(id, index, w, false, EARLIER);
        (bool opened, uint256 challengeId) = _challengeWithheld(id, index, w, 0, EARLIER, BY_WATCHTOWER);
        if (!opened) return;
        bool extra = mode == 3;
        bytes4 err = extra ? MarketTypes.PublicInputsMismatch.selector : MarketTypes.ProofRejected.selector;
        _reveal(challengeId, js[index], extra, abi.encodeWithSelector(err), "revealProof (bad leaf)");
        if ((seed >> 40) % 2 == 0) {
            vm.roll(challenges[challengeId].respondBy + 1);
            _finalize(challengeId);
        }
    }

    /// A dishonest prover (1 or 2, staked up first) fills what its stake covers beyond
    /// its debt with a batch (at most 12 leaves), and a watchtower challenges the missed
    /// deadline of a job it accepted and never committed, due a second ago; nobody answers
    /// and the watchtower finalizes: a slash of a job with no leaf at risk, which takes only
    /// what stake and unbonding hold beyond the debt and the leaves at risk and owes the
    /// rest (what a sybil client draining its prover's stake before its bad leaves are
    /// slashed meets).
    function missedDeadlineAtFullCover(uint256 who, uint256 seed) external {
        address p = provers[1 + who % 2];
        _stakeUp(p);
        _fillCover(p, seed);
        (MarketTypes.Award memory award, address c) = _neverCommitted(p, seed);
        (bool opened, uint256 id) = _challengeMissed(award, c, watchtowers[(who >> 8) % watchtowers.length], EARLIER);
        if (!opened) return;
        vm.roll(challenges[id].respondBy + 1);
        _finalize(id);
        _count("missedDeadlineAtFullCover");
    }

    /// Commits as many new leaves from `p` as its stake still covers (at most 12).
    function _fillCover(address p, uint256 seed) internal {
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        uint256 size = covered > atRisk ? covered - atRisk : 0;
        if (size > 12) size = 12;
        if (size == 0) return;
        Job[] memory js = new Job[](size);
        uint256[] memory origin = new uint256[](size);
        for (uint256 i = 0; i < size; i++) {
            (js[i], origin[i]) = _newJob(p, uint256(keccak256(abi.encode(seed, i, "full"))));
        }
        _tryCommit(p, js, origin, uint64(block.timestamp + 1 hours), true);
    }

    /// An award to `p` of a job never to be committed, due a second ago, and its client.
    function _neverCommitted(address p, uint256 seed) internal returns (MarketTypes.Award memory award, address c) {
        c = clients[(seed >> 8) % clients.length];
        uint64 nonce = nextNonce[c]++;
        award.jobId = market.jobIdOf(c, nonce);
        award.prover = p;
        award.price = _bound(seed >> 64, 0, 1 ether);
        // forge-lint: disable-next-line(unsafe-typecast)
        award.deadline = uint64(block.timestamp) - 1; // timestamps here are around 1.7e9
        award.circuitId = circuit;
        award.publicInputsHash = _inputsHashOf(uint256(keccak256(abi.encode(seed, "full input"))));
        ghost_awardedPrice[_jobRef(c, nonce)] = award.price;
        awardedInputsHash[_statementRef(c, award.jobId)] = award.publicInputsHash;
    }

    /// The deadline of the job of leaf `index` of batch `id` (a bad leaf) passes and `w`
    /// challenges it as missed, with the client's award of the job's own statement. The
    /// prover answers with the leaf it committed in time: a leaf of another statement (an
    /// unregistered circuit, one public input too many) is refused, and half of the time
    /// the watchtower then finalizes (a slash); a leaf of that statement with a proof one
    /// byte too long answers (the deadline was met; the proof is another fault).
    function _missBadLeaf(uint256 id, uint256 index, address w, uint256 seed) internal {
        Committed memory b = committed[id];
        Job memory j = jobsOf[id][index];
        vm.warp(b.deadline + 1);
        (bool opened, uint256 challengeId) = _challengeMissed(
            _awardOf(
                j.leaf.client, j.leaf.jobId, b.prover, ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)], b.deadline
            ),
            j.leaf.client,
            w,
            EARLIER
        );
        if (!opened) return;
        bool ofAwarded =
            _ofAwardedStatement(j.leaf) && j.leaf.price == ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)];
        bytes memory expected = ofAwarded ? bytes("") : abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
        _answerMissed(challengeId, id, index, expected, "answerMissedDeadline (bad leaf)");
        if (!ofAwarded && seed % 2 == 0) {
            vm.roll(challenges[challengeId].respondBy + 1);
            _finalize(challengeId);
        }
    }

    /// Commits the leaves of `js` from `p` (their deadline `deadline`; `origin` as
    /// `_newJob` returns it) in a direct call (msg.sender = tx.origin = `p`) if `direct`,
    /// predicting the outcome from the model, and reads the call's `BatchCommitted` event
    /// back.
    function _tryCommit(address p, Job[] memory js, uint256[] memory origin, uint64 deadline, bool direct)
        internal
        returns (bool ok, uint256 id)
    {
        (uint256 atRisk, uint256 covered) = exposureModel(p);
        bytes memory input = abi.encode(_leavesOf(js));
        bytes memory expected = direct
            ? _commitError(p, _leavesOf(js), atRisk + js.length, covered)
            : abi.encodeWithSelector(MarketTypes.NotDirectCall.selector);
        vm.recordLogs();
        if (direct) vm.prank(p, p);
        // Not `p`'s own transaction: the origin is pinned to the handler, since the fuzzer's
        // sender (the default origin) may be `p` itself.
        else vm.prank(p, address(this));
        (bool success, bytes memory ret) = address(market).call(bytes.concat(MarketClaims.commitBatch.selector, input));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        if (!success) {
            _expectRevert(ret, expected, "commitBatch");
            if (_readPublished(logs, "") != 0) _unexpected("a refused batch was published");
            if (js.length != 0) _phantom(_leavesOf(js), uint256(keccak256(input)) % js.length);
            return (false, 0);
        }
        (ok, id) = (true, abi.decode(ret, (uint256)));
        if (expected.length != 0) _unexpected("commitBatch succeeded where it should revert");
        if (id != committed.length) _unexpected("commitBatch id");
        if (_readPublished(logs, input) != 1) _unexpected("commitBatch: not one BatchCommitted event");
        _committed(p, js, origin, deadline);
        _recordExposure(p, atRisk + js.length, covered);
        _count("commitBatch");
    }

    /// Records the leaves at risk and cover `exposure` reports for `p` after a commit, with
    /// the model's.
    function _recordExposure(address p, uint256 atRisk, uint256 covered) internal {
        (uint256 riskNow, uint256 coveredNow) = market.exposure(p);
        commitRecords.push(CommitRecord(p, riskNow, coveredNow, atRisk, covered));
    }

    /// Books the batch of `js` just committed by `p`.
    function _committed(address p, Job[] memory js, uint256[] memory origin, uint64 deadline) internal {
        uint256 id = committed.length;
        committed.push(
            Committed({
                prover: p, blockNumber: uint64(block.number), timestamp: uint64(block.timestamp), deadline: deadline
            })
        );
        for (uint256 i = 0; i < js.length; i++) {
            jobsOf[id].push(js[i]);
            _know(p, js[i]);
            if (origin[i] != 0) _recordEquivocation(p, id, i, origin[i]);
            if (js[i].kind != PLAIN) _count(string.concat("commitBatch: leaf", _kindName(js[i].kind)));
        }
    }

    /// Books the `BatchCommitted` events among `logs`, emitted by the call whose arguments
    /// were `input`; returns how many there were.
    function _readPublished(Vm.Log[] memory logs, bytes memory input) internal returns (uint256 n) {
        for (uint256 i = 0; i < logs.length; i++) {
            Vm.Log memory log = logs[i];
            if (log.emitter != address(market) || log.topics[0] != MarketTypes.BatchCommitted.selector) continue;
            n++;
            Published storage pub = published[uint256(log.topics[1])];
            pub.events++;
            pub.prover = address(uint160(uint256(log.topics[2])));
            (pub.root, pub.count) = abi.decode(log.data, (bytes32, uint32));
            pub.input = input;
        }
        ghost_batchEvents += n;
    }

    /// Keeps leaf `index` of a refused batch, with its path in that batch's tree (the last
    /// two such leaves).
    function _phantom(MarketTypes.Leaf[] memory leaves, uint256 index) internal {
        Phantom memory ph = Phantom(leaves[index], MerkleBuilder.proof(_hashes(leaves), index));
        if (phantoms.length < 2) phantoms.push(ph);
        else phantoms[phantomsSeen % 2] = ph;
        phantomsSeen++;
    }

    /// 1-6 leaves, or (one time in eight) exactly as many as `covered` leaves at risk leave
    /// room for, or one more (1-12).
    function _batchSize(uint256 who, uint256 size, uint256 atRisk, uint256 covered) internal pure returns (uint256) {
        // From a hash: the fuzzer's inputs are often small numbers, whose high bits are 0.
        uint256 r = uint256(keccak256(abi.encode(who, size)));
        if (r % 8 != 0) return _bound(size, 1, 6);
        size = (covered > atRisk ? covered - atRisk : 0) + (r >> 8) % 2;
        return size == 0 ? 1 : size > 12 ? 12 : size;
    }

    /// The error committing `leaves` from `p` meets (`atRisk`: its leaves at risk with
    /// them), in the order the market checks, or "".
    function _commitError(address p, MarketTypes.Leaf[] memory leaves, uint256 atRisk, uint256 covered)
        internal
        view
        returns (bytes memory)
    {
        ProverModel storage m = model[p];
        if (!m.registered) return abi.encodeWithSelector(MarketTypes.NotRegistered.selector);
        if (m.stake < minStake) return abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, m.stake, minStake);
        if (leaves.length == 0) return abi.encodeWithSelector(MarketTypes.EmptyBatch.selector);
        if (atRisk > covered) return abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, atRisk, covered);
        for (uint256 i = 0; i < leaves.length; i++) {
            if (leaves[i].price > type(uint128).max) {
                return abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, i);
            }
        }
        return "";
    }

    /// A new job, or (one in four) a job committed before, half of the time from a batch of
    /// `p` if it has one; `origin` is (batch id + 1) << 32 | index of the leaf it was taken
    /// from, or 0. The honest prover takes only its own leaves, unchanged, and new plain
    /// jobs with valid proofs.
    function _newJob(address p, uint256 r) internal returns (Job memory j, uint256 origin) {
        bool isHonest = p == honest;
        if (committed.length != 0 && r % 4 == 0) {
            uint256 b = (r >> 8) % committed.length;
            if (isHonest || (r >> 56) % 2 == 0) b = _batchOf(p, b);
            if (!isHonest || committed[b].prover == p) {
                uint256 index = (r >> 16) % jobsOf[b].length;
                j = jobsOf[b][index];
                origin = ((b + 1) << 32) | index;
                if (!isHonest && (r >> 24) % 2 == 0) {
                    // Another leaf for the same job: another proof (maybe of another kind),
                    // maybe another price.
                    _prove(j, r, (r >> 32) % 8 != 0, _kindOf(r >> 64));
                    if ((r >> 40) % 2 == 0) j.leaf.price = _bound(r >> 48, 0, 1 ether);
                }
                return (j, origin);
            }
        }
        j = _freshJob(r, isHonest || (r >> 16) % 8 != 0, isHonest ? PLAIN : _kindOf(r >> 64));
    }

    /// A job never committed, of a client `r` picks, at a price it awards, with a leaf of
    /// `kind` (whose proof, built valid or not, the stand-in accepts when valid).
    function _freshJob(uint256 r, bool valid, uint8 kind) internal returns (Job memory j) {
        address c = clients[(r >> 8) % clients.length];
        j.nonce = nextNonce[c]++;
        j.input = uint256(keccak256(abi.encode(r, "input")));
        j.leaf.jobId = market.jobIdOf(c, j.nonce);
        j.leaf.client = c;
        j.leaf.price = _bound(r >> 32, 0, 1 ether);
        _prove(j, r, valid, kind);
        ghost_awardedPrice[_jobRef(c, j.nonce)] = j.leaf.price;
        // The client's statement: its one input under the registered circuit. A leaf of
        // another kind than PLAIN or LONG_PROOF names another statement.
        awardedInputsHash[_statementRef(c, j.leaf.jobId)] = _inputsHashOf(j.input);
    }

    /// The public inputs hash of the statement with the one public input `input`.
    function _inputsHashOf(uint256 input) internal pure returns (bytes32) {
        return keccak256(abi.encodePacked(input));
    }

    function _statementRef(address c, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(c, jobId));
    }

    /// Whether `l` is a leaf of the statement its job was awarded for.
    function _ofAwardedStatement(MarketTypes.Leaf memory l) internal view returns (bool) {
        return l.circuitId == circuit && l.publicInputsHash == awardedInputsHash[_statementRef(l.client, l.jobId)];
    }

    /// The award of job `jobId` of client `c` to `p` at `price`, due at `deadline`, for the
    /// statement the client awarded the job for.
    function _awardOf(address c, bytes32 jobId, address p, uint256 price, uint64 deadline)
        internal
        view
        returns (MarketTypes.Award memory)
    {
        return MarketTypes.Award({
            jobId: jobId,
            prover: p,
            price: price,
            deadline: deadline,
            circuitId: circuit,
            publicInputsHash: awardedInputsHash[_statementRef(c, jobId)]
        });
    }

    /// One leaf in 32 names an unregistered circuit, one in 32 has one public input too
    /// many, one in 32 a proof one byte too long; the rest are plain.
    function _kindOf(uint256 r) internal pure returns (uint8) {
        r %= 32;
        return r == 0 ? UNREGISTERED : r == 1 ? EXTRA_INPUT : r == 2 ? LONG_PROOF : PLAIN;
    }

    function _kindName(uint8 kind) internal pure returns (string memory) {
        if (kind == UNREGISTERED) return " (unregistered circuit)";
        if (kind == EXTRA_INPUT) return " (one input too many)";
        if (kind == LONG_PROOF) return " (proof too long)";
        return "";
    }

    /// Gives `j` (its input set) a leaf of `kind`: circuit, public inputs and a stand-in
    /// proof (see InvariantStandInVerifier) built from the valid proof `tag ‖ salt` if
    /// `valid`, else from `~tag ‖ salt`. Only a plain leaf built valid is valid.
    function _prove(Job memory j, uint256 salt, bool valid, uint8 kind) internal view {
        bytes32 tag = keccak256(abi.encode(j.input));
        bytes32 first = valid ? tag : ~tag;
        j.kind = kind;
        j.leaf.circuitId = kind == UNREGISTERED ? UNREGISTERED_CIRCUIT : circuit;
        j.extraInput = 0;
        if (kind == EXTRA_INPUT) {
            // `input, first` and `salt ‖ salt`: the proof shifted by a word.
            j.extraInput = uint256(first);
            j.proof = abi.encode(salt, salt);
        } else if (kind == LONG_PROOF) {
            j.proof = abi.encodePacked(first, salt, uint8(0));
        } else {
            j.proof = abi.encode(first, salt);
        }
        j.valid = valid && kind == PLAIN;
        j.leaf.publicInputsHash = keccak256(abi.encodePacked(_inputsOf(j, false)));
        j.leaf.proofHash = keccak256(j.proof);
    }

    /// The public inputs of `j`'s leaf, and if `extra` one more: `tag`, with which
    /// `inputs ‖ proof` of a valid plain leaf starts as the stand-in accepts (`input ‖ tag
    /// ‖ ...`), so only the market's input count refuses it.
    function _inputsOf(Job memory j, bool extra) internal pure returns (uint256[] memory inputs) {
        uint256 n = j.kind == EXTRA_INPUT ? 2 : 1;
        inputs = new uint256[](extra ? n + 1 : n);
        inputs[0] = j.input;
        if (n == 2) inputs[1] = j.extraInput;
        if (extra) inputs[n] = uint256(keccak256(abi.encode(j.input)));
    }

    /// The first batch of `p` from batch `start` on (wrapping around), else `start`.
    function _batchOf(address p, uint256 start) internal view returns (uint256) {
        for (uint256 k = 0; k < committed.length; k++) {
            uint256 b = (start + k) % committed.length;
            if (committed[b].prover == p) return b;
        }
        return start;
    }

    function _know(address p, Job memory j) internal {
        bytes32 ref = _jobRef(j.leaf.client, j.nonce);
        if (!knownJob[ref]) {
            knownJob[ref] = true;
            jobRefs.push(JobRef(j.leaf.client, j.nonce));
        }
        bytes32 key = _jobKey(p, j.leaf.client, j.leaf.jobId);
        _knowKey(key);
        if (!j.valid) ghost_hasInvalidLeaf[key] = true;
    }

    function _knowKey(bytes32 key) internal {
        if (!knownKey[key]) {
            knownKey[key] = true;
            jobKeys.push(key);
        }
    }

    function _recordEquivocation(address p, uint256 id, uint256 i, uint256 origin) internal {
        uint256 b = (origin >> 32) - 1;
        uint256 index = origin & 0xffffffff;
        if (committed[b].prover != p) return;
        if (_leafHash(jobsOf[b][index].leaf) == _leafHash(jobsOf[id][i].leaf)) return; // a plain copy
        equivocations.push(Pair(b, index, id, i));
    }

    // ---- claims --------------------------------------------------------------------------

    /// Claims one job of a batch alone: `claimBatch` with one job, the only way to claim.
    /// One time in four, a job whose award to the batch's prover is unpaid and whose client
    /// holds a reservation for that prover, if there is one; one time in eight, a job
    /// whose award to the batch's prover is unpaid while its award to another prover was
    /// paid (a second award of the job, paid too), if there is one.
    function claim(uint256 batchSeed, uint256 leafSeed) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        uint256[] memory picked = new uint256[](1);
        picked[0] = leafSeed % jobsOf[id].length;
        uint256 r = uint256(keccak256(abi.encode(leafSeed, "claim")));
        if (r % 4 == 0) (id, picked[0],) = _reservedJob(id, picked[0]);
        else if (r % 8 == 1) (id, picked[0]) = _secondAward(id, picked[0]);
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        Job memory j = js[picked[0]];

        uint64 closesAt = b.blockNumber + challengeWindow;
        if (block.number <= closesAt) {
            // A quarter of the time, check the window is enforced; else wait for it to close.
            if (leafSeed % 4 == 0) {
                _tryClaim(id, b, js, picked, abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt), "claim");
                return;
            }
            vm.roll(closesAt + 1);
        }
        // A quarter of the time, top up the deposit to the whole price; a quarter of the
        // time to exactly what the client's reservation for the prover leaves of it (the
        // price split, the deposit emptied); else leave it (the claim may fail).
        uint256 topUp = (r >> 8) % 4;
        if (topUp == 0) _topUp(j.leaf.client, j.leaf.price);
        else if (topUp == 1) _topUp(j.leaf.client, _beyondReserved(j.leaf.client, b.prover, j.leaf.price));
        if (!_ofAwardedStatement(j.leaf)) _count("claim: leaf of another statement");
        _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim");
    }

    /// Claims a random subset of a batch's jobs (sometimes one twice) in one call; one time
    /// in four, if there is one, every unpaid job of a batch of one client that holds a
    /// reservation for the batch's prover (so that the reservation pays the first jobs and
    /// the deposit, if need be, the rest).
    function claimBatch(uint256 batchSeed, uint256 mask) external {
        if (committed.length == 0) return;
        uint256 id = batchSeed % committed.length;
        uint256 r = uint256(keccak256(abi.encode(mask, "claimBatch")));
        uint256[] memory picked;
        bool found;
        if (r % 4 == 0) {
            uint256 index;
            (id, index, found) = _reservedJob(id, 0);
            if (found) picked = _unpaidOf(id, jobsOf[id][index].leaf.client);
        }
        Committed memory b = committed[id];
        Job[] memory js = jobsOf[id];
        if (!found) picked = _subset(js.length, mask);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number <= closesAt) {
            if (mask % 4 == 0) expected = abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt);
            else vm.roll(closesAt + 1);
        }
        if (expected.length == 0) {
            // One time in four, top up each client's deposit to what its jobs cost; one time
            // in four to exactly what its reservation for the prover leaves of that (the
            // reservation pays the first jobs, the deposit the rest, and both end empty);
            // one time in four to half of what its jobs cost; else leave it.
            _topUpFor(b.prover, js, picked, (r >> 8) % 4);
            expected = _batchPayError(b, js, picked);
        }
        _tryClaim(id, b, js, picked, expected, "claimBatch");
    }

    /// A client's second award of a job, to another prover: dishonest prover 1 or 2 (staked
    /// up first) commits a copy of a leaf of another prover's batch (of a job whose award
    /// to another prover was paid, if there is one), which its client awarded it too. One
    /// time in four the client buys the proof from it at once; else, after its window, the
    /// prover claims it with the client's award (the deposit topped up to the price), and
    /// half of the time claims it again. Paid is recorded per award (client, prover,
    /// nonce): the second award is paid as the first was, once (`AlreadyClaimed` again).
    function secondAward(uint256 who, uint256 seed) external {
        if (committed.length == 0) return;
        address p = provers[1 + who % 2];
        // From a hash: the fuzzer's inputs are often small numbers, whose high bits are 0.
        seed = uint256(keccak256(abi.encode(seed, "secondAward")));
        (uint256 from, uint256 index, bool found) = _copyFor(p, seed);
        if (!found) return;
        _stakeUp(p);
        Job[] memory js = new Job[](1);
        js[0] = jobsOf[from][index];
        (bool ok, uint256 id) = _tryCommit(p, js, new uint256[](1), uint64(block.timestamp + 1 hours), true);
        if (!ok) return;
        if ((seed >> 8) % 4 == 0) {
            _challengeWithheld(id, 0, watchtowers[who % watchtowers.length], seed >> 16, EARLIER, BY_CLIENT_BUYING);
            return;
        }
        Committed memory b = committed[id];
        vm.roll(b.blockNumber + challengeWindow + 1);
        _topUp(js[0].leaf.client, js[0].leaf.price);
        uint256[] memory picked = new uint256[](1);
        _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim (a second award)");
        if ((seed >> 12) % 2 == 0) {
            _tryClaim(id, b, js, picked, _batchPayError(b, js, picked), "claim (a second award, again)");
        }
    }

    /// A leaf, from batch `seed % batches` on, of a batch of another prover than `p`: the
    /// first of a job whose award to that prover was paid and whose award to `p` was not,
    /// else the first of a job whose award to `p` was not paid, else the first found; none
    /// if every batch is `p`'s.
    function _copyFor(address p, uint256 seed) internal view returns (uint256 id, uint256 index, bool found) {
        uint256 n = committed.length;
        bool unpaid;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (seed % n + k) % n;
            if (committed[b].prover == p) continue;
            for (uint256 i = 0; i < jobsOf[b].length; i++) {
                (bool paidToIts, bool paidToP) = _paidTo(b, i, p);
                if (paidToIts && !paidToP) return (b, i, true);
                if (!found || (!paidToP && !unpaid)) (id, index, found, unpaid) = (b, i, true, !paidToP);
            }
        }
    }

    /// Whether the award of the job of leaf `i` of batch `b` to the batch's prover was
    /// paid, and whether its award to `p` was.
    function _paidTo(uint256 b, uint256 i, address p) internal view returns (bool paidToIts, bool paidToP) {
        Job storage j = jobsOf[b][i];
        paidToIts = ghost_paymentsOf[_awardRef(j.leaf.client, committed[b].prover, j.nonce)] != 0;
        paidToP = ghost_paymentsOf[_awardRef(j.leaf.client, p, j.nonce)] != 0;
    }

    /// Tops up the deposit of each client of jobs `picked` (claimed by `p`) as `claimBatch`
    /// says: `mode` 0 to what its jobs cost, 1 to what its reservation for `p` leaves of
    /// that, 2 to half of what they cost, 3 not at all.
    function _topUpFor(address p, Job[] memory js, uint256[] memory picked, uint256 mode) internal {
        if (mode == 3) return;
        for (uint256 k = 0; k < picked.length; k++) {
            address c = js[picked[k]].leaf.client;
            uint256 sum = _sumFor(js, picked, c);
            if (mode == 0) _topUp(c, sum);
            else if (mode == 1) _topUp(c, _beyondReserved(c, p, sum));
            else _topUp(c, sum / 2);
        }
    }

    /// Claims jobs `picked` of batch `id` in one call as its prover, each with its client's
    /// award (at the price and for the statement it awarded), expecting `expected` (""
    /// for success). On success books each price, in order, as the market must take it:
    /// from the client's reservation for the batch's prover first, as much as it holds,
    /// and the rest from the client's deposit; and checks every deposit and every
    /// reservation for that prover.
    function _tryClaim(
        uint256 id,
        Committed memory b,
        Job[] memory js,
        uint256[] memory picked,
        bytes memory expected,
        string memory what
    ) internal {
        (MarketTypes.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total) = _batchClaims(b, js, picked);
        uint256 proverBefore = b.prover.balance;
        vm.prank(b.prover);
        try market.claimBatch(id, hashes, cs) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            if (b.prover.balance != proverBefore + total) _unexpected(string.concat(what, " paid a wrong amount"));
            (uint256 fromReservation, uint256 split) = _bookPaid(b.prover, js, picked, what);
            for (uint256 c = 0; c < clients.length; c++) {
                if (market.deposits(clients[c]) != ghost_deposits[clients[c]]) {
                    _unexpected(string.concat(what, " took a wrong amount"));
                }
                (uint128 reserved,) = market.reservations(clients[c], b.prover);
                if (reserved != ghost_reserved[clients[c]][b.prover]) {
                    _unexpected(string.concat(what, " took a wrong amount from a reservation"));
                }
            }
            ghost_paidOut += total;
            _count(what);
            if (fromReservation != 0) _count(string.concat(what, ": paid from a reservation"));
            if (fromReservation != 0 && fromReservation != picked.length) {
                _count(string.concat(what, ": paid from a deposit and a reservation"));
            }
            if (split != 0) _count(string.concat(what, ": a price split between a reservation and a deposit"));
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// Books jobs `picked`, paid to `p`, in order (`_book`); returns how many the
    /// reservation paid (part of), and how many it and the deposit split.
    function _bookPaid(address p, Job[] memory js, uint256[] memory picked, string memory what)
        internal
        returns (uint256 fromReservation, uint256 split)
    {
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            bytes32 ref = _awardRef(j.leaf.client, p, j.nonce);
            if (!_ofAwardedStatement(j.leaf)) {
                _unexpected(string.concat(what, " paid a leaf of another statement"));
            }
            ghost_paymentsOf[ref]++;
            ghost_paidAmountOf[ref] += j.leaf.price;
            _paidAward(j.leaf.client, j.nonce, what);
            (bool reserved, bool deposited) = _book(j.leaf.client, p, j.leaf.price, what);
            if (reserved) fromReservation++;
            if (reserved && deposited) split++;
        }
    }

    /// The first job, from batch `id` on, whose award to its batch's prover is unpaid and
    /// whose client holds a reservation for that prover, or (`id`, `index`) if there is
    /// none.
    function _reservedJob(uint256 id, uint256 index) internal view returns (uint256, uint256, bool) {
        uint256 n = committed.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (id + k) % n;
            Job[] storage js = jobsOf[b];
            for (uint256 i = 0; i < js.length; i++) {
                address c = js[i].leaf.client;
                address p = committed[b].prover;
                if (ghost_reserved[c][p] != 0 && ghost_paymentsOf[_awardRef(c, p, js[i].nonce)] == 0) {
                    return (b, i, true);
                }
            }
        }
        return (id, index, false);
    }

    /// The first job, from batch `id` on, whose award to its batch's prover is unpaid while
    /// an award of it to another prover was paid, or (`id`, `index`) if there is none.
    function _secondAward(uint256 id, uint256 index) internal returns (uint256, uint256) {
        uint256 n = committed.length;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (id + k) % n;
            Job[] storage js = jobsOf[b];
            for (uint256 i = 0; i < js.length; i++) {
                address c = js[i].leaf.client;
                uint64 nonce = js[i].nonce;
                if (
                    awardsPaidOf[_jobRef(c, nonce)] != 0
                        && ghost_paymentsOf[_awardRef(c, committed[b].prover, nonce)] == 0
                ) {
                    _count("claim: the second award of a job, paid to another prover before");
                    return (b, i);
                }
            }
        }
        return (id, index);
    }

    /// The indices of the jobs of client `c` in batch `id` whose award to the batch's
    /// prover is unpaid.
    function _unpaidOf(uint256 id, address c) internal view returns (uint256[] memory picked) {
        Job[] storage js = jobsOf[id];
        address p = committed[id].prover;
        picked = new uint256[](js.length);
        uint256 n;
        for (uint256 i = 0; i < js.length; i++) {
            if (js[i].leaf.client == c && ghost_paymentsOf[_awardRef(c, p, js[i].nonce)] == 0) picked[n++] = i;
        }
        assembly ("memory-safe") {
            mstore(picked, n)
        }
    }

    /// Books the price of a job of client `c` paid to prover `p` as the market takes it:
    /// from the reservation for `p` first, as much as it holds, and the rest from the
    /// deposit; returns whether the reservation paid part of it and whether the deposit
    /// did.
    function _book(address c, address p, uint256 price, string memory what)
        internal
        returns (bool reserved, bool deposited)
    {
        uint256 fromReservation = _min(ghost_reserved[c][p], price);
        uint256 rest = price - fromReservation;
        if (ghost_deposits[c] < rest) {
            _unexpected(string.concat(what, " paid a job that the reservation and the deposit do not cover"));
            return (false, false);
        }
        ghost_reserved[c][p] -= fromReservation;
        ghost_deposits[c] -= rest;
        return (fromReservation != 0, rest != 0);
    }

    /// What of `amount` the client `c`'s reservation for `p` does not cover.
    function _beyondReserved(address c, address p, uint256 amount) internal view returns (uint256) {
        uint256 reserved = ghost_reserved[c][p];
        return amount > reserved ? amount - reserved : 0;
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    /// The indices whose bit is set in `mask`; one time in eight the first one twice.
    function _subset(uint256 n, uint256 mask) internal pure returns (uint256[] memory picked) {
        uint256 count;
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> (8 + i)) & 1 == 1) count++;
        }
        bool twice = count != 0 && (mask >> 64) % 8 == 0;
        picked = new uint256[](twice ? count + 1 : count);
        uint256 k;
        for (uint256 i = 0; i < n; i++) {
            if ((mask >> (8 + i)) & 1 == 1) picked[k++] = i;
        }
        if (twice) picked[k] = picked[0];
    }

    function _sumFor(Job[] memory js, uint256[] memory picked, address c) internal pure returns (uint256 sum) {
        for (uint256 k = 0; k < picked.length; k++) {
            if (js[picked[k]].leaf.client == c) sum += js[picked[k]].leaf.price;
        }
    }

    /// The claims of jobs `picked`, each with its client's award (at the price and for the
    /// statement it awarded, which the market checks against the leaf's through the
    /// signature).
    function _batchClaims(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (MarketTypes.BatchClaim[] memory cs, bytes32[] memory hashes, uint256 total)
    {
        hashes = _hashes(_leavesOf(js));
        cs = new MarketTypes.BatchClaim[](picked.length);
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            MarketTypes.Award memory award = _awardOf(
                j.leaf.client, j.leaf.jobId, b.prover, ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)], b.deadline
            );
            (bytes32 r, bytes32 vs) = vm.signCompact(keyOf[j.leaf.client], market.awardDigest(award));
            cs[k] = MarketTypes.BatchClaim({
                // forge-lint: disable-next-line(unsafe-typecast)
                index: uint32(picked[k]), // batches hold at most 12 leaves here
                nonce: j.nonce,
                deadline: b.deadline,
                client: j.leaf.client,
                price: j.leaf.price,
                circuitId: j.leaf.circuitId,
                publicInputsHash: j.leaf.publicInputsHash,
                proofHash: j.leaf.proofHash,
                r: r,
                vs: vs
            });
            hashes[picked[k]] = bytes32(0);
            total += j.leaf.price;
        }
    }

    /// The first error the jobs `picked` of a batch meet, in the order the market checks
    /// them, or "". Each price comes from what is left of its client's reservation for the
    /// batch's prover first, as much as that holds, and the rest from what is left of its
    /// client's deposit.
    function _batchPayError(Committed memory b, Job[] memory js, uint256[] memory picked)
        internal
        view
        returns (bytes memory)
    {
        uint256[] memory spent = new uint256[](clients.length);
        uint256[] memory spentReserved = new uint256[](clients.length);
        for (uint256 k = 0; k < picked.length; k++) {
            Job memory j = js[picked[k]];
            if (j.leaf.price != ghost_awardedPrice[_jobRef(j.leaf.client, j.nonce)] || !_ofAwardedStatement(j.leaf)) {
                // The client signed its award at another price, or for another statement,
                // than the leaf's.
                return abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
            }
            uint256 c = _clientIndex(j.leaf.client);
            bool paidNow;
            for (uint256 e = 0; e < k; e++) {
                // The same job earlier in this call (the same leaf, or another leaf for it):
                // the same award, to the batch's prover.
                Job memory earlier = js[picked[e]];
                if (earlier.leaf.client == j.leaf.client && earlier.nonce == j.nonce) paidNow = true;
            }
            uint256 available = ghost_deposits[j.leaf.client] - spent[c];
            uint256 reserved = ghost_reserved[j.leaf.client][b.prover] - spentReserved[c];
            bytes memory err = _payError(b, j, available, reserved, paidNow);
            if (err.length != 0) return err;
            uint256 fromReservation = _min(reserved, j.leaf.price);
            spentReserved[c] += fromReservation;
            spent[c] += j.leaf.price - fromReservation;
        }
        return "";
    }

    /// The first error paying job `j` of batch `b` meets (`available`: the client's deposit
    /// left; `reserved`: its reservation for the batch's prover left), in the order the
    /// market checks, or "".
    function _payError(Committed memory b, Job memory j, uint256 available, uint256 reserved, bool paidNow)
        internal
        view
        returns (bytes memory)
    {
        if (b.timestamp > b.deadline) {
            return abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, b.deadline);
        }
        if (disputedModel(b.prover)) {
            bytes32 key = _jobKey(b.prover, j.leaf.client, j.leaf.jobId);
            if (ghost_slashesOf[key] != 0) {
                return abi.encodeWithSelector(MarketTypes.JobSlashed.selector, j.leaf.jobId);
            }
            uint256 pending = ghost_pendingOf[key];
            if (pending != 0) return abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending - 1);
        }
        if (paidNow || ghost_paymentsOf[_awardRef(j.leaf.client, b.prover, j.nonce)] != 0) {
            return abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, j.leaf.jobId);
        }
        if (available < j.leaf.price - _min(reserved, j.leaf.price)) {
            return abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, available + reserved, j.leaf.price);
        }
        return "";
    }

    // ---- reservations ----------------------------------------------------------------------

    /// A client reserves part of its deposit for a prover, until a time from now to four
    /// hours on, or the reservation's current `until` if that is later. Three times in four
    /// the pair is one that claims meet: the prover of a committed batch and the client of
    /// one of its leaves. One time in eight it reserves nothing (only the time may move),
    /// one time in four all of its deposit (so that later claims fall to the reservation),
    /// one time in eight it keeps exactly the current `until`; one time in eight it asks
    /// for more than its deposit, and one time in eight for an `until` earlier than a
    /// reservation's (the first one from this pair on that has one): both refused.
    function reserve(uint256 who, uint256 amount, uint256 until) external {
        uint256 r = uint256(keccak256(abi.encode(who, "reserve")));
        uint256 mode = (r >> 128) % 8;
        (address c, address p) = _reservationPair(r, mode == 3);
        uint256 balance = ghost_deposits[c];
        uint64 current = ghost_reservedUntil[c][p];
        if (mode == 0) amount = 0;
        else if (mode == 1) amount = balance + _bound(amount, 1, 1 ether);
        else if (mode == 4 || mode == 5) amount = balance;
        else amount = _bound(amount, 0, balance);
        uint64 u = uint64(block.timestamp + _bound(until, 0, 4 hours));
        if (u < current) u = current;
        if (mode == 2) u = current;
        else if (mode == 3 && current != 0) u = uint64(_bound(until, 0, current - 1));
        bytes memory expected;
        if (u < current) {
            expected = abi.encodeWithSelector(MarketTypes.ReservationShortened.selector, current);
        } else if (amount > balance) {
            expected = abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, balance, amount);
        }
        vm.recordLogs();
        vm.prank(c);
        try market.reserve(p, amount, u) {
            if (expected.length != 0) _unexpected("reserve succeeded where it should revert");
            ghost_deposits[c] -= amount;
            ghost_reserved[c][p] += amount;
            ghost_reservedUntil[c][p] = u;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.Reserved.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(c)))
                    || logs[0].topics[2] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount, ghost_reserved[c][p], u))
            ) _unexpected("reserve: wrong Reserved event");
            if (market.deposits(c) != ghost_deposits[c]) _unexpected("reserve took a wrong amount");
            _count(amount == 0 ? "reserve (nothing)" : "reserve");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "reserve");
        }
    }

    /// The (client, prover) pair `reserve` acts on (see there); with `dated`, the first
    /// pair from it on whose reservation has an `until`, if any.
    function _reservationPair(uint256 r, bool dated) internal view returns (address c, address p) {
        c = clients[r % clients.length];
        p = provers[(r >> 64) % provers.length];
        if (committed.length != 0 && (r >> 192) % 4 != 0) {
            uint256 id = (r >> 8) % committed.length;
            p = committed[id].prover;
            c = jobsOf[id][(r >> 16) % jobsOf[id].length].leaf.client;
        }
        if (!dated || ghost_reservedUntil[c][p] != 0) return (c, p);
        uint256 n = clients.length * provers.length;
        uint256 from = _clientIndex(c) * provers.length + _proverIndex(p);
        for (uint256 k = 1; k < n; k++) {
            uint256 i = (from + k) % n;
            (address c2, address p2) = (clients[i / provers.length], provers[i % provers.length]);
            if (ghost_reservedUntil[c2][p2] != 0) return (c2, p2);
        }
    }

    function _proverIndex(address p) internal view returns (uint256) {
        for (uint256 i = 0; i < provers.length; i++) {
            if (provers[i] == p) return i;
        }
        revert("unknown prover");
    }

    /// A client takes back its reservation for a prover: the first reservation, from `who`
    /// on, that holds something (one time in eight, or when none does, any). Three times in
    /// eight the clock first moves past its `until`, one time in eight exactly to it (too
    /// early); else the time is checked as it stands.
    function release(uint256 who) external {
        uint256 r = uint256(keccak256(abi.encode(who, "release")));
        uint256 n = clients.length * provers.length;
        uint256 pick = r % n;
        if ((r >> 136) % 8 != 0) {
            for (uint256 k = 0; k < n; k++) {
                uint256 i = (r % n + k) % n;
                if (ghost_reserved[clients[i / provers.length]][provers[i % provers.length]] != 0) {
                    pick = i;
                    break;
                }
            }
        }
        address c = clients[pick / provers.length];
        address p = provers[pick % provers.length];
        uint64 until = ghost_reservedUntil[c][p];
        uint256 mode = (r >> 128) % 8;
        // forge-lint: disable-next-line(block-timestamp)
        if (mode < 3 && block.timestamp <= until) vm.warp(uint256(until) + 1);
        // forge-lint: disable-next-line(block-timestamp)
        else if (mode == 3 && block.timestamp < until) vm.warp(until);
        uint256 amount = ghost_reserved[c][p];
        bytes memory expected;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= until) {
            expected = abi.encodeWithSelector(MarketTypes.TooEarly.selector, until);
        } else if (amount == 0) {
            expected = abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector);
        }
        uint256 before = c.balance;
        vm.recordLogs();
        vm.prank(c);
        try market.release(p) {
            if (expected.length != 0) _unexpected("release succeeded where it should revert");
            ghost_reserved[c][p] = 0;
            ghost_deposits[c] += amount;
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (
                logs.length != 1 || logs[0].topics[0] != MarketTypes.ReservationReleased.selector
                    || logs[0].topics[1] != bytes32(uint256(uint160(c)))
                    || logs[0].topics[2] != bytes32(uint256(uint160(p)))
                    || keccak256(logs[0].data) != keccak256(abi.encode(amount))
            ) _unexpected("release: wrong ReservationReleased event");
            if (c.balance != before) _unexpected("release sent ether");
            if (market.deposits(c) != ghost_deposits[c]) _unexpected("release returned a wrong amount");
            _count("release");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "release");
        }
    }

    // ---- challenges decided at once --------------------------------------------------------

    /// Challenges a leaf of a batch whose window is open, mostly, as invalid; one time in
    /// four with one public input too many.
    function challengeInvalidProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        uint256 id = _pickBatch(batchSeed);
        if (block.number > committed[id].blockNumber + challengeWindow && leafSeed % 4 != 0) return; // mostly open
        address w = watchtowers[who % watchtowers.length];
        bool extra = uint256(keccak256(abi.encode(leafSeed, "extra"))) % 4 == 0;
        _challengeInvalid(id, leafSeed % jobsOf[id].length, w, extra, _evidenceMode(who));
    }

    /// Challenges leaf `index` of batch `id` as invalid, with its public inputs and proof
    /// (and one public input too many if `extra`), after checking that `checkProof` decides
    /// them as the challenge will, and refuses them with one public input too many. `w`
    /// commits to the challenge's input as `evidence` says (`_evidence`).
    function _challengeInvalid(uint256 id, uint256 index, address w, bool extra, uint8 evidence) internal {
        Committed memory b = committed[id];
        Job memory j = jobsOf[id][index];
        bytes32 key = _jobKey(b.prover, j.leaf.client, j.leaf.jobId);
        if (market.checkProof(j.leaf.circuitId, _inputsOf(j, false), j.proof) != j.valid) {
            _unexpected("checkProof decided otherwise");
        }
        if (market.checkProof(j.leaf.circuitId, _inputsOf(j, true), j.proof)) {
            _unexpected("checkProof accepted one public input too many");
        } else if (j.valid) {
            _count("checkProof refused one input too many");
        }
        uint256[] memory inputs = _inputsOf(j, extra);

        uint64 closesAt = b.blockNumber + challengeWindow;
        bytes memory expected;
        if (block.number > closesAt) {
            expected = abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
        } else if (extra) {
            expected = abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector);
        } else if (ghost_slashesOf[key] != 0) {
            expected = abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, j.leaf.jobId);
        }
        Slash memory s =
            _predictSlash(b.prover, j.leaf.client, j.leaf.jobId, j.leaf.price, MarketTypes.Fault.InvalidProof, w, true);
        MarketTypes.Inclusion memory at = _inclusion(id, index);
        bytes32 digest;
        (expected, digest) =
            _evidence(w, abi.encodeCall(market.challengeInvalidProof, (at, inputs, j.proof)), evidence, expected);

        vm.deal(w, bond);
        uint256 available = _beforeSlash(b.prover);
        vm.prank(w);
        try market.challengeInvalidProof{value: bond}(at, inputs, j.proof) {
            if (expected.length != 0) _unexpected("challengeInvalidProof succeeded where it should revert");
            _evidenceTaken(w, digest);
            ghost_paidIn += bond;
            // Whether it slashes is measured (the `Slashed` events); `j.valid` predicts it.
            _afterSlash(s, !j.valid, available, j.valid);
            if (j.valid) {
                ghost_credits[b.prover] += bond;
                _count("challengeInvalidProof (false challenge)");
            } else {
                ghost_credits[w] += bond;
                _count(string.concat("challengeInvalidProof (slash)", _kindName(j.kind)));
            }
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeInvalidProof");
        }
    }

    function challengeEquivocation(uint256 seed, uint256 who) external {
        if (equivocations.length == 0) return;
        Pair memory e = equivocations[_pickPair(seed)];
        if ((seed >> 128) % 2 == 0) {
            (e.batchA, e.indexA, e.batchB, e.indexB) = (e.batchB, e.indexB, e.batchA, e.indexA);
        }
        address w = watchtowers[who % watchtowers.length];
        bytes memory expected;
        Slash memory s;
        {
            Committed memory a = committed[e.batchA];
            Committed memory b = committed[e.batchB];
            MarketTypes.Leaf memory la = jobsOf[e.batchA][e.indexA].leaf;
            MarketTypes.Leaf memory lb = jobsOf[e.batchB][e.indexB].leaf;
            bytes32 key = _jobKey(a.prover, la.client, la.jobId);

            uint64 closesAt = (a.blockNumber > b.blockNumber ? a.blockNumber : b.blockNumber) + challengeWindow;
            if (block.number > closesAt) {
                if (seed % 4 != 0) return;
                expected = abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
            } else if (ghost_slashesOf[key] != 0) {
                expected = abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, la.jobId);
            }
            uint256 price = la.price < lb.price ? la.price : lb.price;
            s = _predictSlash(a.prover, la.client, la.jobId, price, MarketTypes.Fault.Equivocation, w, true);
        }
        _challengeEquivocation(e, w, expected, s, _evidenceMode(who));
    }

    /// `w` proves the equivocation `e`, committing to the challenge's input as `evidence`
    /// says (`_evidence`), and expects `expected`, or else the slash `s`.
    function _challengeEquivocation(Pair memory e, address w, bytes memory expected, Slash memory s, uint8 evidence)
        internal
    {
        MarketTypes.Inclusion memory atA = _inclusion(e.batchA, e.indexA);
        MarketTypes.Inclusion memory atB = _inclusion(e.batchB, e.indexB);
        bytes32 digest;
        (expected, digest) = _evidence(w, abi.encodeCall(market.challengeEquivocation, (atA, atB)), evidence, expected);

        uint256 available = _beforeSlash(s.prover);
        vm.prank(w);
        try market.challengeEquivocation(atA, atB) {
            if (expected.length != 0) _unexpected("challengeEquivocation succeeded where it should revert");
            _evidenceTaken(w, digest);
            _afterSlash(s, true, available, false);
            _count("challengeEquivocation");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeEquivocation");
        }
    }

    // ---- challenges that wait for an answer ------------------------------------------------

    /// Challenges a withheld proof: of a leaf of a batch whose window is open, mostly, or
    /// (one time in eight) of the leaf of a withheld-proof challenge answered before; as
    /// `_withheldMode` picks the challenger, the nonce it names and its bond.
    function challengeWithheldProof(uint256 batchSeed, uint256 leafSeed, uint256 who) external {
        if (committed.length == 0) return;
        (uint256 id, uint256 index) = _withheldTarget(batchSeed, leafSeed);
        if (block.number > committed[id].blockNumber + challengeWindow && leafSeed % 4 != 0) return;
        _challengeWithheld(
            id,
            index,
            watchtowers[who % watchtowers.length],
            leafSeed >> 128,
            _evidenceMode(who),
            _withheldMode(uint256(keccak256(abi.encode(who, "withheld"))))
        );
    }

    /// Who challenges a withheld proof, naming which nonce and showing which award, with
    /// what bond (always `challengeBond` but for WITH_A_WRONG_BOND): a watchtower naming
    /// any nonce, no signature (a plain challenge), mostly; the job's client naming the
    /// job's nonce and showing its signed award of the leaf to the batch's prover, which
    /// buys the proof (the leaf's price from its reservation for the batch's prover first,
    /// then its deposit, as a claim would take it; refused, `AlreadyClaimed`, once that
    /// award is paid, `InsufficientDeposit` when the two fall short); the job's client
    /// not buying (BY_CLIENT_NOT_BUYING: its valid award with another job's nonce, or a
    /// signature of its award to another prover, `BadAwardSignature`; or no signature,
    /// plain); a watchtower naming the job's nonce and showing the client's valid award
    /// (plain: only the client buys); the job's client buying with another bond than
    /// `challengeBond` (the leaf's price, or one wei more than the bond: `WrongBond`).
    uint8 internal constant BY_WATCHTOWER = 0;
    uint8 internal constant BY_CLIENT_BUYING = 1;
    uint8 internal constant BY_CLIENT_NOT_BUYING = 2;
    uint8 internal constant BY_WATCHTOWER_WITH_THE_AWARD = 3;
    uint8 internal constant WITH_A_WRONG_BOND = 4;

    /// Half of the time BY_WATCHTOWER; else one of the others, BY_CLIENT_BUYING three times
    /// as often as each of them.
    function _withheldMode(uint256 r) internal pure returns (uint8) {
        r %= 12;
        if (r < 6) return BY_WATCHTOWER;
        if (r < 9) return BY_CLIENT_BUYING;
        if (r < 10) return BY_CLIENT_NOT_BUYING;
        if (r < 11) return BY_WATCHTOWER_WITH_THE_AWARD;
        return WITH_A_WRONG_BOND;
    }

    /// The arguments of a withheld-proof challenge of leaf `index` of batch `id` in `mode`
    /// (`w`: the watchtower; `seed` picks a watchtower's nonce and how the client does not
    /// buy): its sender, the nonce it names, the award deadline and ERC-2098 signature it
    /// shows (`r` zero: none), the bond it sends, whether it buys the proof (its sender is
    /// the job's client showing its valid award of the leaf to the batch's prover with the
    /// job's nonce), whether the award it shows is refused (`BadAwardSignature`: the client
    /// showing a signature of another award or another job's nonce), and the error the
    /// bond meets ("" if none).
    struct WithheldCall {
        address from;
        uint64 nonce;
        uint64 deadline;
        bytes32 r;
        bytes32 vs;
        uint256 value;
        bool buys;
        bool badAward;
        bytes err;
    }

    function _withheldCall(uint256 id, uint256 index, address w, uint8 mode, uint256 seed)
        internal
        view
        returns (WithheldCall memory call)
    {
        Job memory j = jobsOf[id][index];
        call.value = bond;
        if (mode == BY_WATCHTOWER) {
            // forge-lint: disable-next-line(unsafe-typecast)
            (call.from, call.nonce) = (w, uint64(seed >> 64)); // any nonce
            return call;
        }
        // The client's award of the leaf to the batch's prover, as it signs it.
        call.deadline = uint64(block.timestamp + 1 hours);
        address awardedTo = committed[id].prover;
        call.nonce = j.nonce;
        if (mode == BY_WATCHTOWER_WITH_THE_AWARD) {
            call.from = w;
        } else if (mode == BY_CLIENT_NOT_BUYING) {
            call.from = j.leaf.client;
            uint256 how = (seed >> 32) % 3;
            // Nonces here stay far below 2^64 - 1.
            if (how == 0) (call.nonce, call.badAward) = (j.nonce + 1, true);
            else if (how == 1) (awardedTo, call.badAward) = (w, true);
            else return call; // no signature: plain
        } else {
            (call.from, call.buys) = (j.leaf.client, true);
            if (mode == WITH_A_WRONG_BOND) {
                call.value = j.leaf.price != bond ? j.leaf.price : bond + 1;
                call.err = abi.encodeWithSelector(MarketTypes.WrongBond.selector, bond, call.value);
            }
        }
        MarketTypes.Leaf memory l = j.leaf;
        MarketTypes.Award memory award = MarketTypes.Award({
            jobId: l.jobId,
            prover: awardedTo,
            price: l.price,
            deadline: call.deadline,
            circuitId: l.circuitId,
            publicInputsHash: l.publicInputsHash
        });
        (call.r, call.vs) = vm.signCompact(keyOf[l.client], market.awardDigest(award));
    }

    /// Challenges leaf `index` of batch `id` as withheld, as `mode` says (`_withheldCall`;
    /// `w` the watchtower); the honest prover reveals its proof at once (`_honestReveal`,
    /// with `seed`). The challenger commits to the challenge's input as `evidence` says
    /// (`_evidence`). A client buying the proof has its deposit first topped up to the price
    /// half of the time, one time in four moved whole into its reservation for the batch's
    /// prover (which pays the purchase first, as it would that prover's claim), else
    /// left as it is (it may be short).
    function _challengeWithheld(uint256 id, uint256 index, address w, uint256 seed, uint8 evidence, uint8 mode)
        internal
        returns (bool opened, uint256 challengeId)
    {
        WithheldCall memory call = _withheldCall(id, index, w, mode, seed);
        MarketTypes.Inclusion memory at = _inclusion(id, index);
        // A call buys exactly when its sender is the job's client showing a signature
        // (checked: its award of the leaf to the batch's prover, with the job's own nonce).
        if (call.buys != (call.from == at.leaf.client && call.r != 0 && !call.badAward)) {
            _unexpected("handler: a purchase mispredicted");
        }
        if (mode == BY_CLIENT_BUYING) {
            uint256 funding = (seed >> 8) % 4;
            if (funding < 2) _topUp(at.leaf.client, at.leaf.price);
            else if (funding == 2) _reserveAll(at.leaf.client, committed[id].prover);
        }
        bytes32 key = _jobKey(committed[id].prover, at.leaf.client, at.leaf.jobId);
        bytes memory expected = _withheldError(id, key, at.leaf, call);
        bytes32 digest;
        (expected, digest) = _evidence(
            call.from,
            abi.encodeCall(market.challengeWithheldProof, (at, call.nonce, call.deadline, call.r, call.vs)),
            evidence,
            expected
        );
        vm.deal(call.from, call.value);
        vm.prank(call.from);
        try market.challengeWithheldProof{value: call.value}(at, call.nonce, call.deadline, call.r, call.vs) returns (
            uint256 id_
        ) {
            (opened, challengeId) = (true, id_);
            if (expected.length != 0) _unexpected("challengeWithheldProof succeeded where it should revert");
            _evidenceTaken(call.from, digest);
            if (challengeId != challenges.length) _unexpected("challenge id");
            ghost_paidIn += call.value;
            if (call.buys) _bought(id, index);
            _openedWithheld(id, index, call, key);
            if (committed[id].prover == honest) _honestReveal(challengeId, seed);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeWithheldProof");
            if ((call.buys || call.badAward) && !_fundsOfJobAsBooked(id, index)) {
                _unexpected("a refused purchase took a price");
            }
        }
    }

    /// Client `c` moves its whole deposit into its reservation for `p` (a reservation pays
    /// `p`'s claims, and the client's purchases from `p`, before the deposit), keeping the
    /// reservation's `until` or making it now.
    function _reserveAll(address c, address p) internal {
        uint256 amount = ghost_deposits[c];
        uint64 until = ghost_reservedUntil[c][p];
        // forge-lint: disable-next-line(block-timestamp)
        if (until < block.timestamp) until = uint64(block.timestamp);
        vm.prank(c);
        try market.reserve(p, amount, until) {
            ghost_deposits[c] = 0;
            ghost_reserved[c][p] += amount;
            ghost_reservedUntil[c][p] = until;
            _count("reserve (the whole deposit, before a purchase)");
        } catch {
            _unexpected("reserve reverted");
        }
    }

    /// Books the purchase of the proof of leaf `index` of batch `id` just opened: the award
    /// of the job to the batch's prover is marked paid and its price left the client's
    /// reservation for that prover first, as much as it holds, and the rest its deposit
    /// (`_book`, as for a claim).
    function _bought(uint256 id, uint256 index) internal {
        Job storage j = jobsOf[id][index];
        address p = committed[id].prover;
        bytes32 ref = _awardRef(j.leaf.client, p, j.nonce);
        (bool fromReservation,) = _book(j.leaf.client, p, j.leaf.price, "challengeWithheldProof (buying)");
        if (fromReservation) _count("challengeWithheldProof (buying): paid from a reservation");
        ghost_paymentsOf[ref]++;
        ghost_boughtPriceOf[ref] = j.leaf.price;
        ghost_boughtAward[ref] = true;
        _paidAward(j.leaf.client, j.nonce, "challengeWithheldProof (buying)");
        if (!_fundsAsBooked(j.leaf.client, p)) _unexpected("challengeWithheldProof took a wrong price");
        if (!market.isPaid(j.leaf.client, p, j.nonce)) _unexpected("a bought award not marked paid");
    }

    /// Whether the deposit of the client of leaf `index` of batch `id`, and its reservation
    /// for the batch's prover, are what the handler booked.
    function _fundsOfJobAsBooked(uint256 id, uint256 index) internal view returns (bool) {
        return _fundsAsBooked(jobsOf[id][index].leaf.client, committed[id].prover);
    }

    /// Whether client `c`'s deposit and its reservation for `p` are what the handler booked.
    function _fundsAsBooked(address c, address p) internal view returns (bool) {
        (uint128 reserved,) = market.reservations(c, p);
        return market.deposits(c) == ghost_deposits[c] && reserved == ghost_reserved[c][p];
    }

    /// Counts an award of job `nonce` of client `c` just paid (`what` paid it), and when
    /// another award of the job, to another prover, was paid before.
    function _paidAward(address c, uint64 nonce, string memory what) internal {
        if (awardsPaidOf[_jobRef(c, nonce)]++ != 0) {
            _count(string.concat(what, ": a job paid before to another prover"));
        }
    }

    /// The error a withheld-proof challenge `call` of `leaf`, of batch `id` (job key `key`),
    /// meets, in the order the market checks (the bond, the window, the job's state, then
    /// the purchase: the award refused, the batch committed after its deadline, the award
    /// already paid, the reservation for the prover and the deposit short of the price),
    /// before its evidence.
    function _withheldError(uint256 id, bytes32 key, MarketTypes.Leaf memory leaf, WithheldCall memory call)
        internal
        view
        returns (bytes memory)
    {
        if (call.err.length != 0) return call.err;
        uint64 closesAt = committed[id].blockNumber + challengeWindow;
        if (block.number > closesAt) return abi.encodeWithSelector(MarketTypes.WindowClosed.selector, closesAt);
        bytes memory err = _openError(key, leaf.jobId, MarketTypes.Fault.WithheldProof);
        if (err.length != 0) return err;
        if (call.badAward) return abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        if (!call.buys) return err;
        return _purchaseError(committed[id], leaf, call);
    }

    /// The error the purchase `call` of `leaf`, of batch `b`, meets once its award is
    /// checked, or "": it is paid as a claim would be (posted by the award's deadline, the
    /// award not paid yet, the price from the reservation for the prover first, then the
    /// deposit).
    function _purchaseError(Committed memory b, MarketTypes.Leaf memory leaf, WithheldCall memory call)
        internal
        view
        returns (bytes memory)
    {
        if (b.timestamp > call.deadline) {
            return abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, call.deadline);
        }
        if (ghost_paymentsOf[_awardRef(leaf.client, b.prover, call.nonce)] != 0) {
            return abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaf.jobId);
        }
        uint256 available = ghost_deposits[leaf.client];
        uint256 reserved = ghost_reserved[leaf.client][b.prover];
        if (available < leaf.price - _min(reserved, leaf.price)) {
            return abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, available + reserved, leaf.price);
        }
        return "";
    }

    /// Books the withheld-proof challenge `call` opened on leaf `index` of batch `id`.
    function _openedWithheld(uint256 id, uint256 index, WithheldCall memory call, bytes32 key) internal {
        Job storage j = jobsOf[id][index];
        _opened(
            Ch({
                fault: MarketTypes.Fault.WithheldProof,
                status: MarketTypes.ChallengeStatus.Open,
                prover: committed[id].prover,
                client: j.leaf.client,
                jobId: j.leaf.jobId,
                challenger: call.from,
                respondBy: uint64(block.number) + responseWindow,
                deadline: committed[id].blockNumber,
                price: j.leaf.price,
                batchId: id,
                index: index,
                bond: call.value,
                bought: call.buys
            }),
            key
        );
        _count(string.concat("challengeWithheldProof", _kindName(j.kind)));
        if (call.buys) _count("challengeWithheldProof (the client buying the proof)");
        else if (call.from == j.leaf.client) _count("challengeWithheldProof (the client, no signature: plain)");
        else if (call.r != 0) _count("challengeWithheldProof (another account showing the client's award)");
    }

    function _withheldTarget(uint256 batchSeed, uint256 leafSeed) internal view returns (uint256 id, uint256 index) {
        (bool again, uint256 answered) = _pickAnswered(batchSeed >> 128, MarketTypes.Fault.WithheldProof);
        if (again) return (challenges[answered].batchId, challenges[answered].index);
        id = _pickBatch(batchSeed);
        index = leafSeed % jobsOf[id].length;
    }

    /// Reveals the committed proof of a withheld-proof challenge (an open one in its window,
    /// mostly); one time in four with one public input too many.
    function revealProof(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickChallenge(seed, MarketTypes.Fault.WithheldProof);
        Ch memory c = challenges[id];
        bool extra = uint256(keccak256(abi.encode(seed, "extra"))) % 4 == 0;
        Job memory j;
        bytes memory expected;
        if (c.fault != MarketTypes.Fault.WithheldProof) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id);
            j.proof = new bytes(64);
        } else {
            j = jobsOf[c.batchId][c.index];
            if (c.status != MarketTypes.ChallengeStatus.Open) {
                expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
            } else if (block.number > c.respondBy) {
                expected = abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, c.respondBy);
            } else if (extra) {
                expected = abi.encodeWithSelector(MarketTypes.PublicInputsMismatch.selector);
            } else if (!j.valid) {
                expected = abi.encodeWithSelector(MarketTypes.ProofRejected.selector);
            }
        }
        _reveal(id, j, extra, expected, string.concat("revealProof", _kindName(j.kind)));
    }

    function _reveal(uint256 id, Job memory j, bool extra, bytes memory expected, string memory what) internal {
        try market.revealProof(id, _inputsOf(j, extra), j.proof) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            _answered(id);
            _count(what);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// The honest prover answers withheld-proof challenge `id` at once, or (one time in
    /// four) in the last block of its response window.
    function _honestReveal(uint256 id, uint256 seed) internal {
        Ch memory c = challenges[id];
        if (seed % 4 == 0) vm.roll(c.respondBy);
        _reveal(id, jobsOf[c.batchId][c.index], false, "", "revealProof (honest)");
    }

    /// Challenges a missed deadline of prover `p`: mostly for a job `p` committed (deadline
    /// at its batch's time, one second before or after it, the batch's award deadline, or
    /// now; sometimes with the clock moved to the last second the challenge may be opened,
    /// or one past it), else for a job never committed (deadline now, a few seconds ago,
    /// `deadlineChallengePeriod` ago or one second more; half of the time of a prover
    /// holding less than one slash if there is one). The honest prover signs only
    /// deadlines it met: for it, only jobs it committed, and never one second before.
    function challengeMissedDeadline(uint256 proverSeed, uint256 jobSeed, uint256 who) external {
        {
            (bool again, uint256 answered) = _pickAnswered(proverSeed >> 128, MarketTypes.Fault.MissedDeadline);
            if (again) {
                return _challengeMissedAgain(
                    answered, watchtowers[who % watchtowers.length], jobSeed >> 128, _evidenceMode(who)
                );
            }
        }
        address p = provers[proverSeed % provers.length];
        (bool found, uint256 batchId, uint256 index) = _missedLeaf(p, jobSeed);
        if ((jobSeed >> 136) % 2 == 0) {
            // A prover holding less than one slash, for a job never committed: its slash
            // takes all it has left.
            (address poor, bool any) = _first(provers, proverSeed, _belowOneSlash);
            if (any) (p, found) = (poor, false);
        }
        if (p == honest && !found) return;
        (MarketTypes.Award memory award, address c) = _missedAward(p, found, batchId, index, jobSeed);
        (bool opened, uint256 challengeId) =
            _challengeMissed(award, c, watchtowers[who % watchtowers.length], _evidenceMode(who));
        if (opened && p == honest) _honestAnswer(challengeId, batchId, index, jobSeed >> 128);
    }

    /// Challenges the award of missed-deadline challenge `answered`, answered before, again.
    function _challengeMissedAgain(uint256 answered, address w, uint256 seed, uint8 evidence) internal {
        Ch memory a = challenges[answered];
        (bool opened, uint256 id) =
            _challengeMissed(_awardOf(a.client, a.jobId, a.prover, a.price, a.deadline), a.client, w, evidence);
        if (opened && a.prover == honest) {
            (uint256 batchId, uint256 index) = _metBy(a);
            _honestAnswer(id, batchId, index, seed);
        }
    }

    /// `w` challenges the missed deadline of `award` of client `c`, committing to the
    /// challenge's input as `evidence` says (`_evidence`).
    function _challengeMissed(MarketTypes.Award memory award, address c, address w, uint8 evidence)
        internal
        returns (bool opened, uint256 challengeId)
    {
        bytes memory expected = _missedError(award, c);
        (bytes memory awardSig, MarketTypes.Acceptance memory acc, bytes memory accSig) = _signMissed(award, c);
        bytes32 digest;
        (expected, digest) = _evidence(w, _missedCall(acc, accSig, award, awardSig), evidence, expected);
        vm.deal(w, bond);
        vm.prank(w);
        try market.challengeMissedDeadline{value: bond}(acc, accSig, award, awardSig) returns (uint256 id) {
            if (expected.length != 0) _unexpected("challengeMissedDeadline succeeded where it should revert");
            _evidenceTaken(w, digest);
            if (id != challenges.length) _unexpected("challenge id");
            ghost_paidIn += bond;
            _openedMissed(award, c, w);
            return (true, id);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "challengeMissedDeadline");
        }
    }

    /// Books a missed-deadline challenge of `w` on `award` of client `c`.
    function _openedMissed(MarketTypes.Award memory award, address c, address w) internal {
        _opened(
            Ch({
                fault: MarketTypes.Fault.MissedDeadline,
                status: MarketTypes.ChallengeStatus.Open,
                prover: award.prover,
                client: c,
                jobId: award.jobId,
                challenger: w,
                respondBy: uint64(block.number) + responseWindow,
                deadline: award.deadline,
                price: award.price,
                batchId: 0,
                index: 0,
                bond: bond,
                bought: false
            }),
            _jobKey(award.prover, c, award.jobId)
        );
        _count("challengeMissedDeadline");
    }

    /// The input of the missed-deadline challenge with these arguments.
    function _missedCall(
        MarketTypes.Acceptance memory acc,
        bytes memory accSig,
        MarketTypes.Award memory award,
        bytes memory awardSig
    ) internal view returns (bytes memory) {
        return abi.encodeCall(market.challengeMissedDeadline, (acc, accSig, award, awardSig));
    }

    /// The error a missed-deadline challenge with `award` of client `c` meets, in the
    /// order the market checks, or "".
    function _missedError(MarketTypes.Award memory award, address c) internal returns (bytes memory) {
        bytes32 key = _jobKey(award.prover, c, award.jobId);
        _knowKey(key);
        uint64 closesAt = award.deadline + deadlinePeriod;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= award.deadline) {
            return abi.encodeWithSelector(MarketTypes.DeadlineNotPassed.selector, award.deadline);
        }
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > closesAt) {
            return abi.encodeWithSelector(MarketTypes.ChallengePeriodOver.selector, closesAt);
        }
        if (!model[award.prover].registered) return abi.encodeWithSelector(MarketTypes.NotRegistered.selector);
        return _openError(key, award.jobId, MarketTypes.Fault.MissedDeadline);
    }

    /// A leaf of a batch of `p` that `jobSeed` picks, if `jobSeed` asks for a committed job
    /// (three times in four) and `p` has a batch: mostly from a batch whose time is at most
    /// `deadlineChallengePeriod` ago (its deadlines can still be challenged).
    function _missedLeaf(address p, uint256 jobSeed) internal view returns (bool found, uint256 id, uint256 index) {
        uint256 n = committed.length;
        if (jobSeed % 4 == 0 || n == 0) return (false, 0, 0);
        uint256 start = (jobSeed >> 16) % n;
        bool anyAge = (jobSeed >> 24) % 4 == 0;
        for (uint256 k = 0; k < n; k++) {
            uint256 b = (start + k) % n;
            if (committed[b].prover != p) continue;
            if (!found) (found, id) = (true, b);
            // forge-lint: disable-next-line(block-timestamp)
            if (anyAge || committed[b].timestamp + deadlinePeriod >= block.timestamp) {
                (found, id) = (true, b);
                break;
            }
        }
        if (found) index = (jobSeed >> 32) % jobsOf[id].length;
    }

    /// The award (and its client) of a missed-deadline challenge (see
    /// `challengeMissedDeadline`); moves the clock for the options that test the period's
    /// end.
    function _missedAward(address p, bool found, uint256 id, uint256 index, uint256 jobSeed)
        internal
        returns (MarketTypes.Award memory award, address c)
    {
        uint256 option = (jobSeed >> 8) % 8;
        award.prover = p;
        award.circuitId = circuit;
        if (found) {
            Job storage j = jobsOf[id][index];
            c = j.leaf.client;
            award.jobId = j.leaf.jobId;
            award.price = ghost_awardedPrice[_jobRef(c, j.nonce)];
            uint64 t = committed[id].timestamp;
            if (option == 0 || option >= 5 || (option == 1 && p == honest)) award.deadline = t;
            else if (option == 1) award.deadline = t - 1;
            else if (option == 2) award.deadline = uint64(block.timestamp);
            else if (option == 3) award.deadline = t + 1;
            else award.deadline = committed[id].deadline;
            award.publicInputsHash = awardedInputsHash[_statementRef(c, award.jobId)];
            // forge-lint: disable-next-line(block-timestamp)
            if (option == 5 && block.timestamp < t + deadlinePeriod) vm.warp(t + deadlinePeriod);
            // forge-lint: disable-next-line(block-timestamp)
            if (option == 6 && block.timestamp <= t + deadlinePeriod) vm.warp(t + deadlinePeriod + 1);
        } else {
            c = clients[(jobSeed >> 32) % clients.length];
            uint64 nonce = nextNonce[c]++; // never to be committed
            award.jobId = market.jobIdOf(c, nonce);
            award.price = _bound(jobSeed >> 64, 0, 1 ether);
            ghost_awardedPrice[_jobRef(c, nonce)] = award.price;
            award.publicInputsHash = _inputsHashOf(uint256(keccak256(abi.encode(jobSeed, "input"))));
            awardedInputsHash[_statementRef(c, award.jobId)] = award.publicInputsHash;
            // casting to uint64 is safe because timestamps here are around 1.7e9
            // forge-lint: disable-next-line(unsafe-typecast)
            uint64 now_ = uint64(block.timestamp);
            if (option == 0) award.deadline = now_;
            else if (option == 1) award.deadline = now_ - deadlinePeriod;
            else if (option == 2) award.deadline = now_ - deadlinePeriod - 1;
            // forge-lint: disable-next-line(unsafe-typecast)
            else award.deadline = now_ - uint64(option) + 2; // option < 8
        }
    }

    function _signMissed(MarketTypes.Award memory award, address c)
        internal
        view
        returns (bytes memory awardSig, MarketTypes.Acceptance memory acc, bytes memory accSig)
    {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[c], market.awardDigest(award));
        awardSig = abi.encodePacked(r, s, v);
        acc = MarketTypes.Acceptance({
            jobId: award.jobId,
            client: c,
            inputHash: keccak256("inputs"),
            price: award.price,
            deadline: award.deadline,
            circuitId: award.circuitId,
            publicInputsHash: award.publicInputsHash
        });
        (v, r, s) = vm.sign(keyOf[award.prover], market.acceptanceDigest(acc));
        accSig = abi.encodePacked(r, s, v);
    }

    /// Answers a missed-deadline challenge with a batch of its prover holding the job's
    /// leaf if there is one, else with another leaf or another prover's batch.
    function answerMissedDeadline(uint256 seed, uint256 pick) external {
        if (challenges.length == 0 || committed.length == 0) return;
        uint256 id = _pickChallenge(seed, MarketTypes.Fault.MissedDeadline);
        Ch memory c = challenges[id];
        (uint256 batchId, uint256 index) = _answerFor(c, pick);
        Committed memory b = committed[batchId];
        MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;

        bytes memory expected;
        if (c.fault != MarketTypes.Fault.MissedDeadline) {
            if (seed % 4 != 0) return;
            expected = abi.encodeWithSelector(MarketTypes.WrongChallenge.selector, id);
        } else if (c.status != MarketTypes.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
        } else if (block.number > c.respondBy) {
            expected = abi.encodeWithSelector(MarketTypes.ResponseWindowClosed.selector, c.respondBy);
        } else if (b.prover != c.prover) {
            expected = abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, b.prover, c.prover);
        } else if (b.timestamp > c.deadline) {
            expected = abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, b.timestamp, c.deadline);
        } else if (l.jobId != c.jobId || l.client != c.client) {
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
        } else if (!_ofAwardedStatement(l)) {
            // The job's leaf, of another statement than the awarded one: no delivery.
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
            _count("answerMissedDeadline: leaf of another statement");
        } else if (l.price != c.price) {
            // At another price than the award's: no claim could pay it, no delivery.
            expected = abi.encodeWithSelector(MarketTypes.LeafMismatch.selector);
            _count("answerMissedDeadline: leaf at another price");
        }
        _answerMissed(id, batchId, index, expected, "answerMissedDeadline");
    }

    function _answerMissed(uint256 id, uint256 batchId, uint256 index, bytes memory expected, string memory what)
        internal
    {
        MarketTypes.Inclusion memory at = _inclusion(batchId, index);
        try market.answerMissedDeadline(id, at) {
            if (expected.length != 0) _unexpected(string.concat(what, " succeeded where it should revert"));
            _answered(id);
            _count(what);
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, what);
        }
    }

    /// The honest prover answers missed-deadline challenge `id` at once, or (one time in
    /// four) in the last block of its response window, with the leaf the award was for (in
    /// a batch it committed by that deadline).
    function _honestAnswer(uint256 id, uint256 batchId, uint256 index, uint256 seed) internal {
        if (seed % 4 == 0) vm.roll(challenges[id].respondBy);
        _answerMissed(id, batchId, index, "", "answerMissedDeadline (honest)");
    }

    /// A leaf of missed-deadline challenge `c`'s job and awarded statement in a batch of its
    /// prover committed by the deadline (the first such; the honest prover's challenges
    /// always have one).
    function _metBy(Ch memory c) internal view returns (uint256 batchId, uint256 index) {
        for (batchId = 0; batchId < committed.length; batchId++) {
            if (committed[batchId].prover != c.prover || committed[batchId].timestamp > c.deadline) continue;
            for (index = 0; index < jobsOf[batchId].length; index++) {
                MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;
                if (l.jobId == c.jobId && l.client == c.client && _ofAwardedStatement(l) && l.price == c.price) {
                    return (batchId, index);
                }
            }
        }
        revert("no batch met the deadline");
    }

    /// A leaf of challenge `c`'s job in a batch of its prover if any (one time in eight, any
    /// leaf of any batch instead).
    function _answerFor(Ch memory c, uint256 pick) internal view returns (uint256 batchId, uint256 index) {
        uint256 start = pick % committed.length;
        if ((pick >> 128) % 8 != 0) {
            for (uint256 k = 0; k < committed.length; k++) {
                batchId = (start + k) % committed.length;
                if (committed[batchId].prover != c.prover) continue;
                for (index = 0; index < jobsOf[batchId].length; index++) {
                    MarketTypes.Leaf memory l = jobsOf[batchId][index].leaf;
                    if (l.jobId == c.jobId && l.client == c.client) return (batchId, index);
                }
            }
        }
        batchId = start;
        index = (pick >> 64) % jobsOf[batchId].length;
    }

    /// Finalizes an open challenge, mostly; half of the time after rolling past its
    /// response window (else check the window holds).
    function finalizeChallenge(uint256 seed) external {
        if (challenges.length == 0) return;
        uint256 id = _pickOpen(seed);
        Ch memory c = challenges[id];
        if (c.status == MarketTypes.ChallengeStatus.Open && block.number <= c.respondBy && (seed >> 128) % 2 == 0) {
            vm.roll(c.respondBy + 1);
        }
        _finalize(id);
    }

    function _finalize(uint256 id) internal {
        Ch memory c = challenges[id];
        bytes32 key = _jobKey(c.prover, c.client, c.jobId);
        bool void = ghost_slashesOf[key] != 0;
        bytes memory expected;
        if (c.status != MarketTypes.ChallengeStatus.Open) {
            expected = abi.encodeWithSelector(MarketTypes.ChallengeNotOpen.selector, id);
        } else if (block.number <= c.respondBy) {
            expected = abi.encodeWithSelector(MarketTypes.ResponseWindowOpen.selector, c.respondBy);
        }
        // A withheld proof's leaf counts at risk until the end of the epoch after its
        // batch's; a missed deadline's job has no leaf.
        bool atRisk = c.fault == MarketTypes.Fault.WithheldProof && _stillAtRisk(c.deadline);
        // The rule the epochs of `challengeWindow + responseWindow + 1` blocks keep: a
        // withheld proof finalized as soon as it can be (opened at the latest in the last
        // block of its window) is of a leaf still at risk.
        if (c.fault == MarketTypes.Fault.WithheldProof && block.number == c.respondBy + 1 && !atRisk) {
            _unexpected("a prompt finalization of a withheld proof is of a leaf no longer at risk");
        }
        Slash memory s = _predictSlash(c.prover, c.client, c.jobId, c.price, c.fault, c.challenger, atRisk);
        uint256 available = _beforeSlash(c.prover);
        try market.finalizeChallenge(id) {
            if (expected.length != 0) _unexpected("finalizeChallenge succeeded where it should revert");
            ghost_credits[c.challenger] += c.bond;
            // A bought proof not revealed: its price goes back into the client's deposit
            // (before the slash's refund, which `_afterSlash` checks the deposit against).
            if (c.bought) {
                ghost_deposits[c.client] += c.price;
                _count(void ? "finalizeChallenge (void, a bought proof)" : "finalizeChallenge (slash, a bought proof)");
            }
            if (!void && c.fault == MarketTypes.Fault.WithheldProof) {
                _count(atRisk ? "finalizeChallenge (withheld, leaf at risk)" : "finalizeChallenge (withheld, late)");
            }
            ghost_pendingOf[key] = 0;
            challenges[id].status = void ? MarketTypes.ChallengeStatus.Void : MarketTypes.ChallengeStatus.Slashed;
            _afterSlash(s, !void, available, false);
            if (market.deposits(c.client) != ghost_deposits[c.client]) {
                _unexpected("finalizeChallenge left a wrong deposit");
            }
            string memory kind =
                c.fault == MarketTypes.Fault.WithheldProof ? _kindName(jobsOf[c.batchId][c.index].kind) : "";
            _count(string.concat(void ? "finalizeChallenge (void)" : "finalizeChallenge (slash)", kind));
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "finalizeChallenge");
        }
    }

    // ---- circuits --------------------------------------------------------------------------

    /// Any account registers a circuit. Refused: the stand-in's code with a sample of its
    /// circuit's shape, from its own deployment or another, even a sample it rejects (the
    /// live id: `CircuitExists`); an account delegated to the stand-in, a verifier without
    /// code, an empty sample proof (`InvalidParameters`); a sample the stand-in rejects, of
    /// another shape (`SampleProofRejected`); a verifier that accepts anything, and the
    /// stand-in's valid sample shifted by a word (two public inputs), whose flipped byte
    /// the stand-in never reads (`VerifierAcceptsCorruptedProof`). Registered: the
    /// stand-in's valid sample with 1 to 4 bytes more (which it ignores), once per length,
    /// under an id of its own that no leaf of the handler names, so no verdict changes
    /// (`invariant_theStandInsCircuitNeverChanges`).
    function registerCircuit(uint256 seed) external {
        uint256 mode = seed % 8;
        uint256 x = uint256(keccak256(abi.encode(seed, "sample")));
        bytes32 tag = keccak256(abi.encode(x));
        uint256[] memory inputs = new uint256[](1);
        inputs[0] = x;
        bytes memory proof = abi.encode(tag, seed);
        address verifier = standIn;
        address caller = accounts[(seed >> 8) % accounts.length];
        bytes32 newId;
        bytes memory expected = abi.encodeWithSelector(CircuitStore.InvalidParameters.selector);
        if (mode == 0) {
            if ((seed >> 16) % 2 == 0) verifier = standInCopy;
            if ((seed >> 17) % 2 == 0) proof = abi.encode(~tag, seed);
            expected = abi.encodeWithSelector(CircuitStore.CircuitExists.selector, circuit);
        } else if (mode == 1) {
            verifier = delegatedStandIn;
        } else if (mode == 2) {
            verifier = address(uint160(uint256(keccak256(abi.encode(seed, "no code")))));
        } else if (mode == 3) {
            proof = "";
        } else if (mode == 4) {
            proof = abi.encode(~tag, seed, seed);
            expected = abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector);
        } else if (mode == 5) {
            verifier = (seed >> 16) % 2 == 0 ? acceptingVerifier : standIn;
            if (verifier == standIn) {
                inputs = new uint256[](2);
                (inputs[0], inputs[1]) = (x, uint256(tag));
                proof = abi.encode(seed, seed);
            }
            expected = abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        } else {
            proof = bytes.concat(proof, new bytes(1 + (seed >> 16) % 4));
            newId = market.circuitIdOf(standIn.codehash, 1, proof.length);
            expected = registeredByHandler[newId]
                ? abi.encodeWithSelector(CircuitStore.CircuitExists.selector, newId)
                : bytes("");
        }
        vm.prank(caller);
        try market.registerCircuit(verifier, inputs, proof) returns (bytes32 id) {
            if (expected.length != 0) _unexpected("registerCircuit succeeded where it should revert");
            else if (id != newId) _unexpected("registerCircuit returned another id");
            registeredByHandler[id] = true;
            _count("registerCircuit (a longer sample, its own id)");
        } catch (bytes memory reason) {
            _expectRevert(reason, expected, "registerCircuit");
        }
    }

    // ---- evidence commitments ----------------------------------------------------------------

    /// How a challenger commits to a challenge's input (`commitEvidence`) before sending
    /// it: in the block before (EARLIER, as a watchtower does), not at all (NO_COMMITMENT),
    /// or in the challenge's own block (SAME_BLOCK). The last two are refused, unless a
    /// standing commitment to the same input from an earlier block is left over.
    uint8 internal constant EARLIER = 0;
    uint8 internal constant NO_COMMITMENT = 1;
    uint8 internal constant SAME_BLOCK = 2;

    /// Mostly EARLIER; one time in sixteen NO_COMMITMENT, one in sixteen SAME_BLOCK.
    function _evidenceMode(uint256 seed) internal pure returns (uint8) {
        uint256 r = uint256(keccak256(abi.encode(seed, "evidence"))) % 16;
        return r == 0 ? NO_COMMITMENT : r == 1 ? SAME_BLOCK : EARLIER;
    }

    /// `w` commits to the challenge call `call` (its whole input) as `mode` says. Returns
    /// the error the challenge meets: `expected`, the error of its earlier checks, if any
    /// (the market checks the evidence after everything else, just before the verdict);
    /// else EvidenceNotCommitted unless `w` holds a commitment from an earlier block; and
    /// the commitment's digest.
    function _evidence(address w, bytes memory call, uint8 mode, bytes memory expected)
        internal
        returns (bytes memory, bytes32 digest)
    {
        // What `w` commits to: itself sending `call` (`MarketChallenges._takeEvidence`).
        digest = keccak256(abi.encodePacked(w, call));
        uint256 n = block.number;
        if (mode == EARLIER && n >= 2) {
            vm.roll(n - 1);
            _commitEvidence(w, digest);
            vm.roll(n);
        } else if (mode != NO_COMMITMENT) {
            _commitEvidence(w, digest);
        }
        uint256 at = ghost_evidenceAt[w][digest];
        if (market.evidenceCommitments(w, digest) != at) _unexpected("evidence commitment not as booked");
        if (expected.length == 0 && (at == 0 || at >= n)) {
            expected = abi.encodeWithSelector(MarketTypes.EvidenceNotCommitted.selector, at);
        }
        return (expected, digest);
    }

    function _commitEvidence(address w, bytes32 digest) internal {
        if (ghost_evidenceAt[w][digest] != 0) _count("commitEvidence (first commitment stays)");
        vm.prank(w);
        market.commitEvidence(digest);
        if (ghost_evidenceAt[w][digest] == 0) ghost_evidenceAt[w][digest] = block.number;
    }

    /// After a challenge of `w` was taken: its commitment is consumed.
    function _evidenceTaken(address w, bytes32 digest) internal {
        delete ghost_evidenceAt[w][digest];
        if (market.evidenceCommitments(w, digest) != 0) _unexpected("evidence commitment not consumed");
    }

    // ---- time ----------------------------------------------------------------------------

    function roll(uint256 blocks) external {
        blocks = _bound(blocks, 1, 15);
        vm.roll(block.number + blocks);
        vm.warp(block.timestamp + 12 * blocks);
        _count("roll");
    }

    // ---- internals -------------------------------------------------------------------------

    /// The first account of `list` from index `who` on (wrapping around) that `fits`, and
    /// whether there is one: handlers act on an account the action fits rather than return.
    function _first(address[] storage list, uint256 who, function(address) internal view returns (bool) fits)
        internal
        view
        returns (address, bool)
    {
        uint256 n = list.length;
        for (uint256 k = 0; k < n; k++) {
            address a = list[(who % n + k) % n];
            if (fits(a)) return (a, true);
        }
        return (address(0), false);
    }

    function _unregistered(address p) internal view returns (bool) {
        return !model[p].registered;
    }

    function _registered(address p) internal view returns (bool) {
        return model[p].registered;
    }

    function _staked(address p) internal view returns (bool) {
        return model[p].registered && model[p].stake >= minStake;
    }

    /// Registered with some bonded stake (what `unbond` needs).
    function _bonded(address p) internal view returns (bool) {
        return model[p].registered && model[p].stake != 0;
    }

    function _unbonding(address p) internal view returns (bool) {
        return model[p].unbonding != 0;
    }

    /// A registered dishonest prover holding (bonded and unbonding) less than one slash.
    function _belowOneSlash(address p) internal view returns (bool) {
        ProverModel storage m = model[p];
        return p != honest && m.registered && m.stake + m.unbonding < slashPerJob;
    }

    function _hasDeposit(address c) internal view returns (bool) {
        return ghost_deposits[c] != 0;
    }

    function _requested(address c) internal view returns (bool) {
        return ghost_requested[c] != 0;
    }

    /// A withdrawal request that has not lapsed.
    function _liveRequest(address c) internal view returns (bool) {
        return ghost_requested[c] != 0 && block.number < uint256(ghost_withdrawableAt[c]) + depositDelay;
    }

    function _owed(address a) internal view returns (bool) {
        return ghost_credits[a] != 0;
    }

    /// A batch whose challenge window is still open, the newest first (else, or one time in
    /// four, any batch): challenges need open windows, and claims keep closing them.
    function _pickBatch(uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 k = committed.length; k > 0; k--) {
                if (block.number <= committed[k - 1].blockNumber + challengeWindow) return k - 1;
            }
        }
        return (seed >> 8) % committed.length;
    }

    /// An equivocation whose later batch's window is open, the newest first (else, or one
    /// time in four, any).
    function _pickPair(uint256 seed) internal view returns (uint256) {
        if (seed % 4 != 0) {
            for (uint256 k = equivocations.length; k > 0; k--) {
                Pair storage e = equivocations[k - 1];
                uint64 later = committed[e.batchB].blockNumber; // B was committed after A
                if (block.number <= later + challengeWindow) return k - 1;
            }
        }
        return (seed >> 8) % equivocations.length;
    }

    /// An open challenge of `fault` still in its response window if there is one, else any
    /// challenge of `fault` (one time in four, or if there is none, any challenge).
    function _pickChallenge(uint256 seed, MarketTypes.Fault fault) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            uint256 ofFault = n;
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                Ch storage c = challenges[id];
                if (c.fault != fault) continue;
                if (c.status == MarketTypes.ChallengeStatus.Open && block.number <= c.respondBy) return id;
                if (ofFault == n) ofFault = id;
            }
            if (ofFault != n) return ofFault;
        }
        return start;
    }

    /// One time in eight, the newest challenge of `fault` that was answered, if any.
    function _pickAnswered(uint256 seed, MarketTypes.Fault fault) internal view returns (bool found, uint256 id) {
        if (seed % 8 != 0) return (false, 0);
        for (uint256 k = challenges.length; k > 0; k--) {
            Ch storage c = challenges[k - 1];
            if (c.fault == fault && c.status == MarketTypes.ChallengeStatus.Answered) return (true, k - 1);
        }
    }

    /// An open challenge if there is one (one time in four, or if there is none, any).
    function _pickOpen(uint256 seed) internal view returns (uint256) {
        uint256 n = challenges.length;
        uint256 start = (seed >> 8) % n;
        if (seed % 4 != 0) {
            for (uint256 k = 0; k < n; k++) {
                uint256 id = (start + k) % n;
                if (challenges[id].status == MarketTypes.ChallengeStatus.Open) return id;
            }
        }
        return start;
    }

    /// The error opening a challenge of `fault` on `key` meets (slashed first, then
    /// pending, then answered before), or "".
    function _openError(bytes32 key, bytes32 jobId, MarketTypes.Fault fault) internal view returns (bytes memory) {
        if (ghost_slashesOf[key] != 0) return abi.encodeWithSelector(MarketTypes.AlreadySlashed.selector, jobId);
        uint256 pending = ghost_pendingOf[key];
        if (pending != 0) return abi.encodeWithSelector(MarketTypes.ChallengePending.selector, pending - 1);
        if (_answeredBefore(key, fault)) return abi.encodeWithSelector(MarketTypes.AlreadyAnswered.selector, jobId);
        return "";
    }

    function _answeredBefore(bytes32 key, MarketTypes.Fault fault) internal view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return ghost_answeredFaults[key] & (1 << uint8(fault)) != 0;
    }

    function _opened(Ch memory c, bytes32 key) internal {
        challenges.push(c);
        ghost_pendingOf[key] = challenges.length;
    }

    function _answered(uint256 id) internal {
        Ch storage c = challenges[id];
        c.status = MarketTypes.ChallengeStatus.Answered;
        bytes32 key = _jobKey(c.prover, c.client, c.jobId);
        ghost_pendingOf[key] = 0;
        // forge-lint: disable-next-line(incorrect-shift)
        ghost_answeredFaults[key] |= 1 << uint8(c.fault);
        // A client that bought the proof gets its bond back and the prover the price (what
        // a claim would have paid it); else the prover takes the bond.
        if (c.bought) {
            ghost_credits[c.challenger] += c.bond;
            ghost_credits[c.prover] += c.price;
            ghost_paidAmountOf[_awardRef(c.client, c.prover, jobsOf[c.batchId][c.index].nonce)] += c.price;
            _count("answered: a bought proof (the price to the prover, the bond back)");
        } else {
            ghost_credits[c.prover] += c.bond;
        }
    }

    /// Whether a leaf of a batch of block `committedAt` still counts at risk.
    function _stillAtRisk(uint256 committedAt) internal view returns (bool) {
        uint256 epochLength = uint256(challengeWindow) + responseWindow + 1;
        return committedAt / epochLength + 1 >= block.number / epochLength;
    }

    /// The slash of `prover` for a job of `price`, as the model implies it. Of a leaf at
    /// risk (`atRisk`): `slashPerJob`, or all the prover has left if less. Of a job whose
    /// leaf is not at risk: only what stake and unbonding hold beyond the debt and
    /// `slashPerJob` for each leaf at risk, at most `slashPerJob`; the rest is owed.
    function _predictSlash(
        address prover,
        address client,
        bytes32 jobId,
        uint256 price,
        MarketTypes.Fault fault,
        address challenger,
        bool atRisk
    ) internal view returns (Slash memory s) {
        s.prover = prover;
        s.client = client;
        s.jobId = jobId;
        s.key = _jobKey(prover, client, jobId);
        s.fault = fault;
        s.challenger = challenger;
        s.price = price;
        s.stake = model[prover].stake;
        s.unbonding = model[prover].unbonding;
        s.atRisk = atRisk;
        uint256 available = s.stake + s.unbonding;
        s.amount = slashPerJob;
        if (!atRisk) {
            (uint256 leavesAtRisk,) = exposureModel(prover);
            uint256 held = model[prover].debt + leavesAtRisk * slashPerJob;
            uint256 free = available > held ? available - held : 0;
            if (s.amount > free) {
                s.debtAdded = s.amount - free;
                s.amount = free;
            }
        }
        if (s.amount > available) s.amount = available;
        s.reward = s.amount * rewardBps / 10_000;
        s.refund = s.amount * refundBps / 10_000;
        if (s.refund > price) s.refund = price;
        s.burned = s.amount - s.reward - s.refund;
    }

    /// Before a call that may slash `prover`: records the call's events and returns what
    /// the prover holds (bonded and unbonding, as the market says).
    function _beforeSlash(address prover) internal returns (uint256 available) {
        vm.recordLogs();
        MarketTypes.Prover memory p = proverState(market, prover);
        debtBeforeSlash = p.debt;
        stakeBeforeSlash = p.stake;
        unbondingBeforeSlash = p.unbonding;
        (leavesAtRiskBeforeSlash,) = market.exposure(prover);
        return p.stake + p.unbonding;
    }

    /// The prover's debt, bonded and unbonding stake and leaves at risk as the market held
    /// them before the call `_beforeSlash` prepared.
    uint256 internal debtBeforeSlash;
    uint256 internal stakeBeforeSlash;
    uint256 internal unbondingBeforeSlash;
    uint256 internal leavesAtRiskBeforeSlash;

    /// After a successful call that slashes (`slashes`) or not: reads its `Slashed` events,
    /// records each with what the prover held before and after, checks them against the
    /// prediction `s` and books the predicted slash in the model.
    function _afterSlash(Slash memory s, bool slashes, uint256 available, bool leafValid) internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        MarketTypes.Prover memory after_ = proverState(market, s.prover);
        uint256 n;
        for (uint256 i = 0; i < logs.length; i++) {
            if (logs[i].emitter != address(market) || logs[i].topics[0] != MarketTypes.Slashed.selector) continue;
            n++;
            SlashRecord memory r = _slashRecord(logs[i]);
            r.leafValid = leafValid;
            r.answeredBefore = _answeredBefore(r.key, r.fault);
            r.available = available;
            r.taken = available - (after_.stake + after_.unbonding);
            r.stakeBefore = stakeBeforeSlash;
            r.unbondingBefore = unbondingBeforeSlash;
            r.stakeAfter = after_.stake;
            r.atRisk = s.atRisk;
            r.debtBefore = debtBeforeSlash;
            r.leavesAtRisk = leavesAtRiskBeforeSlash;
            r.debtAdded = after_.debt - debtBeforeSlash;
            r.price = s.price;
            slashRecords.push(r);
            if (r.key != s.key || r.fault != s.fault) _unexpected("slashed another job or for another fault");
            if (r.amount != s.amount || r.reward != s.reward || r.refund != s.refund || r.burned != s.burned) {
                _unexpected("Slashed event with a wrong split");
            }
            if (r.prover == honest) _count("honest prover slashed");
        }
        if (n != (slashes ? 1 : 0)) _unexpected(slashes ? "no slash" : "unexpected slash");
        if (slashes) _applySlash(s);
    }

    function _slashRecord(Vm.Log memory log) internal pure returns (SlashRecord memory r) {
        r.prover = address(uint160(uint256(log.topics[1])));
        address client = address(uint160(uint256(log.topics[3])));
        r.key = _jobKey(r.prover, client, log.topics[2]);
        (r.fault,, r.amount, r.reward, r.refund, r.burned) =
            abi.decode(log.data, (MarketTypes.Fault, address, uint256, uint256, uint256, uint256));
    }

    /// Books slash `s` in the model and checks the market took it: bonded stake first,
    /// then unbonding, for a leaf at risk (the bonded stake covers it); unbonding stake
    /// first, then bonded, for any other (so it never takes the bonded cover of the leaves
    /// at risk, nor leaves unbonding stake to be withdrawn while it does).
    function _applySlash(Slash memory s) internal {
        ProverModel storage m = model[s.prover];
        uint256 fromStake;
        if (s.atRisk) fromStake = s.amount <= m.stake ? s.amount : m.stake;
        else if (s.amount > m.unbonding) fromStake = s.amount - m.unbonding;
        m.stake -= fromStake;
        m.unbonding -= s.amount - fromStake;
        m.debt += s.debtAdded;
        m.slashedJobs++;
        MarketTypes.Prover memory p = proverState(market, s.prover);
        if (p.stake != m.stake || p.unbonding != m.unbonding) _unexpected("slash took a wrong amount");
        if (p.debt != m.debt) _unexpected("slash left a wrong debt");
        ghost_deposits[s.client] += s.refund;
        if (market.deposits(s.client) != ghost_deposits[s.client]) _unexpected("slash refunded a wrong amount");
        ghost_slashesOf[s.key]++;
        ghost_credits[s.challenger] += s.reward;
        ghost_burned += s.burned;
        if (s.atRisk && s.amount < slashPerJob) _count("slash (stake exhausted)");
        if (s.debtAdded != 0) _count(s.amount == 0 ? "slash (all owed)" : "slash (surplus taken, rest owed)");
        if (s.atRisk && s.amount > s.stake) _count("slash (at risk, bonded then unbonding)");
        if (!s.atRisk && s.amount != 0 && s.unbonding != 0) {
            _count(
                fromStake == 0
                    ? "slash (no leaf at risk, from unbonding)"
                    : "slash (no leaf at risk, unbonding then bonded)"
            );
        }
    }

    function _inclusion(uint256 batchId, uint256 index) internal view returns (MarketTypes.Inclusion memory) {
        MarketTypes.Leaf[] memory leaves = _leavesOf(jobsOf[batchId]);
        return MarketTypes.Inclusion({
            batchId: batchId, leaf: leaves[index], path: MerkleBuilder.proof(_hashes(leaves), index)
        });
    }

    function _register(address p, uint256 amount) internal returns (bool ok) {
        vm.deal(p, amount);
        vm.prank(p);
        try market.register{value: amount}(keccak256(abi.encode(p))) {
            ghost_paidIn += amount;
            model[p].registered = true;
            model[p].stake = amount;
            return true;
        } catch {
            _unexpected("register reverted");
        }
    }

    function _addStake(address p, uint256 amount) internal returns (bool ok) {
        vm.deal(p, amount);
        vm.prank(p);
        try market.addStake{value: amount}() {
            ghost_paidIn += amount;
            model[p].stake += amount;
            return true;
        } catch {
            _unexpected("addStake reverted");
        }
    }

    /// Registers `p` with the minimum stake, or adds what it lacks of it beyond its debt
    /// (a prover in debt tops up to go on committing), if it has not that much.
    function _stakeUp(address p) internal {
        ProverModel storage m = model[p];
        if (!m.registered) _register(p, minStake);
        else if (m.stake < minStake + m.debt) _addStake(p, minStake + m.debt - m.stake);
    }

    function _topUp(address c, uint256 need) internal {
        uint256 available = ghost_deposits[c];
        if (available < need) _deposit(c, need - available);
    }

    function _deposit(address c, uint256 amount) internal {
        vm.deal(c, amount);
        vm.prank(c);
        try market.deposit{value: amount}() {
            ghost_paidIn += amount;
            ghost_deposits[c] += amount;
        } catch {
            _unexpected("deposit reverted");
        }
    }

    function _clientIndex(address c) internal view returns (uint256) {
        for (uint256 i = 0; i < clients.length; i++) {
            if (clients[i] == c) return i;
        }
        revert("unknown client");
    }

    function _jobRef(address client, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encode(client, nonce));
    }

    /// The key of `client`'s award of its job `nonce` to `prover`.
    function _awardRef(address client, address prover, uint64 nonce) internal pure returns (bytes32) {
        return keccak256(abi.encode(client, prover, nonce));
    }

    function _leavesOf(Job[] memory js) internal pure returns (MarketTypes.Leaf[] memory leaves) {
        leaves = new MarketTypes.Leaf[](js.length);
        for (uint256 i = 0; i < js.length; i++) {
            leaves[i] = js[i].leaf;
        }
    }

    function _leafHash(MarketTypes.Leaf memory l) internal pure returns (bytes32) {
        return BatchLeaf.hash(l.jobId, l.circuitId, l.publicInputsHash, l.proofHash, l.client, l.price);
    }

    function _hashes(MarketTypes.Leaf[] memory leaves) internal pure returns (bytes32[] memory h) {
        h = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            h[i] = _leafHash(leaves[i]);
        }
    }

    function _expectRevert(bytes memory reason, bytes memory expected, string memory what) internal {
        if (expected.length == 0) {
            _unexpected(string.concat(what, " reverted"));
        } else if (keccak256(reason) != keccak256(expected)) {
            _unexpected(string.concat(what, " reverted with another error"));
        } else {
            // forge-lint: disable-next-line(unsafe-typecast)
            _count(string.concat(what, " reverted ", _errorName(bytes4(expected)))); // its selector
        }
    }

    function _count(string memory what) internal {
        if (calls[what]++ == 0) counterNames.push(what);
    }

    function counterCount() external view returns (uint256) {
        return counterNames.length;
    }

    /// The name of an error the handler predicts (for the counters).
    function _errorName(bytes4 selector) internal pure returns (string memory) {
        bytes4[37] memory selectors = [
            MarketTypes.NotRegistered.selector,
            MarketTypes.StakeTooLow.selector,
            MarketTypes.NothingToWithdraw.selector,
            MarketTypes.TooEarly.selector,
            MarketTypes.ChallengeOpen.selector,
            MarketTypes.InsufficientDeposit.selector,
            MarketTypes.WindowOpen.selector,
            MarketTypes.WindowClosed.selector,
            MarketTypes.AlreadyClaimed.selector,
            MarketTypes.CommittedAfterDeadline.selector,
            MarketTypes.BadAwardSignature.selector,
            MarketTypes.ProofRejected.selector,
            MarketTypes.AlreadySlashed.selector,
            MarketTypes.ChallengePending.selector,
            MarketTypes.JobSlashed.selector,
            MarketTypes.WrongChallenge.selector,
            MarketTypes.ChallengeNotOpen.selector,
            MarketTypes.ResponseWindowClosed.selector,
            MarketTypes.ResponseWindowOpen.selector,
            MarketTypes.DeadlineNotPassed.selector,
            MarketTypes.LeafMismatch.selector,
            MarketTypes.NotBatchProver.selector,
            MarketTypes.ExposureTooHigh.selector,
            MarketTypes.ChallengePeriodOver.selector,
            MarketTypes.AlreadyAnswered.selector,
            MarketTypes.RequestLapsed.selector,
            MarketTypes.NotDirectCall.selector,
            MarketTypes.PublicInputsMismatch.selector,
            MarketTypes.EmptyBatch.selector,
            MarketTypes.PriceTooLarge.selector,
            CircuitStore.CircuitExists.selector,
            CircuitStore.InvalidParameters.selector,
            CircuitStore.SampleProofRejected.selector,
            CircuitStore.VerifierAcceptsCorruptedProof.selector,
            MarketTypes.EvidenceNotCommitted.selector,
            MarketTypes.ReservationShortened.selector,
            MarketTypes.WrongBond.selector
        ];
        string[37] memory names = [
            "NotRegistered",
            "StakeTooLow",
            "NothingToWithdraw",
            "TooEarly",
            "ChallengeOpen",
            "InsufficientDeposit",
            "WindowOpen",
            "WindowClosed",
            "AlreadyClaimed",
            "CommittedAfterDeadline",
            "BadAwardSignature",
            "ProofRejected",
            "AlreadySlashed",
            "ChallengePending",
            "JobSlashed",
            "WrongChallenge",
            "ChallengeNotOpen",
            "ResponseWindowClosed",
            "ResponseWindowOpen",
            "DeadlineNotPassed",
            "LeafMismatch",
            "NotBatchProver",
            "ExposureTooHigh",
            "ChallengePeriodOver",
            "AlreadyAnswered",
            "RequestLapsed",
            "NotDirectCall",
            "PublicInputsMismatch",
            "EmptyBatch",
            "PriceTooLarge",
            "CircuitExists",
            "InvalidParameters",
            "SampleProofRejected",
            "VerifierAcceptsCorruptedProof",
            "EvidenceNotCommitted",
            "ReservationShortened",
            "WrongBond"
        ];
        for (uint256 i = 0; i < selectors.length; i++) {
            if (selectors[i] == selector) return names[i];
        }
        return vm.toString(abi.encodePacked(selector));
    }

    function _unexpected(string memory what) internal {
        ghost_unexpected++;
        ghost_lastUnexpected = what;
    }
}

contract ProverMarketInvariantTest is MarketFixture {
    MarketHandler internal handler;
    /// The stand-in's circuit: the id the market derived, and its registration.
    bytes32 internal standInCircuit;
    CircuitStore.Circuit internal standInRegistration;
    /// The suite's slash per job: ten times the fixture's, so that a prover at the minimum
    /// stake covers 10 leaves at risk and the handler's batches (1-12 leaves) reach the
    /// exposure bound; at the fixture's 0.01 ether it covers 100, which they never reach.
    uint256 internal constant SUITE_SLASH_PER_JOB = MIN_STAKE / 10;

    function setUp() public override {
        super.setUp();
        MarketTypes.Params memory params = _params();
        params.slashPerJob = SUITE_SLASH_PER_JOB;
        market = new ProverMarket(params);
        address standIn = address(new InvariantStandInVerifier());
        // A sample the stand-in accepts: one public input, and a 64-byte proof whose first
        // word is keccak256 of it (its first byte flipped, the stand-in rejects it).
        uint256[] memory sampleInputs = new uint256[](1);
        sampleInputs[0] = 7;
        bytes memory sampleProof = abi.encode(keccak256(abi.encode(uint256(7))), uint256(0));
        standInCircuit = market.registerCircuit(standIn, sampleInputs, sampleProof);
        standInRegistration = _circuit(standInCircuit);
        assertEq(standInCircuit, market.circuitIdOf(standIn.codehash, 1, 64));
        assertEq(standInRegistration.verifier, standIn);
        assertEq(standInRegistration.proofLength, 64);
        assertEq(standInRegistration.publicInputs, 1);
        assertGt(standInRegistration.gasLimit, 0);
        handler = new MarketHandler(market, standInCircuit, standIn);
        bytes4[] memory selectors = new bytes4[](26);
        selectors[0] = MarketHandler.register.selector;
        selectors[1] = MarketHandler.addStake.selector;
        selectors[2] = MarketHandler.unbond.selector;
        selectors[3] = MarketHandler.withdrawStake.selector;
        selectors[4] = MarketHandler.deposit.selector;
        selectors[5] = MarketHandler.requestDepositWithdrawal.selector;
        selectors[6] = MarketHandler.withdrawDeposit.selector;
        selectors[7] = MarketHandler.withdrawCredits.selector;
        selectors[8] = MarketHandler.commitBatch.selector;
        selectors[9] = MarketHandler.claim.selector;
        selectors[10] = MarketHandler.claimBatch.selector;
        selectors[11] = MarketHandler.challengeInvalidProof.selector;
        selectors[12] = MarketHandler.challengeEquivocation.selector;
        selectors[13] = MarketHandler.challengeWithheldProof.selector;
        selectors[14] = MarketHandler.revealProof.selector;
        selectors[15] = MarketHandler.challengeMissedDeadline.selector;
        selectors[16] = MarketHandler.answerMissedDeadline.selector;
        selectors[17] = MarketHandler.finalizeChallenge.selector;
        selectors[18] = MarketHandler.roll.selector;
        selectors[19] = MarketHandler.commitBatch.selector; // batches twice as often
        selectors[20] = MarketHandler.commitBadLeaf.selector;
        selectors[21] = MarketHandler.registerCircuit.selector;
        selectors[22] = MarketHandler.reserve.selector;
        selectors[23] = MarketHandler.release.selector;
        selectors[24] = MarketHandler.missedDeadlineAtFullCover.selector;
        selectors[25] = MarketHandler.secondAward.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// The market holds exactly every stake, unbonding stake, deposit, reservation, open
    /// challenge's bond (`challengeBond`) and, for an open challenge that bought a proof,
    /// its price (taken from the client's deposit until the reveal credits it to the prover
    /// or the finalization returns it to the deposit), and credit; exactly what was paid in minus what was paid out and burned (by slashes, and
    /// debt burned at withdrawals). Every prover's stake, debt, unbonding stake and its two
    /// release times, every
    /// client's deposit and free deposit, every client's reservation for every prover and
    /// its `until`, and every account's credit are what the handler booked.
    function invariant_balanceIsAccountedFor() public view {
        uint256 total;
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            MarketTypes.Prover memory s = proverState(market, p);
            MarketHandler.ProverModel memory m = handler.modelOf(p);
            assertEq(s.stake, m.stake, "stake");
            assertEq(s.debt, m.debt, "debt");
            assertEq(s.unbonding, m.unbonding, "unbonding");
            assertEq(s.unbondableAt, m.unbondableAt, "unbondableAt");
            assertEq(s.unbondableAfter, m.unbondableAfter, "unbondableAfter");
            assertEq(s.registered, m.registered, "registered");
            address c = handler.clientAt(i);
            assertEq(market.deposits(c), handler.ghost_deposits(c), "deposit");
            assertEq(market.freeDeposit(c), handler.freeDepositModel(c), "freeDeposit");
            total += s.stake + s.unbonding + market.deposits(c) + _reservationsOf(c);
        }
        for (uint256 i = 0; i < handler.accountCount(); i++) {
            address a = handler.accountAt(i);
            assertEq(market.credits(a), handler.ghost_credits(a), "credits");
            total += market.credits(a);
        }
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (MarketTypes.ChallengeStatus status,, uint256 held) = handler.challengeAt(id);
            if (status == MarketTypes.ChallengeStatus.Open) total += held;
        }
        assertEq(
            address(market).balance,
            total,
            "balance != stakes + deposits + reservations + open bonds and bought prices + credits"
        );
        assertEq(market.totalBurned(), handler.ghost_burned(), "burned");
        assertEq(
            address(market).balance,
            handler.ghost_paidIn() - handler.ghost_paidOut() - market.totalBurned(),
            "balance != in - out - burned"
        );
    }

    /// The sum of client `c`'s reservations, each checked against the handler's booking.
    function _reservationsOf(address c) internal view returns (uint256 sum) {
        for (uint256 k = 0; k < handler.actorCount(); k++) {
            address p = handler.proverAt(k);
            (uint128 amount, uint64 until) = market.reservations(c, p);
            assertEq(amount, handler.ghost_reserved(c, p), "reservation");
            assertEq(until, handler.ghost_reservedUntil(c, p), "reservation until");
            sum += amount;
        }
    }

    /// An award (client, prover, nonce) is marked paid at most once, by its prover's claim
    /// or by its client buying the proof from its prover, and `isPaid` says exactly which
    /// were, for every job and every prover (a purchase sets it when the challenge opens,
    /// and it stays set whatever the challenge's end; paying one prover's award marks no
    /// other prover's). A claim pays exactly the price its client awarded; a purchase pays
    /// the prover the leaf's price (which the client chose to buy at) on the reveal, or
    /// nothing (the price goes back to the deposit): never both, never more. A job whose
    /// client signed awards of it to several provers (as the handler's clients do to every
    /// prover committing a leaf of it) may be paid to each of them, once.
    function invariant_awardPaidAtMostOnceAtItsPrice() public view {
        for (uint256 i = 0; i < handler.jobCount(); i++) {
            (address client, uint64 nonce) = handler.jobAt(i);
            uint256 awarded = handler.ghost_awardedPrice(handler.jobRef(client, nonce));
            for (uint256 k = 0; k < handler.actorCount(); k++) {
                address p = handler.proverAt(k);
                bytes32 ref = handler.awardRef(client, p, nonce);
                uint256 payments = handler.ghost_paymentsOf(ref);
                uint256 paid = handler.ghost_paidAmountOf(ref);
                assertLe(payments, 1, "award paid twice");
                assertEq(market.isPaid(client, p, nonce), payments == 1, "isPaid");
                if (handler.ghost_boughtAward(ref)) {
                    assertEq(payments, 1, "a bought award is marked paid");
                    uint256 price = handler.ghost_boughtPriceOf(ref);
                    assertTrue(paid == 0 || paid == price, "bought award paid another price");
                } else {
                    assertLe(paid, awarded, "award paid more than its price");
                    assertEq(paid, payments == 1 ? awarded : 0, "award paid another price");
                }
            }
        }
    }

    /// No prover is slashed twice for one job; `slashed`, `pendingChallenge` and
    /// `answeredFaults` say exactly what happened; each prover's open-challenge and slashed
    /// job counts and `isDisputed` match its challenges and slashes, and every challenge is
    /// in the state the handler expects.
    function invariant_slashesAndChallengesMatch() public view {
        for (uint256 i = 0; i < handler.jobKeyCount(); i++) {
            bytes32 key = handler.jobKeyAt(i);
            uint256 slashes = handler.ghost_slashesOf(key);
            assertLe(slashes, 1, "job slashed twice");
            assertEq(market.slashed(key), slashes == 1, "slashed flag");
            assertEq(market.pendingChallenge(key), handler.ghost_pendingOf(key), "pending challenge");
            assertEq(market.answeredFaults(key), handler.ghost_answeredFaults(key), "answered faults");
        }
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            MarketTypes.Prover memory s = proverState(market, p);
            assertEq(s.openChallenges, handler.openChallengesOf(p), "openChallenges");
            assertEq(s.slashedJobs, handler.modelOf(p).slashedJobs, "slashedJobs");
            assertEq(_isDisputed(p), handler.disputedModel(p), "isDisputed");
        }
        assertEq(market.challengeCount(), handler.challengeCount(), "challenge ids");
        for (uint256 id = 0; id < handler.challengeCount(); id++) {
            (MarketTypes.ChallengeStatus status, bool bought,) = handler.challengeAt(id);
            MarketTypes.Challenge memory c = _challenge(id);
            assertEq(uint8(c.status), uint8(status), "challenge status");
            assertEq(c.bought, bought, "challenge bought");
        }
    }

    /// A leaf whose proof verifies is never slashed as invalid, a proof once revealed is
    /// never slashed as withheld (nor a deadline once shown met as missed), and the honest
    /// prover, which commits only proofs that verify and answers every challenge, is never
    /// slashed at all. (Equivocation, and challenges left unanswered, are faults whatever
    /// the proofs.)
    function invariant_honestLeavesAreNeverSlashed() public view {
        address honest = handler.honest();
        assertEq(proverState(market, honest).slashedJobs, 0, "honest prover slashed");
        for (uint256 i = 0; i < handler.slashCount(); i++) {
            MarketHandler.SlashRecord memory r = handler.slashAt(i);
            assertTrue(r.prover != honest, "honest prover slashed");
            if (r.fault == MarketTypes.Fault.InvalidProof) {
                assertFalse(r.leafValid, "leaf that verifies slashed as invalid");
                assertTrue(handler.ghost_hasInvalidLeaf(r.key), "job with only valid leaves slashed as invalid");
            }
            if (r.fault == MarketTypes.Fault.WithheldProof || r.fault == MarketTypes.Fault.MissedDeadline) {
                assertFalse(r.answeredBefore, "slashed for a fault it answered");
            }
        }
    }

    /// Every slashed job cost its prover exactly `slashPerJob`: what the slash took (as
    /// measured from the market's state around the call and its `Slashed` event) plus the
    /// debt it added, unless the prover's stake and unbonding stake ran out first (then it
    /// took all of it). A slash of a leaf at risk (invalid proof, equivocation, a withheld
    /// proof finalized while its leaf still counts) takes the whole of it, or all that is
    /// left, and adds no debt; a slash of a job whose leaf is not at risk (a missed
    /// deadline, a withheld proof finalized late) takes only what stake and unbonding held
    /// beyond the debt and the leaves at risk, at most `slashPerJob`, and owes the rest:
    /// it never takes the cover of a leaf at risk. A slash of a leaf at risk takes bonded
    /// stake first, then unbonding; any other takes unbonding stake first, then bonded, so
    /// that a prover whose bonded stake held its debt and `slashPerJob` per leaf at risk
    /// before such a slash still holds them after it (the debt as it was before the slash:
    /// the part of `slashPerJob` the slash could not take is owed, not taken). The split
    /// into reward, refund (at most the job's price) and burn is of what was taken.
    function invariant_everySlashTakesThePerJobAmount() public view {
        uint256 perJob = market.slashPerJob();
        for (uint256 i = 0; i < handler.slashCount(); i++) {
            MarketHandler.SlashRecord memory r = handler.slashAt(i);
            if (r.atRisk) {
                uint256 expected = r.available < perJob ? r.available : perJob;
                assertEq(
                    r.taken, expected, "slash of a leaf at risk took other than min(slashPerJob, stake + unbonding)"
                );
                assertEq(r.debtAdded, 0, "slash of a leaf at risk added debt");
                uint256 fromStake = r.taken < r.stakeBefore ? r.taken : r.stakeBefore;
                assertEq(r.stakeBefore - r.stakeAfter, fromStake, "slash of a leaf at risk took unbonding stake first");
            } else {
                uint256 held = r.debtBefore + r.leavesAtRisk * perJob;
                uint256 free = r.available > held ? r.available - held : 0;
                assertLe(r.taken, free, "slash of no leaf at risk took the cover of leaves at risk");
                assertEq(r.taken, free < perJob ? free : perJob, "slash of no leaf at risk took other than the surplus");
                if (r.stakeBefore >= held) {
                    assertGe(r.stakeAfter, held, "slash of no leaf at risk took the bonded cover of leaves at risk");
                }
                uint256 fromStake = r.taken > r.unbondingBefore ? r.taken - r.unbondingBefore : 0;
                assertEq(r.stakeBefore - r.stakeAfter, fromStake, "slash of no leaf at risk took bonded stake first");
            }
            uint256 cost = r.atRisk && r.available < perJob ? r.available : perJob;
            assertEq(r.taken + r.debtAdded, cost, "slashed job cost its prover other than slashPerJob (taken + debt)");
            if (!r.atRisk || r.available >= perJob) {
                assertGe(r.taken + r.debtAdded, perJob, "slashed job cost less than slashPerJob");
            }
            assertEq(r.amount, r.taken, "Slashed amount != stake taken");
            assertEq(r.reward, r.amount * REWARD_BPS / 10_000, "reward");
            uint256 refund = r.amount * REFUND_BPS / 10_000;
            assertEq(r.refund, refund < r.price ? refund : r.price, "refund");
            assertEq(r.reward + r.refund + r.burned, r.amount, "split");
        }
    }

    /// No commit left its prover with more leaves at risk (committed in this epoch of
    /// `challengeWindow + responseWindow + 1` blocks or the one before, its batch's included;
    /// open challenges do not count again) than its bonded stake covers at `slashPerJob`
    /// each beyond its debt, as `exposure` reported right after it; and `exposure` counts
    /// exactly those leaves now.
    function invariant_exposureWithinStake() public view {
        for (uint256 i = 0; i < handler.commitCount(); i++) {
            MarketHandler.CommitRecord memory r = handler.commitAt(i);
            assertLe(r.atRisk, r.covered, "commit beyond what the stake covers");
            assertLe(r.modelAtRisk, r.modelCovered, "commit beyond what the stake covers (model)");
            assertEq(r.atRisk, r.modelAtRisk, "leaves at risk after a commit");
            assertEq(r.covered, r.modelCovered, "cover after a commit");
        }
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address p = handler.proverAt(i);
            (uint256 atRisk, uint256 covered) = market.exposure(p);
            (uint256 modelAtRisk, uint256 modelCovered) = handler.exposureModel(p);
            assertEq(atRisk, modelAtRisk, "leaves at risk");
            assertEq(covered, modelCovered, "cover");
        }
    }

    /// Data availability: every batch was published in exactly one `BatchCommitted` event,
    /// with its prover, root and count, by a call whose input (its transaction's, as the
    /// call must be the prover's own) holds the batch's leaves: the stored and published
    /// root is the root of exactly those leaves, so no other leaf can be shown in the
    /// batch, and anyone can learn every leaf from the chain. `isFinal` holds for a
    /// published leaf exactly when the model says (window closed, job neither slashed nor
    /// under challenge), and never for a leaf that was not published with the batch: a
    /// published leaf with one field changed, a leaf of the batch before, a leaf of a
    /// refused batch.
    function invariant_everyLeafPublished() public view {
        uint256 n = market.batchCount();
        assertEq(handler.batchCount(), n, "batches");
        assertEq(handler.ghost_batchEvents(), n, "BatchCommitted events != batches");
        (MarketTypes.Leaf[] memory refused, bytes32[][] memory refusedPaths) = handler.refusedLeaves();
        MarketTypes.Leaf memory before;
        bytes32[] memory beforePath;
        for (uint256 id = 0; id < n; id++) {
            bytes32[] memory h;
            (h, before, beforePath) = _checkPublished(id, before, beforePath);
            for (uint256 k = 0; k < refused.length; k++) {
                if (!_holds(h, _hash(refused[k]))) {
                    assertFalse(_isFinal(id, refused[k], refusedPaths[k]), "isFinal for a refused leaf");
                }
            }
        }
    }

    /// Checks batch `id` as `invariant_everyLeafPublished` says, and that `before` (a leaf
    /// of the batch before, at `beforePath` in its tree) is not final in it unless
    /// published with it; returns its leaf hashes, its first leaf and that leaf's path.
    function _checkPublished(uint256 id, MarketTypes.Leaf memory before, bytes32[] memory beforePath)
        internal
        view
        returns (bytes32[] memory h, MarketTypes.Leaf memory, bytes32[] memory)
    {
        (MarketTypes.Leaf[] memory leaves, bool[] memory finals) = _publishedAsStored(id);
        h = _hashes(leaves);
        bytes32[][] memory paths = _paths(h);
        for (uint256 i = 0; i < leaves.length; i++) {
            assertEq(_isFinal(id, leaves[i], paths[i]), finals[i], "isFinal");
        }
        uint256 f = id % leaves.length;
        assertFalse(_isFinal(id, _forged(leaves[f], id), paths[f]), "isFinal for a leaf not published");
        if (id != 0 && !_holds(h, _hash(before))) {
            assertFalse(_isFinal(id, before, beforePath), "isFinal for a leaf of another batch");
        }
        return (h, leaves[0], paths[0]);
    }

    /// Batch `id` was published once, as stored, with the root of the leaves of its
    /// transaction's input; those leaves, and whether each must be final now.
    function _publishedAsStored(uint256 id)
        internal
        view
        returns (MarketTypes.Leaf[] memory leaves, bool[] memory finals)
    {
        (address prover, uint24 count,,, bytes32 root) = market.batches(id);
        MarketHandler.Published memory pub;
        (pub, leaves, finals) = handler.publishedBatch(id);
        assertEq(pub.events, 1, "batch not published exactly once");
        assertEq(pub.prover, prover, "published prover");
        assertEq(pub.root, root, "published root");
        assertEq(pub.count, count, "published count");
        assertEq(leaves.length, count, "published leaves");
        assertEq(MerkleBuilder.root(_hashes(leaves)), root, "stored root is not the root of the published leaves");
    }

    /// The Merkle path of every leaf of the tree of `hashes` (as MerkleBuilder.proof).
    function _paths(bytes32[] memory hashes) internal pure returns (bytes32[][] memory paths) {
        uint256 n = hashes.length;
        uint256 depth;
        for (uint256 m = n; m > 1; m = (m + 1) / 2) {
            depth++;
        }
        paths = new bytes32[][](n);
        uint256[] memory lengths = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            paths[i] = new bytes32[](depth);
        }
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            level[i] = hashes[i];
        }
        uint256 shift;
        for (uint256 m = n; m > 1; shift++) {
            for (uint256 i = 0; i < n; i++) {
                uint256 sibling = (i >> shift) ^ 1;
                if (sibling < m) paths[i][lengths[i]++] = level[sibling];
            }
            uint256 half = m / 2;
            for (uint256 k = 0; k < half; k++) {
                level[k] = MerkleBuilder.hashPair(level[2 * k], level[2 * k + 1]);
            }
            if (m % 2 == 1) level[half] = level[m - 1];
            m = half + m % 2;
        }
        for (uint256 i = 0; i < n; i++) {
            bytes32[] memory path = paths[i];
            uint256 len = lengths[i];
            assembly ("memory-safe") {
                mstore(path, len)
            }
        }
    }

    function _isFinal(uint256 id, MarketTypes.Leaf memory leaf, bytes32[] memory path) internal view returns (bool) {
        return market.isFinal(leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, id, leaf, path);
    }

    /// A copy of `leaf` with one field (picked by `seed`) changed.
    function _forged(MarketTypes.Leaf memory leaf, uint256 seed) internal pure returns (MarketTypes.Leaf memory f) {
        f = MarketTypes.Leaf(leaf.jobId, leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, leaf.client, leaf.price);
        uint256 field = seed % 6;
        if (field == 0) f.jobId = ~f.jobId;
        else if (field == 1) f.circuitId = ~f.circuitId;
        else if (field == 2) f.publicInputsHash = ~f.publicInputsHash;
        else if (field == 3) f.proofHash = ~f.proofHash;
        else if (field == 4) f.client = address(~uint160(f.client));
        else f.price = f.price + 1;
    }

    function _holds(bytes32[] memory hashes, bytes32 h) internal pure returns (bool) {
        for (uint256 i = 0; i < hashes.length; i++) {
            if (hashes[i] == h) return true;
        }
        return false;
    }

    /// The stand-in's circuit is as it was registered, whoever registered what since (the
    /// handler's registrations of other shapes got other ids), and still gives the stand-in's
    /// verdicts.
    function invariant_theStandInsCircuitNeverChanges() public view {
        _assertUnchanged(standInCircuit, standInRegistration);
        uint256[] memory input = new uint256[](1);
        input[0] = 7;
        bytes memory valid = abi.encode(keccak256(abi.encode(uint256(7))), uint256(0));
        assertTrue(market.checkProof(standInCircuit, input, valid));
        assertFalse(market.checkProof(standInCircuit, input, bytes.concat(valid, hex"00")));
    }

    /// Every market call did what the handler predicted (success, or the exact error), and
    /// batch ids are dense.
    function invariant_everyCallAsPredicted() public view {
        assertEq(handler.ghost_unexpected(), 0, handler.ghost_lastUnexpected());
        assertEq(market.batchCount(), handler.batchCount());
    }
}
