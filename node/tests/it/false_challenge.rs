//! A false challenge, sent by hand against an honest prover's valid leaf, loses its bond
//! to the prover, whatever the challenge (invalid proof, withheld proof, missed deadline),
//! even when it comes as the prover's claim of a large batch is due.

use ethers::types::{Address, U256};
use provernet_circuits::Circuit;
use provernet_node::metrics::kind;
use provernet_node::service::NodeHandle;
use provernet_node::store::BatchState;
use provernet_protocol::{JobId, JobLeaf};
use provernet_slashing::bindings::ProverMarketEvents;
use provernet_slashing::eip712;
use provernet_slashing::evidence::{
    EvidenceError, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use provernet_slashing::{ChainError, Market};

use crate::support::{
    Client, Testnet, all_claimed, eventually, submit, wait_for_state, watch_params,
};
use crate::watch::{BY_HAND, current_id, one_prover_market, print_gas};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_challenge_loses_its_bond_to_the_prover() {
    let (net, client, prover) = one_prover_market(Circuit::PoseidonChain12, 8, |_| {}).await;
    let id = client
        .submit(submit(Circuit::PoseidonChain12, 5, 1_000_000, 25))
        .await
        .expect("submitted");
    wait_for_state(&client, &id, &["verified"], 60).await;
    let job = current_id(&client, &id);
    // The valid proof as committed, with its place in the batch.
    let (at, inputs, proof) = eventually(30, "the job committed", || async {
        let work = prover
            .store
            .works()
            .expect("store")
            .into_iter()
            .find(|w| w.job_id == job)?;
        let record = work.proof.clone()?;
        let batch = prover
            .store
            .batches()
            .expect("store")
            .into_iter()
            .find(|b| b.leaves.iter().any(|l| l.leaf.job_id == job))?;
        let BatchState::Committed { id, .. } = batch.state else {
            return None;
        };
        let leaves: Vec<JobLeaf> = batch.job_leaves();
        let index = leaves.iter().position(|l| l.job_id == job)?;
        Some((
            Inclusion::from_batch(id, &leaves, index).expect("in batch"),
            record.inputs(),
            record.proof,
        ))
    })
    .await;
    let evidence = InvalidProof::new(at, inputs, proof).expect("matches the leaf");
    let challenger: Market<Client> = net.market(BY_HAND);
    let me = challenger.client().address();
    // The checked path refuses to send it: the chain's verifier accepts the proof.
    let refused = challenger.challenge_invalid_proof(&evidence).await;
    assert!(
        matches!(
            refused,
            Err(ChainError::Evidence(EvidenceError::ProofVerifies))
        ),
        "{refused:?}"
    );
    // Sent anyway, the challenge is false: the bond goes to the prover.
    let bond = challenge_bond(&net).await;
    let before = net.owner.credits(prover.address).await.expect("credits");
    let receipt = challenger
        .submit_invalid_proof_unchecked(&evidence)
        .await
        .expect("sent");
    let events = provernet_slashing::events_of(&receipt);
    assert!(
        events.iter().any(|e| matches!(
            e,
            ProverMarketEvents::FalseChallengeFilter(f) if f.challenger == me && f.bond == bond
        )),
        "{events:?}"
    );
    assert_eq!(
        net.owner.credits(prover.address).await.expect("credits"),
        before + bond
    );
    assert_eq!(net.owner.credits(me).await.expect("credits"), U256::zero());
    // A withheld-proof challenge of the same leaf: the honest prover's node reveals the
    // proof on chain within the response window, and the bond goes to it as well.
    let (challenge, _) = challenger
        .challenge_withheld_proof(&WithheldProof {
            at: evidence.at.clone(),
            purchase: None,
        })
        .await
        .expect("opened");
    eventually(30, "the prover's answer", || async {
        net.events().await.into_iter().find_map(|e| match e {
            ProverMarketEvents::ChallengeAnsweredFilter(a)
                if a.challenge_id == U256::from(challenge) && a.prover == prover.address =>
            {
                Some(())
            }
            _ => None,
        })
    })
    .await;
    assert_eq!(
        net.owner.credits(prover.address).await.expect("credits"),
        before + bond + bond
    );
    // The job is not slashed and is paid as usual after the window.
    wait_for_state(&client, &id, &["paid"], 60).await;
    // After the deadline, a missed-deadline challenge with the client's award and the
    // prover's acceptance: the prover's node shows the leaf in a batch posted in time.
    let evidence = missed_deadline(&net, &client, &id).await;
    // The prover has claimed the batch, so the job has left its memory; the challenge
    // still opens (its period runs from the deadline, claimed or not), and the prover
    // answers from its stored records.
    all_claimed(&prover, true, 30).await;
    let (challenge, _) = challenger
        .challenge_missed_deadline(&evidence)
        .await
        .expect("opened");
    eventually(30, "the prover's answer", || async {
        net.events().await.into_iter().find_map(|e| match e {
            ProverMarketEvents::ChallengeAnsweredFilter(a)
                if a.challenge_id == U256::from(challenge) =>
            {
                Some(())
            }
            _ => None,
        })
    })
    .await;
    assert_eq!(
        net.owner.credits(prover.address).await.expect("credits"),
        before + bond * 3
    );
    eventually(10, "the answer's receipt", || async {
        let gas = prover
            .metrics
            .chain
            .gas
            .get_or_create(&kind("answer"))
            .get();
        (gas > 0).then_some(())
    })
    .await;
    print_gas(std::slice::from_ref(&prover));
}

/// A missed-deadline challenge's evidence of `client`'s job `id` (its award and the
/// winner's acceptance, as the client stored them), once the deadline has passed.
pub(crate) async fn missed_deadline(
    net: &Testnet,
    client: &NodeHandle,
    id: &JobId,
) -> MissedDeadline {
    eventually(40, "the deadline passed", || async {
        // A second of slack for the chain's clock.
        missed_deadline_at(
            net,
            client,
            id,
            provernet_node::service::now_s().saturating_sub(1),
        )
        .await
        .ok()
    })
    .await
}

/// [`missed_deadline`]'s evidence as of unix time `now`.
async fn missed_deadline_at(
    net: &Testnet,
    client: &NodeHandle,
    id: &JobId,
    now: u64,
) -> Result<MissedDeadline, EvidenceError> {
    let record = client.store.client_job(id).expect("store").expect("job");
    let (award, acceptance) = (
        record.award.expect("award").0,
        record.acceptance.expect("acceptance").0,
    );
    // The statement the award bound: the request's, which the honest leaf carries.
    let (circuit_id, public_inputs_hash) = (
        record.request.0.circuit_id.0,
        record.request.0.public_inputs_hash.0,
    );
    let domain = net.owner.domain().await.expect("domain");
    MissedDeadline::new(
        &domain,
        eip712::Acceptance {
            job_id: acceptance.job_id.0,
            client: client.address,
            input_hash: acceptance.input_hash.0,
            price: U256::from(acceptance.price),
            deadline: acceptance.deadline,
            circuit_id,
            public_inputs_hash,
        },
        acceptance.signature.0.to_vec(),
        eip712::Award {
            job_id: award.job_id.0,
            prover: Address::from(award.prover.0),
            price: U256::from(award.price),
            deadline: award.deadline,
            circuit_id,
            public_inputs_hash,
        },
        award.signature.0.to_vec(),
        now,
    )
}

async fn challenge_bond(net: &Testnet) -> U256 {
    net.owner
        .contract()
        .challenge_bond()
        .call()
        .await
        .expect("bond")
}

/// The block of the first market event from block `from` on that `is` picks.
async fn event_block(
    net: &Testnet,
    from: u64,
    is: impl Fn(&ProverMarketEvents) -> bool,
) -> Option<u64> {
    net.owner
        .contract()
        .events()
        .from_block(from)
        .query_with_meta()
        .await
        .expect("events")
        .into_iter()
        .find_map(|(e, meta)| is(&e).then(|| meta.block_number.as_u64()))
}

/// A prover's claim of a 64-job batch and its answer to a false missed-deadline
/// challenge come due in the same block. The prover sends one transaction at a time
/// (`chain.max_in_flight` 1) and waits two confirmations for a claim; a block is mined
/// only when it has sent something. The claim does not hold the answer up beyond the one
/// transaction ahead of it (not its 64 payment checks, its refusal and job-by-job
/// checks, or its confirmations): the answer is mined at most two blocks after the
/// challenge, inside the response window. The challenger's bond goes to the prover,
/// nothing is slashed, and every job is paid, the challenged one once answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_goes_out_while_a_64_job_claim_is_pending() {
    const JOBS: usize = 64;
    let (net, client, prover) = one_prover_market(Circuit::PoseidonChain12, 8, |c| {
        c.prover.batch_size = JOBS;
        c.prover.batch_max_age_ms = 600_000;
        c.prover.workers = 2;
        c.prover.estimate_ms = 1_000;
        // Promises far enough out (a proof's end plus the margin) that the batch is
        // sealed full, not by its first job's deadline (half the margin before it),
        // whatever the machine's load: 64 proofs on two workers beside the other tests
        // have taken over 100 s.
        c.prover.commit_margin_ms = 400_000;
        c.chain.max_in_flight = 1;
        c.chain.confirmations = 2;
    })
    .await;
    let mut ids = Vec::new();
    for n in 0..JOBS as u64 {
        let id = client
            .submit(submit(Circuit::PoseidonChain12, 100 + n, 1_000, 600))
            .await
            .expect("submitted");
        ids.push(id);
    }
    let (batch_id, committed_at) = eventually(280, "the jobs committed in one batch", || async {
        prover
            .store
            .batches()
            .expect("store")
            .into_iter()
            .find_map(|b| match b.state {
                BatchState::Committed { id, block } if b.leaves.len() == JOBS => Some((id, block)),
                _ => None,
            })
    })
    .await;
    // From here a block is mined only when this test says so.
    net.rpc("evm_setIntervalMining", [0u64]).await;
    let window = watch_params().challenge_window;
    assert!(
        net.head().await < committed_at + window,
        "the claim came due before mining stopped"
    );
    for id in &ids {
        wait_for_state(&client, id, &["verified", "paid"], 120).await;
    }
    // The chain's clock past the first job's deadline (no need to wait for it), then
    // up to the last block before the claim is due; nothing of the prover's waits. The
    // first job's missed-deadline challenge is ready: a false one, its leaf was
    // committed in time.
    let deadline = client
        .store
        .client_job(&ids[0])
        .expect("store")
        .and_then(|job| job.award)
        .expect("award")
        .0
        .deadline;
    net.rpc("evm_setNextBlockTimestamp", [deadline + 1]).await;
    while net.head().await < committed_at + window - 1 {
        net.rpc("evm_mine", ()).await;
    }
    let evidence = missed_deadline_at(&net, &client, &ids[0], deadline + 1)
        .await
        .expect("evidence");
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(net.unmined(prover.address).await, 0, "the claim came early");
    let challenger: Market<Client> = net.market(BY_HAND);
    let me = challenger.client().address();
    let bond = challenge_bond(&net).await;
    let before = net.owner.credits(prover.address).await.expect("credits");
    let opened = tokio::spawn(async move { challenger.challenge_missed_deadline(&evidence).await });
    // A challenge commits to its evidence a block ahead (so nobody can copy it): that
    // commitment in the last block before the claim is due, the challenge in the next.
    eventually(30, "the evidence's commitment is sent", || async {
        (net.unmined(me).await == 1).then_some(())
    })
    .await;
    net.rpc("evm_mine", ()).await;
    eventually(30, "the challenge is sent", || async {
        (net.nonces(me).await == (1, 2)).then_some(())
    })
    .await;
    assert_eq!(net.unmined(prover.address).await, 0, "the claim came early");
    // One block: the challenge is mined in it, and the claim is due from it.
    net.rpc("evm_mine", ()).await;
    let challenged_at = net.head().await;
    let (challenge, receipt) = tokio::time::timeout(std::time::Duration::from_secs(10), opened)
        .await
        .unwrap_or_else(|_| panic!("the challenge was not mined in block {challenged_at}"))
        .expect("joins")
        .expect("opened");
    assert_eq!(
        receipt.block_number.map(|b| b.as_u64()),
        Some(challenged_at),
        "the challenge is in the block"
    );
    // The claim of the other 63 jobs (the challenged one is not payable until answered:
    // the whole batch's claim is refused, the jobs are checked one by one) and the
    // answer come due at once. One transaction in flight at a time: whichever goes
    // first, the answer waits for at most the one ahead of it. A block is mined each
    // time the prover has sent something, until both are mined.
    let answered = |e: &ProverMarketEvents| matches!(e, ProverMarketEvents::ChallengeAnsweredFilter(a) if a.challenge_id == U256::from(challenge));
    let claimed = |e: &ProverMarketEvents| matches!(e, ProverMarketEvents::BatchFeesClaimedFilter(c) if c.batch_id == U256::from(batch_id));
    for _ in 0..6 {
        if event_block(&net, challenged_at, answered).await.is_some()
            && event_block(&net, challenged_at, claimed).await.is_some()
        {
            break;
        }
        eventually(60, "the prover sends", || async {
            (net.unmined(prover.address).await > 0).then_some(())
        })
        .await;
        net.rpc("evm_mine", ()).await;
    }
    net.rpc("evm_setIntervalMining", [1u64]).await;
    let answered_at = event_block(&net, challenged_at, answered)
        .await
        .expect("answered in the blocks after the challenge");
    let claimed_at = event_block(&net, challenged_at, claimed)
        .await
        .expect("claimed in the blocks after the challenge");
    println!(
        "challenge mined in block {challenged_at}, the claim of the other jobs in {claimed_at}, the answer in {answered_at}"
    );
    assert!(
        answered_at <= challenged_at + 2,
        "the answer waited for more than the one transaction ahead of it: challenge in {challenged_at}, answer in {answered_at}"
    );
    // The first claim paid the 63 jobs not under challenge (4 bytes per index).
    let first_claim = net
        .events()
        .await
        .into_iter()
        .find_map(|e| match e {
            ProverMarketEvents::BatchFeesClaimedFilter(c) if c.batch_id == U256::from(batch_id) => {
                Some(c)
            }
            _ => None,
        })
        .expect("claimed");
    assert_eq!(
        first_claim.indices.len(),
        (JOBS - 1) * 4,
        "the first claim paid every job but the challenged one"
    );
    assert_eq!(
        net.owner.credits(prover.address).await.expect("credits"),
        before + bond,
        "the challenger's bond went to the prover"
    );
    // The claim pays every job, the challenged one too.
    for id in &ids {
        wait_for_state(&client, id, &["paid"], 120).await;
    }
    all_claimed(&prover, true, 60).await;
    assert!(
        !net.events()
            .await
            .into_iter()
            .any(|e| matches!(e, ProverMarketEvents::SlashedFilter(_))),
        "nothing was slashed"
    );
}
