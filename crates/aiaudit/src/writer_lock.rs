//! One writer per log, whatever path reached it.
//!
//! The lock is taken on the database file itself (`flock` on its inode), so a hard link, a
//! symlink, `./x` against `x` or a bind mount of the directory all meet the same lock. Beside
//! it, `<db>-writer.lock` (named after the real path) is locked too and holds the writer's pid,
//! so that a refused writer can say who holds the log, and so that an older aiaudit, which
//! locks only that file, is kept out as well.
//!
//! Invariant: a descriptor of the database file is never closed while this process may hold
//! SQLite connections to it. POSIX drops every `fcntl` lock a process holds on a file when any
//! of its descriptors of that file is closed, and SQLite's locks are `fcntl` locks. So the lock
//! is let go with `unlock` and the descriptor parked for the next writer of the same file in
//! this process; only a forked child, which must not touch the parent's locks, closes its
//! copies without unlocking.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use crate::error::{Error, Result};

/// Open descriptors by the (device, inode) of their file.
type Descriptors = HashMap<(u64, u64), Vec<File>>;

/// Descriptors of database files whose lock this process let go.
static PARKED: Mutex<Option<Descriptors>> = Mutex::new(None);

/// How long a lock released a moment ago may still be held by a child that a thread of this
/// process forked just before and has not yet exec'd (a `flock` follows the open file).
const FORK_GRACE_TRIES: usize = 25;

/// The writer's hold on a log, released when dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    db: Option<File>,
    id: (u64, u64),
    note: Option<File>,
    /// The note's path, and whether this lock made it.
    note_path: PathBuf,
    made_note: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| Error::Io { path, source }
}

fn file_id(path: &Path) -> std::io::Result<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path)?;
        Ok((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok((0, 0))
    }
}

/// Tries `lock` a few times over 250 ms (see [`FORK_GRACE_TRIES`]); true when taken.
fn try_exclusive(file: &File) -> std::io::Result<bool> {
    for attempt in 0..=FORK_GRACE_TRIES {
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(std::fs::TryLockError::WouldBlock) if attempt < FORK_GRACE_TRIES => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(std::fs::TryLockError::WouldBlock) => return Ok(false),
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
    }
    Ok(false)
}

/// The pid written in a lock note, if it holds one.
fn holder(note: &Path) -> Option<u32> {
    let mut text = String::new();
    File::open(note).ok()?.read_to_string(&mut text).ok()?;
    text.trim().parse().ok()
}

/// The refusal of a second writer; `note` is the holder's note when the holder is known.
fn busy(shown: &Path, note: Option<&Path>) -> Error {
    let who = match note.and_then(holder) {
        Some(pid) if pid == std::process::id() => {
            format!("another logger in this process (pid {pid})")
        }
        Some(pid) => format!("another process (pid {pid})"),
        None => "another process (a process that opened it by another path)".to_owned(),
    };
    Error::Busy(format!(
        "the log {} is open for writing by {who}; a log has one writer — send events to it, or to `aiaudit serve`",
        shown.display()
    ))
}

impl WriterLock {
    /// Takes the writer lock of the log whose database file is `real` (its resolved path):
    /// first the note beside it, then the file itself if it exists yet (a new log's file is
    /// locked by [`WriterLock::lock_file`] once created). `shown` is the path as the user gave
    /// it, for messages.
    pub(crate) fn take(real: &Path, shown: &Path) -> Result<WriterLock> {
        let note_path = PathBuf::from(format!("{}-writer.lock", real.display()));
        let made_note = !note_path.exists();
        let mut note = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&note_path)
            .map_err(io(&note_path))?;
        if !try_exclusive(&note).map_err(io(&note_path))? {
            return Err(busy(shown, Some(&note_path)));
        }
        // The pid is for messages only (the locks are what keep a second writer out): a full
        // disk that cannot take it does not stop the writer here.
        let pid = std::process::id();
        let _ = note
            .set_len(0)
            .and_then(|()| note.rewind())
            .and_then(|()| writeln!(note, "{pid}"));
        let mut lock = WriterLock {
            db: None,
            id: (0, 0),
            note: Some(note),
            note_path,
            made_note,
        };
        if real.exists() {
            lock.lock_file(real, shown)?;
        }
        Ok(lock)
    }

    /// Locks the database file itself (the inode, whatever its name).
    pub(crate) fn lock_file(&mut self, real: &Path, shown: &Path) -> Result<()> {
        let id = file_id(real).map_err(io(real))?;
        // A descriptor this process parked for the same file is used again (see the module's
        // invariant), so that opening and closing loggers opens no new descriptors.
        let parked = PARKED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_mut()
            .and_then(|m| m.get_mut(&id).and_then(Vec::pop));
        let db = match parked {
            Some(f) => f,
            None => File::open(real).map_err(io(real))?,
        };
        self.id = id;
        let taken = try_exclusive(&db).map_err(io(real));
        self.db = Some(db);
        if taken? {
            Ok(())
        } else {
            self.park(false);
            // Held through another name, whose note this is not.
            Err(busy(shown, None))
        }
    }

    /// Lets go of a lock taken for a file that turned out not to be a log: the note it made
    /// is removed, so that a wrong path gets nothing left beside it.
    pub(crate) fn discard(self) {
        let remove = self.made_note.then(|| self.note_path.clone());
        drop(self);
        if let Some(p) = remove {
            let _ = std::fs::remove_file(p);
        }
    }

    /// Lets go of the database file's descriptor: unlocked (when `unlock`) and parked, never
    /// closed.
    fn park(&mut self, unlock: bool) {
        if let Some(db) = self.db.take() {
            if unlock {
                let _ = db.unlock();
            }
            let mut parked = PARKED.lock().unwrap_or_else(PoisonError::into_inner);
            parked
                .get_or_insert_with(HashMap::new)
                .entry(self.id)
                .or_default()
                .push(db);
        }
    }

    /// In a child forked from the writer's process: closes the child's copies without
    /// unlocking them (an unlock would release the parent's lock, which the copies share), so
    /// that the lock goes when the parent lets go of it, however long the child lives.
    pub(crate) fn forget_after_fork(mut self) {
        drop(self.db.take());
        drop(self.note.take());
        if let Ok(mut parked) = PARKED.try_lock() {
            parked.take();
        }
    }
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        if let Some(note) = self.note.take() {
            let _ = note.set_len(0);
            let _ = note.unlock();
        }
        self.park(true);
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_by_any_path_is_refused_and_named() {
        let dir = tempfile::tempdir().expect("tmp");
        let db = dir.path().join("b.db");
        std::fs::write(&db, b"").expect("db");
        let real = aiaudit_sqlite::real_path(&db);
        let first = WriterLock::take(&real, &db).expect("first");
        let note =
            std::fs::read_to_string(format!("{}-writer.lock", real.display())).expect("note");
        assert_eq!(note.trim(), std::process::id().to_string());
        // The same inode through another name (a hard link is refused earlier, by the store;
        // here it stands for a bind mount): the lock is on the file, not the name.
        let alias = dir.path().join("alias.db");
        std::fs::hard_link(&db, &alias).expect("link");
        let err = WriterLock::take(&alias, &alias)
            .expect_err("second writer")
            .to_string();
        assert!(
            err.contains("is open for writing by another process (a process that opened it"),
            "{err}"
        );
        let err = WriterLock::take(&real, &db)
            .expect_err("second writer")
            .to_string();
        assert!(
            err.contains(&format!("(pid {})", std::process::id())),
            "{err}"
        );
        drop(first);
        let again = WriterLock::take(&alias, &alias).expect("free again");
        drop(again);
        assert!(WriterLock::take(&real, &db).is_ok());
    }
}
