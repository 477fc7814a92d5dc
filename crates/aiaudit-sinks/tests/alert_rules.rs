//! Alert rules as scenarios: rules loaded from `aiaudit.toml` text, fed sealed records in seq
//! order, checked for exactly the alerts they raise.

use aiaudit_core::Status;
use aiaudit_core::timefmt::format_rfc3339;
use aiaudit_sinks::alerts::{Alert, AlertEngine, CmpOp, Expr, Field, Lit, Operand, parse_rules};
use proptest::prelude::*;
use serde_json::{Value, json};

const S: i64 = 1_000_000_000;
/// 2026-01-01T00:00:00Z, a whole minute, so minute buckets start on record minutes.
const T0: i64 = 1_767_225_600 * S;

fn engine(toml_text: &str) -> AlertEngine {
    let doc: toml::Table = toml::from_str(toml_text).expect("valid TOML");
    AlertEngine::from_config(&toml::Value::Table(doc)).expect("valid rules")
}

/// Builds sealed records in seq order (the shape of docs/format.md §1).
#[derive(Default)]
struct Log {
    seq: u64,
}

impl Log {
    fn record(&mut self, time_ns: i64, ty: &str, status: &str, details: Value) -> Value {
        let seq = self.seq;
        self.seq += 1;
        json!({
            "v": 1, "seq": seq, "id": format!("01900000-0000-7000-8000-{seq:012x}"),
            "time": format_rfc3339(time_ns), "type": ty, "name": format!("{ty} event"),
            "status": status, "source": {"host": "h", "pid": 1}, "details": details,
        })
    }
}

#[test]
fn drift_rule_fires_only_for_a_drift_warning_above_0_8() {
    let mut e = engine(
        r#"
        [[alerts]]
        name = "drift"
        when = 'status >= WARNING and type == "drift" and details.drift_score > 0.8'
        "#,
    );
    let mut log = Log::default();
    let mut fired = Vec::new();
    for (ty, status, details) in [
        (
            "drift",
            "WARNING",
            json!({"feature": "age", "drift_score": 0.8}),
        ),
        (
            "drift",
            "INFO",
            json!({"feature": "age", "drift_score": 0.95}),
        ),
        ("evaluation", "WARNING", json!({"drift_score": 0.95})),
        ("drift", "WARNING", json!({"feature": "age"})),
        (
            "drift",
            "WARNING",
            json!({"feature": "age", "drift_score": "0.9"}),
        ),
        (
            "drift",
            "WARNING",
            json!({"feature": "user_age", "drift_score": 0.85}),
        ),
        (
            "drift",
            "CRITICAL",
            json!({"feature": "income", "drift_score": 0.99}),
        ),
    ] {
        let r = log.record(T0, ty, status, details);
        fired.extend(e.observe(&r));
    }
    let seqs: Vec<&Value> = fired.iter().map(|a| &a.details["seq"]).collect();
    assert_eq!(seqs, [&json!(5), &json!(6)]);
    let a = &fired[0];
    assert_eq!((a.rule.as_str(), a.status.as_str()), ("drift", "WARNING"));
    assert_eq!(
        a.message,
        "rule \"drift\": WARNING drift event (seq 5) matches status >= WARNING and \
         type == \"drift\" and details.drift_score > 0.8"
    );
    assert_eq!(a.details["kind"], "condition");
    assert_eq!(a.details["id"], "01900000-0000-7000-8000-000000000005");
}

#[test]
fn seed_000_accuracy_anomaly_as_a_metric_rule() {
    // Seed 000: `if metrics["accuracy"] < 0.8: log_event("Anomaly Detected: ...", WARNING)`.
    let mut e = engine(
        r#"
        [[alerts]]
        name = "accuracy drop"
        metric = "details.metrics.accuracy"
        below = 0.9
        where = 'type == "evaluation"'
        status = "ERROR"

        [[alerts]]
        name = "seed accuracy"
        metric = "details.accuracy"
        below = 0.8
        "#,
    );
    let mut log = Log::default();
    let mut alerts: Vec<Alert> = Vec::new();
    for i in 0..45 {
        let r = match i {
            // The seed's own events: training at 0.91 and 0.92, the anomaly at 0.75.
            3 => log.record(
                T0,
                "model_training",
                "INFO",
                json!({"accuracy": 0.91, "loss": 0.25}),
            ),
            4 => log.record(
                T0,
                "model_training",
                "INFO",
                json!({"iterations": 150, "accuracy": 0.92}),
            ),
            5 => log.record(
                T0,
                "evaluation",
                "INFO",
                json!({"accuracy": 0.75, "threshold": 0.8}),
            ),
            // Not an evaluation: the where clause leaves it out.
            10 => log.record(
                T0,
                "model_inference",
                "INFO",
                json!({"metrics": {"accuracy": 0.1}}),
            ),
            // Exactly on the bound is not below it.
            20 => log.record(
                T0,
                "evaluation",
                "INFO",
                json!({"metrics": {"accuracy": 0.9}}),
            ),
            41 => log.record(
                T0,
                "evaluation",
                "INFO",
                json!({"metrics": {"accuracy": 0.82}}),
            ),
            _ => log.record(
                T0,
                "evaluation",
                "INFO",
                json!({"metrics": {"accuracy": 0.95}}),
            ),
        };
        alerts.extend(e.observe(&r));
    }
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    assert_eq!(alerts[0].rule, "seed accuracy");
    assert_eq!(
        alerts[0].message,
        "rule \"seed accuracy\": details.accuracy = 0.75 is below 0.8 (seq 5)"
    );
    assert_eq!(alerts[1].status, "ERROR");
    assert_eq!(
        alerts[1].message,
        "rule \"accuracy drop\": details.metrics.accuracy = 0.82 is below 0.9 (seq 41)"
    );
    let d = &alerts[1].details;
    assert_eq!(
        (d["kind"].as_str(), d["value"].as_f64()),
        (Some("metric"), Some(0.82))
    );
    assert_eq!(
        (d["bound"].as_str(), d["threshold"].as_f64()),
        (Some("below"), Some(0.9))
    );
    assert_eq!(d["seq"], 41);
}

/// A deterministic noisy count: 100 ± 10 (a linear congruential generator).
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        90 + (self.0 >> 33) % 21
    }
}

/// `count` inferences spread over minute `m`, plus an unrelated event, into `e`.
fn minute(e: &mut AlertEngine, log: &mut Log, m: i64, count: u64) -> Vec<Alert> {
    let mut out = Vec::new();
    let start = T0 + m * 60 * S;
    let r = log.record(start, "data_access", "INFO", json!({}));
    out.extend(e.observe(&r));
    for i in 0..count {
        let t = start + (i as i64) * (60 * S) / (count as i64);
        let r = log.record(t, "model_inference", "INFO", json!({"latency_ms": 3}));
        out.extend(e.observe(&r));
    }
    out
}

const RATE_RULE: &str = r#"
[[alerts]]
name = "inference rate"
rate = "model_inference"
window_s = 60
"#;

#[test]
fn rate_is_quiet_on_steady_noise_for_many_noise_sequences() {
    for seed in 1..=100 {
        let mut e = engine(RATE_RULE);
        let mut log = Log::default();
        let mut noise = Noise(seed);
        for m in 0..30 {
            let alerts = minute(&mut e, &mut log, m, noise.next());
            assert!(alerts.is_empty(), "seed {seed}, minute {m}: {alerts:#?}");
        }
    }
}

#[test]
fn rate_is_quiet_on_steady_noise_and_fires_on_a_jump() {
    let mut e = engine(RATE_RULE);
    let mut log = Log::default();
    let mut noise = Noise(7);
    for m in 0..30 {
        let alerts = minute(&mut e, &mut log, m, noise.next());
        assert!(alerts.is_empty(), "minute {m}: {alerts:#?}");
    }
    assert!(
        minute(&mut e, &mut log, 30, 400).is_empty(),
        "the bucket is still open"
    );
    let alerts = minute(&mut e, &mut log, 31, noise.next());
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    let d = &a.details;
    assert_eq!(
        (d["kind"].as_str(), d["direction"].as_str()),
        (Some("rate"), Some("jump"))
    );
    assert_eq!(d["count"], 400);
    let mean = d["mean"].as_f64().expect("mean");
    assert!((90.0..=110.0).contains(&mean), "{mean}");
    assert!(d["score"].as_f64().expect("score") > 4.0);
    assert_eq!(d["bucket_start"], "2026-01-01T00:30:00.000000000Z");
    assert!(
        a.message.starts_with(
            "rule \"inference rate\": model_inference rate jumped to 400 per 60 s in the bucket \
             from 2026-01-01T00:30:00.000000000Z (mean "
        ),
        "{}",
        a.message
    );
}

#[test]
fn rate_fires_when_it_drops_to_zero() {
    let mut e = engine(RATE_RULE);
    let mut log = Log::default();
    let mut noise = Noise(11);
    for m in 0..30 {
        assert!(
            minute(&mut e, &mut log, m, noise.next()).is_empty(),
            "minute {m}"
        );
    }
    // Minutes 30..=32 hold no inference at all; other events still arrive.
    let mut alerts = Vec::new();
    for m in 30..33 {
        alerts.extend(minute(&mut e, &mut log, m, 0));
    }
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let d = &alerts[0].details;
    assert_eq!(
        (d["direction"].as_str(), d["count"].as_u64()),
        (Some("drop"), Some(0))
    );
    assert!(d["score"].as_f64().expect("score") < -4.0);
    assert!(
        alerts[0].message.contains("rate dropped to 0 per 60 s"),
        "{}",
        alerts[0].message
    );

    // A silence with no record at all is seen when the next record arrives.
    let mut e = engine(RATE_RULE);
    let mut noise = Noise(3);
    for m in 0..30 {
        assert!(minute(&mut e, &mut log, m, noise.next()).is_empty());
    }
    let alerts = minute(&mut e, &mut log, 45, 100);
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].details["bucket_start"],
        "2026-01-01T00:30:00.000000000Z"
    );
}

#[test]
fn cooldown_limits_alerts_by_event_time() {
    let mut e = engine(
        r#"
        [[alerts]]
        name = "errors"
        when = 'status >= ERROR'
        status = "CRITICAL"
        cooldown_s = 60
        [[alerts]]
        name = "all errors"
        when = 'status >= ERROR'
        "#,
    );
    let mut log = Log::default();
    let mut cooled = Vec::new();
    let mut all = 0;
    for s in [0, 10, 59, 60, 61, 119, 130] {
        for a in e.observe(&log.record(T0 + s * S, "error", "ERROR", json!({}))) {
            if a.rule == "errors" {
                assert_eq!(a.status, "CRITICAL");
                cooled.push(s);
            } else {
                all += 1;
            }
        }
    }
    assert_eq!(cooled, [0, 60, 130]);
    assert_eq!(all, 7);
}

#[test]
fn alert_records_are_never_observed() {
    let mut e = engine(
        r#"
        [[alerts]]
        name = "everything"
        when = 'true'
        [[alerts]]
        name = "alert rate"
        rate = "alert"
        window_s = 1
        warmup = 0
        "#,
    );
    let mut log = Log::default();
    for s in 0..20 {
        let r = log.record(
            T0 + s * S,
            "alert",
            "WARNING",
            json!({"rule": "everything"}),
        );
        assert!(e.observe(&r).is_empty());
    }
    let r = log.record(T0 + 30 * S, "event", "INFO", json!({}));
    let alerts = e.observe(&r);
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].rule, "everything");
}

#[test]
fn rules_refuse_unknown_fields_with_the_column() {
    let doc: toml::Table = toml::from_str(
        "[[alerts]]\nname = \"drift\"\nwhen = 'status >= WARNING and typ == \"drift\"'",
    )
    .expect("TOML");
    let e = parse_rules(&toml::Value::Table(doc)).expect_err("unknown field");
    assert!(
        e.to_string()
            .starts_with("rule \"drift\": column 23: unknown field typ"),
        "{e}"
    );
}

// ---- properties ----

fn record_samples() -> Vec<Value> {
    let mut log = Log::default();
    vec![
        log.record(
            T0,
            "drift",
            "WARNING",
            json!({"a": 1, "b": "x", "c": true, "d": [1, "x"]}),
        ),
        json!({"seq": 3, "type": "alert", "status": "AUDITED", "regulations": ["GDPR"],
               "model": {"name": "m", "version": "1"}, "actor": {"user": "u"},
               "details": {"a": -0.5, "b": null, "c": false, "d": {"e": 2}}}),
        json!({}),
    ]
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        Just(Field::Type),
        Just(Field::Status),
        Just(Field::Name),
        Just(Field::Model),
        Just(Field::ModelVersion),
        Just(Field::User),
        Just(Field::Service),
        Just(Field::Subject),
        Just(Field::Operation),
        Just(Field::OperationName),
        Just(Field::Regulations),
        Just(Field::Seq),
        prop::collection::vec("[a-e0-9_-]{1,3}", 1..3).prop_map(Field::Details),
    ]
}

fn lit() -> impl Strategy<Value = Lit> {
    prop_oneof![
        any::<String>().prop_map(Lit::Str),
        "[a-c\"\\\\ ]{0,4}".prop_map(Lit::Str),
        any::<f64>()
            .prop_filter("finite", |n| n.is_finite())
            .prop_map(Lit::Num),
        (-5i32..5).prop_map(|n| Lit::Num(f64::from(n) / 2.0)),
        any::<bool>().prop_map(Lit::Bool),
        Just(Lit::Null),
        prop::sample::select(Status::STANDARD.to_vec()).prop_map(Lit::Status),
    ]
}

fn op() -> impl Strategy<Value = CmpOp> {
    prop::sample::select(vec![
        CmpOp::Eq,
        CmpOp::Ne,
        CmpOp::Lt,
        CmpOp::Le,
        CmpOp::Gt,
        CmpOp::Ge,
    ])
}

fn operand() -> impl Strategy<Value = Operand> {
    prop_oneof![
        field().prop_map(Operand::Field),
        lit().prop_map(Operand::Lit)
    ]
}

/// Expressions in the parser's canonical shapes (what `Expr::parse` can produce).
fn expr() -> impl Strategy<Value = Expr> {
    let is_ordered_status_vs_str = |l: &Operand, op: CmpOp, r: &Operand| {
        let sv = |a: &Operand, b: &Operand| {
            matches!(a, Operand::Field(Field::Status)) && matches!(b, Operand::Lit(Lit::Str(_)))
        };
        !matches!(op, CmpOp::Eq | CmpOp::Ne) && (sv(l, r) || sv(r, l))
    };
    let leaf = prop_oneof![
        (operand(), op(), operand())
            .prop_filter("status orders by name", move |(l, o, r)| {
                !is_ordered_status_vs_str(l, *o, r)
            })
            .prop_map(|(lhs, op, rhs)| Expr::Cmp { lhs, op, rhs }),
        (operand(), prop::collection::vec(lit(), 0..3)).prop_map(|(lhs, items)| Expr::Cmp {
            lhs,
            op: CmpOp::In,
            rhs: Operand::List(items),
        }),
        (operand(), field()).prop_map(|(lhs, f)| Expr::Cmp {
            lhs,
            op: CmpOp::In,
            rhs: Operand::Field(f),
        }),
        prop::collection::vec("[a-e0-9_-]{1,3}", 1..3)
            .prop_map(|k| Expr::Test(Operand::Field(Field::Details(k)))),
        any::<bool>().prop_map(|b| Expr::Test(Operand::Lit(Lit::Bool(b)))),
    ];
    leaf.prop_recursive(5, 48, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Expr::Or),
            inner.prop_map(|e| Expr::Not(Box::new(e))),
        ]
    })
}

const FRAGMENTS: &[&str] = &[
    "status",
    ">=",
    "WARNING",
    "and",
    "or",
    "not",
    "(",
    ")",
    "\"x\"",
    "in",
    "[",
    "]",
    ",",
    "details.a",
    "details.d.0",
    "1",
    "-2.5e3",
    "==",
    "!=",
    "<",
    "regulations",
    "\"",
    "\\",
    "true",
    "null",
    "seq",
    "=",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parser_never_panics(src in any::<String>()) {
        let _ = Expr::parse(&src);
    }

    #[test]
    fn token_soup_parses_or_errors_and_round_trips(
        parts in prop::collection::vec(prop::sample::select(FRAGMENTS.to_vec()), 0..16)
    ) {
        let src = parts.join(" ");
        if let Ok(e) = Expr::parse(&src) {
            let printed = e.to_string();
            prop_assert_eq!(Expr::parse(&printed).ok(), Some(e));
        }
    }

    #[test]
    fn printed_then_parsed_evaluates_the_same(e in expr()) {
        let printed = e.to_string();
        let back = Expr::parse(&printed);
        prop_assert!(back.is_ok(), "{} did not parse: {:?}", printed, back);
        let back = back.expect("checked");
        prop_assert_eq!(&back, &e);
        for r in record_samples() {
            prop_assert_eq!(back.eval(&r), e.eval(&r), "{} on {}", printed, r);
        }
    }
}
