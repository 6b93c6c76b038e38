//! `rootlog fsck`: opening a data directory without writing to it (through
//! a scratch copy of sled's files when needed), running the integrity
//! check, and printing its report.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};

/// `rootlog fsck`: the full integrity check. Handles its own errors, because
/// "could not check" (exit 2) must not look like "found damage" (exit 1).
pub fn fsck(data: &Path, json: bool) -> ExitCode {
    match run_fsck(data, json) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            rootlog::errln!("rootlog fsck: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Opens the data directory without creating anything and runs the check;
/// Ok(intact).
fn run_fsck(data: &Path, json: bool) -> anyhow::Result<bool> {
    use std::io::IsTerminal;

    use indicatif::{ProgressBar, ProgressStyle};
    use rootlog::fsck::{check_store, Stage};
    use rootlog::storage::{Store, StoreError};

    if !data.is_dir() {
        bail!(
            "{} is not a directory (give the log's data directory with --data)",
            data.display()
        );
    }
    let log_key = rootlog::identity::read_signer(data)?.verifier();
    let db = data.join("db");
    // sled opens its files for writing even to read them: a read-only copy
    // (a snapshot mounted read-only) is checked through a scratch copy of
    // sled's own small files, the tree files read where they are, so the
    // directory is never changed.
    let mut scratch = None;
    let opened = match Store::open_existing(&db) {
        Err(StoreError::Sled(sled::Error::Io(io)))
            if matches!(
                io.kind(),
                std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied
            ) =>
        {
            let dir = ScratchDir::new()?;
            Store::copy_sled_files(&db, dir.path())?;
            let opened = Store::open_existing_from(&db, dir.path());
            scratch = Some(dir);
            opened
        }
        other => other,
    };
    let store = match opened {
        Ok(store) => store,
        Err(StoreError::Sled(sled::Error::Io(io)))
            if io.to_string().contains("could not acquire lock") =>
        {
            bail!("the database {} is locked by another process, most likely a running `rootlog serve`: stop the server first, or run fsck on a copy or backup of the data directory", db.display())
        }
        Err(StoreError::Sled(sled::Error::Io(io))) if io.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "{} holds no database (is --data the log's data directory?)",
                data.display()
            )
        }
        Err(
            e @ (StoreError::Io { .. }
            | StoreError::Sled(sled::Error::Io(_))
            | StoreError::Layout(_)),
        ) => {
            bail!("cannot check the database {}: {e}", db.display())
        }
        // sled found its own data damaged, or the stored size cannot be:
        // that is a finding, not a failure to check.
        Err(e @ (StoreError::Sled(_) | StoreError::Corrupt(_) | StoreError::Invalid { .. })) => {
            let report = rootlog::fsck::Report::unreadable(
                &db.display().to_string(),
                format!("the database cannot be opened: {e}; restore the data directory from a backup (rootlog restore)"),
            );
            return print_fsck(&report, data, 0.0, json);
        }
    };

    // The bar goes to stderr and only to a terminal, so pipes and --json stay clean.
    let bar = if !json && std::io::stderr().is_terminal() {
        ProgressBar::new(0)
    } else {
        ProgressBar::hidden()
    };
    let counted = ProgressStyle::with_template(
        "{msg:12} [{bar:40}] {human_pos}/{human_len} ({elapsed}, eta {eta})",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    let open_ended = ProgressStyle::with_template("{msg:12} {spinner} {human_pos} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let mut current: Option<Stage> = None;
    let mut progress = |stage: Stage, done: u64, total: Option<u64>| {
        if current != Some(stage) {
            current = Some(stage);
            bar.reset();
            let (style, msg) = match stage {
                Stage::Tree => (counted.clone(), "leaves"),
                Stage::Indexes => (open_ended.clone(), "index rows"),
                Stage::Checkpoints => (open_ended.clone(), "checkpoints"),
            };
            bar.set_style(style);
            bar.set_message(msg);
        }
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    };
    let started = std::time::Instant::now();
    let report = check_store(&store, &log_key, &mut progress)
        .with_context(|| format!("cannot read the database {}", db.display()))?;
    let elapsed = started.elapsed().as_secs_f64();
    bar.finish_and_clear();
    drop(store);
    drop(scratch);
    print_fsck(&report, data, elapsed, json)
}

/// Prints a check's report (text or JSON); Ok(intact).
fn print_fsck(
    report: &rootlog::fsck::Report,
    data: &Path,
    elapsed: f64,
    json: bool,
) -> anyhow::Result<bool> {
    if json {
        /// The report with the run time after it, fields in report order.
        #[derive(serde::Serialize)]
        struct Summary<'a> {
            #[serde(flatten)]
            report: &'a rootlog::fsck::Report,
            elapsed_seconds: f64,
        }
        let summary = Summary {
            report,
            elapsed_seconds: elapsed,
        };
        rootlog::outln!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(report.ok);
    }
    let c = &report.checked;
    rootlog::outln!(
        "log {} at {}, tree size {}",
        report.origin.as_deref().unwrap_or("(no origin recorded)"),
        data.display(),
        report.tree_size
    );
    rootlog::outln!(
        "checked {} leaves, {} nodes, {} index rows, {} checkpoints in {elapsed:.1} s ({:.0} leaves/s)",
        c.leaves,
        c.nodes,
        c.index_rows,
        c.checkpoints,
        c.leaves as f64 / elapsed.max(1e-9)
    );
    if report.ok {
        rootlog::outln!("ok: the stored log is intact");
    } else {
        rootlog::outln!("FAILED: {} finding(s)", report.findings_total);
        for finding in &report.findings {
            rootlog::outln!("  {finding}");
        }
        let hidden = report.findings_total - report.findings.len() as u64;
        if hidden > 0 {
            rootlog::outln!(
                "  ... and {hidden} more (the list stops at {})",
                report.findings.len()
            );
        }
    }
    Ok(report.ok)
}

/// A private directory under the system's temporary directory, removed
/// with everything in it when dropped.
struct ScratchDir(PathBuf);

impl ScratchDir {
    fn new() -> anyhow::Result<Self> {
        let mut random = [0u8; 8];
        getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let path = std::env::temp_dir().join(format!("rootlog-fsck-{}", hex::encode(random)));
        let mut builder = fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(ScratchDir(path))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
