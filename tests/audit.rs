//! `rootlog audit` against real processes: a live log (index from the API,
//! or by scanning entry bundles), the same log's static mirror served by a
//! stock nginx (no API at all: its locators, or scanning), consistency across runs through the state
//! file, and refusals: a forked or shrunk history, a state file of another
//! key, a wrong expected root, an unmet witness quorum, a missing statement.

mod common;

use std::path::{Path, PathBuf};

use common::nginx::Nginx;
use common::tiles::Grower;
use common::{register, sign_text, wait_published, Server, Tenant};
use rootlog::merkle::leaf_hash;
use rootlog::note::{encode_b64, Checkpoint, Signer};

/// Runs `rootlog <args>`; returns (exit code, stdout, stderr).
fn rootlog(args: &[&str]) -> (i32, String, String) {
    common::run_rootlog(args)
}

/// `rootlog audit` with the common flags.
fn audit(
    log: &str,
    log_key: &str,
    state: &Path,
    tenant: &str,
    date: &str,
    extra: &[&str],
) -> (i32, String, String) {
    let state = state.to_str().unwrap();
    let mut args = vec![
        "audit",
        "--log",
        log,
        "--log-key",
        log_key,
        "--state",
        state,
        "--tenant",
        tenant,
        "--date",
        date,
        // The dates here are long past; lateness is tested in tests/timeliness.rs.
        "--max-delay",
        "none",
    ];
    args.extend_from_slice(extra);
    rootlog(&args)
}

/// A log with `fill` statements of other tenants (so the tiles have full
/// and partial tiles) and acme's statements for three days.
struct Fixture {
    _dir: tempfile::TempDir,
    server: Server,
    site: PathBuf,
    states: PathBuf,
    grower: Grower,
    vkey: String,
    acme_vkey: String,
    roots: Vec<(String, String)>,
}

async fn fixture(fill: u64) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let site = dir.path().join("site");
    let states = dir.path().join("states");
    let server = Server::start(&data, &["--publish-dir", site.to_str().unwrap()]);
    let vkey = server.log_key().vkey();
    let grower = Grower::new(&server, 2000).await;
    grower.grow_to(&server, fill, 8).await;
    let acme = Tenant::new("acme");
    register(&server, &acme).await;
    let mut roots = Vec::new();
    for (i, date) in ["2026-11-20", "2026-11-21", "2026-11-22"]
        .iter()
        .enumerate()
    {
        let root = leaf_hash(format!("acme day {i}").as_bytes());
        let note = sign_text(
            &acme.signer,
            &acme.statement_text(date, 10 + i as u64, root, None),
        );
        let (status, _) = server.client().submit(&note).await.unwrap();
        assert_eq!(status, 201);
        roots.push((date.to_string(), encode_b64(&root)));
    }
    let acme_vkey = acme.signer.vkey();
    Fixture {
        _dir: dir,
        server,
        site,
        states,
        grower,
        vkey,
        acme_vkey,
        roots,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn audit_a_live_log_then_its_static_mirror() {
    let f = fixture(300).await;
    let url = f.server.url.clone();
    let state = f.states.join("live.state");
    let (date, root) = &f.roots[1];

    // Through the API for the index; everything else from tiles.
    let (code, out, err) = audit(
        &url,
        &f.vkey,
        &state,
        "acme",
        date,
        &["--tenant-key", &f.acme_vkey, "--expect-root", root],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("found by the log API"), "{out}");
    assert!(out.contains("signed by the tenant key"), "{out}");
    assert!(out.contains("root equals --expect-root"), "{out}");
    assert!(out.contains("first audit of this log here"), "{out}");
    assert!(out.trim_end().ends_with("VERIFIED"), "{out}");
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(
        saved.contains("\n304\n"),
        "the state holds the verified checkpoint: {saved}"
    );

    // The same by scanning the entry bundles; the tree has not moved.
    let (code, out, _) = audit(
        &url,
        &f.vkey,
        &state,
        "acme",
        &f.roots[2].0,
        &["--lookup", "scan"],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("found by scanning the entry bundles"), "{out}");
    assert!(
        out.contains("the same tree as the checkpoint verified earlier"),
        "{out}"
    );

    // The log grows; the next audit proves consistency with the saved checkpoint from tiles.
    f.grower.grow_to(&f.server, 700, 8).await;
    let (code, out, _) = audit(&url, &f.vkey, &state, "acme", date, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("consistent with the checkpoint of size 304 verified earlier"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&state).unwrap().contains("\n704\n"));

    // Refusals, each leaving the state as it was.
    let before = std::fs::read_to_string(&state).unwrap();
    let wrong = encode_b64(&leaf_hash(b"not the root"));
    let (code, out, _) = audit(
        &url,
        &f.vkey,
        &state,
        "acme",
        date,
        &["--expect-root", &wrong],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "NOT VERIFIED: the statement's root is {root}, not the expected {wrong}"
        )),
        "{out}"
    );
    let (code, out, _) = audit(&url, &f.vkey, &state, "acme", "2026-11-23", &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("no statement for tenant acme on 2026-11-23 in the log"),
        "{out}"
    );
    let stranger = Signer::generate("acme").unwrap().vkey();
    let (code, out, _) = audit(
        &url,
        &f.vkey,
        &state,
        "acme",
        date,
        &["--tenant-key", &stranger],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("signature does not verify with the tenant key"),
        "{out}"
    );
    let witness = Signer::generate("w.example")
        .unwrap()
        .cosignature_verifier()
        .vkey();
    let (code, out, _) = audit(
        &url,
        &f.vkey,
        &state,
        "acme",
        date,
        &["--witness", &witness],
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("witness quorum not met: 0 of the trusted witnesses cosigned"),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&state).unwrap(), before);

    // Bad usage is exit 2.
    let (code, _, err) = audit(&url, "not a key", &state, "acme", date, &[]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = audit(&url, &f.vkey, &state, "acme", "2026-13-01", &[]);
    assert_eq!(code, 2);

    // The static mirror: no API, so the auditor reads the locator the
    // publisher wrote beside the tiles (tests/locators.rs tests them in full).
    if !Nginx::available("audit_a_live_log_then_its_static_mirror") {
        return;
    }
    wait_published(&f.site, 704);
    let nginx = Nginx::start(&f.site);
    let mirror_state = f.states.join("mirror.state");
    let (code, out, err) = audit(
        &nginx.url,
        &f.vkey,
        &mirror_state,
        "acme",
        &f.roots[0].0,
        &["--tenant-key", &f.acme_vkey, "--expect-root", &f.roots[0].1],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("(found by the locator)"), "{out}");
    assert!(out.contains("tree size 704"), "{out}");
    // Scanning every bundle, trusting no locator, finds the same.
    let (code, out, _) = audit(
        &nginx.url,
        &f.vkey,
        &mirror_state,
        "acme",
        &f.roots[0].0,
        &["--lookup", "scan", "--expect-root", &f.roots[0].1],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("found by scanning the entry bundles"), "{out}");
    // Asking a mirror for the API cannot be answered: could not check (3),
    // said in plain words.
    let (code, out, _) = audit(
        &nginx.url,
        &f.vkey,
        &mirror_state,
        "acme",
        date,
        &["--lookup", "api"],
    );
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("not a rootlog API"), "{out}");
    // The mirror follows the log; consistency is proven from the mirror's tiles.
    f.grower.grow_to(&f.server, 900, 8).await;
    wait_published(&f.site, 904);
    let (code, out, _) = audit(&nginx.url, &f.vkey, &mirror_state, "acme", date, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("consistent with the checkpoint of size 704 verified earlier"),
        "{out}"
    );
}

/// Writes a checkpoint note signed by `signer` into `path`.
fn write_checkpoint(path: &Path, signer: &Signer, size: u64, root: [u8; 32]) -> String {
    let text = Checkpoint::new(signer.name(), size, root).to_text();
    let note = String::from_utf8(sign_text(signer, &text)).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, &note).unwrap();
    note
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_forked_or_shrunk_history_is_refused() {
    let f = fixture(20).await;
    let url = f.server.url.clone();
    // The log's own key signs the fake histories: exactly what a log that
    // rewrote its tree would have to hand out.
    let log_signer = rootlog::identity::read_signer(&f.server.data).unwrap();
    let (date, _) = &f.roots[0];

    // Same size, another root: a fork.
    let forked = f.states.join("forked.state");
    let fake = write_checkpoint(&forked, &log_signer, 24, leaf_hash(b"another history"));
    let (code, out, _) = audit(&url, &f.vkey, &forked, "acme", date, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED: THE LOG FORKED"), "{out}");
    assert!(out.contains("same size, different roots"), "{out}");
    assert!(
        out.contains(&fake),
        "the earlier checkpoint is printed: {out}"
    );
    let served = f.server.client().checkpoint().await.unwrap();
    assert!(
        out.contains(&served),
        "the served checkpoint is printed: {out}"
    );
    assert_eq!(
        std::fs::read_to_string(&forked).unwrap(),
        fake,
        "state left alone"
    );

    // An older, smaller tree that is not a prefix of this one: a fork found by the tiles' proof.
    let older = f.states.join("older.state");
    write_checkpoint(&older, &log_signer, 7, leaf_hash(b"a different prefix"));
    let (code, out, _) = audit(&url, &f.vkey, &older, "acme", date, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("THE LOG FORKED") && out.contains("consistency proof from the tiles"),
        "{out}"
    );

    // A bigger tree than the log serves now: it shrank.
    let shrunk = f.states.join("shrunk.state");
    let bigger = write_checkpoint(&shrunk, &log_signer, 40, leaf_hash(b"a longer history"));
    let (code, out, _) = audit(&url, &f.vkey, &shrunk, "acme", date, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("NOT VERIFIED: THE LOG SHRANK: it now serves a tree of 24 entries, but it earlier signed one of 40"), "{out}");
    assert!(out.contains(&bigger), "{out}");

    // A state file signed by some other key is not history of this log.
    let foreign = f.states.join("foreign.state");
    let other = Signer::generate(log_signer.name()).unwrap();
    write_checkpoint(&foreign, &other, 3, leaf_hash(b"x"));
    let (code, out, _) = audit(&url, &f.vkey, &foreign, "acme", date, &[]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("the saved checkpoint in the state file does not verify with the log key"),
        "{out}"
    );

    // A genuine earlier checkpoint of this log passes.
    let genuine = f.states.join("genuine.state");
    let (code, out, _) = audit(&url, &f.vkey, &genuine, "acme", date, &[]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = audit(&url, &f.vkey, &genuine, "acme", date, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("the same tree"), "{out}");
}
