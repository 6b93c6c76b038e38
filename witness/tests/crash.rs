//! Crash safety of the witness: clients push a growing, honest log while the
//! witness is killed with SIGKILL at random moments. After each restart the
//! witness still holds at least every size it cosigned (its state never rolls
//! back), so it refuses a forked checkpoint at that size: it never cosigns two
//! inconsistent checkpoints across kills.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{body, TestLog, WitnessProcess};
use rootlog_tlog::note::Signer;

/// `ROOTLOG_CRASH_CYCLES` (scripts/crash-test sets it), else a short run.
fn cycles() -> u64 {
    std::env::var("ROOTLOG_CRASH_CYCLES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(5)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cosigned_state_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("witness");
    let origin = "crash.example/log";
    let signer = Signer::generate(origin).unwrap();
    let log = Arc::new(Mutex::new(TestLog::with_signer(
        origin,
        Signer::from_skey(&signer.skey()).unwrap(),
        0,
    )));
    let mut fork = TestLog::with_signer(origin, signer, 1);
    let args = vec![
        "--name".to_string(),
        "crash-witness.example".into(),
        "--log".into(),
        log.lock().unwrap().flag(),
    ];
    let mut witness = WitnessProcess::start(&data, &args);
    let http = reqwest::Client::new();
    let mut cosigned_max = 0u64;
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
        | 1;
    eprintln!("witness crash seed {seed}");

    for _ in 0..cycles() {
        // Pushers: each grows the honest tree a little and pushes from the size the witness reports.
        let highest = Arc::new(Mutex::new(0u64));
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let (http, url, log, highest) = (
                http.clone(),
                witness.url.clone(),
                log.clone(),
                highest.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut old = 0u64;
                loop {
                    let request = {
                        let mut log = log.lock().unwrap();
                        let new = log.size() + 3;
                        log.grow_to(new);
                        let proof = if old == 0 {
                            Vec::new()
                        } else {
                            log.proof(old, new)
                        };
                        (new, body(old, &proof, &log.checkpoint(new)))
                    };
                    let Ok(response) = http
                        .post(format!("{url}/add-checkpoint"))
                        .body(request.1)
                        .send()
                        .await
                    else {
                        return;
                    };
                    match response.status().as_u16() {
                        200 => {
                            old = request.0;
                            let mut h = highest.lock().unwrap();
                            *h = (*h).max(request.0);
                        }
                        409 => {
                            old = response
                                .text()
                                .await
                                .unwrap_or_default()
                                .trim()
                                .parse()
                                .unwrap_or(0)
                        }
                        status => panic!("an honest push got {status}"),
                    }
                }
            }));
        }
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(50 + seed % 300)).await;
        witness.kill();
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        cosigned_max = cosigned_max.max(*highest.lock().unwrap());
        witness = WitnessProcess::start(&data, &args);

        // The witness remembers at least the largest size it cosigned...
        let probe = body(0, &[], &log.lock().unwrap().checkpoint(1));
        let stored: u64 = http
            .post(format!("{}/add-checkpoint", witness.url))
            .body(probe)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            stored >= cosigned_max,
            "the witness forgot: it stores {stored} but cosigned {cosigned_max}"
        );
        // ...so a fork at its stored size, signed by the same log key, is refused.
        if stored > 0 {
            fork.grow_to(stored);
            let forked = http
                .post(format!("{}/add-checkpoint", witness.url))
                .body(body(stored, &[], &fork.checkpoint(stored)))
                .send()
                .await
                .unwrap();
            assert_ne!(
                forked.status().as_u16(),
                200,
                "the witness cosigned a fork at size {stored} after a restart"
            );
        }
    }
    eprintln!("{} kills: the witness kept every cosigned size (largest {cosigned_max}) and refused every fork", cycles());
    assert!(cosigned_max > 0);
}
