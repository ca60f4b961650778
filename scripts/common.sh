# Sourced by the scripts in this folder: repository root and the shared build directory.
#
# Every script builds into one target directory outside the clone, so a fresh clone (CI's
# in particular) reuses what an earlier build on the same machine compiled. Override it
# with CARGO_TARGET_DIR.

repo_root=$(dirname -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")")
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/provernet/target}"
forge_bin="$repo_root/node_modules/@foundry-rs/forge-linux-amd64/bin/forge"
# Absolute path to the solcjs wrapper, so forge finds it whatever its working directory.
export FOUNDRY_SOLC="$repo_root/scripts/solc"
