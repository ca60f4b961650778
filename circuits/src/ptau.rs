//! A public trusted setup: snarkjs's powers-of-tau files (`.ptau`) turned into halo2's SRS.
//!
//! The BN254 ceremonies everyone uses (Hermez/Polygon, PSE's perpetual powers of tau) are
//! published in snarkjs's binary format. A `.ptau` file is the magic `ptau`, a version
//! (u32) and a section count (u32), then sections, each a type (u32), a size (u64) and
//! its bytes. Provernet reads three:
//! - 1, the header: the field element size `n8` (u32, 32), the base field's modulus `q`
//!   (`n8` bytes, little-endian), the file's `power` (u32) and, in newer files, the
//!   ceremony's power (u32);
//! - 2, `τ^i·G1` for `i < 2·2^power − 1`, each point `x‖y`;
//! - 3, `τ^i·G2` for `i < 2^power`, each point `x.c0‖x.c1‖y.c0‖y.c1`.
//!
//! Coordinates are in Montgomery form, little-endian: the same bytes as halo2curves' raw
//! encoding. halo2's KZG needs `τ^i·G1` for `i < 2^k`, `G2` and `τ·G2`; only those are read
//! (seeking past the rest: a real ceremony file is tens of gigabytes), and every one is
//! checked before anything is written:
//! - each coordinate below the field's modulus, each point on its curve and not the
//!   identity, `τ·G2` in the prime-order subgroup (G2 has a cofactor; G1 has none);
//! - the first G1 and G2 powers are the generators, and `τ ≠ 1` (an uncontributed file);
//! - the powers are powers of one `τ`: with weights `ρ_i` drawn from a hash of the points
//!   (so the file's author cannot choose points that cancel), `A = Σ ρ_i·τ^i·G1` and
//!   `B = Σ ρ_i·τ^(i+1)·G1` over `i < 2^k − 1` must satisfy `e(B, G2) = e(A, τ·G2)`.
//!
//! The result is written in halo2's raw format (what [`crate::srs::Srs`] reads), its
//! Lagrange basis computed by [`crate::lagrange`], and its keccak256 is the SRS's fingerprint.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::arithmetic::{CurveAffine, best_multiexp};
use halo2_base::halo2_proofs::halo2curves::bn256::{
    Bn256, Fq, Fq2, Fr, G1Affine, G2, G2Affine, pairing,
};
use halo2_base::halo2_proofs::halo2curves::ff::Field;
use halo2_base::halo2_proofs::halo2curves::group::Group;
use halo2_base::halo2_proofs::halo2curves::group::prime::PrimeCurveAffine;
use halo2_base::halo2_proofs::halo2curves::serde::SerdeObject;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use provernet_protocol::{Hash32, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha3::{Digest, Keccak256};

use crate::error::CircuitError;

/// The bytes of a G1 point in a `.ptau` file.
const G1_BYTES: u64 = 64;
/// The bytes of a G2 point in a `.ptau` file.
const G2_BYTES: u64 = 128;
/// BN254's base field modulus, little-endian: the `q` of a BN254 `.ptau` header.
const BN254_Q_LE: [u8; 32] = [
    0x47, 0xfd, 0x7c, 0xd8, 0x16, 0x8c, 0x20, 0x3c, 0x8d, 0xca, 0x71, 0x68, 0x91, 0x6a, 0x81, 0x97,
    0x5d, 0x58, 0x81, 0x81, 0xb6, 0x45, 0x50, 0xb8, 0x29, 0xa0, 0x31, 0xe1, 0x72, 0x4e, 0x64, 0x30,
];
/// The largest power a BN254 ceremony can have (the scalar field's 2-adicity).
const MAX_POWER: u32 = 28;
/// The most sections a file may declare (snarkjs writes up to 15).
const MAX_SECTIONS: u32 = 64;

/// Reads `path`, checks the powers it needs for circuits of up to `2^k` rows and returns
/// halo2's parameters for `2^k`. Nothing is written.
pub fn import(path: &Path, k: u32) -> Result<ParamsKZG<Bn256>, CircuitError> {
    let bad = |reason: String| CircuitError::Srs {
        path: path.to_path_buf(),
        reason,
    };
    if k > crate::srs::MAX_FILE_K {
        return Err(bad(format!(
            "--k {k}: nodes read SRS files of up to 2^{} rows",
            crate::srs::MAX_FILE_K
        )));
    }
    let file = File::open(path).map_err(|e| CircuitError::io("opening", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| CircuitError::io("reading", path, e))?
        .len();
    let mut file = BufReader::new(file);
    let sections = read_sections(&mut file, len).map_err(bad)?;
    let power = read_header(&mut file, &sections).map_err(bad)?;
    if k == 0 || k > power {
        return Err(bad(format!(
            "holds powers for 2^{power} rows; --k must be between 1 and {power}, not {k}"
        )));
    }
    let n = 1usize << k;
    let g1_section =
        section(&sections, 2, ((2u64 << power) - 1) * G1_BYTES, "τ·G1").map_err(bad)?;
    let g2_section = section(&sections, 3, (1u64 << power) * G2_BYTES, "τ·G2").map_err(bad)?;

    // The weights' seed: keccak256 of the points read, hashed as they are read.
    let mut transcript = Keccak256::new();
    let g = read_points(
        &mut file,
        g1_section,
        n,
        G1_BYTES,
        &mut transcript,
        g1_point,
    )
    .map_err(bad)?;
    let g2s = read_points(
        &mut file,
        g2_section,
        2,
        G2_BYTES,
        &mut transcript,
        g2_point,
    )
    .map_err(bad)?;
    let (g2, s_g2) = (g2s[0], g2s[1]);
    check_powers(&g, g2, s_g2, transcript.finalize().into()).map_err(bad)?;

    let lagrange = crate::lagrange::basis(&g);
    let mut raw = Vec::with_capacity(4 + n * 128 + 256);
    raw.extend_from_slice(&k.to_le_bytes());
    for point in g.iter().chain(&lagrange) {
        point
            .x
            .write_raw(&mut raw)
            .map_err(|e| bad(e.to_string()))?;
        point
            .y
            .write_raw(&mut raw)
            .map_err(|e| bad(e.to_string()))?;
    }
    for point in [g2, s_g2] {
        for coordinate in [point.x, point.y] {
            coordinate
                .write_raw(&mut raw)
                .map_err(|e| bad(e.to_string()))?;
        }
    }
    ParamsKZG::<Bn256>::read_custom(&mut raw.as_slice(), SerdeFormat::RawBytesUnchecked)
        .map_err(|e| bad(format!("halo2 refused the parameters built from it: {e}")))
}

/// Writes `params` at `out` in halo2's raw format (atomically: never half a file) and
/// returns its keccak256, the SRS fingerprint nodes check.
pub fn write(params: &ParamsKZG<Bn256>, out: &Path) -> Result<Hash32, CircuitError> {
    let mut bytes = Vec::new();
    params
        .write_custom(&mut bytes, SerdeFormat::RawBytes)
        .map_err(|e| CircuitError::io("serializing SRS", out, e))?;
    crate::keys::write_atomic(out, &bytes)?;
    Ok(Hash32(keccak256(&bytes)))
}

/// Where a section's bytes are.
#[derive(Clone, Copy, Debug)]
struct Section {
    kind: u32,
    start: u64,
    size: u64,
}

fn read_u32(file: &mut impl Read) -> Result<u32, String> {
    let mut bytes = [0; 4];
    file.read_exact(&mut bytes)
        .map_err(|_| "truncated".to_string())?;
    Ok(u32::from_le_bytes(bytes))
}

/// The magic, version and section table; each section must lie inside the file.
fn read_sections(file: &mut (impl Read + Seek), len: u64) -> Result<Vec<Section>, String> {
    let mut magic = [0; 4];
    file.read_exact(&mut magic)
        .map_err(|_| "shorter than a .ptau header".to_string())?;
    if &magic != b"ptau" {
        return Err("not a .ptau file (its first bytes are not \"ptau\")".into());
    }
    let version = read_u32(file)?;
    if version != 1 {
        return Err(format!(".ptau version {version}; only version 1 is known"));
    }
    let count = read_u32(file)?;
    // snarkjs writes at most 15 sections; a count beyond any format's is a lie.
    if count > MAX_SECTIONS || u64::from(count) * 12 > len {
        return Err(format!(
            "claims {count} sections: at most {MAX_SECTIONS}, and no more than its {len} bytes hold"
        ));
    }
    let mut sections = Vec::with_capacity(count as usize);
    let mut at = 12u64;
    for _ in 0..count {
        let kind = read_u32(file)?;
        let mut size = [0; 8];
        file.read_exact(&mut size)
            .map_err(|_| "truncated in its section table".to_string())?;
        let size = u64::from_le_bytes(size);
        let start = at + 12;
        let end = start
            .checked_add(size)
            .filter(|end| *end <= len)
            .ok_or_else(|| {
                format!(
                    "truncated: section {kind} claims {size} bytes from byte {start}, the file has {len}"
                )
            })?;
        sections.push(Section { kind, start, size });
        file.seek(SeekFrom::Start(end)).map_err(|e| e.to_string())?;
        at = end;
    }
    Ok(sections)
}

/// The one section of `kind`, of exactly `size` bytes.
fn section(sections: &[Section], kind: u32, size: u64, what: &str) -> Result<Section, String> {
    let mut found = sections.iter().filter(|s| s.kind == kind);
    let section = *found
        .next()
        .ok_or_else(|| format!("has no section {kind} ({what})"))?;
    if found.next().is_some() {
        return Err(format!("has two sections {kind} ({what})"));
    }
    if section.size != size {
        return Err(format!(
            "section {kind} ({what}) has {} bytes, its power needs {size}",
            section.size
        ));
    }
    Ok(section)
}

/// The header: a BN254 file and its power.
fn read_header(file: &mut (impl Read + Seek), sections: &[Section]) -> Result<u32, String> {
    let mut headers = sections.iter().filter(|s| s.kind == 1);
    let header = headers.next().ok_or("has no header section")?;
    if headers.next().is_some() {
        return Err("has two header sections".into());
    }
    if header.size < 40 {
        return Err(format!(
            "its header has {} bytes, at least 40 expected",
            header.size
        ));
    }
    file.seek(SeekFrom::Start(header.start))
        .map_err(|e| e.to_string())?;
    let n8 = read_u32(file)?;
    let mut q = [0; 32];
    file.read_exact(&mut q)
        .map_err(|_| "truncated".to_string())?;
    if n8 != 32 || q != BN254_Q_LE {
        return Err("is not over BN254 (its header names another field)".into());
    }
    let power = read_u32(file)?;
    if power == 0 || power > MAX_POWER {
        return Err(format!(
            "claims power {power}; a BN254 file has 1..={MAX_POWER}"
        ));
    }
    Ok(power)
}

/// Reads the first `count` points of `section`, each `width` bytes, parsed by `parse`
/// (its index in the error), and hashes their bytes into `transcript`.
fn read_points<P>(
    file: &mut (impl Read + Seek),
    section: Section,
    count: usize,
    width: u64,
    transcript: &mut Keccak256,
    parse: fn(&[u8]) -> Option<P>,
) -> Result<Vec<P>, String> {
    file.seek(SeekFrom::Start(section.start))
        .map_err(|e| e.to_string())?;
    let mut bytes = vec![0; count * width as usize];
    file.read_exact(&mut bytes)
        .map_err(|_| "truncated".to_string())?;
    let points = bytes
        .chunks_exact(width as usize)
        .enumerate()
        .map(|(i, point)| {
            parse(point).ok_or_else(|| {
                format!(
                    "point {i} of section {} is not a point of its curve (or is the identity)",
                    section.kind
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    transcript.update(&bytes);
    Ok(points)
}

fn fq(bytes: &[u8]) -> Option<Fq> {
    Fq::from_raw_bytes(bytes)
}

/// A G1 point on the curve, not the identity.
fn g1_point(bytes: &[u8]) -> Option<G1Affine> {
    let point: G1Affine = Option::from(G1Affine::from_xy(fq(&bytes[..32])?, fq(&bytes[32..])?))?;
    (!bool::from(point.is_identity())).then_some(point)
}

/// A G2 point on the twist, not the identity, in the prime-order subgroup.
fn g2_point(bytes: &[u8]) -> Option<G2Affine> {
    let x = Fq2::new(fq(&bytes[..32])?, fq(&bytes[32..64])?);
    let y = Fq2::new(fq(&bytes[64..96])?, fq(&bytes[96..])?);
    let point: G2Affine = Option::from(G2Affine::from_xy(x, y))?;
    if bool::from(point.is_identity()) {
        return None;
    }
    // r·P = (r − 1)·P + P, and r − 1 is the scalar −1.
    let times_order = G2::from(point) * (-Fr::ONE) + G2::from(point);
    bool::from(times_order.is_identity()).then_some(point)
}

/// The generators, `τ ≠ 1`, and the pairing relation between consecutive powers.
fn check_powers(
    g: &[G1Affine],
    g2: G2Affine,
    s_g2: G2Affine,
    seed: [u8; 32],
) -> Result<(), String> {
    if g[0] != G1Affine::generator() {
        return Err("its first τ·G1 power is not the generator of G1".into());
    }
    if g2 != G2Affine::generator() {
        return Err("its first τ·G2 power is not the generator of G2".into());
    }
    if s_g2 == g2 {
        return Err(
            "τ is 1: nobody contributed to this file (snarkjs powersoftau contribute)".into(),
        );
    }
    let mut rng = ChaCha20Rng::from_seed(seed);
    let weights: Vec<Fr> = (1..g.len()).map(|_| Fr::random(&mut rng)).collect();
    let a = best_multiexp(&weights, &g[..g.len() - 1]);
    let b = best_multiexp(&weights, &g[1..]);
    if pairing(&G1Affine::from(b), &g2) != pairing(&G1Affine::from(a), &s_g2) {
        return Err(
            "its τ·G1 powers are not successive powers of the τ in τ·G2 (pairing check failed)"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_modulus_is_bn254s() {
        let q = Fq::ZERO - Fq::ONE;
        // q − 1 in canonical little-endian, plus one, is the modulus.
        let mut bytes = q.to_bytes();
        let mut carry = 1u16;
        for byte in bytes.iter_mut() {
            let sum = u16::from(*byte) + carry;
            *byte = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(bytes, BN254_Q_LE);
    }

    fn g2_bytes(point: &G2Affine) -> Vec<u8> {
        let mut raw = Vec::new();
        for c in [point.x.c0, point.x.c1, point.y.c0, point.y.c1] {
            c.write_raw(&mut raw).expect("writes to a Vec");
        }
        raw
    }

    fn g1_bytes(point: &G1Affine) -> Vec<u8> {
        let mut raw = Vec::new();
        point.x.write_raw(&mut raw).expect("writes to a Vec");
        point.y.write_raw(&mut raw).expect("writes to a Vec");
        raw
    }

    /// The first x whose x³ + b is a square: a point of the twist, and with overwhelming
    /// likelihood not of order r (the twist's cofactor is about 2^254).
    fn twist_point_outside_the_subgroup() -> G2Affine {
        let mut x = Fq2::ONE;
        loop {
            let y2 = x.square() * x + G2Affine::b();
            if let Some(y) = Option::<Fq2>::from(y2.sqrt()) {
                return Option::<G2Affine>::from(G2Affine::from_xy(x, y)).expect("on the twist");
            }
            x += Fq2::ONE;
        }
    }

    #[test]
    fn a_g2_point_outside_the_subgroup_is_refused() {
        assert!(g2_point(&g2_bytes(&G2Affine::generator())).is_some());
        let outside = twist_point_outside_the_subgroup();
        assert!(
            g2_point(&g2_bytes(&outside)).is_none(),
            "a twist point off the subgroup"
        );
    }

    /// A `.ptau` file of 2^`power` powers of `tau`, as snarkjs lays it out: header,
    /// τ·G1 powers, τ·G2 powers; `g1`, `g2` scale every point of their group (1: honest).
    fn synthetic(power: u32, tau: Fr, g1: Fr, g2: Fr) -> Vec<u8> {
        let section = |kind: u32, data: Vec<u8>| {
            let mut bytes = kind.to_le_bytes().to_vec();
            bytes.extend_from_slice(&(data.len() as u64).to_le_bytes());
            bytes.extend(data);
            bytes
        };
        let mut header = 32u32.to_le_bytes().to_vec();
        header.extend_from_slice(&BN254_Q_LE);
        header.extend_from_slice(&power.to_le_bytes());
        header.extend_from_slice(&power.to_le_bytes());
        let (mut taus_g1, mut taus_g2) = (Vec::new(), Vec::new());
        let mut t = Fr::ONE;
        for i in 0..(2u64 << power) - 1 {
            taus_g1.extend(g1_bytes(&G1Affine::from(G1Affine::generator() * (t * g1))));
            if i < 1 << power {
                taus_g2.extend(g2_bytes(&G2Affine::from(G2Affine::generator() * (t * g2))));
            }
            t *= tau;
        }
        let mut file = b"ptau".to_vec();
        file.extend_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&3u32.to_le_bytes());
        file.extend(section(1, header));
        file.extend(section(2, taus_g1));
        file.extend(section(3, taus_g2));
        file
    }

    /// Imports `bytes` at `k`: the error, if any.
    fn import_bytes(name: &str, bytes: &[u8], k: u32) -> Result<ParamsKZG<Bn256>, String> {
        let path = std::env::temp_dir().join(format!("ptau-unit-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).expect("write");
        let result = import(&path, k).map_err(|e| e.to_string());
        let _ = std::fs::remove_file(&path);
        result
    }

    #[test]
    fn a_file_of_powers_of_one_tau_imports_at_any_k_up_to_its_power() {
        use halo2_base::halo2_proofs::poly::commitment::{Params, ParamsProver};
        let tau = Fr::from(12_345u64);
        let file = synthetic(3, tau, Fr::ONE, Fr::ONE);
        for k in 1..=3 {
            let params = import_bytes("good", &file, k).expect("imports");
            assert_eq!(params.k(), k);
            let last = (1u64 << k) - 1;
            assert_eq!(
                params.get_g()[last as usize],
                G1Affine::from(G1Affine::generator() * tau.pow_vartime([last]))
            );
            assert_eq!(params.s_g2(), G2Affine::from(G2Affine::generator() * tau));
        }
    }

    #[test]
    fn every_crafted_file_is_refused_with_its_reason() {
        let tau = Fr::from(777u64);
        let good = synthetic(3, tau, Fr::ONE, Fr::ONE);
        let g1_start = 12 + 12 + 44 + 12;
        let g2_start = g1_start + 15 * 64 + 12;
        let patched = |at: usize, with: &[u8]| {
            let mut bytes = good.clone();
            bytes[at..at + with.len()].copy_from_slice(with);
            bytes
        };
        let mut duplicate = good.clone();
        duplicate[8..12].copy_from_slice(&4u32.to_le_bytes());
        duplicate.extend_from_slice(&good[g1_start - 12..g2_start - 12]);
        let mut q = BN254_Q_LE;
        q[0] ^= 1;
        let cases: Vec<(&str, Vec<u8>, u32, &str)> = vec![
            (
                "scaled",
                synthetic(3, tau, Fr::from(5u64), Fr::from(5u64)),
                3,
                "not the generator",
            ),
            (
                "tau-one",
                synthetic(3, Fr::ONE, Fr::ONE, Fr::ONE),
                3,
                "nobody contributed",
            ),
            (
                "identity",
                patched(g1_start + 2 * 64, &[0; 64]),
                3,
                "point 2 of section 2",
            ),
            (
                "above-p",
                patched(g1_start + 64, &[0xff; 32]),
                3,
                "point 1 of section 2",
            ),
            (
                "other-tau-g2",
                patched(
                    g2_start + 128,
                    &g2_bytes(&G2Affine::from(G2Affine::generator() * (tau + Fr::ONE))),
                ),
                3,
                "pairing check failed",
            ),
            (
                "tau-g2-outside",
                patched(
                    g2_start + 128,
                    &g2_bytes(&twist_point_outside_the_subgroup()),
                ),
                3,
                "point 1 of section 3",
            ),
            (
                "sections",
                patched(8, &1_000u32.to_le_bytes()),
                3,
                "claims 1000 sections",
            ),
            (
                "huge-section",
                patched(g1_start - 8, &u64::MAX.to_le_bytes()),
                3,
                "truncated",
            ),
            ("duplicate", duplicate, 3, "two sections 2"),
            ("version", patched(4, &2u32.to_le_bytes()), 3, "version 2"),
            ("field", patched(12 + 12 + 4, &q), 3, "not over BN254"),
            (
                "power",
                patched(12 + 12 + 36, &29u32.to_le_bytes()),
                3,
                "claims power 29",
            ),
            (
                "power-size",
                patched(12 + 12 + 36, &4u32.to_le_bytes()),
                3,
                "its power needs",
            ),
            ("k-zero", good.clone(), 0, "between 1 and 3"),
            ("k-big", good.clone(), 23, "up to 2^22 rows"),
        ];
        for (name, bytes, k, expected) in cases {
            let error = import_bytes(name, &bytes, k)
                .err()
                .unwrap_or_else(|| panic!("{name} accepted"));
            assert!(error.contains(expected), "{name}: {error}");
        }
    }
}
