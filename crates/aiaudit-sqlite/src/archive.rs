//! Archived records (docs/format.md §13): the `archives` table, the one transaction that
//! empties archived bundles, and reading their records back through an attached
//! [`ArchiveSource`].

use aiaudit_core::archive::{ArchivedFile, check_continuation, check_deletion};
use aiaudit_core::layout::{BUNDLE_WIDTH, CODEC_ARCHIVED};
use rusqlite::{Connection, params};

use crate::{Error, SqliteStore, schema};

fn has_table(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
        [name],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n > 0)
}

fn file_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<ArchivedFile> {
    Ok(ArchivedFile {
        first_seq: r.get::<_, i64>(0)? as u64,
        end_seq: r.get::<_, i64>(1)? as u64,
        event_seq: r.get::<_, i64>(2)? as u64,
        url: r.get(3)?,
        file: r.get(4)?,
        manifest: r.get(5)?,
        deleted_by: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
    })
}

const COLUMNS: &str = "first_seq, end_seq, event_seq, url, file, manifest";

/// The archived files (`filter` a condition on `a.`), by seq, with their deletions; none when
/// the log never archived.
fn files(conn: &Connection, filter: &str, params: &[i64]) -> rusqlite::Result<Vec<ArchivedFile>> {
    if !has_table(conn, "archives")? {
        return Ok(Vec::new());
    }
    let (join, deleted) = if has_table(conn, "archive_deletions")? {
        (
            "LEFT JOIN archive_deletions d ON d.first_seq = a.first_seq",
            "d.event_seq",
        )
    } else {
        ("", "NULL")
    };
    let sql = format!(
        "SELECT a.first_seq, a.end_seq, a.event_seq, a.url, a.file, a.manifest, {deleted} \
         FROM archives a {join} WHERE {filter} ORDER BY a.first_seq"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), file_of)?;
    rows.collect()
}

impl SqliteStore {
    /// Every archived file, by seq.
    pub(crate) fn archived_files(&self) -> Result<Vec<ArchivedFile>, Error> {
        files(&self.conn, "1", &[]).map_err(|e| self.err(e))
    }

    /// The records of archived bundle `n`, through the attached archive.
    pub(crate) fn archived_records(&self, n: u64) -> Result<Vec<Vec<u8>>, Error> {
        let seq = n * BUNDLE_WIDTH;
        let file = files(
            &self.conn,
            "a.first_seq <= ?1 AND ?1 < a.end_seq",
            &[seq as i64],
        )
        .map_err(|e| self.err(e))?
        .pop();
        let Some(file) = file else {
            return Err(self.inconsistent(format!(
                "bundle {n} is marked archived but no archived file holds seq {seq}"
            )));
        };
        self.archive
            .bundle_records(&file, n)
            .map_err(|e| Error::Archived(e.to_string()))
    }

    /// Records the deletion of the archived files starting at `first_seqs` by the event at
    /// `event_seq`, in one transaction.
    pub(crate) fn delete_files(&mut self, first_seqs: &[u64], event_seq: u64) -> Result<(), Error> {
        let path = self.path.clone();
        let err = |e| crate::classify(&path, e);
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute_batch(schema::DELETIONS_SCHEMA).map_err(err)?;
        let all = files(&tx, "1", &[]).map_err(err)?;
        check_deletion(&all, first_seqs).map_err(Error::Archived)?;
        for &first in first_seqs {
            tx.execute(
                "INSERT INTO archive_deletions(first_seq, event_seq) VALUES (?1, ?2)",
                params![first as i64, event_seq as i64],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        self.cache = crate::entries::Cache::default();
        Ok(())
    }

    /// Records `files` and empties the data of the bundles they hold, in one transaction.
    pub(crate) fn drop_files(&mut self, files: &[ArchivedFile]) -> Result<(), Error> {
        let path = self.path.clone();
        let bundles = self.bundles()?;
        let before = self.archived_files()?;
        check_continuation(before.last().map_or(0, |f| f.end_seq), files, bundles)
            .map_err(Error::Archived)?;
        let tx = self
            .conn
            .transaction()
            .map_err(|e| crate::classify(&path, e))?;
        let err = |e| crate::classify(&path, e);
        if !has_table(&tx, "archives").map_err(err)? {
            tx.execute_batch(schema::ARCHIVE_UPGRADE).map_err(err)?;
            tx.execute_batch(schema::ARCHIVE_SCHEMA).map_err(err)?;
        }
        for f in files {
            tx.execute(
                &format!("INSERT INTO archives({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
                params![
                    f.first_seq as i64,
                    f.end_seq as i64,
                    f.event_seq as i64,
                    f.url,
                    f.file,
                    f.manifest
                ],
            )
            .map_err(err)?;
            tx.execute(
                "UPDATE bundles SET codec = ?1, data = x'' WHERE idx >= ?2 AND idx < ?3",
                params![
                    CODEC_ARCHIVED,
                    (f.first_seq / BUNDLE_WIDTH) as i64,
                    (f.end_seq / BUNDLE_WIDTH) as i64
                ],
            )
            .map_err(err)?;
        }
        tx.commit().map_err(err)?;
        self.cache = crate::entries::Cache::default();
        Ok(())
    }

    /// `VACUUM`, then a WAL checkpoint that truncates the write-ahead log.
    pub(crate) fn vacuum(&mut self) -> Result<(), Error> {
        self.conn
            .execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(|e| self.err(e))
    }
}
