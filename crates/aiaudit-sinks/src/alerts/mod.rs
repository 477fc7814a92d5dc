//! Alert rules evaluated on committed events.
//!
//! Rules come from the `[[alerts]]` array of `aiaudit.toml` ([`parse_rules`]); an
//! [`AlertEngine`] observes sealed records (docs/format.md §1) one by one, in seq order, and
//! returns the [`Alert`]s they raise. Three kinds of rule:
//!
//! - **condition**: `when = 'status >= WARNING and type == "drift" and details.drift_score > 0.8'`;
//! - **metric threshold**: `metric = "details.metrics.accuracy"`, `below = 0.9` and/or `above`;
//! - **rate anomaly**: `rate = "model_inference"`, events per bucket against a learned EWMA norm.
//!
//! This module is pure logic: no I/O, no clock (all times are the records' own), state in
//! memory. Records of type `alert` are never observed, so an alert can never trigger alerts.

mod expr;
#[cfg(test)]
mod expr_tests;
mod parse;
mod rate;
mod rules;

pub use expr::{CmpOp, Expr, Field, Lit, Operand};
pub use parse::{ExprError, MAX_DEPTH};
pub use rules::{RateSpec, Rule, RuleKind, parse_rules};

use aiaudit_core::timefmt;
use serde::Serialize;
use serde_json::{Value, json};

use rate::RateState;

/// The event type of alert records; records of this type are never observed.
pub const ALERT_TYPE: &str = "alert";

/// Why the alert rules could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// `alerts` is not an array of tables.
    #[error("alerts must be an array of tables ([[alerts]]), found {found}")]
    NotAnArray {
        /// The TOML type found instead.
        found: String,
    },
    /// An entry of `alerts` is not a table.
    #[error("alerts[{index}] is not a table")]
    NotATable {
        /// Its position, from 0.
        index: usize,
    },
    /// A rule has no `name` (or an empty or non-string one).
    #[error("alerts[{index}] has no name: every rule needs name = \"…\"")]
    MissingName {
        /// Its position, from 0.
        index: usize,
    },
    /// Two rules share a name.
    #[error("rule \"{rule}\" is defined twice: rule names must be unique")]
    DuplicateName {
        /// The name.
        rule: String,
    },
    /// A rule has a key no rule knows.
    #[error("rule \"{rule}\": unknown key {key}")]
    UnknownKey {
        /// The rule.
        rule: String,
        /// The key.
        key: String,
    },
    /// A rule has none, or more than one, of `when`, `metric` and `rate`.
    #[error("rule \"{rule}\": needs exactly one of when, metric or rate, found {found}")]
    Kind {
        /// The rule.
        rule: String,
        /// What it has (`none`, `when and rate`).
        found: String,
    },
    /// A setting has the wrong type or is out of range.
    #[error("rule \"{rule}\": {key}: {why}")]
    Invalid {
        /// The rule.
        rule: String,
        /// The key.
        key: String,
        /// What is wrong with it.
        why: String,
    },
    /// An expression (`when` or `where`) did not parse.
    #[error("rule \"{rule}\": column {column}: {message}")]
    Expr {
        /// The rule.
        rule: String,
        /// `when` or `where` (a rule has at most one expression).
        key: String,
        /// 1-based column, in characters, inside the expression.
        column: usize,
        /// What was wrong.
        message: String,
    },
}

/// An alert raised by a rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// The rule's name.
    pub rule: String,
    /// The status of the alert (the rule's `status`).
    pub status: String,
    /// One human sentence saying what happened.
    pub message: String,
    /// The triggering event's `seq`, `id` and `time`, the rule `kind`, and the value and
    /// threshold (metric) or count, mean and score (rate).
    pub details: Value,
}

/// Evaluates rules on committed records; its state (rate averages, cooldowns) lives in memory.
#[derive(Debug, Clone)]
pub struct AlertEngine {
    rules: Vec<Rule>,
    state: Vec<RuleState>,
}

#[derive(Debug, Clone, Default)]
struct RuleState {
    /// Event time of the last alert raised (not suppressed), Unix nanoseconds.
    last_alert_ns: Option<i64>,
    rate: RateState,
}

impl AlertEngine {
    /// An engine for these rules.
    pub fn new(rules: Vec<Rule>) -> AlertEngine {
        let state = vec![RuleState::default(); rules.len()];
        AlertEngine { rules, state }
    }

    /// An engine for the rules of a configuration (see [`parse_rules`]).
    pub fn from_config(v: &toml::Value) -> Result<AlertEngine, RuleError> {
        parse_rules(v).map(AlertEngine::new)
    }

    /// The rules, in configuration order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Observes one sealed record (in seq order) and returns the alerts it raises, in rule
    /// order. Never fails: a record lacking a field simply does not match what reads it, and a
    /// record without a readable `time` is skipped by rate rules and by cooldowns.
    pub fn observe(&mut self, record: &Value) -> Vec<Alert> {
        if record.get("type").and_then(Value::as_str) == Some(ALERT_TYPE) {
            return Vec::new();
        }
        let time_ns = record
            .get("time")
            .and_then(Value::as_str)
            .and_then(|s| timefmt::parse_sealed_time(s).or_else(|| timefmt::parse_rfc3339(s).ok()));
        let mut out = Vec::new();
        for (rule, state) in self.rules.iter().zip(self.state.iter_mut()) {
            let Some((message, details)) = evaluate(rule, state, record, time_ns) else {
                continue;
            };
            if let Some(t) = time_ns {
                let cooldown_ns = (rule.cooldown_s * 1e9) as i64;
                let cooling = state
                    .last_alert_ns
                    .is_some_and(|last| t < last.saturating_add(cooldown_ns));
                if cooldown_ns > 0 && cooling {
                    continue;
                }
                state.last_alert_ns = Some(t);
            }
            out.push(Alert {
                rule: rule.name.clone(),
                status: rule.status.as_str().to_owned(),
                message: format!("rule \"{}\": {message}", rule.name),
                details,
            });
        }
        out
    }
}

/// The message (without the rule prefix) and details of the alert `rule` raises on `record`.
fn evaluate(
    rule: &Rule,
    state: &mut RuleState,
    record: &Value,
    time_ns: Option<i64>,
) -> Option<(String, Value)> {
    // Built only once the rule fires: most records raise nothing, and this clones.
    let common = || {
        let seq = record.get("seq").cloned().unwrap_or(Value::Null);
        let seq_text = match &seq {
            Value::Null => "no seq".to_owned(),
            s => format!("seq {s}"),
        };
        let details = json!({
            "rule": rule.name,
            "seq": seq,
            "id": record.get("id").cloned().unwrap_or(Value::Null),
            "time": record.get("time").cloned().unwrap_or(Value::Null),
        });
        (seq_text, details)
    };
    let event_type = record
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("untyped");
    let message = match &rule.kind {
        RuleKind::Condition { when } => {
            if !when.eval(record) {
                return None;
            }
            let status = record.get("status").and_then(Value::as_str).unwrap_or("?");
            let (seq_text, mut details) = common();
            extend(
                &mut details,
                json!({"kind": "condition", "when": when.to_string(), "event_type": event_type}),
            );
            let message = format!("{status} {event_type} event ({seq_text}) matches {when}");
            (message, details)
        }
        RuleKind::Metric {
            metric,
            below,
            above,
            filter,
        } => {
            if filter.as_ref().is_some_and(|f| !f.eval(record)) {
                return None;
            }
            let value = metric.get(record)?.as_f64()?;
            let (side, bound) = match (below, above) {
                (Some(b), _) if value < *b => ("below", *b),
                (_, Some(a)) if value > *a => ("above", *a),
                _ => return None,
            };
            let (seq_text, mut details) = common();
            extend(
                &mut details,
                json!({
                    "kind": "metric", "metric": metric.to_string(), "value": value,
                    "bound": side, "threshold": bound, "event_type": event_type,
                }),
            );
            let message = format!("{metric} = {value} is {side} {bound} ({seq_text})");
            (message, details)
        }
        RuleKind::Rate(spec) => {
            let counts = event_type == spec.event_type
                && spec.filter.as_ref().is_none_or(|f| f.eval(record));
            let a = state.rate.observe(spec, time_ns?, counts)?;
            let (verb, direction) = if a.score > 0.0 {
                ("jumped to", "jump")
            } else {
                ("dropped to", "drop")
            };
            let start = timefmt::format_rfc3339(a.bucket_start_ns);
            let (seq_text, mut details) = common();
            extend(
                &mut details,
                json!({
                    "kind": "rate", "event_type": spec.event_type, "direction": direction,
                    "count": a.count, "mean": a.mean, "score": a.score, "threshold": spec.threshold,
                    "window_s": spec.window_s, "bucket_start": start,
                }),
            );
            let message = format!(
                "{} rate {verb} {} per {} s in the bucket from {start} (mean {:.1}, score {:.1}; {seq_text})",
                spec.event_type, a.count, spec.window_s, a.mean, a.score
            );
            (message, details)
        }
    };
    Some(message)
}

/// Adds `more`'s members to the object `base`.
fn extend(base: &mut Value, more: Value) {
    if let (Value::Object(b), Value::Object(m)) = (base, more) {
        b.extend(m);
    }
}
