#!/usr/bin/env bash
# Rewrites the test vectors shared between the Rust crates and the Solidity tests
# (contracts/test/fixtures/). Commit the result; tests fail while a fixture is stale.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

PROVERNET_UPDATE_FIXTURES=1 cargo test --locked -p provernet-protocol --test it fixtures::
PROVERNET_UPDATE_FIXTURES=1 cargo test --locked -p provernet-circuits --test it fixtures::
git status --short -- contracts/test/fixtures
