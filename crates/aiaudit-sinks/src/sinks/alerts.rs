//! The alert rules as a sink of their own: committed entries go through the
//! [`crate::alerts::AlertEngine`] in order, each alert is handed to the emitter
//! (which logs it as an `alert` event, so every other sink can carry it), and the cursor moves
//! on. Rule state (rate norms, cooldowns) lives in the engine, which outlives a reconnect.

use aiaudit_core::StoredEntry;
use std::sync::{Arc, Mutex};

use super::{BoxFuture, Sink};
use crate::alerts::{Alert, AlertEngine};
use crate::{Error, Result};

/// Receives each alert; an error makes the batch be evaluated again later.
pub type Emit = Arc<dyn Fn(&Alert) -> std::result::Result<(), String> + Send + Sync>;

/// The engine and where its alerts go, shared by every (re)opening of the sink.
#[derive(Clone)]
pub struct AlertsSpec {
    /// The rules with their state.
    pub engine: Arc<Mutex<AlertEngine>>,
    /// Where alerts go.
    pub emit: Emit,
}

impl std::fmt::Debug for AlertsSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rules = self
            .engine
            .lock()
            .map(|e| e.rules().len())
            .unwrap_or_default();
        f.debug_struct("AlertsSpec").field("rules", &rules).finish()
    }
}

impl PartialEq for AlertsSpec {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.engine, &other.engine)
    }
}

/// The sink.
pub struct AlertSink {
    spec: AlertsSpec,
    name: String,
}

impl AlertSink {
    /// A sink named `name` over `spec`.
    pub fn new(name: &str, spec: AlertsSpec) -> Self {
        AlertSink {
            spec,
            name: name.to_owned(),
        }
    }
}

impl Sink for AlertSink {
    fn deliver<'a>(&'a mut self, batch: &'a [StoredEntry]) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut alerts = Vec::new();
            {
                let mut engine = self.spec.engine.lock().unwrap_or_else(|p| p.into_inner());
                for e in batch {
                    let record: serde_json::Value = match serde_json::from_slice(&e.data) {
                        Ok(v) => v,
                        // Verification reports such an entry; rules have nothing to read.
                        Err(_) => continue,
                    };
                    alerts.extend(engine.observe(&record));
                }
            }
            for a in &alerts {
                (self.spec.emit)(a).map_err(|why| Error::Emit {
                    sink: self.name.clone(),
                    why,
                })?;
            }
            Ok(())
        })
    }
}
