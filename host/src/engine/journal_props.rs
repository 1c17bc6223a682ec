//! Property tests of the journal reader (the fuzz targets' counterpart for
//! what cairn itself wrote): whatever a journal holds, torn, edited or
//! garbage, `history` and `resume` read it or say why not, never panic.

use proptest::prelude::*;
use serde_json::Value;

use super::journal_read;

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

/// Any JSON value, nested a few levels.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("run-started".to_owned()),
            Just("step-finished".to_owned()),
            Just("main".to_owned()),
            Just("failed".to_owned()),
            ".{0,8}"
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("event".to_owned()),
                    Just("step".to_owned()),
                    Just("phase".to_owned()),
                    Just("status".to_owned()),
                    Just("params".to_owned()),
                    Just("run_id".to_owned()),
                    Just("pid".to_owned()),
                    ".{0,6}"
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// What history and resume take from a journal's text, all of it.
fn read_all(text: &str) -> usize {
    let events = journal_read::events(text);
    let dir = std::path::Path::new("runs/x");
    for alive in [false, true] {
        if let Some(r) = journal_read::record(&events, dir, |_, _| alive) {
            assert_eq!(r.dir, dir);
        }
    }
    if let Some(start) = events.iter().find(|e| e["event"] == "run-started") {
        let _ = journal_read::start_params(start);
    }
    let _ = journal_read::rollback(&events);
    journal_read::step_ends(&events).count()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Any text at all, and lines of any JSON (records with fields of any
    /// type), is read without panic.
    #[test]
    fn any_text_or_json_lines_are_read_without_panic(
        text in ".{0,200}",
        values in prop::collection::vec(json(), 0..8),
    ) {
        read_all(&text);
        let lines: Vec<String> = values.iter().map(Value::to_string).collect();
        let n = journal_read::events(&lines.join("\n")).len();
        prop_assert_eq!(n, values.len(), "every JSON line is an event");
        read_all(&lines.join("\n"));
    }

    /// A journal cut at any byte (a crash in the middle of a write) reads
    /// as its complete records: the steps that finished before the cut.
    #[test]
    fn a_journal_cut_anywhere_keeps_its_complete_records(
        records in prop::collection::vec(0..RECORDS.len(), 1..10),
        cut in any::<prop::sample::Index>(),
    ) {
        let text: String = records.iter().map(|i| format!("{}\n", RECORDS[*i])).collect();
        let at = cut.index(text.len() + 1);
        let cut_text = &text[..at];
        let complete = cut_text.matches('\n').count();
        let mut whole: String = records[..complete]
            .iter()
            .map(|i| format!("{}\n", RECORDS[*i]))
            .collect();
        // A record whose newline is all that was lost is whole.
        if records.get(complete).is_some_and(|i| cut_text[whole.len()..] == *RECORDS[*i]) {
            whole = cut_text.to_owned();
        }
        let events = journal_read::events(cut_text);
        let ends = journal_read::step_ends(&events).count();
        let expected = journal_read::step_ends(&journal_read::events(&whole)).count();
        prop_assert_eq!(ends, expected);
        prop_assert_eq!(events.len(), journal_read::events(&whole).len());
    }
}
