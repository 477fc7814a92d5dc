#![allow(clippy::unwrap_used)]

use super::*;
use proptest::prelude::*;

fn record(
    model: Option<(&str, Option<&str>)>,
    kind: &str,
    status: &str,
    user: Option<&str>,
    day: u8,
    latency: Option<f64>,
    label: &str,
) -> Vec<u8> {
    let mut v = serde_json::json!({
        "seq": 0,
        "id": "x",
        "type": kind,
        "status": status,
        "time": format!("2026-11-{day:02}T10:00:00.000000000Z"),
        "details": {"output": {"prediction": label}},
    });
    if let Some((name, version)) = model {
        v["model"] = serde_json::json!({"name": name});
        if let Some(ver) = version {
            v["model"]["version"] = serde_json::json!(ver);
        }
    }
    if let Some(u) = user {
        v["actor"] = serde_json::json!({"user": u});
    }
    if let Some(l) = latency {
        v["details"]["latency_ms"] = serde_json::json!(l);
    }
    serde_json::to_vec(&v).unwrap()
}

fn arb_record() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::option::of((
            prop::sample::select(vec!["a", "b"]),
            prop::option::of(prop::sample::select(vec!["1", "2"])),
        )),
        prop::sample::select(vec!["model_inference", "deployment", "event"]),
        prop::sample::select(vec!["INFO", "WARNING", "ERROR"]),
        prop::option::of(prop::sample::select(vec!["ana", "ben", "ça"])),
        1u8..4,
        prop::option::of(0.0f64..1e4),
        prop::sample::select(vec!["yes", "no", "a\"b"]),
    )
        .prop_map(|(m, k, s, u, d, l, lab)| record(m, k, s, u, d, l, lab))
}

/// One record of a log made by the property tests: `i` is its seq, `minutes` its time.
#[allow(clippy::too_many_arguments)]
fn rich(
    i: usize,
    minutes: i64,
    base: Vec<u8>,
    op: Option<(Option<&str>, Option<&str>)>,
    datasets: Option<serde_json::Value>,
    verified_by: Option<&str>,
    regulation: Option<&str>,
    closed: Option<serde_json::Value>,
) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&base).unwrap();
    v["seq"] = serde_json::json!(i);
    v["name"] = serde_json::json!(format!("event {i}"));
    let t = crate::timefmt::parse_sealed_time("2026-11-01T10:00:00.000000000Z").unwrap()
        + minutes * 60_000_000_000;
    v["time"] = serde_json::json!(crate::timefmt::format_rfc3339(t));
    if let Some((id, name)) = op {
        v["operation"] = serde_json::json!({"id": id, "name": name});
    }
    if let Some(d) = datasets {
        v["details"]["dataset"] = d;
    }
    if let Some(p) = verified_by {
        v["details"]["verified_by"] = serde_json::json!(p);
    }
    if let Some(r) = regulation {
        v["regulations"] = serde_json::json!([r]);
    }
    if let Some(c) = closed {
        v["type"] = serde_json::json!(super::CLOSED);
        v["details"]["status"] = c;
    }
    serde_json::to_vec(&v).unwrap()
}

fn arb_log() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let one = (
        arb_record(),
        0i64..3,
        prop::option::of((
            prop::option::of(prop::sample::select(vec!["o1", "o2", "o3"])),
            prop::option::of(prop::sample::select(vec!["train", "score"])),
        )),
        prop::option::of(prop::sample::select(vec![
            serde_json::json!("d1"),
            serde_json::json!(["d1", "d2", 3]),
            serde_json::json!(7),
        ])),
        prop::option::of(prop::sample::select(vec!["vera", "otto"])),
        prop::option::of(prop::sample::select(vec!["EU AI Act", "GDPR"])),
        prop::option::of(prop::sample::select(vec![
            serde_json::json!("SUCCESS"),
            serde_json::json!(null),
            serde_json::json!({"a": 1}),
        ])),
        prop::bool::weighted(0.1),
    );
    prop::collection::vec(one, 0..80).prop_map(|specs| {
        let mut minutes = 0;
        specs
            .into_iter()
            .enumerate()
            .map(|(i, (base, step, op, data, ver, reg, closed, access))| {
                minutes += step;
                let mut r = rich(
                    i,
                    minutes,
                    base,
                    op,
                    data,
                    ver,
                    reg,
                    closed.filter(|_| i % 5 == 0),
                );
                if access {
                    let mut v: serde_json::Value = serde_json::from_slice(&r).unwrap();
                    v["type"] = serde_json::json!("access");
                    r = serde_json::to_vec(&v).unwrap();
                }
                r
            })
            .collect()
    })
}

proptest! {
    /// Summaries of consecutive stretches, merged in order, equal the summary of the whole:
    /// what a report relies on when it merges per-bundle summaries.
    #[test]
    fn merged_parts_equal_the_whole(records in arb_log(), a in 0usize..80, b in 0usize..80) {
        let (a, b) = (a.min(records.len()), b.min(records.len()));
        let (a, b) = (a.min(b), a.max(b));
        let of = |r: &[Vec<u8>]| Summary::of(r.iter().map(Vec::as_slice)).unwrap();
        let whole = of(&records);
        let mut merged = of(&records[..a]);
        merged.merge(&of(&records[a..b]));
        merged.merge(&of(&records[b..]));
        prop_assert_eq!(&merged, &whole);
        prop_assert_eq!(Summary::decode(&whole.encode().unwrap()).unwrap(), whole);
    }

    /// Periods of use joined from stored segments at any gap of at least the segments' own
    /// equal the periods made from the records at that gap.
    #[test]
    fn periods_from_segments_equal_periods_from_records(records in arb_log(), gap_minutes in 1i64..4) {
        let gap = gap_minutes * 60_000_000_000;
        let whole = Summary::of(records.iter().map(Vec::as_slice)).unwrap();
        let mut direct = Act::default();
        for r in &records {
            direct.add(&RecordHead::parse(r).unwrap(), gap);
        }
        prop_assert_eq!(whole.act.periods(gap), direct.periods(gap));
    }
}

#[test]
fn counts_what_a_usage_report_reads() {
    let recs = [
        record(
            Some(("m", Some("1"))),
            "model_inference",
            "INFO",
            Some("ana"),
            1,
            Some(3.5),
            "yes",
        ),
        record(
            Some(("m", Some("2"))),
            "model_inference",
            "WARNING",
            Some("ben"),
            2,
            None,
            "no",
        ),
        record(
            Some(("m", None)),
            "deployment",
            "INFO",
            Some("ops"),
            2,
            None,
            "x",
        ),
        record(
            None,
            "model_inference",
            "INFO",
            Some("zed"),
            2,
            Some(1.0),
            "yes",
        ),
    ];
    let s = Summary::of(recs.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(s.models.len(), 1, "a record with no model adds nothing");
    let m = &s.models["m"];
    assert_eq!((m.events, m.predictions), (3, 2));
    assert_eq!(
        m.users.iter().map(String::as_str).collect::<Vec<_>>(),
        ["ana", "ben"]
    );
    assert_eq!(m.latencies, [3.5]);
    assert_eq!(m.days["2026-11-02"].total, 2);
    assert_eq!(m.versions["2"].predictions, 1);
    assert_eq!(m.labels["yes"], 1);
    assert_eq!(m.first.as_deref(), Some("2026-11-01T10:00:00.000000000Z"));
    assert_eq!(m.last.as_deref(), Some("2026-11-02T10:00:00.000000000Z"));
}

#[test]
fn damaged_bytes_are_refused() {
    let s = Summary::of([&record(
        Some(("m", None)),
        "model_inference",
        "INFO",
        None,
        1,
        Some(2.0),
        "y",
    )[..]])
    .unwrap();
    let mut bytes = s.encode().unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    assert!(matches!(Summary::decode(&bytes), Err(Error::Layout(_))));
    assert!(matches!(Summary::decode(b"{}"), Err(Error::Layout(_))));
    assert!(Summary::of([&b"not json"[..]]).is_err());
}
