//! Commands in containers piped into a transfer: started, stopped by a
//! watchdog or their owner, their ends bridged to pipes.

use super::*;

/// Stops a piped command: the transfer's watchdog at the deadline, or its
/// owner dropping it before it ended.
#[derive(Clone)]
pub struct Stopper(Arc<watch::Sender<bool>>);

impl Stopper {
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

/// How a piped command ended.
#[derive(Debug)]
pub struct Ended {
    /// Its exit status, or why it is not known.
    pub status: Result<i32, String>,
    /// The last bytes of its stderr, and of its stdout when stdout was not
    /// piped.
    pub stderr: Vec<u8>,
    pub stdout: Vec<u8>,
    /// Set when it was stopped before it ended: `Ok` when it was killed,
    /// else why it may still run.
    pub stopped: Option<Result<(), String>>,
}

/// The end of a piped command this machine holds.
pub enum PipeEnd {
    /// Its stdout: read it.
    Stdout(PipeReader),
    /// Its stdin: write it, drop it to end the input.
    Stdin(PipeWriter),
}

/// A command whose stdout (a source) or stdin (a sink) is an OS pipe of this
/// machine, bridged to the exec's connection by a task of the docker
/// runtime, so the bytes pass through fixed buffers: the pipe's, the feed's
/// 64 KiB, and one frame of the engine's output.
pub struct Piped {
    pub(super) stopper: Stopper,
    pub(super) done: mpsc::Receiver<Ended>,
    pub(super) waited: bool,
}

impl Piped {
    /// Starts `cc`, its processes marked `marker`, with its stdout piped
    /// (`sink` false) or its stdin piped (`sink` true); the other streams
    /// are kept as tails of `tail` bytes.
    pub fn spawn(
        cc: &ContainerCommand,
        marker: &str,
        sink: bool,
        deadline: Instant,
        tail: usize,
    ) -> Result<(Self, PipeEnd), RunError> {
        let marker = marker.to_string();
        let attached = attach_until(cc, &marker, sink, deadline)?;
        let (reader, writer) = match std::io::pipe() {
            Ok(p) => p,
            Err(e) => {
                let stopped = stop_blocking(cc, &marker, Some(attached.id));
                return Err(RunError::Engine(format!(
                    "cannot make a pipe: {e}{}",
                    stopped.err().map(|w| format!(" ({w})")).unwrap_or_default()
                )));
            }
        };
        let (ours, theirs) = if sink {
            (PipeEnd::Stdin(writer), Bridged::Stdin(reader))
        } else {
            (PipeEnd::Stdout(reader), Bridged::Stdout(writer))
        };
        let (cancel, cancelled) = watch::channel(false);
        let (tx, done) = mpsc::channel();
        let cc = cc.clone();
        rt().spawn(async move {
            let ended = bridge(&cc, &marker, attached, theirs, cancelled, tail).await;
            let _ = tx.send(ended);
        });
        Ok((
            Self {
                stopper: Stopper(Arc::new(cancel)),
                done,
                waited: false,
            },
            ours,
        ))
    }

    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Waits for the command to end (or to be stopped).
    pub fn wait(mut self) -> Ended {
        self.waited = true;
        self.done.recv().unwrap_or_else(|_| Ended {
            status: Err("lost the command's connection".into()),
            stderr: Vec::new(),
            stdout: Vec::new(),
            stopped: None,
        })
    }
}

impl Drop for Piped {
    /// Dropped before it ended, the command is stopped, and waited for
    /// within [`STOP_GRACE`].
    fn drop(&mut self) {
        if !self.waited {
            self.stopper.stop();
            let _ = self.done.recv_timeout(STOP_GRACE + Duration::from_secs(1));
        }
    }
}

/// The bridge's end of the pipe.
pub(super) enum Bridged {
    Stdout(PipeWriter),
    Stdin(PipeReader),
}

/// Why the bridge stopped moving bytes before the output ended.
pub(super) enum Flow {
    /// The reader of the command's stdout went away: the transfer failed
    /// elsewhere, the command is to be stopped.
    ReaderGone,
    Failure(Failure),
}

impl From<Failure> for Flow {
    fn from(f: Failure) -> Self {
        Flow::Failure(f)
    }
}

impl From<bollard::errors::Error> for Flow {
    fn from(e: bollard::errors::Error) -> Self {
        Flow::Failure(e.into())
    }
}

pub(super) fn io_failure(e: std::io::Error) -> Flow {
    Flow::Failure(Failure::Other(e.to_string()))
}

/// Moves the bytes between the pipe and the exec until the output ends,
/// then asks for the exit status; stopped when `cancelled` turns true (or
/// its sender is gone).
pub(super) async fn bridge(
    cc: &ContainerCommand,
    marker: &str,
    a: Attached,
    end: Bridged,
    mut cancelled: watch::Receiver<bool>,
    tail: usize,
) -> Ended {
    let started = Instant::now();
    let Attached {
        d,
        id,
        output,
        input,
    } = a;
    let (mut out, mut err) = (Tail::new(tail), Tail::new(tail));
    let mut work = Box::pin(async {
        match end {
            Bridged::Stdout(w) => source(output, w, &mut err).await?,
            Bridged::Stdin(r) => sink(output, input, r, &mut out, &mut err).await?,
        }
        Ok::<i32, Flow>(exit_status(&d, &id).await?)
    });
    let finished = tokio::select! {
        r = &mut work => Some(r),
        _ = cancelled.wait_for(|c| *c) => None,
    };
    // Closes the connection and the pipe.
    drop(work);
    let (status, stopped) = match finished {
        Some(Ok(status)) => (Ok(status), None),
        Some(Err(Flow::Failure(f))) => (Err(cc.phrase(f, started.elapsed())), None),
        Some(Err(Flow::ReaderGone)) | None => {
            let stopped = tokio::time::timeout(STOP_GRACE, stop(cc, marker, Some(&id)))
                .await
                .unwrap_or_else(|_| Err("the engine did not answer in time".into()));
            (Err("stopped".into()), Some(stopped))
        }
    };
    Ended {
        status,
        stderr: err.into_bytes(),
        stdout: out.into_bytes(),
        stopped,
    }
}

/// The command's stdout into the pipe, its stderr into `err`.
pub(super) async fn source(mut output: Output, w: PipeWriter, err: &mut Tail) -> Result<(), Flow> {
    let mut w = pipe::Sender::from_owned_fd(OwnedFd::from(w)).map_err(io_failure)?;
    while let Some(item) = output.next().await {
        match item? {
            LogOutput::StdOut { message } | LogOutput::Console { message } => {
                if w.write_all(&message).await.is_err() {
                    return Err(Flow::ReaderGone);
                }
            }
            LogOutput::StdErr { message } => err.push(&message),
            LogOutput::StdIn { .. } => {}
        }
    }
    // Dropping `w` ends the reader's data.
    Ok(())
}

/// The pipe into the command's stdin, closed (a half-close of the
/// connection) at the end of the pipe's data; its stdout and stderr into
/// the tails. A command that ends before it read all its input ends the
/// feed too: the pipe's writer then sees a broken pipe.
pub(super) async fn sink(
    mut output: Output,
    mut input: Input,
    r: PipeReader,
    out: &mut Tail,
    err: &mut Tail,
) -> Result<(), Flow> {
    let feed = async move {
        let copied = async {
            let mut r = pipe::Receiver::from_owned_fd(OwnedFd::from(r))?;
            let mut buf = vec![0u8; FEED_CHUNK];
            loop {
                let n = r.read(&mut buf).await?;
                if n == 0 {
                    return Ok::<(), std::io::Error>(());
                }
                input.write_all(&buf[..n]).await?;
            }
        }
        .await;
        // The end of the input, also when the pipe failed: the command
        // must not wait for more.
        let _ = input.shutdown().await;
        copied
    };
    let drain = drain::<Flow>(&mut output, out, err);
    tokio::pin!(feed, drain);
    tokio::select! {
        r = &mut drain => r,
        _ = &mut feed => drain.await,
    }
}
