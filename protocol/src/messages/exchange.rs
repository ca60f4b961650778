//! Request-response messages: input fetch, proof delivery and batch leaves.

use provernet_proto::v1;

use super::chain::JobLeaf;
use super::wire::{fixed, fixed_list, in_range};
use super::{PayloadError, payload};
use crate::kind::{
    MAX_AUCTION_ROUNDS, MAX_BATCH_LEAVES_SERVED, MAX_INPUT_BYTES, MAX_PROOF_BYTES,
    MAX_PUBLIC_INPUTS,
};
use crate::primitives::{CircuitId, FieldBytes, JobId};

/// Why a responder sent no body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// It knows no such job.
    UnknownJob,
    /// The requester is not entitled to it.
    NotAuthorized,
    /// It does not have it (yet).
    Unavailable,
    /// It is overloaded; ask again later.
    Busy,
}

/// A response: a body, or the reason there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response<T> {
    /// What was asked for.
    Ok(T),
    /// Why it was not sent.
    Refused(Refusal),
}

/// Reads a response's status: `Ok(None)` for OK, `Ok(Some(refusal))` otherwise.
fn parse_status(value: i32) -> Result<Option<Refusal>, PayloadError> {
    match v1::ResponseStatus::try_from(value) {
        Ok(v1::ResponseStatus::Ok) => Ok(None),
        Ok(v1::ResponseStatus::UnknownJob) => Ok(Some(Refusal::UnknownJob)),
        Ok(v1::ResponseStatus::NotAuthorized) => Ok(Some(Refusal::NotAuthorized)),
        Ok(v1::ResponseStatus::Unavailable) => Ok(Some(Refusal::Unavailable)),
        Ok(v1::ResponseStatus::Busy) => Ok(Some(Refusal::Busy)),
        Ok(v1::ResponseStatus::Unspecified) | Err(_) => Err(PayloadError::UnknownEnum {
            field: "status",
            value,
        }),
    }
}

fn status_to_wire<T>(response: &Response<T>) -> v1::ResponseStatus {
    match response {
        Response::Ok(_) => v1::ResponseStatus::Ok,
        Response::Refused(Refusal::UnknownJob) => v1::ResponseStatus::UnknownJob,
        Response::Refused(Refusal::NotAuthorized) => v1::ResponseStatus::NotAuthorized,
        Response::Refused(Refusal::Unavailable) => v1::ResponseStatus::Unavailable,
        Response::Refused(Refusal::Busy) => v1::ResponseStatus::Busy,
    }
}

/// The awarded prover asks the client for a job's inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputRequest {
    /// The job.
    pub job_id: JobId,
    /// The round it was awarded in.
    pub round: u32,
}

impl InputRequest {
    fn parse(wire: v1::InputRequest) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            round: wire.round,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        in_range(
            "round",
            self.round.into(),
            0,
            u64::from(MAX_AUCTION_ROUNDS) - 1,
        )
    }
}

impl From<&InputRequest> for v1::InputRequest {
    fn from(m: &InputRequest) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            round: m.round,
        }
    }
}

payload!(InputRequest, v1::InputRequest, InputRequest);

/// The client's answer to an [`InputRequest`]. The prover checks the bytes against the
/// request's input hash before it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputResponse {
    /// The job.
    pub job_id: JobId,
    /// The input bytes (1..=[`MAX_INPUT_BYTES`]), or a refusal.
    pub input: Response<Vec<u8>>,
}

impl InputResponse {
    fn parse(wire: v1::InputResponse) -> Result<Self, PayloadError> {
        let input = match parse_status(wire.status)? {
            None => Response::Ok(wire.input),
            Some(refusal) if wire.input.is_empty() => Response::Refused(refusal),
            Some(_) => return Err(PayloadError::Inconsistent("a refusal carries no input")),
        };
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            input,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        if let Response::Ok(input) = &self.input {
            in_range("input", input.len() as u64, 1, MAX_INPUT_BYTES.into())?;
        }
        Ok(())
    }
}

impl From<&InputResponse> for v1::InputResponse {
    fn from(m: &InputResponse) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
            status: status_to_wire(&m.input).into(),
            input: match &m.input {
                Response::Ok(input) => input.clone(),
                Response::Refused(_) => Vec::new(),
            },
        }
    }
}

payload!(InputResponse, v1::InputResponse, InputResponse);

/// Anyone asks for a job's proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofRequest {
    /// The job.
    pub job_id: JobId,
}

impl ProofRequest {
    fn parse(wire: v1::ProofRequest) -> Result<Self, PayloadError> {
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        Ok(())
    }
}

impl From<&ProofRequest> for v1::ProofRequest {
    fn from(m: &ProofRequest) -> Self {
        Self {
            job_id: m.job_id.0.to_vec(),
        }
    }
}

payload!(ProofRequest, v1::ProofRequest, ProofRequest);

/// A proof and the public inputs it proves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofBody {
    /// The circuit it is a proof for.
    pub circuit_id: CircuitId,
    /// Public inputs, at most [`MAX_PUBLIC_INPUTS`].
    pub public_inputs: Vec<FieldBytes>,
    /// The proof, 1..=[`MAX_PROOF_BYTES`] bytes.
    pub proof: Vec<u8>,
}

/// The answer to a [`ProofRequest`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofResponse {
    /// The job.
    pub job_id: JobId,
    /// The proof, or a refusal.
    pub body: Response<ProofBody>,
}

impl ProofResponse {
    fn parse(wire: v1::ProofResponse) -> Result<Self, PayloadError> {
        let body = match parse_status(wire.status)? {
            None => Response::Ok(ProofBody {
                circuit_id: fixed("circuit_id", &wire.circuit_id)?,
                public_inputs: fixed_list("public_inputs", &wire.public_inputs, MAX_PUBLIC_INPUTS)?,
                proof: wire.proof,
            }),
            Some(refusal)
                if wire.circuit_id.is_empty()
                    && wire.public_inputs.is_empty()
                    && wire.proof.is_empty() =>
            {
                Response::Refused(refusal)
            }
            Some(_) => return Err(PayloadError::Inconsistent("a refusal carries no proof")),
        };
        Ok(Self {
            job_id: fixed("job_id", &wire.job_id)?,
            body,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        if let Response::Ok(body) = &self.body {
            in_range("proof", body.proof.len() as u64, 1, MAX_PROOF_BYTES as u64)?;
            if body.public_inputs.len() > MAX_PUBLIC_INPUTS {
                return Err(PayloadError::TooLong {
                    field: "public_inputs",
                    max: MAX_PUBLIC_INPUTS,
                    got: body.public_inputs.len(),
                });
            }
        }
        Ok(())
    }
}

impl From<&ProofResponse> for v1::ProofResponse {
    fn from(m: &ProofResponse) -> Self {
        let status = status_to_wire(&m.body).into();
        match &m.body {
            Response::Ok(body) => Self {
                job_id: m.job_id.0.to_vec(),
                status,
                circuit_id: body.circuit_id.0.to_vec(),
                public_inputs: body.public_inputs.iter().map(|x| x.0.to_vec()).collect(),
                proof: body.proof.clone(),
            },
            Response::Refused(_) => Self {
                job_id: m.job_id.0.to_vec(),
                status,
                ..Self::default()
            },
        }
    }
}

payload!(ProofResponse, v1::ProofResponse, ProofResponse);

/// A watchtower asks a prover for the leaves of one of its batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchRequest {
    /// The batch id on chain.
    pub batch_id: u64,
}

impl BatchRequest {
    fn parse(wire: v1::BatchRequest) -> Result<Self, PayloadError> {
        Ok(Self {
            batch_id: wire.batch_id,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        Ok(())
    }
}

impl From<&BatchRequest> for v1::BatchRequest {
    fn from(m: &BatchRequest) -> Self {
        Self {
            batch_id: m.batch_id,
        }
    }
}

payload!(BatchRequest, v1::BatchRequest, BatchRequest);

/// The leaves of a batch in order (1..=[`MAX_BATCH_LEAVES_SERVED`]), or a refusal. The
/// requester checks them against the root on chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchResponse {
    /// The batch id on chain.
    pub batch_id: u64,
    /// The leaves, or a refusal.
    pub leaves: Response<Vec<JobLeaf>>,
}

impl BatchResponse {
    fn parse(wire: v1::BatchResponse) -> Result<Self, PayloadError> {
        let leaves = match parse_status(wire.status)? {
            None => {
                if wire.leaves.len() > MAX_BATCH_LEAVES_SERVED {
                    return Err(PayloadError::TooLong {
                        field: "leaves",
                        max: MAX_BATCH_LEAVES_SERVED,
                        got: wire.leaves.len(),
                    });
                }
                Response::Ok(
                    wire.leaves
                        .into_iter()
                        .map(JobLeaf::parse)
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            Some(refusal) if wire.leaves.is_empty() => Response::Refused(refusal),
            Some(_) => return Err(PayloadError::Inconsistent("a refusal carries no leaves")),
        };
        Ok(Self {
            batch_id: wire.batch_id,
            leaves,
        })
    }

    fn check_rules(&self) -> Result<(), PayloadError> {
        if let Response::Ok(leaves) = &self.leaves {
            in_range(
                "leaves",
                leaves.len() as u64,
                1,
                MAX_BATCH_LEAVES_SERVED as u64,
            )?;
        }
        Ok(())
    }
}

impl From<&BatchResponse> for v1::BatchResponse {
    fn from(m: &BatchResponse) -> Self {
        Self {
            batch_id: m.batch_id,
            status: status_to_wire(&m.leaves).into(),
            leaves: match &m.leaves {
                Response::Ok(leaves) => leaves.iter().map(v1::JobLeaf::from).collect(),
                Response::Refused(_) => Vec::new(),
            },
        }
    }
}

payload!(BatchResponse, v1::BatchResponse, BatchResponse);
