//! A command to run on a target and how it ended (`exec` in the WIT).

use std::borrow::Cow;
use std::time::Duration;

use crate::Effect;
use crate::secret::MaybeSecret;

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
