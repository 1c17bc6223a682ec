//! What keeps a command's output: all of it up to a cap, or its tail.

/// What keeps a command's output.
pub(super) trait Keep {
    fn push(&mut self, bytes: &[u8]);
}

/// The first `cap` bytes of a stream; the rest is counted as cut.
pub(super) struct Capture {
    pub(super) buf: Vec<u8>,
    pub(super) cap: usize,
    pub(super) truncated: bool,
}

impl Keep for Capture {
    fn push(&mut self, bytes: &[u8]) {
        Capture::push(self, bytes)
    }
}

impl Keep for Tail {
    fn push(&mut self, bytes: &[u8]) {
        Tail::push(self, bytes)
    }
}

impl Capture {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            buf: Vec::new(),
            cap,
            truncated: false,
        }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        let room = self.cap.saturating_sub(self.buf.len());
        if bytes.len() > room {
            self.truncated = true;
        }
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

/// The last `max` bytes of a stream.
pub(super) struct Tail {
    pub(super) keep: Vec<u8>,
    pub(super) max: usize,
}

impl Tail {
    pub(super) fn new(max: usize) -> Self {
        Self {
            keep: Vec::new(),
            max,
        }
    }

    pub(super) fn push(&mut self, bytes: &[u8]) {
        self.keep.extend_from_slice(bytes);
        if self.keep.len() > 2 * self.max {
            self.keep.drain(..self.keep.len() - self.max);
        }
    }

    pub(super) fn into_bytes(mut self) -> Vec<u8> {
        if self.keep.len() > self.max {
            self.keep.drain(..self.keep.len() - self.max);
        }
        self.keep
    }
}
