//! One ed25519 verification rule for every path, single or batched: ZIP-215's.
//!
//! A signature `(R, s)` by key `A` over `M` is valid when `s` is a canonical scalar, `R`
//! and `A` decode to curve points, and the **cofactored** equation
//! `[8]([s]B − R − [k]A) = 0` holds, with `k = SHA-512(R ‖ A ‖ M)` over the encodings as
//! received. Small-order keys and nonces, and components of small order, are therefore
//! neither accepted by one path and refused by the other: a batch of valid signatures
//! passes as a whole exactly when each passes alone (up to the batch's 2^-128 soundness
//! error), so no node refuses what another forwarded (issue "hostile peers", item 2:
//! strict single checks against cofactorless batches let one crafted envelope turn honest
//! forwarders into "bad" peers).
//!
//! The batch check takes a random linear combination of the equations, with coefficients
//! derived by hashing every item of the batch (as `ed25519-dalek`'s own batch does), and
//! multiplies the sum by the cofactor like the single check.

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Digest, Sha512, Signature, VerifyingKey};

/// One signature to check: the key, the message and the signature.
pub type Item<'a> = (&'a VerifyingKey, &'a [u8], &'a Signature);

/// A signature's parts once decoded: the nonce point and its encoding, `s`, and `k`.
struct Decoded {
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

fn decode(key: &VerifyingKey, message: &[u8], signature: &Signature) -> Option<Decoded> {
    let r_bytes = signature.r_bytes();
    let r = CompressedEdwardsY(*r_bytes).decompress()?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))?;
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(r_bytes)
            .chain_update(key.as_bytes())
            .chain_update(message),
    );
    Some(Decoded { r, s, k })
}

/// Whether `signature` is `key`'s over `message` under ZIP-215's rule.
pub fn verify(key: &VerifyingKey, message: &[u8], signature: &Signature) -> bool {
    let Some(d) = decode(key, message, signature) else {
        return false;
    };
    // [k](−A) + [s]B − R, times the cofactor.
    let a = key.to_edwards();
    (EdwardsPoint::vartime_double_scalar_mul_basepoint(&d.k, &(-a), &d.s) - d.r)
        .mul_by_cofactor()
        .is_identity()
}

/// Whether every item is valid under the same rule as [`verify`], with one multiscalar
/// multiplication. `false` says only that at least one is not: check them one by one to
/// know which.
pub fn verify_all(items: &[Item<'_>]) -> bool {
    let mut decoded = Vec::with_capacity(items.len());
    // The coefficients are bound to the whole batch: nobody can choose signatures that
    // cancel out under coefficients known in advance.
    let mut transcript = Sha512::new().chain_update(b"provernet/ed25519-batch/v1");
    for (key, message, signature) in items {
        let Some(d) = decode(key, message, signature) else {
            return false;
        };
        transcript.update(signature.r_bytes());
        transcript.update(key.as_bytes());
        transcript.update(signature.s_bytes());
        transcript.update(d.k.as_bytes());
        decoded.push(d);
    }
    let seed = transcript.finalize();
    let mut scalars = Vec::with_capacity(2 * items.len() + 1);
    let mut points = Vec::with_capacity(2 * items.len() + 1);
    let mut s_sum = Scalar::ZERO;
    for (i, ((key, _, _), d)) in items.iter().zip(&decoded).enumerate() {
        let z = coefficient(&seed, i);
        s_sum += z * d.s;
        // −z·R − z·k·A
        scalars.push(-z);
        points.push(d.r);
        scalars.push(-(z * d.k));
        points.push(key.to_edwards());
    }
    scalars.push(s_sum);
    points.push(ED25519_BASEPOINT_POINT);
    EdwardsPoint::vartime_multiscalar_mul(scalars, points)
        .mul_by_cofactor()
        .is_identity()
}

/// The `i`-th coefficient: 128 bits of SHA-512(seed ‖ i).
fn coefficient(seed: &[u8], i: usize) -> Scalar {
    let digest = Sha512::new()
        .chain_update(seed)
        .chain_update((i as u64).to_le_bytes())
        .finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    Scalar::from(u128::from_le_bytes(bytes))
}

/// Signs `message` with the key of `seed` using a nonce point that carries a component of
/// small order: the cofactorless equation is off by that component, the cofactored one
/// holds. Only the key's holder can make such a signature. For tests of the one-rule
/// property (here and in `tests/it/envelope.rs`).
#[doc(hidden)]
pub fn sign_with_small_order_nonce(seed: &[u8; 32], message: &[u8]) -> Signature {
    use curve25519_dalek::constants::EIGHT_TORSION;
    let hashed = Sha512::digest(seed);
    let mut secret = [0u8; 32];
    secret.copy_from_slice(&hashed[..32]);
    secret[0] &= 248;
    secret[31] &= 127;
    secret[31] |= 64;
    let a = Scalar::from_bytes_mod_order(secret);
    let public = (ED25519_BASEPOINT_POINT * a).compress();
    let r = Scalar::from_hash(
        Sha512::new()
            .chain_update(&hashed[32..])
            .chain_update(message),
    );
    let nonce = (ED25519_BASEPOINT_POINT * r + EIGHT_TORSION[1]).compress();
    let k = Scalar::from_hash(
        Sha512::new()
            .chain_update(nonce.as_bytes())
            .chain_update(public.as_bytes())
            .chain_update(message),
    );
    Signature::from_components(nonce.0, (r + k * a).to_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn valid_signatures_pass_alone_and_together() {
        let keys: Vec<SigningKey> = (1..=5).map(key).collect();
        let messages: Vec<Vec<u8>> = (0..5u8).map(|i| vec![i; 40]).collect();
        let signatures: Vec<Signature> =
            keys.iter().zip(&messages).map(|(k, m)| k.sign(m)).collect();
        let verifying: Vec<VerifyingKey> = keys.iter().map(SigningKey::verifying_key).collect();
        let items: Vec<Item<'_>> = verifying
            .iter()
            .zip(&messages)
            .zip(&signatures)
            .map(|((k, m), s)| (k, m.as_slice(), s))
            .collect();
        assert!(items.iter().all(|(k, m, s)| verify(k, m, s)));
        assert!(verify_all(&items));
    }

    #[test]
    fn a_small_order_component_gets_the_same_verdict_on_both_paths() {
        let signer = key(7);
        let public = signer.verifying_key();
        let message = b"provernet envelope".to_vec();
        let crafted = sign_with_small_order_nonce(&[7; 32], &message);
        // The strict cofactorless check refuses it (the old single path), ZIP-215 accepts
        // it, alone and batched, in any company: the verdict does not depend on the path.
        assert!(public.verify_strict(&message, &crafted).is_err());
        assert!(verify(&public, &message, &crafted));
        let other = key(8);
        let other_message = b"another".to_vec();
        let other_signature = other.sign(&other_message);
        let other_public = other.verifying_key();
        assert!(verify_all(&[
            (&public, &message, &crafted),
            (&other_public, &other_message, &other_signature),
        ]));
        assert!(verify_all(&[
            (&public, &message, &crafted),
            (&public, &message, &crafted)
        ]));
        // For another message it is no signature at all.
        assert!(!verify(&public, b"something else", &crafted));
    }

    #[test]
    fn forgeries_fail_on_both_paths() {
        let signer = key(3);
        let public = signer.verifying_key();
        let message = b"pay the prover".to_vec();
        let good = signer.sign(&message);
        // Another message; a flipped bit of s; s not canonical (its top bits set).
        let wrong_message = b"pay the cheater".to_vec();
        let mut flipped = good.to_bytes();
        flipped[40] ^= 1;
        let flipped = Signature::from_bytes(&flipped);
        let mut big_s = good.to_bytes();
        big_s[63] |= 0xf0;
        let big_s = Signature::from_bytes(&big_s);
        for (m, s) in [
            (&wrong_message, &good),
            (&message, &flipped),
            (&message, &big_s),
        ] {
            assert!(!verify(&public, m, s));
            assert!(!verify_all(&[(&public, m, s), (&public, &message, &good)]));
        }
        // The crafted signature of one key is none of another's.
        let crafted = sign_with_small_order_nonce(&[9; 32], &message);
        assert!(!verify(&public, &message, &crafted));
        assert!(!verify_all(&[
            (&public, &message, &crafted),
            (&public, &message, &good)
        ]));
    }
}
