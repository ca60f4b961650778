//! BN254 scalars as they appear outside the circuit: 32 bytes big-endian on the wire and
//! in calldata, decimal or `0x` hex strings in witness JSON.

use halo2_base::halo2_proofs::halo2curves::bn256::Fr;
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use provernet_protocol::FieldBytes;

/// `x` as 32 bytes big-endian (the EVM's `uint256`).
pub fn to_bytes(x: &Fr) -> FieldBytes {
    let mut bytes = x.to_repr();
    bytes.reverse();
    FieldBytes(bytes)
}

/// The scalar with these big-endian bytes, if they are below the modulus.
pub fn from_bytes(bytes: &FieldBytes) -> Option<Fr> {
    let mut le = bytes.0;
    le.reverse();
    Option::from(Fr::from_repr(le))
}

/// Parses a non-negative scalar from a decimal string or a `0x`-prefixed hex string.
/// Values at or above the modulus are refused, never reduced.
pub fn parse(text: &str) -> Result<Fr, String> {
    let text = text.trim();
    let mut be = [0u8; 32];
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`{text}` is not a hex number of at most 32 bytes"));
        }
        let bytes = provernet_protocol::primitives::from_hex(&format!("{hex:0>64}"))
            .ok_or_else(|| format!("`{text}` is not hex"))?;
        be.copy_from_slice(&bytes);
    } else {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("`{text}` is not a decimal or 0x-hex number"));
        }
        // Decimal to big-endian bytes, refusing anything that needs more than 256 bits.
        for digit in text.bytes() {
            let mut carry = u32::from(digit - b'0');
            for byte in be.iter_mut().rev() {
                let value = u32::from(*byte) * 10 + carry;
                *byte = (value & 0xff) as u8;
                carry = value >> 8;
            }
            if carry != 0 {
                return Err(format!("`{text}` does not fit in 256 bits"));
            }
        }
    }
    from_bytes(&FieldBytes(be))
        .ok_or_else(|| format!("`{text}` is not below the BN254 scalar modulus"))
}

/// `x` as a `0x`-prefixed 64-digit hex string.
pub fn to_hex(x: &Fr) -> String {
    format!(
        "0x{}",
        provernet_protocol::primitives::to_hex(&to_bytes(x).0)
    )
}

/// A signed integer as a field element (negative `v` is `p - |v|`).
pub fn from_i64(v: i64) -> Fr {
    if v >= 0 {
        Fr::from(v as u64)
    } else {
        -Fr::from(v.unsigned_abs())
    }
}

/// A field element as a signed integer, if it is one [`from_i64`] makes.
pub fn to_i64(x: &Fr) -> Option<i64> {
    let small = |y: &Fr| {
        let bytes = to_bytes(y).0;
        bytes[..24]
            .iter()
            .all(|b| *b == 0)
            .then(|| u64::from_be_bytes(bytes[24..].try_into().unwrap_or([0xff; 8])))
            .filter(|v| *v <= i64::MAX as u64)
    };
    if let Some(v) = small(x) {
        return Some(v as i64);
    }
    small(&-*x).map(|v| -(v as i64))
}

#[cfg(test)]
mod tests {
    use halo2_base::halo2_proofs::halo2curves::ff::Field;

    use super::*;

    #[test]
    fn signed_integers_round_trip_and_other_elements_are_none() {
        for v in [0, 1, -1, 255, -4_096, i64::MAX, -i64::MAX] {
            assert_eq!(to_i64(&from_i64(v)), Some(v));
        }
        assert_eq!(to_i64(&Fr::from(2).pow_vartime([100u64])), None);
    }

    #[test]
    fn parse_accepts_canonical_and_refuses_the_rest() {
        assert_eq!(parse("0").expect("zero"), Fr::zero());
        assert_eq!(parse("255").expect("dec"), Fr::from(255));
        assert_eq!(parse("0xff").expect("hex"), Fr::from(255));
        let modulus_minus_one =
            "21888242871839275222246405745257275088548364400416034343698204186575808495616";
        assert_eq!(parse(modulus_minus_one).expect("p-1"), -Fr::one());
        let modulus =
            "21888242871839275222246405745257275088548364400416034343698204186575808495617";
        assert!(parse(modulus).is_err());
        assert!(parse("-1").is_err());
        assert!(parse("0x").is_err());
        assert!(parse("1e3").is_err());
        assert!(parse(&"9".repeat(80)).is_err());
    }

    #[test]
    fn bytes_round_trip_big_endian() {
        let x = Fr::from(0x0102);
        let bytes = to_bytes(&x);
        assert_eq!(&bytes.0[30..], &[1, 2]);
        assert_eq!(from_bytes(&bytes), Some(x));
        assert_eq!(from_bytes(&FieldBytes([0xff; 32])), None);
        assert_eq!(from_i64(-5) + Fr::from(5), Fr::zero());
    }
}
