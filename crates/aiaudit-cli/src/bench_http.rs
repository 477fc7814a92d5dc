//! `aiaudit bench-http`: the server's figures under load, measured side by side in one run.
//!
//! Starts `aiaudit serve` (this binary) as a child process over a fresh log on loopback, then
//! drives it from this process:
//! (a) batched ingest, 1,000 events per request, `wait=commit`, several connections; then the
//!     same for OTLP/HTTP protobuf GenAI spans on `/v1/traces`;
//! (b) single-event POSTs offered at a fixed rate (open loop: latency is measured from each
//!     request's scheduled time, so a stall is not hidden by the generator waiting);
//! (c) `GET /v1/events/{id}` for random ids (each also records an access event).

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::demo::Rng;

pub struct Options {
    pub batched_events: u64,
    pub rate: u64,
    pub seconds: u64,
    pub queries: u64,
    pub connections: usize,
    pub query_connections: usize,
    pub otlp_spans: u64,
}

/// Closed-loop POSTs of prepared bodies over several connections.
struct Load {
    http: reqwest::Client,
    url: String,
    token: String,
    content_type: &'static str,
    status: u16,
    connections: usize,
}

impl Load {
    /// Sends `requests` bodies (cycling through `batches`); returns the seconds taken, each
    /// request's latency and the first id of each JSON receipt.
    async fn run(
        self,
        batches: Vec<bytes::Bytes>,
        requests: u64,
    ) -> Result<(f64, Vec<Duration>, Vec<String>)> {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let me = Arc::new(self);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..me.connections {
            let (me, next, batches) = (Arc::clone(&me), Arc::clone(&next), batches.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut ids = Vec::new();
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= requests {
                        break;
                    }
                    let t = Instant::now();
                    let resp = me
                        .http
                        .post(&me.url)
                        .bearer_auth(&me.token)
                        .header("content-type", me.content_type)
                        .body(batches[(n as usize + c) % batches.len()].clone())
                        .send()
                        .await?;
                    let status = resp.status().as_u16();
                    let body = resp.bytes().await?;
                    if status != me.status {
                        bail!(
                            "{} answered {status}: {}",
                            me.url,
                            String::from_utf8_lossy(&body)
                        );
                    }
                    lat.push(t.elapsed());
                    if body.first() == Some(&b'{') {
                        let receipt: serde_json::Value = serde_json::from_slice(&body)?;
                        if let Some(id) = receipt["ids"].get(0).and_then(|v| v.as_str()) {
                            ids.push(id.to_owned());
                        }
                    }
                }
                Ok::<_, anyhow::Error>((lat, ids))
            }));
        }
        let mut lat = Vec::new();
        let mut ids = Vec::new();
        for t in tasks {
            let (l, i) = t.await??;
            lat.extend(l);
            ids.extend(i);
        }
        Ok((started.elapsed().as_secs_f64(), lat, ids))
    }
}

struct ServerProcess {
    child: Child,
    url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start_server(dir: &Path) -> Result<(ServerProcess, String, String)> {
    start_server_on(&dir.join("http-bench.db"), None)
}

/// `aiaudit serve` over `db` (with `config`, whose `[server] db` must name `db`), with an
/// ingest and a read token.
fn start_server_on(db: &Path, config: Option<&Path>) -> Result<(ServerProcess, String, String)> {
    let exe = std::env::current_exe()?;
    let db = db.to_owned();
    let token = |role: &str| -> Result<String> {
        let out = Command::new(&exe)
            .arg("--db")
            .arg(&db)
            .args([
                "token",
                "create",
                "--role",
                role,
                "--name",
                &format!("bench-{role}"),
            ])
            .output()?;
        if !out.status.success() {
            bail!("token create: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    };
    let ingest = token("ingest")?;
    let read = token("read")?;
    let mut cmd = Command::new(&exe);
    match config {
        Some(c) => cmd.arg("serve").arg("--config").arg(c),
        None => cmd
            .arg("--db")
            .arg(&db)
            .args(["serve", "--listen", "127.0.0.1:0"]),
    };
    let mut child = cmd
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting aiaudit serve")?;
    let mut out = BufReader::new(child.stdout.take().context("server stdout")?);
    let mut line = String::new();
    out.read_line(&mut line)?;
    // The child goes on writing to its stdout: keep reading it, or its next line would be a
    // broken pipe that ends it.
    std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .with_context(|| format!("no URL in {line:?}"))?
        .to_owned();
    Ok((ServerProcess { child, url }, ingest, read))
}

/// One realistic prediction event as JSON text: its operation is the request (unique per
/// event, as `log()` in Python makes it) or, with `per_run`, a batch run of 10,000 events.
fn event_json(rng: &mut Rng, i: u64, per_run: bool) -> String {
    let op = if per_run {
        format!("run-{}", i / 10_000)
    } else {
        format!("req-{i}")
    };
    let models = ["credit-risk", "fraud-detector", "churn"];
    let m = models[(rng.next_u64() % 3) as usize];
    format!(
        r#"{{"type":"model_inference","name":"prediction served","model":{{"name":"{m}","version":"2.{}.0"}},"actor":{{"user":"user-{}"}},"operation":{{"id":"{op}"}},"details":{{"input_hash":"{:016x}{:016x}","prediction":{:.4},"latency_ms":{:.2},"features":{{"age":{},"income":{},"region":"eu-west"}}}}}}"#,
        rng.next_u64() % 4,
        rng.next_u64() % 500,
        rng.next_u64(),
        rng.next_u64(),
        rng.unit(),
        1.0 + rng.unit() * 40.0,
        18 + rng.next_u64() % 60,
        20_000 + rng.next_u64() % 100_000
    )
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

/// Batched ingest (1,000 events per request, `wait=commit`) of `events` to `url`, with an
/// operation per event or (`per_run`) per run of 10,000: events/s, the sorted request
/// latencies, and the ids the server gave.
#[allow(clippy::too_many_arguments)]
fn batched(
    rt: &tokio::runtime::Runtime,
    http: &reqwest::Client,
    url: &str,
    token: &str,
    events: u64,
    connections: usize,
    per_run: bool,
    rng: &mut Rng,
) -> Result<(f64, Vec<Duration>, Vec<String>)> {
    let batches: Vec<bytes::Bytes> = (0..8)
        .map(|b| {
            let events: Vec<String> = (0..1_000)
                .map(|i| event_json(rng, b * 1_000 + i, per_run))
                .collect();
            bytes::Bytes::from(format!("[{}]", events.join(",")))
        })
        .collect();
    let requests = events.div_ceil(1_000);
    let load = Load {
        http: http.clone(),
        url: format!("{url}/v1/events?wait=commit"),
        token: token.to_owned(),
        content_type: "application/json",
        status: 201,
        connections,
    };
    let (secs, mut lat, ids) = rt.block_on(load.run(batches, requests))?;
    lat.sort();
    Ok(((requests * 1_000) as f64 / secs, lat, ids))
}

/// `bench-http --witnesses N`: batched ingest into a server without witnesses and into one
/// showing every checkpoint to `n` witness processes each second, in alternating rounds.
pub fn witnessed(dir: Option<&Path>, o: &Options, n: usize) -> Result<()> {
    let tmp = tempfile_dir(dir)?;
    let exe = std::env::current_exe()?;
    let plain_db = tmp.join("plain.db");
    let witnessed_db = tmp.join("witnessed.db");
    let out = Command::new(&exe)
        .arg("--db")
        .arg(&witnessed_db)
        .args(["init"])
        .output()?;
    if !out.status.success() {
        bail!("init: {}", String::from_utf8_lossy(&out.stderr));
    }
    let vkey = String::from_utf8_lossy(
        &Command::new(&exe)
            .arg("--db")
            .arg(&witnessed_db)
            .arg("verifier-key")
            .output()?
            .stdout,
    )
    .trim()
    .to_owned();
    let mut witnesses = Vec::new();
    let mut config = format!(
        "[server]\ndb = \"{}\"\nlisten = \"127.0.0.1:0\"\nwitness_every = \"1s\"\n",
        witnessed_db.display()
    );
    for i in 0..n {
        let key = tmp.join(format!("w{i}.key"));
        let _ = std::fs::remove_file(&key);
        let out = Command::new(&exe)
            .args([
                "witness",
                "init",
                "--name",
                &format!("bench.example/w{i}"),
                "--key",
            ])
            .arg(&key)
            .output()?;
        if !out.status.success() {
            bail!("witness init: {}", String::from_utf8_lossy(&out.stderr));
        }
        let wkey = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let logs = tmp.join(format!("w{i}.logs.toml"));
        std::fs::write(&logs, format!("[[log]]\nvkey = \"{vkey}\"\n"))?;
        let mut child = Command::new(&exe)
            .args(["witness", "serve", "--listen", "127.0.0.1:0", "--key"])
            .arg(&key)
            .arg("--logs")
            .arg(&logs)
            .arg("--state")
            .arg(tmp.join(format!("w{i}.db")))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut out = BufReader::new(child.stdout.take().context("witness stdout")?);
        let mut line = String::new();
        out.read_line(&mut line)?;
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .with_context(|| format!("no URL in {line:?}"))?
            .to_owned();
        config.push_str(&format!(
            "\n[[witnesses]]\nname = \"w{i}\"\nurl = \"{url}\"\nvkey = \"{wkey}\"\n"
        ));
        witnesses.push(ServerProcess { child, url });
    }
    let config_path = tmp.join("witnessed.toml");
    std::fs::write(&config_path, config)?;
    let (plain, plain_token, _) = start_server_on(&plain_db, None)?;
    let (wit, wit_token, wit_read) = start_server_on(&witnessed_db, Some(&config_path))?;
    say!(
        "aiaudit bench-http --witnesses {n}: batched ingest, {} events per round, plain and witnessed servers alternating",
        o.batched_events
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let mut rng = Rng::new(11);
    let (mut p, mut w) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        for (server, token, rates) in [(&plain, &plain_token, &mut p), (&wit, &wit_token, &mut w)] {
            let (rate, _, _) = batched(
                &rt,
                &http,
                &server.url,
                token,
                o.batched_events,
                o.connections,
                false,
                &mut rng,
            )?;
            rates.push(rate);
        }
    }
    let med = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (pm, wm) = (med(&mut p), med(&mut w));
    say!("    without witnesses                       {pm:>10.0} events/s (median of 3)");
    say!(
        "    with {n} witnesses cosigning every 1 s    {wm:>10.0} events/s   ratio {:.2}   target: within noise",
        wm / pm
    );
    std::thread::sleep(Duration::from_millis(1_500));
    let note = rt.block_on(async {
        http.get(format!("{}/v1/checkpoint?cosigned=true", wit.url))
            .bearer_auth(&wit_read)
            .send()
            .await?
            .text()
            .await
    })?;
    let cosigs = note
        .lines()
        .filter(|l| l.starts_with("\u{2014} bench.example/w"))
        .count();
    say!(
        "    the newest cosigned checkpoint: size {}, {cosigs} of {n} cosignatures",
        note.lines().nth(1).unwrap_or("?")
    );
    drop((plain, wit, witnesses));
    Ok(())
}

pub fn run(dir: Option<&Path>, o: &Options) -> Result<()> {
    let tmp = tempfile_dir(dir)?;
    let (server, ingest, read) = start_server(&tmp)?;
    let url = server.url.clone();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    say!(
        "aiaudit bench-http: server {url} (a child process), load from this process, {cores} cores shared"
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let mut rng = Rng::new(7);

    // (a) batched ingest: request-level operations, then run-level ones.
    let mut a_rates = Vec::new();
    let mut ids = Vec::new();
    for per_run in [false, true] {
        let (a_rate, lat, got) = batched(
            &rt,
            &http,
            &url,
            &ingest,
            o.batched_events,
            o.connections,
            per_run,
            &mut rng,
        )?;
        let a_p99 = pct(&lat, 0.99);
        say!(
            "(a{}) batched ingest, 1,000/request, wait=commit  {a_rate:>10.0} events/s  (p99 {a_p99:.1} ms per request, {} connections; operation per {})  target >= 150,000",
            if per_run { 2 } else { 1 },
            o.connections,
            if per_run { "run of 10,000" } else { "event" }
        );
        a_rates.push(a_rate);
        ids.extend(got);
    }

    // (a3) OTLP/HTTP protobuf: GenAI chat spans, 1,000 per request, answered once committed.
    let span_batches: Vec<bytes::Bytes> = (0..8)
        .map(|b| bytes::Bytes::from(crate::bench_otlp::spans_request(&mut rng, b, 1_000)))
        .collect();
    let requests = o.otlp_spans.div_ceil(1_000);
    let load = Load {
        http: http.clone(),
        url: format!("{url}/v1/traces"),
        token: ingest.clone(),
        content_type: "application/x-protobuf",
        status: 200,
        connections: o.connections,
    };
    let (secs, mut lat, _) = rt.block_on(load.run(span_batches, requests))?;
    lat.sort();
    let (otlp_rate, otlp_p99) = ((requests * 1_000) as f64 / secs, pct(&lat, 0.99));
    say!(
        "(a3) OTLP /v1/traces protobuf, 1,000 GenAI spans/request  {otlp_rate:>7.0} spans/s  (p99 {otlp_p99:.1} ms per request, {} connections; {:.2}x of (a1))  target >= 100,000",
        o.connections,
        otlp_rate / a_rates[0]
    );

    // (b) single-event POSTs at a fixed offered rate.
    let singles: Vec<bytes::Bytes> = (0..1_000)
        .map(|i| bytes::Bytes::from(event_json(&mut rng, i, false)))
        .collect();
    let total = o.rate * o.seconds;
    let (b_rate, b_p50, b_p99, b_errors) = rt.block_on(async {
        let interval = Duration::from_secs_f64(1.0 / o.rate as f64);
        let started = tokio::time::Instant::now();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<Duration, String>>();
        for n in 0..total {
            let due = started + interval * n as u32;
            tokio::time::sleep_until(due).await;
            let (http, url, token, tx) = (http.clone(), url.clone(), ingest.clone(), tx.clone());
            let body = singles[(n % 1_000) as usize].clone();
            tokio::spawn(async move {
                let r = http
                    .post(format!("{url}/v1/events?wait=none"))
                    .bearer_auth(&token)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await;
                let outcome = match r {
                    Ok(resp) if resp.status().as_u16() == 202 => {
                        let _ = resp.bytes().await;
                        Ok(due.elapsed())
                    }
                    Ok(resp) => Err(format!("status {}", resp.status())),
                    Err(e) => Err(e.to_string()),
                };
                let _ = tx.send(outcome);
            });
        }
        drop(tx);
        let mut lat = Vec::with_capacity(total as usize);
        let mut errors = 0u64;
        while let Some(r) = rx.recv().await {
            match r {
                Ok(d) => lat.push(d),
                Err(_) => errors += 1,
            }
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort();
        (
            lat.len() as f64 / secs,
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            errors,
        )
    });
    say!(
        "(b) single-event POSTs offered at {}/s for {}s   {b_rate:>10.0} requests/s  p50 {b_p50:.2} ms  p99 {b_p99:.2} ms  ({b_errors} errors)  target 5,000/s, p99 <= 5 ms",
        o.rate,
        o.seconds
    );

    // (c) query by id.
    if ids.is_empty() {
        bail!("no ids came back from the batched ingest");
    }
    let queries = o.queries;
    let (c_rate, c_p50, c_p99) = rt.block_on(async {
        let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let ids = Arc::new(ids);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for c in 0..o.query_connections {
            let (http, url, token, next, ids) = (
                http.clone(),
                url.clone(),
                read.clone(),
                Arc::clone(&next),
                Arc::clone(&ids),
            );
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut k = c as u64 * 7_919;
                loop {
                    let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if n >= queries {
                        break;
                    }
                    k = k
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    let id = &ids[(k >> 33) as usize % ids.len()];
                    let t = Instant::now();
                    let resp = http
                        .get(format!("{url}/v1/events/{id}"))
                        .bearer_auth(&token)
                        .send()
                        .await?;
                    if resp.status().as_u16() != 200 {
                        bail!("query by id answered {}", resp.status());
                    }
                    let _ = resp.bytes().await?;
                    lat.push(t.elapsed());
                }
                Ok::<_, anyhow::Error>(lat)
            }));
        }
        let mut lat = Vec::new();
        for t in tasks {
            lat.extend(t.await??);
        }
        let secs = started.elapsed().as_secs_f64();
        lat.sort();
        Ok::<_, anyhow::Error>((lat.len() as f64 / secs, pct(&lat, 0.5), pct(&lat, 0.99)))
    })?;
    say!(
        "(c) GET /v1/events/{{id}}, {} connections          {c_rate:>10.0} requests/s  p50 {c_p50:.2} ms  p99 {c_p99:.2} ms  target p99 <= 2 ms",
        o.query_connections
    );
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    say!("summary");
    for (k, a_rate) in a_rates.iter().enumerate() {
        say!(
            "  batched ingest (a{}) {a_rate:.0} events/s vs 150,000: {:.2}x, {}",
            k + 1,
            a_rate / 150_000.0,
            mark(*a_rate >= 150_000.0)
        );
    }
    say!(
        "  OTLP spans (a3) {otlp_rate:.0}/s vs 100,000: {:.2}x, {}",
        otlp_rate / 100_000.0,
        mark(otlp_rate >= 100_000.0)
    );
    say!(
        "  single POSTs {b_rate:.0}/s of {} offered, p99 {b_p99:.2} ms vs 5 ms: {}",
        o.rate,
        mark(b_rate >= 0.98 * o.rate as f64 && b_p99 <= 5.0 && b_errors == 0)
    );
    say!(
        "  query by id p99 {c_p99:.2} ms vs 2 ms: {}",
        mark(c_p99 <= 2.0)
    );
    drop(server);
    if dir.is_none() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    Ok(())
}

fn tempfile_dir(dir: Option<&Path>) -> Result<std::path::PathBuf> {
    let d = match dir {
        Some(d) => d.to_owned(),
        None => std::env::temp_dir().join(format!("aiaudit-bench-http-{}", std::process::id())),
    };
    std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    Ok(d)
}
