//! Where a log lives: an SQLite file (a path), or a schema of a PostgreSQL database (a
//! `postgres://` URL passed where a path goes, as `--db` takes either).

use std::path::{Path, PathBuf};

/// The PostgreSQL URL `db` names, if it is one rather than a file path.
pub fn postgres_url(db: &Path) -> Option<&str> {
    db.to_str()
        .filter(|s| s.starts_with("postgres://") || s.starts_with("postgresql://"))
}

/// The schema and password-free form of a PostgreSQL URL.
#[cfg(feature = "postgres")]
fn parsed(db: &Path) -> Option<(String, String)> {
    postgres_url(db)
        .and_then(|u| aiaudit_postgres::PgUrl::parse(u).ok())
        .map(|u| (u.schema, u.display))
}

/// Without PostgreSQL support a URL is not parsed: its schema is the default one, and it is
/// shown without anything after the host's `@` to keep a password out of messages.
#[cfg(not(feature = "postgres"))]
fn parsed(db: &Path) -> Option<(String, String)> {
    postgres_url(db).map(|u| {
        let shown = match (u.find("://"), u.rfind('@')) {
            (Some(s), Some(at)) if at > s => format!("{}://…{}", &u[..s], &u[at..]),
            _ => u.to_owned(),
        };
        ("aiaudit".to_owned(), shown)
    })
}

/// Opens the existing log at `db` (a file path or a `postgres://` URL) as a store.
pub fn open_store(db: &Path) -> crate::Result<Box<dyn aiaudit_core::Store>> {
    check_supported(db)?;
    Ok(match postgres_url(db) {
        #[cfg(feature = "postgres")]
        Some(url) => Box::new(aiaudit_postgres::PostgresStore::open(url)?),
        _ => Box::new(aiaudit_sqlite::SqliteStore::open(db)?),
    })
}

/// Refuses a log this build cannot open: a PostgreSQL log when the crate was built without
/// its `postgres` feature ([`crate::Error::Unsupported`], the URL shown without its password).
pub fn check_supported(db: &Path) -> crate::Result<()> {
    if cfg!(feature = "postgres") || postgres_url(db).is_none() {
        return Ok(());
    }
    Err(crate::Error::Unsupported(format!(
        "{} is a PostgreSQL log, and this build of aiaudit has no PostgreSQL support: enable the `postgres` feature of the aiaudit crate",
        display(db)
    )))
}

/// The path the log's local files are named after: the database file itself, or for a
/// PostgreSQL log `<schema>.pg` in the working directory, so that its signing key is
/// `<schema>.key`, its redaction secret `<schema>.hmac`, its subject keys `<schema>.subjects`
/// and its server's tokens `<schema>.tokens` (each can be named explicitly instead).
///
/// A file path is resolved to the database's real name first (symlinks followed), so that a
/// log reached through a link has one key, one secret and one set of tokens.
pub fn local_base(db: &Path) -> PathBuf {
    match parsed(db) {
        Some((schema, _)) => PathBuf::from(format!("{schema}.pg")),
        None => aiaudit_sqlite::real_path(db),
    }
}

/// `db` as shown in messages: a URL without its password.
pub fn display(db: &Path) -> String {
    match parsed(db) {
        Some((_, shown)) => shown,
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
