//! A false challenge, sent by hand against an honest prover's valid leaf, loses its bond
//! to the prover, whatever the challenge (invalid proof, withheld proof, missed deadline).

use ethers::types::{Address, U256};
use provernet_circuits::Circuit;
use provernet_node::metrics::kind;
use provernet_node::store::BatchState;
use provernet_protocol::JobLeaf;
use provernet_slashing::bindings::ProverMarketEvents;
use provernet_slashing::eip712;
use provernet_slashing::evidence::{
    EvidenceError, Inclusion, InvalidProof, MissedDeadline, WithheldProof,
};
use provernet_slashing::{ChainError, Market};

use crate::support::{Client, all_claimed, eventually, submit, wait_for_state};
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
    let bond = net
        .owner
        .contract()
        .challenge_bond()
        .call()
        .await
        .expect("bond");
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
    let record = client.store.client_job(&id).expect("store").expect("job");
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
    let client_address = client.address;
    let evidence = eventually(40, "the deadline passed", || {
        let (award, acceptance) = (award.clone(), acceptance.clone());
        async move {
            MissedDeadline::new(
                &domain,
                eip712::Acceptance {
                    job_id: acceptance.job_id.0,
                    client: client_address,
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
                // A second of slack for the chain's clock.
                provernet_node::service::now_s().saturating_sub(1),
            )
            .ok()
        }
    })
    .await;
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
