//! A stock nginx serving a directory (a static tlog-tiles mirror) on
//! 127.0.0.1, for the tests that read a published mirror over HTTP.
//!
//! When nginx is not installed, `Nginx::available` fails the test if `CI`
//! is set, and otherwise prints a loud notice so the caller can skip.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A stock nginx serving one directory on 127.0.0.1; killed when dropped.
pub struct Nginx {
    child: Child,
    pub url: String,
    /// Config, pid and logs; removed (after nginx is killed) on drop.
    prefix: tempfile::TempDir,
}

impl Nginx {
    /// True if an `nginx` binary runs; otherwise fails under CI or tells the
    /// developer loudly that the test is skipped.
    pub fn available(test: &str) -> bool {
        super::can_run(
            test,
            (!super::runs("nginx", "-v"))
                .then_some("nginx is not installed (apt-get install -y nginx)"),
        )
    }

    /// Starts nginx with its own minimal config, serving `root`.
    pub fn start(root: &Path) -> Nginx {
        let prefix = tempfile::tempdir().unwrap();
        let port = super::free_port();
        let p = prefix.path().display();
        // The README's example, cut down to what a test needs: single
        // process (no privilege drop, so it reads our temp directories),
        // no daemon, everything under the temporary prefix.
        let conf = format!(
            r#"daemon off;
master_process off;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections 64; }}
http {{
    log_format paths '$request_uri $status';
    access_log {p}/access.log paths;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    default_type application/octet-stream;
    # The auditor's page beside the tiles (a stock nginx.conf includes
    # mime.types, which has these).
    types {{ text/html html; text/javascript js; text/css css; application/wasm wasm; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location = /checkpoint {{
            default_type "text/plain; charset=utf-8";
            add_header Cache-Control "no-cache" always;
        }}
        location /tile/ {{
            add_header Cache-Control "public, max-age=31536000, immutable" always;
        }}
        location ~ "\.p/[0-9]+$" {{
            add_header Cache-Control "public, max-age=5" always;
        }}
        location /locator/ {{
            default_type application/json;
            add_header Cache-Control "no-cache" always;
        }}
        location ~ /\. {{
            return 404;
        }}
    }}
}}
"#,
            root = root.display()
        );
        let conf_path = prefix.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let mut child = Command::new("nginx")
            .arg("-c")
            .arg(&conf_path)
            .arg("-p")
            .arg(prefix.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    std::fs::read_to_string(prefix.path().join("error.log")).unwrap_or_default();
                panic!("nginx exited with {status}: {log}");
            }
            assert!(Instant::now() < deadline, "nginx did not start listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        Nginx {
            child,
            url: format!("http://127.0.0.1:{port}"),
            prefix,
        }
    }

    /// The paths requested so far, each with its status (`/tile/0/000 200`),
    /// from nginx's access log (written as each request completes).
    pub fn requests(&self) -> Vec<String> {
        std::fs::read_to_string(self.prefix.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
