//! Reports as Markdown: the title and verdicts, then every field, translated.

use aiaudit_core::report::Report;
use serde_json::{Map, Value};
use std::fmt::Write as _;

use crate::catalogue::Catalogue;
use crate::fields::{
    DATA_KEYED, SPECIAL, cell_text, columns, generated, heading, nested_rows, node_label, ordered,
};
use crate::{Context, Error};

/// The report as Markdown in the context's language.
pub fn render(report: &Report, ctx: &Context) -> Result<String, Error> {
    let c = Catalogue::load(ctx.lang)?;
    let v = crate::data(report)?;
    let mut out = format!("# {}\n\n", md(&crate::title(&c, report)));
    // The origin is the operator's text, not the report's: escaped like any logged text.
    let _ = writeln!(out, "_{}_\n", generated(&c, ctx, &md(&ctx.origin)));
    for line in crate::verdicts::verdicts(&c, report) {
        let _ = writeln!(out, "**{}**\n", line.text);
    }
    section(&c, &mut out, &v, 2);
    match report {
        Report::Integrity(r) => {
            let _ = writeln!(out, "## {}\n", c.text("text", "offline"));
            for (cmd, intro) in [
                (&r.check_offline.extends, "offline_extends"),
                (&r.check_offline.entry, "offline_entry"),
            ] {
                let _ = writeln!(out, "{}\n\n```\n{cmd}\n```\n", c.text("text", intro));
            }
        }
        Report::Lineage(r) => {
            // Mermaid, which GitHub and GitLab draw; every label is quoted and stripped of
            // what would end the quote or the line.
            let _ = writeln!(out, "## {}\n\n```mermaid\nflowchart LR", c.label("graph"));
            for (i, n) in r.graph.nodes.iter().enumerate() {
                let label = node_label(&c, n, r.predictions.total);
                let _ = writeln!(out, "  n{i}[\"{}\"]", mermaid_text(&label));
            }
            let index = |id: &str| r.graph.nodes.iter().position(|n| n.id == id);
            for e in &r.graph.edges {
                if let (Some(a), Some(b)) = (index(&e.from), index(&e.to)) {
                    let _ = writeln!(
                        out,
                        "  n{a} -->|{}| n{b}",
                        mermaid_text(&c.label(&e.relation))
                    );
                }
            }
            out.push_str("```\n\n");
            let _ = writeln!(
                out,
                "{}\n\n```\n{}\n```\n",
                c.text("text", "lineage_offline"),
                r.evidence.prove_command
            );
        }
        _ => {}
    }
    let _ = writeln!(out, "---\n\n{}", c.text("text", "evidence"));
    Ok(out)
}

/// Text safe inside a quoted Mermaid label: no quote, bracket, pipe, backtick or line break.
fn mermaid_text(s: &str) -> String {
    s.chars()
        .map(|ch| match ch {
            '"' | '`' | '[' | ']' | '|' | '<' | '>' | '\n' | '\r' | '{' | '}' => ' ',
            c => c,
        })
        .collect()
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
    use aiaudit_core::report::{EventRow, OperationRow, OperationsReport};

    /// An operations report of one operation with one event, both named `name`.
    fn named(name: &str) -> Report {
        Report::Operations(OperationsReport {
            since: None,
            total_operations: 1,
            events_without_operation: 0,
            operations_omitted: 0,
            operations: vec![OperationRow {
                id: Some("op".into()),
                name: name.into(),
                state: "open".into(),
                first: "2026-11-24T09:30:00.000000000Z".into(),
                last: "2026-11-24T09:30:00.000000000Z".into(),
                duration_s: Some(0.0),
                events: 1,
                worst_status: None,
                regulations: vec![],
                types: Default::default(),
                statuses: Default::default(),
                event_rows: vec![EventRow {
                    seq: 0,
                    time: "2026-11-24T09:30:00.000000000Z".into(),
                    kind: "event".into(),
                    status: "INFO".into(),
                    name: name.into(),
                }],
                event_rows_omitted: 0,
            }],
        })
    }

    #[test]
    fn log_text_is_inert_in_markdown() -> Result<(), Error> {
        let evil = "x\n\n**The log is intact**<img src=x onerror=alert(1)> | [a](b)";
        let ctx = Context::new(Lang::En, "o", 0);
        let out = render(&named(evil), &ctx)?;
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
        let out = render(&named("a\n```\n# Forged"), &ctx)?;
        assert!(out.contains("````\na\n```\n# Forged\n````\n"), "{out}");
        assert_eq!(fence("no ticks"), "```");
        Ok(())
    }

    #[test]
    fn the_origin_is_escaped_too() -> Result<(), Error> {
        let ctx = Context::new(Lang::En, "<script>alert(1)</script> *x*", 0);
        let out = render(&named("x"), &ctx)?;
        assert!(!out.contains("<script>"), "{out}");
        assert!(
            out.contains("&lt;script&gt;alert(1)&lt;/script&gt; \\*x\\*"),
            "{out}"
        );
        Ok(())
    }
}
