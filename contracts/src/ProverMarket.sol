// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BatchLeaf} from "./BatchLeaf.sol";

/// @title ProverMarket
/// @notice Stakes, client deposits, batched commitments and fee claims of the provernet
///         prover market (docs/contracts.md lists every rule and event).
/// @dev Work in progress for issue #4: this version holds the stake registry, deposits,
///      commitments, claims with client-signed EIP-712 awards and the circuit registry.
///      Challenges and slashing come next; until then `openChallenges` is never raised.
contract ProverMarket is EIP712, Ownable, ReentrancyGuard {
    /// @notice A prover's stake and identity.
    struct Prover {
        uint256 stake;
        /// The node's ed25519 public key: the signer of its gossip envelopes.
        bytes32 peerKey;
        /// Amount waiting to be withdrawn, and the block from which it may be.
        uint256 unbonding;
        uint64 unbondableAt;
        /// Challenges against this prover not yet resolved.
        uint32 openChallenges;
        bool registered;
    }

    /// @notice A committed batch root.
    struct Batch {
        address prover;
        bytes32 root;
        uint32 count;
        uint64 blockNumber;
        uint64 timestamp;
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

    /// @notice A client's signed award of a job to a prover.
    struct Award {
        bytes32 jobId;
        address prover;
        uint256 price;
        uint64 deadline;
    }

    bytes32 public constant AWARD_TYPEHASH =
        keccak256("Award(bytes32 jobId,address prover,uint256 price,uint64 deadline)");

    /// Largest delay or window accepted, in blocks.
    uint64 public constant MAX_DELAY = type(uint32).max;

    uint256 public immutable minStake;
    /// Blocks after a batch is posted during which it may be challenged.
    uint64 public immutable challengeWindow;
    /// Blocks a challenged prover has to answer.
    uint64 public immutable responseWindow;
    /// Blocks between unbonding and withdrawal; longer than challenge + response windows.
    uint64 public immutable unbondingDelay;
    /// Blocks between a client's withdrawal request and its withdrawal; longer than the
    /// challenge window.
    uint64 public immutable depositWithdrawalDelay;

    mapping(address => Prover) public provers;
    mapping(address => uint256) public deposits;
    mapping(address => uint256) public withdrawalRequested;
    mapping(address => uint64) public withdrawableAt;
    Batch[] public batches;
    /// Paid jobs, keyed by `claimKey(client, jobId)`: a job id is only unique per client
    /// (off chain it is derived from the client's address), so keying by the id alone
    /// would let anyone block another client's job by claiming a leaf with its id first.
    mapping(bytes32 => bool) public claimed;
    /// circuit id → EVM verifier, and the canonical length of its proofs.
    mapping(bytes32 => address) public verifiers;
    mapping(bytes32 => uint256) public proofLengths;

    event ProverRegistered(address indexed prover, bytes32 peerKey, uint256 stake);
    event StakeAdded(address indexed prover, uint256 amount, uint256 stake);
    event UnbondingStarted(address indexed prover, uint256 amount, uint64 withdrawableAt);
    event StakeWithdrawn(address indexed prover, uint256 amount);
    event Deposited(address indexed client, uint256 amount, uint256 balance);
    event DepositWithdrawalRequested(address indexed client, uint256 amount, uint64 withdrawableAt);
    event DepositWithdrawn(address indexed client, uint256 amount);
    event BatchCommitted(uint256 indexed batchId, address indexed prover, bytes32 root, uint32 count);
    event FeeClaimed(bytes32 indexed jobId, address indexed prover, address indexed client, uint256 price);
    event CircuitRegistered(bytes32 indexed circuitId, address verifier, uint256 proofLength);

    error AlreadyRegistered();
    error NotRegistered();
    error StakeTooLow(uint256 stake, uint256 minimum);
    error ZeroAmount();
    error InsufficientStake(uint256 available, uint256 requested);
    error NothingToWithdraw();
    error TooEarly(uint64 availableAt);
    error ChallengeOpen(uint32 openChallenges);
    error InsufficientDeposit(uint256 available, uint256 requested);
    error EmptyBatch();
    error UnknownBatch(uint256 batchId);
    error NotBatchProver(address prover, address caller);
    error LeafNotInBatch();
    error WindowOpen(uint64 closesAt);
    error AlreadyClaimed(bytes32 jobId);
    error AwardMismatch();
    error CommittedAfterDeadline(uint64 committedAt, uint64 deadline);
    error BadAwardSignature();
    error InvalidParameters();
    error TransferFailed();

    constructor(
        address owner,
        uint256 minStake_,
        uint64 challengeWindow_,
        uint64 responseWindow_,
        uint64 unbondingDelay_,
        uint64 depositWithdrawalDelay_
    ) EIP712("provernet", "1") Ownable(owner) {
        if (minStake_ == 0 || challengeWindow_ == 0 || responseWindow_ == 0) {
            revert InvalidParameters();
        }
        // Windows are bounded so block arithmetic on them can never overflow.
        if (unbondingDelay_ > MAX_DELAY || depositWithdrawalDelay_ > MAX_DELAY) revert InvalidParameters();
        if (unbondingDelay_ <= uint256(challengeWindow_) + responseWindow_) revert InvalidParameters();
        // Awards must stay claimable after a withdrawal request for at least a window.
        if (depositWithdrawalDelay_ <= challengeWindow_) revert InvalidParameters();
        minStake = minStake_;
        challengeWindow = challengeWindow_;
        responseWindow = responseWindow_;
        unbondingDelay = unbondingDelay_;
        depositWithdrawalDelay = depositWithdrawalDelay_;
    }

    // ---- circuits -------------------------------------------------------------------

    /// @notice Sets the verifier of a circuit and the length of its proofs (owner only in
    ///         this version).
    function registerCircuit(bytes32 circuitId, address verifier, uint256 proofLength) external onlyOwner {
        if (verifier == address(0) || proofLength == 0) revert InvalidParameters();
        verifiers[circuitId] = verifier;
        proofLengths[circuitId] = proofLength;
        emit CircuitRegistered(circuitId, verifier, proofLength);
    }

    // ---- stake ----------------------------------------------------------------------

    /// @notice Registers the caller as a prover with its node's ed25519 key.
    function register(bytes32 peerKey) external payable {
        Prover storage p = provers[msg.sender];
        if (p.registered) revert AlreadyRegistered();
        if (msg.value < minStake) revert StakeTooLow(msg.value, minStake);
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
    ///         unbonding delay. Starting again adds to the amount and restarts the delay.
    function unbond(uint256 amount) external {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (amount == 0) revert ZeroAmount();
        if (amount > p.stake) revert InsufficientStake(p.stake, amount);
        p.stake -= amount;
        p.unbonding += amount;
        p.unbondableAt = uint64(block.number) + unbondingDelay;
        emit UnbondingStarted(msg.sender, amount, p.unbondableAt);
    }

    /// @notice Withdraws unbonded stake once the delay has passed and no challenge is open.
    function withdrawStake() external nonReentrant {
        Prover storage p = provers[msg.sender];
        uint256 amount = p.unbonding;
        if (amount == 0) revert NothingToWithdraw();
        if (block.number < p.unbondableAt) revert TooEarly(p.unbondableAt);
        if (p.openChallenges != 0) revert ChallengeOpen(p.openChallenges);
        p.unbonding = 0;
        emit StakeWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Whether `prover` is registered with at least the minimum stake.
    function isStaked(address prover) external view returns (bool) {
        return provers[prover].registered && provers[prover].stake >= minStake;
    }

    // ---- client deposits ------------------------------------------------------------

    /// @notice Adds to the caller's deposit, from which its awarded fees are paid.
    function deposit() external payable {
        if (msg.value == 0) revert ZeroAmount();
        deposits[msg.sender] += msg.value;
        emit Deposited(msg.sender, msg.value, deposits[msg.sender]);
    }

    /// @notice Announces a withdrawal. Awards the client signed stay claimable from the
    ///         deposit until the delay has passed: that is what "promised" means here.
    function requestDepositWithdrawal(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (amount > deposits[msg.sender]) revert InsufficientDeposit(deposits[msg.sender], amount);
        withdrawalRequested[msg.sender] = amount;
        withdrawableAt[msg.sender] = uint64(block.number) + depositWithdrawalDelay;
        emit DepositWithdrawalRequested(msg.sender, amount, withdrawableAt[msg.sender]);
    }

    /// @notice Withdraws the requested amount after the delay, or what is left of it after
    ///         claims paid in the meantime.
    function withdrawDeposit() external nonReentrant {
        uint256 requested = withdrawalRequested[msg.sender];
        if (requested == 0) revert NothingToWithdraw();
        if (block.number < withdrawableAt[msg.sender]) revert TooEarly(withdrawableAt[msg.sender]);
        uint256 amount = requested < deposits[msg.sender] ? requested : deposits[msg.sender];
        if (amount == 0) revert NothingToWithdraw();
        withdrawalRequested[msg.sender] = 0;
        deposits[msg.sender] -= amount;
        emit DepositWithdrawn(msg.sender, amount);
        _send(msg.sender, amount);
    }

    // ---- commitments and claims -------------------------------------------------------

    /// @notice Posts a batch root of `count` job leaves; the caller must be staked.
    function commitBatch(bytes32 root, uint32 count) external returns (uint256 batchId) {
        Prover storage p = provers[msg.sender];
        if (!p.registered) revert NotRegistered();
        if (p.stake < minStake) revert StakeTooLow(p.stake, minStake);
        if (count == 0) revert EmptyBatch();
        batchId = batches.length;
        batches.push(
            Batch({
                prover: msg.sender,
                root: root,
                count: count,
                blockNumber: uint64(block.number),
                timestamp: uint64(block.timestamp)
            })
        );
        emit BatchCommitted(batchId, msg.sender, root, count);
    }

    /// @notice The key of a job in `claimed`.
    function claimKey(address client, bytes32 jobId) public pure returns (bytes32) {
        return keccak256(abi.encode(client, jobId));
    }

    /// @notice Number of batches posted so far (ids are 0..batchCount-1).
    function batchCount() external view returns (uint256) {
        return batches.length;
    }

    /// @notice The EIP-712 digest a client signs to award `award`.
    function awardDigest(Award calldata award) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(abi.encode(AWARD_TYPEHASH, award.jobId, award.prover, award.price, award.deadline))
            );
    }

    /// @notice Claims the fee of one job from a batch whose challenge window has closed,
    ///         with the client's signed award. The batch must have been posted by the
    ///         award's deadline, and each job is paid once.
    function claim(
        uint256 batchId,
        Leaf calldata leaf,
        bytes32[] calldata path,
        Award calldata award,
        bytes calldata clientSignature
    ) external nonReentrant {
        Batch storage batch = _batch(batchId);
        if (batch.prover != msg.sender) revert NotBatchProver(batch.prover, msg.sender);
        uint64 closesAt = batch.blockNumber + challengeWindow;
        if (block.number <= closesAt) revert WindowOpen(closesAt);
        bytes32 key = claimKey(leaf.client, leaf.jobId);
        if (claimed[key]) revert AlreadyClaimed(leaf.jobId);
        if (award.jobId != leaf.jobId || award.prover != msg.sender || award.price != leaf.price) {
            revert AwardMismatch();
        }
        if (batch.timestamp > award.deadline) revert CommittedAfterDeadline(batch.timestamp, award.deadline);
        if (!MerkleProof.verifyCalldata(path, batch.root, _leafHash(leaf))) revert LeafNotInBatch();
        (address signer, ECDSA.RecoverError error,) = ECDSA.tryRecoverCalldata(awardDigest(award), clientSignature);
        if (error != ECDSA.RecoverError.NoError || signer != leaf.client) revert BadAwardSignature();
        uint256 available = deposits[leaf.client];
        if (available < leaf.price) revert InsufficientDeposit(available, leaf.price);
        claimed[key] = true;
        deposits[leaf.client] = available - leaf.price;
        emit FeeClaimed(leaf.jobId, msg.sender, leaf.client, leaf.price);
        _send(msg.sender, leaf.price);
    }

    // ---- internals ------------------------------------------------------------------

    function _batch(uint256 batchId) internal view returns (Batch storage) {
        if (batchId >= batches.length) revert UnknownBatch(batchId);
        return batches[batchId];
    }

    function _leafHash(Leaf calldata leaf) internal pure returns (bytes32) {
        return
            BatchLeaf.hash(leaf.jobId, leaf.circuitId, leaf.publicInputsHash, leaf.proofHash, leaf.client, leaf.price);
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
