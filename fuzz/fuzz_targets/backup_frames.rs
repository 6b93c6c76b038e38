#![no_main]
// Checks: reading a backup stream (header, then frames) never panics or allocates without bound; every frame read re-encodes to the bytes it came from.
use libfuzzer_sys::fuzz_target;
use rootlog::backup::{read_header, Frame};

fuzz_target!(|data: &[u8]| {
    let mut r = std::io::Cursor::new(data);
    let _ = read_header(&mut r);
    loop {
        let start = r.position() as usize;
        match Frame::read(&mut r) {
            Ok(Some(frame)) => {
                let end = r.position() as usize;
                let mut again = Vec::new();
                frame.encode(&mut again);
                assert_eq!(again, data[start..end]);
            }
            Ok(None) | Err(_) => break,
        }
    }
});
