//! The schema of an aiaudit SQLite file (see docs/format.md, "SQLite layout").

/// `PRAGMA application_id` of an aiaudit log: "AIAU".
pub const APPLICATION_ID: i32 = 0x4149_4155;
/// `PRAGMA user_version`: the layout version this code reads and writes.
pub const FORMAT_VERSION: i32 = 1;

/// Tables, indexes and the append-only triggers, created in one transaction.
///
/// Query indexes are posting lists, one row per batch and (field, value): a batch of 8,192
/// predictions by 250 users adds about 260 rows instead of 8 B-tree inserts per event, which is
/// what keeps durable ingest near raw append speed. Sealed times never decrease with seq and ids
/// (UUIDv7) strictly increase with it, so a time range or an id is found by binary search over
/// seq and needs no index of its own.
pub const SCHEMA: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Only what the leaf data does not already hold: query fields are read from `data`.
CREATE TABLE entries (
    seq       INTEGER PRIMARY KEY,
    time_ns   INTEGER NOT NULL,
    leaf_hash BLOB    NOT NULL,
    data      BLOB    NOT NULL
);

-- key = field ':' value; seqs = LEB128 deltas from batch (the batch's first seq).
CREATE TABLE postings (
    key   TEXT    NOT NULL,
    batch INTEGER NOT NULL,
    last  INTEGER NOT NULL,
    count INTEGER NOT NULL,
    seqs  BLOB    NOT NULL,
    PRIMARY KEY (key, batch)
) WITHOUT ROWID;
CREATE INDEX postings_by_batch ON postings(batch);

-- Perfect subtree hashes at stored levels; id = level << 48 | index.
CREATE TABLE nodes (
    id   INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
);

CREATE TABLE checkpoints (
    size    INTEGER PRIMARY KEY,
    root    BLOB    NOT NULL,
    note    TEXT    NOT NULL,
    time_ns INTEGER NOT NULL
);

CREATE TRIGGER entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER nodes_no_update BEFORE UPDATE ON nodes
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER nodes_no_delete BEFORE DELETE ON nodes
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
"#;

/// Node id of the perfect subtree `(level, index)`.
pub fn node_id(level: u32, index: u64) -> i64 {
    ((u64::from(level) << 48) | index) as i64
}
