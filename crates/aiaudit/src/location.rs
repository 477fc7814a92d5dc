//! Where a log lives: an SQLite file (a path), or a schema of a PostgreSQL database (a
//! `postgres://` URL passed where a path goes, as `--db` takes either).

use std::path::{Path, PathBuf};

/// The PostgreSQL URL `db` names, if it is one rather than a file path.
pub fn postgres_url(db: &Path) -> Option<&str> {
    db.to_str().filter(|s| aiaudit_postgres::is_postgres_url(s))
}

/// The path the log's local files are named after: the database file itself, or for a
/// PostgreSQL log `<schema>.pg` in the working directory, so that its signing key is
/// `<schema>.key`, its redaction secret `<schema>.hmac`, its subject keys `<schema>.subjects`
/// and its server's tokens `<schema>.tokens` (each can be named explicitly instead).
///
/// A file path is resolved to the database's real name first (symlinks followed), so that a
/// log reached through a link has one key, one secret and one set of tokens.
pub fn local_base(db: &Path) -> PathBuf {
    match postgres_url(db).and_then(|u| aiaudit_postgres::PgUrl::parse(u).ok()) {
        Some(u) => PathBuf::from(format!("{}.pg", u.schema)),
        None => aiaudit_sqlite::real_path(db),
    }
}

/// `db` as shown in messages: a URL without its password.
pub fn display(db: &Path) -> String {
    match postgres_url(db).and_then(|u| aiaudit_postgres::PgUrl::parse(u).ok()) {
        Some(u) => u.display,
        None => db.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_urls() {
        let url = Path::new("postgres://u:pw@127.0.0.1/test?schema=tenant_a");
        assert_eq!(postgres_url(url), url.to_str());
        assert_eq!(local_base(url), PathBuf::from("tenant_a.pg"));
        assert_eq!(
            local_base(url).with_extension("key"),
            PathBuf::from("tenant_a.key")
        );
        assert!(!display(url).contains("pw"));
        let file = Path::new("dir/audit.db");
        assert_eq!(postgres_url(file), None);
        assert_eq!(
            local_base(file),
            file,
            "a path that cannot be resolved stays as given"
        );
    }
}
