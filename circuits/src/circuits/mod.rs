//! The built-in circuits. Each module documents its witness JSON and public inputs, and
//! has a native reference computation of the public inputs that tests compare with the
//! circuit's.

mod fixed;
pub mod merkle_membership;
pub(crate) mod model;
pub mod poseidon_chain;

use std::fmt;
use std::str::FromStr;

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use serde::de::DeserializeOwned;

use provernet_protocol::{Hash32, JobLeaf};

use crate::error::CircuitError;
use crate::field;
use crate::model::Architecture;

/// One of the circuits this build can prove.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Circuit {
    /// `poseidon-chain-12`: 2^12 rows, 4 iterations.
    PoseidonChain12,
    /// `poseidon-chain-16`: 2^16 rows, 80 iterations: the large benchmark workload.
    PoseidonChain16,
    /// `merkle-membership`: depth-20 Poseidon Merkle membership with a nullifier.
    MerkleMembership,
    /// An imported model's circuit (`model-64-32r-10-s8`): one per architecture, the
    /// weights a private witness bound by their public commitment ([`crate::model`]).
    Model(Architecture),
}

impl Circuit {
    /// Every built-in circuit (a model's circuit is named by its architecture).
    pub const ALL: [Circuit; 3] = [
        Self::PoseidonChain12,
        Self::PoseidonChain16,
        Self::MerkleMembership,
    ];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Self::PoseidonChain12 => "poseidon-chain-12",
            Self::PoseidonChain16 => "poseidon-chain-16",
            Self::MerkleMembership => "merkle-membership",
            Self::Model(arch) => model::name(arch),
        }
    }

    /// One line on what a proof of it shows.
    pub fn description(self) -> &'static str {
        match self {
            Self::PoseidonChain12 | Self::PoseidonChain16 => {
                "knows a seed whose n-fold Poseidon iterate is the public digest"
            }
            Self::MerkleMembership => {
                "knows a leaf of the public depth-20 Poseidon Merkle root; public nullifier"
            }
            Self::Model(_) => {
                "the model of the public commitment maps the public input to the public output"
            }
        }
    }

    /// log2 of the number of rows. Sizes are chosen so each circuit needs three advice
    /// columns and no lookup table (a Poseidon permutation costs about 2,400 cells): every
    /// column or lookup adds code and gas to the EVM verifier.
    pub fn k(self) -> u32 {
        match self {
            Self::PoseidonChain12 => 12,
            Self::MerkleMembership => 15,
            Self::PoseidonChain16 => 16,
            Self::Model(arch) => model::k(arch),
        }
    }

    /// Iterations of `poseidon-chain` at this size.
    pub const fn iterations(self) -> usize {
        match self {
            Self::PoseidonChain12 => 4,
            Self::PoseidonChain16 => 80,
            _ => 0,
        }
    }

    /// How many public inputs a proof has.
    pub fn num_public_inputs(self) -> usize {
        match self {
            Self::PoseidonChain12 | Self::PoseidonChain16 => 1,
            Self::MerkleMembership => 2,
            Self::Model(arch) => arch.num_public_inputs(),
        }
    }

    /// A valid witness, as JSON.
    pub fn example_witness(self) -> serde_json::Value {
        match self {
            Self::PoseidonChain12 | Self::PoseidonChain16 => poseidon_chain::example(),
            Self::MerkleMembership => merkle_membership::example(),
            Self::Model(arch) => model::example(arch),
        }
    }

    /// A valid witness that differs with `n`, for workloads that want distinct jobs:
    /// the Poseidon chains start from seed `1000 + n`, a model's first input is
    /// `n mod 4096` (its example model's hidden values stay in range for any input up to
    /// 2^12). `merkle-membership`'s is the example for every `n`.
    pub fn numbered_witness(self, n: u64) -> serde_json::Value {
        let mut json = self.example_witness();
        match self {
            Self::PoseidonChain12 | Self::PoseidonChain16 => {
                json["seed"] = serde_json::json!(n.saturating_add(1_000).to_string());
            }
            Self::Model(_) => {
                let first = i64::try_from(n % 4_096).unwrap_or(0);
                json["input"][0] = serde_json::json!(first);
            }
            Self::MerkleMembership => {}
        }
        json
    }

    /// Parses and range-checks a witness.
    pub fn parse_witness(self, json: &serde_json::Value) -> Result<Witness, CircuitError> {
        let inner = match self {
            Self::PoseidonChain12 | Self::PoseidonChain16 => {
                WitnessInner::PoseidonChain(poseidon_chain::parse(self.name(), json)?)
            }
            Self::MerkleMembership => {
                WitnessInner::Merkle(merkle_membership::parse(self.name(), json)?)
            }
            Self::Model(arch) => WitnessInner::Model(model::parse(arch, json)?),
        };
        Ok(Witness {
            circuit: self,
            inner,
        })
    }

    /// The statement a job's input asks this circuit to prove: the hash of the public
    /// inputs its witness gives ([`Witness::public_inputs_hash`]). The client computes it
    /// when it submits, the winner again from the input it fetched before it accepts.
    ///
    /// # Errors
    /// If the input is not UTF-8 JSON that parses as a witness of this circuit.
    pub fn statement_of(self, input: &[u8]) -> Result<Hash32, CircuitError> {
        let text = std::str::from_utf8(input).map_err(|_| CircuitError::WitnessShape {
            circuit: self.name(),
            reason: "not UTF-8".into(),
        })?;
        Ok(self.parse_witness_str(text)?.public_inputs_hash())
    }

    /// Parses a witness from JSON text.
    pub fn parse_witness_str(self, text: &str) -> Result<Witness, CircuitError> {
        let json = serde_json::from_str(text).map_err(|e| CircuitError::WitnessShape {
            circuit: self.name(),
            reason: format!("not JSON: {e}"),
        })?;
        self.parse_witness(&json)
    }

    /// The example witness, parsed.
    pub(crate) fn example(self) -> Witness {
        self.parse_witness(&self.example_witness())
            .unwrap_or_else(|e| {
                unreachable!("the built-in example of {} is valid: {e}", self.name())
            })
    }
}

impl fmt::Display for Circuit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Circuit {
    type Err = CircuitError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        if name.starts_with("model-") {
            return name
                .parse::<Architecture>()
                .map(Self::Model)
                .map_err(|_| CircuitError::UnknownCircuit(name.to_owned()));
        }
        Self::ALL
            .into_iter()
            .find(|c| c.name() == name)
            .ok_or_else(|| CircuitError::UnknownCircuit(name.to_owned()))
    }
}

/// A witness that parsed and passed its circuit's range checks.
#[derive(Clone, Debug)]
pub struct Witness {
    circuit: Circuit,
    inner: WitnessInner,
}

#[derive(Clone, Debug)]
enum WitnessInner {
    PoseidonChain(poseidon_chain::Witness),
    Merkle(merkle_membership::Witness),
    Model(model::Witness),
}

impl Witness {
    /// The circuit it is a witness for.
    pub fn circuit(&self) -> Circuit {
        self.circuit
    }

    /// The public inputs a proof of this witness has, computed natively.
    pub fn public_inputs(&self) -> Vec<Fr> {
        match &self.inner {
            WitnessInner::PoseidonChain(w) => {
                poseidon_chain::public_inputs(w, self.circuit.iterations())
            }
            WitnessInner::Merkle(w) => merkle_membership::public_inputs(w),
            WitnessInner::Model(w) => w.public_inputs(),
        }
    }

    /// keccak256 of [`Self::public_inputs`] as 32-byte big-endian words: the `publicInputsHash`
    /// of the leaf of a proof of this witness, which the award binds.
    pub fn public_inputs_hash(&self) -> Hash32 {
        let words: Vec<_> = self.public_inputs().iter().map(field::to_bytes).collect();
        JobLeaf::public_inputs_hash(&words)
    }

    /// The public inputs the circuit itself assigns on this witness, laid out without
    /// proving. They must be [`Self::public_inputs`], computed natively, on every valid
    /// witness: a winner accepts a job by the native statement and commits the circuit's.
    pub fn circuit_public_inputs(&self) -> Vec<Fr> {
        use halo2_base::gates::circuit::CircuitBuilderStage;
        let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Mock)
            .use_k(self.circuit.k() as usize)
            .use_instance_columns(1);
        self.synthesize(&mut builder);
        builder.assigned_instances[0]
            .iter()
            .map(|a| *a.value())
            .collect()
    }

    /// Lays the circuit out on `builder`, assigning this witness and the public inputs.
    pub(crate) fn synthesize(&self, builder: &mut BaseCircuitBuilder<Fr>) {
        match &self.inner {
            WitnessInner::PoseidonChain(w) => {
                poseidon_chain::synthesize(builder, w, self.circuit.iterations())
            }
            WitnessInner::Merkle(w) => merkle_membership::synthesize(builder, w),
            WitnessInner::Model(w) => model::synthesize(builder, w),
        }
    }
}

/// Deserializes a witness's JSON shape, naming the circuit in the error.
fn json_shape<T: DeserializeOwned>(
    circuit: &'static str,
    json: &serde_json::Value,
) -> Result<T, CircuitError> {
    T::deserialize(json).map_err(|e| CircuitError::WitnessShape {
        circuit,
        reason: e.to_string(),
    })
}

/// Parses a scalar field of a witness.
fn scalar(circuit: &'static str, field: &str, text: &str) -> Result<Fr, CircuitError> {
    field::parse(text).map_err(|reason| CircuitError::WitnessRange {
        circuit,
        field: field.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod statement_tests {
    //! The winner accepts a job only if the statement computed natively from the input is
    //! the one announced, and commits the statement the circuit itself outputs: the two
    //! must agree on every valid witness, or a client could craft an input that gets an
    //! honest winner slashed. Checked here on spread and extreme witnesses, by laying the
    //! circuit out (mock stage, no proving).

    use super::*;

    fn circuit_outputs(witness: &Witness) -> Vec<Fr> {
        witness.circuit_public_inputs()
    }

    fn agree(circuit: Circuit, json: &serde_json::Value) {
        let witness = circuit.parse_witness(json).expect("a valid witness");
        assert_eq!(
            witness.public_inputs(),
            circuit_outputs(&witness),
            "{circuit}: native and circuit statements differ for {json}"
        );
    }

    #[test]
    fn the_native_statement_is_the_circuits_on_spread_witnesses() {
        for circuit in [Circuit::PoseidonChain12, Circuit::MerkleMembership] {
            for n in [0, 1, 7, 1_000, u64::MAX - 1_000] {
                agree(circuit, &circuit.numbered_witness(n));
            }
        }
        // A model of three layers, ReLU between (its extremes: tests/it/model.rs).
        let circuit: Circuit = "model-4-8r-6r-3-s8".parse().expect("a model's name");
        for n in (0..4_096).step_by(257) {
            agree(circuit, &circuit.numbered_witness(n));
        }
    }
}
