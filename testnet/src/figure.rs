//! One benchmark figure, as a benchmark records it for `provernet bench report`.
//!
//! Every benchmark appends its figures, one JSON object a line, to the file named by
//! `PROVERNET_BENCH_FIGURES` (nothing is written when it is unset); `scripts/bench.sh`
//! sets it, then `provernet bench report` merges the lines into `bench/results.json`,
//! the table in docs/benchmarks.md and the cost-growth plot.
//!
//! This file uses the standard library only: the benchmarks of crates below this one
//! include it with `#[path]` rather than depending on the testnet crate.

use std::fmt::Write as _;
use std::io::Write as _;

/// The environment variable naming the figures file.
pub const FIGURES_ENV: &str = "PROVERNET_BENCH_FIGURES";

/// What a figure must reach.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// At most this value.
    AtMost(f64),
    /// At least this value.
    AtLeast(f64),
}

/// One measured figure.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    /// A stable, unique name (`gas.commit_claim_per_job.batch64`).
    pub name: String,
    /// What it is, in words, for the table.
    pub title: String,
    /// The value.
    pub value: f64,
    /// Its unit (`gas`, `ms`, `msg/s`, `ratio`, `%`).
    pub unit: String,
    /// The target, if the issue set one.
    pub target: Option<Target>,
    /// The command that reproduces it.
    pub command: String,
    /// How it was measured, or why it is what it is.
    pub note: Option<String>,
    /// A point of a cost-growth series: the series name and its x value.
    pub series: Option<(String, f64)>,
}

impl Figure {
    /// A figure without a target.
    pub fn new(
        name: impl Into<String>,
        title: impl Into<String>,
        value: f64,
        unit: impl Into<String>,
        command: impl Into<String>,
    ) -> Self {
        Self {
            name: name.into(),
            title: title.into(),
            value,
            unit: unit.into(),
            target: None,
            command: command.into(),
            note: None,
            series: None,
        }
    }

    /// With a target of at most `value`.
    #[must_use]
    pub fn at_most(mut self, value: f64) -> Self {
        self.target = Some(Target::AtMost(value));
        self
    }

    /// With a target of at least `value`.
    #[must_use]
    pub fn at_least(mut self, value: f64) -> Self {
        self.target = Some(Target::AtLeast(value));
        self
    }

    /// With a note.
    #[must_use]
    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    /// As the point at `x` of the cost-growth series `series`.
    #[must_use]
    pub fn series(mut self, series: impl Into<String>, x: f64) -> Self {
        self.series = Some((series.into(), x));
        self
    }

    /// Whether the target is reached; `None` without a target.
    pub fn pass(&self) -> Option<bool> {
        self.target.map(|target| match target {
            Target::AtMost(t) => self.value <= t,
            Target::AtLeast(t) => self.value >= t,
        })
    }

    /// The figure as one line of JSON.
    pub fn to_json(&self) -> String {
        let mut out = String::from("{");
        let _ = write!(out, "\"name\":{}", quote(&self.name));
        let _ = write!(out, ",\"title\":{}", quote(&self.title));
        let _ = write!(out, ",\"value\":{}", number(self.value));
        let _ = write!(out, ",\"unit\":{}", quote(&self.unit));
        match self.target {
            Some(Target::AtMost(t)) => {
                let _ = write!(out, ",\"target\":{{\"at_most\":{}}}", number(t));
            }
            Some(Target::AtLeast(t)) => {
                let _ = write!(out, ",\"target\":{{\"at_least\":{}}}", number(t));
            }
            None => out.push_str(",\"target\":null"),
        }
        match self.pass() {
            Some(pass) => {
                let _ = write!(out, ",\"pass\":{pass}");
            }
            None => out.push_str(",\"pass\":null"),
        }
        let _ = write!(out, ",\"command\":{}", quote(&self.command));
        match &self.note {
            Some(note) => {
                let _ = write!(out, ",\"note\":{}", quote(note));
            }
            None => out.push_str(",\"note\":null"),
        }
        match &self.series {
            Some((series, x)) => {
                let _ = write!(
                    out,
                    ",\"series\":{{\"name\":{},\"x\":{}}}",
                    quote(series),
                    number(*x)
                );
            }
            None => out.push_str(",\"series\":null"),
        }
        out.push('}');
        out
    }
}

/// A JSON number; a value JSON cannot hold (NaN, infinite) is written as null.
fn number(value: f64) -> String {
    if value.is_finite() {
        format!("{value}")
    } else {
        String::from("null")
    }
}

/// A JSON string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Appends `figures` to the file named by [`FIGURES_ENV`]; does nothing when it is unset.
///
/// # Errors
/// The file cannot be opened or written.
pub fn record(figures: &[Figure]) -> std::io::Result<()> {
    let Some(path) = std::env::var_os(FIGURES_ENV) else {
        return Ok(());
    };
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let mut lines = String::new();
    for figure in figures {
        lines.push_str(&figure.to_json());
        lines.push('\n');
    }
    file.write_all(lines.as_bytes())
}

/// Prints `figures` as a table with their targets and verdicts.
pub fn print(figures: &[Figure]) {
    for figure in figures {
        let target = match figure.target {
            Some(Target::AtMost(t)) => format!("≤ {}", short(t)),
            Some(Target::AtLeast(t)) => format!("≥ {}", short(t)),
            None => String::from("-"),
        };
        let verdict = match figure.pass() {
            Some(true) => "PASS",
            Some(false) => "FAIL",
            None => "",
        };
        println!(
            "  {:<62} {:>14} {:<6} {:>12}  {}",
            figure.title,
            short(figure.value),
            figure.unit,
            target,
            verdict
        );
    }
}

/// A value as the table shows it: at most three decimals (one from 100 up), without
/// trailing zeros.
pub fn short(value: f64) -> String {
    let text = if value.abs() >= 100.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}
