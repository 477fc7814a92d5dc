//! `aiaudit archive`: records older than a cutoff to Parquet on object storage (docs/format.md
//! §13).

use std::time::Duration;

use aiaudit::Durability;
use aiaudit::archive::{ArchiveOptions, DeleteOptions, archive, delete_archives};
use anyhow::{Context, Result, bail};

use crate::cli::Cli;
use crate::proofs::progress_bar;

pub fn run(cli: &Cli, older_than: Duration, to: &str, force: Option<&str>) -> Result<()> {
    if force.is_some_and(|r| r.trim().is_empty()) {
        bail!("--force needs a reason, which the archive event records");
    }
    let logger = crate::write::logger_builder(cli, Durability::Sync)?
        .open()
        .context("opening the log for writing")?;
    let mut opts = ArchiveOptions::new(older_than, to);
    opts.force_reason = force.map(str::to_owned);
    let bar = progress_bar(logger.committed(), "archiving");
    let result = archive(&logger, &opts, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    let closed = logger.close();
    let outcome = result?;
    closed?;
    if outcome.files.is_empty() {
        say!(
            "nothing to archive: no whole bundle of 256 records (on PostgreSQL: no whole partition of bundles) is older than that"
        );
        return Ok(());
    }
    let first = outcome.files.first().map_or(0, |f| f.first_seq);
    let end = outcome.files.last().map_or(0, |f| f.end_seq);
    say!(
        "archived seqs {first}..{} ({} records, {} bytes of Parquet, {:.1} bytes per record) to {to} in {} files; archive event at seq {}",
        end - 1,
        outcome.records,
        outcome.bytes,
        outcome.bytes as f64 / outcome.records.max(1) as f64,
        outcome.files.len(),
        outcome.event_seq.unwrap_or_default()
    );
    for f in &outcome.files {
        say!(
            "  {} (+ manifest) seqs {}..{}",
            f.file,
            f.first_seq,
            f.end_seq - 1
        );
    }
    if let Some(why) = outcome.reclaim_failed {
        say!("the file's space was not given back yet ({why}); the next run gives it back");
    }
    Ok(())
}

pub fn delete(cli: &Cli, older_than: Duration, force: Option<&str>) -> Result<()> {
    if force.is_some_and(|r| r.trim().is_empty()) {
        bail!("--force needs a reason, which the archive event records");
    }
    let logger = crate::write::logger_builder(cli, Durability::Sync)?
        .open()
        .context("opening the log for writing")?;
    let mut opts = DeleteOptions::new(older_than);
    opts.force_reason = force.map(str::to_owned);
    let result = delete_archives(&logger, &opts);
    let closed = logger.close();
    let outcome = result?;
    closed?;
    match (
        outcome.files.first(),
        outcome.files.last(),
        outcome.event_seq,
    ) {
        (Some(first), Some(last), Some(seq)) => {
            say!(
                "deleted the archive of seqs {}..{} ({} records in {} files) under the retention policy; archive event at seq {seq}; their hashes and every proof remain",
                first.first_seq,
                last.end_seq - 1,
                outcome.records,
                outcome.files.len()
            );
            for f in &outcome.files {
                say!("  {} (+ manifest) at {}", f.file, f.url);
            }
        }
        _ => say!("nothing to delete: no archived file holds only records older than that"),
    }
    if !outcome.left.is_empty() {
        bail!(
            "the deletion is recorded, but {} objects could not be removed (rerun `aiaudit delete-archives` to remove them):\n  {}",
            outcome.left.len(),
            outcome.left.join("\n  ")
        );
    }
    Ok(())
}
