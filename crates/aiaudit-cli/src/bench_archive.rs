//! `aiaudit bench-archive`: archiving 90% of a log of benchmark predictions to `file://`,
//! measured side by side with what it is compared with: the rate against the same records
//! read, Parquet bytes against the store's, the file after against before, and a query of an
//! archived time range against the same query before archiving.

use aiaudit::archive::{ArchiveOptions, archive};
use aiaudit::{AuditLogger, Durability, LogReader, Query};
use aiaudit_core::timefmt::now_ns;
use anyhow::{Context, Result, bail};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::bench::{bench_dir, median, remove_log};
use crate::demo::Rng;

fn file_size(db: &Path) -> u64 {
    ["", "-wal"]
        .iter()
        .filter_map(|ext| std::fs::metadata(format!("{}{ext}", db.display())).ok())
        .map(|m| m.len())
        .sum()
}

/// The query measured: one model's predictions in the time range of seqs `[a, b)`.
fn window(r: &LogReader, a: u64, b: u64) -> Result<Query> {
    Ok(Query {
        model: Some("credit-risk".into()),
        since_ns: Some(r.get(a)?.time_ns),
        until_ns: Some(r.get(b - 1)?.time_ns),
        ..Query::default()
    })
}

/// The median seconds of `runs` runs of `q` on a fresh reader each (nothing cached), and the
/// number of records it returned.
fn time_query(db: &Path, q: &Query, runs: usize) -> Result<(f64, usize)> {
    let mut secs = Vec::new();
    let mut n = 0;
    for _ in 0..runs {
        let r = LogReader::open(db)?;
        let t = Instant::now();
        n = r.query(q)?.len();
        secs.push(t.elapsed().as_secs_f64());
    }
    Ok((median(&mut secs), n))
}

pub fn run(events: u64, dir: Option<&Path>, runs: usize) -> Result<()> {
    let dir = bench_dir(dir)?;
    let db = dir.join("bench-archive.db");
    let arch = dir.join("archive");
    remove_log(&db);
    let _ = std::fs::remove_dir_all(&arch);
    let log = AuditLogger::builder(&db)
        .durability(Durability::Async)
        .open()?;
    let mut rng = Rng::new(7);
    crate::bench::log_predictions(&log, &mut rng, events)?;
    log.close()?;
    drop(log);
    let before = file_size(&db);
    say!(
        "aiaudit bench-archive: {events} predictions, archiving 90% to file://{} (medians of {runs} runs)",
        arch.display()
    );

    // The query of a time range that is about to be archived, on the active store.
    let r = LogReader::open(&db)?;
    let q = window(&r, events / 10, events / 10 + events / 20)?;
    let (active_q, active_n) = time_query(&db, &q, runs)?;
    // The same records read from the store, for the archive rate's comparison.
    let cut = events * 9 / 10;
    let t = Instant::now();
    let mut read = 0u64;
    r.store().scan(0, &mut |e| {
        read += 1;
        Ok(e.seq + 1 < cut)
    })?;
    let read_secs = t.elapsed().as_secs_f64();
    let older_than_ns = now_ns() - r.get(cut)?.time_ns;
    drop(r);

    let log = AuditLogger::builder(&db)
        .durability(Durability::Sync)
        .open()?;
    let mut opts = ArchiveOptions::new(
        Duration::from_nanos(older_than_ns.max(0) as u64),
        format!("file://{}", arch.display()),
    );
    opts.force_reason = Some("benchmark".into());
    let t = Instant::now();
    let outcome = archive(&log, &opts, &mut |_, _| {})?;
    let secs = t.elapsed().as_secs_f64();
    log.close()?;
    drop(log);
    if outcome.records < events * 8 / 10 {
        bail!("only {} of {events} records were archived", outcome.records);
    }
    let after = file_size(&db);
    let (archived_q, archived_n) = time_query(&db, &q, runs)?;
    if archived_n != active_n {
        bail!("the query found {active_n} records before archiving and {archived_n} after");
    }
    let rate = outcome.records as f64 / secs;
    say!(
        "(a) archive to file://            {rate:>12.0} events/s   target >= 200000   ({} records, {} files, {secs:.2} s; reading them alone: {:.0}/s)",
        outcome.records,
        outcome.files.len(),
        read as f64 / read_secs
    );
    say!(
        "(b) Parquet per event             {:>12.1} bytes      target <= 100      (store before: {:.1} bytes per event)",
        outcome.bytes as f64 / outcome.records as f64,
        before as f64 / events as f64
    );
    say!(
        "(c) database after ÷ before       {:>12.3}            target <= 0.15     ({before} → {after} bytes)",
        after as f64 / before as f64
    );
    say!(
        "(d) query archived ÷ active       {:>12.2}            target <= 2        ({archived_q:.4} s vs {active_q:.4} s, {active_n} records of one model)",
        archived_q / active_q
    );
    let v = LogReader::open(&db)?
        .verify(&aiaudit::VerifyOptions::default(), &mut |_, _| {})
        .context("verify after archiving")?;
    if !v.is_intact() {
        bail!(
            "the log does not verify after archiving: {:?}",
            v.findings.first()
        );
    }
    Ok(())
}
