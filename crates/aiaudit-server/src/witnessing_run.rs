//! Witnessing rounds: every `witness_every`, the latest checkpoint is shown to each configured
//! witness from the size it holds (with the consistency proof), and each cosignature that
//! verifies with the witness's key is kept ([`Witnessing`]). A witness that is down or refuses
//! never holds up ingest: it is retried at the next round, its lag and failures in `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use aiaudit_witness::WitnessTarget;

use crate::state::AppState;
use crate::witnessing::Witnessing;

/// Shows each new checkpoint to every witness until the server stops.
pub(crate) async fn run(
    state: AppState,
    w: Arc<Witnessing>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "no HTTP client for the witnesses; witnessing is off");
            return;
        }
    };
    let mut held = w.book.held(&w.targets);
    loop {
        if let Ok(cp) = state.read(|r| Ok(r.checkpoint()?)).await {
            for t in &w.targets {
                let h = held.get(&t.name).copied().unwrap_or(0);
                state.metrics.witness(&t.name, h, cp.size, None);
                if h >= cp.size {
                    continue;
                }
                match round(&state, &client, t, &cp.note, cp.size, h).await {
                    Ok((line, time)) => {
                        w.book.keep(&t.name, cp.size, &cp.note, &line, time);
                        held.insert(t.name.clone(), cp.size);
                        state.metrics.witness(&t.name, cp.size, cp.size, None);
                    }
                    Err(why) => {
                        tracing::warn!(witness = %t.name, size = cp.size, %why, "not cosigned");
                        state.metrics.witness(&t.name, h, cp.size, Some(&why));
                    }
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(w.every) => {}
            _ = stopping.changed() => return,
        }
    }
}

/// One witness, one checkpoint, with consistency proofs read from the log.
async fn round(
    state: &AppState,
    client: &reqwest::Client,
    t: &WitnessTarget,
    note: &str,
    size: u64,
    old: u64,
) -> Result<(String, u64), String> {
    aiaudit_witness::cosign(client, t, note, size, old, |old| {
        let state = state.clone();
        async move {
            state
                .read(move |r| Ok(r.prove_consistency(old, Some(size))?.proof))
                .await
                .map_err(|e| format!("no consistency proof from {old}: {}", e.message))
        }
    })
    .await
}
