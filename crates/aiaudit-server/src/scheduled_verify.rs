//! The scheduled verification: every `[server] verify_every` (daily by default) the whole log is
//! verified in the background. Damage deep in the log, which no write touches, is found this
//! way: the outcome goes to `/metrics` (`aiaudit_verify_intact`, `aiaudit_verify_first_bad_seq`),
//! to the logs (an ERROR line naming the first bad seq), and as an `alert` event into the log
//! itself, which every sink carries.

use aiaudit::{Event, Status, VerifyOptions};
use serde_json::json;
use std::time::Duration;

use crate::state::AppState;

/// Verifies the log every `every` until the server stops.
pub(crate) async fn run(
    state: AppState,
    every: Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stopping.changed() => return,
        }
        if *stopping.borrow() {
            return;
        }
        once(&state).await;
    }
}

/// One scheduled verification and its reports.
async fn once(state: &AppState) {
    let started = std::time::Instant::now();
    let outcome = state
        .read(|r| Ok(r.verify(&VerifyOptions::default(), &mut |_, _| {})?))
        .await;
    let report = match outcome {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e.message, "scheduled verification could not run");
            state.metrics.scheduled_verify(false, None);
            alert(
                state,
                "the scheduled verification could not run",
                None,
                vec![e.message],
            )
            .await;
            return;
        }
    };
    if report.is_intact() {
        state.metrics.scheduled_verify(true, None);
        tracing::info!(
            entries = report.entries,
            checkpoints = report.checkpoints,
            secs = started.elapsed().as_secs_f64(),
            "scheduled verification: the log is intact"
        );
        return;
    }
    let first = report.first_bad_seq();
    state.metrics.scheduled_verify(false, first);
    let findings: Vec<String> = report
        .findings
        .iter()
        .take(10)
        .map(|f| f.message.clone())
        .collect();
    tracing::error!(
        first_bad_seq = ?first,
        findings = report.findings.len(),
        first_finding = %findings.first().map_or("", String::as_str),
        "scheduled verification found damage: run `aiaudit verify` on the log"
    );
    let name = match first {
        Some(seq) => format!("scheduled verification found damage at seq {seq}"),
        None => "scheduled verification found damage".to_owned(),
    };
    alert(state, &name, first, findings).await;
}

async fn alert(state: &AppState, name: &str, first_bad: Option<u64>, findings: Vec<String>) {
    let event = Event::new("alert", name)
        .status(Status::Error)
        .detail("rule", "scheduled_verify")
        .detail("first_bad_seq", json!(first_bad))
        .detail("findings", json!(findings));
    if let Err(e) = state.record(event).await {
        tracing::error!(error = %e.message, "the verification alert could not be logged");
    }
}
