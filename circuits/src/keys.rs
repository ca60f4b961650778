//! Proving and verifying keys, derived deterministically and cached on disk.
//!
//! Keygen runs the circuit's layout on its example witness. The verifying key names the
//! keys: the [key id](key_id) hashes it. (The market's circuit id is derived from the EVM
//! verifier compiled from this key: see [`crate::verifier`].)
//!
//! Trust in the caches:
//! - A cached **verifying key** is read only when it was written by this very build: its
//!   record names the [build](BUILD) (a hash of this crate's source, the protocol crate's
//!   and the lockfile that pins halo2, made by `build.rs`), the circuit, the key id and
//!   the file's checksum, and the key read back must hash to that key id. A key written
//!   by another build — another circuit version, another halo2 — is made again from the
//!   layout, as is a truncated or altered file (one checksum covers the key, the column
//!   counts and the break points). Computing it commits to every fixed column: 0.2 to
//!   0.7 s per circuit here, most of a node's start. A proving key's first build lays the
//!   circuit out anew; a key id other than the cached verifying key's means that cache
//!   was stale after all (code its build name does not cover, such as a patched
//!   dependency): it is rewritten and the load fails, naming it.
//! - A cached **proving key** is used only when its file's checksum and the key id it
//!   was made for both match the verifying key's; anything else is rebuilt.
//!
//! Layout: `cache_dir/keys/<srs fingerprint>/<circuit>/{vk.bin, vk.json, pk.bin, meta.json}`.

use std::fs;
use std::io::Write;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use halo2_base::gates::circuit::builder::BaseCircuitBuilder;
use halo2_base::gates::circuit::{BaseCircuitParams, CircuitBuilderStage};
use halo2_base::gates::flex_gate::MultiPhaseThreadBreakPoints;
use halo2_base::halo2_proofs::SerdeFormat;
use halo2_base::halo2_proofs::halo2curves::bn256::{Bn256, Fr, G1Affine};
use halo2_base::halo2_proofs::halo2curves::ff::PrimeField;
use halo2_base::halo2_proofs::plonk::{ProvingKey, VerifyingKey, keygen_pk, keygen_vk};
use halo2_base::halo2_proofs::poly::kzg::commitment::ParamsKZG;
use provernet_protocol::primitives::keccak256_concat;
use provernet_protocol::{Hash32, keccak256};
use serde::{Deserialize, Serialize};

use crate::circuits::Circuit;
use crate::error::CircuitError;

/// Rows halo2 reserves at the bottom of every column (blinding and the last-row gate).
pub(crate) const MINIMUM_ROWS: usize = 9;

/// Domain tag of key ids (its text predates the name, and stays: caches are keyed by it).
const CIRCUIT_ID_TAG: &[u8] = b"provernet/circuit-id/v1";

/// The key id: keccak256 of a tag and the verifying key's transcript representation
/// (a hash of the pinned key: domain, constraint system, fixed and permutation
/// commitments). It names the keys and their caches; the market's circuit id is
/// [`crate::verifier::Verifier::circuit_id`].
pub fn key_id(vk: &VerifyingKey<G1Affine>) -> Hash32 {
    Hash32(keccak256_concat(&[
        CIRCUIT_ID_TAG,
        vk.transcript_repr().to_repr().as_ref(),
    ]))
}

/// Everything needed to prove and verify one circuit: its verifying keys (shared with the
/// engine's, which a node that verifies only holds alone) and the proving key. It reads
/// as its [`VerifyingKeys`] (`keys.params`, `keys.vk`, …).
#[derive(Debug)]
pub struct CircuitKeys {
    /// What verifying needs.
    pub verifying: Arc<VerifyingKeys>,
    /// The proving key.
    pub pk: ProvingKey<G1Affine>,
}

impl Deref for CircuitKeys {
    type Target = VerifyingKeys;

    fn deref(&self) -> &VerifyingKeys {
        &self.verifying
    }
}

/// Everything needed to verify one circuit's proofs and to generate its EVM verifier: no
/// proving key (a node that does not prove a circuit never reads its ~22 MB).
#[derive(Debug)]
pub struct VerifyingKeys {
    /// The circuit.
    pub circuit: Circuit,
    /// The id of its verifying key ([`key_id`]).
    pub key_id: Hash32,
    /// The SRS downsized to the circuit's k.
    pub params: ParamsKZG<Bn256>,
    /// The verifying key.
    pub vk: VerifyingKey<G1Affine>,
    /// Column counts and lookup bits the keys were made with: a cached proving key is
    /// read with them.
    pub config: BaseCircuitParams,
    /// Where the layout breaks between columns; proving must reuse them.
    pub break_points: MultiPhaseThreadBreakPoints,
}

/// The build that cached verifying keys must come from: see the [module](self) docs.
pub const BUILD: &str = env!("PROVERNET_CIRCUITS_BUILD");

/// The circuit's verifying keys, from its layout alone: no proving key is read or built,
/// and no cache is read or written.
pub fn verifying(
    circuit: Circuit,
    params: ParamsKZG<Bn256>,
) -> Result<VerifyingKeys, CircuitError> {
    Ok(layout(circuit, &params)?.into_verifying(circuit, params))
}

/// The circuit's verifying keys from `dir`'s cache when this [build](BUILD) wrote them
/// there, else from its layout, then cached.
pub fn load_or_build_verifying(
    circuit: Circuit,
    params: ParamsKZG<Bn256>,
    dir: &Path,
) -> Result<VerifyingKeys, CircuitError> {
    let dir = dir.join(circuit.name());
    if let Some((vk, meta)) = load_cached_vk(&dir, circuit) {
        return Ok(VerifyingKeys {
            circuit,
            key_id: key_id(&vk),
            params,
            vk,
            config: meta.config,
            break_points: meta.break_points,
        });
    }
    let keys = verifying(circuit, params)?;
    // A cache that cannot be written costs the next start time, not this one its keys.
    if let Err(error) = store_vk(&dir, &keys) {
        tracing::warn!(target: "circuits::keys", %error, "cannot cache the verifying key");
    }
    Ok(keys)
}

/// The record beside a cached verifying key.
#[derive(Serialize, Deserialize)]
struct VkMeta {
    circuit: String,
    /// The [`BUILD`] that wrote it.
    build: String,
    key_id: String,
    /// [`vk_checksum`] of the key, the config and the break points.
    keccak: String,
    config: BaseCircuitParams,
    break_points: MultiPhaseThreadBreakPoints,
}

/// keccak256 over the key's bytes, then its config and break points as JSON: all that a
/// cached verifying key's record gives is under it.
fn vk_checksum(
    bytes: &[u8],
    config: &BaseCircuitParams,
    break_points: &MultiPhaseThreadBreakPoints,
) -> String {
    let layout = serde_json::to_vec(&(config, break_points)).unwrap_or_default();
    Hash32(keccak256_concat(&[bytes, &layout])).to_string()
}

fn load_cached_vk(dir: &Path, circuit: Circuit) -> Option<(VerifyingKey<G1Affine>, VkMeta)> {
    let meta: VkMeta = serde_json::from_slice(&fs::read(dir.join("vk.json")).ok()?).ok()?;
    if meta.circuit != circuit.name() || meta.build != BUILD {
        tracing::info!(target: "circuits::keys", dir = %dir.display(), "the cached verifying key is another build's; making it again");
        return None;
    }
    let bytes = fs::read(dir.join("vk.bin")).ok()?;
    if vk_checksum(&bytes, &meta.config, &meta.break_points) != meta.keccak {
        tracing::warn!(target: "circuits::keys", dir = %dir.display(), "a cached verifying key fails its checksum; making it again");
        return None;
    }
    let vk = VerifyingKey::<G1Affine>::read::<_, BaseCircuitBuilder<Fr>>(
        &mut bytes.as_slice(),
        SerdeFormat::RawBytes,
        meta.config.clone(),
    )
    .ok()?;
    (key_id(&vk).to_string() == meta.key_id).then_some((vk, meta))
}

fn store_vk(dir: &Path, keys: &VerifyingKeys) -> Result<(), CircuitError> {
    let bytes = keys.vk.to_bytes(SerdeFormat::RawBytes);
    let meta = VkMeta {
        circuit: keys.circuit.name().to_owned(),
        build: BUILD.to_owned(),
        key_id: keys.key_id.to_string(),
        keccak: vk_checksum(&bytes, &keys.config, &keys.break_points),
        config: keys.config.clone(),
        break_points: keys.break_points.clone(),
    };
    // The key first: a record is never beside a key it does not describe for long, and
    // a mismatch reads as a miss.
    write_atomic(&dir.join("vk.bin"), &bytes)?;
    let meta = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    write_atomic(&dir.join("vk.json"), &meta)
}

/// The circuit's keys with `verifying` already made: the proving key is read from
/// `dir`'s cache when it holds one for `verifying`'s key id (no second layout), else
/// built and cached as [`load_or_build`] does.
pub fn load_or_build_with(
    verifying: Arc<VerifyingKeys>,
    dir: &Path,
) -> Result<CircuitKeys, CircuitError> {
    let circuit = verifying.circuit;
    match load_cached_pk(
        &dir.join(circuit.name()),
        &verifying.key_id,
        &verifying.config,
    ) {
        Some(pk) => Ok(CircuitKeys { verifying, pk }),
        None => {
            let keys = load_or_build(circuit, verifying.params.clone(), dir)?;
            if keys.key_id == verifying.key_id {
                return Ok(keys);
            }
            let dir = dir.join(circuit.name());
            tracing::error!(target: "circuits::keys", dir = %dir.display(), "the cached verifying key was made by other code under this build's name: rewriting it");
            store_vk(&dir, &keys.verifying)?;
            Err(CircuitError::StaleKeyCache {
                circuit: circuit.name(),
                dir,
            })
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Meta {
    circuit: String,
    #[serde(rename = "circuit_id")]
    key_id: String,
    pk_keccak: String,
}

/// Lays the circuit out in keygen mode on its example witness.
fn keygen_builder(circuit: Circuit) -> (BaseCircuitBuilder<Fr>, BaseCircuitParams) {
    let mut builder = BaseCircuitBuilder::from_stage(CircuitBuilderStage::Keygen)
        .use_k(circuit.k() as usize)
        .use_instance_columns(1);
    circuit.example().synthesize(&mut builder);
    let config = builder.calculate_params(Some(MINIMUM_ROWS));
    (builder, config)
}

fn halo2(
    circuit: Circuit,
    action: &'static str,
) -> impl Fn(halo2_base::halo2_proofs::plonk::Error) -> CircuitError {
    move |e| CircuitError::Halo2 {
        action,
        circuit: circuit.name(),
        reason: e.to_string(),
    }
}

/// The keygen-mode layout and the verifying key, from which both paths below go on.
struct Layout {
    builder: BaseCircuitBuilder<Fr>,
    config: BaseCircuitParams,
    vk: VerifyingKey<G1Affine>,
    key_id: Hash32,
    break_points: MultiPhaseThreadBreakPoints,
}

fn layout(circuit: Circuit, params: &ParamsKZG<Bn256>) -> Result<Layout, CircuitError> {
    let (builder, config) = keygen_builder(circuit);
    let vk = keygen_vk(params, &builder).map_err(halo2(circuit, "generate the verifying key"))?;
    let key_id = key_id(&vk);
    let break_points = builder.break_points();
    Ok(Layout {
        builder,
        config,
        vk,
        key_id,
        break_points,
    })
}

impl Layout {
    fn into_verifying(self, circuit: Circuit, params: ParamsKZG<Bn256>) -> VerifyingKeys {
        let Self {
            config,
            vk,
            key_id,
            break_points,
            ..
        } = self;
        VerifyingKeys {
            circuit,
            key_id,
            params,
            vk,
            config,
            break_points,
        }
    }

    fn into_keys(
        self,
        circuit: Circuit,
        params: ParamsKZG<Bn256>,
        pk: ProvingKey<G1Affine>,
    ) -> CircuitKeys {
        CircuitKeys {
            verifying: Arc::new(self.into_verifying(circuit, params)),
            pk,
        }
    }

    fn keygen_pk(
        &self,
        circuit: Circuit,
        params: &ParamsKZG<Bn256>,
    ) -> Result<ProvingKey<G1Affine>, CircuitError> {
        keygen_pk(params, self.vk.clone(), &self.builder)
            .map_err(halo2(circuit, "generate the proving key"))
    }
}

/// Builds the circuit's keys from scratch (no cache).
pub fn build(circuit: Circuit, params: ParamsKZG<Bn256>) -> Result<CircuitKeys, CircuitError> {
    let layout = layout(circuit, &params)?;
    let pk = layout.keygen_pk(circuit, &params)?;
    Ok(layout.into_keys(circuit, params, pk))
}

/// Loads the circuit's keys from `dir` or builds (and caches) them.
pub fn load_or_build(
    circuit: Circuit,
    params: ParamsKZG<Bn256>,
    dir: &Path,
) -> Result<CircuitKeys, CircuitError> {
    let layout = layout(circuit, &params)?;
    let dir = dir.join(circuit.name());
    let pk = match load_cached_pk(&dir, &layout.key_id, &layout.config) {
        Some(pk) => pk,
        None => {
            let pk = layout.keygen_pk(circuit, &params)?;
            store_pk(&dir, circuit, &layout.key_id, &pk)?;
            pk
        }
    };
    Ok(layout.into_keys(circuit, params, pk))
}

fn load_cached_pk(
    dir: &Path,
    id: &Hash32,
    config: &BaseCircuitParams,
) -> Option<ProvingKey<G1Affine>> {
    let meta: Meta = serde_json::from_slice(&fs::read(dir.join("meta.json")).ok()?).ok()?;
    if meta.key_id != id.to_string() {
        tracing::info!(target: "circuits::keys", dir = %dir.display(), "cached keys are for another circuit version; rebuilding");
        return None;
    }
    let bytes = fs::read(dir.join("pk.bin")).ok()?;
    if Hash32(keccak256(&bytes)).to_string() != meta.pk_keccak {
        tracing::warn!(target: "circuits::keys", dir = %dir.display(), "cached proving key fails its checksum; rebuilding");
        return None;
    }
    let pk = ProvingKey::<G1Affine>::read::<_, BaseCircuitBuilder<Fr>>(
        &mut bytes.as_slice(),
        SerdeFormat::RawBytes,
        config.clone(),
    )
    .ok()?;
    (key_id(pk.get_vk()) == *id).then_some(pk)
}

fn store_pk(
    dir: &Path,
    circuit: Circuit,
    id: &Hash32,
    pk: &ProvingKey<G1Affine>,
) -> Result<(), CircuitError> {
    let bytes = pk.to_bytes(SerdeFormat::RawBytes);
    let meta = Meta {
        circuit: circuit.name().to_owned(),
        key_id: id.to_string(),
        pk_keccak: Hash32(keccak256(&bytes)).to_string(),
    };
    write_atomic(&dir.join("pk.bin"), &bytes)?;
    let meta = serde_json::to_vec_pretty(&meta).unwrap_or_default();
    write_atomic(&dir.join("meta.json"), &meta)
}

/// Writes `bytes` to `path` through a temporary file and a rename, so readers never see
/// half a file.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CircuitError> {
    let dir = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    fs::create_dir_all(&dir).map_err(|e| CircuitError::io("creating", &dir, e))?;
    // Unique per process and per call, so concurrent writers never share a temporary.
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let tmp = path.with_extension(format!(
        "tmp.{}.{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let mut file = fs::File::create(&tmp).map_err(|e| CircuitError::io("creating", &tmp, e))?;
    file.write_all(bytes)
        .map_err(|e| CircuitError::io("writing", &tmp, e))?;
    file.sync_all()
        .map_err(|e| CircuitError::io("syncing", &tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| CircuitError::io("renaming into", path, e))
}
