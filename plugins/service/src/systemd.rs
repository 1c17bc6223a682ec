//! systemd, through `systemctl` (`--user` for a user's units): the state of
//! units from `systemctl show`, their logs from `journalctl`.

use cairn_sdk::prelude::*;

use crate::backend::dedup;
use crate::{Backend, Class, Program, Verb, last_lines};

const PROPERTIES: &str = "Id,LoadState,ActiveState,SubState,MainPID,Result";

pub(crate) struct Systemd {
    user: bool,
}

impl Systemd {
    pub fn new(user: bool) -> Self {
        Systemd { user }
    }

    fn command<I, S>(&self, program: &str, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut c = Command::new(program);
        if self.user {
            c = c.arg("--user");
        }
        c.args(args)
    }

    /// Units matching a pattern (`workers@*`), loaded or not running.
    fn matching(&self, host: &dyn Host, pattern: &str) -> Result<Vec<String>, PluginError> {
        let done = host.exec(
            &self
                .command(
                    "systemctl",
                    [
                        "list-units",
                        "--all",
                        "--plain",
                        "--no-legend",
                        "--full",
                        "--",
                        pattern,
                    ],
                )
                .effect(Effect::Read),
        )?;
        if done.planned {
            // Offline (a dry-run step that depends on a planned one): the
            // pattern stands for itself.
            return Ok(vec![pattern.to_string()]);
        }
        if done.status != 0 {
            return Err(PluginError::new(format!(
                "systemd: `systemctl list-units {pattern}` exited with status {}: {}",
                done.status,
                crate::tail(&done, 5)
            )));
        }
        Ok(done
            .stdout_text()
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .map(str::to_string)
            .collect())
    }
}

/// `web` means `web.service`, as systemctl reads it.
fn unit_name(name: &str) -> String {
    if name.contains('.') {
        name.to_string()
    } else {
        format!("{name}.service")
    }
}

fn is_pattern(name: &str) -> bool {
    name.contains(['*', '?', '['])
}

impl Backend for Systemd {
    fn name(&self) -> &'static str {
        "systemd"
    }

    fn select(
        &self,
        host: &dyn Host,
        wanted: Option<&[String]>,
    ) -> Result<Vec<Program>, PluginError> {
        let Some(wanted) = wanted else {
            return Err(PluginError::arg(
                "programs",
                "the systemd backend needs `programs`: the units to act on (`web`, `workers@*`)",
            ));
        };
        let mut units = Vec::new();
        for w in wanted {
            if is_pattern(w) {
                let found = self.matching(host, w)?;
                if found.is_empty() {
                    return Err(PluginError::arg(
                        "programs",
                        format!("systemd has no unit matching `{w}`"),
                    ));
                }
                units.extend(found);
            } else {
                units.push(unit_name(w));
            }
        }
        dedup(&mut units);
        let progs = self.state(host, &units)?;
        if let Some(p) = progs.iter().find(|p| p.state == "not-found") {
            return Err(PluginError::arg(
                "programs",
                format!("systemd has no unit `{}`", p.name),
            ));
        }
        Ok(progs)
    }

    fn state(&self, host: &dyn Host, names: &[String]) -> Result<Vec<Program>, PluginError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let mut args = vec![
            "show".to_string(),
            format!("--property={PROPERTIES}"),
            "--".into(),
        ];
        args.extend(names.iter().cloned());
        let done = host.exec(&self.command("systemctl", args).effect(Effect::Read))?;
        if done.planned {
            return Ok(crate::backend::unknown(names));
        }
        if done.status != 0 {
            return Err(PluginError::new(format!(
                "systemd: `systemctl show` exited with status {}: {}",
                done.status,
                crate::tail(&done, 5)
            )));
        }
        let blocks = parse_show(&done.stdout_text());
        if blocks.len() != names.len() {
            return Err(PluginError::new(format!(
                "systemd: `systemctl show` described {} units for {} asked",
                blocks.len(),
                names.len()
            )));
        }
        Ok(blocks
            .into_iter()
            .zip(names)
            .map(|(b, n)| b.into_program(n))
            .collect())
    }

    fn act(
        &self,
        host: &dyn Host,
        verb: Verb,
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<Completed, PluginError> {
        if verb == Verb::Pull {
            return Err(PluginError::new(
                "`pull` is an action of the `compose` backend only",
            ));
        }
        let mut args = vec![verb.word().to_string(), "--".into()];
        args.extend(names.iter().cloned());
        Ok(host.exec(
            &self
                .command("systemctl", args)
                .effect(Effect::Write)
                .timeout(timeout),
        )?)
    }

    fn why(&self, host: &dyn Host, program: &Program) -> String {
        host.exec(
            &self
                .command(
                    "journalctl",
                    [
                        "-u",
                        program.name.as_str(),
                        "-n",
                        "5",
                        "--no-pager",
                        "-o",
                        "cat",
                    ],
                )
                .effect(Effect::Read),
        )
        .ok()
        .filter(|d| d.status == 0)
        .map(|d| last_lines(&d.stdout_text(), 5))
        .unwrap_or_default()
    }
}

/// One unit of `systemctl show`.
#[derive(Debug, Default)]
pub(crate) struct Shown {
    id: String,
    load: String,
    active: String,
    sub: String,
    pid: Option<u64>,
    result: String,
}

impl Shown {
    fn into_program(self, asked: &str) -> Program {
        let name = if self.id.is_empty() {
            asked.to_string()
        } else {
            self.id
        };
        if self.load == "not-found" {
            return Program {
                name,
                state: "not-found".into(),
                class: Class::Failed,
                pid: None,
                detail: String::new(),
            };
        }
        let class = match self.active.as_str() {
            "active" => Class::Running,
            "reloading" | "activating" => Class::Starting,
            "deactivating" => Class::Stopping,
            "inactive" => Class::Stopped,
            "failed" => Class::Failed,
            _ => Class::Starting,
        };
        let mut detail = self.sub;
        if !self.result.is_empty() && self.result != "success" {
            detail.push_str(&format!(", result {}", self.result));
        }
        Program {
            name,
            state: self.active,
            class,
            pid: self.pid,
            detail,
        }
    }
}

/// `systemctl show` prints `Key=Value` lines, one block per unit, the
/// blocks separated by an empty line.
pub(crate) fn parse_show(text: &str) -> Vec<Shown> {
    let mut blocks = Vec::new();
    let mut cur: Option<Shown> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if let Some(b) = cur.take() {
                blocks.push(b);
            }
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let b = cur.get_or_insert_with(Shown::default);
        let v = v.trim().to_string();
        match k {
            "Id" => b.id = v,
            "LoadState" => b.load = v,
            "ActiveState" => b.active = v,
            "SubState" => b.sub = v,
            "MainPID" => b.pid = v.parse().ok().filter(|p| *p != 0),
            "Result" => b.result = v,
            _ => {}
        }
    }
    blocks.extend(cur);
    blocks
}
