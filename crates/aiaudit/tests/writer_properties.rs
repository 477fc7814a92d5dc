//! Property test of the writer: whatever the mix of events, flushes, batch sizes and durability,
//! the log holds exactly what was logged, in order, verifies, and proves every entry.

use aiaudit::{AuditLogger, Durability, LogReader, Query, Record, VerifyOptions};
use aiaudit_core::{Checkpoint, verify_consistency};
use proptest::prelude::*;
use serde_json::Value;

#[derive(Debug, Clone)]
enum Op {
    Log(String, Value, &'static str),
    Flush,
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".*".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (".{0,20}", prop::collection::btree_map("[a-z]{1,5}", value(), 0..4),
              prop::sample::select(vec!["DEBUG", "INFO", "WARNING", "FAILURE", "critical"]))
            .prop_map(|(n, m, s)| Op::Log(n, Value::Object(m.into_iter().collect()), s)),
        1 => Just(Op::Flush),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn the_log_holds_exactly_what_was_logged(
        ops in prop::collection::vec(op(), 1..120),
        batch in 1usize..20,
        sync in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("p.db");
        let log = AuditLogger::builder(&path)
            .batch_size(batch)
            .queue_size(8)
            // The writer's own properties: random strings must come back as logged, so the
            // redaction policy (tested in redaction.rs) is off.
            .redaction(aiaudit::redact::Policy::disabled())
            .durability(if sync { Durability::Sync } else { Durability::Async })
            .open()
            .expect("open");
        let mut logged = Vec::new();
        for op in &ops {
            match op {
                Op::Log(name, details, status) => {
                    let got = log.log_event(name, details.clone(), status).expect("log");
                    if sync {
                        prop_assert_eq!(got, Some(logged.len() as u64));
                    }
                    logged.push((name.clone(), details.clone(), status.to_ascii_uppercase()));
                }
                Op::Flush => {
                    prop_assert_eq!(log.flush().expect("flush"), logged.len() as u64);
                }
            }
        }
        prop_assert_eq!(log.close().expect("close"), logged.len() as u64);

        let r = LogReader::open(&path).expect("reader");
        let entries = r.query(&Query::default()).expect("query");
        prop_assert_eq!(entries.len(), logged.len());
        for (e, (name, details, status)) in entries.iter().zip(&logged) {
            let rec = Record::from_leaf_data(&e.data).expect("record");
            prop_assert_eq!(&rec.name, name);
            // JSON numbers are compared in canonical form (RFC 8785 writes 2.0 as 2).
            let canon = |v: &Value| aiaudit_core::canonical::to_vec(v).expect("canonical");
            prop_assert_eq!(canon(&Value::Object(rec.details.clone())), canon(details));
            prop_assert_eq!(&rec.status, status);
        }
        let report = r.verify(&VerifyOptions::default(), &mut |_, _| {}).expect("verify");
        prop_assert!(report.is_intact(), "{:?}", report.findings);

        if !logged.is_empty() {
            let verifier = r.verifier().expect("key");
            for seq in 0..logged.len() as u64 {
                r.prove(seq, None).expect("prove").verify(&verifier).expect("proof verifies");
            }
            // Every pair of consecutive signed checkpoints is consistent.
            let mut cps = Vec::new();
            r.store().checkpoints(&mut |c| { cps.push(c); Ok(true) }).expect("checkpoints");
            for w in cps.windows(2) {
                let a = Checkpoint::open(&w[0].note, &verifier).expect("signed");
                let b = r.prove_consistency(a.size, Some(w[1].size)).expect("proof");
                prop_assert!(verify_consistency(a.size, b.verify(&verifier).expect("ok").size, &b.proof, &a.root, &w[1].root).is_ok());
            }
        }
    }
}
