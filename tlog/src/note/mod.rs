//! Signed notes and their keys: c2sp.org/signed-note, Go `sumdb/note` key
//! formats, c2sp.org/tlog-checkpoint and c2sp.org/tlog-cosignature
//! (`cosignature/v1`, Ed25519). Pure logic, no I/O.

mod checkpoint;
mod encoding;
mod key;
mod log_checkpoint;
mod signed;

pub use checkpoint::{Checkpoint, CheckpointError};
pub use encoding::{
    decode_base64_canonical, decode_hash_b64, encode_b64, encode_b64_into, parse_decimal_u64,
};
pub use key::{
    cosignature_message, is_valid_key_name, key_id, KeyError, KeyKind, Signer, Verifier,
};
pub use log_checkpoint::{open_checkpoint, OpenCheckpointError};
pub use signed::{open, signed_text, Note, NoteError, NoteSignature, MAX_SIGNATURES};
