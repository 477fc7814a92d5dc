//! Renders aiaudit's compliance reports (the typed data of [`aiaudit_core::report`], made by
//! `aiaudit::reports`) for people:
//! Markdown, and one self-contained HTML file — inline CSS and SVG charts, no script, nothing
//! fetched — that prints well to PDF. The words come from message catalogues (English, German,
//! French); numbers and dates follow the chosen language's conventions.
//!
//! ```
//! use aiaudit_core::report::{AccessReport, AccessRow, Report};
//! use aiaudit_report::{Context, Lang};
//! use std::collections::BTreeMap;
//!
//! let report = Report::Access(AccessReport {
//!     user_id: "u-17".into(),
//!     period_days: 30,
//!     total_requests: 1234,
//!     models_used: BTreeMap::from([("credit-risk".to_owned(), 1234)]),
//!     requests: vec![AccessRow {
//!         request_id: "r-1".into(),
//!         timestamp: "2026-11-24T09:30:00.000000000Z".into(),
//!         model: "credit-risk".into(),
//!     }],
//! });
//! let ctx = Context::new(Lang::De, "aiaudit.example/log", 1_764_000_000_000_000_000);
//! let md = aiaudit_report::markdown(&report, &ctx)?;
//! assert!(md.starts_with("# Datenzugriff: u-17, letzte 30 Tage"), "{md}");
//! assert!(md.contains("| Anfragen gesamt | 1.234 |"), "{md}");
//! assert!(md.contains("24.11.2026, 09:30:00 UTC"));
//!
//! let html = aiaudit_report::html(&report, &ctx)?;
//! assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<svg"));
//! assert!(!html.contains("<script"));
//! # Ok::<(), aiaudit_report::Error>(())
//! ```

mod catalogue;
mod fields;
mod html;
mod markdown;
mod verdicts;

pub use catalogue::Catalogue;
pub use html::render as html;
pub use markdown::render as markdown;

use aiaudit_core::report::Report;
use serde_json::Value;
use std::fmt;
use std::str::FromStr;

/// What went wrong while rendering.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A language with no catalogue.
    #[error("no report texts in {0:?}: use en, de or fr")]
    UnknownLanguage(String),
    /// A report kind that does not exist.
    #[error("no report {0:?}: use usage, access, operations, integrity, ai-act or lineage")]
    UnknownKind(String),
    /// A report whose data does not become JSON (a defect).
    #[error("the report does not serialize: {0}")]
    Data(#[source] serde_json::Error),
    /// A catalogue compiled into the binary does not parse (a build defect).
    #[error("the {lang} report catalogue is malformed: {source}")]
    Catalogue {
        /// The catalogue's language.
        lang: &'static str,
        /// Why it does not parse.
        #[source]
        source: toml::de::Error,
    },
}

/// A language the reports are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English.
    En,
    /// German.
    De,
    /// French.
    Fr,
}

impl Lang {
    /// Every language with a catalogue.
    pub const ALL: [Lang; 3] = [Lang::En, Lang::De, Lang::Fr];

    /// The BCP 47 tag (`en`, `de`, `fr`).
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Fr => "fr",
        }
    }
}

impl FromStr for Lang {
    type Err = Error;

    /// A tag, ignoring case and any region (`de-CH` is German).
    fn from_str(s: &str) -> Result<Self, Error> {
        let primary = s.split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .into_iter()
            .find(|l| l.tag().eq_ignore_ascii_case(primary))
            .ok_or_else(|| Error::UnknownLanguage(s.to_owned()))
    }
}

impl fmt::Display for Lang {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// A report kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A model's usage.
    Usage,
    /// A user's data access (GDPR Art. 15).
    Access,
    /// Operations and audit trails.
    Operations,
    /// Verification and checkpoints.
    Integrity,
    /// EU AI Act record keeping.
    AiAct,
    /// A model version's lineage.
    Lineage,
}

impl Kind {
    /// Every kind.
    pub const ALL: [Kind; 6] = [
        Kind::Usage,
        Kind::Access,
        Kind::Operations,
        Kind::Integrity,
        Kind::AiAct,
        Kind::Lineage,
    ];

    /// The kind of a made report.
    pub fn of(report: &Report) -> Kind {
        match report {
            Report::Access(_) => Kind::Access,
            Report::Operations(_) => Kind::Operations,
            Report::Integrity(_) => Kind::Integrity,
            Report::AiAct(_) => Kind::AiAct,
            Report::Lineage(_) => Kind::Lineage,
            Report::Usage(_) => Kind::Usage,
        }
    }

    /// The name used on the command line and in URLs (`ai-act`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Usage => "usage",
            Kind::Access => "access",
            Kind::Operations => "operations",
            Kind::Integrity => "integrity",
            Kind::AiAct => "ai-act",
            Kind::Lineage => "lineage",
        }
    }

    /// The catalogue key of its title.
    fn key(self) -> &'static str {
        match self {
            Kind::AiAct => "ai_act",
            k => k.name(),
        }
    }
}

impl FromStr for Kind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Kind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::UnknownKind(s.to_owned()))
    }
}

/// What a rendering needs besides the report: the language, the log's origin, and when the
/// report was made.
#[derive(Debug, Clone)]
pub struct Context {
    /// The language.
    pub lang: Lang,
    /// The log's origin (its checkpoint name).
    pub origin: String,
    /// When the report was made, Unix ns.
    pub generated_ns: i64,
}

impl Context {
    /// A context.
    pub fn new(lang: Lang, origin: impl Into<String>, generated_ns: i64) -> Self {
        Context {
            lang,
            origin: origin.into(),
            generated_ns,
        }
    }
}

/// The report's title, with its parameters filled in from the report.
fn title(c: &Catalogue, report: &Report) -> String {
    let (model, version, user, days) = match report {
        Report::Usage(r) => (r.model.as_str(), "", "", Some(r.period_days)),
        Report::Access(r) => ("", "", r.user_id.as_str(), Some(r.period_days)),
        Report::Lineage(r) => (r.model.as_str(), r.version.as_str(), "", None),
        _ => ("", "", "", None),
    };
    let days = days.map(|d| c.value(&Value::from(d))).unwrap_or_default();
    c.fill(
        c.text("title", Kind::of(report).key()),
        &[
            ("model", model),
            ("version", version),
            ("user", user),
            ("days", &days),
        ],
    )
}

/// The report as the JSON the generic sections walk.
fn data(report: &Report) -> Result<Value, Error> {
    serde_json::to_value(report).map_err(Error::Data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_parse_with_regions() {
        assert_eq!("de-CH".parse::<Lang>().ok(), Some(Lang::De));
        assert_eq!("FR".parse::<Lang>().ok(), Some(Lang::Fr));
        let e = "pt".parse::<Lang>().err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some("no report texts in \"pt\": use en, de or fr")
        );
        assert_eq!("ai-act".parse::<Kind>().ok(), Some(Kind::AiAct));
        assert!("ai_act".parse::<Kind>().is_err());
    }
}
