//! Ages on the command line (`--older-than 365d`).

use std::time::Duration;

/// An age: a number and a unit, `d` (days), `w` (weeks), `h`, `m` or `s` (`365d`, `26w`).
pub fn parse_age(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} has no unit: write 365d, 26w, 12h, 90m or 30s"))?;
    let (n, unit) = t.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} does not start with a whole number"))?;
    let secs = match unit {
        "d" => 86_400,
        "w" => 7 * 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        other => return Err(format!("unit {other:?} of {s:?} is not d, w, h, m or s")),
    };
    n.checked_mul(secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_parse_or_say_what_is_wrong() {
        assert_eq!(parse_age("365d"), Ok(Duration::from_secs(365 * 86_400)));
        assert_eq!(parse_age("26w"), Ok(Duration::from_secs(26 * 7 * 86_400)));
        assert_eq!(parse_age("0s"), Ok(Duration::ZERO));
        assert!(parse_age("365").expect_err("refused").contains("no unit"));
        assert!(
            parse_age("d")
                .expect_err("refused")
                .contains("whole number")
        );
        assert!(parse_age("3y").expect_err("refused").contains("not d, w"));
    }
}
