//! `rootlog fsck` and the server's periodic integrity check, with the real
//! binaries: a log is built once by a real server (tenants, a few hundred
//! statements across tenants and dates, many batches), stopped with SIGTERM,
//! and copied; each test damages its own copy by writing raw sled rows or
//! tree-file bytes in the documented layout (see `src/storage/`) and checks
//! that fsck names the damage by kind and location and exits 1.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{day, register, released, rootlog_bin, Server, Tenant};
use rootlog::merkle::{Hash, NodeId};
use rootlog::note::{Checkpoint, Note, Signer};
use rootlog::statement::parse_submission;
use rootlog::storage::{month_rows, Store};
use serde_json::Value;

const TENANTS: u64 = 3;
const ENTRIES: u64 = 300;
/// The registrations' key-change entries come first, then the statements.
const SIZE: u64 = TENANTS + ENTRIES;

/// The intact log every test copies.
struct Pristine {
    data: PathBuf,
    /// Sizes of the stored checkpoints, oldest first.
    checkpoints: Vec<u64>,
}

/// Builds the log once per test process. It lives under the target's tmp
/// directory; earlier runs' copies are removed first (statics never drop).
fn pristine() -> &'static Pristine {
    static PRISTINE: OnceLock<Pristine> = OnceLock::new();
    PRISTINE.get_or_init(|| {
        let root = Path::new(env!("CARGO_TARGET_TMPDIR"));
        if let Ok(entries) = std::fs::read_dir(root) {
            for entry in entries.flatten() {
                if entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("fsck-pristine-")
                {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        let data = root.join(format!("fsck-pristine-{}", std::process::id()));
        std::fs::create_dir_all(&data).unwrap();
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let mut server = Server::start(&data, &[]);
        runtime.block_on(async {
            let tenants: Vec<Tenant> = (0..TENANTS)
                .map(|i| Tenant::new(&format!("tenant-{i}")))
                .collect();
            for t in &tenants {
                register(&server, t).await;
            }
            // One at a time first (one checkpoint each), then in bursts that
            // the sequencer groups into larger batches.
            let note = |n: u64| tenants[(n % TENANTS) as usize].statement(&day(n / TENANTS), n);
            for n in 0..60 {
                let (status, _) = server.client().submit(&note(n)).await.unwrap();
                assert_eq!(status, 201);
            }
            for burst in (60..ENTRIES).collect::<Vec<_>>().chunks(16) {
                let tasks: Vec<_> = burst
                    .iter()
                    .map(|&n| {
                        let client = server.client();
                        let body = note(n);
                        tokio::spawn(async move { client.submit(&body).await.unwrap().0 })
                    })
                    .collect();
                for task in tasks {
                    assert_eq!(task.await.unwrap(), 201);
                }
            }
        });
        server.stop();
        let db = sled::open(data.join("db")).unwrap();
        let checkpoints = db
            .scan_prefix(b"C")
            .map(|row| u64::from_be_bytes(row.unwrap().0[1..].try_into().unwrap()))
            .collect();
        drop(db);
        released(&data.join("db"));
        Pristine { data, checkpoints }
    })
}

/// A private copy of the intact log.
fn copy_of_log() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&pristine().data, dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Opens the copy's database directly, lets `damage` write raw rows, flushes,
/// and returns once sled has let go of the directory.
fn damage(data: &Path, damage: impl FnOnce(&sled::Db)) {
    let db = sled::open(data.join("db")).unwrap();
    damage(&db);
    db.flush().unwrap();
    drop(db);
    released(&data.join("db"));
}

fn be(n: u64) -> [u8; 8] {
    n.to_be_bytes()
}

fn key(prefix: u8, rest: &[u8]) -> Vec<u8> {
    let mut k = vec![prefix];
    k.extend_from_slice(rest);
    k
}

fn tree_file(data: &Path, name: &str) -> PathBuf {
    data.join("db").join(name)
}

/// Every leaf's note bytes, from the `leaves` and `leaf-ends` files.
fn leaves_of(data: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(tree_file(data, "leaves")).unwrap();
    let ends = std::fs::read(tree_file(data, "leaf-ends")).unwrap();
    let mut start = 0usize;
    ends.chunks_exact(8)
        .map(|c| {
            let end = u64::from_be_bytes(c.try_into().unwrap()) as usize;
            let leaf = bytes[start..end].to_vec();
            start = end;
            leaf
        })
        .collect()
}

fn leaf_at(data: &Path, index: u64) -> Vec<u8> {
    leaves_of(data).swap_remove(index as usize)
}

/// Replaces one leaf's note bytes (any length), rewriting the files after it
/// as a damaged disk or a hand edit would leave them.
fn replace_leaf(data: &Path, index: u64, new: Vec<u8>) {
    let mut leaves = leaves_of(data);
    leaves[index as usize] = new;
    let mut ends = Vec::new();
    let mut at = 0u64;
    for leaf in &leaves {
        at += leaf.len() as u64;
        ends.extend_from_slice(&at.to_be_bytes());
    }
    std::fs::write(tree_file(data, "leaves"), leaves.concat()).unwrap();
    std::fs::write(tree_file(data, "leaf-ends"), ends).unwrap();
}

fn node_offset(level: u8, index: u64) -> u64 {
    NodeId::new(level, index).position().unwrap() * 32
}

fn put_node(data: &Path, level: u8, index: u64, hash: &[u8; 32]) {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(tree_file(data, "hashes"))
        .unwrap();
    file.write_all_at(hash, node_offset(level, index)).unwrap();
}

/// The `S` row key holding the statement at `index`, its record's day, and
/// the location fsck gives that record.
fn record_of(data: &Path, index: u64) -> (Vec<u8>, u8, String) {
    let (tenant, date) = statement_at(data, index);
    let (key, day) = Store::month_row_of(&tenant, &date).unwrap();
    let location = format!("S {}/{} day {day:02}", tenant, &date[..7]);
    (key, day, location)
}

/// Rewrites one `S` row's records with `edit`.
fn edit_records(db: &sled::Db, key: &[u8], edit: impl FnOnce(&mut Vec<(u8, u64)>)) {
    let mut records = db
        .get(key)
        .unwrap()
        .map(|v| month_rows::decode(&v).unwrap())
        .unwrap_or_default();
    edit(&mut records);
    records.sort();
    db.insert(key, month_rows::encode(&records)).unwrap();
}

/// (tenant, date) of the statement at `index`.
fn statement_at(data: &Path, index: u64) -> (String, String) {
    let bytes = leaf_at(data, index);
    let (_, statement) = parse_submission(&bytes).unwrap();
    (statement.tenant.clone(), statement.date_string())
}

/// Runs `rootlog fsck --json`: (exit code, parsed summary).
fn fsck_json(data: &Path) -> (i32, Value) {
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--json", "--data"])
        .arg(data)
        .output()
        .unwrap();
    let json: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "fsck --json printed no JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), json)
}

fn findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["location"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// fsck exits 1, reports not ok, and lists (kind, location).
fn assert_found(data: &Path, kind: &str, location: &str) -> Vec<(String, String)> {
    let (code, report) = fsck_json(data);
    let found = findings(&report);
    assert_eq!(code, 1, "fsck must exit 1 on damage: {report:#}");
    assert_eq!(report["ok"], false);
    assert!(
        found.iter().any(|(k, l)| k == kind && l == location),
        "expected {kind} at {location}, found {found:?}"
    );
    found
}

fn sign_checkpoint(signer: &Signer, origin: &str, size: u64, root: Hash) -> Vec<u8> {
    let mut note = Note::new(Checkpoint::new(origin, size, root).to_text());
    note.signatures.push(signer.sign(note.text.as_bytes()));
    note.to_text().into_bytes()
}

/// A checkpoint size strictly inside the stored history.
fn middle_checkpoint() -> u64 {
    let sizes = &pristine().checkpoints;
    assert!(sizes.len() >= 10, "too few checkpoints: {sizes:?}");
    sizes[sizes.len() / 2]
}

/// (origin, root) that the stored checkpoint of `size` signs.
fn stored_checkpoint(db: &sled::Db, size: u64) -> (String, Hash) {
    let note = db.get(key(b'C', &be(size))).unwrap().unwrap();
    let note = Note::parse(&note).unwrap();
    let checkpoint = Checkpoint::parse(&note.text).unwrap();
    (checkpoint.origin, checkpoint.root)
}

#[test]
fn intact_log_passes() {
    let copy = copy_of_log();
    let (code, report) = fsck_json(copy.path());
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["tree_size"], SIZE);
    assert_eq!(report["findings"], serde_json::json!([]));
    let checked = &report["checked"];
    assert_eq!(checked["leaves"], SIZE);
    // Every perfect node: sum over levels of floor(n / 2^level) = 2n - popcount(n).
    assert_eq!(checked["nodes"], 2 * SIZE - u64::from(SIZE.count_ones()));
    // One date record per statement; the log is shorter than one
    // leaf-hash run, so there are no run entries to count.
    assert_eq!(checked["index_rows"], ENTRIES);
    assert_eq!(checked["tenants"], TENANTS);
    assert_eq!(checked["checkpoints"], pristine().checkpoints.len() as u64);

    // The text summary, as a person or cron mail sees it.
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--data"])
        .arg(copy.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("ok: the stored log is intact"), "{text}");
    assert!(text.contains(&format!("checked {SIZE} leaves")), "{text}");
    // Not a terminal: no progress bar escape codes on stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains('\u{1b}'));
}

#[test]
fn tenant_records_must_be_what_their_key_change_entries_say() {
    // A key marked revoked that no entry revoked: the record was edited.
    let copy = copy_of_log();
    damage(copy.path(), |db| {
        let k = key(b'K', b"tenant-1");
        let text = String::from_utf8(db.get(&k).unwrap().unwrap().to_vec()).unwrap();
        db.insert(
            k,
            text.replace("\"status\":\"active\"", "\"status\":\"revoked\"")
                .as_bytes(),
        )
        .unwrap();
    });
    let found = assert_found(copy.path(), "tenant_record_mismatch", "K tenant-1");
    assert_eq!(found.len(), 1, "{found:?}");

    // A tenant whose keys were never published in the log.
    let copy = copy_of_log();
    damage(copy.path(), |db| {
        let record = db.get(key(b'K', b"tenant-2")).unwrap().unwrap();
        let text = String::from_utf8(record.to_vec()).unwrap();
        db.insert(
            key(b'K', b"ghost"),
            text.replace("tenant-2", "ghost").as_bytes(),
        )
        .unwrap();
    });
    assert_found(copy.path(), "tenant_record_unlogged", "K ghost");

    // A record removed: the log says the tenant exists.
    let copy = copy_of_log();
    damage(copy.path(), |db| {
        db.remove(key(b'K', b"tenant-0")).unwrap();
    });
    assert_found(copy.path(), "tenant_record_missing", "K tenant-0");
}

#[test]
fn key_change_entry_not_signed_by_the_log_is_found() {
    let copy = copy_of_log();
    // Re-sign the registration at index 1 with a stranger's key.
    let bytes = leaf_at(copy.path(), 1);
    let note = Note::parse(&bytes).unwrap();
    let stranger = Signer::generate("stranger.example/log").unwrap();
    let mut forged = Note::new(note.text.clone());
    forged.signatures.push(stranger.sign(note.text.as_bytes()));
    replace_leaf(copy.path(), 1, forged.to_text().into_bytes());
    let found = assert_found(copy.path(), "key_change_invalid", "index 1");
    assert!(
        found.iter().any(|(k, _)| k == "leaf_hash_mismatch"),
        "{found:?}"
    );
}

#[test]
fn changed_leaf_byte_is_a_leaf_hash_mismatch() {
    let copy = copy_of_log();
    let mut bytes = leaf_at(copy.path(), 17);
    // Change the day's record count: the note still parses as a statement.
    let at = bytes.windows(8).position(|w| w == b"records ").unwrap() + 8;
    bytes[at] = if bytes[at] == b'7' { b'8' } else { b'7' };
    replace_leaf(copy.path(), 17, bytes);
    let found = assert_found(copy.path(), "leaf_hash_mismatch", "index 17");
    // Precise: the one altered row, nothing blamed on the tree or the indexes.
    assert_eq!(
        found,
        vec![("leaf_hash_mismatch".into(), "index 17".into())]
    );
}

#[test]
fn changed_node_hash_is_a_node_mismatch() {
    for (level, index) in [(3u8, 5u64), (1, 40), (0, 20)] {
        let copy = copy_of_log();
        put_node(copy.path(), level, index, &[0x5a; 32]);
        let location = format!("level {level} index {index}");
        let found = assert_found(copy.path(), "node_mismatch", &location);
        // The tree's findings name only the altered node. Signed checkpoints
        // whose root or consistency proof uses it now disagree with the
        // stored tree, and are reported as such.
        for (kind, loc) in &found {
            assert!(
                (kind == "node_mismatch" && loc == &location)
                    || kind == "checkpoint_inconsistent"
                    || kind == "checkpoint_root",
                "unexpected finding {kind} {loc} for an altered node {location}: {found:?}"
            );
        }
    }
}

#[test]
fn a_missing_date_record_is_found() {
    let copy = copy_of_log();
    let (row, day, location) = record_of(copy.path(), 42);
    damage(copy.path(), |db| {
        edit_records(db, &row, |records| records.retain(|r| r.0 != day));
    });
    let found = assert_found(copy.path(), "missing_index_row", &location);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn dangling_and_malformed_date_records_are_found() {
    let copy = copy_of_log();
    damage(copy.path(), |db| {
        // A statement that was never logged, pointing at a real leaf, and
        // one pointing beyond the tree.
        db.insert(
            key(b'S', b"ghost/2020-02"),
            month_rows::encode(&[(2, 3), (3, SIZE + 5)]),
        )
        .unwrap();
        // A real tenant's record for a month it never published in.
        db.insert(
            key(b'S', b"tenant-0/1999-01"),
            month_rows::encode(&[(5, 7)]),
        )
        .unwrap();
        // A row whose value is not whole records.
        db.insert(key(b'S', b"junk/2020-03"), &[1u8; 10][..])
            .unwrap();
    });
    let found = assert_found(copy.path(), "extra_index_row", "S ghost/2020-02 day 02");
    for (kind, location) in [
        ("extra_index_row", "S ghost/2020-02 day 03"),
        ("extra_index_row", "S tenant-0/1999-01 day 05"),
        ("index_row_malformed", "S junk/2020-03"),
    ] {
        assert!(found.contains(&(kind.into(), location.into())), "{found:?}");
    }
    assert_eq!(found.len(), 4, "{found:?}");
}

#[test]
fn a_date_record_pointing_at_another_leaf_is_a_mismatch() {
    let copy = copy_of_log();
    let (row, day, location) = record_of(copy.path(), 10);
    damage(copy.path(), |db| {
        edit_records(db, &row, |records| {
            for r in records.iter_mut().filter(|r| r.0 == day) {
                r.1 = 11;
            }
        });
    });
    let found = assert_found(copy.path(), "index_mismatch", &location);
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn forged_checkpoint_fails_its_signature() {
    let copy = copy_of_log();
    let size = middle_checkpoint();
    damage(copy.path(), |db| {
        let (origin, root) = stored_checkpoint(db, size);
        // Someone else's key under the log's name: same origin, same root.
        let forger = Signer::generate(&origin).unwrap();
        db.insert(
            key(b'C', &be(size)),
            sign_checkpoint(&forger, &origin, size, root),
        )
        .unwrap();
    });
    let found = assert_found(copy.path(), "checkpoint_signature", &format!("size {size}"));
    assert_eq!(found.len(), 1, "{found:?}");
}

#[test]
fn checkpoint_with_altered_root_is_inconsistent() {
    let copy = copy_of_log();
    let size = middle_checkpoint();
    let log_key = std::fs::read_to_string(copy.path().join("log.skey")).unwrap();
    let signer = Signer::from_skey(log_key.trim()).unwrap();
    damage(copy.path(), |db| {
        let (origin, mut root) = stored_checkpoint(db, size);
        root[0] ^= 1;
        // Correctly signed by the real log key, but for another tree.
        db.insert(
            key(b'C', &be(size)),
            sign_checkpoint(&signer, &origin, size, root),
        )
        .unwrap();
    });
    let location = format!("size {size}");
    let found = assert_found(copy.path(), "checkpoint_root", &location);
    assert!(
        found.contains(&("checkpoint_inconsistent".into(), location.clone())),
        "{found:?}"
    );
    // Blamed on that checkpoint alone; its successor is checked against the
    // last good one and passes.
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn bad_usage_and_locked_database_exit_2() {
    // No such directory.
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--data", "/nonexistent/rootlog-data"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    // A directory that is not a log: nothing is created in it.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--data"])
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(std::fs::read_dir(empty.path()).unwrap().next().is_none());
    // Unknown flag: clap's usage error.
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    // While a server holds the database, fsck says so instead of waiting.
    let copy = copy_of_log();
    let _server = Server::start(copy.path(), &[]);
    let out = Command::new(rootlog_bin())
        .args(["fsck", "--data"])
        .arg(copy.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("locked"), "{stderr}");
}

/// Polls `/healthz` until its integrity object has a result.
async fn integrity_after_a_check(server: &Server) -> (u16, Value) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let response = client
            .get(format!("{}/healthz", server.url))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        if !body["integrity"]["checked_at"].is_null() {
            return (status, body);
        }
        assert!(Instant::now() < deadline, "no integrity check ran: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn healthz_reports_the_periodic_check() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &["--check-interval", "1"]);
    let tenant = Tenant::new("periodic");
    register(&server, &tenant).await;
    for n in 0..5 {
        server
            .client()
            .submit(&tenant.statement(&day(n), n))
            .await
            .unwrap();
    }
    // Wait for a check that saw the entries.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = integrity_after_a_check(&server).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["integrity"]["ok"], true, "{body}");
    assert_eq!(body["integrity"]["findings"], serde_json::json!([]));

    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("\nrootlog_integrity_ok 1\n"), "{metrics}");
    let checks: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("rootlog_integrity_checks_total "))
        .unwrap()
        .parse()
        .unwrap();
    assert!(checks >= 1);
    assert!(!metrics.contains("\nrootlog_integrity_last_check_timestamp_seconds 0\n"));
}

#[tokio::test]
async fn healthz_turns_503_on_damage_at_the_right_edge() {
    let copy = copy_of_log();
    // The last leaf: inside the window the periodic check re-hashes.
    let mut bytes = leaf_at(copy.path(), ENTRIES - 1);
    let at = bytes.windows(8).position(|w| w == b"records ").unwrap() + 8;
    bytes[at] = if bytes[at] == b'7' { b'8' } else { b'7' };
    replace_leaf(copy.path(), ENTRIES - 1, bytes);
    let server = Server::start(copy.path(), &["--check-interval", "1"]);
    let (status, body) = integrity_after_a_check(&server).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "integrity_failed");
    assert_eq!(body["integrity"]["ok"], false);
    let first = &body["integrity"]["findings"][0];
    assert_eq!(first["kind"], "leaf_hash_mismatch", "{body}");
    assert_eq!(first["location"], format!("index {}", ENTRIES - 1));
    let metrics = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("\nrootlog_integrity_ok 0\n"), "{metrics}");
}
