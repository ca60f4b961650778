//! A proving job as a user submits it: the JSON body of the node's `POST /v1/jobs`, and
//! the checks it passes before the node turns it into a signed job request.
//!
//! The checks are pure, so the node and a fuzzer run the same code: [`SubmitRequest::check`]
//! parses the circuit name and the witness, and range-checks the input size, the price and
//! the deadline. Whether this node is configured for the circuit is the node's question.

use std::ops::RangeInclusive;
use std::str::FromStr;

use provernet_protocol::kind::MAX_INPUT_BYTES;
use provernet_protocol::{Hash32, JobRequest, keccak256};
use serde::{Deserialize, Serialize};

use crate::Circuit;

/// A job to submit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitRequest {
    /// The circuit's name.
    pub circuit: String,
    /// The witness: the JSON bytes the circuit's `parse_witness` reads.
    pub input: String,
    /// The most to pay in the first round, wei (decimal string).
    pub max_price: String,
    /// Seconds from now by which the proof must be committed.
    pub deadline_secs: u64,
}

/// A [`SubmitRequest`] that passed [`SubmitRequest::check`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSubmission {
    /// The circuit.
    pub circuit: Circuit,
    /// The input (a valid witness of the circuit), at most [`MAX_INPUT_BYTES`].
    pub input: Vec<u8>,
    /// The statement: keccak256 of the public inputs the witness gives (the leaf's
    /// `publicInputsHash`), which the request announces and the award binds.
    pub public_inputs_hash: Hash32,
    /// The most to pay in the first round, wei; above zero.
    pub max_price: u128,
    /// Seconds from now by which the proof must be committed; within the range checked.
    pub deadline_secs: u64,
}

/// Why a submission was refused. Every variant is the submitter's to fix.
#[derive(Debug, thiserror::Error)]
pub enum SubmissionError {
    /// Unknown circuit.
    #[error("unknown circuit `{0}`")]
    UnknownCircuit(String),
    /// The witness does not parse for the circuit.
    #[error("the input is not a valid witness for {circuit}: {reason}")]
    BadInput {
        /// The circuit.
        circuit: String,
        /// Why.
        reason: String,
    },
    /// A parameter is out of range.
    #[error("{0}")]
    BadParameter(String),
}

impl SubmitRequest {
    /// The submission, checked: a known circuit, a witness that parses for it, an input
    /// of at most [`MAX_INPUT_BYTES`], a positive decimal `max_price` below 2^128, and
    /// `deadline_secs` within `deadline_secs` (the node's depends on its bid window).
    ///
    /// `known` says whether the node knows a circuit; one it does not is refused before
    /// its witness is read (an imported model's circuit is named by any architecture, and
    /// naming one keeps its name for the process's life: `circuits::model::name`).
    pub fn check(
        &self,
        deadline_secs: RangeInclusive<u64>,
        known: impl Fn(Circuit) -> bool,
    ) -> Result<CheckedSubmission, SubmissionError> {
        let circuit = Circuit::from_str(&self.circuit)
            .ok()
            .filter(|c| known(*c))
            .ok_or_else(|| SubmissionError::UnknownCircuit(self.circuit.clone()))?;
        // The size first: an oversized input is refused before it is parsed.
        if self.input.len() > MAX_INPUT_BYTES as usize {
            return Err(SubmissionError::BadParameter(format!(
                "the input is {} bytes; at most {MAX_INPUT_BYTES} are allowed",
                self.input.len(),
            )));
        }
        let public_inputs_hash = circuit
            .parse_witness_str(&self.input)
            .map_err(|e| SubmissionError::BadInput {
                circuit: self.circuit.clone(),
                reason: e.to_string(),
            })?
            .public_inputs_hash();
        let max_price: u128 = self
            .max_price
            .parse()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| {
                SubmissionError::BadParameter(format!(
                    "max_price `{}` is not a positive amount of wei",
                    self.max_price
                ))
            })?;
        if !deadline_secs.contains(&self.deadline_secs) {
            return Err(SubmissionError::BadParameter(format!(
                "deadline_secs must be in {}..={}",
                deadline_secs.start(),
                deadline_secs.end()
            )));
        }
        Ok(CheckedSubmission {
            circuit,
            input: self.input.clone().into_bytes(),
            public_inputs_hash,
            max_price,
            deadline_secs: self.deadline_secs,
        })
    }
}

/// Why a winner refuses the input it fetched for a job. Each is the client's doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputRefusal {
    /// The bytes do not hash to the request's `input_hash`, or have another length.
    #[error("inputs do not match the request's hash")]
    Hash,
    /// The bytes are not a witness of the circuit.
    #[error("inputs are not a witness of the circuit")]
    NotWitness,
    /// A witness, of another statement than the one the request announced (and the award
    /// binds): its proof would never be paid.
    #[error("inputs give another statement than the request's")]
    OtherStatement,
}

/// What the winner checks of the input it fetched before it signs an acceptance: the
/// request's hash and size, a witness of `circuit`, and the announced statement.
///
/// # Errors
/// The first check that fails.
pub fn check_fetched_input(
    circuit: Circuit,
    request: &JobRequest,
    input: &[u8],
) -> Result<(), InputRefusal> {
    if Hash32(keccak256(input)) != request.input_hash || input.len() != request.input_size as usize
    {
        return Err(InputRefusal::Hash);
    }
    let statement = circuit
        .statement_of(input)
        .map_err(|_| InputRefusal::NotWitness)?;
    if statement != request.public_inputs_hash {
        return Err(InputRefusal::OtherStatement);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEADLINES: RangeInclusive<u64> = 3..=2_592_000;

    fn valid() -> SubmitRequest {
        SubmitRequest {
            circuit: Circuit::PoseidonChain12.name().to_owned(),
            input: Circuit::PoseidonChain12.example_witness().to_string(),
            max_price: "1000".to_owned(),
            deadline_secs: 60,
        }
    }

    fn refusal(request: &SubmitRequest) -> String {
        request
            .check(DEADLINES, |_| true)
            .expect_err("should be refused")
            .to_string()
    }

    /// A request announcing the statement of `announced` for the input bytes `sent`.
    fn request_for(announced: &str, sent: &str) -> JobRequest {
        let checked = SubmitRequest {
            input: announced.to_owned(),
            ..valid()
        }
        .check(DEADLINES, |_| true)
        .expect("valid");
        JobRequest {
            circuit_id: provernet_protocol::CircuitId([1; 32]),
            input_hash: Hash32(keccak256(sent.as_bytes())),
            public_inputs_hash: checked.public_inputs_hash,
            input_size: u32::try_from(sent.len()).expect("small"),
            max_price: 1,
            bid_window_ends: 1,
            proving_deadline: 2,
            client: provernet_protocol::Address([2; 20]),
            nonce: 0,
            round: 0,
            client_signature: provernet_protocol::EthSignature([0; 65]),
            circuit_name: String::new(),
        }
    }

    #[test]
    fn a_winner_accepts_only_the_input_of_the_announced_statement() {
        let c = Circuit::PoseidonChain12;
        let mine = c.numbered_witness(1).to_string();
        let other = c.numbered_witness(2).to_string();
        let honest = request_for(&mine, &mine);
        assert_eq!(check_fetched_input(c, &honest, mine.as_bytes()), Ok(()));
        // The client announces one statement and sends (with a matching input hash) the
        // witness of another: the winner's proof would never be paid, so it refuses.
        let lying = request_for(&mine, &other);
        assert_eq!(
            check_fetched_input(c, &lying, other.as_bytes()),
            Err(InputRefusal::OtherStatement)
        );
        assert_eq!(
            check_fetched_input(c, &honest, other.as_bytes()),
            Err(InputRefusal::Hash)
        );
        let junk = request_for(&mine, "not json");
        assert_eq!(
            check_fetched_input(c, &junk, b"not json"),
            Err(InputRefusal::NotWitness)
        );
    }

    #[test]
    fn a_valid_submission_passes() {
        let request = valid();
        let checked = request.check(DEADLINES, |_| true).expect("valid");
        assert_eq!(checked.circuit, Circuit::PoseidonChain12);
        assert_eq!(checked.input, request.input.as_bytes());
        assert_eq!(checked.max_price, 1_000);
        assert_eq!(checked.deadline_secs, 60);
        assert_eq!(
            Some(checked.public_inputs_hash),
            Circuit::PoseidonChain12
                .statement_of(request.input.as_bytes())
                .ok()
        );
        // Another witness is another statement: the award binds which one is paid.
        let other = Circuit::PoseidonChain12.numbered_witness(7).to_string();
        assert_ne!(
            Circuit::PoseidonChain12.statement_of(other.as_bytes()).ok(),
            Some(checked.public_inputs_hash)
        );
        // The JSON body the API takes.
        let json = serde_json::to_string(&request).expect("json");
        assert_eq!(
            serde_json::from_str::<SubmitRequest>(&json).expect("parse"),
            request
        );
    }

    #[test]
    fn an_unknown_circuit_is_refused() {
        let request = SubmitRequest {
            circuit: "sha512".into(),
            ..valid()
        };
        assert!(matches!(
            request.check(DEADLINES, |_| true),
            Err(SubmissionError::UnknownCircuit(name)) if name == "sha512"
        ));
        assert_eq!(refusal(&request), "unknown circuit `sha512`");
        // A model's circuit the node does not know: refused by name, its witness unread.
        let model = SubmitRequest {
            circuit: "model-3-2r-2-s6".into(),
            input: "{}".into(),
            ..valid()
        };
        assert!(matches!(
            model.check(DEADLINES, |c| !matches!(c, Circuit::Model(_))),
            Err(SubmissionError::UnknownCircuit(name)) if name == "model-3-2r-2-s6"
        ));
    }

    #[test]
    fn a_bad_witness_is_refused() {
        for input in ["", "not json", "{}", r#"{"seed": "-1"}"#] {
            let request = SubmitRequest {
                input: input.into(),
                ..valid()
            };
            assert!(
                matches!(
                    request.check(DEADLINES, |_| true),
                    Err(SubmissionError::BadInput { .. })
                ),
                "{input}"
            );
            assert!(
                refusal(&request)
                    .starts_with("the input is not a valid witness for poseidon-chain-12: "),
                "{input}"
            );
        }
    }

    #[test]
    fn an_oversized_input_is_refused() {
        // A valid witness padded with whitespace past the limit.
        let mut input = valid().input;
        input.push_str(&" ".repeat(MAX_INPUT_BYTES as usize));
        let len = input.len();
        let request = SubmitRequest { input, ..valid() };
        assert_eq!(
            refusal(&request),
            format!("the input is {len} bytes; at most 1048576 are allowed")
        );
    }

    #[test]
    fn a_bad_price_is_refused() {
        for price in [
            "0",
            "-1",
            "",
            "1.5",
            "0x10",
            "340282366920938463463374607431768211456",
        ] {
            let request = SubmitRequest {
                max_price: price.into(),
                ..valid()
            };
            assert_eq!(
                refusal(&request),
                format!("max_price `{price}` is not a positive amount of wei")
            );
        }
        let request = SubmitRequest {
            max_price: u128::MAX.to_string(),
            ..valid()
        };
        assert_eq!(
            request.check(DEADLINES, |_| true).expect("max").max_price,
            u128::MAX
        );
    }

    #[test]
    fn a_deadline_out_of_range_is_refused() {
        for deadline_secs in [0, 2, 2_592_001, u64::MAX] {
            let request = SubmitRequest {
                deadline_secs,
                ..valid()
            };
            assert_eq!(refusal(&request), "deadline_secs must be in 3..=2592000");
        }
        for deadline_secs in [3, 2_592_000] {
            let request = SubmitRequest {
                deadline_secs,
                ..valid()
            };
            assert!(
                request.check(DEADLINES, |_| true).is_ok(),
                "{deadline_secs}"
            );
        }
    }
}
