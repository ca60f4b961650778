//! Gas of the market's transactions, from real receipts on anvil (intrinsic and calldata
//! gas included), with a real poseidon-chain-12 proof and verifier.
//!
//! `scripts/bench.sh gas` (or `cargo bench --profile dev -p provernet-slashing --bench gas`).
//! Prints a table and one JSON object per figure (name, value, unit, target, pass).

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use ethers::types::TransactionReceipt;
use provernet_protocol::JobLeaf;
use provernet_slashing::JobClaim;
use provernet_slashing::evidence::{
    Equivocation, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use support::{RESPONSE_WINDOW, World, corrupted, fixture};

struct Figure {
    name: String,
    value: f64,
    target: Option<f64>,
}

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
    fn add(figures: &mut Vec<Figure>, name: &str, value: f64, target: Option<f64>) {
        figures.push(Figure {
            name: name.to_owned(),
            value,
            target,
        });
    }

    // Commitments and claims.
    let world = World::new().await;
    let deadline = world.now().await + 86_400;
    let mut nonce = 0;
    let mut commits = Vec::new();
    for n in [1u64, 16, 64] {
        let batch = leaves(&world, n, nonce);
        let (id, receipt) = world
            .prover
            .market
            .commit_batch(&batch)
            .await
            .expect("commits");
        add(
            &mut figures,
            &format!("commitBatch per job, batch {n}"),
            gas(&receipt) / n as f64,
            None,
        );
        commits.push((n, id, batch, nonce));
        nonce += n;
    }
    world.close_window().await;
    for (n, id, batch, first) in &commits {
        if *n == 1 {
            continue;
        }
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
            &format!("claimBatch per job, batch {n}"),
            claim,
            None,
        );
        let commit = figures
            .iter()
            .find(|f| f.name == format!("commitBatch per job, batch {n}"))
            .map_or(f64::NAN, |f| f.value);
        let target = (*n == 64).then_some(15_000.0);
        add(
            &mut figures,
            &format!("commit + claim per job, batch {n}"),
            commit + claim,
            target,
        );
    }
    let (_, id, batch, first) = &commits[0];
    let single = Inclusion::from_batch(*id, batch, 0).expect("leaf");
    let signature = world.award(&world.client, &batch[0], deadline).1;
    let receipt = world
        .prover
        .market
        .claim(&single, *first, deadline, &signature)
        .await
        .expect("claims");
    add(
        &mut figures,
        "claim (one job, with Merkle path)",
        gas(&receipt),
        None,
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
        "invalid-proof slash, first on a fresh chain",
        gas(&first),
        None,
    );
    let second = world
        .watchtower
        .market
        .challenge_invalid_proof(&evidence(1))
        .await
        .expect("slashes");
    add(
        &mut figures,
        "invalid-proof slash",
        gas(&second),
        Some(450_000.0),
    );
    let false_challenge = world
        .watchtower
        .market
        .submit_invalid_proof_unchecked(&evidence(2))
        .await
        .expect("mined");
    add(
        &mut figures,
        "false invalid-proof challenge (bond to prover)",
        gas(&false_challenge),
        None,
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
    };
    let (answered, open) = world
        .watchtower
        .market
        .challenge_withheld_proof(&withheld(0))
        .await
        .expect("opens");
    add(&mut figures, "withheld-proof challenge", gas(&open), None);
    let reveal = world
        .prover
        .market
        .reveal_proof(answered, inputs, &fx.proof.proof)
        .await
        .expect("reveals");
    add(
        &mut figures,
        "withheld-proof answer (reveal and verify)",
        gas(&reveal),
        None,
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
        "finalize unanswered challenge (slash)",
        gas(&finalize),
        None,
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
    add(&mut figures, "equivocation slash", gas(&receipt), None);

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
    add(&mut figures, "missed-deadline challenge", gas(&open), None);
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
        "missed-deadline answer (leaf committed in time)",
        gas(&answer),
        None,
    );

    println!("{:<50} {:>12} {:>10}", "figure", "gas", "target");
    for f in &figures {
        let target = f.target.map_or(String::from("-"), |t| format!("≤ {t:.0}"));
        println!("{:<50} {:>12.0} {:>10}", f.name, f.value, target);
    }
    for f in &figures {
        let json = serde_json::json!({
            "name": f.name,
            "value": f.value.round(),
            "unit": "gas",
            "target": f.target,
            "pass": f.target.map(|t| f.value <= t),
        });
        println!("{json}");
    }
}
