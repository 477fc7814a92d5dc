//! A check of the write-ahead log before SQLite opens the database: SQLite reads WAL frames up
//! to the first whose checksum fails and silently drops the rest, which is right for a write
//! torn by a crash (that transaction was never acknowledged) but loses *committed* transactions
//! when a byte in the middle of the WAL is damaged. The WAL format is SQLite's
//! (sqlite.org/fileformat2.html, "The Write-Ahead Log"): a 32-byte header, then frames of a
//! 24-byte header and one page, each with a cumulative checksum.
//!
//! A damaged WAL is told from a torn tail by what follows the first bad frame: with
//! `synchronous=FULL` each transaction is synced before the next begins, so at most one
//! transaction (the torn one) can follow a break. Two or more commit frames of the same WAL
//! generation (the header's salts) after it mean transactions that were durable would be lost.

use std::io::Read;
use std::path::Path;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// SQLite's WAL checksum of `data` (a multiple of 8 bytes), continuing from `(s0, s1)`.
fn checksum(data: &[u8], big_endian: bool, (mut s0, mut s1): (u32, u32)) -> (u32, u32) {
    for pair in data.chunks_exact(8) {
        let word = |i: usize| {
            let w = [pair[i], pair[i + 1], pair[i + 2], pair[i + 3]];
            if big_endian {
                u32::from_be_bytes(w)
            } else {
                u32::from_le_bytes(w)
            }
        };
        s0 = s0.wrapping_add(word(0)).wrapping_add(s1);
        s1 = s1.wrapping_add(word(4)).wrapping_add(s0);
    }
    (s0, s1)
}

/// What is wrong with the WAL beside `db`, if it would make SQLite drop committed
/// transactions: `Some(why)`. A missing, empty or merely torn WAL is fine.
pub(crate) fn damage(db: &Path) -> Option<String> {
    let path = format!("{}-wal", db.display());
    let mut bytes = Vec::new();
    std::fs::File::open(&path)
        .ok()?
        .read_to_end(&mut bytes)
        .ok()?;
    if bytes.len() < HEADER {
        return None;
    }
    let magic = u32_at(&bytes, 0);
    let big_endian = match magic {
        0x377f_0682 => false,
        0x377f_0683 => true,
        _ => return None, // not a WAL SQLite would use either
    };
    let page = u32_at(&bytes, 8) as usize;
    if !(512..=65_536).contains(&page) || !page.is_power_of_two() {
        return None;
    }
    let salts = (u32_at(&bytes, 16), u32_at(&bytes, 20));
    let mut sum = checksum(&bytes[..24], big_endian, (0, 0));
    if sum != (u32_at(&bytes, 24), u32_at(&bytes, 28)) {
        return None; // SQLite ignores a WAL whose header fails: nothing of it was in use
    }
    let frame = FRAME_HEADER + page;
    let frames = (bytes.len() - HEADER) / frame;
    let mut broken_at = None;
    let mut commits_after = 0;
    for i in 0..frames {
        let f = &bytes[HEADER + i * frame..HEADER + (i + 1) * frame];
        let same_generation = (u32_at(f, 8), u32_at(f, 12)) == salts;
        let commit = u32_at(f, 4) != 0;
        match broken_at {
            None => {
                let s = checksum(&f[..8], big_endian, sum);
                let s = checksum(&f[FRAME_HEADER..], big_endian, s);
                if same_generation && s == (u32_at(f, 16), u32_at(f, 20)) {
                    sum = s;
                } else if same_generation {
                    broken_at = Some(i);
                } else {
                    return None; // the end of this generation: older frames follow
                }
            }
            Some(_) => {
                if same_generation && commit {
                    commits_after += 1;
                }
            }
        }
    }
    match broken_at {
        Some(i) if commits_after >= 2 => Some(format!(
            "its write-ahead log {path} is damaged at frame {i}: {commits_after} committed transactions after it would be lost"
        )),
        _ => None,
    }
}
