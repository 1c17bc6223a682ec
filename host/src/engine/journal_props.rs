//! Property tests of the journal reader (the fuzz targets' counterpart for
//! what cairn itself wrote): whatever a journal holds, torn, edited or
//! garbage, `history` and `resume` read it or say why not, never panic.

use proptest::prelude::*;

/// Records as cairn writes them, to be cut, repeated and mixed with noise.
const RECORDS: [&str; 6] = [
    r#"{"event":"run-started","run_id":"r1","runbook":"a","version":1,"sha256":"x","mode":"apply","params":{"p":"v","n":3},"pid":1,"pid_start_time":1}"#,
    r#"{"event":"step-started","step":"a","phase":"main"}"#,
    r#"{"event":"step-finished","step":"a","phase":"main","status":"succeeded","outputs":{"k":[1,2]},"duration_ms":1.0,"attempts":1}"#,
    r#"{"event":"rollback-started","error":"boom","refused":true}"#,
    r#"{"event":"run-resumed","pid":"nan","pid_start_time":-1}"#,
    r#"{"event":"run-finished","result":"success"}"#,
];

fn line() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..RECORDS.len()).prop_map(|i| RECORDS[i].to_owned()),
        (0..RECORDS.len(), any::<prop::sample::Index>())
            .prop_map(|(i, at)| RECORDS[i][..at.index(RECORDS[i].len())].to_owned()),
        "[ -~]{0,40}",
        Just("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_owned()),
        Just(r#"{"event":"step-finished","step":7,"phase":null,"status":{}}"#.to_owned()),
        Just(r#"{"event":"run-started","mode":"nonsense","params":[]}"#.to_owned()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn any_journal_is_read_or_refused_without_panic(
        lines in prop::collection::vec(line(), 0..12),
        newline_at_end in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut text = lines.join("\n");
        if newline_at_end {
            text.push('\n');
        }
        std::fs::write(dir.path().join("journal.jsonl"), &text).expect("write");
        let _ = super::history::read(dir.path());
        let _ = super::history::events(dir.path());
        let _ = super::resume::load(dir.path());
        let _ = super::history::list(dir.path());
    }
}
