//! `.cairn/runs/RUN-ID/journal.jsonl`: one JSON object per event, appended
//! and flushed as it happens, secrets redacted.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::events::{Event, EventSink};
use crate::redact::Redactor;

pub struct Journal {
    path: PathBuf,
    file: Mutex<File>,
    redactor: Arc<Redactor>,
}

impl Journal {
    pub fn create(run_dir: &Path, redactor: Arc<Redactor>) -> std::io::Result<Self> {
        std::fs::create_dir_all(run_dir)?;
        let path = run_dir.join("journal.jsonl");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            redactor,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// One journal line: the event with a timestamp, redacted.
pub fn line(event: &Event, redactor: &Redactor) -> String {
    let mut value = serde_json::to_value(event).unwrap_or_default();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "ts".into(),
            serde_json::Value::String(
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            ),
        );
    }
    let mut text = redactor.redact(&value.to_string());
    text.push('\n');
    text
}

impl EventSink for Journal {
    fn emit(&self, event: &Event) {
        if matches!(event, Event::Progress { .. }) {
            return;
        }
        let text = line(event, &self.redactor);
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(e) = f.write_all(text.as_bytes()).and_then(|_| f.flush()) {
            tracing::error!("cannot write the journal {}: {e}", self.path.display());
        }
    }
}
