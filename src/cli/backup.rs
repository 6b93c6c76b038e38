//! `rootlog backup` (download an online backup from a running log) and
//! `rootlog restore` (rebuild and re-verify a data directory from one).

use std::fs;
use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

use rootlog::backup::{read_header, restore as restore_backup, BackupError, Frame};
use rootlog::identity;
use rootlog::note::Signer;

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
    if let Some(dir) = to.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::File::open(dir)?.sync_all()?;
    }
    println!(
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

pub fn restore(from: &Path, data: &Path, key: &Path) -> anyhow::Result<ExitCode> {
    let usage = |m: String| {
        eprintln!("rootlog restore: {m}");
        Ok(ExitCode::from(2))
    };
    if data.join("db").exists() {
        return usage(format!(
            "{} already holds a log; restore into a new directory",
            data.display()
        ));
    }
    let skey = match fs::read_to_string(key) {
        Ok(s) => s,
        Err(e) => return usage(format!("cannot read the key {}: {e}", key.display())),
    };
    let signer = match Signer::from_skey(skey.trim()) {
        Ok(s) => s,
        Err(e) => return usage(format!("{}: {e}", key.display())),
    };
    let file = match fs::File::open(from) {
        Ok(f) => f,
        Err(e) => return usage(format!("cannot read {}: {e}", from.display())),
    };
    let mut r = BufReader::new(file);
    let header = match read_header(&mut r) {
        Ok(h) => h,
        Err(e) => return usage(format!("{}: {e}", from.display())),
    };
    if signer.name() != header.origin {
        return usage(format!(
            "the key is named {:?}, the backup's log is {:?}",
            signer.name(),
            header.origin
        ));
    }
    fs::create_dir_all(data)?;
    identity::write_private_file(
        &data.join(identity::KEY_FILE),
        format!("{}\n", signer.skey()).as_bytes(),
    )?;
    let id = identity::open(data, Some(&header.origin))?;
    // Start over from the top: `restore` reads (and checks) the header itself.
    let mut r = BufReader::new(fs::File::open(from)?);
    let started = std::time::Instant::now();
    match restore_backup(&mut r, &id.store, &id.signer, |_| {}) {
        Ok(done) => {
            println!(
                "restored {} entries, {} checkpoints and {} cosignatures of {} (backup taken {}) into {} in {:.1} s; every checkpoint verified",
                done.leaves,
                done.checkpoints,
                done.cosignatures,
                done.header.origin,
                done.header.taken_at,
                data.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (BackupError::Invalid(_) | BackupError::Format(_))) => {
            println!("NOT RESTORED: {e}");
            println!(
                "{} holds a partial copy; remove it before trying again",
                data.display()
            );
            Ok(ExitCode::from(1))
        }
        Err(e) => Err(e.into()),
    }
}
