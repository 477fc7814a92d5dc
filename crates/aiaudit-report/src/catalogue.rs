//! Message catalogues: the report texts of each language, with its number and date
//! conventions, compiled into the binary from `catalogues/*.toml`.

use serde_json::Value;
use toml::Table;

use crate::{Error, Lang};

fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::En => include_str!("../catalogues/en.toml"),
        Lang::De => include_str!("../catalogues/de.toml"),
        Lang::Fr => include_str!("../catalogues/fr.toml"),
    }
}

/// One language's texts and conventions.
#[derive(Debug, Clone)]
pub struct Catalogue {
    lang: Lang,
    table: Table,
}

impl Catalogue {
    /// The catalogue of `lang`.
    pub fn load(lang: Lang) -> Result<Catalogue, Error> {
        let table = source(lang)
            .parse::<Table>()
            .map_err(|source| Error::Catalogue {
                lang: lang.tag(),
                source,
            })?;
        Ok(Catalogue { lang, table })
    }

    /// The language.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// The entry `key` of `section`, if the catalogue has it.
    pub fn get(&self, section: &str, key: &str) -> Option<&str> {
        self.table.get(section)?.get(key)?.as_str()
    }

    /// The entry `key` of `section`, or the key itself (a missing text shows, never fails).
    pub fn text<'a>(&'a self, section: &str, key: &'a str) -> &'a str {
        self.get(section, key).unwrap_or(key)
    }

    /// The label of a report field: the catalogue's, else the key with spaces for underscores.
    pub fn label(&self, key: &str) -> String {
        self.get("label", key)
            .map_or_else(|| key.replace('_', " "), str::to_owned)
    }

    /// `template` with each `{name}` replaced by its value, in one pass: a value that itself
    /// contains `{name}` is left as it is. An unknown `{…}` stays as written.
    pub fn fill(&self, template: &str, args: &[(&str, &str)]) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let value = after.find('}').and_then(|close| {
                let name = &after[..close];
                args.iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v, close))
            });
            match value {
                Some((v, close)) => {
                    out.push_str(v);
                    rest = &after[close + 1..];
                }
                None => {
                    out.push('{');
                    rest = after;
                }
            }
        }
        out.push_str(rest);
        out
    }

    fn format(&self, key: &str) -> &str {
        self.get("format", key).unwrap_or("")
    }

    /// An integer with the language's digit grouping (`1,234` / `1.234` / `1 234`).
    pub fn int(&self, n: i128) -> String {
        let digits = n.unsigned_abs().to_string();
        let group = self.format("group");
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 * group.len() + 1);
        if n < 0 {
            out.push('-');
        }
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push_str(group);
            }
            out.push(c);
        }
        out
    }

    /// A measured number: grouped, with at most three decimals and no trailing zeros.
    pub fn number(&self, x: f64) -> String {
        if !x.is_finite() {
            return x.to_string();
        }
        let fixed = format!("{:.3}", x.abs());
        let (whole, frac) = fixed.split_once('.').unwrap_or((&fixed, ""));
        let frac = frac.trim_end_matches('0');
        let whole: i128 = whole.parse().unwrap_or(0);
        let sign = if x < 0.0 && (whole != 0 || !frac.is_empty()) {
            "-"
        } else {
            ""
        };
        let mut out = format!("{sign}{}", self.int(whole));
        if !frac.is_empty() {
            out.push_str(self.format("decimal"));
            out.push_str(frac);
        }
        out
    }

    /// A UTC date `YYYY-MM-DD` in the language's form; `None` if `s` is not one.
    pub fn date(&self, s: &str) -> Option<String> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let y: u32 = s.get(0..4)?.parse().ok()?;
        let m: usize = s.get(5..7)?.parse().ok()?;
        let d: u32 = s.get(8..10)?.parse().ok()?;
        let months = self.table.get("format")?.get("months")?.as_array()?;
        let mon = months.get(m.checked_sub(1)?)?.as_str()?;
        Some(self.fill(
            self.format("date"),
            &[
                ("y", &y.to_string()),
                ("m", &format!("{m:02}")),
                ("d", &d.to_string()),
                ("dd", &format!("{d:02}")),
                ("mon", mon),
            ],
        ))
    }

    /// An RFC 3339 UTC time (`YYYY-MM-DDTHH:MM:SS[.f]Z`) in the language's form, to the
    /// second; `None` if `s` is not one.
    pub fn time(&self, s: &str) -> Option<String> {
        let b = s.as_bytes();
        if b.len() < 20 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || !s.ends_with('Z') {
            return None;
        }
        let date = self.date(s.get(..10)?)?;
        Some(self.fill(
            self.format("time"),
            &[
                ("date", &date),
                ("hh", s.get(11..13)?),
                ("mm", s.get(14..16)?),
                ("ss", s.get(17..19)?),
            ],
        ))
    }

    /// A report value as text: times and dates in the language's form, numbers grouped,
    /// booleans as yes/no, null as a dash, lists joined.
    pub fn value(&self, v: &Value) -> String {
        match v {
            Value::Null => "—".to_owned(),
            Value::Bool(b) => self.text("text", if *b { "yes" } else { "no" }).to_owned(),
            Value::Number(n) => match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => self.int(i128::from(i)),
                (None, Some(u)) => self.int(i128::from(u)),
                _ => self.number(n.as_f64().unwrap_or(f64::NAN)),
            },
            Value::String(s) => self
                .time(s)
                .or_else(|| self.date(s))
                .unwrap_or_else(|| s.clone()),
            Value::Array(a) if a.is_empty() => self.text("text", "none").to_owned(),
            Value::Array(a) => a
                .iter()
                .map(|x| self.value(x))
                .collect::<Vec<_>>()
                .join(", "),
            Value::Object(_) => v.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(t: &Table) -> BTreeSet<String> {
        t.iter()
            .flat_map(|(s, v)| {
                v.as_table()
                    .into_iter()
                    .flat_map(|t| t.keys())
                    .map(move |k| format!("{s}.{k}"))
            })
            .collect()
    }

    #[test]
    fn every_catalogue_parses_and_has_the_same_keys() -> Result<(), Error> {
        let en = keys(&Catalogue::load(Lang::En)?.table);
        for lang in [Lang::De, Lang::Fr] {
            let other = keys(&Catalogue::load(lang)?.table);
            assert_eq!(
                en.difference(&other).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{lang} lacks these"
            );
            assert_eq!(
                other.difference(&en).collect::<Vec<_>>(),
                Vec::<&String>::new(),
                "{lang} has extra"
            );
        }
        Ok(())
    }

    #[test]
    fn numbers_follow_the_language() -> Result<(), Error> {
        let (en, de, fr) = (
            Catalogue::load(Lang::En)?,
            Catalogue::load(Lang::De)?,
            Catalogue::load(Lang::Fr)?,
        );
        assert_eq!(en.int(1_234_567), "1,234,567");
        assert_eq!(de.int(1_234_567), "1.234.567");
        assert_eq!(fr.int(1_234_567), "1\u{202F}234\u{202F}567");
        assert_eq!(en.int(-1000), "-1,000");
        assert_eq!(en.int(999), "999");
        assert_eq!(de.number(12345.5), "12.345,5");
        assert_eq!(en.number(0.1239), "0.124");
        assert_eq!(en.number(-0.0001), "0");
        assert_eq!(fr.number(3.0), "3");
        Ok(())
    }

    #[test]
    fn dates_follow_the_language() -> Result<(), Error> {
        let t = "2026-03-05T07:08:09.123456789Z";
        assert_eq!(
            Catalogue::load(Lang::En)?.time(t).as_deref(),
            Some("Mar 5, 2026, 07:08:09 UTC")
        );
        assert_eq!(
            Catalogue::load(Lang::De)?.time(t).as_deref(),
            Some("05.03.2026, 07:08:09 UTC")
        );
        assert_eq!(
            Catalogue::load(Lang::Fr)?.time(t).as_deref(),
            Some("5 mars 2026 à 07:08:09 UTC")
        );
        let en = Catalogue::load(Lang::En)?;
        assert_eq!(en.date("2026-13-01"), None);
        assert_eq!(en.time("not a time"), None);
        assert_eq!(en.value(&serde_json::json!(true)), "yes");
        assert_eq!(en.value(&serde_json::json!([])), "none");
        assert_eq!(
            en.fill("{a} and {b} {c", &[("a", "{b}"), ("b", "2")]),
            "{b} and 2 {c"
        );
        Ok(())
    }
}
