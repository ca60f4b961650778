//! The run's text report (`report.txt`), from its JSON report.

use super::*;

/// The report as text, from its JSON.
pub(super) fn text_report(r: &Value) -> String {
    let mut t = String::new();
    let c = &r["config"];
    let _ = writeln!(t, "provernet testnet report");
    let _ = writeln!(t, "========================");
    let cheating = if c["cheaters"].as_u64() > Some(0) {
        format!(
            "{} cheating: {} at rate {}",
            c["cheaters"], c["cheat"], c["cheat_rate"]
        )
    } else {
        String::from("none cheating")
    };
    let _ = writeln!(
        t,
        "{} provers ({cheating}), {} watchtowers (sample rate {}), {} clients, {} networking-only; {} s",
        c["provers"],
        c["watchtowers"],
        c["sample_rate"],
        c["clients"],
        c["relays"],
        r["duration_ms"].as_u64().unwrap_or(0) / 1_000
    );
    let j = &r["jobs"];
    let _ = writeln!(t, "\njobs");
    let _ = writeln!(
        t,
        "  submitted {}  awarded {}  verified {}  claimed {}  failed {}  unsettled {}  re-auctioned {}",
        j["submitted"],
        j["awarded"],
        j["verified"],
        j["claimed"],
        j["failed"],
        j["unsettled"],
        j["reauctioned"]
    );
    let _ = writeln!(
        t,
        "  delivered by honest provers {}, of which claimed {}; verified but the prover slashed for it (refunded, unpaid) {}",
        j["by_honest_provers"], j["by_honest_provers_claimed"], j["verified_prover_slashed"]
    );
    let _ = writeln!(
        t,
        "  on chain: {} batches, {} leaves; {} challenges opened, {} false; {} slashes on {} jobs",
        r["chain"]["batches_committed"],
        r["chain"]["leaves_committed"],
        r["chain"]["challenges_opened"],
        r["chain"]["false_challenges"],
        r["chain"]["slashes"],
        j["slashed"]
    );
    let _ = writeln!(
        t,
        "\nfaults (injected / injected and slashed / all slashes)"
    );
    if let Some(faults) = r["faults"].as_object() {
        for (kind, f) in faults {
            let _ = writeln!(
                t,
                "  {kind:<16} {:>3} / {:>3} / {:>3}",
                f["injected"], f["injected_slashed"], f["slashed"]
            );
        }
    }
    let _ = writeln!(
        t,
        "  honest provers slashed: {}",
        r["honest_provers_slashed"]
    );
    if let Some(missed) = r["faults_missed"].as_array()
        && !missed.is_empty()
    {
        let _ = writeln!(t, "  not slashed:");
        for m in missed {
            let _ = writeln!(t, "    {}", m.as_str().unwrap_or_default());
        }
    }
    let _ = writeln!(t, "\nlatency, ms (p50 / p99 / max, n)");
    let l = &r["latency_ms"];
    for (name, key) in [
        ("request to verified proof", "e2e"),
        ("request to award", "award"),
        ("award to verified proof", "prove_and_deliver"),
        ("verified to claimed", "verified_to_claimed"),
    ] {
        let s = &l[key];
        let _ = writeln!(
            t,
            "  {name:<26} {} / {} / {}  (n={})",
            s["p50"], s["p99"], s["max"], s["n"]
        );
    }
    if let Some(provers) = l["prove_mean_by_prover"].as_object() {
        let means: Vec<String> = provers.iter().map(|(n, ms)| format!("{n} {ms}")).collect();
        let _ = writeln!(t, "  mean proving time: {}", means.join(", "));
    }
    let ratio = &l["e2e_over_raw_prove"];
    if ratio["n"].as_u64() > Some(0) {
        let raw = &l["raw_prove"];
        let _ = writeln!(
            t,
            "  raw proving (library alone)  {} / {} / {}  (n={})\n  e2e ÷ raw proving            {} / {} / {}",
            raw["p50"], raw["p99"], raw["max"], raw["n"], ratio["p50"], ratio["p99"], ratio["max"]
        );
    }
    let gossip = &r["gossip"];
    if gossip.is_object() {
        let d = &gossip["delay_ms"];
        let _ = writeln!(
            t,
            "\ngossip: {} messages, {} deliveries, reaching {:.1} % of the other nodes; publication to arrival, ms: {} / {} / {} (p50 / p99 / max)",
            gossip["messages"],
            gossip["deliveries"],
            gossip["coverage"].as_f64().unwrap_or(0.0) * 100.0,
            d["p50"],
            d["p99"],
            d["max"]
        );
    }
    let cpu = &r["cpu"];
    if let (Some(mean), Some(max)) = (cpu["mean_pct"].as_f64(), cpu["max_pct"].as_f64()) {
        let _ = writeln!(
            t,
            "cpu per node over {:.0} s: mean {mean:.1} %, max {max:.1} % of one core ({} nodes)",
            cpu["wall_s"].as_f64().unwrap_or(0.0),
            cpu["nodes"]
        );
    }
    let inv = &r["invariants"];
    let _ = writeln!(
        t,
        "invariants: honest leaves committed {} / paid {} / jobs slashed {}; jobs challenged twice {}; challenge txs reverted {}; violations {}",
        inv["honest_leaves_committed"],
        inv["honest_leaves_paid"],
        inv["honest_jobs_slashed"],
        inv["challenges_repeated"],
        inv["challenge_txs_reverted"],
        inv["violations"]
    );
    let g = &r["gas"];
    let _ = writeln!(t, "\ngas");
    let _ = writeln!(
        t,
        "  per settled job (commit + claim): {}",
        g["per_settled_job"]
    );
    if let Some(per) = g["per_challenge"].as_object() {
        for (f, gas) in per {
            let _ = writeln!(t, "  {f:<24} {gas} (mean)");
        }
    }
    let _ = writeln!(
        t,
        "\nnodes (change in ETH: balance / stake / credits / deposit)"
    );
    if let Some(nodes) = r["nodes"].as_array() {
        for n in nodes {
            let d = &n["change_eth"];
            let _ = writeln!(
                t,
                "  {:<14} {:<10} {:>10.4} / {:>8.4} / {:>7.4} / {:>8.4}{}",
                n["name"].as_str().unwrap_or_default(),
                n["role"].as_str().unwrap_or_default(),
                d["eth"].as_f64().unwrap_or(0.0),
                d["stake"].as_f64().unwrap_or(0.0),
                d["credits"].as_f64().unwrap_or(0.0),
                d["deposit"].as_f64().unwrap_or(0.0),
                n["cheat"]
                    .as_str()
                    .map(|c| format!("  (cheats: {c})"))
                    .unwrap_or_default()
            );
        }
    }
    if let Some(crashes) = r["crashes"].as_array()
        && !crashes.is_empty()
    {
        let _ = writeln!(t, "\ncrashes");
        for crash in crashes {
            let _ = writeln!(
                t,
                "  {} killed (SIGKILL) at {} ms after {} verified jobs, restarted at {} ms",
                crash["node"].as_str().unwrap_or_default(),
                crash["killed_ms"],
                crash["after_verified"],
                crash["restarted_ms"]
            );
        }
    }
    if let Some(partitions) = r["partitions"].as_array()
        && !partitions.is_empty()
    {
        let _ = writeln!(t, "\npartitions");
        for p in partitions {
            let _ = writeln!(
                t,
                "  {} cut off at {} ms for {} s; back on the market topic at {} ms",
                p["node"].as_str().unwrap_or_default(),
                p["from_ms"],
                p["secs"],
                p["rejoined_ms"]
            );
        }
    }
    let _ = writeln!(
        t,
        "\nverdict: {}",
        r["verdict"].as_str().unwrap_or_default()
    );
    if let Some(problems) = r["problems"].as_array() {
        for p in problems {
            let _ = writeln!(t, "  {}", p.as_str().unwrap_or_default());
        }
    }
    t
}
