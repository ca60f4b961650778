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

mod figures;
mod text;

pub use figures::figures;
use text::text_report;

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
            "arrivals": args.arrivals,
            "slow_prover_at": args.slow_prover_at,
            "slowdown": args.slow_prover_at.map(|_| args.slowdown),
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
