//! Retention (`[retention]` in `aiaudit.toml`): every `every` (daily by default) the server
//! archives the records older than `archive_after` to `to` (docs/format.md §13), and deletes
//! the archived files older than `delete_archives_after` when that is set (§13.5), in the
//! background and never in the way of ingest (`scheduled_archive`). Below six months (`min_retention`, EU AI Act
//! Art. 19 and 26(6)) is refused at start unless `force_reason` says why; the reason goes into
//! each run's `archive` event.

use std::time::Duration;

use serde::Deserialize;

/// The `[retention]` table, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// Records sealed longer ago than this are archived.
    pub archive_after: Duration,
    /// The archive's URL.
    pub to: String,
    /// The shortest retention accepted without `force_reason` (at least six months unless
    /// forced).
    pub min_retention: Duration,
    /// Why `archive_after` or `min_retention` is below six months.
    pub force_reason: Option<String>,
    /// How often a run starts.
    pub every: Duration,
    /// Archived files whose every record is older than this are deleted (never, if unset).
    pub delete_archives_after: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetentionTable {
    archive_after: Option<String>,
    to: Option<String>,
    min_retention: Option<String>,
    force_reason: Option<String>,
    every: Option<String>,
    delete_archives_after: Option<String>,
}

impl RetentionTable {
    /// Checks the table; `Err` says what is wrong, naming the key.
    pub(crate) fn check(
        self,
        parse: impl Fn(&str) -> Result<Option<Duration>, String>,
    ) -> Result<Retention, String> {
        let age =
            |key: &str, v: Option<String>, default: Option<&str>| -> Result<Duration, String> {
                let v = v
                    .or_else(|| default.map(str::to_owned))
                    .ok_or_else(|| format!("retention.{key} is missing (e.g. \"365d\")"))?;
                parse(&v)
                    .map_err(|why| format!("retention.{key} {v:?}: {why}"))?
                    .ok_or_else(|| format!("retention.{key} cannot be off"))
            };
        let archive_after = age("archive_after", self.archive_after, None)?;
        let min_retention = age("min_retention", self.min_retention, Some("183d"))?;
        let every = age("every", self.every, Some("1d"))?;
        let to = self
            .to
            .filter(|t| !t.trim().is_empty())
            .ok_or("retention.to is missing: the archive's URL (file:///dir, s3://bucket/prefix, gs://…, az://…)")?;
        aiaudit_archive::Location::for_writing(&to).map_err(|e| format!("retention.to: {e}"))?;
        let reason = self.force_reason.filter(|r| !r.trim().is_empty());
        let floor = aiaudit::archive::MIN_RETENTION;
        if reason.is_none() && (min_retention < floor || archive_after < min_retention) {
            return Err(format!(
                "retention: archiving records younger than {} days is refused (EU AI Act Art. 19 and 26(6)); set retention.force_reason to say why",
                min_retention.max(floor).as_secs() / 86_400
            ));
        }
        let delete_archives_after = self
            .delete_archives_after
            .map(|v| age("delete_archives_after", Some(v), None))
            .transpose()?;
        if let Some(d) = delete_archives_after {
            if d < archive_after {
                return Err(format!(
                    "retention.delete_archives_after ({} days) is shorter than retention.archive_after ({} days): records would be deleted before they are archived",
                    d.as_secs() / 86_400,
                    archive_after.as_secs() / 86_400
                ));
            }
            if reason.is_none() && d < min_retention.max(floor) {
                return Err(format!(
                    "retention: deleting archives younger than {} days is refused (EU AI Act Art. 19 and 26(6)); set retention.force_reason to say why",
                    min_retention.max(floor).as_secs() / 86_400
                ));
            }
        }
        Ok(Retention {
            delete_archives_after,
            archive_after,
            to,
            min_retention,
            force_reason: reason,
            every,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(toml_text: &str) -> Result<Retention, String> {
        let t: RetentionTable = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        t.check(|v| {
            let n: u64 = v
                .trim_end_matches('d')
                .parse()
                .map_err(|_| "bad".to_owned())?;
            Ok(Some(Duration::from_secs(n * 86_400)))
        })
    }

    #[test]
    fn a_retention_below_six_months_needs_a_reason() {
        let r = check("archive_after = \"365d\"\nto = \"file:///tmp/aiaudit-retention-test\"\n")
            .expect("valid");
        assert_eq!(r.archive_after, Duration::from_secs(365 * 86_400));
        assert_eq!(r.min_retention, aiaudit::archive::MIN_RETENTION);
        assert_eq!(r.every, Duration::from_secs(86_400));
        let e = check("archive_after = \"30d\"\nto = \"file:///tmp/x\"\n").expect_err("refused");
        assert!(e.contains("183 days") && e.contains("force_reason"), "{e}");
        let forced = check(
            "archive_after = \"30d\"\nmin_retention = \"30d\"\nto = \"file:///tmp/x\"\nforce_reason = \"test log\"\n",
        )
        .expect("forced");
        assert_eq!(forced.force_reason.as_deref(), Some("test log"));
        assert_eq!(r.delete_archives_after, None);
        let r = check(
            "archive_after = \"365d\"\ndelete_archives_after = \"3650d\"\nto = \"file:///tmp/x\"\n",
        )
        .expect("valid");
        assert_eq!(
            r.delete_archives_after,
            Some(Duration::from_secs(3650 * 86_400))
        );
        let e = check(
            "archive_after = \"365d\"\ndelete_archives_after = \"300d\"\nto = \"file:///tmp/x\"\n",
        )
        .expect_err("before archiving");
        assert!(
            e.contains("delete_archives_after") && e.contains("before they are archived"),
            "{e}"
        );
        let e = check("archive_after = \"365d\"\n").expect_err("no url");
        assert!(e.contains("retention.to is missing"), "{e}");
        let e = check("archive_after = \"365d\"\nto = \"ftp://x/y\"\n").expect_err("scheme");
        assert!(e.contains("retention.to"), "{e}");
    }
}
