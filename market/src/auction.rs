//! The client's side of an auction.

use std::cmp::Ordering;

use provernet_protocol::{Address, PeerKey, Wei};

/// A bid that passed validation, with what the tie-breaks need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    /// The bidder's Ethereum address.
    pub prover: Address,
    /// The bidder's ed25519 key (the signer of its bid).
    pub peer: PeerKey,
    /// Asked price.
    pub price: Wei,
    /// Promised deadline, unix seconds.
    pub deadline: u64,
    /// The bidder's stake as last read from the chain.
    pub stake: Wei,
}

/// What a request asked, against which a bid's price and promised completion are weighed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Terms {
    /// The most the client pays, wei.
    pub max_price: Wei,
    /// The bid window's end, unix seconds: when the award is made and proving can start.
    pub window_ends: u64,
    /// The latest proving deadline the client accepts, unix seconds.
    pub deadline: u64,
}

/// What a bid costs the client, wei: its price plus its wait, valued at the request's
/// own rate. A completion at the request's deadline is worth the whole maximum price, one
/// at the bid window's end nothing, and each second between a share of it: a client that
/// offers `max_price` for a result within `deadline - window_ends` seconds prices a
/// second of waiting at `max_price / (deadline - window_ends)`. So a cheaper prover with a
/// long queue does not take every job while another that is idle would finish it much
/// sooner, and a prover that promises an early completion it cannot keep is slashed for a
/// missed deadline (the promise is the deadline its leaf carries).
pub fn cost(bid: &Candidate, terms: &Terms) -> Wei {
    let span = u128::from(terms.deadline.saturating_sub(terms.window_ends).max(1));
    let wait = u128::from(
        bid.deadline
            .clamp(terms.window_ends, terms.deadline.max(terms.window_ends))
            - terms.window_ends,
    );
    // max_price · wait / span, whole spans first so nothing overflows (wait ≤ span).
    let waiting = (terms.max_price / span) * wait + (terms.max_price % span) * wait / span;
    bid.price.saturating_add(waiting)
}

/// The order of preference: lower [`cost`] (price and wait), then earlier deadline, then
/// larger stake, then lower peer key. Total, so the winner does not depend on arrival
/// order.
pub fn preference(a: &Candidate, b: &Candidate, terms: &Terms) -> Ordering {
    cost(a, terms)
        .cmp(&cost(b, terms))
        .then(a.deadline.cmp(&b.deadline))
        .then(b.stake.cmp(&a.stake))
        .then(a.peer.as_bytes().cmp(b.peer.as_bytes()))
}

/// The winner among `bids` for a request of `terms`, or `None` when there is none.
pub fn choose<'a>(bids: &'a [Candidate], terms: &Terms) -> Option<&'a Candidate> {
    bids.iter().min_by(|a, b| preference(a, b, terms))
}

/// The bids a later round of a job may award, given the provers that won an earlier round
/// of it: those `at_fault` on it (that delivered a proof of it that does not verify,
/// under their own key, or were slashed for an invalid proof or an equivocation) never
/// again; those that merely `failed` it (no acceptance, no proof in time: perhaps a crash
/// or a lost connection) only when no prover that neither failed nor is at fault bids, so
/// a small market does not run out of provers after a few transient failures.
pub fn eligible<'a>(
    bids: &'a [Candidate],
    failed: &[Address],
    at_fault: &[Address],
) -> Vec<&'a Candidate> {
    let allowed: Vec<&Candidate> = bids
        .iter()
        .filter(|c| !at_fault.contains(&c.prover))
        .collect();
    let fresh: Vec<&Candidate> = allowed
        .iter()
        .copied()
        .filter(|c| !failed.contains(&c.prover))
        .collect();
    if fresh.is_empty() { allowed } else { fresh }
}

/// The maximum price of the next round: raised by `step_bps` basis points of the current
/// one (at least 1 wei), capped at `cap`. `None` when the current price is already the cap.
pub fn raised_price(current: Wei, step_bps: u32, cap: Wei) -> Option<Wei> {
    if current >= cap {
        return None;
    }
    let step = (current / 10_000)
        .saturating_mul(Wei::from(step_bps))
        .saturating_add((current % 10_000).saturating_mul(Wei::from(step_bps)) / 10_000)
        .max(1);
    Some(current.saturating_add(step).min(cap))
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::SigningKey;

    use super::*;

    fn key(seed: u8) -> PeerKey {
        PeerKey::from(SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    fn bid(price: Wei, deadline: u64, stake: Wei, seed: u8) -> Candidate {
        Candidate {
            prover: Address([seed; 20]),
            peer: key(seed),
            price,
            deadline,
            stake,
        }
    }

    /// A request of 10,000 wei at most, awarded at 1,000 s, due at 1,100 s: a second of
    /// waiting is worth 100 wei.
    const TERMS: Terms = Terms {
        max_price: 10_000,
        window_ends: 1_000,
        deadline: 1_100,
    };

    #[test]
    fn price_and_wait_decide_and_ties_break_in_order() {
        assert_eq!(choose(&[], &TERMS), None);
        // Same promise: the lower price wins.
        let cheap = bid(5_000, 1_010, 1, 1);
        let dear = bid(6_000, 1_010, 9, 2);
        assert_eq!(choose(&[dear.clone(), cheap.clone()], &TERMS), Some(&cheap));

        // Same cost (price + 100 wei a second of wait): the earlier promise wins.
        let early = bid(5_100, 1_009, 1, 3);
        assert_eq!(cost(&early, &TERMS), cost(&cheap, &TERMS));
        assert_eq!(
            choose(&[cheap.clone(), early.clone()], &TERMS),
            Some(&early)
        );

        let staked = bid(5_100, 1_009, 2, 4);
        assert_eq!(
            choose(&[early.clone(), staked.clone()], &TERMS),
            Some(&staked)
        );

        let (a, b) = (bid(5_100, 1_009, 2, 5), bid(5_100, 1_009, 2, 6));
        let lower = if a.peer.as_bytes() < b.peer.as_bytes() {
            &a
        } else {
            &b
        };
        assert_eq!(choose(&[a.clone(), b.clone()], &TERMS), Some(lower));
        assert_eq!(choose(&[b.clone(), a.clone()], &TERMS), Some(lower));
    }

    /// A busy prover that is 10 % cheaper but promises 30 s later (behind its queue)
    /// loses to an idle one: its 30 s of wait cost the client 3,000 wei.
    #[test]
    fn a_cheap_prover_with_a_long_queue_loses_to_an_idle_one() {
        let busy = bid(4_500, 1_040, 1, 1);
        let idle = bid(5_000, 1_010, 1, 2);
        assert_eq!(cost(&busy, &TERMS), 8_500);
        assert_eq!(cost(&idle, &TERMS), 6_000);
        assert_eq!(choose(&[busy.clone(), idle.clone()], &TERMS), Some(&idle));
        // Much cheaper, it is worth the wait.
        let cheaper = bid(1_000, 1_040, 1, 3);
        assert_eq!(choose(&[cheaper.clone(), idle], &TERMS), Some(&cheaper));
    }

    /// A promise before the award is worth no more than one at the award; none is worth
    /// less than one at the deadline; extreme prices saturate instead of overflowing.
    #[test]
    fn promises_outside_the_window_are_clamped_and_nothing_overflows() {
        let before = bid(5_000, 1, 1, 1);
        assert_eq!(cost(&before, &TERMS), 5_000);
        let after = bid(5_000, 5_000, 1, 1);
        assert_eq!(cost(&after, &TERMS), 15_000);
        let huge = Terms {
            max_price: Wei::MAX,
            window_ends: 0,
            deadline: u64::MAX,
        };
        assert_eq!(cost(&bid(Wei::MAX, u64::MAX, 1, 1), &huge), Wei::MAX);
        assert_eq!(cost(&bid(1, 0, 1, 1), &huge), 1);
        // A request whose deadline is its window's end: no division by zero.
        let tight = Terms {
            max_price: 10,
            window_ends: 5,
            deadline: 5,
        };
        assert_eq!(cost(&bid(3, 9, 1, 1), &tight), 3);
    }

    #[test]
    fn a_prover_at_fault_on_a_job_never_wins_it_again_and_one_that_failed_it_only_alone() {
        let (cheater, flaky, other) = (bid(1, 90, 1, 1), bid(2, 90, 1, 2), bid(3, 90, 1, 3));
        let failed = [flaky.prover];
        let at_fault = [cheater.prover];
        let all = [cheater.clone(), flaky.clone(), other.clone()];
        // The cheapest is at fault, the next failed once: the third wins.
        let pick = |bids: &[Candidate]| {
            choose(
                &eligible(bids, &failed, &at_fault)
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>(),
                &TERMS,
            )
            .cloned()
        };
        assert_eq!(pick(&all), Some(other.clone()));
        // Alone with the prover at fault, the one that failed gets it again.
        assert_eq!(pick(&[cheater.clone(), flaky.clone()]), Some(flaky.clone()));
        // The prover at fault alone: no winner, the round has no bid.
        assert_eq!(pick(std::slice::from_ref(&cheater)), None);
        // Nobody failed: the cheapest wins.
        assert_eq!(
            choose(
                &eligible(&all, &[], &[])
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>(),
                &TERMS
            ),
            Some(&cheater)
        );
    }

    #[test]
    fn raised_price_steps_up_to_the_cap() {
        assert_eq!(raised_price(1_000, 2_500, 10_000), Some(1_250));
        assert_eq!(raised_price(9_000, 2_500, 10_000), Some(10_000));
        assert_eq!(raised_price(10_000, 2_500, 10_000), None);
        assert_eq!(raised_price(1, 100, 10), Some(2), "at least one wei");
        assert_eq!(raised_price(Wei::MAX - 1, 10_000, Wei::MAX), Some(Wei::MAX));
    }
}
