#!/usr/bin/env bash
# Runs provernet's benchmarks in the same build profile as the tests (no second build).
#   scripts/bench.sh            every benchmark
#   scripts/bench.sh envelope   envelope validation throughput per core
#   scripts/bench.sh proving    keygen, prove, verify, proof size, EVM gas per circuit
#   scripts/bench.sh gas        market gas per job and per challenge, from anvil receipts
#   scripts/bench.sh market     end-to-end latency vs raw proving, award latency
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

scripts/setup.sh >/dev/null
run() {
    case "$1" in
        envelope) cargo bench --locked --profile dev -p provernet-protocol --bench envelope ;;
        proving) cargo bench --locked --profile dev -p provernet-circuits --bench proving ;;
        gas) cargo bench --locked --profile dev -p provernet-slashing --bench gas ;;
        market) cargo bench --locked --profile dev -p provernet-node --bench market ;;
        *) echo "bench: unknown benchmark '$1' (known: envelope, proving, gas, market)" >&2; exit 2 ;;
    esac
}
if (($# == 0)); then
    run envelope
    run proving
    run gas
    run market
else
    run "$1"
fi
