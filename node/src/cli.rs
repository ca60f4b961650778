//! Helpers of the command line.

use std::fmt;

/// A subcommand whose implementation has not landed yet.
#[derive(Debug, Clone, Copy)]
pub struct Planned {
    command: &'static str,
    issue: u32,
}

impl Planned {
    /// `provernet <command>` arrives with issue `issue`.
    pub fn new(command: &'static str, issue: u32) -> Self {
        Self { command, issue }
    }
}

impl fmt::Display for Planned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "`provernet {}` is not implemented in this version; it is planned in issue #{} \
             (see docs/architecture.md for what each crate will own)",
            self.command, self.issue
        )
    }
}
