//! Whether one tree can be a later state of another: the rule an auditor,
//! the auditor's page and a witness apply between a checkpoint verified
//! earlier and a new one of the same log. Pure sizes and roots; the caller
//! turns a refusal into its own evidence (the audit's fork report, the
//! page's failed check).
//!
//! Invariant: `Ok(None)` only when no proof can add anything (the same
//! tree, or growth from the empty tree, whose root is fixed); every other
//! growth needs a consistency proof between exactly the returned sizes.

use super::{verify_consistency, Hash, EMPTY_ROOT};

/// Why the newer tree cannot extend the older one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrowthError {
    #[error("the tree shrank from {old} to {new} leaves")]
    Shrunk { old: u64, new: u64 },
    #[error("same size, different roots {old_root} and {new_root}")]
    SameSizeOtherRoot { old_root: String, new_root: String },
    #[error("the earlier empty tree has a non-empty root")]
    BadEmptyRoot,
    #[error("consistency proof: {0}")]
    Proof(String),
}

/// What (`new_size`, `new_root`) needs to be shown a later state of
/// (`old_size`, `old_root`): `Ok(None)` nothing, `Ok(Some((old, new)))` a
/// consistency proof between those sizes ([`check_growth`]).
pub fn growth_step(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
) -> Result<Option<(u64, u64)>, GrowthError> {
    if old_size > new_size {
        return Err(GrowthError::Shrunk {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(GrowthError::SameSizeOtherRoot {
                old_root: crate::note::encode_b64(old_root),
                new_root: crate::note::encode_b64(new_root),
            });
        }
        return Ok(None);
    }
    if old_size == 0 {
        // Every tree extends the empty one, provided the old root really is empty.
        if *old_root != EMPTY_ROOT {
            return Err(GrowthError::BadEmptyRoot);
        }
        return Ok(None);
    }
    Ok(Some((old_size, new_size)))
}

/// [`growth_step`] and, when it asks for one, the consistency proof
/// verified: `Ok` exactly when the newer tree is a later state of the older.
pub fn check_growth(
    old_size: u64,
    old_root: &Hash,
    new_size: u64,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), GrowthError> {
    match growth_step(old_size, old_root, new_size, new_root)? {
        None => Ok(()),
        Some((old, new)) => verify_consistency(old, new, old_root, new_root, proof)
            .map_err(|e| GrowthError::Proof(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, Frontier};

    #[test]
    fn the_rules_of_growth() {
        let mut tree = Frontier::new();
        tree.append(leaf_hash(b"a"), |_, _| {});
        let one = tree.root();
        tree.append(leaf_hash(b"b"), |_, _| {});
        let two = tree.root();
        assert_eq!(growth_step(0, &EMPTY_ROOT, 2, &two), Ok(None));
        assert_eq!(growth_step(2, &two, 2, &two), Ok(None));
        assert_eq!(growth_step(1, &one, 2, &two), Ok(Some((1, 2))));
        assert!(matches!(
            growth_step(2, &two, 1, &one),
            Err(GrowthError::Shrunk { .. })
        ));
        assert!(matches!(
            growth_step(2, &one, 2, &two),
            Err(GrowthError::SameSizeOtherRoot { .. })
        ));
        assert_eq!(
            growth_step(0, &one, 2, &two),
            Err(GrowthError::BadEmptyRoot)
        );
        assert!(check_growth(1, &one, 2, &two, &[leaf_hash(b"b")]).is_ok());
        assert!(matches!(
            check_growth(1, &one, 2, &two, &[leaf_hash(b"c")]),
            Err(GrowthError::Proof(_))
        ));
    }
}
