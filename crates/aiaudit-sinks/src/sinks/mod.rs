//! The destinations. Each sink takes a batch of committed entries — already filtered, in seq
//! order, never empty — and returns `Ok` only once the destination has them durably (fsynced,
//! answered 2xx, acked). A sink never skips or reorders; retrying a failed batch is the
//! dispatcher's job, so a sink may be handed the same entries again (at-least-once: every
//! format carries the event id for receivers to dedupe on).

use std::future::Future;
use std::pin::Pin;

use aiaudit_core::StoredEntry;

use crate::config::{SinkConfig, SinkKind};
use crate::error::Result;

pub mod alerts;
pub mod jsonl;
pub mod nats;
pub mod otlp;
pub mod webhook;

/// A future a sink returns; not `Send`, because each sink runs on its own current-thread runtime.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// A destination for committed entries.
pub trait Sink {
    /// Delivers `batch` (non-empty, ascending seq); `Ok` means the destination has every entry.
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>>;
}

/// Opens the sink `cfg` describes (connects, opens files). Called on the sink's own runtime.
pub async fn open(cfg: &SinkConfig) -> Result<Box<dyn Sink>> {
    Ok(match &cfg.kind {
        SinkKind::Jsonl {
            path,
            max_bytes,
            keep,
        } => Box::new(jsonl::JsonlSink::open(path, *max_bytes, *keep)?),
        SinkKind::Webhook {
            url,
            secret,
            timeout_s,
            headers,
        } => Box::new(webhook::WebhookSink::new(
            url,
            secret.clone(),
            *timeout_s,
            headers,
        )?),
        SinkKind::Otlp {
            url,
            headers,
            service_name,
        } => Box::new(otlp::OtlpSink::new(url, headers, service_name)?),
        SinkKind::Nats { url, subject } => Box::new(nats::NatsSink::connect(url, subject).await?),
        SinkKind::Alerts(spec) => Box::new(alerts::AlertSink::new(&cfg.name, spec.clone())),
    })
}

/// An HTTP client for the webhook and OTLP sinks. https needs a rustls crypto provider; ring is
/// installed unless the process already chose one.
pub(crate) fn http_client(
    url: &str,
    timeout: std::time::Duration,
    headers: &std::collections::BTreeMap<String, String>,
) -> Result<reqwest::Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut map = reqwest::header::HeaderMap::new();
    for (k, v) in headers {
        // Names and values were checked when the config was parsed; a failure here is a bug in
        // the caller that built a config by hand, reported rather than ignored.
        let name = reqwest::header::HeaderName::from_bytes(k.as_bytes());
        let value = reqwest::header::HeaderValue::from_str(v);
        match (name, value) {
            (Ok(n), Ok(v)) => {
                map.insert(n, v);
            }
            _ => {
                return Err(crate::error::Error::Config {
                    sink: url.to_owned(),
                    key: format!("headers.{k}"),
                    problem: "not a valid HTTP header".into(),
                });
            }
        }
    }
    reqwest::Client::builder()
        .timeout(timeout)
        .default_headers(map)
        .build()
        .map_err(|source| crate::error::Error::Http {
            url: url.to_owned(),
            source,
        })
}

/// POSTs a JSON body; 2xx is success, anything else an error carrying the start of the answer.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    body: Vec<u8>,
    extra: &[(&'static str, String)],
) -> Result<()> {
    let mut req = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json");
    for (k, v) in extra {
        req = req.header(*k, v);
    }
    let http = |source| crate::error::Error::Http {
        url: url.to_owned(),
        source,
    };
    let resp = req.body(body).send().await.map_err(http)?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let text = resp.text().await.unwrap_or_default();
    Err(crate::error::Error::HttpStatus {
        url: url.to_owned(),
        status: status.as_u16(),
        body: text.chars().take(200).collect(),
    })
}
