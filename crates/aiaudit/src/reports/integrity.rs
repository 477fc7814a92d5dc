//! The integrity report: a full verification, the latest signed checkpoint, the verifier key,
//! and the commands that check the log offline.

use aiaudit_core::report::{CheckOffline, CheckpointInfo, IntegrityReport};

use crate::error::{Error, Result};
use crate::reader::LogReader;
use crate::verify::VerifyOptions;

/// Verifies the whole log and reports `intact`, `entries`, `checkpoints_checked`,
/// `first_bad_seq`, `findings`, `origin`, `verifier_key`, `latest_checkpoint` (size, signing
/// time, note) and `check_offline`: the commands an auditor runs, keyed by what they check
/// (`extends`, `entry`).
pub fn integrity(reader: &LogReader) -> Result<IntegrityReport> {
    let report = reader.verify(&VerifyOptions::default(), &mut |_, _| {})?;
    let checkpoint = match reader.checkpoint() {
        Ok(cp) => Some(cp),
        Err(Error::NotFound(_)) => None,
        Err(e) => return Err(e),
    };
    let key = &reader.verifier()?.to_string();
    Ok(IntegrityReport {
        intact: report.is_intact(),
        entries: report.entries,
        checkpoints_checked: report.checkpoints,
        first_bad_seq: report.first_bad_seq(),
        findings: report.findings.iter().map(|f| f.message.clone()).collect(),
        origin: reader.info().origin.clone(),
        verifier_key: key.clone(),
        latest_checkpoint: checkpoint.map(|c| CheckpointInfo {
            size: c.size,
            signed_at: aiaudit_core::timefmt::format_rfc3339(c.time_ns),
            note: c.note,
        }),
        check_offline: CheckOffline {
            extends: format!("aiaudit verify --against CHECKPOINT_FILE --key '{key}'"),
            entry: format!(
                "aiaudit prove SEQ > p.tlog-proof && aiaudit verify-proof p.tlog-proof --key '{key}'"
            ),
        },
    })
}
