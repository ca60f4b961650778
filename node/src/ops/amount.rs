//! Amounts of ether as operators write them: `1.5eth`, `200gwei`, `1000wei` or plain wei.

use ethers::types::U256;

/// Why an amount does not parse.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "amount `{text}`: {reason} (write wei, or a number with `eth` or `gwei`: `1.5eth`, \
     `200gwei`, `1000000000000000000`)"
)]
pub struct AmountError {
    text: String,
    reason: &'static str,
}

/// Parses an amount into wei: digits with at most one `.`, then an optional unit (`eth`,
/// `ether`, `gwei`, `wei`, any case, spaces allowed before it). A fraction finer than
/// the unit's wei, a sign, an exponent or a value above 2^256 − 1 wei is refused, never
/// rounded.
///
/// # Errors
/// [`AmountError`], naming what is wrong.
pub fn parse(text: &str) -> Result<U256, AmountError> {
    let fail = |reason| AmountError {
        text: text.to_owned(),
        reason,
    };
    let lower = text.trim().to_ascii_lowercase();
    let (number, decimals) = [("gwei", 9), ("ether", 18), ("eth", 18), ("wei", 0)]
        .into_iter()
        .find_map(|(unit, decimals)| Some((lower.strip_suffix(unit)?, decimals)))
        .unwrap_or((lower.as_str(), 0));
    let number = number.trim_end();
    let (whole, fraction) = match number.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (number, ""),
    };
    if whole.is_empty() && fraction.is_empty() {
        return Err(fail("no number"));
    }
    if !whole
        .chars()
        .chain(fraction.chars())
        .all(|c| c.is_ascii_digit())
    {
        return Err(fail("only digits and one `.` may come before the unit"));
    }
    if fraction.len() > decimals {
        return Err(fail("more decimals than the unit has wei"));
    }
    let digits = format!("{whole}{fraction:0<decimals$}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(U256::zero());
    }
    U256::from_dec_str(digits).map_err(|_| fail("above 2^256 − 1 wei"))
}

/// `wei` in ether, with as many decimals as it needs: `1.5 ETH`, `0 ETH`,
/// `0.000000000000000001 ETH`.
pub fn format(wei: U256) -> String {
    let unit = U256::exp10(18);
    let (whole, fraction) = (wei / unit, wei % unit);
    if fraction.is_zero() {
        return format!("{whole} ETH");
    }
    let fraction = format!("{:0>18}", fraction.to_string());
    format!("{whole}.{} ETH", fraction.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wei(text: &str) -> U256 {
        U256::from_dec_str(text).expect("decimal")
    }

    #[test]
    fn units_and_decimals_give_exact_wei() {
        for (text, expected) in [
            ("1.5eth", "1500000000000000000"),
            ("1.5 ETH", "1500000000000000000"),
            ("2ether", "2000000000000000000"),
            ("200gwei", "200000000000"),
            ("0.000000001gwei", "1"),
            ("0.0gwei", "0"),
            ("0.5gwei", "500000000"),
            ("12345", "12345"),
            ("12345wei", "12345"),
            (".25eth", "250000000000000000"),
            ("3.eth", "3000000000000000000"),
            ("0", "0"),
            ("0.000000000000000001eth", "1"),
        ] {
            assert_eq!(parse(text), Ok(wei(expected)), "{text}");
        }
        assert_eq!(parse(&U256::MAX.to_string()), Ok(U256::MAX));
    }

    #[test]
    fn what_is_not_an_exact_amount_is_refused_and_named() {
        for (text, reason) in [
            ("", "no number"),
            ("eth", "no number"),
            (".", "no number"),
            ("-1eth", "only digits"),
            ("1e18", "only digits"),
            ("1.2.3eth", "only digits"),
            ("1,5eth", "only digits"),
            ("1.5btc", "only digits"),
            ("0x10", "only digits"),
            ("1.5wei", "more decimals"),
            ("0.0000000000000000001eth", "more decimals"),
            ("1.0000000001gwei", "more decimals"),
            ("0.0000000001gwei", "more decimals"),
        ] {
            let error = parse(text).expect_err(text).to_string();
            assert!(error.contains(reason), "{text}: {error}");
            assert!(error.contains(&format!("`{text}`")), "{error}");
        }
        let above = format!("{}0", U256::MAX);
        assert!(
            parse(&above)
                .expect_err("too large")
                .to_string()
                .contains("2^256")
        );
        assert!(parse(&format!("{}eth", U256::MAX)).is_err());
    }

    #[test]
    fn formats_in_ether_without_trailing_zeros() {
        assert_eq!(format(wei("1500000000000000000")), "1.5 ETH");
        assert_eq!(format(U256::zero()), "0 ETH");
        assert_eq!(format(wei("1")), "0.000000000000000001 ETH");
        assert_eq!(format(wei("2000000000000000000")), "2 ETH");
        for text in ["1.5eth", "0.000000001eth", "123.456eth"] {
            let value = parse(text).expect("parses");
            assert_eq!(parse(&format(value)), Ok(value));
        }
    }
}
