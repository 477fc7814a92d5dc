//! Property tests: proofs generated from stored levels verify for every size and index, and
//! flipping any bit of a proof, root or leaf makes verification fail.

use aiaudit_core::{
    MemoryTree, consistency_proof, inclusion_proof, leaf_hash, root_at, verify_consistency,
    verify_inclusion,
};
use proptest::prelude::*;

fn tree(size: u64) -> (MemoryTree, Vec<[u8; 32]>, Vec<[u8; 32]>) {
    let mut t = MemoryTree::new();
    let mut leaves = Vec::new();
    let mut roots = Vec::new();
    for i in 0..size {
        let leaf = leaf_hash(&i.to_le_bytes());
        leaves.push(leaf);
        t.push(leaf);
        roots.push(t.root());
    }
    (t, leaves, roots)
}

fn flip(h: &mut [u8; 32], bit: usize) {
    h[bit / 8 % 32] ^= 1 << (bit % 8);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn inclusion_proofs_verify_and_resist_bit_flips(size in 1u64..600, idx in any::<u64>(), at in any::<u64>(), bit in 0usize..256) {
        let (t, leaves, roots) = tree(size);
        let n = at % size + 1;
        let i = idx % n;
        let root = roots[(n - 1) as usize];
        prop_assert_eq!(root_at(&t, n).expect("root"), root);
        let proof = inclusion_proof(&t, i, n).expect("proof");
        prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &proof, &root).is_ok());

        let mut bad_root = root;
        flip(&mut bad_root, bit);
        prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &proof, &bad_root).is_err());
        let mut bad_leaf = leaves[i as usize];
        flip(&mut bad_leaf, bit);
        prop_assert!(verify_inclusion(i, n, &bad_leaf, &proof, &root).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = bit % bad.len();
            flip(&mut bad[k], bit);
            prop_assert!(verify_inclusion(i, n, &leaves[i as usize], &bad, &root).is_err());
        }
        if n > 1 {
            prop_assert!(verify_inclusion((i + 1) % n, n, &leaves[i as usize], &proof, &root).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_resist_bit_flips(size in 1u64..600, a in any::<u64>(), b in any::<u64>(), bit in 0usize..256) {
        let (t, _, roots) = tree(size);
        let n2 = b % size + 1;
        let n1 = a % n2 + 1;
        let (r1, r2) = (roots[(n1 - 1) as usize], roots[(n2 - 1) as usize]);
        let proof = consistency_proof(&t, n1, n2).expect("proof");
        prop_assert!(verify_consistency(n1, n2, &proof, &r1, &r2).is_ok());
        let mut bad1 = r1;
        flip(&mut bad1, bit);
        prop_assert!(verify_consistency(n1, n2, &proof, &bad1, &r2).is_err());
        let mut bad2 = r2;
        flip(&mut bad2, bit);
        prop_assert!(verify_consistency(n1, n2, &proof, &r1, &bad2).is_err());
        if !proof.is_empty() {
            let mut bad = proof.clone();
            let k = bit % bad.len();
            flip(&mut bad[k], bit);
            prop_assert!(verify_consistency(n1, n2, &bad, &r1, &r2).is_err());
        }
    }
}

#[test]
fn stored_levels_reproduce_the_compact_range() {
    let (t, _, roots) = tree(1000);
    for n in [1u64, 2, 15, 16, 17, 255, 256, 257, 999, 1000] {
        let range = aiaudit_core::CompactRange::from_source(n, &t).expect("loads");
        assert_eq!(range.root(), roots[(n - 1) as usize], "size {n}");
    }
}
