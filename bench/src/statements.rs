//! Realistic daily-root statements: the text an archive would sign (with a
//! chain line, so a note is ~300 bytes like production ones) signed by the
//! tenant's Ed25519 key. Shared by the HTTP load and the bulk loader.

use rootlog::merkle::leaf_hash;
use rootlog::note::{Note, Signer};
use rootlog::statement::{ChainHead, Statement};

/// A tenant and its signing key.
pub struct Tenant {
    pub id: String,
    pub signer: Signer,
}

impl Tenant {
    pub fn generate(id: String) -> anyhow::Result<Tenant> {
        let signer = Signer::generate(&id).map_err(|e| anyhow::anyhow!("tenant key {id}: {e}"))?;
        Ok(Tenant { id, signer })
    }
}

/// The signed note of `tenant` for `date`; `seq` only varies the contents.
pub fn signed_statement(tenant: &Tenant, date: time::Date, seq: u64) -> Vec<u8> {
    let text = Statement {
        tenant: tenant.id.clone(),
        date,
        records: 1_000 + seq % 250_000,
        root: leaf_hash(&seq.to_be_bytes()),
        chain: Some(ChainHead {
            seq: 40_000_000 + seq * 1_000,
            hash: leaf_hash(&(!seq).to_be_bytes()),
        }),
    }
    .to_text();
    let mut note = Note::new(text);
    let signature = tenant.signer.sign(note.text.as_bytes());
    note.signatures.push(signature);
    note.to_text().into_bytes()
}

/// The earliest date the log accepts.
pub fn earliest_date() -> time::Date {
    time::macros::date!(1970 - 01 - 01)
}

/// Days the log accepts for one tenant: 1970-01-01 through today (UTC).
pub fn days_available() -> u64 {
    let today = time::OffsetDateTime::now_utc().date();
    (today - earliest_date()).whole_days() as u64 + 1
}

/// The date of `day` counted back from today: day 0 is the oldest of `days` days ending today.
pub fn date_of(day: u64, days: u64) -> time::Date {
    let today = time::OffsetDateTime::now_utc().date();
    today - time::Duration::days((days - 1 - day) as i64)
}

/// Signs `count` statements over `tenants` with distinct (tenant, date),
/// day-major (every tenant's statement for one day, then the next day, as
/// archives publish them), on `threads` threads. Returns them in order.
pub fn sign_all(tenants: &[Tenant], count: usize, threads: usize) -> anyhow::Result<Vec<Vec<u8>>> {
    let t = tenants.len() as u64;
    let days = (count as u64).div_ceil(t);
    if days > days_available() {
        anyhow::bail!(
            "{count} statements over {t} tenants need {days} distinct dates but the log accepts only {} (1970-01-01..today): use more tenants",
            days_available()
        );
    }
    let threads = threads.max(1);
    let chunk = count.div_ceil(threads).max(1);
    let mut out: Vec<Vec<u8>> = Vec::with_capacity(count);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|w| {
                let start = (w * chunk).min(count);
                let end = ((w + 1) * chunk).min(count);
                scope.spawn(move || {
                    (start..end)
                        .map(|j| {
                            let j = j as u64;
                            let tenant = &tenants[(j % t) as usize];
                            signed_statement(tenant, date_of(j / t, days), j)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for h in handles {
            out.extend(h.join().expect("signing thread panicked"));
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootlog::statement::{parse_submission, verify_tenant_signatures};

    #[test]
    fn statements_are_valid_distinct_and_about_300_bytes() {
        let tenants: Vec<Tenant> = (0..3)
            .map(|k| Tenant::generate(format!("bench-test-{k}")).unwrap())
            .collect();
        let all = sign_all(&tenants, 10, 2).unwrap();
        assert_eq!(all.len(), 10);
        let mut seen = std::collections::HashSet::new();
        let today = time::OffsetDateTime::now_utc().date();
        for (j, bytes) in all.iter().enumerate() {
            assert!((250..=350).contains(&bytes.len()), "{} bytes", bytes.len());
            let (note, st) = parse_submission(bytes).unwrap();
            let tenant = &tenants[j % 3];
            assert_eq!(st.tenant, tenant.id);
            assert!(st.date <= today);
            verify_tenant_signatures(&note, &st.tenant, &[tenant.signer.verifier()]).unwrap();
            assert!(seen.insert((st.tenant.clone(), st.date)));
        }
    }
}
