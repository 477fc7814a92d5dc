//! `verify`, `prove`, `prove-consistency`, `verify-proof`.

use aiaudit::VerifyOptions;
use aiaudit_core::bundle::{CONSISTENCY_HEADER, TLOG_PROOF_HEADER};
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

pub fn verify(cli: &Cli, against: Option<&Path>, key: Option<String>) -> Result<ExitCode> {
    let r = reader(cli)?;
    let against = against
        .map(|p| std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())))
        .transpose()?;
    let bar = progress_bar(r.size()?, "verifying");
    let opts = VerifyOptions {
        trusted_key: key,
        against,
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

fn b64(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}

pub fn prove(cli: &Cli, seq: u64, size: Option<u64>) -> Result<()> {
    say_raw!("{}", reader(cli)?.prove(seq, size)?.to_text());
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

pub fn verify_proof(file: &Path, key: &str) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let verifier = NoteVerifier::parse(key).context("--key")?;
    let header = text.lines().next().unwrap_or_default();
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
            verifier.name()
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
            verifier.name(),
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
