//! The prover tools as a user runs them: example → prove → verify → calldata → export.

use std::path::PathBuf;
use std::process::Output;

fn provernet(args: &[&str]) -> Output {
    // Shares the key cache with the circuits crate's tests (same target directory).
    crate::support::provernet_command(args)
        .output()
        .expect("binary runs")
}

fn ok(args: &[&str]) -> String {
    let output = provernet(args);
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

fn fails(args: &[&str]) -> String {
    let output = provernet(args);
    assert_eq!(output.status.code(), Some(1), "{args:?} should fail");
    String::from_utf8(output.stderr).expect("utf-8")
}

fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("workdir");
    dir
}

#[test]
fn prove_verify_and_export_from_the_command_line() {
    let dir = workdir("prove");
    let path = |name: &str| dir.join(name).to_string_lossy().into_owned();

    let list = ok(&["circuits", "list"]);
    for name in [
        "poseidon-chain-12",
        "poseidon-chain-16",
        "merkle-membership",
    ] {
        assert!(list.contains(name), "{list}");
    }
    let example = ok(&["circuits", "example", "poseidon-chain-12"]);
    std::fs::write(path("witness.json"), &example).expect("write witness");

    ok(&[
        "prove",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--input",
        &path("witness.json"),
        "--out",
        &path("proof.json"),
    ]);
    let verified = ok(&[
        "verify",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--proof",
        &path("proof.json"),
    ]);
    assert!(verified.starts_with("valid"), "{verified}");

    // Tampering with the claimed digest is caught.
    let mut proof: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("proof.json")).expect("read"))
            .expect("json");
    proof["public_inputs"][0] = serde_json::json!(format!("0x{}", "00".repeat(31) + "2a"));
    std::fs::write(path("tampered.json"), proof.to_string()).expect("write");
    let error = fails(&[
        "verify",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--proof",
        &path("tampered.json"),
    ]);
    assert!(error.contains("does not verify"), "{error}");
    // As is a proof presented for another circuit, and a missing SRS choice.
    let error = fails(&[
        "verify",
        "--dev-srs",
        "--circuit",
        "merkle-membership",
        "--proof",
        &path("proof.json"),
    ]);
    assert!(error.contains("is for poseidon-chain-12"), "{error}");
    let error = fails(&[
        "verify",
        "--circuit",
        "poseidon-chain-12",
        "--proof",
        &path("proof.json"),
    ]);
    assert!(error.contains("--dev-srs"), "{error}");

    let calldata = ok(&["circuits", "calldata", "--proof", &path("proof.json")]);
    assert!(
        calldata.starts_with("0x") && calldata.trim().len() > 2 + 64 * 2,
        "{calldata}"
    );

    let out = path("verifier");
    ok(&[
        "circuits",
        "export-verifier",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--out",
        &out,
    ]);
    for file in [
        "Halo2Verifier.sol",
        "Halo2Verifier.bin",
        "Halo2Verifier.runtime.bin",
        "example-proof.json",
        "example-calldata.hex",
    ] {
        assert!(dir.join("verifier").join(file).exists(), "{file} written");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_witness_files_are_clear_errors() {
    let dir = workdir("bad");
    let witness = dir.join("w.json");
    std::fs::write(&witness, r#"{"seed": "-5"}"#).expect("write");
    let out = dir.join("p.json");
    let args = [
        "prove",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--input",
        witness.to_str().expect("utf-8"),
        "--out",
        out.to_str().expect("utf-8"),
    ];
    let error = fails(&args);
    assert!(error.contains("`seed` is out of range"), "{error}");
    assert!(!out.exists(), "no proof written");
    let missing = [
        "prove",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--input",
        "/nonexistent/w.json",
        "--out",
        out.to_str().expect("utf-8"),
    ];
    assert!(fails(&missing).contains("reading witness"));
    let _ = std::fs::remove_dir_all(dir);
}
