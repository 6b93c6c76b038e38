//! Tenant key lifecycle against the real server: registration, added,
//! retired and revoked keys are each a `tenant-key/v1` entry signed by the
//! log; statements signed by a key that no longer signs are refused, also
//! after a restart; fsck replays the entries into the tenant records; and
//! `rootlog audit` judges statements by the key history it reads from the log.

mod common;

use std::path::Path;

use common::{register, run_rootlog, sign_text, Server, Tenant, ADMIN_TOKEN};
use rootlog::client::{ClientError, LogClient};
use rootlog::merkle::leaf_hash;
use rootlog::note::{open, Note, Signer};
use rootlog::tenant_key::{KeyAction, KeyChange};
use serde_json::Value;

/// A statement for `date` signed by each of `signers`.
fn statement(tenant: &Tenant, date: &str, seed: u64, signers: &[&Signer]) -> Vec<u8> {
    let text = tenant.statement_text(date, seed + 1, leaf_hash(&seed.to_be_bytes()), None);
    let mut note = Note::new(text.clone());
    for s in signers {
        note.signatures.push(s.sign(text.as_bytes()));
    }
    note.to_text().into_bytes()
}

/// What a key-change call answered.
type KeyAnswer = Result<(u16, Value), ClientError>;

/// The API error of a call that must fail: (status, code, body).
fn refused<T: std::fmt::Debug>(result: Result<T, ClientError>) -> (u16, String, Value) {
    match result {
        Err(ClientError::Api {
            status, code, body, ..
        }) => (status, code, body),
        other => panic!("expected an API error, got {other:?}"),
    }
}

async fn change(
    client: &LogClient,
    action: &str,
    vkey: &str,
    effective: Option<&str>,
) -> KeyAnswer {
    client
        .change_key(ADMIN_TOKEN, "acme", action, vkey, effective)
        .await
}

/// Runs `rootlog <args>`: (exit code, stdout + stderr).
fn rootlog(args: &[&str]) -> (i32, String) {
    let (code, out, err) = run_rootlog(args);
    (code, format!("{out}{err}"))
}

fn audit(server: &Server, state: &Path, date: &str) -> (i32, String) {
    let vkey = server.log_key().vkey();
    rootlog(&[
        "audit",
        "--log",
        &server.url,
        "--log-key",
        &vkey,
        "--state",
        state.to_str().unwrap(),
        "--tenant",
        "acme",
        "--date",
        date,
        // The dates here are long past; lateness is tested in tests/timeliness.rs.
        "--max-delay",
        "none",
    ])
}

/// The entry at `index` is a key change signed by the log.
async fn key_change_at(server: &Server, index: u64) -> KeyChange {
    let entry = server.client().entry(index).await.unwrap();
    let note = Note::parse(entry.statement.as_bytes()).unwrap();
    open(&note, &[server.log_key()]).expect("signed by the log key");
    KeyChange::parse_text(&note.text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_added_retired_and_revoked_through_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path(), &[]);
    let client = server.client();
    let acme = Tenant::new("acme");
    let k1 = &acme.signer;
    let k2 = Signer::generate("acme").unwrap();
    let k3 = Signer::generate("acme").unwrap();

    // Registration is entry 0, signed by the log; the answer proves it.
    let (status, body) = client
        .add_tenant(ADMIN_TOKEN, "acme", &k1.vkey())
        .await
        .unwrap();
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["entry"]["index"], 0);
    assert_eq!(body["keys"][0]["added_index"], 0);
    let added = key_change_at(&server, 0).await;
    assert_eq!(
        (added.action, added.vkey.as_str()),
        (KeyAction::Add, k1.vkey().as_str())
    );
    // Registering again with the same key is a retry of entry 0; with another, a conflict.
    let (status, body) = client
        .add_tenant(ADMIN_TOKEN, "acme", &k1.vkey())
        .await
        .unwrap();
    assert_eq!((status, body["entry"]["index"].clone()), (200, 0.into()));
    let (status, code, body) = refused(client.add_tenant(ADMIN_TOKEN, "acme", &k2.vkey()).await);
    assert_eq!((status, code.as_str()), (409, "tenant_exists"));
    assert_eq!(body["tenant"]["keys"][0]["vkey"], k1.vkey());

    // k1 signs; k2 is not a key of acme yet.
    let (status, first) = client
        .submit(&statement(&acme, "2026-01-01", 1, &[k1]))
        .await
        .unwrap();
    assert_eq!((status, first.index), (201, 1));
    let (status, code, _) = refused(
        client
            .submit(&statement(&acme, "2026-01-02", 2, &[&k2]))
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "unsigned_statement"));

    // Add k2 (entry 2); adding it again is a retry.
    let (status, body) = change(&client, "add", &k2.vkey(), None).await.unwrap();
    assert_eq!((status, body["entry"]["index"].clone()), (201, 2.into()));
    let (status, body) = change(&client, "add", &k2.vkey(), None).await.unwrap();
    assert_eq!((status, body["entry"]["index"].clone()), (200, 2.into()));
    let (status, k2_first) = client
        .submit(&statement(&acme, "2026-01-02", 2, &[&k2]))
        .await
        .unwrap();
    assert_eq!((status, k2_first.index), (201, 3));

    // Retire k1 (entry 4): it signs nothing more, and is never added back.
    let (status, body) = change(&client, "retire", &k1.vkey(), None).await.unwrap();
    assert_eq!((status, body["entry"]["index"].clone()), (201, 4.into()));
    assert_eq!(body["keys"][0]["status"], "retired");
    assert_eq!(body["keys"][0]["changed_index"], 4);
    assert_eq!(key_change_at(&server, 4).await.action, KeyAction::Retire);
    let (status, code, body) = refused(
        client
            .submit(&statement(&acme, "2026-01-03", 3, &[k1]))
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "key_retired"), "{body}");
    // Signed by both, it gets in on k2's signature.
    let (status, both) = client
        .submit(&statement(&acme, "2026-01-03", 3, &[k1, &k2]))
        .await
        .unwrap();
    assert_eq!((status, both.index), (201, 5));
    let (status, code, _) = refused(change(&client, "add", &k1.vkey(), None).await);
    assert_eq!((status, code.as_str()), (409, "key_retired"));

    // Refusals that change nothing.
    let stranger = Signer::generate("acme").unwrap().vkey();
    let cases: Vec<(KeyAnswer, u16, &str)> = vec![
        (
            change(&client, "retire", &stranger, None).await,
            404,
            "unknown_key",
        ),
        (
            change(&client, "delete", &k2.vkey(), None).await,
            400,
            "bad_action",
        ),
        (
            change(&client, "revoke", &k2.vkey(), Some("2999-01-01T00:00:00Z")).await,
            400,
            "bad_effective_time",
        ),
        (
            change(&client, "revoke", &k2.vkey(), Some("2000-01-01T00:00:00Z")).await,
            400,
            "bad_effective_time",
        ),
        (
            change(&client, "retire", &k2.vkey(), Some("2026-01-01T00:00:00Z")).await,
            400,
            "bad_effective_time",
        ),
        (
            change(&client, "revoke", &k2.vkey(), Some("yesterday")).await,
            400,
            "bad_effective_time",
        ),
        (
            change(
                &client,
                "add",
                &Signer::generate("globex").unwrap().vkey(),
                None,
            )
            .await,
            400,
            "bad_vkey",
        ),
        (
            client
                .change_key(
                    ADMIN_TOKEN,
                    "globex",
                    "add",
                    &Signer::generate("globex").unwrap().vkey(),
                    None,
                )
                .await,
            404,
            "unknown_tenant",
        ),
        (
            client
                .change_key("wrong-token", "acme", "add", &stranger, None)
                .await,
            403,
            "forbidden",
        ),
    ];
    for (result, want_status, want_code) in cases {
        let (status, code, body) = refused(result);
        assert_eq!((status, code.as_str()), (want_status, want_code), "{body}");
    }
    let size_before = client.get_json("/healthz").await.unwrap()["tree_size"].clone();
    assert_eq!(size_before, 6);

    // A statement for today signed by k2, then k2 revoked with effect from
    // when it was added (entry 7): it was compromised all along.
    let today = rootlog::statement::format_date(time::OffsetDateTime::now_utc().date());
    let (status, suspect) = client
        .submit(&statement(&acme, &today, 4, &[&k2]))
        .await
        .unwrap();
    assert_eq!((status, suspect.index), (201, 6));
    let k2_added = client.tenant("acme").await.unwrap()["keys"][1]["added_at"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = change(&client, "revoke", &k2.vkey(), Some(&k2_added))
        .await
        .unwrap();
    assert_eq!((status, body["entry"]["index"].clone()), (201, 7.into()));
    assert_eq!(body["active"], false, "no key left that signs");
    let revoked = key_change_at(&server, 7).await;
    assert_eq!(revoked.action, KeyAction::Revoke);
    let (status, code, _) = refused(
        client
            .submit(&statement(&acme, "2026-01-04", 5, &[&k2]))
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "key_revoked"));

    // A new key brings the tenant back (entry 8).
    let (status, _) = change(&client, "add", &k3.vkey(), None).await.unwrap();
    assert_eq!(status, 201);
    let (status, entry) = client
        .submit(&statement(&acme, "2026-01-04", 5, &[&k3]))
        .await
        .unwrap();
    assert_eq!((status, entry.index), (201, 9));

    // The record lists every key with the entries that changed it.
    let record = client.tenant("acme").await.unwrap();
    let statuses: Vec<(&str, u64)> = record["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["status"].as_str().unwrap(),
                k["added_index"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![("retired", 0), ("revoked", 2), ("active", 8)]
    );

    // After a restart the same rules hold.
    server.stop();
    let server = Server::start(dir.path(), &[]);
    let client = server.client();
    let (status, code, _) = refused(
        client
            .submit(&statement(&acme, "2026-01-05", 6, &[k1]))
            .await,
    );
    assert_eq!((status, code.as_str()), (403, "key_retired"));
    let (status, _) = client
        .submit(&statement(&acme, "2026-01-05", 6, &[&k3]))
        .await
        .unwrap();
    assert_eq!(status, 201);

    // The auditor reads the key history from the log: k1's statement from
    // before its retirement stands; k2's statement for a date it was
    // already compromised on does not.
    let states = tempfile::tempdir().unwrap();
    let (code, out) = audit(&server, &states.path().join("a.state"), "2026-01-01");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("5 key-change entries of tenant acme (found by the log API: 0, 2, 4, 7, 8)"),
        "{out}"
    );
    assert!(
        out.contains(&format!("signed by {}, added at entry 0", k1.vkey())),
        "{out}"
    );
    let (code, out) = audit(&server, &states.path().join("b.state"), "2026-01-02");
    assert_eq!(
        code, 0,
        "k2 signed this before its revoked-from date: {out}"
    );
    let (code, out) = audit(&server, &states.path().join("c.state"), &today);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("was revoked with effect from"), "{out}");

    // fsck replays the key-change entries into the tenant records.
    let mut server = server;
    server.stop();
    let (code, out) = rootlog(&["fsck", "--data", dir.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_changes_keys() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let acme = Tenant::new("acme");
    register(&server, &acme).await;
    let k2 = Signer::generate("acme").unwrap();
    let vkey_file = dir.path().join("k2.vkey");
    std::fs::write(&vkey_file, format!("{}\n", k2.vkey())).unwrap();
    let vkey_arg = format!("@{}", vkey_file.display());
    let run = |sub: &str, extra: &[&str]| {
        let mut args = vec![
            "tenant",
            sub,
            "--log",
            &server.url,
            "--id",
            "acme",
            "--vkey",
            &vkey_arg,
            "--token",
            ADMIN_TOKEN,
        ];
        args.extend_from_slice(extra);
        rootlog(&args)
    };
    let (code, out) = run("add-key", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("logged: add at index 1"), "{out}");
    let (code, out) = run("add-key", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("already so: the entry at index 1 did it"),
        "{out}"
    );
    let (code, out) = run("retire-key", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("logged: retire at index 2"), "{out}");
    let (code, out) = run("revoke-key", &["--effective", "2999-01-01T00:00:00Z"]);
    assert_ne!(code, 0, "{out}");
    assert!(out.contains("bad_effective_time"), "{out}");
    let (code, out) = run("revoke-key", &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("logged: revoke at index 3"), "{out}");
    // The key signs nothing now.
    let note = sign_text(
        &k2,
        &acme.statement_text("2026-01-01", 1, leaf_hash(b"x"), None),
    );
    let (status, code, _) = refused(server.client().submit(&note).await);
    assert_eq!((status, code.as_str()), (403, "key_revoked"));
}
