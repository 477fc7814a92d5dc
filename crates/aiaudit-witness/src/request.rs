//! The `add-checkpoint` request body (c2sp.org/tlog-witness): an `old <size>` line, up to 63
//! consistency-proof lines (standard base64 hashes), an empty line, then the checkpoint as a
//! signed note. Every line ends in `\n`.

use aiaudit_core::Hash;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

/// Most proof lines a request may carry (a consistency proof in a tree of 2^63 leaves).
pub const MAX_PROOF_LINES: usize = 63;

/// Largest body accepted: a checkpoint with a few dozen signatures and a full proof.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A parsed `add-checkpoint` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the client believes the witness last cosigned.
    pub old: u64,
    /// The consistency proof from `old` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The checkpoint, a signed note.
    pub checkpoint: String,
}

impl AddCheckpoint {
    /// The request body for `old`, `proof` and `checkpoint`.
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old);
        for h in &self.proof {
            out.push_str(&B64.encode(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a body; the error says what is wrong with it.
    pub fn parse(body: &[u8]) -> Result<Self, String> {
        if body.len() > MAX_BODY_BYTES {
            return Err(format!("the body is over {MAX_BODY_BYTES} bytes"));
        }
        let text = std::str::from_utf8(body).map_err(|e| format!("the body is not UTF-8: {e}"))?;
        let (first, mut rest) = text
            .split_once('\n')
            .ok_or("the body has no `old <size>` line")?;
        let size = first
            .strip_prefix("old ")
            .ok_or("the first line must be `old <size>`")?;
        let old = decimal(size).ok_or_else(|| {
            format!("old size {size:?} is not a decimal number without leading zeros")
        })?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or("the proof lines must end with an empty line before the checkpoint")?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(format!("more than {MAX_PROOF_LINES} proof lines"));
            }
            let bytes = B64
                .decode(line)
                .map_err(|_| format!("proof line {} is not base64", proof.len() + 1))?;
            let hash: Hash = bytes
                .try_into()
                .map_err(|_| format!("proof line {} is not a 32-byte hash", proof.len() + 1))?;
            proof.push(hash);
        }
        if old == 0 && !proof.is_empty() {
            return Err("a proof from size 0 must be empty".into());
        }
        if rest.is_empty() {
            return Err("no checkpoint after the proof".into());
        }
        Ok(AddCheckpoint {
            old,
            proof,
            checkpoint: rest.to_owned(),
        })
    }
}

/// ASCII decimal without leading zeros (`0` itself allowed).
fn decimal(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bodies_round_trip_and_bad_ones_are_named() {
        let req = AddCheckpoint {
            old: 7,
            proof: vec![[1; 32], [2; 32]],
            checkpoint: "o\n9\nAAAA\n\n\u{2014} o AAAA\n".into(),
        };
        assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()), Ok(req));
        let err = |b: &str| AddCheckpoint::parse(b.as_bytes()).err().unwrap_or_default();
        assert!(err("old 07\n\nx").contains("leading zeros"));
        assert!(err("new 7\n\nx").contains("`old <size>`"));
        assert!(err("old 1\nnot base64!\n\nx").contains("proof line 1 is not base64"));
        assert!(err("old 1\nAAAA\n\nx").contains("not a 32-byte hash"));
        assert!(err("old 0\nAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n\nx").contains("size 0"));
        assert!(err("old 1\n").contains("empty line"));
        assert!(err("old 1\n\n").contains("no checkpoint"));
        assert!(err("old 18446744073709551616\n\nx").contains("not a decimal"));
        let many = format!(
            "old 1\n{}\nx",
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n".repeat(64)
        );
        assert!(err(&many).contains("more than 63"));
        assert!(AddCheckpoint::parse(&[0xff, 0xfe]).is_err());
    }

    proptest! {
        #[test]
        fn any_bytes_parse_or_are_refused_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = AddCheckpoint::parse(&body);
        }

        #[test]
        fn any_request_round_trips(old in 1u64.., n in 0usize..63, seed in any::<u8>()) {
            let req = AddCheckpoint {
                old,
                proof: (0..n).map(|i| [seed.wrapping_add(i as u8); 32]).collect(),
                checkpoint: "log\n1\nAAAA\n\n\u{2014} log AAAA\n".into(),
            };
            prop_assert_eq!(AddCheckpoint::parse(req.to_body().as_bytes()), Ok(req));
        }
    }
}
