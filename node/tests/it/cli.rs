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

#[test]
fn a_planned_command_fails_and_names_its_issue() {
    let output = provernet(&["testnet", "up"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).expect("utf-8");
    assert!(
        stderr.contains("`provernet testnet` is not implemented"),
        "{stderr}"
    );
    assert!(stderr.contains("issue #7"), "{stderr}");
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
            "--slash-fraction",
            "0.5",
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
