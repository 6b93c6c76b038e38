//! `rootlog tenant`: registering a tenant, changing its keys, and listing
//! or showing tenants, all through the log's HTTP API.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};

use rootlog::client::LogClient;
use rootlog::tenant_key::{KeyStatus, TenantRecord};

use super::{runtime, value_or_file};

pub fn tenant_add(
    log: &str,
    id: &str,
    vkey: &str,
    token: Option<String>,
    token_file: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let token = admin_token(token, token_file)?;
    let vkey = value_or_file(vkey)?;
    let (status, body) = runtime()?.block_on(LogClient::new(log).add_tenant(&token, id, &vkey))?;
    rootlog::errln!(
        "{}",
        if status == 201 {
            "registered"
        } else {
            "already registered with this key"
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn admin_token(
    token: Option<String>,
    token_file: Option<PathBuf>,
) -> anyhow::Result<String> {
    Ok(match (token, token_file) {
        (Some(t), _) => t,
        (None, Some(path)) => fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?.trim().to_string(),
        (None, None) => bail!("the admin token is needed: set ROOTLOG_ADMIN_TOKEN, or pass --token or --token-file <data>/admin.token"),
    })
}

/// `tenant add-key`, `retire-key`, `revoke-key`: prints the tenant record and
/// the key-change entry with its proof.
pub fn tenant_key_change(
    args: &crate::KeyChangeArgs,
    action: &str,
    effective: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let token = admin_token(args.token.clone(), args.token_file.clone())?;
    let vkey = value_or_file(&args.vkey)?;
    let client = LogClient::new(&args.log);
    let (status, body) =
        runtime()?.block_on(client.change_key(&token, &args.id, action, &vkey, effective))?;
    let index = &body["entry"]["index"];
    rootlog::errln!(
        "{}",
        if status == 201 {
            format!("logged: {action} at index {index}")
        } else {
            format!("already so: the entry at index {index} did it")
        }
    );
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}

/// `tenant list`: every tenant of the log with its keys' status, as the
/// log's JSON (`--json`) or one line per tenant and one per key.
pub fn tenant_list(log: &str, json: bool) -> anyhow::Result<ExitCode> {
    let body = runtime()?.block_on(LogClient::new(log).get_json("/v1/tenants"))?;
    if json {
        rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
        return Ok(ExitCode::SUCCESS);
    }
    let tenants: Vec<TenantRecord> = serde_json::from_value(body["tenants"].clone())
        .context("the log's answer to GET /v1/tenants is not a list of tenant records")?;
    rootlog::out!("{}", tenants_text(&tenants));
    Ok(ExitCode::SUCCESS)
}

/// The text `tenant list` prints: per tenant, its id, whether a key of it
/// signs now and when it was registered, then each key with the log entries
/// that added and stopped it (an auditor fetches those to check them).
fn tenants_text(tenants: &[TenantRecord]) -> String {
    let mut out = String::new();
    for tenant in tenants {
        let state = if tenant.active { "active" } else { "inactive" };
        out.push_str(&format!(
            "{}  {state}  registered {}\n",
            tenant.id, tenant.created_at
        ));
        for key in &tenant.keys {
            let status = match key.status {
                KeyStatus::Active => "active",
                KeyStatus::Retired => "retired",
                KeyStatus::Revoked => "revoked",
            };
            out.push_str(&format!(
                "  {status:<8} {}  added {} (entry {})",
                key.vkey, key.added_at, key.added_index
            ));
            // The first stop is the retirement, or the revocation of a key
            // never retired; a later revocation of a retired key follows it.
            if let (Some(at), Some(index)) = (&key.changed_at, key.changed_index) {
                let first = if key.revoked_index.is_some() || key.status == KeyStatus::Retired {
                    "retired"
                } else {
                    "revoked"
                };
                out.push_str(&format!(", {first} {at} (entry {index})"));
            }
            if let (Some(at), Some(index)) = (&key.revoked_at, key.revoked_index) {
                out.push_str(&format!(", revoked {at} (entry {index})"));
            }
            out.push('\n');
        }
    }
    let active = tenants.iter().filter(|t| t.active).count();
    let noun = if tenants.len() == 1 {
        "tenant"
    } else {
        "tenants"
    };
    out.push_str(&format!("{} {noun}, {active} active\n", tenants.len()));
    out
}

pub fn tenant_show(log: &str, id: &str) -> anyhow::Result<ExitCode> {
    let body = runtime()?.block_on(LogClient::new(log).get_json(&format!("/v1/tenants/{id}")))?;
    rootlog::outln!("{}", serde_json::to_string_pretty(&body)?);
    Ok(ExitCode::SUCCESS)
}
