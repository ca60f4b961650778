//! The chain follower: the head, stakes, challenges against this prover, registrations
//! and exposure, read from the market's events and views.

use super::*;

/// Follows the chain: the head, and stakes from events (every registered prover's
/// stake and key, refreshed whenever an event touches it). It resumes from its stored
/// position (`cursor`), reads at the head (answers and deadlines cannot wait) and, when a
/// reorg replaced blocks it had read, reads them again: every known stake is read anew
/// and the watchtower forgets the batches of the replaced blocks. What must not be undone
/// (this account's transactions) waits for `chain.confirmations` in the queue.
pub(super) async fn follow_chain(
    shared: Arc<Shared>,
    core: mpsc::Sender<Internal>,
    watch: Option<mpsc::Sender<WatchInput>>,
    shutdown: CancellationToken,
) {
    use provernet_slashing::bindings::ProverMarketEvents as E;
    let me = shared.wallet_address();
    let started = std::time::Instant::now();
    let (cursor, mut known) = cursor::start(&shared).await;
    let metrics = &shared.metrics.chain;
    metrics
        .resumed_at
        .set(i64::try_from(cursor.next_block).unwrap_or(i64::MAX));
    let mut follower = EventFollower::resume(
        Arc::clone(shared.market.client()),
        shared.market.address(),
        cursor,
        0,
    )
    .with_range(shared.config.chain.log_range);
    let interval = Duration::from_millis(shared.config.chain.poll_interval_ms);
    // Registrations never change once made: each circuit is read until it is found.
    let mut registered: HashSet<CircuitId> = HashSet::new();
    // Stakes still to read: every prover known before the restart, at the first poll;
    // every known one after a reorg; one whose read failed, at the next poll.
    let mut unread: HashSet<EthAddress> = known.provers().collect();
    let depositors: Vec<EthAddress> = known.depositors().collect();
    if !depositors.is_empty() && core.send(Internal::Depositors(depositors)).await.is_err() {
        return;
    }
    let mut caught_up_once = false;
    loop {
        match follower.poll().await {
            Ok(provernet_slashing::events::Poll {
                rolled_back,
                events,
            }) => {
                if let Some(from) = rolled_back {
                    metrics.reorgs.inc();
                    unread.extend(known.provers());
                    if let Some(watch) = &watch {
                        let _ = watch.send(WatchInput::Rollback(from)).await;
                    }
                }
                // Challenges first: their response window is short, and the stakes below
                // may take a read per prover.
                if shared.config.roles.prover {
                    let against: Vec<Against> = events
                        .iter()
                        .filter_map(|e| match &e.event {
                            E::ChallengeOpenedFilter(c) if c.prover == me => Some(Against {
                                id: u64::try_from(c.challenge_id).ok()?,
                                fault: c.fault,
                                job: JobId(c.job_id),
                                client: Address(c.client.0),
                                respond_by: c.respond_by,
                            }),
                            _ => None,
                        })
                        .collect();
                    if !against.is_empty() && core.send(Internal::AgainstMe(against)).await.is_err()
                    {
                        return;
                    }
                }
                let mut touched: HashSet<EthAddress> = events
                    .iter()
                    .filter(|e| matches!(e.kind(), EventKind::Stake | EventKind::Slash))
                    .filter_map(|e| prover_of(&e.event))
                    .collect();
                for prover in &touched {
                    known.add_prover(*prover);
                }
                touched.extend(unread.drain());
                let (stakes, failed) = read_stakes(&shared, touched).await;
                unread.extend(failed);
                if let Some(watch) = &watch
                    && !stakes.is_empty()
                {
                    let keys = stakes.iter().map(|(a, s)| (*a, s.peer_key)).collect();
                    let _ = watch.send(WatchInput::Keys(keys)).await;
                }
                if !stakes.is_empty() && core.send(Internal::Stakes(stakes)).await.is_err() {
                    return;
                }
                // Every account that ever deposited (each one paid a transaction): only
                // their requests are worth a read of the chain (`admission`).
                let depositors: Vec<EthAddress> = events
                    .iter()
                    .filter_map(|e| match &e.event {
                        E::DepositedFilter(d) => Some(d.client),
                        _ => None,
                    })
                    .filter(|client| known.add_depositor(*client))
                    .collect();
                if !depositors.is_empty()
                    && core.send(Internal::Depositors(depositors)).await.is_err()
                {
                    return;
                }
                // A claim may pay this client's verified jobs: asked about once confirmed.
                let claimers: Vec<(EthAddress, u64)> = events
                    .iter()
                    .filter(|_| shared.config.roles.client)
                    .filter_map(|e| match &e.event {
                        E::BatchFeesClaimedFilter(c) => Some((c.prover, e.block)),
                        _ => None,
                    })
                    .collect();
                if !claimers.is_empty() && core.send(Internal::FeesClaimed(claimers)).await.is_err()
                {
                    return;
                }
                if let Some(watch) = &watch {
                    let relevant: Vec<_> = events
                        .into_iter()
                        .filter(|e| {
                            matches!(
                                e.kind(),
                                EventKind::Commitment | EventKind::Challenge | EventKind::Slash
                            )
                        })
                        .collect();
                    if !relevant.is_empty() {
                        let _ = watch.send(WatchInput::Chain(relevant)).await;
                    }
                }
                // Handed on: a restart resumes after these blocks.
                known.save(&shared, follower.cursor());
                if follower.caught_up() && !std::mem::replace(&mut caught_up_once, true) {
                    let ms = started.elapsed().as_millis();
                    metrics
                        .catch_up_ms
                        .set(i64::try_from(ms).unwrap_or(i64::MAX).max(1));
                    tracing::info!(target: "chain", head = follower.next_block().saturating_sub(1), ms, "the follower caught up with the chain");
                }
                let head = follower.next_block().saturating_sub(1);
                if let Some(watch) = &watch {
                    let _ = watch
                        .send(WatchInput::Head {
                            block: head,
                            caught_up: follower.caught_up(),
                        })
                        .await;
                }
                metrics.head.set(i64::try_from(head).unwrap_or(i64::MAX));
                metrics.queue(shared.transactions.stats());
                if core
                    .send(Internal::Head(head, follower.caught_up()))
                    .await
                    .is_err()
                {
                    return;
                }
                if shared.config.roles.prover && registered.len() < shared.circuits.proved().len() {
                    let found = read_registrations(&shared, &registered).await;
                    if !found.is_empty() {
                        registered.extend(found.iter().copied());
                        if core.send(Internal::Registered(found)).await.is_err() {
                            return;
                        }
                    }
                }
                if shared.config.roles.prover {
                    match read_exposure(&shared, me).await {
                        Ok(exposure) => {
                            if core.send(Internal::Exposure(exposure)).await.is_err() {
                                return;
                            }
                        }
                        Err(error) => {
                            tracing::warn!(target: "chain", %error, "cannot read this prover's exposure")
                        }
                    }
                }
            }
            Err(error) => tracing::warn!(target: "chain", %error, "cannot follow the chain"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(interval) => {}
        }
    }
}

/// Stake reads in flight at once: after a restart or a reorg every known prover is read.
const STAKE_READS_IN_FLIGHT: usize = 16;

/// The stakes of `provers` that are registered (stake their debt, slashes not taken yet,
/// does not claim), read side by side, and the provers whose read failed.
async fn read_stakes(
    shared: &Shared,
    provers: HashSet<EthAddress>,
) -> (Vec<(EthAddress, StakeInfo)>, Vec<EthAddress>) {
    use futures_util::StreamExt as _;
    let reads = futures_util::stream::iter(provers)
        .map(|prover| async move {
            (
                prover,
                shared.market.contract().provers(prover).call().await,
            )
        })
        .buffer_unordered(STAKE_READS_IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    let (mut stakes, mut failed) = (Vec::new(), Vec::new());
    for (prover, read) in reads {
        match read {
            Ok((stake, debt, peer_key, .., registered)) if registered => stakes.push((
                prover,
                StakeInfo {
                    peer_key,
                    stake: u128::try_from(stake.saturating_sub(debt)).unwrap_or(u128::MAX),
                },
            )),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(target: "chain", %error, "cannot read a stake");
                failed.push(prover);
            }
        }
    }
    (stakes, failed)
}

/// The circuits this prover proves, beyond `known`, that the market has registered. Their
/// ids derive from the verifiers this node compiled from its own keys, as the market
/// derives them, so a registration under one of them is of this build's verifier and
/// shape. A leaf of a circuit the market does not know is slashable as invalid whatever
/// its proof (anyone's invalid-proof challenge wins): the prover does not bid on one.
pub(super) async fn read_registrations(
    shared: &Shared,
    known: &HashSet<CircuitId>,
) -> Vec<CircuitId> {
    let mut found = Vec::new();
    for (id, circuit) in shared.circuits.proved_ids() {
        if known.contains(&id) {
            continue;
        }
        match shared.market.registration(id.0).await {
            Ok((verifier, _)) if verifier.is_zero() => {
                tracing::warn!(target: "chain", circuit = circuit.name(), %id, "circuit not registered on this market: not bidding on it");
            }
            Ok(_) => {
                tracing::info!(target: "chain", circuit = circuit.name(), %id, "circuit registered on this market");
                found.push(id);
            }
            Err(error) => {
                tracing::warn!(target: "chain", circuit = circuit.name(), %error, "cannot read the circuit's registration");
            }
        }
    }
    found
}

/// This prover's leaves at risk and the most its stake covers, as `commitBatch` counts
/// them.
pub(super) async fn read_exposure(
    shared: &Shared,
    me: EthAddress,
) -> Result<provernet_market::funds::Exposure, provernet_slashing::ChainError> {
    let (at_risk, covered) = shared.market.exposure(me).await?;
    let saturate = |v: U256| u64::try_from(v).unwrap_or(u64::MAX);
    Ok(provernet_market::funds::Exposure {
        at_risk: saturate(at_risk),
        covered: saturate(covered),
    })
}

fn prover_of(event: &provernet_slashing::bindings::ProverMarketEvents) -> Option<EthAddress> {
    use provernet_slashing::bindings::ProverMarketEvents as E;
    match event {
        E::ProverRegisteredFilter(e) => Some(e.prover),
        E::StakeAddedFilter(e) => Some(e.prover),
        E::UnbondingStartedFilter(e) => Some(e.prover),
        E::StakeWithdrawnFilter(e) => Some(e.prover),
        E::SlashedFilter(e) => Some(e.prover),
        _ => None,
    }
}
