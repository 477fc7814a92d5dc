//! Reads: entries by seq and id, filtered queries, full scans and checkpoints.

use aiaudit_core::{Hash, Query, StoredCheckpoint, StoredEntry};
use rusqlite::types::ToSql;
use rusqlite::{OptionalExtension, Row, params};

use crate::{Error, SqliteStore};

const COLUMNS: &str =
    "seq, id, time_ns, type, status, model, user, op_id, op_name, subject, leaf_hash, data";

fn hash(blob: Vec<u8>, seq: i64) -> Result<Hash, rusqlite::Error> {
    blob.try_into().map_err(|_| {
        rusqlite::Error::InvalidColumnType(
            10,
            format!("leaf_hash of seq {seq}"),
            rusqlite::types::Type::Blob,
        )
    })
}

fn entry(r: &Row<'_>) -> Result<StoredEntry, rusqlite::Error> {
    let seq: i64 = r.get(0)?;
    Ok(StoredEntry {
        seq: seq as u64,
        id: r.get(1)?,
        time_ns: r.get(2)?,
        kind: r.get(3)?,
        status: r.get(4)?,
        model: r.get(5)?,
        user: r.get(6)?,
        op_id: r.get(7)?,
        op_name: r.get(8)?,
        subject: r.get(9)?,
        leaf_hash: hash(r.get(10)?, seq)?,
        data: r.get(11)?,
    })
}

/// The entry matching `cond` (a condition on a unique column).
pub(crate) fn one(
    store: &SqliteStore,
    cond: &str,
    args: &[&dyn ToSql],
) -> Result<Option<StoredEntry>, Error> {
    let sql = format!("SELECT {COLUMNS} FROM entries WHERE {cond}");
    let mut stmt = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
    stmt.query_row(args, entry)
        .optional()
        .map_err(|e| store.err(e))
}

/// Entries matching every filter of `q`.
pub(crate) fn query(store: &SqliteStore, q: &Query) -> Result<Vec<StoredEntry>, Error> {
    let mut conds: Vec<&str> = Vec::new();
    let mut args: Vec<Box<dyn ToSql>> = Vec::new();
    let mut text = |cond: &'static str, v: &Option<String>, conds: &mut Vec<&str>| {
        if let Some(v) = v {
            conds.push(cond);
            args.push(Box::new(v.clone()));
        }
    };
    text("type = ?", &q.kind, &mut conds);
    text("status = ?", &q.status, &mut conds);
    text("model = ?", &q.model, &mut conds);
    text("user = ?", &q.user, &mut conds);
    text("subject = ?", &q.subject, &mut conds);
    if let Some(op) = &q.operation {
        conds.push("(op_id = ? OR op_name = ?)");
        args.push(Box::new(op.clone()));
        args.push(Box::new(op.clone()));
    }
    if let Some(t) = q.since_ns {
        conds.push("time_ns >= ?");
        args.push(Box::new(t));
    }
    if let Some(t) = q.until_ns {
        conds.push("time_ns <= ?");
        args.push(Box::new(t));
    }
    if let Some(after) = q.after_seq {
        conds.push(if q.descending { "seq < ?" } else { "seq > ?" });
        args.push(Box::new(after as i64));
    }
    let mut sql = format!("SELECT {COLUMNS} FROM entries");
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(if q.descending {
        " ORDER BY seq DESC"
    } else {
        " ORDER BY seq"
    });
    if q.limit > 0 {
        sql.push_str(&format!(" LIMIT {}", q.limit));
    }
    let mut stmt = store.conn.prepare_cached(&sql).map_err(|e| store.err(e))?;
    let params: Vec<&dyn ToSql> = args.iter().map(|b| b.as_ref()).collect();
    let rows = stmt
        .query_map(params.as_slice(), entry)
        .map_err(|e| store.err(e))?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| store.err(e))
}

/// Every entry from `from` on, in seq order.
pub(crate) fn scan(
    store: &SqliteStore,
    from: u64,
    f: &mut dyn FnMut(StoredEntry) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let sql = format!("SELECT {COLUMNS} FROM entries WHERE seq >= ?1 ORDER BY seq");
    let mut stmt = store.conn.prepare(&sql).map_err(|e| store.err(e))?;
    let mut rows = stmt.query(params![from as i64]).map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        let e = entry(row).map_err(|e| store.err(e))?;
        if !f(e)? {
            break;
        }
    }
    Ok(())
}

fn checkpoint(r: &Row<'_>) -> Result<StoredCheckpoint, rusqlite::Error> {
    let size: i64 = r.get(0)?;
    let root: Vec<u8> = r.get(1)?;
    Ok(StoredCheckpoint {
        size: size as u64,
        root: root.try_into().map_err(|_| {
            rusqlite::Error::InvalidColumnType(
                1,
                format!("root of checkpoint {size}"),
                rusqlite::types::Type::Blob,
            )
        })?,
        note: r.get(2)?,
        time_ns: r.get(3)?,
    })
}

/// The checkpoint with the largest size.
pub(crate) fn latest_checkpoint(store: &SqliteStore) -> Result<Option<StoredCheckpoint>, Error> {
    store
        .conn
        .query_row(
            "SELECT size, root, note, time_ns FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            checkpoint,
        )
        .optional()
        .map_err(|e| store.err(e))
}

/// The checkpoint over exactly `size` entries.
pub(crate) fn checkpoint_at(
    store: &SqliteStore,
    size: u64,
) -> Result<Option<StoredCheckpoint>, Error> {
    store
        .conn
        .query_row(
            "SELECT size, root, note, time_ns FROM checkpoints WHERE size = ?1",
            [size as i64],
            checkpoint,
        )
        .optional()
        .map_err(|e| store.err(e))
}

/// Every checkpoint by size.
pub(crate) fn checkpoints(
    store: &SqliteStore,
    f: &mut dyn FnMut(StoredCheckpoint) -> aiaudit_core::Result<bool>,
) -> aiaudit_core::Result<()> {
    let mut stmt = store
        .conn
        .prepare("SELECT size, root, note, time_ns FROM checkpoints ORDER BY size")
        .map_err(|e| store.err(e))?;
    let mut rows = stmt.query([]).map_err(|e| store.err(e))?;
    while let Some(row) = rows.next().map_err(|e| store.err(e))? {
        if !f(checkpoint(row).map_err(|e| store.err(e))?)? {
            break;
        }
    }
    Ok(())
}
