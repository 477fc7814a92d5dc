//! Arbitrary bytes as the `when` expression of an alert rule: parsing never panics (nesting is
//! bounded, so no input exhausts the stack); whatever parses prints to text that parses back to
//! the same expression and evaluates the same; the rule loader refuses the rest with an error.
#![no_main]

use aiaudit_sinks::alerts::{AlertEngine, Expr, parse_rules};
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let record = json!({
        "seq": 41, "id": "0190c1a2-0000-7000-8000-000000000000",
        "time": "2026-11-24T06:31:31.123456789Z", "type": "drift", "name": "Drift detected",
        "status": "WARNING", "actor": {"user": "alice"}, "model": {"name": "m", "version": "1"},
        "regulations": ["GDPR"], "details": {"drift_score": 0.85, "a": [1, "x", null, true]}
    });
    let mut rule = toml::Table::new();
    rule.insert("name".into(), toml::Value::String("fuzz".into()));
    rule.insert("when".into(), toml::Value::String(src.to_owned()));
    let loaded = parse_rules(&toml::Value::Array(vec![toml::Value::Table(rule)]));
    match Expr::parse(src) {
        Ok(e) => {
            let printed = e.to_string();
            let back = Expr::parse(&printed).expect("a printed expression parses");
            assert_eq!(back, e, "{printed}");
            assert_eq!(back.eval(&record), e.eval(&record), "{printed}");
            let rules = loaded.expect("a parsing expression makes a valid rule");
            let alerts = AlertEngine::new(rules).observe(&record);
            assert_eq!(alerts.len(), usize::from(e.eval(&record)));
        }
        Err(err) => {
            assert!(err.column >= 1 && err.column <= src.chars().count() + 1, "{err}");
            assert!(loaded.is_err());
        }
    }
});
