//! What an event's `source` says of this process and machine.

use aiaudit_core::Source;
use std::sync::Arc;

/// This machine's host name, or empty.
pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .unwrap_or_default()
}

/// Host, pid and process of this process, for events that do not name their own.
pub(crate) fn process_source() -> Source {
    let process = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()));
    let host = hostname();
    Source {
        host: (!host.is_empty()).then(|| Arc::from(host)),
        pid: Some(std::process::id()),
        process: process.map(Arc::from),
        file: None,
        line: None,
        function: None,
    }
}
