//! Files that hold a secret (a signing key, an admin token): created
//! durably and readable only by their owner, and refused when others may
//! read or write them.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context};

/// Writes `contents` to a new file readable only by its owner, durably
/// (the file and its directory entry are synced: a key that a crash could
/// take back would leave checkpoints nobody can verify).
pub fn write_private_file(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    crate::durable::create_file(path, contents, 0o600)
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Refuses a secret file that anyone but its owner may read or write: a log
/// key or admin token readable by others is no longer a secret.
pub fn check_private(path: &Path) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            bail!("{} is accessible to other users (mode {:o}); it holds a secret: run `chmod 600 {}` and start again", path.display(), mode & 0o777, path.display());
        }
    }
    Ok(())
}
