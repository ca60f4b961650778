//! Errors of the circuits crate.

use std::path::PathBuf;

/// Everything that can go wrong proving, verifying or managing keys. Variants about
/// witnesses and proofs describe the input; none of them is a panic.
#[derive(Debug, thiserror::Error)]
pub enum CircuitError {
    /// No circuit has this name.
    #[error("unknown circuit `{0}` (see `provernet circuits list`)")]
    UnknownCircuit(String),
    /// The witness is not JSON of the circuit's shape.
    #[error("witness for {circuit} is malformed: {reason}")]
    WitnessShape {
        /// The circuit.
        circuit: &'static str,
        /// What is wrong, in the witness format's terms.
        reason: String,
    },
    /// A witness value is outside what the circuit accepts.
    #[error("witness for {circuit}: `{field}` is out of range: {reason}")]
    WitnessRange {
        /// The circuit.
        circuit: &'static str,
        /// The field, e.g. `input[2]`.
        field: String,
        /// The bound it breaks.
        reason: String,
    },
    /// A public input is not a canonical field element.
    #[error(
        "public input {index} is not a canonical BN254 scalar (32 bytes big-endian below the modulus)"
    )]
    PublicInputNotInField {
        /// Its position.
        index: usize,
    },
    /// The number of public inputs does not match the circuit.
    #[error("{circuit} has {expected} public inputs, got {got}")]
    PublicInputCount {
        /// The circuit.
        circuit: &'static str,
        /// How many it has.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// The proof does not verify against these public inputs (including truncated,
    /// altered or foreign proofs).
    #[error("proof does not verify for {circuit}: {reason}")]
    InvalidProof {
        /// The circuit.
        circuit: &'static str,
        /// What halo2 reported.
        reason: String,
    },
    /// Halo2 failed while building keys or a proof for a valid witness.
    #[error("halo2 failed to {action} for {circuit}: {reason}")]
    Halo2 {
        /// What it was doing.
        action: &'static str,
        /// The circuit.
        circuit: &'static str,
        /// What halo2 reported.
        reason: String,
    },
    /// The dev SRS was asked for outside dev/testnet mode.
    #[error(
        "no SRS file given: pass a real SRS file (--srs FILE), or --dev-srs for a local testnet (INSECURE)"
    )]
    DevSrsNotAllowed,
    /// An SRS file could not be read or is too small.
    #[error("SRS file {path}: {reason}")]
    Srs {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing the cache directory failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Compiling a Solidity verifier failed.
    #[error("compiling the Solidity verifier with {solc}: {reason}")]
    Solc {
        /// The compiler that was run.
        solc: String,
        /// What went wrong.
        reason: String,
    },
    /// A cached verifying key bore this build's name but was made by other code (a
    /// dependency changed where the build's name does not look): it is rewritten, and
    /// the keys this process holds are the stale ones until it starts again.
    #[error(
        "the cached verifying key of {circuit} in {dir} was made by other code under this build's name; it is rewritten: start the node again"
    )]
    StaleKeyCache {
        /// The circuit.
        circuit: &'static str,
        /// Its cache directory.
        dir: PathBuf,
    },
    /// A blocking proving task was cancelled or panicked.
    #[error("proving task did not complete: {0}")]
    Task(String),
}

impl CircuitError {
    /// Whether verifying failed through the proof itself (so whoever sent it is at
    /// fault), not through this machine (keys, SRS, files, a task) or public inputs the
    /// caller should have checked before.
    pub fn is_proof_fault(&self) -> bool {
        matches!(self, Self::InvalidProof { .. })
    }
}

impl CircuitError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> Self {
        Self::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
