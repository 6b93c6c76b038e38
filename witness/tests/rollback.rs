//! No silent rollback: a witness whose database is older than what it
//! cosigned (here `db/` restored alone from an older copy) refuses to start,
//! because it would cosign a fork of its own past; the high-water mark
//! beside the database is what tells. A data directory from before the mark
//! existed gets one, with a warning.

mod common;

use std::path::Path;

use common::*;

/// Copies the directory `from` to `to` (which must not exist).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_database_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/restored");
    let mut other = TestLog::new("example.com/untouched");
    let args = vec![
        "--name".to_string(),
        "w".into(),
        "--log".into(),
        log.flag(),
        "--log".into(),
        other.flag(),
    ];
    let c = client();

    // Cosign size 10 (and another log's 5), stop, copy the directory.
    let w = WitnessProcess::start(&data, &args);
    log.grow_to(10);
    other.grow_to(5);
    for (old, proof, cp) in [
        (0, vec![], log.checkpoint(10)),
        (0, vec![], other.checkpoint(5)),
    ] {
        let a = post(&c, &w.url, body(old, &proof, &cp)).await;
        assert_eq!(a.status, 200, "{a:?}");
    }
    w.kill();
    let copy = dir.path().join("copy-at-10");
    copy_dir(&data, &copy);

    // Continue to size 20, stop.
    let w = WitnessProcess::start(&data, &args);
    log.grow_to(20);
    let a = post(
        &c,
        &w.url,
        body(10, &log.proof(10, 20), &log.checkpoint(20)),
    )
    .await;
    assert_eq!(a.status, 200, "{a:?}");
    w.kill();

    // Put the older db/ back, keeping the newer high-water mark: refused,
    // naming the origin, both sizes and what to do.
    std::fs::rename(data.join("db"), dir.path().join("db-at-20")).unwrap();
    copy_dir(&copy.join("db"), &data.join("db"));
    let err = WitnessProcess::try_start(&data, &args)
        .err()
        .expect("a witness with an older database must not start");
    eprintln!("refused as expected: {err}");
    assert!(err.contains("exited with exit status: 1"), "{err}");
    for says in [
        "\"example.com/restored\"",
        "holds size 10, but size 20 was cosigned",
        "must never be restored from an older copy",
        "restore the whole directory from its newest copy, or retire this witness key",
    ] {
        assert!(err.contains(says), "missing {says:?} in {err}");
    }
    assert!(!err.contains("example.com/untouched"), "{err}");
    // Still refused on a second try: the refusal changed nothing.
    assert!(WitnessProcess::try_start(&data, &args).is_err());

    // The newer database back: it starts, at size 20.
    std::fs::remove_dir_all(data.join("db")).unwrap();
    std::fs::rename(dir.path().join("db-at-20"), data.join("db")).unwrap();
    let w = WitnessProcess::start(&data, &args);
    let a = post(&c, &w.url, body(0, &[], &log.checkpoint(20))).await;
    assert_eq!((a.status, a.body.as_str()), (409, "20\n"));
    w.kill();

    // The mark cannot see a whole directory restored from an older copy
    // (mark included): that copy starts, at size 10. This is why a witness
    // is backed up and restored only as a whole, and never from an older
    // copy (README.md).
    let w = WitnessProcess::start(&copy, &args);
    let a = post(&c, &w.url, body(0, &[], &log.checkpoint(20))).await;
    assert_eq!((a.status, a.body.as_str()), (409, "10\n"));
    w.kill();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_mark_is_created_from_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut log = TestLog::new("example.com/upgraded");
    let args = vec!["--name".to_string(), "w".into(), "--log".into(), log.flag()];
    let c = client();
    let w = WitnessProcess::start(&data, &args);
    assert!(!w.stderr().contains("no high-water mark"), "{}", w.stderr());
    log.grow_to(7);
    let a = post(&c, &w.url, body(0, &[], &log.checkpoint(7))).await;
    assert_eq!(a.status, 200, "{a:?}");
    w.kill();

    // As a data directory from before the mark existed: no file.
    let mark = data.join("high-water");
    assert!(mark.exists());
    let copy = dir.path().join("copy-at-7");
    copy_dir(&data, &copy);
    std::fs::remove_file(&mark).unwrap();
    let w = WitnessProcess::start(&data, &args);
    assert!(
        w.stderr()
            .contains("no high-water mark: creating it from the database"),
        "{}",
        w.stderr()
    );
    assert!(mark.exists());
    log.grow_to(9);
    let a = post(&c, &w.url, body(7, &log.proof(7, 9), &log.checkpoint(9))).await;
    assert_eq!(a.status, 200, "{a:?}");
    w.kill();

    // The recreated mark guards the database from then on.
    std::fs::remove_dir_all(data.join("db")).unwrap();
    copy_dir(&copy.join("db"), &data.join("db"));
    let err = WitnessProcess::try_start(&data, &args)
        .err()
        .expect("an older database must be refused");
    assert!(
        err.contains("holds size 7, but size 9 was cosigned"),
        "{err}"
    );
}
