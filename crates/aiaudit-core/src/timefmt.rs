//! Times: Unix nanoseconds inside, RFC 3339 UTC with nine fractional digits outside.

use crate::error::{Error, Result};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

/// Formats Unix nanoseconds as RFC 3339 UTC with exactly nine fractional digits
/// (`2026-11-24T06:31:31.123456789Z`), so that the text sorts as the time does.
pub fn format_rfc3339(ns: i64) -> String {
    let mut out = [0u8; 30];
    fill_rfc3339(&mut out, ns);
    String::from_utf8_lossy(&out).into_owned()
}

/// Appends [`format_rfc3339`]'s text to `out` without allocating (the writer does this once per
/// event). Times before year 0 or after 9999 are clamped to the representable range.
pub fn write_rfc3339(out: &mut Vec<u8>, ns: i64) {
    let mut buf = [0u8; 30];
    fill_rfc3339(&mut buf, ns);
    out.extend_from_slice(&buf);
}

/// The civil date (year, month 1–12, day 1–31, proleptic Gregorian, UTC) of a day counted from
/// 1970-01-01 (H. Hinnant's algorithm).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m as u32, d as u32)
}

/// Days from 1970-01-01 of a civil date (the inverse of [`civil_from_days`]).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn fill_rfc3339(buf: &mut [u8; 30], ns: i64) {
    // 0000-01-01T00:00:00Z ..= 9999-12-31T23:59:59.999999999Z
    const MIN_S: i64 = -62_167_219_200;
    const MAX_S: i64 = 253_402_300_799;
    let secs = ns.div_euclid(1_000_000_000).clamp(MIN_S, MAX_S);
    let nanos = if (MIN_S..MAX_S).contains(&ns.div_euclid(1_000_000_000)) {
        ns.rem_euclid(1_000_000_000)
    } else {
        0
    };
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (m, d) = (i64::from(m), i64::from(d));
    let mut put = |at: usize, width: usize, mut v: i64| {
        for i in (0..width).rev() {
            buf[at + i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, 4, y);
    put(5, 2, m);
    put(8, 2, d);
    put(11, 2, sod / 3600);
    put(14, 2, sod / 60 % 60);
    put(17, 2, sod % 60);
    put(20, 9, nanos);
    for (at, c) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (29, b'Z'),
    ] {
        buf[at] = c;
    }
}

/// Parses the exact form [`format_rfc3339`] writes (`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ`) without
/// allocating; `None` for anything else. Verification uses it once per entry.
pub fn parse_sealed_time(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 30
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
        || b[19] != b'.'
        || b[29] != b'Z'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, sec, ns) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..29)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(y, mo as u32, d as u32);
    let secs = days * 86_400 + h * 3600 + mi * 60 + sec;
    secs.checked_mul(1_000_000_000)?.checked_add(ns)
}

/// Parses an RFC 3339 time (any offset) into Unix nanoseconds.
pub fn parse_rfc3339(s: &str) -> Result<i64> {
    let dt = OffsetDateTime::parse(s, &Rfc3339).map_err(|e| Error::Time {
        input: s.to_owned(),
        why: e.to_string(),
    })?;
    i64::try_from(dt.unix_timestamp_nanos()).map_err(|_| Error::Time {
        input: s.to_owned(),
        why: "out of range".into(),
    })
}

/// Which end of a day a date-only bound means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayEdge {
    /// 00:00:00 UTC of that day (for a lower bound).
    Start,
    /// The last nanosecond of that day, UTC (for an upper bound).
    End,
}

/// Parses a time bound as a person writes it: RFC 3339 (`2026-11-24T06:00:00Z`), a date
/// (`2026-11-24`, UTC; `edge` says which end of the day), or an age before `now_ns`
/// (`90s`, `15m`, `12h`, `7d`, `2w`).
pub fn parse_bound(s: &str, edge: DayEdge, now_ns: i64) -> Result<i64> {
    let s = s.trim();
    let bad = |why: &str| Error::Time {
        input: s.to_owned(),
        why: why.to_owned(),
    };
    if let Some(unit) = s.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let digits = &s[..s.len() - 1];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = digits.parse().map_err(|_| bad("number too large"))?;
            let secs = match unit {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86_400,
                'w' => 604_800,
                _ => return Err(bad("unknown unit: use s, m, h, d or w")),
            };
            let ago = n
                .checked_mul(secs)
                .and_then(|v| v.checked_mul(1_000_000_000))
                .ok_or_else(|| bad("too far back"))?;
            return Ok(now_ns.saturating_sub(ago));
        }
    }
    if s.len() == 10 && s.as_bytes().get(4) == Some(&b'-') {
        let date = parse_date(s).ok_or_else(|| bad("not a valid date (YYYY-MM-DD)"))?;
        let start = date.midnight().assume_offset(UtcOffset::UTC);
        let ns = i64::try_from(start.unix_timestamp_nanos()).map_err(|_| bad("out of range"))?;
        return Ok(match edge {
            DayEdge::Start => ns,
            DayEdge::End => ns
                .checked_add(86_400_000_000_000 - 1)
                .ok_or_else(|| bad("out of range"))?,
        });
    }
    parse_rfc3339(s).map_err(|_| {
        bad("expected RFC 3339 (2026-11-24T06:00:00Z), a date (2026-11-24) or an age (7d, 12h, 30m)")
    })
}

fn parse_date(s: &str) -> Option<Date> {
    let mut parts = s.split('-');
    let y: i32 = parts.next()?.parse().ok()?;
    let m: u8 = parts.next()?.parse().ok()?;
    let d: u8 = parts.next()?.parse().ok()?;
    let month = time::Month::try_from(m).ok()?;
    Date::from_calendar_date(y, month, d).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nine_digits_utc() {
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            format_rfc3339(1_795_000_000_123_456_789),
            "2026-11-18T11:06:40.123456789Z"
        );
        let s = format_rfc3339(1_795_000_000_123_456_789);
        assert_eq!(
            parse_rfc3339(&s).expect("parses"),
            1_795_000_000_123_456_789
        );
    }

    #[test]
    fn parses_bounds() {
        let now = 1_795_000_000_000_000_000;
        assert_eq!(
            parse_bound("7d", DayEdge::Start, now).expect("ok"),
            now - 7 * 86_400_000_000_000
        );
        assert_eq!(
            parse_bound("30m", DayEdge::Start, now).expect("ok"),
            now - 1_800_000_000_000
        );
        let day = parse_bound("2026-11-18", DayEdge::Start, now).expect("ok");
        assert_eq!(format_rfc3339(day), "2026-11-18T00:00:00.000000000Z");
        let end = parse_bound("2026-11-18", DayEdge::End, now).expect("ok");
        assert_eq!(format_rfc3339(end), "2026-11-18T23:59:59.999999999Z");
        assert_eq!(
            parse_bound("2026-11-18T10:00:00+01:00", DayEdge::Start, now).expect("ok"),
            parse_rfc3339("2026-11-18T09:00:00Z").expect("ok")
        );
        for bad in ["yesterday", "7y", "2026-13-01", ""] {
            let err = parse_bound(bad, DayEdge::Start, now).expect_err(bad);
            assert!(err.to_string().contains("bad time"), "{err}");
        }
    }
}
