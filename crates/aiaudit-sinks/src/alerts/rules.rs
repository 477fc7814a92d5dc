//! Alert rules as configured in the `[[alerts]]` array of `aiaudit.toml`, and their parsing.
//!
//! Parsing is strict: an unknown key, a key of another kind of rule, a value of the wrong type or
//! range, or an expression that does not parse is an error naming the rule, because a rule that
//! silently never fires is worse than a configuration that does not load.

use aiaudit_core::Status;
use toml::Value;

use super::RuleError;
use super::expr::{Expr, Field};

/// One alert rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(super) name: String,
    pub(super) status: Status,
    pub(super) cooldown_s: f64,
    pub(super) kind: RuleKind,
}

impl Rule {
    /// The rule's unique name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The status of the alerts it raises (WARNING unless configured).
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// At most one alert per this many seconds of event time (0: no limit).
    pub fn cooldown_s(&self) -> f64 {
        self.cooldown_s
    }

    /// What the rule watches.
    pub fn kind(&self) -> &RuleKind {
        &self.kind
    }
}

/// What a rule watches.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RuleKind {
    /// `when = '<expression>'`: every event for which the expression holds.
    Condition {
        /// The condition.
        when: Expr,
    },
    /// `metric = "details.…"` with `below` and/or `above`: every counted event whose metric is
    /// a number strictly beyond a bound.
    Metric {
        /// The numeric field watched.
        metric: Field,
        /// Alert when the value is less than this.
        below: Option<f64>,
        /// Alert when the value is greater than this.
        above: Option<f64>,
        /// Only events for which this holds count (`where`).
        filter: Option<Expr>,
    },
    /// `rate = "<event type>"`: the number of such events per time bucket, against its learned
    /// norm.
    Rate(RateSpec),
}

/// The settings of a rate anomaly rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSpec {
    /// The event type counted.
    pub event_type: String,
    /// Only events for which this holds count (`where`).
    pub filter: Option<Expr>,
    /// Bucket length in seconds of event time (default 60).
    pub window_s: f64,
    /// EWMA smoothing factor in (0, 1] (default 0.3): the weight of the newest bucket.
    pub alpha: f64,
    /// Alert when the deviation score's magnitude exceeds this (default 4.0).
    pub threshold: f64,
    /// Closed buckets learned before any alert (default 5).
    pub warmup: u64,
}

const COMMON: &[&str] = &["name", "status", "cooldown_s"];
const CONDITION: &[&str] = &["when"];
const METRIC: &[&str] = &["metric", "below", "above", "where"];
const RATE: &[&str] = &["rate", "where", "window_s", "alpha", "threshold", "warmup"];

/// Parses the alert rules. `v` is either the whole `aiaudit.toml` document (its `alerts` key is
/// read; no key means no rules) or the `alerts` array itself.
pub fn parse_rules(v: &Value) -> Result<Vec<Rule>, RuleError> {
    let list = match v {
        Value::Table(t) => match t.get("alerts") {
            None => return Ok(Vec::new()),
            Some(Value::Array(a)) => a,
            Some(other) => {
                return Err(RuleError::NotAnArray {
                    found: other.type_str().to_owned(),
                });
            }
        },
        Value::Array(a) => a,
        other => {
            return Err(RuleError::NotAnArray {
                found: other.type_str().to_owned(),
            });
        }
    };
    let mut rules: Vec<Rule> = Vec::with_capacity(list.len());
    for (index, item) in list.iter().enumerate() {
        let Value::Table(t) = item else {
            return Err(RuleError::NotATable { index });
        };
        let rule = parse_rule(index, t)?;
        if rules.iter().any(|r| r.name == rule.name) {
            return Err(RuleError::DuplicateName { rule: rule.name });
        }
        rules.push(rule);
    }
    Ok(rules)
}

fn parse_rule(index: usize, t: &toml::Table) -> Result<Rule, RuleError> {
    let name = match t.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(RuleError::MissingName { index }),
    };
    let invalid = |key: &str, why: String| RuleError::Invalid {
        rule: name.clone(),
        key: key.to_owned(),
        why,
    };
    let kinds: Vec<&str> = ["when", "metric", "rate"]
        .into_iter()
        .filter(|k| t.contains_key(*k))
        .collect();
    let (kind_name, allowed) = match kinds.as_slice() {
        ["when"] => ("condition", CONDITION),
        ["metric"] => ("metric", METRIC),
        ["rate"] => ("rate", RATE),
        _ => {
            return Err(RuleError::Kind {
                rule: name,
                found: if kinds.is_empty() {
                    "none".to_owned()
                } else {
                    kinds.join(" and ")
                },
            });
        }
    };
    for key in t.keys() {
        if COMMON.contains(&key.as_str()) || allowed.contains(&key.as_str()) {
            continue;
        }
        if [CONDITION, METRIC, RATE]
            .iter()
            .any(|k| k.contains(&key.as_str()))
        {
            return Err(invalid(
                key,
                format!("does not apply to a {kind_name} rule"),
            ));
        }
        return Err(RuleError::UnknownKey {
            rule: name,
            key: key.clone(),
        });
    }

    let status = match t.get("status") {
        None => Status::Warning,
        Some(Value::String(s)) => Status::standard(s).ok_or_else(|| {
            invalid(
                "status",
                format!(
                    "unknown status {s:?}: one of DEBUG, INFO, NOTICE, WARNING, ERROR, FAILURE, CRITICAL"
                ),
            )
        })?,
        Some(other) => {
            return Err(invalid("status", format!("expected a string, found {}", other.type_str())));
        }
    };
    let num = |key: &str| -> Result<Option<f64>, RuleError> {
        match t.get(key) {
            None => Ok(None),
            // Integers beyond 2^53 lose precision here; no sensible setting is that large.
            Some(Value::Integer(i)) => Ok(Some(*i as f64)),
            Some(Value::Float(f)) if f.is_finite() => Ok(Some(*f)),
            Some(other) => Err(invalid(
                key,
                format!("expected a finite number, found {}", other.type_str()),
            )),
        }
    };
    let cooldown_s = num("cooldown_s")?.unwrap_or(0.0);
    if cooldown_s < 0.0 {
        return Err(invalid("cooldown_s", "must not be negative".to_owned()));
    }
    let text = |key: &str| -> Result<Option<&str>, RuleError> {
        match t.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(invalid(
                key,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    };
    let expr = |key: &str| -> Result<Option<Expr>, RuleError> {
        let Some(src) = text(key)? else {
            return Ok(None);
        };
        Expr::parse(src).map(Some).map_err(|e| RuleError::Expr {
            rule: name.clone(),
            key: key.to_owned(),
            column: e.column,
            message: e.message,
        })
    };

    let kind = match kind_name {
        "condition" => RuleKind::Condition {
            // `kinds` says `when` is present; `expr` returns None only when it is absent.
            when: expr("when")?.ok_or_else(|| invalid("when", "missing".to_owned()))?,
        },
        "metric" => {
            let src = text("metric")?.unwrap_or_default();
            let metric = match Field::from_name(src) {
                Some(f @ (Field::Seq | Field::Details(_))) => f,
                _ => {
                    return Err(invalid(
                        "metric",
                        format!("{src:?} is not a numeric field: use details.<path> or seq"),
                    ));
                }
            };
            let (below, above) = (num("below")?, num("above")?);
            match (below, above) {
                (None, None) => {
                    return Err(invalid("metric", "needs below and/or above".to_owned()));
                }
                (Some(b), Some(a)) if b >= a => {
                    return Err(invalid(
                        "below",
                        format!("{b} is not less than above = {a}: every value would alert"),
                    ));
                }
                _ => {}
            }
            RuleKind::Metric {
                metric,
                below,
                above,
                filter: expr("where")?,
            }
        }
        _ => {
            let event_type = text("rate")?.unwrap_or_default().to_owned();
            if event_type.is_empty()
                || event_type
                    .chars()
                    .any(|c| c.is_whitespace() || c.is_control())
            {
                return Err(invalid(
                    "rate",
                    format!("{event_type:?} is not an event type"),
                ));
            }
            let window_s = num("window_s")?.unwrap_or(60.0);
            if window_s < 0.001 {
                return Err(invalid(
                    "window_s",
                    "must be at least 0.001 seconds".to_owned(),
                ));
            }
            let alpha = num("alpha")?.unwrap_or(0.3);
            if !(alpha > 0.0 && alpha <= 1.0) {
                return Err(invalid("alpha", format!("{alpha} is not in (0, 1]")));
            }
            let threshold = num("threshold")?.unwrap_or(4.0);
            if threshold <= 0.0 {
                return Err(invalid("threshold", "must be positive".to_owned()));
            }
            let warmup = match t.get("warmup") {
                None => 5,
                Some(Value::Integer(i)) if *i >= 0 => *i as u64,
                Some(Value::Integer(i)) => {
                    return Err(invalid("warmup", format!("{i} is negative")));
                }
                Some(other) => {
                    return Err(invalid(
                        "warmup",
                        format!("expected an integer, found {}", other.type_str()),
                    ));
                }
            };
            RuleKind::Rate(RateSpec {
                event_type,
                filter: expr("where")?,
                window_s,
                alpha,
                threshold,
                warmup,
            })
        }
    };
    Ok(Rule {
        name,
        status,
        cooldown_s,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Result<Vec<Rule>, RuleError> {
        parse_rules(&Value::Table(toml::from_str(src).expect("valid TOML")))
    }

    fn error(src: &str) -> String {
        parse(src).expect_err(src).to_string()
    }

    #[test]
    fn defaults_and_kinds() {
        let rules = parse(
            r#"
            [[alerts]]
            name = "drift"
            when = 'type == "drift"'
            [[alerts]]
            name = "accuracy"
            metric = "details.metrics.accuracy"
            below = 0.9
            status = "error"
            cooldown_s = 300
            [[alerts]]
            name = "rate"
            rate = "model_inference"
            "#,
        )
        .expect("parses");
        assert_eq!(rules.len(), 3);
        assert_eq!(
            (rules[0].status(), rules[0].cooldown_s()),
            (&Status::Warning, 0.0)
        );
        assert!(matches!(rules[0].kind(), RuleKind::Condition { .. }));
        assert_eq!(
            (rules[1].status(), rules[1].cooldown_s()),
            (&Status::Error, 300.0)
        );
        assert!(
            matches!(rules[1].kind(), RuleKind::Metric { below: Some(b), above: None, .. } if *b == 0.9)
        );
        let RuleKind::Rate(r) = rules[2].kind() else {
            panic!("a rate rule");
        };
        assert_eq!(
            (r.window_s, r.alpha, r.threshold, r.warmup),
            (60.0, 0.3, 4.0, 5)
        );
        // The bare array works too, and no `alerts` key means no rules.
        assert!(parse("x = 1").expect("parses").is_empty());
        let arr = Value::Array(vec![]);
        assert!(parse_rules(&arr).expect("parses").is_empty());
    }

    #[test]
    fn errors_name_the_rule() {
        let rule = |body: &str| error(&format!("[[alerts]]\nname = \"r\"\n{body}"));
        assert_eq!(
            rule("when = 'details.drift_score > '"),
            "rule \"r\": column 23: expected a value after >"
        );
        assert_eq!(
            rule("metric = \"details.a\"\nbelow = 1\nwhere = 'nope == 1'"),
            "rule \"r\": column 1: unknown field nope (known: type, status, name, model, \
             model.version, user, service, subject, operation, operation.name, regulations, \
             seq, details.<path>)"
        );
        assert_eq!(
            rule("when = 'true'\nwhne = 1"),
            "rule \"r\": unknown key whne"
        );
        assert_eq!(
            rule("when = 'true'\nwindow_s = 1"),
            "rule \"r\": window_s: does not apply to a condition rule"
        );
        assert_eq!(
            rule(""),
            "rule \"r\": needs exactly one of when, metric or rate, found none"
        );
        assert_eq!(
            rule("when = 'true'\nrate = \"x\""),
            "rule \"r\": needs exactly one of when, metric or rate, found when and rate"
        );
        assert!(
            rule("when = 'true'\nstatus = \"LOUD\"")
                .starts_with("rule \"r\": status: unknown status \"LOUD\"")
        );
        assert_eq!(
            rule("when = 'true'\ncooldown_s = -1"),
            "rule \"r\": cooldown_s: must not be negative"
        );
        assert_eq!(
            rule("when = 1"),
            "rule \"r\": when: expected a string, found integer"
        );
        assert_eq!(
            rule("metric = \"details.a\""),
            "rule \"r\": metric: needs below and/or above"
        );
        assert!(rule("metric = \"type\"\nbelow = 1").contains("is not a numeric field"));
        assert!(
            rule("metric = \"details.a\"\nbelow = 2\nabove = 1")
                .starts_with("rule \"r\": below: 2 is not less")
        );
        assert_eq!(
            rule("rate = \"\""),
            "rule \"r\": rate: \"\" is not an event type"
        );
        assert_eq!(
            rule("rate = \"x\"\nalpha = 0"),
            "rule \"r\": alpha: 0 is not in (0, 1]"
        );
        assert_eq!(
            rule("rate = \"x\"\nwarmup = -1"),
            "rule \"r\": warmup: -1 is negative"
        );
        assert_eq!(
            rule("rate = \"x\"\nwindow_s = 0"),
            "rule \"r\": window_s: must be at least 0.001 seconds"
        );
        assert_eq!(
            rule("rate = \"x\"\nthreshold = 0"),
            "rule \"r\": threshold: must be positive"
        );
        assert_eq!(
            error("[[alerts]]\nwhen = 'true'"),
            "alerts[0] has no name: every rule needs name = \"…\""
        );
        assert_eq!(
            error(
                "[[alerts]]\nname = \"a\"\nwhen = 'true'\n[[alerts]]\nname = \"a\"\nwhen = 'true'"
            ),
            "rule \"a\" is defined twice: rule names must be unique"
        );
        assert_eq!(
            error("alerts = 3"),
            "alerts must be an array of tables ([[alerts]]), found integer"
        );
        assert_eq!(error("alerts = [3]"), "alerts[0] is not a table");
        let e = parse("[[alerts]]\nname = \"d\"\nwhen = 'seq >'").expect_err("bad");
        assert_eq!(
            e,
            RuleError::Expr {
                rule: "d".into(),
                key: "when".into(),
                column: 6,
                message: "expected a value after >".into()
            }
        );
    }
}
