//! `cargo run --example export-demo -- --log URL --token-file FILE --log-key VKEY --out DIR`:
//! makes a tenant key, registers the tenant, generates a hash-chained
//! archive export over several days, signs and submits each day's
//! daily-root statement (with its `chain` line), writes the manifest (its
//! `chain_proof.published_to` is the log's tlog-tiles URL prefix), and
//! writes `receipts/`, each day's receipt, verified under the log key.
//! `scripts/export-demo` wraps it and starts a local log when none is given.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use rootlog::client::LogClient;
use rootlog::note::{encode_b64, Signer, Verifier};

mod generate;
mod receipts;

const USAGE: &str = "usage: export-demo --log URL (--token TOKEN | --token-file FILE) --log-key VKEY [--out DIR] [--tenant ID] [--days N] [--records-per-day N] [--first-day YYYY-MM-DD] [--seed N]";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("export-demo: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn run() -> anyhow::Result<()> {
    let mut log = None;
    let mut log_key = None;
    let mut token = std::env::var("ROOTLOG_ADMIN_TOKEN").ok();
    let mut out = PathBuf::from("demo-export");
    let mut tenant = "acme-securities".to_string();
    let mut days = 5u32;
    let mut per_day = 1000u32;
    let mut seed = 1u64;
    let today = time::OffsetDateTime::now_utc().date();
    let mut first_day = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--log" => log = Some(value()?),
            "--log-key" => {
                let v = value()?;
                let text = match v.strip_prefix('@') {
                    Some(path) => std::fs::read_to_string(path)
                        .with_context(|| format!("cannot read {path}"))?,
                    None => v,
                };
                log_key = Some(
                    Verifier::from_vkey(text.trim())
                        .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?,
                )
            }
            "--token" => token = Some(value()?),
            "--token-file" => {
                let path = value()?;
                token = Some(
                    std::fs::read_to_string(&path)
                        .with_context(|| format!("cannot read {path}"))?
                        .trim()
                        .to_string(),
                )
            }
            "--out" => out = PathBuf::from(value()?),
            "--tenant" => tenant = value()?,
            "--days" => days = value()?.parse().context("--days")?,
            "--records-per-day" => per_day = value()?.parse().context("--records-per-day")?,
            "--seed" => seed = value()?.parse().context("--seed")?,
            "--first-day" => {
                let v = value()?;
                first_day = Some(
                    rootlog::statement::parse_date(&v)
                        .with_context(|| format!("--first-day {v:?} is not YYYY-MM-DD"))?,
                )
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let log = log.with_context(|| format!("--log is required\n{USAGE}"))?;
    let token = token.with_context(|| format!("the admin token is required\n{USAGE}"))?;
    let log_key = log_key.with_context(|| {
        format!(
            "--log-key is required (the receipts are verified before they are written)\n{USAGE}"
        )
    })?;
    if days == 0 {
        bail!("--days must be at least 1");
    }
    // By default the export ends yesterday, so every day is inside the log's date window.
    let first_day = first_day.unwrap_or(today - time::Duration::days(i64::from(days)));

    // The tenant's key, as the archive would keep it.
    let keys = out.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("cannot create {}", keys.display()))?;
    let signer = Signer::generate(&tenant).map_err(|e| anyhow::anyhow!("{e}"))?;
    rootlog::identity::write_private_file(
        &keys.join(format!("{tenant}.skey")),
        format!("{}\n", signer.skey()).as_bytes(),
    )?;
    let vkey_path = keys.join(format!("{tenant}.vkey"));
    std::fs::write(&vkey_path, format!("{}\n", signer.vkey()))?;

    let options = generate::Options {
        tenant: tenant.clone(),
        first_day,
        days,
        records_per_day: per_day,
        seed,
        // The tlog-tiles URL prefix: `<published_to>/checkpoint` answers.
        published_to: log.trim_end_matches('/').to_string(),
        swap_statements: None,
    };
    let generated = generate::generate(&signer, &options);

    let rt = tokio::runtime::Runtime::new()?;
    let client = LogClient::new(&log);
    rt.block_on(async {
        let (status, _) = client
            .add_tenant(&token, &tenant, &signer.vkey())
            .await
            .context("registering the tenant")?;
        eprintln!(
            "tenant {tenant} {}",
            if status == 201 {
                "registered"
            } else {
                "already registered"
            }
        );
        for ((date, records, root), statement) in generated.days.iter().zip(&generated.statements) {
            let (_, entry) = client
                .submit(statement)
                .await
                .with_context(|| format!("submitting {date}"))?;
            eprintln!(
                "{date}: {records:>5} records, root {} -> index {}",
                encode_b64(root),
                entry.index
            );
        }
        let dates: Vec<String> = generated.days.iter().map(|d| d.0.clone()).collect();
        receipts::write_receipts(&client, &tenant, &dates, &log_key, &out.join("receipts")).await
    })?;

    let manifest_path = out.join("manifest.json");
    std::fs::write(
        &manifest_path,
        serde_json::to_string_pretty(&generated.manifest)? + "\n",
    )?;
    let records = generated.days.iter().map(|d| d.1).sum::<u64>();
    eprintln!(
        "wrote {} ({records} records over {days} days), {days} verified receipts in {} and the tenant key {}",
        manifest_path.display(),
        out.join("receipts").display(),
        vkey_path.display()
    );
    println!("{}", manifest_path.display());
    Ok(())
}
