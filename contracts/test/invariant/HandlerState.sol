// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";

/// INVARIANT-SUITE STAND-IN — NOT A HALO2 VERIFIER. The invariant handler needs thousands
/// of cheap proofs, valid and invalid, for arbitrary public inputs, which the real verifier
/// fixture cannot provide (it holds one proof). This stand-in accepts
/// `input ‖ proof` (one public input, a 64-byte proof) when the proof's first word is
/// keccak256 of the input, and reverts otherwise, as a Halo2 verifier does on a bad proof.
/// Like a Halo2 verifier it reads only what it needs and ignores trailing bytes, so it also
/// accepts a longer proof, and two public inputs `input, tag` followed by any 64 bytes (a
/// valid proof shifted by a word): only the market's exact proof length and public-input
/// count (fixed at registration) refuse those. The unit tests (test/challenges/) run
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

/// The invariant handler's state: the market's parameters, the actors, the model of each
/// prover, the ghost variables the invariants read, the records of challenges, slashes and
/// commits, and the constructor. The concrete handler is `MarketHandler`
/// (test/invariant/MarketHandler.sol), which says what it does.
abstract contract HandlerState is Test {
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
}
