//! `aiaudit bench-reports`: the reports and the dashboard over a large log, measured side by
//! side with the bare read they cannot beat.

use aiaudit::reports;
use aiaudit::{AuditLogger, Durability, LogReader, Query};
use aiaudit_core::report::Report;
use aiaudit_core::timefmt::now_ns;
use aiaudit_report::{Context, Lang};
use aiaudit_server::{Server, ServerConfig};
use aiaudit_sqlite::TokenFile;
use anyhow::{Context as _, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::{bench_dir, median, remove_log};
use crate::demo::Rng;

/// The median of `runs` timings of `f`, in seconds.
fn time<T>(runs: usize, mut f: impl FnMut() -> Result<T>) -> Result<(f64, T)> {
    let mut secs = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f()?);
        secs.push(t.elapsed().as_secs_f64());
    }
    let out = last.context("no runs")?;
    Ok((median(&mut secs), out))
}

fn build(db: &Path, events: u64) -> Result<f64> {
    remove_log(db);
    let log = AuditLogger::builder(db)
        .durability(Durability::Async)
        .open()?;
    let mut rng = Rng::new(99);
    let t = Instant::now();
    // The pipeline the predictions came from, for the lineage figure.
    for e in crate::demo::pipeline_events() {
        log.log(e)?;
    }
    crate::bench::log_predictions(&log, &mut rng, events)?;
    log.close()?;
    Ok(t.elapsed().as_secs_f64())
}

pub fn run(events: u64, dir: Option<&Path>, runs: usize) -> Result<()> {
    let dir = bench_dir(dir)?;
    let db = dir.join("reports.db");
    say!(
        "aiaudit bench-reports: {events} predictions of one model, medians of {runs} runs, files in {}",
        dir.display()
    );
    let secs = build(&db, events)?;
    say!("    log built in {secs:.1}s");

    let reader = LogReader::open(&db)?;
    let now = now_ns();
    // The floor: reading the same rows from SQLite on one thread, without parsing them.
    let q = Query {
        model: Some("credit-risk".into()),
        since_ns: Some(now - 30 * 86_400 * 1_000_000_000),
        ..Query::default()
    };
    let (bare, n) = time(runs, || {
        let mut n = 0u64;
        reader.candidates(&q, &mut |_| {
            n += 1;
            Ok(true)
        })?;
        Ok(n)
    })?;
    let (usage_secs, value) = time(runs, || {
        Ok(reports::usage(&reader, "credit-risk", 30, now)?)
    })?;
    // The bare read also finds the pipeline's training, evaluation and deployment.
    if value.total_predictions != events || n < events {
        bail!(
            "the usage report counted {} of {events} predictions",
            value.total_predictions
        );
    }
    let value = Report::Usage(value);
    say!(
        "(a) usage report, JSON                   {:>9.3} s   target <= 1 s",
        usage_secs
    );
    say!(
        "    raw read of the same rows, 1 thread  {:>9.3} s   ratio a/raw = {:.2}",
        bare,
        usage_secs / bare
    );
    let ctx = Context::new(Lang::De, reader.info().origin.clone(), now);
    let (html_secs, html) = time(runs, || Ok(aiaudit_report::html(&value, &ctx)?))?;
    say!(
        "    rendering it as HTML (de)            {:>9.3} s   ({} KiB)",
        html_secs,
        html.len() / 1024
    );
    let (act, _) = time(runs, || {
        Ok(reports::ai_act(&reader, &reports::AiActOptions::new(now))?)
    })?;
    say!("    ai-act report over the whole log     {act:>9.3} s");
    let (ops, _) = time(runs, || Ok(reports::operations(&reader, None, 100)?))?;
    say!("    operations report                    {ops:>9.3} s");
    lineage(&reader, events, runs)?;

    dashboard(&db, runs.max(20))
}

/// The lineage of one prediction of version 2.3.0 in the middle of the log, upstream to its
/// deployment, its model's training, evaluation and data (five events): with and without its
/// evidence file.
fn lineage(reader: &LogReader, events: u64, runs: usize) -> Result<()> {
    use aiaudit::lineage::{self, Direction, Evidence, LineageOptions};
    let middle = reader.query(&Query {
        model: Some("credit-risk".into()),
        after_seq: Some(events / 2),
        limit: 20,
        ..Query::default()
    })?;
    let target = middle
        .iter()
        .find(|e| {
            aiaudit_core::RecordHead::parse(&e.data).is_ok_and(|h| {
                h.model
                    .as_ref()
                    .is_some_and(|m| m.version.as_deref() == Some("2.3.0"))
            })
        })
        .map(|e| e.seq.to_string())
        .context("no prediction of version 2.3.0 in the middle of the log")?;
    let opts = LineageOptions {
        direction: Direction::Upstream,
        ..LineageOptions::default()
    };
    let (walk, graph) = time(runs.max(20), || {
        Ok(lineage::lineage(reader, &target, &opts)?)
    })?;
    if graph.events.len() < 5 {
        bail!(
            "the lineage of seq {target} holds {} events, not the pipeline's",
            graph.events.len()
        );
    }
    say!(
        "(l) lineage of one prediction, upstream {:>9.4} s   target <= 0.020 s ({} events, {} links)",
        walk,
        graph.events.len(),
        graph.edges.len()
    );
    let (proved, _) = time(runs.max(20), || {
        let g = lineage::lineage(reader, &target, &opts)?;
        Ok(Evidence::build(reader, &g, &target)?)
    })?;
    say!("    ... with its evidence file           {proved:>9.4} s");
    let now = now_ns();
    let (made, report) = time(runs, || {
        Ok(reports::lineage_report(
            reader,
            "credit-risk",
            "2.3.0",
            now,
        )?)
    })?;
    if !report.evidence.proven || report.predictions.total == 0 {
        bail!("the lineage report of credit-risk@2.3.0 is not proven or counts no predictions");
    }
    say!(
        "    lineage report of credit-risk@2.3.0  {made:>9.4} s   ({} predictions counted, {} events proven)",
        report.predictions.total,
        report.evidence.events_proven
    );
    Ok(())
}

/// The dashboard's first page as a browser loads it: the page, its script and stylesheet,
/// whoami, the newest 50 events and the checkpoint, over one keep-alive connection on
/// loopback. Times are taken at the client, so they bound the server's time from above.
fn dashboard(db: &Path, loads: usize) -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let mut config = ServerConfig::new(db.to_owned());
        config.listen = "127.0.0.1:0".parse()?;
        let server = Server::start(config).await?;
        let (_, token) = TokenFile::open(&server.tokens_path(), true)?.create(
            &format!("bench-{}", now_ns()),
            "audit",
            now_ns(),
        )?;
        let http = reqwest::Client::builder().pool_max_idle_per_host(1).build()?;
        let url = server.url();
        let paths = [
            "/",
            "/assets/dashboard.js",
            "/assets/dashboard.css",
            "/v1/whoami",
            "/v1/events?order=desc&limit=50",
            "/v1/checkpoint",
        ];
        let mut pages = Vec::with_capacity(loads);
        let mut each: Vec<Vec<f64>> = vec![Vec::new(); paths.len()];
        for load in 0..=loads {
            let mut page = Duration::ZERO;
            for (i, p) in paths.iter().enumerate() {
                let t = Instant::now();
                let resp = http.get(format!("{url}{p}")).bearer_auth(&token).send().await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                let took = t.elapsed();
                if !status.is_success() {
                    bail!("{p}: {status} {}", String::from_utf8_lossy(&body));
                }
                // The first load opens the connection and warms the caches; it is not counted.
                if load > 0 {
                    page += took;
                    each[i].push(took.as_secs_f64() * 1e3);
                }
            }
            if load > 0 {
                pages.push(page.as_secs_f64() * 1e3);
            }
        }
        pages.sort_by(f64::total_cmp);
        let p95 = pages[((pages.len() as f64 - 1.0) * 0.95).round() as usize];
        say!(
            "(b) dashboard first page, 6 requests   {:>9.1} ms median, {p95:.1} ms p95   target <= 200 ms",
            median(&mut pages.clone())
        );
        for (p, mut t) in paths.iter().zip(each) {
            say!("      {p:<34} {:>7.2} ms", median(&mut t));
        }
        let t = Instant::now();
        let resp = http
            .get(format!("{url}/v1/reports/usage?model=credit-risk&format=html"))
            .bearer_auth(&token)
            .send()
            .await?;
        let ok = resp.status().is_success();
        let len = resp.bytes().await?.len();
        if !ok {
            bail!("the usage report over HTTP failed");
        }
        say!(
            "    the usage charts over HTTP (html)    {:>9.3} s   ({} KiB)",
            t.elapsed().as_secs_f64(),
            len / 1024
        );
        server.shutdown().await?;
        Ok(())
    })
}
