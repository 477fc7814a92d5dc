//! Server settings: defaults, the `[server]` table of `aiaudit.toml`, and the limits that
//! bound what one request may ask.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Everything `aiaudit serve` needs. [`ServerConfig::new`] gives the embedded defaults: the
/// SQLite log at `db`, plain HTTP on 127.0.0.1:7878, health open, metrics protected.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0: any free port).
    pub listen: SocketAddr,
    /// The SQLite log.
    pub db: PathBuf,
    /// The token file (default `<db>.tokens`).
    pub tokens: Option<PathBuf>,
    /// The signing key (default `<db>.key`).
    pub signing_key: Option<PathBuf>,
    /// A command that signs instead of a key file (`aiaudit::signer::CommandSigner`).
    pub signing_command: Option<Vec<String>>,
    /// TLS certificate chain and private key (PEM), both or neither.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The redaction policy as TOML text with a `[redaction]` table (default: built in).
    pub policy_toml: Option<(PathBuf, String)>,
    /// Custom statuses events may use besides the standard seven.
    pub statuses: Vec<String>,
    /// Request limits.
    pub limits: Limits,
    /// Connection caps, timeouts and the budget for buffered bodies.
    pub connections: crate::conn::Connections,
    /// `/healthz` and `/readyz` answer without a token.
    pub open_health: bool,
    /// `/metrics` answers without a token (otherwise it needs the `audit` role).
    pub open_metrics: bool,
    /// Consume events from NATS JetStream too (`--ingest nats://…`).
    pub nats: Option<NatsIngest>,
    /// How often the whole log is verified in the background (`[server] verify_every`, default
    /// daily; `None`: never). A failure becomes an `alert` event, a metric and an ERROR line.
    pub verify_every: Option<std::time::Duration>,
    /// The `[[sinks]]` and `[[alerts]]` arrays of the configuration file, for delivery after
    /// commit.
    pub after_commit: AfterCommit,
    /// How `POST /v1/traces` and `/v1/logs` map what they take (`[otlp]`).
    pub otlp: Otlp,
    /// `GET /checkpoint` and `/tile/…` answer without a token (`[tiles] public = true`): a
    /// public log, whose records anyone may read. Otherwise they need the `audit` role.
    pub public_tiles: bool,
    /// The witnesses each new checkpoint is shown to (`[[witnesses]]`: name, url, vkey).
    pub witnesses: Vec<aiaudit_witness::WitnessTarget>,
    /// How often they are shown the latest checkpoint (`[server] witness_every`, default 10 s).
    pub witness_every: std::time::Duration,
    /// Scheduled archiving (`[retention]`), if configured.
    pub retention: Option<crate::retention::Retention>,
}

/// The `[otlp]` table: what the OTLP receiver keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Otlp {
    /// Keep prompt and completion content itself instead of its SHA-256 (default false). It
    /// still goes through the redaction policy.
    pub keep_content: bool,
    /// Most attributes, span events or links on one span or log record (default 1,024).
    pub max_attributes: usize,
}

impl Default for Otlp {
    fn default() -> Self {
        Otlp {
            keep_content: false,
            max_attributes: 1024,
        }
    }
}

/// Where and how the server consumes events from NATS JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsIngest {
    /// The server, `nats://127.0.0.1:4222`.
    pub url: String,
    /// The stream (created when missing).
    pub stream: String,
    /// The subjects the stream holds; workers publish under them.
    pub subject: String,
    /// The durable consumer's name; several servers sharing it share the work.
    pub consumer: String,
    /// Messages fetched (and committed) per batch at most.
    pub batch: usize,
    /// How long JetStream waits for an acknowledgement before delivering a message again
    /// (to this server after a restart, or to another sharing the consumer).
    pub ack_wait: std::time::Duration,
}

impl NatsIngest {
    /// The defaults for a server URL: stream `AIAUDIT`, subjects `aiaudit.events.>`, durable
    /// consumer `aiaudit-writer`, 4,096 messages a batch (fewer, larger commits).
    pub fn new(url: impl Into<String>) -> Self {
        NatsIngest {
            url: url.into(),
            stream: "AIAUDIT".into(),
            subject: "aiaudit.events.>".into(),
            consumer: "aiaudit-writer".into(),
            batch: 4_096,
            ack_wait: std::time::Duration::from_secs(30),
        }
    }
}

/// The raw `[[sinks]]` and `[[alerts]]` arrays of aiaudit.toml, parsed by `aiaudit-sinks`.
#[derive(Debug, Clone, Default)]
pub struct AfterCommit {
    /// `[[sinks]]`.
    pub sinks: Option<toml::Value>,
    /// `[[alerts]]`.
    pub alerts: Option<toml::Value>,
}

/// What one request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body, in bytes (larger: 413).
    pub max_body_bytes: usize,
    /// Most events in one POST (more: 413).
    pub max_batch: usize,
    /// Deepest nesting of an event's `details` (deeper: 400).
    pub max_depth: usize,
    /// Most events one query answers with.
    pub max_page: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_batch: 10_000,
            max_depth: 32,
            max_page: 10_000,
        }
    }
}

impl ServerConfig {
    /// The defaults for the log at `db`.
    pub fn new(db: impl Into<PathBuf>) -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 7878)),
            db: db.into(),
            tokens: None,
            signing_key: None,
            signing_command: None,
            tls: None,
            policy_toml: None,
            statuses: Vec::new(),
            limits: Limits::default(),
            connections: crate::conn::Connections::default(),
            open_health: true,
            open_metrics: false,
            nats: None,
            verify_every: Some(std::time::Duration::from_secs(86_400)),
            witnesses: Vec::new(),
            witness_every: std::time::Duration::from_secs(10),
            after_commit: AfterCommit::default(),
            otlp: Otlp::default(),
            public_tiles: false,
            retention: None,
        }
    }

    /// Reads `aiaudit.toml`: its `[server]` table (every key optional, unknown keys refused)
    /// and, if present, its `[redaction]` table as the policy. Paths in the file are relative
    /// to the file's directory.
    pub fn from_file(path: &Path) -> Result<Self, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Config {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
        Self::from_toml(path, &text)
    }

    /// [`ServerConfig::from_file`] on text already read.
    pub fn from_toml(path: &Path, text: &str) -> Result<Self, Error> {
        let bad = |why: String| Error::Config {
            path: path.to_owned(),
            why,
        };
        let file: File = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new(""));
        // A PostgreSQL URL is not a path to resolve.
        let rel = |p: PathBuf| {
            if p.is_absolute() || aiaudit::location::postgres_url(&p).is_some() {
                p
            } else {
                base.join(p)
            }
        };
        let s = file.server.unwrap_or_default();
        let mut c = ServerConfig::new(rel(s.db.unwrap_or_else(|| "aiaudit.db".into())));
        if let Some(l) = s.listen {
            c.listen = l
                .parse()
                .map_err(|e| bad(format!("server.listen {l:?}: {e} (want HOST:PORT)")))?;
        }
        c.tokens = s.tokens.map(rel);
        c.signing_key = s.signing_key.map(rel);
        c.signing_command = s.signing_command;
        if c.signing_key.is_some() && c.signing_command.is_some() {
            return Err(bad(
                "server.signing_key and server.signing_command exclude each other".into(),
            ));
        }
        c.tls = match (s.tls_cert, s.tls_key) {
            (Some(cert), Some(key)) => Some((rel(cert), rel(key))),
            (None, None) => None,
            _ => return Err(bad("server.tls_cert and server.tls_key go together".into())),
        };
        if file.redaction.is_some() {
            c.policy_toml = Some((path.to_owned(), text.to_owned()));
        }
        c.statuses = s.statuses.unwrap_or_default();
        let d = Limits::default();
        c.limits = Limits {
            max_body_bytes: s.max_body_bytes.unwrap_or(d.max_body_bytes),
            max_batch: s.max_batch.unwrap_or(d.max_batch),
            max_depth: s.max_depth.unwrap_or(d.max_depth),
            max_page: s.max_page.unwrap_or(d.max_page),
        };
        let dc = crate::conn::Connections::default();
        let timeout = |key: &str, v: Option<String>, d: std::time::Duration| match v {
            None => Ok(d),
            Some(v) => match parse_every(&v) {
                Ok(Some(t)) => Ok(t),
                Ok(None) => Err(bad(format!("server.{key} {v:?}: a timeout cannot be off"))),
                Err(why) => Err(bad(format!("server.{key} {v:?}: {why}"))),
            },
        };
        c.connections = crate::conn::Connections {
            header_timeout: timeout("header_timeout", s.header_timeout, dc.header_timeout)?,
            body_timeout: timeout("body_timeout", s.body_timeout, dc.body_timeout)?,
            idle_timeout: timeout("idle_timeout", s.idle_timeout, dc.idle_timeout)?,
            max_connections: s.max_connections.unwrap_or(dc.max_connections),
            max_per_address: s.max_connections_per_address.or(dc.max_per_address),
            body_budget: s.body_budget_bytes.unwrap_or(dc.body_budget),
        };
        if let Some(v) = s.verify_every {
            c.verify_every =
                parse_every(&v).map_err(|why| bad(format!("server.verify_every {v:?}: {why}")))?;
        }
        if let Some(v) = s.witness_every {
            c.witness_every = parse_every(&v)
                .map_err(|why| bad(format!("server.witness_every {v:?}: {why}")))?
                .ok_or_else(|| {
                    bad("server.witness_every cannot be off; remove [[witnesses]] instead".into())
                })?;
        }
        for (i, w) in file.witnesses.iter().enumerate() {
            let key = aiaudit_core::cosignature::CosignatureVerifier::parse(&w.vkey)
                .map_err(|e| bad(format!("[[witnesses]] {} ({}): vkey: {e}", i + 1, w.name)))?;
            if c.witnesses.iter().any(|t| t.name == w.name) {
                return Err(bad(format!(
                    "[[witnesses]] {}: the name {:?} is used twice",
                    i + 1,
                    w.name
                )));
            }
            c.witnesses.push(aiaudit_witness::WitnessTarget {
                name: w.name.clone(),
                url: w.url.clone(),
                key,
            });
        }
        c.open_health = s.open_health.unwrap_or(true);
        c.open_metrics = s.open_metrics.unwrap_or(false);
        if let Some(url) = s.ingest {
            let mut n = NatsIngest::new(url);
            n.stream = s.ingest_stream.unwrap_or(n.stream);
            n.subject = s.ingest_subject.unwrap_or(n.subject);
            n.consumer = s.ingest_consumer.unwrap_or(n.consumer);
            n.batch = s.ingest_batch.unwrap_or(n.batch);
            if let Some(w) = s.ingest_ack_wait_s {
                n.ack_wait = std::time::Duration::from_secs(w);
            }
            c.nats = Some(n);
        } else if s.ingest_stream.is_some()
            || s.ingest_subject.is_some()
            || s.ingest_consumer.is_some()
            || s.ingest_batch.is_some()
            || s.ingest_ack_wait_s.is_some()
        {
            return Err(bad(
                "server.ingest_* need server.ingest (a nats:// URL)".into()
            ));
        }
        // A sink's files, like the log's, are relative to the configuration file.
        let mut sinks = file.sinks;
        if let Some(toml::Value::Array(list)) = &mut sinks {
            for t in list.iter_mut().filter_map(toml::Value::as_table_mut) {
                for key in ["path", "secret_file"] {
                    if let Some(toml::Value::String(p)) = t.get_mut(key) {
                        let joined = rel(PathBuf::from(&*p));
                        *p = joined.to_string_lossy().into_owned();
                    }
                }
            }
        }
        c.after_commit = AfterCommit {
            sinks,
            alerts: file.alerts,
        };
        if let Some(o) = file.otlp {
            let d = Otlp::default();
            c.otlp = Otlp {
                keep_content: o.keep_content.unwrap_or(d.keep_content),
                max_attributes: o.max_attributes.unwrap_or(d.max_attributes),
            };
            if c.otlp.max_attributes == 0 {
                return Err(bad("otlp.max_attributes must be at least 1".into()));
            }
        }
        if let Some(t) = file.tiles {
            c.public_tiles = t.public.unwrap_or(false);
        }
        if let Some(r) = file.retention {
            c.retention = Some(r.check(parse_every).map_err(bad)?);
        }
        c.check()?;
        Ok(c)
    }

    /// Refuses settings that cannot work.
    pub fn check(&self) -> Result<(), Error> {
        let l = &self.limits;
        if l.max_body_bytes < 1024 {
            return Err(Error::Invalid(
                "max_body_bytes must be at least 1024".into(),
            ));
        }
        if l.max_batch == 0 || l.max_page == 0 {
            return Err(Error::Invalid(
                "max_batch and max_page must be at least 1".into(),
            ));
        }
        let c = &self.connections;
        if c.max_connections == 0 || c.max_per_address == Some(0) {
            return Err(Error::Invalid(
                "max_connections and max_connections_per_address must be at least 1".into(),
            ));
        }
        if c.body_budget < l.max_body_bytes {
            return Err(Error::Invalid(format!(
                "body_budget_bytes ({}) must be at least max_body_bytes ({}), or no body of the largest size could ever be read",
                c.body_budget, l.max_body_bytes
            )));
        }
        if c.body_budget > u32::MAX as usize {
            return Err(Error::Invalid(
                "body_budget_bytes must be at most 4294967295".into(),
            ));
        }
        if let Some(n) = &self.nats {
            if !n.url.starts_with("nats://") {
                return Err(Error::Invalid(format!(
                    "ingest {:?} must be a nats:// URL",
                    n.url
                )));
            }
            if n.ack_wait < std::time::Duration::from_secs(1) {
                return Err(Error::Invalid(
                    "ingest_ack_wait_s must be at least 1".into(),
                ));
            }
            if !(1..=100_000).contains(&n.batch) {
                return Err(Error::Invalid(
                    "ingest_batch must be between 1 and 100000".into(),
                ));
            }
        }
        if !(1..=aiaudit::MAX_DEPTH).contains(&l.max_depth) {
            return Err(Error::Invalid(format!(
                "max_depth must be between 1 and {}",
                aiaudit::MAX_DEPTH
            )));
        }
        Ok(())
    }

    /// The token file in use.
    pub fn tokens_path(&self) -> PathBuf {
        self.tokens.clone().unwrap_or_else(|| {
            aiaudit_sqlite::default_tokens_path(&aiaudit::location::local_base(&self.db))
        })
    }
}

#[derive(Debug, Default, Deserialize)]
struct File {
    server: Option<ServerTable>,
    /// Only whether it is present; the policy parser reads it.
    redaction: Option<toml::Value>,
    sinks: Option<toml::Value>,
    alerts: Option<toml::Value>,
    otlp: Option<OtlpTable>,
    tiles: Option<TilesTable>,
    #[serde(default)]
    witnesses: Vec<WitnessTable>,
    retention: Option<crate::retention::RetentionTable>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessTable {
    name: String,
    url: String,
    vkey: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TilesTable {
    public: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OtlpTable {
    keep_content: Option<bool>,
    max_attributes: Option<usize>,
}

/// `"off"` (never), or a whole number with a unit: `90s`, `30m`, `6h`, `1d`.
fn parse_every(v: &str) -> Result<Option<std::time::Duration>, String> {
    let v = v.trim();
    if v == "off" || v == "never" {
        return Ok(None);
    }
    let (n, unit) = v.split_at(v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| "want a whole number and s, m, h or d (or \"off\")".to_owned())?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err("want a whole number and s, m, h or d (or \"off\")".into()),
    };
    if secs == 0 {
        return Err("must be more than 0 (or \"off\")".into());
    }
    Ok(Some(std::time::Duration::from_secs(secs)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerTable {
    listen: Option<String>,
    db: Option<PathBuf>,
    tokens: Option<PathBuf>,
    signing_key: Option<PathBuf>,
    signing_command: Option<Vec<String>>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    statuses: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    max_batch: Option<usize>,
    max_depth: Option<usize>,
    max_page: Option<usize>,
    open_health: Option<bool>,
    open_metrics: Option<bool>,
    ingest: Option<String>,
    ingest_stream: Option<String>,
    ingest_subject: Option<String>,
    ingest_consumer: Option<String>,
    ingest_batch: Option<usize>,
    ingest_ack_wait_s: Option<u64>,
    verify_every: Option<String>,
    witness_every: Option<String>,
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    idle_timeout: Option<String>,
    max_connections: Option<usize>,
    max_connections_per_address: Option<usize>,
    body_budget_bytes: Option<usize>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_settings_and_errors() {
        let p = Path::new("/etc/aiaudit/aiaudit.toml");
        let c = ServerConfig::from_toml(
            p,
            "[server]\nlisten = \"0.0.0.0:9000\"\ndb = \"prod.db\"\nmax_batch = 5\n",
        )
        .expect("valid");
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.db, Path::new("/etc/aiaudit/prod.db"));
        assert_eq!(c.limits.max_batch, 5);
        assert!(c.policy_toml.is_none());
        let e = ServerConfig::from_toml(p, "[server]\nlisen = \"x\"\n").expect_err("typo");
        assert!(e.to_string().contains("lisen"), "{e}");
        let e = ServerConfig::from_toml(p, "[server]\ntls_cert = \"a.pem\"\n").expect_err("half");
        assert!(e.to_string().contains("go together"), "{e}");
        let c = ServerConfig::from_toml(
            p,
            "[server]\nheader_timeout = \"5s\"\nidle_timeout = \"2m\"\nmax_connections_per_address = 8\n",
        )
        .expect("valid");
        assert_eq!(c.connections.header_timeout.as_secs(), 5);
        assert_eq!(c.connections.idle_timeout.as_secs(), 120);
        assert_eq!(c.connections.max_per_address, Some(8));
        assert_eq!(c.connections.effective_per_address(), 8);
        let e = ServerConfig::from_toml(p, "[server]\nbody_timeout = \"off\"\n").expect_err("off");
        assert!(e.to_string().contains("body_timeout"), "{e}");
        let e =
            ServerConfig::from_toml(p, "[server]\nbody_budget_bytes = 2048\n").expect_err("small");
        assert!(e.to_string().contains("body_budget_bytes"), "{e}");
        let e = ServerConfig::from_toml(p, "[server]\nmax_depth = 0\n").expect_err("zero");
        assert!(e.to_string().contains("max_depth"), "{e}");
        // One file for the server and its redaction policy.
        let both = "[server]\nopen_metrics = true\n\n[redaction]\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"drop\"\n";
        let c = ServerConfig::from_toml(p, both).expect("valid");
        assert!(c.open_metrics);
        let (_, text) = c.policy_toml.expect("the policy comes along");
        aiaudit_core::redact::Policy::from_toml(&text).expect("the policy parser ignores [server]");
    }
}
