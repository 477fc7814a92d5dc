//! Prometheus metrics, served as text at `/metrics`.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;

type Labels = Vec<(String, String)>;

/// The server's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    ingested: Counter,
    committed: Counter,
    queue_depth: Gauge,
    log_size: Gauge,
    writer_state: Gauge,
    verify_ok: Gauge,
    verify_first_bad_seq: Gauge,
    batch_size: Histogram,
    commit_latency: Histogram,
    verify_runs: Family<Labels, Counter>,
    auth_failures: Family<Labels, Counter>,
    requests: Family<Labels, Counter>,
    nats: Family<Labels, Counter>,
    connections_refused: Family<Labels, Counter>,
    connections_open: Gauge,
    witness_size: Family<Labels, Gauge>,
    witness_lag: Family<Labels, Gauge>,
    witness_failures: Family<Labels, Counter>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let m = Metrics {
            registry: Mutex::new(Registry::with_prefix("aiaudit")),
            ingested: Counter::default(),
            committed: Counter::default(),
            queue_depth: Gauge::default(),
            log_size: Gauge::default(),
            writer_state: Gauge::default(),
            verify_ok: Gauge::default(),
            verify_first_bad_seq: Gauge::default(),
            batch_size: Histogram::new(exponential_buckets(1.0, 4.0, 9)),
            commit_latency: Histogram::new(exponential_buckets(0.000_125, 2.0, 16)),
            verify_runs: Family::default(),
            auth_failures: Family::default(),
            requests: Family::default(),
            nats: Family::default(),
            connections_refused: Family::default(),
            witness_size: Family::default(),
            witness_lag: Family::default(),
            witness_failures: Family::default(),
            connections_open: Gauge::default(),
        };
        m.verify_ok.set(-1);
        m.verify_first_bad_seq.set(-1);
        {
            let mut r = m.registry.lock().unwrap_or_else(|p| p.into_inner());
            r.register(
                "events_ingested",
                "Events accepted over HTTP",
                m.ingested.clone(),
            );
            r.register(
                "events_committed",
                "Events committed to the log by this process",
                m.committed.clone(),
            );
            r.register(
                "queue_depth",
                "Messages waiting for the writer",
                m.queue_depth.clone(),
            );
            r.register("log_size", "Entries in the log", m.log_size.clone());
            r.register(
                "verify_intact",
                "The last scheduled verification: 1 intact, 0 damage found (-1 before the first)",
                m.verify_ok.clone(),
            );
            r.register(
                "verify_first_bad_seq",
                "The first bad seq the last scheduled verification named (-1: none)",
                m.verify_first_bad_seq.clone(),
            );
            r.register(
                "writer_state",
                "The writer: 0 running, 1 retrying a commit through an outage, 2 stopped",
                m.writer_state.clone(),
            );
            r.register(
                "commit_batch_size",
                "Entries per committed batch",
                m.batch_size.clone(),
            );
            r.register_with_unit(
                "commit_latency",
                "Time to append and fsync one batch with its checkpoint",
                prometheus_client::registry::Unit::Seconds,
                m.commit_latency.clone(),
            );
            r.register(
                "verify_runs",
                "Verifications run, by result (intact, damaged, error)",
                m.verify_runs.clone(),
            );
            r.register(
                "auth_failures",
                "Requests refused by authentication or role (missing, malformed, invalid, forbidden)",
                m.auth_failures.clone(),
            );
            r.register(
                "nats_messages",
                "NATS ingest messages not written, by reason (refused: not a valid event; duplicate: delivered again after its commit; failed: a commit failed and the consumer stopped)",
                m.nats.clone(),
            );
            r.register(
                "connections_open",
                "HTTP connections open now",
                m.connections_open.clone(),
            );
            r.register(
                "connections_refused",
                "Connections or requests cut off by a limit (per_address, total, header_timeout, idle_timeout, write_stall, body_timeout, body_budget)",
                m.connections_refused.clone(),
            );
            r.register(
                "witness_cosigned_size",
                "The largest tree size each configured witness cosigned",
                m.witness_size.clone(),
            );
            r.register(
                "witness_lag",
                "Entries of the latest checkpoint beyond what each witness cosigned",
                m.witness_lag.clone(),
            );
            r.register(
                "witness_failures",
                "Rounds in which a witness was down, answered nonsense, or refused",
                m.witness_failures.clone(),
            );
            r.register(
                "http_requests",
                "HTTP requests answered, by method and status class",
                m.requests.clone(),
            );
        }
        m
    }

    /// A witness holds `cosigned` of a log whose latest checkpoint is `size`; `failed` says
    /// why this round did not get a cosignature.
    pub fn witness(&self, name: &str, cosigned: u64, size: u64, failed: Option<&str>) {
        let l = vec![("witness".to_owned(), name.to_owned())];
        let g = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.witness_size.get_or_create(&l).set(g(cosigned));
        self.witness_lag
            .get_or_create(&l)
            .set(g(size.saturating_sub(cosigned)));
        if failed.is_some() {
            self.witness_failures.get_or_create(&l).inc();
        }
    }

    /// `n` events accepted over HTTP.
    pub fn ingested(&self, n: usize) {
        self.ingested.inc_by(n as u64);
    }

    /// A NATS message refused as invalid (terminated, never redelivered).
    pub fn nats_refused(&self) {
        self.nats_count("refused");
    }

    /// A NATS message delivered again whose events were already committed.
    pub fn nats_duplicate(&self) {
        self.nats_count("duplicate");
    }

    /// The NATS consumer stopped after a failed commit.
    pub fn nats_failed(&self) {
        self.nats_count("failed");
    }

    fn nats_count(&self, reason: &str) {
        self.nats
            .get_or_create(&vec![("reason".to_owned(), reason.to_owned())])
            .inc();
    }

    /// A batch committed (called by the writer).
    pub fn committed(&self, stats: aiaudit::CommitStats) {
        self.committed.inc_by(stats.entries as u64);
        self.batch_size.observe(stats.entries as f64);
        self.commit_latency.observe(stats.elapsed.as_secs_f64());
        self.log_size
            .set(i64::try_from(stats.size).unwrap_or(i64::MAX));
    }

    /// A scheduled verification's outcome: intact, or the first bad seq (if one is named).
    pub fn scheduled_verify(&self, intact: bool, first_bad: Option<u64>) {
        self.verify_ok.set(i64::from(intact));
        self.verify_first_bad_seq
            .set(first_bad.map_or(-1, |s| i64::try_from(s).unwrap_or(i64::MAX)));
    }

    /// A verification's result.
    pub fn verify_result(&self, result: &str) {
        self.verify_runs
            .get_or_create(&vec![("result".into(), result.into())])
            .inc();
    }

    /// A refused request.
    pub fn auth_failure(&self, reason: &str) {
        self.auth_failures
            .get_or_create(&vec![("reason".into(), reason.into())])
            .inc();
    }

    /// A connection or request cut off by one of the server's limits.
    pub fn connection_refused(&self, reason: &str) {
        self.connections_refused
            .get_or_create(&vec![("reason".into(), reason.into())])
            .inc();
    }

    /// The gauge of open connections, for the connection slots to keep.
    pub(crate) fn connections_open(&self) -> Gauge {
        self.connections_open.clone()
    }

    /// A request answered.
    pub fn request(&self, method: &str, status: u16) {
        let class = format!("{}xx", status / 100);
        self.requests
            .get_or_create(&vec![
                ("method".into(), method.into()),
                ("status".into(), class),
            ])
            .inc();
    }

    /// The text exposition, with the queue depth and log size read now.
    pub fn render(&self, queue_depth: usize, size: u64, writer_state: u8) -> String {
        self.queue_depth
            .set(i64::try_from(queue_depth).unwrap_or(i64::MAX));
        self.writer_state.set(i64::from(writer_state));
        self.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        let mut out = String::new();
        let r = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        if encode(&mut out, &r).is_err() {
            out.clear();
        }
        out
    }
}
