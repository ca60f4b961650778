// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.28;

import {Vm} from "forge-std/StdAssertions.sol";
import {StdAssertions} from "forge-std/StdAssertions.sol";
import {StdChains} from "forge-std/StdChains.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {StdUtils} from "forge-std/StdUtils.sol";

/// forge-std's `Test`, composed from the same base contracts but without importing its
/// console libraries nor its storage and cheat helpers (`Base.sol`, `StdCheats.sol`,
/// `StdStorage.sol`): of those the suites use only `vm`, `makeAddr` and `makeAddrAndKey`,
/// defined here as forge-std defines them.
///
/// Why: solcjs (scripts/solc) crashes with "memory access out of bounds" when one
/// standard-JSON input exceeds about 1.30 MB, and forge compiles the whole project as one
/// input. forge-std's `Test.sol` would put about 0.5 MB of unused console code into every
/// build (`safeconsole.sol` alone is 427 kB of source), and `StdCheats.sol` brings
/// `console.sol` (69 kB) and, through `StdStorage.sol`, a second copy of `Vm.sol` (129 kB,
/// keyed by its absolute path). Every suite imports this file instead; importing
/// `forge-std/Test.sol`, `Base.sol` or `StdCheats.sol` anywhere brings that code back.
/// `Vm` is imported through `StdAssertions.sol` (which imports it by a relative path), and
/// the suites import it from here: forge keys a direct `forge-std/Vm.sol` import by
/// another path than forge-std's own relative imports, so importing it directly puts its
/// 129 kB into the input twice.
/// `console2` is still available (`forge-std/console2.sol`).
abstract contract Test is StdAssertions, StdChains, StdInvariant, StdUtils {
    /// The cheat code address: `address(uint160(uint256(keccak256("hevm cheat code"))))`.
    Vm internal constant vm = Vm(0x7109709ECfa91a80626fF3989D68f67F5b1DD12D);

    bool public IS_TEST = true;

    /// A labelled address and its private key, derived from `name` (as forge-std's
    /// `StdCheatsSafe.makeAddrAndKey`).
    function makeAddrAndKey(string memory name) internal virtual returns (address addr, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        addr = vm.addr(privateKey);
        vm.label(addr, name);
    }

    /// A labelled address derived from `name` (as forge-std's `StdCheatsSafe.makeAddr`).
    function makeAddr(string memory name) internal virtual returns (address addr) {
        (addr,) = makeAddrAndKey(name);
    }
}
