//! A proof pushed to a client many times at once. Only the winner's key may push a job's
//! proof, so the attacker here holds it (a winner gone rogue, or its leaked key) and
//! pushes 64 corrupted copies at once from another connection, each in a fresh envelope.
//! The client verifies one copy of a job at a time and answers the others at once; and
//! once a copy has failed, the winner is at fault on the job and none of its pushes is
//! verified again (before, each later copy was verified in turn): one verification in
//! all. The connection that delivered it pays `BadContent`, and the job's
//! proof still arrives, from the winner's commitment.

use provernet_circuits::Circuit;
use provernet_node::metrics::kind;
use provernet_node::service::{NodeHandle, now_s};
use provernet_protocol::{Context, ProofBody, ProofResponse, Response, SignedEnvelope};

use crate::support::{Testnet, engine, eventually, submit, wait_for_state, witness};

const PUSHES: u64 = 64;

fn rejected(client: &NodeHandle) -> u64 {
    client
        .metrics
        .market
        .proofs
        .get_or_create(&kind("rejected"))
        .get()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proof_pushed_many_times_at_once_is_verified_once_and_the_pusher_is_penalized() {
    let mut net = Testnet::new().await;
    let client = net.start_client(&[3], |_| {}).await;
    let prover = net.start(net.config("prover", true, false), 3).await;
    let rogue = net.start(net.config("rogue", false, true), 2).await;
    net.wait_for_mesh(2).await;
    let circuit = Circuit::PoseidonChain12;
    // The statement of the job about to be submitted, and a proof of it with one byte
    // flipped: it names the right circuit and statement, and does not verify.
    let proof = tokio::task::spawn_blocking(move || {
        let witness = circuit
            .parse_witness_str(&witness(circuit, 1))
            .expect("witness");
        engine().prove(&witness).expect("proves")
    })
    .await
    .expect("proving task");
    let mut corrupted = proof.proof.clone();
    corrupted[40] ^= 1;
    let body = ProofBody {
        circuit_id: proof.circuit_id,
        public_inputs: proof.public_inputs.clone(),
        proof: corrupted,
    };

    let id = client
        .submit(submit(circuit, 1, 1_000_000, 60))
        .await
        .expect("submitted");
    // The moment the client awards the round, before the winner can have proven it.
    let round = eventually(30, "the round is awarded", || async {
        let job = client.store.client_job(&id).expect("store")?;
        job.award.map(|award| award.0.job_id)
    })
    .await;
    let context = Context::new(net.anvil.chain_id());
    let winner_key = net.keys(3).identity;
    let target = client.net.peer_id();
    // Copy `n` of the corrupted proof, in an envelope of the winner's key with an expiry
    // of its own: the client's replay cache refuses a frame it has seen.
    let frame = |n: u64| {
        let delivery = ProofResponse {
            job_id: round,
            body: Response::Ok(body.clone()),
        };
        SignedEnvelope::sign(&delivery, &context, now_s() + 60 + n, &winner_key)
            .expect("sign")
            .to_bytes()
    };
    let mut pushes = Vec::new();
    for n in 0..PUSHES {
        let (rogue, frame) = (rogue.clone(), frame(n));
        pushes.push(tokio::spawn(async move {
            rogue.net.request(target, frame).await
        }));
    }
    for push in pushes {
        let _ = push.await.expect("push task");
    }

    // One copy was verified: the others were answered while it was, or after it failed,
    // since a winner whose pushed proof does not verify is at fault on the job and gets
    // no more of its pushes verified. A copy pushed alone afterwards is not verified
    // either.
    let verified = eventually(10, "a pushed copy was verified and refused", || async {
        let n = rejected(&client);
        (n >= 1).then_some(n)
    })
    .await;
    println!("{PUSHES} copies pushed at once: {verified} verified");
    rogue
        .net
        .request(target, frame(PUSHES))
        .await
        .expect("answered at once");
    assert_eq!(rejected(&client), 1, "copies verified");
    // The job's winner is at fault on it, and the connection that delivered the bad copy
    // paid for it (`BadContent`).
    let job = client.store.client_job(&id).expect("store").expect("job");
    assert!(job.faulty_provers.contains(&prover.address.0));
    assert_eq!(
        client
            .metrics
            .net
            .penalties
            .get_or_create(&kind("bad_content"))
            .get(),
        1,
        "penalties for bad content"
    );
    let info = client.net.info().await.expect("info");
    let rogue_peer = rogue.net.peer_id();
    let score = info
        .peers
        .iter()
        .find(|(p, _)| *p == rogue_peer)
        .map(|(_, s)| *s);
    assert!(
        score.is_none_or(|s| s < -50.0),
        "the pusher's score at the client: {score:?}"
    );
    // The job's proof is still taken, from the winner's commitment (its own pushes are
    // no longer verified).
    wait_for_state(&client, &id, &["verified", "paid"], 120).await;
}
