//! Gas of the market's transactions, from real receipts on anvil (intrinsic and calldata
//! gas included), with a real poseidon-chain-12 proof and verifier.
//!
//! `./scripts/bench.sh gas`. Prints a table of the figures with their targets, and
//! records them for `provernet bench report`.

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

#[path = "../../testnet/src/figure.rs"]
#[allow(dead_code)]
mod figure;

use ethers::types::TransactionReceipt;
use figure::Figure;
use provernet_protocol::JobLeaf;
use provernet_slashing::JobClaim;
use provernet_slashing::evidence::{
    Equivocation, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use support::{RESPONSE_WINDOW, World, corrupted, eth, fixture};

const COMMAND: &str = "./scripts/bench.sh gas";

/// Boundless, per proof: lock ≈ 135k + fulfill ≈ 390k (published figures).
const BOUNDLESS_PER_PROOF: f64 = 525_000.0;
/// Aligned, per proof in a batch: 30k–40k (published figures); the low end.
const ALIGNED_PER_PROOF: f64 = 30_000.0;

fn gas(receipt: &TransactionReceipt) -> f64 {
    receipt.gas_used.map_or(f64::NAN, |g| g.as_u64() as f64)
}

/// `n` leaves alternating between the two clients, nonces from `first`.
fn leaves(world: &World, n: u64, first: u64) -> Vec<JobLeaf> {
    let fx = fixture();
    (0..n)
        .map(|i| {
            let client = world.alternating_client(i);
            world.leaf(
                client,
                first + i / 2,
                1_000,
                &fx.proof.public_inputs,
                &fx.proof.proof,
            )
        })
        .collect()
}

fn claims(world: &World, leaves: &[JobLeaf], first: u64, deadline: u64) -> Vec<JobClaim> {
    leaves
        .iter()
        .enumerate()
        .map(|(i, leaf)| {
            let client = world.alternating_client(i as u64);
            JobClaim {
                index: u32::try_from(i).expect("small batch"),
                nonce: first + i as u64 / 2,
                deadline,
                signature: world.award(client, leaf, deadline).1,
            }
        })
        .collect()
}

#[tokio::main]
async fn main() {
    let mut figures: Vec<Figure> = Vec::new();
    let add = |figures: &mut Vec<Figure>, name: &str, title: &str, value: f64| {
        figures.push(Figure::new(
            format!("gas.{name}"),
            title,
            value.round(),
            "gas",
            COMMAND,
        ));
    };

    // Commitments and claims.
    let world = World::new().await;
    // The batches below hold 341 leaves inside open windows at once: stake for them
    // (the test market's slashPerJob covers 100 leaves per ETH).
    world
        .prover
        .market
        .add_stake(eth("10"))
        .await
        .expect("adds stake");
    let deadline = world.now().await + 86_400;
    let mut nonce = 0;
    let mut commits = Vec::new();
    let sizes = [1u64, 4, 16, 64, 256];
    for n in sizes {
        let batch = leaves(&world, n, nonce);
        let (id, receipt) = world
            .prover
            .market
            .commit_batch(&batch)
            .await
            .expect("commits");
        add(
            &mut figures,
            &format!("commit.per_job.batch{n}"),
            &format!("commitBatch, per job, batch {n}"),
            gas(&receipt) / n as f64,
        );
        commits.push((n, id, batch, nonce));
        nonce += n;
    }
    // One more single-job batch, claimed alone (`claimBatch` of one job). Its nonce
    // is one the batches above skipped (each client's run from 0 to 212 has a gap at
    // 3..=4), so its paid-job bitmap word exists, as for the batch figures.
    let single_first = 3;
    let single_batch = leaves(&world, 1, single_first);
    let (single_id, _) = world
        .prover
        .market
        .commit_batch(&single_batch)
        .await
        .expect("commits");
    world.close_window().await;
    // Claimed 16 first: that claim pays for the clients' paid-job bitmap words, which
    // every later claim finds (see docs/benchmarks.md).
    let order = [16u64, 64, 256, 4, 1];
    for n in order {
        let (n, id, batch, first) = commits.iter().find(|c| c.0 == n).expect("committed");
        let jobs = claims(&world, batch, *first, deadline);
        let receipt = world
            .prover
            .market
            .claim_batch(*id, batch, &jobs)
            .await
            .expect("claims");
        let claim = gas(&receipt) / *n as f64;
        add(
            &mut figures,
            &format!("claim.per_job.batch{n}"),
            &format!("claimBatch, per job, batch {n}"),
            claim,
        );
        let commit = figures
            .iter()
            .find(|f| f.name == format!("gas.commit.per_job.batch{n}"))
            .map_or(f64::NAN, |f| f.value);
        let mut settled = Figure::new(
            format!("gas.commit_claim.per_job.batch{n}"),
            format!("commit + claim, per settled job, batch {n}"),
            (commit + claim).round(),
            "gas",
            COMMAND,
        )
        .series("gas_vs_batch", *n as f64);
        if *n == 64 {
            // Every leaf is in the commit's calldata (data availability): the target is
            // 20,000 with it, from 15,000 without (docs/contracts.md).
            settled = settled
                .at_most(20_000.0)
                .note("every leaf in the commit's calldata: +5,458 gas a job over a root alone, the calldata floor of EIP-7623 (40 gas a non-zero byte)");
        }
        figures.push(settled);
    }
    let single = JobClaim {
        index: 0,
        nonce: single_first,
        deadline,
        signature: world
            .award(world.alternating_client(0), &single_batch[0], deadline)
            .1,
    };
    let receipt = world
        .prover
        .market
        .claim_batch(single_id, &single_batch, std::slice::from_ref(&single))
        .await
        .expect("claims");
    add(
        &mut figures,
        "claim.single",
        "claimBatch, the one job of a batch of one",
        gas(&receipt),
    );
    let at64 = figures
        .iter()
        .find(|f| f.name == "gas.commit_claim.per_job.batch64")
        .map_or(f64::NAN, |f| f.value);
    figures.push(
        Figure::new(
            "gas.vs_boundless.batch64",
            "commit + claim at batch 64 ÷ Boundless lock + fulfill (≈ 525k)",
            (at64 / BOUNDLESS_PER_PROOF * 1e4).round() / 1e4,
            "ratio",
            COMMAND,
        )
        .note("Boundless's figure includes its on-chain proof verification, which we run only when challenged"),
    );
    figures.push(
        Figure::new(
            "gas.vs_aligned.batch64",
            "commit + claim at batch 64 ÷ Aligned per proof batched (≈ 30k)",
            (at64 / ALIGNED_PER_PROOF * 1e4).round() / 1e4,
            "ratio",
            COMMAND,
        )
        .note("Aligned's 30–40k per proof; the low end is used"),
    );

    // Challenges, each on a fresh chain.
    let fx = fixture();
    let inputs = &fx.proof.public_inputs;
    let bad = corrupted(&fx.proof.proof);
    let world = World::new().await;
    let batch = vec![
        world.leaf(&world.client, 0, 1_000, inputs, &bad),
        world.leaf(&world.client, 1, 1_000, inputs, &bad),
        world.leaf(&world.client, 2, 1_000, inputs, &fx.proof.proof),
    ];
    let (id, _) = world
        .prover
        .market
        .commit_batch(&batch)
        .await
        .expect("commits");
    let evidence = |i| {
        InvalidProof::new(
            Inclusion::from_batch(id, &batch, i).expect("leaf"),
            inputs.clone(),
            if i < 2 {
                bad.clone()
            } else {
                fx.proof.proof.clone()
            },
        )
        .expect("matches")
    };
    let first = world
        .watchtower
        .market
        .challenge_invalid_proof(&evidence(0))
        .await
        .expect("slashes");
    add(
        &mut figures,
        "challenge.invalid_proof.first",
        "invalid-proof slash, the first on a fresh chain",
        gas(&first),
    );
    let second = world
        .watchtower
        .market
        .challenge_invalid_proof(&evidence(1))
        .await
        .expect("slashes");
    figures.push(
        Figure::new(
            "gas.challenge.invalid_proof",
            "invalid-proof slash (verifier run on chain)",
            gas(&second).round(),
            "gas",
            COMMAND,
        )
        .at_most(450_000.0)
        .note("the second slash of the run: the first pays once for storage any later chain has; the commitment to its evidence is a transaction of its own, before it"),
    );
    let commitment = world.watchtower.commitment_of(&second).await;
    add(
        &mut figures,
        "challenge.commitment",
        "commitment to a challenge's evidence (commit–reveal: one transaction before each challenge)",
        gas(&commitment),
    );
    add(
        &mut figures,
        "challenge.invalid_proof.with_commitment",
        "invalid-proof slash and its commitment, together",
        gas(&second) + gas(&commitment),
    );
    let false_challenge = world
        .watchtower
        .market
        .submit_invalid_proof_unchecked(&evidence(2))
        .await
        .expect("mined");
    add(
        &mut figures,
        "challenge.invalid_proof.false",
        "false invalid-proof challenge (bond to the prover)",
        gas(&false_challenge),
    );

    let world = World::new().await;
    let batch = vec![
        world.leaf(&world.client, 0, 1_000, inputs, &fx.proof.proof),
        world.leaf(&world.client, 1, 1_000, inputs, &fx.proof.proof),
    ];
    let (id, _) = world
        .prover
        .market
        .commit_batch(&batch)
        .await
        .expect("commits");
    let withheld = |i| WithheldProof {
        at: Inclusion::from_batch(id, &batch, i).expect("leaf"),
        purchase: None,
    };
    let (answered, open) = world
        .watchtower
        .market
        .challenge_withheld_proof(&withheld(0))
        .await
        .expect("opens");
    add(
        &mut figures,
        "challenge.withheld.open",
        "withheld-proof challenge (opens, bonded)",
        gas(&open),
    );
    let reveal = world
        .prover
        .market
        .reveal_proof(answered, inputs, &fx.proof.proof)
        .await
        .expect("reveals");
    add(
        &mut figures,
        "challenge.withheld.reveal",
        "withheld-proof answer (reveal, verified on chain)",
        gas(&reveal),
    );
    let (unanswered, _) = world
        .watchtower
        .market
        .challenge_withheld_proof(&withheld(1))
        .await
        .expect("opens");
    world.mine(RESPONSE_WINDOW + 1).await;
    let finalize = world
        .watchtower
        .market
        .finalize_challenge(unanswered)
        .await
        .expect("slashes");
    add(
        &mut figures,
        "challenge.finalize",
        "finalize an unanswered challenge (slash)",
        gas(&finalize),
    );

    let world = World::new().await;
    let one = world.leaf(&world.client, 0, 1_000, inputs, &fx.proof.proof);
    let mut two = one.clone();
    two.price += 1;
    let (a, _) = world
        .prover
        .market
        .commit_batch(std::slice::from_ref(&one))
        .await
        .expect("commits");
    let (b, _) = world
        .prover
        .market
        .commit_batch(std::slice::from_ref(&two))
        .await
        .expect("commits");
    let evidence = Equivocation::new(
        Inclusion::from_batch(a, &[one], 0).expect("leaf"),
        Inclusion::from_batch(b, &[two], 0).expect("leaf"),
    )
    .expect("equivocation");
    let receipt = world
        .watchtower
        .market
        .challenge_equivocation(&evidence)
        .await
        .expect("slashes");
    add(
        &mut figures,
        "challenge.equivocation",
        "equivocation slash",
        gas(&receipt),
    );

    let world = World::new().await;
    let leaf = world.leaf(&world.client, 0, 1_000, inputs, &fx.proof.proof);
    let due = world.now().await + 60;
    let (award, client_signature) = world.award(&world.client, &leaf, due);
    let (acceptance, prover_signature) = world.accept(&award);
    let (id, _) = world
        .prover
        .market
        .commit_batch(std::slice::from_ref(&leaf))
        .await
        .expect("commits");
    world.advance_time(120).await;
    let evidence = MissedDeadline::new(
        &world.domain,
        acceptance,
        prover_signature,
        award,
        client_signature,
        due + 1,
    )
    .expect("evidence");
    let (challenge, open) = world
        .watchtower
        .market
        .challenge_missed_deadline(&evidence)
        .await
        .expect("opens");
    add(
        &mut figures,
        "challenge.missed_deadline.open",
        "missed-deadline challenge (two EIP-712 signatures checked)",
        gas(&open),
    );
    let answer = world
        .prover
        .market
        .answer_missed_deadline(
            challenge,
            &Inclusion::from_batch(id, &[leaf], 0).expect("leaf"),
        )
        .await
        .expect("answers");
    add(
        &mut figures,
        "challenge.missed_deadline.answer",
        "missed-deadline answer (leaf in a batch posted in time)",
        gas(&answer),
    );

    println!("market gas on anvil (receipts)");
    figure::print(&figures);
    if std::env::args().any(|arg| arg == "--bench") {
        figure::record(&figures).expect("the figures file can be written");
    }
}
