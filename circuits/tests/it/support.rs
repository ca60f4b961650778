//! A prover shared by the tests, with its key cache kept between runs.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use provernet_circuits::{Circuit, Proof, Prover, ProverConfig, SrsSource};

/// The checkout the tests run from. Cargo sets `CARGO_MANIFEST_DIR` at run time too; the
/// run-time value is right even when this binary was built from another checkout sharing
/// the target directory.
pub fn checkout() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
        .join("..")
}

pub fn cache_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provernet-circuits-cache")
}

/// A prover configuration with this checkout's solc (`scripts/solc`).
pub fn config(srs: SrsSource, cache_dir: PathBuf) -> ProverConfig {
    ProverConfig {
        solc: checkout().join("scripts/solc"),
        ..ProverConfig::new(srs, cache_dir)
    }
}

pub fn prover() -> Arc<Prover> {
    static PROVER: OnceLock<Arc<Prover>> = OnceLock::new();
    Arc::clone(PROVER.get_or_init(|| {
        let config = config(SrsSource::DevInsecure, cache_dir());
        Arc::new(Prover::new(&config).expect("dev SRS loads"))
    }))
}

/// A proof of each circuit's example witness, made once.
pub fn example_proof(circuit: Circuit) -> Proof {
    static PROOFS: OnceLock<std::sync::Mutex<Vec<Proof>>> = OnceLock::new();
    let proofs = PROOFS.get_or_init(Default::default);
    let mut proofs = proofs.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(found) = proofs.iter().find(|p| p.circuit == circuit) {
        return found.clone();
    }
    let witness = circuit
        .parse_witness(&circuit.example_witness())
        .expect("example is valid");
    let started = std::time::Instant::now();
    let proof = prover().prove(&witness).expect("example proves");
    eprintln!("{circuit}: proved in {:?}", started.elapsed());
    proofs.push(proof.clone());
    proof
}
