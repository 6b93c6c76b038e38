//! What can go wrong reading or writing the store: a failure to read or
//! write (sled, a file) or stored data found inconsistent, each keeping the
//! error that caused it where there is one.

/// A storage failure. The log treats these as fatal for the sequencer: it
/// stops rather than guess what reached the disk.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage: {0}")]
    Sled(#[from] sled::Error),
    /// A file operation failed: `what` names the file or the step, `source`
    /// is the operating system's error.
    #[error("storage: {what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("storage is inconsistent: {0}")]
    Corrupt(String),
    /// Stored data that does not decode or fit together, with the error
    /// that says why; `what` names the data.
    #[error("storage is inconsistent: {what}: {source}")]
    Invalid {
        what: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{0}")]
    Layout(String),
}

impl StoreError {
    /// Stored data named by `what` found inconsistent because of `source`.
    pub fn invalid(
        what: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError::Invalid {
            what: what.into(),
            source: source.into(),
        }
    }

    /// What was found inconsistent, when the store was read but what it
    /// held is wrong ([`StoreError::Corrupt`], [`StoreError::Invalid`]);
    /// None for a failure to read.
    pub fn inconsistency(&self) -> Option<String> {
        match self {
            StoreError::Corrupt(why) => Some(why.clone()),
            StoreError::Invalid { what, source } => Some(format!("{what}: {source}")),
            _ => None,
        }
    }
}
