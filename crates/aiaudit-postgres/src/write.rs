//! Creating a log and appending batches under the head lock.

use aiaudit_core::postings;
use aiaudit_core::{AppendBatch, LogInfo, NodeSource, Rebase, StoredEntry};
use postgres::Client;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use std::time::{Duration, Instant};

use crate::schema::{self, sql};
use crate::url::PgUrl;
use crate::{Error, PostgresStore, pg};

/// Creates the log's tables, triggers and roles in one transaction, under an advisory lock so
/// that two processes starting on an empty schema make one log, not a failure.
pub(crate) fn create(client: &mut Client, url: &PgUrl, info: &LogInfo) -> Result<(), Error> {
    let s = &url.schema;
    let mut tx = client.transaction().map_err(|e| pg(url, e))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('aiaudit:' || $1))",
        &[s],
    )
    .map_err(|e| pg(url, e))?;
    let exists: bool = tx
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{s}.meta")],
        )
        .map_err(|e| pg(url, e))?
        .get(0);
    if exists {
        return Err(Error::NotAnAuditLog {
            url: url.display.clone(),
            schema: s.clone(),
            what: "an audit log already exists here".into(),
        });
    }
    tx.batch_execute(&sql(schema::SCHEMA, s))
        .map_err(|e| pg(url, e))?;
    for t in schema::APPEND_ONLY {
        tx.batch_execute(&sql(schema::ROW_TRIGGER, s).replace("{t}", t))
            .map_err(|e| pg(url, e))?;
        tx.batch_execute(&sql(schema::TRUNCATE_TRIGGER, s).replace("{t}", t))
            .map_err(|e| pg(url, e))?;
    }
    tx.batch_execute(&sql(schema::TRUNCATE_TRIGGER, s).replace("{t}", "entries_default"))
        .map_err(|e| pg(url, e))?;
    tx.batch_execute(&sql(schema::HEAD_TRIGGERS, s))
        .map_err(|e| pg(url, e))?;
    let meta = format!("INSERT INTO {s}.meta(key, value) VALUES ($1, $2)");
    for (k, v) in [
        ("origin", info.origin.clone()),
        ("verifier_key", info.verifier_key.clone()),
        ("created_ns", info.created_ns.to_string()),
        ("format_version", schema::FORMAT_VERSION.to_string()),
    ] {
        tx.execute(&meta, &[&k, &v]).map_err(|e| pg(url, e))?;
    }
    tx.execute(&format!("INSERT INTO {s}.head(size) VALUES (0)"), &[])
        .map_err(|e| pg(url, e))?;
    // Roles need CREATEROLE; without it the log works as its owner alone.
    let mut sp = tx.savepoint("roles").map_err(|e| pg(url, e))?;
    if sp.batch_execute(&sql(schema::ROLES, s)).is_ok() {
        sp.commit().map_err(|e| pg(url, e))?;
    } else {
        sp.rollback().map_err(|e| pg(url, e))?;
    }
    tx.commit().map_err(|e| pg(url, e))
}

/// A batch that cannot be re-sealed: [`aiaudit_core::Store::append`] on a shared store, whose
/// caller did not prepare for another writer.
pub(crate) struct Fixed<'a>(pub(crate) AppendBatch<'a>);

impl Rebase for Fixed<'_> {
    fn batch(&self) -> AppendBatch<'_> {
        self.0
    }

    fn rebase(&mut self, size: u64, _tree: &dyn NodeSource) -> aiaudit_core::Result<()> {
        Err(aiaudit_core::Error::store(Error::HeadMoved {
            schema: "(another writer is appending to this log; Store::append cannot re-seal, use append_rebased)".into(),
            expected: self.0.entries.first().map_or(0, |e| e.seq),
            found: size,
        }))
    }
}

/// Appends under the head lock, retrying a lost connection for the store's retry period.
pub(crate) fn append(store: &mut PostgresStore, batch: &mut dyn Rebase) -> Result<(), Error> {
    if batch.batch().entries.is_empty() {
        return Ok(());
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(50);
    loop {
        // One writer's sealed times never decrease, so a batch spans its first and last
        // entries' months (and a batch is far shorter than a month).
        let entries = batch.batch().entries;
        let months: Vec<(i64, u32)> = [entries.first(), entries.last()]
            .into_iter()
            .flatten()
            .map(|e| schema::month_of(e.time_ns))
            .collect();
        for m in months {
            store.ensure_partition(m);
        }
        store
            .in_txn
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let attempt = try_append(store, batch);
        store
            .in_txn
            .store(false, std::sync::atomic::Ordering::SeqCst);
        match attempt {
            Ok(()) => return Ok(()),
            Err(e) => {
                let c = store.client.get_mut().unwrap_or_else(|p| p.into_inner());
                if !c.is_closed() {
                    let _ = c.batch_execute("ROLLBACK");
                }
                if !e.is_connection() || started.elapsed() >= store.retry_for {
                    return Err(e);
                }
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_secs(2));
                store.reconnect_quietly();
            }
        }
    }
}

fn try_append(store: &mut PostgresStore, batch: &mut dyn Rebase) -> Result<(), Error> {
    let url = store.url.clone();
    let s = url.schema.as_str();
    let e = |err| pg(&url, err);
    let head: u64 = {
        let c = store.client.get_mut().unwrap_or_else(|p| p.into_inner());
        // READ COMMITTED whatever the server's default: after the head lock, each statement
        // sees what the writer before committed.
        c.batch_execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            .map_err(e)?;
        let size: i64 = c
            .query_one(&format!("SELECT size FROM {s}.head FOR UPDATE"), &[])
            .map_err(e)?
            .get(0);
        size as u64
    };
    let first = batch.batch().entries.first().map_or(0, |x| x.seq);
    if head != first {
        // A retry whose first attempt committed without an answer finds its own checkpoint,
        // whose root commits to every entry of the batch.
        let cp = batch.batch().checkpoint;
        if head >= cp.size
            && let Some(have) = crate::read::checkpoint_at(store, cp.size)?
            && have.root == cp.root
            && have.note == cp.note
        {
            let c = store.client.get_mut().unwrap_or_else(|p| p.into_inner());
            return c.batch_execute("COMMIT").map_err(e);
        }
        batch.rebase(head, &*store).map_err(|why| match why {
            // A lost connection while reading the frontier: the whole attempt is retried.
            aiaudit_core::Error::Store(inner) => match inner.downcast::<Error>() {
                Ok(e) => *e,
                Err(other) => store.inconsistent(format!("re-sealing a batch at {head}: {other}")),
            },
            other => store.inconsistent(format!("re-sealing a batch at {head}: {other}")),
        })?;
    }
    let b = batch.batch();
    let c = store.client.get_mut().unwrap_or_else(|p| p.into_inner());
    copy_entries(c, s, b.entries).map_err(|err| match err {
        Copy::Pg(x) => pg(&url, x),
        Copy::BadId(id) => Error::Inconsistent {
            schema: s.to_owned(),
            what: format!("event id {id:?} is not a UUID"),
        },
    })?;
    copy_postings(c, s, b.entries).map_err(e)?;
    if !b.nodes.is_empty() {
        let sink = c
            .copy_in(&format!("COPY {s}.nodes (id, hash) FROM STDIN BINARY"))
            .map_err(e)?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA]);
        for n in b.nodes {
            let id = schema::node_id(n.level, n.index);
            w.write(&[&id, &&n.hash[..]]).map_err(e)?;
        }
        w.finish().map_err(e)?;
    }
    let cp = b.checkpoint;
    c.execute(
        &format!("INSERT INTO {s}.checkpoints(size, root, note, time_ns) VALUES ($1, $2, $3, $4)"),
        &[&(cp.size as i64), &&cp.root[..], &cp.note, &cp.time_ns],
    )
    .map_err(e)?;
    c.execute(
        &format!("UPDATE {s}.head SET size = $1"),
        &[&(cp.size as i64)],
    )
    .map_err(e)?;
    c.batch_execute("COMMIT").map_err(e)
}

enum Copy {
    Pg(postgres::Error),
    BadId(String),
}

impl From<postgres::Error> for Copy {
    fn from(e: postgres::Error) -> Self {
        Copy::Pg(e)
    }
}

fn copy_entries(c: &mut Client, s: &str, entries: &[StoredEntry]) -> Result<(), Copy> {
    let sink = c.copy_in(&format!(
        "COPY {s}.entries (seq, time_ns, id, leaf_hash, data) FROM STDIN BINARY"
    ))?;
    let mut w = BinaryCopyInWriter::new(
        sink,
        &[Type::INT8, Type::INT8, Type::UUID, Type::BYTEA, Type::BYTEA],
    );
    for x in entries {
        let id = uuid::Uuid::try_parse(&x.id).map_err(|_| Copy::BadId(x.id.clone()))?;
        let seq = x.seq as i64;
        let row: [&(dyn ToSql + Sync); 5] =
            [&seq, &x.time_ns, &id, &&x.leaf_hash[..], &&x.data[..]];
        w.write(&row)?;
    }
    w.finish()?;
    Ok(())
}

fn copy_postings(c: &mut Client, s: &str, entries: &[StoredEntry]) -> Result<(), postgres::Error> {
    let Some(first) = entries.first() else {
        return Ok(());
    };
    let sink = c.copy_in(&format!(
        "COPY {s}.postings (key, batch, last, count, seqs) FROM STDIN BINARY"
    ))?;
    let mut w = BinaryCopyInWriter::new(
        sink,
        &[Type::TEXT, Type::INT8, Type::INT8, Type::INT4, Type::BYTEA],
    );
    let batch = first.seq as i64;
    for ((field, value), seqs) in postings::build(entries) {
        let key = postings::key(field, value);
        let last = seqs.last().copied().unwrap_or(first.seq) as i64;
        let count = seqs.len() as i32;
        let enc = postings::encode(first.seq, &seqs);
        w.write(&[&key, &batch, &last, &count, &&enc[..]])?;
    }
    w.finish()?;
    Ok(())
}
