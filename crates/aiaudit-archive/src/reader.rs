//! [`ArchiveReader`]: the [`ArchiveSource`] stores read archived records through. Files are
//! fetched whole and kept (the last two), decoded one row group at a time (the last eight).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use aiaudit_core::archive::{ArchiveSource, ArchivedFile, Manifest, unreachable};
use aiaudit_core::layout::BUNDLE_WIDTH;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::parquet_file::{ROW_GROUP, read_group, shape};
use crate::{Error, Io, Location};

/// Files kept fetched.
const FILES: usize = 2;
/// Row groups kept decoded.
const GROUPS: usize = 8;

type Group = Arc<Vec<(u64, Vec<u8>)>>;

/// Reads archived files from wherever their URLs point.
#[derive(Debug)]
pub struct ArchiveReader {
    io: Io,
    locations: Mutex<HashMap<String, Location>>,
    files: Mutex<VecDeque<(String, Bytes)>>,
    groups: Mutex<VecDeque<((String, usize), Group)>>,
}

impl ArchiveReader {
    /// A reader with its own I/O thread.
    pub fn new() -> Result<Self, Error> {
        Ok(ArchiveReader {
            io: Io::new()?,
            locations: Mutex::default(),
            files: Mutex::default(),
            groups: Mutex::default(),
        })
    }

    fn location(&self, url: &str) -> Result<Location, Error> {
        let mut locs = self.locations.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(l) = locs.get(url) {
            return Ok(l.clone());
        }
        let l = Location::parse(url)?;
        locs.insert(url.to_owned(), l.clone());
        Ok(l)
    }

    /// The bytes of `file`, fetched once while kept.
    pub fn fetch(&self, file: &ArchivedFile) -> Result<Bytes, Error> {
        let key = format!("{}\n{}", file.url, file.file);
        {
            let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, b)) = files.iter().find(|(k, _)| *k == key) {
                return Ok(b.clone());
            }
        }
        let bytes = self.io.get(&self.location(&file.url)?, &file.file)?;
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.len() == FILES {
            files.pop_front();
        }
        files.push_back((key, bytes.clone()));
        Ok(bytes)
    }

    fn group(&self, file: &ArchivedFile, group: usize) -> Result<Group, Error> {
        let key = (format!("{}\n{}", file.url, file.file), group);
        {
            let groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, g)) = groups.iter().find(|(k, _)| *k == key) {
                return Ok(Arc::clone(g));
            }
        }
        let bytes = self.fetch(file)?;
        let rows = Arc::new(read_group(&file.file, &bytes, group)?);
        let mut groups = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        if groups.len() == GROUPS {
            groups.pop_front();
        }
        groups.push_back((key, Arc::clone(&rows)));
        Ok(rows)
    }

    fn records(&self, file: &ArchivedFile, bundle: u64) -> Result<Vec<Vec<u8>>, Error> {
        let first = bundle * BUNDLE_WIDTH;
        let offset = (first - file.first_seq) as usize;
        let (group, at) = (offset / ROW_GROUP, offset % ROW_GROUP);
        let rows = self.group(file, group)?;
        let slice = rows
            .get(at..at + BUNDLE_WIDTH as usize)
            .ok_or_else(|| Error::Parquet {
                file: file.file.clone(),
                why: format!(
                    "row group {group} ends before seq {}",
                    first + BUNDLE_WIDTH - 1
                ),
            })?;
        slice
            .iter()
            .enumerate()
            .map(|(i, (seq, record))| {
                if *seq == first + i as u64 {
                    Ok(record.clone())
                } else {
                    Err(Error::Parquet {
                        file: file.file.clone(),
                        why: format!("the row for seq {} holds seq {seq}", first + i as u64),
                    })
                }
            })
            .collect()
    }
}

impl ArchiveSource for ArchiveReader {
    fn bundle_records(
        &self,
        file: &ArchivedFile,
        bundle: u64,
    ) -> aiaudit_core::Result<Vec<Vec<u8>>> {
        self.records(file, bundle)
            .map_err(|e| unreachable(file, &e.to_string()))
    }

    fn check_file(
        &self,
        file: &ArchivedFile,
        manifest: &Manifest,
    ) -> aiaudit_core::Result<Option<String>> {
        let bytes = self
            .fetch(file)
            .map_err(|e| unreachable(file, &e.to_string()))?;
        Ok(compare(&file.file, &bytes, manifest))
    }
}

/// What is wrong with `bytes` as the file `manifest` describes, if anything.
pub fn compare(name: &str, bytes: &Bytes, manifest: &Manifest) -> Option<String> {
    if bytes.len() as u64 != manifest.bytes {
        return Some(format!(
            "{name} holds {} bytes; its manifest says {}",
            bytes.len(),
            manifest.bytes
        ));
    }
    let sha: [u8; 32] = Sha256::digest(bytes).into();
    if sha != manifest.sha256 {
        return Some(format!(
            "{name}'s SHA-256 is {}; its manifest says {}",
            hex::encode(sha),
            hex::encode(manifest.sha256)
        ));
    }
    match shape(name, bytes) {
        Ok((rows, _)) if rows == manifest.rows => None,
        Ok((rows, _)) => Some(format!(
            "{name} holds {rows} rows; its manifest says {}",
            manifest.rows
        )),
        Err(e) => Some(e.to_string()),
    }
}
