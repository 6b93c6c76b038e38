//! Bad input against the real server: every request gets a clear 4xx with a
//! stable error code, and the log's state is the same afterwards.

mod common;

use common::{register, sign_text, Server, Tenant, ADMIN_TOKEN};
use rootlog::merkle::{leaf_hash, EMPTY_ROOT};
use rootlog::note::{encode_b64, Signer};

struct Case {
    name: &'static str,
    method: &'static str,
    path: String,
    content_type: Option<&'static str>,
    token: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    code: &'static str,
}

fn post(name: &'static str, body: Vec<u8>, status: u16, code: &'static str) -> Case {
    Case {
        name,
        method: "POST",
        path: "/v1/roots".into(),
        content_type: Some("text/plain"),
        token: None,
        body,
        status,
        code,
    }
}

fn get(name: &'static str, path: &str, status: u16, code: &'static str) -> Case {
    Case {
        name,
        method: "GET",
        path: path.into(),
        content_type: None,
        token: None,
        body: Vec::new(),
        status,
        code,
    }
}

fn admin(
    name: &'static str,
    token: Option<&'static str>,
    body: &str,
    status: u16,
    code: &'static str,
) -> Case {
    Case {
        name,
        method: "POST",
        path: "/v1/tenants".into(),
        content_type: Some("application/json"),
        token,
        body: body.as_bytes().to_vec(),
        status,
        code,
    }
}

const ROOT_B64: &str = "3q2+7wAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A note over `text` signed by `signer`.
fn signed(signer: &Signer, text: &str) -> Vec<u8> {
    sign_text(signer, text)
}

async fn state(
    server: &Server,
) -> (
    String,
    serde_json::Value,
    serde_json::Value,
    serde_json::Value,
) {
    let client = server.client();
    (
        client.checkpoint().await.unwrap(),
        client.get_json("/v1/tenants/acme").await.unwrap(),
        client.get_json("/v1/tenants/globex").await.unwrap(),
        client.get_json("/v1/log/2026-01-05").await.unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let acme = Tenant::new("acme");
    let globex = Tenant::new("globex");
    register(&server, &acme).await;
    register(&server, &globex).await;
    let good = signed(
        &acme.signer,
        &format!("daily-root/v1\ntenant acme\ndate 2026-01-05\nrecords 3\nroot {ROOT_B64}\n"),
    );
    let (status, _) = server.client().submit(&good).await.unwrap();
    assert_eq!(status, 201);
    let before = state(&server).await;

    let text = |body: &str| format!("daily-root/v1\ntenant acme\n{body}");
    let a = &acme.signer;
    let tomorrow2 = rootlog::statement::format_date(
        time::OffsetDateTime::now_utc().date() + time::Duration::days(2),
    );
    let mut tampered = signed(
        a,
        &text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\n")),
    );
    let n = tampered.len();
    tampered[n - 5] = if tampered[n - 5] == b'A' { b'B' } else { b'A' };
    let impostor = Signer::generate("acme").unwrap();
    let dup = {
        let t = text(&format!("date 2026-01-07\nrecords 3\nroot {ROOT_B64}\n"));
        let line = a.sign(t.as_bytes()).line();
        format!("{t}\n{line}{line}").into_bytes()
    };
    let cases = vec![
        post(
            "no signature",
            text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\n")).into_bytes(),
            400,
            "malformed_note",
        ),
        post(
            "not a note at all",
            b"hello".to_vec(),
            400,
            "malformed_note",
        ),
        post("empty body", Vec::new(), 400, "malformed_note"),
        post(
            "invalid UTF-8",
            b"daily-root/v1\n\xff\xfe\n\n\xe2\x80\x94 acme AAAA\n".to_vec(),
            400,
            "malformed_note",
        ),
        post(
            "CRLF line endings",
            signed(
                a,
                &text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\n")),
            )
            .iter()
            .flat_map(|&b| {
                if b == b'\n' {
                    vec![b'\r', b'\n']
                } else {
                    vec![b]
                }
            })
            .collect(),
            400,
            "malformed_note",
        ),
        post(
            "NUL byte",
            signed(
                a,
                &text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\0\n")),
            ),
            400,
            "malformed_note",
        ),
        post(
            "wrong format line",
            signed(
                a,
                &format!(
                    "daily-root/v2\ntenant acme\ndate 2026-01-06\nrecords 3\nroot {ROOT_B64}\n"
                ),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "missing records line",
            signed(a, &text(&format!("date 2026-01-06\nroot {ROOT_B64}\n"))),
            400,
            "bad_statement_format",
        ),
        post(
            "extra line",
            signed(
                a,
                &text(&format!(
                    "date 2026-01-06\nrecords 3\nroot {ROOT_B64}\nnote hi\n"
                )),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "reordered lines",
            signed(
                a,
                &text(&format!("records 3\ndate 2026-01-06\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "bad base64",
            signed(a, &text("date 2026-01-06\nrecords 3\nroot not*base64\n")),
            400,
            "bad_statement_format",
        ),
        post(
            "31-byte root",
            signed(
                a,
                &text(&format!(
                    "date 2026-01-06\nrecords 3\nroot {}\n",
                    encode_b64(&[7u8; 31])
                )),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "leading zero in records",
            signed(
                a,
                &text(&format!("date 2026-01-06\nrecords 03\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "records 0 with a non-empty root",
            signed(
                a,
                &text(&format!("date 2026-01-06\nrecords 0\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_statement_format",
        ),
        post(
            "impossible date",
            signed(
                a,
                &text(&format!("date 2026-02-30\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_date",
        ),
        post(
            "far future date",
            signed(
                a,
                &text(&format!("date 2999-01-01\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_date",
        ),
        post(
            "day after tomorrow",
            signed(
                a,
                &text(&format!("date {tomorrow2}\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_date",
        ),
        post(
            "before 1970",
            signed(
                a,
                &text(&format!("date 1969-12-31\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            400,
            "bad_date",
        ),
        post(
            "unknown tenant",
            signed(
                &Signer::generate("initech").unwrap(),
                &format!(
                    "daily-root/v1\ntenant initech\ndate 2026-01-06\nrecords 3\nroot {ROOT_B64}\n"
                ),
            ),
            403,
            "unknown_tenant",
        ),
        post(
            "bad tenant id",
            signed(
                a,
                &format!(
                    "daily-root/v1\ntenant ACME\ndate 2026-01-06\nrecords 3\nroot {ROOT_B64}\n"
                ),
            ),
            400,
            "bad_statement_format",
        ),
        post("tampered signature", tampered, 403, "bad_signature"),
        post(
            "signed by an impostor key of the same name",
            signed(
                &impostor,
                &text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            403,
            "unsigned_statement",
        ),
        post(
            "signed by another tenant's key",
            signed(
                &globex.signer,
                &text(&format!("date 2026-01-06\nrecords 3\nroot {ROOT_B64}\n")),
            ),
            403,
            "unsigned_statement",
        ),
        post("duplicate signature lines", dup, 400, "duplicate_signature"),
        post(
            "oversize body (20 KiB)",
            vec![b'a'; 20 * 1024],
            413,
            "statement_too_large",
        ),
        post(
            "oversize body (1 MiB)",
            vec![b'a'; 1024 * 1024],
            413,
            "statement_too_large",
        ),
        post(
            "conflicting statement for a logged day",
            signed(
                a,
                &text(&format!("date 2026-01-05\nrecords 4\nroot {ROOT_B64}\n")),
            ),
            409,
            "conflict",
        ),
        Case {
            content_type: Some("application/json"),
            ..post(
                "JSON content type",
                good.clone(),
                415,
                "unsupported_media_type",
            )
        },
        admin(
            "no admin token",
            None,
            &format!(
                r#"{{"id":"newco","vkey":"{}"}}"#,
                Signer::generate("newco").unwrap().vkey()
            ),
            401,
            "unauthorized",
        ),
        admin(
            "wrong admin token",
            Some("not-the-token"),
            &format!(
                r#"{{"id":"newco","vkey":"{}"}}"#,
                Signer::generate("newco").unwrap().vkey()
            ),
            403,
            "forbidden",
        ),
        admin(
            "tenant key name differs from id",
            Some(ADMIN_TOKEN),
            &format!(
                r#"{{"id":"newco","vkey":"{}"}}"#,
                Signer::generate("other").unwrap().vkey()
            ),
            400,
            "key_name_mismatch",
        ),
        admin(
            "bad tenant id",
            Some(ADMIN_TOKEN),
            &format!(
                r#"{{"id":"New Co","vkey":"{}"}}"#,
                Signer::generate("newco").unwrap().vkey()
            ),
            400,
            "bad_tenant_id",
        ),
        admin(
            "bad vkey",
            Some(ADMIN_TOKEN),
            r#"{"id":"newco","vkey":"newco+00000000+AAAA"}"#,
            400,
            "bad_vkey",
        ),
        admin(
            "JSON with trailing data",
            Some(ADMIN_TOKEN),
            r#"{"id":"newco","vkey":"x"} trailing"#,
            400,
            "bad_json",
        ),
        admin(
            "unknown JSON field",
            Some(ADMIN_TOKEN),
            r#"{"id":"newco","vkey":"x","admin":true}"#,
            400,
            "bad_json",
        ),
        admin(
            "re-register with another key",
            Some(ADMIN_TOKEN),
            &format!(
                r#"{{"id":"acme","vkey":"{}"}}"#,
                Signer::generate("acme").unwrap().vkey()
            ),
            409,
            "tenant_exists",
        ),
        get(
            "inclusion index = size",
            "/v1/proof/inclusion?index=3",
            400,
            "index_out_of_range",
        ),
        get(
            "inclusion size beyond tree",
            "/v1/proof/inclusion?index=0&size=4",
            400,
            "size_out_of_range",
        ),
        get(
            "inclusion negative index",
            "/v1/proof/inclusion?index=-1",
            400,
            "bad_number",
        ),
        get(
            "inclusion overflowing index",
            "/v1/proof/inclusion?index=18446744073709551616",
            400,
            "bad_number",
        ),
        get(
            "inclusion without index",
            "/v1/proof/inclusion",
            400,
            "bad_query",
        ),
        get(
            "inclusion bad leaf hash",
            "/v1/proof/inclusion?leaf_hash=abc",
            400,
            "bad_hash",
        ),
        get(
            "inclusion unknown leaf hash",
            &format!(
                "/v1/proof/inclusion?leaf_hash={}",
                hex::encode(leaf_hash(b"nope"))
            ),
            404,
            "not_found",
        ),
        get(
            "consistency old > new",
            "/v1/proof/consistency?old=2&new=1",
            400,
            "bad_size",
        ),
        get(
            "consistency old = 0",
            "/v1/proof/consistency?old=0&new=1",
            400,
            "bad_size",
        ),
        get(
            "consistency new beyond tree",
            "/v1/proof/consistency?old=1&new=5",
            400,
            "size_out_of_range",
        ),
        get("entry not a number", "/v1/entries/abc", 400, "bad_number"),
        get("entry beyond tree", "/v1/entries/3", 404, "not_found"),
        get(
            "root with bad tenant",
            "/v1/roots/ACME/2026-01-05",
            400,
            "bad_tenant_id",
        ),
        get(
            "root with bad date",
            "/v1/roots/acme/2026-13-01",
            400,
            "bad_date",
        ),
        get(
            "root not logged",
            "/v1/roots/acme/2026-01-06",
            404,
            "not_found",
        ),
        get("log with bad date", "/v1/log/yesterday", 400, "bad_date"),
        get("unknown tenant", "/v1/tenants/initech", 404, "not_found"),
        get("no such route", "/v2/anything", 404, "no_such_route"),
        get(
            "tile path traversal",
            "/tile/..%2F..%2Fetc%2Fpasswd",
            400,
            "bad_tile_path",
        ),
        get(
            // The client normalises dot segments away, as browsers do: what arrives is no route.
            "tile path with dot segments",
            "/tile/0/../../x001",
            404,
            "no_such_route",
        ),
        get(
            "tile level with a leading zero",
            "/tile/00/000",
            400,
            "bad_tile_path",
        ),
        get(
            "tile index not in 3-digit segments",
            "/tile/0/1",
            400,
            "bad_tile_path",
        ),
        get("tile beyond the tree", "/tile/0/001", 404, "tile_not_found"),
        get(
            "entry index with a plus sign",
            "/v1/entries/+0",
            400,
            "bad_number",
        ),
        get(
            "consistency size overflowing 64 bits",
            "/v1/proof/consistency?old=1&new=99999999999999999999",
            400,
            "bad_number",
        ),
        post(
            "10,000 signature lines",
            {
                let t = text(&format!("date 2026-01-08\nrecords 3\nroot {ROOT_B64}\n"));
                let line = a.sign(t.as_bytes()).line();
                format!("{t}\n{}", line.repeat(10_000)).into_bytes()
            },
            413,
            "statement_too_large",
        ),
        Case {
            path: "/v1/roots?wait=forever".into(),
            ..post("unknown wait mode", good.clone(), 400, "bad_query")
        },
        Case {
            method: "DELETE",
            ..get("wrong method", "/checkpoint", 405, "method_not_allowed")
        },
    ];
    assert!(
        cases.len() >= 60,
        "the hostile-input table has {} cases",
        cases.len()
    );
    let http = reqwest::Client::new();
    for case in &cases {
        let mut request = http
            .request(
                case.method.parse().unwrap(),
                format!("{}{}", server.url, case.path),
            )
            .body(case.body.clone());
        if let Some(ct) = case.content_type {
            request = request.header("content-type", ct);
        }
        if let Some(token) = case.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response
            .json()
            .await
            .unwrap_or_else(|e| panic!("{}: body is not JSON: {e}", case.name));
        assert_eq!(status, case.status, "{}: {body}", case.name);
        assert_eq!(body["error"], case.code, "{}: {body}", case.name);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}: no message",
            case.name
        );
    }
    assert_eq!(state(&server).await, before, "bad input changed the log");
    let metrics = server.client().get_json("/healthz").await.unwrap();
    // Two registrations (key-change entries) and one statement.
    assert_eq!(metrics["tree_size"], 3);
    let _ = EMPTY_ROOT;
}
