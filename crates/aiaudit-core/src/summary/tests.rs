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

proptest! {
    /// Summaries of consecutive stretches, merged in order, equal the summary of the whole:
    /// what a report relies on when it merges per-bundle summaries.
    #[test]
    fn merged_parts_equal_the_whole(records in prop::collection::vec(arb_record(), 0..60), cut in 0usize..60) {
        let cut = cut.min(records.len());
        let whole = Summary::of(records.iter().map(Vec::as_slice)).unwrap();
        let a = Summary::of(records[..cut].iter().map(Vec::as_slice)).unwrap();
        let b = Summary::of(records[cut..].iter().map(Vec::as_slice)).unwrap();
        let mut merged = a;
        for (name, usage) in &b.models {
            merged.models.entry(name.clone()).or_default().merge(usage);
        }
        prop_assert_eq!(&merged, &whole);
        prop_assert_eq!(Summary::decode(&whole.encode().unwrap()).unwrap(), whole);
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
