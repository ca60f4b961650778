//! The local chain: anvil from the npm package `scripts/setup.sh` installs, bound to
//! 127.0.0.1 on a free port.

use std::path::PathBuf;

use ethers::utils::{Anvil, AnvilInstance};

/// Where `scripts/setup.sh` puts anvil in a checkout.
pub fn binary() -> PathBuf {
    crate::compile::checkout().join("node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil")
}

/// Starts anvil on 127.0.0.1 with its ten funded dev accounts; it stops when the
/// instance is dropped.
///
/// # Panics
/// If the binary is missing (run `scripts/setup.sh`).
pub fn spawn() -> AnvilInstance {
    let path = binary();
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    Anvil::at(path).arg("--host").arg("127.0.0.1").spawn()
}
