//! The compiled market contract, as forge builds it from `contracts/src`.
//!
//! The crate's bindings and the bytecode it deploys come from `artifacts/ProverMarket.json`:
//! the ABI and bytecode of forge's own build, so what the Rust side deploys is byte for
//! byte what the forge suites test. `scripts/regen-fixtures.sh` rewrites it (with forge
//! and node only, so it works even when the crate no longer compiles against a stale
//! artifact); a test builds the sources again and fails while the two differ.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The contract the artifact holds.
pub const CONTRACT: &str = "ProverMarket";

/// Why building failed.
#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    /// forge could not run or failed.
    #[error("forge build ({forge}): {reason}")]
    Forge {
        /// The forge binary.
        forge: String,
        /// What went wrong.
        reason: String,
    },
    /// forge's output was not the expected artifact.
    #[error("forge's artifact {path}: {reason}")]
    Artifact {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The market's ABI, creation and runtime bytecode.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Artifact {
    /// The JSON ABI.
    pub abi: Value,
    /// Creation bytecode.
    pub bytecode: Vec<u8>,
    /// Runtime bytecode.
    pub deployed_bytecode: Vec<u8>,
}

fn hex_field(value: &Value, path: &[&str]) -> Option<Vec<u8>> {
    let text = path.iter().try_fold(value, |v, key| v.get(key))?.as_str()?;
    provernet_protocol::primitives::from_hex(text.strip_prefix("0x").unwrap_or(text))
}

impl Artifact {
    /// Reads the committed form: `{"abi", "bytecode", "deployedBytecode"}`, hex with 0x.
    pub fn from_committed(value: &Value) -> Option<Self> {
        Some(Self {
            abi: value.get("abi")?.clone(),
            bytecode: hex_field(value, &["bytecode"])?,
            deployed_bytecode: hex_field(value, &["deployedBytecode"])?,
        })
    }

    /// Reads forge's form: `bytecode.object` and `deployedBytecode.object`.
    pub fn from_forge(value: &Value) -> Option<Self> {
        Some(Self {
            abi: value.get("abi")?.clone(),
            bytecode: hex_field(value, &["bytecode", "object"])?,
            deployed_bytecode: hex_field(value, &["deployedBytecode", "object"])?,
        })
    }
}

/// Builds the contracts under `contracts_dir` with `forge` (sources only, into a fresh
/// directory under `scratch`) and returns the market's artifact. `solc` is the compiler
/// forge should use (`scripts/solc`).
pub fn forge_build(
    contracts_dir: &Path,
    forge: &Path,
    solc: &Path,
    scratch: &Path,
) -> Result<Artifact, CompileError> {
    let fail = |reason: String| CompileError::Forge {
        forge: forge.display().to_string(),
        reason,
    };
    let out = scratch.join("out");
    let output = Command::new(forge)
        .current_dir(contracts_dir)
        .env("FOUNDRY_SOLC", solc)
        .args(["build", "--skip", "test", "--skip", "script", "--out"])
        .arg(&out)
        .arg("--cache-path")
        .arg(scratch.join("cache"))
        .output()
        .map_err(|e| fail(format!("cannot run it ({e}); run scripts/setup.sh")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "exit status {}: {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let path = out.join(format!("{CONTRACT}.sol/{CONTRACT}.json"));
    let bad = |reason: String| CompileError::Artifact {
        path: path.clone(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|e| bad(e.to_string()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    Artifact::from_forge(&json)
        .ok_or_else(|| bad("no abi, bytecode.object or deployedBytecode.object".into()))
}

/// The checkout this code runs from (for tests and benches): the parent of the running
/// crate's manifest directory, which cargo sets at run time. The compile-time value is
/// only a fallback, since one target directory serves several checkouts and a test binary
/// built for one is reused by the others.
pub fn checkout() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("..")
}

/// The repository's `contracts/`, forge and `scripts/solc` in [`checkout`].
pub fn repo_paths() -> (PathBuf, PathBuf, PathBuf) {
    let root = checkout();
    (
        root.join("contracts"),
        root.join("node_modules/@foundry-rs/forge-linux-amd64/bin/forge"),
        root.join("scripts/solc"),
    )
}
