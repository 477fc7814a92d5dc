//! `aiaudit migrate`: copy a log to another store, proofs intact, and verify the copy.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use aiaudit::{LogReader, VerifyOptions};
use aiaudit_core::Store;

/// `sqlite:PATH`, a bare path, or a `postgres://` URL, as the path-or-URL the library takes.
fn address(s: &str) -> PathBuf {
    PathBuf::from(s.strip_prefix("sqlite:").unwrap_or(s))
}

/// Creates the destination store with the source's identity.
fn create(to: &Path, info: &aiaudit_core::LogInfo) -> Result<Box<dyn Store>> {
    Ok(match aiaudit::location::postgres_url(to) {
        Some(url) => {
            if aiaudit_postgres::PostgresStore::exists(url)? {
                bail!(
                    "{} already holds a log: migrate into a new schema",
                    aiaudit::location::display(to)
                );
            }
            Box::new(aiaudit_postgres::PostgresStore::create(url, info)?)
        }
        None => {
            if to.exists() {
                bail!("{} already exists: migrate into a new file", to.display());
            }
            Box::new(aiaudit_sqlite::SqliteStore::create(to, info)?)
        }
    })
}

/// `aiaudit migrate --to-v2`: the v1 log at `db` (a SQLite file or a PostgreSQL schema)
/// converted in place, then verified whole.
pub fn upgrade(db: &Path) -> Result<ExitCode> {
    let started = std::time::Instant::now();
    let bar = crate::proofs::progress_bar(0, "converting");
    let mut progress = |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let (copied, kept) = match aiaudit::location::postgres_url(db) {
        Some(url) => {
            let done = aiaudit::migrate::upgrade_postgres(url, &mut progress);
            bar.finish_and_clear();
            let done =
                done.with_context(|| format!("upgrading {}", aiaudit::location::display(db)))?;
            (done.copied, format!("schema {}", done.kept))
        }
        None => {
            let done = aiaudit::migrate::upgrade_sqlite(db, &mut progress);
            bar.finish_and_clear();
            let done = done.with_context(|| format!("upgrading {}", db.display()))?;
            (done.copied, done.kept.display().to_string())
        }
    };
    say!(
        "converted {} to format v2: {} entries and {} signed checkpoints in {:.1}s; the v1 log is kept as {}",
        aiaudit::location::display(db),
        copied.entries,
        copied.checkpoints,
        started.elapsed().as_secs_f64(),
        kept
    );
    let report = LogReader::open(db)?.verify(&VerifyOptions::default(), &mut |_, _| {})?;
    if !report.is_intact() {
        say!("FAILED: the converted log does not verify");
        for f in &report.findings {
            say!("  {}", f.message);
        }
        return Ok(ExitCode::from(1));
    }
    say!(
        "OK: the converted log verifies ({} entries, {} checkpoints)",
        report.entries,
        report.checkpoints
    );
    Ok(ExitCode::SUCCESS)
}

pub fn run(from: &str, to: &str, signing_key: Option<&Path>) -> Result<ExitCode> {
    let (from, to) = (address(from), address(to));
    let source = LogReader::open(&from)
        .with_context(|| format!("opening {}", aiaudit::location::display(&from)))?;
    let mut dest = create(&to, source.info())?;
    let started = std::time::Instant::now();
    let copied = aiaudit::migrate::copy_log(source.store(), dest.as_mut(), &mut |done, total| {
        if total > 0 {
            eprint!("\rcopied {done}/{total} entries");
        }
    });
    eprintln!();
    let copied = match copied {
        Ok(c) => c,
        Err(e) => {
            let held = dest.size().unwrap_or(0);
            drop(dest);
            return Err(anyhow::Error::new(e).context(abandon(&to, held)));
        }
    };
    say!(
        "copied {} entries and {} signed checkpoints from {} to {} in {:.1}s",
        copied.entries,
        copied.checkpoints,
        aiaudit::location::display(&from),
        aiaudit::location::display(&to),
        started.elapsed().as_secs_f64()
    );
    drop(dest);

    // The copy is checked on its own: every leaf, node, root and signature.
    let copy = LogReader::open(&to)?;
    let report = copy.verify(&VerifyOptions::default(), &mut |_, _| {})?;
    if !report.is_intact() {
        say!("FAILED: the copy does not verify");
        for f in &report.findings {
            say!("  {}", f.message);
        }
        return Ok(ExitCode::from(1));
    }
    let (a, b) = (source.checkpoint()?, copy.checkpoint()?);
    if a.note != b.note {
        bail!("the copy's latest checkpoint differs from the source's");
    }
    say!(
        "OK: the copy verifies ({} entries, {} checkpoints) and ends at the source's signed checkpoint of size {}",
        report.entries,
        report.checkpoints,
        b.size
    );

    // Writers of the new log need its secrets beside it: the signing key, the redaction
    // secret (so keyed hashes keep correlating) and the subject keys (so encrypted fields stay
    // readable, and erasable).
    let (src_base, dst_base) = (
        aiaudit::location::local_base(&from),
        aiaudit::location::local_base(&to),
    );
    for (ext, what) in [
        ("key", "signing key"),
        ("hmac", "redaction secret"),
        ("subjects", "subject keys"),
    ] {
        let src = match (ext, signing_key) {
            ("key", Some(k)) => k.to_owned(),
            _ => src_base.with_extension(ext),
        };
        let dst = dst_base.with_extension(ext);
        if !src.exists() {
            if ext == "key" && !dst.exists() {
                say!(
                    "no signing key at {}: writers of the new log need the key of {}",
                    src.display(),
                    source.info().verifier_key
                );
            }
            continue;
        }
        if dst.exists() {
            say!("{what}: {} exists, left as it is", dst.display());
            continue;
        }
        copy_private(&src, &dst)?;
        say!("{what} copied to {} (mode 0600)", dst.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// After a failed copy: a new SQLite file is removed (this command made it, and nothing else
/// has written to it); a PostgreSQL schema is left for its owner to drop, and the message says
/// how, since the log's tables refuse deletes by design.
fn abandon(to: &Path, held: u64) -> String {
    match aiaudit::location::postgres_url(to).and_then(|u| aiaudit_postgres::PgUrl::parse(u).ok()) {
        Some(u) => format!(
            "the migration stopped; {} holds a partial copy ({held} entries): drop it with `DROP SCHEMA {} CASCADE` before migrating again",
            u.display, u.schema
        ),
        None => {
            for ext in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{ext}", to.display()));
            }
            format!(
                "the migration stopped; the partial copy {} was removed",
                to.display()
            )
        }
    }
}

/// Copies a secret file, readable by its owner only, never overwriting.
fn copy_private(src: &Path, dst: &Path) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let bytes = std::fs::read(src).with_context(|| format!("reading {}", src.display()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dst)
        .with_context(|| format!("creating {}", dst.display()))?;
    f.write_all(&bytes)?;
    f.sync_all()?;
    Ok(())
}
