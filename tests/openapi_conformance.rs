//! The server answers only what openapi.yaml describes. Real servers (a log
//! with a witness, so checkpoints carry cosignatures; tenants, statements,
//! key changes, tiles, proofs and a backup; a starting log, a log behind its
//! witness, a rate-limited log, a log with its own admin listener, and a
//! submission cut off after 30 seconds) are sent every operation, with good
//! and bad input, and every answer is checked against the document
//! (`common::openapi`): its status is one the operation lists, its headers
//! and `Content-Type` are those of that response, and its body matches the
//! response's JSON Schema or the text or binary format the schema names.
//! Then every (operation, status) the document lists and every error code
//! must have been seen, but for the few no test can provoke (`EXEMPT`).

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::openapi::{self, escape, Exchange, Listener, Outcome, Spec};
use common::{register, run_rootlog, sign_text, Server, Tenant, WatchingWitness, ADMIN_TOKEN};
use rootlog::note::{Note, Signer};
use rootlog::statement::format_date;
use rootlog::tiles::{entries_path, tile_path, tiles_for_size};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ORIGIN: &str = "conformance.example/log";

/// (operation, status) pairs and error codes the document lists that no test
/// here provokes, and why; everything else it lists must be seen.
const EXEMPT: &[(&str, &str)] = &[
    ("*:500", "storage failures: tests/powercut.rs and tests/fsck.rs make them; a running log cannot be made to fail a read on demand"),
    ("*:408", "only a submission waits long enough (for the sequencer or the witnesses) to be cut off: submitRoot's 408 is provoked"),
    ("head*:408", "as for GET"),
    ("getTile2:200", "a two-group tile index needs a tree of 256,000 entries"),
    ("getTile3:200", "a three-group tile index needs a tree of 256,000,000 entries"),
    ("getPartialTile2:200", "as getTile2"),
    ("getPartialTile3:200", "as getTile3"),
    ("getEntryBundle2:200", "as getTile2"),
    ("getEntryBundle3:200", "as getTile3"),
    ("getPartialEntryBundle2:200", "as getTile2"),
    ("getPartialEntryBundle3:200", "as getTile3"),
    ("headTile2:200", "as getTile2"),
    ("headTile3:200", "as getTile3"),
    ("headPartialTile2:200", "as getTile2"),
    ("headPartialTile3:200", "as getTile3"),
    ("headEntryBundle2:200", "as getTile2"),
    ("headEntryBundle3:200", "as getTile3"),
    ("headPartialEntryBundle2:200", "as getTile2"),
    ("headPartialEntryBundle3:200", "as getTile3"),
    ("code:storage_error", "as *:500"),
    ("code:internal", "the sequencer answering a statement with a key change's outcome: a bug, not an input"),
    ("code:sequencer_stopped", "needs a storage failure (tests/powercut.rs)"),
];

/// The page's answers this build cannot give: a rootlog built with the page
/// (`scripts/build-page`, as under CI) never answers `page_not_built`, one
/// built without it never serves the page.
fn page_exemptions() -> &'static [(&'static str, &'static str)] {
    if rootlog::page::built() {
        &[
            (
                "getPage:404",
                "only a rootlog built without the page answers page_not_built",
            ),
            ("headPage:404", "as getPage:404"),
            ("code:page_not_built", "as getPage:404"),
        ]
    } else {
        &[
            (
                "getPage:200",
                "this rootlog was built without the page (scripts/build-page)",
            ),
            ("headPage:200", "as getPage:200"),
            ("getPageFile:200", "as getPage:200"),
            ("headPageFile:200", "as getPage:200"),
        ]
    }
}

/// An answer as the test saw it.
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn code(&self) -> String {
        self.json()["error"].as_str().unwrap_or("").to_string()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A listener under test.
#[derive(Clone)]
struct Target {
    url: String,
    listener: Listener,
}

impl Target {
    fn both(server: &Server) -> Target {
        Target {
            url: server.url.clone(),
            listener: Listener::Both,
        }
    }
}

/// Sends requests, checks every answer against the document, and keeps
/// what was seen and what did not match.
struct Harness {
    spec: Spec,
    http: reqwest::Client,
    seen: Mutex<BTreeSet<Outcome>>,
    failures: Mutex<Vec<String>>,
}

type H = Arc<Harness>;

impl Harness {
    fn new() -> H {
        Arc::new(Harness {
            spec: openapi::load(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            seen: Mutex::new(BTreeSet::new()),
            failures: Mutex::new(Vec::new()),
        })
    }

    fn fail(&self, what: String) {
        self.failures.lock().unwrap().push(what);
    }

    /// Checks an answer against the document and records it.
    fn record(&self, t: &Target, method: &str, path_and_query: &str, a: &Answer) {
        let path = path_and_query.split('?').next().unwrap_or("");
        let x = Exchange {
            listener: t.listener,
            method,
            path,
            status: a.status,
            headers: &a.headers,
            body: &a.body,
        };
        match self.spec.check(&x) {
            Ok(outcome) => {
                self.seen.lock().unwrap().insert(outcome);
            }
            Err(e) => self.fail(e),
        }
    }

    async fn send(
        &self,
        t: &Target,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Answer {
        let mut request = self.http.request(
            method.parse().unwrap(),
            format!("{}{path_and_query}", t.url),
        );
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path_and_query}: {e}"));
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_string(),
                )
            })
            .collect();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        let answer = Answer {
            status,
            headers,
            body,
        };
        self.record(t, method, path_and_query, &answer);
        answer
    }

    /// GET, then HEAD of the same request, both checked; GET's answer.
    async fn get_with(&self, t: &Target, path_and_query: &str, headers: &[(&str, &str)]) -> Answer {
        let answer = self.send(t, "GET", path_and_query, headers, None).await;
        self.send(t, "HEAD", path_and_query, headers, None).await;
        answer
    }

    async fn get(&self, t: &Target, path_and_query: &str) -> Answer {
        self.get_with(t, path_and_query, &[]).await
    }

    /// A JSON POST with the admin token (or `token`, or none).
    async fn post_json(&self, t: &Target, path: &str, token: Option<&str>, body: &Value) -> Answer {
        let auth = token.map(|tok| format!("Bearer {tok}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("authorization", auth.as_str()));
        }
        self.send(
            t,
            "POST",
            path,
            &headers,
            Some(serde_json::to_vec(body).unwrap()),
        )
        .await
    }

    async fn submit(&self, t: &Target, query: &str, note: &[u8]) -> Answer {
        self.send(
            t,
            "POST",
            &format!("/v1/roots{query}"),
            &[("content-type", "text/plain")],
            Some(note.to_vec()),
        )
        .await
    }

    /// Records a failure unless the answer has this status (and error code).
    fn expect(&self, a: &Answer, status: u16, code: Option<&str>, what: &str) {
        let got_code = a.code();
        if a.status != status || code.is_some_and(|c| c != got_code) {
            self.fail(format!(
                "{what}: expected {status} {}, got {} {}",
                code.unwrap_or(""),
                a.status,
                a.text().chars().take(300).collect::<String>()
            ));
        }
    }
}

/// A free port on 127.0.0.1 (a witness keeps its address across a restart).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The UTC date `days` before today.
fn days_ago(days: i64) -> String {
    format_date(time::OffsetDateTime::now_utc().date() - time::Duration::days(days))
}

/// One request for every operation of the document, its path parameters
/// filled with the document's examples (and the server's own tenant where a
/// real one helps nothing: these requests are refused before any handler).
fn sample_requests(spec: &Spec) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (method, template, op) in spec.operation_pointers() {
        let mut path = template.clone();
        while let Some(open) = path.find('{') {
            let close = path[open..].find('}').unwrap() + open;
            let name = path[open + 1..close].to_string();
            let schema = spec
                .param_schema(&op, &template, &name)
                .unwrap_or_else(|| panic!("{template}: no parameter {name}"));
            let param = schema.strip_suffix("/schema").unwrap();
            let example = match &spec.at(param)["example"] {
                Value::String(s) => s.clone(),
                Value::Null => panic!("{template}: parameter {name} has no example"),
                other => other.to_string(),
            };
            path.replace_range(open..=close, &example);
        }
        out.push((method, path));
    }
    out
}

/// A request written by hand on a raw connection (for a body that breaks
/// off, which no HTTP client sends), its answer read back.
async fn raw(url: &str, request: &[u8]) -> Answer {
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut buf)).await;
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer head");
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = buf[split + 4..].to_vec();
    if let Some(len) = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
    {
        body.truncate(len);
    }
    Answer {
        status,
        headers,
        body,
    }
}

/// Waits until `/healthz` reports `status` (every answer checked).
async fn wait_health(h: &H, t: &Target, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = h.get(t, "/healthz").await;
        let body = a.json();
        if body["status"] == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz did not report {status}: {body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The served checkpoint's size.
fn checkpoint_size(text: &str) -> u64 {
    let note = Note::parse(text.as_bytes()).unwrap();
    rootlog::note::Checkpoint::parse(&note.text).unwrap().size
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_answer_of_the_server_is_one_openapi_yaml_describes() {
    let h = Harness::new();
    let dir = tempfile::tempdir().unwrap();
    tokio::join!(
        main_log(h.clone(), dir.path().join("main")),
        starting_log(h.clone(), dir.path().join("starting")),
        rate_limited_log(h.clone(), dir.path().join("limited")),
        separate_admin_listener(h.clone(), dir.path().join("split")),
        cut_off_submission(h.clone(), dir.path().join("slow")),
    );
    let failures = h.failures.lock().unwrap().clone();
    assert!(
        failures.is_empty(),
        "{} answers or expectations did not match:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_everything_listed_was_seen(&h);
}

/// Every (operation, status) the document lists, and every error code, was
/// seen, but for `EXEMPT`.
fn assert_everything_listed_was_seen(h: &H) {
    let seen = h.seen.lock().unwrap().clone();
    let exemptions: Vec<(&str, &str)> = EXEMPT.iter().chain(page_exemptions()).copied().collect();
    let exempt = |key: &str| {
        exemptions.iter().any(|(pattern, _)| {
            let (op, status) = pattern.split_once(':').unwrap_or((pattern, ""));
            let (k_op, k_status) = key.split_once(':').unwrap_or((key, ""));
            (status == k_status)
                && (op == k_op
                    || op == "*"
                    || op.strip_suffix('*').is_some_and(|p| k_op.starts_with(p)))
        })
    };
    let mut missing = Vec::new();
    for (_, _, op) in h.spec.operation_pointers() {
        let id = h.spec.at(&op)["operationId"].as_str().unwrap().to_string();
        for status in h
            .spec
            .at(&format!("{op}/responses"))
            .as_object()
            .unwrap()
            .keys()
        {
            let key = format!("{id}:{status}");
            let got = seen
                .iter()
                .any(|o| o.operation == id && o.status.to_string() == *status);
            if !got && !exempt(&key) {
                missing.push(key);
            }
        }
    }
    let codes: BTreeSet<String> = seen.iter().filter_map(|o| o.code.clone()).collect();
    for code in h
        .spec
        .at("/components/schemas/Error/properties/error/enum")
        .as_array()
        .unwrap()
    {
        let code = code.as_str().unwrap();
        if !codes.contains(code) && !exempt(&format!("code:{code}")) {
            missing.push(format!("code:{code}"));
        }
    }
    // An exemption that is seen after all is stale.
    for (pattern, _) in &exemptions {
        if pattern.contains('*') {
            continue;
        }
        let stale = match pattern.strip_prefix("code:") {
            Some(code) => codes.contains(code),
            None => seen
                .iter()
                .any(|o| format!("{}:{}", o.operation, o.status) == *pattern),
        };
        assert!(!stale, "{pattern} is exempt but was seen");
    }
    assert!(
        missing.is_empty(),
        "listed in openapi.yaml but never seen:\n{}",
        missing.join("\n")
    );
}

/// The main log: a witness, tenants, key changes, statements, every read,
/// tiles, proofs, a backup; then the witness down (nothing witnessed), and
/// the backup restored behind the witness (`log_behind`).
async fn main_log(h: H, dir: std::path::PathBuf) {
    let data = dir.join("log");
    // The first start makes the log key the witness trusts.
    let mut first = Server::start(&data, &["--origin", ORIGIN]);
    let log_vkey = first.log_key().vkey();
    first.stop();
    let w_listen = format!("127.0.0.1:{}", free_port());
    let w =
        WatchingWitness::start_named(&dir.join("w"), "w1.example", &w_listen, ORIGIN, &log_vkey);
    let witness = format!("{}@{}", w.vkey, w.url);
    let log = Server::start(
        &data,
        &[
            "--origin",
            ORIGIN,
            "--witness",
            &witness,
            "--witness-interval",
            "100ms",
            "--witness-wait",
            "3s",
            "--max-statement-age",
            "7d",
            "--check-interval",
            "1",
        ],
    );
    let t = Target::both(&log);

    // An empty log.
    wait_health(&h, &t, "ok").await;
    h.expect(&h.get(&t, "/checkpoint").await, 200, None, "checkpoint");
    let list = h.get(&t, "/v1/tenants").await;
    h.expect(&list, 200, None, "empty tenant list");
    assert_eq!(list.json(), json!({ "tenants": [] }));
    h.expect(&h.get(&t, "/metrics").await, 200, None, "metrics");
    // The auditor's page, or what a rootlog built without it says.
    for path in ["/", "/app.js", "/rootlog_web_bg.wasm"] {
        match rootlog::page::built() {
            true => h.expect(&h.get(&t, path).await, 200, None, path),
            false => h.expect(&h.get(&t, path).await, 404, Some("page_not_built"), path),
        }
    }
    h.expect(
        &h.get(&t, "/nothing.js").await,
        404,
        Some("no_such_route"),
        "/nothing.js",
    );

    // Tenants.
    let acme = Tenant::new("acme");
    let reg = |vkey: String| json!({ "id": "acme", "vkey": vkey });
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &reg(acme.signer.vkey()),
        )
        .await;
    h.expect(&a, 201, None, "register acme");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &reg(acme.signer.vkey()),
        )
        .await;
    h.expect(&a, 200, None, "register acme again");
    let other = Signer::generate("acme").unwrap();
    let a = h
        .post_json(&t, "/v1/tenants", Some(ADMIN_TOKEN), &reg(other.vkey()))
        .await;
    h.expect(
        &a,
        409,
        Some("tenant_exists"),
        "register acme with another key",
    );
    let a = h
        .post_json(&t, "/v1/tenants", None, &reg(acme.signer.vkey()))
        .await;
    h.expect(&a, 401, Some("unauthorized"), "register without a token");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some("wrong-token"),
            &reg(acme.signer.vkey()),
        )
        .await;
    h.expect(&a, 403, Some("forbidden"), "register with a wrong token");
    let auth = format!("Bearer {ADMIN_TOKEN}");
    let a = h
        .send(
            &t,
            "POST",
            "/v1/tenants",
            &[("authorization", &auth)],
            Some(serde_json::to_vec(&reg(acme.signer.vkey())).unwrap()),
        )
        .await;
    h.expect(&a, 415, Some("bad_json"), "register without a content type");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "acme" }),
        )
        .await;
    h.expect(&a, 400, Some("bad_json"), "register without a vkey");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "Acme", "vkey": acme.signer.vkey() }),
        )
        .await;
    h.expect(&a, 400, Some("bad_tenant_id"), "register a bad id");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "beta", "vkey": "beta+00000000+AAAA" }),
        )
        .await;
    h.expect(&a, 400, Some("bad_vkey"), "register a bad vkey");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "beta", "vkey": acme.signer.vkey() }),
        )
        .await;
    h.expect(
        &a,
        400,
        Some("key_name_mismatch"),
        "register a key named otherwise",
    );
    let huge = json!({ "id": "beta", "vkey": "x".repeat(70 * 1024) });
    let a = h
        .post_json(&t, "/v1/tenants", Some(ADMIN_TOKEN), &huge)
        .await;
    h.expect(
        &a,
        400,
        Some("bad_json"),
        "register with a body over 64 KiB",
    );

    // Forty more tenants, so that the log grows past one full tile.
    let tenants: Vec<Arc<Tenant>> = (0..40)
        .map(|i| Arc::new(Tenant::new(&format!("t{i:02}"))))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    for tenant in &tenants {
        let (h, t, tenant) = (h.clone(), t.clone(), tenant.clone());
        set.spawn(async move {
            let body = json!({ "id": tenant.id, "vkey": tenant.signer.vkey() });
            let a = h
                .post_json(&t, "/v1/tenants", Some(ADMIN_TOKEN), &body)
                .await;
            h.expect(&a, 201, None, "register a tenant");
        });
    }
    set.join_all().await;

    // Key changes: acme ends with k2 active, its first key retired, k3 revoked.
    let k2 = Signer::generate("acme").unwrap();
    let k3 = Signer::generate("acme").unwrap();
    let keys = "/v1/tenants/acme/keys";
    let change = |action: &str, vkey: String| json!({ "action": action, "vkey": vkey });
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &change("add", k2.vkey()))
        .await;
    h.expect(&a, 201, None, "add k2");
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &change("add", k2.vkey()))
        .await;
    h.expect(&a, 200, None, "add k2 again");
    let a = h
        .post_json(
            &t,
            keys,
            Some(ADMIN_TOKEN),
            &change("retire", acme.signer.vkey()),
        )
        .await;
    h.expect(&a, 201, None, "retire the first key");
    let a = h
        .post_json(
            &t,
            keys,
            Some(ADMIN_TOKEN),
            &change("add", acme.signer.vkey()),
        )
        .await;
    h.expect(&a, 409, Some("key_retired"), "add a retired key back");
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &change("add", k3.vkey()))
        .await;
    h.expect(&a, 201, None, "add k3");
    // Effective now: not before k3 was added, not in the future.
    let effective = rootlog::tenant_key::format_time(time::OffsetDateTime::now_utc());
    let revoke = json!({ "action": "revoke", "vkey": k3.vkey(), "effective": effective });
    let a = h.post_json(&t, keys, Some(ADMIN_TOKEN), &revoke).await;
    h.expect(&a, 201, None, "revoke k3");
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &change("add", k3.vkey()))
        .await;
    h.expect(&a, 409, Some("key_revoked"), "add a revoked key back");
    let stranger = Signer::generate("acme").unwrap();
    let a = h
        .post_json(
            &t,
            keys,
            Some(ADMIN_TOKEN),
            &change("retire", stranger.vkey()),
        )
        .await;
    h.expect(&a, 404, Some("unknown_key"), "retire a key acme never had");
    let nobody = Signer::generate("nobody").unwrap();
    let a = h
        .post_json(
            &t,
            "/v1/tenants/nobody/keys",
            Some(ADMIN_TOKEN),
            &change("add", nobody.vkey()),
        )
        .await;
    h.expect(
        &a,
        404,
        Some("unknown_tenant"),
        "a key for an unregistered tenant",
    );
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &change("promote", k2.vkey()))
        .await;
    h.expect(&a, 400, Some("bad_action"), "a bad action");
    let future =
        json!({ "action": "revoke", "vkey": k2.vkey(), "effective": "2999-01-01T00:00:00Z" });
    let a = h.post_json(&t, keys, Some(ADMIN_TOKEN), &future).await;
    h.expect(
        &a,
        400,
        Some("bad_effective_time"),
        "a revocation in the future",
    );
    let a = h
        .post_json(
            &t,
            keys,
            Some(ADMIN_TOKEN),
            &change("add", "acme+garbage".into()),
        )
        .await;
    h.expect(&a, 400, Some("bad_vkey"), "a bad vkey");
    let a = h
        .post_json(
            &t,
            "/v1/tenants/Acme/keys",
            Some(ADMIN_TOKEN),
            &change("add", k2.vkey()),
        )
        .await;
    h.expect(&a, 400, Some("bad_tenant_id"), "a bad tenant id");
    let a = h
        .post_json(
            &t,
            "/v1/tenants/%FF/keys",
            Some(ADMIN_TOKEN),
            &change("add", k2.vkey()),
        )
        .await;
    h.expect(&a, 400, Some("bad_path"), "a tenant id that is not UTF-8");
    let a = h
        .post_json(&t, keys, Some(ADMIN_TOKEN), &json!({ "action": "add" }))
        .await;
    h.expect(&a, 400, Some("bad_json"), "a key change without a vkey");
    let a = h
        .send(
            &t,
            "POST",
            keys,
            &[("authorization", &auth)],
            Some(serde_json::to_vec(&change("add", k2.vkey())).unwrap()),
        )
        .await;
    h.expect(
        &a,
        415,
        Some("bad_json"),
        "a key change without a content type",
    );
    let a = h.post_json(&t, keys, None, &change("add", k2.vkey())).await;
    h.expect(
        &a,
        401,
        Some("unauthorized"),
        "a key change without a token",
    );
    let a = h
        .post_json(&t, keys, Some("wrong-token"), &change("add", k2.vkey()))
        .await;
    h.expect(
        &a,
        403,
        Some("forbidden"),
        "a key change with a wrong token",
    );

    let list = h.get(&t, "/v1/tenants").await;
    h.expect(&list, 200, None, "tenant list");
    let listed = list.json();
    let ids: Vec<&str> = listed["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(ids.len(), 41);
    assert!(
        ids.windows(2).all(|w| w[0] < w[1]),
        "not in id order: {ids:?}"
    );
    let statuses: Vec<&str> = listed["tenants"][0]["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        ["retired", "active", "revoked"],
        "{}",
        listed["tenants"][0]
    );
    for (path, status, code, what) in [
        ("/v1/tenants/acme".to_string(), 200, None, "acme"),
        (
            "/v1/tenants/Acme".to_string(),
            400,
            Some("bad_tenant_id"),
            "a bad id",
        ),
        (
            "/v1/tenants/nobody".to_string(),
            404,
            Some("not_found"),
            "an unknown tenant",
        ),
        (
            "/v1/tenants/%FF".to_string(),
            400,
            Some("bad_path"),
            "an id that is not UTF-8",
        ),
    ] {
        h.expect(&h.get(&t, &path).await, status, code, what);
    }

    // Statements: six days of each tenant.
    let mut set = tokio::task::JoinSet::new();
    for (i, tenant) in tenants.iter().enumerate() {
        for day in 0..6 {
            let (h, t, tenant) = (h.clone(), t.clone(), tenant.clone());
            set.spawn(async move {
                let note = tenant.statement(&days_ago(day), (i * 10) as u64 + day as u64);
                let a = h.submit(&t, "", &note).await;
                h.expect(&a, 201, None, "a statement");
            });
        }
    }
    set.join_all().await;
    let signed = |signer: &Signer, date: &str, seed: u64| {
        let root = rootlog::merkle::leaf_hash(&seed.to_be_bytes());
        sign_text(signer, &acme.statement_text(date, seed + 1, root, None))
    };
    let today = days_ago(0);
    let note = signed(&k2, &today, 1);
    let a = h.submit(&t, "", &note).await;
    h.expect(&a, 201, None, "acme's statement");
    let acme_index = a.json()["index"].as_u64().unwrap_or(0);
    h.expect(
        &h.submit(&t, "", &note).await,
        200,
        None,
        "the same statement again",
    );
    let a = h.submit(&t, "", &signed(&k2, &today, 2)).await;
    h.expect(
        &a,
        409,
        Some("conflict"),
        "another statement for the same day",
    );
    let a = h
        .submit(&t, "", &signed(&acme.signer, &days_ago(1), 3))
        .await;
    h.expect(&a, 403, Some("key_retired"), "signed by a retired key");
    let a = h.submit(&t, "", &signed(&k3, &days_ago(1), 3)).await;
    h.expect(&a, 403, Some("key_revoked"), "signed by a revoked key");
    let a = h
        .submit(&t, "", &Tenant::new("ghost").statement(&today, 1))
        .await;
    h.expect(&a, 403, Some("unknown_tenant"), "an unregistered tenant");
    let a = h.submit(&t, "", &signed(&stranger, &days_ago(1), 3)).await;
    h.expect(
        &a,
        403,
        Some("unsigned_statement"),
        "signed by no key of acme",
    );
    let mut forged = Note::new(acme.statement_text(&days_ago(1), 4, [7u8; 32], None));
    forged.signatures.push(k2.sign(b"other text\n"));
    let a = h.submit(&t, "", forged.to_text().as_bytes()).await;
    h.expect(
        &a,
        403,
        Some("bad_signature"),
        "a signature that does not verify",
    );
    let a = h.submit(&t, "", b"hello").await;
    h.expect(&a, 400, Some("malformed_note"), "not a note");
    let a = h
        .submit(&t, "", &sign_text(&k2, "daily-root/v9\ntenant acme\n"))
        .await;
    h.expect(&a, 400, Some("bad_statement_format"), "not a statement");
    let text = acme.statement_text(&days_ago(1), 4, [7u8; 32], None);
    let mut twice = Note::new(text.clone());
    twice.signatures.push(k2.sign(text.as_bytes()));
    twice.signatures.push(k2.sign(text.as_bytes()));
    let a = h.submit(&t, "", twice.to_text().as_bytes()).await;
    h.expect(
        &a,
        400,
        Some("duplicate_signature"),
        "two signatures by one key",
    );
    let a = h.submit(&t, "", &signed(&k2, &days_ago(-10), 5)).await;
    h.expect(&a, 400, Some("bad_date"), "a date after tomorrow");
    let a = h.submit(&t, "", &signed(&k2, &days_ago(30), 5)).await;
    h.expect(&a, 400, Some("stale_date"), "a day long past");
    let a = h
        .submit(&t, "?wait=durable", &signed(&k2, &days_ago(1), 5))
        .await;
    h.expect(&a, 400, Some("bad_query"), "wait=durable");
    let a = h
        .send(
            &t,
            "POST",
            "/v1/roots",
            &[("content-type", "application/json")],
            Some(signed(&k2, &days_ago(1), 5)),
        )
        .await;
    h.expect(
        &a,
        415,
        Some("unsupported_media_type"),
        "a statement sent as JSON",
    );
    let a = h.submit(&t, "", &vec![b'a'; 17 * 1024]).await;
    h.expect(&a, 413, Some("statement_too_large"), "a 17 KiB statement");
    let a = h.submit(&t, "", &vec![b'a'; 70 * 1024]).await;
    h.expect(&a, 413, Some("statement_too_large"), "a 70 KiB statement");
    let broken = raw(
        &log.url,
        b"POST /v1/roots HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\nzz\r\n",
    )
    .await;
    h.record(&t, "POST", "/v1/roots", &broken);
    h.expect(&broken, 400, Some("bad_body"), "a body that breaks off");
    let a = h
        .submit(&t, "?wait=witnessed", &signed(&k2, &days_ago(1), 6))
        .await;
    h.expect(&a, 201, None, "a statement waiting for the witness");
    assert_eq!(a.json()["logged_by_attested"], "witnesses", "{}", a.text());

    // Everything witnessed: the served checkpoint carries the cosignature.
    let size = wait_health(&h, &t, "ok").await["tree_size"]
        .as_u64()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let checkpoint = loop {
        let a = h.get(&t, "/checkpoint").await;
        if checkpoint_size(&a.text()) == size {
            break a.text();
        }
        assert!(
            Instant::now() < deadline,
            "the witness did not cosign {size}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let note = Note::parse(checkpoint.as_bytes()).unwrap();
    assert!(
        note.signatures
            .iter()
            .any(|s| w.key.matches(s) && w.key.verify(note.text.as_bytes(), &s.signature)),
        "the served checkpoint carries no cosignature: {checkpoint}"
    );
    assert!(
        size > 256,
        "the log has {size} entries, less than one full tile"
    );

    // Reads.
    let a = h.get(&t, &format!("/v1/roots/acme/{today}")).await;
    h.expect(&a, 200, None, "acme's root");
    assert_eq!(a.json()["logged_by_attested"], "witnesses");
    for (path, status, code, what) in [
        (
            format!("/v1/roots/Acme/{today}"),
            400,
            Some("bad_tenant_id"),
            "a bad tenant",
        ),
        (
            "/v1/roots/acme/2026-02-30".to_string(),
            400,
            Some("bad_date"),
            "a bad date",
        ),
        (
            "/v1/roots/acme/1999-01-01".to_string(),
            404,
            Some("not_found"),
            "a day without a root",
        ),
        (
            "/v1/roots/%FF/1999-01-01".to_string(),
            400,
            Some("bad_path"),
            "a tenant that is not UTF-8",
        ),
        (
            format!("/v1/roots/acme/{today}/proof"),
            200,
            None,
            "the proof file",
        ),
        (
            format!("/v1/roots/Acme/{today}/proof"),
            400,
            Some("bad_tenant_id"),
            "a bad tenant",
        ),
        (
            "/v1/roots/acme/2026-13-01/proof".to_string(),
            400,
            Some("bad_date"),
            "a bad date",
        ),
        (
            "/v1/roots/acme/1999-01-01/proof".to_string(),
            404,
            Some("not_found"),
            "no root",
        ),
        (
            "/v1/roots/acme/%FF/proof".to_string(),
            400,
            Some("bad_path"),
            "a date that is not UTF-8",
        ),
    ] {
        h.expect(&h.get(&t, &path).await, status, code, what);
    }
    let a = h.get(&t, &format!("/v1/log/{today}")).await;
    h.expect(&a, 200, None, "the day's roots");
    assert_eq!(a.json()["roots"].as_array().map(Vec::len), Some(41));
    for (path, status, code, what) in [
        (
            "/v1/log/1999-01-01".to_string(),
            200,
            None,
            "a day without roots",
        ),
        (
            "/v1/log/1999-1-1".to_string(),
            400,
            Some("bad_date"),
            "a bad date",
        ),
        (
            "/v1/log/%FF".to_string(),
            400,
            Some("bad_path"),
            "a date that is not UTF-8",
        ),
        ("/v1/entries/0".to_string(), 200, None, "entry 0"),
        (
            format!("/v1/entries/{acme_index}"),
            200,
            None,
            "acme's entry",
        ),
        (
            "/v1/entries/01".to_string(),
            400,
            Some("bad_number"),
            "a leading zero",
        ),
        (
            "/v1/entries/%FF".to_string(),
            400,
            Some("bad_path"),
            "an index that is not UTF-8",
        ),
        (
            format!("/v1/entries/{size}"),
            404,
            Some("not_found"),
            "beyond the tree",
        ),
    ] {
        h.expect(&h.get(&t, &path).await, status, code, what);
    }

    let leaf = h
        .get(&t, &format!("/v1/proof/inclusion?index={acme_index}"))
        .await;
    h.expect(&leaf, 200, None, "an inclusion proof by index");
    let leaf_b64 = leaf.json()["leaf_hash"].as_str().unwrap_or("").to_string();
    let leaf_hex = hex::encode(rootlog::note::decode_hash_b64(&leaf_b64).unwrap_or([0; 32]));
    let encoded = leaf_b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    for (query, status, code, what) in [
        (
            format!("leaf_hash={encoded}&size={size}"),
            200,
            None,
            "by base64 leaf hash",
        ),
        (
            format!("leaf_hash={leaf_hex}"),
            200,
            None,
            "by hex leaf hash",
        ),
        (
            format!("index=1&leaf_hash={leaf_hex}"),
            400,
            Some("bad_query"),
            "index and leaf hash",
        ),
        (String::new(), 400, Some("bad_query"), "neither"),
        (
            "index=-1".into(),
            400,
            Some("bad_number"),
            "a negative index",
        ),
        ("leaf_hash=zz".into(), 400, Some("bad_hash"), "a bad hash"),
        (
            format!("index=1&size={}", size + 1),
            400,
            Some("size_out_of_range"),
            "beyond the tree",
        ),
        (
            "index=5&size=3".into(),
            400,
            Some("index_out_of_range"),
            "an index beyond the size",
        ),
        (
            format!("leaf_hash={}", "ab".repeat(32)),
            404,
            Some("not_found"),
            "an unknown leaf",
        ),
    ] {
        let a = h.get(&t, &format!("/v1/proof/inclusion?{query}")).await;
        h.expect(&a, status, code, &format!("inclusion {what}"));
    }
    for (query, status, code, what) in [
        (format!("old=1&new={size}"), 200, None, "old and new"),
        ("old=100".to_string(), 200, None, "old only"),
        (String::new(), 400, Some("bad_query"), "no old"),
        ("old=x".into(), 400, Some("bad_number"), "old not a number"),
        (
            format!("old=1&new={}", size + 1),
            400,
            Some("size_out_of_range"),
            "beyond the tree",
        ),
        ("old=0".into(), 400, Some("bad_size"), "old 0"),
        ("old=5&new=3".into(), 400, Some("bad_size"), "old after new"),
    ] {
        let a = h.get(&t, &format!("/v1/proof/consistency?{query}")).await;
        h.expect(&a, status, code, &format!("consistency {what}"));
    }

    // Tiles and bundles of the tree, then paths that are not tiles of it.
    for (tile, width) in tiles_for_size(size) {
        h.expect(
            &h.get(&t, &format!("/{}", tile_path(tile, width))).await,
            200,
            None,
            "a tile",
        );
        if tile.level == 0 {
            h.expect(
                &h.get(&t, &format!("/{}", entries_path(tile.index, width)))
                    .await,
                200,
                None,
                "a bundle",
            );
        }
    }
    for (path, status, code, what) in [
        (
            "/tile/0/000.p/1".to_string(),
            200,
            None,
            "an old partial tile",
        ),
        (
            "/tile/entries/000.p/1".to_string(),
            200,
            None,
            "an old partial bundle",
        ),
    ] {
        h.expect(&h.get(&t, &path).await, status, code, what);
    }
    for (path, status, code) in [
        ("/tile/0/x000/001", 400, "bad_tile_path"),
        ("/tile/0/x000/001.p/5", 400, "bad_tile_path"),
        ("/tile/0/x000/x001/001", 400, "bad_tile_path"),
        ("/tile/0/x000/x001/001.p/5", 400, "bad_tile_path"),
        ("/tile/0/01", 400, "bad_tile_path"),
        ("/tile/0/000.p/256", 400, "bad_tile_path"),
        ("/tile/entries/x000/001", 400, "bad_tile_path"),
        ("/tile/entries/x000/001.p/5", 400, "bad_tile_path"),
        ("/tile/entries/x000/x001/001", 400, "bad_tile_path"),
        ("/tile/entries/x000/x001/001.p/5", 400, "bad_tile_path"),
        ("/tile/entries/01", 400, "bad_tile_path"),
        ("/tile/entries/01.p/5", 400, "bad_tile_path"),
        ("/tile/nothing", 400, "bad_tile_path"),
        ("/tile/0/%30%30%30", 400, "bad_tile_path"),
        ("/tile/0/009", 404, "tile_not_found"),
        ("/tile/0/009.p/1", 404, "tile_not_found"),
        ("/tile/8/000.p/1", 404, "tile_not_found"),
        ("/tile/0/x001/000", 404, "tile_not_found"),
        ("/tile/0/x001/000.p/1", 404, "tile_not_found"),
        ("/tile/1/x001/x000/000", 404, "tile_not_found"),
        ("/tile/1/x001/x000/000.p/1", 404, "tile_not_found"),
        ("/tile/entries/009", 404, "tile_not_found"),
        ("/tile/entries/009.p/1", 404, "tile_not_found"),
        ("/tile/entries/x001/000", 404, "tile_not_found"),
        ("/tile/entries/x001/000.p/1", 404, "tile_not_found"),
        ("/tile/entries/x001/x000/000", 404, "tile_not_found"),
        ("/tile/entries/x001/x000/000.p/1", 404, "tile_not_found"),
        ("/tile/0/x001/x000/x000/000", 404, "tile_not_found"),
        (
            "/tile/entries/x018/x446/x744/x073/x709/x551/615",
            404,
            "tile_not_found",
        ),
    ] {
        h.expect(&h.get(&t, path).await, status, Some(code), path);
    }

    // Operations, a backup, methods and paths the log does not take.
    wait_health(&h, &t, "ok").await;
    h.expect(&h.get(&t, "/metrics").await, 200, None, "metrics");
    let backup = "/v1/admin/backup";
    h.expect(
        &h.get(&t, backup).await,
        401,
        Some("unauthorized"),
        "a backup without a token",
    );
    h.expect(
        &h.get_with(&t, backup, &[("authorization", "Bearer nope")])
            .await,
        403,
        Some("forbidden"),
        "a backup with a wrong token",
    );
    let taken = h.get_with(&t, backup, &[("authorization", &auth)]).await;
    h.expect(&taken, 200, None, "a backup");
    let backup_file = dir.join("backup.bin");
    std::fs::write(&backup_file, &taken.body).unwrap();
    let mut paths: Vec<(String, String)> = sample_requests(&h.spec);
    paths.dedup_by(|a, b| a.1 == b.1);
    for (method, path) in paths {
        for wrong in ["PUT", "DELETE", "PATCH"] {
            h.expect(
                &h.send(&t, wrong, &path, &[], None).await,
                405,
                Some("method_not_allowed"),
                &format!("{wrong} {path}"),
            );
        }
        if method == "POST" && path != "/v1/tenants" {
            h.expect(
                &h.send(&t, "GET", &path, &[], None).await,
                405,
                Some("method_not_allowed"),
                &format!("GET {path}"),
            );
        }
    }
    for path in [
        "/index.htm",
        "/v1",
        "/v1/nothing",
        "/checkpoint/",
        "/v1/roots/acme",
        "/tile",
        "/metrics/x",
    ] {
        h.expect(&h.get(&t, path).await, 404, Some("no_such_route"), path);
    }
    // A witnessed submission after the backup: the witness now holds a tree
    // the backup does not have.
    let a = h
        .submit(&t, "?wait=witnessed", &signed(&k2, &days_ago(2), 7))
        .await;
    h.expect(&a, 201, None, "a statement after the backup");

    // The witness down: entries are logged but not witnessed.
    drop(w);
    let date = days_ago(3);
    let a = h.submit(&t, "", &signed(&k2, &date, 8)).await;
    h.expect(&a, 201, None, "a statement while the witness is down");
    assert_eq!(a.json()["logged_by"], Value::Null, "{}", a.text());
    let a = h.get(&t, &format!("/v1/roots/acme/{date}")).await;
    h.expect(&a, 200, None, "an entry not witnessed yet");
    assert_eq!(a.json()["logged_by"], Value::Null, "{}", a.text());
    let a = h.get(&t, &format!("/v1/roots/acme/{date}/proof")).await;
    h.expect(
        &a,
        503,
        Some("not_witnessed_yet"),
        "the proof file of an entry not witnessed",
    );
    let a = h
        .submit(&t, "?wait=witnessed", &signed(&k2, &days_ago(4), 9))
        .await;
    h.expect(
        &a,
        503,
        Some("not_witnessed_yet"),
        "waiting for a witness that is down",
    );
    drop(log);

    // The backup restored, with the witness back: it holds a larger tree.
    let _w =
        WatchingWitness::start_named(&dir.join("w"), "w1.example", &w_listen, ORIGIN, &log_vkey);
    let restored = dir.join("restored");
    let key = data.join("log.skey");
    let (code, out, err) = run_rootlog(&[
        "restore",
        "--from",
        backup_file.to_str().unwrap(),
        "--data",
        restored.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    let behind = Server::start(
        &restored,
        &[
            "--origin",
            ORIGIN,
            "--witness",
            &witness,
            "--max-statement-age",
            "7d",
        ],
    );
    let b = Target::both(&behind);
    let health = wait_health(&h, &b, "log_behind").await;
    assert_eq!(health["sequencing"]["reason"], "behind", "{health}");
    let a = h.submit(&b, "", &signed(&k2, &days_ago(5), 10)).await;
    h.expect(
        &a,
        503,
        Some("log_behind"),
        "a submission to a log behind its witness",
    );
    let beta = Tenant::new("beta");
    let a = h
        .post_json(
            &b,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "beta", "vkey": beta.signer.vkey() }),
        )
        .await;
    h.expect(
        &a,
        503,
        Some("log_behind"),
        "a registration on a log behind its witness",
    );
    let a = h
        .post_json(
            &b,
            keys,
            Some(ADMIN_TOKEN),
            &change("add", fresh_acme_key()),
        )
        .await;
    h.expect(
        &a,
        503,
        Some("log_behind"),
        "a key change on a log behind its witness",
    );
    h.expect(
        &h.get(&b, "/metrics").await,
        200,
        None,
        "metrics of a log behind",
    );
}

/// A fresh key of acme.
fn fresh_acme_key() -> String {
    Signer::generate("acme").unwrap().vkey()
}

/// A log whose witness never answers: it holds (`starting`), and with
/// `--max-in-flight 1` a submission waiting for it makes every other request
/// `503 overloaded`.
async fn starting_log(h: H, dir: std::path::PathBuf) {
    let data = dir.join("log");
    let acme = Tenant::new("acme");
    let mut first = Server::start(&data, &[]);
    register(&first, &acme).await;
    let log_vkey = first.log_key().vkey();
    first.stop();
    // A witness that is gone: its address refuses connections.
    let gone = WatchingWitness::start_named(
        &dir.join("w"),
        "gone.example",
        "127.0.0.1:0",
        "localhost/rootlog",
        &log_vkey,
    );
    let witness = format!("{}@{}", gone.vkey, gone.url);
    drop(gone);
    let log = Server::start(
        &data,
        &[
            "--witness",
            &witness,
            "--witness-check-wait",
            "10m",
            "--max-in-flight",
            "1",
        ],
    );
    let t = Target::both(&log);
    let health = wait_health(&h, &t, "starting").await;
    assert_eq!(health["sequencing"]["reason"], "starting", "{health}");

    // The submission waits (5 s) for the guard, holding the one permit.
    let blocker = {
        let (h, t) = (h.clone(), t.clone());
        let note = acme.statement(&common::day(0), 0);
        tokio::spawn(async move { h.submit(&t, "", &note).await })
    };
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for (method, path) in sample_requests(&h.spec) {
        let a = h.send(&t, &method, &path, &[], None).await;
        // A HEAD answer has the status and headers of the GET, no body to name the code.
        h.expect(
            &a,
            503,
            (method != "HEAD").then_some("overloaded"),
            &format!("{method} {path} while at --max-in-flight"),
        );
    }
    for (method, path) in [
        ("GET", "/nothing"),
        ("DELETE", "/checkpoint"),
        ("GET", "/tile/nothing"),
    ] {
        let a = h.send(&t, method, path, &[], None).await;
        h.expect(
            &a,
            503,
            Some("overloaded"),
            &format!("{method} {path} while at --max-in-flight"),
        );
    }
    let a = blocker.await.unwrap();
    h.expect(&a, 503, Some("starting"), "a submission while starting");
    let beta = Tenant::new("beta");
    let a = h
        .post_json(
            &t,
            "/v1/tenants",
            Some(ADMIN_TOKEN),
            &json!({ "id": "beta", "vkey": beta.signer.vkey() }),
        )
        .await;
    h.expect(&a, 503, Some("starting"), "a registration while starting");
    let a = h
        .post_json(
            &t,
            "/v1/tenants/acme/keys",
            Some(ADMIN_TOKEN),
            &json!({ "action": "add", "vkey": fresh_acme_key() }),
        )
        .await;
    h.expect(&a, 503, Some("starting"), "a key change while starting");
}

/// `--rate-per-ip 1`: every operation, unknown paths and wrong methods too,
/// answer `429 rate_limited` once the client's allowance is spent.
async fn rate_limited_log(h: H, dir: std::path::PathBuf) {
    let log = Server::start(&dir, &["--rate-per-ip", "1"]);
    let t = Target::both(&log);
    let mut requests = sample_requests(&h.spec);
    requests.extend([
        ("GET".to_string(), "/nothing".to_string()),
        ("DELETE".to_string(), "/checkpoint".to_string()),
        ("GET".to_string(), "/tile/nothing".to_string()),
    ]);
    for (method, path) in requests {
        let mut limited = false;
        for _ in 0..8 {
            if h.send(&t, &method, &path, &[], None).await.status == 429 {
                limited = true;
                break;
            }
        }
        if !limited {
            h.fail(format!("{method} {path} was never rate limited"));
        }
    }
}

/// `--admin-listen`: the admin operations on the admin listener only, which
/// serves the tenant reads and `/healthz` too.
async fn separate_admin_listener(h: H, dir: std::path::PathBuf) {
    let admin_addr = format!("127.0.0.1:{}", free_port());
    let log = Server::start(&dir, &["--admin-listen", &admin_addr]);
    let public = Target {
        url: log.url.clone(),
        listener: Listener::Public,
    };
    let admin = Target {
        url: format!("http://{admin_addr}"),
        listener: Listener::Admin,
    };
    let acme = Tenant::new("acme");
    let body = json!({ "id": "acme", "vkey": acme.signer.vkey() });
    let a = h
        .post_json(&public, "/v1/tenants", Some(ADMIN_TOKEN), &body)
        .await;
    h.expect(
        &a,
        405,
        Some("method_not_allowed"),
        "registering on the public listener",
    );
    let keys = json!({ "action": "add", "vkey": fresh_acme_key() });
    let a = h
        .post_json(&public, "/v1/tenants/acme/keys", Some(ADMIN_TOKEN), &keys)
        .await;
    h.expect(
        &a,
        404,
        Some("no_such_route"),
        "a key change on the public listener",
    );
    let a = h
        .get_with(
            &public,
            "/v1/admin/backup",
            &[("authorization", &format!("Bearer {ADMIN_TOKEN}"))],
        )
        .await;
    h.expect(
        &a,
        404,
        Some("no_such_route"),
        "a backup on the public listener",
    );
    let a = h
        .post_json(&admin, "/v1/tenants", Some(ADMIN_TOKEN), &body)
        .await;
    h.expect(&a, 201, None, "registering on the admin listener");
    for target in [&public, &admin] {
        h.expect(
            &h.get(target, "/v1/tenants").await,
            200,
            None,
            "the tenant list",
        );
        h.expect(
            &h.get(target, "/v1/tenants/acme").await,
            200,
            None,
            "a tenant",
        );
        h.expect(&h.get(target, "/healthz").await, 200, None, "health");
    }
    h.expect(
        &h.get(&admin, "/checkpoint").await,
        404,
        Some("no_such_route"),
        "the checkpoint on the admin listener",
    );
    h.expect(
        &h.submit(&admin, "", &acme.statement(&common::day(0), 0))
            .await,
        404,
        Some("no_such_route"),
        "a submission on the admin listener",
    );
    let a = h.send(&admin, "DELETE", "/v1/tenants", &[], None).await;
    h.expect(
        &a,
        405,
        Some("method_not_allowed"),
        "DELETE /v1/tenants on the admin listener",
    );
    let a = h.send(&public, "DELETE", "/v1/tenants", &[], None).await;
    h.expect(
        &a,
        405,
        Some("method_not_allowed"),
        "DELETE /v1/tenants on the public listener",
    );
}

/// A submission waiting longer than 30 seconds for a witness that went away
/// is cut off: `408` with an empty body.
async fn cut_off_submission(h: H, dir: std::path::PathBuf) {
    let data = dir.join("log");
    let mut first = Server::start(&data, &["--origin", ORIGIN]);
    let log_vkey = first.log_key().vkey();
    first.stop();
    let w = WatchingWitness::start_named(
        &dir.join("w"),
        "w2.example",
        "127.0.0.1:0",
        ORIGIN,
        &log_vkey,
    );
    let witness = format!("{}@{}", w.vkey, w.url);
    let log = Server::start(
        &data,
        &[
            "--origin",
            ORIGIN,
            "--witness",
            &witness,
            "--witness-wait",
            "60s",
        ],
    );
    let t = Target::both(&log);
    wait_health(&h, &t, "ok").await;
    let acme = Tenant::new("acme");
    register(&log, &acme).await;
    drop(w);
    let started = Instant::now();
    let a = h
        .submit(&t, "?wait=witnessed", &acme.statement(&common::day(0), 0))
        .await;
    h.expect(&a, 408, None, "a submission waiting over 30 seconds");
    assert!(started.elapsed() >= Duration::from_secs(29));
}

#[test]
fn the_sample_requests_reach_every_operation() {
    // The overload and rate-limit sweeps send one request per operation:
    // each must be matched to that operation.
    let spec = openapi::load();
    for (method, path) in sample_requests(&spec) {
        let m = spec.match_path(&path).unwrap().unwrap();
        assert!(spec.params_valid(&m.template, &m.params), "{path}");
        let op = format!("/paths/{}/{}", escape(&m.template), method.to_lowercase());
        assert!(spec.doc.pointer(&op).is_some(), "{method} {path}");
    }
}
