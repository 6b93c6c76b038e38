//! Mistakes an operator can make, with real processes: a mirror directory
//! overlapping the data directory is refused (both ways, through symlinks
//! too); `rootlog fsck` checks a read-only copy without changing it, and
//! calls a damaged database a finding (exit 1), not a failure to run; an
//! identical retry of a logged statement is answered with the entry even
//! after its only key was retired.

mod common;

use std::path::Path;
use std::process::Command;

use common::{register, rootlog_bin, run_rootlog, snapshot, Server, Tenant, ADMIN_TOKEN};

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_mirror_overlapping_the_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let link = dir.path().join("link-to-data");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    for publish in [
        data.clone(),
        data.join("mirror"),
        dir.path().to_path_buf(),
        link.join("mirror"),
    ] {
        let mut child = Command::new(rootlog_bin())
            .args(["serve", "--listen", "127.0.0.1:0", "--admin-on-public"])
            .args(["--data", p(&data), "--publish-dir", p(&publish)])
            .env("ROOTLOG_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // A refusal is immediate; a server that started would run forever.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if std::time::Instant::now() > deadline {
                child.kill().unwrap();
                panic!("{publish:?} was accepted: the server started");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert!(!status.success(), "{publish:?} was accepted");
        assert!(err.contains("overlap"), "{publish:?}: {err}");
        assert!(
            !data.exists(),
            "{publish:?}: the data directory was created"
        );
    }
    // The offline publisher refuses the same.
    let server = Server::start(&data, &[]);
    drop(server);
    let (code, out, err) =
        run_rootlog(&["publish", "--data", p(&data), "--to", p(&link.join("m"))]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("overlap"), "{err}");
}

#[test]
fn fsck_checks_a_read_only_copy_and_reports_a_damaged_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(Server::start(&data, &[]));

    // A damaged database is a finding (exit 1), named.
    let damaged = dir.path().join("damaged");
    std::fs::create_dir_all(damaged.join("db")).unwrap();
    for entry in std::fs::read_dir(data.join("db")).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), damaged.join("db").join(entry.file_name())).unwrap();
        }
    }
    std::fs::copy(data.join("log.skey"), damaged.join("log.skey")).unwrap();
    // Opened once cleanly (so sled keeps a snapshot of it), then bytes
    // overwritten inside sled's log: sled refuses to open it ("Read
    // corrupted data"), which used to make fsck exit 2 as if it could not run.
    let (code, out, err) = run_rootlog(&["fsck", "--data", p(&damaged)]);
    assert_eq!(code, 0, "{out}{err}");
    let mut bytes = std::fs::read(damaged.join("db/db")).unwrap();
    bytes[100..123].copy_from_slice(b"garbage garbage garbage");
    std::fs::write(damaged.join("db/db"), bytes).unwrap();
    let (code, out, err) = run_rootlog(&["fsck", "--data", p(&damaged), "--json"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("database_unreadable"), "{out}");

    // A read-only mount of the directory is checked as it is, unchanged.
    if !common::loopfs::is_root() {
        assert!(std::env::var_os("CI").is_none(), "CI must run this as root");
        eprintln!("######## SKIPPED the read-only part: bind mounts need root ########");
        return;
    }
    let before = snapshot(&data);
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mounted = Command::new("mount")
        .args(["--bind", p(&data), p(&ro)])
        .status()
        .unwrap()
        .success()
        && Command::new("mount")
            .args(["-o", "remount,bind,ro", p(&ro)])
            .status()
            .unwrap()
            .success();
    assert!(mounted, "cannot bind-mount read-only");
    let (code, out, err) = run_rootlog(&["fsck", "--data", p(&ro)]);
    let _ = Command::new("umount").arg(&ro).status();
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact"), "{out}");
    assert_eq!(snapshot(&data), before, "fsck changed the data directory");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_retry_is_answered_after_its_key_was_retired() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("log"), &[]);
    let tenant = Tenant::new("acme");
    register(&server, &tenant).await;
    let note = tenant.statement(&common::day(1), 1);
    let (status, first) = server.client().submit(&note).await.unwrap();
    assert_eq!(status, 201);
    // A second key, then the first one retired: it signs nothing new...
    let second = rootlog::note::Signer::generate("acme").unwrap();
    for (action, vkey) in [("add", second.vkey()), ("retire", tenant.signer.vkey())] {
        let (status, _) = server
            .client()
            .change_key(ADMIN_TOKEN, "acme", action, &vkey, None)
            .await
            .unwrap();
        assert_eq!(status, 201);
    }
    let fresh = tenant.statement(&common::day(2), 2);
    let refused = server.client().submit(&fresh).await;
    assert!(
        matches!(&refused, Err(rootlog::client::ClientError::Api { status: 403, code, .. }) if code == "key_retired"),
        "{refused:?}"
    );
    // ...but a retry of what it signed before is answered with the entry.
    let (status, again) = server.client().submit(&note).await.unwrap();
    assert_eq!((status, again.index), (200, first.index));
}
