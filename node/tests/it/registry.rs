//! Attacks on circuit registration, which anyone may make at any time: an id cannot be
//! taken by another verifier, and a leaf under an id a node did not derive is never
//! audited (its verdict on chain could change before a challenge lands).

use ethers::providers::Middleware;
use provernet_circuits::Circuit;
use provernet_protocol::{Address as ProtocolAddress, Hash32, JobId, JobLeaf, keccak256};

use crate::support::{Testnet, bids, eventually, submit, wait_for_state, watch_params};

/// Anyone registers circuits, so an attacker tries to take the circuit's id before the
/// honest registration: with another circuit's verifier of the same number of public
/// inputs (its valid sample passes registration), and with the circuit's own verifier and
/// a sample padded by a word (the verifier ignores trailing bytes), which would make
/// every honest proof of the id "of another length", so slashable. The market derives
/// each id from the verifier's code and the sample's shape: both registrations get other
/// ids, the circuit's id stays free, the prover declines its jobs until the honest
/// registration (which gets exactly the id the node computed), and then proves and is
/// paid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nobody_can_register_another_verifier_under_a_circuits_id() {
    let (mut net, client) = Testnet::with_client(&[3]).await;
    let attacker = net.market(4);
    let id = crate::support::engine()
        .circuit_id(Circuit::PoseidonChain12)
        .expect("circuit id");
    let (creation, inputs, proof) = crate::support::verifier(Circuit::PoseidonChain16);
    let other = attacker
        .deploy_code(creation)
        .await
        .expect("verifier deploys");
    let taken = attacker
        .register_circuit(other, &inputs, &proof)
        .await
        .expect("anyone registers a circuit");
    assert_ne!(taken, id.0, "another verifier has another id");
    let (creation, inputs, mut proof) = crate::support::verifier(Circuit::PoseidonChain12);
    let own = attacker
        .deploy_code(creation)
        .await
        .expect("verifier deploys");
    proof.extend_from_slice(&[0; 32]);
    let padded = attacker
        .register_circuit(own, &inputs, &proof)
        .await
        .expect("the verifier ignores the padding");
    assert_ne!(padded, id.0, "another proof length has another id");
    let (verifier, _) = net.owner.registration(id.0).await.expect("registration");
    assert!(verifier.is_zero(), "the circuit's id is still free");

    let config = net.config("prover", true, false);
    let prover = net.start_unregistered(config, 3).await;
    net.wait_for_mesh(1).await;
    let job = client
        .submit(submit(Circuit::PoseidonChain12, 3, 1_000, 120))
        .await
        .expect("submitted");
    eventually(
        60,
        "the prover declines the unregistered circuit",
        || async { (bids(&prover, "declined_unregistered") >= 1).then_some(()) },
    )
    .await;
    assert_eq!(
        bids(&prover, "sent"),
        0,
        "no bid on an unregistered circuit"
    );
    // The honest registration: the same code, the sample's true shape, the node's id.
    net.register_verifier(Circuit::PoseidonChain12).await;
    wait_for_state(&client, &job, &["verified", "paid"], 120).await;
}

/// A staked prover baits watchtowers with a leaf under a circuit id nobody registered: the
/// real verifier's code with its proof padded by a word (which the verifier ignores), so
/// the id is `circuitIdOf(code, 1, length + 32)`. While the id is unregistered the leaf is
/// a rejection; the prover registers the id once a watchtower has committed to its
/// invalid-proof challenge, which then lands as a false one whose bond is the prover's.
/// A watchtower audits only leaves of circuits whose ids it derived: it sees the bait,
/// never samples it, sends nothing, and its balance is untouched after the bait is
/// registered and the window has ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watchtower_never_judges_a_leaf_under_an_id_it_did_not_derive() {
    const PROVER: u32 = 3;
    const TOWER: u32 = 5;
    let mut net = Testnet::with_params(watch_params()).await;
    net.register_verifier(Circuit::PoseidonChain12).await;
    net.register_prover(PROVER).await;
    let config = net.watchtower_config("tower", 1.0);
    let tower = net.start(config, TOWER).await;
    let tower_account = net.market(TOWER).client().address();
    let balance = |net: &Testnet| {
        let client = std::sync::Arc::clone(net.owner.client());
        async move {
            client
                .get_balance(tower_account, None)
                .await
                .expect("balance")
        }
    };
    let before = balance(&net).await;

    let (creation, inputs, mut proof) = crate::support::verifier(Circuit::PoseidonChain12);
    proof.extend_from_slice(&[0; 32]);
    let code_hash = crate::support::engine()
        .verifier(Circuit::PoseidonChain12)
        .expect("verifier")
        .code_hash();
    let bait = provernet_circuits::verifier::circuit_id_of(&code_hash, inputs.len(), proof.len());
    let packed: Vec<u8> = inputs.iter().flat_map(|x| x.0).collect();
    let leaf = JobLeaf {
        job_id: JobId(keccak256(b"bait")),
        circuit_id: bait,
        public_inputs_hash: Hash32(keccak256(&packed)),
        proof_hash: Hash32(keccak256(&proof)),
        client: ProtocolAddress(net.market(1).client().address().0),
        price: 1,
    };
    let attacker = net.market(PROVER);
    let (_, receipt) = attacker
        .commit_batch(&[leaf])
        .await
        .expect("bait committed");
    let committed_at = receipt.block_number.expect("mined").as_u64();
    eventually(30, "the watchtower reads the bait", || async {
        (tower.metrics.watch.jobs_seen.get() >= 1).then_some(())
    })
    .await;
    // The bait is registered inside its window: now it verifies.
    let own = attacker
        .deploy_code(creation)
        .await
        .expect("verifier deploys");
    let registered = attacker
        .register_circuit(own, &inputs, &proof)
        .await
        .expect("registered");
    assert_eq!(registered, bait.0);
    let params = watch_params();
    let end = committed_at + params.challenge_window + params.response_window;
    eventually(60, "the bait's window and answer period end", || async {
        let head = net.owner.client().get_block_number().await.ok()?;
        (head.as_u64() > end).then_some(())
    })
    .await;
    assert_eq!(
        tower.metrics.watch.sampled.get(),
        0,
        "the bait was not sampled"
    );
    assert_eq!(balance(&net).await, before, "the watchtower sent nothing");
}
