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
