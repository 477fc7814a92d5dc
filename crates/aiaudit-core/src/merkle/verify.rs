//! Proof verification exactly as RFC 9162 §2.1.3.2 and §2.1.4.2 describe it.
//!
//! Hashes arrive as byte slices because proofs come from outside: a hash of the wrong length is a
//! failed verification, never a panic.

use crate::error::ProofError;
use crate::hash::{Hash, node_hash};

fn as_hash(bytes: &[u8], what: &'static str) -> Result<Hash, ProofError> {
    bytes.try_into().map_err(|_| ProofError::BadHashLength {
        what,
        len: bytes.len(),
    })
}

/// Computes the root implied by an inclusion proof (RFC 9162 §2.1.3.2 steps 1–4).
pub fn root_from_inclusion_proof<P: AsRef<[u8]>>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8],
    proof: &[P],
) -> Result<Hash, ProofError> {
    if leaf_index >= tree_size {
        return Err(ProofError::IndexOutOfRange {
            index: leaf_index,
            size: tree_size,
        });
    }
    let mut f = leaf_index;
    let mut s = tree_size - 1;
    let mut r = as_hash(leaf_hash, "leaf hash")?;
    for p in proof {
        let p = as_hash(p.as_ref(), "proof hash")?;
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(&p, &r);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, &p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Verifies that `leaf_hash` is the leaf at `leaf_index` of the tree of `tree_size` with `root`.
pub fn verify_inclusion<P: AsRef<[u8]>>(
    leaf_index: u64,
    tree_size: u64,
    leaf_hash: &[u8],
    proof: &[P],
    root: &[u8],
) -> Result<(), ProofError> {
    let root = as_hash(root, "root")?;
    let computed = root_from_inclusion_proof(leaf_index, tree_size, leaf_hash, proof)?;
    if computed == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Verifies that the tree of `size2` with `root2` extends the tree of `size1` with `root1`
/// (RFC 9162 §2.1.4.2).
///
/// A proof from the empty tree is rejected: every tree extends it, so such a proof proves nothing
/// and accepting one would hide a caller's mistake. Equal sizes need an empty proof and equal roots.
pub fn verify_consistency<P: AsRef<[u8]>>(
    size1: u64,
    size2: u64,
    proof: &[P],
    root1: &[u8],
    root2: &[u8],
) -> Result<(), ProofError> {
    if size1 > size2 {
        return Err(ProofError::Shrinks { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::FromEmptyTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongLength);
        }
        return if root1 == root2 {
            Ok(())
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if proof.is_empty() {
        return Err(ProofError::WrongLength);
    }
    let first_hash = as_hash(root1, "first root")?;
    let second_hash = as_hash(root2, "second root")?;
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if size1.is_power_of_two() {
        path.push(first_hash);
    }
    for p in proof {
        path.push(as_hash(p.as_ref(), "proof hash")?);
    }
    let mut f = size1 - 1;
    let mut s = size2 - 1;
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut fr = path[0];
    let mut sr = path[0];
    for c in &path[1..] {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr != first_hash || sr != second_hash {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}
