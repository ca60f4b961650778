//! Registering a circuit's EVM verifier on the market, as `provernet model register`
//! and the testnet do it: deploy the verifier, measure a valid proof's gas on it, register
//! it (the contract runs the sample proof and a corrupted copy itself), and check that
//! the market's id is the one nodes derive. Nothing is sent for a circuit registered
//! already.

use ethers::providers::Middleware;
use ethers::types::{Address, Bytes, TransactionRequest};
use provernet_protocol::{CircuitId, FieldBytes};

use crate::{ChainError, Market};

/// A compiled verifier to register (`provernet_circuits::verifier::Verifier`'s parts).
#[derive(Clone, Copy, Debug)]
pub struct VerifierCode<'a> {
    /// The id this build derives for the circuit.
    pub circuit_id: CircuitId,
    /// Creation code.
    pub creation: &'a [u8],
    /// Runtime code (what the deployment holds; its hash is part of the id).
    pub runtime: &'a [u8],
    /// A valid proof's public inputs.
    pub sample_inputs: &'a [FieldBytes],
    /// A valid proof.
    pub sample_proof: &'a [u8],
}

/// A circuit registered on the market.
#[derive(Clone, Debug)]
pub struct Registered {
    /// The market's id of the circuit (the one nodes derive).
    pub circuit_id: CircuitId,
    /// The verifier contract.
    pub verifier: Address,
    /// Gas a valid proof's verification took on the deployed verifier (the call's, less
    /// the intrinsic gas); 0 for a circuit registered before.
    pub measured_gas: u64,
    /// The gas the market gives each verification of the circuit.
    pub gas_limit: u64,
    /// A proof's length, bytes.
    pub proof_len: usize,
    /// Whether it was registered before (nothing was sent).
    pub already: bool,
}

/// Why a registration did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// The registration could not be read.
    #[error("cannot read the circuit's registration: {0}")]
    Read(ChainError),
    /// The verifier's deployment failed.
    #[error("cannot deploy the verifier: {0}")]
    Deploy(ChainError),
    /// The deployed verifier rejects a valid proof (a compiler setting that breaks it):
    /// nothing registered.
    #[error("the deployed verifier rejects a valid proof ({0}); not registered")]
    RejectsValid(String),
    /// The market refused the registration.
    #[error("the market refused the registration: {0}")]
    Register(ChainError),
    /// The market derives (or registered the verifier under) another id than this build
    /// derives (a market of another version): nodes would not serve it.
    #[error("the market derives the verifier's id as {got}, this build derives {want}")]
    OtherId {
        /// The id the market gave.
        got: CircuitId,
        /// The id this build derives.
        want: CircuitId,
    },
}

/// Deploys and registers `compiled` on `market` from its account, unless the market has
/// its id registered already.
///
/// # Errors
/// [`RegistrationError`]: each says what failed; a failure after the deployment leaves
/// an unregistered verifier contract and nothing else.
pub async fn register_verifier<M: Middleware + 'static>(
    market: &Market<M>,
    compiled: VerifierCode<'_>,
) -> Result<Registered, RegistrationError> {
    let id = compiled.circuit_id;
    let proof_len = compiled.sample_proof.len();
    let (existing, _) = market
        .registration(id.0)
        .await
        .map_err(RegistrationError::Read)?;
    if !existing.is_zero() {
        let gas_limit = market
            .verifier_gas(id.0)
            .await
            .map_err(RegistrationError::Read)?;
        return Ok(Registered {
            circuit_id: id,
            verifier: existing,
            measured_gas: 0,
            gas_limit,
            proof_len,
            already: true,
        });
    }
    // The market's id of this code and shape, before anything is sent: a market that
    // derives ids otherwise (another version) gets no deployment.
    let market_id = market
        .contract()
        .circuit_id_of(
            provernet_protocol::keccak256(compiled.runtime),
            compiled.sample_inputs.len().into(),
            proof_len.into(),
        )
        .call()
        .await
        .map_err(|e| RegistrationError::Read(ChainError::Rpc(e.to_string())))?;
    if market_id != id.0 {
        return Err(RegistrationError::OtherId {
            got: CircuitId(market_id),
            want: id,
        });
    }
    let address = market
        .deploy_code(compiled.creation.to_vec())
        .await
        .map_err(RegistrationError::Deploy)?;
    // The verifier's calldata: the public inputs, 32 bytes each, then the proof.
    let mut calldata: Vec<u8> = compiled.sample_inputs.iter().flat_map(|i| i.0).collect();
    calldata.extend_from_slice(compiled.sample_proof);
    let intrinsic = 21_000
        + calldata
            .iter()
            .map(|&b| if b == 0 { 4u64 } else { 16 })
            .sum::<u64>();
    let call = TransactionRequest::new()
        .to(address)
        .data(Bytes::from(calldata))
        .into();
    let estimate = market
        .client()
        .estimate_gas(&call, None)
        .await
        .map_err(|e| RegistrationError::RejectsValid(e.to_string()))?;
    let measured_gas = estimate.as_u64().saturating_sub(intrinsic);
    let got = market
        .register_circuit(address, compiled.sample_inputs, compiled.sample_proof)
        .await
        .map_err(RegistrationError::Register)?;
    if got != id.0 {
        return Err(RegistrationError::OtherId {
            got: CircuitId(got),
            want: id,
        });
    }
    let gas_limit = market
        .verifier_gas(id.0)
        .await
        .map_err(RegistrationError::Read)?;
    Ok(Registered {
        circuit_id: id,
        verifier: address,
        measured_gas,
        gas_limit,
        proof_len,
        already: false,
    })
}
