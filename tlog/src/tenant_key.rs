//! Tenant keys and their lifecycle: the `tenant-key/v1` entry the log appends
//! for every registration, added key, retirement and revocation, the tenant
//! record those entries add up to, and the rule that decides which keys may
//! sign at a given place in the log. Pure logic, no I/O.
//!
//! A key change is a signed note by the log's key (the log is the authority
//! that admits tenants), whose text is exactly:
//!
//! ```text
//! tenant-key/v1
//! tenant <tenant id>
//! action <add | retire | revoke>
//! vkey <the tenant's Ed25519 vkey>
//! effective <YYYY-MM-DDTHH:MM:SSZ>
//! ```
//!
//! The invariant the log keeps and auditors check: the statement at index `i`
//! counts only if a key that signed it was added by an entry before `i` and
//! neither retired nor revoked by an entry before `i`. The integrator applies
//! key changes and statements in log order, so what it accepts is exactly what
//! this rule accepts. `add` and `retire` take effect when they are logged. A
//! revocation may be backdated (the key was compromised earlier than it was
//! reported): statements for dates from its `effective` date on that only the
//! revoked key signed stay in the log (nothing is ever removed) but auditors
//! are told not to rely on them.

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use crate::note::{KeyKind, Note, Signer, Verifier};
use crate::statement::is_valid_tenant_id;

/// The first line of a key-change entry.
pub const FORMAT_LINE: &str = "tenant-key/v1";

/// What a key change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyAction {
    Add,
    Retire,
    Revoke,
}

impl KeyAction {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAction::Add => "add",
            KeyAction::Retire => "retire",
            KeyAction::Revoke => "revoke",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "add" => Some(KeyAction::Add),
            "retire" => Some(KeyAction::Retire),
            "revoke" => Some(KeyAction::Revoke),
            _ => None,
        }
    }
}

/// Where a key stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs statements.
    Active,
    /// No longer signs; what it signed before its retirement stands.
    Retired,
    /// No longer signs; what it signed for dates from `effective` on is suspect.
    Revoked,
}

/// One key of a tenant, with the log entries that changed it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TenantKey {
    pub vkey: String,
    pub status: KeyStatus,
    /// When it was added (RFC 3339, UTC).
    pub added_at: String,
    /// The log index of its `add` entry.
    pub added_index: u64,
    /// The `effective` time of the entry that stopped it (its retirement or
    /// revocation, whichever came first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_at: Option<String>,
    /// The log index of that entry: the key signs nothing after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed_index: Option<u64>,
    /// For a retired key revoked later: the revocation's `effective` time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// For a retired key revoked later: the revocation's log index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_index: Option<u64>,
}

/// A registered tenant: what its key-change entries add up to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TenantRecord {
    pub id: String,
    /// Whether it has a key that may sign now.
    pub active: bool,
    pub keys: Vec<TenantKey>,
    pub created_at: String,
}

impl TenantRecord {
    /// The key with this vkey, spelled canonically (as `Verifier::vkey` does;
    /// the log stores only canonical spellings).
    pub fn key(&self, vkey: &str) -> Option<&TenantKey> {
        self.keys.iter().find(|k| k.vkey == vkey)
    }

    /// The log indexes of every key-change entry of this tenant, in order.
    pub fn change_indexes(&self) -> Vec<u64> {
        let mut all: Vec<u64> = self
            .keys
            .iter()
            .flat_map(|k| {
                std::iter::once(k.added_index)
                    .chain(k.changed_index)
                    .chain(k.revoked_index)
            })
            .collect();
        all.sort_unstable();
        all
    }
}

/// A key-change entry's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChange {
    pub tenant: String,
    pub action: KeyAction,
    pub vkey: String,
    /// Whole seconds, UTC.
    pub effective: OffsetDateTime,
}

/// Why a key change or a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyChangeError {
    #[error("key change text: {0}")]
    BadFormat(String),
    #[error("vkey: {0}")]
    BadVkey(String),
    #[error("tenant {0:?} is not registered; register it with POST /v1/tenants first")]
    UnknownTenant(String),
    #[error("tenant {0:?} is already registered with another key; add keys with POST /v1/tenants/{0}/keys")]
    TenantExists(String),
    #[error("tenant {tenant:?} has no key {vkey:?}")]
    UnknownKey { tenant: String, vkey: String },
    #[error("key {vkey:?} of tenant {tenant:?} is {status:?} since {since}; a key that stopped signing is never used again")]
    KeyNotActive {
        tenant: String,
        vkey: String,
        status: KeyStatus,
        since: String,
    },
    #[error("effective time: {0}")]
    BadEffective(String),
}

impl KeyChangeError {
    /// Stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            KeyChangeError::BadFormat(_) => "bad_key_change",
            KeyChangeError::BadVkey(_) => "bad_vkey",
            KeyChangeError::UnknownTenant(_) => "unknown_tenant",
            KeyChangeError::TenantExists(_) => "tenant_exists",
            KeyChangeError::UnknownKey { .. } => "unknown_key",
            KeyChangeError::KeyNotActive {
                status: KeyStatus::Revoked,
                ..
            } => "key_revoked",
            KeyChangeError::KeyNotActive { .. } => "key_retired",
            KeyChangeError::BadEffective(_) => "bad_effective_time",
        }
    }
}

/// Formats a time as the entries spell it: `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_time(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let d = t.date();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses exactly `YYYY-MM-DDTHH:MM:SSZ` (the spelling `format_time` writes).
pub fn parse_time(s: &str) -> Option<OffsetDateTime> {
    let body = s.strip_suffix('Z')?;
    let format = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(body, &format).ok()?.assume_utc();
    (format_time(t) == s).then_some(t)
}

/// Parses an RFC 3339 time as users write it (any offset, fractions allowed),
/// truncated to whole seconds in UTC.
pub fn parse_user_time(s: &str) -> Option<OffsetDateTime> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    t.replace_nanosecond(0)
        .ok()
        .map(|t| t.to_offset(time::UtcOffset::UTC))
}

/// A tenant vkey as the log accepts it: Ed25519, named after the tenant.
pub fn check_tenant_vkey(tenant: &str, vkey: &str) -> Result<Verifier, KeyChangeError> {
    let verifier =
        Verifier::from_vkey(vkey.trim()).map_err(|e| KeyChangeError::BadVkey(e.to_string()))?;
    if verifier.kind() != KeyKind::Ed25519 {
        return Err(KeyChangeError::BadVkey(
            "tenant keys must be Ed25519 signed-note keys (type 0x01)".into(),
        ));
    }
    if verifier.name() != tenant {
        return Err(KeyChangeError::BadVkey(format!(
            "the vkey is named {:?} but a tenant's key name must equal its id {tenant:?}",
            verifier.name()
        )));
    }
    Ok(verifier)
}

impl KeyChange {
    /// The entry's text.
    pub fn to_text(&self) -> String {
        format!(
            "{FORMAT_LINE}\ntenant {}\naction {}\nvkey {}\neffective {}\n",
            self.tenant,
            self.action.as_str(),
            self.vkey,
            format_time(self.effective)
        )
    }

    /// The entry as the log appends it: the text signed with the log's key.
    pub fn signed_entry(&self, log_signer: &Signer) -> Vec<u8> {
        let mut note = Note::new(self.to_text());
        note.signatures.push(log_signer.sign(note.text.as_bytes()));
        note.to_text().into_bytes()
    }

    /// Parses the text exactly as `to_text` writes it.
    pub fn parse_text(text: &str) -> Result<Self, KeyChangeError> {
        let bad = |why: &str| KeyChangeError::BadFormat(why.to_string());
        let body = text
            .strip_suffix('\n')
            .ok_or_else(|| bad("the text must end in a newline"))?;
        let lines: Vec<&str> = body.split('\n').collect();
        let [format, tenant, action, vkey, effective] = lines[..] else {
            return Err(bad("expected exactly five lines"));
        };
        if format != FORMAT_LINE {
            return Err(bad("the first line must be tenant-key/v1"));
        }
        let tenant = field(tenant, "tenant")?;
        if !is_valid_tenant_id(&tenant) {
            return Err(bad("the tenant id must match [a-z0-9][a-z0-9._-]{0,62}"));
        }
        let action = KeyAction::parse(&field(action, "action")?)
            .ok_or_else(|| bad("the action must be add, retire or revoke"))?;
        let vkey = field(vkey, "vkey")?;
        let verifier = check_tenant_vkey(&tenant, &vkey)?;
        if verifier.vkey() != vkey {
            return Err(bad("the vkey must be spelled canonically"));
        }
        let effective = parse_time(&field(effective, "effective")?)
            .ok_or_else(|| bad("effective must be YYYY-MM-DDTHH:MM:SSZ"))?;
        Ok(KeyChange {
            tenant,
            action,
            vkey,
            effective,
        })
    }
}

/// The value of a `<keyword> <value>` line.
fn field(line: &str, keyword: &str) -> Result<String, KeyChangeError> {
    line.strip_prefix(keyword)
        .and_then(|rest| rest.strip_prefix(' '))
        .map(str::to_string)
        .ok_or_else(|| KeyChangeError::BadFormat(format!("expected a \"{keyword} \" line")))
}

/// True when a leaf is a key-change entry rather than a daily-root statement.
pub fn is_key_change_entry(leaf: &[u8]) -> bool {
    leaf.starts_with(FORMAT_LINE.as_bytes()) && leaf.get(FORMAT_LINE.len()) == Some(&b'\n')
}

/// The tenant a key-change entry names, if the entry is one (read, not
/// verified: `audit::check_key_change` verifies an entry before it is used).
pub fn key_change_tenant(leaf: &[u8]) -> Option<String> {
    if !is_key_change_entry(leaf) {
        return None;
    }
    let note = crate::note::Note::parse(leaf).ok()?;
    KeyChange::parse_text(&note.text).ok().map(|c| c.tenant)
}

/// What a requested key change comes to against the tenant's current record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transition {
    /// Append the change; the record it leaves behind.
    Append(TenantRecord),
    /// Already so: the entry at this index made it so (an identical retry).
    AlreadyDone(u64),
}

/// A key change an operator asks for; the log fills in the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChangeRequest {
    pub tenant: String,
    pub action: KeyAction,
    pub vkey: String,
    /// Only revocations may name a time, and only one not later than now.
    pub effective: Option<OffsetDateTime>,
    /// A registration (`POST /v1/tenants`): the tenant must not exist yet.
    pub registers: bool,
}

impl KeyChangeRequest {
    /// Decides the change against `record` (the tenant as of the end of the
    /// log so far), for an entry that would be appended at `index` at `now`.
    /// Returns the entry's text with the transition.
    pub fn decide(
        &self,
        record: Option<&TenantRecord>,
        index: u64,
        now: OffsetDateTime,
    ) -> Result<(KeyChange, Transition), KeyChangeError> {
        let verifier = check_tenant_vkey(&self.tenant, &self.vkey)?;
        let vkey = verifier.vkey();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        let effective = match (self.action, self.effective) {
            (_, None) => now,
            (KeyAction::Revoke, Some(t)) if t <= now => t,
            (KeyAction::Revoke, Some(_)) => {
                return Err(KeyChangeError::BadEffective(
                    "a revocation takes effect now or earlier, never later".into(),
                ))
            }
            (_, Some(_)) => return Err(KeyChangeError::BadEffective(
                "only a revocation takes an effective time; add and retire take effect when logged"
                    .into(),
            )),
        };
        let change = KeyChange {
            tenant: self.tenant.clone(),
            action: self.action,
            vkey: vkey.clone(),
            effective,
        };
        let transition = change.apply(record, index, self.registers)?;
        Ok((change, transition))
    }
}

impl KeyChange {
    /// Applies this change, logged at `index`, to `record`.
    pub fn apply(
        &self,
        record: Option<&TenantRecord>,
        index: u64,
        registers: bool,
    ) -> Result<Transition, KeyChangeError> {
        let at = format_time(self.effective);
        let Some(record) = record else {
            // Only a registration creates a tenant.
            if self.action != KeyAction::Add || !registers {
                return Err(KeyChangeError::UnknownTenant(self.tenant.clone()));
            }
            return Ok(Transition::Append(TenantRecord {
                id: self.tenant.clone(),
                active: true,
                keys: vec![TenantKey {
                    vkey: self.vkey.clone(),
                    status: KeyStatus::Active,
                    added_at: at.clone(),
                    added_index: index,
                    changed_at: None,
                    changed_index: None,
                    revoked_at: None,
                    revoked_index: None,
                }],
                created_at: at,
            }));
        };
        if registers {
            // Registering again with the key it was registered with is a retry.
            return match record.keys.first() {
                Some(first) if record.key(&self.vkey) == Some(first) => {
                    Ok(Transition::AlreadyDone(first.added_index))
                }
                _ => Err(KeyChangeError::TenantExists(self.tenant.clone())),
            };
        }
        let existing = record.key(&self.vkey).cloned();
        let not_active = |k: &TenantKey| KeyChangeError::KeyNotActive {
            tenant: self.tenant.clone(),
            vkey: k.vkey.clone(),
            status: k.status,
            since: k.changed_at.clone().unwrap_or_default(),
        };
        let mut next = record.clone();
        match (self.action, existing) {
            (KeyAction::Add, None) => next.keys.push(TenantKey {
                vkey: self.vkey.clone(),
                status: KeyStatus::Active,
                added_at: at,
                added_index: index,
                changed_at: None,
                changed_index: None,
                revoked_at: None,
                revoked_index: None,
            }),
            (_, None) => {
                return Err(KeyChangeError::UnknownKey {
                    tenant: self.tenant.clone(),
                    vkey: self.vkey.clone(),
                })
            }
            (KeyAction::Add, Some(k)) => {
                return match k.status {
                    KeyStatus::Active => Ok(Transition::AlreadyDone(k.added_index)),
                    _ => Err(not_active(&k)),
                }
            }
            (KeyAction::Retire, Some(k)) if k.status == KeyStatus::Retired => {
                return Ok(Transition::AlreadyDone(
                    k.changed_index.unwrap_or(k.added_index),
                ))
            }
            (KeyAction::Revoke, Some(k)) if k.status == KeyStatus::Revoked => {
                return Ok(Transition::AlreadyDone(
                    k.revoked_index.or(k.changed_index).unwrap_or(k.added_index),
                ))
            }
            (KeyAction::Retire, Some(k)) if k.status != KeyStatus::Active => {
                return Err(not_active(&k))
            }
            (KeyAction::Retire | KeyAction::Revoke, Some(k)) => {
                let added = parse_time(&k.added_at);
                if self.action == KeyAction::Revoke && added.is_some_and(|a| self.effective < a) {
                    return Err(KeyChangeError::BadEffective(format!(
                        "the key was added at {}; a revocation cannot take effect before that",
                        k.added_at
                    )));
                }
                let status = if self.action == KeyAction::Retire {
                    KeyStatus::Retired
                } else {
                    KeyStatus::Revoked
                };
                for key in next.keys.iter_mut().filter(|x| x.vkey == k.vkey) {
                    if key.status == KeyStatus::Retired {
                        // It stopped signing at its retirement; the revocation
                        // only adds that what it signed is suspect.
                        key.revoked_at = Some(at.clone());
                        key.revoked_index = Some(index);
                    } else {
                        key.changed_at = Some(at.clone());
                        key.changed_index = Some(index);
                    }
                    key.status = status;
                }
            }
        }
        next.active = next.keys.iter().any(|k| k.status == KeyStatus::Active);
        Ok(Transition::Append(next))
    }
}

/// The signed entry registering `vkey` for a new tenant at `index`, with the
/// record it creates: for tools that build a log through the library
/// (fixtures, the bulk loader) rather than through the sequencer.
pub fn registration_entry(
    log_signer: &Signer,
    tenant: &str,
    vkey: &str,
    index: u64,
    now: OffsetDateTime,
) -> Result<(Vec<u8>, TenantRecord), KeyChangeError> {
    let request = KeyChangeRequest {
        tenant: tenant.to_string(),
        action: KeyAction::Add,
        vkey: vkey.to_string(),
        effective: None,
        registers: true,
    };
    match request.decide(None, index, now)? {
        (change, Transition::Append(record)) => Ok((change.signed_entry(log_signer), record)),
        (_, Transition::AlreadyDone(_)) => Err(KeyChangeError::TenantExists(tenant.to_string())),
    }
}

/// Replays a tenant's key-change entries, in log order, into its record.
pub fn replay<'a>(
    changes: impl IntoIterator<Item = (u64, &'a KeyChange)>,
) -> Result<Option<TenantRecord>, KeyChangeError> {
    let mut record: Option<TenantRecord> = None;
    for (index, change) in changes {
        let registers = record.is_none();
        match change.apply(record.as_ref(), index, registers)? {
            Transition::Append(next) => record = Some(next),
            Transition::AlreadyDone(_) => {
                return Err(KeyChangeError::BadFormat(format!(
                    "entry {index} repeats a change already made"
                )))
            }
        }
    }
    Ok(record)
}

/// Whether `vkey` may sign a statement logged at `index`, by the record's history.
/// Returns the reason it may not.
pub fn may_sign_at(record: &TenantRecord, vkey: &str, index: u64) -> Result<(), KeyChangeError> {
    let key = record.key(vkey).ok_or_else(|| KeyChangeError::UnknownKey {
        tenant: record.id.clone(),
        vkey: vkey.to_string(),
    })?;
    if key.added_index >= index {
        return Err(KeyChangeError::UnknownKey {
            tenant: record.id.clone(),
            vkey: vkey.to_string(),
        });
    }
    match key.changed_index {
        Some(changed) if changed < index => Err(KeyChangeError::KeyNotActive {
            tenant: record.id.clone(),
            vkey: key.vkey.clone(),
            status: key.status,
            since: key.changed_at.clone().unwrap_or_default(),
        }),
        _ => Ok(()),
    }
}

/// For a statement for `date` signed by `vkey`: the revocation time when the
/// key was revoked with effect on or before that date (the statement is then
/// suspect, wherever it stands in the log).
pub fn revoked_for_date(record: &TenantRecord, vkey: &str, date: Date) -> Option<String> {
    let key = record.key(vkey)?;
    if key.status != KeyStatus::Revoked {
        return None;
    }
    let at = key.revoked_at.as_deref().or(key.changed_at.as_deref())?;
    let effective = parse_time(at)?;
    (effective.date() <= date).then(|| at.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::Signer;

    fn vkey(name: &str) -> String {
        Signer::generate(name).unwrap().vkey()
    }

    fn request(action: KeyAction, vkey: &str) -> KeyChangeRequest {
        KeyChangeRequest {
            tenant: "acme".into(),
            action,
            vkey: vkey.into(),
            effective: None,
            registers: false,
        }
    }

    fn now() -> OffsetDateTime {
        parse_time("2026-06-01T12:00:00Z").unwrap()
    }

    fn appended(t: Transition) -> TenantRecord {
        match t {
            Transition::Append(r) => r,
            other => panic!("expected an append, got {other:?}"),
        }
    }

    #[test]
    fn text_round_trips_and_is_strict() {
        let change = KeyChange {
            tenant: "acme".into(),
            action: KeyAction::Revoke,
            vkey: vkey("acme"),
            effective: now(),
        };
        let text = change.to_text();
        assert!(text.starts_with(
            "tenant-key/v1
tenant acme
action revoke
vkey acme+"
        ));
        assert_eq!(KeyChange::parse_text(&text).unwrap(), change);
        assert!(is_key_change_entry(text.as_bytes()));
        assert!(!is_key_change_entry(
            b"tenant-key/v10
"
        ));
        for bad in [
            text.replace("revoke", "delete"),
            text.replace("T12:00:00Z", "T12:00:00+00:00"),
            text.replace("tenant acme", "tenant Acme"),
            text.trim_end().to_string(),
            format!(
                "{text}extra
"
            ),
            text.replace("vkey acme+", "vkey globex+"),
        ] {
            assert!(KeyChange::parse_text(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_time("2026-02-30T00:00:00Z"), None);
    }

    #[test]
    fn lifecycle_and_signing_rule() {
        let (k1, k2) = (vkey("acme"), vkey("acme"));
        let mut reg = request(KeyAction::Add, &k1);
        reg.registers = true;
        let (_, t) = reg.decide(None, 0, now()).unwrap();
        let r = appended(t);
        // Registering again with the same key is a retry; with another, a conflict.
        assert_eq!(
            reg.decide(Some(&r), 5, now()).unwrap().1,
            Transition::AlreadyDone(0)
        );
        let mut other = reg.clone();
        other.vkey = k2.clone();
        assert_eq!(
            other.decide(Some(&r), 5, now()).unwrap_err().code(),
            "tenant_exists"
        );

        let r = appended(
            request(KeyAction::Add, &k2)
                .decide(Some(&r), 3, now())
                .unwrap()
                .1,
        );
        let r = appended(
            request(KeyAction::Retire, &k1)
                .decide(Some(&r), 7, now())
                .unwrap()
                .1,
        );
        assert!(r.active);
        assert_eq!(r.change_indexes(), vec![0, 3, 7]);
        // k1 signs before its retirement only; k2 only after it was added.
        assert!(may_sign_at(&r, &k1, 1).is_ok());
        assert!(may_sign_at(&r, &k1, 7).is_ok());
        assert_eq!(may_sign_at(&r, &k1, 8).unwrap_err().code(), "key_retired");
        assert_eq!(may_sign_at(&r, &k2, 3).unwrap_err().code(), "unknown_key");
        assert!(may_sign_at(&r, &k2, 4).is_ok());
        // A retired key is never added back, a retirement repeated is a retry.
        assert_eq!(
            request(KeyAction::Add, &k1)
                .decide(Some(&r), 9, now())
                .unwrap_err()
                .code(),
            "key_retired"
        );
        assert_eq!(
            request(KeyAction::Retire, &k1)
                .decide(Some(&r), 9, now())
                .unwrap()
                .1,
            Transition::AlreadyDone(7)
        );

        // A backdated revocation; not into the future, not before the key existed.
        let mut revoke = request(KeyAction::Revoke, &k2);
        revoke.effective = Some(now() + time::Duration::hours(1));
        assert_eq!(
            revoke.decide(Some(&r), 9, now()).unwrap_err().code(),
            "bad_effective_time"
        );
        revoke.effective = Some(now() - time::Duration::days(400));
        assert_eq!(
            revoke.decide(Some(&r), 9, now()).unwrap_err().code(),
            "bad_effective_time"
        );
        let mut retire_at = request(KeyAction::Retire, &k2);
        retire_at.effective = Some(now());
        assert_eq!(
            retire_at.decide(Some(&r), 9, now()).unwrap_err().code(),
            "bad_effective_time"
        );
        // Added "now" in this test, so revoke exactly then.
        revoke.effective = Some(now());
        let (change, t) = revoke.decide(Some(&r), 9, now()).unwrap();
        let r2 = appended(t);
        assert!(!r2.active);
        assert_eq!(may_sign_at(&r2, &k2, 10).unwrap_err().code(), "key_revoked");
        assert_eq!(
            revoked_for_date(&r2, &k2, now().date()),
            Some("2026-06-01T12:00:00Z".into())
        );
        assert_eq!(
            revoked_for_date(&r2, &k2, now().date().previous_day().unwrap()),
            None
        );
        assert_eq!(revoked_for_date(&r2, &k1, now().date()), None);
        assert_eq!(change.action, KeyAction::Revoke);
        // Revoking the retired k1 keeps its stop at the retirement (entry 7)
        // and records the revocation beside it.
        let mut revoke_k1 = request(KeyAction::Revoke, &k1);
        revoke_k1.effective = Some(now());
        let r3 = appended(revoke_k1.decide(Some(&r2), 11, now()).unwrap().1);
        let k1_key = r3.key(&k1).unwrap();
        assert_eq!(
            (k1_key.status, k1_key.changed_index, k1_key.revoked_index),
            (KeyStatus::Revoked, Some(7), Some(11))
        );
        assert_eq!(may_sign_at(&r3, &k1, 8).unwrap_err().code(), "key_revoked");
        assert!(may_sign_at(&r3, &k1, 7).is_ok());
        assert_eq!(
            revoked_for_date(&r3, &k1, now().date()),
            Some("2026-06-01T12:00:00Z".into())
        );
        assert_eq!(r3.change_indexes(), vec![0, 3, 7, 9, 11]);
        assert_eq!(
            revoke_k1.decide(Some(&r3), 12, now()).unwrap().1,
            Transition::AlreadyDone(11)
        );
        // Unknown tenants and keys.
        assert_eq!(
            request(KeyAction::Retire, &k1)
                .decide(None, 0, now())
                .unwrap_err()
                .code(),
            "unknown_tenant"
        );
        assert_eq!(
            request(KeyAction::Add, &k1)
                .decide(None, 0, now())
                .unwrap_err()
                .code(),
            "unknown_tenant"
        );
        assert_eq!(
            request(KeyAction::Retire, &vkey("acme"))
                .decide(Some(&r2), 10, now())
                .unwrap_err()
                .code(),
            "unknown_key"
        );
    }

    #[test]
    fn replay_rebuilds_the_record() {
        let (k1, k2) = (vkey("acme"), vkey("acme"));
        let mk = |action, vkey: &str| KeyChange {
            tenant: "acme".into(),
            action,
            vkey: vkey.into(),
            effective: now(),
        };
        let changes = [
            (0, mk(KeyAction::Add, &k1)),
            (4, mk(KeyAction::Add, &k2)),
            (9, mk(KeyAction::Revoke, &k1)),
        ];
        let r = replay(changes.iter().map(|(i, c)| (*i, c)))
            .unwrap()
            .unwrap();
        assert_eq!(r.change_indexes(), vec![0, 4, 9]);
        assert_eq!(r.key(&k1).unwrap().status, KeyStatus::Revoked);
        let twice = [(0, mk(KeyAction::Add, &k1)), (1, mk(KeyAction::Add, &k1))];
        assert!(replay(twice.iter().map(|(i, c)| (*i, c))).is_err());
    }
}
