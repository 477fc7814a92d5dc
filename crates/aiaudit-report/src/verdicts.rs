//! What a report states at its top, before its figures: whether the log is intact, whether it
//! covers six months, whether there was anything to report. The same for every format.

use serde_json::Value;

use crate::Kind;
use crate::catalogue::Catalogue;

/// A statement at the top of a report: good, bad, or for information.
pub(crate) struct Verdict {
    pub ok: Option<bool>,
    pub text: String,
}

/// The report's verdicts: whether the log is intact, whether it covers six months, whether
/// there was anything to report.
pub(crate) fn verdicts(c: &Catalogue, kind: Kind, v: &Value) -> Vec<Verdict> {
    let mut out = Vec::new();
    match kind {
        Kind::Integrity => {
            let ok = v["intact"].as_bool().unwrap_or(false);
            let text = if ok {
                c.text("text", "intact_yes").to_owned()
            } else {
                c.fill(
                    c.text("text", "intact_no"),
                    &[("seq", &c.value(&v["first_bad_seq"]))],
                )
            };
            out.push(Verdict { ok: Some(ok), text });
        }
        Kind::AiAct => {
            let ok = v["coverage"]["covers_six_months"]
                .as_bool()
                .unwrap_or(false);
            let key = if ok { "covers_yes" } else { "covers_no" };
            out.push(Verdict {
                ok: Some(ok),
                text: c.text("text", key).to_owned(),
            });
        }
        Kind::Usage if v["total_predictions"].as_u64() == Some(0) => out.push(Verdict {
            ok: None,
            text: c.text("text", "no_predictions").to_owned(),
        }),
        _ => {}
    }
    if v["since"].is_string() {
        out.push(Verdict {
            ok: None,
            text: c.fill(c.text("text", "since"), &[("time", &c.value(&v["since"]))]),
        });
    }
    out
}
