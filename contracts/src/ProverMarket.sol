// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BatchLeaf} from "./BatchLeaf.sol";
import {CircuitStore} from "./CircuitStore.sol";
import {CircuitRegistrar} from "./CircuitRegistrar.sol";

/// @title ProverMarket
/// @notice Stakes, client deposits, batched commitments, fee claims, challenges and
///         slashing of the provernet prover market. docs/contracts.md lists every rule,
///         revert and event.
contract ProverMarket is CircuitStore, EIP712, ReentrancyGuardTransient {
    // ---- types ------------------------------------------------------------------------

    /// @notice Parameters fixed at deployment.
    struct Params {
        /// Least stake with which a prover may commit batches.
        uint256 minStake;
        /// Blocks after a batch is posted during which it may be challenged.
        uint64 challengeWindow;
        /// Blocks a challenged prover has to answer.
        uint64 responseWindow;
        /// Blocks between unbonding and withdrawal; longer than both windows together.
        uint64 unbondingDelay;
        /// Blocks between a client's withdrawal request and the withdrawal; longer than
        /// the challenge window.
        uint64 depositWithdrawalDelay;
        /// Bond of a challenge that needs an answer or a verifier call.
        uint256 challengeBond;
        /// Wei taken from the prover's stake (bonded first, then unbonding) per slashed job:
        /// a fixed amount, so k faulty jobs cost k times as much, and `commitBatch` keeps
        /// the leaves a prover holds inside open windows within what its stake covers.
        uint256 slashPerJob;
        /// Part of a slash paid to the challenger, in basis points.
        uint16 rewardBps;
        /// Part of a slash refunded into the job's client's deposit (at most the job's
        /// price), in basis points. The rest of the slash is burned.
        uint16 refundBps;
        /// Longest proving deadline, in seconds after the award, that provers accept:
        /// unbonded stake stays until every deadline it can back has passed its period.
        uint64 maxDeadline;
        /// Seconds after a deadline during which a missed deadline can be challenged.
        uint64 deadlineChallengePeriod;
    }

    /// @notice A prover's stake and identity.
    struct Prover {
        uint256 stake;
        /// Slashes that could not be taken when they came without taking the stake that
        /// backs the leaves the prover holds at risk (see `_slash`): part of `stake` that
        /// covers no leaf (`exposure`), burned when stake is withdrawn.
        uint256 debt;
        /// The node's ed25519 public key: the signer of its gossip envelopes.
        bytes32 peerKey;
        /// Amount waiting to be withdrawn, the block from which it may be, and the time
        /// (unix seconds) from which it may be: after every deadline it backed has passed
        /// its challenge period.
        uint256 unbonding;
        uint40 unbondableAt;
        uint40 unbondableAfter;
        /// Challenges against this prover waiting for an answer or finalization.
        uint32 openChallenges;
        /// Jobs this prover was slashed for: while 0 (and no challenge is open) claims and
        /// `isFinal` skip the per-job lookups.
        uint32 slashedJobs;
        /// Leaves at risk (see `commitBatch`): those committed in epoch `riskEpoch` (of
        /// `challengeWindow + responseWindow + 1` blocks) and in the epoch before it.
        uint40 riskEpoch;
        uint32 riskCurrent;
        uint32 riskPrevious;
        bool registered;
    }

    /// @notice Part of a client's deposit set aside for one prover until a time: only
    ///         that prover's claims take from it, and they take from it first (the rest
    ///         of a price from the deposit); the client can add to it and push `until`
    ///         later, and takes what is left back (`release`) only after `until`. One
    ///         storage word.
    struct Reservation {
        uint128 amount;
        uint64 until;
    }

    /// @notice A committed batch root.
    /// @dev Two storage slots: a commitment writes two new words, not three. Timestamps
    ///      fit uint32 until 2106, block numbers uint40 for ~10^12 blocks.
    struct Batch {
        address prover;
        uint24 count;
        uint40 blockNumber;
        uint32 timestamp;
        bytes32 root;
    }

    /// @notice The content of a job's leaf (see BatchLeaf).
    struct Leaf {
        bytes32 jobId;
        bytes32 circuitId;
        bytes32 publicInputsHash;
        bytes32 proofHash;
        address client;
        uint256 price;
    }

    /// @notice A leaf and the Merkle path that puts it in a batch.
    struct Inclusion {
        uint256 batchId;
        Leaf leaf;
        bytes32[] path;
    }

    /// @notice A client's signed award of a job to a prover: the job, and the statement
    ///         it pays a proof of (the circuit and the hash of its public inputs, which the
    ///         client computes from the inputs it submits). Only a leaf of that statement
    ///         can be claimed with it or answer a missed deadline.
    struct Award {
        bytes32 jobId;
        address prover;
        uint256 price;
        uint64 deadline;
        bytes32 circuitId;
        bytes32 publicInputsHash;
    }

    /// @notice A prover's signed promise to prove a job by a deadline, made after it
    ///         received and checked the inputs. It names the client because job ids are
    ///         only unique per client.
    struct Acceptance {
        bytes32 jobId;
        address client;
        bytes32 inputHash;
        uint256 price;
        uint64 deadline;
        bytes32 circuitId;
        bytes32 publicInputsHash;
    }

    /// @notice One job of a `claimBatch`: the leaf at `index` without its job id, which
    ///         derives from (client, nonce), the awarded deadline, and the client's award
    ///         signature in ERC-2098's compact form (r, vs). Every byte left out of calldata
    ///         is gas saved per job.
    struct BatchClaim {
        uint32 index;
        uint64 nonce;
        uint64 deadline;
        address client;
        uint256 price;
        bytes32 circuitId;
        bytes32 publicInputsHash;
        bytes32 proofHash;
        bytes32 r;
        bytes32 vs;
    }

    enum Fault {
        None,
        InvalidProof,
        WithheldProof,
        MissedDeadline,
        Equivocation
    }

    enum ChallengeStatus {
        None,
        Open,
        Answered,
        Slashed,
        Void
    }

    /// @notice A challenge that waits for the prover's answer (withheld proof, missed
    ///         deadline). Invalid-proof and equivocation challenges are decided at once.
    struct Challenge {
        Fault fault;
        ChallengeStatus status;
        /// Last block at which the prover may answer.
        uint64 respondBy;
        /// MissedDeadline: the accepted deadline (unix seconds). WithheldProof: the block
        /// of the leaf's batch.
        uint64 deadline;
        /// WithheldProof: opened by the job's client buying the proof: `price` came out
        /// of its deposit, for the prover on a reveal, back to the deposit otherwise.
        bool bought;
        address challenger;
        address prover;
        address client;
        uint256 bond;
        uint256 price;
        bytes32 jobId;
        /// WithheldProof: what a revealed proof must match. MissedDeadline: the awarded
        /// statement (circuit, public-inputs hash) the answering leaf must carry.
        bytes32 circuitId;
        bytes32 publicInputsHash;
        bytes32 proofHash;
    }

    // ---- constants and parameters -----------------------------------------------------

    bytes32 internal constant AWARD_TYPEHASH = keccak256(
        "Award(bytes32 jobId,address prover,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)"
    );
    bytes32 internal constant ACCEPTANCE_TYPEHASH = keccak256(
        "Acceptance(bytes32 jobId,address client,bytes32 inputHash,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)"
    );

    /// Domain tag of job ids: jobId = keccak256(tag ‖ client ‖ nonce as 8 bytes big-endian).
    /// (19 bytes, left-aligned in a word.)
    bytes32 internal constant JOB_ID_TAG_WORD = "provernet/job-id/v1";

    /// Largest delay or window accepted, in blocks (and largest deadline or period, in
    /// seconds).
    uint64 internal constant MAX_DELAY = type(uint32).max;
    /// Most leaves in a batch (the protocol's `MAX_BATCH_SIZE`): the commit's input is
    /// about 98 KB (under the 128 KiB a node's mempool takes), and a `claimBatch` of every
    /// leaf takes about 9M gas, calldata included, for a prover under challenge (under
    /// EIP-7825's 16.7M cap per transaction; test_claimBatch_largestBatchFitsInABlock).
    uint32 internal constant MAX_BATCH_SIZE = 512;
    uint256 internal constant BPS = 10_000;

    uint256 public immutable minStake;
    uint64 public immutable challengeWindow;
    uint64 public immutable responseWindow;
    uint64 public immutable unbondingDelay;
    uint64 public immutable depositWithdrawalDelay;
    uint256 public immutable challengeBond;
    uint256 public immutable slashPerJob;
    uint16 public immutable rewardBps;
    uint16 public immutable refundBps;
    uint64 public immutable maxDeadline;
    uint64 public immutable deadlineChallengePeriod;
    /// Runs `registerCircuit` (see `CircuitRegistrar`); created by the constructor.
    address internal immutable registrar;

    // ---- state ------------------------------------------------------------------------

    mapping(address => Prover) public provers;
    /// ed25519 key → the prover registered with it: one key, one stake.
    mapping(bytes32 => address) public proverOfPeerKey;
    mapping(address => uint256) public deposits;
    mapping(address => uint256) public withdrawalRequested;
    /// First block of a withdrawal request's execution: it may run from there for
    /// `depositWithdrawalDelay` blocks, and then lapses.
    mapping(address => uint64) public withdrawableAt;
    Batch[] public batches;
    /// Paid jobs: bit (nonce % 256) of word (nonce / 256) of the client. A job id derives
    /// from (client, nonce), so each job of a client has exactly one bit, and a batch of
    /// one client's jobs touches few storage words.
    mapping(address => mapping(uint256 => uint256)) public paidJobs;
    Challenge[] internal challenges;
    /// Jobs a prover was slashed for, keyed by `jobKey(prover, client, jobId)`.
    mapping(bytes32 => bool) public slashed;
    /// The challenge waiting for an answer on a job, plus one (0: none).
    mapping(bytes32 => uint256) public pendingChallenge;
    /// Faults answered on a job key, one bit per `Fault`: an answered challenge cannot be
    /// opened again (an honest prover answers each fault once, not once per challenger).
    mapping(bytes32 => uint256) public answeredFaults;
    /// Ether owed to an account (challenge rewards and bonds), withdrawn with
    /// `withdrawCredits`: nothing a slash or an answer pays can be blocked by a recipient.
    mapping(address => uint256) public credits;
    /// Challenger → keccak256 of its address and a challenge call's whole input → the
    /// block in which it committed to them (`commitEvidence`). A challenge is taken only
    /// from the account that committed to itself sending that exact input, in an earlier
    /// block: a copy of a challenge, or of its commitment, sent from another account, is
    /// refused.
    mapping(address => mapping(bytes32 => uint256)) public evidenceCommitments;
    /// Total ether burned by slashes.
    uint256 public totalBurned;
    /// client → prover → the part of the client's deposit set aside for that prover
    /// (`reserve`): what lets a prover count on being paid whatever awards the client
    /// signs to others.
    mapping(address => mapping(address => Reservation)) public reservations;

    // ---- events -----------------------------------------------------------------------

    event ProverRegistered(address indexed prover, bytes32 peerKey, uint256 stake);
    event StakeAdded(address indexed prover, uint256 amount, uint256 stake);
    event UnbondingStarted(address indexed prover, uint256 amount, uint64 withdrawableAt, uint64 withdrawableAfter);
    /// `amount` paid out, `debtBurned` burned for the prover's debt.
    event StakeWithdrawn(address indexed prover, uint256 amount, uint256 debtBurned);
    event Deposited(address indexed client, uint256 amount, uint256 balance);
    event DepositWithdrawalRequested(address indexed client, uint256 amount, uint64 withdrawableAt);
    event DepositWithdrawn(address indexed client, uint256 amount);
    event Reserved(address indexed client, address indexed prover, uint256 amount, uint256 reserved, uint64 until);
    event ReservationReleased(address indexed client, address indexed prover, uint256 amount);
    /// A batch committed by transaction: its leaves are that transaction's input (see
    /// `commitBatch`).
    event BatchCommitted(uint256 indexed batchId, address indexed prover, bytes32 root, uint32 count);
    /// The jobs `claimBatch` paid, in the order claimed (one event per call rather than per
    /// job: a log per job would cost about 2,000 gas each).
    /// `indices` holds the batch index of each job paid, 4 bytes big-endian each.
    event BatchFeesClaimed(uint256 indexed batchId, address indexed prover, uint256 total, bytes indices);
    event ChallengeOpened(
        uint256 indexed challengeId,
        address indexed prover,
        bytes32 indexed jobId,
        Fault fault,
        address challenger,
        address client,
        uint64 respondBy
    );
    event ProofRevealed(uint256 indexed challengeId, bytes32 indexed jobId, uint256[] publicInputs, bytes proof);
    event ChallengeAnswered(uint256 indexed challengeId, address indexed prover, uint256 bond);
    event ChallengeVoided(uint256 indexed challengeId, address indexed challenger, uint256 bond);
    /// A challenge whose evidence shows the prover right: its bond went to the prover.
    event FalseChallenge(address indexed prover, bytes32 indexed jobId, Fault fault, address challenger, uint256 bond);
    event Slashed(
        address indexed prover,
        bytes32 indexed jobId,
        address indexed client,
        Fault fault,
        address challenger,
        uint256 amount,
        uint256 reward,
        uint256 refund,
        uint256 burned
    );
    event CreditsWithdrawn(address indexed account, uint256 amount);

    // ---- errors -----------------------------------------------------------------------

    error AlreadyRegistered();
    error NotRegistered();
    error PeerKeyTaken(address prover);
    error StakeTooLow(uint256 stake, uint256 minimum);
    error ZeroAmount();
    error InsufficientStake(uint256 available, uint256 requested);
    error NothingToWithdraw();
    error TooEarly(uint64 availableAt);
    error ChallengeOpen(uint32 openChallenges);
    error InsufficientDeposit(uint256 available, uint256 requested);
    error EmptyBatch();
    error BatchTooLarge(uint256 count, uint256 max);
    error UnknownBatch(uint256 batchId);
    error NotBatchProver(address prover, address caller);
    error LeafNotInBatch();
    error WindowOpen(uint64 closesAt);
    error WindowClosed(uint64 closedAt);
    error AlreadyClaimed(bytes32 jobId);
    error CommittedAfterDeadline(uint64 committedAt, uint64 deadline);
    error BadAwardSignature();
    error BadAcceptanceSignature();
    error AcceptanceMismatch();
    error TransferFailed();
    error WrongBond(uint256 required, uint256 sent);
    error PublicInputsMismatch();
    error ProofMismatch();
    error ProofRejected();
    error AlreadySlashed(bytes32 jobId);
    error ChallengePending(uint256 challengeId);
    error JobSlashed(bytes32 jobId);
    error UnknownChallenge(uint256 challengeId);
    error WrongChallenge(uint256 challengeId);
    error ChallengeNotOpen(uint256 challengeId);
    error ResponseWindowClosed(uint64 respondBy);
    error ResponseWindowOpen(uint64 respondBy);
    error DeadlineNotPassed(uint64 deadline);
    error LeafMismatch();
    error NotSameProver();
    error NotSameJob();
    error SameLeaf();
    error BadBatchLeaves(uint256 expected, uint256 given);
    error BadIndex(uint256 index);
    error ExposureTooHigh(uint256 leavesAtRisk, uint256 covered);
    error ChallengePeriodOver(uint64 closedAt);
    error AlreadyAnswered(bytes32 jobId);
    error RequestLapsed(uint64 lapsedAt);
    error PriceTooLarge(uint256 index);
    error NotDirectCall();
    error EvidenceNotCommitted(uint256 committedAt);
    error ReservationShortened(uint64 until);

    constructor(Params memory p) EIP712("provernet", "1") {
        if (p.minStake == 0 || p.challengeWindow == 0 || p.responseWindow == 0) revert InvalidParameters();
        // Windows are bounded so block arithmetic on them can never overflow.
        if (
            p.challengeWindow > MAX_DELAY || p.responseWindow > MAX_DELAY || p.unbondingDelay > MAX_DELAY
                || p.depositWithdrawalDelay > MAX_DELAY
        ) revert InvalidParameters();
        // A prover cannot run from a challenge: stake stays slashable for both windows.
        if (p.unbondingDelay <= uint256(p.challengeWindow) + p.responseWindow) revert InvalidParameters();
        // A window outlasts an answer period by more than the block commit–reveal adds, so
        // a pending challenge (one per job) cannot shelter a leaf until its window ends:
        // whoever opens one, another challenge of that leaf can still be committed and sent.
        if (p.challengeWindow <= uint256(p.responseWindow) + 2) revert InvalidParameters();
        // Awards must stay claimable after a withdrawal request for at least a window.
        if (p.depositWithdrawalDelay <= p.challengeWindow) revert InvalidParameters();
        if (p.challengeBond == 0) revert InvalidParameters();
        // A slash takes a fixed amount that the least stake covers at least once.
        if (p.slashPerJob == 0 || p.slashPerJob > p.minStake) revert InvalidParameters();
        if (uint256(p.rewardBps) + p.refundBps > BPS) revert InvalidParameters();
        if (p.maxDeadline == 0 || p.maxDeadline > MAX_DELAY) revert InvalidParameters();
        if (p.deadlineChallengePeriod == 0 || p.deadlineChallengePeriod > MAX_DELAY) revert InvalidParameters();
        minStake = p.minStake;
        challengeWindow = p.challengeWindow;
        responseWindow = p.responseWindow;
        unbondingDelay = p.unbondingDelay;
        depositWithdrawalDelay = p.depositWithdrawalDelay;
        challengeBond = p.challengeBond;
        slashPerJob = p.slashPerJob;
        rewardBps = p.rewardBps;
        refundBps = p.refundBps;
        maxDeadline = p.maxDeadline;
        deadlineChallengePeriod = p.deadlineChallengePeriod;
        registrar = address(new CircuitRegistrar());
    }

    // ---- circuits -------------------------------------------------------------------

    /// @notice Registers a circuit, by anyone, once. Its id is derived from what decides
    ///         its verdicts: `circuitIdOf(verifier's code hash, number of public inputs,
    ///         proof length)`, the two counts taken from a valid sample proof, so nobody
    ///         can register another verifier or another shape under an id in use. The gas
    ///         each verification is given is measured on the sample, and the sample with
    ///         its first proof byte flipped must be rejected. Nothing about a registered
    ///         circuit changes afterwards. Run by `CircuitRegistrar` on this contract's
    ///         storage (DELEGATECALL), whose result or revert is this call's.
    function registerCircuit(address, uint256[] calldata, bytes calldata) external returns (bytes32) {
        address target = registrar;
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), target, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    /// @notice A registered circuit (all zero if none): its verifier, the gas each call of
    ///         it is given, its number of public inputs, its proof length and its
    ///         verifier's code hash at registration.
    function circuits(bytes32 circuitId)
        external
        view
        returns (address verifier, uint32 gasLimit, uint16 publicInputs, uint32 proofLength, bytes32 codeHash)
    {
        Circuit storage c = _circuits().circuits[circuitId];
        return (c.verifier, c.gasLimit, c.publicInputs, c.proofLength, c.codeHash);
    }

    // ---- stake ----------------------------------------------------------------------

    /// @notice Registers the caller as a prover with its node's ed25519 key, which no other
    ///         prover may hold.
    function register(bytes32 peerKey) external payable {
        Prover storage p = provers[msg.sender];
        if (p.registered) revert AlreadyRegistered();
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
        if (peerKey == bytes32(0)) revert InvalidParameters();
        address holder = proverOfPeerKey[peerKey];
        if (holder != address(0)) revert PeerKeyTaken(holder);
        proverOfPeerKey[peerKey] = msg.sender;
        p.registered = true;
        p.peerKey = peerKey;
        p.stake = msg.value;
        emit ProverRegistered(msg.sender, peerKey, msg.value);
    }

    /// @notice Adds to the caller's stake.
    function addStake() external payable {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (msg.value == 0) revert ZeroAmount();
        p.stake += msg.value;
        emit StakeAdded(msg.sender, msg.value, p.stake);
    }

    /// @notice Moves `amount` of stake to unbonding; it can be withdrawn after the
    ///         unbonding delay and once more than `maxDeadline + deadlineChallengePeriod`
    ///         seconds have passed (so every deadline the prover accepted before has
    ///         passed its challenge period, its last second included). Starting again adds to the amount and restarts both.
    ///         Unbonding stake can still be slashed.
    function unbond(uint256 amount) external {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (amount == 0) revert ZeroAmount();
        if (amount > p.stake) revert InsufficientStake(p.stake, amount);
        p.stake -= amount;
        p.unbonding += amount;
        // Both fit uint40 for ~10^12 blocks or seconds; the delays are at most 2^32 - 1.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.unbondableAt = uint40(block.number + unbondingDelay);
        // forge-lint: disable-next-line(unsafe-typecast,block-timestamp)
        p.unbondableAfter = uint40(block.timestamp + maxDeadline + deadlineChallengePeriod + 1);
        emit UnbondingStarted(msg.sender, amount, p.unbondableAt, p.unbondableAfter);
    }

    /// @notice Withdraws unbonded stake once the delays have passed and no challenge is
    ///         open.
    function withdrawStake() external nonReentrant {
        Prover storage p = provers[msg.sender];
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.number < p.unbondableAt) revert TooEarly(p.unbondableAt);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp < p.unbondableAfter) revert TooEarly(p.unbondableAfter);
        if (p.openChallenges != 0) revert ChallengeOpen(p.openChallenges);
        p.unbonding = 0;
        // Debt is paid first, by burning.
        uint256 owed = p.debt < amount ? p.debt : amount;
        p.debt -= owed;
        amount -= owed;
        totalBurned += owed;
        emit StakeWithdrawn(msg.sender, amount, owed);
        if (owed != 0) _send(address(0), owed);
        if (amount != 0) _send(msg.sender, amount);
    }

    /// @notice Whether claims of `prover` (and `isFinal` on its batches) must look up each
    ///         job's state: while a challenge against it is open, or once it was slashed.
    ///         A prover whose challenges were all answered is not disputed.
    function isDisputed(address prover) internal view returns (bool) {
        Prover storage p = provers[prover];
        return p.openChallenges != 0 || p.slashedJobs != 0;
    }

    /// @notice Leaves `prover` holds at risk, as `commitBatch` counts them, and the most
    ///         its bonded stake covers at `slashPerJob` each. A leaf counts from its batch
    ///         until the end of the epoch of `challengeWindow + responseWindow + 1` blocks
    ///         after the one it was committed in: at least until a challenge opened at the
    ///         end of its window can be finalized. Open challenges do not count again: one bond
    ///         could otherwise make an honest prover's commit revert at its deadline.
    function exposure(address prover) public view returns (uint256 leavesAtRisk, uint256 covered) {
        Prover storage p = provers[prover];
        (, uint256 current, uint256 previous) = _risk(p);
        leavesAtRisk = current + previous;
        covered = _covered(p);
    }

    // ---- client deposits ------------------------------------------------------------

    /// @notice Adds to the caller's deposit, from which its awarded fees are paid.
    function deposit() external payable {
        if (msg.value == 0) revert ZeroAmount();
        deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value, deposits[msg.sender]);
    }

    /// @notice Announces a withdrawal. Awards the client signed stay claimable from the
    ///         deposit until the delay has passed: that is what "promised" means here. The
    ///         request may then be carried out for `depositWithdrawalDelay` blocks, after
    ///         which it lapses (a request cannot be held ready to empty the deposit in the
    ///         block of a prover's claim). A new request replaces the previous one.
    function requestDepositWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (amount > deposits[msg.sender]) revert InsufficientDeposit(deposits[msg.sender], amount);
        withdrawalRequested[msg.sender] = amount;
        withdrawableAt[msg.sender] = uint64(block.number) + depositWithdrawalDelay;
        emit DepositWithdrawalRequested(msg.sender, amount, withdrawableAt[msg.sender]);
    }

    /// @notice Withdraws the requested amount after the delay and before the request
    ///         lapses, or what is left of it after claims paid in the meantime.
    function withdrawDeposit() external nonReentrant {
        uint256 requested = withdrawalRequested[msg.sender];
        if (requested == 0) revert NothingToWithdraw();
        uint64 at = withdrawableAt[msg.sender];
        if (block.number < at) revert TooEarly(at);
        if (block.number >= uint256(at) + depositWithdrawalDelay) revert RequestLapsed(at + depositWithdrawalDelay);
        uint256 amount = requested < deposits[msg.sender] ? requested : deposits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        withdrawalRequested[msg.sender] = 0;
        deposits[msg.sender] -= amount;
        emit DepositWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice What a prover can count on from `client`'s deposit: the deposit less a
    ///         withdrawal request that has not lapsed. Awards the client signed and that
    ///         are not yet claimed come out of this too; a prover subtracts those it knows.
    function freeDeposit(address client) external view returns (uint256) {
        uint256 balance = deposits[client];
        uint256 requested = withdrawalRequested[client];
        if (requested == 0 || block.number >= uint256(withdrawableAt[client]) + depositWithdrawalDelay) {
            return balance;
        }
        return requested >= balance ? 0 : balance - requested;
    }

    /// @notice Moves `amount` (possibly 0) of the caller's deposit into its reservation
    ///         for `prover`, which then lasts until `until` (unix seconds; never earlier
    ///         than it already did). Until then the client cannot take it back and no
    ///         other prover's claim can: a prover that bids only while the reservation,
    ///         less what the client owes it, pays the price, and claims before `until`,
    ///         is not left unpaid by awards the client signs to others for other jobs.
    ///         (A second award of the same job to another prover is another matter: each
    ///         job is paid once, to the first claim; docs/contracts.md, threat model.)
    function reserve(address prover, uint256 amount, uint64 until) external {
        Reservation storage r = reservations[msg.sender][prover];
        if (until < r.until) revert ReservationShortened(r.until);
        uint256 balance = deposits[msg.sender];
        if (amount > balance) revert InsufficientDeposit(balance, amount);
        deposits[msg.sender] = balance - amount;
        uint256 reserved = r.amount + amount;
        // casting to 'uint128' is safe because a reservation never holds more than every
        // deposit ever made, and the ether supply is far below 2^128.
        // forge-lint: disable-next-line(unsafe-typecast)
        r.amount = uint128(reserved);
        r.until = until;
        emit Reserved(msg.sender, prover, amount, reserved, until);
    }

    /// @notice Returns what is left of the caller's reservation for `prover` to its
    ///         deposit, once the reservation's `until` has passed.
    function release(address prover) external {
        Reservation storage r = reservations[msg.sender][prover];
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= r.until) revert TooEarly(r.until);
        uint256 amount = r.amount;
        if (amount == 0) revert NothingToWithdraw();
        r.amount = 0;
        deposits[msg.sender] += amount;
        emit ReservationReleased(msg.sender, prover, amount);
    }

    /// @notice Withdraws the caller's credits (challenge rewards and bonds).
    function withdrawCredits() external nonReentrant {
        uint256 amount = credits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        credits[msg.sender] = 0;
        emit CreditsWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ---- commitments and claims -------------------------------------------------------

    /// @notice Posts a batch of job leaves. The leaves are the call's input, which must be
    ///         the transaction's own (a plain account calling directly), and the contract
    ///         computes the root from them: no root can be posted without its leaves, and
    ///         anyone learns every leaf, and can challenge any of them, from the chain alone
    ///         (the input of the transaction that emitted `BatchCommitted`). Publishing
    ///         them costs about 5,460 gas a leaf at batch 64: EIP-7623's calldata floor.
    ///         The caller must be staked, and its bonded stake must cover `slashPerJob`
    ///         for every leaf it then holds at risk (`exposure`), this batch's included.
    ///         Leaves are counted per epoch of `challengeWindow + responseWindow + 1` blocks: a
    ///         leaf counts in the epoch it was committed in and the next one (one storage
    ///         word per prover, whatever the number of batches).
    function commitBatch(Leaf[] calldata leaves) external returns (uint256 batchId) {
        // Only a plain account's own transaction: its input is then exactly this call, so
        // the leaves are readable from the transaction a `BatchCommitted` log names, by
        // anyone, with no trace (a contract or a delegated account could wrap the call in
        // an input nobody knows how to read).
        if (msg.sender != tx.origin || msg.sender.code.length != 0) revert NotDirectCall();
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (p.stake < minStake) revert StakeTooLow(p.stake, minStake);
        if (leaves.length == 0) revert EmptyBatch();
        if (leaves.length > MAX_BATCH_SIZE) revert BatchTooLarge(leaves.length, MAX_BATCH_SIZE);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint32 count = uint32(leaves.length); // <= MAX_BATCH_SIZE
        _addRisk(p, count);
        bytes32 root = _publishedRoot(leaves);
        batchId = batches.length;
        batches.push(
            Batch({
                prover: msg.sender,
                // forge-lint: disable-next-line(unsafe-typecast)
                count: uint24(count), // count <= MAX_BATCH_SIZE < 2^24
                // forge-lint: disable-next-line(unsafe-typecast)
                blockNumber: uint40(block.number),
                // forge-lint: disable-next-line(unsafe-typecast)
                timestamp: uint32(block.timestamp),
                root: root
            })
        );
        emit BatchCommitted(batchId, msg.sender, root, count);
    }

    /// The root of `leaves` as `provernet_protocol::merkle` builds it.
    function _publishedRoot(Leaf[] calldata leaves) internal pure returns (bytes32) {
        bytes32[] memory level = new bytes32[](leaves.length);
        for (uint256 i = 0; i < leaves.length; i++) {
            // No deposit can pay more than 2^128 wei: a larger price names no payable
            // job, and nodes keep prices in 128 bits, so none could audit such a leaf.
            if (leaves[i].price > type(uint128).max) revert PriceTooLarge(i);
            level[i] = _leafHash(leaves[i]);
        }
        return _root(level);
    }

    /// @notice Number of batches posted so far (ids are 0..batchCount-1).
    function batchCount() external view returns (uint256) {
        return batches.length;
    }

    /// @notice Number of challenges opened so far (ids are 0..challengeCount-1).
    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

    /// @notice The id of the job `nonce` of `client`, as every peer derives it.
    function jobIdOf(address client, uint64 nonce) public pure returns (bytes32 jobId) {
        // keccak256(abi.encodePacked(tag, client, nonce)), hashed in scratch memory:
        // claims compute one per job, and allocating for each grows memory quadratically.
        bytes32 tag = JOB_ID_TAG_WORD;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, tag)
            mstore(add(m, 19), shl(96, client))
            mstore(add(m, 39), shl(192, nonce))
            jobId := keccak256(m, 47)
        }
    }

    /// @notice Whether the job `nonce` of `client` has been paid.
    function isPaid(address client, uint64 nonce) public view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return (paidJobs[client][nonce >> 8] & (1 << (nonce & 0xff))) != 0;
    }

    /// @notice The key under which a prover's faults and challenges on a job are recorded.
    function jobKey(address prover, address client, bytes32 jobId) internal pure returns (bytes32) {
        return keccak256(abi.encode(prover, client, jobId));
    }

    /// @notice The EIP-712 digest a client signs to award `award`.
    function awardDigest(Award memory award) public view returns (bytes32) {
        return _hashTypedDataV4(
            _awardHash(award.jobId, award.prover, award.price, award.deadline, award.circuitId, award.publicInputsHash)
        );
    }

    /// @notice The EIP-712 digest a prover signs to accept a job.
    function acceptanceDigest(Acceptance memory a) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ACCEPTANCE_TYPEHASH, a)));
    }

    /// @notice Claims the fees of several jobs of one batch at once. `leafHashes` are the
    ///         batch's leaves in order, with zero where a claim supplies the leaf: the
    ///         contract fills those in, recomputes the root and compares it with the batch's,
    ///         so no Merkle paths are sent.
    function claimBatch(uint256 batchId, bytes32[] calldata leafHashes, BatchClaim[] calldata jobs)
        external
        nonReentrant
    {
        Batch storage batch = _batch(batchId);
        if (batch.prover != msg.sender) revert NotBatchProver(batch.prover, msg.sender);
        _requireClosed(batch);
        if (leafHashes.length != batch.count) revert BadBatchLeaves(batch.count, leafHashes.length);
        bytes32[] memory level = leafHashes;
        Paying memory paying = Paying(batch.timestamp, isDisputed(msg.sender), address(0), 0, 0, 0, 0, false);
        uint256 total;
        bytes memory indices = new bytes(jobs.length * 4);
        for (uint256 i = 0; i < jobs.length; i++) {
            BatchClaim calldata c = jobs[i];
            _claimOne(paying, c, level);
            total += c.price;
            uint32 index = c.index;
            assembly ("memory-safe") {
                mstore(add(add(indices, 0x20), mul(i, 4)), shl(224, index))
            }
        }
        _settle(paying);
        if (_root(level) != batch.root) revert LeafNotInBatch();
        emit BatchFeesClaimed(batchId, msg.sender, total, indices);
        if (total != 0) _send(msg.sender, total);
    }

    /// One job of `claimBatch`: puts its leaf at its index (or checks the one given there),
    /// checks the award and pays from the client's deposit.
    function _claimOne(Paying memory paying, BatchClaim calldata c, bytes32[] memory level) internal {
        if (c.index >= level.length) revert BadIndex(c.index);
        bytes32 jobId = jobIdOf(c.client, c.nonce);
        bytes32 leaf = BatchLeaf.hash(jobId, c.circuitId, c.publicInputsHash, c.proofHash, c.client, c.price);
        bytes32 given = level[c.index];
        if (given == bytes32(0)) level[c.index] = leaf;
        else if (given != leaf) revert LeafNotInBatch();
        bytes32 digest =
            _hashTypedDataV4(_awardHash(jobId, msg.sender, c.price, c.deadline, c.circuitId, c.publicInputsHash));
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(digest, c.r, c.vs);
        if (error != ECDSA.RecoverError.NoError || signer != c.client) revert BadAwardSignature();
        _pay(paying, c.client, jobId, c.nonce, c.price, c.deadline);
    }

    /// keccak256(abi.encode(AWARD_TYPEHASH, jobId, prover, price, deadline, circuitId,
    /// publicInputsHash)) in scratch memory.
    function _awardHash(
        bytes32 jobId,
        address prover,
        uint256 price,
        uint64 deadline,
        bytes32 circuitId,
        bytes32 publicInputsHash
    ) private pure returns (bytes32 h) {
        bytes32 typeHash = AWARD_TYPEHASH;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), jobId)
            mstore(add(m, 0x40), prover)
            mstore(add(m, 0x60), price)
            mstore(add(m, 0x80), deadline)
            mstore(add(m, 0xa0), circuitId)
            mstore(add(m, 0xc0), publicInputsHash)
            h := keccak256(m, 0xe0)
        }
    }

    /// @notice Whether a consumer may rely on a proof without verifying it: the leaf with
    ///         this circuit, public inputs hash and proof hash is in the batch (so it was
    ///         published with it), the circuit is registered, the batch's challenge window
    ///         has closed, and the leaf is neither slashed nor under challenge.
    function isFinal(
        bytes32 circuitId,
        bytes32 publicInputsHash,
        bytes32 proofHash,
        uint256 batchId,
        Leaf calldata leaf,
        bytes32[] calldata path
    ) external view returns (bool) {
        if (batchId >= batches.length) return false;
        Batch storage batch = batches[batchId];
        if (leaf.circuitId != circuitId || leaf.publicInputsHash != publicInputsHash || leaf.proofHash != proofHash) {
            return false;
        }
        if (block.number <= batch.blockNumber + challengeWindow) return false;
        // A leaf of a circuit nobody registered by its batch's block proves nothing,
        // challenged or not.
        if (!_registeredBy(circuitId, batch.blockNumber) || _verifierChanged(circuitId)) return false;
        if (!MerkleProof.verifyCalldata(path, batch.root, _leafHash(leaf))) return false;
        if (isDisputed(batch.prover)) {
            bytes32 key = jobKey(batch.prover, leaf.client, leaf.jobId);
            if (slashed[key] || pendingChallenge[key] != 0) return false;
        }
        return true;
    }

    // ---- challenges -------------------------------------------------------------------

    /// @notice Commits the caller to a challenge before sending it: `digest` is
    ///         keccak256(caller's address ‖ the challenge call's whole input: selector and
    ///         arguments). The challenge is then accepted from the caller, with exactly that
    ///         input, from the next block on. A digest names its sender and hides the
    ///         input: copying a commitment from the mempool commits the copier to nothing it
    ///         could send, and copying the challenge itself finds no earlier commitment.
    ///         The first commitment of a digest stays (a later one would only delay the
    ///         caller's own challenge).
    function commitEvidence(bytes32 digest) external {
        if (evidenceCommitments[msg.sender][digest] == 0) evidenceCommitments[msg.sender][digest] = block.number;
    }

    /// @notice Whether the circuit's verifier accepts the proof, exactly as the invalid-proof
    ///         challenge and `revealProof` decide it. A challenger calls this first: a proof
    ///         that verifies makes an invalid-proof challenge forfeit its bond.
    function checkProof(bytes32 circuitId, uint256[] calldata publicInputs, bytes calldata proof)
        external
        view
        returns (bool)
    {
        return _verifies(circuitId, block.number, publicInputs, proof);
    }

    /// @notice Challenges a committed proof as invalid. The caller sends the bond and the
    ///         leaf's public inputs and proof. If the circuit's verifier rejects them (a
    ///         revert counts as a rejection, as do a proof of another length or another
    ///         number of public inputs than the circuit's, and a circuit that is not
    ///         registered) the prover is slashed and the bond returned; if it accepts, the
    ///         bond goes to the prover.
    function challengeInvalidProof(Inclusion calldata at, uint256[] calldata publicInputs, bytes calldata proof)
        external
        payable
        nonReentrant
    {
        if (msg.value != challengeBond) revert WrongBond(challengeBond, msg.value);
        Batch storage batch = _batch(at.batchId);
        _requireOpen(batch);
        Leaf calldata leaf = at.leaf;
        if (!MerkleProof.verifyCalldata(at.path, batch.root, _leafHash(leaf))) revert LeafNotInBatch();
        if (keccak256(abi.encodePacked(publicInputs)) != leaf.publicInputsHash) revert PublicInputsMismatch();
        if (keccak256(proof) != leaf.proofHash) revert ProofMismatch();
        address prover = batch.prover;
        bytes32 key = jobKey(prover, leaf.client, leaf.jobId);
        if (slashed[key]) revert AlreadySlashed(leaf.jobId);
        _takeEvidence();
        if (_verifies(leaf.circuitId, batch.blockNumber, publicInputs, proof)) {
            credits[prover] += msg.value;
            emit FalseChallenge(prover, leaf.jobId, Fault.InvalidProof, msg.sender, msg.value);
            return;
        }
        credits[msg.sender] += msg.value;
        _slash(key, prover, leaf.client, leaf.jobId, leaf.price, Fault.InvalidProof, msg.sender, true);
    }

    /// @notice Challenges a committed leaf whose proof was not delivered. The caller sends
    ///         the bond; the prover has `responseWindow` blocks to reveal a matching proof
    ///         that verifies (`revealProof`), or `finalizeChallenge` slashes it. The job's
    ///         client may **buy** the proof this way, explicitly: it shows its award of the
    ///         leaf to the batch's prover (the job's `nonce`, the awarded `deadline` and its
    ///         ERC-2098 signature `r`, `vs`; `r` zero: a plain challenge, whoever sends it;
    ///         shown by anyone but the client, it is ignored); the job is marked paid and
    ///         the leaf's price moves from its deposit into the challenge; a reveal pays
    ///         that price to the prover (and the bond back to the client), a slash or a
    ///         void gives it back to the deposit. So a client buys only from a prover it
    ///         awarded, and an honest prover whose signed award never reached it is paid by
    ///         its reveal.
    function challengeWithheldProof(Inclusion calldata at, uint64 nonce, uint64 deadline, bytes32 r, bytes32 vs)
        external
        payable
        nonReentrant
        returns (uint256 challengeId)
    {
        if (msg.value != challengeBond) revert WrongBond(challengeBond, msg.value);
        Batch storage batch = _batch(at.batchId);
        _requireOpen(batch);
        Leaf calldata leaf = at.leaf;
        if (!MerkleProof.verifyCalldata(at.path, batch.root, _leafHash(leaf))) revert LeafNotInBatch();
        address prover = batch.prover;
        bytes32 key = _openable(prover, leaf.client, leaf.jobId, Fault.WithheldProof);
        bool bought = r != 0 && msg.sender == leaf.client;
        if (bought) {
            _checkAward(leaf, prover, nonce, deadline, r, vs);
            uint256 word = nonce >> 8;
            // forge-lint: disable-next-line(incorrect-shift)
            uint256 bit = 1 << (nonce & 0xff);
            uint256 paid = paidJobs[msg.sender][word];
            if (paid & bit != 0) revert AlreadyClaimed(leaf.jobId);
            paidJobs[msg.sender][word] = paid | bit;
            uint256 available = deposits[msg.sender];
            if (available < leaf.price) revert InsufficientDeposit(available, leaf.price);
            deposits[msg.sender] = available - leaf.price;
        }
        _takeEvidence();
        challengeId = _open(
            Challenge({
                fault: Fault.WithheldProof,
                status: ChallengeStatus.Open,
                respondBy: uint64(block.number) + responseWindow,
                deadline: batch.blockNumber,
                bought: bought,
                challenger: msg.sender,
                prover: prover,
                client: leaf.client,
                bond: msg.value,
                price: leaf.price,
                jobId: leaf.jobId,
                // The circuit whose verifier can answer: none if the leaf's was not
                // registered by its batch's block (see `registeredAt`).
                circuitId: _registeredBy(leaf.circuitId, batch.blockNumber) ? leaf.circuitId : bytes32(0),
                publicInputsHash: leaf.publicInputsHash,
                proofHash: leaf.proofHash
            }),
            key
        );
    }

    /// @notice Answers a withheld-proof challenge with the proof: it must match the leaf
    ///         and verify. Anyone holding the proof may reveal it; the bond goes to the
    ///         prover, and the proof is published in `ProofRevealed`.
    function revealProof(uint256 challengeId, uint256[] calldata publicInputs, bytes calldata proof)
        external
        nonReentrant
    {
        Challenge storage c = _openChallenge(challengeId, Fault.WithheldProof);
        if (block.number > c.respondBy) revert ResponseWindowClosed(c.respondBy);
        if (keccak256(abi.encodePacked(publicInputs)) != c.publicInputsHash) revert PublicInputsMismatch();
        if (keccak256(proof) != c.proofHash) revert ProofMismatch();
        if (!_verifies(c.circuitId, block.number, publicInputs, proof)) revert ProofRejected();
        emit ProofRevealed(challengeId, c.jobId, publicInputs, proof);
        _answer(challengeId, c);
    }

    /// @notice Challenges a missed deadline with the prover's signed acceptance and the
    ///         client's signed award, within `deadlineChallengePeriod` seconds after the
    ///         deadline and once per job (an answered one cannot be opened again). The
    ///         caller sends the bond; the prover has `responseWindow` blocks to show the
    ///         job's leaf in a batch it posted by the deadline (`answerMissedDeadline`),
    ///         or `finalizeChallenge` slashes it.
    function challengeMissedDeadline(
        Acceptance calldata acceptance,
        bytes calldata proverSignature,
        Award calldata award,
        bytes calldata clientSignature
    ) external payable nonReentrant returns (uint256 challengeId) {
        if (msg.value != challengeBond) revert WrongBond(challengeBond, msg.value);
        (address client, ECDSA.RecoverError e1,) = ECDSA.tryRecoverCalldata(awardDigest(award), clientSignature);
        // A recovered signer is never zero: OpenZeppelin reports that as an error.
        if (e1 != ECDSA.RecoverError.NoError) revert BadAwardSignature();
        (address signer, ECDSA.RecoverError e2,) =
            ECDSA.tryRecoverCalldata(acceptanceDigest(acceptance), proverSignature);
        if (e2 != ECDSA.RecoverError.NoError || signer != award.prover) revert BadAcceptanceSignature();
        if (
            acceptance.jobId != award.jobId || acceptance.client != client || acceptance.price != award.price
                || acceptance.deadline != award.deadline || acceptance.circuitId != award.circuitId
                || acceptance.publicInputsHash != award.publicInputsHash
        ) revert AcceptanceMismatch();
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= award.deadline) revert DeadlineNotPassed(award.deadline);
        uint64 closesAt = award.deadline + deadlineChallengePeriod;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > closesAt) revert ChallengePeriodOver(closesAt);
        if (!provers[award.prover].registered) revert NotRegistered();
        bytes32 key = _openable(award.prover, client, award.jobId, Fault.MissedDeadline);
        _takeEvidence();
        challengeId = _open(
            Challenge({
                fault: Fault.MissedDeadline,
                status: ChallengeStatus.Open,
                respondBy: uint64(block.number) + responseWindow,
                deadline: award.deadline,
                bought: false,
                challenger: msg.sender,
                prover: award.prover,
                client: client,
                bond: msg.value,
                price: award.price,
                jobId: award.jobId,
                circuitId: award.circuitId,
                publicInputsHash: award.publicInputsHash,
                proofHash: bytes32(0)
            }),
            key
        );
    }

    /// @notice Answers a missed-deadline challenge: the job's leaf is in a batch of the
    ///         prover posted by the deadline. The bond goes to the prover.
    function answerMissedDeadline(uint256 challengeId, Inclusion calldata at) external nonReentrant {
        Challenge storage c = _openChallenge(challengeId, Fault.MissedDeadline);
        if (block.number > c.respondBy) revert ResponseWindowClosed(c.respondBy);
        Batch storage batch = _batch(at.batchId);
        if (batch.prover != c.prover) revert NotBatchProver(batch.prover, c.prover);
        if (batch.timestamp > c.deadline) revert CommittedAfterDeadline(batch.timestamp, c.deadline);
        // The leaf of the awarded statement: a leaf of another circuit or other public
        // inputs (a valid proof of some other statement) is no delivery.
        if (
            at.leaf.jobId != c.jobId || at.leaf.client != c.client || at.leaf.circuitId != c.circuitId
                || at.leaf.publicInputsHash != c.publicInputsHash || at.leaf.price != c.price
        ) revert LeafMismatch();
        if (!MerkleProof.verifyCalldata(at.path, batch.root, _leafHash(at.leaf))) revert LeafNotInBatch();
        _answer(challengeId, c);
    }

    /// @notice Settles an unanswered challenge after its response window: the prover is
    ///         slashed and the bond returned to the challenger. If the job was slashed
    ///         meanwhile by another challenge, this one is void and only the bond returns.
    function finalizeChallenge(uint256 challengeId) external nonReentrant {
        Challenge storage c = _openChallenge(challengeId, Fault.None);
        if (block.number <= c.respondBy) revert ResponseWindowOpen(c.respondBy);
        bytes32 key = _close(c);
        credits[c.challenger] += c.bond;
        // A proof bought and not revealed costs the client nothing.
        if (c.bought) deposits[c.client] += c.price;
        // A changed verifier could not take the prover's reveal: no slash for it.
        if (slashed[key] || (c.fault == Fault.WithheldProof && _verifierChanged(c.circuitId))) {
            c.status = ChallengeStatus.Void;
            emit ChallengeVoided(challengeId, c.challenger, c.bond);
            return;
        }
        c.status = ChallengeStatus.Slashed;
        // A withheld proof's leaf is at risk until its finalization is due; a missed
        // deadline's job has no leaf.
        _slash(
            key,
            c.prover,
            c.client,
            c.jobId,
            c.price,
            c.fault,
            c.challenger,
            c.fault == Fault.WithheldProof && _stillAtRisk(c.deadline)
        );
    }

    /// @notice Proves that a prover committed two different leaves for one job: both must
    ///         be in batches of that prover, and the later batch's window must be open.
    ///         No bond: the evidence is decided at once.
    function challengeEquivocation(Inclusion calldata a, Inclusion calldata b) external nonReentrant {
        Batch storage batchA = _batch(a.batchId);
        Batch storage batchB = _batch(b.batchId);
        if (batchA.prover != batchB.prover) revert NotSameProver();
        if (a.leaf.jobId != b.leaf.jobId || a.leaf.client != b.leaf.client) revert NotSameJob();
        bytes32 hashA = _leafHash(a.leaf);
        bytes32 hashB = _leafHash(b.leaf);
        if (hashA == hashB) revert SameLeaf();
        _requireOpen(batchA.blockNumber > batchB.blockNumber ? batchA : batchB);
        if (!MerkleProof.verifyCalldata(a.path, batchA.root, hashA)) revert LeafNotInBatch();
        if (!MerkleProof.verifyCalldata(b.path, batchB.root, hashB)) revert LeafNotInBatch();
        address prover = batchA.prover;
        bytes32 key = jobKey(prover, a.leaf.client, a.leaf.jobId);
        if (slashed[key]) revert AlreadySlashed(a.leaf.jobId);
        _takeEvidence();
        uint256 price = a.leaf.price < b.leaf.price ? a.leaf.price : b.leaf.price;
        _slash(key, prover, a.leaf.client, a.leaf.jobId, price, Fault.Equivocation, msg.sender, true);
    }

    // ---- internals ------------------------------------------------------------------

    function _batch(uint256 batchId) internal view returns (Batch storage) {
        if (batchId >= batches.length) revert UnknownBatch(batchId);
        return batches[batchId];
    }

    function _requireOpen(Batch storage batch) internal view {
        uint64 closesAt = batch.blockNumber + challengeWindow;
        if (block.number > closesAt) revert WindowClosed(closesAt);
    }

    function _requireClosed(Batch storage batch) internal view {
        uint64 closesAt = batch.blockNumber + challengeWindow;
        if (block.number <= closesAt) revert WindowOpen(closesAt);
    }

    /// What every claim of a batch needs to know about it, read from storage once, and
    /// the storage a run of claims of one client touches, held in memory until the client
    /// (or its paid-jobs word) changes: a batch of one client's jobs reads and writes its
    /// deposit and each paid-jobs word once, not once per job.
    struct Paying {
        uint64 committedAt;
        bool isDisputed;
        /// The client held (zero: none yet), its deposit less what this call paid, the
        /// index of its paid-jobs word held and that word with this call's bits set.
        address client;
        uint256 available;
        uint256 word;
        uint256 paid;
        /// The client's reservation for the caller less what this call took from it, and
        /// whether it took anything since the last write-back.
        uint256 reserved;
        bool reservationUsed;
    }

    /// Checks a job is payable (batch posted by the deadline, not slashed or under
    /// challenge, not paid before, deposit enough), marks it paid and takes its price from
    /// the client's reservation for the caller first and the rest from the client's
    /// deposit, in `paying` (`_settle` writes it back).
    function _pay(Paying memory paying, address client, bytes32 jobId, uint64 nonce, uint256 price, uint64 deadline)
        internal
    {
        if (paying.committedAt > deadline) revert CommittedAfterDeadline(paying.committedAt, deadline);
        if (paying.isDisputed) {
            bytes32 key = jobKey(msg.sender, client, jobId);
            if (slashed[key]) revert JobSlashed(jobId);
            uint256 pending = pendingChallenge[key];
            if (pending != 0) revert ChallengePending(pending - 1);
        }
        uint256 word = nonce >> 8;
        if (client != paying.client || word != paying.word) {
            _settle(paying);
            if (client != paying.client) {
                paying.client = client;
                paying.available = deposits[client];
                paying.reserved = reservations[client][msg.sender].amount;
            }
            paying.word = word;
            paying.paid = paidJobs[client][word];
        }
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 bit = 1 << (nonce & 0xff);
        if (paying.paid & bit != 0) revert AlreadyClaimed(jobId);
        paying.paid |= bit;
        uint256 reserved = paying.reserved < price ? paying.reserved : price;
        uint256 rest = price - reserved;
        if (paying.available < rest) revert InsufficientDeposit(paying.available + paying.reserved, price);
        if (reserved != 0) {
            paying.reserved -= reserved;
            paying.reservationUsed = true;
        }
        paying.available -= rest;
    }

    /// Writes back the client's deposit and paid-jobs word that `paying` holds.
    function _settle(Paying memory paying) internal {
        if (paying.client == address(0)) return;
        paidJobs[paying.client][paying.word] = paying.paid;
        deposits[paying.client] = paying.available;
        if (paying.reservationUsed) {
            // casting to 'uint128' is safe because it only went down from a uint128.
            // forge-lint: disable-next-line(unsafe-typecast)
            reservations[paying.client][msg.sender].amount = uint128(paying.reserved);
            paying.reservationUsed = false;
        }
    }

    function _leafHash(Leaf calldata leaf) internal pure returns (bytes32) {
        return
            BatchLeaf.hash(leaf.jobId, leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, leaf.client, leaf.price);
    }

    /// The root of the leaves `level` (overwritten) as `provernet_protocol::merkle` builds
    /// it: sorted pairs, and the last node of an odd level moves up unchanged.
    function _root(bytes32[] memory level) internal pure returns (bytes32) {
        uint256 n = level.length;
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 i = 0; i < half; i++) {
                bytes32 x = level[2 * i];
                bytes32 y = level[2 * i + 1];
                level[i] = x < y ? _efficientHash(x, y) : _efficientHash(y, x);
            }
            if (n & 1 == 1) level[half] = level[n - 1];
            n = half + (n & 1);
        }
        return level[0];
    }

    function _efficientHash(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            value := keccak256(0x00, 0x40)
        }
    }

    /// Consumes the caller's commitment to sending this call's input, made in an earlier
    /// block (see `commitEvidence`).
    function _takeEvidence() internal {
        bytes32 digest = keccak256(abi.encodePacked(msg.sender, msg.data));
        uint256 at = evidenceCommitments[msg.sender][digest];
        if (at == 0 || at >= block.number) revert EvidenceNotCommitted(at);
        delete evidenceCommitments[msg.sender][digest];
    }

    /// The job key of a new challenge, which must not be slashed, already challenged, nor
    /// answered before for this fault.
    function _openable(address prover, address client, bytes32 jobId, Fault fault) internal view returns (bytes32 key) {
        key = jobKey(prover, client, jobId);
        if (slashed[key]) revert AlreadySlashed(jobId);
        uint256 pending = pendingChallenge[key];
        if (pending != 0) revert ChallengePending(pending - 1);
        // forge-lint: disable-next-line(incorrect-shift)
        if (answeredFaults[key] & (1 << uint8(fault)) != 0) revert AlreadyAnswered(jobId);
    }

    /// Counts `count` new leaves at risk for `p` and refuses them beyond what its bonded
    /// stake covers (see `commitBatch`).
    function _addRisk(Prover storage p, uint32 count) internal {
        (uint256 epoch, uint256 current, uint256 previous) = _risk(p);
        current += count;
        uint256 covered = _covered(p);
        uint256 atRisk = current + previous;
        if (atRisk > covered) revert ExposureTooHigh(atRisk, covered);
        // Leaves at risk never exceed `covered` < 2^32 for any stake a chain holds at a
        // sane `slashPerJob`; the check above bounds them first.
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskEpoch = uint40(epoch);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskCurrent = uint32(current);
        // forge-lint: disable-next-line(unsafe-typecast)
        p.riskPrevious = uint32(previous);
    }

    /// The current epoch and `p`'s leaves at risk committed in it and in the one before.
    function _risk(Prover storage p) internal view returns (uint256 epoch, uint256 current, uint256 previous) {
        epoch = block.number / _epochLength();
        if (p.riskEpoch == epoch) {
            current = p.riskCurrent;
            previous = p.riskPrevious;
        } else if (p.riskEpoch + 1 == epoch) {
            previous = p.riskCurrent;
        }
    }

    function _open(Challenge memory c, bytes32 key) internal returns (uint256 challengeId) {
        challengeId = challenges.length;
        challenges.push(c);
        pendingChallenge[key] = challengeId + 1;
        provers[c.prover].openChallenges += 1;
        emit ChallengeOpened(challengeId, c.prover, c.jobId, c.fault, c.challenger, c.client, c.respondBy);
    }

    /// The open challenge `challengeId`, of `fault` (`Fault.None`: of any).
    function _openChallenge(uint256 challengeId, Fault fault) internal view returns (Challenge storage c) {
        if (challengeId >= challenges.length) revert UnknownChallenge(challengeId);
        c = challenges[challengeId];
        if (fault != Fault.None && c.fault != fault) revert WrongChallenge(challengeId);
        if (c.status != ChallengeStatus.Open) revert ChallengeNotOpen(challengeId);
    }

    /// Closes an open challenge's bookkeeping; returns its job key.
    function _close(Challenge storage c) internal returns (bytes32 key) {
        key = jobKey(c.prover, c.client, c.jobId);
        pendingChallenge[key] = 0;
        provers[c.prover].openChallenges -= 1;
    }

    function _answer(uint256 challengeId, Challenge storage c) internal {
        bytes32 key = _close(c);
        // forge-lint: disable-next-line(incorrect-shift)
        answeredFaults[key] |= 1 << uint8(c.fault);
        c.status = ChallengeStatus.Answered;
        // A client that bought the proof pays its price, not the bond: the bond comes back
        // (else withholding from clients would earn bonds).
        if (c.bought) {
            credits[c.challenger] += c.bond;
            credits[c.prover] += c.price;
        } else {
            credits[c.prover] += c.bond;
        }
        emit ChallengeAnswered(challengeId, c.prover, c.bond);
    }

    /// Marks job key `key` slashed and takes `slashPerJob` from the prover's stake (bonded
    /// first, then unbonding, for a leaf at risk; unbonding first otherwise; all that is
    /// left if less) and splits it: the challenger's
    /// reward becomes its credit, the client's refund (at most `price`) goes into its
    /// deposit (where its fees come from), and the rest is burned. A slash of a job whose
    /// leaf is not among the leaves the prover holds at risk (`atRisk` false: a missed
    /// deadline, a withheld proof finalized after its leaf left the count) takes only what
    /// the stake holds beyond its debt and `slashPerJob` for each leaf at risk; the rest
    /// becomes debt. So no such slash, whoever opens it and whenever it is finalized, takes
    /// the stake that pays for slashing the leaves at risk, and the prover still loses the
    /// whole `slashPerJob` (the debt is burned when its stake is withdrawn).
    function _slash(
        bytes32 key,
        address prover,
        address client,
        bytes32 jobId,
        uint256 price,
        Fault fault,
        address challenger,
        bool atRisk
    ) internal {
        slashed[key] = true;
        Prover storage p = provers[prover];
        p.slashedJobs += 1;
        uint256 total = p.stake + p.unbonding;
        uint256 amount = slashPerJob;
        if (!atRisk) {
            (, uint256 current, uint256 previous) = _risk(p);
            uint256 held = p.debt + (current + previous) * slashPerJob;
            uint256 free = total > held ? total - held : 0;
            if (amount > free) {
                p.debt += amount - free;
                amount = free;
            }
        }
        if (amount > total) amount = total;
        // A leaf at risk's slash takes bonded stake first, which covers it; any other
        // takes unbonding stake first, so bonded stake never falls below its debt and the
        // cover of the leaves at risk (what `commitBatch` checked), nor does unbonding
        // stake leave untouched by it.
        uint256 fromStake;
        if (atRisk) fromStake = amount < p.stake ? amount : p.stake;
        else if (amount > p.unbonding) fromStake = amount - p.unbonding;
        p.stake -= fromStake;
        p.unbonding -= amount - fromStake;
        uint256 reward = amount * rewardBps / BPS;
        uint256 refund = amount * refundBps / BPS;
        if (refund > price) refund = price;
        uint256 burned = amount - reward - refund;
        credits[challenger] += reward;
        deposits[client] += refund;
        totalBurned += burned;
        emit Slashed(prover, jobId, client, fault, challenger, amount, reward, refund, burned);
        if (burned != 0) _send(address(0), burned);
    }

    /// Reverts `BadAwardSignature` unless the caller, the leaf's client, signed the award
    /// of the leaf to `prover` with `deadline`, and `nonce` is the leaf's job's.
    function _checkAward(Leaf calldata leaf, address prover, uint64 nonce, uint64 deadline, bytes32 r, bytes32 vs)
        internal
        view
    {
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecover(
            _hashTypedDataV4(
                _awardHash(leaf.jobId, prover, leaf.price, deadline, leaf.circuitId, leaf.publicInputsHash)
            ),
            r,
            vs
        );
        if (error != ECDSA.RecoverError.NoError || signer != msg.sender || jobIdOf(msg.sender, nonce) != leaf.jobId) {
            revert BadAwardSignature();
        }
    }

    /// Leaves `p`'s bonded stake covers beyond its debt.
    function _covered(Prover storage p) internal view returns (uint256) {
        return p.stake > p.debt ? (p.stake - p.debt) / slashPerJob : 0;
    }

    /// Whether a leaf of a batch posted at block `committedAt` still counts at risk.
    function _stillAtRisk(uint256 committedAt) internal view returns (bool) {
        uint256 epoch = _epochLength();
        return committedAt / epoch + 1 >= block.number / epoch;
    }

    /// Blocks of an epoch of leaves at risk: `W + R + 1`, so a leaf counts at least until
    /// a challenge opened in the last block of its window can be finalized (`W + R + 1`
    /// blocks after its batch).
    function _epochLength() internal view returns (uint256) {
        return uint256(challengeWindow) + responseWindow + 1;
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
