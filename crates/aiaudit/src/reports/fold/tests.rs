use super::Plan;
use crate::LogReader;
use crate::error::Result;
use crate::events;
use crate::reports::ai_act::{AiActOptions, ai_act_on};
use crate::reports::operations::operations_on;
use crate::reports::usage::usage_on;
use aiaudit_core::report::AiActReport;
use aiaudit_core::{Operation, Status};
use serde_json::{Value, json};

/// A log of 3,001 events of many kinds: two models and their versions, trainings, evaluations
/// and deployments, datasets and verifiers, incidents, operations by id and by name only,
/// closed trails, events with no operation, and the server's own access records.
fn varied_log(db: &std::path::Path) -> Result<()> {
    let log = crate::AuditLogger::builder(db)
        .durability(crate::Durability::Async)
        .open()?;
    for i in 0..3001u32 {
        let model = if i % 7 == 0 { "other" } else { "m" };
        let version = if i < 1000 { "1" } else { "2" };
        let mut e = match i % 50 {
            1 => events::training(model, version, json!({"lr": 0.1}), json!({"auc": 0.9})),
            2 => events::evaluation(model, version, "holdout", json!({"auc": 0.8})).user("vera"),
            3 => events::deployment(model, version, if i % 3 == 0 { "prod" } else { "staging" }),
            4 => events::transformation("clean", &["raw", "extra"], &["clean"]),
            5 => events::compliance_check("EU AI Act", "art12", i % 4 == 0)
                .detail("verified_by", json!(["otto", "ana"])),
            6 => {
                let mut e = crate::Event::new("access", "read");
                e.status = Status::Warning;
                e
            }
            7 => crate::Event::new(aiaudit_core::summary::CLOSED, "done").detail(
                "status",
                if i % 100 == 7 {
                    json!("SUCCESS")
                } else {
                    json!(null)
                },
            ),
            _ => events::inference(
                model,
                version,
                &format!("u{}", i % 11),
                json!({"prediction": if i % 3 == 0 { "a" } else { "b" }}),
                f64::from(i % 97),
            ),
        };
        if i % 13 == 0 {
            e.status = Status::Error;
        } else if i % 500 == 0 {
            e.status = Status::Warning;
        }
        e.operation = match i % 4 {
            0 => None,
            1 => Some(Operation {
                id: Some(format!("op-{}", i % 37)),
                name: Some("train".into()),
            }),
            2 => Some(Operation {
                id: None,
                name: Some(format!("trail-{}", i % 5)),
            }),
            _ => Some(Operation {
                id: Some(format!("op-{}", i % 37)),
                name: None,
            }),
        };
        if i % 9 == 0 {
            e.regulations = vec!["GDPR".into()];
        }
        log.log(e)?;
    }
    log.close()?;
    Ok(())
}

/// Drops the time the report was made, which differs between calls.
fn stable(mut v: AiActReport) -> AiActReport {
    v.generated_at.clear();
    v
}

#[test]
fn summaries_and_threads_agree_with_one_pass_over_the_records() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|e| crate::Error::NotFound(e.to_string()))?;
    let db = dir.path().join("u.db");
    varied_log(&db)?;
    let reader = LogReader::open(&db)?;
    assert_eq!(reader.store().summarized()?, 2816, "11 full bundles");
    let now = aiaudit_core::timefmt::now_ns();
    let plan = |threads, summaries| Plan {
        threads,
        parallel_from: 0,
        summaries,
    };
    let plans = [(2, false), (3, false), (8, false), (1, true), (2, true)];

    let usage = |p: &Plan| usage_on(&reader, "m", 30, now, p);
    let one = usage(&plan(1, false))?;
    assert!(one.total_predictions > 2000, "{one:?}");
    for (threads, summaries) in plans {
        let p = plan(threads, summaries);
        assert_eq!(
            usage(&p)?,
            one,
            "usage, {threads} threads, summaries {summaries}"
        );
    }

    // From the start, from inside a bundle, from a bundle's start, and past the last summary.
    let mut starts = vec![None];
    for seq in [1, 255, 256, 1000, 2816, 2900] {
        starts.push(Some(reader.get(seq)?.time_ns));
    }
    for since_ns in starts {
        for gap_ns in [3_600_000_000_000, 0] {
            let opts = AiActOptions {
                since_ns,
                gap_ns,
                ..AiActOptions::new(now)
            };
            let one = stable(ai_act_on(&reader, &opts, &plan(1, false))?);
            for (threads, summaries) in plans {
                let got = stable(ai_act_on(&reader, &opts, &plan(threads, summaries))?);
                assert_eq!(
                    got, one,
                    "ai-act since {since_ns:?} gap {gap_ns}, {threads} threads, summaries {summaries}"
                );
            }
        }
        let one = operations_on(&reader, since_ns, 100, &plan(1, false))?;
        for (threads, summaries) in plans {
            let got = operations_on(&reader, since_ns, 100, &plan(threads, summaries))?;
            assert_eq!(
                got, one,
                "operations since {since_ns:?}, {threads} threads, summaries {summaries}"
            );
        }
    }

    // What the log holds, counted from the records by hand.
    let act = ai_act_on(&reader, &AiActOptions::new(now), &plan(2, true))?;
    assert_eq!(act.events, 3001);
    let everything = reader.query(&aiaudit_core::Query::default())?;
    let incidents = everything
        .iter()
        .filter(|e| {
            let r: Value = serde_json::from_slice(&e.data).unwrap_or_default();
            r["type"] != "access"
                && ["WARNING", "ERROR", "FAILURE", "CRITICAL"]
                    .contains(&r["status"].as_str().unwrap_or(""))
        })
        .count();
    assert!(incidents > 200, "{incidents}");
    assert_eq!(act.incidents.total, incidents as u64);
    let ops = operations_on(&reader, None, 10, &plan(2, true))?;
    assert_eq!(ops.total_operations, 37 + 5);
    assert_eq!(ops.events_without_operation, 751);
    Ok(())
}
