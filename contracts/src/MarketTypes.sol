// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

/// @title MarketTypes
/// @notice The types, constants, events and errors of `ProverMarket`, shared by every part
///         of it (see `ProverMarket` for which file holds what); no code, no storage.
///         Solidity does not reach an inherited declaration through a derived contract's
///         name: other contracts and the tests name these `MarketTypes.X`.
abstract contract MarketTypes {
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

    // ---- constants -------------------------------------------------------------------

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
}
