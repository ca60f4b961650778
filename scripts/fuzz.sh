#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ (every decoder a peer or an API caller reaches):
# all of them, or the one named as $1, for FUZZ_RUNS executions each (default 1,000,000;
# `message` gets 13 times as many, so each of its 13 kinds gets about FUZZ_RUNS).
# Needs the nightly toolchain; installs cargo-fuzz if it is missing. Prints one summary
# line per target; exits non-zero if any target crashed (its input is in
# fuzz/artifacts/<target>/). See docs/hardening.md.
set -euo pipefail

repo_root=$(dirname -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")")
cd "$repo_root"
# The fuzz crate is its own workspace with its own target folder (fuzz/target).
unset CARGO_TARGET_DIR

runs=${FUZZ_RUNS:-1000000}
targets=(envelope message frame witness api eip712)
if [[ $# -gt 0 ]]; then
    targets=("$1")
fi

# The longest input per target: envelopes and frames carry proofs (up to 64 KiB).
max_len() {
    case $1 in
        envelope | message | frame) echo 70000 ;;
        *) echo 4096 ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Valid inputs to start from, written once (the corpus then grows from the runs).
if [[ ! -d fuzz/corpus/envelope || ! -d fuzz/corpus/eip712 ]]; then
    cargo +nightly run --quiet --manifest-path fuzz/Cargo.toml --example seeds
fi

logs=fuzz/target/logs
mkdir -p "$logs"
summary=()
failed=0
for target in "${targets[@]}"; do
    target_runs=$runs
    if [[ $target == message ]]; then
        target_runs=$((runs * 13))
    fi
    log="$logs/$target.log"
    echo "fuzzing $target: $target_runs runs (log: $log)"
    status=0
    nice -n 10 cargo +nightly fuzz run "$target" -- \
        -runs="$target_runs" -max_len="$(max_len "$target")" -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    done_line=$(grep -E '^Done [0-9]+ runs in [0-9]+ second' "$log" | tail -n 1 || true)
    corpus=$(find "fuzz/corpus/$target" -type f | wc -l)
    crashes=$(find "fuzz/artifacts/$target" -type f 2>/dev/null | wc -l)
    if [[ $status -ne 0 || -z $done_line ]]; then
        failed=1
        summary+=("$target: FAILED (exit $status; $crashes artifact(s); see $log)")
    else
        read -r _ execs _ _ secs _ <<<"$done_line"
        rate=$((execs / (secs > 0 ? secs : 1)))
        summary+=("$target: $execs runs in $secs s ($rate execs/s), corpus $corpus, crashes 0")
    fi
done

echo
printf '%s\n' "${summary[@]}"
exit "$failed"
