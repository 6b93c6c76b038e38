//! The witness's own Ed25519 key in its data directory (`witness.skey`, Go
//! note skey format, mode 0600). The key's name is the witness's name,
//! fixed at first start: cosignatures do not sign the name, so a witness
//! that changed names would confuse every verifier that pinned it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use rootlog_runtime::private_file::write_private_file;
use rootlog_tlog::note::{is_valid_key_name, Signer};

/// File name of the witness key inside the data directory.
pub const KEY_FILE: &str = "witness.skey";

fn key_path(data: &Path) -> PathBuf {
    data.join(KEY_FILE)
}

/// Reads the witness key (only the key file, so it works while a server runs).
pub fn read_key(data: &Path) -> anyhow::Result<Signer> {
    let path = key_path(data);
    if path.exists() {
        rootlog_runtime::private_file::check_private(&path)?;
    }
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the witness key {} (start `rootlog-witness serve --name NAME` once to create it)",
            path.display()
        )
    })?;
    Signer::from_skey(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Loads the key, creating it named `name` on first start. On later starts a
/// given `name` must equal the recorded one.
pub fn load_or_create(data: &Path, name: Option<&str>) -> anyhow::Result<Signer> {
    rootlog_runtime::durable::create_dir_all(data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let path = key_path(data);
    if path.exists() {
        let signer = read_key(data)?;
        if let Some(name) = name {
            if name != signer.name() {
                bail!(
                    "this data directory holds the key of witness {:?}; refusing to run it as {name:?} \
                     (omit --name, pass --name {:?}, or use another --data)",
                    signer.name(),
                    signer.name()
                );
            }
        }
        return Ok(signer);
    }
    let Some(name) = name else {
        bail!(
            "first start in {}: --name NAME is required to create the witness key",
            data.display()
        );
    };
    if !is_valid_key_name(name) {
        bail!("invalid witness name {name:?}: use a schema-less URL such as witness.example.com/w1 (no spaces, no '+')");
    }
    let signer = Signer::generate(name)
        .map_err(|e| anyhow::anyhow!("cannot generate the witness key: {e}"))?;
    write_private_file(&path, format!("{}\n", signer.skey()).as_bytes())?;
    tracing::info!(path = %path.display(), vkey = %signer.vkey(), "created the witness key");
    Ok(signer)
}
