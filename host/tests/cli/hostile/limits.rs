//! Hostile plugins against the limits: time, memory, stack, log events,
//! outputs, handles, stdout; a panic fails the step with its message.

use super::*;

#[test]
fn spin_is_interrupted_by_the_step_timeout() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("spin", r#"timeout="300ms""#, "");
    r.code(1)
        .has("✗ attack")
        .has("plugin `hostile` timed out after 300ms");
    assert!(
        r.elapsed < Duration::from_secs(20),
        "the spin was not interrupted in time\n{}",
        r.context()
    );
    assert_eq!(
        h.finished("attack")["error"],
        "plugin `hostile` timed out after 300ms"
    );
    h.contained();
}

#[test]
fn alloc_without_bound_stops_at_the_memory_cap() {
    let Some(h) = Hostile::new() else { return };
    h.attack("alloc", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: out of memory (the plugin's memory limit was reached)")
        .has("memory allocation of 1048576 bytes failed")
        .lacks("RUST_BACKTRACE");
    h.contained();
}

#[test]
fn unbounded_recursion_is_a_stack_overflow() {
    let Some(h) = Hostile::new() else { return };
    h.attack("recurse", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: stack overflow");
    h.contained();
    // Big frames exhaust the stack the compiler keeps in linear memory
    // first: that stack sits below address 0, so overflowing it is an out
    // of bounds access, not a write over the plugin's data.
    h.attack("recurse", "", "frame-bytes 4096")
        .code(1)
        .has("plugin `hostile` crashed: wasm trap: out of bounds memory access");
    h.contained();
}

#[test]
fn a_log_flood_is_capped_with_a_warning_and_the_run_finishes() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("log-flood", "", "");
    r.code(0)
        .has("✓ attack")
        .has("warning: plugin `hostile` logged more than 10000 events in step `attack`; the rest are dropped");
    assert!(
        r.stdout.lines().count() < 10_100,
        "{} lines on stdout",
        r.stdout.lines().count()
    );
    let journal = h.p.last_journal();
    let logs = journal
        .iter()
        .filter(|e| e["event"] == "log" && e["step"] == "attack")
        .count();
    assert_eq!(logs, 10_000, "log events journaled");
    let warnings: Vec<&Value> = journal.iter().filter(|e| e["event"] == "warning").collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]["message"]
            .as_str()
            .unwrap()
            .contains("logged more than 10000 events")
    );
    assert_eq!(h.finished("attack")["outputs"]["sent"], 1_000_000);
    assert!(h.p.join("next").exists(), "the run went on after the flood");
    h.carries_on();
}

#[test]
fn outputs_over_the_cap_are_refused() {
    let Some(h) = Hostile::new() else { return };
    h.attack("big-output", "", "")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` returned 52428811 bytes of outputs, over the limit of 1048576 bytes")
        .lacks("xxxxxxxxxxxxxxxx");
    let journal = h.p.journals();
    assert!(
        journal.len() < 64 << 10,
        "journal of {} bytes",
        journal.len()
    );
    assert_eq!(h.finished("attack")["outputs"], serde_json::json!({}));
    h.contained();
}

#[test]
fn secret_handles_are_capped() {
    let Some(h) = Hostile::new() else { return };
    h.attack("handles", "", "name token")
        .code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: it holds more than 1000 handles at once");
    h.contained();
}

#[test]
fn a_panic_fails_the_step_with_its_message() {
    let Some(h) = Hostile::new() else { return };
    let r = h.attack("panic", "", r#"message "hostile gave up""#);
    r.code(1)
        .has("✗ attack")
        .has("plugin `hostile` crashed: panicked at ")
        .has("hostile gave up");
    let error = h.finished("attack")["error"].as_str().unwrap().to_string();
    assert!(
        error.starts_with("plugin `hostile` crashed: panicked at "),
        "{error}"
    );
    assert!(error.ends_with(": hostile gave up"), "{error}");
    h.contained();
}

#[test]
fn stdout_is_capped_and_never_shown() {
    let Some(h) = Hostile::new() else { return };
    h.attack("stdout-flood", "", "").code(0).lacks("yyyyyyyy");
    let lines = h.finished("attack")["outputs"]["lines"].as_u64().unwrap();
    assert!(lines < 10 << 10, "{lines} lines of 1 KiB written");
    assert!(!h.p.journals().contains("yyyyyyyy"));
    h.carries_on();
}
