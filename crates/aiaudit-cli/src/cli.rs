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
    /// Sign checkpoints with this command instead of a key file (the key stays where the
    /// command keeps it: an HSM, a KMS): `CMD public-key` prints the verifier key, `CMD sign`
    /// signs standard input; words split at spaces.
    #[arg(
        long,
        global = true,
        env = "AIAUDIT_SIGNING_COMMAND",
        value_name = "COMMAND",
        conflicts_with = "signing_key"
    )]
    pub signing_command: Option<String>,
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
        /// A trust policy (c2sp.org/tlog-policy: the log's key and the witnesses' quorum) the
        /// --against checkpoint must satisfy; its log key is the key trusted.
        #[arg(
            long,
            value_name = "POLICY_FILE",
            requires = "against",
            conflicts_with = "key"
        )]
        policy: Option<PathBuf>,
        /// Only the check a writer runs before it extends the log, in bounded time: the head
        /// against the latest signed checkpoint and the last 8,192 records against their leaf
        /// hashes.
        #[arg(long, conflicts_with = "against")]
        quick: bool,
        /// Also fetch every archived file and check each of its rows against its leaf hash
        /// (by default archived records are checked through their signed manifests).
        #[arg(long, conflicts_with = "quick")]
        archive: bool,
    },
    /// Move records older than AGE to Parquet files on object storage, each with a manifest
    /// the log's key signs; the log keeps every leaf and tree hash, so every proof still
    /// checks, and reads of those records fetch them from the archive.
    Archive {
        /// Records sealed longer ago than this: 365d, 26w, 12h, 90m or 30s.
        #[arg(long, value_name = "AGE", value_parser = crate::age::parse_age)]
        older_than: std::time::Duration,
        /// file:///dir, s3://bucket/prefix, gs://bucket/prefix or az://container/prefix
        /// (credentials as each cloud's SDK finds them; AWS_ENDPOINT_URL for another S3).
        #[arg(long, value_name = "URL")]
        to: String,
        /// Archive younger than six months (EU AI Act Art. 19, 26(6)); the reason is logged.
        #[arg(long, value_name = "REASON")]
        force: Option<String>,
    },
    /// Delete from object storage the archived files whose every record is older than AGE
    /// (the retention policy's end): the deletion is logged first, the manifests and every
    /// leaf and tree hash stay, so every proof still checks; reads of those records say when
    /// they were deleted.
    DeleteArchives {
        /// Files whose every record was sealed longer ago than this: 3650d, 520w, …
        #[arg(long, value_name = "AGE", value_parser = crate::age::parse_age)]
        older_than: std::time::Duration,
        /// Delete archives younger than six months (EU AI Act Art. 19, 26(6)); the reason is
        /// logged.
        #[arg(long, value_name = "REASON")]
        force: Option<String>,
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
    /// The log's signing key: rotate to a new one (both sign during the transition), retire
    /// the old one, or list every key with the checkpoint sizes it is valid for.
    Key {
        #[command(subcommand)]
        cmd: KeyCommand,
    },
    /// A witness (c2sp.org/tlog-witness): make its key, run it, or show this log's latest
    /// checkpoint to one and print it cosigned.
    Witness {
        #[command(subcommand)]
        cmd: WitnessCommand,
    },
    /// Export the log for other tools: `export tiles DIR`, or `export --format openlineage`
    /// (or jsonl) with the filters of `query`.
    #[command(args_conflicts_with_subcommands = true)]
    Export {
        #[command(subcommand)]
        what: Option<ExportWhat>,
        #[command(flatten)]
        args: ExportArgs,
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
        #[arg(long, conflicts_with = "checkpoint")]
        size: Option<u64>,
        /// Prove against this checkpoint of the log, as kept with its witnesses' cosignatures
        /// (from `aiaudit witness submit`), so that the proof carries them.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
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
        /// The log's verifier key (name+keyid+base64), or a file of them; repeat it for a key
        /// set (a rotated log's keys): the checkpoint must be signed by one of them.
        #[arg(long, required_unless_present = "policy")]
        key: Vec<String>,
        /// A trust policy (c2sp.org/tlog-policy): the log's key and the quorum of witnesses
        /// whose cosignatures the proof's checkpoint must carry.
        #[arg(long, value_name = "POLICY_FILE", conflicts_with = "key")]
        policy: Option<PathBuf>,
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
    /// Measure a witness: add-checkpoint requests per second, each a new checkpoint with its
    /// consistency proof, over HTTP from one client per log and in-process.
    BenchWitness {
        /// Logs submitting at once.
        #[arg(long, default_value_t = 8)]
        logs: usize,
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// Measure `aiaudit serve` under load: batched ingest, single POSTs at a fixed rate,
    /// queries by id (a server child process, the load from this one).
    BenchHttp(BenchHttpArgs),
    /// Measure archiving 90% of a log to file://: the rate, Parquet bytes per event, the
    /// database after against before, and a query of an archived range against the active one.
    BenchArchive {
        /// Predictions in the log.
        #[arg(long, default_value_t = 1_000_000)]
        events: u64,
        /// Directory for the benchmark's files (default: a temporary directory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Runs of each query measurement (medians are reported).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=20))]
        runs: u32,
    },
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
    /// Instead of the full run: batched ingest into a server without witnesses and into one
    /// with this many witness processes cosigning every second, side by side.
    #[arg(long, default_value_t = 0)]
    pub witnesses: usize,
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
    /// A model version's lineage: the datasets, code and runs it came from, its evaluations,
    /// deployments and predictions, a graph, and every event proven against the latest signed
    /// checkpoint.
    Lineage {
        /// The model version, as NAME@VERSION (credit-risk@2.3.0).
        #[arg(long, value_name = "NAME@VERSION")]
        model: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Md,
    Html,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new signing key beside the key file (DB.next.key, mode 0600) and record it in the
    /// log, signed by the old key and the new: from then on every checkpoint carries both
    /// signatures. Stop other writers of the log first (docs/key-rotation.md).
    Rotate,
    /// End the transition: record the old key's retirement, signed by the new key alone; the
    /// new key takes the key file's place and the old one moves to DB.retired-<id>.key.
    Retire,
    /// Every key the log has had, with the checkpoint sizes each is valid for.
    List {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WitnessCommand {
    /// Make a witness key: the private key goes to --key (mode 0600, never overwritten), the
    /// verifier key to standard output.
    Init {
        /// The witness's name, e.g. witness.example.org/w1.
        #[arg(long)]
        name: String,
        /// Where to write the private key.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Print a witness key's verifier key.
    VerifierKey {
        /// The private key file.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
    },
    /// Run a witness: POST /add-checkpoint cosigns a checkpoint of a configured log once its
    /// signature and the consistency with the last one cosigned verify; state kept in --state.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: String,
        /// The witness's private key (from `aiaudit witness init`).
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The logs to witness: `[[log]]` tables with a `vkey` each.
        #[arg(long, value_name = "FILE")]
        logs: PathBuf,
        /// The witness's state (SQLite; created if missing). Losing it means retiring the key.
        #[arg(long, value_name = "FILE", default_value = "witness.db")]
        state: PathBuf,
    },
    /// Show this log's latest checkpoint to a witness and print it with the cosignature.
    Submit {
        /// The witness's URL (its submission prefix).
        #[arg(long)]
        url: String,
        /// The witness's verifier key: its cosignature must verify with it.
        #[arg(long, value_name = "VKEY")]
        witness_key: String,
        /// Write the cosigned checkpoint here instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
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
    #[command(flatten)]
    pub filter: FilterArgs,
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

/// Which records: the filters `query` and `export` share.
#[derive(Debug, clap::Args)]
pub struct FilterArgs {
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
}

/// What `export` writes, when it is not a subcommand.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// openlineage: one OpenLineage RunEvent (spec 2-0-2) per line for every record with
    /// lineage, each with its inclusion proof in the `aiaudit_proof` run facet; jsonl: every
    /// record exactly as sealed, one per line; cloudevents: one CloudEvents 1.0 JSON event per
    /// record; parquet: the archive's columns (docs/format.md §13.2), to a file or --to.
    #[arg(long, value_enum)]
    pub format: Option<ExportFormat>,
    /// Write the export as this object (file:///dir/name, s3://bucket/key, gs://…, az://…)
    /// instead of standard output.
    #[arg(long, value_name = "URL", conflicts_with = "output")]
    pub to: Option<String>,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Write to this file (written whole, then renamed into place) instead of standard output.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ExportFormat {
    Openlineage,
    Jsonl,
    Cloudevents,
    Parquet,
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
