//! The stages bytes flow through: transforms (zstd, gzip, sha256) and the
//! sink that commits.

use super::*;

/// A step of the chain: it takes bytes and passes them on; `finish` flushes
/// what it holds into the next stage and finishes that one, down to the
/// sink, which commits.
pub trait Stage: Write {
    fn finish(self: Box<Self>) -> io::Result<()>;
}

/// What the chain ends in.
pub enum Terminal {
    File(TempFile),
    Object(Box<dyn ObjectWriter>),
    Stdin(PipeWriter),
    Discard,
}

/// The last stage: counts what reaches the sink.
pub struct SinkStage {
    pub out: Terminal,
    pub count: Rc<Cell<u64>>,
}

impl Write for SinkStage {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = match &mut self.out {
            Terminal::File(f) => f.write(buf)?,
            Terminal::Object(o) => o.write(buf)?,
            Terminal::Stdin(s) => s.write(buf)?,
            Terminal::Discard => buf.len(),
        };
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Terminal::File(f) => f.flush(),
            Terminal::Object(o) => o.flush(),
            Terminal::Stdin(s) => s.flush(),
            Terminal::Discard => Ok(()),
        }
    }
}

impl Stage for SinkStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        match self.out {
            Terminal::File(f) => f.commit(),
            Terminal::Object(o) => o.commit().map_err(io::Error::other),
            // Closing stdin tells the command the data is complete.
            Terminal::Stdin(s) => {
                drop(s);
                Ok(())
            }
            Terminal::Discard => Ok(()),
        }
    }
}

pub struct ZstdStage(pub zstd::stream::write::Encoder<'static, Box<dyn Stage>>);
pub struct UnzstdStage(pub zstd::stream::write::Decoder<'static, Box<dyn Stage>>);
pub struct GzipStage(pub flate2::write::GzEncoder<Box<dyn Stage>>);
pub struct GunzipStage(pub flate2::write::GzDecoder<Box<dyn Stage>>);

pub struct ShaStage {
    pub next: Box<dyn Stage>,
    pub hasher: Sha256,
    pub digest: Rc<Cell<Option<[u8; 32]>>>,
}

macro_rules! delegate_write {
    ($t:ty, $($f:tt)+) => {
        impl Write for $t {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                self.$($f)+.write(buf)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.$($f)+.flush()
            }
        }
    };
}

delegate_write!(ZstdStage, 0);
delegate_write!(UnzstdStage, 0);
delegate_write!(GzipStage, 0);
delegate_write!(GunzipStage, 0);

impl Stage for ZstdStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.finish()
    }
}

impl Stage for UnzstdStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0
            .finish()
            .map_err(|e| io::Error::other(format!("zstd data ends early or is corrupt: {e}")))?
            .finish()
    }
}

impl Stage for GzipStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0.finish()?.finish()
    }
}

impl Stage for GunzipStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        self.0
            .finish()
            .map_err(|e| io::Error::other(format!("gzip data ends early or is corrupt: {e}")))?
            .finish()
    }
}

impl Write for ShaStage {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.next.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.next.flush()
    }
}

impl Stage for ShaStage {
    fn finish(self: Box<Self>) -> io::Result<()> {
        let this = *self;
        this.digest.set(Some(this.hasher.finalize().into()));
        this.next.finish()
    }
}
