//! The layout of a PostgreSQL log (docs/format.md §8): the v2 tables (those of the SQLite
//! layout, §5), their append-only triggers, the writer and reader roles, and the partitions of
//! `bundles`.

/// `meta.format_version`: the layout version this code reads and writes.
pub const FORMAT_VERSION: i32 = 2;
/// The first layout: one `entries` row per record and tree nodes as rows. Read only to migrate.
pub const FORMAT_V1: i32 = 1;

/// Bundles per partition of `bundles` unless the URL that creates the log says otherwise
/// (`partition_bundles`): 1,048,576 entries. A log keeps its value in `meta`.
pub const PARTITION_BUNDLES: u64 = 4_096;

/// Tables, triggers and roles, created in one transaction; `{s}` is the schema.
///
/// The tables are those of the SQLite layout, computed by the same `aiaudit_core::layout`.
/// `bundles` adds the bounds of its records' times: writers on several hosts seal with their
/// own clocks, so times (and ids) need not grow with seq, and reads select bundles by time
/// through the indexes of both bounds instead of a binary search. `head` is the one row every writer locks
/// to append.
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
CREATE TABLE {s}.bundles (
    idx           bigint   NOT NULL,
    first_time_ns bigint   NOT NULL,
    last_time_ns  bigint   NOT NULL,
    min_time_ns   bigint   NOT NULL,
    max_time_ns   bigint   NOT NULL,
    first_id      text     NOT NULL,
    codec         smallint NOT NULL,
    times         bytea    NOT NULL,
    data          bytea    NOT NULL,
    PRIMARY KEY (idx)
) PARTITION BY RANGE (idx);
-- Bundles and summaries are zstd already: PostgreSQL's own compression would only cost time.
ALTER TABLE {s}.bundles ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE {s}.bundles_default PARTITION OF {s}.bundles DEFAULT;
CREATE INDEX ON {s}.bundles (min_time_ns);
CREATE INDEX ON {s}.bundles (max_time_ns);
CREATE TABLE {s}.summaries (
    idx  bigint PRIMARY KEY,
    data bytea  NOT NULL
);
ALTER TABLE {s}.summaries ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE {s}.tail (
    seq       bigint PRIMARY KEY,
    time_ns   bigint NOT NULL,
    leaf_hash bytea  NOT NULL,
    data      bytea  NOT NULL
);
CREATE TABLE {s}.tiles (
    id     bigint PRIMARY KEY,
    hashes bytea  NOT NULL
);
CREATE TABLE {s}.tile_tail (
    level  integer PRIMARY KEY,
    start  bigint  NOT NULL,
    hashes bytea   NOT NULL
);
CREATE TABLE {s}.postings (
    key   text    NOT NULL,
    batch bigint  NOT NULL,
    last  bigint  NOT NULL,
    count integer NOT NULL,
    seqs  bytea   NOT NULL,
    PRIMARY KEY (key, batch)
);
CREATE INDEX ON {s}.postings (batch);
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
CREATE FUNCTION {s}.bundled() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM {s}.bundles WHERE idx = OLD.seq / 256) THEN
        RAISE EXCEPTION 'aiaudit: the audit log is append-only (DELETE of tail row % before its bundle)', OLD.seq
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END $$;
CREATE TRIGGER no_update BEFORE UPDATE ON {s}.tail
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER only_bundled BEFORE DELETE ON {s}.tail
    FOR EACH ROW EXECUTE FUNCTION {s}.bundled();
CREATE TRIGGER no_delete BEFORE DELETE ON {s}.tile_tail
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
"#;

/// Tables whose rows can never change once written.
pub(crate) const APPEND_ONLY: [&str; 6] = [
    "meta",
    "bundles",
    "summaries",
    "tiles",
    "postings",
    "checkpoints",
];

/// Tables that no one may truncate (statement triggers are not inherited by partitions, so
/// each partition of `bundles` gets its own too).
pub(crate) const NO_TRUNCATE: [&str; 9] = [
    "meta",
    "bundles",
    "bundles_default",
    "summaries",
    "tail",
    "tiles",
    "tile_tail",
    "postings",
    "checkpoints",
];

/// The row trigger of one table (`{t}`): no UPDATE or DELETE. On `bundles` it also covers
/// every partition, which inherit row triggers.
pub(crate) const ROW_TRIGGER: &str = r#"
CREATE TRIGGER no_change BEFORE UPDATE OR DELETE ON {s}.{t}
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
"#;

/// The statement trigger of one table or partition (`{t}`): no TRUNCATE.
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

/// The roles (NOLOGIN: grant them to login users) and their grants on schema `{s}`, named
/// after `{r}` (the schema's name when the log was made; a migrated log keeps its roles):
/// `{r}_writer` may read, insert, delete bundled tail rows, rewrite tile tails and move the
/// head forward; `{r}_reader` may only read. Neither can change or remove anything else, so
/// the triggers are the second wall, for the owner.
pub(crate) const ROLES: &str = r#"
DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{r}_writer') THEN
        CREATE ROLE {r}_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{r}_reader') THEN
        CREATE ROLE {r}_reader NOLOGIN;
    END IF;
END $$;
GRANT USAGE ON SCHEMA {s} TO {r}_writer, {r}_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {r}_writer, {r}_reader;
GRANT INSERT ON {s}.bundles, {s}.bundles_default, {s}.summaries, {s}.tail, {s}.tiles, {s}.tile_tail,
    {s}.postings, {s}.checkpoints TO {r}_writer;
GRANT DELETE ON {s}.tail TO {r}_writer;
GRANT UPDATE ON {s}.tile_tail TO {r}_writer;
GRANT UPDATE (size) ON {s}.head TO {r}_writer;
ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT ON TABLES TO {r}_writer, {r}_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT INSERT ON TABLES TO {r}_writer;
"#;

/// Splices the schema (a checked identifier) into SQL.
pub(crate) fn sql(template: &str, schema: &str) -> String {
    template.replace("{s}", schema)
}

/// The partition holding bundle `idx` when partitions hold `per` bundles: with 4,096,
/// `bundles_p000001` holds bundles 4,096 … 8,191.
pub(crate) fn partition_of(idx: u64, per: u64) -> u64 {
    idx / per.max(1)
}

/// The name of partition `p`.
pub(crate) fn partition_name(p: u64) -> String {
    format!("bundles_p{p:06}")
}

/// The name and DDL of partition `p` of `per` bundles.
pub(crate) fn partition_sql(schema: &str, p: u64, per: u64) -> (String, String) {
    let name = partition_name(p);
    let ddl = format!(
        "CREATE TABLE IF NOT EXISTS {schema}.{name} PARTITION OF {schema}.bundles \
         FOR VALUES FROM ({}) TO ({})",
        p * per,
        (p + 1) * per
    );
    (name, ddl)
}

/// The archive's tables (docs/format.md §8, §13), made with every new log and, for a log made
/// before them, in the transaction of its first archive run. `archives` lists the files
/// records went to, `archive_deletions` those deleted under the retention policy; `archived_bundles` keeps what reads need of each bundle whose partition
/// was detached (everything but its records); `all_bundles` is what reads select from.
/// Rows never change, and only the owner adds any: the roles may only read them.
pub(crate) const ARCHIVE_SCHEMA: &str = r#"
CREATE TABLE {s}.archives (
    first_seq bigint PRIMARY KEY,
    end_seq   bigint NOT NULL,
    event_seq bigint NOT NULL,
    url       text   NOT NULL,
    file      text   NOT NULL,
    manifest  text   NOT NULL
);
CREATE TABLE {s}.archived_bundles (
    idx           bigint PRIMARY KEY,
    first_time_ns bigint NOT NULL,
    last_time_ns  bigint NOT NULL,
    min_time_ns   bigint NOT NULL,
    max_time_ns   bigint NOT NULL,
    first_id      text   NOT NULL,
    times         bytea  NOT NULL
);
CREATE TABLE {s}.archive_deletions (
    first_seq bigint PRIMARY KEY,
    event_seq bigint NOT NULL
);
CREATE INDEX ON {s}.archived_bundles (min_time_ns);
CREATE INDEX ON {s}.archived_bundles (max_time_ns);
CREATE VIEW {s}.all_bundles AS
    SELECT idx, first_time_ns, last_time_ns, min_time_ns, max_time_ns, first_id, codec, times, data
      FROM {s}.bundles
    UNION ALL
    SELECT idx, first_time_ns, last_time_ns, min_time_ns, max_time_ns, first_id, 0::smallint, times,
           ''::bytea
      FROM {s}.archived_bundles;
CREATE TRIGGER no_change BEFORE UPDATE OR DELETE ON {s}.archives
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_change BEFORE UPDATE OR DELETE ON {s}.archived_bundles
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_change BEFORE UPDATE OR DELETE ON {s}.archive_deletions
    FOR EACH ROW EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON {s}.archives
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON {s}.archive_deletions
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse();
CREATE TRIGGER no_truncate BEFORE TRUNCATE ON {s}.archived_bundles
    FOR EACH STATEMENT EXECUTE FUNCTION {s}.refuse();
-- The schema's default privileges give the writer role INSERT on new tables: not on these.
DO $$ DECLARE r text; BEGIN
    FOR r IN SELECT DISTINCT grantee FROM information_schema.role_table_grants
              WHERE table_schema = '{s}'
                AND table_name IN ('archives', 'archived_bundles', 'archive_deletions', 'all_bundles')
                AND privilege_type <> 'SELECT' AND grantee <> current_user LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON {s}.archives, {s}.archived_bundles, {s}.archive_deletions, {s}.all_bundles FROM %I', r);
    END LOOP;
END $$;
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_cover_their_bundles() {
        assert_eq!(partition_of(0, PARTITION_BUNDLES), 0);
        assert_eq!(partition_of(4_095, PARTITION_BUNDLES), 0);
        assert_eq!(partition_of(4_096, PARTITION_BUNDLES), 1);
        assert_eq!(partition_of(9, 4), 2);
        let (name, ddl) = partition_sql("a", 1, PARTITION_BUNDLES);
        assert_eq!(name, "bundles_p000001");
        assert!(ddl.contains("PARTITION OF a.bundles"), "{ddl}");
        assert!(ddl.contains("FROM (4096) TO (8192)"), "{ddl}");
    }
}
