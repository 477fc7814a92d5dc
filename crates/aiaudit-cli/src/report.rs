//! `report`: the compliance reports as JSON, Markdown or a self-contained HTML page.

use aiaudit::reports::Request;
use aiaudit_core::timefmt::{DayEdge, now_ns, parse_bound};
use aiaudit_report::{Context, Lang};
use anyhow::{Context as _, Result};
use std::path::Path;

use crate::cli::{Cli, ReportFormat, ReportKind};

/// The request a command line asks for.
fn request(kind: &ReportKind, now: i64) -> Result<Request> {
    let since = |s: &Option<String>| -> Result<Option<i64>> {
        s.as_deref()
            .map(|s| parse_bound(s, DayEdge::Start, now))
            .transpose()
            .context("--since")
    };
    Ok(match kind {
        ReportKind::Usage { model, days } => Request::Usage {
            model: model.clone(),
            days: *days,
        },
        ReportKind::Access { user, days } => Request::Access {
            user: user.clone(),
            days: *days,
        },
        ReportKind::Operations { since: s, events } => Request::Operations {
            since_ns: since(s)?,
            events_per_operation: usize::try_from(*events)?,
        },
        ReportKind::Integrity => Request::Integrity,
        ReportKind::AiAct { since: s } => Request::AiAct {
            since_ns: since(s)?,
        },
        ReportKind::Lineage { model } => Request::lineage(model).context("--model")?,
    })
}

pub fn run(
    cli: &Cli,
    kind: &ReportKind,
    format: ReportFormat,
    lang: &str,
    output: Option<&Path>,
) -> Result<()> {
    // Checked before the log is read, so a typo costs nothing.
    let lang: Lang = lang.parse().context("--lang")?;
    let now = now_ns();
    let request = request(kind, now)?;
    let reader = crate::read::reader(cli)?;
    let report = request.make(&reader, now)?;
    let ctx = Context::new(lang, reader.info().origin.clone(), now);
    let text = match format {
        ReportFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        ReportFormat::Md => aiaudit_report::markdown(&report, &ctx)?,
        ReportFormat::Html => aiaudit_report::html(&report, &ctx)?,
    };
    match output {
        Some(path) => {
            // Written beside the target and renamed, so a reader never sees half a report.
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
            eprintln!(
                "aiaudit report: {} written to {}",
                request.name(),
                path.display()
            );
        }
        None => say_raw!("{text}"),
    }
    Ok(())
}
