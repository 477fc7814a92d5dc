//! Reading a log in the first PostgreSQL layout (one `entries` row per record, tree nodes as
//! `nodes` rows), and the steps of `aiaudit migrate --to-v2` that only PostgreSQL knows: holding
//! the head while the copy is made, then swapping the schemas in that same transaction.

use aiaudit_core::{
    AppendBatch, Hash, LogInfo, NodeSource, Query, Store, StoredCheckpoint, StoredEntry,
};
use postgres::Client;

use crate::url::PgUrl;
use crate::{Error, PostgresStore, connect, pg};

/// Rows fetched per page.
const PAGE: i64 = 2_048;

/// A v1 log, open for reading only, its head locked against writers until [`V1Schema::swap`]
/// or drop.
pub struct V1Schema {
    inner: PostgresStore,
    /// A transaction holding `head FOR UPDATE`: writers wait for it.
    lock: Client,
}

impl std::fmt::Debug for V1Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("V1Schema")
            .field("schema", &self.inner.url.schema)
            .finish_non_exhaustive()
    }
}

fn refuse(what: &str) -> aiaudit_core::Error {
    aiaudit_core::Error::store(Error::Invalid(format!(
        "a v1 log can only be read to migrate it ({what}): run `aiaudit migrate --to-v2` first"
    )))
}

impl V1Schema {
    /// Opens the v1 log of `url` and locks its head (waiting for a writer's batch to commit).
    /// A log in another layout is refused.
    pub fn open(url: &str) -> Result<Self, Error> {
        let inner = PostgresStore::open_as(url, true)?;
        let mut lock = connect(&inner.url)?;
        let s = inner.url.schema.clone();
        lock.batch_execute(&format!("BEGIN; SELECT size FROM {s}.head FOR UPDATE"))
            .map_err(|e| pg(&inner.url, e))?;
        Ok(V1Schema { inner, lock })
    }

    /// The schema the copy is made in: `<schema>_v2`.
    pub fn partial_schema(&self) -> String {
        format!("{}_v2", self.inner.url.schema)
    }

    fn partial(&self) -> PgUrl {
        let mut url = self.inner.url.clone();
        url.schema = self.partial_schema();
        url
    }

    /// Makes the schema named by [`V1Schema::partial_schema`] an empty v2 log with this log's
    /// identity (and no roles of its own: the swap grants this log's roles on it). Refuses if
    /// the schema exists (an earlier migration that did not finish: its owner drops it).
    pub fn create_partial(&self) -> Result<PostgresStore, Error> {
        let url = self.partial();
        let mut client = connect(&url)?;
        let taken: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&url.schema],
            )
            .map_err(|e| pg(&url, e))?
            .get(0);
        if taken {
            return Err(Error::NotAnAuditLog {
                url: url.display.clone(),
                schema: url.schema.clone(),
                what: format!(
                    "schema {} exists already (an earlier migration that did not finish?): drop it with `DROP SCHEMA {} CASCADE` and run the migration again",
                    url.schema, url.schema
                ),
            });
        }
        let info = crate::read::info(&self.inner)?;
        crate::write::create(&mut client, &url, &info, false)?;
        PostgresStore::finish_open(client, url)
    }

    /// Drops the partial copy after a failure; the v1 log stays as it was.
    pub fn drop_partial(&mut self) -> Result<(), Error> {
        let url = self.partial();
        let mut client = connect(&url)?;
        client
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", url.schema))
            .map_err(|e| pg(&url, e))
    }

    /// In the transaction that holds the head: renames `<schema>` to `<schema>_v1` and the copy
    /// to `<schema>`, grants the log's roles on the copy and takes all but reading away from
    /// the old schema. Writers waiting on the head then find the new layout. Returns the old
    /// schema's new name.
    pub fn swap(&mut self) -> Result<String, Error> {
        let url = self.inner.url.clone();
        let s = url.schema.clone();
        let old = format!("{s}_v1");
        let taken: bool = self
            .lock
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)",
                &[&old],
            )
            .map_err(|e| pg(&url, e))?
            .get(0);
        if taken {
            let _ = self.lock.batch_execute("ROLLBACK");
            return Err(Error::NotAnAuditLog {
                url: url.display.clone(),
                schema: s.clone(),
                what: format!(
                    "schema {old} exists already (the original of an earlier migration?): move it away before migrating"
                ),
            });
        }
        let roles: bool = self
            .lock
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
                &[&format!("{s}_writer")],
            )
            .map_err(|e| pg(&url, e))?
            .get(0);
        let mut sql =
            format!("ALTER SCHEMA {s} RENAME TO {old}; ALTER SCHEMA {s}_v2 RENAME TO {s};");
        if roles {
            sql.push_str(&crate::schema::sql(crate::schema::ROLES, &s).replace("{r}", &s));
            sql.push_str(&format!(
                "REVOKE INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {old} FROM {s}_writer;"
            ));
        }
        sql.push_str("COMMIT;");
        if let Err(e) = self.lock.batch_execute(&sql) {
            let _ = self.lock.batch_execute("ROLLBACK");
            return Err(pg(&url, e));
        }
        Ok(old)
    }

    fn raw(&self, r: &postgres::Row) -> Result<StoredEntry, Error> {
        let seq: i64 = r.get(0);
        let leaf: Hash = r.get::<_, &[u8]>(2).try_into().map_err(|_| {
            self.inner
                .inconsistent(format!("the leaf hash of seq {seq} is not 32 bytes"))
        })?;
        Ok(StoredEntry::raw(seq as u64, r.get(1), leaf, r.get(3)))
    }
}

impl NodeSource for V1Schema {
    fn stored_nodes(&self, level: u32, start: u64, count: u64) -> aiaudit_core::Result<Vec<Hash>> {
        let s = self.inner.schema();
        let id = |i: u64| ((u64::from(level) << 48) | i) as i64;
        let (sql, lo, hi) = if level == 0 {
            (
                format!(
                    "SELECT seq, leaf_hash FROM {s}.entries WHERE seq >= $1 AND seq < $2 ORDER BY seq"
                ),
                start as i64,
                (start + count) as i64,
            )
        } else {
            (
                format!("SELECT id, hash FROM {s}.nodes WHERE id >= $1 AND id < $2 ORDER BY id"),
                id(start),
                id(start + count),
            )
        };
        let rows = self.inner.read(|c| c.query(&sql, &[&lo, &hi]))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let key: i64 = r.get(0);
            match Hash::try_from(r.get::<_, &[u8]>(1)) {
                Ok(h) if key == lo + out.len() as i64 => out.push(h),
                _ => break,
            }
        }
        if out.len() as u64 != count {
            return Err(aiaudit_core::Error::MissingNodes {
                level,
                index: start + out.len() as u64,
            });
        }
        Ok(out)
    }
}

impl Store for V1Schema {
    fn info(&self) -> aiaudit_core::Result<LogInfo> {
        self.inner.info()
    }

    fn size(&self) -> aiaudit_core::Result<u64> {
        self.inner.size()
    }

    fn append(&mut self, _: AppendBatch<'_>) -> aiaudit_core::Result<()> {
        Err(refuse("appending"))
    }

    fn entry(&self, seq: u64) -> aiaudit_core::Result<Option<StoredEntry>> {
        let s = self.inner.schema();
        let sql = format!(
            "SELECT seq, time_ns, leaf_hash, data FROM {s}.entries WHERE seq = $1 ORDER BY time_ns LIMIT 1"
        );
        let row = self.inner.read(|c| c.query_opt(&sql, &[&(seq as i64)]))?;
        Ok(row
            .map(|r| self.raw(&r))
            .transpose()?
            .map(|e| StoredEntry::from_stored(e.seq, e.time_ns, e.leaf_hash, e.data)))
    }

    fn entry_by_id(&self, _: &str) -> aiaudit_core::Result<Option<StoredEntry>> {
        Err(refuse("finding an event by id"))
    }

    fn query(&self, _: &Query) -> aiaudit_core::Result<Vec<StoredEntry>> {
        Err(refuse("a query"))
    }

    /// Every row from `from` on in seq order, duplicates included.
    fn scan(
        &self,
        from: u64,
        f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        let s = self.inner.schema();
        let sql = format!(
            "SELECT seq, time_ns, leaf_hash, data FROM {s}.entries WHERE (seq, time_ns) > ($1, $2) ORDER BY seq, time_ns LIMIT $3"
        );
        let (mut seq, mut time) = (from as i64 - 1, i64::MAX);
        loop {
            let rows = self.inner.read(|c| c.query(&sql, &[&seq, &time, &PAGE]))?;
            let n = rows.len() as i64;
            for r in &rows {
                let e = self.raw(r)?;
                seq = e.seq as i64;
                time = e.time_ns;
                if !f(e)? {
                    return Ok(());
                }
            }
            if n < PAGE {
                return Ok(());
            }
        }
    }

    fn checkpoint(&self, size: u64) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.checkpoint(size)
    }

    fn latest_checkpoint(&self) -> aiaudit_core::Result<Option<StoredCheckpoint>> {
        self.inner.latest_checkpoint()
    }

    fn checkpoints(
        &self,
        f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
    ) -> aiaudit_core::Result<()> {
        self.inner.checkpoints(f)
    }

    fn read_snapshot(
        &self,
        f: &mut dyn FnMut() -> aiaudit_core::Result<()>,
    ) -> aiaudit_core::Result<()> {
        self.inner.read_snapshot(f)
    }
}
