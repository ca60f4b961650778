//! `provernet bench report`: merges the figures the benchmarks recorded into
//! `bench/results.json`, prints every figure with its target and verdict, rewrites the
//! table in docs/benchmarks.md and draws the cost-growth plot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow, bail};
use clap::{Args, Subcommand};
use plotters::prelude::*;
use serde_json::{Value, json};

use crate::figure::{Figure, Target, short};

/// `provernet bench …`.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Merge newly recorded figures into the results, print them all with their targets,
    /// and write the JSON, the table in the docs and the plot.
    Report(ReportArgs),
}

/// `provernet bench report`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// The figures the benchmarks just recorded (JSON lines); may be absent.
    #[arg(long, default_value = "bench/figures.jsonl")]
    pub figures: PathBuf,
    /// Every figure so far (rewritten with the new ones merged in, by name).
    #[arg(long, default_value = "bench/results.json")]
    pub results: PathBuf,
    /// The document whose table (between `<!-- figures:begin -->` and
    /// `<!-- figures:end -->`) is rewritten.
    #[arg(long, default_value = "docs/benchmarks.md")]
    pub doc: PathBuf,
    /// The cost-growth plot (SVG).
    #[arg(long, default_value = "docs/cost-growth.svg")]
    pub plot: PathBuf,
}

/// Runs a `provernet bench` subcommand.
///
/// # Errors
/// A file cannot be read or written, or a figure misses its target (after everything
/// is written).
pub fn bench_main(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Report(args) => report(&args),
    }
}

const BEGIN: &str = "<!-- figures:begin -->";
const END: &str = "<!-- figures:end -->";

fn report(args: &ReportArgs) -> anyhow::Result<()> {
    // In the order first recorded; a figure measured again keeps its place.
    let mut all: Vec<(String, Value)> = Vec::new();
    let mut put = |name: String, figure: Value| match all.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = figure,
        None => all.push((name, figure)),
    };
    if args.results.exists() {
        let text = std::fs::read_to_string(&args.results)
            .with_context(|| format!("cannot read {}", args.results.display()))?;
        let results: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not JSON", args.results.display()))?;
        for figure in results["figures"].as_array().into_iter().flatten() {
            if let Some(name) = figure["name"].as_str() {
                put(name.to_owned(), figure.clone());
            }
        }
    }
    let today = today();
    let mut fresh = 0;
    if args.figures.exists() {
        let text = std::fs::read_to_string(&args.figures)
            .with_context(|| format!("cannot read {}", args.figures.display()))?;
        for (i, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let mut figure: Value = serde_json::from_str(line).with_context(|| {
                format!("{} line {}: not a figure", args.figures.display(), i + 1)
            })?;
            let name = figure["name"]
                .as_str()
                .ok_or_else(|| anyhow!("{} line {}: no name", args.figures.display(), i + 1))?
                .to_owned();
            figure["measured"] = json!(today);
            put(name, figure);
            fresh += 1;
        }
    }
    let figures: Vec<(Figure, String)> = all.iter().filter_map(|(_, v)| parse(v)).collect();
    if figures.is_empty() {
        bail!(
            "no figures: run the benchmarks first (./scripts/bench.sh), which record into {}",
            args.figures.display()
        );
    }

    if let Some(parent) = args.results.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    let results = json!({ "figures": all.iter().map(|(_, v)| v).collect::<Vec<_>>() });
    std::fs::write(&args.results, serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("cannot write {}", args.results.display()))?;
    write_doc(&args.doc, &figures)?;
    plot(&args.plot, &figures)?;

    println!(
        "{} figures ({fresh} measured now, the others as last measured; dates in {})",
        figures.len(),
        args.results.display()
    );
    let only: Vec<Figure> = figures.iter().map(|(f, _)| f.clone()).collect();
    crate::figure::print(&only);
    let failed: Vec<&str> = only
        .iter()
        .filter(|f| f.pass() == Some(false))
        .map(|f| f.name.as_str())
        .collect();
    let targets = only.iter().filter(|f| f.target.is_some()).count();
    println!(
        "targets: {} of {targets} met; JSON {}, table {}, plot {}",
        targets - failed.len(),
        args.results.display(),
        args.doc.display(),
        args.plot.display()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!("figures below target: {}", failed.join(", ")))
    }
}

/// A figure from its JSON, with the date it was measured.
fn parse(value: &Value) -> Option<(Figure, String)> {
    let target = match &value["target"] {
        Value::Object(t) => match (t.get("at_most"), t.get("at_least")) {
            (Some(v), _) => Some(Target::AtMost(v.as_f64()?)),
            (_, Some(v)) => Some(Target::AtLeast(v.as_f64()?)),
            _ => None,
        },
        _ => None,
    };
    let series = value["series"]["name"]
        .as_str()
        .zip(value["series"]["x"].as_f64())
        .map(|(n, x)| (n.to_owned(), x));
    Some((
        Figure {
            name: value["name"].as_str()?.to_owned(),
            title: value["title"].as_str()?.to_owned(),
            value: value["value"].as_f64().unwrap_or(f64::NAN),
            unit: value["unit"].as_str().unwrap_or_default().to_owned(),
            target,
            command: value["command"].as_str().unwrap_or_default().to_owned(),
            note: value["note"].as_str().map(str::to_owned),
            series,
        },
        value["measured"].as_str().unwrap_or("?").to_owned(),
    ))
}

/// Today's date (UTC), `YYYY-MM-DD`.
fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// One figure as a row of the docs table.
fn row(f: &Figure, measured: &str) -> String {
    let target = match f.target {
        Some(Target::AtMost(t)) => format!("≤ {} {}", short(t), f.unit),
        Some(Target::AtLeast(t)) => format!("≥ {} {}", short(t), f.unit),
        None => String::new(),
    };
    let verdict = match f.pass() {
        Some(true) => "pass",
        Some(false) => "**FAIL**",
        None => "",
    };
    let note = f
        .note
        .as_deref()
        .map(|n| format!("<br><sub>{}</sub>", n.replace('|', "\\|")))
        .unwrap_or_default();
    format!(
        "| {}{note} | {} {} | {target} | {verdict} | {measured} | `{}` |\n",
        f.title.replace('|', "\\|"),
        short(f.value),
        f.unit,
        f.command
    )
}

/// Rewrites the tables between the markers of `doc`.
fn write_doc(doc: &Path, figures: &[(Figure, String)]) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(doc).with_context(|| format!("cannot read {}", doc.display()))?;
    let (Some(begin), Some(end)) = (text.find(BEGIN), text.find(END)) else {
        bail!("{} has no `{BEGIN}` … `{END}` section", doc.display());
    };
    let mut table = String::new();
    for (heading, with_target) in [("Figures with a target", true), ("Other figures", false)] {
        table.push_str(&format!(
            "\n**{heading}**\n\n| figure | value | target | | measured | command |\n|---|---|---|---|---|---|\n"
        ));
        for (f, measured) in figures
            .iter()
            .filter(|(f, _)| f.target.is_some() == with_target)
        {
            table.push_str(&row(f, measured));
        }
    }
    let updated = format!("{}{BEGIN}{table}{}", &text[..begin], &text[end..]);
    std::fs::write(doc, updated).with_context(|| format!("cannot write {}", doc.display()))
}

/// One panel of the plot: series names drawn, their labels and axis titles.
struct Panel {
    caption: &'static str,
    x: &'static str,
    y: &'static str,
    series: &'static [(&'static str, &'static str)],
    /// Plot x as log2(x) (batch sizes from 1 to 256).
    log2_x: bool,
}

const PANELS: [Panel; 6] = [
    Panel {
        caption: "Gas per settled job vs batch size",
        x: "jobs per batch, log2 (0 = 1 job, 8 = 256)",
        y: "gas (commit + claim)",
        series: &[("gas_vs_batch", "commit + claim per job")],
        log2_x: true,
    },
    Panel {
        caption: "Proving time vs circuit size",
        x: "k (2^k rows)",
        y: "s (median)",
        series: &[("prove_vs_k", "prove")],
        log2_x: false,
    },
    Panel {
        caption: "EVM verification gas vs circuit size",
        x: "k (2^k rows)",
        y: "gas",
        series: &[("verify_gas_vs_k", "verify on chain")],
        log2_x: false,
    },
    Panel {
        caption: "Gossip propagation vs node count (scale runs)",
        x: "nodes",
        y: "ms",
        series: &[
            ("gossip_p50_ms_vs_nodes", "p50"),
            ("gossip_p99_ms_vs_nodes", "p99"),
        ],
        log2_x: false,
    },
    Panel {
        caption: "CPU per node vs node count (scale runs)",
        x: "nodes",
        y: "% of one core (mean)",
        series: &[("cpu_mean_pct_vs_nodes", "CPU per node")],
        log2_x: false,
    },
    Panel {
        caption: "Request to verified proof vs node count (scale runs)",
        x: "nodes",
        y: "ms (p50)",
        series: &[("e2e_p50_ms_vs_nodes", "e2e p50")],
        log2_x: false,
    },
];

/// Draws every cost-growth series, one panel per quantity.
fn plot(path: &Path, figures: &[(Figure, String)]) -> anyhow::Result<()> {
    let fail = |e: &dyn std::fmt::Debug| anyhow!("cannot draw {}: {e:?}", path.display());
    let mut points: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for (f, _) in figures {
        if let Some((series, x)) = &f.series
            && f.value.is_finite()
        {
            points
                .entry(series.as_str())
                .or_default()
                .push((*x, f.value));
        }
    }
    for p in points.values_mut() {
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
    }
    let root = SVGBackend::new(path, (1500, 900)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let areas = root.split_evenly((2, 3));
    let colors = [BLUE, RED];
    for (panel, area) in PANELS.iter().zip(areas.iter()) {
        let drawn: Vec<(&str, Vec<(f64, f64)>)> = panel
            .series
            .iter()
            .filter_map(|(s, label)| {
                let p = points.get(s)?;
                let p = if panel.log2_x {
                    p.iter().map(|&(x, y)| (x.max(1.0).log2(), y)).collect()
                } else {
                    p.clone()
                };
                Some((*label, p))
            })
            .collect();
        let x_max = drawn
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.0))
            .fold(1.0, f64::max)
            * 1.1;
        let y_max = drawn
            .iter()
            .flat_map(|(_, p)| p.iter().map(|q| q.1))
            .fold(1.0, f64::max)
            * 1.15;
        let caption = if drawn.is_empty() {
            format!("{} (not measured)", panel.caption)
        } else {
            panel.caption.to_owned()
        };
        let mut chart = ChartBuilder::on(area)
            .caption(caption, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..x_max, 0.0..y_max)
            .map_err(|e| fail(&e))?;
        chart
            .configure_mesh()
            .x_desc(panel.x)
            .y_desc(panel.y)
            .x_label_formatter(&|v| short(v.round()))
            .y_label_formatter(&|v| {
                if y_max >= 20.0 {
                    short(v.round())
                } else {
                    format!("{v:.1}")
                }
            })
            .draw()
            .map_err(|e| fail(&e))?;
        for (i, (label, series)) in drawn.iter().enumerate() {
            let color = colors[i % colors.len()];
            chart
                .draw_series(LineSeries::new(
                    series.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(|e| fail(&e))?
                .label(*label)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart
                .draw_series(series.iter().map(|&p| Circle::new(p, 4, color.filled())))
                .map_err(|e| fail(&e))?;
        }
        if !drawn.is_empty() {
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(|e| fail(&e))?;
        }
    }
    root.present().map_err(|e| fail(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_figure_survives_its_json_and_keeps_its_verdict() {
        let figure = Figure::new("gas.x", "a \"quoted\" title", 14_676.0, "gas", "cmd")
            .at_most(15_000.0)
            .note("line\none")
            .series("gas_vs_batch", 64.0);
        let value: Value = serde_json::from_str(&figure.to_json()).expect("valid JSON");
        assert_eq!(value["pass"], true);
        let (back, measured) = parse(&value).expect("parses");
        assert_eq!(back, figure);
        assert_eq!(measured, "?");
        let missed = Figure::new("n", "t", 20.0, "x", "c").at_least(30.0);
        assert_eq!(missed.pass(), Some(false));
        let value: Value = serde_json::from_str(&missed.to_json()).expect("valid JSON");
        assert_eq!(value["pass"], false);
    }

    #[test]
    fn the_report_merges_by_name_rewrites_the_table_and_fails_on_a_missed_target() {
        let dir = tempfile::tempdir().expect("tempdir");
        let doc = dir.path().join("b.md");
        std::fs::write(&doc, format!("intro\n{BEGIN}\nold\n{END}\nafter\n")).expect("doc");
        let args = ReportArgs {
            figures: dir.path().join("f.jsonl"),
            results: dir.path().join("r.json"),
            doc: doc.clone(),
            plot: dir.path().join("p.svg"),
        };
        let write = |figures: &[Figure]| {
            let lines: String = figures.iter().map(|f| f.to_json() + "\n").collect();
            std::fs::write(&args.figures, lines).expect("figures");
        };
        write(&[
            Figure::new("a", "first", 1.0, "u", "c").at_most(2.0),
            Figure::new("b", "second", 5.0, "u", "c").series("gas_vs_batch", 1.0),
        ]);
        report(&args).expect("every target met");
        write(&[Figure::new("a", "first", 3.0, "u", "c").at_most(2.0)]);
        let error = report(&args).expect_err("a missed target");
        assert!(error.to_string().contains('a'), "{error}");
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(&args.results).expect("results"))
                .expect("JSON");
        let names: Vec<&str> = results["figures"]
            .as_array()
            .expect("figures")
            .iter()
            .filter_map(|f| f["name"].as_str())
            .collect();
        assert_eq!(names, ["a", "b"], "merged by name, the old b kept");
        assert_eq!(results["figures"][0]["value"], 3.0);
        let text = std::fs::read_to_string(&doc).expect("doc");
        assert!(text.starts_with("intro\n") && text.ends_with(&format!("{END}\nafter\n")));
        assert!(
            text.contains("| first | 3 u | ≤ 2 u | **FAIL** |"),
            "{text}"
        );
        assert!(!text.contains("old"));
        assert!(
            std::fs::read_to_string(&args.plot)
                .expect("plot")
                .contains("<svg")
        );
    }

    #[test]
    fn dates_are_civil() {
        let date = today();
        assert_eq!(date.len(), 10);
        assert!(date.starts_with("20"), "{date}");
    }
}
