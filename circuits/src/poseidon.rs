//! Poseidon over BN254 (T = 3, rate 2, 8 full and 57 partial rounds), in-circuit and
//! natively. Both sides absorb a fixed-length array and squeeze once, so the native
//! [`hash`] gives exactly what [`Hasher::hash`] constrains.

use halo2_base::gates::GateChip;
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::poseidon::hasher::PoseidonHasher;
use halo2_base::poseidon::hasher::spec::OptimizedPoseidonSpec;
use halo2_base::{AssignedValue, Context};
use snark_verifier::loader::native::NativeLoader;
use snark_verifier::util::hash::Poseidon;

const T: usize = 3;
const RATE: usize = 2;
const R_F: usize = 8;
const R_P: usize = 57;
const SECURE_MDS: usize = 0;

/// The Poseidon hash of `inputs`, computed natively.
pub fn hash(inputs: &[Fr]) -> Fr {
    let mut sponge = Poseidon::<Fr, Fr, T, RATE>::new::<R_F, R_P, SECURE_MDS>(&NativeLoader);
    sponge.update(inputs);
    sponge.squeeze()
}

/// The in-circuit hasher; its constants are loaded once per circuit.
pub struct Hasher {
    inner: PoseidonHasher<Fr, T, RATE>,
}

impl Hasher {
    /// Loads the constants into `ctx`.
    pub fn new(ctx: &mut Context<Fr>, gate: &GateChip<Fr>) -> Self {
        let mut inner = PoseidonHasher::new(OptimizedPoseidonSpec::new::<R_F, R_P, SECURE_MDS>());
        inner.initialize_consts(ctx, gate);
        Self { inner }
    }

    /// Constrains and returns the hash of `inputs`.
    pub fn hash(
        &self,
        ctx: &mut Context<Fr>,
        gate: &GateChip<Fr>,
        inputs: &[AssignedValue<Fr>],
    ) -> AssignedValue<Fr> {
        self.inner.hash_fix_len_array(ctx, gate, inputs)
    }
}
