//! Which file a command runs, and with which environment.
//!
//! A program is resolved by the host, on the host's own `PATH` (never the
//! `PATH` a step or a plugin gives the command), to a file; symbolic links
//! are followed to the file itself. A grant of `exec "echo"` is resolved
//! that way once per run (and pinned in `cairn.lock`); a command on a
//! `local` target must resolve to the same file, and the host runs the
//! grant's own path, so neither a copy or link named `echo` elsewhere nor a
//! changed `PATH` chooses another binary. On `ssh` and `docker` targets the
//! file is the target's: there a program matches a grant only when spelled
//! the same, and a step's `PATH` does not take part in finding it.
//!
//! Commands on a `local` target start with a clean environment: the
//! variables of [`passed_env`] from cairn's own environment, then the
//! command's own. Loader and shell start-up variables ([`is_refused`]) are
//! refused in a command's environment unless the grant lists them under
//! `exec-env`.

use std::path::{Component, Path, PathBuf};

use cairn_lang::TargetKind;

use super::StepState;
use super::grants::Allow;
use crate::targets::Invocation;
pub use crate::targets::programs::{Found, PASSED, find, is_refused, passed_env, sha256_of};
use crate::wit::cairn::plugin::exec::{Command, EnvValue};

/// Whether a program path climbs with `..` (never matched, even when it
/// leads to a granted file).
fn climbs(program: &str) -> bool {
    Path::new(program)
        .components()
        .any(|c| c == Component::ParentDir)
}

impl StepState {
    /// `cmd` checked against the plugin's grants and made ready for
    /// `target`: the environment checked and its secrets read, and on a
    /// `local` target the file to run. `what` prefixes messages (`exec`,
    /// `transfer`).
    pub(super) fn invocation(
        &mut self,
        what: &str,
        cmd: &Command,
        target_name: &str,
        target: &TargetKind,
    ) -> Result<Invocation, String> {
        for var in &cmd.env {
            if is_refused(&var.name) && !self.cx.grants.allows("exec-env", &var.name, |g, v| g == v)
            {
                return Err(self.cx.denied("exec-env", &var.name));
            }
        }
        let path = match target {
            TargetKind::Local => Some(self.local_program(what, cmd, target_name)?),
            _ => {
                let same = |g: &str, v: &str| g == v;
                if !self.cx.grants.allows("exec", &cmd.program, same) {
                    return Err(self.cx.denied("exec", &cmd.program));
                }
                if matches!(target, TargetKind::Docker { .. })
                    && !cmd.program.starts_with('/')
                    && cmd.env.iter().any(|v| v.name == "PATH")
                {
                    return Err(format!(
                        "{what}: `PATH` cannot choose the program on docker target `{target_name}`: name `{}` by its absolute path",
                        cmd.program
                    ));
                }
                None
            }
        };
        let mut env = Vec::with_capacity(cmd.env.len());
        for var in &cmd.env {
            let value = match &var.value {
                EnvValue::Plain(v) => v.clone(),
                EnvValue::Secret(h) => self.secret_value(h)?,
            };
            env.push((var.name.clone(), value));
        }
        Ok(Invocation {
            program: cmd.program.clone(),
            args: cmd.args.clone(),
            env,
            cwd: cmd.cwd.clone(),
            path,
        })
    }

    /// The file a command on a `local` target runs: the granted program's
    /// own path when the requested one is the same file.
    fn local_program(
        &self,
        what: &str,
        cmd: &Command,
        target_name: &str,
    ) -> Result<PathBuf, String> {
        let denied = || self.cx.denied("exec", &cmd.program);
        let not_found = || {
            format!(
                "{what}: program `{}` not found on `{target_name}`",
                cmd.program
            )
        };
        let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
        let base = match &cmd.cwd {
            Some(dir) => cwd.join(dir),
            None => cwd,
        };
        let found = find(&cmd.program, &base);
        match self.cx.grants.get("exec") {
            None => Err(denied()),
            Some(Allow::All) => found.map(|f| f.path).ok_or_else(not_found),
            Some(Allow::Only(granted)) => {
                if climbs(&cmd.program) {
                    return Err(denied());
                }
                let Some(found) = found else {
                    return Err(if granted.contains(&cmd.program) {
                        not_found()
                    } else {
                        denied()
                    });
                };
                let same: Vec<&Found> = self
                    .cx
                    .grants
                    .programs()
                    .filter_map(|(_, f)| f.as_ref())
                    .filter(|f| f.file == found.file)
                    .collect();
                // Of several grants of one file (a multi-call binary), the
                // one named like the request.
                let chosen = same
                    .iter()
                    .find(|f| f.path.file_name() == found.path.file_name())
                    .or(same.first())
                    .ok_or_else(denied)?;
                Ok(chosen.path.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_and_startup_variables_are_refused() {
        for name in [
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "ENV",
        ] {
            assert!(is_refused(name), "{name}");
        }
        for name in [
            "BASH_FUNC_echo%%",
            "PYTHONPATH",
            "NODE_OPTIONS",
            "IFS",
            "GCONV_PATH",
        ] {
            assert!(is_refused(name), "{name}");
        }
        for name in ["PATH", "PGPASSWORD", "LANG", "HOME", "OLD_PWD", "MY_ENV"] {
            assert!(!is_refused(name), "{name}");
        }
    }

    #[test]
    fn programs_are_found_on_the_hosts_path_and_links_followed() {
        let dir = tempfile::tempdir().unwrap();
        let sh = find("sh", dir.path()).expect("sh on PATH");
        assert!(sh.path.is_absolute());
        assert_eq!(sh.file, sh.path.canonicalize().unwrap());
        let link = dir.path().join("mysh");
        std::os::unix::fs::symlink(&sh.path, &link).unwrap();
        let via = find("./mysh", dir.path()).unwrap();
        assert_eq!(via.path, dir.path().join("./mysh"));
        assert_eq!(via.file, sh.file);
        std::fs::write(dir.path().join("plain"), "x").unwrap();
        assert_eq!(find("./plain", dir.path()), None, "not executable");
        assert_eq!(find("no-such-program-cairn", dir.path()), None);
        assert!(climbs("../bin/echo") && !climbs("/bin/echo"));
    }
}
