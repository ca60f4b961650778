//! `provernet testnet up` as a user runs it: separate node processes on a real anvil, a
//! cheating prover, a prover killed with SIGKILL and restarted, the only watchtower cut
//! off from its peers for a while; the report must show every fault caught, every honest
//! job paid, and nothing may be left running.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn checkout() -> PathBuf {
    provernet_slashing::compile::checkout()
}

/// Whether `pid` still runs (a zombie does not).
fn running(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        stat.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

/// Runs `provernet testnet up --dir DIR` with `args` and the tests' key cache, solc and
/// anvil; returns its exit, its stderr and its report.
fn testnet_up(dir: &Path, args: &[&OsStr]) -> (std::process::ExitStatus, String, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args(["testnet", "up", "--dir"])
        .arg(dir)
        .args(args)
        .env(
            "PROVERNET_CACHE_DIR",
            PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("provernet-circuits-cache"),
        )
        .env("PROVERNET_SOLC", checkout().join("scripts/solc"))
        .env("PROVERNET_ANVIL", provernet_slashing::anvil::binary())
        .output()
        .expect("provernet runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report: Value = match std::fs::read_to_string(dir.join("report.json")) {
        Ok(text) => serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("report.json is not JSON: {e}\n{stderr}")),
        Err(e) => panic!("no report.json ({e}):\n{stderr}"),
    };
    (output.status, stderr, report)
}

/// [`testnet_up`] in `scratch`, which is kept (every node's log) when the run fails, and
/// given back (with the run's directory) when it does not.
fn testnet_up_ok(
    scratch: tempfile::TempDir,
    dir: &Path,
    args: &[&OsStr],
) -> (tempfile::TempDir, String, Value) {
    let (status, stderr, report) = testnet_up(dir, args);
    if !status.success() {
        let kept = scratch.keep();
        panic!(
            "testnet up failed (its directory is kept at {}):\n{stderr}",
            kept.display()
        );
    }
    (scratch, stderr, report)
}

#[tokio::test]
async fn a_testnet_with_a_cheater_and_a_crash_slashes_every_fault_pays_every_honest_job_and_stops_cleanly()
 {
    // Not beside another market of this process: they would share the two cores.
    let _serial = crate::support::serial().await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("net");
    let args: Vec<&OsStr> = [
        "--provers",
        "3",
        "--watchtowers",
        "1",
        "--clients",
        "1",
        "--jobs",
        "12",
        "--rate",
        "1",
        "--cheaters",
        "1",
        "--cheat",
        "invalid",
        "--cheat-rate",
        "1",
        // Circuits of 2^12 and 2^15 rows: proofs long enough that jobs overlap, so the
        // cheater (the last prover) wins some (with the default mix's 4-8-3 model, proofs
        // are so short that the first prover can win them all).
        "--circuits",
        "poseidon-chain-12,merkle-membership",
        "--crash-prover-after",
        "3",
        "--timeout",
        "150",
        // From before the first commitment to after several: the watchtower must catch
        // up on what it missed.
        "--partition",
        "8",
        "--partition-at",
        "6",
        "--partition-node",
        "watchtower-1",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let (status, stderr, report) = testnet_up(&dir, &args);
    let unpaid: Vec<&Value> = report["jobs_detail"]
        .as_array()
        .map(|jobs| jobs.iter().filter(|j| j["state"] != "paid").collect())
        .unwrap_or_default();
    if !status.success() {
        // Keep the testnet directory (every node's log) for whoever reads the failure.
        let kept = scratch.keep();
        panic!(
            "testnet up failed (its directory, with every node's log, is kept at {}):\n{stderr}\nunpaid jobs: {unpaid:#?}",
            kept.display()
        );
    }
    let jobs = &report["jobs"];
    assert_eq!(report["verdict"], "ok", "{stderr}");
    assert_eq!(jobs["submitted"], 12, "{jobs}");
    // Every job ends with a verified proof at its client: a cheated round is re-auctioned.
    assert_eq!(jobs["verified"], 12, "{jobs}");
    assert_eq!(jobs["failed"], 0, "{jobs}");
    assert_eq!(jobs["unsettled"], 0, "{jobs}");
    // Every job an honest prover delivered was claimed on chain.
    assert!(jobs["by_honest_provers"].as_u64() >= Some(1), "{jobs}");
    assert_eq!(
        jobs["by_honest_provers"], jobs["by_honest_provers_claimed"],
        "{jobs}"
    );
    // The cheater cheated at least once, and every fault it committed was slashed.
    let faults = &report["faults"];
    assert!(
        faults["invalid_proof"]["injected"].as_u64() >= Some(1),
        "{faults}"
    );
    for kind in [
        "invalid_proof",
        "withheld_proof",
        "missed_deadline",
        "equivocation",
    ] {
        assert_eq!(
            faults[kind]["injected"], faults[kind]["injected_slashed"],
            "{kind}: {faults}"
        );
    }
    assert_eq!(report["faults_missed"], serde_json::json!([]));
    assert_eq!(report["honest_provers_slashed"], 0, "{}", report["slashes"]);
    // The crash happened, to an honest prover, and it came back.
    let crashes = report["crashes"].as_array().expect("crashes");
    assert_eq!(crashes.len(), 1, "{crashes:?}");
    assert_eq!(crashes[0]["node"], "prover-1");
    let log = std::fs::read_to_string(dir.join("prover-1/node.log")).expect("log");
    assert_eq!(log.matches("node started").count(), 2, "{log}");
    // The watchtower cut off from its peers came back, and (above) still caught every
    // fault.
    let partitions = report["partitions"].as_array().expect("partitions");
    assert_eq!(partitions.len(), 1, "{partitions:?}");
    assert_eq!(partitions[0]["node"], "watchtower-1");
    assert!(
        partitions[0]["rejoined_ms"].as_u64().is_some(),
        "{partitions:?}"
    );
    // At least five node processes and anvil were started, and none is left.
    let state: Value =
        serde_json::from_slice(&std::fs::read(dir.join("testnet.json")).expect("state"))
            .expect("json");
    let processes = state["processes"].as_array().expect("processes");
    assert!(processes.len() >= 6, "{processes:?}");
    assert!(processes.iter().any(|p| p["name"] == "anvil"));
    for process in processes {
        let pid = process["pid"].as_u64().expect("pid");
        assert!(!running(pid), "{} (pid {pid}) still runs", process["name"]);
    }
    // The report's other forms were written.
    for file in ["report.txt", "latency.svg", "progress.svg"] {
        let bytes = std::fs::read(dir.join(file)).expect(file);
        assert!(bytes.len() > 500, "{file} is {} bytes", bytes.len());
    }
    let text = std::fs::read_to_string(dir.join("report.txt")).expect("report.txt");
    assert!(text.contains("verdict: ok"), "{text}");
}

#[tokio::test]
async fn a_testnet_settles_jobs_of_an_imported_model_between_separate_nodes() {
    // The digits MLP of examples/digits (scikit-learn, exported to ONNX, imported by
    // `provernet model import`): separate prover, client and watchtower processes on a
    // real anvil prove, verify, audit and pay inferences of it on the digits'
    // calibration images. A verified job's proof states the model's commitment, the
    // input's and the outputs the client computed from its own input: the client checks
    // the proof against that statement before it counts the job verified.
    let _serial = crate::support::serial().await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("net");
    let digits = checkout().join("examples/digits");
    let package = digits.join("package");
    let inputs = digits.join("calibration.json");
    let mut args: Vec<&OsStr> = [
        "--provers",
        "2",
        "--watchtowers",
        "1",
        "--clients",
        "1",
        "--jobs",
        "3",
        "--rate",
        "1",
        "--cheaters",
        "0",
        "--deadline",
        "120",
        "--timeout",
        "240",
        "--circuits",
        "model-64-32r-10-s15",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    args.extend([
        OsStr::new("--model"),
        package.as_os_str(),
        OsStr::new("--model-inputs"),
        inputs.as_os_str(),
    ]);
    let (_scratch, stderr, report) = testnet_up_ok(scratch, &dir, &args);
    let jobs = &report["jobs"];
    assert_eq!(report["verdict"], "ok", "{stderr}");
    assert_eq!(jobs["submitted"], 3, "{jobs}");
    assert_eq!(jobs["verified"], 3, "{jobs}");
    assert_eq!(jobs["by_honest_provers_claimed"], 3, "{jobs}");
    assert_eq!(report["honest_provers_slashed"], 0, "{}", report["slashes"]);
    for job in report["jobs_detail"].as_array().expect("jobs") {
        assert_eq!(job["circuit"], "model-64-32r-10-s15", "{job}");
        assert_eq!(job["state"], "paid", "{job}");
    }
    // The watchtower (sampling every leaf) audited the model's proofs and found them
    // valid: it verifies the model circuit as the client does.
    let log = std::fs::read_to_string(dir.join("watchtower-1/node.log")).expect("log");
    assert!(log.matches("result=\"valid\"").count() >= 3, "{log}");
}

/// A prover's machine slows down in the middle of a run: from 4 s into the workload
/// every proof of the first prover takes twice as long (the dev API's test-only knob,
/// which a node refuses off the dev chain). Its estimates follow from its next proof;
/// the promises it made before had room for it (`Schedule::bid`). Every job still
/// settles, none fails, and no honest prover is slashed.
#[tokio::test]
async fn a_prover_slowed_twofold_mid_run_keeps_every_promise() {
    let _serial = crate::support::serial().await;
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("net");
    let args: Vec<&OsStr> = [
        "--provers",
        "3",
        "--watchtowers",
        "1",
        "--clients",
        "1",
        "--cheaters",
        "0",
        // Above what the three provers can do on two cores for a while: queues form.
        "--jobs",
        "36",
        "--rate",
        "3",
        "--arrivals",
        "poisson",
        "--circuits",
        "poseidon-chain-12",
        "--slow-prover-at",
        "4",
        "--slowdown",
        "2",
        "--timeout",
        "200",
    ]
    .iter()
    .map(OsStr::new)
    .collect();
    let (_scratch, stderr, report) = testnet_up_ok(scratch, &dir, &args);
    let jobs = &report["jobs"];
    assert_eq!(report["verdict"], "ok", "{stderr}");
    assert_eq!(jobs["submitted"], 36, "{jobs}");
    assert_eq!(jobs["verified"], 36, "{jobs}");
    assert_eq!(jobs["failed"], 0, "{jobs}");
    assert_eq!(jobs["by_honest_provers_claimed"], 36, "{jobs}");
    assert_eq!(report["honest_provers_slashed"], 0, "{}", report["slashes"]);
    assert_eq!(report["chain"]["slashes"], 0, "{}", report["slashes"]);
    assert_eq!(report["config"]["slowdown"], 2.0, "{}", report["config"]);
    // The knob took: the node said so, and it proved after it.
    let log = std::fs::read_to_string(dir.join("prover-1/node.log")).expect("log");
    assert!(log.contains("dev: proving slowed"), "{stderr}");
    let slowed_ms = 4_000;
    let after = report["jobs_detail"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter(|j| j["prover"] == "prover-1" && j["submitted_ms"].as_u64() > Some(slowed_ms))
        .count();
    assert!(
        after >= 1,
        "prover-1 proved nothing after it slowed: {stderr}"
    );
}
