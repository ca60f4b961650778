#!/usr/bin/env bash
# Rewrites the test vectors shared between the Rust crates and the Solidity tests
# (contracts/test/fixtures/) and the market artifact the Rust bindings come from
# (slashing/artifacts/ProverMarket.json). Commit the result; tests fail while any is stale.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

# The artifact first, with forge and node only: the slashing crate's bindings are generated
# from it, so it must be current before that crate can compile against a changed ABI.
scratch=$(mktemp -d)
trap 'rm -rf -- "$scratch"' EXIT
(cd contracts && "$forge_bin" build --skip test --skip script --out "$scratch/out" --cache-path "$scratch/cache" >/dev/null)
node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const out = { abi: a.abi, bytecode: a.bytecode.object, contractName: "ProverMarket", deployedBytecode: a.deployedBytecode.object };
fs.writeFileSync(process.argv[2], JSON.stringify(out, null, 2) + "\n");
' "$scratch/out/ProverMarket.sol/ProverMarket.json" slashing/artifacts/ProverMarket.json

PROVERNET_UPDATE_FIXTURES=1 cargo test --locked -p provernet-protocol --test it fixtures::
PROVERNET_UPDATE_FIXTURES=1 cargo test --locked -p provernet-circuits --test it fixtures::
git status --short -- contracts/test/fixtures slashing/artifacts
