//! Watchtowers on a real anvil with real proofs: each way a prover can cheat is caught
//! and slashed within the window, the challenger paid and the client refunded; an honest
//! prover is never challenged; and sampling catches a cheater as often as
//! `1 − (1 − p)^w` says. (A false challenge losing its bond: `false_challenge.rs`.)

use ethers::signers::Signer as _;
use ethers::types::{Address, U256};
use provernet_circuits::Circuit;
use provernet_node::config::{Cheat, CheatMode, NodeConfig};
use provernet_node::metrics::{ChallengeOutcome, kind};
use provernet_node::service::{NodeHandle, sampled};
use provernet_node::store::LeafState;
use provernet_protocol::{Address as ProtocolAddress, CircuitId, Hash32, JobId, JobLeaf};
use provernet_slashing::Market;
use provernet_slashing::bindings::{ProverMarketEvents, SlashedFilter};

use provernet_node::network::scoring::PeerAction;

use crate::support::{
    Testnet, all_claimed, eth, eventually, state_of, submit, wait_for_state, watch_params,
};

/// Wallets: the client, the prover, two watchtowers, a challenger acting by hand.
const CLIENT: u32 = 1;
const PROVER: u32 = 3;
const TOWERS: [u32; 2] = [5, 6];
pub(crate) const BY_HAND: u32 = 7;

/// A market on 1-second blocks with the poseidon-chain-12 verifier registered, a client
/// with a 1 ETH deposit, and one prover proving `circuit`, configured further by
/// `prover`; the client and prover nodes are started and meshed.
pub(crate) async fn one_prover_market(
    circuit: Circuit,
    client_rounds: u32,
    prover: impl FnOnce(&mut NodeConfig),
) -> (Testnet, NodeHandle, NodeHandle) {
    let mut net = Testnet::with_params(watch_params()).await;
    net.register_verifier(Circuit::PoseidonChain12).await;
    net.register_prover(PROVER).await;
    net.deposit(CLIENT, "1").await;
    let mut config = net.config("client", false, true);
    config.client.max_rounds = client_rounds;
    let client = net.start(config, CLIENT).await;
    let mut config = net.config("prover", true, false);
    config.prover.circuits = vec![circuit.name().into()];
    prover(&mut config);
    let prover = net.start(config, PROVER).await;
    net.wait_for_mesh(1).await;
    (net, client, prover)
}

/// [`one_prover_market`] whose client runs one auction round per job (a cheated job is
/// not re-auctioned) and whose prover cheats on every job in `mode`, with two
/// watchtowers auditing every job.
async fn cheating_market(mode: CheatMode, silent: bool) -> (Testnet, Vec<NodeHandle>) {
    let (mut net, client, prover) = one_prover_market(Circuit::PoseidonChain12, 1, |c| {
        c.prover.cheat = Some(Cheat {
            mode,
            rate: 1.0,
            silent,
        });
    })
    .await;
    let mut nodes = vec![client, prover];
    for (i, wallet) in TOWERS.iter().enumerate() {
        let config = net.watchtower_config(&format!("tower-{i}"), 1.0);
        nodes.push(net.start(config, *wallet).await);
    }
    net.wait_for_mesh(3).await;
    (net, nodes)
}

/// A watchtower's count of its challenges of `kind_label` that ended in `outcome`.
fn counter(node: &NodeHandle, kind_label: &str, outcome: &str) -> u64 {
    node.metrics
        .watch
        .challenges
        .get_or_create(&ChallengeOutcome {
            kind: kind_label.to_owned(),
            outcome: outcome.to_owned(),
        })
        .get()
}

/// What every cheating test checks once its slashes happened: each challenger is one of
/// `challengers` and was credited its reward, the client got every refund and paid
/// nothing, no slashed job was ever paid although the prover tried to claim its batches,
/// and the challengers' metrics count the slashes.
async fn check_slashes(
    net: &Testnet,
    nodes: &[NodeHandle],
    slashes: &[SlashedFilter],
    challengers: &[usize],
    kind_label: &str,
) {
    let mut refunds = U256::zero();
    for slash in slashes {
        let challenger = challengers
            .iter()
            .map(|i| &nodes[*i])
            .find(|n| n.address == slash.challenger)
            .unwrap_or_else(|| panic!("challenger {:?} is not a watcher", slash.challenger));
        assert!(slash.reward > U256::zero() && slash.refund > U256::zero());
        assert!(
            net.owner
                .credits(challenger.address)
                .await
                .expect("credits")
                >= slash.reward,
            "the challenger was credited its reward"
        );
        refunds += slash.refund;
    }
    // Every slash takes the fixed slash per job.
    for slash in slashes {
        assert_eq!(slash.amount, eth("0.01"));
    }
    // The watchtowers read the events a moment after the test does.
    eventually(10, "the metrics count every slash", || async {
        let counted: u64 = challengers
            .iter()
            .map(|i| counter(&nodes[*i], kind_label, "slashed"))
            .sum();
        (counted == slashes.len() as u64).then_some(())
    })
    .await;
    for slash in slashes {
        let challenger = nodes.iter().find(|n| n.address == slash.challenger);
        assert!(challenger.is_some_and(|c| c.metrics.watch.rewards_gwei.get() > 0));
    }
    assert_eq!(
        net.deposit_of(CLIENT).await,
        eth("1") + refunds,
        "the client was refunded and paid nothing"
    );
    print_gas(nodes);
    // The prover's claims of its batches end (every job refused or paid) without paying
    // a slashed job.
    let prover = &nodes[1];
    all_claimed(prover, false, 60).await;
    for slash in slashes {
        let nonce = nonce_of(net, &JobId(slash.job_id)).await;
        let paid = net
            .owner
            .contract()
            .is_paid(slash.client, slash.prover, nonce)
            .call()
            .await
            .expect("isPaid");
        assert!(!paid, "a slashed job is never paid");
    }
}

/// Every slash of `prover` for `fault`, once there are `n`.
async fn slashes_of(
    net: &Testnet,
    prover: Address,
    fault: u8,
    n: usize,
    secs: u64,
) -> Vec<SlashedFilter> {
    eventually(secs, "the slashes", || async {
        let slashes: Vec<SlashedFilter> = net
            .events()
            .await
            .into_iter()
            .filter_map(|e| match e {
                ProverMarketEvents::SlashedFilter(s) if s.prover == prover && s.fault == fault => {
                    Some(s)
                }
                _ => None,
            })
            .collect();
        (slashes.len() >= n).then_some(slashes)
    })
    .await
}

/// The nonce of one of the client's job ids.
async fn nonce_of(net: &Testnet, id: &JobId) -> u64 {
    let client = net.nodes[0].handle.address;
    for nonce in 0..64u64 {
        let candidate = net
            .owner
            .contract()
            .job_id_of(client, nonce)
            .call()
            .await
            .expect("jobIdOf");
        if candidate == id.0 {
            return nonce;
        }
    }
    panic!("job {id} is not the client's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_prover_committing_an_invalid_proof_is_slashed() {
    // Silent: no commitment notices. The watchtowers learn every leaf from the chain's
    // BatchCommitted event alone (the contract publishes them), never asking the prover.
    let (net, nodes) = cheating_market(CheatMode::InvalidProof, true).await;
    // Three jobs in one batch: each watchtower has several challenges to send at once
    // from one account.
    let mut ids = Vec::new();
    for n in 0..3 {
        let id = nodes[0]
            .submit(submit(Circuit::PoseidonChain12, n, 1_000_000, 60))
            .await
            .expect("submitted");
        ids.push(current_id(&nodes[0], &id));
    }
    let slashes = slashes_of(&net, nodes[1].address, 1, 3, 90).await;
    let mut slashed: Vec<JobId> = slashes.iter().map(|s| JobId(s.job_id)).collect();
    slashed.sort_by_key(|id| id.0);
    ids.sort_by_key(|id| id.0);
    assert_eq!(slashed, ids, "every job slashed once");
    check_slashes(&net, &nodes, &slashes, &[2, 3], "invalid_proof").await;
    let fetched: u64 = nodes[2..]
        .iter()
        .map(|t| {
            t.metrics
                .watch
                .batch_fetches
                .get_or_create(&kind("served"))
                .get()
        })
        .sum();
    assert_eq!(
        fetched, 0,
        "no watchtower needed the prover to serve the batch's leaves"
    );
    let published: u64 = nodes[2..]
        .iter()
        .map(|t| {
            t.metrics
                .watch
                .batch_fetches
                .get_or_create(&kind("published"))
                .get()
        })
        .sum();
    assert!(
        published >= 2,
        "both watchtowers read the leaves from the committing transaction"
    );
    // A challenger takes its rewards out with the operator command, its node running on
    // the same account.
    let challenger = slashes[0].challenger;
    let before = net.owner.credits(challenger).await.expect("credits");
    let tower = TOWERS
        .iter()
        .find(|i| crate::support::wallet(&net.anvil, **i).address() == challenger)
        .expect("a watchtower's account");
    let out = crate::operator::withdraw_credits(&net.anvil, net.owner.address(), *tower as usize);
    assert!(out.contains("sent: transaction"), "{out}");
    let after = net.owner.credits(challenger).await.expect("credits");
    assert!(after < before, "credits withdrawn: {before} → {after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_proof_is_challenged_and_slashed_even_across_a_watchtower_restart() {
    let (mut net, nodes) = cheating_market(CheatMode::Withhold, false).await;
    let id = nodes[0]
        .submit(submit(Circuit::PoseidonChain12, 2, 1_000_000, 60))
        .await
        .expect("submitted");
    // One watchtower opens the challenge (the other sees it and stands back) ...
    let (challenge, challenger) = eventually(60, "a withheld-proof challenge", || async {
        net.events().await.into_iter().find_map(|e| match e {
            ProverMarketEvents::ChallengeOpenedFilter(c) if c.fault == 2 => {
                Some((c.challenge_id, c.challenger))
            }
            _ => None,
        })
    })
    .await;
    let index = net
        .nodes
        .iter()
        .position(|n| n.handle.address == challenger)
        .expect("a watchtower opened it");
    assert!(index >= 2, "a watchtower, not the client, opened it");
    // ... and is killed while the prover may still answer: restarted from its
    // database, it finalizes the challenge once the response window has passed.
    drop(nodes);
    let restarted = net.restart(index).await;
    let nodes: Vec<NodeHandle> = net.nodes.iter().map(|n| n.handle.clone()).collect();
    let slash = slashes_of(&net, nodes[1].address, 2, 1, 60).await.remove(0);
    assert_eq!(slash.challenger, challenger);
    assert_eq!(JobId(slash.job_id), current_id(&nodes[0], &id));
    let opened = net
        .events()
        .await
        .into_iter()
        .filter(|e| matches!(e, ProverMarketEvents::ChallengeOpenedFilter(_)))
        .count();
    assert_eq!(
        opened, 1,
        "challenge {challenge} was neither repeated nor dropped"
    );
    // It reads the slash from the chain a moment after the test does.
    eventually(
        10,
        "the restarted watchtower recorded the outcome",
        || async {
            let leaves = restarted.store.watched_leaves().expect("store");
            leaves
                .iter()
                .any(|l| {
                    l.leaf.job_id.0 == slash.job_id
                        && l.state
                            == LeafState::Done {
                                outcome: "slashed".into(),
                            }
                })
                .then_some(())
        },
    )
    .await;
    check_slashes(&net, &nodes, &[slash], &[index], "withheld_proof").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_deadline_is_challenged_with_the_acceptance_and_slashed() {
    let (net, nodes) = cheating_market(CheatMode::MissDeadline, false).await;
    let id = nodes[0]
        .submit(submit(Circuit::PoseidonChain12, 3, 1_000_000, 25))
        .await
        .expect("submitted");
    wait_for_state(&nodes[0], &id, &["accepted"], 30).await;
    let slash = slashes_of(&net, nodes[1].address, 3, 1, 60).await.remove(0);
    assert_eq!(JobId(slash.job_id), current_id(&nodes[0], &id));
    // The client watches its own job's deadline too: any of the three may win.
    check_slashes(&net, &nodes, &[slash], &[0, 2, 3], "missed_deadline").await;
    wait_for_state(&nodes[0], &id, &["failed"], 30).await;
}

/// Issue "Sound mechanism", property 1: the winner delivers and commits a valid proof of
/// another statement (the circuit's example) for the awarded job. The client refuses the
/// delivery, no watchtower can call the proof invalid, the claim is refused (the award
/// binds the statement), and the leaf answers no missed-deadline challenge: the prover is
/// slashed and paid nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_proof_of_another_statement_is_not_paid_and_is_slashed() {
    let (net, nodes) = cheating_market(CheatMode::OtherStatement, false).await;
    let id = nodes[0]
        .submit(submit(Circuit::PoseidonChain12, 6, 1_000_000, 25))
        .await
        .expect("submitted");
    wait_for_state(&nodes[0], &id, &["accepted"], 30).await;
    let slash = slashes_of(&net, nodes[1].address, 3, 1, 90).await.remove(0);
    assert_eq!(JobId(slash.job_id), current_id(&nodes[0], &id));
    // The prover did commit a leaf for the job, before its deadline: only its statement
    // was wrong.
    let committed = nodes[1].store.batches().expect("store");
    assert!(
        committed
            .iter()
            .any(|b| b.leaves.iter().any(|l| l.leaf.job_id.0 == slash.job_id)),
        "the cheater committed the job's leaf"
    );
    check_slashes(&net, &nodes, &[slash], &[0, 2, 3], "missed_deadline").await;
    wait_for_state(&nodes[0], &id, &["failed"], 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_leaves_for_one_job_are_slashed_as_equivocation() {
    let (net, nodes) = cheating_market(CheatMode::Equivocate, false).await;
    let id = nodes[0]
        .submit(submit(Circuit::PoseidonChain12, 4, 1_000_000, 60))
        .await
        .expect("submitted");
    let slash = slashes_of(&net, nodes[1].address, 4, 1, 60).await.remove(0);
    assert_eq!(JobId(slash.job_id), current_id(&nodes[0], &id));
    // The client got a good proof, but the prover is paid nothing for the job.
    wait_for_state(&nodes[0], &id, &["verified"], 30).await;
    check_slashes(&net, &nodes, &[slash], &[2, 3], "equivocation").await;
}

pub(crate) fn current_id(client: &NodeHandle, id: &JobId) -> JobId {
    let job = client.store.client_job(id).expect("store").expect("job");
    job.current_id()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn honest_provers_are_never_challenged_over_a_hundred_fully_audited_jobs() {
    const JOBS: u64 = 100;
    let mut net = Testnet::with_params(watch_params()).await;
    net.register_verifier(Circuit::PoseidonChain12).await;
    for prover in [3, 4] {
        net.register_prover(prover).await;
    }
    net.deposit(CLIENT, "1").await;
    let config = net.config("client", false, true);
    let client = net.start(config, CLIENT).await;
    for (i, prover) in [3u32, 4].iter().enumerate() {
        let mut config = net.config(&format!("prover-{i}"), true, false);
        config.prover.circuits = vec![Circuit::PoseidonChain12.name().into()];
        config.prover.estimate_ms = 3_000;
        config.prover.batch_size = 8;
        net.start(config, *prover).await;
    }
    let mut towers = Vec::new();
    for (i, wallet) in TOWERS.iter().enumerate() {
        let config = net.watchtower_config(&format!("tower-{i}"), 1.0);
        towers.push(net.start(config, *wallet).await);
    }
    net.wait_for_mesh(4).await;

    let mut ids = Vec::new();
    for n in 0..JOBS {
        ids.push(
            client
                .submit(submit(Circuit::PoseidonChain12, n, 1_000_000, 240))
                .await
                .expect("submitted"),
        );
    }
    eventually(420, "every job paid", || {
        let (client, ids) = (client.clone(), ids.clone());
        async move {
            ids.iter()
                .all(|id| {
                    client
                        .job(id)
                        .expect("store")
                        .is_some_and(|s| s.state == "paid")
                })
                .then_some(())
        }
    })
    .await;
    // Every job was audited by both watchtowers (p = 1), every proof was valid, and no
    // challenge of any kind reached the chain.
    for tower in &towers {
        assert_eq!(tower.metrics.watch.jobs_seen.get(), JOBS);
        assert_eq!(tower.metrics.watch.sampled.get(), JOBS);
        assert_eq!(
            tower
                .metrics
                .watch
                .audits
                .get_or_create(&kind("valid"))
                .get(),
            JOBS
        );
        for bad in ["invalid", "unavailable"] {
            assert_eq!(
                tower.metrics.watch.audits.get_or_create(&kind(bad)).get(),
                0
            );
        }
    }
    let challenges: Vec<_> = net
        .events()
        .await
        .into_iter()
        .filter(|e| {
            matches!(
                e,
                ProverMarketEvents::ChallengeOpenedFilter(_)
                    | ProverMarketEvents::SlashedFilter(_)
                    | ProverMarketEvents::FalseChallengeFilter(_)
            )
        })
        .collect();
    assert!(challenges.is_empty(), "{challenges:?}");
}

/// Prints the gas each node's transactions used, by kind (the closing figures).
pub(crate) fn print_gas(nodes: &[NodeHandle]) {
    for node in nodes {
        let text = node.metrics.encode();
        for line in text
            .lines()
            .filter(|l| l.starts_with("provernet_chain_gas_total"))
        {
            eprintln!("gas {:?}: {line}", node.address);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_its_prover_will_not_serve_is_fetched_from_a_dht_provider() {
    let (mut net, client, prover) = one_prover_market(Circuit::PoseidonChain16, 8, |c| {
        c.prover.estimate_ms = 6_000;
    })
    .await;
    let id = client
        .submit(submit(Circuit::PoseidonChain16, 6, 1_000_000, 90))
        .await
        .expect("submitted");
    // The watchtower comes up after the job's acceptance was gossiped, so it does not
    // know the client; and it has banned the prover, so the prover cannot answer it.
    wait_for_state(&client, &id, &["accepted"], 30).await;
    let config = net.watchtower_config("tower", 1.0);
    let tower = net.start(config, TOWERS[0]).await;
    net.wait_for_mesh(2).await;
    for _ in 0..2 {
        tower
            .net
            .penalize(prover.net.peer_id(), PeerAction::BadContent)
            .await;
    }
    eventually(10, "the prover banned", || async {
        (tower.net.info().await?.banned == 1).then_some(())
    })
    .await;
    // The notice reaches it through the client; the proof comes from the client, found
    // as a provider of the proof's hash in the DHT.
    eventually(90, "the audit", || async {
        (tower
            .metrics
            .watch
            .audits
            .get_or_create(&kind("valid"))
            .get()
            == 1)
            .then_some(())
    })
    .await;
    let sources = |label| {
        tower
            .metrics
            .watch
            .proof_sources
            .get_or_create(&kind(label))
            .get()
    };
    assert_eq!(
        (sources("prover"), sources("client"), sources("provider")),
        (0, 0, 1)
    );
    assert!(["verified", "paid"].contains(&state_of(&client, &id).as_str()));
}

/// The watchtowers' sampling, measured: a cheater at a known rate over many jobs, `w`
/// watchtowers each sampling with probability `p` (the production sampler, keyed by each
/// tower's secret), and the share of cheated jobs at least one tower samples. Fixed
/// secrets and job ids make it deterministic; the tolerance is 4 standard deviations of
/// the binomial estimate.
#[test]
fn detection_rate_matches_one_minus_the_miss_probability() {
    const JOBS: u32 = 40_000;
    let cheat = Cheat {
        mode: CheatMode::InvalidProof,
        rate: 0.3,
        silent: false,
    };
    let leaf = |n: u32| {
        let mut id = [0u8; 32];
        id[28..].copy_from_slice(&n.to_be_bytes());
        JobLeaf {
            job_id: JobId(provernet_protocol::keccak256(&id)),
            circuit_id: CircuitId([1; 32]),
            public_inputs_hash: Hash32([2; 32]),
            proof_hash: Hash32([3; 32]),
            client: ProtocolAddress([4; 20]),
            price: 1,
        }
    };
    let leaves: Vec<JobLeaf> = (0..JOBS).map(leaf).collect();
    let cheated: Vec<&JobLeaf> = leaves.iter().filter(|l| cheat.applies(&l.job_id)).collect();
    let n = cheated.len() as f64;
    let rate = n / f64::from(JOBS);
    let sd = (0.3 * 0.7 / f64::from(JOBS)).sqrt();
    assert!((rate - 0.3).abs() < 4.0 * sd, "cheat rate {rate}");
    for (p, w) in [
        (0.05, 2u32),
        (0.1, 3),
        (0.2, 3),
        (0.5, 1),
        (0.3, 5),
        (1.0, 2),
    ] {
        let secrets: Vec<[u8; 32]> = (0..w)
            .map(|i| provernet_protocol::keccak256(&i.to_be_bytes()))
            .collect();
        let caught = cheated
            .iter()
            .filter(|l| secrets.iter().any(|s| sampled(s, l, p)))
            .count() as f64;
        let expected = 1.0 - (1.0 - p).powi(i32::try_from(w).expect("small"));
        let measured = caught / n;
        let tolerance = 4.0 * (expected * (1.0 - expected) / n).sqrt();
        assert!(
            (measured - expected).abs() <= tolerance,
            "p = {p}, w = {w}: measured {measured:.4}, expected {expected:.4} ± {tolerance:.4}"
        );
        eprintln!(
            "p = {p}, w = {w}: detection measured {measured:.4}, expected {expected:.4} ± {tolerance:.4} over {n} cheated jobs"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cheating_prover_is_refused_on_any_chain_but_a_local_anvil() {
    crate::support::init_logs();
    // A chain that is not the local anvil's 31337, with a market on it.
    let anvil = ethers::utils::Anvil::at(provernet_slashing::anvil::binary())
        .arg("--host")
        .arg("127.0.0.1")
        .chain_id(1_337u64)
        .spawn();
    let owner = crate::support::market_for(&anvil, 0);
    let market = Market::deploy(
        std::sync::Arc::clone(owner.client()),
        crate::support::params(),
    )
    .await
    .expect("deploy");
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = NodeConfig {
        data_dir: dir.path().join("cheater"),
        ..NodeConfig::default()
    };
    config.roles.prover = true;
    config.prover.circuits = vec![Circuit::PoseidonChain12.name().into()];
    config.proving.dev_srs = true;
    config.api.enabled = false;
    config.chain.rpc_url = anvil.endpoint();
    config.chain.market = format!("{:?}", market.address());
    config.prover.cheat = Some(Cheat {
        mode: CheatMode::Withhold,
        rate: 1.0,
        silent: false,
    });
    let keys = provernet_node::identity::Keys {
        identity: ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
        wallet: crate::support::wallet(&anvil, 3),
    };
    let start = |config: NodeConfig| {
        provernet_node::service::start(provernet_node::service::Startup {
            config,
            keys: keys.clone(),
            store: provernet_node::store::Store::memory(),
            engine: Some(crate::support::engine()),
        })
    };
    let error = start(config.clone()).await.expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("prover.cheat"), "{text}");
    assert!(text.contains("this chain's id is 1337"), "{text}");
    // So is the dev API's fault injection.
    config.prover.cheat = None;
    config.api.dev = true;
    let error = start(config).await.expect_err("refused");
    let text = error.to_string();
    assert!(text.contains("api.dev"), "{text}");
    assert!(text.contains("this chain's id is 1337"), "{text}");
}
