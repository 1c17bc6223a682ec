//! `.cairn/runs/RUN-ID/journal.jsonl`: one JSON object per event, appended
//! and flushed as it happens, secrets redacted.
//!
//! Flushed is not on disk: after a power loss the kernel may have lost the
//! last lines, and a resume would then run again a step that had written.
//! So the records a resume trusts are synced (`fdatasync`): the end of a
//! step that made a write (a capability call with effect `write` that was
//! performed), and the end of the run (its verdict). Steps that only read
//! cost no sync; repeating one after a crash is harmless.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::events::{Event, EventSink};
use crate::redact::Redactor;

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    redactor: Arc<Redactor>,
    wrote: Writes,
}

impl Journal {
    pub fn create(run_dir: &Path, redactor: Arc<Redactor>) -> std::io::Result<Self> {
        std::fs::create_dir_all(run_dir)?;
        let path = run_dir.join("journal.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        end_torn_line(&path, &file)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            redactor,
            wrote: Writes::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A journal cut in the middle of its last record (a crash, a full disk)
/// ends without a newline: the next record a resume appends would be glued
/// to the torn one and lost with it. The torn record is ended first; readers
/// skip it as the line that does not parse.
fn end_torn_line(path: &Path, mut file: &File) -> std::io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut reader = File::open(path)?;
    reader.seek(SeekFrom::Start(len - 1))?;
    let mut last = [0u8; 1];
    reader.read_exact(&mut last)?;
    if last[0] != b'\n' {
        file.write_all(b"\n")?;
    }
    Ok(())
}

/// One journal line: the event with a timestamp, redacted.
pub fn line(event: &Event, redactor: &Redactor) -> String {
    // Written straight to text (no `Value` tree in between: a run writes
    // several records a step); every event is a JSON object, and its time
    // goes in as its last member.
    let mut text = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    if text.ends_with('}') {
        text.pop();
        if !text.ends_with('{') {
            text.push(',');
        }
        text.push_str("\"ts\":\"");
        text.push_str(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
        text.push_str("\"}");
    }
    let mut text = redactor.redact(&text);
    text.push('\n');
    text
}

/// The writes a run performed, as its journal's sync points need them.
#[derive(Default)]
pub struct Writes {
    /// A write was performed since the last sync point.
    since_sync: AtomicBool,
    /// A write was performed in this run.
    in_run: AtomicBool,
}

/// Whether `event` is journaled (progress is not) and, if so, whether its
/// record must be durable before the run goes on: the end of a step that
/// performed a write since the last such point, and the end of a run that
/// performed any (a run that only read has nothing a crash could make it
/// repeat to harm: its records are not synced). Every backend keeps these
/// same sync points.
pub fn sync_point(event: &Event, wrote: &Writes) -> Option<bool> {
    if matches!(event, Event::Progress { .. }) {
        return None;
    }
    if let Event::Capability {
        effect, planned, ..
    } = event
        && effect == "write"
        && !planned
    {
        wrote.since_sync.store(true, Ordering::SeqCst);
        wrote.in_run.store(true, Ordering::SeqCst);
    }
    Some(match event {
        Event::StepFinished { .. } => wrote.since_sync.swap(false, Ordering::SeqCst),
        Event::RunFinished { .. } => wrote.in_run.load(Ordering::SeqCst),
        _ => false,
    })
}

impl EventSink for Journal {
    fn emit(&self, event: &Event) {
        let Some(sync) = sync_point(event, &self.wrote) else {
            return;
        };
        let text = line(event, &self.redactor);
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let mut done = f.write_all(text.as_bytes()).and_then(|_| f.flush());
        if sync && done.is_ok() {
            done = f.sync_data();
        }
        if let Err(e) = done {
            tracing::error!("cannot write the journal {}: {e}", self.path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_the_event_as_one_json_object_with_its_time_redacted() {
        let redactor = Redactor::new();
        redactor.add("hunter2-secret");
        let text = line(
            &Event::Warning {
                message: "said \"hunter2-secret\" }".into(),
            },
            &redactor,
        );
        assert!(
            text.ends_with("}\n") && text.matches('\n').count() == 1,
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["event"], "warning");
        assert!(!text.contains("hunter2-secret"), "{text}");
        assert!(v["message"].as_str().unwrap().ends_with("\" }"), "{v}");
        let ts = chrono::DateTime::parse_from_rfc3339(v["ts"].as_str().unwrap()).unwrap();
        assert!((chrono::Utc::now() - ts.to_utc()).num_seconds().abs() < 60);
        assert_eq!(v.as_object().unwrap().len(), 3, "{v}");
    }
}
