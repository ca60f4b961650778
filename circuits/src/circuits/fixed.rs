//! Fixed-point gadgets of the model circuits (`model`): a bounded load,
//! a floor division by a power of two, a ReLU. Every range check is a bit decomposition:
//! no lookup table, which would add code and gas to the EVM verifier.

use halo2_base::QuantumCell::Constant;
use halo2_base::gates::{GateChip, GateInstructions};
use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::utils::ScalarField;
use halo2_base::{AssignedValue, Context};

use crate::field::from_i64;

pub(crate) fn pow2(bits: u32) -> Fr {
    Fr::from(2).pow_vartime([u64::from(bits)])
}

/// Loads `v` and constrains `-2^bits <= v < 2^bits`; returns it and `v + 2^bits` (in
/// `[0, 2^(bits+1))`, what a commitment packs).
pub(crate) fn load_bounded(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    v: i64,
    bits: u32,
) -> (AssignedValue<Fr>, AssignedValue<Fr>) {
    let value = ctx.load_witness(from_i64(v));
    let shifted = gate.add(ctx, value, Constant(pow2(bits)));
    gate.num_to_bits(ctx, shifted, bits as usize + 1);
    (value, shifted)
}

/// `floor(acc / 2^s)` for `|acc| < 2^acc_bits`: with `t = acc + 2^acc_bits`, witnesses
/// `q`, `r` with `t = q·2^s + r`, `r < 2^s`, `q < 2^(acc_bits + 1 − s)`; both sides are far
/// below the field's size, so `q` is unique.
pub(crate) fn rescale(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    acc: AssignedValue<Fr>,
    acc_bits: u32,
    s: u32,
) -> AssignedValue<Fr> {
    let shifted = gate.add(ctx, acc, Constant(pow2(acc_bits)));
    let raw = shifted.value().get_lower_64();
    let quotient = ctx.load_witness(Fr::from(raw >> s));
    let remainder = ctx.load_witness(Fr::from(raw & ((1 << s) - 1)));
    gate.num_to_bits(ctx, remainder, s as usize);
    gate.num_to_bits(ctx, quotient, (acc_bits + 1 - s) as usize);
    let recomposed = gate.mul_add(ctx, quotient, Constant(pow2(s)), remainder);
    ctx.constrain_equal(&recomposed, &shifted);
    gate.sub(ctx, quotient, Constant(pow2(acc_bits - s)))
}

/// `max(x, 0)` for `|x| < 2^bits`: the sign bit of `x + 2^bits` is proven by
/// range-checking the rest below `2^bits`.
pub(crate) fn relu(
    ctx: &mut Context<Fr>,
    gate: &GateChip<Fr>,
    x: AssignedValue<Fr>,
    bits: u32,
) -> AssignedValue<Fr> {
    let offset = pow2(bits);
    let shifted = gate.add(ctx, x, Constant(offset));
    let non_negative = ctx.load_witness(Fr::from((shifted.value().get_lower_64() >> bits) & 1));
    gate.assert_bit(ctx, non_negative);
    let rest = gate.sub_mul(ctx, shifted, non_negative, Constant(offset));
    gate.num_to_bits(ctx, rest, bits as usize);
    gate.mul(ctx, non_negative, x)
}
