//! Archived records (docs/format.md §8, §13): the `archives` table, the one transaction that
//! records archived files and detaches and drops every partition of `bundles` they now cover,
//! and reading those bundles' records back through an attached archive.
//!
//! A partition goes only once every bundle in it is archived, so the archived prefix grows a
//! partition at a time ([`PostgresStore::partition_bundles`]); what it kept of each bundle
//! but the records moves to `archived_bundles` in the same transaction, and the tree, the
//! summaries and the postings stay where they are.

use std::sync::atomic::Ordering;

use aiaudit_core::archive::{ArchivedFile, check_continuation, check_deletion};
use aiaudit_core::layout::BUNDLE_WIDTH;
use postgres::Row;

use crate::{Error, PostgresStore, schema};

const COLUMNS: &str = "first_seq, end_seq, event_seq, url, file, manifest";

/// The archived files with their deletions, for a `WHERE` and `ORDER BY` to follow.
const SELECT_FILES: &str = "SELECT a.first_seq, a.end_seq, a.event_seq, a.url, a.file, a.manifest, \
     d.event_seq FROM {s}.archives a LEFT JOIN {s}.archive_deletions d ON d.first_seq = a.first_seq";

fn file_of(r: &Row) -> ArchivedFile {
    ArchivedFile {
        first_seq: r.get::<_, i64>(0) as u64,
        end_seq: r.get::<_, i64>(1) as u64,
        event_seq: r.get::<_, i64>(2) as u64,
        url: r.get(3),
        file: r.get(4),
        manifest: r.get(5),
        deleted_by: r.get::<_, Option<i64>>(6).map(|s| s as u64),
    }
}

impl PostgresStore {
    /// Bundles per partition of `bundles`: the step the archived prefix grows by.
    pub fn partition_bundles(&self) -> u64 {
        self.partition_bundles
    }

    /// Looks again whether the archive's tables exist (a log made before them gets them at its
    /// first archive run, perhaps by another process); returns whether they do.
    pub(crate) fn refresh_archive_tables(&self) -> Result<bool, Error> {
        let s = self.schema().to_owned();
        let there: bool = self
            .read(|c| {
                c.query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("{s}.all_bundles")],
                )
            })?
            .get(0);
        self.archive_tables.store(there, Ordering::SeqCst);
        Ok(there)
    }

    /// What reads select bundles from: `all_bundles` once the archive's tables exist.
    pub(crate) fn bundles_rel(&self) -> &'static str {
        if self.archive_tables.load(Ordering::SeqCst) {
            "all_bundles"
        } else {
            "bundles"
        }
    }

    /// Whether the connected role may archive: detaching partitions of `bundles` and adding
    /// to the archive's tables take the owner of `bundles` (or a member of its role).
    pub(crate) fn may_archive(&self) -> Result<(), Error> {
        let s = self.schema().to_owned();
        let row = self.read(|c| {
            c.query_one(
                "SELECT pg_has_role(current_user, c.relowner, 'USAGE'), current_user::text, \
                        pg_get_userbyid(c.relowner)::text \
                 FROM pg_class c WHERE c.oid = to_regclass($1)",
                &[&format!("{s}.bundles")],
            )
        })?;
        let (owner_ok, user, owner): (bool, String, String) = (row.get(0), row.get(1), row.get(2));
        if owner_ok {
            return Ok(());
        }
        Err(Error::Archived(format!(
            "role {user:?} may not archive schema {s:?}: archiving detaches partitions of its bundles, which only their owner {owner:?} (or a member of that role) may do; the writer and reader roles may only read the archive. Nothing was written: run `aiaudit archive` as {owner:?}"
        )))
    }

    /// Every archived file, by seq.
    pub(crate) fn archived_files(&self) -> Result<Vec<ArchivedFile>, Error> {
        if !self.archive_tables.load(Ordering::SeqCst) {
            return Ok(Vec::new());
        }
        let sql = format!(
            "{} ORDER BY a.first_seq",
            schema::sql(SELECT_FILES, self.schema())
        );
        Ok(self
            .read(|c| c.query(&sql, &[]))?
            .iter()
            .map(file_of)
            .collect())
    }

    /// The records of archived bundle `n`, through the attached archive.
    pub(crate) fn archived_records(&self, n: u64) -> Result<Vec<Vec<u8>>, Error> {
        let seq = n * BUNDLE_WIDTH;
        let sql = format!(
            "{} WHERE a.first_seq <= $1 ORDER BY a.first_seq DESC LIMIT 1",
            schema::sql(SELECT_FILES, self.schema())
        );
        let file = self
            .read(|c| c.query_opt(&sql, &[&(seq as i64)]))?
            .map(|r| file_of(&r))
            .filter(|f| f.holds(seq));
        let Some(file) = file else {
            return Err(self.inconsistent(format!(
                "bundle {n} is archived but no archived file holds seq {seq}"
            )));
        };
        self.archive
            .bundle_records(&file, n)
            .map_err(|e| Error::Archived(e.to_string()))
    }

    /// Records `files` and, in the same transaction, detaches and drops each partition of
    /// `bundles` they now cover whole, keeping all but its records in `archived_bundles`.
    /// Waiting for the lock that detaching takes is bounded (a long read holds it off), and a
    /// run that cannot get it is tried again a few times before it fails, changing nothing.
    pub(crate) fn drop_files(&mut self, files: &[ArchivedFile]) -> Result<(), Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_drop_files(files) {
                Err(Error::Postgres { source, .. })
                    if attempt < 4
                        && source.code()
                            == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) => {}
                Err(Error::Postgres { source, .. })
                    if source.code() == Some(&postgres::error::SqlState::LOCK_NOT_AVAILABLE) =>
                {
                    return Err(Error::Archived(format!(
                        "the archived files are written and named in the log, but schema {:?} stayed busy (a long read holds its bundles); nothing was dropped: rerun the same `aiaudit archive` command",
                        self.schema()
                    )));
                }
                Err(Error::Postgres { source, .. })
                    if source.code()
                        == Some(&postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
                {
                    return Err(Error::Archived(format!(
                        "archiving needs the owner of schema {:?} (its roles may only read the archive's tables): {source}; the files are written and nothing was dropped: rerun the same `aiaudit archive` command as the owner",
                        self.schema()
                    )));
                }
                other => {
                    self.cache.clear();
                    return other;
                }
            }
        }
    }

    fn try_drop_files(&mut self, files: &[ArchivedFile]) -> Result<(), Error> {
        let s = self.schema().to_owned();
        let per = self.partition_bundles;
        let url = self.url.clone();
        let err = |e| crate::pg(&url, e);
        let c = self.client.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut tx = c.transaction().map_err(err)?;
        let there: bool = tx
            .query_one(
                "SELECT to_regclass($1) IS NOT NULL",
                &[&format!("{s}.all_bundles")],
            )
            .map_err(err)?
            .get(0);
        if !there {
            tx.batch_execute(&schema::sql(schema::ARCHIVE_SCHEMA, &s))
                .map_err(err)?;
        }
        // One archive run at a time: the checks below see the archived prefix as it stays.
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = '10s'; LOCK TABLE {s}.archives IN EXCLUSIVE MODE"
        ))
        .map_err(err)?;
        let archived_end: i64 = tx
            .query_one(
                &format!("SELECT coalesce(max(end_seq), 0) FROM {s}.archives"),
                &[],
            )
            .map_err(err)?
            .get(0);
        let bundles: i64 = tx
            .query_one(
                &format!("SELECT coalesce(max(idx) + 1, 0) FROM {s}.all_bundles"),
                &[],
            )
            .map_err(err)?
            .get(0);
        check_continuation(archived_end as u64, files, bundles as u64).map_err(Error::Archived)?;
        let insert = format!("INSERT INTO {s}.archives({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)");
        for f in files {
            tx.execute(
                &insert,
                &[
                    &(f.first_seq as i64),
                    &(f.end_seq as i64),
                    &(f.event_seq as i64),
                    &f.url,
                    &f.file,
                    &f.manifest,
                ],
            )
            .map_err(err)?;
        }
        // Partitions wholly below the new end of the prefix go; earlier runs took those below
        // the old end. Rows of a range that never got its partition stay in the default one.
        let end = files.last().map_or(archived_end as u64, |f| f.end_seq);
        let mut locked = false;
        for p in archived_end as u64 / BUNDLE_WIDTH / per..end / BUNDLE_WIDTH / per {
            let name = schema::partition_name(p);
            let exists: bool = tx
                .query_one(
                    "SELECT to_regclass($1) IS NOT NULL",
                    &[&format!("{s}.{name}")],
                )
                .map_err(err)?
                .get(0);
            if !exists {
                continue;
            }
            if !locked {
                // Detaching needs the parent alone; taken before any partition is read, so
                // that no lock is upgraded while others wait.
                tx.batch_execute(&format!("LOCK TABLE {s}.bundles IN ACCESS EXCLUSIVE MODE"))
                    .map_err(err)?;
                locked = true;
            }
            tx.batch_execute(&format!(
                "INSERT INTO {s}.archived_bundles \
                   SELECT idx, first_time_ns, last_time_ns, min_time_ns, max_time_ns, first_id, times \
                   FROM {s}.{name}; \
                 ALTER TABLE {s}.bundles DETACH PARTITION {s}.{name}; \
                 DROP TABLE {s}.{name};"
            ))
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        self.archive_tables.store(true, Ordering::SeqCst);
        Ok(())
    }

    /// Records the deletion of the archived files starting at `first_seqs` by the event at
    /// `event_seq`, in one transaction.
    pub(crate) fn delete_files(&mut self, first_seqs: &[u64], event_seq: u64) -> Result<(), Error> {
        if !self.archive_tables.load(Ordering::SeqCst) && !self.refresh_archive_tables()? {
            return Err(Error::Archived(
                "this log has archived nothing, so it has no archived file to delete".into(),
            ));
        }
        let s = self.schema().to_owned();
        let url = self.url.clone();
        let err = |e| crate::pg(&url, e);
        let c = self.client.get_mut().unwrap_or_else(|p| p.into_inner());
        let mut tx = c.transaction().map_err(err)?;
        tx.batch_execute(&format!("LOCK TABLE {s}.archives IN EXCLUSIVE MODE"))
            .map_err(err)?;
        let all: Vec<ArchivedFile> = tx
            .query(
                &format!("{} ORDER BY a.first_seq", schema::sql(SELECT_FILES, &s)),
                &[],
            )
            .map_err(err)?
            .iter()
            .map(file_of)
            .collect();
        check_deletion(&all, first_seqs).map_err(Error::Archived)?;
        let insert =
            format!("INSERT INTO {s}.archive_deletions(first_seq, event_seq) VALUES ($1, $2)");
        for &first in first_seqs {
            tx.execute(&insert, &[&(first as i64), &(event_seq as i64)])
                .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        self.cache.clear();
        Ok(())
    }
}
