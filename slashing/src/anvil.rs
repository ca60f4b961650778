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

/// Marks the chain's state (`evm_snapshot`), to come back to with [`reorg_to`].
///
/// # Errors
/// [`crate::ChainError::Rpc`].
pub async fn snapshot<M: ethers::providers::Middleware>(
    client: &M,
) -> Result<ethers::types::U256, crate::ChainError> {
    client
        .provider()
        .request("evm_snapshot", ())
        .await
        .map_err(|e| crate::ChainError::Rpc(e.to_string()))
}

/// Takes the chain back to `snapshot` (`evm_revert`): every block since is gone, with its
/// transactions, as in a reorg; the blocks mined next replace them.
///
/// # Errors
/// [`crate::ChainError::Rpc`], also when anvil does not know the snapshot.
pub async fn reorg_to<M: ethers::providers::Middleware>(
    client: &M,
    snapshot: ethers::types::U256,
) -> Result<(), crate::ChainError> {
    let reverted: bool = client
        .provider()
        .request("evm_revert", [snapshot])
        .await
        .map_err(|e| crate::ChainError::Rpc(e.to_string()))?;
    if reverted {
        Ok(())
    } else {
        Err(crate::ChainError::Rpc(format!("no snapshot {snapshot}")))
    }
}
