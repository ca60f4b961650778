//! The benchmark figures of a run (`--bench`), each against its target.

use super::*;

/// The figures of a `--bench` run, named `testnet.<label>.*`, from its report.
pub fn figures(label: &str, args: &UpArgs, r: &Value) -> Vec<crate::figure::Figure> {
    use crate::figure::Figure;
    let command = format!("./scripts/bench.sh {label}");
    let name = |what: &str| format!("testnet.{label}.{what}");
    let nodes = (args.provers + args.watchtowers + args.clients + args.relays) as f64;
    let full = (args.provers + args.watchtowers + args.clients) as f64;
    let shape = format!(
        "{} nodes: {} provers, {} watchtowers, {} clients, {} networking-only",
        nodes, args.provers, args.watchtowers, args.clients, args.relays
    );
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut out = Vec::new();
    let submitted = f(&r["jobs"]["submitted"]);
    let settled = f(&r["jobs"]["submitted"]) - f(&r["jobs"]["unsettled"]) - f(&r["jobs"]["failed"]);
    let ok = r["verdict"] == "ok";
    out.push(
        Figure::new(
            name("settled_pct"),
            format!("{label}: jobs settled (verified and claimed, or slashed and refunded)"),
            (settled / submitted.max(1.0) * 1e3).round() / 10.0,
            "%",
            &command,
        )
        .at_least(100.0)
        .note(shape.clone()),
    );
    if args.relays == 0 && full >= 20.0 {
        out.push(
            Figure::new(
                name("full_market_nodes"),
                format!(
                    "{label}: full-market nodes (no networking-only) in a run that ended clean"
                ),
                if ok { full } else { 0.0 },
                "nodes",
                &command,
            )
            .at_least(20.0)
            .note(format!(
                "{shape}; 0 when the run reported a problem: {}",
                r["problems"]
            )),
        );
    }
    // Runs labelled `scale…` share one workload and differ in node count: they make the
    // node-count series of the cost-growth plot.
    let series = |figure: Figure, what: &str| {
        if label.starts_with("scale") {
            figure.series(format!("{what}_vs_nodes"), nodes)
        } else {
            figure
        }
    };
    let gossip = &r["gossip"]["delay_ms"];
    if gossip["n"].as_u64() > Some(0) {
        out.push(series(
            Figure::new(
                name("gossip_p50_ms"),
                format!("{label}: gossip publication to arrival, p50"),
                f(&gossip["p50"]),
                "ms",
                &command,
            )
            .note(format!(
                "{} messages, {} deliveries; {shape}",
                r["gossip"]["messages"], r["gossip"]["deliveries"]
            )),
            "gossip_p50_ms",
        ));
        out.push(series(
            Figure::new(
                name("gossip_p99_ms"),
                format!("{label}: gossip publication to arrival, p99"),
                f(&gossip["p99"]),
                "ms",
                &command,
            ),
            "gossip_p99_ms",
        ));
        out.push(Figure::new(
            name("gossip_coverage_pct"),
            format!("{label}: share of the other nodes each message reached"),
            (f(&r["gossip"]["coverage"]) * 1e3).round() / 10.0,
            "%",
            &command,
        ));
    }
    if let (Some(mean), Some(max)) = (r["cpu"]["mean_pct"].as_f64(), r["cpu"]["max_pct"].as_f64()) {
        out.push(series(
            Figure::new(
                name("cpu_mean_pct"),
                format!("{label}: CPU per node, mean over the workload"),
                mean,
                "% core",
                &command,
            )
            .note(format!("{shape}; provers' proving included")),
            "cpu_mean_pct",
        ));
        out.push(Figure::new(
            name("cpu_max_pct"),
            format!("{label}: CPU per node, busiest node"),
            max,
            "% core",
            &command,
        ));
    }
    let latency = &r["latency_ms"];
    if latency["e2e"]["n"].as_u64() > Some(0) {
        out.push(series(
            Figure::new(
                name("e2e_p50_ms"),
                format!("{label}: request to verified proof, p50"),
                f(&latency["e2e"]["p50"]),
                "ms",
                &command,
            ),
            "e2e_p50_ms",
        ));
    }
    if latency["award"]["n"].as_u64() > Some(0) {
        let mut award = Figure::new(
            name("award_p99_ms"),
            format!("{label}: request to award, p99"),
            f(&latency["award"]["p99"]),
            "ms",
            &command,
        )
        .note(format!("p50 {} ms", latency["award"]["p50"]));
        if args.raw_prove {
            award = award.at_most(1_000.0);
        }
        out.push(award);
    }
    let ratio = &latency["e2e_over_raw_prove"];
    if ratio["n"].as_u64() > Some(0) {
        let raw = &latency["raw_prove"];
        out.push(Figure::new(
            name("raw_prove_p50_ms"),
            format!("{label}: raw proving time (library alone), p50"),
            f(&raw["p50"]),
            "ms",
            &command,
        ));
        let overhead = &latency["e2e_minus_raw_prove"];
        out.push(
            Figure::new(
                name("overhead_p99_ms"),
                format!("{label}: e2e − raw proving time (the market's fixed cost), p99"),
                f(&overhead["p99"]),
                "ms",
                &command,
            )
            .at_most(750.0)
            .note(format!(
                "p50 {} ms. The cost does not grow with proving time (bid window, gossip, input fetch, delivery, native verification), so at most 750 ms is e2e ÷ prove ≤ 1.15 for every job proving 5 s or more",
                overhead["p50"]
            )),
        );
        // The target is for jobs that take at least 5 s to prove; shorter ones are shown
        // without it (the fixed-cost figure above decides it for every length).
        let raw_p50 = f(&raw["p50"]);
        let mut ratio_figure = Figure::new(
            name("e2e_over_prove_p99"),
            format!("{label}: e2e ÷ raw proving time, p99"),
            f(&ratio["p99"]),
            "ratio",
            &command,
        )
        .note(format!(
            "p50 {}; {} jobs of {}, one at a time; raw proving p50 {raw_p50} ms{}",
            ratio["p50"],
            ratio["n"],
            args.circuits.join(", "),
            if raw_p50 >= 5_000.0 {
                ""
            } else {
                ": under the 5 s the ≤ 1.15 target is set for, so shown without it"
            }
        ));
        if raw_p50 >= 5_000.0 {
            ratio_figure = ratio_figure.at_most(1.15);
        }
        out.push(ratio_figure);
    }
    if let Some(gas) = r["gas"]["per_settled_job"].as_f64() {
        out.push(
            Figure::new(
                name("gas_per_settled_job"),
                format!("{label}: commit + claim gas per claimed job, as the nodes batched"),
                gas,
                "gas",
                &command,
            )
            .note("provers batch up to 4 jobs or 1.5 s on the testnet"),
        );
    }
    if args.kills > 0 {
        let inv = &r["invariants"];
        out.push(
            Figure::new(
                name("kills"),
                format!("{label}: SIGKILLs of a prover and a watchtower survived"),
                r["crashes"].as_array().map_or(0, Vec::len) as f64,
                "kills",
                &command,
            )
            .at_least(args.kills as f64)
            .note(format!(
                "honest leaves committed {} / paid {} / jobs slashed {}; jobs challenged twice {}; faults missed {}",
                inv["honest_leaves_committed"],
                inv["honest_leaves_paid"],
                inv["honest_jobs_slashed"],
                inv["challenges_repeated"],
                r["faults_missed"].as_array().map_or(0, Vec::len)
            )),
        );
        let injected: u64 = r["faults"]
            .as_object()
            .map(|f| f.values().filter_map(|v| v["injected"].as_u64()).sum())
            .unwrap_or(0);
        let caught: u64 = r["faults"]
            .as_object()
            .map(|f| {
                f.values()
                    .filter_map(|v| v["injected_slashed"].as_u64())
                    .sum()
            })
            .unwrap_or(0);
        if args.cheaters > 0 {
            // Without a fault to challenge, the kills could not lose or repeat a challenge.
            out.push(
                Figure::new(
                    name("faults_slashed"),
                    format!("{label}: injected faults slashed across the kills"),
                    caught as f64,
                    "faults",
                    &command,
                )
                .at_least(1.0)
                .note(format!("{caught} of {injected} injected faults slashed")),
            );
        }
        out.push(
            Figure::new(
                name("invariant_violations"),
                format!("{label}: invariant violations after the kills"),
                f(&inv["violations"]),
                "violations",
                &command,
            )
            .at_most(0.0)
            .note(format!(
                "a job committed twice or a claim lost, a challenge repeated, a fault not slashed; the run's problems: {}",
                r["problems"]
            )),
        );
    }
    out
}
