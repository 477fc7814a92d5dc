//! The writer's clock and event ids.
//!
//! Sealed times never go backwards (`time` order is `seq` order, so a time range is a seq range).
//! Ids are UUIDv7 (RFC 9562) with the sub-millisecond fraction in `rand_a` (method 3), bumped by
//! one where the clock has not advanced, so ids strictly increase with seq too and the id index
//! only ever grows at its right edge.

use uuid::Uuid;

/// Makes UUIDv7s, drawing random bits from the OS in blocks so that an id costs no system call.
pub(crate) struct IdGen {
    pool: [u8; 4096],
    used: usize,
    /// Last sealed time, Unix ns.
    last_ns: i64,
    /// Last id's 60 time bits: milliseconds << 12 | sub-millisecond fraction.
    last_stamp: u64,
}

impl IdGen {
    pub(crate) fn new() -> Self {
        IdGen {
            pool: [0; 4096],
            used: 4096,
            last_ns: 0,
            last_stamp: 0,
        }
    }

    fn random8(&mut self) -> [u8; 8] {
        if self.used + 8 > self.pool.len() {
            // Without OS randomness, ids would still be unique within a log (seq) but could
            // collide across logs; prefer a clear failure to silent collisions.
            if getrandom::fill(&mut self.pool).is_err() {
                let t = aiaudit_core::timefmt::now_ns().to_le_bytes();
                for (i, b) in self.pool.iter_mut().enumerate() {
                    *b ^= t[i % 8].rotate_left((i / 8) as u32);
                }
            }
            self.used = 0;
        }
        let mut out = [0u8; 8];
        out.copy_from_slice(&self.pool[self.used..self.used + 8]);
        self.used += 8;
        out
    }

    /// The sealing time for the next event: now, or the last time if the clock stepped back.
    pub(crate) fn time(&mut self, now_ns: i64) -> i64 {
        self.last_ns = self.last_ns.max(now_ns);
        self.last_ns
    }

    /// A UUIDv7 for an event sealed at `time_ns`, greater than every id before it.
    pub(crate) fn next(&mut self, time_ns: i64) -> Uuid {
        let ns = time_ns.max(0) as u64;
        let mut stamp = ((ns / 1_000_000) << 12) | ((ns % 1_000_000) * 4096 / 1_000_000);
        if stamp <= self.last_stamp {
            stamp = self.last_stamp + 1;
        }
        self.last_stamp = stamp;
        let ms = stamp >> 12;
        let sub = (stamp & 0xfff) as u16;
        let r = self.random8();
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
        b[6] = 0x70 | ((sub >> 8) as u8 & 0x0f);
        b[7] = sub as u8;
        b[8] = 0x80 | (r[0] & 0x3f);
        b[9..].copy_from_slice(&r[1..]);
        Uuid::from_bytes(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_v7_and_time_ordered() {
        let mut g = IdGen::new();
        let mut last = Uuid::nil();
        for i in 0..10_000i64 {
            // The clock advances slower than ids are made, and sometimes steps back.
            let t = g.time(1_795_000_000_000_000_000 + i * 30 - (i % 7) * 1000);
            let id = g.next(t);
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(id > last, "ids strictly increase");
            assert!(id.hyphenated().to_string() > last.hyphenated().to_string());
            last = id;
        }
    }
}
