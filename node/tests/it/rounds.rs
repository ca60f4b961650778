//! Issue "Sound mechanism", property 3: whatever the auction rounds, a client pays a job
//! at most once, and the winner that accepted in time and delivered is the one paid.

use ethers::types::{Address, U256};
use provernet_circuits::Circuit;
use provernet_market::pricing::PricePolicy;
use provernet_node::config::{Cheat, CheatMode};
use provernet_node::store::{BatchState, ClientJob, ClientState};
use provernet_slashing::bindings::ProverMarketEvents;

use crate::support::{CHALLENGE_WINDOW, Testnet, eventually, submit};
use ethers::providers::Middleware as _;
use provernet_node::service::NodeHandle;
use provernet_protocol::{Hash32, JobId, JobLeaf};

const CLIENT: u32 = 1;
const CHEATER: u32 = 3;
const HONEST: u32 = 4;

/// A client with a 1 ETH deposit (`before`), one round per job and `configure`d, and one
/// honest prover, meshed.
async fn one_round(
    configure: impl FnOnce(&mut provernet_node::config::ClientSection),
) -> (Testnet, NodeHandle, NodeHandle, U256) {
    let mut net = Testnet::new().await;
    net.register_prover(HONEST).await;
    net.deposit(CLIENT, "1").await;
    let before = net.deposit_of(CLIENT).await;
    let mut config = net.config("client", false, true);
    config.client.max_rounds = 1;
    configure(&mut config.client);
    let client = net.start(config, CLIENT).await;
    let config = net.config("honest", true, false);
    let prover = net.start(config, HONEST).await;
    net.wait_for_mesh(1).await;
    (net, client, prover, before)
}

/// A client with a 1 ETH deposit (`before`), a cheaper prover cheating in `mode` on every
/// job and a dearer honest one, meshed.
struct Market {
    net: Testnet,
    client: NodeHandle,
    cheater: NodeHandle,
    honest: NodeHandle,
    before: U256,
}

async fn market(mode: CheatMode) -> Market {
    market_with(mode, 1, 2_000).await
}

/// As [`market`], the honest prover asking at least `honest_floor` wei, and the client
/// waiting `accept_timeout_ms` for an acceptance.
async fn market_with(mode: CheatMode, honest_floor: u128, accept_timeout_ms: u64) -> Market {
    let mut net = Testnet::new().await;
    net.register_prover(CHEATER).await;
    net.register_prover(HONEST).await;
    net.deposit(CLIENT, "1").await;
    let before = net.deposit_of(CLIENT).await;
    let mut config = net.config("client", false, true);
    config.client.accept_timeout_ms = accept_timeout_ms;
    let client = net.start(config, CLIENT).await;
    let mut config = net.config("cheater", true, false);
    config.prover.price = PricePolicy::FractionOfMax {
        bps: 5_000,
        floor: 1,
    };
    config.prover.cheat = Some(Cheat {
        mode,
        rate: 1.0,
        silent: false,
    });
    let cheater = net.start(config, CHEATER).await;
    let mut config = net.config("honest", true, false);
    config.prover.price = PricePolicy::FractionOfMax {
        bps: 9_000,
        floor: honest_floor,
    };
    let honest = net.start(config, HONEST).await;
    net.wait_for_mesh(2).await;
    Market {
        net,
        client,
        cheater,
        honest,
        before,
    }
}

impl Market {
    /// Submits a poseidon-chain-12 job (`seed`, `deadline_secs`), waits until it is paid
    /// and returns its id and record.
    async fn submit_and_wait_paid(&self, seed: u64, deadline_secs: u64) -> (JobId, ClientJob) {
        let id = self
            .client
            .submit(submit(
                Circuit::PoseidonChain12,
                seed,
                1_000_000_000,
                deadline_secs,
            ))
            .await
            .expect("submitted");
        let job = self.wait_paid(&id).await;
        (id, job)
    }

    /// Waits until the client's job `id` is paid and returns its record.
    async fn wait_paid(&self, id: &JobId) -> ClientJob {
        eventually(150, "the job paid", || async {
            self.client
                .job(id)
                .expect("store")
                .is_some_and(|j| j.state == "paid")
                .then_some(())
        })
        .await;
        self.client
            .store
            .client_job(id)
            .expect("store")
            .expect("job")
    }
}

/// The attack: the cheaper prover wins round 0, never publishes its acceptance (so the
/// client re-auctions), proves and commits the round-0 job anyway and claims it. It never
/// got a signed award, so it is paid nothing; the honest winner of round 1 is paid; the
/// client's deposit goes down by one price.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_winner_that_skipped_its_acceptance_is_never_paid_and_the_client_pays_once() {
    let m = market(CheatMode::SkipAcceptance).await;
    let (id, job) = m.submit_and_wait_paid(11, 60).await;
    assert_eq!(job.state, ClientState::Paid);
    let award = job.award.clone().expect("awarded").0;
    assert_eq!(
        award.prover.0, m.honest.address.0,
        "round 1's honest winner"
    );
    assert_ne!(job.current_id(), id, "round 0 was re-auctioned");
    assert!(
        job.history.iter().any(|h| h.contains("no_acceptance")),
        "{:?}",
        job.history
    );

    // The cheater did prove and commit round 0's job, and tried to claim it.
    eventually(60, "the cheater settled its batch", || async {
        let batches = m.cheater.store.batches().expect("store");
        batches
            .iter()
            .any(|b| {
                matches!(b.state, BatchState::Claimed { .. })
                    && b.leaves.iter().any(|l| l.leaf.job_id == id)
            })
            .then_some(())
    })
    .await;
    // It was paid nothing; the honest winner was paid the award; the client paid once.
    let cheater_address = Address::from(m.cheater.address.0);
    let mut paid_to_cheater = U256::zero();
    for event in m.net.events().await {
        match event {
            ProverMarketEvents::BatchFeesClaimedFilter(e) if e.prover == cheater_address => {
                paid_to_cheater += e.total;
            }
            _ => {}
        }
    }
    assert_eq!(paid_to_cheater, U256::zero(), "the cheater is paid nothing");
    assert_eq!(
        m.before - m.net.deposit_of(CLIENT).await,
        U256::from(award.price),
        "the client paid exactly one award"
    );
}

/// A prover at fault on a job never wins it again, even as its only bidder. The cheaper
/// prover wins round 0, pushes a proof that does not verify, commits it and is slashed
/// for it. The honest prover asks more than the maximum of rounds 0 and 1 (a lost
/// winner's round keeps its price), so round 1's only bid is the cheater's: it used to
/// win again (a prover that had failed a job kept it when nobody else bid), and so round
/// after round. Now round 1 awards nobody, the next round's price rises, and the honest
/// prover wins it and is paid. Nor does the cheater win the client's next job, where it is
/// again the cheapest: it used to (it was at fault on one job only), then cheat again or,
/// banned by the client, fail to fetch the input, and every job paid a wasted round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prover_at_fault_on_a_job_is_never_awarded_it_again_even_alone_nor_another_job() {
    // A generous acceptance timeout: the cheater must accept (and so push its invalid
    // proof) in round 0 however loaded the machine is.
    let m = market_with(CheatMode::InvalidProof, 1_000_000_001, 20_000).await;
    let (_, job) = m.submit_and_wait_paid(12, 60).await;
    let award = job.award.clone().expect("awarded").0;
    assert_eq!(award.prover.0, m.honest.address.0, "an honest winner");
    assert!(
        job.faulty_provers.contains(&m.cheater.address.0),
        "the cheater is at fault on the job: {:?}",
        job.history
    );
    assert!(
        job.history.iter().any(|h| h.ends_with("no_bids")),
        "a round with only the cheater bidding awarded nobody: {:?}",
        job.history
    );
    // The cheater won one round of the job, and only one.
    let won = rounds_won(&m.cheater, &job);
    assert_eq!(won, 1, "rounds of the job the cheater won");

    let (_, second) = m.submit_and_wait_paid(13, 60).await;
    let award = second.award.clone().expect("awarded").0;
    assert_eq!(award.prover.0, m.honest.address.0, "an honest winner");
    let won = rounds_won(&m.cheater, &second);
    assert_eq!(won, 0, "rounds of the client's next job the cheater won");
}

/// How many rounds of the client's `job` `prover` won.
fn rounds_won(prover: &NodeHandle, job: &ClientJob) -> usize {
    prover
        .store
        .works()
        .expect("store")
        .iter()
        .filter(|w| w.request.0.input_hash == job.request.0.input_hash)
        .count()
}

/// The other side: a client that never signs the award (it hopes to get the winner's
/// proof without being bound to pay). The winner accepts and proves, but its proof goes
/// to nobody (not pushed, not served, not announced) until the award is signed; as the
/// deadline nears it commits the proof unsigned, which it can never claim and nobody can
/// challenge as missed. The client pays nothing through its deposit, and holds the proof
/// only if it took it from the chain with a withheld-proof challenge, whose bond (showing
/// no award, at least the job's price) goes to the prover with the reveal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_signs_the_award_never_gets_the_proof() {
    let (net, client, prover, before) = one_round(|c| c.cheat_never_sign = true).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 12, 1_000_000_000, 30))
        .await
        .expect("submitted");
    // The prover proves the job, then holds the proof.
    eventually(60, "the prover proved the job", || async {
        prover
            .metrics
            .market
            .proofs
            .get_or_create(&provernet_node::metrics::kind("generated"))
            .get()
            .ge(&1)
            .then_some(())
    })
    .await;
    // Near the deadline the prover commits it anyway; the batch never pays.
    eventually(60, "the prover committed the unsigned job", || async {
        prover
            .store
            .batches()
            .expect("store")
            .iter()
            .any(|b| {
                matches!(b.state, BatchState::Claimed { .. })
                    && b.leaves.iter().any(|l| l.leaf.job_id == id)
            })
            .then_some(())
    })
    .await;
    let job = client.store.client_job(&id).expect("store").expect("job");
    assert_ne!(job.state, ClientState::Paid);
    // The client gets the proof only from the chain, by a withheld-proof challenge of
    // the committed leaf whose bond the prover's reveal earns.
    let client_address = Address::from(client.address.0);
    let prover_address = Address::from(prover.address.0);
    let events = net.events().await;
    let challenged = events.iter().any(|e| {
        matches!(e, ProverMarketEvents::ChallengeOpenedFilter(c)
            if c.challenger == client_address && c.fault == 2)
    });
    let answered = events.iter().any(|e| {
        matches!(e, ProverMarketEvents::ChallengeAnsweredFilter(a) if a.prover == prover_address)
    });
    assert_eq!(
        job.proof.is_some(),
        challenged && answered,
        "the proof only through a withheld-proof challenge, answered"
    );
    assert_eq!(
        net.deposit_of(CLIENT).await,
        before,
        "the client paid nothing"
    );
    // Nothing could be challenged: no signed award exists for a missed deadline.
    let slashed = net
        .events()
        .await
        .into_iter()
        .any(|e| matches!(e, ProverMarketEvents::SlashedFilter(_)));
    assert!(!slashed, "the honest prover is not slashed");
}

/// The signed award never reaches the winner (here the client neither gossips it nor
/// answers the winner's acceptance sent to it directly): the winner holds a proof it may
/// not hand out, and near its deadline commits it unsigned. The client's node sees a leaf
/// of its accepted round on chain but no proof, and buys it with a withheld-proof
/// challenge naming the job's nonce: the leaf's price leaves its deposit and the job is
/// marked paid; the prover reveals the proof and is credited the price, the client's
/// bond comes back. The client pays once, the winner is paid, nobody is slashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_award_that_never_arrives_is_paid_by_the_clients_challenge_buying_the_proof() {
    let (net, client, prover, before) = one_round(|c| c.cheat_drop_signed_award = true).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 14, 1_000_000_000, 30))
        .await
        .expect("submitted");
    let client_address = Address::from(client.address.0);
    let prover_address = Address::from(prover.address.0);
    let answered = eventually(240, "the client's challenge answered", || async {
        let events = net.events().await;
        let opened = events.iter().find_map(|e| match e {
            ProverMarketEvents::ChallengeOpenedFilter(c)
                if c.challenger == client_address && c.fault == 2 =>
            {
                Some(c.challenge_id)
            }
            _ => None,
        })?;
        events.into_iter().find_map(|e| match e {
            ProverMarketEvents::ChallengeAnsweredFilter(a) if a.challenge_id == opened => Some(a),
            _ => None,
        })
    })
    .await;
    let job = client.store.client_job(&id).expect("store").expect("job");
    let award = job.award.as_ref().expect("awarded").0.clone();
    assert!(award.is_signed(), "the client did sign");
    assert_eq!(
        net.owner.credits(client_address).await.expect("credits"),
        answered.bond,
        "the client's bond came back"
    );
    assert_eq!(
        net.owner.credits(prover_address).await.expect("credits"),
        U256::from(award.price),
        "the prover was paid the price by its reveal"
    );
    assert_eq!(
        net.deposit_of(CLIENT).await,
        before - U256::from(award.price),
        "the client paid the job once, at its price"
    );
    let events = net.events().await;
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProverMarketEvents::SlashedFilter(_))),
        "nobody is slashed"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ProverMarketEvents::BatchFeesClaimedFilter(_))),
        "no claim pays the job again"
    );
    let job = eventually(60, "the client holds the revealed proof", || async {
        client
            .store
            .client_job(&id)
            .expect("store")
            .filter(|j| j.proof.is_some())
    })
    .await;
    // Its core knew the round bought: paid by the purchase, it waited for the reveal
    // instead of settling without the proof.
    assert!(job.bought, "the purchase reached the client's core");
}

/// The acceptance is gossiped once; lost (here the client acts on none that comes by
/// gossip), the client would give the round up after its acceptance timeout and, with no
/// round left, fail the job. The winner sends its acceptance to the client directly while
/// its award stays unsigned, and the client answers with the signed award: the round is
/// kept, proven, delivered and paid once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_acceptance_reaches_the_client_directly_and_the_round_is_kept() {
    let (net, client, _prover, before) =
        one_round(|c| c.cheat_drop_gossiped_acceptances = true).await;

    let id = client
        .submit(submit(Circuit::PoseidonChain12, 15, 1_000_000_000, 30))
        .await
        .expect("submitted");
    eventually(150, "the job paid", || async {
        client
            .job(&id)
            .expect("store")
            .is_some_and(|j| j.state == "paid")
            .then_some(())
    })
    .await;
    let job = client.store.client_job(&id).expect("store").expect("job");
    assert_eq!(job.current_id(), id, "round 0 kept: no re-auction");
    let price = job.award.as_ref().expect("awarded").0.price;
    assert_eq!(
        net.deposit_of(CLIENT).await,
        before - U256::from(price),
        "paid once"
    );
}

/// The attack: the cheaper prover wins, accepts (so its award is signed), proves and
/// commits the job in time, but never pushes the proof to the client, hoping the client
/// re-auctions after the deadline and pays the job twice (the committed leaf is paid
/// whether delivered or not). The client re-auctions an accepted round only once the
/// chain shows it can never be paid; this one's leaf is on chain, so the client's node
/// audits it, fetches the committed proof from the winner, and the job is paid once, to
/// the winner that proved it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_winner_that_commits_without_delivering_is_paid_once_and_the_client_takes_the_proof() {
    let m = market(CheatMode::SkipDelivery).await;
    let (id, job) = m.submit_and_wait_paid(13, 30).await;
    let award = job.award.clone().expect("awarded").0;
    assert_eq!(award.prover.0, m.cheater.address.0, "round 0's winner");
    assert_eq!(
        job.current_id(),
        id,
        "never re-auctioned: {:?}",
        job.history
    );
    assert!(job.proof.is_some(), "the client holds the proof");
    let from_commitment = m
        .client
        .metrics
        .market
        .proofs
        .get_or_create(&provernet_node::metrics::kind("from_commitment"))
        .get();
    assert_eq!(
        from_commitment, 1,
        "taken from the winner's commitment: it was never pushed"
    );
    // One payment, of the award, to the winner; the other prover has nothing to claim.
    assert_eq!(
        m.before - m.net.deposit_of(CLIENT).await,
        U256::from(award.price),
        "the client paid exactly one award"
    );
    let honest_address = Address::from(m.honest.address.0);
    for event in m.net.events().await {
        match event {
            ProverMarketEvents::BatchFeesClaimedFilter(e) => assert_ne!(e.prover, honest_address),
            ProverMarketEvents::SlashedFilter(e) => panic!("nobody is slashed: {e:?}"),
            _ => {}
        }
    }
}

/// The bait: a staked prover that won nothing commits leaves naming the client while its
/// round waits for a proof — one under the round's own job id (public in the request) with
/// a made-up statement, one under a made-up job id — and serves none of them, hoping the
/// client's node audits them and sends withheld-proof challenges whose bonds its reveals
/// would collect (or gets its leaf slashed, so the client re-auctions a round its winner
/// can still claim). The client audits only the awarded prover's leaf of the awarded
/// statement: it challenges none of the bait, and its job is paid once, to its winner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaves_of_another_prover_naming_the_client_draw_no_challenge_from_it() {
    const BAIT: u32 = 5;
    let m = market(CheatMode::SkipDelivery).await;
    m.net.register_prover(BAIT).await;
    let id = m
        .client
        .submit(submit(Circuit::PoseidonChain12, 14, 1_000_000_000, 30))
        .await
        .expect("submitted");
    eventually(60, "the round accepted", || async {
        m.client
            .job(&id)
            .expect("store")
            .is_some_and(|j| j.state == "accepted")
            .then_some(())
    })
    .await;
    let request = m
        .client
        .store
        .client_job(&id)
        .expect("store")
        .expect("job")
        .request
        .0;
    let client = provernet_protocol::Address(m.client.address.0);
    let bait = |job_id: JobId, n: u8| JobLeaf {
        job_id,
        circuit_id: request.circuit_id,
        public_inputs_hash: Hash32([n; 32]),
        proof_hash: Hash32([n + 1; 32]),
        client,
        price: 1,
    };
    let (batch, _) = m
        .net
        .market(BAIT)
        .commit_batch(&[bait(id, 7), bait(JobId([9; 32]), 9)])
        .await
        .expect("the bait is committed");
    let (paid_id, job) = (id, m.wait_paid(&id).await);
    assert_eq!(
        job.current_id(),
        paid_id,
        "never re-auctioned: {:?}",
        job.history
    );
    assert_eq!(
        job.award.expect("awarded").0.prover.0,
        m.cheater.address.0,
        "paid to its winner"
    );
    // The bait's window has long closed (the job's own batch was claimed after its own).
    let (_, _, _, bait_block, _) = m.net.owner.batch(batch).await.expect("batch");
    let head = m.net.owner.client().get_block_number().await.expect("head");
    assert!(
        head.as_u64() > bait_block + CHALLENGE_WINDOW,
        "the bait's window closed"
    );
    let client_address = Address::from(m.client.address.0);
    for event in m.net.events().await {
        if let ProverMarketEvents::ChallengeOpenedFilter(c) = event {
            assert_ne!(c.challenger, client_address, "the client challenged {c:?}");
        }
    }
}
