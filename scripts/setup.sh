#!/usr/bin/env bash
# scripts/setup.sh - install provernet's non-Cargo toolchain on a fresh Debian 12 machine.
#
# Idempotent and safe to run from any directory; on an already set-up machine it only checks
# and takes about a second. It:
#   1. installs libclang-dev with apt (bindgen needs it when librocksdb-sys builds RocksDB);
#   2. runs `npm ci` when node_modules is missing or older than package-lock.json (tracked by a
#      stamp file holding the lock file's sha256);
#   3. checks that the Solidity toolchain answers.
#
# It exports nothing. Other scripts use these fixed paths (relative to the repository root):
#   forge : node_modules/@foundry-rs/forge-linux-amd64/bin/forge
#   anvil : node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil
#   solc  : scripts/solc   (solcjs wrapper; contracts/foundry.toml points at it)
# and run forge from contracts/ (or set FOUNDRY_SOLC="$PWD/scripts/solc" when they cannot).
set -euo pipefail

repo_root=$(dirname -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")")
cd -- "$repo_root"

forge_bin="node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
anvil_bin="node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
solc_wrapper="scripts/solc"
stamp_file="node_modules/.provernet-lock.sha256"

say() { printf 'setup: %s\n' "$*"; }
fail() {
    printf 'setup: ERROR: %s\n' "$1" >&2
    shift
    local arg line
    for arg in "$@"; do
        while IFS= read -r line; do
            printf 'setup:   %s\n' "$line" >&2
        done <<<"$arg"
    done
    exit 1
}

as_root() {
    if [[ $(id -u) -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        fail "need root to run: $*" "run this script as root, or install sudo"
    fi
}

# --- 1. system packages --------------------------------------------------------------------
if dpkg -s libclang-dev >/dev/null 2>&1; then
    say "libclang-dev: present"
else
    say "libclang-dev: installing with apt-get (update + install)"
    apt_log=$(mktemp "${TMPDIR:-/tmp}/provernet-setup-apt.XXXXXX")
    if ! { as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q libclang-dev; } >"$apt_log" 2>&1; then
        tail -n 30 "$apt_log" >&2
        fail "installing libclang-dev with apt-get failed (last lines above, full log: $apt_log)" \
            "try by hand: apt-get update && apt-get install -y libclang-dev"
    fi
    rm -f -- "$apt_log"
    say "libclang-dev: installed"
fi

# --- 2. npm packages (solcjs, forge, anvil, forge-std, OpenZeppelin) -----------------------
command -v node >/dev/null 2>&1 || fail "node is not installed" "install Node.js >= 20 (with npm), then re-run scripts/setup.sh"
command -v npm >/dev/null 2>&1 || fail "npm is not installed" "install npm (Node.js >= 20), then re-run scripts/setup.sh"
node_major=$(node -p 'process.versions.node.split(".")[0]')
((node_major >= 20)) || fail "Node.js $(node --version) is too old" "install Node.js >= 20, then re-run scripts/setup.sh"
[[ -f package-lock.json ]] || fail "package-lock.json is missing in $repo_root" "restore it from git (git checkout -- package-lock.json)"

lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -d node_modules && -f "$stamp_file" && "$(cat "$stamp_file")" == "$lock_sum" \
    && -x "$forge_bin" && -x "$anvil_bin" && -f node_modules/solc/solc.js ]]; then
    say "node_modules: up to date with package-lock.json"
else
    say "node_modules: missing or stale, running npm ci"
    npm ci --no-audit --no-fund \
        || fail "npm ci failed" "check access to the npm registry, then: rm -rf node_modules && scripts/setup.sh"
    printf '%s\n' "$lock_sum" >"$stamp_file"
fi

# --- 3. checks -------------------------------------------------------------------------------
[[ -x "$solc_wrapper" ]] || chmod +x "$solc_wrapper"

want_solc=$(node -p 'require("./package.json").devDependencies.solc')
solc_out=$("$solc_wrapper" --version 2>&1) \
    || fail "the solc wrapper ($solc_wrapper --version) failed:" "$solc_out" \
        "fix: rm -rf node_modules && scripts/setup.sh"
solc_line1=$(sed -n 1p <<<"$solc_out")
solc_line2=$(sed -n 2p <<<"$solc_out")
if [[ "$solc_line1" != "solc, the solidity compiler commandline interface" \
    || ! "$solc_line2" =~ ^Version:\ ${want_solc//./\\.}\+commit\.[0-9a-f]{8}\.Linux\.g\+\+$ ]]; then
    fail "the solc wrapper printed an unexpected version (want $want_solc):" "$solc_out" \
        "fix: if package.json changed, run npm install to update package-lock.json; else: rm -rf node_modules && scripts/setup.sh"
fi
say "solc: ${solc_line2#Version: } (solcjs via $solc_wrapper)"

for tool in forge anvil; do
    bin_var="${tool}_bin"
    bin=${!bin_var}
    [[ -x "$bin" ]] || fail "$tool is missing: $bin" \
        "it comes from the npm package @foundry-rs/${tool}-linux-amd64 (x86-64 Linux only)" \
        "fix: rm -rf node_modules && scripts/setup.sh"
    ver=$("$bin" --version 2>&1) || fail "$tool does not run: $bin --version said:" "$ver" \
        "fix: rm -rf node_modules && scripts/setup.sh"
    ver=$(head -n1 <<<"$ver")
    say "$tool: ${ver#"$tool Version: "} ($bin)"
done

say "done"
