//! A stored entry bundle: up to 256 records framed as c2sp.org/tlog-tiles frames them,
//! compressed with zstd, with the records' sealed times beside them (docs/format.md §5.2).

use crate::error::{Error, Result};
use crate::tiles::MAX_ENTRY_LEN;

use super::BUNDLE_WIDTH;

/// zstd (RFC 8878) of a c2sp.org/tlog-tiles entry bundle: each record after its length as a
/// big-endian `u16`.
pub const CODEC_ZSTD_U16: u8 = 1;
/// zstd of records each after its length as a big-endian `u32`: a bundle holding a record over
/// 65,535 bytes, which the tile format cannot frame.
pub const CODEC_ZSTD_U32: u8 = 2;
/// No records here: they were moved to the archive (docs/format.md §13), and `data` is empty.
/// The times, bounds and first id stay, so time and id searches still work.
pub const CODEC_ARCHIVED: u8 = 0;

pub use crate::zstd_frame::ZSTD_LEVEL;
use crate::zstd_frame::{compress, decompress};

/// The largest decompressed bundle a reader accepts: 256 records of at most 1 MiB with their
/// lengths. A frame claiming more is damage, not an allocation.
const MAX_DECODED: u64 = BUNDLE_WIDTH * ((1 << 20) + 4);

/// One full bundle as a store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBundle {
    /// N: the bundle holds seqs 256·N … 256·N + 255.
    pub index: u64,
    /// Sealed time of its first record, Unix ns.
    pub first_time_ns: i64,
    /// Sealed time of its last record, Unix ns.
    pub last_time_ns: i64,
    /// Event id of its first record (ids increase with seq, so an id is found by binary
    /// search over bundles before one is decompressed).
    pub first_id: String,
    /// [`CODEC_ZSTD_U16`] or [`CODEC_ZSTD_U32`].
    pub codec: u8,
    /// The records' sealed times: zigzag LEB128 deltas, the first from `first_time_ns`.
    pub times: Vec<u8>,
    /// The compressed records.
    pub data: Vec<u8>,
}

/// A bundle's records, decompressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBundle {
    /// N, as stored.
    pub index: u64,
    /// Sealed time of each record.
    pub times: Vec<i64>,
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
}

impl DecodedBundle {
    /// Records in the bundle.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The leaf data of record `i` (0-based within the bundle).
    pub fn record(&self, i: usize) -> Option<&[u8]> {
        self.spans.get(i).map(|&(a, b)| &self.bytes[a..b])
    }
}

impl StoredBundle {
    /// Encodes bundle `index` from its records (`(sealed time, leaf data)`, in seq order) and
    /// the first record's id.
    pub fn encode(index: u64, records: &[(i64, &[u8])], first_id: &str) -> Result<Self> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Err(Error::Layout(format!("bundle {index} would be empty")));
        };
        let wide = records.iter().any(|(_, d)| d.len() > MAX_ENTRY_LEN);
        let total: usize = records.iter().map(|(_, d)| d.len() + 4).sum();
        let mut raw = Vec::with_capacity(total);
        let mut times = Vec::with_capacity(records.len() * 2);
        let mut prev = first.0;
        for (t, data) in records {
            if wide {
                let len = u32::try_from(data.len()).map_err(|_| {
                    Error::Layout(format!("a record of bundle {index} is over 4 GiB"))
                })?;
                raw.extend_from_slice(&len.to_be_bytes());
            } else {
                raw.extend_from_slice(&(data.len() as u16).to_be_bytes());
            }
            raw.extend_from_slice(data);
            leb128(&mut times, zigzag(t.wrapping_sub(prev)));
            prev = *t;
        }
        let data = compress(&raw)
            .map_err(|e| Error::Layout(format!("compressing bundle {index}: {e}")))?;
        Ok(StoredBundle {
            index,
            first_time_ns: first.0,
            last_time_ns: last.0,
            first_id: first_id.to_owned(),
            codec: if wide { CODEC_ZSTD_U32 } else { CODEC_ZSTD_U16 },
            times,
            data,
        })
    }

    /// Decompresses and splits the bundle, checking that it holds exactly 256 records whose
    /// times agree with its bounds. Anything else is [`Error::Layout`] naming the bundle.
    pub fn decode(&self) -> Result<DecodedBundle> {
        let n = self.index;
        let bad = |why: String| Error::Layout(format!("bundle {n} (seqs {}…): {why}", n * 256));
        let wide = match self.codec {
            CODEC_ZSTD_U16 => false,
            CODEC_ZSTD_U32 => true,
            other => return Err(bad(format!("unknown codec {other}"))),
        };
        let bytes = decompress(&self.data, MAX_DECODED as usize)
            .map_err(|e| bad(format!("it does not decompress: {e}")))?;
        let mut spans = Vec::with_capacity(BUNDLE_WIDTH as usize);
        let mut at = 0usize;
        while at < bytes.len() {
            let prefix = if wide { 4 } else { 2 };
            let Some(head) = bytes.get(at..at + prefix) else {
                return Err(bad(format!("a length prefix at byte {at} is cut short")));
            };
            let len = head
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            let start = at + prefix;
            let end = start
                .checked_add(len)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| bad(format!("record {} runs past its end", spans.len())))?;
            spans.push((start, end));
            at = end;
        }
        if spans.len() as u64 != BUNDLE_WIDTH {
            return Err(bad(format!("it holds {} records, not 256", spans.len())));
        }
        let times = self.decode_times()?;
        Ok(DecodedBundle {
            index: n,
            times,
            bytes,
            spans,
        })
    }

    /// Whether its records were moved to the archive ([`CODEC_ARCHIVED`]).
    pub fn is_archived(&self) -> bool {
        self.codec == CODEC_ARCHIVED
    }

    /// The bundle with its records read back from the archive: `records` must be its 256
    /// records in seq order; its times come from the stored row as for any bundle.
    pub fn with_records(&self, records: Vec<Vec<u8>>) -> Result<DecodedBundle> {
        let n = self.index;
        if records.len() as u64 != BUNDLE_WIDTH {
            return Err(Error::Layout(format!(
                "bundle {n}: the archive gave {} records, not 256",
                records.len()
            )));
        }
        let mut bytes = Vec::with_capacity(records.iter().map(Vec::len).sum());
        let mut spans = Vec::with_capacity(records.len());
        for r in &records {
            let start = bytes.len();
            bytes.extend_from_slice(r);
            spans.push((start, bytes.len()));
        }
        Ok(DecodedBundle {
            index: n,
            times: self.decode_times()?,
            bytes,
            spans,
        })
    }

    /// The records' sealed times, checked against the bundle's bounds.
    fn decode_times(&self) -> Result<Vec<i64>> {
        let n = self.index;
        let bad = |why: &str| Error::Layout(format!("bundle {n} (seqs {}…): {why}", n * 256));
        let mut times = Vec::with_capacity(BUNDLE_WIDTH as usize);
        let mut prev = self.first_time_ns;
        let mut rest = self.times.as_slice();
        for _ in 0..BUNDLE_WIDTH {
            let (delta, tail) = read_leb128(rest).ok_or_else(|| bad("its times are cut short"))?;
            prev = prev.wrapping_add(unzigzag(delta));
            times.push(prev);
            rest = tail;
        }
        if !rest.is_empty() || times.last() != Some(&self.last_time_ns) {
            return Err(bad("its times do not match its bounds"));
        }
        Ok(times)
    }
}

impl StoredBundle {
    /// The earliest and latest sealed time of the bundle's records, from `times` alone (no
    /// decompression): on a log several writers share, times need not grow with seq, so a
    /// bundle's first and last times do not bound the rest. `None` if `times` is malformed.
    pub fn time_bounds(&self) -> Option<(i64, i64)> {
        let (mut lo, mut hi, mut prev) = (i64::MAX, i64::MIN, self.first_time_ns);
        let mut rest = self.times.as_slice();
        while !rest.is_empty() {
            let (delta, tail) = read_leb128(rest)?;
            prev = prev.wrapping_add(unzigzag(delta));
            lo = lo.min(prev);
            hi = hi.max(prev);
            rest = tail;
        }
        (lo <= hi).then_some((lo, hi))
    }
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn leb128(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn read_leb128(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, &bytes[i + 1..]));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn records(len: usize) -> Vec<(i64, Vec<u8>)> {
        (0..256)
            .map(|i| {
                (
                    1_000 + i as i64 * 7 - (i % 3) as i64,
                    vec![b'a' + (i % 26) as u8; len + i],
                )
            })
            .collect()
    }

    #[test]
    fn round_trip_keeps_records_and_times() {
        for len in [0usize, 10, 70_000] {
            let r = records(len);
            let refs: Vec<(i64, &[u8])> = r.iter().map(|(t, d)| (*t, d.as_slice())).collect();
            let b = StoredBundle::encode(5, &refs, "id-0").unwrap();
            assert_eq!(
                b.codec,
                if len > 60_000 {
                    CODEC_ZSTD_U32
                } else {
                    CODEC_ZSTD_U16
                }
            );
            let d = b.decode().unwrap();
            assert_eq!(d.len(), 256);
            for (i, (t, data)) in r.iter().enumerate() {
                assert_eq!(d.times[i], *t);
                assert_eq!(d.record(i).unwrap(), data.as_slice());
            }
        }
    }

    #[test]
    fn time_bounds_hold_times_that_go_back() {
        let mut r = records(10);
        r[100].0 = -5;
        r[200].0 = i64::MAX / 2;
        let refs: Vec<(i64, &[u8])> = r.iter().map(|(t, d)| (*t, d.as_slice())).collect();
        let b = StoredBundle::encode(1, &refs, "id").unwrap();
        assert_eq!(b.time_bounds(), Some((-5, i64::MAX / 2)));
        let cut = StoredBundle {
            times: vec![0x80],
            ..b
        };
        assert_eq!(cut.time_bounds(), None);
    }

    #[test]
    fn damage_is_an_error_naming_the_bundle() {
        let r = records(20);
        let refs: Vec<(i64, &[u8])> = r.iter().map(|(t, d)| (*t, d.as_slice())).collect();
        let good = StoredBundle::encode(9, &refs, "x").unwrap();
        let mut flipped = good.clone();
        let mid = flipped.data.len() / 2;
        flipped.data[mid] ^= 0x40;
        let mut cut = good.clone();
        cut.data.truncate(10);
        let mut times = good.clone();
        times.last_time_ns += 1;
        let mut codec = good.clone();
        codec.codec = 7;
        for b in [flipped, cut, times, codec] {
            let e = b.decode().unwrap_err().to_string();
            assert!(e.contains("bundle 9 (seqs 2304"), "{e}");
        }
        // A frame of 255 records is not a bundle.
        let short = StoredBundle::encode(1, &refs[..255], "x").unwrap();
        assert!(
            short
                .decode()
                .unwrap_err()
                .to_string()
                .contains("255 records")
        );
    }
}
