//! rootlog-witness: an independent witness for tlog-tiles / tlog-witness logs.
//!
//! The witness issue fills this in; until then the binary only says so.

fn main() {
    eprintln!("rootlog-witness: not implemented yet");
    std::process::exit(2);
}
