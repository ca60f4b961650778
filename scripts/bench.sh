#!/usr/bin/env bash
# Every headline figure, measured and compared with its target, in the test build profile.
#   scripts/bench.sh            every benchmark below, then the report
#   scripts/bench.sh NAME...    only those, then the report (other figures keep their last
#                               measurement; bench/results.json says when each was taken)
# Benchmarks: envelope (validation throughput per core), adversary (honest e2e and memory
# under a flood), soak (memory, open files and warm start over 5,000 settled jobs; not in
# the default set: it runs about 50 minutes), resume (a prover's catch-up after 100,000
# blocks mined while it was down; not in the default set: about 20 minutes), proving (prove time by k, library
# vs direct create_proof, EVM verify gas), gas (market gas by batch size and per challenge),
# market (10-node testnet: e2e ÷ raw proving, award latency), scale10, scale20 (full
# market, 10 and 20 nodes) and scale50 (the 20 + 30 networking-only nodes), one workload
# for all three, crash (SIGKILLs of a prover and a watchtower, then the invariants), zkml
# (provernet and EZKL side by side on the digits model and a larger one: prove time, proof
# size, EVM gas, peak memory, accuracy; not in the default set: it installs EZKL in a
# virtualenv outside the repo, ~/.cache/provernet/venv, and runs about 15 minutes). The report prints every figure with its target and
# PASS/FAIL, and writes bench/results.json, the table in docs/benchmarks.md and
# docs/cost-growth.svg; it exits 1 when a target is missed. load (the market under load:
# throughput, latency beside an M/D/c queue's, re-auctions at 50-150 % of the measured
# capacity; not in the default set: about 15 minutes).
set -euo pipefail
source "$(dirname -- "${BASH_SOURCE[0]}")/common.sh"
cd -- "$repo_root"

scripts/setup.sh >/dev/null
mkdir -p bench
export PROVERNET_BENCH_FIGURES="$repo_root/bench/figures.jsonl"
: >"$PROVERNET_BENCH_FIGURES"
cargo build --locked --bin provernet
provernet="$CARGO_TARGET_DIR/debug/provernet"

testnet() {
    local label=$1
    shift
    # A run with problems still records its figures, which say so; go on to the report.
    "$provernet" testnet up --dir "bench/runs/$label" --bench "$label" "$@" ||
        echo "bench: the $label testnet reported problems (bench/runs/$label/report.txt)" >&2
}

run() {
    case "$1" in
        envelope) cargo bench --locked --profile dev -p provernet-protocol --bench envelope ;;
        proving) cargo bench --locked --profile dev -p provernet-circuits --bench proving ;;
        gas) cargo bench --locked --profile dev -p provernet-slashing --bench gas ;;
        # Honest jobs without and with one peer flooding valid, useless gossip.
        adversary) cargo bench --locked --profile dev -p provernet-node --bench adversary ;;
        # One prover and one client settle 5,000 jobs (PROVERNET_SOAK_JOBS): memory and
        # open files after warm-up, and a restarted prover's time to its first bid.
        soak) cargo bench --locked --profile dev -p provernet-node --bench soak ;;
        # A prover down while anvil mines 100,000 blocks (PROVERNET_SOAK_DOWN_BLOCKS):
        # where its follower resumes and its time to catch up.
        resume) cargo bench --locked --profile dev -p provernet-node --bench soak -- resume ;;
        market)
            # 10 nodes; one poseidon-chain-16 job (the largest circuit) at a time, so the
            # winner proves alone, as raw proving is timed afterwards.
            testnet market --provers 4 --watchtowers 2 --clients 4 --cheaters 0 \
                --circuits poseidon-chain-16 --jobs 8 --rate 0.1 --deadline 120 --raw-prove ;;
        # One workload for the scale runs (mixed circuits, so jobs overlap and several
        # provers win some), at 10, 20 and 50 nodes.
        scale10)
            testnet scale10 --provers 4 --watchtowers 2 --clients 4 --cheaters 1 \
                --circuits poseidon-chain-12,model-4-8r-3-s8 --jobs 40 --rate 0.5 ;;
        scale20)
            testnet scale20 --provers 8 --watchtowers 4 --clients 8 --cheaters 1 \
                --circuits poseidon-chain-12,model-4-8r-3-s8 --jobs 40 --rate 0.5 ;;
        scale50)
            testnet scale50 --provers 8 --watchtowers 4 --clients 8 --cheaters 1 --relays 30 \
                --circuits poseidon-chain-12,model-4-8r-3-s8 --jobs 40 --rate 0.5 ;;
        zkml)
            # Python and EZKL only here, in a virtualenv outside the repo (idempotent).
            venv="$HOME/.cache/provernet/venv"
            [[ -x "$venv/bin/python" ]] || python3 -m venv "$venv"
            "$venv/bin/python" -c "import ezkl, onnx, numpy" 2>/dev/null ||
                "$venv/bin/pip" install -q "ezkl==23.0.5" "onnx" "numpy"
            "$venv/bin/python" scripts/bench-zkml.py --provernet "$provernet" \
                --anvil "$repo_root/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" \
                --solc "$repo_root/scripts/solc" --out bench/runs/zkml ;;
        crash)
            # Mixed circuits at one job a second: jobs overlap, so the cheater wins some
            # and the watchtower has challenges to make while it is being killed.
            testnet crash --provers 3 --watchtowers 2 --clients 2 --cheaters 1 --cheat invalid \
                --cheat-rate 0.5 --circuits poseidon-chain-12,model-4-8r-3-s8 --jobs 40 --rate 1 \
                --kills 6 ;;
        load)
            # 3 provers, 1 client, 1 watchtower, one circuit: the capacity measured under
            # saturation, then Poisson arrivals at 50, 80, 100 and 150 % of it, 90 s each
            # (about 15 minutes in all).
            "$provernet" testnet load --dir bench/runs/load --bench ||
                echo "bench: the load runs reported problems (bench/runs/load)" >&2 ;;
        *)
            echo "bench: unknown benchmark '$1' (known: envelope, adversary, soak, resume, proving, gas, market, scale10, scale20, scale50, crash, load, zkml)" >&2
            exit 2
            ;;
    esac
}

if (($# == 0)); then
    set -- envelope adversary proving gas market scale10 scale20 scale50 crash
fi
for name in "$@"; do
    echo "== bench: $name"
    run "$name"
done
echo "== bench: report"
exec "$provernet" bench report
