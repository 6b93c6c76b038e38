//! The one verdict every verifier gives (`rootlog verify`, `audit`,
//! `verify-export`, and the library's auditors): what was checked, each
//! check's result, every time bound, and one outcome with one exit code.
//!
//! | verdict           | exit | meaning |
//! |-------------------|------|---------|
//! | `verified`        | 0    | every check passed (late statements accepted with `--max-delay none` are still listed as late) |
//! | `not_verified`    | 1    | the evidence shows a problem: a check failed, or a statement was logged late |
//! | `could_not_check` | 3    | something needed could not be had (log or mirror unreachable, a file or key missing), and nothing failed |
//!
//! Exit 2 (bad usage) is the commands' own, before any check runs. A
//! failure outranks a gap: evidence of a problem is reported even when
//! something else could not be checked. Pure data: the commands fill a
//! [`Report`] and print it as text or as one JSON document
//! (`docs/verdict-json.md`).

use serde::Serialize;

use crate::timebound::{describe_seconds, MaxDelay, TimeBound, Timeliness};

/// The result of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Pass,
    Fail,
    /// Could not be checked: the data was not available.
    Unknown,
}

/// One check and its result, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable identifier (`log_signature`, `witness_quorum`, `consistency`,
    /// `inclusion`, `tenant_signature`, `tenant_keys`, `time_bound`,
    /// `expected_root`, `export_chain`, `export_day`, `statement`, ...).
    pub check: &'static str,
    pub result: Outcome,
    pub detail: String,
}

impl Check {
    pub fn pass(check: &'static str, detail: impl Into<String>) -> Self {
        Check {
            check,
            result: Outcome::Pass,
            detail: detail.into(),
        }
    }

    pub fn fail(check: &'static str, detail: impl Into<String>) -> Self {
        Check {
            check,
            result: Outcome::Fail,
            detail: detail.into(),
        }
    }

    pub fn unknown(check: &'static str, detail: impl Into<String>) -> Self {
        Check {
            check,
            result: Outcome::Unknown,
            detail: detail.into(),
        }
    }
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Verified,
    CouldNotCheck,
    NotVerified,
}

impl Verdict {
    /// The process exit code of this verdict.
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Verified => 0,
            Verdict::NotVerified => 1,
            Verdict::CouldNotCheck => 3,
        }
    }
}

/// When a statement was logged, and what that means for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Logged {
    /// RFC 3339, UTC.
    pub logged_by: String,
    /// `witnesses` or `log_claim`.
    pub attested: &'static str,
    /// Seconds after the end of the statement's day (0 if before it ended).
    pub after_day_seconds: u64,
    pub late: bool,
    /// Late, and accepted because the verifier's max delay is `none`.
    pub late_accepted: bool,
}

/// One statement (one tenant's day) and its checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatementReport {
    pub tenant: String,
    pub date: String,
    pub index: Option<u64>,
    pub records: Option<u64>,
    /// Base64 root.
    pub root: Option<String>,
    /// `<seq> <base64 hash>` of the chain head, if the statement has one.
    pub chain: Option<String>,
    pub logged: Option<Logged>,
    pub checks: Vec<Check>,
}

impl StatementReport {
    pub fn new(tenant: &str, date: &str) -> Self {
        StatementReport {
            tenant: tenant.to_string(),
            date: date.to_string(),
            index: None,
            records: None,
            root: None,
            chain: None,
            logged: None,
            checks: Vec::new(),
        }
    }

    /// Records the time bound of the checkpoint that proves the statement
    /// and judges its timeliness (a `time_bound` check).
    pub fn judge_time(&mut self, date: time::Date, bound: Option<TimeBound>, max_delay: MaxDelay) {
        let Some(bound) = bound else {
            self.checks.push(Check::unknown(
                "time_bound",
                "no checkpoint covering it carries the cosignature times the policy needs, so when it was logged is not known",
            ));
            return;
        };
        let verdict = crate::timebound::timeliness(date, &bound, max_delay);
        let (late, accepted, after) = match verdict {
            Timeliness::OnTime => (
                false,
                false,
                bound
                    .time
                    .saturating_sub(crate::timebound::end_of_day(date)),
            ),
            Timeliness::Late {
                after_day,
                accepted,
            } => (true, accepted, after_day),
        };
        self.logged = Some(Logged {
            logged_by: bound.rfc3339(),
            attested: bound.attested.as_str(),
            after_day_seconds: after,
            late,
            late_accepted: accepted,
        });
        let detail = format!("logged by {}", bound.describe());
        self.checks.push(match (late, accepted) {
            (false, _) => Check::pass("time_bound", detail),
            (true, true) => Check::pass(
                "time_bound",
                format!(
                    "{detail}: LATE, {} after the end of its day, accepted (--max-delay none)",
                    describe_seconds(after)
                ),
            ),
            (true, false) => Check::fail(
                "time_bound",
                format!(
                    "{detail}: LATE, {} after the end of its day, beyond --max-delay {}",
                    describe_seconds(after),
                    match max_delay {
                        MaxDelay::Seconds(s) => describe_seconds(s),
                        MaxDelay::None => "none".into(),
                    }
                ),
            ),
        });
    }

    /// This statement's own verdict.
    pub fn verdict(&self) -> Verdict {
        combine(&self.checks)
    }

    /// Late and not accepted: the one failure worth its own word.
    pub fn is_late(&self) -> bool {
        self.logged
            .as_ref()
            .is_some_and(|l| l.late && !l.late_accepted)
    }
}

/// What the checked checkpoint is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointReport {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub cosigners: Vec<String>,
}

/// A whole verification: the report every verifier prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub command: &'static str,
    pub verdict: Verdict,
    pub exit_code: u8,
    /// One line saying why, for anything but `verified`.
    pub message: String,
    /// `2d`, `none`, ...
    pub max_delay: String,
    pub checkpoint: Option<CheckpointReport>,
    /// Checks about the log and the inputs as a whole.
    pub checks: Vec<Check>,
    pub statements: Vec<StatementReport>,
}

/// The worst outcome among `checks`.
fn combine(checks: &[Check]) -> Verdict {
    checks
        .iter()
        .map(|c| match c.result {
            Outcome::Pass => Verdict::Verified,
            Outcome::Unknown => Verdict::CouldNotCheck,
            Outcome::Fail => Verdict::NotVerified,
        })
        .max()
        .unwrap_or(Verdict::Verified)
}

impl Report {
    pub fn new(command: &'static str, max_delay: MaxDelay) -> Self {
        Report {
            schema: "rootlog-verdict/v1",
            command,
            verdict: Verdict::Verified,
            exit_code: 0,
            message: String::new(),
            max_delay: match max_delay {
                MaxDelay::Seconds(s) => {
                    humantime::format_duration(std::time::Duration::from_secs(s)).to_string()
                }
                MaxDelay::None => "none".into(),
            },
            checkpoint: None,
            checks: Vec::new(),
            statements: Vec::new(),
        }
    }

    /// Decides the verdict and its message from every check. Call once all
    /// checks are in.
    pub fn finish(mut self) -> Self {
        let mut all: Vec<&Check> = self.checks.iter().collect();
        all.extend(self.statements.iter().flat_map(|s| s.checks.iter()));
        let owned: Vec<Check> = all.iter().map(|c| (*c).clone()).collect();
        self.verdict = combine(&owned);
        self.exit_code = self.verdict.exit_code();
        let late: Vec<String> = self
            .statements
            .iter()
            .filter(|s| s.is_late())
            .map(|s| format!("{} {}", s.tenant, s.date))
            .collect();
        // Which statement a message is about needs saying only among several.
        let several = self.statements.len() > 1;
        let first = |outcome: Outcome| {
            self.checks
                .iter()
                .map(|c| (None, c))
                .chain(
                    self.statements
                        .iter()
                        .flat_map(|s| s.checks.iter().map(move |c| (Some(s), c))),
                )
                .filter(|(_, c)| c.result == outcome)
                .map(|(s, c)| match s {
                    Some(s) if several => format!("{} {}: {}", s.tenant, s.date, c.detail),
                    _ => c.detail.clone(),
                })
                .collect::<Vec<_>>()
        };
        // The statements (tenant and day) with a check of this outcome.
        let which = |outcome: Outcome| {
            let names: Vec<String> = self
                .statements
                .iter()
                .filter(|s| s.checks.iter().any(|c| c.result == outcome))
                .map(|s| format!("{} {}", s.tenant, s.date))
                .collect();
            if names.is_empty() || !several {
                String::new()
            } else {
                format!(": {}", names.join(", "))
            }
        };
        self.message = match self.verdict {
            Verdict::Verified => String::new(),
            Verdict::NotVerified => {
                let failed = first(Outcome::Fail);
                if !late.is_empty() && late.len() == failed.len() {
                    format!("logged late: {}", late.join(", "))
                } else if failed.len() == 1 {
                    failed[0].clone()
                } else {
                    format!(
                        "{} checks failed (listed above){}",
                        failed.len(),
                        which(Outcome::Fail)
                    )
                }
            }
            Verdict::CouldNotCheck => {
                let unknown = first(Outcome::Unknown);
                if unknown.len() == 1 {
                    unknown[0].clone()
                } else {
                    format!(
                        "{} checks could not be made (listed above){}",
                        unknown.len(),
                        which(Outcome::Unknown)
                    )
                }
            }
        };
        self
    }

    /// True when every failure is a late statement.
    fn only_late(&self) -> bool {
        let failed_elsewhere = self.checks.iter().any(|c| c.result == Outcome::Fail)
            || self.statements.iter().any(|s| {
                s.checks
                    .iter()
                    .any(|c| c.result == Outcome::Fail && c.check != "time_bound")
            });
        !failed_elsewhere && self.statements.iter().any(StatementReport::is_late)
    }

    /// The last line of the text output.
    pub fn last_line(&self) -> String {
        match self.verdict {
            Verdict::Verified => "VERIFIED".into(),
            Verdict::NotVerified if self.only_late() => {
                format!("NOT VERIFIED (late): {}", self.message)
            }
            Verdict::NotVerified => format!("NOT VERIFIED: {}", self.message),
            Verdict::CouldNotCheck => format!("COULD NOT CHECK: {}", self.message),
        }
    }

    /// The report as plain lines: the checkpoint, each check, each
    /// statement with "logged by", then the verdict line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let mark = |o: Outcome| match o {
            Outcome::Pass => "ok",
            Outcome::Fail => "FAILED",
            Outcome::Unknown => "not checked",
        };
        if let Some(cp) = &self.checkpoint {
            out.push_str(&format!(
                "checkpoint: log {}, tree size {}, root {}\n",
                cp.origin, cp.size, cp.root
            ));
        }
        for c in &self.checks {
            out.push_str(&format!(
                "  [{}] {}: {}\n",
                mark(c.result),
                c.check,
                c.detail
            ));
        }
        for s in &self.statements {
            let mut head = format!("{} {}", s.tenant, s.date);
            if let (Some(records), Some(root)) = (s.records, &s.root) {
                head.push_str(&format!(": {records} records, root {root}"));
            }
            if let Some(chain) = &s.chain {
                head.push_str(&format!(", chain head {chain}"));
            }
            if let Some(index) = s.index {
                head.push_str(&format!(" (entry {index})"));
            }
            out.push_str(&head);
            out.push('\n');
            if let Some(l) = &s.logged {
                out.push_str(&format!(
                    "  logged by {}{}\n",
                    l.logged_by,
                    match (l.attested, l.late, l.late_accepted) {
                        (_, true, false) => " — LATE",
                        (_, true, true) => " — late (accepted)",
                        ("log_claim", _, _) => " (the log's own claim)",
                        _ => "",
                    }
                ));
            }
            for c in &s.checks {
                out.push_str(&format!(
                    "  [{}] {}: {}\n",
                    mark(c.result),
                    c.check,
                    c.detail
                ));
            }
        }
        out.push_str(&self.last_line());
        out.push('\n');
        out
    }

    /// The report as one JSON document.
    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"schema\":\"rootlog-verdict/v1\",\"verdict\":\"could_not_check\",\"exit_code\":3,\"message\":\"cannot encode the report: {e}\"}}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timebound::{end_of_day, Attested};

    fn bound(t: u64) -> Option<TimeBound> {
        Some(TimeBound {
            time: t,
            attested: Attested::Witnesses { quorum: 1 },
        })
    }

    #[test]
    fn the_worst_check_decides_and_late_is_named() {
        let date = time::macros::date!(2026 - 11 - 30);
        let mut on_time = StatementReport::new("acme", "2026-11-30");
        on_time.checks.push(Check::pass("inclusion", "included"));
        on_time.judge_time(date, bound(end_of_day(date) + 60), MaxDelay::DEFAULT);
        let mut report = Report::new("audit", MaxDelay::DEFAULT);
        report.statements.push(on_time.clone());
        let report = report.finish();
        assert_eq!((report.verdict, report.exit_code), (Verdict::Verified, 0));
        assert_eq!(report.last_line(), "VERIFIED");

        let mut late = StatementReport::new("acme", "2026-11-30");
        late.judge_time(
            date,
            bound(end_of_day(date) + 400 * 86_400),
            MaxDelay::DEFAULT,
        );
        let mut report = Report::new("audit", MaxDelay::DEFAULT);
        report.statements.push(late.clone());
        let report = report.finish();
        assert_eq!(report.exit_code, 1);
        assert!(
            report.last_line().starts_with("NOT VERIFIED (late)"),
            "{}",
            report.last_line()
        );
        assert!(report.text().contains("LATE"));

        // Accepted with --max-delay none, still said to be late.
        let mut accepted = StatementReport::new("acme", "2026-11-30");
        accepted.judge_time(date, bound(end_of_day(date) + 400 * 86_400), MaxDelay::None);
        let mut report = Report::new("audit", MaxDelay::None);
        report.statements.push(accepted);
        let report = report.finish();
        assert_eq!(report.exit_code, 0);
        assert!(report.text().contains("late (accepted)"));

        // Could not check, unless something failed too.
        let mut report = Report::new("audit", MaxDelay::DEFAULT);
        report.checks.push(Check::unknown("log", "unreachable"));
        let unreachable = report.clone().finish();
        assert_eq!(unreachable.exit_code, 3);
        assert!(unreachable
            .last_line()
            .starts_with("COULD NOT CHECK: unreachable"));
        report.checks.push(Check::fail("inclusion", "not included"));
        assert_eq!(report.finish().exit_code, 1);
        let json: serde_json::Value = serde_json::from_str(&unreachable.json()).unwrap();
        assert_eq!(json["verdict"], "could_not_check");
        assert_eq!(json["checks"][0]["result"], "unknown");
    }
}
