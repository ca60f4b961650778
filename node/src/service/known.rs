//! The circuits this node knows, by the market's id, and those its prover role proves.
//!
//! Fixed at start for the built-in circuits and the configured models, and grown while
//! the node runs by the model circuits it learns from requests (`learn`). Read from the
//! core and from workers, written only by the core; no lock is held across an await.

use std::collections::{HashMap, HashSet};
use std::sync::{RwLock, RwLockReadGuard};

use provernet_circuits::Circuit;
use provernet_protocol::CircuitId;

#[derive(Default)]
struct Inner {
    by_id: HashMap<CircuitId, Circuit>,
    proves: HashSet<Circuit>,
}

/// The circuits a node knows ([`KnownCircuits::get`]) and proves
/// ([`KnownCircuits::proves`]).
#[derive(Default)]
pub(crate) struct KnownCircuits {
    inner: RwLock<Inner>,
}

impl KnownCircuits {
    /// `by_id` known, `proves` of them proved.
    pub fn new(by_id: HashMap<CircuitId, Circuit>, proves: HashSet<Circuit>) -> Self {
        Self {
            inner: RwLock::new(Inner { by_id, proves }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The circuit of `id`, if this node knows it.
    pub fn get(&self, id: &CircuitId) -> Option<Circuit> {
        self.read().by_id.get(id).copied()
    }

    /// Whether this node knows the circuit of `id`.
    pub fn contains(&self, id: &CircuitId) -> bool {
        self.read().by_id.contains_key(id)
    }

    /// The market's id of `circuit`, if this node knows it.
    pub fn id_of(&self, circuit: Circuit) -> Option<CircuitId> {
        self.read()
            .by_id
            .iter()
            .find(|(_, c)| **c == circuit)
            .map(|(id, _)| *id)
    }

    /// Whether the prover role proves `circuit`.
    pub fn proves(&self, circuit: &Circuit) -> bool {
        self.read().proves.contains(circuit)
    }

    /// The circuits the prover role proves, in order.
    pub fn proved(&self) -> Vec<Circuit> {
        let mut proved: Vec<Circuit> = self.read().proves.iter().copied().collect();
        proved.sort();
        proved
    }

    /// The ids and circuits the prover role proves, by id.
    pub fn proved_ids(&self) -> Vec<(CircuitId, Circuit)> {
        let inner = self.read();
        let mut proved: Vec<(CircuitId, Circuit)> = inner
            .by_id
            .iter()
            .filter(|(_, c)| inner.proves.contains(c))
            .map(|(id, c)| (*id, *c))
            .collect();
        proved.sort_by_key(|(id, _)| id.0);
        proved
    }

    /// Adds a circuit learned while running, proved or not.
    pub fn learn(&self, id: CircuitId, circuit: Circuit, prove: bool) {
        let mut inner = self
            .inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.by_id.insert(id, circuit);
        if prove {
            inner.proves.insert(circuit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learned_circuits_join_the_known_and_proved() {
        let known = KnownCircuits::new(
            HashMap::from([(CircuitId([1; 32]), Circuit::PoseidonChain12)]),
            HashSet::from([Circuit::PoseidonChain12]),
        );
        let model: Circuit = "model-4-3r-2-s8".parse().expect("a model");
        assert_eq!(known.get(&CircuitId([2; 32])), None);
        known.learn(CircuitId([2; 32]), model, false);
        assert_eq!(known.get(&CircuitId([2; 32])), Some(model));
        assert_eq!(known.id_of(model), Some(CircuitId([2; 32])));
        assert!(!known.proves(&model));
        assert_eq!(known.proved(), vec![Circuit::PoseidonChain12]);
        known.learn(CircuitId([2; 32]), model, true);
        assert_eq!(
            known.proved_ids(),
            vec![
                (CircuitId([1; 32]), Circuit::PoseidonChain12),
                (CircuitId([2; 32]), model)
            ]
        );
    }
}
