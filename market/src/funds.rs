//! Whether a prover can take another job: the client must be able to pay for it, and the
//! prover's stake must cover it.
//!
//! Both rules read what the chain shows (`ProverMarket.freeDeposit` and
//! `ProverMarket.exposure`, docs/contracts.md) plus what the prover itself knows and
//! the chain does not show yet; the node reads the chain, these functions decide.

/// What a client's deposit can still pay, and what this prover knows it already owes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientFunds {
    /// The chain's `freeDeposit(client)`: the deposit less a withdrawal request that has
    /// not lapsed, wei.
    pub free: u128,
    /// Prices of this client's jobs that this prover holds (won and not yet paid), wei:
    /// they come out of the same deposit.
    pub owed: u128,
}

impl ClientFunds {
    /// Whether the client can pay `price` on top of what it owes this prover. A prover
    /// that bids only when this holds, and commits by its deadline, is paid in full
    /// (unless the client signed awards to others beyond its deposit, which a prover
    /// cannot see from here).
    pub fn can_pay(&self, price: u128) -> bool {
        self.owed
            .checked_add(price)
            .is_some_and(|need| need <= self.free)
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

    #[test]
    fn a_client_pays_only_out_of_its_free_deposit_less_what_it_owes() {
        let funds = ClientFunds {
            free: 100,
            owed: 30,
        };
        assert!(funds.can_pay(70));
        assert!(!funds.can_pay(71));
        assert!(!ClientFunds { free: 0, owed: 0 }.can_pay(1));
        // No overflow on hostile figures.
        assert!(
            !ClientFunds {
                free: u128::MAX,
                owed: u128::MAX
            }
            .can_pay(1)
        );
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
