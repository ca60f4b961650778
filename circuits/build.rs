//! Names this build of the circuits for the verifying-key cache (`src/keys.rs`): a hash
//! of everything a verifying key can depend on besides the SRS — this crate's source, the
//! protocol crate's, the workspace's manifest and the lockfile that pins halo2 — exported as
//! `PROVERNET_CIRCUITS_BUILD`. A key cached by another build is made again, not read.

use std::fs;
use std::hash::Hasher;
use std::path::{Path, PathBuf};

/// What a verifying key can depend on, relative to this crate's directory.
/// (The workspace's `Cargo.toml` names halo2's features and would hold any `[patch]`.)
const INPUTS: &[&str] = &[
    "src",
    "Cargo.toml",
    "../protocol/src",
    "../Cargo.toml",
    "../Cargo.lock",
];

/// FNV-1a over 64 bits: fixed by its definition, so the name of a build does not change
/// with the compiler that runs this script.
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Every file under `path`, sorted, so the hash does not depend on directory order.
fn files(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries = fs::read_dir(path)?
            .map(|entry| entry.map(|e| e.path()))
            .collect::<std::io::Result<Vec<_>>>()?;
        entries.sort();
        for entry in entries {
            files(&entry, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let here = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let mut all = Vec::new();
    for input in INPUTS {
        println!("cargo:rerun-if-changed={input}");
        files(&here.join(input), &mut all)?;
    }
    let mut hash = Fnv(0xcbf2_9ce4_8422_2325);
    for path in &all {
        let name = path.strip_prefix(&here).unwrap_or(path);
        let bytes = fs::read(path)?;
        // Each name and content framed by its length: no two file sets hash the same bytes.
        for part in [name.to_string_lossy().as_bytes(), bytes.as_slice()] {
            hash.write(&(part.len() as u64).to_le_bytes());
            hash.write(part);
        }
    }
    println!(
        "cargo:rustc-env=PROVERNET_CIRCUITS_BUILD={:016x}",
        hash.finish()
    );
    Ok(())
}
