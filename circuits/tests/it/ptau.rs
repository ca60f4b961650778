//! A public trusted setup: a powers-of-tau file made and contributed to by snarkjs (a tool
//! nobody here wrote, from npm) is imported, and a proof made with the imported SRS
//! verifies in the EVM verifier exported from it. Each broken file is refused and nothing
//! is written.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ethers::providers::{Http, Provider};
use provernet_circuits::srs::MAX_K;
use provernet_circuits::{Circuit, Prover, SrsSource, ptau};

use crate::support::{checkout, config};

fn tempdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("ptau-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create tempdir");
    dir
}

/// Runs snarkjs from the npm packages scripts/setup.sh installs.
fn snarkjs(dir: &Path, args: &[&str]) {
    let bin = checkout().join("node_modules/.bin/snarkjs");
    assert!(
        bin.exists(),
        "{} is missing: run scripts/setup.sh",
        bin.display()
    );
    let output = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run snarkjs");
    assert!(
        output.status.success(),
        "snarkjs {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A `.ptau` file of 2^`power` powers: snarkjs's new file (τ = 1) and one contribution.
fn ceremony(dir: &Path, power: u32) -> (PathBuf, PathBuf) {
    let started = Instant::now();
    snarkjs(
        dir,
        &[
            "powersoftau",
            "new",
            "bn128",
            &power.to_string(),
            "new.ptau",
        ],
    );
    snarkjs(
        dir,
        &[
            "powersoftau",
            "contribute",
            "new.ptau",
            "contributed.ptau",
            "--name=provernet test",
            "-e=entropy of the test, not secret",
        ],
    );
    eprintln!("snarkjs: 2^{power} ceremony in {:?}", started.elapsed());
    (dir.join("new.ptau"), dir.join("contributed.ptau"))
}

/// The byte offset of section `kind`'s data in a `.ptau` file.
fn section_start(bytes: &[u8], kind: u32) -> usize {
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let mut at = 12;
    for _ in 0..u32_at(8) {
        let size = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().expect("8 bytes")) as usize;
        if u32_at(at) == kind {
            return at + 12;
        }
        at += 12 + size;
    }
    panic!("no section {kind}");
}

/// Imports `file` to `out`: the error, and that nothing was written.
fn refused(file: &Path, k: u32, out: &Path) -> String {
    let error = ptau::import(file, k)
        .and_then(|params| ptau::write(&params, out))
        .expect_err("refused")
        .to_string();
    assert!(!out.exists(), "nothing written for a refused file");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snarkjs_ceremony_becomes_an_srs_whose_proofs_verify_on_chain() {
    let dir = tempdir("ceremony");
    let (uncontributed, contributed) = ceremony(&dir, MAX_K);

    let started = Instant::now();
    let params = ptau::import(&contributed, MAX_K).expect("a contributed file imports");
    let out = dir.join("srs.bin");
    let hash = ptau::write(&params, &out).expect("written");
    eprintln!("import of a 2^{MAX_K} .ptau: {:?}", started.elapsed());

    // The node loads it like any SRS file; its fingerprint is the hash import printed.
    let prover = Prover::new(&config(SrsSource::File(out.clone()), dir.join("cache")))
        .expect("the imported SRS loads");
    assert_eq!(prover.srs().fingerprint(), hash);
    assert!(!prover.srs().is_insecure());
    let circuit = Circuit::PoseidonChain12;
    let witness = circuit
        .parse_witness(&circuit.example_witness())
        .expect("example");
    let proof = prover
        .prove(&witness)
        .expect("proves with the imported SRS");
    prover
        .verify(circuit, &proof.public_inputs, &proof.proof)
        .expect("verifies natively");
    // Keys of another SRS do not verify it: the setup is really this one.
    assert!(
        crate::support::prover()
            .verify(circuit, &proof.public_inputs, &proof.proof)
            .is_err(),
        "a proof of the imported SRS fails under the dev SRS's keys"
    );

    let anvil = crate::anvil::start_anvil();
    let provider = Provider::<Http>::try_from(anvil.endpoint()).expect("provider");
    crate::anvil::check_on_chain(&provider, anvil.addresses()[0], &prover, circuit, &proof).await;

    // Bad input, each refused with a reason, nothing written.
    let bad_out = dir.join("bad.srs");
    let error = refused(&uncontributed, MAX_K, &bad_out);
    assert!(error.contains("nobody contributed"), "{error}");
    let error = refused(&contributed, MAX_K + 1, &bad_out);
    assert!(error.contains("--k must be between 1 and 16"), "{error}");

    let bytes = std::fs::read(&contributed).expect("read");
    let g1 = section_start(&bytes, 2);
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    };

    let truncated = write("truncated.ptau", &bytes[..bytes.len() / 2]);
    let error = refused(&truncated, MAX_K, &bad_out);
    assert!(error.contains("truncated"), "{error}");

    let mut off_curve = bytes.clone();
    off_curve[g1 + 5 * 64 + 3] ^= 1;
    let error = refused(&write("off-curve.ptau", &off_curve), MAX_K, &bad_out);
    assert!(
        error.contains("point 5 of section 2 is not a point"),
        "{error}"
    );

    // Two powers swapped: every point is on the curve, but they are not successive powers.
    let mut swapped = bytes.clone();
    let (p3, p4) = (g1 + 3 * 64, g1 + 4 * 64);
    let third: Vec<u8> = swapped[p3..p3 + 64].to_vec();
    swapped.copy_within(p4..p4 + 64, p3);
    swapped[p4..p4 + 64].copy_from_slice(&third);
    let error = refused(&write("swapped.ptau", &swapped), MAX_K, &bad_out);
    assert!(error.contains("pairing check failed"), "{error}");

    // The last power this SRS keeps, replaced by τ·G1: a point of the curve, the wrong one.
    let last = g1 + ((1 << MAX_K) - 1) * 64;
    let mut tampered = bytes.clone();
    tampered[last..last + 64].copy_from_slice(&bytes[g1 + 64..g1 + 128]);
    let error = refused(&write("tampered.ptau", &tampered), MAX_K, &bad_out);
    assert!(error.contains("pairing check failed"), "{error}");

    let mut not_ptau = bytes.clone();
    not_ptau[..4].copy_from_slice(b"zkey");
    let error = refused(&write("not.ptau", &not_ptau), MAX_K, &bad_out);
    assert!(error.contains("not a .ptau file"), "{error}");
}

#[test]
fn the_dev_srs_is_known_by_its_hash_under_any_name() {
    use provernet_circuits::srs::DEV_FINGERPRINT;
    let dev = crate::support::prover();
    assert_eq!(dev.srs().fingerprint(), DEV_FINGERPRINT);
    assert!(dev.srs().is_insecure());
    // Its file copied and given as a real SRS is still the dev SRS.
    let dir = tempdir("dev-copy");
    let copy = dir.join("ceremony.srs");
    std::fs::copy(
        crate::support::cache_dir().join("srs/dev-INSECURE-k16.srs"),
        &copy,
    )
    .expect("copy");
    let srs = provernet_circuits::srs::Srs::load(&SrsSource::File(copy), &dir).expect("loads");
    assert_eq!(srs.fingerprint(), DEV_FINGERPRINT);
    assert!(srs.is_insecure(), "known by its hash");
}
