//! The API the node calls: prove a witness, verify a proof.

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::plonk::{create_proof, verify_proof};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::KZGCommitmentScheme;
use halo2_base::halo2_proofs::poly::kzg::multiopen::{ProverSHPLONK, VerifierSHPLONK};
use halo2_base::halo2_proofs::poly::kzg::strategy::SingleStrategy;
use provernet_protocol::{CircuitId, FieldBytes, Hash32};
use rand_core::{OsRng, RngCore};
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::system::halo2::transcript::evm::{ChallengeEvm, EvmTranscript};

use crate::circuits::{Circuit, Witness};
use crate::error::CircuitError;
use crate::evm;
use crate::field;
use crate::keys::{self, CircuitKeys, VerifyingKeys};
use crate::srs::{Srs, SrsSource};
use crate::verifier::{self, Verifier};

type WriteTranscript = EvmTranscript<G1Affine, NativeLoader, Vec<u8>, Vec<u8>>;
type ReadTranscript<'a, 'b> = EvmTranscript<G1Affine, NativeLoader, &'a mut &'b [u8], Vec<u8>>;

/// Where keys and the SRS come from.
#[derive(Clone, Debug)]
pub struct ProverConfig {
    /// The SRS.
    pub srs: SrsSource,
    /// Directory for the dev SRS and key caches.
    pub cache_dir: PathBuf,
    /// The solc that compiles EVM verifiers, from which circuit ids derive
    /// ([`crate::verifier`]); [`evm::default_solc`] unless told otherwise.
    pub solc: PathBuf,
}

impl ProverConfig {
    /// `srs` and `cache_dir`, with [`evm::default_solc`].
    pub fn new(srs: SrsSource, cache_dir: PathBuf) -> Self {
        Self {
            srs,
            cache_dir,
            solc: evm::default_solc(),
        }
    }
}

/// A proof with what it proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The circuit.
    pub circuit: Circuit,
    /// The market's id of the circuit ([`Prover::circuit_id`]).
    pub circuit_id: CircuitId,
    /// Public inputs, 32 bytes big-endian each.
    pub public_inputs: Vec<FieldBytes>,
    /// SHPLONK proof bytes (Keccak transcript, as the EVM verifier reads them).
    pub proof: Vec<u8>,
}

/// Proves and verifies the built-in circuits. Keys are built or loaded on first use of a
/// circuit and kept; the struct is shared (`Arc`) between tasks.
#[derive(Debug)]
pub struct Prover {
    srs: Srs,
    keys_dir: PathBuf,
    /// One slot per circuit, each filled once: the proving keys, read only to prove.
    keys: Slots<CircuitKeys>,
    /// The circuits whose proving keys are in `keys`.
    loaded: Mutex<std::collections::HashSet<Circuit>>,
    /// One slot per circuit, each filled once: what verifying needs.
    verifying: Slots<VerifyingKeys>,
    solc: PathBuf,
    /// `solc --version`, read once.
    solc_version: OnceLock<String>,
    /// One slot per circuit, each filled once.
    verifiers: Slots<Verifier>,
    /// Verifications run at once by [`Prover::verify_async`], one per core: proofs that
    /// peers push or serve wait their turn instead of taking every blocking thread.
    verifications: Arc<tokio::sync::Semaphore>,
}

/// One lazily built value per circuit: the map's lock is held only to find the slot, the
/// slot's while building, so two threads asking for one circuit build it once and other
/// circuits are not held up.
type Slots<T> = Mutex<HashMap<Circuit, Arc<Mutex<Option<Arc<T>>>>>>;

/// The value of `circuit` in `slots`, built by `build` on first use.
fn once_per_circuit<T>(
    slots: &Slots<T>,
    circuit: Circuit,
    build: impl FnOnce() -> Result<T, CircuitError>,
) -> Result<Arc<T>, CircuitError> {
    let slot = {
        let mut slots = slots
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        Arc::clone(slots.entry(circuit).or_default())
    };
    let mut value = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = value.as_ref() {
        return Ok(Arc::clone(found));
    }
    let built = Arc::new(build()?);
    *value = Some(Arc::clone(&built));
    Ok(built)
}

impl Prover {
    /// Loads the SRS; keys are made lazily.
    pub fn new(config: &ProverConfig) -> Result<Self, CircuitError> {
        let srs = Srs::load(&config.srs, &config.cache_dir)?;
        let keys_dir = config
            .cache_dir
            .join("keys")
            .join(srs.fingerprint().to_string());
        Ok(Self {
            srs,
            keys_dir,
            keys: Mutex::new(HashMap::new()),
            loaded: Mutex::default(),
            verifying: Mutex::new(HashMap::new()),
            solc: config.solc.clone(),
            solc_version: OnceLock::new(),
            verifiers: Mutex::new(HashMap::new()),
            verifications: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            )),
        })
    }

    /// The SRS in use.
    pub fn srs(&self) -> &Srs {
        &self.srs
    }

    /// The keys of `circuit`, built or loaded on first use. Two threads asking for the
    /// same circuit at once build it once; other circuits are not held up meanwhile.
    pub fn keys(&self, circuit: Circuit) -> Result<Arc<CircuitKeys>, CircuitError> {
        // The verifying keys first (shared with verification and the circuit id): the
        // cached proving key is checked against their key id, without a second layout.
        let keys = once_per_circuit(&self.keys, circuit, || {
            keys::load_or_build_with(self.verifying_keys(circuit)?, &self.keys_dir)
        })?;
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(circuit);
        Ok(keys)
    }

    /// What verifying `circuit` needs, loaded on first use from the cache this build
    /// wrote, else made from the circuit's layout alone (its proving key is never read).
    pub fn verifying_keys(&self, circuit: Circuit) -> Result<Arc<VerifyingKeys>, CircuitError> {
        once_per_circuit(&self.verifying, circuit, || {
            keys::load_or_build_verifying(circuit, self.srs.for_k(circuit.k())?, &self.keys_dir)
        })
    }

    /// Whether `circuit`'s proving keys are loaded: proving it starts at once.
    pub fn proving_keys_loaded(&self, circuit: Circuit) -> bool {
        self.loaded
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .contains(&circuit)
    }

    /// The market's id of `circuit` under this SRS and compiler: derived from the EVM
    /// verifier of its keys, as the market derives it at registration
    /// ([`crate::verifier`]).
    pub fn circuit_id(&self, circuit: Circuit) -> Result<CircuitId, CircuitError> {
        Ok(self.verifier(circuit)?.circuit_id)
    }

    /// The EVM verifier of `circuit`, compiled (or loaded from the cache beside its keys)
    /// on first use, with a valid sample proof. Two threads asking at once compile once.
    pub fn verifier(&self, circuit: Circuit) -> Result<Arc<Verifier>, CircuitError> {
        once_per_circuit(&self.verifiers, circuit, || {
            let keys = self.verifying_keys(circuit)?;
            let version = match self.solc_version.get() {
                Some(version) => version.clone(),
                None => {
                    let version = evm::solc_version(&self.solc)?;
                    self.solc_version.get_or_init(|| version).clone()
                }
            };
            verifier::load_or_build(&keys, &self.solc, &version, &self.keys_dir, || {
                // Compiled anew (no cache): its sample proof needs the proving keys.
                let witness = circuit.example();
                let keys = self.keys(circuit)?;
                let proof = prove_with_keys(&keys, CircuitId([0; 32]), &witness, OsRng)?;
                Ok((proof.public_inputs, proof.proof))
            })
        })
    }

    /// The code hash of `circuit`'s EVM verifier, compiled from its verifying keys alone:
    /// no proving key is built and nothing is cached but the verifying keys. What a node
    /// compares with a registered verifier's code before it builds the rest of a circuit
    /// it was only told the name of.
    pub fn verifier_code_hash(&self, circuit: Circuit) -> Result<Hash32, CircuitError> {
        let built = self
            .verifiers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(&circuit)
            .cloned();
        if let Some(slot) = built {
            let done = slot
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone();
            if let Some(verifier) = done {
                return Ok(verifier.code_hash());
            }
        }
        let keys = self.verifying_keys(circuit)?;
        let compiled = evm::compile_verifier(&evm::solidity_verifier(&keys), &self.solc)?;
        Ok(Hash32(provernet_protocol::keccak256(&compiled.runtime)))
    }

    /// Proves `witness`. CPU-heavy and blocking: from async code use [`Prover::prove_async`].
    pub fn prove(&self, witness: &Witness) -> Result<Proof, CircuitError> {
        let circuit_id = self.circuit_id(witness.circuit())?;
        let keys = self.keys(witness.circuit())?;
        prove_with_keys(&keys, circuit_id, witness, OsRng)
    }

    /// Verifies `proof` of `circuit` for `public_inputs`. Truncated, altered or foreign
    /// proofs and wrong public inputs are errors, never panics.
    pub fn verify(
        &self,
        circuit: Circuit,
        public_inputs: &[FieldBytes],
        proof: &[u8],
    ) -> Result<(), CircuitError> {
        let keys = self.verifying_keys(circuit)?;
        verify_with_keys(&keys, public_inputs, proof)
    }

    /// [`Prover::prove`] on tokio's blocking pool.
    pub async fn prove_async(self: &Arc<Self>, witness: Witness) -> Result<Proof, CircuitError> {
        let prover = Arc::clone(self);
        tokio::task::spawn_blocking(move || prover.prove(&witness))
            .await
            .map_err(|e| CircuitError::Task(e.to_string()))?
    }

    /// [`Prover::verify`] on tokio's blocking pool, at most one per core at once (the
    /// others wait for a turn).
    pub async fn verify_async(
        self: &Arc<Self>,
        circuit: Circuit,
        public_inputs: Vec<FieldBytes>,
        proof: Vec<u8>,
    ) -> Result<(), CircuitError> {
        let _turn = Arc::clone(&self.verifications)
            .acquire_owned()
            .await
            .map_err(|e| CircuitError::Task(e.to_string()))?;
        let prover = Arc::clone(self);
        tokio::task::spawn_blocking(move || prover.verify(circuit, &public_inputs, &proof))
            .await
            .map_err(|e| CircuitError::Task(e.to_string()))?
    }
}

/// Lays `witness` out in prover mode with the keys' configuration.
pub fn prover_builder(keys: &CircuitKeys, witness: &Witness) -> BaseCircuitBuilder<Fr> {
    let mut builder = BaseCircuitBuilder::prover(keys.config.clone(), keys.break_points.clone());
    witness.synthesize(&mut builder);
    builder
}

/// Proves, drawing the blinding factors from `rng` (the operating system's in
/// [`Prover::prove`]: zero knowledge rests on them). `circuit_id` is written into the
/// proof as is.
pub fn prove_with_keys(
    keys: &CircuitKeys,
    circuit_id: CircuitId,
    witness: &Witness,
    rng: impl RngCore,
) -> Result<Proof, CircuitError> {
    let circuit = keys.circuit;
    if witness.circuit() != circuit {
        return Err(CircuitError::WitnessShape {
            circuit: circuit.name(),
            reason: format!("the witness is for {}", witness.circuit()),
        });
    }
    let builder = prover_builder(keys, witness);
    let instances: Vec<Fr> = builder.assigned_instances[0]
        .iter()
        .map(|a| *a.value())
        .collect();
    let mut transcript = WriteTranscript::new(Vec::new());
    create_proof::<
        KZGCommitmentScheme<Bn256>,
        ProverSHPLONK<'_, Bn256>,
        ChallengeEvm<G1Affine>,
        _,
        _,
        _,
    >(
        &keys.params,
        &keys.pk,
        &[builder],
        &[&[&instances]],
        rng,
        &mut transcript,
    )
    .map_err(|e| CircuitError::Halo2 {
        action: "create a proof",
        circuit: circuit.name(),
        reason: e.to_string(),
    })?;
    Ok(Proof {
        circuit,
        circuit_id,
        public_inputs: instances.iter().map(field::to_bytes).collect(),
        proof: transcript.finalize(),
    })
}

/// Verifies with given keys (what [`Prover::verify`] does after finding them).
pub fn verify_with_keys(
    keys: &VerifyingKeys,
    public_inputs: &[FieldBytes],
    proof: &[u8],
) -> Result<(), CircuitError> {
    let circuit = keys.circuit;
    if public_inputs.len() != circuit.num_public_inputs() {
        return Err(CircuitError::PublicInputCount {
            circuit: circuit.name(),
            expected: circuit.num_public_inputs(),
            got: public_inputs.len(),
        });
    }
    let instances = public_inputs
        .iter()
        .enumerate()
        .map(|(index, x)| field::from_bytes(x).ok_or(CircuitError::PublicInputNotInField { index }))
        .collect::<Result<Vec<Fr>, _>>()?;
    // A proof is untrusted input: a panic anywhere in the verifier is a rejection.
    let mut unread = proof;
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        let mut transcript = ReadTranscript::new(&mut unread);
        verify_proof::<
            KZGCommitmentScheme<Bn256>,
            VerifierSHPLONK<'_, Bn256>,
            ChallengeEvm<G1Affine>,
            _,
            _,
        >(
            keys.params.verifier_params(),
            &keys.vk,
            SingleStrategy::new(&keys.params),
            &[&[&instances]],
            &mut transcript,
        )
    }));
    match outcome {
        // halo2 does not require the whole transcript to be read: bytes appended to a
        // valid proof would pass. A proof has one canonical length; anything else is
        // refused, so a proof's hash names exactly one byte string.
        Ok(Ok(())) if !unread.is_empty() => Err(CircuitError::InvalidProof {
            circuit: circuit.name(),
            reason: format!("{} bytes after the end of the proof", unread.len()),
        }),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(CircuitError::InvalidProof {
            circuit: circuit.name(),
            reason: e.to_string(),
        }),
        Err(_) => Err(CircuitError::InvalidProof {
            circuit: circuit.name(),
            reason: "the verifier panicked on this proof".into(),
        }),
    }
}
