#!/usr/bin/env bash
# Runs the ProverMarket invariant suite (contracts/test/ProverMarket.invariant.t.sol) with forge,
# at FOUNDRY_INVARIANT_RUNS runs (default 10000; depth and seed come from contracts/foundry.toml).
# Installs what is missing first (scripts/setup.sh). Extra arguments go to `forge test`.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

scripts/setup.sh >/dev/null

export FOUNDRY_INVARIANT_RUNS="${FOUNDRY_INVARIANT_RUNS:-10000}"
cd contracts
exec "$forge_bin" test --match-path test/ProverMarket.invariant.t.sol -vv "$@"
