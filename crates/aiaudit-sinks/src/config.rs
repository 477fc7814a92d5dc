//! Sink configuration: the `[[sinks]]` array of `aiaudit.toml`.
//!
//! ```toml
//! [[sinks]]
//! name = "siem"              # unique, [a-z0-9_-]+
//! kind = "webhook"           # jsonl | webhook | otlp | nats
//! types = ["model_inference", "access"]   # default: every type
//! min_status = "WARNING"     # default: every status (a custom status counts as INFO)
//! batch = 500                # events per delivery, 1..=10000
//! url = "https://siem.example/hook"
//! secret_file = "/etc/aiaudit/hook.key"
//! ```
//!
//! Parsing is strict: an unknown key, a missing key, a value of the wrong type and a duplicate
//! name are refused with an error naming the sink and the key, because a typo in a delivery
//! config silently sends audit events nowhere.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use aiaudit_core::Status;
use aiaudit_core::StoredEntry;

use crate::error::{Error, Result};

/// Default events per delivery.
pub const DEFAULT_BATCH: usize = 500;
/// Largest events per delivery.
pub const MAX_BATCH: usize = 10_000;

/// One configured sink.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkConfig {
    /// Unique name; also the cursor's key.
    pub name: String,
    /// Where events go.
    pub kind: SinkKind,
    /// Which events go there.
    pub filter: Filter,
    /// Events read (and at most delivered) per delivery, 1..=10000.
    pub batch: usize,
}

/// A sink's destination and its settings.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum SinkKind {
    /// A rotating JSON-lines file.
    Jsonl {
        /// The live file (`audit.jsonl`); rotated files are `audit.jsonl.1`, `.2`, …
        path: PathBuf,
        /// Rotate before the file would exceed this many bytes.
        max_bytes: u64,
        /// Rotated files kept.
        keep: u32,
    },
    /// An HTTP webhook, HMAC-signed.
    Webhook {
        /// The receiver (http or https).
        url: String,
        /// HMAC-SHA256 key; without one, requests are not signed.
        secret: Option<Secret>,
        /// Per-request timeout, seconds.
        timeout_s: u64,
        /// Extra request headers.
        headers: BTreeMap<String, String>,
    },
    /// OpenTelemetry logs over OTLP/HTTP JSON.
    Otlp {
        /// The logs endpoint, e.g. `http://127.0.0.1:4318/v1/logs`.
        url: String,
        /// Extra request headers (e.g. an API key).
        headers: BTreeMap<String, String>,
        /// The `service.name` resource attribute.
        service_name: String,
    },
    /// A NATS subject (JetStream when a stream covers it).
    Nats {
        /// The server, `nats://host:port`.
        url: String,
        /// The subject records are published to.
        subject: String,
    },
    /// The alert rules (`[[alerts]]`), evaluated on every committed entry; their alerts are
    /// logged as `alert` events. Made by the server, not read from `[[sinks]]`.
    Alerts(crate::sinks::alerts::AlertsSpec),
}

impl SinkKind {
    /// The `kind` key's value: `jsonl`, `webhook`, `otlp` or `nats`.
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::Jsonl { .. } => "jsonl",
            SinkKind::Webhook { .. } => "webhook",
            SinkKind::Otlp { .. } => "otlp",
            SinkKind::Nats { .. } => "nats",
            SinkKind::Alerts(_) => "alerts",
        }
    }
}

/// A secret key whose `Debug` form never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Which events a sink receives.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Event types delivered; `None` = all.
    pub types: Option<BTreeSet<String>>,
    /// Least severity delivered, as an OpenTelemetry severity number (INFO = 9); `None` = all.
    pub min_severity: Option<u8>,
}

impl Filter {
    /// Whether an event of this type and status passes.
    pub fn accepts(&self, kind: &str, status: &str) -> bool {
        if let Some(types) = &self.types
            && !types.contains(kind)
        {
            return false;
        }
        match self.min_severity {
            Some(min) => severity(status) >= min,
            None => true,
        }
    }

    /// Whether a stored entry passes.
    pub fn accepts_entry(&self, e: &StoredEntry) -> bool {
        self.accepts(&e.kind, &e.status)
    }
}

/// OpenTelemetry severity number of a status; a custom status counts as INFO (9).
pub fn severity(status: &str) -> u8 {
    Status::standard(status).map_or(9, |s| s.severity_number())
}

/// Parses the `[[sinks]]` array (`v` is the array itself).
pub fn parse_sinks(v: &toml::Value) -> Result<Vec<SinkConfig>> {
    let arr = v.as_array().ok_or_else(|| {
        Error::ConfigShape(format!("expected an array of tables, got {}", v.type_str()))
    })?;
    let mut out: Vec<SinkConfig> = Vec::with_capacity(arr.len());
    let mut names = HashSet::new();
    for (i, item) in arr.iter().enumerate() {
        let t = item.as_table().ok_or_else(|| {
            Error::ConfigShape(format!(
                "sinks[{i}]: expected a table, got {}",
                item.type_str()
            ))
        })?;
        let cfg = parse_one(i, t)?;
        if !names.insert(cfg.name.clone()) {
            return Err(err(
                &cfg.name,
                "name",
                "another sink has this name; names must be unique",
            ));
        }
        out.push(cfg);
    }
    Ok(out)
}

fn err(sink: &str, key: &str, problem: impl Into<String>) -> Error {
    Error::Config {
        sink: sink.to_owned(),
        key: key.to_owned(),
        problem: problem.into(),
    }
}

/// Reads keys off one table, remembering which were read so that the rest can be refused.
struct Keys<'a> {
    sink: String,
    t: &'a toml::Table,
    used: HashSet<&'static str>,
}

impl<'a> Keys<'a> {
    fn get(&mut self, key: &'static str) -> Option<&'a toml::Value> {
        self.used.insert(key);
        self.t.get(key)
    }

    fn wrong_type(&self, key: &str, want: &str, got: &toml::Value) -> Error {
        err(
            &self.sink,
            key,
            format!("expected {want}, got {}", got.type_str()),
        )
    }

    fn opt_str(&mut self, key: &'static str) -> Result<Option<&'a str>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.wrong_type(key, "a string", v)),
        }
    }

    fn req_str(&mut self, key: &'static str) -> Result<&'a str> {
        self.opt_str(key)?
            .ok_or_else(|| err(&self.sink, key, "missing (required)"))
    }

    fn opt_int(&mut self, key: &'static str, min: i64, max: i64) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Integer(n)) if (min..=max).contains(n) => Ok(Some(*n)),
            Some(toml::Value::Integer(n)) => Err(err(
                &self.sink,
                key,
                format!("{n} is out of range {min}..={max}"),
            )),
            Some(v) => Err(self.wrong_type(key, "an integer", v)),
        }
    }

    fn str_list(&mut self, key: &'static str) -> Result<Option<Vec<&'a str>>> {
        match self.get(key) {
            None => Ok(None),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .ok_or_else(|| self.wrong_type(key, "a list of strings", v))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some(v) => Err(self.wrong_type(key, "a list of strings", v)),
        }
    }

    /// `headers`: a table of string values whose names and values are valid HTTP headers.
    fn headers(&mut self) -> Result<BTreeMap<String, String>> {
        let key = "headers";
        let t = match self.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(toml::Value::Table(t)) => t,
            Some(v) => return Err(self.wrong_type(key, "a table of strings", v)),
        };
        let mut out = BTreeMap::new();
        for (k, v) in t {
            let v = v
                .as_str()
                .ok_or_else(|| self.wrong_type(&format!("headers.{k}"), "a string", v))?;
            if reqwest::header::HeaderName::from_bytes(k.as_bytes()).is_err() {
                return Err(err(
                    &self.sink,
                    &format!("headers.{k}"),
                    "not a valid HTTP header name",
                ));
            }
            if reqwest::header::HeaderValue::from_str(v).is_err() {
                return Err(err(
                    &self.sink,
                    &format!("headers.{k}"),
                    "not a valid HTTP header value",
                ));
            }
            out.insert(k.clone(), v.to_owned());
        }
        Ok(out)
    }

    fn url(&mut self, schemes: &[&str]) -> Result<String> {
        let s = self.req_str("url")?;
        let u = reqwest::Url::parse(s)
            .map_err(|e| err(&self.sink, "url", format!("`{s}` is not a URL: {e}")))?;
        if !schemes.contains(&u.scheme()) {
            return Err(err(
                &self.sink,
                "url",
                format!("`{s}`: scheme must be one of {}", schemes.join(", ")),
            ));
        }
        Ok(s.to_owned())
    }

    /// Refuses every key not read.
    fn finish(self) -> Result<()> {
        match self.t.keys().find(|k| !self.used.contains(k.as_str())) {
            Some(k) => Err(err(&self.sink, k, "unknown key")),
            None => Ok(()),
        }
    }
}

fn parse_one(index: usize, t: &toml::Table) -> Result<SinkConfig> {
    let mut k = Keys {
        sink: format!("sinks[{index}]"),
        t,
        used: HashSet::new(),
    };
    let name = k.req_str("name")?;
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(err(
            &k.sink,
            "name",
            format!("`{name}` must match [a-z0-9_-]+"),
        ));
    }
    k.sink = name.to_owned();
    let kind_name = k.req_str("kind")?;
    let types = k
        .str_list("types")?
        .map(|l| l.into_iter().map(str::to_owned).collect());
    let min_severity = match k.opt_str("min_status")? {
        None => None,
        Some(s) => Some(
            Status::standard(s)
                .ok_or_else(|| {
                    err(
                        name,
                        "min_status",
                        format!("`{s}` is not one of DEBUG, INFO, NOTICE, WARNING, ERROR, FAILURE, CRITICAL"),
                    )
                })?
                .severity_number(),
        ),
    };
    let batch = k
        .opt_int("batch", 1, MAX_BATCH as i64)?
        .map_or(DEFAULT_BATCH, |n| n as usize);
    let kind = match kind_name {
        "jsonl" => SinkKind::Jsonl {
            path: PathBuf::from(k.req_str("path")?),
            max_bytes: k
                .opt_int("max_bytes", 1, i64::MAX)?
                .map_or(104_857_600, |n| n as u64),
            keep: k.opt_int("keep", 0, 1000)?.map_or(5, |n| n as u32),
        },
        "webhook" => {
            let url = k.url(&["http", "https"])?;
            let secret = match (k.opt_str("secret")?, k.opt_str("secret_file")?) {
                (Some(_), Some(_)) => {
                    return Err(err(
                        name,
                        "secret_file",
                        "give `secret` or `secret_file`, not both",
                    ));
                }
                (Some(s), None) => Some(Secret(s.as_bytes().to_vec())),
                (None, Some(p)) => {
                    let text = std::fs::read_to_string(p).map_err(|source| Error::ConfigFile {
                        sink: name.to_owned(),
                        path: p.into(),
                        source,
                    })?;
                    // A trailing newline from `echo … > file` is not part of the key.
                    let key = text.trim_end_matches(['\n', '\r']);
                    if key.is_empty() {
                        return Err(err(name, "secret_file", format!("`{p}` is empty")));
                    }
                    Some(Secret(key.as_bytes().to_vec()))
                }
                (None, None) => None,
            };
            if secret.as_ref().is_some_and(|s| s.0.is_empty()) {
                return Err(err(name, "secret", "is empty"));
            }
            SinkKind::Webhook {
                url,
                secret,
                timeout_s: k.opt_int("timeout_s", 1, 3600)?.map_or(10, |n| n as u64),
                headers: k.headers()?,
            }
        }
        "otlp" => SinkKind::Otlp {
            url: k.url(&["http", "https"])?,
            headers: k.headers()?,
            service_name: k.opt_str("service_name")?.unwrap_or("aiaudit").to_owned(),
        },
        "nats" => {
            let url = k.url(&["nats", "tls"])?;
            let subject = k.req_str("subject")?;
            // A publish subject has no wildcards, no white space and no empty tokens.
            if subject.is_empty()
                || subject
                    .split('.')
                    .any(|t| t.is_empty() || t == "*" || t == ">")
                || subject.chars().any(|c| c.is_whitespace())
            {
                return Err(err(
                    name,
                    "subject",
                    format!("`{subject}` is not a publishable NATS subject"),
                ));
            }
            SinkKind::Nats {
                url,
                subject: subject.to_owned(),
            }
        }
        other => {
            return Err(err(
                name,
                "kind",
                format!("`{other}` is not one of jsonl, webhook, otlp, nats"),
            ));
        }
    };
    k.finish()?;
    Ok(SinkConfig {
        name: name.to_owned(),
        kind,
        filter: Filter {
            types,
            min_severity,
        },
        batch,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<SinkConfig>> {
        let doc: toml::Table = toml::from_str(s).unwrap();
        parse_sinks(&doc["sinks"])
    }

    fn msg(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_kind_with_defaults() {
        let v = parse(
            r#"
            [[sinks]]
            name = "file"
            kind = "jsonl"
            path = "/tmp/a.jsonl"
            [[sinks]]
            name = "hook"
            kind = "webhook"
            url = "http://127.0.0.1:9/x"
            secret = "k"
            types = ["access"]
            min_status = "warning"
            batch = 7
            headers = { "x-team" = "ml" }
            [[sinks]]
            name = "otel"
            kind = "otlp"
            url = "http://127.0.0.1:4318/v1/logs"
            [[sinks]]
            name = "bus"
            kind = "nats"
            url = "nats://127.0.0.1:4222"
            subject = "audit.events"
            "#,
        )
        .unwrap();
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[0].kind,
            SinkKind::Jsonl {
                path: "/tmp/a.jsonl".into(),
                max_bytes: 104_857_600,
                keep: 5
            }
        );
        assert_eq!(v[0].batch, 500);
        assert_eq!(v[0].filter, Filter::default());
        assert_eq!(v[1].batch, 7);
        assert_eq!(v[1].filter.min_severity, Some(13));
        assert!(v[1].filter.accepts("access", "ERROR"));
        assert!(!v[1].filter.accepts("access", "INFO"));
        assert!(!v[1].filter.accepts("drift", "CRITICAL"));
        match &v[1].kind {
            SinkKind::Webhook {
                secret,
                timeout_s,
                headers,
                ..
            } => {
                assert_eq!(secret.as_ref().unwrap().0, b"k");
                assert_eq!(*timeout_s, 10);
                assert_eq!(headers["x-team"], "ml");
            }
            k => panic!("{k:?}"),
        }
        match &v[2].kind {
            SinkKind::Otlp { service_name, .. } => assert_eq!(service_name, "aiaudit"),
            k => panic!("{k:?}"),
        }
        assert_eq!(v[3].kind.name(), "nats");
    }

    #[test]
    fn custom_status_counts_as_info() {
        let f = Filter {
            types: None,
            min_severity: Some(9),
        };
        assert!(f.accepts("x", "AUDITED"));
        assert!(!f.accepts("x", "DEBUG"));
        let f = Filter {
            types: None,
            min_severity: Some(10),
        };
        assert!(!f.accepts("x", "AUDITED"));
    }

    #[test]
    fn refuses_bad_input_naming_sink_and_key() {
        let base = "[[sinks]]\nname = \"a\"\nkind = \"jsonl\"\npath = \"x\"\n";
        let hook = "[[sinks]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"http://x\"\n";
        let nats = "[[sinks]]\nname = \"n\"\nkind = \"nats\"\n";
        // (config, what the message must say)
        let cases: Vec<(String, &[&str])> = vec![
            (
                format!("{base}colour = 1"),
                &["sink `a`", "`colour`", "unknown"],
            ),
            (
                "[[sinks]]\nname = \"a\"\nkind = \"jsonl\"".into(),
                &["sink `a`", "`path`", "missing"],
            ),
            (
                "[[sinks]]\nkind = \"jsonl\"".into(),
                &["sinks[0]", "`name`", "missing"],
            ),
            (format!("{base}batch = \"9\""), &["`batch`", "integer"]),
            (format!("{base}batch = 0"), &["`batch`", "out of range"]),
            (format!("{base}{base}"), &["sink `a`", "`name`", "unique"]),
            (
                "[[sinks]]\nname = \"Bad Name\"".into(),
                &["`name`", "[a-z0-9_-]+"],
            ),
            (
                "[[sinks]]\nname = \"a\"\nkind = \"kafka\"".into(),
                &["`kind`", "kafka"],
            ),
            (
                format!("{base}min_status = \"LOUD\""),
                &["`min_status`", "LOUD"],
            ),
            (
                format!("{base}types = [1]"),
                &["`types`", "list of strings"],
            ),
            (format!("{base}keep = -1"), &["`keep`", "out of range"]),
            // A key of another kind is unknown here.
            (format!("{base}subject = \"a\""), &["`subject`", "unknown"]),
            (
                hook.replace("http://x", "ftp://x"),
                &["sink `h`", "`url`", "scheme"],
            ),
            (
                hook.replace("http://x", "not a url"),
                &["sink `h`", "`url`", "not a URL"],
            ),
            (
                format!("{hook}secret = \"a\"\nsecret_file = \"b\""),
                &["`secret_file`", "not both"],
            ),
            (
                format!("{hook}secret_file = \"/nonexistent/key\""),
                &["sink `h`", "/nonexistent/key"],
            ),
            (
                format!("{hook}timeout_s = 1.5"),
                &["`timeout_s`", "integer"],
            ),
            (
                format!("{hook}headers = {{ a = 1 }}"),
                &["`headers.a`", "string"],
            ),
            (
                format!("{hook}headers = {{ \"bad name\" = \"v\" }}"),
                &["header name"],
            ),
            (
                format!("{nats}url = \"nats://x\"\nsubject = \"a.*\""),
                &["sink `n`", "`subject`"],
            ),
            (format!("{nats}subject = \"a\""), &["`url`", "missing"]),
            (
                format!("{nats}url = \"http://x\"\nsubject = \"a\""),
                &["`url`", "scheme"],
            ),
        ];
        for (cfg, want) in cases {
            let m = msg(&cfg);
            for w in want {
                assert!(
                    m.contains(w),
                    "config:\n{cfg}\nerror `{m}` should contain `{w}`"
                );
            }
        }
    }

    #[test]
    fn refuses_wrong_shapes() {
        let v: toml::Value = toml::Value::String("x".into());
        assert!(parse_sinks(&v).unwrap_err().to_string().contains("array"));
        let m = msg("sinks = [1]");
        assert!(m.contains("sinks[0]") && m.contains("table"), "{m}");
    }

    #[test]
    fn reads_secret_file_without_trailing_newline() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k");
        std::fs::write(&p, "s3cret\n").unwrap();
        let v = parse(&format!(
            "[[sinks]]\nname = \"h\"\nkind = \"webhook\"\nurl = \"https://x/y\"\nsecret_file = {:?}",
            p.display().to_string()
        ))
        .unwrap();
        match &v[0].kind {
            SinkKind::Webhook { secret, .. } => assert_eq!(secret.as_ref().unwrap().0, b"s3cret"),
            k => panic!("{k:?}"),
        }
        assert!(!format!("{:?}", v[0]).contains("s3cret"));
    }
}
