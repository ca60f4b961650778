//! `provernet testnet load`: the market under load.
//!
//! Three steps, each a whole `testnet up` (anvil, the commands, separate node processes):
//! 1. **Idle**: a few jobs one at a time. The market's fixed cost per job (bid window,
//!    award, input fetch, delivery, verification) is e2e minus proving, at the median.
//! 2. **Saturation**: more jobs than the provers can take (twice what one proves alone,
//!    for 30 s), with deadlines long enough to wait in their queues. Each prover's mean proving time `t_i` under that load gives the
//!    market's capacity `C = Σ 1/t_i` jobs a second: what the provers could do if they never
//!    waited for work. (All provers share this machine's cores, so a proof under load takes
//!    longer than one alone; capacity is measured where it binds.)
//! 3. **Levels**: Poisson arrivals at shares of `C` (50, 80, 100, 150 %), for the same
//!    length of time each. A level prints its throughput ÷ `C` (jobs verified while jobs
//!    were being submitted, a second) beside an ideal market's for the same submissions, e2e p50 and p99 beside an
//!    M/D/c queue's mean at that load (c provers of proving time `c / C`, plus the fixed
//!    cost), the share of jobs re-auctioned, failed jobs and honest provers slashed.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::Args;
use serde_json::Value;

use crate::args::UpArgs;
use crate::figure::Figure;

/// `provernet testnet load`.
#[derive(Debug, Clone, Args)]
pub struct LoadArgs {
    /// Where each step's testnet directory (and report) goes.
    #[arg(long, default_value = "load-run")]
    pub dir: PathBuf,
    /// The offered loads, percent of the measured capacity.
    #[arg(long, value_delimiter = ',', default_value = "50,80,100,150")]
    pub levels: Vec<u32>,
    /// Seconds of submissions per level.
    #[arg(long, default_value_t = 90)]
    pub seconds: u64,
    /// Prover nodes (one client and one watchtower beside them).
    #[arg(long, default_value_t = 3)]
    pub provers: usize,
    /// The one circuit every job proves.
    #[arg(long, default_value = "poseidon-chain-12")]
    pub circuit: String,
    /// Seconds from submission by which a job's proof must be committed: long enough for
    /// jobs to wait in the provers' queues at the highest level.
    #[arg(long, default_value_t = 180)]
    pub deadline: u64,
    /// Record the figures for `provernet bench report` under the label `load`.
    #[arg(long)]
    pub bench: bool,
}

/// One level's result.
#[derive(Clone, Debug, PartialEq)]
pub struct Level {
    /// Offered load, percent of capacity.
    pub percent: u32,
    /// Offered jobs a second.
    pub rate: f64,
    /// Jobs verified a second ÷ capacity.
    pub throughput: f64,
    /// What an ideal market would have verified a second for the same submissions
    /// ([`ideal_throughput`]) ÷ capacity.
    pub ideal: f64,
    /// e2e p50 and p99, ms.
    pub p50_ms: f64,
    /// See `p50_ms`.
    pub p99_ms: f64,
    /// The M/D/c mean e2e, ms; `None` at or above capacity (no steady state).
    pub predicted_ms: Option<f64>,
    /// Jobs re-auctioned at least once ÷ jobs submitted.
    pub reauctioned: f64,
    /// Jobs that failed.
    pub failed: u64,
    /// Awards a prover won and did not take (its logs' `award not taken`).
    pub declined: u64,
    /// Honest provers slashed.
    pub honest_slashed: u64,
}

/// `provernet testnet load`.
///
/// # Errors
/// A step's testnet cannot run or its report cannot be read.
pub async fn load(args: LoadArgs, exe: &Path) -> anyhow::Result<()> {
    if args.levels.is_empty() || args.levels.iter().any(|&l| l == 0 || l > 500) {
        bail!("--levels takes percentages within 1..=500");
    }
    if args.seconds < 5 {
        bail!("--seconds must be at least 5");
    }
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let c = args.provers as f64;

    eprintln!("load: step 1, the market's fixed cost (jobs one at a time)");
    let idle = step(&args, exe, "idle", &["--jobs", "6", "--rate", "0.2"]).await?;
    let idle_prove = mean_prove_ms(&idle)?;
    let overhead_ms = (number(&idle["latency_ms"]["e2e"]["p50"])? - idle_prove).max(0.0);

    eprintln!("load: step 2, capacity (more jobs than the provers can take)");
    // Twice what one prover proves alone: on one machine, whose cores every proof uses,
    // well above capacity, not so far above that most rounds find every queue full.
    let flood_rate = 2.0 * 1_000.0 / idle_prove;
    let flood_jobs = ((flood_rate * 30.0).round() as usize).max(10);
    let saturated = step(
        &args,
        exe,
        "capacity",
        &[
            "--jobs",
            &flood_jobs.to_string(),
            "--rate",
            &format!("{flood_rate:.3}"),
        ],
    )
    .await?;
    let capacity = saturated_capacity(&saturated, args.provers)?;
    let service_ms = c * 1_000.0 / capacity;
    eprintln!(
        "load: capacity {capacity:.3} jobs/s (proving {service_ms:.0} ms under load, \
         {idle_prove:.0} ms alone); fixed cost {overhead_ms:.0} ms; saturated throughput \
         {:.3} jobs/s",
        throughput(&saturated)?
    );

    let mut levels = Vec::new();
    for &percent in &args.levels {
        let rate = capacity * f64::from(percent) / 100.0;
        let jobs = ((rate * args.seconds as f64).round() as usize).max(1);
        eprintln!("load: {percent} % of capacity, {rate:.3} jobs/s, {jobs} jobs");
        let report = step(
            &args,
            exe,
            &format!("level-{percent}"),
            &[
                "--jobs",
                &jobs.to_string(),
                "--rate",
                &format!("{rate:.4}"),
                "--arrivals",
                "poisson",
            ],
        )
        .await?;
        let lambda = rate;
        levels.push(Level {
            percent,
            rate,
            throughput: throughput(&report)? / capacity,
            ideal: ideal_throughput(&submissions(&report), args.provers, service_ms, overhead_ms)
                / capacity,
            p50_ms: number(&report["latency_ms"]["e2e"]["p50"])?,
            p99_ms: number(&report["latency_ms"]["e2e"]["p99"])?,
            predicted_ms: mdc_wait_ms(args.provers, lambda, service_ms)
                .map(|wait| overhead_ms + service_ms + wait),
            reauctioned: number(&report["jobs"]["reauctioned"])?
                / number(&report["jobs"]["submitted"])?.max(1.0),
            failed: number(&report["jobs"]["failed"])? as u64,
            declined: awards_declined(&args.dir.join(format!("level-{percent}"))),
            honest_slashed: number(&report["honest_provers_slashed"])? as u64,
        });
    }
    let table = table(capacity, service_ms, overhead_ms, args.provers, &levels);
    println!("{table}");
    std::fs::write(args.dir.join("load.txt"), &table)
        .with_context(|| format!("cannot write {}", args.dir.join("load.txt").display()))?;
    if args.bench {
        let figures = figures(&levels);
        crate::figure::print(&figures);
        crate::figure::record(&figures).context("cannot write the figures file")?;
    }
    Ok(())
}

/// Runs one `testnet up` with the load's fixed flags and `flags`; its report. A run
/// that reports problems still has its figures (they say what went wrong).
async fn step(args: &LoadArgs, exe: &Path, name: &str, flags: &[&str]) -> anyhow::Result<Value> {
    let dir = args.dir.join(name);
    let provers = args.provers.to_string();
    let deadline = args.deadline.to_string();
    let mut all = vec![
        "--dir",
        dir.to_str().context("the load directory is not UTF-8")?,
        "--provers",
        &provers,
        "--watchtowers",
        "1",
        "--clients",
        "1",
        "--cheaters",
        "0",
        "--circuits",
        &args.circuit,
        "--deadline",
        &deadline,
        "--timeout",
        "300",
    ];
    all.extend_from_slice(flags);
    let up = crate::args::parse_up(&all)?;
    let path = dir.join("report.json");
    // Never an earlier run's report for this one.
    if path.exists() {
        std::fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    run_up(up, exe).await;
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("no report at {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))
}

async fn run_up(up: UpArgs, exe: &Path) {
    if let Err(error) = crate::run::up(up, exe).await {
        eprintln!("load: the run reported: {error:#}");
    }
}

fn number(value: &Value) -> anyhow::Result<f64> {
    value
        .as_f64()
        .with_context(|| format!("a report figure is missing ({value})"))
}

/// The provers' mean proving time, ms.
fn mean_prove_ms(report: &Value) -> anyhow::Result<f64> {
    let times: Vec<f64> = report["latency_ms"]["prove_mean_by_prover"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values().filter_map(Value::as_f64))
        .filter(|&t| t > 0.0)
        .collect();
    if times.is_empty() {
        bail!("no prover measured a proof");
    }
    Ok(times.iter().sum::<f64>() / times.len() as f64)
}

/// `Σ 1/t_i`, jobs a second, over the provers that proved.
fn capacity_of(report: &Value) -> anyhow::Result<f64> {
    let capacity: f64 = report["latency_ms"]["prove_mean_by_prover"]
        .as_object()
        .into_iter()
        .flat_map(|m| m.values().filter_map(Value::as_f64))
        .filter(|&t| t > 0.0)
        .map(|t| 1_000.0 / t)
        .sum();
    if capacity <= 0.0 {
        bail!("no prover measured a proof");
    }
    Ok(capacity)
}

/// [`capacity_of`], refusing a run where a prover proved nothing: saturation keeps
/// every prover busy, so one idle prover means the run did not measure capacity.
fn saturated_capacity(report: &Value, provers: usize) -> anyhow::Result<f64> {
    let proved = report["latency_ms"]["prove_mean_by_prover"]
        .as_object()
        .map_or(0, |m| m.values().filter(|t| t.as_f64() > Some(0.0)).count());
    if proved < provers {
        bail!("only {proved} of {provers} provers proved under saturation: capacity not measured");
    }
    capacity_of(report)
}

/// Awards the provers of the testnet in `dir` won and did not take, from their logs.
fn awards_declined(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("prover-"))
        .filter_map(|e| std::fs::read_to_string(e.path().join("node.log")).ok())
        .map(|log| log.matches("award not taken").count() as u64)
        .sum()
}

/// When each job was submitted, ms into the run.
fn submissions(report: &Value) -> Vec<f64> {
    report["jobs_detail"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|j| j["submitted_ms"].as_f64())
        .collect()
}

/// Jobs verified a second while jobs were being submitted: those verified between the
/// first submission and the last, over that span (the rate the market worked at under
/// the offered load, not counting the drain after it).
fn throughput(report: &Value) -> anyhow::Result<f64> {
    let jobs = report["jobs_detail"]
        .as_array()
        .context("the report lists no jobs")?;
    let verified: Vec<f64> = jobs
        .iter()
        .filter_map(|j| Some(j["submitted_ms"].as_f64()? + j["e2e_ms"].as_f64()?))
        .collect();
    Ok(rate_within(&submissions(report), &verified))
}

/// Of the events at `done`, how many a second fall within the span of `submitted`.
fn rate_within(submitted: &[f64], done: &[f64]) -> f64 {
    let first = submitted.iter().copied().fold(f64::INFINITY, f64::min);
    let last = submitted.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if last <= first {
        return 0.0;
    }
    let within = done.iter().filter(|&&t| t >= first && t <= last).count();
    within as f64 * 1_000.0 / (last - first)
}

/// Jobs a second an ideal market would verify for the same submissions, measured as
/// [`throughput`] is: `c` provers, each job taking `service_ms` of proving and
/// `overhead_ms` more, first come first served, none ever idle while a job waits. Near
/// capacity it is below 1: the provers idle when arrivals lull.
pub fn ideal_throughput(submitted_ms: &[f64], c: usize, service_ms: f64, overhead_ms: f64) -> f64 {
    let mut arrivals = submitted_ms.to_vec();
    arrivals.sort_by(f64::total_cmp);
    let mut free = vec![f64::NEG_INFINITY; c.max(1)];
    let mut done = Vec::with_capacity(arrivals.len());
    for at in arrivals.iter().copied() {
        let lane = free
            .iter_mut()
            .min_by(|a, b| a.total_cmp(b))
            .expect("at least one prover");
        let ends = lane.max(at) + service_ms;
        *lane = ends;
        done.push(ends + overhead_ms);
    }
    rate_within(&arrivals, &done)
}

/// The mean wait in queue of an M/D/c queue, ms: arrivals at `lambda` a second, `c`
/// servers of `service_ms` each; `None` at or above capacity. Half the M/M/c wait (Erlang
/// C) of the same mean service time: exact for one server (Pollaczek–Khinchine), within a
/// few percent for several at the loads measured here.
pub fn mdc_wait_ms(c: usize, lambda: f64, service_ms: f64) -> Option<f64> {
    let c = c.max(1);
    let a = lambda * service_ms / 1_000.0;
    let rho = a / c as f64;
    if !(0.0..1.0).contains(&rho) {
        return None;
    }
    // Σ_{k<c} a^k/k! and a^c/c!, term by term.
    let mut term = 1.0;
    let mut sum = 0.0;
    for k in 0..c {
        sum += term;
        term *= a / (k + 1) as f64;
    }
    let tail = term / (1.0 - rho);
    let erlang_c = tail / (sum + tail);
    Some(erlang_c * service_ms / (c as f64 - a) / 2.0)
}

fn table(capacity: f64, service_ms: f64, overhead_ms: f64, c: usize, levels: &[Level]) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "market under load: capacity {capacity:.2} jobs/s ({c} provers, {service_ms:.0} ms a \
         proof under load); fixed cost a job {overhead_ms:.0} ms"
    );
    let _ = writeln!(
        out,
        "{:>6} {:>8} {:>9} {:>10} {:>9} {:>9} {:>12} {:>9} {:>13} {:>7} {:>16} {:>15}",
        "load",
        "jobs/s",
        "thru÷cap",
        "ideal÷cap",
        "e2e p50",
        "e2e p99",
        "M/D/c mean",
        "p50÷pred",
        "re-auctioned",
        "failed",
        "awards declined",
        "honest slashed"
    );
    for l in levels {
        let (predicted, ratio) = match l.predicted_ms {
            Some(p) => (format!("{p:.0} ms"), format!("{:.2}", l.p50_ms / p)),
            None => ("unbounded".to_owned(), "-".to_owned()),
        };
        let _ = writeln!(
            out,
            "{:>5}% {:>8.2} {:>9.2} {:>10.2} {:>6.0} ms {:>6.0} ms {:>12} {:>9} {:>12.1}% {:>7} {:>16} {:>15}",
            l.percent,
            l.rate,
            l.throughput,
            l.ideal,
            l.p50_ms,
            l.p99_ms,
            predicted,
            ratio,
            l.reauctioned * 100.0,
            l.failed,
            l.declined,
            l.honest_slashed
        );
    }
    out
}

/// The targets, as figures.
fn figures(levels: &[Level]) -> Vec<Figure> {
    const COMMAND: &str = "scripts/bench.sh load";
    let mut out = Vec::new();
    for l in levels {
        let p = l.percent;
        let mut throughput = Figure::new(
            format!("load.throughput_over_capacity.{p}"),
            format!("throughput ÷ capacity at {p} % load"),
            l.throughput,
            "ratio",
            COMMAND,
        );
        if p >= 100 {
            throughput = throughput.at_least(0.9);
        }
        out.push(throughput.note(format!(
            "an ideal market (c provers never idle while a job waits) would reach {:.2} \
             for the same submissions",
            l.ideal
        )));
        let mut reauctioned = Figure::new(
            format!("load.reauctioned.{p}"),
            format!("jobs re-auctioned at {p} % load"),
            l.reauctioned * 100.0,
            "%",
            COMMAND,
        );
        if p <= 80 {
            reauctioned = reauctioned.at_most(5.0);
        }
        out.push(reauctioned);
        let mut failed = Figure::new(
            format!("load.failed.{p}"),
            format!("jobs failed at {p} % load"),
            l.failed as f64,
            "jobs",
            COMMAND,
        );
        if p <= 100 {
            failed = failed.at_most(0.0);
        }
        out.push(failed);
        out.push(
            Figure::new(
                format!("load.awards_declined.{p}"),
                format!("awards won and not taken at {p} % load"),
                l.declined as f64,
                "awards",
                COMMAND,
            )
            .at_most(0.0),
        );
        out.push(
            Figure::new(
                format!("load.honest_slashed.{p}"),
                format!("honest provers slashed at {p} % load"),
                l.honest_slashed as f64,
                "provers",
                COMMAND,
            )
            .at_most(0.0),
        );
        if let Some(predicted) = l.predicted_ms {
            let mut ratio = Figure::new(
                format!("load.e2e_p50_over_mdc.{p}"),
                format!("e2e p50 ÷ the M/D/c mean at {p} % load"),
                l.p50_ms / predicted,
                "ratio",
                COMMAND,
            );
            if p == 80 {
                ratio = ratio.at_most(1.5);
            }
            out.push(ratio);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_server_waits_as_pollaczek_khinchine_says() {
        // M/D/1: Wq = ρ D / (2 (1 − ρ)).
        for rho in [0.1, 0.5, 0.8, 0.95] {
            let d = 1_000.0;
            let wait = mdc_wait_ms(1, rho, d).expect("stable");
            let exact = rho * d / (2.0 * (1.0 - rho));
            assert!((wait - exact).abs() < 1e-6, "{rho}: {wait} vs {exact}");
        }
    }

    #[test]
    fn more_servers_wait_less_and_no_steady_state_at_capacity() {
        // Three servers at 80 %: Erlang C ≈ 0.6472, so the M/M/3 wait is 0.6472 · D / 0.6
        // and M/D/3 half that.
        let wait = mdc_wait_ms(3, 2.4, 1_000.0).expect("stable");
        assert!((wait - 539.3).abs() < 1.0, "{wait}");
        assert!(wait < mdc_wait_ms(1, 0.8, 1_000.0).expect("stable"));
        assert_eq!(mdc_wait_ms(3, 3.0, 1_000.0), None);
        assert_eq!(mdc_wait_ms(3, 4.5, 1_000.0), None);
    }

    #[test]
    fn an_ideal_market_keeps_every_prover_busy_while_jobs_wait() {
        // Five jobs at 0, 1, 2, 3 and 4 s on one prover of 1.5 s, no overhead: done at
        // 1.5, 3, 4.5, 6, 7.5 s; two within the 4 s of submissions.
        let ideal = ideal_throughput(&[0.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0], 1, 1_500.0, 0.0);
        assert!((ideal - 0.5).abs() < 1e-9, "{ideal}");
        // Two provers keep up: done at 1.5, 2.5, 3.5, 4.5, 5.5 s; three within.
        let ideal = ideal_throughput(&[0.0, 1_000.0, 2_000.0, 3_000.0, 4_000.0], 2, 1_500.0, 0.0);
        assert!((ideal - 0.75).abs() < 1e-9, "{ideal}");
        assert_eq!(ideal_throughput(&[], 2, 1_000.0, 0.0), 0.0);
        assert_eq!(ideal_throughput(&[5.0], 2, 1_000.0, 0.0), 0.0);
    }

    #[test]
    fn throughput_counts_what_was_verified_while_jobs_came() {
        let report = serde_json::json!({ "jobs_detail": [
            { "submitted_ms": 1_000, "e2e_ms": 500 },
            { "submitted_ms": 2_000, "e2e_ms": 500 },
            { "submitted_ms": 3_000, "e2e_ms": 5_000 },
            { "submitted_ms": 5_000, "e2e_ms": null },
        ]});
        // Submissions over 1 … 5 s; two verified within (1.5 and 2.5 s), one after.
        assert!((throughput(&report).expect("jobs") - 0.5).abs() < 1e-9);
        let report = serde_json::json!({ "latency_ms": { "prove_mean_by_prover": {
            "prover-1": 500.0, "prover-2": 1_000.0, "prover-3": 0.0 } } });
        assert!((capacity_of(&report).expect("provers") - 3.0).abs() < 1e-9);
        assert!((mean_prove_ms(&report).expect("provers") - 750.0).abs() < 1e-9);
    }
}
