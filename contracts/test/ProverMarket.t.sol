// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "./utils/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ProverMarket} from "../src/ProverMarket.sol";
import {MarketTypes} from "../src/MarketTypes.sol";
import {CircuitStore} from "../src/CircuitStore.sol";
import {CircuitRegistrar} from "../src/CircuitRegistrar.sol";
import {CommitRelay, MarketFixture, MerkleBuilder} from "./utils/MarketFixture.sol";

/// A "verifier" that accepts every call: `registerCircuit` must refuse it.
contract AcceptEverythingVerifier {
    fallback() external {}
}

/// A verifier that checks the public inputs and ignores the proof: it accepts the sample
/// with its first proof byte flipped, so `registerCircuit` refuses it.
contract InputsOnlyVerifier {
    bytes32 internal immutable inputsHash;
    uint256 internal immutable inputsLength;

    constructor(uint256[] memory inputs) {
        inputsHash = keccak256(abi.encodePacked(inputs));
        inputsLength = inputs.length * 32;
    }

    fallback() external {
        require(msg.data.length > inputsLength && keccak256(msg.data[:inputsLength]) == inputsHash, "rejected");
    }
}

/// A verifier that accepts exactly one call data (inputs ‖ proof) and rejects every other.
contract ExactInputVerifier {
    bytes32 internal immutable accepted;

    constructor(bytes memory input) {
        accepted = keccak256(input);
    }

    fallback() external {
        require(keccak256(msg.data) == accepted, "rejected");
    }
}

/// A verifier that accepts exactly one call data, and costs about `burn` gas whatever the
/// call: what it spends before looking at the input.
contract CostlyExactInputVerifier {
    bytes32 internal immutable accepted;
    uint256 internal immutable burn;

    constructor(bytes memory input, uint256 burn_) {
        accepted = keccak256(input);
        burn = burn_;
    }

    fallback() external {
        uint256 start = gasleft();
        while (start - gasleft() < burn) {}
        require(keccak256(msg.data) == accepted, "rejected");
    }
}

/// One test per rule and per revert reason of ProverMarket (docs/contracts.md), plus fuzz
/// tests. The invariant suite is in ProverMarket.invariant.t.sol.
contract ProverMarketTest is MarketFixture {
    // ================================================================================
    // constructor
    // ================================================================================

    function test_constructor_storesParameters() public view {
        assertEq(market.minStake(), MIN_STAKE);
        assertEq(market.challengeWindow(), CHALLENGE_WINDOW);
        assertEq(market.responseWindow(), RESPONSE_WINDOW);
        assertEq(market.unbondingDelay(), UNBONDING_DELAY);
        assertEq(market.depositWithdrawalDelay(), DEPOSIT_DELAY);
        assertEq(market.challengeBond(), BOND);
        assertEq(market.slashPerJob(), SLASH_PER_JOB);
        assertEq(market.rewardBps(), REWARD_BPS);
        assertEq(market.refundBps(), REFUND_BPS);
        assertEq(market.maxDeadline(), MAX_DEADLINE);
        assertEq(market.deadlineChallengePeriod(), DEADLINE_PERIOD);
        assertEq(market.batchCount(), 0);
        assertEq(market.challengeCount(), 0);
        assertEq(market.totalBurned(), 0);
    }

    /// Deploys with `p` and expects InvalidParameters.
    function _expectInvalid(MarketTypes.Params memory p) internal {
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.InvalidParameters.selector));
        new ProverMarket(p);
    }

    function test_constructor_revertsOnZeroMinStake() public {
        MarketTypes.Params memory p = _params();
        p.minStake = 0;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnZeroChallengeWindow() public {
        MarketTypes.Params memory p = _params();
        p.challengeWindow = 0;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnZeroResponseWindow() public {
        MarketTypes.Params memory p = _params();
        p.responseWindow = 0;
        _expectInvalid(p);
    }

    function test_constructor_revertsWhenUnbondingDelayEqualsBothWindows() public {
        MarketTypes.Params memory p = _params();
        p.unbondingDelay = CHALLENGE_WINDOW + RESPONSE_WINDOW;
        _expectInvalid(p);
    }

    function test_constructor_revertsWhenUnbondingDelayBelowBothWindows() public {
        MarketTypes.Params memory p = _params();
        p.unbondingDelay = CHALLENGE_WINDOW + RESPONSE_WINDOW - 1;
        _expectInvalid(p);
    }

    function test_constructor_acceptsUnbondingDelayOneAboveBothWindows() public {
        MarketTypes.Params memory p = _params();
        p.unbondingDelay = CHALLENGE_WINDOW + RESPONSE_WINDOW + 1;
        ProverMarket m = new ProverMarket(p);
        assertEq(m.unbondingDelay(), CHALLENGE_WINDOW + RESPONSE_WINDOW + 1);
    }

    function test_constructor_revertsWhenDepositDelayNotAboveChallengeWindow() public {
        MarketTypes.Params memory p = _params();
        p.depositWithdrawalDelay = CHALLENGE_WINDOW;
        _expectInvalid(p);
        p.depositWithdrawalDelay = CHALLENGE_WINDOW + 1;
        assertEq(new ProverMarket(p).depositWithdrawalDelay(), CHALLENGE_WINDOW + 1);
    }

    function test_constructor_revertsOnChallengeWindowAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.challengeWindow = MAX_DELAY + 1;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnResponseWindowAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.responseWindow = MAX_DELAY + 1;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnUnbondingDelayAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.unbondingDelay = MAX_DELAY + 1;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnDepositDelayAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.depositWithdrawalDelay = MAX_DELAY + 1;
        _expectInvalid(p);
    }

    function test_constructor_acceptsDelaysAtMaximum() public {
        MarketTypes.Params memory p = _params();
        p.unbondingDelay = MAX_DELAY;
        p.depositWithdrawalDelay = MAX_DELAY;
        ProverMarket m = new ProverMarket(p);
        assertEq(m.unbondingDelay(), MAX_DELAY);
        assertEq(m.depositWithdrawalDelay(), MAX_DELAY);
    }

    /// Windows whose sum would overflow uint64 revert InvalidParameters, not a panic.
    function test_constructor_revertsInvalidParametersWhenWindowsOverflow() public {
        MarketTypes.Params memory p = _params();
        p.challengeWindow = type(uint64).max;
        p.unbondingDelay = type(uint64).max;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnZeroBond() public {
        MarketTypes.Params memory p = _params();
        p.challengeBond = 0;
        _expectInvalid(p);
    }

    function test_constructor_revertsOnZeroSlashPerJob() public {
        MarketTypes.Params memory p = _params();
        p.slashPerJob = 0;
        _expectInvalid(p);
        p.slashPerJob = 1;
        assertEq(new ProverMarket(p).slashPerJob(), 1);
    }

    /// The least stake must cover at least one slash.
    function test_constructor_revertsOnSlashPerJobAboveMinStake() public {
        MarketTypes.Params memory p = _params();
        p.slashPerJob = MIN_STAKE + 1;
        _expectInvalid(p);
        p.slashPerJob = MIN_STAKE;
        assertEq(new ProverMarket(p).slashPerJob(), MIN_STAKE);
    }

    function test_constructor_revertsOnZeroMaxDeadline() public {
        MarketTypes.Params memory p = _params();
        p.maxDeadline = 0;
        _expectInvalid(p);
        p.maxDeadline = 1;
        assertEq(new ProverMarket(p).maxDeadline(), 1);
    }

    function test_constructor_revertsOnMaxDeadlineAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.maxDeadline = MAX_DELAY + 1;
        _expectInvalid(p);
        p.maxDeadline = MAX_DELAY;
        assertEq(new ProverMarket(p).maxDeadline(), MAX_DELAY);
    }

    function test_constructor_revertsOnZeroDeadlineChallengePeriod() public {
        MarketTypes.Params memory p = _params();
        p.deadlineChallengePeriod = 0;
        _expectInvalid(p);
        p.deadlineChallengePeriod = 1;
        assertEq(new ProverMarket(p).deadlineChallengePeriod(), 1);
    }

    function test_constructor_revertsOnDeadlineChallengePeriodAboveMaximum() public {
        MarketTypes.Params memory p = _params();
        p.deadlineChallengePeriod = MAX_DELAY + 1;
        _expectInvalid(p);
        p.deadlineChallengePeriod = MAX_DELAY;
        assertEq(new ProverMarket(p).deadlineChallengePeriod(), MAX_DELAY);
    }

    function test_constructor_revertsWhenRewardPlusRefundAboveWhole() public {
        MarketTypes.Params memory p = _params();
        p.rewardBps = 6_000;
        p.refundBps = 4_001;
        _expectInvalid(p);
        p.refundBps = 4_000;
        ProverMarket m = new ProverMarket(p);
        assertEq(m.rewardBps(), 6_000);
        assertEq(m.refundBps(), 4_000);
    }

    /// No account holds any power over the market: it has no owner, and no function of
    /// `Ownable` answers.
    function test_constructor_takesNoOwner() public {
        bytes[3] memory calls = [
            abi.encodeWithSignature("owner()"),
            abi.encodeWithSignature("transferOwnership(address)", prover),
            abi.encodeWithSignature("renounceOwnership()")
        ];
        for (uint256 i = 0; i < calls.length; i++) {
            (bool ok,) = address(market).call(calls[i]);
            assertFalse(ok);
        }
    }

    /// A challenge window must outlast the response window by more than the block that
    /// commit–reveal adds: W = R + 2 is refused, W = R + 3 is accepted.
    function test_constructor_revertsWhenChallengeWindowNotAboveResponseWindowPlusTwo() public {
        MarketTypes.Params memory p = _params();
        p.challengeWindow = RESPONSE_WINDOW + 2;
        _expectInvalid(p);
        p.challengeWindow = RESPONSE_WINDOW + 1;
        _expectInvalid(p);
        p.challengeWindow = RESPONSE_WINDOW;
        _expectInvalid(p);
        p.challengeWindow = RESPONSE_WINDOW + 3;
        ProverMarket m = new ProverMarket(p);
        assertEq(m.challengeWindow(), RESPONSE_WINDOW + 3);
        assertEq(m.responseWindow(), RESPONSE_WINDOW);
    }

    function test_awardDigest_isEip712WithProvernetDomain() public view {
        MarketTypes.Award memory a = MarketTypes.Award({
            jobId: keccak256("job"),
            prover: prover,
            price: 3 gwei,
            deadline: 1234,
            circuitId: CIRCUIT,
            publicInputsHash: keccak256("public inputs")
        });
        bytes32 domain = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("provernet"),
                keccak256("1"),
                block.chainid,
                address(market)
            )
        );
        bytes32 typeHash = keccak256(
            "Award(bytes32 jobId,address prover,uint256 price,uint64 deadline,bytes32 circuitId,bytes32 publicInputsHash)"
        );
        bytes32 structHash =
            keccak256(abi.encode(typeHash, a.jobId, a.prover, a.price, a.deadline, a.circuitId, a.publicInputsHash));
        assertEq(market.awardDigest(a), keccak256(abi.encodePacked("\x19\x01", domain, structHash)));
    }

    // ================================================================================
    // register
    // ================================================================================

    function test_register_revertsWhenStakeBelowMinimum() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.register{value: MIN_STAKE - 1}(PEER_KEY);
    }

    function test_register_revertsWithoutValue() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, 0, MIN_STAKE));
        market.register(PEER_KEY);
    }

    function test_register_revertsWhenAlreadyRegistered() public {
        _register(prover, MIN_STAKE);
        vm.deal(prover, 2 * MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.AlreadyRegistered.selector));
        market.register{value: 2 * MIN_STAKE}(PEER_KEY);
    }

    function test_register_revertsOnZeroPeerKey() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(CircuitStore.InvalidParameters.selector));
        market.register{value: MIN_STAKE}(bytes32(0));
    }

    function test_register_revertsWhenPeerKeyTaken() public {
        vm.deal(prover, MIN_STAKE);
        vm.prank(prover);
        market.register{value: MIN_STAKE}(PEER_KEY);
        vm.deal(otherProver, MIN_STAKE);
        vm.prank(otherProver);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PeerKeyTaken.selector, prover));
        market.register{value: MIN_STAKE}(PEER_KEY);
        (,,,,,,,,,,, bool registered) = market.provers(otherProver);
        assertFalse(registered);
        assertEq(market.proverOfPeerKey(PEER_KEY), prover);
    }

    function test_register_storesProverAndEmits() public {
        vm.deal(prover, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.ProverRegistered(prover, PEER_KEY, MIN_STAKE);
        vm.prank(prover);
        market.register{value: MIN_STAKE}(PEER_KEY);

        (
            uint256 stake,
            uint256 debt,
            bytes32 peerKey,
            uint256 unbonding,
            uint40 at,
            uint40 after_,
            uint32 open,
            uint32 slashedJobs,
            uint40 riskEpoch,
            uint32 riskCurrent,
            uint32 riskPrevious,
            bool registered
        ) = market.provers(prover);
        assertEq(stake, MIN_STAKE);
        assertEq(debt, 0);
        assertEq(peerKey, PEER_KEY);
        assertEq(unbonding, 0);
        assertEq(at, 0);
        assertEq(after_, 0);
        assertEq(open, 0);
        assertEq(slashedJobs, 0);
        assertEq(riskEpoch, 0);
        assertEq(riskCurrent, 0);
        assertEq(riskPrevious, 0);
        assertTrue(registered);
        assertEq(market.proverOfPeerKey(PEER_KEY), prover);
        assertEq(address(market).balance, MIN_STAKE);
        assertEq(prover.balance, 0);
    }

    // ================================================================================
    // addStake
    // ================================================================================

    function test_addStake_revertsWhenNotRegistered() public {
        vm.deal(prover, 1 ether);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.addStake{value: 1 ether}();
    }

    function test_addStake_revertsOnZeroAmount() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.addStake();
    }

    function test_addStake_addsAndEmits() public {
        _register(prover, MIN_STAKE);
        vm.deal(prover, 3 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeAdded(prover, 3 ether, MIN_STAKE + 3 ether);
        vm.prank(prover);
        market.addStake{value: 3 ether}();
        assertEq(_stakeOf(prover), MIN_STAKE + 3 ether);
        assertEq(address(market).balance, MIN_STAKE + 3 ether);
    }

    // ================================================================================
    // unbond
    // ================================================================================

    function test_unbond_revertsWhenNotRegistered() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.unbond(1);
    }

    function test_unbond_revertsOnZeroAmount() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.unbond(0);
    }

    function test_unbond_revertsAboveStake() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientStake.selector, 2 ether, 2 ether + 1));
        market.unbond(2 ether + 1);
    }

    function test_unbond_movesStakeAsideAndEmits() public {
        _register(prover, 3 ether);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        uint64 afterTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.UnbondingStarted(prover, 1 ether, at, afterTime);
        vm.prank(prover);
        market.unbond(1 ether);

        (uint256 unbonding, uint64 unbondableAt) = _unbondingOf(prover);
        assertEq(_stakeOf(prover), 2 ether);
        assertEq(unbonding, 1 ether);
        assertEq(unbondableAt, at);
        assertEq(_unbondableAfter(prover), afterTime);
        assertEq(address(market).balance, 3 ether, "nothing leaves the contract");
    }

    function test_unbond_allOfTheStake() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(2 ether);
        assertEq(_stakeOf(prover), 0);
        assertFalse(_isStaked(prover));
    }

    function test_unbond_againAccumulatesAndRestartsDelay() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        vm.roll(block.number + 7);
        vm.warp(block.timestamp + 70);
        uint64 restarted = uint64(block.number) + UNBONDING_DELAY;
        uint64 restartedTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.UnbondingStarted(prover, 0.5 ether, restarted, restartedTime);
        vm.prank(prover);
        market.unbond(0.5 ether);

        (uint256 unbonding, uint64 unbondableAt) = _unbondingOf(prover);
        assertEq(unbonding, 1.5 ether);
        assertEq(unbondableAt, restarted);
        assertEq(_unbondableAfter(prover), restartedTime, "time restarts too");
        assertEq(_stakeOf(prover), 1.5 ether);
    }

    function test_unbond_belowMinimumMakesProverUnstaked() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        market.unbond(1);
        assertFalse(_isStaked(prover));
    }

    // ================================================================================
    // withdrawStake
    // ================================================================================

    function test_withdrawStake_revertsWhenNothingUnbonding() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsForUnknownProver() public {
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsOneBlockBeforeDelayEnds() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        vm.warp(_unbondableAfter(prover)); // the time condition holds: only the blocks are missing
        vm.roll(at - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
        market.withdrawStake();
    }

    /// Blocks pass much faster than the deadline horizon: the unbonding delay alone is not
    /// enough while a deadline the prover may have accepted can still be challenged.
    function test_withdrawStake_revertsOneSecondBeforeTimeDelayEnds() public {
        _register(prover, 2 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 unbondableAfter = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        assertEq(_unbondableAfter(prover), unbondableAfter);
        vm.roll(block.number + 100 * UNBONDING_DELAY);
        vm.warp(unbondableAfter - 1);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, unbondableAfter));
        market.withdrawStake();

        vm.warp(unbondableAfter);
        vm.prank(prover);
        market.withdrawStake();
        assertEq(prover.balance, 1 ether);
    }

    function test_withdrawStake_revertsAtOldTimeBoundaryAfterRestart() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 first = _unbondableAfter(prover);
        vm.warp(block.timestamp + 1 hours);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 second = _unbondableAfter(prover);
        assertEq(second, first + 1 hours);
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(first);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, second));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsAtOldBoundaryAfterRestart() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 first = uint64(block.number) + UNBONDING_DELAY;
        vm.roll(block.number + 5);
        vm.prank(prover);
        market.unbond(1 ether);
        uint64 second = uint64(block.number) + UNBONDING_DELAY;
        vm.warp(_unbondableAfter(prover));
        vm.roll(first);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, second));
        market.withdrawStake();
    }

    function test_withdrawStake_paysExactAmountAtBoundaryAndEmits() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1.25 ether);
        // Exactly at both boundaries: the first block and the first second allowed.
        vm.roll(block.number + UNBONDING_DELAY);
        vm.warp(block.timestamp + MAX_DEADLINE + DEADLINE_PERIOD + 1);

        uint256 proverBefore = prover.balance;
        uint256 marketBefore = address(market).balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.StakeWithdrawn(prover, 1.25 ether, 0);
        vm.prank(prover);
        market.withdrawStake();

        assertEq(prover.balance, proverBefore + 1.25 ether);
        assertEq(address(market).balance, marketBefore - 1.25 ether);
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(unbonding, 0);
        assertEq(_stakeOf(prover), 1.75 ether, "bonded stake untouched");
    }

    function test_withdrawStake_cannotWithdrawTwice() public {
        _register(prover, 3 ether);
        vm.prank(prover);
        market.unbond(1 ether);
        _passUnbonding(prover);
        vm.prank(prover);
        market.withdrawStake();
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawStake();
    }

    function test_withdrawStake_revertsWhileChallengeOpen() public {
        _register(prover, 3 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        uint256 id = _commit(prover, leaves);
        vm.prank(prover);
        market.unbond(1 ether);
        _challengeWithheld(otherClient, id, leaves, 1);
        _passUnbonding(prover);
        (,,,,,, uint32 open,,,,,) = market.provers(prover);
        assertEq(open, 1);

        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ChallengeOpen.selector, uint32(1)));
        market.withdrawStake();
    }

    // ================================================================================
    // deposit
    // ================================================================================

    function test_deposit_revertsOnZeroAmount() public {
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.deposit();
    }

    function test_deposit_accumulatesAndEmits() public {
        _deposit(client, 1 ether);
        vm.deal(client, 2 ether);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.Deposited(client, 2 ether, 3 ether);
        vm.prank(client);
        market.deposit{value: 2 ether}();
        assertEq(market.deposits(client), 3 ether);
        assertEq(address(market).balance, 3 ether);
    }

    // ================================================================================
    // requestDepositWithdrawal
    // ================================================================================

    function test_requestDepositWithdrawal_revertsOnZeroAmount() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ZeroAmount.selector));
        market.requestDepositWithdrawal(0);
    }

    function test_requestDepositWithdrawal_revertsAboveDeposit() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 1 ether, 1 ether + 1));
        market.requestDepositWithdrawal(1 ether + 1);
    }

    function test_requestDepositWithdrawal_revertsWithoutDeposit() public {
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0, 1));
        market.requestDepositWithdrawal(1);
    }

    function test_requestDepositWithdrawal_recordsAndEmits() public {
        _deposit(client, 1 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawalRequested(client, 0.4 ether, at);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        assertEq(market.withdrawalRequested(client), 0.4 ether);
        assertEq(market.withdrawableAt(client), at);
        assertEq(market.deposits(client), 1 ether, "deposit stays until the withdrawal");
    }

    function test_requestDepositWithdrawal_againReplacesAmountAndRestartsDelay() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + 3);
        vm.prank(client);
        market.requestDepositWithdrawal(0.1 ether);
        assertEq(market.withdrawalRequested(client), 0.1 ether);
        assertEq(market.withdrawableAt(client), uint64(block.number) + DEPOSIT_DELAY);
    }

    // ================================================================================
    // withdrawDeposit
    // ================================================================================

    function test_withdrawDeposit_revertsWithoutRequest() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_revertsOneBlockBeforeDelayEnds() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(at - 1);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysRequestedAmountAtBoundaryAndEmits() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);

        uint256 before = client.balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawn(client, 0.4 ether);
        vm.prank(client);
        market.withdrawDeposit();

        assertEq(client.balance, before + 0.4 ether);
        assertEq(market.deposits(client), 0.6 ether);
        assertEq(market.withdrawalRequested(client), 0);
        assertEq(address(market).balance, 0.6 ether);
    }

    function test_withdrawDeposit_cannotWithdrawTwice() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysWhatIsLeftAfterClaims() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 5 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(4 ether);

        // A job awarded for 3 ether is claimed while the withdrawal waits.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 3 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);
        assertEq(market.deposits(client), 2 ether);

        vm.roll(block.number + DEPOSIT_DELAY);
        uint256 before = client.balance;
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.DepositWithdrawn(client, 2 ether);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, before + 2 ether);
        assertEq(market.deposits(client), 0);
        assertEq(address(market).balance, MIN_STAKE);
    }

    function test_withdrawDeposit_revertsWhenClaimsTookEverything() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);

        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 1 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);

        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
        market.withdrawDeposit();
    }

    function test_withdrawDeposit_paysAtTheLastBlockBeforeTheRequestLapses() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(at + DEPOSIT_DELAY - 1);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.4 ether);
        assertEq(market.deposits(client), 0.6 ether);
    }

    /// A request runs for `depositWithdrawalDelay` blocks from `withdrawableAt` and then
    /// lapses; a new request starts over.
    function test_withdrawDeposit_revertsRequestLapsedAtTheFirstLapsedBlock() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        uint64 lapsedAt = at + DEPOSIT_DELAY;
        vm.roll(lapsedAt);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsedAt));
        market.withdrawDeposit();
        vm.roll(lapsedAt + 1_000);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.RequestLapsed.selector, lapsedAt));
        market.withdrawDeposit();
        assertEq(market.deposits(client), 1 ether);

        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 again = uint64(block.number) + DEPOSIT_DELAY;
        vm.roll(again - 1);
        vm.prank(client);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, again));
        market.withdrawDeposit();
        vm.roll(again);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(client.balance, 0.4 ether);
    }

    // ================================================================================
    // freeDeposit
    // ================================================================================

    function test_freeDeposit_isTheDepositWithoutARequest() public {
        assertEq(market.freeDeposit(client), 0);
        _deposit(client, 1 ether);
        assertEq(market.freeDeposit(client), 1 ether);
    }

    /// A pending request counts from the request until it lapses: through the delay and
    /// through the blocks in which it may be carried out.
    function test_freeDeposit_lessAPendingRequestUntilItLapses() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        uint64 at = uint64(block.number) + DEPOSIT_DELAY;
        assertEq(market.freeDeposit(client), 0.6 ether);
        vm.roll(at);
        assertEq(market.freeDeposit(client), 0.6 ether);
        vm.roll(at + DEPOSIT_DELAY - 1);
        assertEq(market.freeDeposit(client), 0.6 ether, "last block the request may run");
        vm.roll(at + DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether, "lapsed: the whole deposit again");
    }

    function test_freeDeposit_isZeroWhenTheRequestCoversTheDeposit() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        assertEq(market.freeDeposit(client), 0, "request == deposit");

        // A claim paid meanwhile leaves the request above the deposit.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 0.3 ether);
        MarketTypes.Award memory award = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, award);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, award, sig);
        assertEq(market.deposits(client), 0.7 ether);
        assertEq(market.freeDeposit(client), 0, "request > deposit");

        _deposit(client, 0.5 ether);
        assertEq(market.freeDeposit(client), 0.2 ether, "a top-up above the request is free");
    }

    function test_freeDeposit_ignoresALapsedRequestAndFollowsANewOne() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        vm.roll(block.number + 2 * DEPOSIT_DELAY);
        assertEq(market.freeDeposit(client), 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.25 ether);
        assertEq(market.freeDeposit(client), 0.75 ether);
    }

    function test_freeDeposit_isTheDepositAfterTheWithdrawal() public {
        _deposit(client, 1 ether);
        vm.prank(client);
        market.requestDepositWithdrawal(0.4 ether);
        vm.roll(block.number + DEPOSIT_DELAY);
        vm.prank(client);
        market.withdrawDeposit();
        assertEq(market.freeDeposit(client), 0.6 ether);
    }

    // ================================================================================
    // registerCircuit / circuitIdOf
    // ================================================================================

    /// Registers `verifier` with the sample from an account of no standing (registration
    /// is permissionless), expecting `err` unless it is empty; returns the id it got.
    function _registerWith(address verifier, uint256[] memory sampleInputs, bytes memory sampleProof, bytes memory err)
        internal
        returns (bytes32 circuitId)
    {
        vm.prank(makeAddr("anyone"));
        if (err.length != 0) vm.expectRevert(err);
        circuitId = market.registerCircuit(verifier, sampleInputs, sampleProof);
    }

    /// The id a registration of `verifier`'s code with a sample of this shape gets.
    function _idOf(address verifier, uint256[] memory sampleInputs, bytes memory sampleProof)
        internal
        view
        returns (bytes32)
    {
        return market.circuitIdOf(verifier.codehash, sampleInputs.length, sampleProof.length);
    }

    function _invalidParameters() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(CircuitStore.InvalidParameters.selector);
    }

    /// Nothing is stored for `circuitId`.
    function _assertUnregistered(bytes32 circuitId) internal view {
        assertEq(_circuit(circuitId).verifier, address(0));
        assertEq(_circuit(circuitId).proofLength, 0);
        assertEq(_circuit(circuitId).publicInputs, 0);
        assertEq(_circuit(circuitId).gasLimit, 0);
    }

    /// `logs` hold exactly one event of the market, `CircuitRegistered` of `circuitId`,
    /// naming what the registration stored (the gas cap it measured included).
    function _assertRegisteredEvent(Vm.Log[] memory logs, bytes32 circuitId) internal view {
        assertEq(logs.length, 1, "one event");
        assertEq(logs[0].emitter, address(market));
        assertEq(logs[0].topics.length, 2);
        assertEq(logs[0].topics[0], CircuitStore.CircuitRegistered.selector);
        assertEq(logs[0].topics[1], circuitId);
        CircuitStore.Circuit memory c = _circuit(circuitId);
        assertEq(logs[0].data, abi.encode(c.verifier, c.proofLength, c.publicInputs, c.gasLimit));
    }

    /// `sampleProof` with its first byte flipped (what `registerCircuit` checks is rejected).
    function _flipped(bytes memory sampleProof) internal pure returns (bytes memory corrupted) {
        corrupted = bytes.concat(sampleProof);
        corrupted[0] ^= 0x01;
    }

    /// The same call data as `(sampleInputs, sampleProof)` plus one word, split as one more
    /// public input: the proof's first word moves into the inputs and `extra` ends the proof,
    /// which keeps its length.
    function _shiftedByOneWord(uint256[] memory sampleInputs, bytes memory sampleProof, bytes32 extra)
        internal
        pure
        returns (uint256[] memory moreInputs, bytes memory shiftedProof)
    {
        moreInputs = new uint256[](sampleInputs.length + 1);
        for (uint256 i = 0; i < sampleInputs.length; i++) {
            moreInputs[i] = sampleInputs[i];
        }
        uint256 firstWord;
        assembly ("memory-safe") {
            firstWord := mload(add(sampleProof, 0x20))
        }
        moreInputs[sampleInputs.length] = firstWord;
        shiftedProof = new bytes(sampleProof.length);
        for (uint256 i = 32; i < sampleProof.length; i++) {
            shiftedProof[i - 32] = sampleProof[i];
        }
        for (uint256 i = 0; i < 32; i++) {
            shiftedProof[sampleProof.length - 32 + i] = extra[i];
        }
    }

    /// The least gas with which `verifier` accepts `input`, by binary search over direct
    /// calls (a verifier's cost is the same for every call of the same input).
    function _leastGas(address verifier, bytes memory input) internal view returns (uint64 lo) {
        uint64 hi = VERIFIER_GAS;
        (bool ok,) = verifier.staticcall{gas: hi}(input);
        require(ok, "the sample verifies with VERIFIER_GAS");
        lo = 1;
        while (lo < hi) {
            uint64 mid = (lo + hi) / 2;
            (ok,) = verifier.staticcall{gas: mid}(input);
            if (ok) hi = mid;
            else lo = mid + 1;
        }
    }

    /// The id is keccak256(abi.encode(codeHash, publicInputs, proofLength)): the literal
    /// is the one the nodes' `circuit_id_of` is tested against (circuits/src/verifier.rs).
    function test_circuitIdOf_matchesTheNodes() public view {
        bytes32 codeHash = bytes32(type(uint256).max / 0xff * 0x11); // 0x1111…11
        bytes32 id = market.circuitIdOf(codeHash, 1, 1984);
        assertEq(id, 0x1a2a439528bfa793d49ebc3b3725f639ebf7166bb1bb59d2886995c15bb4a981);
        assertEq(id, keccak256(abi.encode(codeHash, uint256(1), uint256(1984))));
        assertNotEq(id, market.circuitIdOf(codeHash, 2, 1952), "another number of public inputs");
        assertNotEq(id, market.circuitIdOf(codeHash, 1, 2016), "another proof length");
        assertNotEq(id, market.circuitIdOf(~codeHash, 1, 1984), "another verifier");
    }

    /// Any account registers a circuit, and gets the id derived from its verifier's code
    /// and its sample's shape.
    function test_registerCircuit_isPermissionless() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.prank(client);
        bytes32 id = market.registerCircuit(verifier, ins, prf);
        assertEq(id, _idOf(verifier, ins, prf));
        assertEq(_circuit(id).verifier, verifier);
        assertTrue(market.checkProof(id, ins, prf));
    }

    function test_registerCircuit_revertsOnZeroVerifier() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        _registerWith(address(0), ins, prf, _invalidParameters());
        _assertUnregistered(_idOf(address(0), ins, prf));
    }

    function test_registerCircuit_revertsOnVerifierWithoutCode() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        address eoa = makeAddr("an EOA");
        _registerWith(eoa, ins, prf, _invalidParameters());
        _assertUnregistered(_idOf(eoa, ins, prf));
    }

    /// The sample sets the length of the circuit's proofs: an empty one is refused, even by
    /// a verifier that accepts the inputs alone.
    function test_registerCircuit_revertsOnEmptySampleProof() public {
        (uint256[] memory ins,) = _verifierSample();
        address inputsAlone = address(new ExactInputVerifier(abi.encodePacked(ins)));
        address verifier = _deployVerifier();
        _registerWith(inputsAlone, ins, "", _invalidParameters());
        _registerWith(verifier, ins, "", _invalidParameters());
        _assertUnregistered(_idOf(inputsAlone, ins, ""));
        _assertUnregistered(_idOf(verifier, ins, ""));
    }

    function test_registerCircuit_storesAndEmits() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        assertEq(prf.length, 1984);
        assertEq(ins.length, 1);
        vm.recordLogs();
        bytes32 id = _registerWith(verifier, ins, prf, "");
        assertEq(id, market.circuitIdOf(verifier.codehash, 1, 1984), "the derived id");
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).verifier, verifier);
        assertEq(_circuit(id).proofLength, 1984, "the sample's length");
        assertEq(_circuit(id).publicInputs, 1, "the sample's number of inputs");
        assertEq(_circuit(id).codeHash, verifier.codehash);
        assertGt(_circuit(id).gasLimit, 0);
        assertTrue(market.checkProof(id, ins, prf));
        assertFalse(market.checkProof(id, ins, _flipped(prf)));
    }

    /// The fixture's verifier registers under the id the circuits crate derived for it
    /// (`circuit_id_of`, written into the fixture): a node finds the registration of the
    /// verifier it compiled from its own keys, whoever registered it.
    function test_registerCircuit_derivesTheIdTheNodesDo() public {
        (, bytes32 id) = _registerFixtureVerifier();
        string memory json = vm.readFile(string.concat(vm.projectRoot(), VERIFIER_FIXTURE));
        assertEq(id, vm.parseJsonBytes32(json, ".circuitId"));
    }

    /// The gas each verification is given is measured on the sample: the verifier's cost
    /// (about 284k gas for the real verifier), plus a 32nd. Nobody chooses it, and it
    /// verifies the valid proof.
    function test_registerCircuit_measuresTheGasCapOnTheSample() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        uint64 cost = _leastGas(verifier, abi.encodePacked(ins, prf));
        emit log_named_uint("verifier cost of the sample (gas)", cost);
        assertGt(cost, 250_000);
        assertLt(cost, 360_000);
        bytes32 id = _registerWith(verifier, ins, prf, "");
        uint256 cap = _circuit(id).gasLimit;
        emit log_named_uint("gas cap measured at registration", cap);
        assertGe(cap, cost + cost / 50, "the cost and a margin");
        assertLe(cap, cost + cost / 32 + 1_000, "the cost, a 32nd and the call's own cost");
        (bool ok,) = verifier.staticcall{gas: cap}(abi.encodePacked(ins, prf));
        assertTrue(ok, "the valid proof verifies within the cap");
        assertTrue(market.checkProof(id, ins, prf));
    }

    /// A verifier whose cost comes near the most a call may be given gets that most (the
    /// margin is cut, never the cost); one that needs more cannot verify its sample.
    function test_registerCircuit_capsTheGasAtTheMaximum() public {
        bytes memory sample = abi.encodePacked(keccak256("a proof"));
        uint256[] memory none = new uint256[](0);
        uint64 max = MAX_VERIFIER_GAS;
        address costly = address(new CostlyExactInputVerifier(sample, max - max / 40));
        bytes32 id = _registerWith(costly, none, sample, "");
        assertEq(_circuit(id).gasLimit, max, "the cost and a 32nd, cut at the maximum");
        assertTrue(market.checkProof(id, none, sample));
        address tooCostly = address(new CostlyExactInputVerifier(sample, max));
        _registerWith(tooCostly, none, sample, abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector));
        _assertUnregistered(_idOf(tooCostly, none, sample));
    }

    /// The sample is run with the most gas a call may be given: a registration sent with
    /// too little gas to forward all of it is refused, so no registrant can starve the
    /// sample's run.
    function test_registerCircuit_revertsInsufficientGasWhenTheMaximumCannotBeForwarded() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.prank(prover);
        try market.registerCircuit{gas: 5_000_000}(verifier, ins, prf) {
            revert("a registration that cannot forward the maximum must revert");
        } catch (bytes memory ret) {
            // casting to 'bytes4' keeps the first four bytes: the selector
            // forge-lint: disable-next-line(unsafe-typecast)
            assertEq(bytes4(ret), CircuitStore.InsufficientGas.selector);
        }
        _assertUnregistered(_idOf(verifier, ins, prf));
    }

    /// A circuit is registered once: nobody can register its id again, whether with the
    /// same deployment, another deployment of the same code (the same id) or a sample of
    /// the same shape that does not even verify (`CircuitExists` is checked before the
    /// sample), and nothing about it changes.
    function test_registerCircuit_revertsCircuitExistsOnASecondRegistration() public {
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        CircuitStore.Circuit memory before = _circuit(id);
        bytes memory err = abi.encodeWithSelector(CircuitStore.CircuitExists.selector, id);
        address otherDeployment = _deployVerifier();
        assertEq(_idOf(otherDeployment, ins, prf), id, "the same code has the same id anywhere");
        uint256[] memory otherInputs = new uint256[](1);
        otherInputs[0] = ins[0] ^ 1;

        _registerWith(verifier, ins, prf, err);
        _registerWith(otherDeployment, ins, prf, err);
        _registerWith(verifier, ins, _flipped(prf), err);
        _registerWith(otherDeployment, otherInputs, prf, err);
        _assertUnchanged(id, before);
        assertEq(_circuit(id).verifier, verifier, "the first registration's");
    }

    /// The same verifier with a sample of another shape (a longer proof, which it accepts
    /// since it ignores trailing bytes; one more public input, the proof shifted by a word)
    /// registers under another id: a circuit of another shape can never stand for the one
    /// registered, whose verdicts do not change.
    function test_registerCircuit_anotherShapeGetsAnotherId() public {
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        CircuitStore.Circuit memory before = _circuit(id);
        bytes memory longer = bytes.concat(prf, hex"00ff");
        (uint256[] memory more, bytes memory shifted) = _shiftedByOneWord(ins, prf, keccak256("extra"));

        bytes32 longId = _registerWith(verifier, ins, longer, "");
        bytes32 shiftedId = _registerWith(verifier, more, shifted, "");
        assertNotEq(longId, id);
        assertNotEq(shiftedId, id);
        assertNotEq(longId, shiftedId);
        assertEq(_circuit(longId).proofLength, 1986);
        assertEq(_circuit(shiftedId).publicInputs, 2);
        _assertUnchanged(id, before);
        assertTrue(market.checkProof(id, ins, prf));
        assertFalse(market.checkProof(id, ins, longer), "not a proof of the registered shape");
        assertFalse(market.checkProof(id, more, shifted), "not a proof of the registered shape");
    }

    function test_registerCircuit_revertsSampleProofRejectedOnACorruptedSample() public {
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        bytes memory err = abi.encodeWithSelector(CircuitStore.SampleProofRejected.selector);
        _registerWith(verifier, ins, _flipped(prf), err);
        bytes memory lastFlipped = bytes.concat(prf);
        lastFlipped[prf.length - 1] ^= 0x01;
        _registerWith(verifier, ins, lastFlipped, err);
        uint256[] memory otherInputs = new uint256[](1);
        otherInputs[0] = ins[0] ^ 1;
        _registerWith(verifier, otherInputs, prf, err);
        _registerWith(verifier, new uint256[](0), prf, err);
        _assertUnregistered(_idOf(verifier, ins, prf));
        _assertUnregistered(_idOf(verifier, new uint256[](0), prf));
    }

    function test_registerCircuit_revertsVerifierAcceptsCorruptedProofForAnAcceptEverythingVerifier() public {
        address anything = address(new AcceptEverythingVerifier());
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        bytes memory err = abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector);
        _registerWith(anything, ins, prf, err);
        _registerWith(anything, new uint256[](0), hex"00", err);
        _assertUnregistered(_idOf(anything, ins, prf));
        _assertUnregistered(_idOf(anything, new uint256[](0), hex"00"));
    }

    /// The corrupted copy flips the first byte of the proof, not of the inputs: a verifier
    /// that checks the inputs and ignores the proof is refused too.
    function test_registerCircuit_revertsVerifierAcceptsCorruptedProofForAVerifierIgnoringTheProof() public {
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        address inputsOnly = address(new InputsOnlyVerifier(ins));
        _registerWith(inputsOnly, ins, prf, abi.encodeWithSelector(CircuitStore.VerifierAcceptsCorruptedProof.selector));
        _assertUnregistered(_idOf(inputsOnly, ins, prf));
    }

    /// A circuit without public inputs: the corrupted copy flips byte 0 of the call data.
    function test_registerCircuit_circuitWithoutPublicInputs() public {
        bytes memory sample = abi.encodePacked(keccak256("a proof"), hex"c0ffee");
        address exact = address(new ExactInputVerifier(sample));
        uint256[] memory none = new uint256[](0);
        vm.recordLogs();
        bytes32 id = _registerWith(exact, none, sample, "");
        assertEq(id, market.circuitIdOf(exact.codehash, 0, 35));
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).publicInputs, 0);
        assertEq(_circuit(id).proofLength, 35);
        assertTrue(market.checkProof(id, none, sample));
        assertFalse(market.checkProof(id, none, _flipped(sample)));
    }

    /// ERC-7201's location of namespace "provernet.circuits", from the formula:
    /// keccak256(abi.encode(uint256(keccak256(id)) - 1)) & ~0xff.
    function _circuitNamespace() internal pure returns (bytes32) {
        return keccak256(abi.encode(uint256(keccak256("provernet.circuits")) - 1)) & ~bytes32(uint256(0xff));
    }

    /// The circuits live at the ERC-7201 namespace "provernet.circuits" (the location
    /// computed here from the formula, the constant the source states): the registrar,
    /// run by DELEGATECALL, and the market agree on it whatever either's other storage,
    /// and none of the market's own variables (slots 0 to 16) comes near it. A registration
    /// writes the verifier, its gas cap and its circuit's shape in the first word of
    /// `circuits[id]` (the mapping at the namespace's first slot), the code hash in the
    /// second, and its block in `registeredAt[id]` (the mapping at the second slot).
    function test_circuitStorageSlotIsTheNamespacedOne() public {
        bytes32 ns = _circuitNamespace();
        assertEq(ns, 0x4555de6335fd977d385d80f23ac08d4ab1e38357c0a8774f767c3a6cc897bd00, "CIRCUIT_STORAGE");
        (address verifier, bytes32 id) = _registerFixtureVerifier();
        CircuitStore.Circuit memory c = _circuit(id);
        bytes32 slot = keccak256(abi.encode(id, ns));
        uint256 w0 = uint256(vm.load(address(market), slot));
        // Each cast keeps exactly its field's bytes.
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(address(uint160(w0)), verifier, "the verifier, at circuits[id] in the namespace");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint32(w0 >> 160), c.gasLimit, "its gas cap");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint16(w0 >> 192), c.publicInputs, "its number of public inputs");
        // forge-lint: disable-next-line(unsafe-typecast)
        assertEq(uint32(w0 >> 208), c.proofLength, "its proof length");
        assertEq(w0 >> 240, 0, "nothing else in the word");
        assertEq(vm.load(address(market), bytes32(uint256(slot) + 1)), verifier.codehash, "the code hash, next");
        bytes32 at = keccak256(abi.encode(id, uint256(ns) + 1));
        assertEq(uint256(vm.load(address(market), at)), block.number, "registeredAt[id], at the second slot");
    }

    /// The market's registrar is the contract its constructor created (its first CREATE,
    /// at nonce 1). Called directly, by anyone, it runs on its own storage: the
    /// registration succeeds there, with the registrar's own event, and the market knows
    /// nothing of it (no circuit, no verdict); the same registration through the market is
    /// then a first registration.
    function test_registerCircuit_directlyAtTheRegistrarRegistersNothingInTheMarket() public {
        address registrar = vm.computeCreateAddress(address(market), 1);
        assertGt(registrar.code.length, 0, "the market's registrar");
        address verifier = _deployVerifier();
        (uint256[] memory ins, bytes memory prf) = _verifierSample();
        vm.recordLogs();
        vm.prank(makeAddr("anyone"));
        bytes32 id = CircuitRegistrar(registrar).registerCircuit(verifier, ins, prf);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].emitter, registrar, "the registrar's own event, not the market's");
        assertEq(id, market.circuitIdOf(verifier.codehash, ins.length, prf.length));
        bytes32 slot = keccak256(abi.encode(id, _circuitNamespace()));
        assertEq(address(uint160(uint256(vm.load(registrar, slot)))), verifier, "stored in the registrar's storage");
        _assertUnregistered(id);
        assertEq(vm.load(address(market), slot), bytes32(0), "nothing in the market's");
        assertFalse(market.checkProof(id, ins, prf), "no verdict in the market");

        vm.recordLogs();
        assertEq(_registerWith(verifier, ins, prf, ""), id, "through the market: a first registration");
        _assertRegisteredEvent(vm.getRecordedLogs(), id);
        assertEq(_circuit(id).verifier, verifier);
        assertTrue(market.checkProof(id, ins, prf));
    }

    // ================================================================================
    // commitBatch / batchCount
    // ================================================================================

    function test_commitBatch_revertsWhenNotRegistered() public {
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.commitBatch(leaves);
    }

    function test_commitBatch_revertsWhenUnbondedBelowMinimum() public {
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.5 ether + 1);
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.commitBatch(leaves);
    }

    function test_commitBatch_acceptsExactlyMinimumAfterUnbonding() public {
        _register(prover, 1.5 ether);
        vm.prank(prover);
        market.unbond(0.5 ether);
        assertEq(_commit(prover, _leaves(1, client)), 0);
    }

    function test_commitBatch_revertsOnEmptyBatch() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory none = new MarketTypes.Leaf[](0);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EmptyBatch.selector));
        market.commitBatch(none);
    }

    function test_commitBatch_revertsAboveMaximumBatchSize() public {
        uint32 max = MAX_BATCH_SIZE;
        _register(prover, max * SLASH_PER_JOB); // a stake that covers the largest batch
        MarketTypes.Leaf[] memory leaves = _leaves(max + 1, client);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.BatchTooLarge.selector, uint256(max) + 1, uint256(max)));
        market.commitBatch(leaves);
        assembly ("memory-safe") {
            mstore(leaves, max) // the first 512 leaves
        }
        uint256 id = _commit(prover, leaves);
        (, uint24 count,,, bytes32 root) = market.batches(id);
        assertEq(count, max);
        assertEq(root, MerkleBuilder.root(_hashes(leaves)));
    }

    /// No deposit pays more than 2^128 wei, and nodes keep prices in 128 bits: a leaf priced
    /// above that is refused, by its index in the batch (the first such leaf).
    function test_commitBatch_revertsPriceTooLarge() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(4, client);
        leaves[2].price = uint256(type(uint128).max) + 1;
        leaves[3].price = type(uint256).max;
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 2));
        market.commitBatch(leaves);
        leaves[2].price = type(uint128).max;
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 3));
        market.commitBatch(leaves);
        assertEq(market.batchCount(), 0);

        leaves[3].price = type(uint128).max; // the largest price accepted
        uint256 id = _commit(prover, leaves);
        (,,,, bytes32 root) = market.batches(id);
        assertEq(root, MerkleBuilder.root(_hashes(leaves)));
    }

    /// NotDirectCall, NotRegistered, StakeTooLow, EmptyBatch, BatchTooLarge,
    /// ExposureTooHigh, then PriceTooLarge: each is reported only once every earlier check
    /// passes.
    function test_commitBatch_revertsInOrder() public {
        MarketTypes.Leaf[] memory none = new MarketTypes.Leaf[](0);
        MarketTypes.Leaf[] memory tooMany = _leaves(513, client);
        tooMany[0].price = uint256(type(uint128).max) + 1;
        vm.prank(prover); // not the account's own transaction
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotDirectCall.selector));
        market.commitBatch(none);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.NotRegistered.selector));
        market.commitBatch(none);

        _register(prover, MIN_STAKE);
        vm.prank(prover);
        market.unbond(1);
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, MIN_STAKE - 1, MIN_STAKE));
        market.commitBatch(none);

        vm.deal(prover, 1);
        vm.prank(prover);
        market.addStake{value: 1}();
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.EmptyBatch.selector));
        market.commitBatch(none);

        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.BatchTooLarge.selector, uint256(513), uint256(512)));
        market.commitBatch(tooMany);

        assembly ("memory-safe") {
            mstore(tooMany, 101) // one leaf more than the stake covers
        }
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, 101, 100));
        market.commitBatch(tooMany);

        assembly ("memory-safe") {
            mstore(tooMany, 100)
        }
        vm.prank(prover, prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.PriceTooLarge.selector, 0));
        market.commitBatch(tooMany);
        assertEq(market.batchCount(), 0);
    }

    function test_commitBatch_storesBatchAndEmits() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(7, client);
        bytes32 expectedRoot = MerkleBuilder.root(_hashes(leaves));
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchCommitted(0, prover, expectedRoot, 7);
        uint256 id = _commit(prover, leaves);

        assertEq(id, 0);
        assertEq(market.batchCount(), 1);
        (address p, uint24 count, uint40 blockNumber, uint32 timestamp, bytes32 root) = market.batches(0);
        assertEq(p, prover);
        assertEq(root, expectedRoot);
        assertEq(count, 7);
        assertEq(blockNumber, block.number);
        assertEq(timestamp, block.timestamp);
    }

    /// The leaves are the input of the prover's own transaction, which the
    /// `BatchCommitted` log names: decoding that input gives every leaf, in tree order,
    /// with every field, and from it anyone rebuilds the tree, finds each leaf's path and
    /// can challenge it. A contract or a delegated account cannot commit (its input would
    /// wrap the call in an encoding only it knows).
    function test_commitBatch_theLeavesAreTheTransactionsInput() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        leaves[1].client = otherClient;
        leaves[3].price = type(uint128).max;
        bytes memory input = abi.encodeCall(market.commitBatch, (leaves));
        vm.recordLogs();
        vm.prank(prover, prover);
        (bool ok,) = address(market).call(input);
        assertTrue(ok);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1);
        assertEq(logs[0].topics[0], MarketTypes.BatchCommitted.selector);
        uint256 id = uint256(logs[0].topics[1]);

        // A watchtower's view: the transaction's input, decoded as `commitBatch`.
        bytes memory args = new bytes(input.length - 4);
        for (uint256 i = 0; i < args.length; i++) {
            args[i] = input[i + 4];
        }
        MarketTypes.Leaf[] memory published = abi.decode(args, (MarketTypes.Leaf[]));
        assertEq(published.length, 5);
        for (uint256 i = 0; i < 5; i++) {
            assertEq(keccak256(abi.encode(published[i])), keccak256(abi.encode(leaves[i])), "leaf i, every field");
        }
        (,,,, bytes32 stored) = market.batches(id);
        assertEq(MerkleBuilder.root(_hashes(published)), stored, "the input's leaves make the root");
        _evidence(otherClient, _withheldCall(_at(id, published, 4), NO_NONCE));
        vm.deal(otherClient, BOND);
        vm.prank(otherClient);
        uint256 challengeId =
            market.challengeWithheldProof{value: BOND}(_at(id, published, 4), NO_NONCE, 0, bytes32(0), bytes32(0));
        assertEq(market.pendingChallenge(_jobKey(prover, client, leaves[4].jobId)), challengeId + 1);

        // A contract in between is refused, even in the account's own transaction.
        CommitRelay relay = new CommitRelay(market);
        vm.prank(prover, prover);
        vm.expectRevert(MarketTypes.NotDirectCall.selector);
        relay.commit(leaves);
    }

    /// The contract computes the root from the leaves, as `provernet_protocol::merkle`
    /// builds it. A root without its leaves cannot be posted: the entry point that took a
    /// bare root and a count, `commitBatch(bytes32,uint32)`, is gone.
    function test_commitBatch_aRootWithoutItsLeavesCannotBePosted() public {
        _register(prover, MIN_STAKE);
        vm.prank(prover);
        (bool ok, bytes memory ret) =
            address(market).call(abi.encodeWithSignature("commitBatch(bytes32,uint32)", keccak256("root"), uint32(7)));
        assertFalse(ok);
        assertEq(ret.length, 0, "no such function");
        assertEq(market.batchCount(), 0);

        // The Rust crate's vectors: the stored root is the root Rust computed.
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/batch-leaves.json"));
        uint256 n = vm.parseJsonUint(json, ".count");
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](n);
        for (uint256 i = 0; i < n; i++) {
            string memory at = string.concat(".cases[", vm.toString(i), "].");
            leaves[i] = MarketTypes.Leaf({
                jobId: vm.parseJsonBytes32(json, string.concat(at, "jobId")),
                circuitId: vm.parseJsonBytes32(json, string.concat(at, "circuitId")),
                publicInputsHash: vm.parseJsonBytes32(json, string.concat(at, "publicInputsHash")),
                proofHash: vm.parseJsonBytes32(json, string.concat(at, "proofHash")),
                client: vm.parseJsonAddress(json, string.concat(at, "client")),
                price: vm.parseJsonUint(json, string.concat(at, "price"))
            });
        }
        uint256 id = _commit(prover, leaves);
        (,,,, bytes32 root) = market.batches(id);
        assertEq(root, vm.parseJsonBytes32(json, ".root"));

        // A single leaf is its own root; other sizes follow the same tree.
        for (uint256 size = 1; size <= 9; size++) {
            MarketTypes.Leaf[] memory batch = _leaves(size, otherClient);
            id = _commit(prover, batch);
            (,,,, root) = market.batches(id);
            assertEq(root, MerkleBuilder.root(_hashes(batch)));
            if (size == 1) assertEq(root, _hash(batch[0]));
        }
    }

    function test_commitBatch_idsIncreaseAcrossProvers() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        assertEq(_commit(prover, _leaves(1, client)), 0);
        MarketTypes.Leaf[] memory two = _leaves(2, otherClient);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchCommitted(1, otherProver, MerkleBuilder.root(_hashes(two)), 2);
        assertEq(_commit(otherProver, two), 1);
        assertEq(_commit(prover, _leaves(3, client)), 2);
        assertEq(market.batchCount(), 3);
        (address p,,,,) = market.batches(1);
        assertEq(p, otherProver);
    }

    // ================================================================================
    // commitBatch: the exposure bound / exposure
    // ================================================================================

    /// The prover's raw risk counters (epoch, leaves of that epoch, leaves of the one before).
    function _risk(address who) internal view returns (uint40 epoch, uint32 current, uint32 previous) {
        (,,,,,,,, epoch, current, previous,) = market.provers(who);
    }

    function _expectExposureTooHigh(address who, uint32 count, uint256 atRisk, uint256 covered) internal {
        MarketTypes.Leaf[] memory leaves = _leaves(count, client);
        vm.prank(who, who);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, atRisk, covered));
        market.commitBatch(leaves);
    }

    function _commitCount(address who, uint32 count) internal returns (uint256) {
        return _commit(who, _leaves(count, client));
    }

    function _atRisk(address who) internal view returns (uint256 atRisk) {
        (atRisk,) = market.exposure(who);
    }

    function test_commitBatch_revertsWhenLeavesAtRiskExceedWhatTheStakeCovers() public {
        _register(prover, MIN_STAKE); // covers MIN_STAKE / SLASH_PER_JOB = 100 leaves
        uint256 covered = MIN_STAKE / SLASH_PER_JOB;
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 101, 101, covered);
        _commitCount(prover, 60);
        _expectExposureTooHigh(prover, 41, 101, covered);
        _commitCount(prover, 40); // exactly covered
        _expectExposureTooHigh(prover, 1, 101, covered);
        (uint256 atRisk, uint256 c) = market.exposure(prover);
        assertEq(atRisk, 100);
        assertEq(c, covered);
        assertEq(market.batchCount(), 2);
    }

    /// Leaves count in the epoch (of `challengeWindow + responseWindow + 1` blocks) they
    /// were committed in and in the next one, then drop out.
    function test_exposure_countsLeavesInTheirEpochAndTheNext() public {
        assertEq(EPOCH, 16);
        _register(prover, MIN_STAKE);
        vm.roll(10 * EPOCH); // first block of epoch 10
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 0);
        assertEq(covered, 100);

        _commitCount(prover, 30);
        vm.roll(11 * EPOCH - 1); // last block of epoch 10
        _commitCount(prover, 20);
        assertEq(_atRisk(prover), 50);
        (uint40 epoch, uint32 current, uint32 previous) = _risk(prover);
        assertEq(epoch, 10);
        assertEq(current, 50);
        assertEq(previous, 0);

        vm.roll(11 * EPOCH); // epoch 11: epoch 10's leaves still count
        assertEq(_atRisk(prover), 50);
        _commitCount(prover, 30);
        assertEq(_atRisk(prover), 80);
        (epoch, current, previous) = _risk(prover);
        assertEq(epoch, 11);
        assertEq(current, 30);
        assertEq(previous, 50);
        _expectExposureTooHigh(prover, 21, 101, 100);

        vm.roll(12 * EPOCH - 1); // last block of epoch 11: epoch 10's leaves still count
        assertEq(_atRisk(prover), 80);
        vm.roll(12 * EPOCH); // epoch 12: epoch 10's leaves are out
        assertEq(_atRisk(prover), 30);
        _commitCount(prover, 70);
        assertEq(_atRisk(prover), 100);
        _expectExposureTooHigh(prover, 1, 101, 100);

        vm.roll(13 * EPOCH); // epoch 13: only epoch 12's 70
        assertEq(_atRisk(prover), 70);

        vm.roll(14 * EPOCH); // epoch 14: nothing left
        assertEq(_atRisk(prover), 0);
        _commitCount(prover, 100);
        (epoch, current, previous) = _risk(prover);
        assertEq(epoch, 14);
        assertEq(current, 100);
        assertEq(previous, 0, "epoch 12's leaves do not come back");
    }

    /// A leaf counts at least through the last block of its batch's challenge window, the
    /// response window of a challenge opened then and the first block that challenge can be
    /// finalized in, whether it is posted in the last or the first block of an epoch: posted
    /// in the last, it leaves the count the block after (`respondBy + 2`); an open
    /// challenge does not count again.
    function test_exposure_coversTheWindowAndTheResponseToAChallengeAtItsEnd() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, MIN_STAKE);
        vm.roll(11 * EPOCH - 1); // last block of epoch 10
        uint256 committedAt = block.number;
        MarketTypes.Leaf[] memory leaves = _leaves(7, client);
        uint256 id = _commit(prover, leaves);
        vm.roll(11 * EPOCH); // first block of epoch 11
        _commitCount(otherProver, 9);

        vm.roll(committedAt + CHALLENGE_WINDOW); // prover's window: last block
        assertEq(_atRisk(prover), 7);
        uint256 challengeId = _challengeWithheld(otherClient, id, leaves, 0);
        assertEq(_atRisk(prover), 7, "the challenged leaf counts once");
        uint256 respondBy = committedAt + CHALLENGE_WINDOW + RESPONSE_WINDOW;
        vm.roll(respondBy); // the last block to answer that challenge
        assertEq(_atRisk(prover), 7);
        vm.roll(respondBy + 1); // the first block to finalize it: the last of epoch 11
        assertEq(respondBy + 1, 12 * EPOCH - 1);
        assertEq(_atRisk(prover), 7, "the leaves count until the challenge can be finalized");
        market.finalizeChallenge(challengeId);
        assertEq(_stakeOf(prover), MIN_STAKE - SLASH_PER_JOB, "a slash of a leaf at risk, in full");
        assertEq(_atRisk(prover), 7, "a slash does not take the leaf out of the count");
        vm.roll(respondBy + 2); // the first block of epoch 12
        assertEq(_atRisk(prover), 0, "the leaves are out");

        vm.roll(11 * EPOCH + CHALLENGE_WINDOW + RESPONSE_WINDOW + 1); // otherProver's leaves
        assertEq(_atRisk(otherProver), 9);
        vm.roll(13 * EPOCH - 1); // ... and until the end of epoch 12
        assertEq(_atRisk(otherProver), 9);
        vm.roll(13 * EPOCH);
        assertEq(_atRisk(otherProver), 0);
    }

    /// Open challenges do not count as leaves at risk: a challenger's single bond cannot
    /// make the commit of an honest prover at its cover revert at its deadline (and so get
    /// its whole batch slashed for missed deadlines). The challenged leaf counts once, as a
    /// leaf; a slash lowers what the stake covers.
    function test_exposure_anOpenChallengeDoesNotBlockAnHonestCommit() public {
        _register(prover, MIN_STAKE); // covers 100
        MarketTypes.Leaf[] memory leaves = _leaves(60, client);
        uint256 id = _commit(prover, leaves);
        uint256 unanswered = _challengeWithheld(otherClient, id, leaves, 0);
        _challengeWithheld(otherClient, id, leaves, 1);
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 60, "two open challenges add nothing");
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 41, 101, 100);
        _commitCount(prover, 40);
        assertEq(_atRisk(prover), 100);

        // Once finalized, the slash lowers what the stake covers.
        vm.roll(block.number + RESPONSE_WINDOW + 1);
        market.finalizeChallenge(unanswered);
        (atRisk, covered) = market.exposure(prover);
        assertEq(atRisk, 100);
        assertEq(covered, 99);
    }

    /// Only bonded stake covers new leaves: unbonding lowers the bound, adding stake raises it.
    function test_exposure_coveredFollowsTheBondedStake() public {
        _register(prover, 2 ether);
        _commitCount(prover, 150);
        vm.prank(prover);
        market.unbond(1 ether);
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 150);
        assertEq(covered, 100);
        _expectExposureTooHigh(prover, 1, 151, 100);

        vm.deal(prover, 1.5 ether);
        vm.prank(prover);
        market.addStake{value: 1.5 ether}();
        (, covered) = market.exposure(prover);
        assertEq(covered, 250);
        _commitCount(prover, 100);
        (atRisk,) = market.exposure(prover);
        assertEq(atRisk, 250);
    }

    function test_exposure_isPerProver() public {
        _register(prover, MIN_STAKE);
        _register(otherProver, 2 * MIN_STAKE);
        _commitCount(prover, 100);
        _commitCount(otherProver, 200);
        (uint256 a, uint256 ca) = market.exposure(prover);
        (uint256 b, uint256 cb) = market.exposure(otherProver);
        assertEq(a, 100);
        assertEq(ca, 100);
        assertEq(b, 200);
        assertEq(cb, 200);
        _expectExposureTooHigh(prover, 1, 101, 100);
        _expectExposureTooHigh(otherProver, 1, 201, 200);
    }

    function test_exposure_isZeroForAnUnknownProver() public view {
        (uint256 atRisk, uint256 covered) = market.exposure(prover);
        assertEq(atRisk, 0);
        assertEq(covered, 0);
    }

    // ================================================================================
    // claim: a single job, claimed with `claimBatch` and one job (`_claimJob`)
    // ================================================================================

    /// A committed batch of 5 leaves of `client` (prices 1..5 gwei), awards and signatures
    /// for each, a deposit of 1 ether, and the window closed.
    MarketTypes.Leaf[] internal batchLeaves;
    MarketTypes.Award[] internal awards;
    bytes[] internal sigs;
    uint256 internal batchId;

    function _setUpBatch() internal {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(5, client);
        for (uint256 i = 0; i < leaves.length; i++) {
            batchLeaves.push(leaves[i]);
            MarketTypes.Award memory a = _award(leaves[i], prover);
            awards.push(a);
            sigs.push(_sign(clientKey, a));
        }
        batchId = _commit(prover, leaves);
        _closeWindow(batchId);
    }

    function _leavesMem() internal view returns (MarketTypes.Leaf[] memory) {
        return batchLeaves;
    }

    function _claim(uint256 i) internal {
        _claimJob(prover, batchId, _leavesMem(), i, _nonce(i), awards[i], sigs[i]);
    }

    /// Expects `caller`'s claim of `leaf` alone, put at `index` of batch `id` (whose
    /// committed leaves are `leaves`), as job `nonce` with `award`'s deadline and `sig`, to
    /// revert with `err`.
    function _expectClaimRevert(
        address caller,
        uint256 id,
        MarketTypes.Leaf[] memory leaves,
        MarketTypes.Leaf memory leaf,
        uint256 index,
        uint64 nonce,
        MarketTypes.Award memory award,
        bytes memory sig,
        bytes memory err
    ) internal {
        MarketTypes.BatchClaim memory job = _batchJob(leaf, index, nonce, award.deadline, sig);
        vm.expectRevert(err);
        _claimSingle(caller, id, _hashes(leaves), job);
    }

    function test_claim_revertsOnUnknownBatch() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf memory l = _leaf(0, client, 1);
        MarketTypes.Award memory a = _award(l, prover);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover, 0, _one(l), l, 0, 0, a, sig, abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 0)
        );
    }

    function test_claim_revertsOnBatchIdEqualToCount() public {
        _setUpBatch();
        _expectClaimRevert(
            prover,
            1,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            awards[0],
            sigs[0],
            abi.encodeWithSelector(MarketTypes.UnknownBatch.selector, 1)
        );
    }

    function test_claim_revertsWhenCallerIsNotBatchProver() public {
        _setUpBatch();
        _register(otherProver, MIN_STAKE);
        MarketTypes.Award memory a = _award(batchLeaves[0], otherProver);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            otherProver,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.NotBatchProver.selector, prover, otherProver)
        );
    }

    function test_claim_revertsWhenWindowOpenAtCommitBlock() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt)
        );
    }

    function test_claim_revertsWhenWindowOpenAtLastBlockOfWindow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(closesAt);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt)
        );
    }

    function test_claim_succeedsOneBlockAfterWindow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(2, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        vm.roll(block.number + CHALLENGE_WINDOW + 1);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertTrue(market.isPaid(leaves[0].client, prover, 0));
    }

    function test_claim_paysExactPriceFromDepositAndEmits() public {
        _setUpBatch();
        uint256 price = batchLeaves[2].price;
        uint256 proverBefore = prover.balance;
        uint256 marketBefore = address(market).balance;
        uint256 depositBefore = market.deposits(client);

        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(batchId, prover, price, abi.encodePacked(uint32(2)));
        _claim(2);

        assertEq(prover.balance, proverBefore + price);
        assertEq(address(market).balance, marketBefore - price);
        assertEq(market.deposits(client), depositBefore - price);
        assertTrue(market.isPaid(batchLeaves[2].client, prover, 2));
        assertFalse(market.isPaid(batchLeaves[1].client, prover, 1));
        assertEq(_stakeOf(prover), MIN_STAKE, "stake untouched");
    }

    function test_claim_everyJobOfABatchOnce() public {
        _setUpBatch();
        uint256 total;
        uint256 before = prover.balance;
        // Out of order, at every index of a 5-leaf tree (incl. the promoted last leaf).
        uint256[5] memory order = [uint256(4), 1, 3, 0, 2];
        for (uint256 k = 0; k < 5; k++) {
            uint256 i = order[k];
            _claim(i);
            total += batchLeaves[i].price;
            assertEq(prover.balance, before + total);
        }
        assertEq(market.deposits(client), 1 ether - total);
        for (uint256 i = 0; i < 5; i++) {
            _expectClaimRevert(
                prover,
                batchId,
                _leavesMem(),
                batchLeaves[i],
                i,
                _nonce(i),
                awards[i],
                sigs[i],
                abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[i].jobId)
            );
        }
    }

    function test_claim_singleLeafBatch() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(1, client);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertEq(prover.balance, leaves[0].price);
    }

    function test_claim_revertsWhenClaimedTwice() public {
        _setUpBatch();
        _claim(1);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
    }

    function test_claim_revertsWhenClaimedAgainFromAnotherBatch() public {
        _setUpBatch();
        _claim(1);
        // The prover commits the same leaf again in a second batch.
        MarketTypes.Leaf[] memory again = new MarketTypes.Leaf[](2);
        again[0] = _leaf(99, client, 1);
        again[1] = batchLeaves[1];
        uint256 second = _commit(prover, again);
        _closeWindow(second);
        _expectClaimRevert(
            prover,
            second,
            again,
            again[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
    }

    /// The client (mistakenly, or to cheat) awarded the same job to a second prover too.
    /// Paid is recorded per award (client, prover, nonce): the second award is paid to the
    /// prover it names, and the client pays both (it used to be `AlreadyClaimed`, when paid
    /// was recorded per job, which let a second award block the first's claim). Each award
    /// is still paid once: claiming either again is `AlreadyClaimed`.
    function test_claim_aSecondAwardOfTheJobToAnotherProverIsPaidOnceToo() public {
        _setUpBatch();
        _claim(1);
        uint256 price = batchLeaves[1].price;
        _register(otherProver, MIN_STAKE);
        MarketTypes.Leaf[] memory again = new MarketTypes.Leaf[](1);
        again[0] = batchLeaves[1];
        MarketTypes.Award memory a = _award(again[0], otherProver);
        bytes memory sig = _sign(clientKey, a);
        uint256 second = _commit(otherProver, again);
        _closeWindow(second);
        assertFalse(market.isPaid(client, otherProver, 1));
        _claimJob(otherProver, second, again, 0, 1, a, sig);
        assertTrue(market.isPaid(client, otherProver, 1));
        assertEq(otherProver.balance, price, "the second award is paid to its prover");
        assertEq(prover.balance, price, "the first award was paid to its own");
        assertEq(market.deposits(client), 1 ether - 2 * price, "the client paid both awards");

        _expectClaimRevert(
            otherProver,
            second,
            again,
            again[0],
            0,
            1,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, again[0].jobId)
        );
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[1],
            1,
            1,
            awards[1],
            sigs[1],
            abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, batchLeaves[1].jobId)
        );
        assertEq(otherProver.balance + prover.balance, 2 * price, "each once");
    }

    /// The claim carries no award: the market rebuilds it from the claimed leaf, the
    /// caller and the deadline, so the client's signature of an award that differs from
    /// the leaf (here: another job) verifies nothing.
    function test_claim_revertsOnAwardForAnotherJob() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.jobId = batchLeaves[1].jobId;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    function test_claim_revertsOnAwardToAnotherProver() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.prover = otherProver;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    function test_claim_revertsOnAwardWithAnotherPrice() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.price = batchLeaves[0].price + 1;
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// The award names the statement it pays a proof of: a leaf of the same job for
    /// another circuit or other public inputs is not claimable with it.
    function test_claim_revertsOnAwardOfAnotherStatement() public {
        _setUpBatch();
        bytes memory err = abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector);
        for (uint256 field = 0; field < 2; field++) {
            MarketTypes.Award memory a = awards[0];
            if (field == 0) a.circuitId = keccak256("another circuit");
            if (field == 1) a.publicInputsHash = keccak256("other public inputs");
            bytes memory sig = _sign(clientKey, a);
            _expectClaimRevert(prover, batchId, _leavesMem(), batchLeaves[0], 0, 0, a, sig, err);
        }
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claim_revertsWhenCommittedAfterDeadline() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[1], prover);
        a.deadline = uint64(block.timestamp + 60);
        bytes memory sig = _sign(clientKey, a);
        vm.warp(block.timestamp + 61);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[1],
            1,
            1,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.CommittedAfterDeadline.selector, uint64(block.timestamp), a.deadline)
        );
    }

    function test_claim_succeedsWhenCommittedAtDeadline() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[1], prover);
        a.deadline = uint64(block.timestamp + 60);
        bytes memory sig = _sign(clientKey, a);
        vm.warp(block.timestamp + 60);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        vm.warp(block.timestamp + 1 days); // claiming late is fine: only the commit time counts
        _claimJob(prover, id, leaves, 1, 1, a, sig);
        assertTrue(market.isPaid(leaves[1].client, prover, 1));
    }

    /// A committed leaf with one field changed, with an award of the changed leaf (so the
    /// leaf itself is what fails): not the batch's leaf. The client's field is changed
    /// with the job id it derives (another client's job of the same nonce), signed by that
    /// client (which has a deposit: the root is checked after the payment).
    function test_claim_revertsWhenLeafFieldAltered() public {
        _setUpBatch();
        _deposit(otherClient, 1 ether);
        bytes memory err = abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector);
        for (uint256 field = 0; field < 4; field++) {
            MarketTypes.Leaf memory l = batchLeaves[3];
            if (field == 0) l.circuitId = keccak256("other circuit");
            if (field == 1) l.publicInputsHash = keccak256("other inputs");
            if (field == 2) l.proofHash = keccak256("other proof");
            if (field == 3) (l.client, l.jobId) = (otherClient, _jobId(otherClient, 3));
            MarketTypes.Award memory a = _award(l, prover, awards[3].deadline);
            bytes memory sig = _sign(field == 3 ? otherClientKey : clientKey, a);
            _expectClaimRevert(prover, batchId, _leavesMem(), l, 3, 3, a, sig, err);
        }
    }

    /// Leaf 3 claimed as another job (nonce 7, the job id it derives) at another price,
    /// with the client's award of exactly that: not the batch's leaf.
    function test_claim_revertsWhenJobIdAndPriceAlteredWithMatchingAward() public {
        _setUpBatch();
        MarketTypes.Leaf memory l = batchLeaves[3];
        l.price += 1;
        l.jobId = _jobId(client, 7);
        MarketTypes.Award memory a = _award(l, prover);
        bytes memory sig = _sign(clientKey, a);
        _expectClaimRevert(
            prover, batchId, _leavesMem(), l, 3, 7, a, sig, abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector)
        );
    }

    function test_claim_revertsOnLeafOfAnotherBatch() public {
        _setUpBatch();
        MarketTypes.Leaf[] memory others = new MarketTypes.Leaf[](2);
        others[0] = _leaf(50, client, 1 gwei);
        others[1] = _leaf(51, client, 1 gwei);
        uint256 second = _commit(prover, others);
        _closeWindow(second);
        MarketTypes.Award memory a = _award(others[0], prover);
        bytes memory sig = _sign(clientKey, a);
        // Right leaf and award, wrong batch.
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            others[0],
            0,
            50,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.LeafNotInBatch.selector)
        );
    }

    function test_claim_revertsOnAwardSignedBySomeoneElse() public {
        _setUpBatch();
        bytes memory sig = _sign(otherClientKey, awards[0]);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            awards[0],
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    function test_claim_revertsOnSignatureOfAnotherDeadline() public {
        _setUpBatch();
        MarketTypes.Award memory a = awards[0];
        a.deadline += 1; // the signature covers the original deadline
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            a,
            sigs[0],
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// Compact signatures (r, vs) that are no signature of the award.
    function test_claim_revertsOnGarbageSignatures() public {
        _setUpBatch();
        (bytes32 r, bytes32 vs) = _compact(sigs[0]);
        bytes32[2][4] memory bad = [
            [keccak256("r"), keccak256("s")], // random r, s
            [bytes32(0), bytes32(0)], // all zero
            [bytes32(0), vs], // no r
            [r, keccak256("s")] // r with a random s
        ];
        for (uint256 i = 0; i < bad.length; i++) {
            MarketTypes.BatchClaim memory job = _batchJob(batchLeaves[0], 0, 0, awards[0].deadline, sigs[0]);
            (job.r, job.vs) = (bad[i][0], bad[i][1]);
            vm.expectRevert(MarketTypes.BadAwardSignature.selector);
            _claimSingle(prover, batchId, _hashes(_leavesMem()), job);
        }
        assertFalse(market.isPaid(client, prover, 0));
    }

    /// The malleated twin (r, n - s, the other parity) of a valid signature.
    function test_claim_revertsOnMalleatedHighSSignature() public {
        _setUpBatch();
        MarketTypes.BatchClaim memory job = _batchJob(batchLeaves[0], 0, 0, awards[0].deadline, sigs[0]);
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        uint256 parity = uint256(job.vs) >> 255;
        uint256 s = uint256(job.vs) & ((uint256(1) << 255) - 1);
        job.vs = bytes32(((1 - parity) << 255) | (n - s));
        vm.expectRevert(MarketTypes.BadAwardSignature.selector);
        _claimSingle(prover, batchId, _hashes(_leavesMem()), job);
        assertFalse(market.isPaid(client, prover, 0));
    }

    function test_claim_revertsWhenDepositTooLow() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether - 1);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 ether);
        leaves[1] = _leaf(1, client, 1);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[0],
            0,
            0,
            a,
            sig,
            abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 1 ether - 1, 1 ether)
        );
        assertFalse(market.isPaid(leaves[0].client, prover, 0), "job stays claimable once the client tops up");
        _deposit(client, 1);
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertEq(market.deposits(client), 0);
    }

    function test_claim_revertsWhenDepositDrainedByEarlierClaims() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1.5 ether);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](2);
        leaves[0] = _leaf(0, client, 1 ether);
        leaves[1] = _leaf(1, client, 1 ether);
        MarketTypes.Award memory a0 = _award(leaves[0], prover);
        MarketTypes.Award memory a1 = _award(leaves[1], prover);
        bytes memory s0 = _sign(clientKey, a0);
        bytes memory s1 = _sign(clientKey, a1);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a0, s0);
        _expectClaimRevert(
            prover,
            id,
            leaves,
            leaves[1],
            1,
            1,
            a1,
            s1,
            abi.encodeWithSelector(MarketTypes.InsufficientDeposit.selector, 0.5 ether, 1 ether)
        );
    }

    function test_claim_stillPaysWhileWithdrawalIsPending() public {
        _setUpBatch();
        vm.prank(client);
        market.requestDepositWithdrawal(1 ether);
        _claim(0); // within the deposit withdrawal delay
        assertEq(market.deposits(client), 1 ether - batchLeaves[0].price);
        assertEq(prover.balance, batchLeaves[0].price);
    }

    function test_claim_zeroPriceJob() public {
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, 0);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        vm.expectEmit(true, true, true, true, address(market));
        emit MarketTypes.BatchFeesClaimed(id, prover, 0, abi.encodePacked(uint32(0)));
        _claimJob(prover, id, leaves, 0, 0, a, sig);
        assertTrue(market.isPaid(leaves[0].client, prover, 0));
    }

    function test_claim_worksAfterProverUnbondedEverything() public {
        _setUpBatch();
        vm.prank(prover);
        market.unbond(MIN_STAKE);
        _claim(0);
        assertEq(prover.balance, batchLeaves[0].price);
    }

    /// Job ids derive from (client, nonce) and paid awards are recorded per client (and
    /// prover), so a leaf that borrows another client's job id cannot be claimed (the
    /// claim's client and nonce derive another job, whose award nobody signed), and a
    /// client's own job with the same nonce does not block the victim's.
    function test_claim_anotherClientsAwardForSameJobIdDoesNotBlockTheJob() public {
        _setUpBatch();
        bytes32 victimJob = batchLeaves[0].jobId;

        // The attacker is both a prover and a client (otherClientKey), price 0, no deposit.
        _register(otherProver, MIN_STAKE);
        MarketTypes.Leaf[] memory forged = new MarketTypes.Leaf[](2);
        forged[0] = _leaf(0, otherClient, 0);
        forged[0].jobId = victimJob;
        forged[1] = _leaf(0, otherClient, 0); // its own job with the victim's nonce
        MarketTypes.Award memory fa = _award(forged[0], otherProver);
        MarketTypes.Award memory oa = _award(forged[1], otherProver);
        uint256 forgedId = _commit(otherProver, forged);
        _closeWindow(forgedId);
        _expectClaimRevert(
            otherProver,
            forgedId,
            forged,
            forged[0],
            0,
            0,
            fa,
            _sign(otherClientKey, fa),
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
        bytes memory os = _sign(otherClientKey, oa);
        _claimJob(otherProver, forgedId, forged, 1, 0, oa, os);
        assertTrue(market.isPaid(otherClient, otherProver, 0));
        assertFalse(market.isPaid(client, otherProver, 0));
        assertFalse(market.isPaid(client, prover, 0));

        uint256 before = prover.balance;
        _claim(0);
        assertEq(prover.balance, before + batchLeaves[0].price);
        assertTrue(market.isPaid(client, prover, 0));
    }

    /// A claim's job id is derived from its client and nonce: a wrong nonce names another
    /// job, whose award the client did not sign.
    function test_claim_revertsWhenNonceDoesNotDeriveJobId() public {
        _setUpBatch();
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[2],
            2,
            3,
            awards[2],
            sigs[2],
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
        assertFalse(market.isPaid(client, prover, 2));
        assertFalse(market.isPaid(client, prover, 3));
    }

    function test_jobIdOf_isTaggedClientAndBigEndianNonce() public view {
        assertEq(
            market.jobIdOf(client, 0x0102030405060708),
            keccak256(bytes.concat("provernet/job-id/v1", bytes20(client), hex"0102030405060708"))
        );
        assertEq(market.jobIdOf(client, 7), _leaf(7, client, 0).jobId);
    }

    function test_isPaid_usesOneBitPerNonce() public {
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        // Nonces 255 and 256 sit in two storage words; 257 shares 256's word.
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](3);
        leaves[0] = _leaf(255, client, 1);
        leaves[1] = _leaf(256, client, 1);
        leaves[2] = _leaf(257, client, 1);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        for (uint256 i = 0; i < 2; i++) {
            MarketTypes.Award memory a = _award(leaves[i], prover);
            bytes memory sig = _sign(clientKey, a);
            _claimJob(prover, id, leaves, i, _nonce(255 + i), a, sig);
        }
        assertEq(_paidWord(client, prover, 0), uint256(1) << 255);
        assertEq(_paidWord(client, prover, 1), 1);
        assertTrue(market.isPaid(client, prover, 255));
        assertTrue(market.isPaid(client, prover, 256));
        assertFalse(market.isPaid(client, prover, 257));
        assertFalse(market.isPaid(client, prover, 254));
        // The bits are the awards to `prover`: another prover's awards of the same jobs
        // are not paid.
        assertEq(_paidWord(client, otherProver, 0), 0);
        assertEq(_paidWord(client, otherProver, 1), 0);
    }

    // ================================================================================
    // the test helper itself
    // ================================================================================

    function test_merkleBuilder_reproducesRustFixture() public view {
        string memory json = vm.readFile(string.concat(vm.projectRoot(), "/test/fixtures/batch-leaves.json"));
        uint256 count = vm.parseJsonUint(json, ".count");
        bytes32[] memory leaves = new bytes32[](count);
        for (uint256 i = 0; i < count; i++) {
            leaves[i] = vm.parseJsonBytes32(json, string.concat(".cases[", vm.toString(i), "].leaf"));
        }
        assertEq(MerkleBuilder.root(leaves), vm.parseJsonBytes32(json, ".root"));
        for (uint256 i = 0; i < count; i++) {
            bytes32[] memory rust = vm.parseJsonBytes32Array(json, string.concat(".cases[", vm.toString(i), "].path"));
            bytes32[] memory ours = MerkleBuilder.proof(leaves, i);
            assertEq(ours.length, rust.length);
            for (uint256 j = 0; j < ours.length; j++) {
                assertEq(ours[j], rust[j]);
            }
        }
    }

    function testFuzz_merkleBuilder_everyPathVerifies(uint256 n, uint256 seed) public pure {
        n = bound(n, 1, 64);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = keccak256(abi.encode(seed, i));
        }
        bytes32 root = MerkleBuilder.root(leaves);
        for (uint256 i = 0; i < n; i++) {
            assertTrue(MerkleProof.verify(MerkleBuilder.proof(leaves, i), root, leaves[i]));
        }
    }

    // ================================================================================
    // fuzz
    // ================================================================================

    function testFuzz_register_belowMinimumReverts(uint256 stake) public {
        stake = bound(stake, 0, MIN_STAKE - 1);
        vm.deal(prover, stake);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.StakeTooLow.selector, stake, MIN_STAKE));
        market.register{value: stake}(PEER_KEY);
    }

    function testFuzz_stake_unbondAndWithdraw(uint256 stake, uint256 amount, uint256 wait, uint256 waitTime) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        amount = bound(amount, 1, stake);
        wait = bound(wait, 0, 3 * UNBONDING_DELAY);
        waitTime = bound(waitTime, 0, 2 * (MAX_DEADLINE + DEADLINE_PERIOD));
        _register(prover, stake);
        vm.prank(prover);
        market.unbond(amount);
        uint64 at = uint64(block.number) + UNBONDING_DELAY;
        uint64 afterTime = uint64(block.timestamp) + MAX_DEADLINE + DEADLINE_PERIOD + 1;
        assertEq(_isStaked(prover), stake - amount >= MIN_STAKE);

        vm.roll(block.number + wait);
        vm.warp(block.timestamp + waitTime);
        // forge-lint: disable-next-line(block-timestamp)
        bool timePassed = block.timestamp >= afterTime;
        vm.prank(prover);
        if (block.number < at) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, at));
            market.withdrawStake();
            assertEq(prover.balance, 0);
        } else if (!timePassed) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.TooEarly.selector, afterTime));
            market.withdrawStake();
            assertEq(prover.balance, 0);
        } else {
            market.withdrawStake();
            assertEq(prover.balance, amount);
        }
        (uint256 unbonding,) = _unbondingOf(prover);
        assertEq(_stakeOf(prover) + unbonding + prover.balance, stake);
        assertEq(address(market).balance, _stakeOf(prover) + unbonding);
    }

    function testFuzz_unbond_aboveStakeReverts(uint256 stake, uint256 amount) public {
        stake = bound(stake, MIN_STAKE, 1e30);
        amount = bound(amount, stake + 1, type(uint256).max);
        _register(prover, stake);
        vm.prank(prover);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.InsufficientStake.selector, stake, amount));
        market.unbond(amount);
    }

    function testFuzz_deposit_withdrawAfterClaim(uint256 deposited, uint256 requested, uint256 price) public {
        deposited = bound(deposited, 1, 1e30);
        requested = bound(requested, 1, deposited);
        price = bound(price, 0, deposited);
        _register(prover, MIN_STAKE);
        _deposit(client, deposited);
        vm.prank(client);
        market.requestDepositWithdrawal(requested);

        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](1);
        leaves[0] = _leaf(0, client, price);
        MarketTypes.Award memory a = _award(leaves[0], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);
        _claimJob(prover, id, leaves, 0, 0, a, sig);

        vm.roll(block.number + DEPOSIT_DELAY);
        uint256 left = deposited - price;
        uint256 expected = requested < left ? requested : left;
        vm.prank(client);
        if (expected == 0) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.NothingToWithdraw.selector));
            market.withdrawDeposit();
        } else {
            market.withdrawDeposit();
        }
        assertEq(client.balance, expected);
        assertEq(prover.balance, price);
        assertEq(market.deposits(client), left - expected);
        assertEq(address(market).balance, MIN_STAKE + left - expected);
    }

    function testFuzz_claim_everyLeafOnce(uint256 n, uint256 seed, uint256 first) public {
        n = bound(n, 1, 64);
        first = bound(first, 0, n - 1);
        _register(prover, MIN_STAKE);
        MarketTypes.Leaf[] memory leaves = new MarketTypes.Leaf[](n);
        uint256 total;
        for (uint256 i = 0; i < n; i++) {
            leaves[i] = _leaf(i, client, bound(uint256(keccak256(abi.encode(seed, i))), 0, 1e24));
            total += leaves[i].price;
        }
        _deposit(client, total);
        uint256 id = _commit(prover, leaves);
        _closeWindow(id);

        // Claim every leaf once, starting at `first` and wrapping around.
        for (uint256 k = 0; k < n; k++) {
            _claimOf(id, leaves, (first + k) % n, "");
        }
        assertEq(prover.balance, total);
        assertEq(market.deposits(client), 0);
        assertEq(address(market).balance, MIN_STAKE);

        _claimOf(id, leaves, first, abi.encodeWithSelector(MarketTypes.AlreadyClaimed.selector, leaves[first].jobId));
    }

    /// Claims leaf `i` of batch `id` (all leaves of `client`) as `prover`, with a fresh
    /// award; expects `err` unless it is empty.
    function _claimOf(uint256 id, MarketTypes.Leaf[] memory leaves, uint256 i, bytes memory err) internal {
        MarketTypes.Award memory a = _award(leaves[i], prover);
        bytes memory sig = _sign(clientKey, a);
        if (err.length != 0) vm.expectRevert(err);
        _claimJob(prover, id, leaves, i, _nonce(i), a, sig);
    }

    function testFuzz_claim_windowBoundary(uint256 wait) public {
        wait = bound(wait, 0, 3 * CHALLENGE_WINDOW);
        _register(prover, MIN_STAKE);
        _deposit(client, 1 ether);
        MarketTypes.Leaf[] memory leaves = _leaves(3, client);
        MarketTypes.Award memory a = _award(leaves[2], prover);
        bytes memory sig = _sign(clientKey, a);
        uint256 id = _commit(prover, leaves);
        uint64 closesAt = uint64(block.number) + CHALLENGE_WINDOW;
        vm.roll(block.number + wait);
        if (block.number <= closesAt) {
            vm.expectRevert(abi.encodeWithSelector(MarketTypes.WindowOpen.selector, closesAt));
            _claimJob(prover, id, leaves, 2, 2, a, sig);
            assertEq(prover.balance, 0);
        } else {
            _claimJob(prover, id, leaves, 2, 2, a, sig);
            assertEq(prover.balance, leaves[2].price);
        }
    }

    function testFuzz_claim_wrongSignerRejected(uint256 key) public {
        key = bound(key, 1, 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364140);
        vm.assume(key != clientKey);
        _setUpBatch();
        bytes memory sig = _sign(key, awards[0]);
        _expectClaimRevert(
            prover,
            batchId,
            _leavesMem(),
            batchLeaves[0],
            0,
            0,
            awards[0],
            sig,
            abi.encodeWithSelector(MarketTypes.BadAwardSignature.selector)
        );
    }

    /// `exposure` and `commitBatch` agree with a model that keeps every batch: leaves at
    /// risk are those committed in the current epoch or the one before.
    function testFuzz_commitBatch_exposureMatchesModel(uint256 stake, uint256 seed) public {
        stake = bound(stake, MIN_STAKE, 5 * MIN_STAKE);
        _register(prover, stake);
        uint256 covered = stake / SLASH_PER_JOB;
        uint256[] memory blocks = new uint256[](12);
        uint256[] memory counts = new uint256[](12);
        uint256 n;
        for (uint256 step = 0; step < 12; step++) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            vm.roll(block.number + r % (3 * EPOCH));
            uint32 count = uint32(bound(r >> 64, 1, covered));
            uint256 epoch = block.number / EPOCH;
            uint256 atRisk;
            for (uint256 k = 0; k < n; k++) {
                uint256 e = blocks[k] / EPOCH;
                if (e == epoch || e + 1 == epoch) atRisk += counts[k];
            }
            (uint256 viewRisk, uint256 viewCovered) = market.exposure(prover);
            assertEq(viewRisk, atRisk);
            assertEq(viewCovered, covered);
            if (atRisk + count > covered) {
                _expectExposureTooHigh(prover, count, atRisk + count, covered);
            } else {
                _commitCount(prover, count);
                (blocks[n], counts[n]) = (block.number, count);
                n++;
            }
        }
    }
}
