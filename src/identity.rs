//! The log's identity in its data directory: the Ed25519 log key, the origin
//! recorded at first start, and the admin token.
//!
//! Layout of a data directory:
//! - `log.skey` — the log's private key (Go note skey format, mode 0600);
//! - `admin.token` — the admin bearer token, when `ROOTLOG_ADMIN_TOKEN` is not set (mode 0600);
//! - `db/` — the sled database (see `storage`).
//!
//! The origin is fixed at first start: every checkpoint the log ever signs
//! names it, and witnesses key their state by it.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

use crate::note::{is_valid_key_name, Signer};
use crate::storage::Store;

/// File name of the log key inside the data directory.
pub const KEY_FILE: &str = "log.skey";
/// File name of the generated admin token inside the data directory.
pub const TOKEN_FILE: &str = "admin.token";
/// Environment variable that sets the admin token.
pub const TOKEN_ENV: &str = "ROOTLOG_ADMIN_TOKEN";
/// The origin used when none is given at first start.
pub const DEFAULT_ORIGIN: &str = "localhost/rootlog";

/// An opened data directory.
pub struct LogIdentity {
    pub store: Store,
    pub signer: Signer,
    pub origin: String,
}

pub use rootlog_runtime::private_file::{check_private, write_private_file};

fn key_path(data: &Path) -> PathBuf {
    data.join(KEY_FILE)
}

/// Reads the log key without opening the database (so it works while a server runs).
pub fn read_signer(data: &Path) -> anyhow::Result<Signer> {
    let path = key_path(data);
    if path.exists() {
        check_private(&path)?;
    }
    let text = fs::read_to_string(&path).with_context(|| {
        format!(
            "cannot read the log key {} (is --data the log's data directory?)",
            path.display()
        )
    })?;
    Signer::from_skey(text.trim()).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// Opens the data directory, creating the key and recording the origin on first start.
///
/// On later starts `origin` (if given) must equal the recorded one: a log
/// cannot change its name without breaking every checkpoint it signed.
pub fn open(data: &Path, origin: Option<&str>) -> anyhow::Result<LogIdentity> {
    crate::durable::create_dir_all(data)
        .with_context(|| format!("cannot create data directory {}", data.display()))?;
    let store = Store::open(&data.join("db"))
        .with_context(|| format!("cannot open the database in {}", data.join("db").display()))?;
    let origin = match (store.origin()?, origin) {
        (Some(recorded), Some(asked)) if recorded != asked => {
            bail!("this data directory belongs to the log with origin {recorded:?}; refusing to serve it as {asked:?} (omit --origin or use another --data)")
        }
        (Some(recorded), _) => recorded,
        (None, asked) => {
            let origin = asked.unwrap_or(DEFAULT_ORIGIN).to_string();
            if !is_valid_key_name(&origin) {
                bail!("invalid origin {origin:?}: use a schema-less URL such as log.example.com/rootlog (no spaces, no '+')");
            }
            origin
        }
    };
    let path = key_path(data);
    let signer = if path.exists() {
        let signer = read_signer(data)?;
        if signer.name() != origin {
            bail!(
                "the log key {} is named {:?} but the log's origin is {origin:?}",
                path.display(),
                signer.name()
            );
        }
        signer
    } else {
        if store.size()? > 0 {
            bail!("{} is missing but the log has entries: restore the key from backup; a new key would not verify the log's checkpoints", path.display());
        }
        let signer = Signer::generate(&origin)
            .map_err(|e| anyhow::anyhow!("cannot generate the log key: {e}"))?;
        write_private_file(&path, format!("{}\n", signer.skey()).as_bytes())?;
        tracing::info!(path = %path.display(), vkey = %signer.vkey(), "created the log key");
        signer
    };
    if store.origin()?.is_none() {
        store.set_origin(&origin)?;
        tracing::info!(%origin, "recorded the log's origin");
    }
    Ok(LogIdentity {
        store,
        signer,
        origin,
    })
}

/// The admin token `ROOTLOG_ADMIN_TOKEN` sets, if it is set; an error if
/// it is too short to be a secret.
pub fn admin_token_from_env() -> anyhow::Result<Option<String>> {
    match std::env::var(TOKEN_ENV) {
        Ok(token) if token.trim().len() < 16 => {
            bail!("{TOKEN_ENV} must be at least 16 characters")
        }
        Ok(token) => Ok(Some(token.trim().to_string())),
        Err(_) => Ok(None),
    }
}

/// The admin token: `ROOTLOG_ADMIN_TOKEN` if set, else `<data>/admin.token`,
/// generated on first use. Returns the token and, when it came from the file, its path.
pub fn admin_token(data: &Path) -> anyhow::Result<(String, Option<PathBuf>)> {
    if let Some(token) = admin_token_from_env()? {
        return Ok((token, None));
    }
    let path = data.join(TOKEN_FILE);
    if !path.exists() {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)
            .map_err(|e| anyhow::anyhow!("no randomness for the admin token: {e}"))?;
        write_private_file(&path, format!("{}\n", hex::encode(bytes)).as_bytes())?;
    }
    let token = check_private(&path).and_then(|()| {
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
    })?;
    Ok((token.trim().to_string(), Some(path)))
}

/// `path` made absolute with every symlink resolved, dangling ones too (a
/// directory not created yet, or a link to one, resolves as far as links
/// lead), so two spellings of one place compare equal.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    use std::path::Component;
    let parts = |p: &Path| -> Vec<std::ffi::OsString> {
        p.components()
            .filter_map(|c| match c {
                Component::Normal(name) => Some(name.to_os_string()),
                Component::ParentDir => Some("..".into()),
                _ => None,
            })
            .collect()
    };
    let mut out = PathBuf::from("/");
    let mut todo = parts(&std::path::absolute(path)?);
    todo.reverse();
    let mut links = 0;
    while let Some(name) = todo.pop() {
        if name == ".." {
            out.pop();
            continue;
        }
        let next = out.join(&name);
        match std::fs::read_link(&next) {
            // A link: its target replaces it (bounded, so a loop ends).
            Ok(target) if links < 40 => {
                links += 1;
                if target.is_absolute() {
                    out = PathBuf::from("/");
                }
                todo.extend(parts(&target).into_iter().rev());
            }
            _ => out = next,
        }
    }
    Ok(out)
}

/// Refuses a mirror directory that is the data directory, inside it, or
/// holds it: a web server publishing the mirror would then serve `log.skey`
/// (or the log would write tiles among its own files).
pub fn check_publish_dir(data: &Path, publish: &Path) -> anyhow::Result<()> {
    let data_real = resolve(data).with_context(|| format!("cannot resolve {}", data.display()))?;
    let publish_real =
        resolve(publish).with_context(|| format!("cannot resolve {}", publish.display()))?;
    if publish_real.starts_with(&data_real) || data_real.starts_with(&publish_real) {
        bail!(
            "the mirror directory {} and the data directory {} overlap ({} and {} after resolving links): \
             a web server publishing the mirror would serve the log's private key; use a directory outside the data directory",
            publish.display(),
            data.display(),
            publish_real.display(),
            data_real.display()
        );
    }
    Ok(())
}
