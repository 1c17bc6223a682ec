//! `docker`: containers on a granted engine, through the engine's API
//! (bollard, on the small tokio runtime of `targets::docker`; the engine runs
//! steps on plain threads and blocks on it). `inspect` and `list` read;
//! `restart`, `stop` and `start` write (recorded, not performed, in a
//! dry-run); `exec` follows the effect the plugin gives it. Commands in
//! containers (this `exec`, and those of docker targets) are in [`run`].

use std::time::{Duration, Instant};

use bollard::Docker as Client;
use bollard::errors::Error as ApiError;
use bollard::models::ContainerInspectResponse;
use bollard::query_parameters::{
    ListContainersOptions, RestartContainerOptions, StartContainerOptions, StopContainerOptions,
};
use serde_json::json;

use super::StepState;
use super::registry::Capability;
use crate::events::Event;
pub use crate::targets::docker::{DEFAULT_ENGINE, Engine, check_container, engine_matches, run};
use crate::targets::docker::{Failure, Op, block, client, phrase};
use crate::wit::cairn::plugin::docker::{self as wit, Changed, Completed, ContainerInfo, EnvVar};
use crate::wit::cairn::plugin::exec::EnvValue;
use crate::wit::cairn::plugin::types::Effect;

/// The plugin's view of an inspected container.
fn info(r: ContainerInspectResponse) -> ContainerInfo {
    let state = r.state.unwrap_or_default();
    let running = state.running.unwrap_or(false);
    let started_at = state
        .started_at
        .filter(|s| !s.starts_with("0001-01-01"))
        .unwrap_or_default();
    ContainerInfo {
        id: r.id.unwrap_or_default(),
        name: r
            .name
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: r
            .config
            .and_then(|c| c.image)
            .or(r.image)
            .unwrap_or_default(),
        state: state
            .status
            .map_or_else(|| "unknown".into(), |s| s.to_string()),
        running,
        restart_count: r
            .restart_count
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        started_at,
        exit_code: if running { None } else { state.exit_code },
        health: state
            .health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .filter(|s| !s.is_empty() && s != "none"),
    }
}

/// What a call returns in `--offline`, where not even a read is made.
fn unknown(container: &str) -> ContainerInfo {
    ContainerInfo {
        id: String::new(),
        name: container.to_string(),
        image: String::new(),
        state: "unknown".into(),
        running: false,
        restart_count: 0,
        started_at: String::new(),
        exit_code: None,
        health: None,
    }
}

async fn inspect(d: &Client, container: &str) -> Result<ContainerInfo, Failure> {
    Ok(info(d.inspect_container(container, None).await?))
}

/// The `docker` capability (containers on a docker engine).
pub struct Docker;

impl Capability for Docker {
    const NAME: &'static str = "docker";
    type State = ();
}

impl wit::Host for StepState {
    fn inspect(
        &mut self,
        engine: String,
        container: String,
    ) -> wasmtime::Result<Result<ContainerInfo, String>> {
        Ok(self.docker_inspect(&engine, &container))
    }

    fn list(&mut self, engine: String) -> wasmtime::Result<Result<Vec<ContainerInfo>, String>> {
        Ok(self.docker_list(&engine))
    }

    fn restart(
        &mut self,
        engine: String,
        container: String,
        timeout_s: Option<u32>,
    ) -> wasmtime::Result<Result<Changed, String>> {
        Ok(self.docker_change(Op::Restart, &engine, &container, timeout_s))
    }

    fn stop(
        &mut self,
        engine: String,
        container: String,
        timeout_s: Option<u32>,
    ) -> wasmtime::Result<Result<Changed, String>> {
        Ok(self.docker_change(Op::Stop, &engine, &container, timeout_s))
    }

    fn start(
        &mut self,
        engine: String,
        container: String,
    ) -> wasmtime::Result<Result<Changed, String>> {
        Ok(self.docker_change(Op::Start, &engine, &container, None))
    }

    fn exec(
        &mut self,
        engine: String,
        container: String,
        cmd: Vec<String>,
        env: Vec<EnvVar>,
        cwd: Option<String>,
        effect: Effect,
    ) -> wasmtime::Result<Result<Completed, String>> {
        Ok(self.docker_exec(&engine, &container, cmd, env, cwd, effect))
    }
}

impl StepState {
    /// The engine a call means, if it is granted.
    fn docker_engine(&self, requested: &str) -> Result<Engine, String> {
        let engine = Engine::resolve(requested)?;
        let name = engine.to_string();
        if !self.cx.grants.allows("docker", &name, engine_matches) {
            return Err(self.cx.denied("docker", &name));
        }
        Ok(engine)
    }

    fn docker_event(
        &self,
        effect: &str,
        planned: bool,
        summary: String,
        detail: serde_json::Value,
    ) {
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "docker".into(),
            effect: effect.into(),
            planned,
            summary,
            detail,
        });
    }

    fn docker_inspect(&mut self, engine: &str, container: &str) -> Result<ContainerInfo, String> {
        let engine = self.docker_engine(engine)?;
        check_container(container)?;
        let summary = format!("inspect container {container} on {engine}");
        let mut detail =
            json!({ "op": "inspect", "engine": engine.to_string(), "container": container });
        if self.cx.plans(false) {
            self.docker_event("read", true, summary, detail);
            return Ok(unknown(container));
        }
        let started = Instant::now();
        let deadline = Instant::now() + self.cx.remaining(None);
        let result = block(deadline, async {
            let d = client(&engine).await?;
            inspect(&d, container).await
        });
        let result =
            result.map_err(|f| phrase(Op::Inspect, &engine, Some(container), f, started.elapsed()));
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok(i) => {
                detail["state"] = json!(i.state);
                detail["started_at"] = json!(i.started_at);
            }
            Err(e) => detail["error"] = json!(e),
        }
        self.docker_event("read", false, summary, detail);
        result
    }

    fn docker_list(&mut self, engine: &str) -> Result<Vec<ContainerInfo>, String> {
        let engine = self.docker_engine(engine)?;
        let summary = format!("list containers on {engine}");
        let mut detail = json!({ "op": "list", "engine": engine.to_string() });
        if self.cx.plans(false) {
            self.docker_event("read", true, summary, detail);
            return Ok(Vec::new());
        }
        let started = Instant::now();
        let deadline = Instant::now() + self.cx.remaining(None);
        let result = block(deadline, async {
            let d = client(&engine).await?;
            let all = d
                .list_containers(Some(ListContainersOptions {
                    all: true,
                    ..Default::default()
                }))
                .await?;
            let mut out = Vec::with_capacity(all.len());
            for c in all {
                let Some(id) = c.id else { continue };
                match d.inspect_container(&id, None).await {
                    Ok(r) => out.push(info(r)),
                    // Removed since it was listed.
                    Err(ApiError::DockerResponseServerError {
                        status_code: 404, ..
                    }) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            Ok(out)
        });
        let result = result.map_err(|f| phrase(Op::List, &engine, None, f, started.elapsed()));
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok(l) => detail["containers"] = json!(l.len()),
            Err(e) => detail["error"] = json!(e),
        }
        self.docker_event("read", false, summary, detail);
        result
    }

    /// `restart`, `stop` or `start`, then the container as it is after.
    fn docker_change(
        &mut self,
        op: Op,
        engine: &str,
        container: &str,
        timeout_s: Option<u32>,
    ) -> Result<Changed, String> {
        let engine = self.docker_engine(engine)?;
        check_container(container)?;
        let summary = format!("{} container {container} on {engine}", op.verb());
        let mut detail = json!({
            "op": op.verb(),
            "engine": engine.to_string(),
            "container": container,
            "timeout_s": timeout_s,
        });
        let started = Instant::now();
        let deadline = Instant::now() + self.cx.remaining(None);
        if self.cx.plans(true) {
            self.docker_event("write", true, summary, detail);
            // The plan shows the container as it is (a read), unless
            // `--offline`.
            if self.cx.offline {
                return Ok(Changed {
                    container: unknown(container),
                    planned: true,
                });
            }
            let now = block(deadline, async {
                let d = client(&engine).await?;
                inspect(&d, container).await
            })
            .map_err(|f| phrase(Op::Inspect, &engine, Some(container), f, started.elapsed()))?;
            return Ok(Changed {
                container: now,
                planned: true,
            });
        }
        let t = timeout_s.map(|t| i32::try_from(t).unwrap_or(i32::MAX));
        let result = block(deadline, async {
            let d = client(&engine).await?;
            // The request itself may take the whole stop timeout: bollard's
            // own timeout must not cut it short (the deadline does).
            let d = d.with_timeout(
                deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(1),
            );
            match op {
                Op::Restart => {
                    d.restart_container(
                        container,
                        Some(RestartContainerOptions { t, signal: None }),
                    )
                    .await?
                }
                Op::Stop => {
                    d.stop_container(container, Some(StopContainerOptions { t, signal: None }))
                        .await?
                }
                _ => {
                    d.start_container(container, None::<StartContainerOptions>)
                        .await?
                }
            }
            inspect(&d, container).await
        });
        let result = result.map_err(|f| phrase(op, &engine, Some(container), f, started.elapsed()));
        detail["duration_ms"] = json!(started.elapsed().as_secs_f64() * 1000.0);
        match &result {
            Ok(i) => {
                detail["state"] = json!(i.state);
                detail["started_at"] = json!(i.started_at);
            }
            Err(e) => detail["error"] = json!(e),
        }
        self.docker_event("write", false, summary, detail);
        result.map(|container| Changed {
            container,
            planned: false,
        })
    }

    fn docker_exec(
        &mut self,
        engine: &str,
        container: &str,
        cmd: Vec<String>,
        env: Vec<EnvVar>,
        cwd: Option<String>,
        effect: Effect,
    ) -> Result<Completed, String> {
        let engine = self.docker_engine(engine)?;
        check_container(container)?;
        let Some(program) = cmd.first().cloned() else {
            return Err(format!(
                "docker: exec in container `{container}` on {engine}: no command"
            ));
        };
        // The same rule as `exec`: a loader or start-up variable would run
        // other code than the command's, in the container as on a host.
        for var in &env {
            if crate::targets::programs::is_refused(&var.name)
                && !self.cx.grants.allows("exec-env", &var.name, |g, v| g == v)
            {
                return Err(self.cx.denied("exec-env", &var.name));
            }
        }
        let mut vars = Vec::with_capacity(env.len());
        for var in &env {
            let value = match &var.value {
                EnvValue::Plain(v) => v.clone(),
                EnvValue::Secret(h) => self.secret_value(h)?,
            };
            vars.push((var.name.clone(), value));
        }
        let command = run::ContainerCommand::new(engine.clone(), container, cmd, vars, cwd)?;
        let inv = crate::targets::Invocation {
            program: program.clone(),
            args: command.cmd[1..].to_vec(),
            env: env
                .iter()
                .map(|v| (v.name.clone(), String::new()))
                .collect(),
            cwd: command.cwd.clone(),
            path: None,
        };
        let write = effect == Effect::Write;
        let effect_name = if write { "write" } else { "read" };
        let summary = format!("run {} in container {container} on {engine}", inv.display());
        let mut detail = json!({
            "op": "exec",
            "engine": engine.to_string(),
            "container": container,
            "program": program,
            "args": inv.args,
            "cwd": inv.cwd,
            "env": inv.env.iter().map(|(k, _)| k).collect::<Vec<_>>(),
        });
        if self.cx.plans(write) {
            self.docker_event(effect_name, true, summary, detail);
            return Ok(Completed {
                status: 0,
                stdout: Vec::new(),
                stderr: Vec::new(),
                planned: true,
            });
        }
        let cap = self.cx.limits.max_exec_capture;
        let started = Instant::now();
        let deadline = Instant::now() + self.cx.remaining(None);
        let result = run::run(&command, &run::new_marker(), None, deadline, cap);
        let elapsed = started.elapsed();
        self.mark_if_late();
        let result = result.map_err(|e| match e {
            run::RunError::Engine(why) => why,
            run::RunError::Deadline(Ok(())) => format!(
                "docker: `{program}` in container `{container}` on {engine} did not finish in {} and was killed",
                crate::humanize::humanize(elapsed)
            ),
            run::RunError::Deadline(Err(why)) => format!(
                "docker: `{program}` in container `{container}` on {engine} did not finish in {} and may still run there: it could not be stopped: {why}",
                crate::humanize::humanize(elapsed)
            ),
        });
        detail["duration_ms"] = json!(elapsed.as_secs_f64() * 1000.0);
        match &result {
            Ok(c) => detail["status"] = json!(c.status),
            Err(e) => detail["error"] = json!(e),
        }
        self.docker_event(effect_name, false, summary, detail);
        let c = result?;
        Ok(Completed {
            status: c.status,
            stdout: c.stdout,
            stderr: c.stderr,
            planned: false,
        })
    }
}

#[cfg(test)]
mod tests;
