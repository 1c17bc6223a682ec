//! docker compose, through `docker compose -f FILE` (or `docker-compose -f
//! FILE`): services from `config --services`, their containers' state from
//! `ps --all --format json` (compose 2), or from the table of `ps -a` when
//! `docker-compose version --short` says 1.x (`compose_v1.rs`). A service
//! is running when each of its containers runs and, when it has a health
//! check, is healthy.

use std::cell::{OnceCell, RefCell};

use cairn_sdk::prelude::*;
use serde_json::Value;

use crate::backend::{check_signal, dedup};
use crate::{Backend, Class, Program, Verb, last_lines};

pub(crate) struct Compose {
    program: String,
    base: Vec<String>,
    signal: String,
    /// `docker-compose` 1.x, asked once.
    v1: OnceCell<bool>,
    /// The project's services, once read.
    services: RefCell<Option<Vec<String>>>,
    /// `DOCKER_HOST` of every command.
    docker_host: Option<String>,
}

impl Compose {
    pub fn new(
        file: Option<&str>,
        project: Option<&str>,
        command: Option<&str>,
        signal: Option<&str>,
        docker_host: Option<&str>,
    ) -> Result<Self, PluginError> {
        let Some(file) = file.filter(|f| !f.is_empty()) else {
            return Err(PluginError::arg(
                "file",
                "the compose backend needs `file`: the project's compose file",
            ));
        };
        let program = command.unwrap_or("docker").to_string();
        let mut base = match program.as_str() {
            "docker" => vec!["compose".to_string()],
            "docker-compose" => Vec::new(),
            other => {
                return Err(PluginError::arg(
                    "compose-command",
                    format!("`{other}` is neither `docker` nor `docker-compose`"),
                ));
            }
        };
        base.extend(["-f".to_string(), file.to_string()]);
        if let Some(p) = project {
            base.extend(["-p".to_string(), p.to_string()]);
        }
        Ok(Compose {
            program,
            base,
            signal: check_signal(signal)?,
            v1: OnceCell::new(),
            services: RefCell::new(None),
            docker_host: docker_host.map(str::to_string),
        })
    }

    /// Whether the command is docker-compose 1.x (a planned read: no).
    fn is_v1(&self, host: &dyn Host) -> Result<bool, PluginError> {
        if let Some(v) = self.v1.get() {
            return Ok(*v);
        }
        let v1 = self.program == "docker-compose"
            && self
                .read(host, &["version", "--short"])?
                .is_some_and(|v| crate::compose_v1::is_v1(&v));
        Ok(*self.v1.get_or_init(|| v1))
    }

    /// The containers of the services `names`; `None` when the read was
    /// planned.
    fn containers(
        &self,
        host: &dyn Host,
        names: &[String],
    ) -> Result<Option<Vec<Container>>, PluginError> {
        if !self.is_v1(host)? {
            return match self.read(host, &["ps", "--all", "--format", "json"])? {
                Some(ps) => parse_ps(&ps).map(Some),
                None => Ok(None),
            };
        }
        let Some(table) = self.read(host, &["ps", "-a"])? else {
            return Ok(None);
        };
        let known = self
            .services
            .borrow()
            .clone()
            .unwrap_or_else(|| names.to_vec());
        let mut found = crate::compose_v1::parse_table(&table, &known, None);
        for n in names {
            if !found.iter().any(|c| &c.service == n)
                && let Some(t) = self.read(host, &["ps", "-a", n])?
            {
                found.extend(crate::compose_v1::parse_table(&t, &known, Some(n)));
            }
        }
        Ok(Some(found))
    }

    fn command<I, S>(&self, args: I) -> Command
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let cmd = Command::new(self.program.clone())
            .args(self.base.clone())
            .args(args);
        match &self.docker_host {
            Some(h) => cmd.env("DOCKER_HOST", h.as_str()),
            None => cmd,
        }
    }

    /// `None` when the read was planned (offline: a dry-run step that
    /// depends on a planned one).
    fn read(&self, host: &dyn Host, args: &[&str]) -> Result<Option<String>, PluginError> {
        let done = host.exec(&self.command(args.iter().copied()).effect(Effect::Read))?;
        if done.planned {
            return Ok(None);
        }
        if done.status != 0 {
            return Err(PluginError::new(format!(
                "compose: `{} {}` exited with status {}: {}",
                self.program,
                args.join(" "),
                done.status,
                crate::tail(&done, 5)
            )));
        }
        Ok(Some(done.stdout_text().into_owned()))
    }

    fn services(&self, host: &dyn Host) -> Result<Option<Vec<String>>, PluginError> {
        let list: Option<Vec<String>> = self.read(host, &["config", "--services"])?.map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        });
        self.services.replace(list.clone());
        Ok(list)
    }
}

impl Backend for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    fn select(
        &self,
        host: &dyn Host,
        wanted: Option<&[String]>,
    ) -> Result<Vec<Program>, PluginError> {
        let Some(all) = self.services(host)? else {
            return Ok(crate::backend::unknown(wanted.unwrap_or_default()));
        };
        let names = match wanted {
            None => all,
            Some(w) => {
                if let Some(unknown) = w.iter().find(|n| !all.contains(n)) {
                    return Err(PluginError::arg(
                        "programs",
                        format!(
                            "the compose project has no service `{unknown}` (it has: {})",
                            all.join(", ")
                        ),
                    ));
                }
                let mut w = w.to_vec();
                dedup(&mut w);
                w
            }
        };
        self.state(host, &names)
    }

    fn state(&self, host: &dyn Host, names: &[String]) -> Result<Vec<Program>, PluginError> {
        let Some(containers) = self.containers(host, names)? else {
            return Ok(crate::backend::unknown(names));
        };
        Ok(names
            .iter()
            .map(|n| service_state(n, &containers))
            .collect())
    }

    fn act(
        &self,
        host: &dyn Host,
        verb: Verb,
        names: &[String],
        timeout: std::time::Duration,
    ) -> Result<Completed, PluginError> {
        let mut args: Vec<String> = match verb {
            Verb::Start => vec!["up".into(), "-d".into()],
            Verb::Stop => vec!["stop".into()],
            Verb::Restart => vec!["restart".into()],
            Verb::Reload => vec!["kill".into(), "-s".into(), self.signal.clone()],
            Verb::Pull => vec!["pull".into()],
        };
        args.extend(names.iter().cloned());
        Ok(host.exec(&self.command(args).effect(Effect::Write).timeout(timeout))?)
    }

    fn why(&self, host: &dyn Host, program: &Program) -> String {
        host.exec(
            &self
                .command(["logs", "--tail", "5", "--no-color", program.name.as_str()])
                .effect(Effect::Read),
        )
        .ok()
        .filter(|d| d.status == 0)
        .map(|d| last_lines(&d.stdout_text(), 5))
        .unwrap_or_default()
    }
}

/// One container of `ps --format json` (or of compose 1's table).
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub service: String,
    pub name: String,
    pub state: String,
    pub health: String,
    pub exit_code: i64,
}

/// `ps --format json`: one JSON object a line (compose 2.21 and later) or
/// one array (earlier 2.x).
pub(crate) fn parse_ps(text: &str) -> Result<Vec<Container>, PluginError> {
    let text = text.trim();
    let values: Vec<Value> = if text.starts_with('[') {
        serde_json::from_str(text).map_err(|e| bad_ps(&e))?
    } else {
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .map_err(|e| bad_ps(&e))?
    };
    let s = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_string();
    Ok(values
        .iter()
        .map(|v| Container {
            service: s(v, "Service"),
            name: s(v, "Name"),
            state: s(v, "State").to_ascii_lowercase(),
            health: s(v, "Health").to_ascii_lowercase(),
            exit_code: v["ExitCode"].as_i64().unwrap_or(0),
        })
        .collect())
}

fn bad_ps(e: &serde_json::Error) -> PluginError {
    PluginError::new(format!(
        "compose: `ps --format json` gave what is not JSON ({e})"
    ))
}

fn container_class(c: &Container) -> Class {
    match c.state.as_str() {
        "running" => match c.health.as_str() {
            "" | "healthy" => Class::Running,
            // "starting", and "unhealthy", which may still recover
            _ => Class::Starting,
        },
        "restarting" | "created" => Class::Starting,
        "removing" => Class::Stopping,
        "exited" if c.exit_code != 0 => Class::Failed,
        "dead" => Class::Failed,
        _ => Class::Stopped,
    }
}

/// A service's state: that of its least ready container.
fn service_state(name: &str, containers: &[Container]) -> Program {
    let mine: Vec<&Container> = containers.iter().filter(|c| c.service == name).collect();
    if mine.is_empty() {
        return Program {
            name: name.to_string(),
            state: "absent".into(),
            class: Class::Stopped,
            pid: None,
            detail: "no container".into(),
        };
    }
    let rank = |c: Class| match c {
        Class::Failed => 0,
        Class::Starting => 1,
        Class::Stopping => 2,
        Class::Stopped => 3,
        Class::Running => 4,
    };
    let worst = mine
        .iter()
        .min_by_key(|c| rank(container_class(c)))
        .expect("one container at least");
    let class = container_class(worst);
    let mut state = worst.state.clone();
    if !worst.health.is_empty() {
        state = format!("{state} ({})", worst.health);
    }
    let detail = match class {
        Class::Failed => format!("{} exited with code {}", worst.name, worst.exit_code),
        _ => {
            let names: Vec<&str> = mine.iter().map(|c| c.name.as_str()).collect();
            names.join(", ")
        }
    };
    Program {
        name: name.to_string(),
        state,
        class,
        pid: None,
        detail,
    }
}
