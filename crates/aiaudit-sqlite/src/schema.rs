//! The schema of an aiaudit SQLite file (see docs/format.md, "SQLite layout").

/// `PRAGMA application_id` of an aiaudit log: "AIAU".
pub const APPLICATION_ID: i32 = 0x4149_4155;
/// `PRAGMA user_version`: the layout version this code reads and writes.
pub const FORMAT_VERSION: i32 = 1;

/// Tables, indexes and the append-only triggers, created in one transaction.
///
/// Index choice: every secondary index ends in `seq` or is time-ordered, so an insert lands at
/// the right edge of its B-tree (or of its key's group) instead of on a random page; the
/// partial indexes skip events that lack the field.
pub const SCHEMA: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE entries (
    seq       INTEGER PRIMARY KEY,
    id        TEXT    NOT NULL,
    time_ns   INTEGER NOT NULL,
    type      TEXT    NOT NULL,
    status    TEXT    NOT NULL,
    model     TEXT,
    user      TEXT,
    op_id     TEXT,
    op_name   TEXT,
    subject   TEXT,
    leaf_hash BLOB    NOT NULL,
    data      BLOB    NOT NULL
);
CREATE UNIQUE INDEX entries_by_id ON entries(id);
CREATE INDEX entries_by_time ON entries(time_ns);
CREATE INDEX entries_by_type ON entries(type, seq);
CREATE INDEX entries_by_status ON entries(status, seq);
CREATE INDEX entries_by_model ON entries(model, seq) WHERE model IS NOT NULL;
CREATE INDEX entries_by_user ON entries(user, seq) WHERE user IS NOT NULL;
CREATE INDEX entries_by_op_id ON entries(op_id, seq) WHERE op_id IS NOT NULL;
CREATE INDEX entries_by_op_name ON entries(op_name, seq) WHERE op_name IS NOT NULL;
CREATE INDEX entries_by_subject ON entries(subject, seq) WHERE subject IS NOT NULL;

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
CREATE TRIGGER meta_no_update BEFORE UPDATE ON meta
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER meta_no_delete BEFORE DELETE ON meta
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
"#;

/// Node id of the perfect subtree `(level, index)`.
pub fn node_id(level: u32, index: u64) -> i64 {
    ((u64::from(level) << 48) | index) as i64
}
