//! Durations as written in runbooks: `"500ms"`, `"30s"`, `"10m"`, `"1h30m"`, `"2d"`.

use std::time::Duration;

/// Parses a duration: one or more `NUMBER UNIT` pairs with units `ms`, `s`,
/// `m`, `h`, `d`, largest first, no spaces (`"1h30m"`, `"2m30s"`, `"500ms"`);
/// a number may have decimals (`"1.5s"`, `"0.5h"`) down to the millisecond.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    duration_or_reason(s).map_err(|why| format!("invalid duration `{s}`: {why}"))
}

/// Like [`parse_duration`]; the error is only the reason.
pub(crate) fn duration_or_reason(s: &str) -> Result<Duration, String> {
    let bad = |why: &str| why.to_owned();
    if s.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    let mut last_rank = usize::MAX;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("expected a number such as `30s`, `10m` or `1h30m`"));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| bad("the number is too large"))?;
        rest = &rest[digits..];
        // A decimal part: `1.5s` is 1500 ms.
        let mut fraction = "";
        if let Some(after) = rest.strip_prefix('.') {
            let len = after.bytes().take_while(u8::is_ascii_digit).count();
            if len == 0 {
                return Err(bad("expected digits after the decimal point, as in `1.5s`"));
            }
            fraction = &after[..len];
            rest = &after[len..];
        }
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let (rank, millis) = match unit {
            "d" => (4, 86_400_000),
            "h" => (3, 3_600_000),
            "m" => (2, 60_000),
            "s" => (1, 1_000),
            "ms" => (0, 1),
            "" => return Err(bad("a unit is missing (`ms`, `s`, `m`, `h` or `d`)")),
            _ => {
                return Err(bad(&format!(
                    "unknown unit `{unit}` (use `ms`, `s`, `m`, `h` or `d`)"
                )));
            }
        };
        if rank >= last_rank {
            return Err(bad(
                "units must go from the largest to the smallest, each once",
            ));
        }
        last_rank = rank;
        let mut part = n.checked_mul(millis).ok_or_else(|| bad("it is too long"))?;
        if !fraction.is_empty() {
            let scale = 10u64
                .checked_pow(fraction.len() as u32)
                .ok_or_else(|| bad("too many decimals"))?;
            let f: u64 = fraction.parse().map_err(|_| bad("too many decimals"))?;
            let frac_ms = f
                .checked_mul(millis)
                .ok_or_else(|| bad("too many decimals"))?;
            if frac_ms % scale != 0 {
                return Err(bad("it is finer than a millisecond"));
            }
            part = part
                .checked_add(frac_ms / scale)
                .ok_or_else(|| bad("it is too long"))?;
        }
        total = total
            .checked_add(Duration::from_millis(part))
            .ok_or_else(|| bad("it is too long"))?;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2d"), Ok(Duration::from_secs(172_800)));
        assert_eq!(
            parse_duration("1m30s250ms"),
            Ok(Duration::from_millis(90_250))
        );
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0.25s"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        for bad in [
            "",
            "10",
            "m",
            "10x",
            "1.s",
            "1.5.5s",
            "0.0001s",
            "30m1h",
            "1m1m",
            "10 m",
            "-1s",
            "99999999999999999999s",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad} parsed");
        }
        assert_eq!(
            parse_duration("10x").unwrap_err(),
            "invalid duration `10x`: unknown unit `x` (use `ms`, `s`, `m`, `h` or `d`)"
        );
    }
}
