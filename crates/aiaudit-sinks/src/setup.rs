//! From the `[[sinks]]` and `[[alerts]]` arrays of aiaudit.toml to the sinks a server runs:
//! the configured ones, plus the alert rules as a sink named `alerts` whose alerts are logged
//! as `alert` events through the caller's emitter.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::alerts::AlertEngine;
use crate::config::{Filter, SinkConfig, SinkKind, parse_sinks};
use crate::sinks::alerts::{AlertsSpec, Emit};
use crate::{Error, Result};

/// The name of the alert rules' sink (its cursor and its line in `status`).
pub const ALERTS_SINK: &str = "alerts";

/// Every sink the configuration names, the alert rules last (as [`ALERTS_SINK`]) when there
/// are any. `emit` records an alert; without one (`aiaudit sinks status`) alerts go nowhere.
pub fn from_config(
    sinks: Option<&toml::Value>,
    alerts: Option<&toml::Value>,
    emit: Option<Emit>,
) -> Result<Vec<SinkConfig>> {
    let mut out = match sinks {
        Some(v) => parse_sinks(v)?,
        None => Vec::new(),
    };
    if let Some(dup) = out.iter().find(|s| s.name == ALERTS_SINK) {
        return Err(Error::Config {
            sink: dup.name.clone(),
            key: "name".into(),
            problem: format!("{ALERTS_SINK:?} is the alert rules' own name; choose another"),
        });
    }
    if let Some(v) = alerts {
        let engine = AlertEngine::from_config(v)?;
        if !engine.rules().is_empty() {
            let emit = emit.unwrap_or_else(|| Arc::new(|_| Ok(())));
            out.push(SinkConfig {
                name: ALERTS_SINK.into(),
                kind: SinkKind::Alerts(AlertsSpec {
                    engine: Arc::new(Mutex::new(engine)),
                    emit,
                }),
                filter: Filter::default(),
                batch: crate::config::DEFAULT_BATCH,
            });
        }
    }
    Ok(out)
}

/// Where the cursors of the log at `db` (a path or a PostgreSQL URL) are kept: beside the
/// file, or `<schema>.sinks` for a PostgreSQL log.
pub fn cursor_path(db: &Path) -> PathBuf {
    crate::default_cursor_path(&aiaudit::location::local_base(db))
}
