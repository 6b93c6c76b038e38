//! tlog-tiles entry bundles: the leaves of one level-0 tile, each written as
//! `uint16-BE length || entry bytes`, in index order. Entry `j` of bundle `N`
//! is leaf `256·N + j`, and its leaf hash is hash `j` of tile `0/N`.

/// The longest entry a bundle can carry (its length is a 16-bit prefix).
pub const MAX_BUNDLE_ENTRY: usize = u16::MAX as usize;

/// A bundle could not be encoded or decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("entry {0} is longer than {MAX_BUNDLE_ENTRY} bytes and cannot be bundled")]
    TooLong(usize),
    #[error("entry bundle is truncated at byte {0}")]
    Truncated(usize),
}

/// Appends one entry to a bundle being built.
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8], position: usize) -> Result<(), BundleError> {
    let len = u16::try_from(entry.len()).map_err(|_| BundleError::TooLong(position))?;
    bundle.extend_from_slice(&len.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Encodes entries, in order, as a bundle.
pub fn encode_bundle<E: AsRef<[u8]>>(entries: &[E]) -> Result<Vec<u8>, BundleError> {
    let total: usize = entries.iter().map(|e| 2 + e.as_ref().len()).sum();
    let mut out = Vec::with_capacity(total);
    for (position, entry) in entries.iter().enumerate() {
        push_entry(&mut out, entry.as_ref(), position)?;
    }
    Ok(out)
}

/// Splits a bundle into its entries; fails on a truncated length or entry.
pub fn decode_bundle(bytes: &[u8]) -> Result<Vec<Vec<u8>>, BundleError> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at < bytes.len() {
        let len_bytes = bytes.get(at..at + 2).ok_or(BundleError::Truncated(at))?;
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        let entry = bytes
            .get(at + 2..at + 2 + len)
            .ok_or(BundleError::Truncated(at))?;
        out.push(entry.to_vec());
        at += 2 + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let entries: Vec<Vec<u8>> = vec![b"a".to_vec(), Vec::new(), vec![7u8; 300]];
        let bundle = encode_bundle(&entries).unwrap();
        assert_eq!(&bundle[..3], &[0, 1, b'a']);
        assert_eq!(&bundle[3..5], &[0, 0]);
        assert_eq!(&bundle[5..7], &[1, 44]);
        assert_eq!(decode_bundle(&bundle).unwrap(), entries);
        assert_eq!(decode_bundle(&[]).unwrap(), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn limits_and_truncation() {
        assert!(encode_bundle(&[vec![0u8; MAX_BUNDLE_ENTRY]]).is_ok());
        assert_eq!(
            encode_bundle(&[vec![], vec![0u8; MAX_BUNDLE_ENTRY + 1]]),
            Err(BundleError::TooLong(1))
        );
        assert_eq!(decode_bundle(&[0]), Err(BundleError::Truncated(0)));
        assert_eq!(decode_bundle(&[0, 2, 1]), Err(BundleError::Truncated(0)));
        assert_eq!(decode_bundle(&[0, 0, 0, 1]), Err(BundleError::Truncated(2)));
    }
}
