//! Event ids: UUIDv7 (RFC 9562) with sub-millisecond precision in `rand_a` (method 3), so ids
//! sort by event time to about 250 ns and the id index only ever grows at its right edge.

use uuid::Uuid;

/// Makes UUIDv7s, drawing random bits from the OS in blocks so that an id costs no system call.
pub(crate) struct IdGen {
    pool: [u8; 4096],
    used: usize,
}

impl IdGen {
    pub(crate) fn new() -> Self {
        IdGen {
            pool: [0; 4096],
            used: 4096,
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

    /// A UUIDv7 for an event at `time_ns`.
    pub(crate) fn next(&mut self, time_ns: i64) -> Uuid {
        let ns = time_ns.max(0) as u64;
        let ms = ns / 1_000_000;
        let sub = ((ns % 1_000_000) * 4096 / 1_000_000) as u16;
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
            let id = g.next(1_795_000_000_000_000_000 + i * 300);
            assert_eq!(id.get_version_num(), 7);
            assert_eq!(id.get_variant(), uuid::Variant::RFC4122);
            assert!(id.as_bytes()[..8] >= last.as_bytes()[..8]);
            assert_ne!(id, last);
            last = id;
        }
    }
}
