//! Archived records (docs/format.md §13): the `archives` table, the one transaction that
//! empties archived bundles, and reading their records back through an attached
//! [`ArchiveSource`].

use aiaudit_core::archive::{ArchivedFile, check_continuation, unreachable};
use aiaudit_core::layout::{BUNDLE_WIDTH, CODEC_ARCHIVED};
use rusqlite::{Connection, OptionalExtension, params};

use crate::{Error, SqliteStore, schema};

fn has_table(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'archives'",
        [],
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
    })
}

const COLUMNS: &str = "first_seq, end_seq, event_seq, url, file, manifest";

impl SqliteStore {
    /// Every archived file, by seq.
    pub(crate) fn archived_files(&self) -> Result<Vec<ArchivedFile>, Error> {
        if !has_table(&self.conn).map_err(|e| self.err(e))? {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM archives ORDER BY first_seq"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt.query_map([], file_of).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// The records of archived bundle `n`, through the attached archive.
    pub(crate) fn archived_records(&self, n: u64) -> Result<Vec<Vec<u8>>, Error> {
        let seq = n * BUNDLE_WIDTH;
        let file = if has_table(&self.conn).map_err(|e| self.err(e))? {
            self.conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM archives WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1"
                ))
                .map_err(|e| self.err(e))?
                .query_row([seq as i64], file_of)
                .optional()
                .map_err(|e| self.err(e))?
                .filter(|f| f.holds(seq))
        } else {
            None
        };
        let Some(file) = file else {
            return Err(self.inconsistent(format!(
                "bundle {n} is marked archived but no archived file holds seq {seq}"
            )));
        };
        let Some(source) = self.archive.get() else {
            return Err(Error::Archived(
                unreachable(&file, "no archive is attached to this reader").to_string(),
            ));
        };
        source
            .bundle_records(&file, n)
            .map_err(|e| Error::Archived(e.to_string()))
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
        if !has_table(&tx).map_err(err)? {
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
