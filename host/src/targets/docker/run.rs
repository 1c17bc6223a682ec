//! Commands in containers, through the engine's API: the commands of docker
//! targets (`exec`, and the command ends of a `transfer`) and the `docker`
//! capability's `exec`. No `docker` client is involved.
//!
//! A command is an exec created with its program and arguments, its
//! environment and its working directory, then started attached: stdout and
//! stderr come back multiplexed on the connection, stdin (when the command
//! has one) goes up the same connection, and a half-close of it is the end
//! of the input. The exit status is the exec's, asked of the engine once the
//! output has ended.
//!
//! **Stopping.** The engine has no call that kills an exec, and the pid
//! `inspect_exec` reports is the process's pid in the engine's pid namespace,
//! not in the container's, so `kill PID` run in the container would hit
//! nothing or the wrong process (and the pid names the first process only,
//! not its children). Instead, every exec carries the variable
//! [`MARKER`] with a value of its own, which the processes it starts
//! inherit. Stopping an exec runs a second one, `sh` in the same container,
//! that looks through the container's `/proc` for the processes whose
//! environment holds that value and sends them SIGKILL, then checks with the
//! engine that the exec is no longer running. That needs a `sh` (and `cat`)
//! in the container; without them the command may go on, and the error says
//! so.

use std::io::{PipeReader, PipeWriter};
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use futures_util::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::unix::pipe;
use tokio::sync::watch;

mod capture;
mod piped;

use capture::*;
pub use piped::{Ended, PipeEnd, Piped, Stopper};

use super::{Engine, Failure, Op, block, check_container, client, phrase, rt};

/// The variable that marks the processes of one exec (see the module's
/// documentation).
pub const MARKER: &str = "CAIRN_EXEC_ID";

/// How long stopping a command may take past its deadline.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// The buffer a command's stdin is fed from.
const FEED_CHUNK: usize = 64 << 10;

/// Finds the processes whose environment holds `MARKER=$1` (on a target
/// or in a container): `$2` `list` prints their pids, `kill` sends each
/// SIGKILL (a few rounds, for children forked meanwhile) and prints the
/// pids it killed. The script names the variable in its arguments only,
/// never in its own environment, so it does not find itself. Used to stop
/// an exec here and by [`crate::targets::marked`].
pub const MARK_SCRIPT: &str = r#"for round in 1 2 3; do
  found=
  for d in /proc/[0-9]*; do
    p=${d#/proc/}
    [ "$p" = "$$" ] && continue
    case "$(cat "$d/environ" 2>/dev/null | tr '\0' '\n')" in
      *"CAIRN_EXEC_ID=$1"*)
        if [ "$2" = kill ]; then kill -9 "$p" 2>/dev/null && found=1 && echo "$p"
        else echo "$p"; fi ;;
    esac
  done
  [ "$2" = kill ] && [ -n "$found" ] || break
done
exit 0"#;

/// A command to run in a container.
#[derive(Debug, Clone)]
pub struct ContainerCommand {
    pub engine: Engine,
    pub container: String,
    /// The program and its arguments (no shell).
    pub cmd: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
}

impl ContainerCommand {
    /// Checks the container's name and the variables' names.
    pub fn new(
        engine: Engine,
        container: &str,
        cmd: Vec<String>,
        env: Vec<(String, String)>,
        cwd: Option<String>,
    ) -> Result<Self, String> {
        check_container(container)?;
        if cmd.first().is_none_or(String::is_empty) {
            return Err(format!(
                "docker: exec in container `{container}` on {engine}: no command"
            ));
        }
        for (name, _) in &env {
            if name.is_empty() || name.contains(['=', '\0']) {
                return Err(format!(
                    "docker: `{name}` is not an environment variable name"
                ));
            }
        }
        Ok(Self {
            engine,
            container: container.to_string(),
            cmd,
            env,
            cwd,
        })
    }

    fn config(&self, marker: &str, stdin: bool) -> ExecConfig {
        let mut env: Vec<String> = self.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("{MARKER}={marker}"));
        ExecConfig {
            attach_stdin: Some(stdin),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(self.cmd.clone()),
            env: Some(env),
            working_dir: self.cwd.clone(),
            ..Default::default()
        }
    }

    fn phrase(&self, f: Failure, waited: Duration) -> String {
        phrase(Op::Exec, &self.engine, Some(&self.container), f, waited)
    }
}

/// Why a command did not complete.
#[derive(Debug)]
pub enum RunError {
    /// The engine failed or refused (no such container, cannot connect...),
    /// in words.
    Engine(String),
    /// The deadline passed; `Ok` when the command was stopped (or had
    /// ended), else why it may still run in the container.
    Deadline(Result<(), String>),
}

/// What a command left when it completed.
#[derive(Debug)]
pub struct Collected {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub truncated: bool,
}

type Output = Pin<Box<dyn Stream<Item = Result<LogOutput, bollard::errors::Error>> + Send>>;
type Input = Pin<Box<dyn AsyncWrite + Send>>;

/// A started exec and its connection.
struct Attached {
    d: Docker,
    id: String,
    output: Output,
    input: Input,
}

async fn attach(
    cc: &ContainerCommand,
    marker: &str,
    stdin: bool,
    id: &Mutex<Option<String>>,
) -> Result<Attached, Failure> {
    let d = client(&cc.engine).await?;
    let created = d
        .create_exec(&cc.container, cc.config(marker, stdin))
        .await?;
    *id.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(created.id.clone());
    match d.start_exec(&created.id, None).await? {
        StartExecResults::Attached { output, input } => Ok(Attached {
            d,
            id: created.id,
            output,
            input,
        }),
        StartExecResults::Detached => Err(Failure::Other("the engine did not attach".into())),
    }
}

/// The exit status of a finished exec (the engine may take a moment to
/// record it after the output ended).
async fn exit_status(d: &Docker, id: &str) -> Result<i32, Failure> {
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let r = d.inspect_exec(id).await?;
        if r.running != Some(true)
            && let Some(code) = r.exit_code
        {
            return Ok(i32::try_from(code).unwrap_or(-1));
        }
        if tokio::time::Instant::now() >= until {
            return Err(Failure::Other(
                "the engine did not report the exit status".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Kills the processes of the exec marked `marker`, then checks that the
/// exec `id` (when it was created) no longer runs.
async fn stop(cc: &ContainerCommand, marker: &str, id: Option<&str>) -> Result<(), String> {
    let failed = |f: Failure| match f {
        Failure::Api(e) => e.to_string(),
        Failure::Other(s) => s,
        Failure::Timeout => "no answer from the engine".into(),
    };
    let d = client(&cc.engine).await.map_err(failed)?;
    let created = d
        .create_exec(
            &cc.container,
            ExecConfig {
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                cmd: Some(vec![
                    "sh".into(),
                    "-c".into(),
                    MARK_SCRIPT.into(),
                    "cairn-stop".into(),
                    marker.into(),
                    "kill".into(),
                ]),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| failed(e.into()))?;
    let mut said = Capture::new(4 << 10);
    if let StartExecResults::Attached { mut output, .. } = d
        .start_exec(&created.id, None)
        .await
        .map_err(|e| failed(e.into()))?
    {
        while let Some(Ok(item)) = output.next().await {
            if let LogOutput::StdOut { message }
            | LogOutput::StdErr { message }
            | LogOutput::Console { message } = item
            {
                said.push(&message);
            }
        }
    }
    let status = exit_status(&d, &created.id).await.map_err(failed)?;
    if status != 0 {
        let said = String::from_utf8_lossy(&said.buf);
        return Err(format!(
            "`sh` in the container, which stops it, exited with status {status}: {}",
            said.trim()
        ));
    }
    let Some(id) = id else { return Ok(()) };
    let until = tokio::time::Instant::now() + Duration::from_secs(2);
    loop {
        let r = d.inspect_exec(id).await.map_err(|e| failed(e.into()))?;
        if r.running != Some(true) {
            return Ok(());
        }
        if tokio::time::Instant::now() >= until {
            return Err("it was still running after it was sent SIGKILL".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// [`stop`] from a plain thread, within [`STOP_GRACE`].
fn stop_blocking(cc: &ContainerCommand, marker: &str, id: Option<String>) -> Result<(), String> {
    block(Instant::now() + STOP_GRACE, async {
        Ok(stop(cc, marker, id.as_deref()).await)
    })
    .unwrap_or_else(|_| Err("the engine did not answer in time".into()))
}

/// Attaches, from a plain thread, until `deadline`; a command that may
/// have started when the deadline passed is stopped.
fn attach_until(
    cc: &ContainerCommand,
    marker: &str,
    stdin: bool,
    deadline: Instant,
) -> Result<Attached, RunError> {
    let id = Mutex::new(None);
    let started = Instant::now();
    match block(deadline, attach(cc, marker, stdin, &id)) {
        Ok(a) => Ok(a),
        Err(Failure::Timeout) => {
            let id = id.lock().ok().and_then(|mut i| i.take());
            Err(RunError::Deadline(stop_blocking(cc, marker, id)))
        }
        Err(f) => Err(RunError::Engine(cc.phrase(f, started.elapsed()))),
    }
}

/// Reads a command's output to its end: stdout into `out`, stderr into
/// `err`.
async fn drain<E: From<bollard::errors::Error>>(
    output: &mut Output,
    out: &mut (dyn Keep + Send),
    err: &mut (dyn Keep + Send),
) -> Result<(), E> {
    while let Some(item) = output.next().await {
        match item? {
            LogOutput::StdOut { message } | LogOutput::Console { message } => out.push(&message),
            LogOutput::StdErr { message } => err.push(&message),
            LogOutput::StdIn { .. } => {}
        }
    }
    Ok(())
}

/// A value of its own for each exec: random where the system offers it,
/// else the time, the pid and a counter (unique, if not unpredictable).
pub fn new_marker() -> String {
    use std::io::Read;
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        use sha2::Digest;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let seed = format!("{nanos}-{}-{n}", std::process::id());
        bytes.copy_from_slice(&sha2::Sha256::digest(seed.as_bytes())[..16]);
    }
    hex::encode(bytes)
}

/// Runs `cc`, its processes marked `marker` (a [`new_marker`]), to
/// completion or until `deadline`, feeding it `stdin` (none:
/// no stdin at all) and keeping at most `cap` bytes of each output stream
/// (the rest is read and dropped). At the deadline the command is stopped
/// (see the module's documentation), within [`STOP_GRACE`].
pub fn run(
    cc: &ContainerCommand,
    marker: &str,
    stdin: Option<Vec<u8>>,
    deadline: Instant,
    cap: usize,
) -> Result<Collected, RunError> {
    let marker = marker.to_string();
    let started = Instant::now();
    let Attached {
        d,
        id,
        mut output,
        mut input,
    } = attach_until(cc, &marker, stdin.is_some(), deadline)?;
    let (mut out, mut err) = (Capture::new(cap), Capture::new(cap));
    let done = block(deadline, async {
        let feed = async move {
            if let Some(data) = stdin {
                // A command that does not read all of it is not an error.
                let _ = input.write_all(&data).await;
                let _ = input.shutdown().await;
            }
            // Without stdin, `input` is held until the output ends.
            std::future::pending::<()>().await
        };
        let drain = drain::<Failure>(&mut output, &mut out, &mut err);
        tokio::pin!(feed, drain);
        tokio::select! {
            r = &mut drain => r?,
            () = &mut feed => unreachable!("the feed never ends"),
        }
        exit_status(&d, &id).await
    });
    match done {
        Ok(status) => Ok(Collected {
            status,
            truncated: out.truncated || err.truncated,
            stdout: out.buf,
            stderr: err.buf,
        }),
        Err(Failure::Timeout) => Err(RunError::Deadline(stop_blocking(cc, &marker, Some(id)))),
        Err(f) => Err(RunError::Engine(cc.phrase(f, started.elapsed()))),
    }
}

#[cfg(test)]
mod tests;
