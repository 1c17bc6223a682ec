//! `--json`: the run's events as cairn journals them, one JSON object per
//! line on stdout.

use std::io::Write;
use std::sync::{Arc, Mutex};

use crate::events::{Event, EventSink};
use crate::redact::Redactor;

/// `--json`: one JSON object per event on stdout, redacted like the journal.
pub struct JsonLines {
    redactor: Mutex<Arc<Redactor>>,
}

impl JsonLines {
    pub fn new() -> Self {
        Self {
            redactor: Mutex::new(Arc::new(Redactor::new())),
        }
    }

    pub fn set_redactor(&self, r: Arc<Redactor>) {
        *self.redactor.lock().expect("redactor") = r;
    }
}

impl Default for JsonLines {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSink for JsonLines {
    fn emit(&self, event: &Event) {
        let r = self.redactor.lock().expect("redactor").clone();
        let line = crate::engine::journal::line(event, &r);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(line.as_bytes());
        let _ = out.flush();
    }
}
