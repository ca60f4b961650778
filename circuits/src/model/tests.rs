//! The model's pure rules: names, the architecture's word, packing, inference.

use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;

use super::*;

fn arch(widths: &[usize], scale_bits: u32) -> Architecture {
    let layers: Vec<Layer> = widths[1..]
        .iter()
        .enumerate()
        .map(|(i, w)| Layer {
            outputs: *w,
            relu: i + 2 < widths.len(),
        })
        .collect();
    Architecture::new(widths[0], &layers, scale_bits).expect("a valid architecture")
}

#[test]
fn a_circuit_name_parses_back_to_its_architecture_and_nothing_else_does() {
    let a = arch(&[64, 32, 10], 8);
    assert_eq!(a.to_string(), "model-64-32r-10-s8");
    assert_eq!(
        "model-64-32r-10-s8"
            .parse::<Architecture>()
            .expect("parses"),
        a
    );
    for bad in [
        "model-64-s8",
        "model-064-32r-10-s8",
        "model-64-32r-10",
        "model-64-+32r-10-s8",
        "model-64-32x-10-s8",
        "model-64-0-10-s8",
        "model-64-32r-10-s0",
        "model-64-32r-10-s16",
        "model-64-4097-10-s8",
        "mlp-64-32r-10-s8",
        "model-64-32r-10-s8-",
        "model-1-1-1-1-1-1-1-1-1-1-s8",
    ] {
        assert!(bad.parse::<Architecture>().is_err(), "{bad} parsed");
    }
}

#[test]
fn packing_is_injective_over_the_range_and_sized_as_documented() {
    assert_eq!(packed(PARAMETER_BITS), 15);
    assert_eq!(packed(ACTIVATION_BITS), 10);
    for bits in [PARAMETER_BITS, ACTIVATION_BITS] {
        let (max, min) = ((1i64 << bits) - 1, -(1i64 << bits));
        let a = pack(&[max, min, 0, 1, -1], bits);
        let b = pack(&[max, min, 0, 1, -2], bits);
        assert_eq!(a.len(), 1);
        assert_ne!(a, b);
        assert_eq!(pack(&vec![0; packed(bits) * 2 + 1], bits).len(), 3);
        // The largest element takes at most 250 bits, below the field's modulus: no
        // reduction makes two lists alike.
        let full = pack(&vec![max; packed(bits)], bits);
        assert_eq!(full.len(), 1);
        assert!(full[0].to_repr()[31] < 0x04, "{bits}: {:?}", full[0]);
        // Out of range, a value spills into the next one's bits and two lists pack
        // alike: why the circuit range-checks every value it packs.
        assert_eq!(pack(&[0, 1], bits), pack(&[1 << (bits + 1), 0], bits));
    }
}

#[test]
fn one_commitment_names_one_shape_and_scale() {
    // The same ten parameters under two shapes, and under two scales: the
    // architecture's word makes each commitment another.
    let model = |widths: &[usize], scale_bits| {
        let architecture = arch(widths, scale_bits);
        QuantizedModel {
            weights: architecture
                .layer_inputs()
                .zip(architecture.layers())
                .map(|(n, l)| vec![vec![1; n]; l.outputs])
                .collect(),
            biases: architecture.layers().map(|l| vec![1; l.outputs]).collect(),
            architecture,
        }
    };
    let a = model(&[4, 2], 8);
    let b = model(&[1, 5], 8);
    let c = model(&[4, 2], 9);
    assert_eq!(a.parameters().count(), b.parameters().count());
    assert_eq!(
        a.parameters().collect::<Vec<_>>(),
        b.parameters().collect::<Vec<_>>()
    );
    assert_ne!(a.commitment(), b.commitment());
    assert_ne!(a.commitment(), c.commitment());
    assert_ne!(a.architecture.word(), b.architecture.word());
    // Eight layers: the last width's top bits count too (a u128 lost them).
    let eight = |last| {
        let mut widths = vec![1; 9];
        widths[8] = last;
        arch(&widths, 8).word()
    };
    assert_ne!(eight(10), eight(10 + 256));
    assert_ne!(eight(4_096), eight(4_096 - 2_048));
}

#[test]
fn inference_floors_applies_relu_and_refuses_hidden_values_out_of_range() {
    let model = QuantizedModel {
        architecture: arch(&[2, 2, 1], 4),
        weights: vec![vec![vec![16, -16], vec![-8, 0]], vec![vec![16, 32]]],
        biases: vec![vec![1, 0], vec![-3]],
    };
    model.check().expect("a valid model");
    // Hidden: (16·5 − 16·2 + 16·1)/16 = 4, relu(−8·5/16) = relu(floor(−2.5)) = 0.
    // Output: floor((16·4 + 32·0 − 16·3)/16) = 1.
    assert_eq!(model.infer(&[5, 2]).expect("in range"), vec![1]);
    let big = QuantizedModel {
        weights: vec![
            vec![vec![max_value(), max_value()], vec![0, 0]],
            vec![vec![1, 1]],
        ],
        ..model.clone()
    };
    assert!(matches!(
        big.infer(&[(1 << ACTIVATION_BITS) - 1, (1 << ACTIVATION_BITS) - 1]),
        Err(ModelError::Input(_))
    ));
    assert!(matches!(model.infer(&[1]), Err(ModelError::Input(_))));
    assert!(matches!(
        model.infer(&[1 << ACTIVATION_BITS, 0]),
        Err(ModelError::Input(_))
    ));
    // An input in range can still push a hidden value out of it: refused.
    assert!(model.infer(&[(1 << ACTIVATION_BITS) - 1, 0]).is_err());
    assert!(model.infer(&[(1 << 20) - 1, 0]).is_ok());
    let wide = QuantizedModel {
        weights: vec![
            vec![vec![1 << PARAMETER_BITS, 0], vec![0, 0]],
            vec![vec![1, 1]],
        ],
        ..model.clone()
    };
    assert!(matches!(wide.check(), Err(ModelError::Quantization(_))));
}

fn max_value() -> i64 {
    (1 << PARAMETER_BITS) - 1
}
