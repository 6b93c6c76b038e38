//! A real browser for the auditor's page's tests: Debian's headless
//! Chromium driven through ChromeDriver's WebDriver protocol (plain JSON
//! over HTTP, spoken here with reqwest), and a proxy that alters one byte
//! of chosen answers on their way to the browser.
//!
//! Chromium runs with a fresh profile and without its background
//! networking, so nothing it does reaches beyond 127.0.0.1; both processes
//! are killed when the [`Browser`] is dropped.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// A headless Chromium session.
pub struct Browser {
    driver: Child,
    endpoint: String,
    http: reqwest::Client,
    /// The profile directory; removed after the browser is gone.
    _profile: tempfile::TempDir,
}

impl Browser {
    /// True if Chromium, ChromeDriver and the page (`scripts/build-page`
    /// before the build) are all here; otherwise fails under CI or tells
    /// the developer loudly that `test` is skipped.
    pub fn available(test: &str) -> bool {
        let missing = if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
            Some("chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)")
        } else if !rootlog::page::built() {
            Some("the page was not built into rootlog (run scripts/build-page, then the tests again)")
        } else {
            None
        };
        super::can_run(test, missing)
    }

    /// Starts ChromeDriver and a headless Chromium session.
    pub async fn start() -> Browser {
        let port = super::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = http.get(format!("{base}/status")).send().await;
            if let Ok(r) = ready {
                let v: Value = r.json().await.unwrap_or_default();
                if v["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1100,1500",
            &format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let session: Value = http
            .post(format!("{base}/session"))
            .json(&caps)
            .send()
            .await
            .expect("new session")
            .json()
            .await
            .unwrap();
        let id = session["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {session}"))
            .to_string();
        Browser {
            driver,
            endpoint: format!("{base}/session/{id}"),
            http,
            _profile: profile,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.endpoint));
        if !body.is_null() {
            request = request.json(&body);
        }
        let answer: Value = request
            .send()
            .await
            .expect("webdriver answers")
            .json()
            .await
            .expect("webdriver JSON");
        if answer["value"]["error"].is_string() {
            panic!("webdriver {path}: {answer}");
        }
        answer["value"].clone()
    }

    /// Opens `url`.
    pub async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await;
    }

    /// Loads the page again (opening the same URL with a fragment would
    /// only move within the document).
    pub async fn reload(&self) {
        self.call(reqwest::Method::POST, "/refresh", json!({}))
            .await;
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page.
    pub async fn eval(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Runs `script` asynchronously: it ends by calling the last of its
    /// `arguments` with its answer.
    pub async fn eval_async(&self, script: &str, args: Value) -> Value {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            json!({"script": script, "args": args}),
        )
        .await
    }

    /// Waits until the element `selector` has `data-done="true"`.
    pub async fn wait_done(&self, selector: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let done = self
                .eval(
                    "const e = document.querySelector(arguments[0]); return e ? e.dataset.done : null;",
                    json!([selector]),
                )
                .await;
            if done == "true" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{selector} never finished: {}",
                self.eval("return document.body.innerText;", json!([]))
                    .await
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every `[data-date]` element below `selector`: (date, verdict, failed checks).
    pub async fn days(&self, selector: &str) -> Vec<(String, String, String)> {
        let v = self
            .eval(
                "return [...document.querySelectorAll(arguments[0] + ' [data-date]')].map(e => [e.dataset.date, e.dataset.verdict || '', e.dataset.failed || '']);",
                json!([selector]),
            )
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// Clicks the calendar's day `date`, which opens its detail.
    pub async fn click_day(&self, date: &str) {
        self.eval(
            "document.querySelector(`#days [data-date='${arguments[0]}'] button`).click();",
            json!([date]),
        )
        .await;
    }

    /// The `data-verdict` and text of the element `selector`.
    pub async fn verdict(&self, selector: &str) -> (String, String) {
        let v = self
            .eval(
                "const e = document.querySelector(arguments[0]); return [e.dataset.verdict, e.innerText];",
                json!([selector]),
            )
            .await;
        serde_json::from_value(v).unwrap()
    }

    /// The WebDriver id of the element `selector`.
    async fn element(&self, selector: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "/element",
                json!({"using": "css selector", "value": selector}),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_string()
    }

    /// Types `keys` into the element `selector` (WebDriver key codes:
    /// `\u{E007}` is Enter), as the keyboard would.
    pub async fn type_keys(&self, selector: &str, keys: &str) {
        let element = self.element(selector).await;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": keys }),
        )
        .await;
    }

    /// Resizes the window (CSS pixels).
    pub async fn resize(&self, width: u32, height: u32) {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            json!({"width": width, "height": height}),
        )
        .await;
    }

    /// Gives `files` to the file input `selector`, as a user choosing them would.
    pub async fn choose_files(&self, selector: &str, files: &[&Path]) {
        let element = self.element(selector).await;
        let paths: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.call(
            reqwest::Method::POST,
            &format!("/element/{element}/value"),
            json!({ "text": paths.join("\n") }),
        )
        .await;
    }

    /// A PNG of the page as it is now, written to `name` in the
    /// screenshots directory ([`screenshot_dir`]); returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        use base64::Engine;
        let png = self
            .call(reqwest::Method::GET, "/screenshot", Value::Null)
            .await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 PNG"))
            .expect("PNG");
        let path = screenshot_dir().join(name);
        std::fs::write(&path, bytes).expect("write screenshot");
        path
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session quits Chromium; killing the driver then
        // takes down anything left.
        delete_session(&self.endpoint);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE` the WebDriver session, synchronously (a drop cannot await):
/// a plain HTTP/1.1 request over a socket.
fn delete_session(endpoint: &str) {
    use std::io::Read;
    let Some(rest) = endpoint.strip_prefix("http://") else {
        return;
    };
    let Some((host, path)) = rest.split_once('/') else {
        return;
    };
    let Ok(mut socket) = std::net::TcpStream::connect(host) else {
        return;
    };
    let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
    let request = format!(
        "DELETE /{path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    if socket.write_all(request.as_bytes()).is_ok() {
        let _ = socket.read_to_end(&mut Vec::new());
    }
}

/// Where the tests put their screenshots: `ROOTLOG_SCREENSHOTS` if set
/// (`docs/screenshots` to refresh the README's), else a directory in
/// cargo's target directory.
pub fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("ROOTLOG_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).expect("screenshot directory");
    dir
}

/// Which answers the proxy alters: a predicate on the request path.
pub type Alter = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// An HTTP proxy on 127.0.0.1 in front of `upstream` that flips one bit of
/// one byte of the body of every answer whose path `alter` picks (the byte
/// `at(len)` chooses), and passes everything else through unchanged.
pub async fn altering_proxy(
    upstream: &str,
    alter: Alter,
    at: fn(&[u8]) -> usize,
) -> (String, tokio::task::JoinHandle<()>) {
    let upstream = upstream.trim_end_matches('/').to_string();
    let client = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let (client, upstream, alter) = (client.clone(), upstream.clone(), alter.clone());
        async move {
            let path = uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.to_string());
            let answer = client
                .get(format!("{upstream}{path}"))
                .send()
                .await
                .expect("upstream answers");
            let status = answer.status().as_u16();
            let ctype = answer
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_string();
            let mut body = answer.bytes().await.unwrap_or_default().to_vec();
            if status == 200 && alter(uri.path()) && !body.is_empty() {
                let i = at(&body);
                body[i] ^= 0x01;
            }
            (
                axum::http::StatusCode::from_u16(status).unwrap(),
                [
                    ("content-type", ctype),
                    ("cache-control", "no-store".into()),
                ],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, task)
}
