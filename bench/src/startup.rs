//! `startup`: time from spawning `rootlog serve` on a data directory to its
//! first successful `GET /checkpoint`. The server must only read the tree
//! size and the right edge, so this should not grow with the log.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::stats::ResultLine;

pub fn run(bin: &Path, data: &Path, timeout: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut child = Command::new(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--admin-on-public",
            "--data",
        ])
        .arg(data)
        .env("ROOTLOG_LOG", "warn")
        // An admin token from the environment, so start-up writes no token file.
        .env("ROOTLOG_ADMIN_TOKEN", "rootlog-bench-startup-token")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(url) = line.strip_prefix("rootlog: listening on ") {
                let _ = tx.send(url.to_string());
            }
        }
    });
    let result = (|| -> anyhow::Result<(Duration, Duration)> {
        let url = rx
            .recv_timeout(timeout)
            .map_err(|_| anyhow::anyhow!("the server did not start within {timeout:?}"))?;
        let listening = started.elapsed();
        // A plain blocking HTTP/1.1 GET over std, so no runtime start-up is timed.
        let addr = url.trim_start_matches("http://").to_string();
        loop {
            if started.elapsed() > timeout {
                anyhow::bail!("no successful GET /checkpoint within {timeout:?}");
            }
            if get_ok(&addr, "/checkpoint") {
                return Ok((listening, started.elapsed()));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    })();
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    for _ in 0..200 {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let (listening, first) = result?;
    eprintln!(
        "startup: listening after {:.1} ms, first GET /checkpoint answered after {:.1} ms",
        listening.as_secs_f64() * 1000.0,
        first.as_secs_f64() * 1000.0
    );
    ResultLine::new("startup")
        .float("listening_ms", listening.as_secs_f64() * 1000.0)
        .float("startup_ms", first.as_secs_f64() * 1000.0)
        .print();
    Ok(())
}

fn get_ok(addr: &str, path: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}
