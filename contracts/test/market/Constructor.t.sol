// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {ProverMarket} from "../../src/ProverMarket.sol";
import {MarketTypes} from "../../src/MarketTypes.sol";
import {CircuitStore} from "../../src/CircuitStore.sol";
import {MarketTestBase} from "./MarketTestBase.sol";

/// The constructor (one test per `InvalidParameters` condition) and the award digest: one
/// test per rule and per revert reason of ProverMarket (docs/contracts.md). The shared
/// helpers are in MarketTestBase.
contract ConstructorTest is MarketTestBase {
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
}
