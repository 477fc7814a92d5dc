//! The schema of an aiaudit SQLite file (see docs/format.md, "SQLite layout").

/// `PRAGMA application_id` of an aiaudit log: "AIAU".
pub const APPLICATION_ID: i32 = 0x4149_4155;
/// `PRAGMA user_version`: the layout version this code reads and writes (docs/format.md §5).
pub const FORMAT_VERSION: i32 = 2;
/// The first layout: one row per record and tree nodes as rows. Read only to migrate it.
pub const FORMAT_V1: i32 = 1;

/// Tables, indexes and the append-only triggers, created in one transaction.
///
/// Records are stored in entry bundles of 256, zstd-compressed (`aiaudit_core::layout`); those
/// after the last full bundle wait in `tail`, the only table whose rows are ever deleted, and
/// only once their bundle exists. The tree is kept as tiles of 256 hashes at every fourth level
/// (the tlog-tiles levels and the levels halfway between, which keep a proof to at most eight
/// hashes per sibling); `tile_tail` holds each level's hashes after its last full tile.
///
/// Each full bundle has a summary beside it (what a model usage report needs of its records),
/// so that reports merge summaries instead of reading every record.
///
/// Query indexes are posting lists, one row per batch and (field, value): a batch of 8,192
/// predictions by 250 users adds about 260 rows instead of 8 B-tree inserts per event. Sealed
/// times never decrease with seq and ids (UUIDv7) strictly increase with it, so a time range or
/// an id is found by binary search over bundles and needs no index of its own.
pub const SCHEMA: &str = r#"
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- idx = N: seqs 256·N … 256·N + 255. times = zigzag LEB128 deltas; data = zstd (codec 1: u16
-- length prefixes as c2sp.org/tlog-tiles frames a bundle; codec 2: u32 prefixes).
CREATE TABLE bundles (
    idx           INTEGER PRIMARY KEY,
    first_time_ns INTEGER NOT NULL,
    last_time_ns  INTEGER NOT NULL,
    first_id      TEXT    NOT NULL,
    codec         INTEGER NOT NULL,
    times         BLOB    NOT NULL,
    data          BLOB    NOT NULL
);

-- idx = N: the summary (aiaudit_core::summary) of bundle N's records, written with it;
-- data = zstd of its JSON.
CREATE TABLE summaries (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);

-- The records after the last full bundle (0–255 rows).
CREATE TABLE tail (
    seq       INTEGER PRIMARY KEY,
    time_ns   INTEGER NOT NULL,
    leaf_hash BLOB    NOT NULL,
    data      BLOB    NOT NULL
);

-- Full tiles: id = level << 48 | N; 256 hashes of tree level `level`, numbers 256·N ….
CREATE TABLE tiles (
    id     INTEGER PRIMARY KEY,
    hashes BLOB NOT NULL
);

-- Per tree level above 0: the hashes after its last full tile, from number `start`.
CREATE TABLE tile_tail (
    level  INTEGER PRIMARY KEY,
    start  INTEGER NOT NULL,
    hashes BLOB    NOT NULL
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

CREATE TABLE checkpoints (
    size    INTEGER PRIMARY KEY,
    root    BLOB    NOT NULL,
    note    TEXT    NOT NULL,
    time_ns INTEGER NOT NULL
);

CREATE TRIGGER tail_no_update BEFORE UPDATE ON tail
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER tail_delete_only_bundled BEFORE DELETE ON tail
WHEN NOT EXISTS (SELECT 1 FROM bundles WHERE idx = OLD.seq / 256)
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER tile_tail_no_delete BEFORE DELETE ON tile_tail
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
"#;

/// Tables whose rows are never updated or deleted: each gets two refusing triggers (bundles'
/// refusal of updates, in [`SCHEMA`], lets archiving empty their data and nothing else).
pub const APPEND_ONLY: [&str; 6] = [
    "bundles",
    "summaries",
    "tiles",
    "postings",
    "checkpoints",
    "meta",
];

/// The refusing triggers of [`APPEND_ONLY`].
pub fn append_only_triggers() -> String {
    let mut sql = String::new();
    for t in APPEND_ONLY {
        for op in ["UPDATE", "DELETE"] {
            // A bundle's data may be emptied once its records are archived: SCHEMA's own trigger.
            if t == "bundles" && op == "UPDATE" {
                continue;
            }
            sql.push_str(&format!(
                "CREATE TRIGGER {t}_no_{} BEFORE {op} ON {t}\nBEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;\n",
                op.to_lowercase()
            ));
        }
    }
    sql
}

/// The archives table and the one update bundles allow (emptying the data of archived
/// bundles). Part of every new file; a file made before archiving existed gets it, in the
/// transaction of its first archive run, from [`ARCHIVE_UPGRADE`].
pub const ARCHIVE_SCHEMA: &str = r#"
-- Files the records of bundles were moved to (docs/format.md §13): a prefix of the log,
-- recorded in the transaction that empties those bundles' data (codec 0).
CREATE TABLE archives (
    first_seq INTEGER PRIMARY KEY,
    end_seq   INTEGER NOT NULL,
    event_seq INTEGER NOT NULL,
    url       TEXT    NOT NULL,
    file      TEXT    NOT NULL,
    manifest  TEXT    NOT NULL
);

CREATE TRIGGER bundles_no_update BEFORE UPDATE ON bundles
WHEN NOT (OLD.codec <> 0 AND NEW.codec = 0 AND length(NEW.data) = 0 AND NEW.idx = OLD.idx
    AND NEW.first_time_ns = OLD.first_time_ns AND NEW.last_time_ns = OLD.last_time_ns
    AND NEW.first_id = OLD.first_id AND NEW.times = OLD.times
    AND EXISTS (SELECT 1 FROM archives WHERE first_seq <= OLD.idx * 256 AND OLD.idx * 256 < end_seq))
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER archives_no_update BEFORE UPDATE ON archives
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER archives_no_delete BEFORE DELETE ON archives
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
"#;

/// Archived files deleted under the retention policy (docs/format.md §13.5), made by the first
/// deletion: the file starting at `first_seq` was deleted by the `archive` event at
/// `event_seq`. Append-only.
pub const DELETIONS_SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS archive_deletions (
    first_seq INTEGER PRIMARY KEY,
    event_seq INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS archive_deletions_no_update BEFORE UPDATE ON archive_deletions
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS archive_deletions_no_delete BEFORE DELETE ON archive_deletions
BEGIN SELECT RAISE(ABORT, 'aiaudit: the audit log is append-only'); END;
"#;

/// Replaces the unconditional refusal of bundle updates of a file made before archiving
/// existed, before [`ARCHIVE_SCHEMA`] runs.
pub const ARCHIVE_UPGRADE: &str = "DROP TRIGGER IF EXISTS bundles_no_update;";
