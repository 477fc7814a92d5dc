//! Where the default redaction policy spends its time, on typical strings of an ML event:
//! `cargo run --release -p aiaudit-core --example redact_speed`.

use aiaudit_core::redact::{Policy, Redactor};
use serde_json::json;
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn time(label: &str, n: u32, mut f: impl FnMut()) {
    let t = Instant::now();
    for _ in 0..n {
        f();
    }
    #[allow(clippy::print_stdout)]
    {
        println!(
            "{label:<48} {:>8.0} ns",
            t.elapsed().as_nanos() as f64 / f64::from(n)
        );
    }
}

fn main() -> Result<(), aiaudit_core::Error> {
    // `events` only: the whole-event passes, e.g. under `valgrind --tool=callgrind`, whose
    // instruction counts do not move with the machine's load as timings do.
    let events_only = std::env::args().any(|a| a == "events");
    if !events_only {
        pieces();
    }
    let r = Redactor::new(&Policy::default(), Some([1; 32]))?;
    let strings = [
        "credit-risk",
        "2.3.0",
        "user-0042",
        "req-000123",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "Customer asked for a review of the decision by the analyst",
        "Customer asked for a review, reply to jane.doe@example.com",
        "顧客は決定の見直しを求めました。担当者による再審査をお願いします",
    ];
    for s in strings.iter().filter(|_| !events_only) {
        time(&format!("redact_str {:.40}", s), 200_000, || {
            std::hint::black_box(r.redact_str(std::hint::black_box(s)));
        });
    }
    let event = json!({
        "input": {"income": 81234, "loan_amount": 12000, "term_months": 36},
        "input_hash": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "output": {"approved": true, "score": 0.734},
        "latency_ms": 12.43,
        "request_id": "req-000123",
        "note": "Customer asked for a review of the decision by the analyst",
    });
    let mut no_fields = Policy::default();
    no_fields.fields.clear();
    let no_detectors = Policy {
        detectors: Default::default(),
        ..Policy::default()
    };
    let variants = [
        ("default", Redactor::new(&Policy::default(), Some([1; 32]))?),
        ("no field rules", Redactor::new(&no_fields, Some([1; 32]))?),
        ("no detectors", Redactor::new(&no_detectors, Some([1; 32]))?),
    ];
    for (round, (label, r)) in variants.iter().enumerate() {
        // Batches of 512 freshly built events, as the writer meets them: recently made, so in
        // cache. (20,000 events built up front would time cache misses instead.)
        let mut total = std::time::Duration::ZERO;
        for _ in 0..40 {
            let mut events: Vec<(String, serde_json::Map<String, serde_json::Value>)> = (0..512)
                .map(|_| {
                    let m = event.as_object().cloned().unwrap_or_default();
                    ("credit-risk prediction".to_owned(), m)
                })
                .collect();
            let t = Instant::now();
            for (name, m) in &mut events {
                std::hint::black_box(r.redact(name, m));
            }
            total += t.elapsed();
        }
        #[allow(clippy::print_stdout)]
        {
            println!(
                "whole event, {label:<20} {round}                  {:>8.0} ns",
                total.as_nanos() as f64 / (40.0 * 512.0)
            );
        }
    }
    Ok(())
}

/// Timing of the pieces, for finding where time goes.
#[allow(dead_code, clippy::print_stdout)]
pub fn pieces() {
    let hints = regex::Regex::new(
        r"AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ghp_|gho_|ghu_|ghs_|ghr_|github_pat_|xox|AIza|k_live_|k_test_|sk-|earer|EARER|-----BEGIN",
    )
    .expect("compiles");
    for s in [
        "credit-risk",
        "Customer asked for a review of the decision by the analyst",
    ] {
        time(&format!("secret hints {s:.30}"), 200_000, || {
            std::hint::black_box(hints.is_match(std::hint::black_box(s)));
        });
    }
}
