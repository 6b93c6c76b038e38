//! An export's verdict checks, shared by `rootlog verify-export` and the
//! auditor's page: the manifest's own findings as report checks, a day
//! compared with its statement, and (offline) every day judged from the
//! export's receipts. The caller fetches (the log, a mirror, a directory of
//! receipts, files dropped on the page); the checks and their wording are
//! here, once.

use std::collections::BTreeMap;

use super::{compare_day, to_hex, DayExpectation, ManifestCheck, ManifestHeader};
use crate::note::encode_b64;
use crate::receipt::Receipt;
use crate::statement::{format_date, parse_submission, Statement};
use crate::timebound::MaxDelay;
use crate::verdict::{Check, Report, StatementReport};
use crate::verify::Trust;

/// The manifest's own checks, as report checks. `log` is what is read
/// (None offline).
pub fn manifest_checks(
    manifest: &ManifestHeader,
    check: &ManifestCheck,
    log: Option<&str>,
    report: &mut Report,
) {
    let records = manifest.records;
    let span = match (manifest.first_seq, manifest.last_seq) {
        (Some(a), Some(b)) => format!(", seq {a}..{b}"),
        _ => String::new(),
    };
    let what = format!(
        "tenant {}, {}..{} ({} days), {records} records{span}",
        check.tenant,
        format_date(check.from),
        format_date(check.to),
        check.days.len(),
    );
    if check.problems.is_empty() {
        let head = check
            .days
            .last()
            .and_then(|d| d.head)
            .map(|h| {
                format!(
                    "; chain head at the end: seq {} sha256 {}",
                    h.seq,
                    to_hex(&h.hash)
                )
            })
            .unwrap_or_default();
        report.checks.push(Check::pass(
            "export_chain",
            format!("{what}: one unbroken hash chain{head}"),
        ));
    }
    for problem in &check.problems {
        report
            .checks
            .push(Check::fail("export_chain", problem.clone()));
    }
    if let Some(to) = manifest
        .chain_proof
        .as_ref()
        .and_then(|c| c.published_to.as_deref())
    {
        let read = match log {
            Some(log) if log.trim_end_matches('/') == to.trim_end_matches('/') => {
                "; verified against it".to_string()
            }
            Some(log) => format!("; verified against {log} (--log)"),
            None => "; not read (offline, from receipts)".to_string(),
        };
        report.checks.push(Check::pass(
            "published_to",
            format!("the export names {to} as where its roots are published{read}"),
        ));
    }
}

/// Compares a day of the manifest with the statement the log holds.
pub fn compare(day: &DayExpectation, statement: Option<&Statement>, report: &mut StatementReport) {
    let Some(statement) = statement else {
        return;
    };
    let disagreements = compare_day(day, statement);
    if disagreements.is_empty() {
        report.checks.push(Check::pass(
            "export_day",
            format!(
                "{} records, root {}{} = the statement at index {}",
                day.records,
                encode_b64(&day.root),
                day.head
                    .map(|h| format!(", chain head seq {}", h.seq))
                    .unwrap_or_default(),
                report.index.map_or("?".into(), |i| i.to_string())
            ),
        ));
    }
    for d in disagreements {
        report.checks.push(Check::fail("export_day", d));
    }
}

/// Every day of the export judged from `receipts` (where each came from,
/// and the receipt), offline: each receipt by the rule every verifier
/// applies (`Receipt::judge`), and its statement compared with the
/// manifest's day. `source` names where the receipts were read (a
/// directory, "the files given"); a day without a receipt fails.
pub fn judge_from_receipts(
    check: &ManifestCheck,
    receipts: Vec<(String, Receipt)>,
    source: &str,
    trust: &Trust<'_>,
    max_delay: MaxDelay,
    report: &mut Report,
) {
    let mut by_date: BTreeMap<time::Date, (String, Receipt)> = BTreeMap::new();
    for (name, receipt) in receipts {
        let Ok((_, statement)) = parse_submission(receipt.statement.as_bytes()) else {
            report.checks.push(Check::fail(
                "receipt",
                format!("{name}: its statement does not parse"),
            ));
            continue;
        };
        if statement.tenant == check.tenant {
            by_date.insert(statement.date, (name, receipt));
        }
    }
    report.checks.push(Check::pass(
        "receipts",
        format!(
            "{} receipt(s) of tenant {} in {source}; nothing read from a log or mirror",
            by_date.len(),
            check.tenant,
        ),
    ));
    for day in &check.days {
        let date = format_date(day.date);
        let Some((name, receipt)) = by_date.get(&day.date) else {
            let mut missing = StatementReport::new(&check.tenant, &date);
            missing.checks.push(Check::fail(
                "receipt",
                format!("no receipt for {date} in {source}"),
            ));
            report.statements.push(missing);
            continue;
        };
        let mut day_report = receipt.judge(trust, max_delay);
        if day_report.date.is_empty() {
            // A receipt too damaged to say whose it is: name the day it was for.
            day_report.tenant = check.tenant.clone();
            day_report.date = date.clone();
        }
        let statement = parse_submission(receipt.statement.as_bytes())
            .ok()
            .map(|(_, s)| s);
        day_report
            .checks
            .insert(0, Check::pass("receipt", format!("read from {name}")));
        compare(day, statement.as_ref(), &mut day_report);
        report.statements.push(day_report);
    }
}
