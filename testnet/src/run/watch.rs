//! Following a run: submits the workload, follows the jobs and the chain, injects the
//! crashes, until every job and every injected fault has settled.

use super::*;

/// What the workload and the chain did.
pub(super) struct Watched {
    pub(super) jobs: Vec<JobRecord>,
    pub(super) submit_errors: Vec<String>,
    pub(super) observer: Observer,
    pub(super) crashes: Vec<Crash>,
    pub(super) partitions: Vec<Partition>,
    pub(super) unexpected_exits: Vec<String>,
    pub(super) timed_out: bool,
    pub(super) duration_ms: u64,
}

/// Submits the workload, follows the jobs and the chain, injects the crash, and returns
/// once every job and every injected fault has settled (or the timeout passes).
#[allow(clippy::too_many_arguments)]
pub(super) async fn watch(
    args: &UpArgs,
    exe: &Path,
    net: &mut Net,
    ui: &Ui,
    http: &reqwest::Client,
    (owner, provider): (
        &Market<chain::Client>,
        &ethers::providers::Provider<ethers::providers::Http>,
    ),
    circuits: &[Circuit],
    workload: Option<&model::ModelWorkload>,
) -> anyhow::Result<Watched> {
    let started = Instant::now();
    let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut observer = Observer::new(owner.clone(), provider.clone());
    let clients: Vec<usize> = (0..net.nodes.len())
        .filter(|&i| net.nodes[i].0.role == Role::Client)
        .collect();
    let cheaters: Vec<NodeSpec> = net
        .nodes
        .iter()
        .filter(|(s, _)| s.cheat.is_some())
        .map(|(s, _)| s.clone())
        .collect();
    let crash_target = net
        .nodes
        .iter()
        .position(|(s, _)| s.role == Role::Prover && s.cheat.is_none());
    let partition_target = match &args.partition_node {
        Some(name) => Some(
            net.nodes
                .iter()
                .position(|(s, _)| &s.name == name)
                .ok_or_else(|| {
                    anyhow!(
                        "--partition-node {name} is not a node of this testnet (nodes: {})",
                        net.nodes
                            .iter()
                            .map(|(s, _)| s.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
        ),
        None => net
            .nodes
            .iter()
            .rposition(|(s, _)| s.role == Role::Prover && s.cheat.is_none())
            .filter(|&i| Some(i) != crash_target || args.crash_prover_after.is_none()),
    }
    .or(crash_target);
    let mut partitions: Vec<Partition> = Vec::new();
    let mut slowed: Option<u64> = None;
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let mut crashed_after_verified = false;
    let mut kills = kill_schedule(args, net);
    let mut jobs: Vec<JobRecord> = Vec::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut submit_errors = Vec::new();
    let mut crashes = Vec::new();
    let mut unexpected_exits = Vec::new();
    // A fixed number of Poisson arrivals: a Poisson process given that many arrivals in
    // jobs/rate seconds, whose times are uniform and independent there (sorted), so the
    // run offers exactly the rate asked for, only spaced at random.
    let arrivals: Option<Vec<Duration>> =
        (args.arrivals == Arrivals::Poisson && args.duration.is_none()).then(|| {
            let span = args.jobs as f64 / args.rate;
            let mut times: Vec<f64> = (0..args.jobs)
                .map(|_| (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * span)
                .collect();
            times.sort_by(f64::total_cmp);
            times.into_iter().map(Duration::from_secs_f64).collect()
        });
    let origin = Instant::now();
    let mut next_submit = arrivals
        .as_ref()
        .and_then(|times| times.first())
        .map_or(origin, |&t| origin + t);
    let mut last_poll = Instant::now() - Duration::from_secs(1);
    let mut submitted_all_at: Option<Instant> = None;
    // Market events already looked at, and the jobs slashed among them.
    let mut events_read = 0;
    let mut slashed: HashSet<String> = HashSet::new();
    let mut timed_out = false;
    let mut jobs_done_at: Option<Instant> = None;
    let mut attempts = 0usize;
    let (answered_tx, mut answered_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut in_flight = 0usize;
    loop {
        // Submit.
        let more = match args.duration {
            Some(secs) => started.elapsed() < Duration::from_secs(secs),
            None => attempts < args.jobs,
        };
        if more && Instant::now() >= next_submit {
            let n = attempts as u64;
            attempts += 1;
            next_submit = match (&arrivals, args.arrivals) {
                (Some(times), _) => times.get(attempts).map_or(next_submit, |&t| origin + t),
                (None, Arrivals::Uniform) => next_submit + interval,
                // Exponential gaps: -ln(1 - U)/rate, U uniform in [0, 1).
                (None, Arrivals::Poisson) => {
                    let u = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
                    next_submit + Duration::from_secs_f64(-(1.0 - u).ln() / args.rate)
                }
            };
            let circuit = circuits[(rng.next_u64() % circuits.len() as u64) as usize];
            let span = args.price_max - args.price_min;
            let price = args.price_min
                + if span == 0 {
                    0
                } else {
                    u128::from(rng.next_u64()) % (span + 1)
                };
            let client = clients[(n as usize) % clients.len()];
            let body = serde_json::json!({
                "circuit": circuit.name(),
                "input": model::witness(circuit, n, workload).to_string(),
                "max_price": price.to_string(),
                "deadline_secs": args.deadline,
            });
            // Sent by a task of its own: a client slow to answer under load must not
            // hold back the next arrivals.
            let record = JobRecord {
                client: net.nodes[client].0.name.clone(),
                circuit: circuit.name().to_owned(),
                submitted_ms: ms(),
                witness: n,
                ..JobRecord::default()
            };
            let (http, spec, answers) = (
                http.clone(),
                net.nodes[client].0.clone(),
                answered_tx.clone(),
            );
            in_flight += 1;
            tokio::spawn(async move {
                let answer = submit(&http, &spec, &body).await;
                let _ = answers.send((record, answer));
            });
        }
        while let Ok((mut record, answer)) = answered_rx.try_recv() {
            in_flight -= 1;
            match answer {
                Ok(id) => {
                    by_id.insert(id.clone(), jobs.len());
                    record.id = id;
                    jobs.push(record);
                }
                Err(error) => {
                    ui.line(&format!("job {} not submitted: {error:#}", record.witness));
                    submit_errors.push(format!("{error:#}"));
                }
            }
        }
        if !more && in_flight == 0 && submitted_all_at.is_none() {
            submitted_all_at = Some(Instant::now());
            ui.line(&format!("workload submitted: {} jobs", jobs.len()));
        }

        if last_poll.elapsed() >= Duration::from_millis(500) {
            last_poll = Instant::now();
            let now = ms();
            // Processes.
            for (spec, child) in &mut net.nodes {
                if let Some(c) = child
                    && let Some(status) = c.try_wait()?
                {
                    let what = format!(
                        "{} exited unexpectedly ({status}); see {}",
                        spec.name,
                        spec.log_path().display()
                    );
                    ui.line(&what);
                    unexpected_exits.push(what);
                    *child = None;
                }
            }
            if let Some(anvil) = &mut net.anvil
                && let Some(status) = anvil.try_wait()?
            {
                let what = format!(
                    "anvil exited unexpectedly ({status}); see {}",
                    net.dir.join("anvil.log").display()
                );
                ui.line(&what);
                unexpected_exits.push(what);
                net.anvil = None;
            }
            // Jobs.
            for &client in &clients {
                let api = net.nodes[client].0.api();
                let Ok(list) = state::client_jobs::<JobStatus>(http, &api).await else {
                    continue;
                };
                for job in list {
                    let Some(&index) = by_id.get(&job.id) else {
                        continue;
                    };
                    let record = &mut jobs[index];
                    record.first_seen.entry(job.state.clone()).or_insert(now);
                    record.status = job;
                }
            }
            // Chain.
            if let Err(error) = observer.poll(now).await {
                ui.line(&format!("reading the chain: {error:#}"));
            }
            // Only the events this poll added.
            for logged in &observer.events[events_read..] {
                if let ProverMarketEvents::SlashedFilter(s) = &logged.event {
                    let job = provernet_protocol::primitives::to_hex(&s.job_id);
                    ui.line(&format!(
                        "slashed {} for {} on job 0x{}",
                        name_of(net, s.prover),
                        provernet_slashing::fault_name(s.fault),
                        &job[..12]
                    ));
                    slashed.insert(format!("0x{job}"));
                }
            }
            events_read = observer.events.len();
            // The crash.
            let verified = jobs
                .iter()
                .filter(|j| j.first_seen.contains_key("verified") || j.status.state == "paid")
                .count();
            // The crash after N verified jobs, or the next scheduled kill.
            let mut due = None;
            if let (Some(after), Some(target)) = (args.crash_prover_after, crash_target)
                && !crashed_after_verified
                && verified >= after
            {
                crashed_after_verified = true;
                due = Some(target);
            } else if let Some(&(at, target)) = kills.first()
                && now >= at
            {
                kills.remove(0);
                due = Some(target);
            }
            if let Some(target) = due {
                match kill_and_restart(exe, net, ui, target, started, verified).await {
                    Ok(Some(crash)) => crashes.push(crash),
                    Ok(None) => {}
                    Err(what) => {
                        unexpected_exits.push(what);
                        break;
                    }
                }
            }
            // The slowdown.
            if let (Some(at), Some(target)) = (args.slow_prover_at, crash_target)
                && slowed.is_none()
                && started.elapsed() >= Duration::from_secs(at)
            {
                let spec = &net.nodes[target].0;
                let body = serde_json::json!({ "factor": args.slowdown });
                if let Err(error) = dev_post(http, spec, "slowdown", &body).await {
                    let what = format!("cannot slow {}: {error:#}", spec.name);
                    ui.line(&what);
                    unexpected_exits.push(what);
                    break;
                }
                ui.line(&format!(
                    "slowdown: {}'s proofs take {}x as long from now",
                    spec.name, args.slowdown
                ));
                slowed = Some(now);
            }
            // The partition.
            if let (Some(secs), Some(target)) = (args.partition, partition_target)
                && partitions.is_empty()
                && started.elapsed() >= Duration::from_secs(args.partition_at)
            {
                let spec = &net.nodes[target].0;
                let body = serde_json::json!({ "secs": secs });
                if let Err(error) = dev_post(http, spec, "partition", &body).await {
                    let what = format!("cannot partition {}: {error:#}", spec.name);
                    ui.line(&what);
                    unexpected_exits.push(what);
                    break;
                }
                ui.line(&format!(
                    "partition: {} cut off from every peer for {secs} s",
                    spec.name
                ));
                partitions.push(Partition {
                    node: spec.name.clone(),
                    from_ms: now,
                    secs,
                    rejoined_ms: None,
                });
            }
            if let Some(partition) = partitions.last_mut()
                && partition.rejoined_ms.is_none()
                && now > partition.from_ms + partition.secs * 1_000
                && let Some(target) = partition_target
            {
                let url = format!("{}/v1/node", net.nodes[target].0.api());
                if let Ok(response) = http.get(&url).send().await
                    && let Ok(info) = response.json::<serde_json::Value>().await
                    && info["partitioned"] == false
                    && info["topic_peers"].as_u64() >= Some(1)
                {
                    partition.rejoined_ms = Some(now);
                    ui.line(&format!(
                        "partition: {} back on the market topic after {:.1} s",
                        partition.node,
                        (now - partition.from_ms) as f64 / 1_000.0
                    ));
                }
            }
            // Done?
            let injected = read_ledgers(&cheaters);
            let unslashed = injected
                .iter()
                .filter(|i| !slashed.contains(&i.job))
                .count();
            let settled = jobs
                .iter()
                .filter(|j| report::settled(j, |id| slashed.contains(id)))
                .count();
            let total = if more {
                jobs.len().max(args.jobs)
            } else {
                jobs.len()
            };
            let count = |state: &str| jobs.iter().filter(|j| j.status.state == state).count();
            let gas: u64 = observer.txs.iter().map(|t| t.gas).sum();
            ui.update(
                settled,
                total,
                format!(
                    "bidding {} awarded {} accepted {} verified {} paid {} failed {} · faults {} injected, {} slashed · {:.1}M gas",
                    count("bidding"),
                    count("awarded"),
                    count("accepted"),
                    count("verified"),
                    count("paid"),
                    count("failed"),
                    injected.len(),
                    injected.len() - unslashed,
                    gas as f64 / 1e6
                ),
            );
            let partition_over = partitions.iter().all(|p| p.rejoined_ms.is_some())
                && (args.partition.is_none() || !partitions.is_empty());
            let jobs_done = !more && in_flight == 0 && settled == jobs.len() && partition_over;
            if !jobs_done {
                jobs_done_at = None;
            } else if jobs_done_at.is_none() {
                jobs_done_at = Some(Instant::now());
            }
            // Faults not slashed by then never will be (unsampled, or no watchtower).
            let faults_waited = jobs_done_at.is_some_and(|at| at.elapsed() > FAULT_WAIT);
            if jobs_done && (unslashed == 0 || faults_waited) {
                // Let the last claims' and slashes' blocks be read.
                observer.poll(ms()).await.ok();
                break;
            }
            if !unexpected_exits.is_empty() {
                ui.line("stopping the run");
                break;
            }
            if let Some(at) = submitted_all_at
                && at.elapsed() > Duration::from_secs(args.timeout)
            {
                timed_out = true;
                ui.line(&format!(
                    "timed out {} s after the last submission: {} of {} jobs settled, {unslashed} injected faults not slashed",
                    args.timeout,
                    settled,
                    jobs.len()
                ));
                break;
            }
        }
        let tick = Instant::now() + Duration::from_millis(50);
        let wake = if more { tick.min(next_submit) } else { tick };
        tokio::time::sleep_until(wake.into()).await;
    }
    Ok(Watched {
        jobs,
        submit_errors,
        observer,
        crashes,
        partitions,
        unexpected_exits,
        timed_out,
        duration_ms: ms(),
    })
}

/// The node name of an account, else its address.
fn name_of(net: &Net, address: Address) -> String {
    let text = format!("{address:?}");
    net.state
        .nodes
        .iter()
        .find(|n| n.address == text)
        .map_or(text, |n| n.name.clone())
}

/// When (ms into the run) and which node `--kills` kills: the first honest prover and
/// the last watchtower in turn (the first node is every node's bootstrap peer, so it is
/// never killed), at moments drawn uniformly over the workload.
fn kill_schedule(args: &UpArgs, net: &Net) -> Vec<(u64, usize)> {
    let prover = net
        .nodes
        .iter()
        .position(|(s, _)| s.role == Role::Prover && s.cheat.is_none());
    let watchtower = net
        .nodes
        .iter()
        .rposition(|(s, _)| s.role == Role::Watchtower);
    let targets: Vec<usize> = [prover, watchtower].into_iter().flatten().collect();
    if args.kills == 0 || targets.is_empty() {
        return Vec::new();
    }
    let workload_ms = match args.duration {
        Some(secs) => secs * 1_000,
        None => (args.jobs as f64 / args.rate * 1_000.0) as u64,
    }
    .max(10_000);
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x6b69_6c6c);
    let mut times: Vec<u64> = (0..args.kills)
        .map(|_| 3_000 + rng.next_u64() % workload_ms)
        .collect();
    times.sort_unstable();
    times
        .into_iter()
        .enumerate()
        .map(|(i, at)| (at, targets[i % targets.len()]))
        .collect()
}

/// Kills node `index` with SIGKILL and starts it again on its data dir; the crash, or
/// `None` when the node was not running, or what went wrong restarting it.
async fn kill_and_restart(
    exe: &Path,
    net: &mut Net,
    ui: &Ui,
    index: usize,
    started: Instant,
    verified: usize,
) -> Result<Option<Crash>, String> {
    let ms = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let now = ms();
    let (spec, child) = &mut net.nodes[index];
    let Some(c) = child.as_mut() else {
        return Ok(None);
    };
    let pid = c.id();
    let _ = c.kill();
    let _ = c.wait();
    ui.line(&format!(
        "crash: killed {} (pid {pid}) with SIGKILL, {verified} jobs verified so far",
        spec.name
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let restarted = match procs::spawn(exe, spec) {
        Ok(restarted) => restarted,
        Err(error) => {
            let what = format!("cannot restart {}: {error:#}", spec.name);
            ui.line(&what);
            *child = None;
            return Err(what);
        }
    };
    let (name, new_pid, marker) = (
        spec.name.clone(),
        restarted.id(),
        spec.config_path().display().to_string(),
    );
    *child = Some(restarted);
    let restarted_ms = ms();
    net.record(&name, new_pid, marker);
    ui.line(&format!(
        "crash: restarted {name} (pid {new_pid}) on its data dir"
    ));
    Ok(Some(Crash {
        node: name,
        killed_ms: now,
        restarted_ms,
        after_verified: verified,
    }))
}

/// Submits one job; its id.
async fn submit(
    http: &reqwest::Client,
    node: &NodeSpec,
    body: &serde_json::Value,
) -> anyhow::Result<String> {
    let api = node.api();
    let response = http
        .post(format!("{api}/v1/jobs"))
        .bearer_auth(node.api_token()?)
        .json(body)
        .send()
        .await
        .with_context(|| format!("POST {api}/v1/jobs"))?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "{status}: {}",
            answer["error"].as_str().unwrap_or("no error message")
        );
    }
    answer["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("the answer has no job id"))
}

/// `POST /v1/dev/{path}` with `body` to `spec`'s API, with its token.
async fn dev_post(
    http: &reqwest::Client,
    spec: &NodeSpec,
    path: &str,
    body: &serde_json::Value,
) -> anyhow::Result<()> {
    let token = spec.api_token()?;
    http.post(format!("{}/v1/dev/{path}", spec.api()))
        .bearer_auth(token)
        .json(body)
        .send()
        .await?
        .error_for_status()?;
    Ok(())
}
