//! One zstd frame (RFC 8878) per stored blob, with its content size and a checksum in the frame,
//! so that a damaged frame fails to decompress instead of yielding other bytes. Bundles and
//! summaries are stored this way.

use std::cell::RefCell;

/// The zstd level stored blobs are written with (docs/performance.md, "store v2").
pub const ZSTD_LEVEL: i32 = 3;

thread_local! {
    // A zstd context costs about a megabyte to set up: one per thread, reused.
    static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> = const { RefCell::new(None) };
}

/// `raw` as one frame.
pub(crate) fn compress(raw: &[u8]) -> std::io::Result<Vec<u8>> {
    COMPRESSOR.with(|c| {
        let mut c = c.borrow_mut();
        if c.is_none() {
            let mut z = zstd::bulk::Compressor::new(ZSTD_LEVEL)?;
            z.include_checksum(true)?;
            z.include_contentsize(true)?;
            *c = Some(z);
        }
        match c.as_mut() {
            Some(z) => z.compress(raw),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })
}

/// The bytes of one frame that states its content size, at most `max` of them. A frame that is
/// not one, states no size or a larger one, or does not decompress to that size is an error.
pub(crate) fn decompress(data: &[u8], max: usize) -> std::io::Result<Vec<u8>> {
    let size = zstd::zstd_safe::get_frame_content_size(data)
        .map_err(|_| std::io::Error::other("the data is not a zstd frame"))?
        .ok_or_else(|| std::io::Error::other("the zstd frame does not state its size"))?;
    if size > max as u64 {
        return Err(std::io::Error::other(format!(
            "the zstd frame claims {size} bytes, more than the {max} allowed"
        )));
    }
    let out = DECOMPRESSOR.with(|d| {
        let mut d = d.borrow_mut();
        if d.is_none() {
            *d = Some(zstd::bulk::Decompressor::new()?);
        }
        match d.as_mut() {
            Some(z) => z.decompress(data, size as usize),
            None => Err(std::io::Error::other("no zstd context")),
        }
    })?;
    if out.len() as u64 != size {
        return Err(std::io::Error::other(format!(
            "the zstd frame states {size} bytes and holds {}",
            out.len()
        )));
    }
    Ok(out)
}
