//! supervisor through its XML-RPC socket (see [`crate::xmlrpc`]): where
//! the socket is, the process listing, and the start/stop/signal calls.
//!
//! Used when the step runs on this machine and the socket is known (the
//! step's `server-url`, else the `serverurl` of the config's
//! `[supervisorctl]` section); `supervisorctl` otherwise, and whenever the
//! socket does not answer. Starts and stops are asked without waiting
//! (`wait` false): every named process starts at once, and the step waits
//! for their state as it does for any backend.

use std::time::Duration;

use cairn_sdk::prelude::*;

use crate::supervisor::class_of;
use crate::xmlrpc::{self, CallError, Param, Value};
use crate::{Program, Verb};

/// supervisord's fault codes that mean "nothing to do" (`ALREADY_STARTED`,
/// `NOT_RUNNING`), and success in a group's results.
const ALREADY_STARTED: i64 = 60;
const NOT_RUNNING: i64 = 70;
const SUCCESS: i64 = 80;

/// The `serverurl` of a supervisord config's `[supervisorctl]` section
/// (`%(here)s` expanded); `None` without one, or when supervisorctl logs
/// in with a username (left to supervisorctl).
pub(crate) fn server_url(config: &str, path: &str) -> Option<String> {
    let here = match path.rsplit_once('/') {
        Some(("", _)) => "/",
        Some((dir, _)) => dir,
        None => ".",
    };
    let mut section = "";
    let mut url = None;
    for line in config.lines() {
        let l = line.trim();
        if l.is_empty() || l.starts_with(';') || l.starts_with('#') {
            continue;
        }
        if let Some(name) = l.strip_prefix('[') {
            section = name.trim_end_matches(']').trim();
            continue;
        }
        if section != "supervisorctl" {
            continue;
        }
        let Some((key, value)) = l.split_once(['=', ':']) else {
            continue;
        };
        let value = value.split(" ;").next().unwrap_or("").trim();
        match key.trim() {
            "serverurl" => url = Some(value.replace("%(here)s", here)),
            "username" => return None,
            _ => {}
        }
    }
    url.filter(|u| !u.contains("%("))
}

/// The processes of `getAllProcessInfo`, named as `supervisorctl status`
/// names them (`GROUP:NAME` inside a group of another name).
pub(crate) fn programs(listing: &Value) -> Vec<Program> {
    let Value::Array(items) = listing else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|p| {
            let name = p.str("name");
            let group = p.str("group");
            let state = p.str("statename");
            let class = class_of(state)?;
            Some(Program {
                name: process_name(group, name),
                state: state.to_string(),
                class,
                pid: p
                    .int("pid")
                    .filter(|&pid| pid > 0)
                    .and_then(|pid| u64::try_from(pid).ok()),
                detail: p.str("description").to_string(),
            })
        })
        .collect()
}

/// A process as `supervisorctl status` names it: `GROUP:NAME` inside a
/// group of another name, else `NAME`.
fn process_name(group: &str, name: &str) -> String {
    if group.is_empty() || group == name {
        name.to_string()
    } else {
        format!("{group}:{name}")
    }
}

/// Reads every process; `Ok(None)`: the read was planned.
pub(crate) fn listing(host: &dyn Host, address: &str) -> Result<Option<Vec<Program>>, CallError> {
    let v = xmlrpc::call(
        host,
        address,
        "supervisor.getAllProcessInfo",
        &[],
        Effect::Read,
        Duration::from_secs(10),
    )?;
    Ok(v.map(|v| programs(&v)))
}

/// Does `verb` to the processes `specs` names (`all`, `GROUP:*` or a name,
/// see `supervisor::namespecs`), as a command's result: status 0 when
/// every call succeeded, else 1 with the failures on stderr. A fault is an
/// answer (in the result); `Err` is the socket not answering.
pub(crate) fn act(
    host: &dyn Host,
    address: &str,
    verb: Verb,
    specs: &[String],
    signal: &str,
    timeout: Duration,
) -> Result<Completed, String> {
    let mut out = Outcome::default();
    let run = |out: &mut Outcome, kind: &str, spec: &str, extra: Param| {
        let (method, name) = if spec == "all" {
            (format!("supervisor.{kind}AllProcesses"), None)
        } else if let Some(group) = spec.strip_suffix(":*") {
            (format!("supervisor.{kind}ProcessGroup"), Some(group))
        } else {
            (format!("supervisor.{kind}Process"), Some(spec))
        };
        let mut params: Vec<Param> = name.map(Param::Str).into_iter().collect();
        params.push(extra);
        out.record(
            spec,
            xmlrpc::call(host, address, &method, &params, Effect::Write, timeout),
        )
    };
    match verb {
        Verb::Start => {
            for s in specs {
                run(&mut out, "start", s, Param::Bool(false))?;
            }
        }
        Verb::Stop => {
            for s in specs {
                run(&mut out, "stop", s, Param::Bool(false))?;
            }
        }
        // Stopped for good (each waited for), then started together.
        Verb::Restart => {
            for s in specs {
                run(&mut out, "stop", s, Param::Bool(true))?;
            }
            for s in specs {
                run(&mut out, "start", s, Param::Bool(false))?;
            }
        }
        Verb::Reload => {
            for s in specs {
                run(&mut out, "signal", s, Param::Str(signal))?;
            }
        }
        Verb::Pull => return Err("`pull` is not a supervisor action".into()),
    }
    Ok(out.into_completed())
}

#[derive(Default)]
struct Outcome {
    planned: bool,
    said: Vec<String>,
    failed: Vec<String>,
}

impl Outcome {
    fn record(
        &mut self,
        spec: &str,
        answer: Result<Option<Value>, CallError>,
    ) -> Result<(), String> {
        match answer {
            Ok(None) => self.planned = true,
            Ok(Some(Value::Array(results))) => {
                for r in results {
                    let name = process_name(r.str("group"), r.str("name"));
                    self.note(
                        &name,
                        r.int("status").unwrap_or(SUCCESS),
                        r.str("description"),
                    );
                }
            }
            Ok(Some(_)) => self.said.push(format!("{spec}: ok")),
            Err(CallError::Fault { code, message }) => self.note(spec, code, &message),
            Err(CallError::Transport(why)) => return Err(why),
        }
        Ok(())
    }

    fn note(&mut self, name: &str, code: i64, description: &str) {
        match code {
            SUCCESS | ALREADY_STARTED | NOT_RUNNING => {
                self.said.push(format!("{name}: ok"));
            }
            _ => self.failed.push(format!("{name}: ERROR ({description})")),
        }
    }

    fn into_completed(self) -> Completed {
        if self.planned {
            return Completed::planned();
        }
        Completed::new(
            i32::from(!self.failed.is_empty()),
            self.said.join("\n"),
            self.failed.join("\n"),
        )
    }
}
