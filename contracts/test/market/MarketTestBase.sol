// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {MarketTypes} from "../../src/MarketTypes.sol";
import {MarketFixture} from "../utils/MarketFixture.sol";

/// One test per rule and per revert reason of ProverMarket (docs/contracts.md), plus fuzz
/// tests, in the test contracts of test/market/; this is their common base, with the
/// helpers several of them use (the exposure helpers of CommitBatch.t.sol and the committed
/// batch of Claims.t.sol, which Fuzz.t.sol uses too). The invariant suite is in
/// ProverMarket.invariant.t.sol.
abstract contract MarketTestBase is MarketFixture {
    function _expectExposureTooHigh(address who, uint32 count, uint256 atRisk, uint256 covered) internal {
        MarketTypes.Leaf[] memory leaves = _leaves(count, client);
        vm.prank(who, who);
        vm.expectRevert(abi.encodeWithSelector(MarketTypes.ExposureTooHigh.selector, atRisk, covered));
        market.commitBatch(leaves);
    }

    function _commitCount(address who, uint32 count) internal returns (uint256) {
        return _commit(who, _leaves(count, client));
    }

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
}
