//! What a run measures besides the jobs: CPU per node, gossip propagation, raw proving
//! time.

use super::*;

/// Each running node's pid and the CPU time (user + system) it has used, in ticks.
pub(super) fn cpu_ticks(net: &Net) -> BTreeMap<String, (u32, u64)> {
    net.nodes
        .iter()
        .filter_map(|(spec, child)| {
            let pid = child.as_ref()?.id();
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the command name, which is in parentheses and may hold spaces:
            // fields 3.. of proc(5); utime and stime are fields 14 and 15.
            let rest = &stat[stat.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split(' ').collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some((spec.name.clone(), (pid, utime + stime)))
        })
        .collect()
}

/// Gossip propagation from the nodes' arrival logs (`/v1/dev/arrivals`): for every
/// message whose publication one node logged, the delay to its first arrival at each
/// other node. `None` when no node answered.
pub(super) async fn gossip(http: &reqwest::Client, net: &Net) -> Option<report::Gossip> {
    #[derive(serde::Deserialize)]
    struct Arrival {
        id: String,
        at_ms: u64,
        own: bool,
    }
    let mut logs = Vec::new();
    for (spec, child) in &net.nodes {
        if child.is_none() {
            continue;
        }
        let url = format!("{}/v1/dev/arrivals", spec.api());
        if let Ok(response) = http.get(&url).send().await
            && let Ok(log) = response.json::<Vec<Arrival>>().await
        {
            logs.push(log);
        }
    }
    if logs.is_empty() {
        return None;
    }
    let mut published: HashMap<&str, u64> = HashMap::new();
    for log in &logs {
        for a in log.iter().filter(|a| a.own) {
            published.insert(&a.id, a.at_ms);
        }
    }
    let mut delays = Vec::new();
    let mut reached: HashMap<&str, usize> = HashMap::new();
    for log in &logs {
        for a in log.iter().filter(|a| !a.own) {
            if let Some(&at) = published.get(a.id.as_str()) {
                delays.push(a.at_ms.saturating_sub(at));
                *reached.entry(&a.id).or_default() += 1;
            }
        }
    }
    let others = (logs.len() - 1).max(1) as f64;
    let coverage = if published.is_empty() {
        0.0
    } else {
        published
            .keys()
            .map(|id| reached.get(id).copied().unwrap_or(0) as f64 / others)
            .sum::<f64>()
            / published.len() as f64
    };
    Some(report::Gossip {
        delays_ms: delays,
        messages: published.len(),
        coverage,
    })
}

/// Proves each verified job's witness again through the library alone (the call a
/// prover node makes, without the node), one at a time, three times: its raw proving
/// time is the median, ms (a single proof on this kind of machine varies by ±20 %).
pub(super) async fn raw_prove(
    jobs: &[JobRecord],
    cache_dir: &Path,
    solc: &Path,
) -> anyhow::Result<BTreeMap<String, u64>> {
    let work: Vec<(String, Circuit, u64)> = jobs
        .iter()
        .filter(|j| j.status.e2e_ms.is_some())
        .filter_map(|j| Some((j.id.clone(), j.circuit.parse().ok()?, j.witness)))
        .collect();
    let config = provernet_circuits::prover::ProverConfig {
        solc: solc.to_owned(),
        ..provernet_circuits::prover::ProverConfig::new(
            provernet_circuits::srs::SrsSource::DevInsecure,
            cache_dir.to_owned(),
        )
    };
    tokio::task::spawn_blocking(move || {
        let prover =
            provernet_circuits::prover::Prover::new(&config).context("cannot load the dev SRS")?;
        let mut raw = BTreeMap::new();
        for (id, circuit, n) in work {
            // Keys are loaded (or built) before the clock starts, as a node holds them.
            prover.keys(circuit)?;
            let witness = circuit.parse_witness(&circuit.numbered_witness(n))?;
            let mut times = Vec::new();
            for _ in 0..3 {
                let started = Instant::now();
                prover.prove(&witness)?;
                times.push(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            }
            times.sort_unstable();
            raw.insert(id, times[1]);
        }
        anyhow::Ok(raw)
    })
    .await?
}

/// The mean proving time a prover's `/metrics` reports, ms.
pub(super) async fn prove_mean_ms(http: &reqwest::Client, api: &str) -> Option<f64> {
    let text = http
        .get(format!("{api}/metrics"))
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
    };
    let sum = value("provernet_market_prove_seconds_sum")?;
    let count = value("provernet_market_prove_seconds_count")?;
    (count > 0.0).then(|| sum / count * 1_000.0)
}
