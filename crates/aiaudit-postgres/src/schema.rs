//! The layout of a PostgreSQL log (docs/format.md §8): tables, append-only triggers, the
//! writer and reader roles, and monthly partitions of the entries.

/// `meta.format_version`: the layout version this code reads and writes.
pub const FORMAT_VERSION: i32 = 1;

/// Tables, triggers and roles, created in one transaction; `{s}` is the schema.
///
/// `entries` is partitioned by month of sealed time so that a month can be detached and
/// archived. It has no primary key (PostgreSQL would want the partition key in it): a plain
/// index on `seq` finds entries, the head lock gives each seq once, and `verify` reports any
/// row of a seq given twice.
/// Field queries go through `postings`, one row per batch and (field, value), exactly as in the
/// SQLite layout: a batch of 8,192 events adds a few hundred index rows, not eight B-tree
/// inserts per event. `head` is the one row every writer locks to append.
pub(crate) const SCHEMA: &str = r#"
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE {s}.meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE {s}.head (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    size bigint  NOT NULL CHECK (size >= 0)
);
CREATE TABLE {s}.entries (
    seq       bigint NOT NULL,
    time_ns   bigint NOT NULL,
    id        uuid   NOT NULL,
    leaf_hash bytea  NOT NULL,
    data      bytea  NOT NULL
) PARTITION BY RANGE (time_ns);
CREATE TABLE {s}.entries_default PARTITION OF {s}.entries DEFAULT;
CREATE INDEX ON {s}.entries (seq);
CREATE INDEX ON {s}.entries USING brin (time_ns);
CREATE TABLE {s}.postings (
    key   text    NOT NULL,
    batch bigint  NOT NULL,
    last  bigint  NOT NULL,
    count integer NOT NULL,
    seqs  bytea   NOT NULL,
    PRIMARY KEY (key, batch)
);
CREATE INDEX ON {s}.postings (batch);
CREATE TABLE {s}.nodes (
    id   bigint PRIMARY KEY,
    hash bytea  NOT NULL
);
CREATE TABLE {s}.checkpoints (
    size    bigint PRIMARY KEY,
    root    bytea  NOT NULL,
    note    text   NOT NULL,
    time_ns bigint NOT NULL
);

CREATE FUNCTION {s}.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'aiaudit: the audit log is append-only (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE FUNCTION {s}.forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.size < OLD.size THEN
        RAISE EXCEPTION 'aiaudit: the log head only moves forward (% to %)', OLD.size, NEW.size
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$;
"#;

/// Tables whose rows can never change once written.
pub(crate) const APPEND_ONLY: [&str; 5] = ["meta", "entries", "postings", "nodes", "checkpoints"];

/// The row trigger of one table (`{t}`): no UPDATE or DELETE. On `entries` it also covers every
/// partition, which inherit row triggers.
pub(crate) const ROW_TRIGGER: &str = r#"
CREATE TRIGGER no_change BEFORE UPDATE OR DELETE ON {s}.{t}
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
"#;

/// The statement trigger of one table or partition (`{t}`): no TRUNCATE (partitions do not
/// inherit statement triggers, so each gets its own).
pub(crate) const TRUNCATE_TRIGGER: &str = r#"
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON {s}.{t}
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse();
"#;

/// The head may only grow, and never be deleted.
pub(crate) const HEAD_TRIGGERS: &str = r#"
CREATE TRIGGER forward BEFORE UPDATE ON {s}.head
    FOR EACH ROW EXECUTE FUNCTION {s}.forward();
CREATE TRIGGER no_delete BEFORE DELETE ON {s}.head
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON {s}.head
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse();
"#;

/// The roles (NOLOGIN: grant them to login users): `{s}_writer` may read, insert and move the
/// head forward; `{s}_reader` may only read. Neither can UPDATE, DELETE or TRUNCATE a log
/// table, so the triggers are the second wall, for the owner.
pub(crate) const ROLES: &str = r#"
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{s}_writer') THEN
        CREATE ROLE {s}_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{s}_reader') THEN
        CREATE ROLE {s}_reader NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA {s} TO {s}_writer, {s}_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {s}_writer, {s}_reader;
GRANT INSERT ON {s}.entries, {s}.postings, {s}.nodes, {s}.checkpoints TO {s}_writer;
GRANT UPDATE (size) ON {s}.head TO {s}_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {s}_writer, {s}_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT INSERT ON TABLES TO {s}_writer;
"#;

/// Splices the schema (a checked identifier) into SQL.
pub(crate) fn sql(template: &str, schema: &str) -> String {
    template.replace("{s}", schema)
}

use aiaudit_core::timefmt::{civil_from_days, days_from_civil};

const NS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// The (year, month) of a time, UTC.
pub(crate) fn month_of(time_ns: i64) -> (i64, u32) {
    let (y, m, _) = civil_from_days(time_ns.div_euclid(NS_PER_DAY));
    (y, m)
}

/// The month after `(year, month)`.
pub(crate) fn next_month((year, month): (i64, u32)) -> (i64, u32) {
    if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    }
}

/// The first nanosecond of a month.
pub(crate) fn month_start_ns((year, month): (i64, u32)) -> i64 {
    days_from_civil(year, month, 1).saturating_mul(NS_PER_DAY)
}

/// The partition of one month: `entries_y2026m12` for `[start, next start)`.
pub(crate) fn partition_sql(schema: &str, month: (i64, u32)) -> (String, String) {
    let name = format!("entries_y{:04}m{:02}", month.0, month.1);
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {schema}.{name} PARTITION OF {schema}.entries \
         FOR VALUES FROM ({}) TO ({})",
        month_start_ns(month),
        month_start_ns(next_month(month))
    );
    (name, ddl)
}

/// Node id of the perfect subtree `(level, index)`, as in the SQLite layout.
pub(crate) fn node_id(level: u32, index: u64) -> i64 {
    ((u64::from(level) << 48) | index) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_round_trip() {
        // 2026-12-01T00:00:00Z and one nanosecond before it.
        let dec = 1_796_083_200 * 1_000_000_000;
        assert_eq!(month_of(dec), (2026, 12));
        assert_eq!(month_of(dec - 1), (2026, 11));
        assert_eq!(month_start_ns((2026, 12)), dec);
        assert_eq!(month_of(0), (1970, 1));
        assert_eq!(
            month_start_ns(next_month((2026, 12))),
            month_start_ns((2027, 1))
        );
        for m in 1..=12 {
            let start = month_start_ns((2024, m));
            assert_eq!(month_of(start), (2024, m));
            assert_eq!(month_of(start - 1).1, if m == 1 { 12 } else { m - 1 });
        }
        let (name, ddl) = partition_sql("a", (2026, 2));
        assert_eq!(name, "entries_y2026m02");
        assert!(ddl.contains("PARTITION OF a.entries"), "{ddl}");
    }
}
