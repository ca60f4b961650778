//! What a user sees from the command line.

use std::process::{Command, Output};

fn provernet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args(args)
        .output()
        .expect("binary runs")
}

#[test]
fn help_lists_a_subcommand_for_every_role() {
    let output = provernet(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("utf-8");
    for command in [
        "node",
        "watchtower",
        "client",
        "circuits",
        "prove",
        "verify",
        "testnet",
        "economics",
    ] {
        assert!(
            help.lines()
                .any(|line| line.trim_start().starts_with(command)),
            "`{command}` missing from:\n{help}"
        );
    }
}

fn fails_saying(args: &[&str], needle: &str) {
    let output = provernet(args);
    assert_eq!(output.status.code(), Some(1), "{args:?}");
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains(needle), "{args:?}: {stderr}");
}

#[test]
fn testnet_flags_that_cannot_make_a_testnet_are_refused_by_name() {
    fails_saying(
        &["testnet", "up", "--provers", "2", "--cheaters", "2"],
        "--cheaters must leave at least one honest prover",
    );
    fails_saying(
        &[
            "testnet",
            "up",
            "--cheaters",
            "1",
            "--cheat",
            "invalid,late",
        ],
        "--cheat lists 2 modes but --cheaters is 1",
    );
    fails_saying(
        &["testnet", "up", "--circuits", "sha512"],
        "--circuits: unknown circuit `sha512`",
    );
    fails_saying(
        &[
            "testnet",
            "up",
            "--provers",
            "2",
            "--crash-prover-after",
            "3",
        ],
        "--crash-prover-after needs two honest provers",
    );
}

#[test]
fn testnet_problems_at_start_are_named_and_leave_nothing_running() {
    let scratch = tempfile::tempdir().expect("tempdir");
    let dir = scratch.path().join("net");
    let dir_arg = dir.to_str().expect("utf-8 path");
    // No anvil where it is looked for.
    fails_saying(
        &[
            "testnet",
            "up",
            "--dir",
            dir_arg,
            "--anvil",
            "/nonexistent/anvil",
        ],
        "anvil not found at /nonexistent/anvil: run scripts/setup.sh",
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("testnet.json")).expect("state file"))
            .expect("json");
    assert_eq!(state["processes"], serde_json::json!([]), "{state}");
    // A port in use.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port().to_string();
    fails_saying(
        &["testnet", "up", "--dir", dir_arg, "--base-port", &port],
        &format!("port {port} (anvil) is in use"),
    );
    // A failure once anvil runs (no usable key cache): named, and anvil is stopped.
    let output = Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args([
            "testnet",
            "up",
            "--dir",
            dir_arg,
            "--cache-dir",
            "/dev/null/cache",
        ])
        .env("PROVERNET_ANVIL", provernet_slashing::anvil::binary())
        .output()
        .expect("binary runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    // The first step that needs the cache is `provernet market deploy`, which names it.
    assert!(
        stderr.contains("market deploy") && stderr.contains("creating /dev/null/cache/srs"),
        "{stderr}"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("testnet.json")).expect("state file"))
            .expect("json");
    let processes = state["processes"].as_array().expect("processes");
    assert_eq!(processes.len(), 1, "{state}");
    assert_eq!(processes[0]["name"], "anvil");
    let pid = processes[0]["pid"].as_u64().expect("pid");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}/cmdline")).exists()
            || std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.is_empty()),
        "anvil (pid {pid}) still runs"
    );
    // A directory that is not a testnet's is never emptied.
    let other = scratch.path().join("photos");
    std::fs::create_dir_all(&other).expect("dir");
    std::fs::write(other.join("keep.jpg"), b"x").expect("file");
    fails_saying(
        &["testnet", "up", "--dir", other.to_str().expect("utf-8")],
        "exists and is not a testnet directory",
    );
    assert!(other.join("keep.jpg").exists());
    // Nothing to show or stop where no testnet was started.
    let empty = scratch.path().join("empty");
    let empty_arg = empty.to_str().expect("utf-8");
    fails_saying(&["testnet", "status", "--dir", empty_arg], "no testnet in");
    fails_saying(&["testnet", "down", "--dir", empty_arg], "no testnet in");
}

#[test]
fn economics_says_whether_cheating_pays() {
    let args = |rate: &str| {
        provernet(&[
            "economics",
            "--sample-rate",
            rate,
            "--watchtowers",
            "3",
            "--stake",
            "2",
            "--slash-per-job",
            "0.05",
            "--price",
            "0.001",
            "--prove-cost",
            "0.0005",
        ])
    };
    let output = args("0.1");
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        stdout.contains("detection probability 1-(1-p)^w   0.271000"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("cheating pays: no"), "{stdout}");
    let output = args("0");
    let stdout = String::from_utf8(output.stdout).expect("utf-8");
    assert!(
        stdout.trim_end().ends_with("cheating pays: yes"),
        "{stdout}"
    );
    let output = args("1.5");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(
        stderr.contains("--sample-rate must be between 0 and 1"),
        "{stderr}"
    );
}

#[test]
fn bad_arguments_are_usage_errors() {
    let output = provernet(&["client", "submit", "--circuit", "x"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(
        stderr.contains("--input"),
        "names the missing flag: {stderr}"
    );
    let output = provernet(&["no-such-command"]);
    assert!(!output.status.success());
}

#[test]
fn a_node_with_a_bad_config_names_the_field() {
    let dir = std::env::temp_dir().join(format!("provernet-cli-config-{}", std::process::id()));
    let output = provernet(&[
        "node",
        "--prover",
        "--dev-srs",
        "--circuit",
        "poseidon-chain-12",
        "--data-dir",
        dir.to_str().expect("utf-8"),
        "--market",
        "0x1234",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains("chain.market"), "{stderr}");

    std::fs::create_dir_all(&dir).expect("dir");
    let config = dir.join("node.toml");
    std::fs::write(&config, "[prover]\nbatch_sise = 4\n").expect("write");
    let output = provernet(&["node", "--config", config.to_str().expect("utf-8")]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains("batch_sise"), "{stderr}");

    // No Ethereum key, then no chain at the configured URL: clear errors, not a hang.
    let args = [
        "node",
        "--client",
        "--dev-srs",
        "--data-dir",
        dir.to_str().expect("utf-8"),
        "--market",
        "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "--rpc-url",
        "http://127.0.0.1:9",
    ];
    let output = Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args(args)
        .env_remove("PROVERNET_ETH_KEY")
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains("PROVERNET_ETH_KEY"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_provernet"))
        .args(args)
        .env("PROVERNET_ETH_KEY", "11".repeat(32))
        .output()
        .expect("binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
