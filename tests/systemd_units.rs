//! The systemd units in `contrib/systemd/`: `systemd-analyze verify` and
//! `systemd-analyze security` accept them, their command lines start the
//! real binaries (with the example config), the backup script takes a
//! checked backup of a real log, and the sysusers files create the users
//! the units run as.
//!
//! `systemd-analyze verify` refuses a unit whose `ExecStart=` program does
//! not exist, so it checks copies whose programs are the binaries this test
//! suite built (and the backup script in the repository). Without
//! `systemd-analyze` (or `systemd-sysusers`) those tests print a loud
//! notice and skip, except under CI (`CI` set), where `.ci/run` installs
//! the `systemd` package and they must run.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{register, rootlog_bin, witness_bin, Server, Tenant, ADMIN_TOKEN};

const SERVICES: [&str; 3] = [
    "rootlog.service",
    "rootlog-witness.service",
    "rootlog-backup.service",
];
const TIMERS: [&str; 1] = ["rootlog-backup.timer"];

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib/systemd")
}

/// True if `tool` runs; otherwise fails under CI or says loudly that the
/// test is skipped.
fn available(test: &str, tool: &str) -> bool {
    let missing = format!("{tool} is missing (apt-get install -y systemd)");
    common::can_run(test, (!common::runs(tool, "--version")).then_some(&missing))
}

/// A unit file's settings, by section, each key with every value it is given.
fn settings(unit: &str) -> BTreeMap<(String, String), Vec<String>> {
    let text = std::fs::read_to_string(contrib().join(unit)).expect("unit file");
    let mut section = String::new();
    let mut out: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (key, value) = line.split_once('=').expect("key=value");
        out.entry((section.clone(), key.trim().to_string()))
            .or_default()
            .push(value.trim().to_string());
    }
    out
}

fn one(unit: &str, key: &str) -> String {
    let all = settings(unit);
    let values = all
        .get(&("Service".to_string(), key.to_string()))
        .unwrap_or_else(|| panic!("{unit} sets no {key}="));
    values.last().unwrap().clone()
}

/// The programs the units run, and what the test copies run instead.
fn programs() -> [(&'static str, PathBuf); 3] {
    [
        ("/usr/local/bin/rootlog-witness ", witness_bin()),
        ("/usr/local/bin/rootlog ", PathBuf::from(rootlog_bin())),
        (
            "/usr/local/sbin/rootlog-backup",
            contrib().join("rootlog-backup"),
        ),
    ]
}

/// Copies of every unit into `dir`, each `ExecStart=` program replaced by
/// one that exists here.
fn copies(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for unit in SERVICES.iter().chain(&TIMERS) {
        let mut text = std::fs::read_to_string(contrib().join(unit)).expect("unit file");
        if unit.ends_with(".service") {
            let before = text.clone();
            for (program, here) in programs() {
                let here = format!("{}{}", here.display(), &program[program.trim_end().len()..]);
                text = text.replace(
                    &format!("ExecStart={program}"),
                    &format!("ExecStart={here}"),
                );
            }
            assert_ne!(
                text, before,
                "{unit}: ExecStart= runs none of the installed programs"
            );
        }
        let path = dir.join(unit);
        std::fs::write(&path, text).unwrap();
        out.push(path);
    }
    out
}

#[test]
fn units_pass_systemd_analyze_verify() {
    if !available("units_pass_systemd_analyze_verify", "systemd-analyze") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let units = copies(dir.path());
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&units)
        .output()
        .expect("systemd-analyze runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{said}"
    );
    // A setting systemd cannot parse is only a warning ("Unknown key ...,
    // ignoring"), and an ignored hardening line is a hole: none may be said
    // about our units (lines about the host's own units are not ours).
    let ours: Vec<&str> = said
        .lines()
        .filter(|l| {
            l.contains(&*dir.path().to_string_lossy())
                || SERVICES.iter().chain(&TIMERS).any(|u| l.contains(u))
        })
        .collect();
    assert!(
        ours.is_empty(),
        "systemd-analyze verify warns:\n{}",
        ours.join("\n")
    );
}

#[test]
fn services_are_sandboxed_and_stop_gracefully() {
    // What the units promise, whatever systemd-analyze rates them.
    for unit in SERVICES {
        assert_ne!(one(unit, "User"), "root", "{unit}");
        assert_eq!(one(unit, "CapabilityBoundingSet"), "", "{unit}");
        for key in [
            "NoNewPrivileges",
            "ProtectHome",
            "PrivateTmp",
            "PrivateDevices",
            "MemoryDenyWriteExecute",
        ] {
            assert_eq!(one(unit, key), "yes", "{unit}: {key}");
        }
        assert_eq!(one(unit, "ProtectSystem"), "strict", "{unit}");
        assert_eq!(one(unit, "SystemCallFilter"), "~@privileged", "{unit}");
        assert!(
            settings(unit)[&("Service".into(), "SystemCallFilter".into())]
                .contains(&"@system-service".to_string())
        );
        assert!(one(unit, "StateDirectory").starts_with("rootlog"), "{unit}");
    }
    for unit in ["rootlog.service", "rootlog-witness.service"] {
        assert_eq!(one(unit, "KillSignal"), "SIGTERM", "{unit}");
        assert_eq!(one(unit, "Restart"), "on-failure", "{unit}");
        // The listener lets open connections finish for up to 30 s after
        // SIGTERM (src/listener.rs); the log then drains and flushes.
        let stop = humantime::parse_duration(&one(unit, "TimeoutStopSec")).unwrap();
        assert!(
            stop > Duration::from_secs(30),
            "{unit}: TimeoutStopSec {stop:?}"
        );
        // Room for the default --max-connections (4096) and the files.
        let files: u64 = one(unit, "LimitNOFILE").parse().unwrap();
        assert!(files >= 8192, "{unit}: LimitNOFILE {files}");
    }

    if !available(
        "services_are_sandboxed_and_stop_gracefully",
        "systemd-analyze",
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    copies(dir.path());
    for unit in SERVICES {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(dir.path().join(unit))
            .output()
            .expect("systemd-analyze runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let exposure: f64 = text
            .lines()
            .find_map(|l| {
                l.split_once("Overall exposure level for ")?
                    .1
                    .split_once(": ")?
                    .1
                    .split(' ')
                    .next()?
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| {
                panic!(
                    "{unit}: no exposure level in\n{text}{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            });
        // 0 is a fully locked-down unit, 10 an unsandboxed one; "OK" is
        // below 2. A network server cannot have a private network.
        assert!(exposure <= 2.0, "{unit}: exposure {exposure}\n{text}");
    }
}

/// `ExecStart=`'s arguments after the program.
fn exec_args(unit: &str) -> Vec<String> {
    let line = one(unit, "ExecStart");
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn the_log_unit_starts_the_log_with_the_example_config() {
    let args = exec_args("rootlog.service");
    assert_eq!(args[0], "serve");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut extra: Vec<String> = Vec::new();
    let mut it = args[1..].iter();
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} has no value"));
        match flag.as_str() {
            // The data directory is the unit's state directory (%S is /var/lib).
            "--data" => assert_eq!(
                value,
                &format!("%S/{}", one("rootlog.service", "StateDirectory"))
            ),
            "--config" => {
                assert_eq!(value, "/etc/rootlog/rootlog.toml");
                extra.push(flag.clone());
                extra.push(contrib().join("rootlog.toml").display().to_string());
            }
            other => panic!("the test does not know ExecStart's {other}"),
        }
    }
    // On ports of its own; everything else from the example config.
    extra.extend(["--admin-listen".into(), "127.0.0.1:0".into()]);
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let server = Server::try_start(&data, &extra).expect("rootlog serve with the unit's flags");
    let checkpoint = server.client().checkpoint().await.unwrap();
    assert_eq!(
        checkpoint.lines().next(),
        Some("transparency.archive.example/rootlog"),
        "the origin of contrib/systemd/rootlog.toml"
    );
}

#[test]
fn the_witness_unit_starts_the_witness() {
    let env_file = std::fs::read_to_string(contrib().join("rootlog-witness.env")).unwrap();
    let name = env_file
        .lines()
        .find_map(|l| l.strip_prefix("WITNESS_NAME="))
        .expect("rootlog-witness.env sets WITNESS_NAME")
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let config = dir.path().join("witness.toml");
    let log = rootlog::note::Signer::generate("log.example/rootlog").unwrap();
    std::fs::write(
        &config,
        format!(
            "[[log]]\norigin = \"log.example/rootlog\"\nvkeys = [\"{}\"]\n",
            log.vkey()
        ),
    )
    .unwrap();
    let args: Vec<String> = exec_args("rootlog-witness.service")
        .into_iter()
        .map(|a| match a.as_str() {
            "%S/rootlog-witness" => data.display().to_string(),
            "/etc/rootlog-witness/witness.toml" => config.display().to_string(),
            "${WITNESS_LISTEN}" => "127.0.0.1:0".to_string(),
            "${WITNESS_NAME}" => name.clone(),
            _ => a,
        })
        .collect();
    assert!(
        args.iter().all(|a| !a.contains('$') && !a.contains('%')),
        "{args:?}"
    );
    let mut child = Command::new(witness_bin())
        .args(&args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        line.starts_with("rootlog-witness: listening on http://127.0.0.1:"),
        "{line:?}"
    );
    let vkey = Command::new(witness_bin())
        .arg("vkey")
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&vkey.stdout).starts_with(&format!("{name}+")));
}

#[tokio::test]
async fn the_backup_script_takes_a_checked_backup_of_a_running_log() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backups = dir.path().join("backups");
    let mut server = Server::start(&data, &[]);
    let tenant = Tenant::new("acme-securities");
    register(&server, &tenant).await;
    let (status, _) = server
        .client()
        .submit(&tenant.statement(&common::day(1), 1))
        .await
        .unwrap();
    assert_eq!(status, 201);
    // A backup older than ROOTLOG_BACKUP_KEEP_DAYS goes; a newer one stays.
    std::fs::create_dir_all(&backups).unwrap();
    let old = backups.join("rootlog-2001-01-01.backup");
    let recent = backups.join("rootlog-2001-01-02.backup");
    std::fs::write(&old, "old").unwrap();
    std::fs::write(&recent, "recent").unwrap();
    let month_ago = std::time::SystemTime::now() - Duration::from_secs(31 * 86_400);
    let week_ago = std::time::SystemTime::now() - Duration::from_secs(7 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(month_ago)
        .unwrap();
    std::fs::File::options()
        .write(true)
        .open(&recent)
        .unwrap()
        .set_modified(week_ago)
        .unwrap();

    let run = |url: &str| {
        Command::new("sh")
            .arg(contrib().join("rootlog-backup"))
            .env("ROOTLOG", rootlog_bin())
            .env("ROOTLOG_DATA", &data)
            .env("ROOTLOG_ADMIN_URL", url)
            .env("ROOTLOG_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("ROOTLOG_BACKUP_DIR", &backups)
            .env("ROOTLOG_BACKUP_KEEP_DAYS", "30")
            .env("ROOTLOG_LOG", "warn")
            .output()
            .expect("sh runs")
    };
    let out = run(&server.url);
    assert!(
        out.status.success(),
        "rootlog-backup failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let today = rootlog::statement::format_date(time::OffsetDateTime::now_utc().date());
    let backup = backups.join(format!("rootlog-{today}.backup"));
    assert!(backup.is_file(), "no {}", backup.display());
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(backups.join(format!("rootlog-{today}.fsck.json"))).unwrap(),
    )
    .unwrap();
    assert_eq!(report["ok"], true, "{report}");
    // The registration and the statement.
    assert_eq!(report["tree_size"], 2, "{report}");
    assert!(!old.exists(), "the month-old backup was kept");
    assert!(recent.exists(), "the week-old backup was deleted");
    let left: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.') || n.ends_with(".partial"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // With the log gone, the script fails and leaves no scratch behind.
    server.stop();
    let out = run(&server.url);
    assert!(
        !out.status.success(),
        "rootlog-backup succeeded without a log"
    );
    let left: Vec<_> = std::fs::read_dir(&backups)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

#[test]
fn the_sysusers_files_create_the_users_the_units_run_as() {
    if !available(
        "the_sysusers_files_create_the_users_the_units_run_as",
        "systemd-sysusers",
    ) {
        return;
    }
    for (file, unit) in [
        ("rootlog.sysusers", "rootlog.service"),
        ("rootlog-witness.sysusers", "rootlog-witness.service"),
    ] {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        let out = Command::new("systemd-sysusers")
            .arg(format!("--root={}", root.path().display()))
            .arg(contrib().join(file))
            .output()
            .expect("systemd-sysusers runs");
        assert!(
            out.status.success(),
            "{file}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
        let user = one(unit, "User");
        let entry = passwd
            .lines()
            .find(|l| l.starts_with(&format!("{user}:")))
            .unwrap_or_else(|| panic!("{file} makes no user {user}: {passwd}"));
        let fields: Vec<&str> = entry.split(':').collect();
        assert_eq!(
            fields[5],
            format!("/var/lib/{}", one(unit, "StateDirectory")),
            "{entry}"
        );
        let group = std::fs::read_to_string(root.path().join("etc/group")).unwrap();
        assert!(
            group
                .lines()
                .any(|l| l.starts_with(&format!("{}:", one(unit, "Group")))),
            "{group}"
        );
    }
}
