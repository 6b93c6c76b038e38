//! Ed25519 signers and verifiers in the Go note key formats.
//!
//! vkey: `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>`
//! skey: `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>`
//! Key ID: the first 4 bytes (big-endian) of SHA-256(name || "\n" || type || key).
//! Base64 may contain '+', so a vkey splits into at most 3 fields and an skey
//! into at most 5. Signatures are checked with `verify_strict`.
//!
//! This file owns key parsing, key IDs, signing and signature verification
//! for both 0x01 (note signatures) and 0x04 (`cosignature/v1`) keys.

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use super::encoding::{decode_base64_canonical, encode_b64};
use super::NoteSignature;

/// Signature type byte of Ed25519 note signatures.
const TYPE_ED25519: u8 = 0x01;
/// Signature type byte of timestamped Ed25519 cosignatures.
const TYPE_COSIGNATURE_V1: u8 = 0x04;
/// Length of an Ed25519 public key or seed.
const KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
const ED25519_SIG_LEN: usize = 64;
/// Length of a cosignature/v1 signature: u64-BE timestamp || Ed25519 signature.
const COSIGNATURE_LEN: usize = 8 + ED25519_SIG_LEN;
/// The largest timestamp tlog-cosignature allows (2^63 − 1).
const MAX_COSIGNATURE_TIME: u64 = i64::MAX as u64;
/// Longest key name accepted (transparency-dev/formats' cap).
const MAX_NAME_LEN: usize = 255;

/// What a verifier checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Type 0x01: Ed25519 over the note text.
    Ed25519,
    /// Type 0x04: timestamped Ed25519 `cosignature/v1` over
    /// `"cosignature/v1\ntime <t>\n" || note text`; signature bytes are u64-BE timestamp || 64-byte signature.
    CosignatureV1,
}

impl KeyKind {
    fn type_byte(self) -> u8 {
        match self {
            KeyKind::Ed25519 => TYPE_ED25519,
            KeyKind::CosignatureV1 => TYPE_COSIGNATURE_V1,
        }
    }
}

/// Why a key could not be parsed or made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("malformed key: {0}")]
    Malformed(String),
    #[error("invalid key name {0:?}: it must be non-empty, with no spaces or '+'")]
    BadName(String),
    #[error("key ID in the key does not match its name and public key")]
    WrongKeyId,
    #[error("unsupported key type {0:#04x}")]
    UnsupportedType(u8),
}

/// A public key that verifies signatures of one (name, key ID).
///
/// Invariant: `key_id == key_id(name, [kind.type_byte()] || key)` and `name`
/// is a valid key name.
#[derive(Debug, Clone)]
pub struct Verifier {
    name: String,
    key_id: u32,
    kind: KeyKind,
    key: VerifyingKey,
}

impl Verifier {
    fn new(name: &str, kind: KeyKind, key: VerifyingKey) -> Self {
        let mut type_and_key = [0u8; 1 + KEY_LEN];
        type_and_key[0] = kind.type_byte();
        type_and_key[1..].copy_from_slice(key.as_bytes());
        Verifier {
            name: name.to_string(),
            key_id: key_id(name, &type_and_key),
            kind,
            key,
        }
    }

    /// Parses a vkey of type 0x01 (Ed25519) or 0x04 (cosignature/v1).
    pub fn from_vkey(vkey: &str) -> Result<Self, KeyError> {
        // At most 3 fields: the base64 may itself contain '+'.
        let mut fields = vkey.splitn(3, '+');
        let (Some(name), Some(hex_id), Some(b64)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(KeyError::Malformed(
                "a vkey is <name>+<hex key ID>+<base64 key>".into(),
            ));
        };
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        let claimed_id = parse_hex_key_id(hex_id)?;
        let type_and_key = decode_base64_canonical(b64)
            .ok_or_else(|| KeyError::Malformed("key is not canonical base64".into()))?;
        let kind = match type_and_key.first() {
            None => return Err(KeyError::Malformed("empty key".into())),
            Some(&TYPE_ED25519) => KeyKind::Ed25519,
            Some(&TYPE_COSIGNATURE_V1) => KeyKind::CosignatureV1,
            Some(&other) => return Err(KeyError::UnsupportedType(other)),
        };
        let key = verifying_key(&type_and_key[1..])?;
        if key_id(name, &type_and_key) != claimed_id {
            return Err(KeyError::WrongKeyId);
        }
        Ok(Verifier::new(name, kind, key))
    }

    /// Parses a witness vkey of type 0x01 or 0x04 and returns the cosignature/v1
    /// verifier for it (with the 0x04 key ID): published witness keys are 0x01 vkeys.
    pub fn cosignature_from_vkey(vkey: &str) -> Result<Self, KeyError> {
        let parsed = Verifier::from_vkey(vkey)?;
        // The interop quirk: the same Ed25519 key is published as 0x01 but
        // cosigns under the 0x04 key ID, so re-derive the ID for type 0x04.
        Ok(Verifier::new(
            &parsed.name,
            KeyKind::CosignatureV1,
            parsed.key,
        ))
    }

    /// The cosignature/v1 (0x04) verifier of the same key and name: how a
    /// log's or witness's 0x01 key checks its timestamped cosignatures.
    pub fn as_cosignature(&self) -> Verifier {
        Verifier::new(&self.name, KeyKind::CosignatureV1, self.key)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    pub fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The raw 32-byte Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The vkey string of this verifier (its own type byte).
    pub fn vkey(&self) -> String {
        let mut type_and_key = Vec::with_capacity(1 + KEY_LEN);
        type_and_key.push(self.kind.type_byte());
        type_and_key.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_b64(&type_and_key)
        )
    }

    /// Verifies `signature` (the bytes after the 4-byte key ID) over the note `text`.
    /// For cosignatures, the timestamp is taken from the signature bytes.
    pub fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        match self.kind {
            KeyKind::Ed25519 => match Signature::from_slice(signature) {
                Ok(sig) => self.key.verify_strict(text, &sig).is_ok(),
                Err(_) => false,
            },
            KeyKind::CosignatureV1 => {
                let Some(timestamp) = timestamp_of(signature) else {
                    return false;
                };
                let Ok(sig) = Signature::from_slice(&signature[8..]) else {
                    return false;
                };
                let message = cosignature_message(timestamp, text);
                self.key.verify_strict(&message, &sig).is_ok()
            }
        }
    }

    /// True when `sig` names this key (same name and key ID).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name() && sig.key_id == self.key_id()
    }

    /// The timestamp of `sig` when this is a cosignature/v1 verifier, `sig`
    /// names this key and is well formed (72 bytes, time ≤ 2^63 − 1). It does
    /// not verify the signature: call [`Verifier::verify`] for that.
    pub fn cosignature_timestamp(&self, sig: &NoteSignature) -> Option<u64> {
        if self.kind != KeyKind::CosignatureV1 || !self.matches(sig) {
            return None;
        }
        timestamp_of(&sig.signature)
    }
}

/// The timestamp of well-formed cosignature/v1 signature bytes.
fn timestamp_of(signature: &[u8]) -> Option<u64> {
    if signature.len() != COSIGNATURE_LEN {
        return None;
    }
    let mut ts = [0u8; 8];
    ts.copy_from_slice(&signature[..8]);
    let timestamp = u64::from_be_bytes(ts);
    (timestamp <= MAX_COSIGNATURE_TIME).then_some(timestamp)
}

/// Exactly 8 lowercase hex digits, as Go writes key IDs.
fn parse_hex_key_id(s: &str) -> Result<u32, KeyError> {
    let ok = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(KeyError::Malformed(format!(
            "key ID {s:?} is not 8 lowercase hex digits"
        )));
    }
    u32::from_str_radix(s, 16).map_err(|_| KeyError::Malformed(format!("bad key ID {s:?}")))
}

fn verifying_key(bytes: &[u8]) -> Result<VerifyingKey, KeyError> {
    let arr: [u8; KEY_LEN] = bytes.try_into().map_err(|_| {
        KeyError::Malformed(format!(
            "Ed25519 public key is {} bytes, not {KEY_LEN}",
            bytes.len()
        ))
    })?;
    VerifyingKey::from_bytes(&arr)
        .map_err(|_| KeyError::Malformed("not a valid Ed25519 public key".into()))
}

/// An Ed25519 private key with its name.
///
/// Invariant: `name` is a valid key name.
pub struct Signer {
    name: String,
    key: SigningKey,
}

impl fmt::Debug for Signer {
    // Never print the private key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("vkey", &self.vkey())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A new random key. Not in a browser build: a verifier never makes keys.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        let mut seed = [0u8; KEY_LEN];
        getrandom::fill(&mut seed)
            .map_err(|e| KeyError::Malformed(format!("no randomness for a new key: {e}")))?;
        let key = SigningKey::from_bytes(&seed);
        Ok(Signer {
            name: name.to_string(),
            key,
        })
    }

    /// The key whose Ed25519 seed is `seed`. The same seed is always the same
    /// key: for published test keys (the conformance vectors, fixtures).
    /// A real key's seed must be secret and random; use [`Signer::generate`].
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<Self, KeyError> {
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        Ok(Signer {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parses a Go-format skey; checks the key ID against the derived public key.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        // At most 5 fields: the base64 may itself contain '+'.
        let fields: Vec<&str> = skey.splitn(5, '+').collect();
        let [private, key_word, name, hex_id, b64] = fields.as_slice() else {
            return Err(KeyError::Malformed(
                "an skey is PRIVATE+KEY+<name>+<hex key ID>+<base64 key>".into(),
            ));
        };
        if *private != "PRIVATE" || *key_word != "KEY" {
            return Err(KeyError::Malformed(
                "an skey starts with PRIVATE+KEY+".into(),
            ));
        }
        if !is_valid_key_name(name) {
            return Err(KeyError::BadName(name.to_string()));
        }
        let claimed_id = parse_hex_key_id(hex_id)?;
        let type_and_seed = decode_base64_canonical(b64)
            .ok_or_else(|| KeyError::Malformed("key is not canonical base64".into()))?;
        match type_and_seed.first() {
            None => return Err(KeyError::Malformed("empty key".into())),
            Some(&TYPE_ED25519) => {}
            Some(&other) => return Err(KeyError::UnsupportedType(other)),
        }
        let seed: [u8; KEY_LEN] = type_and_seed[1..].try_into().map_err(|_| {
            KeyError::Malformed(format!(
                "Ed25519 seed is {} bytes, not {KEY_LEN}",
                type_and_seed.len() - 1
            ))
        })?;
        let signer = Signer {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        };
        // The skey's ID is that of the 0x01 *public* key.
        if signer.verifier().key_id() != claimed_id {
            return Err(KeyError::WrongKeyId);
        }
        Ok(signer)
    }

    pub fn skey(&self) -> String {
        let mut type_and_seed = Vec::with_capacity(1 + KEY_LEN);
        type_and_seed.push(TYPE_ED25519);
        type_and_seed.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.verifier().key_id(),
            encode_b64(&type_and_seed)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The 0x01 verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier::new(&self.name, KeyKind::Ed25519, self.key.verifying_key())
    }

    /// The 0x01 vkey.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

    /// The cosignature/v1 (0x04) verifier of the same key.
    pub fn cosignature_verifier(&self) -> Verifier {
        Verifier::new(&self.name, KeyKind::CosignatureV1, self.key.verifying_key())
    }

    /// Signs note text (type 0x01).
    pub fn sign(&self, text: &[u8]) -> NoteSignature {
        let sig = self.key.sign(text);
        NoteSignature {
            name: self.name.clone(),
            key_id: self.verifier().key_id(),
            signature: sig.to_bytes().to_vec(),
        }
    }

    /// Cosigns a checkpoint's note text at `timestamp` (cosignature/v1, 0x04 key ID).
    ///
    /// Timestamps above 2^63 − 1 are outside the spec and give a signature no
    /// verifier accepts; callers pass the current POSIX time.
    pub fn cosign(&self, checkpoint_text: &[u8], timestamp: u64) -> NoteSignature {
        let message = cosignature_message(timestamp, checkpoint_text);
        let sig = self.key.sign(&message);
        let mut signature = Vec::with_capacity(COSIGNATURE_LEN);
        signature.extend_from_slice(&timestamp.to_be_bytes());
        signature.extend_from_slice(&sig.to_bytes());
        NoteSignature {
            name: self.name.clone(),
            key_id: self.cosignature_verifier().key_id(),
            signature,
        }
    }
}

/// The key ID of `name` and `type_and_key` (type byte followed by the public key).
pub fn key_id(name: &str, type_and_key: &[u8]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update(type_and_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Non-empty, valid UTF-8, no Unicode whitespace and no '+', at most 255 bytes.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The exact bytes a cosignature/v1 signs.
pub fn cosignature_message(timestamp: u64, checkpoint_text: &[u8]) -> Vec<u8> {
    let header = format!("cosignature/v1\ntime {timestamp}\n");
    let mut message = Vec::with_capacity(header.len() + checkpoint_text.len());
    message.extend_from_slice(header.as_bytes());
    message.extend_from_slice(checkpoint_text);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";

    #[test]
    fn names() {
        assert!(is_valid_key_name("example.com/foo"));
        assert!(is_valid_key_name(&"a".repeat(255)));
        assert!(!is_valid_key_name(&"a".repeat(256)));
        assert!(!is_valid_key_name(""));
        assert!(!is_valid_key_name("a b"));
        assert!(!is_valid_key_name("a+b"));
        assert!(!is_valid_key_name("a\u{a0}b"));
        assert!(!is_valid_key_name("a\u{3000}b"));
    }

    #[test]
    fn skey_and_vkey_round_trip() {
        let signer = Signer::from_skey(SKEY).unwrap();
        assert_eq!(signer.skey(), SKEY);
        assert_eq!(signer.vkey(), VKEY);
        let v = Verifier::from_vkey(VKEY).unwrap();
        assert_eq!(v.vkey(), VKEY);
        assert_eq!(v.kind(), KeyKind::Ed25519);
        assert_eq!(v.key_id(), 0xc74f20a3);
        assert_eq!(v.public_key(), signer.verifier().public_key());
        assert!(!format!("{signer:?}").contains("AYEKFALV"));
    }

    #[test]
    fn generated_keys_work() {
        let signer = Signer::generate("rootlog.test/log").unwrap();
        let again = Signer::from_skey(&signer.skey()).unwrap();
        assert_eq!(again.vkey(), signer.vkey());
        let sig = signer.sign(b"hello\n");
        assert!(signer.verifier().verify(b"hello\n", &sig.signature));
        assert!(!signer.verifier().verify(b"hello!\n", &sig.signature));
        assert!(matches!(
            Signer::generate("bad name"),
            Err(KeyError::BadName(_))
        ));
    }

    #[test]
    fn cosignature_timestamp_bounds() {
        let signer = Signer::generate("w").unwrap();
        let v = signer.cosignature_verifier();
        let ok = signer.cosign(b"a\n1\nx\n", MAX_COSIGNATURE_TIME);
        assert_eq!(v.cosignature_timestamp(&ok), Some(MAX_COSIGNATURE_TIME));
        assert!(v.verify(b"a\n1\nx\n", &ok.signature));
        let too_late = signer.cosign(b"a\n1\nx\n", MAX_COSIGNATURE_TIME + 1);
        assert_eq!(v.cosignature_timestamp(&too_late), None);
        assert!(!v.verify(b"a\n1\nx\n", &too_late.signature));
        // A plain 0x01 verifier never reads timestamps.
        assert_eq!(signer.verifier().cosignature_timestamp(&ok), None);
        // Truncated cosignature.
        assert!(!v.verify(b"a\n1\nx\n", &ok.signature[..71]));
    }
}
