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

/// The order of preference: lower price, then earlier deadline, then larger stake, then
/// lower peer key. Total, so the winner does not depend on arrival order.
pub fn preference(a: &Candidate, b: &Candidate) -> Ordering {
    a.price
        .cmp(&b.price)
        .then(a.deadline.cmp(&b.deadline))
        .then(b.stake.cmp(&a.stake))
        .then(a.peer.as_bytes().cmp(b.peer.as_bytes()))
}

/// The winner among `bids`, or `None` when there is none.
pub fn choose(bids: &[Candidate]) -> Option<&Candidate> {
    bids.iter().min_by(|a, b| preference(a, b))
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

    #[test]
    fn lowest_price_wins_and_ties_break_in_order() {
        assert_eq!(choose(&[]), None);
        let cheap = bid(5, 100, 1, 1);
        let dear = bid(6, 50, 9, 2);
        assert_eq!(choose(&[dear.clone(), cheap.clone()]), Some(&cheap));

        let early = bid(5, 90, 1, 3);
        assert_eq!(choose(&[cheap.clone(), early.clone()]), Some(&early));

        let staked = bid(5, 90, 2, 4);
        assert_eq!(choose(&[early.clone(), staked.clone()]), Some(&staked));

        let (a, b) = (bid(5, 90, 2, 5), bid(5, 90, 2, 6));
        let lower = if a.peer.as_bytes() < b.peer.as_bytes() {
            &a
        } else {
            &b
        };
        assert_eq!(choose(&[a.clone(), b.clone()]), Some(lower));
        assert_eq!(choose(&[b.clone(), a.clone()]), Some(lower));
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
                    .collect::<Vec<_>>()
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
