//! `cargo run --example conformance [-- DIR]`: writes the conformance
//! vectors (`statements.json`, `receipts.json`) into DIR, by default
//! `docs/conformance`. The output is deterministic; `tests/conformance.rs`
//! fails when the committed files differ from it, so after changing the
//! vectors run this and commit the result.

use std::path::PathBuf;
use std::process::ExitCode;

mod vectors;

fn main() -> ExitCode {
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("docs/conformance"));
    for (name, value) in [
        ("statements.json", vectors::statements()),
        ("receipts.json", vectors::receipts()),
    ] {
        let path = dir.join(name);
        if let Err(e) = std::fs::write(&path, vectors::to_file(&value)) {
            eprintln!("conformance: cannot write {}: {e}", path.display());
            return ExitCode::from(1);
        }
        eprintln!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}
