//! The server's witnesses and the cosignatures they gave, kept in the cosignatures file beside
//! the tokens (`<tokens>.cosignatures`, [`Cosignatures`]); `/v1/checkpoint` and `/checkpoint`
//! serve the latest checkpoint with the cosignatures it has. The rounds that get them are
//! `witnessing_run`.

use std::path::Path;
use std::time::Duration;

use aiaudit_witness::{Cosignatures, WitnessTarget};

use crate::error::Error;

/// The configured witnesses and the cosignatures they gave.
#[derive(Debug)]
pub struct Witnessing {
    pub(crate) targets: Vec<WitnessTarget>,
    pub(crate) every: Duration,
    pub(crate) book: Cosignatures,
}

impl Witnessing {
    /// Opens (creating) the cosignatures file at `path`.
    pub fn open(path: &Path, targets: Vec<WitnessTarget>, every: Duration) -> Result<Self, Error> {
        let book = Cosignatures::open(path)
            .map_err(|e| Error::Invalid(format!("the cosignatures file: {e}")))?;
        Ok(Witnessing {
            targets,
            every,
            book,
        })
    }

    /// `note` (the log's checkpoint of `size` leaves) with every cosignature kept for it.
    pub fn cosigned(&self, size: u64, note: &str) -> String {
        self.book.cosigned(size, note)
    }

    /// The newest checkpoint with at least one cosignature, with all of its cosignatures.
    pub fn latest_cosigned(&self) -> Option<String> {
        self.book.latest_cosigned()
    }
}
