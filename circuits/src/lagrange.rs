//! The Lagrange basis of an SRS, fast: an inverse FFT over G1 with GLV scalar multiplication.
//!
//! halo2 commits in the Lagrange basis `L_i(τ)·G1`, `i < 2^k`, which is the inverse FFT of
//! the powers `τ^j·G1`. Its own `g_to_lagrange` multiplies points by the FFT's twiddles
//! with a constant-time double-and-add, one addition per bit (about 57 s for 2^16 points
//! on two cores). The twiddles are public, so constant time buys nothing here: they are
//! multiplied with 4-bit windows (one addition per four bits, skipped for a zero window),
//! and the butterflies of each layer run on every core. The result is the same points (a
//! unit test compares it with halo2's).

use std::thread;

use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::{Field, PrimeField};
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::group::{Curve, Group};
use halo2_base::halo2_proofs::poly::commitment::ParamsProver;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;

/// `L_i(τ)·G1` for `i < n`, from `g = [τ^j·G1]` of `n = 2^k` points (`k ≥ 1`), over the
/// domain halo2 uses (its `ROOT_OF_UNITY` raised to `2^(S − k)`).
pub fn basis(g: &[G1Affine]) -> Vec<G1Affine> {
    let n = g.len();
    assert!(n.is_power_of_two() && n >= 2, "a power of two of points");
    let k = n.trailing_zeros();
    let mut omega_inv = Fr::ROOT_OF_UNITY_INV;
    for _ in k..Fr::S {
        omega_inv = omega_inv.square();
    }
    // twiddles[t] = ω^(−t), t < n/2.
    let mut twiddles = Vec::with_capacity(n / 2);
    let mut power = Fr::ONE;
    for _ in 0..n / 2 {
        twiddles.push(power);
        power *= omega_inv;
    }

    let mut points: Vec<G1> = g.iter().map(PrimeCurveAffine::to_curve).collect();
    bit_reverse(&mut points, k);
    let threads = thread::available_parallelism().map_or(1, usize::from);
    let mut half = 1;
    while half < n {
        let stride = n / (2 * half);
        butterflies(&mut points, half, stride, &twiddles, threads);
        half *= 2;
    }
    let n_inv = Fr::from(n as u64).invert().expect("n is not 0 mod r");
    on_threads(&mut points, threads, |chunk| {
        for point in chunk {
            *point = mul(point, &n_inv);
        }
    });
    let mut affine = vec![G1Affine::identity(); n];
    G1::batch_normalize(&points, &mut affine);
    affine
}

/// `params` cut to `2^k` rows (`k ≤ params.k()`, `k ≥ 1`): halo2's `downsize`, with the
/// basis computed here.
pub fn downsize(params: &ParamsKZG<Bn256>, k: u32) -> ParamsKZG<Bn256> {
    let g = params.get_g()[..1 << k].to_vec();
    let lagrange = basis(&g);
    params.from_parts(k, g, Some(lagrange), params.g2(), params.s_g2())
}

/// One layer: for each group of `2·half` points, `(a, b) ← (a + ω^j·b, a − ω^j·b)` with
/// `ω^j = twiddles[j·stride]`, the work split over `threads`.
fn butterflies(points: &mut [G1], half: usize, stride: usize, twiddles: &[Fr], threads: usize) {
    // Pieces of (low, high, first j): groups when there are many, runs of j when few.
    let per_thread = (points.len() / 2).div_ceil(threads);
    let mut pieces = Vec::new();
    for group in points.chunks_exact_mut(2 * half) {
        let (low, high) = group.split_at_mut(half);
        let run = half.min(per_thread.max(1));
        for (i, (low, high)) in low.chunks_mut(run).zip(high.chunks_mut(run)).enumerate() {
            pieces.push((low, high, i * run));
        }
    }
    let per_piece = pieces.len().div_ceil(threads);
    thread::scope(|scope| {
        for share in pieces.chunks_mut(per_piece) {
            scope.spawn(move || {
                for (low, high, first) in share.iter_mut() {
                    for (j, (a, b)) in low.iter_mut().zip(high.iter_mut()).enumerate() {
                        let t = mul(b, &twiddles[(*first + j) * stride]);
                        *b = *a - t;
                        *a += t;
                    }
                }
            });
        }
    });
}

/// Runs `work` over `points` split in `threads` chunks.
fn on_threads(points: &mut [G1], threads: usize, work: impl Fn(&mut [G1]) + Sync) {
    let size = points.len().div_ceil(threads).max(1);
    thread::scope(|scope| {
        for chunk in points.chunks_mut(size) {
            let work = &work;
            scope.spawn(move || work(chunk));
        }
    });
}

fn bit_reverse(points: &mut [G1], k: u32) {
    for i in 0..points.len() {
        let j = i.reverse_bits() >> (usize::BITS - k);
        if i < j {
            points.swap(i, j);
        }
    }
}

/// `scalar·point`, variable time (the scalar is public): 4-bit windows, one addition per
/// window instead of one per bit.
fn mul(point: &G1, scalar: &Fr) -> G1 {
    let table = table(point);
    let repr = scalar.to_repr();
    let mut acc = G1::identity();
    for byte in repr.as_ref().iter().rev() {
        for nibble in [byte >> 4, byte & 15] {
            for _ in 0..4 {
                acc = acc.double();
            }
            if nibble != 0 {
                acc += table[usize::from(nibble)];
            }
        }
    }
    acc
}

/// `[0·P, 1·P, …, 15·P]`.
fn table(point: &G1) -> [G1; 16] {
    let mut table = [G1::identity(); 16];
    for i in 1..16 {
        table[i] = table[i - 1] + point;
    }
    table
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::arithmetic::g_to_lagrange;
    use rand_chacha::ChaCha20Rng;
    use rand_core::SeedableRng;

    use super::*;

    #[test]
    fn windowed_multiplication_is_multiplication() {
        let mut rng = ChaCha20Rng::from_seed([7; 32]);
        for _ in 0..200 {
            let point = G1::random(&mut rng);
            let scalar = Fr::random(&mut rng);
            assert_eq!(mul(&point, &scalar), point * scalar);
        }
        let point = G1::generator();
        for scalar in [Fr::ZERO, Fr::ONE, -Fr::ONE, Fr::ROOT_OF_UNITY] {
            assert_eq!(mul(&point, &scalar), point * scalar);
        }
    }

    #[test]
    fn the_basis_is_halo2s() {
        let mut rng = ChaCha20Rng::from_seed([9; 32]);
        let tau = Fr::random(&mut rng);
        for k in [1, 2, 5, 8] {
            let mut power = G1::generator();
            let g: Vec<G1Affine> = (0..1 << k)
                .map(|_| {
                    let point = power.to_affine();
                    power *= tau;
                    point
                })
                .collect();
            let theirs: Vec<G1Affine> =
                g_to_lagrange(g.iter().map(PrimeCurveAffine::to_curve).collect(), k);
            assert_eq!(basis(&g), theirs, "k = {k}");
        }
    }

    #[test]
    fn downsizing_is_halo2s() {
        use halo2_base::halo2_proofs::poly::commitment::Params;
        let params = ParamsKZG::<Bn256>::setup(6, ChaCha20Rng::from_seed([3; 32]));
        let mut theirs = params.clone();
        theirs.downsize(4);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        downsize(&params, 4).write(&mut a).expect("writes to a Vec");
        theirs.write(&mut b).expect("writes to a Vec");
        assert_eq!(a, b);
    }
}
