#!/usr/bin/env bash
# Runs provernet's benchmarks in the same build profile as the tests (no second build).
#   scripts/bench.sh            every benchmark
#   scripts/bench.sh envelope   one of them
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

bench=${1:-envelope}
case "$bench" in
    envelope) cargo bench --locked --profile dev -p provernet-protocol --bench envelope ;;
    *) echo "bench: unknown benchmark '$bench' (known: envelope)" >&2; exit 2 ;;
esac
