//! Batch Merkle trees in the form OpenZeppelin's `MerkleProof.verify` accepts: inner
//! nodes are keccak256 of the two children in ascending order, so a path is a plain list
//! of siblings with no left/right flags.
//!
//! A level with an odd number of nodes promotes its last node unchanged, so a path can
//! be shorter than the tree is deep. Leaves are 32-byte hashes of 192 bytes of ABI
//! encoding ([`crate::JobLeaf::hash`]) and inner nodes hash 64 bytes, so a leaf can never
//! be passed off as an inner node.

use crate::primitives::{Hash32, keccak256_concat};

/// keccak256 of the two nodes in ascending order (OpenZeppelin `Hashes.commutativeKeccak256`).
pub fn hash_pair(a: &Hash32, b: &Hash32) -> Hash32 {
    let (low, high) = if a <= b { (a, b) } else { (b, a) };
    Hash32(keccak256_concat(&[&low.0, &high.0]))
}

/// The root a path leads to from `leaf` (OpenZeppelin `MerkleProof.processProof`).
pub fn process_path(leaf: &Hash32, path: &[Hash32]) -> Hash32 {
    path.iter()
        .fold(*leaf, |node, sibling| hash_pair(&node, sibling))
}

/// Whether `path` leads from `leaf` to `root`.
pub fn verify_path(root: &Hash32, leaf: &Hash32, path: &[Hash32]) -> bool {
    process_path(leaf, path) == *root
}

/// A Merkle tree over a batch's leaves, kept level by level.
#[derive(Clone, Debug)]
pub struct MerkleTree {
    /// `levels[0]` are the leaves, the last level is the root alone.
    levels: Vec<Vec<Hash32>>,
}

impl MerkleTree {
    /// Builds the tree; `None` for no leaves.
    pub fn new(leaves: Vec<Hash32>) -> Option<Self> {
        if leaves.is_empty() {
            return None;
        }
        let mut levels = vec![leaves];
        while let Some(level) = levels.last().filter(|level| level.len() > 1) {
            let next = level
                .chunks(2)
                .map(|pair| match pair {
                    [a, b] => hash_pair(a, b),
                    [a] => *a,
                    _ => unreachable!("chunks(2) yields one or two nodes"),
                })
                .collect();
            levels.push(next);
        }
        Some(Self { levels })
    }

    /// The root.
    pub fn root(&self) -> Hash32 {
        self.levels
            .last()
            .and_then(|level| level.first())
            .copied()
            .unwrap_or(Hash32([0; 32]))
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Always false: a tree has at least one leaf.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The sibling path of leaf `index`, or `None` past the last leaf.
    pub fn path(&self, mut index: usize) -> Option<Vec<Hash32>> {
        if index >= self.len() {
            return None;
        }
        let mut path = Vec::with_capacity(self.levels.len());
        for level in &self.levels[..self.levels.len() - 1] {
            if let Some(sibling) = level.get(index ^ 1) {
                path.push(*sibling);
            }
            index /= 2;
        }
        Some(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::primitives::keccak256;

    fn leaves(n: usize) -> Vec<Hash32> {
        (0..n)
            .map(|i| Hash32(keccak256(&(i as u64).to_be_bytes())))
            .collect()
    }

    #[test]
    fn every_path_of_every_size_verifies() {
        for n in 1..=33 {
            let tree = MerkleTree::new(leaves(n)).expect("non-empty");
            for (i, leaf) in leaves(n).iter().enumerate() {
                let path = tree.path(i).expect("in range");
                assert!(verify_path(&tree.root(), leaf, &path), "n={n} i={i}");
            }
            assert!(tree.path(n).is_none());
        }
    }

    #[test]
    fn a_wrong_leaf_or_sibling_fails() {
        let tree = MerkleTree::new(leaves(8)).expect("non-empty");
        let mut path = tree.path(3).expect("in range");
        assert!(!verify_path(&tree.root(), &leaves(8)[4], &path));
        path[1].0[0] ^= 1;
        assert!(!verify_path(&tree.root(), &leaves(8)[3], &path));
    }

    #[test]
    fn single_leaf_is_its_own_root() {
        let tree = MerkleTree::new(leaves(1)).expect("non-empty");
        assert_eq!(tree.root(), leaves(1)[0]);
        assert!(tree.path(0).expect("in range").is_empty());
        assert!(MerkleTree::new(Vec::new()).is_none());
    }
}
