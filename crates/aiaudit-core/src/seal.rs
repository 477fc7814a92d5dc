//! Sealing: the canonical (RFC 8785) leaf data of an event at its place in the log.
//!
//! The record is written member by member in canonical order instead of through a generic map,
//! because this runs once per event on the writer's hot path. `tests::sealed_bytes_are_canonical`
//! and the property tests hold it to the generic encoder.

use serde_json::Value;

use crate::canonical::{write_object, write_str, write_u64};
use crate::error::{Error, Result};
use crate::event::{Event, SCHEMA_VERSION};
use crate::timefmt::format_rfc3339;

/// The largest leaf data accepted, in bytes: larger details belong in an artifact store, with
/// their hash in the log.
pub const MAX_RECORD_LEN: usize = 1 << 20;

/// Writes members of one JSON object; the caller supplies names in canonical order.
struct Obj<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }
    fn key(&mut self, k: &str) -> &mut Vec<u8> {
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        write_str(self.out, k);
        self.out.push(b':');
        self.out
    }
    fn str(&mut self, k: &str, v: &str) {
        let out = self.key(k);
        write_str(out, v);
    }
    fn opt_str(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.str(k, v);
        }
    }
    fn uint(&mut self, k: &str, v: u64) {
        let out = self.key(k);
        write_u64(out, v);
    }
    fn close(self) {
        self.out.push(b'}');
    }
}

/// Appends the leaf data of `event` sealed as entry `seq` with id `id` at `time_ns` (the log's
/// clock) to `out`.
///
/// On error nothing is appended.
pub fn seal(event: &Event, seq: u64, id: &str, time_ns: i64, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let result = seal_into(event, seq, id, time_ns, out);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// The leaf data of an already sealed record moved to `seq`: the `seq` member rewritten, every
/// other member kept byte for byte. `data` must be canonical, as [`seal`] writes it; the result
/// then is too (the members keep their order and `seq` is a plain integer either way). A writer
/// whose batch another writer overtook on a shared store re-seals it with this.
pub fn reseal(data: &[u8], seq: u64) -> Result<Vec<u8>> {
    use serde::de::{Deserializer, MapAccess, Visitor};
    use serde_json::value::RawValue;

    struct Members<'a>(Vec<(String, &'a RawValue)>);
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = Members<'de>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a sealed record (a JSON object)")
        }
        fn visit_map<A: MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(16);
            while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(Members(out))
        }
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let members = (&mut de).deserialize_map(V)?;
    de.end()?;
    let mut out = Vec::with_capacity(data.len() + 8);
    out.push(b'{');
    let mut found = false;
    for (i, (k, v)) in members.0.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(&mut out, k);
        out.push(b':');
        if k == "seq" {
            write_u64(&mut out, seq);
            found = true;
        } else {
            out.extend_from_slice(v.get().as_bytes());
        }
    }
    out.push(b'}');
    if !found {
        return Err(Error::Malformed {
            what: "sealed record",
            why: "it has no seq member".into(),
        });
    }
    Ok(out)
}

fn seal_into(event: &Event, seq: u64, id: &str, time_ns: i64, out: &mut Vec<u8>) -> Result<()> {
    let start = out.len();
    let mut rec = Obj::open(out);
    if let Some(a) = &event.actor {
        let out = rec.key("actor");
        let mut o = Obj::open(out);
        o.opt_str("ip", a.ip.as_deref());
        o.opt_str("service", a.service.as_deref());
        o.opt_str("user", a.user.as_deref());
        o.close();
    }
    write_object(rec.key("details"), &event.details)?;
    rec.str("id", id);
    if let Some(m) = &event.model {
        let mut o = Obj::open(rec.key("model"));
        o.str("name", &m.name);
        o.opt_str("version", m.version.as_deref());
        o.close();
    }
    rec.str("name", &event.name);
    if let Some(t) = event.occurred_ns {
        rec.str("occurred", &format_rfc3339(t));
    }
    if let Some(op) = &event.operation {
        let mut o = Obj::open(rec.key("operation"));
        o.opt_str("id", op.id.as_deref());
        o.opt_str("name", op.name.as_deref());
        o.close();
    }
    rec.opt_str("parent", event.parent.as_deref());
    if !event.redactions.is_empty() {
        let out = rec.key("redactions");
        out.push(b'[');
        for (i, r) in event.redactions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            crate::canonical::write_value(out, r)?;
        }
        out.push(b']');
    }
    if !event.regulations.is_empty() {
        let out = rec.key("regulations");
        out.push(b'[');
        for (i, r) in event.regulations.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_str(out, r);
        }
        out.push(b']');
    }
    if seq > crate::canonical::MAX_SAFE_INTEGER {
        return Err(Error::Canonical(format!("seq {seq} exceeds 2^53")));
    }
    rec.uint("seq", seq);
    {
        let s = &event.source;
        let mut o = Obj::open(rec.key("source"));
        o.opt_str("file", s.file.as_deref());
        o.opt_str("function", s.function.as_deref());
        o.opt_str("host", s.host.as_deref());
        if let Some(line) = s.line {
            o.uint("line", u64::from(line));
        }
        if let Some(pid) = s.pid {
            o.uint("pid", u64::from(pid));
        }
        o.opt_str("process", s.process.as_deref());
        o.close();
    }
    rec.str("status", event.status.as_str());
    rec.opt_str("subject", event.subject.as_deref());
    {
        // The time needs no escaping: written straight into the record.
        let out = rec.key("time");
        out.push(b'"');
        crate::timefmt::write_rfc3339(out, time_ns);
        out.push(b'"');
    }
    rec.str("type", &event.kind);
    rec.uint("v", u64::from(SCHEMA_VERSION));
    rec.close();
    let len = out.len() - start;
    if len > MAX_RECORD_LEN {
        return Err(Error::InvalidEvent(format!(
            "the sealed record is {len} bytes, the limit is {MAX_RECORD_LEN}"
        )));
    }
    Ok(())
}

/// Checks that `data` is canonical JSON: parsing and re-encoding gives the same bytes.
pub fn is_canonical(data: &[u8]) -> bool {
    serde_json::from_slice::<Value>(data)
        .ok()
        .and_then(|v| crate::canonical::to_vec(&v).ok())
        .is_some_and(|again| again == data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Actor, Record, Status};
    use serde_json::json;

    fn full_event() -> Event {
        let mut e = Event::new("model_inference", "predicted \"fraud\"\n")
            .status(Status::Warning)
            .user("u-1")
            .model("credit", "1.2.0")
            .operation("run-7", "scoring")
            .subject("subject-9")
            .details(json!({"z": 1, "a": [1.5, "é", null], "seq": 999, "type": "forged", "€": {"b": false, "a": true}}))
            .expect("object");
        e.actor = Some(Actor {
            user: Some("u-1".into()),
            service: Some("api".into()),
            ip: Some("10.0.0.1".into()),
        });
        e.parent = Some("0190-parent".into());
        e.occurred_ns = Some(1_700_000_000_000_000_000);
        e.regulations = vec!["GDPR".into(), "EU AI Act".into()];
        e.source.host = Some("h".into());
        e.source.pid = Some(42);
        e.source.file = Some("src/main.rs".into());
        e.source.line = Some(7);
        e
    }

    #[test]
    fn reseal_is_sealing_at_the_other_seq() -> Result<()> {
        let e = full_event();
        let id = "0190c6f2-0000-7000-8000-000000000001";
        let (mut at5, mut at9) = (Vec::new(), Vec::new());
        seal(&e, 5, id, 1_700_000_000_123_456_789, &mut at5)?;
        seal(&e, 123_456_789, id, 1_700_000_000_123_456_789, &mut at9)?;
        // `details.seq` (999) is a detail, not the record's seq: only the top-level one moves.
        assert_eq!(reseal(&at5, 123_456_789)?, at9);
        assert_eq!(reseal(&at9, 5)?, at5);
        assert!(reseal(b"{\"a\":1}", 3).is_err());
        assert!(reseal(b"[1]", 3).is_err());
        assert!(reseal(b"{\"seq\":1} trailing", 3).is_err());
        Ok(())
    }

    #[test]
    fn sealed_bytes_are_canonical() {
        for e in [full_event(), Event::new("event", "")] {
            let mut out = Vec::new();
            seal(
                &e,
                12,
                "01234567-89ab-7def-8123-456789abcdef",
                1_795_000_000_000_000_000,
                &mut out,
            )
            .expect("seals");
            assert!(is_canonical(&out), "{}", String::from_utf8_lossy(&out));
        }
    }

    #[test]
    fn details_never_overwrite_reserved_fields() {
        let mut out = Vec::new();
        seal(&full_event(), 12, "id-1", 7, &mut out).expect("seals");
        let r = Record::from_leaf_data(&out).expect("parses");
        assert_eq!(r.seq, 12);
        assert_eq!(r.kind, "model_inference");
        assert_eq!(r.details["seq"], json!(999));
        assert_eq!(r.details["type"], json!("forged"));
        assert_eq!(r.status, "WARNING");
        assert_eq!(r.model.as_ref().map(|m| m.name.as_str()), Some("credit"));
    }

    #[test]
    fn oversized_records_are_refused_without_leaving_bytes() {
        let e = Event::new("event", "x".repeat(10)).detail("blob", "y".repeat(MAX_RECORD_LEN));
        let mut out = b"keep".to_vec();
        let err = seal(&e, 0, "id", 0, &mut out).expect_err("too big");
        assert!(err.to_string().contains("limit"), "{err}");
        assert_eq!(out, b"keep");
    }
}
