//! The `exec` capability: a command to run on a target and how it ended.

use std::borrow::Cow;
use std::time::Duration;

use super::secrets::MaybeSecret;
use crate::bindings::cairn::plugin::exec;
use crate::mock_host::MockHost;
use crate::wit::{WitHost, effect_to_wit, millis};
use crate::{Effect, HostError};

/// A command to run on a target (`exec.command` in the WIT).
///
/// ```
/// use cairn_sdk::{Command, Effect};
/// let cmd = Command::new("git").args(["-C", "/srv/app", "rev-parse", "HEAD"]).effect(Effect::Read);
/// assert_eq!(cmd.args.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, MaybeSecret)>,
    pub cwd: Option<String>,
    pub stdin: Option<Vec<u8>>,
    /// Per-call timeout; the step's deadline applies as well.
    pub timeout: Option<Duration>,
    /// `Read` commands run in a dry-run; `Write` commands (the default) are
    /// recorded and not run.
    pub effect: Effect,
    /// The target to run on; the step's target when `None`.
    pub target: Option<String>,
}

impl Command {
    pub fn new(program: impl Into<String>) -> Self {
        Command {
            program: program.into(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            stdin: None,
            timeout: None,
            effect: Effect::Write,
            target: None,
        }
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: impl Into<String>, value: impl Into<MaybeSecret>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    pub fn cwd(mut self, dir: impl Into<String>) -> Self {
        self.cwd = Some(dir.into());
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(input.into());
        self
    }

    pub fn timeout(mut self, timeout: impl Into<Duration>) -> Self {
        self.timeout = Some(timeout.into());
        self
    }

    pub fn effect(mut self, effect: Effect) -> Self {
        self.effect = effect;
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }
}

/// How a command ended (`exec.completed` in the WIT).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completed {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    /// True when the command was not run (dry-run of a write).
    pub planned: bool,
}

impl Completed {
    pub fn new(status: i32, stdout: impl Into<Vec<u8>>, stderr: impl Into<Vec<u8>>) -> Self {
        Completed {
            status,
            stdout: stdout.into(),
            stderr: stderr.into(),
            planned: false,
        }
    }

    /// Status 0 with this output.
    pub fn ok(stdout: impl Into<Vec<u8>>) -> Self {
        Completed::new(0, stdout, Vec::new())
    }

    /// What the host returns for a write in a dry-run.
    pub fn planned() -> Self {
        Completed {
            planned: true,
            ..Completed::default()
        }
    }

    pub fn stdout_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stdout)
    }

    pub fn stderr_text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.stderr)
    }
}

/// The [`Host`](crate::Host) method of the `exec` capability. Every host
/// has it.
pub trait ExecHost {
    /// Runs a command on a target. In a dry-run a `write` command is not run:
    /// the result has `planned` set and no output.
    fn exec(&self, command: &Command) -> Result<Completed, HostError>;
}

impl ExecHost for WitHost {
    fn exec(&self, command: &Command) -> Result<Completed, HostError> {
        let done = exec::run(&command_to_wit(command)?).map_err(HostError::new)?;
        Ok(completed_from_wit(done))
    }
}

/// `exec.command` for an `exec` call or a command end of a transfer;
/// secrets stay handles borrowed from `c`.
pub(crate) fn command_to_wit(c: &Command) -> Result<exec::Command<'_>, HostError> {
    Ok(exec::Command {
        program: c.program.clone(),
        args: c.args.clone(),
        env: env_to_wit(&c.env)?,
        cwd: c.cwd.clone(),
        stdin: c.stdin.clone(),
        timeout_ms: c.timeout.map(millis),
        effect: effect_to_wit(c.effect),
        target: c.target.clone(),
    })
}

/// Environment variables for the WIT (of a command here, of a `docker`
/// exec as well); secrets stay handles.
pub(crate) fn env_to_wit(env: &[(String, MaybeSecret)]) -> Result<Vec<exec::EnvVar<'_>>, HostError> {
    env.iter()
        .map(|(name, value)| {
            Ok(exec::EnvVar {
                name: name.clone(),
                value: match value {
                    MaybeSecret::Plain(s) => exec::EnvValue::Plain(s.clone()),
                    MaybeSecret::Secret(s) => exec::EnvValue::Secret(s.wit_handle()?),
                },
            })
        })
        .collect()
}

pub(crate) fn completed_from_wit(done: exec::Completed) -> Completed {
    Completed {
        status: done.status,
        stdout: done.stdout,
        stderr: done.stderr,
        planned: done.planned,
    }
}

impl ExecHost for MockHost {
    fn exec(&self, command: &Command) -> Result<Completed, HostError> {
        self.record(command.clone());
        if self.is_dry_run() && command.effect == Effect::Write {
            return Ok(Completed::planned());
        }
        self.answer(command, || format!("exec `{}`", command.program))
    }
}

impl MockHost {
    /// Queues the result of the next `exec` call.
    pub fn exec_returns(self, completed: Completed) -> Self {
        self.returns::<Command, _>(Ok(completed))
    }

    /// Queues a host error for the next `exec` call (denied, unreachable...).
    pub fn exec_fails(self, message: impl Into<String>) -> Self {
        self.returns::<Command, Completed>(Err(HostError::new(message)))
    }

    /// Answers `exec` calls once the queue is empty.
    pub fn on_exec(
        self,
        handler: impl FnMut(&Command) -> Result<Completed, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The `exec` commands, in order.
    pub fn commands(&self) -> Vec<Command> {
        self.recorded()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_then_handler() {
        let host = MockHost::new()
            .exec_returns(Completed::ok("first"))
            .on_exec(|cmd| Ok(Completed::new(1, cmd.program.clone(), "")));
        let a = host.exec(&Command::new("a")).unwrap();
        let b = host.exec(&Command::new("b")).unwrap();
        assert_eq!((a.status, a.stdout_text().as_ref()), (0, "first"));
        assert_eq!((b.status, b.stdout_text().as_ref()), (1, "b"));
        let e = MockHost::new().exec(&Command::new("c")).unwrap_err();
        assert_eq!(e.message, "mock host: no response scripted for exec `c`");
    }

    #[test]
    fn dry_run_plans_writes_and_performs_reads() {
        let host = MockHost::new()
            .dry_run()
            .exec_returns(Completed::ok("read"));
        let w = host.exec(&Command::new("rm")).unwrap();
        let r = host.exec(&Command::new("ls").effect(Effect::Read)).unwrap();
        assert!(w.planned && !r.planned);
        assert_eq!(r.stdout_text(), "read");
        let programs: Vec<String> = host.commands().into_iter().map(|c| c.program).collect();
        assert_eq!(programs, ["rm", "ls"]);
    }
}
