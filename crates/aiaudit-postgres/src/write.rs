//! Creating a log and appending batches under the head lock: the rows
//! `aiaudit_core::layout::plan` computes, in one transaction with the posting lists, the
//! checkpoint and the head.

use std::cell::RefCell;
use std::time::{Duration, Instant};

use aiaudit_core::layout::{self, Head, TailEntry, TileTail};
use aiaudit_core::{AppendBatch, Hash, LogInfo, NodeSource, Rebase, postings};
use postgres::Client;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};

use crate::schema::{self, sql};
use crate::url::PgUrl;
use crate::{Error, PostgresStore, pg};

/// Creates the log's tables, triggers and (`roles`, when the user may) roles in one
/// transaction, under an advisory lock so that two processes starting on an empty schema make
/// one log, not a failure.
pub(crate) fn create(
    client: &mut Client,
    url: &PgUrl,
    info: &LogInfo,
    roles: bool,
) -> Result<(), Error> {
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
    }
    for t in schema::NO_TRUNCATE {
        tx.batch_execute(&sql(schema::TRUNCATE_TRIGGER, s).replace("{t}", t))
            .map_err(|e| pg(url, e))?;
    }
    tx.batch_execute(&sql(schema::HEAD_TRIGGERS, s))
        .map_err(|e| pg(url, e))?;
    tx.batch_execute(&sql(schema::ARCHIVE_SCHEMA, s))
        .map_err(|e| pg(url, e))?;
    let meta = format!("INSERT INTO {s}.meta(key, value) VALUES ($1, $2)");
    for (k, v) in [
        ("origin", info.origin.clone()),
        ("verifier_key", info.verifier_key.clone()),
        ("created_ns", info.created_ns.to_string()),
        ("format_version", schema::FORMAT_VERSION.to_string()),
        (
            "partition_bundles",
            url.partition_bundles
                .unwrap_or(schema::PARTITION_BUNDLES)
                .to_string(),
        ),
    ] {
        tx.execute(&meta, &[&k, &v]).map_err(|e| pg(url, e))?;
    }
    tx.execute(&format!("INSERT INTO {s}.head(size) VALUES (0)"), &[])
        .map_err(|e| pg(url, e))?;
    if roles {
        // Roles need CREATEROLE; without it the log works as its owner alone.
        let mut sp = tx.savepoint("roles").map_err(|e| pg(url, e))?;
        if sp
            .batch_execute(&sql(schema::ROLES, s).replace("{r}", s))
            .is_ok()
        {
            sp.commit().map_err(|e| pg(url, e))?;
        } else {
            sp.rollback().map_err(|e| pg(url, e))?;
        }
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
        // The partitions of the bundles the batch completes where it was sealed; a batch
        // re-sealed further on may complete one in a partition not made yet, which then goes
        // to the default partition.
        let entries = batch.batch().entries;
        if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
            let (a, b) = (first.seq / 256, (last.seq + 1) / 256);
            let per = store.partition_bundles;
            for p in schema::partition_of(a, per)..=schema::partition_of(b, per) {
                store.ensure_partition(p);
            }
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

/// The head as the append's transaction sees it.
struct TxHead<'c> {
    client: RefCell<&'c mut Client>,
    schema: &'c str,
    /// The first error of the driver, kept so that a lost connection is retried as one.
    failed: RefCell<Option<postgres::Error>>,
}

impl TxHead<'_> {
    fn keep(&self, e: postgres::Error) -> aiaudit_core::Error {
        let what = format!("reading the head: {e}");
        self.failed.borrow_mut().get_or_insert(e);
        aiaudit_core::Error::Layout(what)
    }
}

impl Head for TxHead<'_> {
    fn tail_from(&self, from: u64) -> aiaudit_core::Result<Vec<TailEntry>> {
        let s = self.schema;
        let rows = self
            .client
            .borrow_mut()
            .query(
                &format!(
                    "SELECT seq, time_ns, leaf_hash, data FROM {s}.tail WHERE seq >= $1 ORDER BY seq"
                ),
                &[&(from as i64)],
            )
            .map_err(|e| self.keep(e))?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.get(0);
                let leaf_hash: Hash = r.get::<_, &[u8]>(2).try_into().map_err(|_| {
                    aiaudit_core::Error::Layout(format!(
                        "the leaf hash of tail row {seq} is not 32 bytes"
                    ))
                })?;
                Ok(TailEntry {
                    seq: seq as u64,
                    time_ns: r.get(1),
                    leaf_hash,
                    data: r.get(3),
                })
            })
            .collect()
    }

    fn tile_tail(&self, level: u32) -> aiaudit_core::Result<Option<TileTail>> {
        let s = self.schema;
        let row = self
            .client
            .borrow_mut()
            .query_opt(
                &format!("SELECT start, hashes FROM {s}.tile_tail WHERE level = $1"),
                &[&(level as i32)],
            )
            .map_err(|e| self.keep(e))?;
        Ok(row.map(|r| TileTail {
            level,
            start: r.get::<_, i64>(0) as u64,
            hashes: r.get(1),
        }))
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
    let tx_head = TxHead {
        client: RefCell::new(c),
        schema: s,
        failed: RefCell::new(None),
    };
    let plan = layout::plan(&b, head, &tx_head);
    let TxHead { client, failed, .. } = tx_head;
    let c = client.into_inner();
    let plan = match (plan, failed.into_inner()) {
        (Ok(p), _) => p,
        (Err(_), Some(driver)) => return Err(pg(&url, driver)),
        (Err(why), None) => {
            return Err(Error::Inconsistent {
                schema: s.to_owned(),
                what: why.to_string(),
            });
        }
    };
    write_plan(c, s, &plan).map_err(e)?;
    copy_postings(c, s, b.entries).map_err(e)?;
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

/// The bundles, summaries, tail rows, tiles and tile tails of `plan`.
fn write_plan(c: &mut Client, s: &str, plan: &layout::Plan<'_>) -> Result<(), postgres::Error> {
    // COPY rather than an INSERT a row: a batch of 8,192 completes 32 bundles, each with a
    // summary and a tile, and a round trip per row cost more than the rows.
    if !plan.bundles.is_empty() {
        let sink = c.copy_in(&format!(
            "COPY {s}.bundles (idx, first_time_ns, last_time_ns, min_time_ns, max_time_ns, \
             first_id, codec, times, data) FROM STDIN BINARY"
        ))?;
        let mut w = BinaryCopyInWriter::new(
            sink,
            &[
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::INT8,
                Type::TEXT,
                Type::INT2,
                Type::BYTEA,
                Type::BYTEA,
            ],
        );
        for b in &plan.bundles {
            // `plan` encoded these times itself.
            let (lo, hi) = b.time_bounds().unwrap_or((b.first_time_ns, b.last_time_ns));
            let (idx, codec) = (b.index as i64, i16::from(b.codec));
            let row: [&(dyn ToSql + Sync); 9] = [
                &idx,
                &b.first_time_ns,
                &b.last_time_ns,
                &lo,
                &hi,
                &b.first_id,
                &codec,
                &b.times,
                &b.data,
            ];
            w.write(&row)?;
        }
        w.finish()?;
        let sink = c.copy_in(&format!("COPY {s}.summaries (idx, data) FROM STDIN BINARY"))?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA]);
        for (b, data) in plan.bundles.iter().zip(&plan.summaries) {
            w.write(&[&(b.index as i64), data])?;
        }
        w.finish()?;
    }
    if let Some(below) = plan.drop_tail_below {
        c.execute(
            &format!("DELETE FROM {s}.tail WHERE seq < $1"),
            &[&(below as i64)],
        )?;
    }
    if !plan.tail.is_empty() {
        let sink = c.copy_in(&format!(
            "COPY {s}.tail (seq, time_ns, leaf_hash, data) FROM STDIN BINARY"
        ))?;
        let mut w =
            BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::BYTEA, Type::BYTEA]);
        for x in plan.tail {
            let seq = x.seq as i64;
            let row: [&(dyn ToSql + Sync); 4] = [&seq, &x.time_ns, &&x.leaf_hash[..], &&x.data[..]];
            w.write(&row)?;
        }
        w.finish()?;
    }
    if !plan.tiles.is_empty() {
        let sink = c.copy_in(&format!("COPY {s}.tiles (id, hashes) FROM STDIN BINARY"))?;
        let mut w = BinaryCopyInWriter::new(sink, &[Type::INT8, Type::BYTEA]);
        for t in &plan.tiles {
            w.write(&[&layout::tile_key(t.level, t.index), &t.hashes])?;
        }
        w.finish()?;
    }
    for t in &plan.tile_tails {
        c.execute(
            &format!(
                "INSERT INTO {s}.tile_tail(level, start, hashes) VALUES ($1, $2, $3) \
                 ON CONFLICT (level) DO UPDATE SET start = excluded.start, hashes = excluded.hashes"
            ),
            &[&(t.level as i32), &(t.start as i64), &t.hashes],
        )?;
    }
    Ok(())
}

/// The batch's posting lists, marked as in the SQLite layout.
fn copy_postings(
    c: &mut Client,
    s: &str,
    entries: &[aiaudit_core::StoredEntry],
) -> Result<(), postgres::Error> {
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
    for ((field, value), (seqs, marks)) in postings::build_marked(entries) {
        let key = postings::key(field, value);
        let last = seqs.last().copied().unwrap_or(first.seq) as i64;
        let count = seqs.len() as i32;
        let enc = postings::Encoding::Marked.encode(field, first.seq, &seqs, &marks);
        w.write(&[&key, &batch, &last, &count, &&enc[..]])?;
    }
    w.finish()?;
    Ok(())
}
