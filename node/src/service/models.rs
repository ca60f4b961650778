//! A client's own models (`client.models`): the packages whose inferences the API takes as
//! numbers. A submission names the model and gives the input, and the node makes the
//! witness the winner proves (the weights go to the winner only, as every witness).

use std::path::PathBuf;

use provernet_circuits::Circuit;
use provernet_circuits::model::Package;
use serde::Deserialize;

use super::{SubmitError, SubmitRequest};
use crate::config::ConfigError;

/// The packages of `client.models`, read and checked at start.
#[derive(Debug, Default)]
pub struct ClientModels {
    packages: Vec<Package>,
}

impl ClientModels {
    /// Reads every package in `dirs`.
    ///
    /// # Errors
    /// [`ConfigError::Field`] naming `client.models` and the package that does not read
    /// (missing, malformed, or weights that are not its commitment's).
    pub fn load(dirs: &[PathBuf]) -> Result<Self, ConfigError> {
        let packages = dirs
            .iter()
            .map(|dir| {
                Package::read(dir).map_err(|e| ConfigError::Field {
                    field: "client.models",
                    reason: format!("{}: {e}", dir.display()),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { packages })
    }

    /// Their circuits, which the node must know to check its own submissions.
    pub fn circuits(&self) -> impl Iterator<Item = Circuit> + '_ {
        self.packages
            .iter()
            .map(|p| Circuit::Model(p.model.architecture))
    }

    /// The package `name` names: its commitment (`0x…`, as `import` prints it), or its
    /// circuit's name when one package alone has that circuit.
    ///
    /// # Errors
    /// [`SubmitError::Model`]: no such package, or a circuit name several share.
    pub fn find(&self, name: &str) -> Result<&Package, SubmitError> {
        let wanted = name.trim().to_ascii_lowercase();
        if let Some(package) = self
            .packages
            .iter()
            .find(|p| p.description.commitment.to_ascii_lowercase() == wanted)
        {
            return Ok(package);
        }
        let mut named = self
            .packages
            .iter()
            .filter(|p| p.description.circuit == wanted);
        match (named.next(), named.next()) {
            (Some(package), None) => Ok(package),
            (Some(_), Some(_)) => Err(SubmitError::Model(format!(
                "several of this node's models have the circuit `{name}`: name one by its \
                 commitment"
            ))),
            (None, _) => Err(SubmitError::Model(format!(
                "`{name}` is none of this node's models (client.models: {} packages; name one \
                 by its commitment or its circuit)",
                self.packages.len()
            ))),
        }
    }
}

/// The body of `POST /v1/jobs`: a named circuit's witness (`circuit`, `input`: a
/// [`SubmitRequest`]), or an inference of one of this node's models on numbers (`model`,
/// `values`).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobBody {
    /// A circuit's name, with `input`.
    #[serde(default)]
    pub circuit: Option<String>,
    /// The witness (JSON text), with `circuit`.
    #[serde(default)]
    pub input: Option<String>,
    /// A model of `client.models`, by commitment or circuit name, with `values`.
    #[serde(default)]
    pub model: Option<String>,
    /// The model's input, real numbers, with `model`.
    #[serde(default)]
    pub values: Option<Vec<f64>>,
    /// The most to pay in the first round, wei (decimal string).
    pub max_price: String,
    /// Seconds from now by which the proof must be committed.
    pub deadline_secs: u64,
}

impl JobBody {
    /// The submission this body asks for: a model's inference made into its witness.
    ///
    /// # Errors
    /// [`SubmitError::Model`]: not exactly one of the two forms, an unknown model, or
    /// values the model does not take.
    pub fn into_request(self, models: &ClientModels) -> Result<SubmitRequest, SubmitError> {
        let (circuit, input) = match (self.circuit, self.input, self.model, self.values) {
            (Some(circuit), Some(input), None, None) => (circuit, input),
            (None, None, Some(model), Some(values)) => {
                let package = models.find(&model)?;
                let (witness, _) = package
                    .inference(&values)
                    .map_err(|e| SubmitError::Model(format!("model {model}: {e}")))?;
                (package.description.circuit.clone(), witness.to_string())
            }
            _ => {
                return Err(SubmitError::Model(
                    "give either `circuit` and `input` (a witness) or `model` and `values` \
                     (numbers)"
                        .into(),
                ));
            }
        };
        Ok(SubmitRequest {
            circuit,
            input,
            max_price: self.max_price,
            deadline_secs: self.deadline_secs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits() -> ClientModels {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/digits/package");
        ClientModels::load(&[dir]).expect("the example package reads")
    }

    fn body(json: serde_json::Value) -> Result<SubmitRequest, SubmitError> {
        serde_json::from_value::<JobBody>(json)
            .expect("a body")
            .into_request(&digits())
    }

    #[test]
    fn a_model_is_found_by_commitment_or_circuit_and_its_values_become_the_witness() {
        let models = digits();
        let package = models.find("model-64-32r-10-s15").expect("by circuit");
        let commitment = package.description.commitment.clone();
        assert!(
            models
                .find(&commitment.to_ascii_uppercase().replace("0X", "0x"))
                .is_ok()
        );
        let request = body(serde_json::json!({
            "model": commitment, "values": vec![1.0; 64], "max_price": "5", "deadline_secs": 60
        }))
        .expect("a submission");
        assert_eq!(request.circuit, "model-64-32r-10-s15");
        let (witness, _) = package.inference(&[1.0; 64]).expect("infers");
        assert_eq!(request.input, witness.to_string());
        // The witness form is unchanged.
        let plain = body(serde_json::json!({
            "circuit": "poseidon-chain-12", "input": "{}", "max_price": "5", "deadline_secs": 60
        }))
        .expect("a submission");
        assert_eq!(
            (plain.circuit.as_str(), plain.input.as_str()),
            ("poseidon-chain-12", "{}")
        );
    }

    #[test]
    fn bad_model_submissions_are_named_errors() {
        let cases = [
            (
                serde_json::json!({"model": "0x12", "values": [1.0], "max_price": "5", "deadline_secs": 60}),
                "none of this node's models",
            ),
            (
                serde_json::json!({"model": "model-64-32r-10-s15", "values": vec![1.0; 63], "max_price": "5", "deadline_secs": 60}),
                "63 values",
            ),
            (
                serde_json::json!({"model": "model-64-32r-10-s15", "values": vec![1e9; 64], "max_price": "5", "deadline_secs": 60}),
                "does not fit",
            ),
            (
                serde_json::json!({"model": "model-64-32r-10-s15", "circuit": "poseidon-chain-12", "values": vec![1.0; 64], "max_price": "5", "deadline_secs": 60}),
                "either",
            ),
            (
                serde_json::json!({"model": "model-64-32r-10-s15", "max_price": "5", "deadline_secs": 60}),
                "either",
            ),
            (
                serde_json::json!({"max_price": "5", "deadline_secs": 60}),
                "either",
            ),
        ];
        for (json, want) in cases {
            let error = body(json.clone()).expect_err("refused").to_string();
            assert!(error.contains(want), "{json}: {error}");
        }
        assert!(
            serde_json::from_value::<JobBody>(serde_json::json!({
                "model": "m", "values": [1.0], "weights": [], "max_price": "5", "deadline_secs": 60
            }))
            .is_err(),
            "unknown fields are refused"
        );
        let missing = ClientModels::load(&[PathBuf::from("/nonexistent/package")])
            .expect_err("no package")
            .to_string();
        assert!(
            missing.contains("client.models") && missing.contains("/nonexistent/package"),
            "{missing}"
        );
    }
}
