//! The chain follower: the head, stakes, challenges against this prover, registrations
//! and exposure, read from the market's events and views.

use super::*;

/// Follows the chain: the head, and stakes from events (every registered prover's
/// stake and key, refreshed whenever an event touches it).
pub(super) async fn follow_chain(
    shared: Arc<Shared>,
    core: mpsc::Sender<Internal>,
    watch: Option<mpsc::Sender<WatchInput>>,
    shutdown: CancellationToken,
) {
    use provernet_slashing::bindings::ProverMarketEvents as E;
    let me = shared.wallet_address();
    let mut follower = EventFollower::new(
        Arc::clone(shared.market.client()),
        shared.market.address(),
        0,
        0,
    );
    let interval = Duration::from_millis(shared.config.chain.poll_interval_ms);
    // Registrations never change once made: each circuit is read until it is found.
    let mut registered: HashSet<CircuitId> = HashSet::new();
    loop {
        match follower.poll().await {
            Ok(events) => {
                let touched: HashSet<EthAddress> = events
                    .iter()
                    .filter(|e| matches!(e.kind(), EventKind::Stake | EventKind::Slash))
                    .filter_map(|e| prover_of(&e.event))
                    .collect();
                let mut stakes = Vec::new();
                for prover in touched {
                    match shared.market.contract().provers(prover).call().await {
                        // Stake that its debt (slashes not taken yet) does not claim.
                        Ok((stake, debt, peer_key, .., registered)) if registered => stakes.push((
                            prover,
                            StakeInfo {
                                peer_key,
                                stake: u128::try_from(stake.saturating_sub(debt))
                                    .unwrap_or(u128::MAX),
                            },
                        )),
                        Ok(_) => {}
                        Err(error) => {
                            tracing::warn!(target: "chain", %error, "cannot read a stake")
                        }
                    }
                }
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
                    .collect();
                if !depositors.is_empty()
                    && core.send(Internal::Depositors(depositors)).await.is_err()
                {
                    return;
                }
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
                let head = follower.next_block().saturating_sub(1);
                if let Some(watch) = &watch {
                    let _ = watch
                        .send(WatchInput::Head {
                            block: head,
                            caught_up: follower.caught_up(),
                        })
                        .await;
                }
                shared
                    .metrics
                    .chain
                    .head
                    .set(i64::try_from(head).unwrap_or(i64::MAX));
                let queue = shared.transactions.stats();
                let count = |n: &std::sync::atomic::AtomicU64| {
                    i64::try_from(n.load(std::sync::atomic::Ordering::Relaxed)).unwrap_or(i64::MAX)
                };
                shared.metrics.chain.in_flight.set(count(&queue.in_flight));
                shared.metrics.chain.replaced.set(count(&queue.replaced));
                if core.send(Internal::Head(head)).await.is_err() {
                    return;
                }
                if shared.config.roles.prover && registered.len() < shared.proves.len() {
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
    for (id, circuit) in &shared.circuits {
        if !shared.proves.contains(circuit) || known.contains(id) {
            continue;
        }
        match shared.market.registration(id.0).await {
            Ok((verifier, _)) if verifier.is_zero() => {
                tracing::warn!(target: "chain", circuit = circuit.name(), %id, "circuit not registered on this market: not bidding on it");
            }
            Ok(_) => {
                tracing::info!(target: "chain", circuit = circuit.name(), %id, "circuit registered on this market");
                found.push(*id);
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
