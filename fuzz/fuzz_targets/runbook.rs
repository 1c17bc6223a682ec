//! A runbook file's text, loaded and validated: `Ok` or diagnostics, never
//! a panic, an overflow or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = cairn_fuzz::load(text);
    }
});
