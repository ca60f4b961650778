// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MarketClaims} from "./MarketClaims.sol";

/// @title MarketChallenges
/// @notice Challenges and slashing in `ProverMarket`: commit–reveal of evidence, the four
///         challenges (invalid proof, withheld proof, missed deadline, equivocation), their
///         answers and finalization, and the slash with its debt.
abstract contract MarketChallenges is MarketClaims {
    // ---- challenges -------------------------------------------------------------------

    /// @notice Number of challenges opened so far (ids are 0..challengeCount-1).
    function challengeCount() external view returns (uint256) {
        return challenges.length;
    }

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
    ///         shown by anyone but the client, it is ignored); the award is checked and
    ///         marked paid as a claim would be (posted by its deadline, not paid before)
    ///         and the leaf's price moves into the challenge, out of the client's
    ///         reservation for the prover first, then its deposit; a reveal pays that
    ///         price to the prover (and the bond back to the client), a slash or a void
    ///         gives it back to the deposit. So a client buys only from a prover it
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
            // As a claim would pay it: posted by the deadline, the award not paid yet, the
            // price from the client's reservation for the prover first, then its deposit
            // (`_openable` has checked the job is neither slashed nor under challenge).
            Paying memory paying = Paying(prover, batch.timestamp, false, address(0), 0, 0, 0, 0, false);
            _pay(paying, msg.sender, leaf.jobId, nonce, leaf.price, deadline);
            _settle(paying);
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

    // ---- internals -------------------------------------------------------------------

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
}
