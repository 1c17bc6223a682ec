//! A run's journal (`journal.jsonl`), torn, edited or garbage: read back as
//! `history` and `resume` read it, through the host's own reading code.
#![no_main]

use cairn_fuzz::journal_read;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The host reads a journal as UTF-8 text; anything else is an I/O error
    // it reports before this point.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let events = journal_read::events(text);
    assert!(events.len() <= text.lines().count());
    let dir = std::path::Path::new("runs/fuzz");
    for alive in [false, true] {
        if let Some(record) = journal_read::record(&events, dir, |_, _| alive) {
            assert_eq!(record.dir, dir);
        }
    }
    if let Some(start) = events.iter().find(|e| e["event"] == "run-started") {
        let _ = journal_read::start_params(start);
    }
    let _ = journal_read::rollback(&events);
    let ends = journal_read::step_ends(&events).count();
    assert!(ends <= events.len());
});
