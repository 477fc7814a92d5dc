//! `verify`, `prove`, `prove-consistency`, `verify-proof`.

use aiaudit::VerifyOptions;
use aiaudit_core::bundle::{CONSISTENCY_HEADER, TLOG_PROOF_HEADER};
use aiaudit_core::policy::Policy;
use aiaudit_core::{ConsistencyBundle, InclusionBundle, NoteVerifier, Record};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use crate::cli::Cli;
use crate::read::reader;

/// A progress bar over `total` entries on a terminal's stderr; hidden otherwise.
pub fn progress_bar(total: u64, doing: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{doing} {{bar:40}} {{pos}}/{{len}} entries ({{per_sec}}, {{eta}} left)"
    )) {
        b.set_style(style);
    }
    b
}

/// `aiaudit export tiles DIR`.
pub fn export_tiles(cli: &Cli, dir: &Path) -> Result<()> {
    let r = reader(cli)?;
    let bar = progress_bar(r.size()?, "exporting");
    let started = std::time::Instant::now();
    let out = r
        .export_tiles(dir, &mut |done, _| bar.set_position(done))
        .with_context(|| format!("exporting tiles to {}", dir.display()))?;
    bar.finish_and_clear();
    let added = if out.previous_size > 0 {
        format!(" (the copy had {})", out.previous_size)
    } else {
        String::new()
    };
    say!(
        "wrote {} entries{added} to {} in {:.2}s: entry bundles {}, hash tiles {}, {} bytes, and the checkpoint",
        out.size,
        dir.display(),
        started.elapsed().as_secs_f64(),
        out.bundles,
        out.tiles,
        out.bytes
    );
    say!(
        "serve the directory as <prefix>/ and point a c2sp.org/tlog-tiles client at it with the log's verifier key (`aiaudit verifier-key`)"
    );
    Ok(())
}

/// The policy in `path`.
fn load_policy(path: &Path) -> Result<Policy> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Policy::parse(&text).with_context(|| format!("the policy {}", path.display()))
}

/// Checks `note` against the policy and says which witnesses cosigned it.
fn satisfies(policy: &Policy, note: &str, path: &Path) -> Result<Vec<NoteVerifier>> {
    let check = policy.check(note).with_context(|| {
        format!(
            "the checkpoint does not satisfy the policy {}",
            path.display()
        )
    })?;
    say!(
        "policy {}: the log's key and the quorum hold (cosigned by {})",
        path.display(),
        if check.cosigned_by.is_empty() {
            "no witness; the policy asks for none".to_owned()
        } else {
            check.cosigned_by.join(", ")
        }
    );
    policy
        .log(&check.checkpoint.origin)
        .map(<[NoteVerifier]>::to_vec)
        .context("the policy has no key for the log")
}

/// The keys of `--key`: each value a verifier key, or a file of them (one a line, `#`
/// comments), as `aiaudit key list` shows a rotated log's.
fn key_set(values: &[String]) -> Result<Vec<NoteVerifier>> {
    let mut keys = Vec::new();
    for v in values {
        let path = Path::new(v);
        if !v.contains('+') && path.is_file() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            for (i, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or_default().trim();
                if let Some(word) = line.split_whitespace().next() {
                    keys.push(
                        NoteVerifier::parse(word)
                            .with_context(|| format!("{} line {}", path.display(), i + 1))?,
                    );
                }
            }
        } else {
            keys.push(NoteVerifier::parse(v).with_context(|| format!("--key {v}"))?);
        }
    }
    if keys.is_empty() {
        bail!("--key names no verifier key");
    }
    Ok(keys)
}

pub fn verify(
    cli: &Cli,
    against: Option<&Path>,
    key: Option<String>,
    policy: Option<&Path>,
    archive: bool,
) -> Result<ExitCode> {
    let r = reader(cli)?;
    let against = against
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let key = match (policy, &against) {
        (Some(path), Some(note)) => Some(
            satisfies(&load_policy(path)?, note, path)?
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        ),
        _ => key,
    };
    let bar = progress_bar(r.size()?, "verifying");
    let opts = VerifyOptions {
        trusted_key: key,
        against,
        archive,
    };
    let started = std::time::Instant::now();
    let report = r.verify(&opts, &mut |done, _| bar.set_position(done))?;
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    if report.is_intact() {
        say!(
            "OK: {} entries, {} signed checkpoints verified in {:.2}s; every leaf, tree node and root matches",
            report.entries,
            report.checkpoints,
            secs
        );
        if let Some(cp) = &report.latest {
            say!("latest checkpoint: size {} root {}", cp.size, b64(&cp.root));
        }
        if let Some(a) = &report.against {
            say!("the log extends your checkpoint of size {}", a.size);
        }
        archived_lines(&report)?;
        Ok(ExitCode::SUCCESS)
    } else {
        match report.first_bad_seq() {
            Some(seq) => say!("FAILED: the log is not intact; first bad seq {seq}"),
            None => say!("FAILED: the log is not intact"),
        }
        for f in &report.findings {
            say!("  {}", f.message);
        }
        Ok(ExitCode::FAILURE)
    }
}

/// What `verify` says of the archived prefix.
fn archived_lines(report: &aiaudit::VerifyReport) -> Result<()> {
    let (Some(first), Some(last)) = (report.archived.first(), report.archived.last()) else {
        return Ok(());
    };
    let mut urls: Vec<&str> = report.archived.iter().map(|f| f.url.as_str()).collect();
    urls.dedup();
    say!(
        "archived: seqs {}..{} in {} files at {}, covered by manifests signed with the log's key{}",
        first.first_seq,
        last.end_seq - 1,
        report.archived.len(),
        urls.join(", "),
        if report.archive_read {
            "; every file fetched and every row checked against its leaf hash"
        } else {
            " and by the leaf hashes the log keeps (--archive also fetches the files and checks every row)"
        }
    );
    let deleted: Vec<&aiaudit_core::archive::ArchivedFile> = report
        .archived
        .iter()
        .filter(|f| f.deleted_by.is_some())
        .collect();
    if let (Some(first), Some(last)) = (deleted.first(), deleted.last()) {
        let mut events: Vec<String> = deleted
            .iter()
            .filter_map(|f| f.deleted_by)
            .map(|s| s.to_string())
            .collect();
        events.dedup();
        say!(
            "deleted under the retention policy: seqs {}..{} ({} files, by the archive events at seq {}); their records are gone, their hashes and every proof remain",
            first.first_seq,
            last.end_seq - 1,
            deleted.len(),
            events.join(", ")
        );
    }
    Ok(())
}

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn prove(cli: &Cli, seq: u64, size: Option<u64>, checkpoint: Option<&Path>) -> Result<()> {
    let r = reader(cli)?;
    let Some(path) = checkpoint else {
        say_raw!("{}", r.prove(seq, size)?.to_text());
        return Ok(());
    };
    // A checkpoint kept elsewhere, with cosignatures: it must be this log's own, at a size it
    // signed, with the root the log has there.
    let note =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let keys = r.key_history()?;
    let cp = keys
        .open_checkpoint(&note)
        .with_context(|| format!("{} is not a checkpoint signed by this log", path.display()))?;
    let mut bundle = r.prove(seq, Some(cp.size))?;
    let ours = keys.open_checkpoint(&bundle.checkpoint_note)?;
    if ours.root != cp.root {
        bail!(
            "{} has another root at size {} than this log: it is not this log's history",
            path.display(),
            cp.size
        );
    }
    bundle.checkpoint_note = note;
    say_raw!("{}", bundle.to_text());
    Ok(())
}

pub fn prove_consistency(cli: &Cli, old: u64, new: Option<u64>) -> Result<()> {
    say_raw!("{}", reader(cli)?.prove_consistency(old, new)?.to_text());
    Ok(())
}

/// `verify --quick`: the writer's own check of the head, in bounded time.
pub fn verify_quick(cli: &Cli) -> Result<ExitCode> {
    let r = reader(cli)?;
    let started = std::time::Instant::now();
    match r.check_tail()? {
        Ok(t) => {
            say!(
                "OK (quick): the log ends at {} as its latest signed checkpoint says, and its last {} records match their leaf hashes ({:.1} ms); `aiaudit verify` checks every entry",
                t.size,
                t.records_checked,
                started.elapsed().as_secs_f64() * 1000.0
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(why) => {
            eprintln!(
                "aiaudit: DAMAGED: {}: {why}; run `aiaudit verify` for the whole log",
                aiaudit::location::display(&cli.db)
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

pub fn verify_proof(file: &Path, key: &[String], policy: Option<&Path>) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let header = text.lines().next().unwrap_or_default();
    let verifier = match (key, policy) {
        ([_, ..], _) => key_set(key)?,
        ([], Some(path)) => {
            let note = proof_checkpoint(&text)
                .with_context(|| format!("{}: no checkpoint in the proof", file.display()))?;
            satisfies(&load_policy(path)?, &note, path)?
        }
        ([], None) => bail!("give --key or --policy"),
    };
    if header == TLOG_PROOF_HEADER {
        let bundle = InclusionBundle::parse(&text)?;
        let cp = bundle
            .verify(&verifier)
            .with_context(|| format!("{}: the proof does not verify", file.display()))?;
        let data = bundle.leaf_data.as_deref().unwrap_or_default();
        let rec = Record::from_leaf_data(data)
            .context("the proven leaf data is not an aiaudit record")?;
        say!(
            "OK: entry {} is in the log {} of size {} (signed by {})",
            bundle.index,
            cp.origin,
            cp.size,
            signed_by(&verifier)
        );
        say!("record: {}", String::from_utf8_lossy(data));
        if rec.seq != bundle.index {
            bail!(
                "the proven record says seq {} but the proof is for {}",
                rec.seq,
                bundle.index
            );
        }
    } else if header == CONSISTENCY_HEADER {
        let bundle = ConsistencyBundle::parse(&text)?;
        let cp = bundle
            .verify(&verifier)
            .with_context(|| format!("{}: the proof does not verify", file.display()))?;
        say!(
            "OK: the log {} of size {} extends the tree of size {} with root {}",
            cp.origin,
            cp.size,
            bundle.old_size,
            b64(&bundle.old_root)
        );
    } else if text.trim_start().starts_with('{') {
        let evidence = aiaudit::lineage::Evidence::parse(&text)?;
        let v = evidence
            .verify(&verifier)
            .with_context(|| format!("{}: the lineage evidence does not verify", file.display()))?;
        say!(
            "OK: the lineage of {} — {} events, each in the log {} of size {} (signed by {}), and {} links, each what its records say",
            evidence.target,
            v.events,
            v.checkpoint.origin,
            v.checkpoint.size,
            signed_by(&verifier),
            v.edges
        );
    } else {
        bail!(
            "{}: not a proof file (the first line is neither {TLOG_PROOF_HEADER} nor {CONSISTENCY_HEADER}, and it is not lineage evidence)",
            file.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The log a key set is of (its keys share the log's origin as their name).
fn signed_by(keys: &[NoteVerifier]) -> &str {
    keys.first().map_or("", NoteVerifier::name)
}

/// The signed checkpoint a proof file carries.
fn proof_checkpoint(text: &str) -> Result<String> {
    let header = text.lines().next().unwrap_or_default();
    Ok(if header == TLOG_PROOF_HEADER {
        InclusionBundle::parse(text)?.checkpoint_note
    } else if header == CONSISTENCY_HEADER {
        ConsistencyBundle::parse(text)?.checkpoint_note
    } else {
        aiaudit::lineage::Evidence::parse(text)?.checkpoint
    })
}

/// `aiaudit lineage`: the graph in the chosen format, and with `--prove` its evidence file.
pub fn lineage(
    cli: &Cli,
    target: &str,
    (upstream, downstream): (bool, bool),
    format: crate::cli::LineageFormat,
    per_artifact: usize,
    prove: Option<&Path>,
) -> Result<()> {
    use crate::cli::LineageFormat;
    use aiaudit::lineage::{self, Direction, LineageOptions};
    let reader = crate::read::reader(cli)?;
    let opts = LineageOptions {
        direction: match (upstream, downstream) {
            (true, _) => Direction::Upstream,
            (_, true) => Direction::Downstream,
            _ => Direction::Both,
        },
        per_artifact: per_artifact.max(1),
        ..LineageOptions::default()
    };
    let graph = lineage::lineage(&reader, target, &opts)?;
    let text = match format {
        LineageFormat::Table => lineage::to_table(&graph),
        LineageFormat::Json => lineage::to_json(&graph),
        LineageFormat::Dot => lineage::to_dot(&graph),
        LineageFormat::Mermaid => lineage::to_mermaid(&graph),
    };
    say!("{}", text.trim_end());
    if let Some(file) = prove {
        let evidence = lineage::Evidence::build(&reader, &graph, target)?;
        std::fs::write(file, evidence.to_json())
            .with_context(|| format!("writing {}", file.display()))?;
        eprintln!(
            "wrote {}: {} events with their inclusion proofs against the checkpoint of size {}",
            file.display(),
            evidence.entries.len(),
            reader.checkpoint()?.size
        );
    }
    Ok(())
}
