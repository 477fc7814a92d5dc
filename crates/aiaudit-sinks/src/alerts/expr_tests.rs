//! Unit tests of the condition language: parsing, precedence, operators, evaluation, errors.

use serde_json::{Value, json};

use super::expr::{CmpOp, Expr, Field, Lit, Operand};
use super::parse::MAX_DEPTH;

fn rec() -> Value {
    json!({
        "seq": 41, "id": "0190c1a2-0000-7000-8000-000000000000",
        "time": "2026-11-24T06:31:31.123456789Z", "type": "drift", "name": "Drift detected",
        "status": "WARNING", "actor": {"user": "alice", "service": "scorer"},
        "model": {"name": "churn", "version": "1.0.1"},
        "operation": {"id": "run-7", "name": "nightly"}, "subject": "s-1",
        "regulations": ["GDPR", "EU-AI-Act"],
        "details": {"drift_score": 0.85, "feature": "age", "flag": true, "none": null,
                    "metrics": {"accuracy": 0.82}, "scores": [1, 2, 3], "q": "say \"hi\" \\o/"}
    })
}

fn eval(src: &str) -> bool {
    Expr::parse(src).expect(src).eval(&rec())
}

fn error(src: &str) -> (usize, String) {
    let e = Expr::parse(src).expect_err(src);
    (e.column, e.message)
}

#[test]
fn precedence_not_and_or() {
    // and binds tighter than or; not tighter than and; comparisons tighter than not.
    let e = Expr::parse("seq == 1 or seq == 41 and type == \"x\"").expect("parses");
    assert!(matches!(&e, Expr::Or(items) if items.len() == 2 && matches!(items[1], Expr::And(_))));
    assert!(!eval("seq == 1 or seq == 41 and type == \"x\""));
    assert!(eval("(seq == 1 or seq == 41) and type == \"drift\""));
    assert!(eval("not seq == 1 and seq == 41"));
    assert!(matches!(
        Expr::parse("not seq == 1 and true").expect("parses"),
        Expr::And(items) if matches!(items[0], Expr::Not(_))
    ));
    assert!(eval("not not true"));
    assert!(eval("true or false and false"));
    assert!(!eval("(true or false) and false"));
    // chains are one n-ary node
    assert!(
        matches!(Expr::parse("true and true and true").expect("parses"),
        Expr::And(items) if items.len() == 3)
    );
    // keywords in any case
    assert!(eval("NOT false AND true OR false"));
}

#[test]
fn every_operator_on_numbers_and_strings() {
    for (src, want) in [
        ("seq == 41", true),
        ("seq != 41", false),
        ("seq < 42", true),
        ("seq <= 41", true),
        ("seq > 41", false),
        ("seq >= 41", true),
        ("41 == seq", true),
        ("details.drift_score > 0.8", true),
        ("details.drift_score < -1", false),
        ("details.drift_score >= 8.5e-1", true),
        ("name == \"Drift detected\"", true),
        ("user != \"bob\"", true),
        ("model < \"d\"", true),
        ("model.version >= \"1.0.0\"", true),
        ("service == \"scorer\"", true),
        ("subject == \"s-1\"", true),
        ("operation == \"run-7\"", true),
        ("operation.name == \"nightly\"", true),
        ("model.name == \"churn\" and actor.user == \"alice\"", true),
        ("\"GDPR\" in regulations", true),
        ("\"HIPAA\" in regulations", false),
        ("type in [\"drift\", \"error\"]", true),
        ("type in []", false),
        ("2 in details.scores", true),
        ("details.scores.1 == 2", true),
        ("details.flag", true),
        ("details.flag == true", true),
        ("details.none == null", true),
        ("details.feature != null", false),
    ] {
        assert_eq!(eval(src), want, "{src}");
    }
}

#[test]
fn status_orders_by_severity() {
    for (src, want) in [
        ("status >= WARNING", true),
        ("status > WARNING", false),
        ("status >= warning", true),
        ("status < ERROR", true),
        ("status > notice", true),
        ("status == WARNING", true),
        ("status != WARNING", false),
        ("status == \"WARNING\"", true),
        ("ERROR > status", true),
        ("CRITICAL <= status", false),
        ("status in [ERROR, WARNING]", true),
        ("status in [ERROR, FAILURE]", false),
        // away from `status`, a status name is its text
        ("details.feature == WARNING", false),
    ] {
        assert_eq!(eval(src), want, "{src}");
    }
    let levels = [
        "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "FAILURE", "CRITICAL",
    ];
    for (i, a) in levels.iter().enumerate() {
        for (j, b) in levels.iter().enumerate() {
            let e = Expr::parse(&format!("status < {b}")).expect("parses");
            assert_eq!(e.eval(&json!({ "status": a })), i < j, "{a} < {b}");
        }
    }
    // A custom status counts as INFO in order, but equals no standard status.
    let custom = json!({"status": "AUDITED"});
    assert!(Expr::parse("status >= INFO").expect("p").eval(&custom));
    assert!(!Expr::parse("status > INFO").expect("p").eval(&custom));
    assert!(!Expr::parse("status == INFO").expect("p").eval(&custom));
}

#[test]
fn missing_fields_and_mismatched_types_are_false() {
    for src in [
        "details.nope == 1",
        "details.nope != 1",
        "details.nope < 1",
        "details.metrics.nope.deeper == 1",
        "details.scores.9 == 1",
        "details.feature.x == 1",
        "\"x\" in details.nope",
        "\"x\" in details.feature",
        "details.nope",
        "details.feature",
        "seq == \"41\"",
        "seq != \"41\"",
        "name > 3",
        "details.flag < true",
        "regulations == \"GDPR\"",
    ] {
        assert!(!eval(src), "{src}");
    }
    // ... so a negated comparison on a missing field is true.
    assert!(eval("not details.nope == 1"));
    let empty = json!({});
    for src in [
        "status >= DEBUG",
        "model == \"m\"",
        "user != \"u\"",
        "\"G\" in regulations",
    ] {
        assert!(!Expr::parse(src).expect(src).eval(&empty), "{src}");
    }
}

#[test]
fn string_escapes() {
    assert_eq!(
        Expr::parse(r#"details.q == "say \"hi\" \\o/""#).expect("parses"),
        Expr::Cmp {
            lhs: Operand::Field(Field::Details(vec!["q".into()])),
            op: CmpOp::Eq,
            rhs: Operand::Lit(Lit::Str("say \"hi\" \\o/".into())),
        }
    );
    assert!(eval(r#"details.q == "say \"hi\" \\o/""#));
    assert!(eval("name == \"Drift detected\" and \"é\" != \"e\""));
}

#[test]
fn display_round_trips() {
    for src in [
        "status >= WARNING and type == \"drift\" and details.drift_score > 0.8",
        "not (seq == 1 or seq == 2) and (true or details.x)",
        "((true and false) or not not details.flag)",
        r#"details.q == "a\"b\\c" or "GDPR" in regulations or type in ["x", 1, null, ERROR]"#,
        "model.name == \"m\" and actor.user == \"u\" and seq >= -0.5e3",
    ] {
        let e = Expr::parse(src).expect(src);
        let printed = e.to_string();
        assert_eq!(
            Expr::parse(&printed).expect(&printed),
            e,
            "{src} -> {printed}"
        );
    }
    assert_eq!(
        Expr::parse("model.name == \"m\" AND STATUS_X")
            .map(|e| e.to_string())
            .ok(),
        None
    );
    assert_eq!(
        Expr::parse("model.name == \"m\" AND (a_b.c)")
            .map(|e| e.to_string())
            .ok(),
        None
    );
    assert_eq!(
        Expr::parse("(model.name == \"m\") AND NOT status < info")
            .expect("p")
            .to_string(),
        "model == \"m\" and not status < INFO"
    );
}

#[test]
fn errors_name_the_column() {
    for (src, col, msg) in [
        ("details.drift_score > ", 23, "expected a value after >"),
        ("", 1, "expected an expression"),
        ("seq ==", 7, "expected a value after =="),
        ("seq == )", 8, "expected a value after ==, found )"),
        ("seq = 1", 5, "unexpected =; compare with =="),
        (
            "!seq",
            1,
            "unexpected !; negate with not, or compare with !=",
        ),
        ("seq == 1 && true", 10, "unexpected &; use and / or"),
        ("sequence == 1", 1, "unknown field sequence"),
        ("details == 1", 1, "details is not a details path"),
        ("details..a == 1", 1, "details..a is not a details path"),
        ("type", 5, "expected a comparison after type, found the end"),
        ("\"drift\"", 8, "expected a comparison after \"drift\""),
        ("type == \"drift", 9, "unterminated string"),
        (r#"type == "a\nb""#, 11, "unknown escape \\n"),
        ("seq == 1e999", 8, "number 1e999 is out of range"),
        ("seq == 1.", 8, "invalid number 1."),
        ("seq == 0x10", 8, "invalid number 0x10"),
        ("seq == -", 8, "unexpected -"),
        (
            "(seq == 1",
            10,
            "expected ) to close the ( at column 1, found the end",
        ),
        ("seq == 1)", 9, "unexpected ) without a matching ("),
        ("seq == 1 seq", 10, "expected and, or or the end, found seq"),
        ("seq == 1 and", 13, "expected an expression"),
        ("seq == 1 or or", 13, "expected an expression, found or"),
        ("type == [\"a\"]", 9, "a list can only follow in"),
        ("\"a\" in \"abc\"", 8, "expected a list or a field after in"),
        ("\"a\" in", 7, "expected a list or a field after in"),
        ("type in [seq]", 10, "a list holds only literal values"),
        (
            "type in [\"a\" \"b\"]",
            14,
            "expected , or ] in the list opened at column 9",
        ),
        ("status >= \"WARNING\"", 11, "status orders by severity"),
        ("\"ERROR\" < status", 1, "status orders by severity"),
        ("€ == 1", 1, "unexpected character '€'"),
        ("name == \"€\" and ~", 17, "unexpected character '~'"),
    ] {
        let (c, m) = error(src);
        assert!(m.starts_with(msg), "{src}: {m}");
        assert_eq!(c, col, "{src}: {m}");
    }
}

#[test]
fn nesting_is_bounded() {
    let ok = format!("{}true{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert!(Expr::parse(&ok).is_ok());
    let deep = format!(
        "{}true{}",
        "(".repeat(MAX_DEPTH + 1),
        ")".repeat(MAX_DEPTH + 1)
    );
    let (col, msg) = error(&deep);
    assert_eq!(
        (col, msg.as_str()),
        (MAX_DEPTH + 1, "nested deeper than 64 levels")
    );
    assert!(Expr::parse(&"not ".repeat(100_000)).is_err());
    // A long flat chain is fine: it is one node.
    let chain = vec!["true"; 50_000].join(" and ");
    assert!(Expr::parse(&chain).expect("parses").eval(&json!({})));
}
