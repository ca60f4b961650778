// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {TestBase} from "forge-std/Base.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdChains} from "forge-std/StdChains.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// forge-std's `Test`, composed from the same base contracts but without importing its
/// console libraries (`safeconsole.sol` alone is 427 kB of source).
///
/// Why: solcjs (scripts/solc) crashes with "memory access out of bounds" when one
/// standard-JSON input exceeds about 1.30 MB, and forge compiles the whole project as one
/// input. forge-std's `Test.sol` would put about 0.5 MB of unused console code into every
/// build. Every suite imports this file instead; importing `forge-std/Test.sol` anywhere
/// brings that code back. `console2` is still available (`forge-std/console2.sol`).
abstract contract Test is TestBase, StdAssertions, StdChains, StdCheats, StdInvariant, StdUtils {
    bool public IS_TEST = true;
}
