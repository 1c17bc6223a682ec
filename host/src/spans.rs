//! Durations on `tracing` spans: a span declared with `duration_ms =
//! tracing::field::Empty` and a [`Timed`] guard made right after it gets
//! its duration recorded just before it closes, so the close line
//! (`CAIRN_LOG=cairn=debug`) says how long the run, step or call took.

use std::time::Instant;

/// Records `duration_ms` on the span when dropped.
pub struct Timed<'a> {
    span: &'a tracing::Span,
    started: Instant,
}

impl<'a> Timed<'a> {
    pub fn new(span: &'a tracing::Span) -> Self {
        Timed {
            span,
            started: Instant::now(),
        }
    }
}

impl Drop for Timed<'_> {
    fn drop(&mut self) {
        let ms = self.started.elapsed().as_secs_f64() * 1000.0;
        self.span.record("duration_ms", ms);
    }
}
