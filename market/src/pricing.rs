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
    /// The price to ask for a job whose client pays at most `max_price`, or `None` when
    /// this prover does not work for that little.
    pub fn quote(&self, max_price: Wei) -> Option<Wei> {
        let price = match *self {
            Self::Fixed { wei } => wei,
            Self::FractionOfMax { bps, floor } => {
                let share = (max_price / 10_000).saturating_mul(Wei::from(bps))
                    + (max_price % 10_000) * Wei::from(bps) / 10_000;
                share.max(floor)
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
    pub fn quote_capped(&self, max_price: Wei, cap: Wei) -> Option<Wei> {
        let least = match *self {
            Self::Fixed { wei } => wei,
            Self::FractionOfMax { floor, .. } => floor,
        };
        let price = self.quote(max_price)?.min(cap);
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
        assert_eq!(fixed.quote_capped(1_000, 100), Some(100));
        assert_eq!(
            fixed.quote_capped(1_000, 99),
            None,
            "a fixed price above the bond"
        );
        let share = PricePolicy::FractionOfMax {
            bps: 8_000,
            floor: 50,
        };
        assert_eq!(share.quote_capped(1_000, 10_000), Some(800));
        assert_eq!(
            share.quote_capped(1_000, 600),
            Some(600),
            "lowered to the bond"
        );
        assert_eq!(share.quote_capped(1_000, 50), Some(50), "down to the floor");
        assert_eq!(share.quote_capped(1_000, 49), None, "never below the floor");
        assert_eq!(share.quote_capped(40, 1_000), None, "nor above the maximum");
        assert_eq!(share.quote_capped(Wei::MAX, 0), None);
    }

    #[test]
    fn quotes_follow_the_policy() {
        let fixed = PricePolicy::Fixed { wei: 100 };
        assert_eq!(fixed.quote(99), None);
        assert_eq!(fixed.quote(100), Some(100));
        let share = PricePolicy::FractionOfMax {
            bps: 8_000,
            floor: 50,
        };
        assert_eq!(share.quote(1_000), Some(800));
        assert_eq!(share.quote(60), Some(50));
        assert_eq!(share.quote(40), None);
        assert_eq!(
            share.quote(Wei::MAX),
            Some(Wei::MAX / 10_000 * 8_000 + Wei::MAX % 10_000 * 8_000 / 10_000)
        );
        assert!(
            PricePolicy::FractionOfMax { bps: 0, floor: 1 }
                .check()
                .is_err()
        );
        assert!(PricePolicy::Fixed { wei: 0 }.check().is_err());
        assert!(PricePolicy::default().check().is_ok());
    }
}
