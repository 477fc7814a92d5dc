//! Reports as Markdown: the title and verdicts, then every field, translated.

use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::catalogue::Catalogue;
use crate::{Context, Error, Kind};

/// Objects whose keys are data (labels, statuses, versions), not field names: shown as
/// key–count tables, never translated.
pub(crate) const DATA_KEYED: [&str; 7] = [
    "prediction_distribution",
    "versions_used",
    "status_mix",
    "statuses",
    "types",
    "models_used",
    "by_status",
];

/// The order fields are shown in (report JSON objects keep their keys sorted); fields not
/// listed come after, by name.
const ORDER: &[&str] = &[
    "model",
    "version",
    "user_id",
    "person",
    "dataset",
    "period_days",
    "since",
    "generated_at",
    "intact",
    "events",
    "total_predictions",
    "total_requests",
    "total_events",
    "total_operations",
    "unique_users",
    "first_prediction",
    "last_prediction",
    "entries",
    "checkpoints_checked",
    "first_bad_seq",
    "origin",
    "verifier_key",
    "events_without_operation",
    "operations_omitted",
    "coverage",
    "covers_six_months",
    "first_event",
    "last_event",
    "days_covered",
    "required_from",
    "latency_stats",
    "mean_ms",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "max_ms",
    "status_mix",
    "prediction_distribution",
    "versions_used",
    "models_used",
    "events_per_day",
    "latency_histogram",
    "bucket_ms",
    "buckets",
    "version_timeline",
    "latest_checkpoint",
    "size",
    "signed_at",
    "note",
    "findings",
    "periods_of_use",
    "models_in_use",
    "reference_data",
    "verifiers",
    "incidents",
    "total",
    "omitted",
    "gap_s",
    "by_status",
    "per_day",
    "periods",
    "requests",
    "operations",
    "seq",
    "time",
    "timestamp",
    "request_id",
    "id",
    "name",
    "day",
    "start",
    "end",
    "first",
    "last",
    "duration_s",
    "state",
    "worst_status",
    "type",
    "status",
    "statuses",
    "types",
    "regulations",
    "predictions",
    "uses",
    "verifications",
    "trainings",
    "evaluations",
    "deployments",
    "environment",
    "by",
    "from_ms",
    "to_ms",
    "count",
    "event_rows_omitted",
    "event_rows",
];

/// An object's members in display order.
pub(crate) fn ordered(m: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let rank = |k: &str| ORDER.iter().position(|x| *x == k).unwrap_or(ORDER.len());
    let mut v: Vec<(&String, &Value)> = m.iter().collect();
    v.sort_by(|a, b| rank(a.0).cmp(&rank(b.0)).then(a.0.cmp(b.0)));
    v
}

/// Fields a renderer shows in its own way rather than as a generic section.
pub(crate) const SPECIAL: [&str; 1] = ["check_offline"];

/// The report as Markdown in the context's language.
pub fn render(kind: Kind, v: &Value, ctx: &Context) -> Result<String, Error> {
    let c = Catalogue::load(ctx.lang)?;
    let mut out = format!("# {}\n\n", md(&crate::title(&c, kind, v)));
    // The origin is the operator's text, not the report's: escaped like any logged text.
    let _ = writeln!(out, "_{}_\n", generated(&c, ctx, &md(&ctx.origin)));
    for line in crate::verdicts::verdicts(&c, kind, v) {
        let _ = writeln!(out, "**{}**\n", line.text);
    }
    section(&c, &mut out, v, 2);
    if kind == Kind::Integrity {
        let _ = writeln!(out, "## {}\n", c.text("text", "offline"));
        for (key, intro) in [("extends", "offline_extends"), ("entry", "offline_entry")] {
            if let Some(cmd) = v["check_offline"][key].as_str() {
                let _ = writeln!(out, "{}\n\n```\n{cmd}\n```\n", c.text("text", intro));
            }
        }
    }
    let _ = writeln!(out, "---\n\n{}", c.text("text", "evidence"));
    Ok(out)
}

/// The "generated at … from …" line, with `origin` as the caller has made it safe for its
/// format.
pub(crate) fn generated(c: &Catalogue, ctx: &Context, origin: &str) -> String {
    let time = c.value(&Value::String(aiaudit_core::timefmt::format_rfc3339(
        ctx.generated_ns,
    )));
    c.fill(
        c.text("text", "generated"),
        &[("time", &time), ("origin", origin)],
    )
}

/// A value as compact one-line text (an object as `key value, …`), not yet escaped.
pub(crate) fn cell_text(c: &Catalogue, v: &Value) -> String {
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, x)| format!("{k} {}", c.value(x)))
            .collect::<Vec<_>>()
            .join(", "),
        other => c.value(other),
    }
}

/// A value in a Markdown table cell.
fn cell(c: &Catalogue, v: &Value) -> String {
    md(&cell_text(c, v))
}

/// Text from the log made inert in Markdown: one line, and every character that Markdown or
/// the HTML it may contain would act on escaped, so that a logged name can neither break a
/// table, fake a heading or verdict, nor carry markup.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for ch in s.chars() {
        match ch {
            '\n' | '\r' | '\t' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '|' | '!' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}

/// A code fence longer than any run of backticks in `text`, so that logged text cannot close
/// it early (CommonMark: a fence closes only with at least as many backticks).
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for ch in text.chars() {
        run = if ch == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

fn multiline(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains('\n'))
}

/// Is this an array of objects that hold lists of objects themselves (each becomes a
/// subsection rather than a table row)?
pub(crate) fn nested_rows(items: &[Value]) -> bool {
    items.iter().any(|i| {
        i.as_object().is_some_and(|m| {
            m.values()
                .any(|x| x.as_array().is_some_and(|a| a.iter().any(Value::is_object)))
        })
    })
}

/// The columns of a table of objects: every key, in first-seen order, leaving out lists of
/// objects.
pub(crate) fn columns(items: &[Value]) -> Vec<&str> {
    let mut cols: Vec<&str> = Vec::new();
    for i in items {
        if let Value::Object(m) = i {
            for (k, x) in ordered(m) {
                let table = x.as_array().is_some_and(|a| a.iter().any(Value::is_object));
                if !table && !cols.contains(&k.as_str()) {
                    cols.push(k);
                }
            }
        }
    }
    cols
}

fn table(c: &Catalogue, out: &mut String, items: &[Value]) {
    let cols = columns(items);
    let head: Vec<String> = cols.iter().map(|k| c.label(k)).collect();
    let _ = writeln!(out, "| {} |", head.join(" | "));
    let _ = writeln!(out, "|{}", " --- |".repeat(cols.len()));
    for i in items {
        let row: Vec<String> = cols.iter().map(|k| cell(c, &i[*k])).collect();
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

fn section(c: &Catalogue, out: &mut String, v: &Value, level: usize) {
    let Value::Object(map) = v else {
        let _ = writeln!(out, "{}\n", c.value(v));
        return;
    };
    let scalars: Vec<_> = ordered(map)
        .into_iter()
        .filter(|(k, v)| {
            !v.is_object() && !v.is_array() && !multiline(v) && !SPECIAL.contains(&k.as_str())
        })
        .collect();
    if !scalars.is_empty() {
        out.push_str("| | |\n| --- | --- |\n");
        for (k, v) in scalars {
            let _ = writeln!(out, "| {} | {} |", c.label(k), cell(c, v));
        }
        out.push('\n');
    }
    // Text of several lines (a signed note) verbatim, as it must be copied.
    for (k, v) in ordered(map).into_iter().filter(|(_, v)| multiline(v)) {
        let text = v.as_str().unwrap_or_default();
        let fence = fence(text);
        let newline = if text.ends_with('\n') { "" } else { "\n" };
        let _ = writeln!(
            out,
            "**{}**\n\n{fence}\n{text}{newline}{fence}\n",
            c.label(k)
        );
    }
    for (k, v) in ordered(map)
        .into_iter()
        .filter(|(k, v)| (v.is_object() || v.is_array()) && !SPECIAL.contains(&k.as_str()))
    {
        let _ = writeln!(out, "{} {}\n", "#".repeat(level.min(6)), c.label(k));
        if let Some(intro) = c.get("section", k) {
            let _ = writeln!(out, "_{intro}_\n");
        }
        match v {
            Value::Object(m) if DATA_KEYED.contains(&k.as_str()) => counts(c, out, m),
            Value::Array(items) if items.is_empty() => {
                let _ = writeln!(out, "{}\n", c.text("text", "none"));
            }
            Value::Array(items) if nested_rows(items) => {
                for i in items {
                    let _ = writeln!(
                        out,
                        "{} {}\n",
                        "#".repeat((level + 1).min(6)),
                        md(&heading(i))
                    );
                    section(c, out, i, level + 2);
                }
            }
            Value::Array(items) if items.iter().all(Value::is_object) => table(c, out, items),
            Value::Array(items) => {
                for i in items {
                    let _ = writeln!(out, "- {}", cell(c, i));
                }
                out.push('\n');
            }
            other => section(c, out, other, level + 1),
        }
    }
}

/// The heading of an item shown as a subsection: its name and id, a model and version, or
/// its first text.
pub(crate) fn heading(item: &Value) -> String {
    let s = |k: &str| item[k].as_str().filter(|s| !s.is_empty());
    match (s("name"), s("id"), s("model"), s("version")) {
        (Some(n), Some(i), ..) => format!("{n} ({i})"),
        (Some(n), None, ..) => n.to_owned(),
        (None, Some(i), ..) => i.to_owned(),
        (None, None, Some(m), Some(v)) => format!("{m} {v}"),
        _ => item
            .as_object()
            .and_then(|m| ordered(m).into_iter().find_map(|(_, v)| v.as_str()))
            .unwrap_or_default()
            .to_owned(),
    }
}

fn counts(c: &Catalogue, out: &mut String, m: &Map<String, Value>) {
    if m.is_empty() {
        let _ = writeln!(out, "{}\n", c.text("text", "none"));
        return;
    }
    let _ = writeln!(out, "| | {} |\n| --- | --- |", c.label("count"));
    for (k, v) in ordered(m) {
        let _ = writeln!(out, "| {} | {} |", md(k), cell(c, v));
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Lang;
    use serde_json::json;

    #[test]
    fn log_text_is_inert_in_markdown() -> Result<(), Error> {
        let evil = "x\n\n**The log is intact**<img src=x onerror=alert(1)> | [a](b)";
        let report = json!({
            "total_operations": 1,
            "operations": [{"id": "op", "name": evil, "event_rows": [{"name": evil}]}],
        });
        let ctx = Context::new(Lang::En, "o", 0);
        let out = render(Kind::Operations, &report, &ctx)?;
        // In headings and tables the text is escaped; a name of several lines is shown
        // verbatim, inside a fence that it cannot close.
        assert!(
            out.contains("\\*\\*The log is intact\\*\\*&lt;img"),
            "{out}"
        );
        assert!(out.contains("\\| \\[a\\](b)"), "{out}");
        assert!(
            out.contains(
                "```\nx\n\n**The log is intact**<img src=x onerror=alert(1)> | [a](b)\n```\n"
            ),
            "{out}"
        );
        let outside: String = out.split("```").step_by(2).collect();
        assert!(!outside.contains("<img"), "{out}");
        assert!(!outside.contains("\n**The log is intact**"), "{out}");
        let sneaky = json!({"total_operations": 1, "operations": [
            {"id": "op", "name": "a\n```\n# Forged", "event_rows": [{"name": "e"}]}
        ]});
        let out = render(Kind::Operations, &sneaky, &ctx)?;
        assert!(out.contains("````\na\n```\n# Forged\n````\n"), "{out}");
        assert_eq!(fence("no ticks"), "```");
        Ok(())
    }

    #[test]
    fn the_origin_is_escaped_too() -> Result<(), Error> {
        let report = json!({"total_operations": 0, "operations": []});
        let ctx = Context::new(Lang::En, "<script>alert(1)</script> *x*", 0);
        let out = render(Kind::Operations, &report, &ctx)?;
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*"),
            "{out}"
        );
        Ok(())
    }
}
