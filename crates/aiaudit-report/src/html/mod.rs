//! Reports as one self-contained HTML page: inline CSS and SVG charts, no script, nothing
//! fetched, laid out to print on A4.

mod graph;
mod svg;

use aiaudit_core::report::{LineageReport, Report};
use aiaudit_core::timefmt::parse_sealed_time;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::catalogue::Catalogue;
use crate::fields::{
    DATA_KEYED, SPECIAL, cell_text, columns, generated, heading, nested_rows, ordered,
};
use crate::verdicts::verdicts;
use crate::{Context, Error, Kind};

const CSS: &str = include_str!("report.css");

/// Most rows a chart draws (the newest); the tables below it hold every row.
const CHART_ROWS: usize = 40;

/// Escapes text for HTML and SVG content and attributes.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report as a self-contained HTML page in the context's language.
pub fn render(report: &Report, ctx: &Context) -> Result<String, Error> {
    let c = Catalogue::load(ctx.lang)?;
    let kind = Kind::of(report);
    let v = &crate::data(report)?;
    let title = crate::title(&c, report);
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        r#"<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title><style>{CSS}</style></head><body><main><header><p class="brand">aiaudit · {kind}</p><h1>{t}</h1><p class="meta">{g}</p></header>"#,
        lang = ctx.lang.tag(),
        t = esc(&title),
        kind = kind.name(),
        g = esc(&generated(&c, ctx, &ctx.origin)),
    );
    for verdict in verdicts(&c, report) {
        let class = match verdict.ok {
            Some(true) => "ok",
            Some(false) => "bad",
            None => "info",
        };
        let _ = write!(
            out,
            r#"<p class="verdict {class}">{}</p>"#,
            esc(&verdict.text)
        );
    }
    if let Value::Object(m) = v {
        cards(&c, &mut out, m);
    }
    let charts = charts(&c, report);
    if !charts.is_empty() {
        let _ = write!(out, r#"<section class="charts">{charts}</section>"#);
    }
    match report {
        Report::Integrity(r) => offline(
            &c,
            &mut out,
            &[
                (&r.check_offline.extends, "offline_extends"),
                (&r.check_offline.entry, "offline_entry"),
            ],
        ),
        Report::Lineage(r) => lineage_offline(&c, &mut out, r),
        _ => {}
    }
    if let Value::Object(m) = v {
        sections(&c, &mut out, m, 2);
    }
    let _ = writeln!(
        out,
        "<footer>{}</footer></main></body></html>",
        esc(c.text("text", "evidence"))
    );
    Ok(out)
}

fn is_scalar(k: &str, v: &Value) -> bool {
    !v.is_object() && !v.is_array() && !SPECIAL.contains(&k)
}

/// The top-level figures as cards; texts of several lines (a signed note) as blocks.
fn cards(c: &Catalogue, out: &mut String, m: &Map<String, Value>) {
    out.push_str(r#"<dl class="cards">"#);
    for (k, v) in ordered(m).into_iter().filter(|(k, v)| is_scalar(k, v)) {
        let multiline = v.as_str().is_some_and(|s| s.contains('\n'));
        let value = if multiline {
            format!("<pre>{}</pre>", esc(v.as_str().unwrap_or_default()))
        } else {
            esc(&c.value(v))
        };
        let _ = write!(
            out,
            r#"<div class="card{wide}"><dt>{}</dt><dd>{value}</dd></div>"#,
            esc(&c.label(k)),
            wide = if multiline || value.len() > 40 {
                " wide"
            } else {
                ""
            },
        );
    }
    out.push_str("</dl>");
}

/// "How to check this offline": each command after the text that says what it checks.
fn offline(c: &Catalogue, out: &mut String, commands: &[(&String, &str)]) {
    let _ = write!(out, "<section><h2>{}</h2>", esc(c.text("text", "offline")));
    for (cmd, intro) in commands {
        let _ = write!(
            out,
            "<p>{}</p><pre>{}</pre>",
            esc(c.text("text", intro)),
            esc(cmd)
        );
    }
    out.push_str("</section>");
}

fn lineage_offline(c: &Catalogue, out: &mut String, r: &LineageReport) {
    offline(c, out, &[(&r.evidence.prove_command, "lineage_offline")]);
}

/// Every nested object and list: field tables, key–count tables and row tables.
fn sections(c: &Catalogue, out: &mut String, m: &Map<String, Value>, level: usize) {
    let h = level.min(6);
    for (k, v) in ordered(m)
        .into_iter()
        .filter(|(k, v)| (v.is_object() || v.is_array()) && !SPECIAL.contains(&k.as_str()))
    {
        let _ = write!(out, "<section><h{h}>{}</h{h}>", esc(&c.label(k)));
        if let Some(intro) = c.get("section", k) {
            let _ = write!(out, r#"<p class="intro">{}</p>"#, esc(intro));
        }
        match v {
            Value::Object(inner) if DATA_KEYED.contains(&k.as_str()) => {
                let _ = write!(
                    out,
                    "<table><thead><tr><th></th><th>{}</th></tr></thead><tbody>",
                    esc(&c.label("count"))
                );
                for (key, n) in ordered(inner) {
                    let _ = write!(
                        out,
                        r#"<tr><td>{}</td><td class="num">{}</td></tr>"#,
                        esc(key),
                        esc(&c.value(n))
                    );
                }
                out.push_str("</tbody></table>");
            }
            Value::Object(inner) => {
                out.push_str("<table><tbody>");
                for (key, x) in ordered(inner).into_iter().filter(|(k, x)| is_scalar(k, x)) {
                    let text = x.as_str().filter(|s| s.contains('\n'));
                    let shown =
                        text.map_or_else(|| esc(&c.value(x)), |t| format!("<pre>{}</pre>", esc(t)));
                    let _ = write!(
                        out,
                        "<tr><th>{}</th><td>{shown}</td></tr>",
                        esc(&c.label(key))
                    );
                }
                out.push_str("</tbody></table>");
                sections(c, out, inner, level + 1);
            }
            Value::Array(items) if items.is_empty() => {
                let _ = write!(out, "<p>{}</p>", esc(c.text("text", "none")));
            }
            Value::Array(items) if nested_rows(items) => {
                for i in items {
                    let hh = (level + 1).min(6);
                    let _ = write!(out, "<h{hh}>{}</h{hh}>", esc(&heading(i)));
                    if let Value::Object(im) = i {
                        out.push_str(r#"<dl class="cards small">"#);
                        for (key, x) in ordered(im)
                            .into_iter()
                            .filter(|(k, x)| is_scalar(k, x) || x.is_object())
                        {
                            let _ = write!(
                                out,
                                "<div class=\"card\"><dt>{}</dt><dd>{}</dd></div>",
                                esc(&c.label(key)),
                                esc(&cell_text(c, x))
                            );
                        }
                        out.push_str("</dl>");
                        let lists: Map<String, Value> = im
                            .iter()
                            .filter(|(_, x)| x.is_array())
                            .map(|(k, x)| (k.clone(), x.clone()))
                            .collect();
                        sections(c, out, &lists, level + 2);
                    }
                }
            }
            Value::Array(items) if items.iter().all(Value::is_object) => table(c, out, items),
            Value::Array(items) => {
                out.push_str("<ul>");
                for i in items {
                    let _ = write!(out, "<li>{}</li>", esc(&c.value(i)));
                }
                out.push_str("</ul>");
            }
            _ => {}
        }
        out.push_str("</section>");
    }
}

fn table(c: &Catalogue, out: &mut String, items: &[Value]) {
    let cols = columns(items);
    out.push_str("<table><thead><tr>");
    for k in &cols {
        let _ = write!(out, "<th>{}</th>", esc(&c.label(k)));
    }
    out.push_str("</tr></thead><tbody>");
    for i in items {
        out.push_str("<tr>");
        for k in &cols {
            let v = &i[*k];
            let class = if v.is_number() { r#" class="num""# } else { "" };
            let text = cell_text(c, v);
            let _ = write!(out, "<td{class}>{}</td>", esc(&text));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
}

/// Rows of days with counts by status, for a stacked bar chart.
fn per_day<'a>(
    rows: impl Iterator<Item = (&'a str, &'a BTreeMap<String, u64>)>,
) -> Vec<(String, Vec<(String, f64)>)> {
    rows.map(|(day, s)| (day.to_owned(), counts(s))).collect()
}

fn counts(m: &BTreeMap<String, u64>) -> Vec<(String, f64)> {
    m.iter().map(|(k, n)| (k.clone(), *n as f64)).collect()
}

/// Spans with a label and start and end times; the newest [`CHART_ROWS`].
fn spans<'a>(
    rows: impl ExactSizeIterator<Item = (String, &'a str, &'a str)>,
) -> Vec<(String, i64, i64)> {
    let skip = rows.len().saturating_sub(CHART_ROWS);
    rows.skip(skip)
        .filter_map(|(label, a, b)| Some((label, parse_sealed_time(a)?, parse_sealed_time(b)?)))
        .collect()
}

fn charts(c: &Catalogue, report: &Report) -> String {
    let t = |k: &str| c.text("chart", k).to_owned();
    let mut out = String::new();
    match report {
        Report::Usage(r) => {
            let days = per_day(
                r.events_per_day
                    .iter()
                    .map(|d| (d.day.as_str(), &d.statuses)),
            );
            if !days.is_empty() {
                out.push_str(&svg::stacked_bars(c, &t("events_per_day"), &days));
            }
            if !r.latency_histogram.buckets.is_empty() {
                let bars: Vec<(String, f64)> = r
                    .latency_histogram
                    .buckets
                    .iter()
                    .map(|b| {
                        let label = match b.to_ms {
                            Some(_) => c.number(b.from_ms),
                            None => format!("≥{}", c.number(b.from_ms)),
                        };
                        (label, b.count as f64)
                    })
                    .collect();
                out.push_str(&svg::histogram(c, &t("latency"), &bars));
            }
            let dist = counts(&r.prediction_distribution);
            if !dist.is_empty() {
                out.push_str(&svg::hbars(c, &t("distribution"), &dist));
            }
            let versions = spans(
                r.version_timeline
                    .iter()
                    .map(|v| (v.version.clone(), v.first.as_str(), v.last.as_str())),
            );
            if !versions.is_empty() {
                out.push_str(&svg::timeline(c, &t("versions"), &versions));
            }
        }
        Report::Access(r) => {
            let models = counts(&r.models_used);
            if !models.is_empty() {
                out.push_str(&svg::hbars(c, &t("models_used"), &models));
            }
        }
        Report::Operations(r) => {
            let ops = spans(r.operations.iter().map(|o| {
                let label = match &o.id {
                    Some(id) if !o.name.is_empty() => format!("{} ({id})", o.name),
                    Some(id) => id.clone(),
                    None => o.name.clone(),
                };
                (label, o.first.as_str(), o.last.as_str())
            }));
            if !ops.is_empty() {
                out.push_str(&svg::timeline(c, &t("operations"), &ops));
            }
        }
        Report::AiAct(r) => {
            let days = per_day(
                r.incidents
                    .per_day
                    .iter()
                    .map(|d| (d.day.as_str(), &d.statuses)),
            );
            if !days.is_empty() {
                out.push_str(&svg::stacked_bars(c, &t("incidents"), &days));
            }
            let periods = spans(
                r.periods_of_use
                    .periods
                    .iter()
                    .map(|p| (p.model.clone(), p.start.as_str(), p.end.as_str())),
            );
            if !periods.is_empty() {
                out.push_str(&svg::timeline(c, &t("periods"), &periods));
            }
        }
        Report::Lineage(r) => {
            if !r.graph.nodes.is_empty() {
                out.push_str(&graph::draw(
                    c,
                    &t("lineage"),
                    &r.graph,
                    r.predictions.total,
                ));
            }
        }
        Report::Integrity(_) => {}
    }
    out
}
