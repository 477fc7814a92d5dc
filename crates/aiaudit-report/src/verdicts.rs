//! What a report states at its top, before its figures: whether the log is intact, whether it
//! covers six months, whether the lineage is proven, whether there was anything to report. The
//! same for every format.

use aiaudit_core::report::Report;
use serde_json::Value;

use crate::catalogue::Catalogue;

/// A statement at the top of a report: good, bad, or for information.
pub(crate) struct Verdict {
    pub ok: Option<bool>,
    pub text: String,
}

/// The report's verdicts.
pub(crate) fn verdicts(c: &Catalogue, report: &Report) -> Vec<Verdict> {
    let mut out = Vec::new();
    let mut say = |ok: Option<bool>, text: String| out.push(Verdict { ok, text });
    match report {
        Report::Integrity(r) => {
            let text = match r.first_bad_seq {
                _ if r.intact => c.text("text", "intact_yes").to_owned(),
                Some(seq) => c.fill(
                    c.text("text", "intact_no"),
                    &[("seq", &c.value(&Value::from(seq)))],
                ),
                None => c.fill(c.text("text", "intact_no"), &[("seq", "?")]),
            };
            say(Some(r.intact), text);
        }
        Report::AiAct(r) => {
            let ok = r.coverage.covers_six_months;
            let key = if ok { "covers_yes" } else { "covers_no" };
            say(Some(ok), c.text("text", key).to_owned());
        }
        Report::Usage(r) if r.total_predictions == 0 => {
            say(None, c.text("text", "no_predictions").to_owned());
        }
        Report::Lineage(r) => {
            let e = &r.evidence;
            let size = c.value(&Value::from(e.checkpoint_size));
            let text = if e.proven {
                c.fill(
                    c.text("text", "lineage_proven"),
                    &[
                        ("n", &c.value(&Value::from(e.events_proven))),
                        ("size", &size),
                    ],
                )
            } else {
                c.fill(
                    c.text("text", "lineage_unproven"),
                    &[("size", &size), ("why", e.problem.as_deref().unwrap_or(""))],
                )
            };
            say(Some(e.proven), text);
            let open: Vec<String> = r
                .runs
                .iter()
                .filter(|run| run.ended == Some(false))
                .map(|run| format!("#{} {}", run.seq, run.name))
                .collect();
            if !open.is_empty() {
                say(
                    Some(false),
                    c.fill(
                        c.text("text", "lineage_open_runs"),
                        &[
                            ("n", &c.value(&Value::from(open.len()))),
                            ("runs", &open.join("; ")),
                        ],
                    ),
                );
            }
            if !r.truncated.is_empty() {
                say(None, c.text("text", "lineage_truncated").to_owned());
            }
        }
        _ => {}
    }
    if let Some(since) = report.since() {
        say(
            None,
            c.fill(
                c.text("text", "since"),
                &[("time", &c.value(&Value::String(since.to_owned())))],
            ),
        );
    }
    out
}
