//! The prover's price policy.

use provernet_protocol::Wei;
use serde::{Deserialize, Serialize};

/// How a prover prices a bid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "kebab-case", deny_unknown_fields)]
pub enum PricePolicy {
    /// Always ask `wei`; no bid when the request's maximum is lower.
    Fixed {
        /// The price.
        #[serde(with = "wei_text")]
        wei: Wei,
    },
    /// Ask `bps` basis points of the request's maximum, but never less than `floor`.
    FractionOfMax {
        /// Basis points of the maximum, 1..=10,000.
        bps: u32,
        /// The least this prover works for.
        #[serde(with = "wei_text")]
        floor: Wei,
    },
    /// Ask `wei` for each second a proof of the job's circuit takes on this machine (the
    /// proving time it measured), but never less than `floor`: a larger model, or any
    /// circuit that takes longer, is priced higher.
    PerSecond {
        /// Wei per second of proving.
        #[serde(with = "wei_text")]
        wei: Wei,
        /// The least this prover works for.
        #[serde(with = "wei_text")]
        floor: Wei,
    },
}

/// Amounts of wei in configuration files: a decimal string (TOML integers stop at 2^63),
/// or an integer when it fits.
pub mod wei_text {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Wei;

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Number(u64),
        Decimal(String),
    }

    /// Writes a decimal string.
    ///
    /// # Errors
    /// The serializer's.
    pub fn serialize<S: Serializer>(value: &Wei, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    /// Reads a decimal string or an integer.
    ///
    /// # Errors
    /// Neither, or above 2^128.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Wei, D::Error> {
        match Text::deserialize(d)? {
            Text::Number(n) => Ok(Wei::from(n)),
            Text::Decimal(text) => text
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("`{text}` is not an amount of wei"))),
        }
    }
}

impl Default for PricePolicy {
    fn default() -> Self {
        Self::FractionOfMax {
            bps: 9_000,
            floor: 1,
        }
    }
}

impl PricePolicy {
    /// The price to ask for a job whose client pays at most `max_price` and whose proof
    /// takes `proving_ms` on this machine, or `None` when this prover does not work for
    /// that little.
    pub fn quote(&self, max_price: Wei, proving_ms: u64) -> Option<Wei> {
        let price = match *self {
            Self::Fixed { wei } => wei,
            Self::FractionOfMax { bps, floor } => {
                let share = (max_price / 10_000).saturating_mul(Wei::from(bps))
                    + (max_price % 10_000) * Wei::from(bps) / 10_000;
                share.max(floor)
            }
            Self::PerSecond { wei, floor } => {
                let ms = Wei::from(proving_ms);
                // Rounded up, whole thousandths first so no product overflows.
                let cost = (wei / 1_000)
                    .saturating_mul(ms)
                    .saturating_add(((wei % 1_000) * ms).div_ceil(1_000));
                cost.max(floor)
            }
        };
        (price > 0 && price <= max_price).then_some(price)
    }

    /// The price to ask, as [`PricePolicy::quote`], but never above `cap`: the market's
    /// `challengeBond`. A client that lets the winner prove and never signs the award
    /// forces the proof out with a plain withheld-proof challenge from any account, and
    /// the reveal then pays the prover that bond and nothing else, so a price above it
    /// could leave an honest prover paid less than it bid (docs/contracts.md, threat
    /// model). A fraction of the maximum is lowered to the cap while that is still at
    /// least the floor; a fixed price above the cap, or a floor above it, bids nothing.
    /// A price per second is a cost: lowered to the cap, it would be work at a loss, so it
    /// bids nothing above the cap, as a fixed price does.
    pub fn quote_capped(&self, max_price: Wei, cap: Wei, proving_ms: u64) -> Option<Wei> {
        let price = self.quote(max_price, proving_ms)?;
        let least = match *self {
            Self::Fixed { .. } | Self::PerSecond { .. } => price,
            Self::FractionOfMax { floor, .. } => floor,
        };
        let price = price.min(cap);
        (price > 0 && price >= least).then_some(price)
    }

    /// Whether the parameters make sense; the error names what is wrong.
    ///
    /// # Errors
    /// A message naming the bad field.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Self::Fixed { wei: 0 } => Err("price.wei must be above 0".into()),
            Self::FractionOfMax { bps, .. } if bps == 0 || bps > 10_000 => {
                Err(format!("price.bps must be in 1..=10000, got {bps}"))
            }
            Self::PerSecond { wei: 0, .. } => Err("price.wei (per second) must be above 0".into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quote_never_exceeds_the_bond_that_forces_a_proof_out() {
        let fixed = PricePolicy::Fixed { wei: 100 };
        assert_eq!(fixed.quote_capped(1_000, 100, 0), Some(100));
        assert_eq!(
            fixed.quote_capped(1_000, 99, 0),
            None,
            "a fixed price above the bond"
        );
        let share = PricePolicy::FractionOfMax {
            bps: 8_000,
            floor: 50,
        };
        assert_eq!(share.quote_capped(1_000, 10_000, 0), Some(800));
        assert_eq!(
            share.quote_capped(1_000, 600, 0),
            Some(600),
            "lowered to the bond"
        );
        assert_eq!(
            share.quote_capped(1_000, 50, 0),
            Some(50),
            "down to the floor"
        );
        assert_eq!(
            share.quote_capped(1_000, 49, 0),
            None,
            "never below the floor"
        );
        assert_eq!(
            share.quote_capped(40, 1_000, 0),
            None,
            "nor above the maximum"
        );
        assert_eq!(share.quote_capped(Wei::MAX, 0, 0), None);
    }

    #[test]
    fn quotes_follow_the_policy() {
        let fixed = PricePolicy::Fixed { wei: 100 };
        assert_eq!(fixed.quote(99, 0), None);
        assert_eq!(fixed.quote(100, 0), Some(100));
        let share = PricePolicy::FractionOfMax {
            bps: 8_000,
            floor: 50,
        };
        assert_eq!(share.quote(1_000, 0), Some(800));
        assert_eq!(share.quote(60, 0), Some(50));
        assert_eq!(share.quote(40, 0), None);
        assert_eq!(
            share.quote(Wei::MAX, 0),
            Some(Wei::MAX / 10_000 * 8_000 + Wei::MAX % 10_000 * 8_000 / 10_000)
        );
        assert!(
            PricePolicy::FractionOfMax { bps: 0, floor: 1 }
                .check()
                .is_err()
        );
        assert!(PricePolicy::Fixed { wei: 0 }.check().is_err());
        assert!(PricePolicy::PerSecond { wei: 0, floor: 1 }.check().is_err());
        assert!(PricePolicy::default().check().is_ok());
    }

    #[test]
    fn a_price_per_second_follows_the_proving_time_and_never_works_at_a_loss() {
        let per_second = PricePolicy::PerSecond {
            wei: 1_000_000,
            floor: 5_000,
        };
        // A model that takes 8 s to prove is priced eight times one that takes 1 s.
        assert_eq!(per_second.quote(u128::MAX, 1_000), Some(1_000_000));
        assert_eq!(per_second.quote(u128::MAX, 8_000), Some(8_000_000));
        // Rounded up to the wei, never below the floor, never above the maximum.
        assert_eq!(
            PricePolicy::PerSecond { wei: 3, floor: 1 }.quote(100, 1_001),
            Some(4)
        );
        assert_eq!(per_second.quote(u128::MAX, 1), Some(5_000));
        assert_eq!(per_second.quote(7_999_999, 8_000), None);
        // The bond caps a share of the maximum, but a cost above it bids nothing.
        assert_eq!(
            per_second.quote_capped(u128::MAX, 8_000_000, 8_000),
            Some(8_000_000)
        );
        assert_eq!(per_second.quote_capped(u128::MAX, 7_999_999, 8_000), None);
        // No overflow at the extremes.
        let dear = PricePolicy::PerSecond {
            wei: Wei::MAX,
            floor: 1,
        };
        assert_eq!(dear.quote(Wei::MAX, u64::MAX), Some(Wei::MAX));
    }
}
