//! [`Client`]: one request at a time, retried with backoff.

use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

use crate::{Error, Result};

/// How failed requests are retried: connection failures, timeouts, 429 and 5xx other than
/// 500 (a 500 or any 4xx is the request's own fault and is not retried).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after the first.
    pub retries: u32,
    /// Wait before the first retry; doubled each time.
    pub backoff: Duration,
    /// The longest wait between attempts.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            retries: 6,
            backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// Where the events of one request went.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Receipt {
    /// Events recorded.
    pub count: usize,
    /// Their seqs, in the order sent.
    pub seqs: Vec<u64>,
    /// Their ids.
    pub ids: Vec<String>,
    /// Committed before the answer.
    pub committed: bool,
    /// The committed size, when committed.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A client of one server, with one token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port` or `https://…`).
    pub fn new(base_url: &str, token: &str) -> Result<Self> {
        Self::with_options(base_url, token, None, RetryPolicy::default())
    }

    /// A client trusting `ca_pem` (a PEM certificate) besides the system's roots, with its own
    /// retry policy.
    pub fn with_options(
        base_url: &str,
        token: &str,
        ca_pem: Option<&[u8]>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Config(format!(
                "server URL {base_url:?} must start with http:// or https://"
            )));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .pool_max_idle_per_host(64);
        if let Some(pem) = ca_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| Error::Config(format!("the CA certificate: {e}")))?;
            b = b.tls_certs_merge([cert]);
        }
        let http = b
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Client {
            http,
            base,
            token: token.to_owned(),
            retry,
        })
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Sends events (JSON objects as `POST /v1/events` takes them) in one request; with
    /// `wait_commit`, the answer comes after commit. Retries reuse one idempotency key, so a
    /// batch is never recorded twice however often it is retried.
    pub async fn send(&self, events: &[Value], wait_commit: bool) -> Result<Receipt> {
        let body = serde_json::to_vec(events).map_err(|e| Error::Protocol(e.to_string()))?;
        let key = idempotency_key();
        let url = format!(
            "{}/v1/events{}",
            self.base,
            if wait_commit {
                "?wait=commit"
            } else {
                "?wait=none"
            }
        );
        let resp = self
            .with_retry(&url, || {
                self.http
                    .post(&url)
                    .bearer_auth(&self.token)
                    .header("content-type", "application/json")
                    .header("idempotency-key", &key)
                    .body(body.clone())
            })
            .await?;
        resp.json::<Receipt>()
            .await
            .map_err(|e| Error::Protocol(e.to_string()))
    }

    /// `GET /v1/events` with filters (`type`, `status`, `model`, `user`, `since`, `limit`,
    /// `cursor`, …); returns the page as JSON (`events`, `next_cursor`).
    pub async fn query(&self, filters: &[(&str, &str)]) -> Result<Value> {
        let url = format!("{}/v1/events", self.base);
        let resp = self
            .with_retry(&url, || {
                self.http.get(&url).bearer_auth(&self.token).query(filters)
            })
            .await?;
        json(resp).await
    }

    /// `GET /v1/events/{seq|id}`: `{seq, leaf_hash, record}`.
    pub async fn get(&self, target: &str) -> Result<Value> {
        let url = format!("{}/v1/events/{target}", self.base);
        let resp = self
            .with_retry(&url, || self.http.get(&url).bearer_auth(&self.token))
            .await?;
        json(resp).await
    }

    /// The latest signed checkpoint note.
    pub async fn checkpoint(&self) -> Result<String> {
        let url = format!("{}/v1/checkpoint", self.base);
        let resp = self
            .with_retry(&url, || self.http.get(&url).bearer_auth(&self.token))
            .await?;
        resp.text()
            .await
            .map_err(|e| Error::Protocol(e.to_string()))
    }

    /// An inclusion proof of `seq` (its `bundle` field is the text `aiaudit verify-proof`
    /// checks offline).
    pub async fn inclusion_proof(&self, seq: u64, size: Option<u64>) -> Result<Value> {
        let mut url = format!("{}/v1/proofs/inclusion?seq={seq}", self.base);
        if let Some(s) = size {
            url.push_str(&format!("&size={s}"));
        }
        let resp = self
            .with_retry(&url, || self.http.get(&url).bearer_auth(&self.token))
            .await?;
        json(resp).await
    }

    async fn with_retry(
        &self,
        url: &str,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response> {
        let mut wait = self.retry.backoff;
        let mut attempt = 0;
        loop {
            let outcome = request().send().await;
            let retryable = match &outcome {
                Ok(r) => is_retryable(r.status()),
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if !retryable || attempt >= self.retry.retries {
                return match outcome {
                    Ok(r) if r.status().is_success() => Ok(r),
                    Ok(r) => Err(api_error(r).await),
                    Err(source) => Err(Error::Transport {
                        url: url.to_owned(),
                        source,
                    }),
                };
            }
            attempt += 1;
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(self.retry.max_backoff);
        }
    }
}

fn is_retryable(s: StatusCode) -> bool {
    s == StatusCode::TOO_MANY_REQUESTS
        || s == StatusCode::BAD_GATEWAY
        || s == StatusCode::SERVICE_UNAVAILABLE
        || s == StatusCode::GATEWAY_TIMEOUT
}

async fn json(resp: reqwest::Response) -> Result<Value> {
    resp.json()
        .await
        .map_err(|e| Error::Protocol(e.to_string()))
}

async fn api_error(resp: reqwest::Response) -> Error {
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let field = |k: &str| {
        body.get("error")
            .and_then(|e| e.get(k))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    Error::Api {
        status,
        code: field("code"),
        message: field("message"),
        index: body
            .get("error")
            .and_then(|e| e.get("index"))
            .and_then(Value::as_u64)
            .map(|i| i as usize),
    }
}

/// A random key per batch (128 bits from the process's hasher seeds and the clock).
fn idempotency_key() -> String {
    use std::hash::{BuildHasher, Hasher};
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut parts = [0u64; 2];
    for (i, p) in parts.iter_mut().enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(now);
        h.write_usize(i);
        *p = h.finish();
    }
    format!("{:016x}{:016x}", parts[0], parts[1])
}
