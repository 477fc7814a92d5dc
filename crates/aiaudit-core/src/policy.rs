//! Trust policies (c2sp.org/tlog-policy): which log keys to accept and which witnesses must
//! have cosigned a checkpoint, as k-of-n groups, before a verifier believes it.
//!
//! ```text
//! log acme.example/audit+1a2b3c4d+AR…
//! witness w1 w1.example/w+5e6f7a8b+BB… https://w1.example/
//! witness w2 w2.example/w+9c0d1e2f+BB…
//! witness w3 w3.example/w+3a4b5c6d+BB…
//! group two-of-three 2 w1 w2 w3
//! quorum two-of-three
//! ```
//!
//! Items are separated by spaces or tabs; `#` starts a comment; several `log` lines with one
//! origin are that log's key set across a key rotation (a checkpoint signed by any of them is
//! the log's); a group names witnesses or
//! groups defined above it, each once; `all`, `any` or a number k (1 ≤ k ≤ n) says how many
//! must be satisfied; exactly one `quorum` line names the group (or witness) that must be, or
//! `none`.
//!
//! ```
//! use aiaudit_core::cosignature::{CosignatureSigner, add_signatures};
//! use aiaudit_core::policy::Policy;
//! use aiaudit_core::{Checkpoint, NoteSigner};
//!
//! let log = NoteSigner::generate("acme.example/audit")?;
//! let (w1, w2) = (CosignatureSigner::generate("w1.example")?, CosignatureSigner::generate("w2.example")?);
//! let policy = Policy::parse(&format!(
//!     "log {}\nwitness a {}\nwitness b {}\ngroup both all a b\nquorum both\n",
//!     log.verifier(), w1.verifier(), w2.verifier()
//! ))?;
//! let note = Checkpoint { origin: "acme.example/audit".into(), size: 1, root: [0; 32] }.sign(&log)?;
//! assert!(policy.check(&note).is_err(), "no cosignatures yet");
//! let note = add_signatures(&note, &w1.cosign(&note, 10)?)?;
//! let note = add_signatures(&note, &w2.cosign(&note, 11)?)?;
//! assert_eq!(policy.check(&note)?.cosigned_by, ["a", "b"]);
//! # Ok::<(), aiaudit_core::Error>(())
//! ```

use std::collections::BTreeMap;

use crate::cosignature::CosignatureVerifier;
use crate::error::{Error, Result};
use crate::note::{Checkpoint, NoteVerifier};

/// How many members of a group must be satisfied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Threshold {
    All,
    Any,
    AtLeast(usize),
}

#[derive(Debug, Clone)]
enum Member {
    Witness(CosignatureVerifier),
    Group(Threshold, Vec<String>),
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The keys of each log, by origin: several during a key rotation.
    logs: BTreeMap<String, Vec<NoteVerifier>>,
    members: BTreeMap<String, Member>,
    quorum: Option<String>,
}

/// What a checkpoint satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyCheck {
    /// The checkpoint, signed by the log's key.
    pub checkpoint: Checkpoint,
    /// The policy's witnesses whose cosignature verified, by name in the policy.
    pub cosigned_by: Vec<String>,
}

fn bad(line: usize, why: impl Into<String>) -> Error {
    Error::malformed("policy", format!("line {line}: {}", why.into()))
}

impl Policy {
    /// Parses a policy; the error names the line.
    pub fn parse(text: &str) -> Result<Self> {
        let mut p = Policy {
            logs: BTreeMap::new(),
            members: BTreeMap::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.split('#').next().unwrap_or_default();
            if line.bytes().any(|b| b < 0x20 && b != b'\t') {
                return Err(bad(n, "a control character"));
            }
            let words: Vec<&str> = line.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
            let Some((&kw, args)) = words.split_first() else {
                continue;
            };
            match kw {
                "log" => {
                    let (vkey, _url) = match args {
                        [v] => (*v, None),
                        [v, u] => (*v, Some(*u)),
                        _ => return Err(bad(n, "`log <vkey> [<url>]`")),
                    };
                    let key = NoteVerifier::parse(vkey).map_err(|e| bad(n, e.to_string()))?;
                    let keys = p.logs.entry(key.name().to_owned()).or_default();
                    if keys.contains(&key) {
                        return Err(bad(n, "this log key is listed twice"));
                    }
                    keys.push(key);
                }
                "witness" => {
                    let (name, vkey) = match args {
                        [name, v] | [name, v, _] => (*name, *v),
                        _ => return Err(bad(n, "`witness <name> <vkey> [<url>]`")),
                    };
                    let key =
                        CosignatureVerifier::parse(vkey).map_err(|e| bad(n, e.to_string()))?;
                    let same_key = p.members.values().any(
                        |m| matches!(m, Member::Witness(k) if k.to_string() == key.to_string()),
                    );
                    if same_key {
                        return Err(bad(n, "this witness key is listed twice"));
                    }
                    p.define(n, name, Member::Witness(key))?;
                }
                "group" => {
                    let [name, threshold, names @ ..] = args else {
                        return Err(bad(n, "`group <name> all|any|<k> <member>...`"));
                    };
                    if names.is_empty() {
                        return Err(bad(n, "a group needs at least one member"));
                    }
                    let mut seen: Vec<&str> = Vec::new();
                    for m in names {
                        if !p.members.contains_key(*m) {
                            return Err(bad(
                                n,
                                format!("{m:?} is not a witness or group defined above"),
                            ));
                        }
                        if seen.contains(m) {
                            return Err(bad(n, format!("{m:?} is named twice")));
                        }
                        seen.push(m);
                    }
                    let t = match *threshold {
                        "all" => Threshold::All,
                        "any" => Threshold::Any,
                        k => match k.parse::<usize>() {
                            Ok(k)
                                if (1..=names.len()).contains(&k)
                                    && !k.to_string().ne(threshold) =>
                            {
                                Threshold::AtLeast(k)
                            }
                            _ => {
                                return Err(bad(
                                    n,
                                    format!(
                                        "threshold {k:?} is not all, any or a number from 1 to {}",
                                        names.len()
                                    ),
                                ));
                            }
                        },
                    };
                    p.define(
                        n,
                        name,
                        Member::Group(t, names.iter().map(|s| (*s).to_owned()).collect()),
                    )?;
                }
                "quorum" => {
                    if quorum_seen {
                        return Err(bad(n, "a second quorum line"));
                    }
                    quorum_seen = true;
                    match args {
                        ["none"] => p.quorum = None,
                        [name] if p.members.contains_key(*name) => {
                            p.quorum = Some((*name).to_owned())
                        }
                        [name] => {
                            return Err(bad(
                                n,
                                format!("{name:?} is not a witness or group defined above"),
                            ));
                        }
                        _ => return Err(bad(n, "`quorum <name>` or `quorum none`")),
                    }
                }
                other => return Err(bad(n, format!("unknown keyword {other:?}"))),
            }
        }
        if !quorum_seen {
            return Err(Error::malformed(
                "policy",
                "no quorum line (`quorum <name>` or `quorum none`)",
            ));
        }
        if p.logs.is_empty() {
            return Err(Error::malformed("policy", "no log line"));
        }
        Ok(p)
    }

    fn define(&mut self, line: usize, name: &str, m: Member) -> Result<()> {
        if name == "none" || self.members.contains_key(name) {
            return Err(bad(line, format!("the name {name:?} is taken")));
        }
        self.members.insert(name.to_owned(), m);
        Ok(())
    }

    /// The log keys for `origin` (one, or several across a key rotation), if the policy has
    /// any.
    pub fn log(&self, origin: &str) -> Option<&[NoteVerifier]> {
        self.logs.get(origin).map(Vec::as_slice)
    }

    /// Opens `note` with the policy's key for its origin and checks the quorum against its
    /// cosignatures; the error says which is missing.
    pub fn check(&self, note: &str) -> Result<PolicyCheck> {
        let origin = note.split('\n').next().unwrap_or_default();
        let key = self.logs.get(origin).ok_or_else(|| {
            Error::Signature(format!(
                "the policy has no log key for the origin {origin:?}"
            ))
        })?;
        let checkpoint = Checkpoint::open(note, key.as_slice())?;
        let mut cosigned_by = Vec::new();
        for (name, m) in &self.members {
            if let Member::Witness(k) = m {
                match k.verify(note) {
                    Ok(_) => cosigned_by.push(name.clone()),
                    Err(Error::Signature(why)) if why.starts_with("no cosignature") => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if let Some(q) = &self.quorum
            && !self.satisfied(q, &cosigned_by, 0)
        {
            return Err(Error::Signature(format!(
                "the checkpoint does not satisfy the policy's quorum {q:?}: cosigned by {}",
                if cosigned_by.is_empty() {
                    "no witness of the policy".to_owned()
                } else {
                    cosigned_by.join(", ")
                }
            )));
        }
        Ok(PolicyCheck {
            checkpoint,
            cosigned_by,
        })
    }

    fn satisfied(&self, name: &str, cosigned: &[String], depth: usize) -> bool {
        match self.members.get(name) {
            _ if depth > self.members.len() => false,
            Some(Member::Witness(_)) => cosigned.iter().any(|c| c == name),
            Some(Member::Group(t, names)) => {
                let n = names
                    .iter()
                    .filter(|m| self.satisfied(m, cosigned, depth + 1))
                    .count();
                match t {
                    Threshold::All => n == names.len(),
                    Threshold::Any => n >= 1,
                    Threshold::AtLeast(k) => n >= *k,
                }
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoteSigner;
    use crate::cosignature::{CosignatureSigner, add_signatures};

    #[test]
    fn quorums_count_verified_cosignatures_and_bad_policies_are_named() -> Result<()> {
        let log = NoteSigner::generate("acme/log")?;
        let w: Vec<CosignatureSigner> = (1..=3)
            .map(|i| CosignatureSigner::generate(&format!("w{i}.example")))
            .collect::<Result<_>>()?;
        let text = format!(
            "# two of three, or all of them\nlog {}\nwitness a {}\nwitness b {}\t https://b.example/\nwitness c {}\ngroup two 2 a b c\ngroup every all a b c\ngroup either any two every\nquorum either\n",
            log.verifier(),
            w[0].verifier(),
            w[1].verifier(),
            w[2].verifier()
        );
        let p = Policy::parse(&text)?;
        let mut note = Checkpoint {
            origin: "acme/log".into(),
            size: 5,
            root: [3; 32],
        }
        .sign(&log)?;
        let e = p
            .check(&note)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            e.contains("does not satisfy the policy's quorum \"either\""),
            "{e}"
        );
        note = add_signatures(&note, &w[0].cosign(&note, 1)?)?;
        assert!(p.check(&note).is_err(), "one of three");
        note = add_signatures(&note, &w[2].cosign(&note, 2)?)?;
        assert_eq!(p.check(&note)?.cosigned_by, ["a", "c"]);
        // A cosignature of a witness the policy does not list counts for nothing; one that does
        // not verify rejects the note.
        let stranger = CosignatureSigner::generate("w1.example")?;
        let only = Checkpoint {
            origin: "acme/log".into(),
            size: 5,
            root: [3; 32],
        }
        .sign(&log)?;
        let fake = add_signatures(&only, &stranger.cosign(&only, 1)?)?;
        assert!(p.check(&fake).is_err());
        // Another log's checkpoint is refused by origin.
        let other = NoteSigner::generate("other/log")?;
        let theirs = Checkpoint {
            origin: "other/log".into(),
            size: 1,
            root: [0; 32],
        }
        .sign(&other)?;
        assert!(
            p.check(&theirs)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("no log key")
        );

        let err = |t: &str| {
            Policy::parse(t)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        let l = format!("log {}\n", log.verifier());
        assert!(err(&l).contains("no quorum line"));
        assert!(err(&format!("{l}quorum x\n")).contains("line 2: \"x\" is not a witness"));
        assert!(
            err(&format!(
                "{l}witness a {}\ngroup g 2 a\nquorum g\n",
                w[0].verifier()
            ))
            .contains("threshold \"2\"")
        );
        assert!(
            err(&format!(
                "{l}witness a {}\nwitness b {}\nquorum none\n",
                w[0].verifier(),
                w[0].verifier()
            ))
            .contains("listed twice")
        );
        assert!(
            err(&format!(
                "{l}witness a {}\ngroup g any a a\nquorum g\n",
                w[0].verifier()
            ))
            .contains("named twice")
        );
        assert!(err(&format!("{l}witness a {}\nquorum none\n", log.verifier())).contains("line 2"));
        assert!(err(&format!("{l}frobnicate\nquorum none\n")).contains("unknown keyword"));
        assert!(err(&format!("{l}quorum none\nquorum none\n")).contains("second quorum"));
        assert!(
            Policy::parse(&format!("{l}quorum none\n"))?
                .check(&only)
                .is_ok()
        );
        Ok(())
    }
}
