//! Whether cheating pays: the figures `provernet economics` prints.
//!
//! A prover that cheats on a job (commits a bad proof, withholds it, misses the deadline
//! or equivocates) saves at most the job's proving cost `C`. It is caught when one of `w`
//! independent watchtowers samples the job, each with probability `p`:
//! `d = 1 − (1 − p)^w`. Caught, it loses the market's fixed slash per job `L` and the
//! job's price `P` (a slashed job cannot be claimed). So, per job,
//!
//! - honest: `P − C`;
//! - cheating: `(1 − d) · P − d · L`;
//! - cheating pays iff `C > d · (P + L)`.
//!
//! The slash is a fixed amount per job and `commitBatch` refuses leaves beyond what the
//! bonded stake `S` covers (`⌊S / L⌋` inside open windows), so a prover cheating on every
//! job it holds at once pays `L` for each caught one: the per-job rule holds for `n` jobs
//! at once, and the expected gain of cheating on all of them is `n · (C − d · (P + L))`.
//!
//! Amounts may be in any one unit (wei, gwei, ETH): only their ratios matter.
//!
//! `d` counts sampling only, so it is a lower bound for missed deadlines and
//! equivocation, which a watchtower checks on every job it sees.

use std::fmt;

/// The market's figures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Market {
    /// Probability that one watchtower samples a job, 0..=1.
    pub sample_rate: f64,
    /// Independent watchtowers.
    pub watchtowers: u32,
    /// The prover's bonded stake.
    pub stake: f64,
    /// What one slashed job takes from the stake (the contract's `slashPerJob`).
    pub slash_per_job: f64,
    /// The job's price.
    pub price: f64,
    /// What proving the job costs the prover.
    pub prove_cost: f64,
}

/// What follows from them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Assessment {
    /// `1 − (1 − p)^w`.
    pub detection: f64,
    /// `d · (L + P)`: what cheating on a job costs on average.
    pub expected_loss: f64,
    /// `C`: what cheating on a job saves.
    pub saving: f64,
    /// `C − d · (P + L)`: the expected gain of cheating on one job over proving it.
    pub gain: f64,
    /// `⌊S / L⌋`: the most leaves the stake lets the prover hold inside open windows,
    /// so the most jobs it can cheat on at once.
    pub jobs_at_once: u64,
    /// `jobs_at_once · gain`: the expected gain of cheating on all of them at once.
    pub gain_at_once: f64,
    /// The detection probability above which cheating stops paying, `C / (P + L)`.
    pub break_even_detection: f64,
    /// The sample rate giving that detection with `w` watchtowers (`None` without
    /// watchtowers, or if even a full audit does not: the slash and price are below the
    /// saving).
    pub break_even_sample_rate: Option<f64>,
    /// The number of watchtowers.
    pub watchtowers: u32,
}

impl Assessment {
    /// Whether a rational prover cheats.
    pub fn cheating_pays(&self) -> bool {
        self.gain > 0.0
    }
}

/// Why the figures make no sense.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EconomicsError {
    /// A probability outside 0..=1.
    #[error("--{0} must be between 0 and 1")]
    NotProbability(&'static str),
    /// A negative or non-finite amount.
    #[error("--{0} must be a finite amount of at least 0")]
    BadAmount(&'static str),
    /// A slash of zero: the contract refuses it, and nothing would bound exposure.
    #[error("--slash-per-job must be above 0 (the contract refuses a zero slash)")]
    ZeroSlash,
}

impl Market {
    /// The assessment.
    ///
    /// # Errors
    /// [`EconomicsError`] for a rate outside 0..=1, a negative amount or a zero slash.
    pub fn assess(&self) -> Result<Assessment, EconomicsError> {
        if !(0.0..=1.0).contains(&self.sample_rate) {
            return Err(EconomicsError::NotProbability("sample-rate"));
        }
        for (name, value) in [
            ("stake", self.stake),
            ("slash-per-job", self.slash_per_job),
            ("price", self.price),
            ("prove-cost", self.prove_cost),
        ] {
            if !value.is_finite() || value < 0.0 {
                return Err(EconomicsError::BadAmount(name));
            }
        }
        if self.slash_per_job == 0.0 {
            return Err(EconomicsError::ZeroSlash);
        }
        let w = f64::from(self.watchtowers);
        let detection = 1.0 - (1.0 - self.sample_rate).powf(w);
        let at_stake = self.price + self.slash_per_job;
        let break_even_detection = self.prove_cost / at_stake;
        let break_even_sample_rate = (break_even_detection <= 1.0 && self.watchtowers > 0)
            .then(|| 1.0 - (1.0 - break_even_detection).powf(1.0 / w));
        let gain = self.prove_cost - detection * at_stake;
        // Saturating float-to-int conversion: a stake of many slashes is a large count.
        let jobs_at_once = (self.stake / self.slash_per_job).floor() as u64;
        Ok(Assessment {
            detection,
            expected_loss: detection * at_stake,
            saving: self.prove_cost,
            gain,
            jobs_at_once,
            gain_at_once: jobs_at_once as f64 * gain,
            break_even_detection,
            break_even_sample_rate,
            watchtowers: self.watchtowers,
        })
    }
}

impl fmt::Display for Assessment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "detection probability 1-(1-p)^w   {:.6}", self.detection)?;
        writeln!(
            f,
            "expected loss of cheating d*(L+P)   {:.6}",
            self.expected_loss
        )?;
        writeln!(f, "saving of cheating C                {:.6}", self.saving)?;
        writeln!(f, "expected gain of cheating           {:.6}", self.gain)?;
        writeln!(
            f,
            "jobs the stake backs at once S/L    {}",
            self.jobs_at_once
        )?;
        writeln!(
            f,
            "expected gain, cheating on all      {:.6}",
            self.gain_at_once
        )?;
        match self.break_even_sample_rate {
            Some(p) => writeln!(
                f,
                "break-even: cheating stops paying above detection {:.6} (sample rate {:.6})",
                self.break_even_detection, p
            )?,
            None if self.watchtowers == 0 => writeln!(
                f,
                "break-even: none; with no watchtower no cheating is ever caught"
            )?,
            None => writeln!(
                f,
                "break-even: none; even a full audit leaves cheating profitable (raise the slash per job)"
            )?,
        }
        write!(
            f,
            "cheating pays: {}",
            if self.cheating_pays() { "yes" } else { "no" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market() -> Market {
        Market {
            sample_rate: 0.1,
            watchtowers: 3,
            stake: 2.0,
            slash_per_job: 0.05,
            price: 0.001,
            prove_cost: 0.0005,
        }
    }

    #[test]
    fn detection_follows_one_minus_the_miss_probability_of_every_watchtower() {
        let a = market().assess().expect("valid");
        assert!((a.detection - 0.271).abs() < 1e-12);
        assert!((a.expected_loss - 0.271 * 0.051).abs() < 1e-12);
        assert!(!a.cheating_pays());
        // The break-even sample rate gives the break-even detection back.
        let p = a.break_even_sample_rate.expect("reachable");
        let at_break_even = Market {
            sample_rate: p,
            ..market()
        }
        .assess()
        .expect("valid");
        assert!((at_break_even.detection - a.break_even_detection).abs() < 1e-12);
        assert!(at_break_even.gain.abs() < 1e-12);
    }

    #[test]
    fn cheating_on_every_job_at_once_costs_the_slash_of_each() {
        let a = market().assess().expect("valid");
        // 2 / 0.05 = 40 leaves inside open windows at most.
        assert_eq!(a.jobs_at_once, 40);
        assert!((a.gain_at_once - 40.0 * a.gain).abs() < 1e-12);
        assert!(a.gain_at_once < 0.0);
        // A larger stake backs more jobs but changes nothing per job.
        let rich = Market {
            stake: 200.0,
            ..market()
        }
        .assess()
        .expect("valid");
        assert_eq!(rich.jobs_at_once, 4_000);
        assert_eq!(rich.gain, a.gain);
        assert_eq!(rich.break_even_detection, a.break_even_detection);
    }

    #[test]
    fn cheating_pays_when_no_one_watches_or_the_slash_is_too_small() {
        let unwatched = Market {
            sample_rate: 0.0,
            ..market()
        };
        assert!(unwatched.assess().expect("valid").cheating_pays());
        let cheap = Market {
            slash_per_job: 0.0001,
            price: 0.0001,
            ..market()
        };
        let a = cheap.assess().expect("valid");
        assert!(a.cheating_pays());
        assert_eq!(a.break_even_sample_rate, None);
        assert!(a.to_string().ends_with("cheating pays: yes"));
        let alone = Market {
            watchtowers: 0,
            ..market()
        }
        .assess()
        .expect("valid");
        assert_eq!(alone.detection, 0.0);
        assert!(alone.to_string().contains("with no watchtower"));
    }

    #[test]
    fn nonsense_is_refused_naming_the_flag() {
        let bad = Market {
            sample_rate: 1.5,
            ..market()
        };
        assert_eq!(
            bad.assess(),
            Err(EconomicsError::NotProbability("sample-rate"))
        );
        let bad = Market {
            price: -1.0,
            ..market()
        };
        assert_eq!(bad.assess(), Err(EconomicsError::BadAmount("price")));
        let bad = Market {
            slash_per_job: 0.0,
            ..market()
        };
        assert_eq!(bad.assess(), Err(EconomicsError::ZeroSlash));
    }
}
