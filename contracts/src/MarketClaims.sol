// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {BatchLeaf} from "./BatchLeaf.sol";
import {MarketStakes} from "./MarketStakes.sol";

/// @title MarketClaims
/// @notice Batches and fees in `ProverMarket`: `commitBatch` (leaves in the input, root
///         computed here), job ids and EIP-712 award and acceptance digests, `claimBatch`
///         (payment of awarded fees from reservations and deposits), `isFinal`, and the
///         batch, leaf, Merkle-root and award helpers the challenges use too.
abstract contract MarketClaims is MarketStakes {
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

    /// @notice Whether `client`'s award of its job `nonce` to `prover` has been paid (by a
    ///         claim, or bought by a withheld-proof challenge).
    function isPaid(address client, address prover, uint64 nonce) public view returns (bool) {
        // forge-lint: disable-next-line(incorrect-shift)
        return (paidJobs[client][prover][nonce >> 8] & (1 << (nonce & 0xff))) != 0;
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
        Paying memory paying =
            Paying(msg.sender, batch.timestamp, isDisputed(msg.sender), address(0), 0, 0, 0, 0, false);
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
    /// checks the award and pays from the client's reservation for the prover, then its
    /// deposit.
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

    /// What every claim of a batch (or a purchase) needs to know about it, read from
    /// storage once, and the storage a run of claims of one client touches, held in
    /// memory: the deposit and reservation are read when the client changes, the paid-jobs
    /// word when the word changes, and written back (`_settle`) on either change and at the
    /// end, so a batch of one client's jobs reads and writes its deposit and each paid-jobs
    /// word once, not once per job.
    struct Paying {
        /// The prover paid: the claimer, or the batch's prover for a purchase.
        address prover;
        uint64 committedAt;
        bool isDisputed;
        /// The client held (zero: none yet), its deposit less what this call paid, the
        /// index of its paid-jobs word held and that word with this call's bits set.
        address client;
        uint256 available;
        uint256 word;
        uint256 paid;
        /// The client's reservation for `prover` less what this call took from it, and
        /// whether it took anything since the last write-back.
        uint256 reserved;
        bool reservationUsed;
    }

    /// Checks a job is payable (batch posted by the deadline, not slashed or under
    /// challenge, not paid before, deposit enough), marks it paid and takes its price from
    /// the client's reservation for `paying.prover` first and the rest from the client's
    /// deposit, in `paying` (`_settle` writes it back).
    function _pay(Paying memory paying, address client, bytes32 jobId, uint64 nonce, uint256 price, uint64 deadline)
        internal
    {
        if (paying.committedAt > deadline) revert CommittedAfterDeadline(paying.committedAt, deadline);
        if (paying.isDisputed) {
            bytes32 key = jobKey(paying.prover, client, jobId);
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
                paying.reserved = reservations[client][paying.prover].amount;
            }
            paying.word = word;
            paying.paid = paidJobs[client][paying.prover][word];
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
        paidJobs[paying.client][paying.prover][paying.word] = paying.paid;
        deposits[paying.client] = paying.available;
        if (paying.reservationUsed) {
            // casting to 'uint128' is safe because it only went down from a uint128.
            // forge-lint: disable-next-line(unsafe-typecast)
            reservations[paying.client][paying.prover].amount = uint128(paying.reserved);
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
}
