//! The scheduled archive of `[retention]` (`crate::retention`): a run every `every`, on a
//! blocking thread, then the deletion of archived files past `delete_archives_after`; their
//! outcomes go to the server's log.

use crate::retention::Retention;
use crate::state::AppState;

/// Runs the archive every `r.every` until the server stops.
pub(crate) async fn run(
    state: AppState,
    r: Retention,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(r.every) => {}
            _ = stopping.changed() => return,
        }
        if *stopping.borrow() {
            return;
        }
        let logger = state.logger.clone();
        let mut opts = aiaudit::archive::ArchiveOptions::new(r.archive_after, r.to.clone());
        opts.min_retention = r.min_retention;
        opts.force_reason = r.force_reason.clone();
        let outcome = tokio::task::spawn_blocking(move || {
            aiaudit::archive::archive(&logger, &opts, &mut |_, _| {})
        })
        .await;
        match outcome {
            Ok(Ok(o)) if o.files.is_empty() => {
                tracing::debug!("scheduled archive: nothing old enough");
            }
            Ok(Ok(o)) => tracing::info!(
                records = o.records,
                files = o.files.len(),
                bytes = o.bytes,
                event_seq = o.event_seq,
                to = %r.to,
                "scheduled archive: records moved to the archive"
            ),
            Ok(Err(e)) => {
                tracing::error!(error = %e, to = %r.to, "scheduled archive failed; nothing was dropped that the archive does not hold")
            }
            Err(e) => tracing::error!(error = %e, "scheduled archive stopped"),
        }
        let Some(after) = r.delete_archives_after else {
            continue;
        };
        let logger = state.logger.clone();
        let mut opts = aiaudit::archive::DeleteOptions::new(after);
        opts.min_retention = r.min_retention;
        opts.force_reason = r.force_reason.clone();
        let outcome =
            tokio::task::spawn_blocking(move || aiaudit::archive::delete_archives(&logger, &opts))
                .await;
        match outcome {
            Ok(Ok(o)) => {
                if !o.files.is_empty() {
                    tracing::info!(
                        records = o.records,
                        files = o.files.len(),
                        event_seq = o.event_seq,
                        "scheduled retention: archived files deleted"
                    );
                }
                if !o.left.is_empty() {
                    tracing::warn!(left = ?o.left, "scheduled retention: some deleted files' objects remain; the next run removes them");
                }
            }
            Ok(Err(e)) => tracing::error!(error = %e, "scheduled deletion of old archives failed"),
            Err(e) => tracing::error!(error = %e, "scheduled deletion of old archives stopped"),
        }
    }
}
