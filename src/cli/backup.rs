//! `rootlog backup` (download an online backup from a running log) and
//! `rootlog restore` (rebuild and re-verify a data directory from a backup,
//! a published mirror, or a backup continued from a mirror).

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use rootlog::backup::{check_header, read_frames, read_header, BackupError, Frame, Header};
use rootlog::durable;
use rootlog::identity;
use rootlog::note::Signer;
use rootlog::rebuild::{import_mirror, MirrorCheckpoint, Rebuild};
use rootlog::tiles::TileClient;

use super::{admin_token, runtime};

/// Downloads the backup to `<to>.partial`, checks that it is whole (header,
/// frames, end frame), flushes it and renames it to `to`.
pub fn backup(
    log: &str,
    to: &Path,
    token: Option<String>,
    token_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let token = admin_token(token, token_file)?;
    let partial = to.with_extension("partial");
    let url = format!("{}/v1/admin/backup", log.trim_end_matches('/'));
    runtime()?.block_on(async {
        // No overall timeout: a large log takes a while; connecting must not.
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        let mut response = http.get(&url).bearer_auth(&token).send().await?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            bail!("GET {url} answered {status}: {body}");
        }
        let mut file = fs::File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        while let Some(chunk) = response
            .chunk()
            .await
            .context("the backup broke off; nothing was written under the final name")?
        {
            file.write_all(&chunk)?;
        }
        file.sync_all()?;
        Ok(())
    })?;
    let (leaves, checkpoints) = match check_whole(&partial) {
        Ok(counts) => counts,
        Err(e) => {
            let _ = fs::remove_file(&partial);
            bail!("the downloaded backup is not whole: {e}");
        }
    };
    fs::rename(&partial, to)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), to.display()))?;
    // The backup exists under its name only once its directory is synced.
    durable::sync_parent(to)?;
    rootlog::outln!(
        "wrote {}: {leaves} entries, {checkpoints} checkpoints",
        to.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Reads a backup file through: (leaves, checkpoints) when it ends with its end frame.
fn check_whole(path: &Path) -> Result<(u64, u64), BackupError> {
    let mut r = BufReader::new(fs::File::open(path)?);
    let header = read_header(&mut r)?;
    let (mut leaves, mut checkpoints) = (0u64, 0u64);
    loop {
        match Frame::read(&mut r)? {
            Some(Frame::Leaf(_)) => leaves += 1,
            Some(Frame::Checkpoint { .. }) => checkpoints += 1,
            Some(Frame::Cosignature { .. }) => {}
            Some(Frame::End { leaves: n }) if n == leaves && n == header.tree_size => {
                return Ok((leaves, checkpoints))
            }
            Some(Frame::End { .. }) => {
                return Err(BackupError::Format("the end frame's count is wrong".into()))
            }
            None => return Err(BackupError::Format("no end frame".into())),
        }
    }
}

/// Where a restore comes from: a backup file, a published mirror, or a
/// backup continued from a mirror.
pub struct RestoreFrom<'a> {
    pub backup: Option<&'a Path>,
    pub mirror: Option<&'a str>,
}

/// `rootlog restore`: rebuilds a data directory, re-verifying everything,
/// in a temporary directory beside `data` that is renamed into place only
/// when the whole restore verified. Exit 0 restored, 1 the source does not
/// verify (nothing is left behind), 2 bad usage.
pub fn restore(from: RestoreFrom<'_>, data: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let usage = |m: String| {
        rootlog::errln!("rootlog restore: {m}");
        Ok(ExitCode::from(2))
    };
    if from.backup.is_none() && from.mirror.is_none() {
        return usage("give --from BACKUP, --from-mirror MIRROR, or both".into());
    }
    match fs::read_dir(data).map(|mut entries| entries.next().is_some()) {
        Ok(true) => {
            return usage(format!(
                "{} already exists and is not empty; restore into a new directory",
                data.display()
            ))
        }
        Ok(false) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return usage(format!("cannot read {}: {e}", data.display())),
    }
    let skey = match fs::read_to_string(key) {
        Ok(s) => s,
        Err(e) => return usage(format!("cannot read the key {}: {e}", key.display())),
    };
    let signer = match Signer::from_skey(skey.trim()) {
        Ok(s) => s,
        Err(e) => return usage(format!("{}: {e}", key.display())),
    };
    let backup = match from.backup {
        None => None,
        Some(path) => {
            let file = match fs::File::open(path) {
                Ok(f) => f,
                Err(e) => return usage(format!("cannot read {}: {e}", path.display())),
            };
            let mut r = BufReader::new(file);
            let header = match read_header(&mut r) {
                Ok(h) => h,
                Err(e) => return usage(format!("{}: {e}", path.display())),
            };
            if signer.name() != header.origin {
                return usage(format!(
                    "the key is named {:?}, the backup's log is {:?}",
                    signer.name(),
                    header.origin
                ));
            }
            Some((path, r, header))
        }
    };
    let Some(parent) = data.parent().map(|p| {
        if p.as_os_str().is_empty() {
            Path::new(".")
        } else {
            p
        }
    }) else {
        return usage(format!("{} has no parent directory", data.display()));
    };
    let name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "rootlog-data".into());
    // A bucket (s3://) is read with the S3 API into a copy beside the
    // restore (its checkpoint and entry bundles), then restored from like
    // a directory; the copy is removed either way.
    let copy = parent.join(format!(".{name}.mirror-{}", std::process::id()));
    let mirror = match from.mirror {
        None => None,
        Some(source) if source.starts_with("s3://") => {
            let url: rootlog::publish::object::S3Url = match source.parse() {
                Ok(url) => url,
                Err(e) => return usage(format!("--from-mirror: {e:#}")),
            };
            durable::create_dir_all(parent)?;
            if let Err(e) = rootlog::publish::object::download_entries(&url, &copy) {
                let _ = fs::remove_dir_all(&copy);
                return Err(e);
            }
            Some(TileClient::new(&copy.to_string_lossy())?)
        }
        Some(source) => match TileClient::new(source) {
            Ok(client) => Some(client),
            Err(e) => return usage(format!("--from-mirror: {e:#}")),
        },
    };
    durable::create_dir_all(parent)?;
    let work = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let started = std::time::Instant::now();
    let outcome = rebuild_into(&work, &signer, backup, mirror.as_ref());
    match fs::remove_dir_all(&copy) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            tracing::warn!(dir = %copy.display(), error = %e, "cannot remove the bucket's copy")
        }
    }
    match outcome {
        Ok(summary) => {
            // Into place only now: a reader of `data` sees nothing or the whole log.
            if let Err(e) = fs::rename(&work, data) {
                let _ = fs::remove_dir_all(&work);
                return Err(e).with_context(|| {
                    format!("cannot move the restored log into {}", data.display())
                });
            }
            durable::sync_parent(data)?;
            rootlog::outln!(
                "restored {summary} into {} in {:.1} s; every checkpoint verified",
                data.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            let _ = fs::remove_dir_all(&work);
            match e.downcast_ref::<BackupError>() {
                Some(
                    BackupError::Invalid(_) | BackupError::Format(_) | BackupError::Truncated(_),
                ) => {
                    rootlog::outln!("NOT RESTORED: {e:#}");
                    rootlog::outln!("nothing was written to {}", data.display());
                    Ok(ExitCode::from(1))
                }
                _ => Err(e),
            }
        }
    }
}

/// Rebuilds a log into the new directory `work`: the backup's entries and
/// checkpoints, then the mirror's entries beyond them and its checkpoint.
/// Returns what it restored, in words.
fn rebuild_into(
    work: &Path,
    signer: &Signer,
    backup: Option<(&Path, BufReader<fs::File>, Header)>,
    mirror: Option<&TileClient>,
) -> anyhow::Result<String> {
    let origin = signer.name().to_string();
    let log_key = signer.verifier();
    // The mirror's checkpoint is read and verified before anything is written.
    let published = match mirror {
        None => None,
        Some(client) => {
            let note = runtime()?
                .block_on(client.checkpoint())
                .with_context(|| format!("reading the mirror {}", client.base()))?;
            let published = MirrorCheckpoint::parse(&note, &log_key, &origin)
                .map_err(|e| BackupError::Invalid(format!("the mirror's checkpoint: {e}")))?;
            Some((client, published))
        }
    };
    durable::create_dir_all(work)?;
    identity::write_private_file(
        &work.join(identity::KEY_FILE),
        format!("{}\n", signer.skey()).as_bytes(),
    )?;
    let id = identity::open(work, Some(&origin))?;
    let mut rebuild =
        Rebuild::new(&id.store, log_key.clone(), &origin).map_err(BackupError::from)?;
    let mut said = Vec::new();
    if let Some((path, mut r, header)) = backup {
        check_header(&header, &log_key)?;
        let done = read_frames(&mut r, &header, &mut rebuild, |_| {})
            .map_err(|e| anyhow::Error::from(e).context(format!("{}", path.display())))?;
        said.push(format!(
            "{} and {} from the backup (taken {})",
            count(done.leaves, "entry", "entries"),
            count(rebuild.checkpoints, "checkpoint", "checkpoints"),
            header.taken_at
        ));
    }
    if let Some((client, published)) = published {
        let from = rebuild.size();
        let size = published.checkpoint.size;
        if size < from {
            said.push(format!(
                "nothing from the mirror, whose checkpoint ({size}) is older than the backup ({from})"
            ));
        } else if size == from && rebuild.last_checkpoint() == Some(size) {
            if published.checkpoint.root != rebuild.root() {
                return Err(BackupError::Invalid(format!(
                    "the mirror's checkpoint of size {size} signs another root than the backup's tree: the log signed two trees"
                ))
                .into());
            }
            said.push(format!(
                "nothing from the mirror, which is at the backup's size {size}"
            ));
        } else {
            runtime()?
                .block_on(import_mirror(&mut rebuild, client, &published, |_| {}))
                .map_err(BackupError::from)?;
            said.push(format!(
                "{} and the checkpoint of size {size} with {} from the mirror {}",
                count(size - from, "entry", "entries"),
                count(
                    published.cosignatures.len() as u64,
                    "cosignature",
                    "cosignatures"
                ),
                client.base()
            ));
        }
    }
    rebuild.finish().map_err(BackupError::from)?;
    Ok(said.join(", then "))
}

/// `n` with the noun it counts.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
