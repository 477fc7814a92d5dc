//! Which file a path names. SQLite keeps its write-ahead log and its locks per file *name*
//! (`<name>-wal`, `<name>-shm`), so two names of one database file — a hard link, a symlink, a
//! symlinked directory — would each get a WAL of their own, and a write through one would
//! destroy transactions committed through the other. Every open therefore goes through the
//! file's one real name: symlinks are resolved, and a file with more than one hard link is
//! refused.

use std::path::{Path, PathBuf};

use crate::Error;

/// The real path of `path`: symlinks resolved (for a file not yet made, its directory's), so
/// that the database, its WAL and its side files (key, secret, tokens, subject keys) are named
/// once whatever path reached them. Best effort: a path that cannot be resolved is returned as
/// given, and the open that follows reports what is wrong with it.
pub fn real_path(path: &Path) -> PathBuf {
    real_path_within(path, 8)
}

fn real_path_within(path: &Path, links: u32) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(path) {
        return real;
    }
    // A symlink to a file not made yet names that file.
    if links > 0
        && path.is_symlink()
        && let Ok(target) = std::fs::read_link(path)
    {
        let target = match path.parent() {
            Some(dir) if target.is_relative() => dir.join(target),
            _ => target,
        };
        return real_path_within(&target, links - 1);
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => {
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            std::fs::canonicalize(dir).map_or_else(|_| path.to_owned(), |d| d.join(name))
        }
        _ => path.to_owned(),
    }
}

/// [`real_path`], refusing what cannot be opened safely: a database file with more than one
/// hard link, and a symlink to nothing. For a writer.
pub fn resolve(path: &Path) -> Result<PathBuf, Error> {
    resolve_with(path, false)
}

/// [`resolve`] for a reader: a file with more than one hard link is read through the name
/// whose write-ahead log is live (`<name>-wal` exists: the name the writer uses), and refused
/// through any other, where SQLite would see a stale file and start a WAL of its own.
pub fn resolve_for_reading(path: &Path) -> Result<PathBuf, Error> {
    resolve_with(path, true)
}

fn resolve_with(path: &Path, reading: bool) -> Result<PathBuf, Error> {
    let link = std::fs::symlink_metadata(path);
    let real = real_path(path);
    match std::fs::metadata(&real) {
        Ok(meta) => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let live_wal = || PathBuf::from(format!("{}-wal", real.display())).exists();
                if meta.is_file() && meta.nlink() > 1 && !(reading && live_wal()) {
                    return Err(Error::HardLinked {
                        path: path.to_owned(),
                        links: meta.nlink(),
                    });
                }
            }
            let _ = meta;
            Ok(real)
        }
        Err(_) if link.as_ref().is_ok_and(|m| m.file_type().is_symlink()) => {
            // A link to a file not made yet: the log is made where the link points.
            match real.parent() {
                Some(dir) if dir.is_dir() && !real.is_symlink() => Ok(real),
                _ => Err(Error::Inconsistent {
                    path: path.to_owned(),
                    what: format!(
                        "a symbolic link to {}, which cannot be made",
                        real.display()
                    ),
                }),
            }
        }
        Err(_) => Ok(real),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn links_resolve_to_one_name() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("b.db");
        std::fs::write(&db, b"x").expect("write");
        let real = std::fs::canonicalize(&db).expect("real");
        std::os::unix::fs::symlink(&db, dir.path().join("link.db")).expect("symlink");
        assert_eq!(resolve(&dir.path().join("link.db")).expect("link"), real);
        std::os::unix::fs::symlink(dir.path(), dir.path().join("sub")).expect("dir link");
        assert_eq!(
            resolve(&dir.path().join("sub/b.db")).expect("dir link"),
            real
        );
        assert_eq!(
            real_path(&dir.path().join("sub/new.db")),
            real.with_file_name("new.db")
        );
        std::fs::hard_link(&db, dir.path().join("alias.db")).expect("hard link");
        let err = resolve(&db).expect_err("two names").to_string();
        assert!(err.contains("2 hard links"), "{err}");
        std::os::unix::fs::symlink("new.db", dir.path().join("dangling.db")).expect("dangling");
        assert_eq!(
            resolve(&dir.path().join("dangling.db")).expect("a link to a new file"),
            real.with_file_name("new.db")
        );
        std::os::unix::fs::symlink("nowhere/x.db", dir.path().join("broken.db")).expect("broken");
        let err = resolve(&dir.path().join("broken.db"))
            .expect_err("broken")
            .to_string();
        assert!(err.contains("which cannot be made"), "{err}");
    }
}
