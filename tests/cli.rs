//! The command line as a user runs it: the README walk-through (keygen,
//! tenant registration, computing a root, signing and submitting a statement,
//! verifying the answer), exit codes, and the log's identity rules.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{rootlog_bin, Server, ADMIN_TOKEN};
use rootlog::merkle::{leaf_hash, Frontier};
use rootlog::note::encode_b64;
use rootlog::statement::parse_submission;

fn rootlog(args: &[&str]) -> Output {
    Command::new(rootlog_bin())
        .args(args)
        .env_remove("ROOTLOG_ADMIN_TOKEN")
        .output()
        .expect("rootlog runs")
}

fn ok(args: &[&str]) -> String {
    let out = rootlog(args);
    assert!(
        out.status.success(),
        "rootlog {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn walk_through() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let data = dir.path().join("data");
    let keys_s = keys.to_str().unwrap();

    // The archive makes a key for its tenant.
    let vkey = ok(&["keygen", "--name", "acme-securities", "--out-dir", keys_s]);
    assert!(vkey.starts_with("acme-securities+"));
    #[cfg(unix)]
    assert_eq!(mode(&keys.join("acme-securities.skey")), 0o600);

    // The operator starts the log and registers the tenant.
    let server = Server::start(&data, &["--origin", "log.example/cli"]);
    #[cfg(unix)]
    assert_eq!(mode(&data.join("log.skey")), 0o600);
    let log_vkey = ok(&["vkey", "--data", data.to_str().unwrap()]);
    assert!(log_vkey.starts_with("log.example/cli+"));
    let vkey_arg = format!("@{}", keys.join("acme-securities.vkey").display());
    ok(&[
        "tenant",
        "add",
        "--log",
        &server.url,
        "--id",
        "acme-securities",
        "--vkey",
        &vkey_arg,
        "--token",
        ADMIN_TOKEN,
    ]);
    let shown = ok(&[
        "tenant",
        "show",
        "--log",
        &server.url,
        "--id",
        "acme-securities",
    ]);
    assert!(shown.contains(vkey.trim()));

    // The archive computes the day's root from its record hashes (hex or base64 lines).
    let records: Vec<[u8; 32]> = (0u8..5).map(|i| rootlog::merkle::leaf_hash(&[i])).collect();
    let lines: String = records
        .iter()
        .enumerate()
        .map(|(i, h)| {
            if i % 2 == 0 {
                format!("{}\n", hex::encode(h))
            } else {
                format!("{}\n", encode_b64(h))
            }
        })
        .collect();
    let record_file = dir.path().join("records.txt");
    std::fs::write(&record_file, lines).unwrap();
    let computed = ok(&["root", record_file.to_str().unwrap()]);
    let mut expected = Frontier::new();
    for r in &records {
        expected.append(leaf_hash(r), |_, _| {});
    }
    let root_b64 = encode_b64(&expected.root());
    assert_eq!(computed, format!("records 5\nroot {root_b64}\n"));

    // It signs the statement, and submits it; the CLI verifies the answer with the log key.
    let skey = keys.join("acme-securities.skey");
    let note = ok(&[
        "statement",
        "--key",
        skey.to_str().unwrap(),
        "--date",
        "2026-11-24",
        "--records",
        "5",
        "--root",
        &root_b64,
    ]);
    let (_, statement) = parse_submission(note.as_bytes()).unwrap();
    assert_eq!(
        (statement.tenant.as_str(), statement.records),
        ("acme-securities", 5)
    );
    let note_file = dir.path().join("statement.txt");
    std::fs::write(&note_file, &note).unwrap();
    let answer = ok(&[
        "submit",
        "--log",
        &server.url,
        "--log-key",
        log_vkey.trim(),
        "--statement",
        note_file.to_str().unwrap(),
    ]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    // Index 0 is the registration (a tenant-key/v1 entry).
    assert_eq!(answer["index"], 1);
    // Submitting straight from flags, with a chain head.
    let chain = format!("41 {root_b64}");
    let answer = ok(&[
        "submit",
        "--log",
        &server.url,
        "--log-key",
        log_vkey.trim(),
        "--key",
        skey.to_str().unwrap(),
        "--date",
        "2026-11-25",
        "--records",
        "5",
        "--root",
        &root_b64,
        "--chain",
        &chain,
    ]);
    let answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["index"], 2);
    // The identical retry is fine; verification against a wrong log key is not.
    let other = rootlog::note::Signer::generate("log.example/cli")
        .unwrap()
        .vkey();
    let out = rootlog(&[
        "submit",
        "--log",
        &server.url,
        "--log-key",
        &other,
        "--statement",
        note_file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not verify"));
}

#[test]
fn exit_codes_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    // Bad usage: 2.
    assert_eq!(rootlog(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(
        rootlog(&["statement", "--date", "2026-01-01"])
            .status
            .code(),
        Some(2)
    );
    // A key whose name is not the tenant: 1 with a reason.
    ok(&[
        "keygen",
        "--name",
        "acme",
        "--out-dir",
        dir.path().to_str().unwrap(),
    ]);
    let skey = dir.path().join("acme.skey");
    let out = rootlog(&[
        "statement",
        "--key",
        skey.to_str().unwrap(),
        "--tenant",
        "globex",
        "--date",
        "2026-01-01",
        "--records",
        "0",
        "--root",
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("must equal its id"));
    // A root that is not 32 bytes.
    let out = rootlog(&[
        "statement",
        "--key",
        skey.to_str().unwrap(),
        "--date",
        "2026-01-01",
        "--records",
        "1",
        "--root",
        "AAAA",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // vkey on a directory without a key.
    let out = rootlog(&[
        "vkey",
        "--data",
        dir.path().join("nothing").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the log key"));
}

#[test]
fn origin_is_fixed_and_admin_token_is_generated() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // Without ROOTLOG_ADMIN_TOKEN the server writes a private token file.
    let mut child = Command::new(rootlog_bin())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
            "--origin",
            "log.example/a",
            "--data",
            data.to_str().unwrap(),
        ])
        .env_remove("ROOTLOG_ADMIN_TOKEN")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert!(line.starts_with("rootlog: listening on http://127.0.0.1:"));
    let token = data.join("admin.token");
    assert!(std::fs::read_to_string(&token).unwrap().trim().len() >= 32);
    #[cfg(unix)]
    assert_eq!(mode(&token), 0o600);
    child.kill().unwrap();
    child.wait().unwrap();

    // Another origin on the same data directory is refused with a clear message.
    let err = Server::try_start(&data, &["--origin", "log.example/b"])
        .err()
        .expect("must refuse another origin");
    assert!(
        err.contains("log.example/a") && err.contains("log.example/b"),
        "{err}"
    );
    // The same origin, or none, is fine.
    drop(Server::start(&data, &["--origin", "log.example/a"]));
    drop(Server::start(&data, &[]));
}

#[cfg(unix)]
#[test]
fn secrets_readable_by_others_are_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    drop(Server::start(&data, &[]));
    let key = data.join("log.skey");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Server::try_start(&data, &[])
        .err()
        .expect("a world-readable key must be refused");
    assert!(err.contains("chmod 600"), "{err}");
    let out = rootlog(&["vkey", "--data", data.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    drop(Server::start(&data, &[]));
}

#[tokio::test]
async fn admin_endpoints_can_live_on_their_own_listener() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let admin_addr = format!("127.0.0.1:{port}");
    let server = Server::start(dir.path(), &["--admin-listen", &admin_addr]);
    let tenant = common::Tenant::new("acme");
    // The public listener does not register tenants...
    let public = server
        .client()
        .add_tenant(ADMIN_TOKEN, "acme", &tenant.signer.vkey())
        .await;
    match public {
        // GET /v1/tenants (the list) is public; POST is not there.
        Err(rootlog::client::ClientError::Api {
            status: 405, code, ..
        }) => assert_eq!(code, "method_not_allowed"),
        other => panic!("the public listener must not register tenants: {other:?}"),
    }
    // ...the admin listener does, still with the token.
    let admin = rootlog::client::LogClient::new(&format!("http://{admin_addr}"));
    assert!(admin
        .add_tenant("wrong-token-0123456789", "acme", &tenant.signer.vkey())
        .await
        .is_err());
    assert_eq!(
        admin
            .add_tenant(ADMIN_TOKEN, "acme", &tenant.signer.vkey())
            .await
            .unwrap()
            .0,
        201
    );
    // Reads and submissions stay public.
    assert!(server.client().get_json("/v1/tenants/acme").await.is_ok());
    assert_eq!(
        server
            .client()
            .submit(&tenant.statement(&common::day(0), 0))
            .await
            .unwrap()
            .0,
        201
    );
}

/// With no admin flag at all, the admin endpoints are on the loopback admin
/// listener (127.0.0.1:8079) and not on `--listen`; `--admin-on-public`
/// puts them back on `--listen`, and only when asked.
#[tokio::test]
async fn admin_endpoints_are_off_the_public_listener_by_default() {
    if std::net::TcpListener::bind("127.0.0.1:8079").is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "127.0.0.1:8079 is taken under CI"
        );
        eprintln!("######## SKIPPED: 127.0.0.1:8079 is in use; cannot test the default admin listener ########");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(rootlog_bin());
    command.env_remove("ROOTLOG_ADMIN_LISTEN");
    let server = Server::try_start_command(command, &dir.path().join("a"), &[], &[]).unwrap();
    let tenant = common::Tenant::new("acme");
    let public = server
        .client()
        .add_tenant(ADMIN_TOKEN, "acme", &tenant.signer.vkey())
        .await;
    assert!(
        matches!(
            public,
            Err(rootlog::client::ClientError::Api { status: 405, .. })
        ),
        "{public:?}"
    );
    let admin = rootlog::client::LogClient::new("http://127.0.0.1:8079");
    let (status, _) = admin
        .add_tenant(ADMIN_TOKEN, "acme", &tenant.signer.vkey())
        .await
        .unwrap();
    assert_eq!(status, 201);
    drop(server);
    let open = Server::start(&dir.path().join("b"), &["--admin-on-public"]);
    let (status, _) = open
        .client()
        .add_tenant(ADMIN_TOKEN, "acme", &tenant.signer.vkey())
        .await
        .unwrap();
    assert_eq!(status, 201);
}

/// Every flag that takes a hash (`statement --root`, `submit --root`, the
/// hash of `--chain`, `audit --expect-root`, and `rootlog root`'s input
/// lines) takes it in hex or base64 alike, parsed by one function
/// (`rootlog::audit::parse_hash`); the statement always carries base64.
#[test]
fn every_hash_flag_takes_hex_or_base64() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    ok(&[
        "keygen",
        "--name",
        "acme",
        "--out-dir",
        keys.to_str().unwrap(),
    ]);
    let skey = keys.join("acme.skey");
    let skey = skey.to_str().unwrap();
    let root = leaf_hash(b"the day's records");
    let chain = leaf_hash(b"the chain head");
    let (root_hex, root_b64) = (hex::encode(root), encode_b64(&root));
    let (chain_hex, chain_b64) = (hex::encode(chain), encode_b64(&chain));

    // Ed25519 signatures are deterministic: the same statement, byte for byte.
    let statement = |root: &str, chain: &str| {
        ok(&[
            "statement",
            "--key",
            skey,
            "--date",
            "2026-11-24",
            "--records",
            "7",
            "--root",
            root,
            "--chain",
            &format!("41 {chain}"),
        ])
    };
    let from_b64 = statement(&root_b64, &chain_b64);
    assert!(from_b64.contains(&format!("root {root_b64}\nchain 41 {chain_b64}\n")));
    assert_eq!(statement(&root_hex, &chain_hex), from_b64);
    assert_eq!(statement(&root_hex.to_uppercase(), &chain_b64), from_b64);
    assert_eq!(statement(&root_b64, &chain_hex), from_b64);
    // Neither spelling: 63 hex digits, base64 of 31 bytes, a stray bit.
    for bad in [
        root_hex[1..].to_string(),
        encode_b64(&root[1..]),
        encode_b64(&rootlog::merkle::EMPTY_ROOT).replace("FU=", "FV="),
    ] {
        let out = rootlog(&[
            "statement",
            "--key",
            skey,
            "--date",
            "2026-11-24",
            "--records",
            "7",
            "--root",
            &bad,
        ]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("hex (64 digits) or base64"), "{err}");
        let out = rootlog(&[
            "statement",
            "--key",
            skey,
            "--date",
            "2026-11-24",
            "--records",
            "7",
            "--root",
            &root_b64,
            "--chain",
            &format!("41 {bad}"),
        ]);
        assert_eq!(out.status.code(), Some(1), "{bad}");
    }

    // submit --root and --chain in hex; audit --expect-root in either.
    let data = dir.path().join("data");
    let server = Server::start(&data, &[]);
    let log_key = ok(&["vkey", "--data", data.to_str().unwrap()]);
    ok(&[
        "tenant",
        "add",
        "--log",
        &server.url,
        "--id",
        "acme",
        "--vkey",
        &format!("@{}", keys.join("acme.vkey").display()),
        "--token",
        ADMIN_TOKEN,
    ]);
    let today = rootlog::statement::format_date(time::OffsetDateTime::now_utc().date());
    ok(&[
        "submit",
        "--log",
        &server.url,
        "--key",
        skey,
        "--date",
        &today,
        "--records",
        "7",
        "--root",
        &root_hex,
        "--chain",
        &format!("41 {chain_hex}"),
    ]);
    let audit = |expect: &str| {
        rootlog(&[
            "audit",
            "--log",
            &server.url,
            "--log-key",
            log_key.trim(),
            "--tenant",
            "acme",
            "--date",
            &today,
            "--state",
            dir.path().join("audit.state").to_str().unwrap(),
            "--expect-root",
            expect,
            "--json",
        ])
    };
    for expect in [&root_hex, &root_b64] {
        let out = audit(expect);
        let report = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{report}");
        // What was logged carries base64, whatever the flags said.
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        assert_eq!(report["statements"][0]["root"], root_b64.as_str());
        assert_eq!(
            report["statements"][0]["chain"],
            format!("41 {chain_b64}").as_str()
        );
    }
    let out = audit(&hex::encode(chain));
    assert_eq!(out.status.code(), Some(1));
    let out = audit("not a hash");
    assert_eq!(out.status.code(), Some(2));
}

/// `rootlog tenant list`: every tenant in id order with its keys' status and
/// the entries that changed them, as text and as the log's JSON.
#[tokio::test]
async fn tenant_list_names_every_tenant_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let (acme, beta) = (common::Tenant::new("acme"), common::Tenant::new("beta"));
    // Registered out of order: the list is in id order.
    common::register(&server, &beta).await;
    common::register(&server, &acme).await;
    let second = rootlog::note::Signer::generate("acme").unwrap();
    let client = server.client();
    for (action, vkey) in [("add", second.vkey()), ("retire", acme.signer.vkey())] {
        let (status, _) = client
            .change_key(ADMIN_TOKEN, "acme", action, &vkey, None)
            .await
            .unwrap();
        assert_eq!(status, 201, "{action}");
    }

    let text = ok(&["tenant", "list", "--log", &server.url]);
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("acme  active  registered "), "{text}");
    assert!(
        lines[1].starts_with(&format!("  retired  {}  added ", acme.signer.vkey()))
            && lines[1].contains("(entry 1), retired ")
            && lines[1].ends_with("(entry 3)"),
        "{text}"
    );
    assert!(
        lines[2].starts_with(&format!("  active   {}  added ", second.vkey()))
            && lines[2].ends_with("(entry 2)"),
        "{text}"
    );
    assert!(lines[3].starts_with("beta  active  registered "), "{text}");
    assert!(lines[4].ends_with("(entry 0)"), "{text}");
    assert_eq!(lines.len(), 6, "{text}");

    let json: serde_json::Value =
        serde_json::from_str(&ok(&["tenant", "list", "--log", &server.url, "--json"])).unwrap();
    let ids: Vec<&str> = json["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["acme", "beta"]);
    assert_eq!(json["tenants"][0]["keys"][0]["status"], "retired");

    // A log that cannot be reached: a clear error, not a panic.
    let out = rootlog(&["tenant", "list", "--log", "http://127.0.0.1:9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach the log"));
}
