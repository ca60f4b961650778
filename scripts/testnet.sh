#!/usr/bin/env bash
# The main job: brings up a local provernet testnet with a workload.
#
# The testnet itself arrives with issue #7; until then this installs what is needed,
# builds the `provernet` binary and shows what it offers.
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

scripts/setup.sh
cargo build --locked --bin provernet
echo
"$CARGO_TARGET_DIR/debug/provernet" --help
echo
echo "testnet: \`provernet testnet up\` is not implemented yet (issue #7); above is what the binary offers today."
