#!/usr/bin/env bash
# The main job: a local provernet testnet with a workload and a cheating prover.
#
# Installs what is needed (scripts/setup.sh, idempotent), builds the `provernet` binary,
# and runs `provernet testnet up` with the defaults, or with the flags given here
# (docs/testnet.md lists them). The report is written to testnet-run/ (or --dir).
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

scripts/setup.sh
cargo build --locked --bin provernet
exec "$CARGO_TARGET_DIR/debug/provernet" testnet up "$@"
