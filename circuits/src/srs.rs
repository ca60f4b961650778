//! The structured reference string (KZG parameters over BN254).
//!
//! Two sources: a real SRS read from a file (from a powers-of-tau ceremony, in halo2's
//! `ParamsKZG` format), and a **dev SRS** generated from a fixed, public seed. Anyone
//! knowing the seed knows the toxic waste and can forge proofs, so the dev SRS exists only
//! for local testnets and tests, must be asked for explicitly, and its cache file is named
//! `INSECURE`.
//!
//! Parameters are loaded once at [`MAX_K`] and downsized per circuit, so every circuit's
//! keys derive from the same SRS and its fingerprint.

use std::fs;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::Bn256;
use halo2_base::halo2_proofs::poly::commitment::Params;
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use provernet_protocol::{Hash32, keccak256};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;

use crate::error::CircuitError;

/// The largest circuit size this build needs (`poseidon-chain-16`).
pub const MAX_K: u32 = 16;

/// The largest SRS file accepted (about 537 MB); larger ones must be downsized first.
pub const MAX_FILE_K: u32 = 22;

/// The dev SRS's fingerprint (keccak256 of its file). A file with this hash, or any file
/// of the dev seed's powers ([`is_dev`]), is treated as insecure.
pub const DEV_FINGERPRINT: Hash32 = Hash32([
    0x12, 0xf6, 0x0a, 0x3f, 0x74, 0x1e, 0xab, 0x28, 0x1c, 0x8a, 0x0d, 0x13, 0x8b, 0x5b, 0x9e, 0x1a,
    0x91, 0x12, 0x1c, 0x7a, 0x52, 0x90, 0x6b, 0xc4, 0x1f, 0x16, 0xb4, 0x87, 0x83, 0x0c, 0x8b, 0x5a,
]);

/// The public seed of the dev SRS. Public on purpose: the dev SRS is insecure.
pub const DEV_SEED: [u8; 32] = *b"provernet dev SRS: INSECURE seed";

/// Where the SRS comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SrsSource {
    /// Generated from [`DEV_SEED`]: for local testnets and tests only.
    DevInsecure,
    /// A `ParamsKZG<Bn256>` file with at least `2^MAX_K` points.
    File(PathBuf),
}

impl SrsSource {
    /// The source a command line asks for: a file, or the dev SRS only when `dev_allowed`
    /// (dev/testnet mode). Refuses to fall back silently to the insecure one.
    pub fn choose(file: Option<PathBuf>, dev_allowed: bool) -> Result<Self, CircuitError> {
        match (file, dev_allowed) {
            (Some(path), _) => Ok(Self::File(path)),
            (None, true) => Ok(Self::DevInsecure),
            (None, false) => Err(CircuitError::DevSrsNotAllowed),
        }
    }
}

/// Loaded parameters at [`MAX_K`] and their fingerprint.
#[derive(Debug)]
pub struct Srs {
    params: ParamsKZG<Bn256>,
    fingerprint: Hash32,
    insecure: bool,
    cache_dir: PathBuf,
}

impl Srs {
    /// Loads the SRS. The dev SRS is generated on first use and cached in
    /// `cache_dir/srs/`; a cached file that fails its checksum is regenerated.
    pub fn load(source: &SrsSource, cache_dir: &Path) -> Result<Self, CircuitError> {
        match source {
            SrsSource::File(path) => {
                // Look at the size before reading: the file is read whole.
                let len = fs::metadata(path)
                    .map_err(|e| CircuitError::io("reading SRS", path, e))?
                    .len();
                if len > params_file_len(MAX_FILE_K) {
                    return Err(CircuitError::Srs {
                        path: path.clone(),
                        reason: format!(
                            "{len} bytes is more than an SRS of 2^{MAX_FILE_K} points; this build needs \
                             2^{MAX_K}: downsize the file first"
                        ),
                    });
                }
                let bytes = fs::read(path).map_err(|e| CircuitError::io("reading SRS", path, e))?;
                let params = read_params(&bytes, SerdeFormat::RawBytes)
                    .and_then(|params| {
                        if params.k() < MAX_K {
                            Err(format!(
                                "has 2^{} points, circuits need 2^{MAX_K}",
                                params.k()
                            ))
                        } else {
                            Ok(params)
                        }
                    })
                    .map_err(|reason| CircuitError::Srs {
                        path: path.clone(),
                        reason,
                    })?;
                let fingerprint = Hash32(keccak256(&bytes));
                let insecure = fingerprint == DEV_FINGERPRINT || is_dev(&params);
                if insecure {
                    tracing::warn!(
                        target: "circuits::srs",
                        path = %path.display(),
                        "this file is the INSECURE dev SRS (public seed): proofs can be forged"
                    );
                }
                Ok(Self {
                    params,
                    fingerprint,
                    insecure,
                    cache_dir: cache_dir.to_path_buf(),
                })
            }
            SrsSource::DevInsecure => {
                tracing::warn!(
                    target: "circuits::srs",
                    "using the INSECURE dev SRS (public seed): proofs can be forged; local testnets only"
                );
                let dir = cache_dir.join("srs");
                let path = dir.join(format!("dev-INSECURE-k{MAX_K}.srs"));
                let (params, fingerprint) = match read_cached(&path, MAX_K) {
                    Some(found) => found,
                    None => {
                        let params =
                            ParamsKZG::<Bn256>::setup(MAX_K, ChaCha20Rng::from_seed(DEV_SEED));
                        let fingerprint = write_cached(&path, &params)?;
                        (params, fingerprint)
                    }
                };
                Ok(Self {
                    params,
                    fingerprint,
                    insecure: true,
                    cache_dir: cache_dir.to_path_buf(),
                })
            }
        }
    }

    /// The parameters for circuits of `2^k` rows. Downsizing recomputes the Lagrange
    /// basis with an FFT over curve points ([`crate::lagrange`]: seconds to tens of
    /// seconds), so the result is cached next to the SRS, checksummed like it.
    pub fn for_k(&self, k: u32) -> Result<ParamsKZG<Bn256>, CircuitError> {
        if k >= self.params.k() {
            return Ok(self.params.clone());
        }
        let path = self
            .cache_dir
            .join("srs")
            .join(format!("{}-k{k}.srs", self.fingerprint));
        if let Some((params, _)) = read_cached(&path, k) {
            return Ok(params);
        }
        let params = crate::lagrange::downsize(&self.params, k);
        write_cached(&path, &params)?;
        Ok(params)
    }

    /// keccak256 of the serialized parameters: keys and circuit ids depend on it.
    pub fn fingerprint(&self) -> Hash32 {
        self.fingerprint
    }

    /// Whether this is the dev SRS (asked for, or a file with its hash).
    pub fn is_insecure(&self) -> bool {
        self.insecure
    }
}

/// Whether `params` are the dev SRS's powers, of any size or encoding: its `τ·G2` is the
/// dev seed's τ (halo2's `setup` draws τ first from the seeded generator).
pub fn is_dev(params: &ParamsKZG<Bn256>) -> bool {
    use halo2_base::halo2_proofs::halo2curves::bn256::{Fr, G2Affine};
    use halo2_base::halo2_proofs::halo2curves::ff::Field;
    let tau = Fr::random(ChaCha20Rng::from_seed(DEV_SEED));
    params.s_g2() == G2Affine::from(G2Affine::generator() * tau)
}

/// Reads parameters of size `2^k` cached at `path`, if present, intact (checksum in
/// `path.keccak`) and of that size; otherwise logs why and returns `None`.
fn read_cached(path: &Path, k: u32) -> Option<(ParamsKZG<Bn256>, Hash32)> {
    let bytes = fs::read(path).ok()?;
    let fingerprint = Hash32(keccak256(&bytes));
    let sum = fs::read_to_string(checksum_path(path)).unwrap_or_default();
    match read_params(&bytes, SerdeFormat::RawBytesUnchecked) {
        Ok(params) if sum.trim() == fingerprint.to_string() && params.k() == k => {
            Some((params, fingerprint))
        }
        _ => {
            tracing::warn!(target: "circuits::srs", path = %path.display(), "cached SRS is corrupt; regenerating");
            None
        }
    }
}

/// Caches `params` at `path` with its checksum; returns the checksum (the fingerprint).
fn write_cached(path: &Path, params: &ParamsKZG<Bn256>) -> Result<Hash32, CircuitError> {
    let mut bytes = Vec::new();
    params
        .write(&mut bytes)
        .map_err(|e| CircuitError::io("serializing SRS", path, e))?;
    let fingerprint = Hash32(keccak256(&bytes));
    crate::keys::write_atomic(path, &bytes)?;
    crate::keys::write_atomic(&checksum_path(path), fingerprint.to_string().as_bytes())?;
    Ok(fingerprint)
}

fn checksum_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".keccak");
    PathBuf::from(name)
}

/// Bytes of a `ParamsKZG<Bn256>` file with `2^k` points in halo2's raw format: `k` (u32),
/// `g` and `g_lagrange` (64 bytes a point each), `g2` and `s_g2` (128 bytes each).
fn params_file_len(k: u32) -> u64 {
    4 + (1u64 << k) * 128 + 256
}

/// Largest k a BN254 SRS can have (the scalar field's 2-adicity).
const FIELD_MAX_K: u32 = 28;

/// Parses raw-format parameters. `RawBytes` checks every point is on the curve (for files
/// provernet did not write); `RawBytesUnchecked` trusts them (for its own checksummed
/// cache).
fn read_params(bytes: &[u8], format: SerdeFormat) -> Result<ParamsKZG<Bn256>, String> {
    // halo2 trusts the header: check it first, so a bad file is an error, not a panic or
    // a multi-gigabyte allocation.
    let header: [u8; 4] = bytes
        .get(..4)
        .and_then(|h| h.try_into().ok())
        .ok_or("shorter than its header")?;
    let k = u32::from_le_bytes(header);
    if k > FIELD_MAX_K {
        return Err(format!(
            "claims 2^{k} points, more than a BN254 SRS can have"
        ));
    }
    if bytes.len() as u64 != params_file_len(k) {
        return Err(format!(
            "has {} bytes, a raw SRS of 2^{k} points has {}",
            bytes.len(),
            params_file_len(k)
        ));
    }
    ParamsKZG::<Bn256>::read_custom(&mut BufReader::new(bytes), format)
        .map_err(|e| format!("not a ParamsKZG<Bn256> file: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dev_seeds_powers_are_known_at_any_size() {
        for k in [2, 5] {
            let dev = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed(DEV_SEED));
            assert!(is_dev(&dev), "k = {k}");
            let other = ParamsKZG::<Bn256>::setup(k, ChaCha20Rng::from_seed([1; 32]));
            assert!(!is_dev(&other), "k = {k}");
        }
    }
}
