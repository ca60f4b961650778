//! Every slashing path end to end on a real anvil with a real Halo2 proof and its real
//! EVM verifier, balances checked after each.

use ethers::types::U256;
use provernet_slashing::bindings::{ProverMarketErrors, ProverMarketEvents};
use provernet_slashing::eip712;
use provernet_slashing::evidence::{
    Equivocation, EvidenceError, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use provernet_slashing::{ChainError, JobClaim, events_of};

use crate::support::*;

fn refused(result: Result<impl std::fmt::Debug, ChainError>) -> ProverMarketErrors {
    match result {
        Err(ChainError::Refused(e)) => e.0,
        other => panic!("expected the market to refuse, got {other:?}"),
    }
}

/// Checks the slash of a prover that had `stake` before, for a job of `price`, and the
/// credits it created.
async fn assert_slashed(
    world: &World,
    stake_before: U256,
    price: u128,
    challenger_credit_before: U256,
    bond_back: bool,
) {
    let (amount, reward, refund, burned) = split(stake_before, price);
    let (stake, unbonding, open) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    assert_eq!(stake, stake_before - amount, "stake after the slash");
    assert_eq!(unbonding, U256::zero());
    assert_eq!(open, 0, "no challenge left open");
    let bond = if bond_back {
        eth(BOND_ETH)
    } else {
        U256::zero()
    };
    assert_eq!(
        world
            .watchtower
            .market
            .credits(world.watchtower.address())
            .await
            .expect("credits"),
        challenger_credit_before + reward + bond,
        "challenger: reward plus its bond back"
    );
    assert_eq!(
        world
            .client
            .market
            .deposit_of(world.client.address())
            .await
            .expect("deposit"),
        eth("1") + refund,
        "client: refund, capped at the price, back in its deposit"
    );
    let burned_total = world
        .prover
        .market
        .contract()
        .total_burned()
        .call()
        .await
        .expect("burned");
    assert_eq!(burned_total, burned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_proof_is_slashed_and_a_valid_one_cannot_be_challenged() {
    let world = World::new().await;
    let fx = fixture();
    let inputs = &fx.proof.public_inputs;
    let good = world.leaf(&world.client, 0, 1_000, inputs, &fx.proof.proof);
    let bad_proof = corrupted(&fx.proof.proof);
    let bad = world.leaf(&world.client, 1, 2_000, inputs, &bad_proof);
    let leaves = vec![good, bad];
    let (batch, _) = world
        .prover
        .market
        .commit_batch(&leaves)
        .await
        .expect("commits");
    let balance_before = world.market_balance().await;

    // The valid proof: refused locally, nothing sent.
    let nonce = world.watchtower.nonce().await;
    let valid = InvalidProof::new(
        Inclusion::from_batch(batch, &leaves, 0).expect("leaf"),
        inputs.clone(),
        fx.proof.proof.clone(),
    )
    .expect("matches the leaf");
    match world
        .watchtower
        .market
        .challenge_invalid_proof(&valid)
        .await
    {
        Err(ChainError::Evidence(EvidenceError::ProofVerifies)) => {}
        other => panic!("expected ProofVerifies, got {other:?}"),
    }
    assert_eq!(
        world.watchtower.nonce().await,
        nonce,
        "no transaction was sent"
    );

    // The corrupted one: slashed.
    let evidence = InvalidProof::new(
        Inclusion::from_batch(batch, &leaves, 1).expect("leaf"),
        inputs.clone(),
        bad_proof.clone(),
    )
    .expect("matches the leaf");
    let receipt = world
        .watchtower
        .market
        .challenge_invalid_proof(&evidence)
        .await
        .expect("slashes");
    eprintln!(
        "invalid-proof slash: {} gas",
        receipt.gas_used.expect("gas")
    );
    assert!(events_of(&receipt).iter().any(|e| matches!(e, ProverMarketEvents::SlashedFilter(s) if s.fault == 1 && s.prover == world.prover.address())));
    assert_slashed(&world, eth(MIN_STAKE_ETH), 2_000, U256::zero(), true).await;
    let (_, _, _, burned) = split(eth(MIN_STAKE_ETH), 2_000);
    assert_eq!(
        world.market_balance().await,
        balance_before + eth(BOND_ETH) - burned,
        "the bond stays as the challenger's credit; only the burn leaves the contract"
    );

    // Nothing is slashed twice for one job.
    assert!(matches!(
        refused(
            world
                .watchtower
                .market
                .challenge_invalid_proof(&evidence)
                .await
        ),
        ProverMarketErrors::AlreadySlashed(_)
    ));

    // The challenger takes its credits out.
    let credits = world
        .watchtower
        .market
        .credits(world.watchtower.address())
        .await
        .expect("credits");
    let before = world.watchtower.balance().await;
    let receipt = world
        .watchtower
        .market
        .withdraw_credits()
        .await
        .expect("withdraws");
    assert_eq!(
        world.watchtower.balance().await,
        before + credits - gas_cost(&receipt)
    );
    assert!(matches!(
        refused(world.watchtower.market.withdraw_credits().await),
        ProverMarketErrors::NothingToWithdraw(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_invalid_proof_challenge_pays_its_bond_to_the_prover() {
    let world = World::new().await;
    let fx = fixture();
    let leaves = vec![world.good_leaf(0, 1_000)];
    let batch = world.commit(&leaves).await;
    let evidence = InvalidProof::new(
        Inclusion::from_batch(batch, &leaves, 0).expect("leaf"),
        fx.proof.public_inputs.clone(),
        fx.proof.proof.clone(),
    )
    .expect("matches");
    let before = world.watchtower.balance().await;
    let receipt = world
        .watchtower
        .market
        .submit_invalid_proof_unchecked(&evidence)
        .await
        .expect("mined");
    eprintln!(
        "false invalid-proof challenge: {} gas",
        receipt.gas_used.expect("gas")
    );
    assert!(
        events_of(&receipt)
            .iter()
            .any(|e| matches!(e, ProverMarketEvents::FalseChallengeFilter(_)))
    );
    assert_eq!(
        world.watchtower.balance().await,
        before - eth(BOND_ETH) - world.watchtower.challenge_fees(&receipt).await
    );
    assert_eq!(
        world
            .prover
            .market
            .credits(world.prover.address())
            .await
            .expect("credits"),
        eth(BOND_ETH)
    );
    let (stake, _, _) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    assert_eq!(stake, eth(MIN_STAKE_ETH), "no slash");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_proof_left_unanswered_is_slashed() {
    let world = World::new().await;
    let leaves = vec![world.good_leaf(0, 1_000)];
    let batch = world.commit(&leaves).await;
    let evidence = WithheldProof {
        at: Inclusion::from_batch(batch, &leaves, 0).expect("leaf"),
        purchase: None,
    };
    let (id, receipt) = world
        .watchtower
        .market
        .challenge_withheld_proof(&evidence)
        .await
        .expect("opens");
    eprintln!(
        "withheld-proof challenge: {} gas",
        receipt.gas_used.expect("gas")
    );
    let (_, _, open) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    assert_eq!(open, 1);
    // The prover cannot run: its stake is locked while the challenge is open.
    world
        .prover
        .market
        .unbond(eth("0.5"))
        .await
        .expect("unbonds");
    // Past both unbonding delays (blocks, and maxDeadline + deadlineChallengePeriod + 1).
    world.mine(30).await;
    world.advance_time(86_400 + 3_600 + 1).await;
    assert!(matches!(
        refused(world.prover.market.withdraw_stake().await),
        ProverMarketErrors::ChallengeOpen(_)
    ));
    // Too early to finalize inside the response window is impossible here (30 blocks
    // passed); a second challenge on the job is refused while this one is open.
    assert!(matches!(
        refused(
            world
                .watchtower
                .market
                .challenge_withheld_proof(&evidence)
                .await
        ),
        ProverMarketErrors::WindowClosed(_) | ProverMarketErrors::ChallengePending(_)
    ));
    let receipt = world
        .watchtower
        .market
        .finalize_challenge(id)
        .await
        .expect("finalizes");
    eprintln!("finalize (slash): {} gas", receipt.gas_used.expect("gas"));
    // The slash takes bonded stake first, then unbonding: 0.5 of the 1 ETH total.
    let (stake, unbonding, open) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    let (amount, reward, refund, _) = split(eth(MIN_STAKE_ETH), 1_000);
    assert_eq!(stake + unbonding, eth(MIN_STAKE_ETH) - amount);
    assert_eq!(open, 0);
    assert_eq!(
        world
            .watchtower
            .market
            .credits(world.watchtower.address())
            .await
            .expect("credits"),
        reward + eth(BOND_ETH)
    );
    assert_eq!(
        world
            .client
            .market
            .deposit_of(world.client.address())
            .await
            .expect("deposit"),
        eth("1") + refund
    );
    assert!(matches!(
        refused(world.watchtower.market.finalize_challenge(id).await),
        ProverMarketErrors::ChallengeNotOpen(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_withheld_proof_challenge_answered_with_the_proof_pays_the_prover() {
    let world = World::new().await;
    let fx = fixture();
    let leaves = vec![world.good_leaf(0, 1_000)];
    let batch = world.commit(&leaves).await;
    let evidence = WithheldProof {
        at: Inclusion::from_batch(batch, &leaves, 0).expect("leaf"),
        purchase: None,
    };
    let at = evidence.at.clone();
    let before = world.watchtower.balance().await;
    let (id, open_receipt) = world
        .watchtower
        .market
        .challenge_withheld_proof(&evidence)
        .await
        .expect("opens");
    assert!(
        !world.prover.market.is_final(&at).await.expect("view"),
        "not final while challenged"
    );
    // A wrong reveal is refused before it is sent.
    assert!(matches!(
        refused(
            world
                .prover
                .market
                .reveal_proof(id, &fx.proof.public_inputs, &corrupted(&fx.proof.proof))
                .await
        ),
        ProverMarketErrors::ProofMismatch(_)
    ));
    let receipt = world
        .prover
        .market
        .reveal_proof(id, &fx.proof.public_inputs, &fx.proof.proof)
        .await
        .expect("reveals");
    eprintln!("reveal: {} gas", receipt.gas_used.expect("gas"));
    let revealed = events_of(&receipt).into_iter().find_map(|e| match e {
        ProverMarketEvents::ProofRevealedFilter(r) => Some(r),
        _ => None,
    });
    assert_eq!(
        revealed.expect("ProofRevealed").proof.to_vec(),
        fx.proof.proof,
        "the proof is public now"
    );
    assert_eq!(
        world
            .prover
            .market
            .credits(world.prover.address())
            .await
            .expect("credits"),
        eth(BOND_ETH)
    );
    assert_eq!(
        world.watchtower.balance().await,
        before - eth(BOND_ETH) - world.watchtower.challenge_fees(&open_receipt).await
    );
    let (stake, _, open) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    assert_eq!((stake, open), (eth(MIN_STAKE_ETH), 0));
    world.mine(RESPONSE_WINDOW + 1).await;
    assert!(matches!(
        refused(world.watchtower.market.finalize_challenge(id).await),
        ProverMarketErrors::ChallengeNotOpen(_)
    ));
    world.close_window().await;
    assert!(
        world.prover.market.is_final(&at).await.expect("view"),
        "final after the window"
    );
}

/// The prover accepted a job due in a minute; returns the evidence once the deadline
/// has passed, and the leaf it would have committed.
async fn accepted_job(world: &World) -> (MissedDeadline, provernet_protocol::JobLeaf, u64) {
    let fx = fixture();
    let leaf = world.leaf(
        &world.client,
        7,
        5_000,
        &fx.proof.public_inputs,
        &fx.proof.proof,
    );
    let deadline = world.now().await + 60;
    let (award, client_signature) = world.award(&world.client, &leaf, deadline);
    let (acceptance, prover_signature) = world.accept(&award);
    let now = world.now().await;
    // Before the deadline the evidence is refused locally.
    assert!(matches!(
        MissedDeadline::new(
            &world.domain,
            acceptance,
            prover_signature.clone(),
            award,
            client_signature.clone(),
            now
        ),
        Err(EvidenceError::DeadlineNotPassed { .. })
    ));
    // An acceptance signed by anyone but the prover is no evidence: no acceptance, no slash.
    let forged = eip712::sign(
        &world.client.wallet,
        world.domain.acceptance_digest(&acceptance),
    )
    .expect("signs");
    assert!(matches!(
        MissedDeadline::new(
            &world.domain,
            acceptance,
            forged.to_vec(),
            award,
            client_signature.clone(),
            now + 120
        ),
        Err(EvidenceError::BadSignature {
            which: "acceptance",
            ..
        })
    ));
    let evidence = MissedDeadline::new(
        &world.domain,
        acceptance,
        prover_signature,
        award,
        client_signature,
        deadline + 1,
    )
    .expect("valid evidence");
    (evidence, leaf, deadline)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_deadline_is_slashed_and_a_met_one_is_answered() {
    let world = World::new().await;
    let (evidence, leaf, _) = accepted_job(&world).await;
    // Too early on chain as well.
    assert!(matches!(
        refused(
            world
                .watchtower
                .market
                .challenge_missed_deadline(&evidence)
                .await
        ),
        ProverMarketErrors::DeadlineNotPassed(_)
    ));
    world.advance_time(120).await;
    let (id, receipt) = world
        .watchtower
        .market
        .challenge_missed_deadline(&evidence)
        .await
        .expect("opens");
    eprintln!(
        "missed-deadline challenge: {} gas",
        receipt.gas_used.expect("gas")
    );
    // Committing now is too late to answer.
    let leaves = vec![leaf];
    let (late, _) = world
        .prover
        .market
        .commit_batch(&leaves)
        .await
        .expect("commits");
    assert!(matches!(
        refused(
            world
                .prover
                .market
                .answer_missed_deadline(id, &Inclusion::from_batch(late, &leaves, 0).expect("leaf"))
                .await
        ),
        ProverMarketErrors::CommittedAfterDeadline(_)
    ));
    world.mine(RESPONSE_WINDOW + 1).await;
    world
        .watchtower
        .market
        .finalize_challenge(id)
        .await
        .expect("slashes");
    assert_slashed(&world, eth(MIN_STAKE_ETH), 5_000, U256::zero(), true).await;

    // A second world: the prover committed in time and answers.
    let world = World::new().await;
    let (evidence, leaf, _) = accepted_job(&world).await;
    let leaves = vec![leaf];
    let (batch, _) = world
        .prover
        .market
        .commit_batch(&leaves)
        .await
        .expect("commits in time");
    world.advance_time(120).await;
    let (id, _) = world
        .watchtower
        .market
        .challenge_missed_deadline(&evidence)
        .await
        .expect("opens");
    let receipt = world
        .prover
        .market
        .answer_missed_deadline(id, &Inclusion::from_batch(batch, &leaves, 0).expect("leaf"))
        .await
        .expect("answers");
    eprintln!(
        "missed-deadline answer: {} gas",
        receipt.gas_used.expect("gas")
    );
    assert_eq!(
        world
            .prover
            .market
            .credits(world.prover.address())
            .await
            .expect("credits"),
        eth(BOND_ETH)
    );
    let (stake, _, open) = world
        .prover
        .market
        .stake_of(world.prover.address())
        .await
        .expect("stake");
    assert_eq!((stake, open), (eth(MIN_STAKE_ETH), 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_is_slashed_and_blocks_the_fee() {
    let world = World::new().await;
    let fx = fixture();
    let one = world.leaf(
        &world.client,
        3,
        4_000,
        &fx.proof.public_inputs,
        &fx.proof.proof,
    );
    let mut two = one.clone();
    two.proof_hash = provernet_protocol::Hash32([0xab; 32]);
    let first = vec![one];
    let second = vec![two];
    let (a, _) = world
        .prover
        .market
        .commit_batch(&first)
        .await
        .expect("commits");
    let (b, _) = world
        .prover
        .market
        .commit_batch(&second)
        .await
        .expect("commits");
    let at_a = Inclusion::from_batch(a, &first, 0).expect("leaf");
    let at_b = Inclusion::from_batch(b, &second, 0).expect("leaf");
    assert_eq!(
        Equivocation::new(at_a.clone(), at_a.clone()),
        Err(EvidenceError::SameLeaf)
    );
    let evidence = Equivocation::new(at_a.clone(), at_b).expect("two leaves of one job");
    let receipt = world
        .watchtower
        .market
        .challenge_equivocation(&evidence)
        .await
        .expect("slashes");
    eprintln!("equivocation slash: {} gas", receipt.gas_used.expect("gas"));
    assert_slashed(&world, eth(MIN_STAKE_ETH), 4_000, U256::zero(), false).await;
    // The slashed job's fee cannot be claimed from either batch.
    world.close_window().await;
    let deadline = world.now().await + 3_600;
    let (_, signature) = world.award(&world.client, &at_a.leaf, deadline);
    let job = JobClaim {
        index: 0,
        nonce: 3,
        deadline,
        signature,
    };
    assert!(matches!(
        refused(
            world
                .prover
                .market
                .claim_batch(a, &first, std::slice::from_ref(&job))
                .await
        ),
        ProverMarketErrors::JobSlashed(_)
    ));
    assert!(matches!(
        refused(
            world
                .watchtower
                .market
                .challenge_equivocation(&evidence)
                .await
        ),
        ProverMarketErrors::WindowClosed(_) | ProverMarketErrors::AlreadySlashed(_)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fees_are_claimed_once_per_job_after_the_window() {
    let world = World::new().await;
    let fx = fixture();
    let deadline = world.now().await + 3_600;
    let leaves: Vec<_> = (0..4)
        .map(|n| {
            let client = world.alternating_client(n);
            world.leaf(
                client,
                n,
                1_000 + u128::from(n as u32),
                &fx.proof.public_inputs,
                &fx.proof.proof,
            )
        })
        .collect();
    let (batch, _) = world
        .prover
        .market
        .commit_batch(&leaves)
        .await
        .expect("commits");
    let jobs: Vec<JobClaim> = (0..4u32)
        .map(|i| {
            let client = world.alternating_client(u64::from(i));
            JobClaim {
                index: i,
                nonce: u64::from(i),
                deadline,
                signature: world.award(client, &leaves[i as usize], deadline).1,
            }
        })
        .collect();
    assert!(matches!(
        refused(world.prover.market.claim_batch(batch, &leaves, &jobs).await),
        ProverMarketErrors::WindowOpen(_)
    ));
    world.close_window().await;
    let before = world.prover.balance().await;
    let receipt = world
        .prover
        .market
        .claim_batch(batch, &leaves, &jobs)
        .await
        .expect("claims");
    let total: u128 = leaves.iter().map(|l| l.price).sum();
    assert_eq!(
        world.prover.balance().await,
        before + U256::from(total) - gas_cost(&receipt)
    );
    assert_eq!(
        world
            .client
            .market
            .deposit_of(world.client.address())
            .await
            .expect("deposit"),
        eth("1") - U256::from(1_000u64 + 1_002)
    );
    assert!(matches!(
        refused(
            world
                .prover
                .market
                .claim_batch(batch, &leaves, &jobs[..1])
                .await
        ),
        ProverMarketErrors::AlreadyClaimed(_)
    ));
    assert!(matches!(
        refused(
            world
                .prover
                .market
                .claim_batch(batch, &leaves, &jobs[1..2])
                .await
        ),
        ProverMarketErrors::AlreadyClaimed(_)
    ));
    // The market refuses calls it would revert before anything is sent.
    let nonce = world.watchtower.nonce().await;
    assert!(matches!(
        refused(world.watchtower.market.commit_batch(&leaves).await),
        ProverMarketErrors::NotRegistered(_)
    ));
    assert_eq!(world.watchtower.nonce().await, nonce);
}
