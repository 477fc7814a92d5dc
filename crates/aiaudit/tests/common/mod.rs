//! Helpers shared by the logger's scenario tests.
#![allow(dead_code)]

use aiaudit::{LogReader, Query, Record};

/// Every sealed record of the log at `path`, read through a fresh reader.
pub fn records(path: &std::path::Path) -> Vec<Record> {
    LogReader::open(path)
        .expect("reader")
        .query(&Query::default())
        .expect("query")
        .iter()
        .map(|e| Record::from_leaf_data(&e.data).expect("record"))
        .collect()
}
