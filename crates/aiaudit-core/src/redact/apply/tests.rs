//! The redactor's unit tests.
use super::fields::{glob, path_glob};
use super::*;

fn redactor() -> Redactor {
    Redactor::new(&Policy::default(), Some([1; 32])).expect("default policy")
}

#[test]
fn globs() {
    assert!(glob("password", "Password"));
    assert!(glob("*_token", "refresh_token"));
    assert!(!glob("token", "tokens"));
    let p = |s: &str| s.split('.').map(str::to_owned).collect::<Vec<_>>();
    assert!(path_glob(&p("*.ssn"), &["user", "SSN"]));
    assert!(!path_glob(&p("*.ssn"), &["ssn"]));
    assert!(path_glob(&p("input.text"), &["input", "text"]));
    assert!(path_glob(&p("**.ssn"), &["a", "b", "ssn"]));
}

#[test]
fn field_rules_detectors_and_marks() {
    let r = redactor();
    let mut name = "login by bob@example.org".to_owned();
    let mut d = json!({
        "Password": "hunter2",
        "user": {"ssn": "123-45-6789", "note": "card 4111-1111-1111-1111, ip 192.168.1.20"},
        "items": ["call +44 20 7946 0958", 3],
        "version": "v1.2.3.4",
    });
    let marks = r.redact(&mut name, d.as_object_mut().expect("obj"));
    assert_eq!(name, "login by [EMAIL]");
    assert_eq!(d["Password"], "[REDACTED]");
    assert_eq!(d["user"]["ssn"], "[REDACTED]");
    let note = d["user"]["note"].as_str().expect("str");
    assert!(note.starts_with("card [CC], ip hmac:"), "{note}");
    assert_eq!(d["items"][0], "call [PHONE]");
    assert_eq!(d["version"], "v1.2.3.4");
    let paths: Vec<&str> = marks.iter().filter_map(|m| m["path"].as_str()).collect();
    assert_eq!(
        paths,
        [
            "details.Password",
            "details.items[0]",
            "details.user.note",
            "details.user.note",
            "details.user.ssn",
            "name"
        ]
    );
    assert!(
        !serde_json::to_string(&marks)
            .expect("json")
            .contains("hunter2")
    );
}

#[test]
fn hashes_correlate_and_need_a_key() {
    let r = redactor();
    let mut a = json!({"ip": "10.0.0.1"});
    let mut b = json!({"client": "from 10.0.0.1"});
    r.redact(&mut String::new(), a.as_object_mut().expect("obj"));
    r.redact(&mut String::new(), b.as_object_mut().expect("obj"));
    let ha = a["ip"].as_str().expect("str").to_owned();
    assert!(b["client"].as_str().expect("str").ends_with(&ha));
    assert!(Redactor::new(&Policy::default(), None).is_err());
}

#[test]
fn drop_keep_and_encrypt_fallback() {
    let p = Policy::from_toml(
        "[redaction]\n[[redaction.fields]]\npath = \"notes\"\naction = \"drop\"\n[[redaction.fields]]\npath = \"input.text\"\naction = \"keep\"\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n",
    )
    .expect("policy");
    let r = Redactor::new(&p, Some([2; 32])).expect("compile");
    let mut d = json!({"notes": "x", "input": {"text": "mail me: a@b.com"}, "diagnosis": "flu"});
    let marks = r.redact(&mut String::new(), d.as_object_mut().expect("obj"));
    assert_eq!(
        d,
        json!({"input": {"text": "mail me: a@b.com"}, "diagnosis": "[REDACTED]"})
    );
    assert_eq!(marks[0]["reason"], "the event has no subject");
    assert_eq!(marks[1]["action"], "drop");
}

struct Keys(std::sync::Mutex<std::collections::HashMap<String, [u8; 32]>>);

impl SubjectKeys for Keys {
    fn key_for(&self, subject: &str) -> Result<[u8; 32]> {
        let mut m = self
            .0
            .lock()
            .map_err(|_| Error::Crypto("poisoned".into()))?;
        let n = m.len() as u8;
        Ok(*m.entry(subject.to_owned()).or_insert([n + 1; 32]))
    }
}

#[test]
fn encrypt_to_the_subject_then_reveal_or_erase() {
    let p = Policy::from_toml(
        "[redaction]\n[redaction.detectors]\nemail = \"encrypt\"\n[[redaction.fields]]\npath = \"diagnosis\"\naction = \"encrypt\"\n",
    )
    .expect("policy");
    let r = Redactor::new(&p, Some([2; 32])).expect("compile");
    let keys = Keys(Default::default());
    let mut name = "note for p@example.com".to_owned();
    let mut d = json!({"diagnosis": {"code": "J10", "text": "flu"}, "n": 1});
    let m = d.as_object_mut().expect("obj");
    let marks = r.redact_event(&mut name, m, None, Some("patient-7"), Some(&keys));
    assert!(name.starts_with("note for enc:v1:t:"), "{name}");
    let stored = m["diagnosis"].as_str().expect("token").to_owned();
    assert!(stored.starts_with("enc:v1:j:"));
    assert!(marks.iter().all(|m| m["action"] == "encrypt"), "{marks:?}");

    let key = keys.key_for("patient-7").expect("key");
    let (mut n2, mut d2) = (name.clone(), m.clone());
    assert_eq!(
        crypto::reveal(&mut n2, &mut d2, "patient-7", Some(&key)),
        (2, 0)
    );
    assert_eq!(n2, "note for p@example.com");
    assert_eq!(d2["diagnosis"], json!({"code": "J10", "text": "flu"}));
    // The key destroyed: the fields read as erased.
    let (mut n3, mut d3) = (name.clone(), m.clone());
    assert_eq!(crypto::reveal(&mut n3, &mut d3, "patient-7", None), (0, 2));
    assert_eq!(n3, "note for [ERASED]");
    assert_eq!(d3["diagnosis"], "[ERASED]");
    // Another subject's key does not open them.
    let other = keys.key_for("someone-else").expect("key");
    let (mut n4, mut d4) = (name, m.clone());
    assert_eq!(
        crypto::reveal(&mut n4, &mut d4, "patient-7", Some(&other)),
        (0, 2)
    );
}

#[test]
fn review_findings_stay_fixed() {
    let r = redactor();
    // A rejected longer candidate hides a valid shorter one.
    assert_eq!(
        r.redact_str("card 4111 1111 1111 1111 123"),
        "card [CC] 123"
    );
    let masking = Redactor::new(
        &Policy {
            detectors: crate::redact::DetectorActions {
                ip: Some(Action::Mask),
                ..Policy::default().detectors
            },
            ..Policy::default()
        },
        Some([1; 32]),
    )
    .expect("policy");
    assert_eq!(
        masking.redact_str("from 2001:db8::1: refused"),
        "from [IP]: refused"
    );
    assert_eq!(r.redact_str("call 03-1234-5678 now"), "call [PHONE] now");
    // Overlapping matches merge: nothing of either is left in clear.
    let p = Policy::from_toml(
        "[redaction]\n[[redaction.custom]]\nname = \"acct\"\npattern = \"ACCT [0-9]{4}\"\n",
    )
    .expect("policy");
    let c = Redactor::new(&p, Some([1; 32])).expect("compile");
    let out = c.redact_str("ACCT 4111 1111 1111 1111");
    assert!(!out.contains("1111"), "{out}");
    // Glued to an identifier, the digits are the identifier's, not a card.
    assert_eq!(
        r.redact_str("ACCT-4111 1111 1111 1111"),
        "ACCT-4111 1111 1111 1111"
    );
    // Keys are redacted too, uniquely, and marks name the redacted key.
    let mut d = json!({"jane@example.com": 1, "joe@example.com": 2, "ok": {"x@y.org": 3}});
    let marks = r.redact(&mut String::new(), d.as_object_mut().expect("obj"));
    let text = serde_json::to_string(&d).expect("json");
    assert!(
        !text.contains("example.com") && !text.contains("y.org"),
        "{text}"
    );
    assert_eq!(
        d["[EMAIL]"].as_i64().unwrap_or(0) + d["[EMAIL]#2"].as_i64().unwrap_or(0),
        3
    );
    assert_eq!(d["ok"]["[EMAIL]"], 3);
    assert!(
        !serde_json::to_string(&marks)
            .expect("json")
            .contains("example")
    );
    let paths: Vec<&str> = marks.iter().filter_map(|m| m["path"].as_str()).collect();
    assert_eq!(paths, ["details(key)", "details.ok(key)"]);
    // Zero-length custom matches do nothing; short strings meet custom detectors.
    let p = Policy::from_toml(
        "[redaction]\n[[redaction.custom]]\nname = \"empty\"\npattern = \"x*\"\n[[redaction.custom]]\nname = \"id\"\npattern = \"AB[0-9]{3}\"\n",
    )
    .expect("policy");
    let c = Redactor::new(&p, Some([1; 32])).expect("compile");
    assert_eq!(c.redact_str("abc"), "abc");
    assert_eq!(c.redact_str("AB123"), "[ID]");
}

#[test]
fn text_tokens_end_before_the_text_that_follows() {
    let p = Policy::from_toml("[redaction]\n[redaction.detectors]\nip = \"encrypt\"\n")
        .expect("policy");
    let r = Redactor::new(&p, Some([2; 32])).expect("compile");
    let keys = Keys(Default::default());
    let mut name = "route 10.0.0.0/8 via 10.1.1.1".to_owned();
    r.redact_event(&mut name, &mut Map::new(), None, Some("s"), Some(&keys));
    assert!(!name.contains("10.0.0.0"), "{name}");
    let key = keys.key_for("s").expect("key");
    let (n, e) = crypto::reveal(&mut name, &mut Map::new(), "s", Some(&key));
    assert_eq!((n, e), (2, 0));
    assert_eq!(name, "route 10.0.0.0/8 via 10.1.1.1");
}

#[test]
fn identifiers_are_never_rewritten() {
    let r = redactor();
    for text in [
        "bfe23862-5551-4234-8901-6fe56ef17b32",
        "pod scorer-4354015920-73873",
        "ORD-2026-090207426345",
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-2438324351134434-01",
        "v17.19.169+build.39909536754598",
        "s3://bucket/part-71850-402d3109-0017-4317-8f44-123456789012.parquet",
        "rows_scanned=6237562188",
        "reference \"2272 0551 2345 6789\"",
        "ref DE89 3704 0044 0532 0130 01",
        "ratio 0.5552345678",
    ] {
        assert_eq!(r.redact_str(text), text);
    }
    // PII in the same shapes, written as people write it, is still found.
    assert_eq!(r.redact_str("call 555-123-4567."), "call [PHONE].");
    assert_eq!(r.redact_str("mobile: 5552345678"), "mobile: [PHONE]");
    assert_eq!(r.redact_str("Telefon 03012345678"), "Telefon [PHONE]");
    assert_eq!(r.redact_str("+15552345678"), "[PHONE]");
    assert_eq!(r.redact_str("card 4111-1111-1111-1111."), "card [CC].");
    // A bare number is a phone where its field's name says so.
    let mut d = json!({"contact": {"mobile": "5552345678"}, "rows": "5552345678",
                       "request_id": "5552345678 a@b.org", "phoneNumber": "0301234567"});
    r.redact(&mut String::new(), d.as_object_mut().expect("obj"));
    assert_eq!(d["contact"]["mobile"], "[PHONE]");
    assert_eq!(d["phoneNumber"], "[PHONE]");
    assert_eq!(d["rows"], "5552345678");
    assert_eq!(
        d["request_id"], "5552345678 a@b.org",
        "identifiers keep even PII shapes"
    );
    // A field rule still acts on an identifier field.
    let p = Policy::from_toml(
        "[redaction]\n[[redaction.fields]]\npath = \"request_id\"\naction = \"hash\"\n",
    )
    .expect("policy");
    let h = Redactor::new(&p, Some([1; 32])).expect("compile");
    let mut d = json!({"request_id": "bfe23862-5551-4234-8901-6fe56ef17b32"});
    h.redact(&mut String::new(), d.as_object_mut().expect("obj"));
    assert!(
        d["request_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("hmac:"))
    );
}

#[test]
fn explanations_name_the_rule_and_the_reason() {
    let r = redactor();
    let (out, why) = r.explain_str("call 5552345678 or mail a@b.org, card 4111 1111 1111 1111");
    assert_eq!(out, "call [PHONE] or mail [EMAIL], card [CC]");
    let lines: Vec<String> = why.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].contains("\"5552345678\" phone (mask)") && lines[0].contains("\"call\""));
    assert!(lines[2].contains("Luhn"), "{lines:?}");
    let mut d = json!({"password": "x", "tel": "0301234567"});
    let (_, why) = r.explain(&mut String::new(), d.as_object_mut().expect("obj"));
    let lines: Vec<String> = why.iter().map(ToString::to_string).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("details.password password (mask): the field rule")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("details.tel") && l.contains("field whose name says \"tel\"")),
        "{lines:?}"
    );
}
