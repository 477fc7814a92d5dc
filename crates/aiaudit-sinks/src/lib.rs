//! # aiaudit-sinks
//!
//! What happens after commit: sinks deliver committed events to the systems teams already run
//! (a rotating JSON-lines file, an HTTP webhook, OpenTelemetry logs over OTLP/HTTP, a NATS
//! subject), each with its own durable delivered-up-to cursor; alert rules turn committed events
//! into alert events.
//!
//! ```
//! use aiaudit::{AuditLogger, Durability};
//! use aiaudit_sinks::{Dispatcher, parse_sinks, status};
//!
//! let dir = tempfile::tempdir()?;
//! let db = dir.path().join("audit.db");
//! let log = AuditLogger::builder(&db).durability(Durability::Sync).open()?;
//! log.log_event("Training started", serde_json::json!({"epochs": 10}), "INFO")?;
//! log.close()?;
//!
//! let file = dir.path().join("audit.jsonl");
//! let config: toml::Value = toml::from_str(&format!(
//!     "[[sinks]]\nname = \"siem\"\nkind = \"jsonl\"\npath = {:?}\n",
//!     file.display().to_string()
//! ))?;
//! let sinks = parse_sinks(&config["sinks"])?;
//! let cursors = dir.path().join("audit.db.sinks");
//! let d = Dispatcher::start(db.clone(), cursors.clone(), sinks.clone())?;
//! while status(&db, &cursors, &sinks)?[0].lag > 0 {
//!     std::thread::sleep(std::time::Duration::from_millis(20));
//! }
//! d.shutdown()?;
//! assert!(std::fs::read_to_string(&file)?.contains("Training started"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod alerts;
pub mod config;
pub mod cursors;
pub mod dispatch;
pub mod error;
pub mod setup;
pub mod sinks;

pub use config::{Filter, SinkConfig, SinkKind, parse_sinks};
pub use cursors::{Cursor, Cursors};
pub use dispatch::{Dispatcher, SinkStatus, default_cursor_path, status};
pub use error::{Error, Result};
