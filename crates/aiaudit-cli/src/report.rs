//! `report`: the compliance reports as JSON or Markdown.

use aiaudit::reports;
use aiaudit_core::timefmt::now_ns;
use anyhow::Result;
use serde_json::Value;
use std::fmt::Write as _;

use crate::cli::{Cli, ReportKind, SubjectFormat};

pub fn run(cli: &Cli, kind: &ReportKind, format: SubjectFormat) -> Result<()> {
    let reader = crate::read::reader(cli)?;
    let now = now_ns();
    let (title, value) = match kind {
        ReportKind::Usage { model, days } => (
            format!("Model usage: {model}, last {days} days"),
            reports::model_usage(&reader, model, *days, now)?,
        ),
        ReportKind::Access { user, days } => (
            format!("Data access: {user}, last {days} days"),
            reports::data_access(&reader, user, *days, now)?,
        ),
        ReportKind::Integrity => ("Integrity".to_owned(), reports::integrity(&reader)?),
    };
    match format {
        SubjectFormat::Json => say!("{}", serde_json::to_string_pretty(&value)?),
        SubjectFormat::Md => say_raw!("{}", markdown(&title, &value)),
    }
    Ok(())
}

/// A report as Markdown: scalars as a two-column table, objects as sections, arrays of
/// objects as tables.
pub fn markdown(title: &str, v: &Value) -> String {
    let mut out = format!("# {title}\n\n");
    section(&mut out, v, 2);
    out
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.replace('|', "\\|").replace('\n', " "),
        Value::Null => "—".to_owned(),
        // Measured values to three decimals at most, without trailing zeros.
        Value::Number(n) if n.is_f64() => {
            let t = format!("{:.3}", n.as_f64().unwrap_or(0.0));
            t.trim_end_matches('0').trim_end_matches('.').to_owned()
        }
        other => other.to_string().replace('|', "\\|"),
    }
}

fn section(out: &mut String, v: &Value, level: usize) {
    let Value::Object(map) = v else {
        let _ = writeln!(out, "{}\n", cell(v));
        return;
    };
    let multiline = |v: &Value| v.as_str().is_some_and(|s| s.contains('\n'));
    let scalars: Vec<_> = map
        .iter()
        .filter(|(_, v)| !v.is_object() && !v.is_array() && !multiline(v))
        .collect();
    if !scalars.is_empty() {
        out.push_str("| | |\n| --- | --- |\n");
        for (k, v) in scalars {
            let _ = writeln!(out, "| {} | {} |", k.replace('_', " "), cell(v));
        }
        out.push('\n');
    }
    // Text of several lines (a signed note) verbatim, as it must be copied.
    for (k, v) in map.iter().filter(|(_, v)| multiline(v)) {
        let _ = writeln!(
            out,
            "**{}**\n\n```\n{}```\n",
            k.replace('_', " "),
            v.as_str().unwrap_or_default()
        );
    }
    for (k, v) in map.iter().filter(|(_, v)| v.is_object() || v.is_array()) {
        let _ = writeln!(
            out,
            "{} {}\n",
            "#".repeat(level.min(6)),
            k.replace('_', " ")
        );
        match v {
            Value::Array(items) if items.iter().all(Value::is_object) && !items.is_empty() => {
                let mut cols: Vec<&String> = Vec::new();
                for i in items {
                    if let Value::Object(m) = i {
                        for c in m.keys() {
                            if !cols.contains(&c) {
                                cols.push(c);
                            }
                        }
                    }
                }
                let _ = writeln!(
                    out,
                    "| {} |",
                    cols.iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                let _ = writeln!(out, "|{}", " --- |".repeat(cols.len()));
                for i in items {
                    let row: Vec<String> = cols.iter().map(|c| cell(&i[c.as_str()])).collect();
                    let _ = writeln!(out, "| {} |", row.join(" | "));
                }
                out.push('\n');
            }
            Value::Array(items) if items.is_empty() => out.push_str("none\n\n"),
            Value::Array(items) => {
                for i in items {
                    let _ = writeln!(out, "- {}", cell(i));
                }
                out.push('\n');
            }
            other => section(out, other, level + 1),
        }
    }
}
