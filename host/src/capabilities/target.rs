//! Targets: where a command runs. `local` is a process on this machine,
//! `ssh` goes through the system's OpenSSH (honouring the user's ssh config
//! and agent), `docker` runs `docker exec` in a container.

use std::collections::BTreeMap;
use std::process::Command;

use cairn_lang::TargetKind;

/// The project's targets by name; `local` always exists.
#[derive(Debug, Clone)]
pub struct Targets {
    map: BTreeMap<String, TargetKind>,
}

impl Default for Targets {
    fn default() -> Self {
        Self::new(BTreeMap::new())
    }
}

impl Targets {
    pub fn new(mut map: BTreeMap<String, TargetKind>) -> Self {
        map.entry("local".into()).or_insert(TargetKind::Local);
        Self { map }
    }

    pub fn get(&self, name: &str) -> Option<&TargetKind> {
        self.map.get(name)
    }

    pub fn insert(&mut self, name: String, kind: TargetKind) {
        self.map.insert(name, kind);
    }
}

/// A command as the host will run it.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    pub program: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<String>,
}

impl Invocation {
    /// The command line as a shell would read it (for plans and journals).
    pub fn display(&self) -> String {
        let mut parts = Vec::new();
        if let Some(cwd) = &self.cwd {
            parts.push(format!("cd {} &&", quote(cwd)));
        }
        for (k, _) in &self.env {
            parts.push(format!("{k}=…"));
        }
        parts.push(quote(&self.program));
        parts.extend(self.args.iter().map(|a| quote(a)));
        parts.join(" ")
    }
}

/// Builds the process that runs `inv` on `target`.
pub fn command_for(target: &TargetKind, inv: &Invocation) -> Command {
    match target {
        TargetKind::Local => {
            let mut c = Command::new(&inv.program);
            c.args(&inv.args);
            c.envs(inv.env.iter().map(|(k, v)| (k, v)));
            if let Some(cwd) = &inv.cwd {
                c.current_dir(cwd);
            }
            c
        }
        TargetKind::Ssh {
            destination,
            port,
            options,
        } => {
            let mut c = Command::new("ssh");
            c.arg("-o").arg("BatchMode=yes");
            if let Some(p) = port {
                c.arg("-p").arg(p.to_string());
            }
            for o in options {
                c.arg("-o").arg(o);
            }
            c.arg(destination).arg("--").arg(remote_script(inv));
            c
        }
        TargetKind::Docker { container, host } => {
            let mut c = Command::new("docker");
            if let Some(h) = host {
                c.arg("-H").arg(h);
            }
            c.arg("exec").arg("-i");
            if let Some(cwd) = &inv.cwd {
                c.arg("-w").arg(cwd);
            }
            // Values travel in the docker client's environment, not its argv.
            for (k, v) in &inv.env {
                c.arg("-e").arg(k);
                c.env(k, v);
            }
            c.arg(container).arg(&inv.program).args(&inv.args);
            c
        }
    }
}

/// The remote shell command for ssh: `cd DIR && exec env K=V PROGRAM ARGS`.
fn remote_script(inv: &Invocation) -> String {
    let mut s = String::new();
    if let Some(cwd) = &inv.cwd {
        s.push_str(&format!("cd {} && ", quote(cwd)));
    }
    s.push_str("exec ");
    if !inv.env.is_empty() {
        s.push_str("env ");
        for (k, v) in &inv.env {
            s.push_str(&quote(&format!("{k}={v}")));
            s.push(' ');
        }
    }
    s.push_str(&quote(&inv.program));
    for a in &inv.args {
        s.push(' ');
        s.push_str(&quote(a));
    }
    s
}

/// POSIX shell quoting: bare when safe, single quotes otherwise.
pub fn quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("abc/d-e.f"), "abc/d-e.f");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(quote(""), "''");
    }

    #[test]
    fn ssh_script_quotes_every_word() {
        let inv = Invocation {
            program: "git".into(),
            args: vec!["-C".into(), "/srv/my site".into()],
            env: vec![("A".into(), "x y".into())],
            cwd: Some("/tmp".into()),
        };
        assert_eq!(
            remote_script(&inv),
            "cd /tmp && exec env 'A=x y' git -C '/srv/my site'"
        );
    }
}
