//! Ed25519 signers and verifiers in the Go note key formats.
//!
//! vkey: `<name>+<8 hex key ID>+<base64(type || 32-byte public key)>`
//! skey: `PRIVATE+KEY+<name>+<8 hex key ID>+<base64(0x01 || 32-byte seed)>`
//! Key ID: the first 4 bytes (big-endian) of SHA-256(name || "\n" || type || key).
//! Base64 may contain '+', so a vkey splits into at most 3 fields and an skey
//! into at most 5. Signatures are checked with `verify_strict`.

use super::NoteSignature;

/// What a verifier checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// Type 0x01: Ed25519 over the note text.
    Ed25519,
    /// Type 0x04: timestamped Ed25519 `cosignature/v1` over
    /// `"cosignature/v1\ntime <t>\n" || note text`; signature bytes are u64-BE timestamp || 64-byte signature.
    CosignatureV1,
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
#[derive(Debug, Clone)]
pub struct Verifier {
    // Filled in by the implementation: name, key ID, kind, ed25519 verifying key.
    _private: (),
}

impl Verifier {
    /// Parses a vkey of type 0x01 (Ed25519) or 0x04 (cosignature/v1).
    pub fn from_vkey(vkey: &str) -> Result<Self, KeyError> {
        let _ = vkey;
        todo!()
    }

    /// Parses a witness vkey of type 0x01 or 0x04 and returns the cosignature/v1
    /// verifier for it (with the 0x04 key ID): published witness keys are 0x01 vkeys.
    pub fn cosignature_from_vkey(vkey: &str) -> Result<Self, KeyError> {
        let _ = vkey;
        todo!()
    }

    pub fn name(&self) -> &str {
        todo!()
    }

    pub fn key_id(&self) -> u32 {
        todo!()
    }

    pub fn kind(&self) -> KeyKind {
        todo!()
    }

    /// The vkey string of this verifier (its own type byte).
    pub fn vkey(&self) -> String {
        todo!()
    }

    /// Verifies `signature` (the bytes after the 4-byte key ID) over the note `text`.
    /// For cosignatures, the timestamp is taken from the signature bytes.
    pub fn verify(&self, text: &[u8], signature: &[u8]) -> bool {
        let _ = (text, signature);
        todo!()
    }

    /// True when `sig` names this key (same name and key ID).
    pub fn matches(&self, sig: &NoteSignature) -> bool {
        sig.name == self.name() && sig.key_id == self.key_id()
    }
}

/// An Ed25519 private key with its name.
pub struct Signer {
    _private: (),
}

impl Signer {
    /// A new random key.
    pub fn generate(name: &str) -> Result<Self, KeyError> {
        let _ = name;
        todo!()
    }

    /// Parses a Go-format skey; checks the key ID against the derived public key.
    pub fn from_skey(skey: &str) -> Result<Self, KeyError> {
        let _ = skey;
        todo!()
    }

    pub fn skey(&self) -> String {
        todo!()
    }

    pub fn name(&self) -> &str {
        todo!()
    }

    /// The 0x01 verifier.
    pub fn verifier(&self) -> Verifier {
        todo!()
    }

    /// The 0x01 vkey.
    pub fn vkey(&self) -> String {
        self.verifier().vkey()
    }

    /// The cosignature/v1 (0x04) verifier of the same key.
    pub fn cosignature_verifier(&self) -> Verifier {
        todo!()
    }

    /// Signs note text (type 0x01).
    pub fn sign(&self, text: &[u8]) -> NoteSignature {
        let _ = text;
        todo!()
    }

    /// Cosigns a checkpoint's note text at `timestamp` (cosignature/v1, 0x04 key ID).
    pub fn cosign(&self, checkpoint_text: &[u8], timestamp: u64) -> NoteSignature {
        let _ = (checkpoint_text, timestamp);
        todo!()
    }
}

/// The key ID of `name` and `type_and_key` (type byte followed by the public key).
pub fn key_id(name: &str, type_and_key: &[u8]) -> u32 {
    let _ = (name, type_and_key);
    todo!()
}

/// Non-empty, valid UTF-8, no Unicode whitespace and no '+', at most 255 bytes.
pub fn is_valid_key_name(name: &str) -> bool {
    let _ = name;
    todo!()
}

/// The exact bytes a cosignature/v1 signs.
pub fn cosignature_message(timestamp: u64, checkpoint_text: &[u8]) -> Vec<u8> {
    let _ = (timestamp, checkpoint_text);
    todo!()
}
