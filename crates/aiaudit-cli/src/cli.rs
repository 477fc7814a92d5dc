//! Command-line definitions.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// aiaudit: a tamper-evident audit log for AI pipelines.
#[derive(Debug, Parser)]
#[command(
    name = "aiaudit",
    version,
    about = "aiaudit: a tamper-evident audit log for AI pipelines",
    max_term_width = 100
)]
pub struct Cli {
    /// The audit log: an SQLite file, or a PostgreSQL schema as
    /// `postgres://USER@HOST:PORT/DB?schema=NAME`.
    #[arg(long, global = true, env = "AIAUDIT_DB", default_value = "aiaudit.db")]
    pub db: PathBuf,
    /// The signing key file (default: the database path with extension .key).
    #[arg(long = "signing-key", global = true, env = "AIAUDIT_SIGNING_KEY")]
    pub signing_key: Option<PathBuf>,
    /// A redaction policy: a TOML file with a [redaction] table (default: the built-in policy).
    #[arg(long, global = true, env = "AIAUDIT_POLICY", value_name = "FILE")]
    pub policy: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
    /// Whether --db was given (on the command line or in the environment).
    #[arg(skip)]
    pub db_given: bool,
}

/// What `aiaudit export` writes.
#[derive(Debug, Subcommand)]
pub enum ExportWhat {
    /// Write the log as static c2sp.org/tlog-tiles files (checkpoint, hash tiles, entry
    /// bundles) that any web server or bucket serves as a copy any tlog client verifies.
    /// Run again into the same directory to add what the log gained since.
    Tiles {
        /// The directory (created if missing; an earlier export of this log is extended).
        dir: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the log and its signing key; print the verifier key.
    Init {
        /// The log's name in its checkpoints, e.g. acme.example/audit/prod.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Print the verifier key (name+keyid+base64 key), for checking proofs elsewhere.
    VerifierKey,
    /// Record one event (committed before the command returns).
    Log(LogArgs),
    /// List events matching filters.
    Query(QueryArgs),
    /// Show one event by seq or id.
    Show {
        /// A seq number or an event id.
        target: String,
        /// pretty: indented with its seq and leaf hash; json: the sealed record exactly as hashed.
        #[arg(long, value_enum, default_value = "pretty")]
        format: ShowFormat,
    },
    /// Print the last events, and with -f keep printing new ones.
    Tail {
        /// Keep waiting for new events.
        #[arg(short, long)]
        follow: bool,
        /// How many recent events to print first.
        #[arg(short = 'n', long, default_value_t = 10)]
        lines: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// CSV cells exactly as logged: without the leading `'` that keeps a cell beginning
        /// with `=`, `+`, `-`, `@`, a tab or a carriage return from running as a spreadsheet
        /// formula (for programs that parse the file).
        #[arg(long)]
        raw_csv: bool,
    },
    /// Verify the whole log: every leaf, the tree, every signed checkpoint.
    Verify {
        /// A signed checkpoint kept elsewhere that the log must extend.
        #[arg(long, value_name = "CHECKPOINT_FILE")]
        against: Option<PathBuf>,
        /// The verifier key you trust (default: the key the log names).
        #[arg(long)]
        key: Option<String>,
        /// Only the check a writer runs before it extends the log, in bounded time: the head
        /// against the latest signed checkpoint and the last 8,192 records against their leaf
        /// hashes.
        #[arg(long, conflicts_with = "against")]
        quick: bool,
    },
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// Copy a log to a new store (SQLite to PostgreSQL, or back) with every entry, tree node
    /// and signed checkpoint as it was, so every proof still holds; then verify the copy.
    Migrate {
        /// The source: `sqlite:PATH`, a path, or a postgres:// URL.
        #[arg(long, required_unless_present = "to_v2", requires = "to")]
        from: Option<String>,
        /// The destination, which must not hold a log yet: a postgres://…?schema=NAME URL,
        /// `sqlite:PATH` or a path.
        #[arg(long, requires = "from")]
        to: Option<String>,
        /// Convert the v1 log at --db to the current layout in place, every checkpoint kept and
        /// checked: a SQLite file's original stays beside it as DB.v1, a PostgreSQL schema's
        /// as the schema SCHEMA_v1.
        #[arg(long = "to-v2", conflicts_with_all = ["from", "to"])]
        to_v2: bool,
    },
    /// Export the log for other tools.
    Export {
        #[command(subcommand)]
        what: ExportWhat,
    },
    /// Show where an event or artifact came from and what came of it: the events and artifacts
    /// linked by what each event read and made, its parent and a prediction's deployment.
    Lineage {
        /// A seq, an event id, a request id, model@version, kind:name[@version] or a dataset.
        target: String,
        /// Only what the target came from.
        #[arg(long, conflicts_with = "downstream")]
        upstream: bool,
        /// Only what came of the target.
        #[arg(long)]
        downstream: bool,
        /// table, json, dot (Graphviz) or mermaid.
        #[arg(long, value_enum, default_value = "table")]
        format: LineageFormat,
        /// Readers listed per artifact walking downstream (a model version's predictions).
        #[arg(long, default_value_t = 100)]
        per_artifact: usize,
        /// Also write an evidence file: every event on the graph with its inclusion proof
        /// against one signed checkpoint (check it with `aiaudit verify-proof`).
        #[arg(long, value_name = "FILE")]
        prove: Option<PathBuf>,
    },
    /// Print a c2sp.org/tlog-proof@v1 inclusion proof for an entry, carrying its record.
    Prove {
        /// The entry's seq.
        seq: u64,
        /// Prove against the checkpoint at this size (default: latest).
        #[arg(long)]
        size: Option<u64>,
    },
    /// Print a consistency proof from an older tree size to a newer checkpoint.
    ProveConsistency {
        /// The older size.
        old_size: u64,
        /// The newer size (default: latest checkpoint).
        new_size: Option<u64>,
    },
    /// Check a proof file offline, with no database.
    VerifyProof {
        /// A file written by `prove` or `prove-consistency`.
        proof_file: PathBuf,
        /// The log's verifier key (name+keyid+base64).
        #[arg(long)]
        key: String,
    },
    /// Erase a data subject: destroy its key (crypto-shredding) and record the erasure. The log
    /// itself is untouched: verify and every proof still pass; its encrypted fields read as
    /// [ERASED] from now on.
    Forget {
        /// The data subject's id.
        #[arg(long)]
        subject: String,
        /// Why (recorded in the erasure event).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Everything the log holds about a data subject (GDPR Art. 15), decrypted where its key
    /// still exists, with the purposes, models and users involved.
    Subject {
        /// The data subject's id.
        id: String,
        /// Output format.
        #[arg(long, value_enum, default_value = "md")]
        format: SubjectFormat,
    },
    /// Redact standard input: one text per line, or with --json one JSON document, written
    /// redacted one output line per input line (the default policy unless --policy is given).
    Redact {
        /// Read one JSON document (field rules apply to its keys) instead of lines of text.
        #[arg(long)]
        json: bool,
        /// Print, instead of the redacted text, one line per change: where, the matched text,
        /// the rule, the action and why (the check that passed, or the phone word found).
        #[arg(long)]
        explain: bool,
    },
    /// Serve the log over HTTP: ingest, queries, proofs, verification, with API tokens and
    /// roles; every read is itself logged. Stops on SIGTERM or Ctrl-C after committing
    /// everything accepted.
    Serve(ServeArgs),
    /// Measure `aiaudit serve` under load: batched ingest, single POSTs at a fixed rate,
    /// queries by id (a server child process, the load from this one).
    BenchHttp(BenchHttpArgs),
    /// Measure the reports and the dashboard's first page over a large log.
    BenchReports {
        /// Predictions in the log.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Directory for the benchmark's files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Runs of each report measurement (medians are reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        runs: u32,
    },
    /// Measure the shared parts: PostgreSQL ingest next to a plain COPY of the same rows, and
    /// NATS JetStream to commit (against the local servers).
    BenchScale {
        /// Predictions for the PostgreSQL ingest.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Messages for NATS → commit.
        #[arg(long, default_value_t = 200_000)]
        nats_events: u64,
        /// The PostgreSQL database (a schema bench_<pid> is made and dropped).
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/test")]
        pg: String,
        /// The NATS server (a stream bench<pid> is made and deleted).
        #[arg(long, default_value = "nats://127.0.0.1:4222")]
        nats: String,
    },
    /// Manage the server's API tokens (stored only as hashes in <db>.tokens).
    Token {
        /// A server configuration (aiaudit.toml) naming the log and token file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The sinks and alert rules of a configuration: each one's delivered-up-to cursor, the
    /// log's size, the lag between them and the last delivery error.
    Sinks {
        /// The configuration (aiaudit.toml) with the [[sinks]] and [[alerts]] arrays.
        #[arg(long, value_name = "FILE")]
        config: PathBuf,
        #[command(subcommand)]
        command: SinksCommand,
    },
    /// A compliance report: usage (a model's predictions), access (a user's requests, GDPR
    /// Art. 15), operations (trails), integrity (verification, checkpoint, verifier key) or
    /// ai-act (EU AI Act record keeping), as JSON, Markdown or a self-contained HTML page.
    Report {
        #[command(subcommand)]
        kind: ReportKind,
        /// Output format: json, md, or html (one file with inline CSS and SVG charts).
        #[arg(long, value_enum, default_value = "md", global = true)]
        format: ReportFormat,
        /// Language of the md and html text and of their numbers and dates: en, de or fr.
        #[arg(long, default_value = "en", env = "AIAUDIT_LANG", global = true)]
        lang: String,
        /// Write the report to this file instead of standard output.
        #[arg(long, short, value_name = "FILE", global = true)]
        output: Option<PathBuf>,
    },
    /// Log a realistic ML pipeline (ingestion to 10,000 predictions), verify it, summarise.
    Demo {
        /// Number of predictions.
        #[arg(long, default_value_t = 10_000)]
        predictions: u64,
    },
    /// Measure ingest, hot path, verify and proof speed side by side.
    Bench {
        /// Events for the ingest, verify and proof measurements.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Directory for the benchmark's files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Alternating rounds of the ingest and raw-append measurements (medians are reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=9))]
        rounds: u32,
    },
}

#[derive(Debug, Args)]
pub struct BenchHttpArgs {
    /// Events for the batched ingest (1,000 per request).
    #[arg(long, default_value_t = 300_000)]
    pub batched_events: u64,
    /// Offered rate of single-event POSTs, per second.
    #[arg(long, default_value_t = 5_000)]
    pub rate: u64,
    /// Seconds of single-event POSTs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Queries by id.
    #[arg(long, default_value_t = 20_000)]
    pub queries: u64,
    /// Concurrent connections for the batched ingest.
    #[arg(long, default_value_t = 8)]
    pub connections: usize,
    /// Concurrent connections for the queries by id.
    #[arg(long, default_value_t = 2)]
    pub query_connections: usize,
    /// GenAI spans for the OTLP ingest (1,000 per request).
    #[arg(long, default_value_t = 300_000)]
    pub otlp_spans: u64,
    /// Directory for the server's log (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A configuration file: a [server] table (listen, db, tokens, tls_cert, tls_key, limits,
    /// open_health, open_metrics, statuses) and optionally a [redaction] table.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:7878; port 0 picks a free port).
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// TLS certificate chain (PEM); with --tls-key, serves HTTPS.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Also consume events from NATS JetStream (`nats://127.0.0.1:4222`): stream AIAUDIT,
    /// subjects aiaudit.events.>, durable consumer aiaudit-writer; each message is acknowledged
    /// once its events are committed.
    #[arg(long, value_name = "NATS_URL")]
    pub ingest: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ReportKind {
    /// Seed 003's model usage report: predictions, users, distribution, versions, latency.
    Usage {
        /// The model.
        #[arg(long)]
        model: String,
        /// Days back from now.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Seed 003's data access report for a user (GDPR Art. 15).
    Access {
        /// The user.
        #[arg(long)]
        user: String,
        /// Days back from now.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=36500))]
        days: u32,
    },
    /// Every operation or trail with its events, statuses, duration and regulations.
    Operations {
        /// Only events since this time: RFC 3339, a date (UTC), or an age such as 7d, 12h or 2w.
        #[arg(long)]
        since: Option<String>,
        /// Events listed per operation (at most 1000).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(0..=1000))]
        events: u64,
    },
    /// Verification result, latest signed checkpoint, verifier key, how to check offline.
    Integrity,
    /// EU AI Act record keeping (Art. 12, 19, 26): periods of use, models and versions,
    /// reference data, people who verified results, incidents, six-month coverage.
    AiAct {
        /// Only events since this time: RFC 3339, a date (UTC), or an age such as 7d, 12h or 2w.
        #[arg(long)]
        since: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum SinksCommand {
    /// One line a sink: name, kind, delivered, log size, lag, last update, last error.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as a hash.
    Create {
        /// ingest (write events), read (query), audit (proofs, verify, access log), admin.
        #[arg(long)]
        role: String,
        /// A name for people, unique among active tokens.
        #[arg(long)]
        name: String,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by id or name; it stops working on the server's next request.
    Revoke {
        /// The token's id or name.
        token: String,
    },
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Send the event to a server (`aiaudit serve`) instead of the local log.
    #[arg(long, env = "AIAUDIT_SERVER", value_name = "URL")]
    pub server: Option<String>,
    /// The API token for --server (role ingest).
    #[arg(long, env = "AIAUDIT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// A CA certificate (PEM) to trust for an https:// server.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
    /// The event's name (the human message).
    pub name: String,
    /// Status: DEBUG, INFO, NOTICE, WARNING, ERROR, FAILURE, CRITICAL.
    #[arg(long, default_value = "INFO")]
    pub status: String,
    /// Event type (model_inference, data_access, … or any word).
    #[arg(long = "type", default_value = "event")]
    pub kind: String,
    /// A detail as key=value; the value is read as JSON when it parses, else as text.
    #[arg(long = "detail", value_name = "KEY=VALUE")]
    pub details: Vec<String>,
    /// Details as one JSON object.
    #[arg(long, value_name = "JSON")]
    pub details_json: Option<String>,
    /// The acting user.
    #[arg(long)]
    pub user: Option<String>,
    /// The model as NAME or NAME@VERSION.
    #[arg(long)]
    pub model: Option<String>,
    /// The data subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// The operation (run) id.
    #[arg(long)]
    pub operation: Option<String>,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// Event type.
    #[arg(long = "type")]
    pub kind: Option<String>,
    /// Status.
    #[arg(long)]
    pub status: Option<String>,
    /// Model name.
    #[arg(long)]
    pub model: Option<String>,
    /// Acting user.
    #[arg(long)]
    pub user: Option<String>,
    /// Operation id or name.
    #[arg(long)]
    pub operation: Option<String>,
    /// Data subject.
    #[arg(long)]
    pub subject: Option<String>,
    /// Predictions made for this exact input: the SHA-256 of its canonical JSON (input_hash).
    #[arg(long)]
    pub input_hash: Option<String>,
    /// Events reading this artifact: `kind:name[@version]`, `name@version` (a model version)
    /// or a dataset's name.
    #[arg(long)]
    pub uses: Option<String>,
    /// Events making this artifact, written as for --uses.
    #[arg(long)]
    pub makes: Option<String>,
    /// From this time: RFC 3339, a date (2026-11-24) or an age (7d, 12h, 30m).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this time (a date means the end of that day).
    #[arg(long)]
    pub until: Option<String>,
    /// At most this many events (0: all).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    /// Newest first.
    #[arg(long)]
    pub desc: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// CSV cells exactly as logged: without the leading `'` that keeps a cell beginning with
    /// `=`, `+`, `-`, `@`, a tab or a carriage return from running as a spreadsheet formula
    /// (for programs that parse the file).
    #[arg(long)]
    pub raw_csv: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum LineageFormat {
    Table,
    Json,
    Dot,
    Mermaid,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum SubjectFormat {
    Json,
    Md,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ShowFormat {
    Pretty,
    Json,
}
