//! Parquet files fetched from an archive: whatever the bytes, reading a row group or the footer
//! returns rows or an error naming the file, never a panic.
#![no_main]

use aiaudit_archive::parquet_file::{read_group, shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let bytes = bytes::Bytes::copy_from_slice(data);
    if let Ok((_, groups)) = shape("fuzz.parquet", &bytes) {
        for g in 0..groups.min(4) {
            let _ = read_group("fuzz.parquet", &bytes, g);
        }
    }
});
