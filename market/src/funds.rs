//! Whether a prover can take another job: the client must be able to pay for it, and the
//! prover's stake must cover it.
//!
//! Both rules read what the chain shows (`ProverMarket.freeDeposit`,
//! `ProverMarket.reservations` and `ProverMarket.exposure`, docs/contracts.md) plus what the prover itself knows and
//! the chain does not show yet; the node reads the chain, these functions decide.

/// What a client's deposit can still pay this prover, and what this prover knows it
/// already owes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientFunds {
    /// The chain's `freeDeposit(client)`: the deposit less a withdrawal request that has
    /// not lapsed, wei. Every prover the client awards draws on it, first come.
    pub free: u128,
    /// The chain's `reservations(client, prover)` for this prover: wei set aside for its
    /// claims alone, which the client cannot take back before `reserved_until`.
    pub reserved: u128,
    /// The end of that reservation, unix seconds.
    pub reserved_until: u64,
    /// Prices of this client's jobs that this prover holds (won and not yet paid), wei:
    /// they come out of the same funds (the reservation first, as the contract pays).
    pub owed: u128,
}

/// What pays a job, by [`ClientFunds::funding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Funding {
    /// The client's reservation for this prover: whatever the client signs to others,
    /// a claim made before the reservation ends is paid (the contract takes a price from
    /// the claimer's reservation first).
    Reserved,
    /// The client's free deposit (with what the reservation covers of it), which awards
    /// to other provers may empty first.
    Deposit,
}

impl ClientFunds {
    /// What pays `price` on top of what the client owes this prover, if the prover
    /// claims by `claim_by` (unix seconds): its reservation, when it lasts until then
    /// and covers everything owed; else the free deposit with such a reservation, when
    /// they cover it; else nothing. A reservation that ends before `claim_by` counts for
    /// nothing: the client can take it back first (`release`) and withdraw it.
    pub fn funding(&self, price: u128, claim_by: u64) -> Option<Funding> {
        let need = self.owed.checked_add(price)?;
        let reserved = if claim_by <= self.reserved_until {
            self.reserved
        } else {
            0
        };
        if need <= reserved {
            Some(Funding::Reserved)
        } else if need <= self.free.saturating_add(reserved) {
            Some(Funding::Deposit)
        } else {
            None
        }
    }
}

/// A prover's leaves at risk against what its stake covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exposure {
    /// The chain's `exposure(prover)`: leaves inside open windows as `commitBatch`
    /// counts them.
    pub at_risk: u64,
    /// The most leaves its bonded stake covers (`stake / slashPerJob`).
    pub covered: u64,
}

impl Exposure {
    /// Whether one more job can be taken when `uncommitted` jobs are already held but not
    /// committed yet: every one of them becomes a leaf at risk when committed, and
    /// `commitBatch` refuses leaves beyond the cover, which would make the prover miss
    /// its deadlines.
    pub fn can_take(&self, uncommitted: u64) -> bool {
        self.at_risk
            .checked_add(uncommitted)
            .and_then(|n| n.checked_add(1))
            .is_some_and(|n| n <= self.covered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn funds(free: u128, reserved: u128, reserved_until: u64, owed: u128) -> ClientFunds {
        ClientFunds {
            free,
            reserved,
            reserved_until,
            owed,
        }
    }

    #[test]
    fn a_client_pays_only_out_of_its_free_deposit_less_what_it_owes() {
        let shared = funds(100, 0, 0, 30);
        assert_eq!(shared.funding(70, 0), Some(Funding::Deposit));
        assert_eq!(shared.funding(71, 0), None);
        assert_eq!(funds(0, 0, 0, 0).funding(1, 0), None);
        // No overflow on hostile figures.
        assert_eq!(
            funds(u128::MAX, u128::MAX, u64::MAX, u128::MAX).funding(1, 0),
            None
        );
    }

    #[test]
    fn a_reservation_pays_only_what_it_covers_and_only_while_it_lasts() {
        // 50 reserved until t = 1,000, 30 of it owed already.
        let f = funds(0, 50, 1_000, 30);
        assert_eq!(f.funding(20, 1_000), Some(Funding::Reserved));
        // One wei more than it covers, or a claim after it ends (the client may take it
        // back and withdraw it first): nothing pays it.
        assert_eq!(f.funding(21, 1_000), None);
        assert_eq!(f.funding(20, 1_001), None);
        // The deposit pays what the reservation does not (the claim takes the
        // reservation first, the rest from the deposit), without the guarantee.
        let f = funds(100, 50, 1_000, 30);
        assert_eq!(f.funding(21, 1_000), Some(Funding::Deposit));
        assert_eq!(f.funding(20, 1_000), Some(Funding::Reserved));
        assert_eq!(f.funding(120, 1_000), Some(Funding::Deposit));
        assert_eq!(f.funding(121, 1_000), None);
        // Past its end only the deposit counts.
        assert_eq!(f.funding(70, 1_001), Some(Funding::Deposit));
        assert_eq!(f.funding(71, 1_001), None);
    }

    #[test]
    fn a_prover_takes_no_job_its_stake_does_not_cover() {
        let e = Exposure {
            at_risk: 7,
            covered: 10,
        };
        assert!(e.can_take(2));
        assert!(!e.can_take(3));
        assert!(
            !Exposure {
                at_risk: 0,
                covered: 0
            }
            .can_take(0)
        );
        assert!(
            !Exposure {
                at_risk: u64::MAX,
                covered: u64::MAX
            }
            .can_take(0)
        );
    }
}
