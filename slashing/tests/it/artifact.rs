//! The committed artifact the bindings come from is what forge builds from the Solidity
//! now. Regenerate with `scripts/regen-fixtures.sh`.

use provernet_slashing::bindings::ARTIFACT_JSON;
use provernet_slashing::compile::{self, Artifact};

#[test]
fn committed_artifact_matches_a_fresh_build() {
    let (contracts, forge, solc) = compile::repo_paths();
    let scratch = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("forge-{}", std::process::id()));
    let fresh =
        compile::forge_build(&contracts, &forge, &solc, &scratch).expect("ProverMarket builds");
    let _ = std::fs::remove_dir_all(&scratch);
    let committed =
        Artifact::from_committed(&serde_json::from_str(ARTIFACT_JSON).expect("artifact is JSON"))
            .expect("artifact has abi and bytecode");
    assert!(
        committed == fresh,
        "slashing/artifacts/ProverMarket.json is stale: run scripts/regen-fixtures.sh and commit it"
    );
    assert!(
        fresh.deployed_bytecode.len() <= 24_576,
        "runtime code {} bytes exceeds EIP-170",
        fresh.deployed_bytecode.len()
    );
}
