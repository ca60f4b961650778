//! The report's plots (SVG, plotters): latency per job, and jobs and slashes over time.

use std::path::Path;

use anyhow::anyhow;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::report::JobRecord;

fn fail<E: std::fmt::Debug>(path: &Path) -> impl Fn(E) -> anyhow::Error + '_ {
    move |e| anyhow!("cannot draw {}: {e:?}", path.display())
}

/// A chart filling `root`, titled, with labelled axes from 0 to the maxima.
fn chart<'a, 'b>(
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    path: &Path,
    caption: &str,
    axes: (&str, &str),
    max: (f64, f64),
) -> anyhow::Result<ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>> {
    root.fill(&WHITE).map_err(fail(path))?;
    let mut chart = ChartBuilder::on(root)
        .caption(caption, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..max.0, 0.0..max.1)
        .map_err(fail(path))?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
        .draw()
        .map_err(fail(path))?;
    Ok(chart)
}

/// Draws the legend and writes the file.
fn finish<'a, 'b>(
    mut chart: ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    root: &'a DrawingArea<SVGBackend<'b>, Shift>,
    path: &Path,
) -> anyhow::Result<()> {
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(fail(path))?;
    root.present().map_err(fail(path))?;
    Ok(())
}

/// Request-to-award and request-to-verified-proof latency of each job, by submission
/// time.
///
/// # Errors
/// The file cannot be written.
pub fn latency(path: &Path, jobs: &[JobRecord]) -> anyhow::Result<()> {
    let secs = |ms: u64| ms as f64 / 1_000.0;
    let e2e: Vec<(f64, f64)> = jobs
        .iter()
        .filter_map(|j| Some((secs(j.submitted_ms), secs(j.status.e2e_ms?))))
        .collect();
    let award: Vec<(f64, f64)> = jobs
        .iter()
        .filter_map(|j| Some((secs(j.submitted_ms), secs(j.status.award_ms?))))
        .collect();
    let x_max = jobs
        .iter()
        .map(|j| secs(j.submitted_ms))
        .fold(1.0, f64::max)
        * 1.05;
    let y_max = e2e.iter().chain(&award).map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    let mut chart = chart(
        &root,
        path,
        "Latency per job",
        ("submitted at (s into the run)", "latency (s)"),
        (x_max, y_max),
    )?;
    chart
        .draw_series(e2e.iter().map(|&p| Circle::new(p, 4, BLUE.filled())))
        .map_err(fail(path))?
        .label("request to verified proof")
        .legend(|p| Circle::new(p, 4, BLUE.filled()));
    chart
        .draw_series(
            award
                .iter()
                .map(|&p| TriangleMarker::new(p, 5, RED.filled())),
        )
        .map_err(fail(path))?
        .label("request to award")
        .legend(|p| TriangleMarker::new(p, 5, RED.filled()));
    finish(chart, &root, path)
}

/// A step curve of how many of `times` (ms) had happened by each moment, in seconds.
fn cumulative(times: &mut [u64]) -> Vec<(f64, f64)> {
    times.sort_unstable();
    let mut points = vec![(0.0, 0.0)];
    for (i, &t) in times.iter().enumerate() {
        let x = t as f64 / 1_000.0;
        points.push((x, i as f64));
        points.push((x, (i + 1) as f64));
    }
    points
}

/// Jobs submitted, verified and claimed, and slashes, cumulatively over the run.
///
/// # Errors
/// The file cannot be written.
pub fn progress(path: &Path, jobs: &[JobRecord], slashes: &[u64]) -> anyhow::Result<()> {
    let mut submitted: Vec<u64> = jobs.iter().map(|j| j.submitted_ms).collect();
    let mut verified: Vec<u64> = jobs
        .iter()
        .filter_map(|j| {
            j.first_seen
                .get("verified")
                .or_else(|| j.first_seen.get("paid"))
                .copied()
        })
        .collect();
    let mut claimed: Vec<u64> = jobs
        .iter()
        .filter_map(|j| j.first_seen.get("paid").copied())
        .collect();
    let mut slashed = slashes.to_vec();
    let series = [
        ("submitted", cumulative(&mut submitted), BLACK),
        ("verified", cumulative(&mut verified), BLUE),
        ("claimed", cumulative(&mut claimed), GREEN),
        ("slashes", cumulative(&mut slashed), RED),
    ];
    let x_max = series
        .iter()
        .flat_map(|(_, points, _)| points.iter().map(|p| p.0))
        .fold(1.0, f64::max)
        * 1.05;
    let y_max = (jobs.len().max(1) as f64) * 1.1;
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    let mut chart = chart(
        &root,
        path,
        "Jobs and slashes over the run",
        ("s into the run", "count"),
        (x_max, y_max),
    )?;
    for (label, points, color) in series {
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(fail(path))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
    }
    finish(chart, &root, path)
}
