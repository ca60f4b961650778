//! The run's report: `report.txt`, `report.json` and the plots, from what the clients'
//! APIs, the chain and the cheaters' own ledgers say.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context as _;
use ethers::types::{Address, U256};
use provernet_protocol::primitives::to_hex;
use provernet_slashing::bindings::ProverMarketEvents;
use serde_json::{Value, json};

use provernet_slashing::fault_name;

use crate::args::{CheatKind, UpArgs};
use crate::chain::{Balances, Logged, Tx, Verifier};
use crate::procs::Role;

/// A client job as its node's API shows it (`GET /v1/jobs`; the node's `JobStatus`,
/// docs/operating.md). Fields this crate does not use are left out.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct JobStatus {
    /// The id given at submission.
    pub id: String,
    /// The current round's id (on chain).
    pub current_id: String,
    /// Its state.
    pub state: String,
    /// Its auction round.
    pub round: u32,
    /// The winning prover's address.
    pub prover: Option<String>,
    /// The price, wei.
    pub price: Option<String>,
    /// Submission to award, ms (the client's measure).
    pub award_ms: Option<u64>,
    /// Submission to verified proof, ms (the client's measure).
    pub e2e_ms: Option<u64>,
    /// Earlier rounds.
    pub history: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// One job of the workload as the testnet followed it.
#[derive(Clone, Debug, Default)]
pub struct JobRecord {
    /// The id the client gave it.
    pub id: String,
    /// Which client node.
    pub client: String,
    /// Its circuit.
    pub circuit: String,
    /// Submission time, ms into the run.
    pub submitted_ms: u64,
    /// When each state was first seen, ms into the run (polled every 0.5 s).
    pub first_seen: BTreeMap<String, u64>,
    /// The number its witness was made from (`Circuit::numbered_witness`).
    pub witness: u64,
    /// What its client said last.
    pub status: JobStatus,
}

/// A fault a cheating prover recorded committing.
#[derive(Clone, Debug)]
pub struct Injected {
    /// The cheater.
    pub prover: String,
    /// The on-chain job id, 0x-hex.
    pub job: String,
    /// How it cheated.
    pub kind: CheatKind,
}

/// A prover killed and restarted.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Crash {
    /// Which.
    pub node: String,
    /// When it was killed, ms into the run.
    pub killed_ms: u64,
    /// When it was started again.
    pub restarted_ms: u64,
    /// Verified jobs when it was killed.
    pub after_verified: usize,
}

/// A node cut off from its peers for a while.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Partition {
    /// Which.
    pub node: String,
    /// When it was cut off, ms into the run.
    pub from_ms: u64,
    /// For how long, s.
    pub secs: u64,
    /// When it was seen back on the market topic, ms into the run.
    pub rejoined_ms: Option<u64>,
}

/// A node with its balances before and after the workload.
#[derive(Clone, Debug)]
pub struct NodeRecord {
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// Its account.
    pub address: Address,
    /// How it cheats.
    pub cheat: Option<CheatKind>,
    /// Balances before the workload.
    pub before: Balances,
    /// Balances after.
    pub after: Balances,
}

/// Everything the report is made from.
pub struct RunData {
    /// The flags.
    pub args: UpArgs,
    /// The testnet directory.
    pub dir: PathBuf,
    /// Verifiers deployed.
    pub verifiers: Vec<Verifier>,
    /// The nodes.
    pub nodes: Vec<NodeRecord>,
    /// The jobs.
    pub jobs: Vec<JobRecord>,
    /// Submissions the client refused.
    pub submit_errors: Vec<String>,
    /// Market events.
    pub events: Vec<Logged>,
    /// Every transaction.
    pub txs: Vec<Tx>,
    /// Faults the cheaters recorded.
    pub injected: Vec<Injected>,
    /// Crashes injected.
    pub crashes: Vec<Crash>,
    /// Partitions injected.
    pub partitions: Vec<Partition>,
    /// Nodes that died on their own.
    pub unexpected_exits: Vec<String>,
    /// Whether the run gave up waiting.
    pub timed_out: bool,
    /// Workload start to end of watching, ms.
    pub duration_ms: u64,
    /// Mean proving time per prover, from its metrics, ms.
    pub prove_ms: Vec<(String, f64)>,
    /// CPU seconds each node's process used over the workload (nodes restarted in
    /// between are left out).
    pub cpu_s: Vec<(String, f64)>,
    /// Gossip propagation: for each message, ms from its publication to its first
    /// arrival at each other node, and how many nodes it reached.
    pub gossip: Option<Gossip>,
    /// Per verified job, its raw proving time through the library alone (`--raw-prove`),
    /// by client job id.
    pub raw_prove_ms: BTreeMap<String, u64>,
}

/// Gossip propagation delays, matched across the nodes' arrival logs.
#[derive(Clone, Debug, Default)]
pub struct Gossip {
    /// Publication to first arrival, ms, one value per (message, receiving node).
    pub delays_ms: Vec<u64>,
    /// Messages whose publication was seen.
    pub messages: usize,
    /// Over those messages, the mean share of the other nodes each reached.
    pub coverage: f64,
}

/// The written report.
pub struct Written {
    /// The report as `report.json` holds it.
    pub json: Value,
    /// The text report.
    pub text: String,
    /// What went wrong (empty for a clean run).
    pub problems: Vec<String>,
}

/// Whether a job has settled: paid, failed, or verified by a prover later slashed for
/// it (the client has its proof and a refund; the fee is never paid).
pub fn settled(job: &JobRecord, slashed: impl Fn(&str) -> bool) -> bool {
    match job.status.state.as_str() {
        "paid" | "failed" => true,
        "verified" => slashed(&job.status.current_id),
        _ => false,
    }
}

/// p50, p99, max, mean and count of `values` (nearest rank).
fn stats(values: &[u64]) -> Value {
    if values.is_empty() {
        return json!({ "n": 0 });
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        sorted[index]
    };
    json!({
        "n": sorted.len(),
        "p50": rank(0.50),
        "p99": rank(0.99),
        "max": sorted[sorted.len() - 1],
        "mean": sorted.iter().sum::<u64>() / sorted.len() as u64,
    })
}

/// The workload's wall time, each node's CPU seconds over it, and the mean and largest
/// share of one core a node used (`null` without nodes).
fn cpu_json(cpu_s: &[(String, f64)], wall_ms: u64) -> Value {
    let wall = (wall_ms as f64 / 1_000.0).max(1e-3);
    let shares: Vec<f64> = cpu_s.iter().map(|(_, s)| s / wall * 100.0).collect();
    let round = |v: f64| (v * 10.0).round() / 10.0;
    json!({
        "wall_s": wall,
        "by_node_s": cpu_s.iter().map(|(n, s)| (n.clone(), json!((s * 100.0).round() / 100.0))).collect::<serde_json::Map<_, _>>(),
        "mean_pct": (!shares.is_empty()).then(|| round(shares.iter().sum::<f64>() / shares.len() as f64)),
        "max_pct": (!shares.is_empty()).then(|| round(shares.iter().copied().fold(0.0, f64::max))),
        "nodes": shares.len(),
    })
}

/// p50, p99, max and count of `values` (nearest rank), to three decimals.
fn stats_f(values: &[f64]) -> Value {
    if values.is_empty() {
        return json!({ "n": 0 });
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = |p: f64| {
        let index = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
        (sorted[index] * 1e3).round() / 1e3
    };
    json!({
        "n": sorted.len(),
        "p50": rank(0.50),
        "p99": rank(0.99),
        "max": rank(1.0),
    })
}

fn eth(wei: &str) -> f64 {
    U256::from_dec_str(wei).map_or(0.0, |w| {
        // Two steps keep the precision an f64 can show.
        let gwei = w / U256::exp10(9);
        gwei.low_u128() as f64 / 1e9
    })
}

fn delta(before: &str, after: &str) -> f64 {
    eth(after) - eth(before)
}

fn hex32(bytes: &[u8; 32]) -> String {
    format!("0x{}", to_hex(bytes))
}

/// Builds and writes the report, the JSON and the plots into the testnet directory.
///
/// # Errors
/// A file cannot be written.
#[allow(clippy::too_many_lines)]
pub fn write(data: &RunData) -> anyhow::Result<Written> {
    let args = &data.args;
    let jobs = &data.jobs;
    let count = |f: &dyn Fn(&JobRecord) -> bool| jobs.iter().filter(|j| f(j)).count();
    let verified = count(&|j| j.status.state == "verified" || j.status.state == "paid");
    let claimed = count(&|j| j.status.state == "paid");
    let failed = count(&|j| j.status.state == "failed");
    let awarded = count(&|j| j.status.prover.is_some());

    // Chain events.
    let mut slashes = Vec::new();
    let mut opened = 0usize;
    let mut false_challenges = 0usize;
    let mut committed_leaves = 0u64;
    let mut batches = 0usize;
    for logged in &data.events {
        match &logged.event {
            ProverMarketEvents::SlashedFilter(s) => slashes.push((s.clone(), logged.seen_ms)),
            ProverMarketEvents::ChallengeOpenedFilter(_) => opened += 1,
            ProverMarketEvents::FalseChallengeFilter(_) => false_challenges += 1,
            ProverMarketEvents::BatchCommittedFilter(b) => {
                batches += 1;
                committed_leaves += u64::from(b.count);
            }
            _ => {}
        }
    }
    let slashed_ids: BTreeSet<String> = slashes.iter().map(|(s, _)| hex32(&s.job_id)).collect();
    let verified_slashed =
        count(&|j| j.status.state == "verified" && slashed_ids.contains(&j.status.current_id));
    let unsettled = count(&|j| !settled(j, |id| slashed_ids.contains(id)));
    let name_of = |address: Address| {
        data.nodes
            .iter()
            .find(|n| n.address == address)
            .map_or_else(|| format!("{address:?}"), |n| n.name.clone())
    };
    let honest: HashSet<Address> = data
        .nodes
        .iter()
        .filter(|n| n.role == Role::Prover && n.cheat.is_none())
        .map(|n| n.address)
        .collect();
    let honest_names: HashSet<String> = honest.iter().map(|a| format!("{a:?}")).collect();
    let by_honest = |j: &JobRecord| {
        j.status
            .prover
            .as_ref()
            .is_some_and(|p| honest_names.contains(&p.to_lowercase()))
    };
    let honest_jobs = count(&by_honest);
    let honest_claimed = count(&|j| by_honest(j) && j.status.state == "paid");
    let honest_slashed: BTreeSet<String> = slashes
        .iter()
        .filter(|(s, _)| honest.contains(&s.prover))
        .map(|(s, _)| name_of(s.prover))
        .collect();

    // Faults.
    let kinds = [
        CheatKind::Invalid,
        CheatKind::Withhold,
        CheatKind::Late,
        CheatKind::Equivocate,
    ];
    let mut faults = serde_json::Map::new();
    let mut missed = Vec::new();
    for kind in kinds {
        let injected: Vec<&Injected> = data.injected.iter().filter(|i| i.kind == kind).collect();
        let caught = injected
            .iter()
            .filter(|i| slashed_ids.contains(&i.job))
            .count();
        for i in &injected {
            if !slashed_ids.contains(&i.job) {
                missed.push(format!(
                    "{} {} on job {}",
                    i.prover,
                    kind.node_mode(),
                    i.job
                ));
            }
        }
        let slashed_total = slashes
            .iter()
            .filter(|(s, _)| s.fault == kind.fault())
            .count();
        faults.insert(
            kind.fault_name().to_owned(),
            json!({
                "injected": injected.len(),
                "injected_slashed": caught,
                "slashed": slashed_total,
            }),
        );
    }

    // Latency.
    let e2e: Vec<u64> = jobs.iter().filter_map(|j| j.status.e2e_ms).collect();
    let award: Vec<u64> = jobs.iter().filter_map(|j| j.status.award_ms).collect();
    let deliver: Vec<u64> = jobs
        .iter()
        .filter_map(|j| Some(j.status.e2e_ms?.saturating_sub(j.status.award_ms?)))
        .collect();
    let settle: Vec<u64> = jobs
        .iter()
        .filter_map(|j| {
            let paid = *j.first_seen.get("paid")?;
            let verified = j.first_seen.get("verified").copied().unwrap_or(paid);
            Some(paid.saturating_sub(verified))
        })
        .collect();

    // Raw proving (`--raw-prove`): e2e ÷ the job's proving time through the library alone.
    let mut raw = Vec::new();
    let mut ratios = Vec::new();
    let mut overheads = Vec::new();
    for job in jobs {
        if let (Some(&r), Some(e2e)) = (data.raw_prove_ms.get(&job.id), job.status.e2e_ms)
            && r > 0
        {
            raw.push(r);
            ratios.push(e2e as f64 / r as f64);
            overheads.push(e2e.saturating_sub(r));
        }
    }

    // Gas.
    let mut by_function: BTreeMap<String, (u64, u64, u64)> = BTreeMap::new();
    for tx in &data.txs {
        let entry = by_function.entry(tx.function.clone()).or_default();
        entry.0 += 1;
        entry.1 += tx.gas;
        if !tx.ok {
            entry.2 += 1;
        }
    }
    let prover_addresses: HashSet<Address> = data
        .nodes
        .iter()
        .filter(|n| n.role == Role::Prover)
        .map(|n| n.address)
        .collect();
    let settle_gas: u64 = data
        .txs
        .iter()
        .filter(|t| {
            t.ok && prover_addresses.contains(&t.from)
                && matches!(t.function.as_str(), "commitBatch" | "claimBatch" | "claim")
        })
        .map(|t| t.gas)
        .sum();
    let per_settled_job = (claimed > 0).then(|| settle_gas / claimed as u64);
    let challenge_functions = [
        "challengeInvalidProof",
        "challengeWithheldProof",
        "challengeMissedDeadline",
        "challengeEquivocation",
        "finalizeChallenge",
        "revealProof",
        "answerMissedDeadline",
    ];
    let mut per_challenge = serde_json::Map::new();
    for function in challenge_functions {
        if let Some(&(n, total, _)) = by_function.get(function) {
            per_challenge.insert(function.to_owned(), json!(total / n));
        }
    }

    // Invariants a crash must not break: every leaf an honest prover committed was paid
    // (none committed twice, no claim lost), and no job was challenged twice for one fault.
    let mut honest_committed = 0u64;
    let mut honest_paid = 0u64;
    let mut opened_per: BTreeMap<(String, u8), usize> = BTreeMap::new();
    let mut slashed_per: BTreeMap<String, usize> = BTreeMap::new();
    for logged in &data.events {
        match &logged.event {
            ProverMarketEvents::BatchCommittedFilter(b) if honest.contains(&b.prover) => {
                honest_committed += u64::from(b.count);
            }
            ProverMarketEvents::BatchFeesClaimedFilter(f) if honest.contains(&f.prover) => {
                honest_paid += (f.indices.len() / 4) as u64;
            }
            ProverMarketEvents::ChallengeOpenedFilter(c) => {
                *opened_per.entry((hex32(&c.job_id), c.fault)).or_default() += 1;
            }
            ProverMarketEvents::SlashedFilter(s) => {
                *slashed_per.entry(hex32(&s.job_id)).or_default() += 1;
            }
            _ => {}
        }
    }
    let challenges_repeated = opened_per.values().filter(|&&n| n > 1).count()
        + slashed_per.values().filter(|&&n| n > 1).count();
    // A job an honest prover was slashed for (a kill made it miss its deadline, say) may
    // have a leaf committed too late to be paid: at most one per such job.
    let honest_jobs_slashed = slashes
        .iter()
        .filter(|(s, _)| honest.contains(&s.prover))
        .count() as u64;
    let leaves_unaccounted =
        !(honest_paid..=honest_paid + honest_jobs_slashed).contains(&honest_committed);
    let invariant_violations = usize::from(!data.timed_out && leaves_unaccounted)
        + challenges_repeated
        + usize::from(args.sample_rate >= 1.0 && args.watchtowers > 0 && !missed.is_empty());
    let challenge_reverted: u64 = challenge_functions
        .iter()
        .filter_map(|f| by_function.get(*f))
        .map(|&(_, _, reverted)| reverted)
        .sum();

    // Problems.
    let mut problems = Vec::new();
    if !data.timed_out && leaves_unaccounted {
        problems.push(format!(
            "honest provers committed {honest_committed} leaves, were paid for {honest_paid} \
             and slashed on {honest_jobs_slashed} jobs: a job committed twice or a claim lost"
        ));
    }
    if challenges_repeated > 0 {
        problems.push(format!(
            "{challenges_repeated} jobs challenged or slashed twice for one fault"
        ));
    }
    if data.timed_out {
        problems.push(format!("timed out with {unsettled} jobs unsettled"));
    }
    problems.extend(data.unexpected_exits.iter().cloned());
    for p in &data.partitions {
        if p.rejoined_ms.is_none() {
            problems.push(format!("{} did not rejoin after its partition", p.node));
        }
    }
    if failed > 0 {
        problems.push(format!("{failed} jobs failed"));
    }
    if !data.submit_errors.is_empty() {
        problems.push(format!(
            "{} jobs were refused at submission",
            data.submit_errors.len()
        ));
    }
    if !honest_slashed.is_empty() {
        problems.push(format!(
            "honest provers slashed: {}",
            honest_slashed
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // Every fault must be caught only when every job is audited by someone.
    if !missed.is_empty() && args.sample_rate >= 1.0 && args.watchtowers > 0 {
        problems.push(format!("{} injected faults not slashed", missed.len()));
    }

    let nodes: Vec<Value> = data
        .nodes
        .iter()
        .map(|n| {
            json!({
                "name": n.name,
                "role": n.role,
                "address": format!("{:?}", n.address),
                "cheat": n.cheat.map(CheatKind::node_mode),
                "before": n.before,
                "after": n.after,
                "change_eth": {
                    "eth": delta(&n.before.eth, &n.after.eth),
                    "stake": delta(&n.before.stake, &n.after.stake),
                    "credits": delta(&n.before.credits, &n.after.credits),
                    "deposit": delta(&n.before.deposit, &n.after.deposit),
                },
            })
        })
        .collect();
    let report = json!({
        "verdict": if problems.is_empty() { "ok" } else { "problems" },
        "problems": problems,
        "duration_ms": data.duration_ms,
        "config": {
            "provers": args.provers,
            "watchtowers": args.watchtowers,
            "clients": args.clients,
            "jobs": args.jobs,
            "duration": args.duration,
            "rate": args.rate,
            "circuits": args.circuits,
            "cheaters": args.cheaters,
            "cheat": args.cheat.iter().map(|c| c.node_mode()).collect::<Vec<_>>(),
            "cheat_rate": args.cheat_rate,
            "crash_prover_after": args.crash_prover_after,
            "kills": args.kills,
            "relays": args.relays,
            "sample_rate": args.sample_rate,
            "deadline_secs": args.deadline,
            "seed": args.seed,
        },
        "jobs": {
            "submitted": jobs.len(),
            "refused_at_submission": data.submit_errors.len(),
            "awarded": awarded,
            "verified": verified,
            "claimed": claimed,
            "verified_prover_slashed": verified_slashed,
            "failed": failed,
            "by_honest_provers": honest_jobs,
            "by_honest_provers_claimed": honest_claimed,
            "unsettled": unsettled,
            "slashed": slashed_ids.len(),
            "reauctioned": count(&|j| j.status.round > 0),
        },
        "chain": {
            "batches_committed": batches,
            "leaves_committed": committed_leaves,
            "challenges_opened": opened,
            "false_challenges": false_challenges,
            "slashes": slashes.len(),
        },
        "invariants": {
            "honest_leaves_committed": honest_committed,
            "honest_leaves_paid": honest_paid,
            "honest_jobs_slashed": honest_jobs_slashed,
            "violations": invariant_violations,
            "challenges_repeated": challenges_repeated,
            "challenge_txs_reverted": challenge_reverted,
        },
        "faults": faults,
        "faults_missed": missed,
        "honest_provers_slashed": honest_slashed.len(),
        "latency_ms": {
            "e2e": stats(&e2e),
            "award": stats(&award),
            "prove_and_deliver": stats(&deliver),
            "verified_to_claimed": stats(&settle),
            "e2e_over_raw_prove": stats_f(&ratios),
            "e2e_minus_raw_prove": stats(&overheads),
            "raw_prove": stats(&raw),
            "prove_mean_by_prover": data.prove_ms.iter().map(|(n, ms)| (n.clone(), json!(ms.round()))).collect::<serde_json::Map<_, _>>(),
        },
        "gas": {
            "per_settled_job": per_settled_job,
            "commit_and_claim_total": settle_gas,
            "per_challenge": per_challenge,
            "by_function": by_function.iter().map(|(f, (n, total, reverted))| {
                (f.clone(), json!({ "count": n, "total": total, "mean": total / n, "reverted": reverted }))
            }).collect::<serde_json::Map<_, _>>(),
        },
        "gossip": data.gossip.as_ref().map(|g| json!({
            "messages": g.messages,
            "deliveries": g.delays_ms.len(),
            "coverage": g.coverage,
            "delay_ms": stats(&g.delays_ms),
        })),
        "cpu": cpu_json(&data.cpu_s, data.duration_ms),
        "verifiers": data.verifiers,
        "nodes": nodes,
        "crashes": data.crashes,
        "partitions": data.partitions,
        "jobs_detail": jobs.iter().map(|j| json!({
            "id": j.id,
            "current_id": j.status.current_id,
            "client": j.client,
            "circuit": j.circuit,
            "state": j.status.state,
            "round": j.status.round,
            "prover": j.status.prover.as_deref().and_then(|p| p.parse::<Address>().ok()).map(name_of),
            "price": j.status.price,
            "submitted_ms": j.submitted_ms,
            "award_ms": j.status.award_ms,
            "e2e_ms": j.status.e2e_ms,
            "raw_prove_ms": data.raw_prove_ms.get(&j.id),
            "first_seen_ms": j.first_seen,
            "history": j.status.history,
            "error": j.status.error,
        })).collect::<Vec<_>>(),
        "slashes": slashes.iter().map(|(s, seen)| json!({
            "prover": name_of(s.prover),
            "job": hex32(&s.job_id),
            "fault": fault_name(s.fault),
            "challenger": name_of(s.challenger),
            "amount_eth": eth(&s.amount.to_string()),
            "seen_ms": seen,
        })).collect::<Vec<_>>(),
    });

    let text = text_report(&report);
    let dir = &data.dir;
    std::fs::write(dir.join("report.json"), serde_json::to_vec_pretty(&report)?)
        .context("cannot write report.json")?;
    std::fs::write(dir.join("report.txt"), &text).context("cannot write report.txt")?;
    crate::plot::latency(&dir.join("latency.svg"), jobs)?;
    let slash_times: Vec<u64> = slashes.iter().map(|(_, seen)| *seen).collect();
    crate::plot::progress(&dir.join("progress.svg"), jobs, &slash_times)?;
    Ok(Written {
        text,
        json: report.clone(),
        problems: report["problems"]
            .as_array()
            .map(|p| {
                p.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The report as text, from its JSON.
fn text_report(r: &Value) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        let s = stats(&values);
        assert_eq!((s["p50"].as_u64(), s["p99"].as_u64()), (Some(50), Some(99)));
        assert_eq!((s["max"].as_u64(), s["n"].as_u64()), (Some(100), Some(100)));
        let one = stats(&[7]);
        assert_eq!(
            (one["p50"].as_u64(), one["p99"].as_u64()),
            (Some(7), Some(7))
        );
        assert_eq!(stats(&[])["n"], 0);
    }

    #[test]
    fn a_verified_job_is_settled_only_once_its_prover_is_slashed_for_it() {
        let job = |state: &str| JobRecord {
            status: JobStatus {
                state: state.into(),
                current_id: "0xab".into(),
                ..JobStatus::default()
            },
            ..JobRecord::default()
        };
        assert!(settled(&job("paid"), |_| false));
        assert!(settled(&job("failed"), |_| false));
        assert!(!settled(&job("verified"), |_| false));
        assert!(settled(&job("verified"), |id| id == "0xab"));
        assert!(!settled(&job("accepted"), |_| true));
    }

    #[test]
    fn ether_amounts_are_read_from_wei() {
        assert!((eth("1500000000000000000") - 1.5).abs() < 1e-12);
        assert!((delta("2000000000000000000", "500000000000000000") + 1.5).abs() < 1e-12);
        assert_eq!(eth("not a number"), 0.0);
    }
}
