//! Test plugin `docker-probe`: hands its step arguments to the host's
//! `docker` capability and returns what came back, so the integration tests
//! (`host/tests/cli/docker.rs`) can drive it through the real `cairn`
//! binary.
//!
//! ```kdl
//! step look uses=docker-probe action=inspect { engine "unix:///run/docker.sock"; container web; }
//! step bounce uses=docker-probe action=restart { container web; timeout 5s; }
//! step probe uses=docker-probe action=exec {
//!     container web
//!     run sh "-c" "echo $GREETING"
//!     env GREETING=hello
//!     cwd "/tmp"
//!     effect read
//! }
//! ```

use std::collections::BTreeMap;

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;
use serde_json::json;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ContainerArgs {
    /// The engine; the default one when none.
    #[serde(default)]
    engine: String,
    container: String,
    timeout: Option<Duration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ListArgs {
    #[serde(default)]
    engine: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ExecArgs {
    #[serde(default)]
    engine: String,
    container: String,
    #[serde(deserialize_with = "one_or_many")]
    run: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    env: Vec<BTreeMap<String, String>>,
    cwd: Option<String>,
    #[serde(default)]
    effect: Effect,
}

pub struct DockerProbe;

impl Plugin for DockerProbe {
    fn describe() -> Description {
        Description::new(
            "docker-probe",
            env!("CARGO_PKG_VERSION"),
            "Inspects, lists, restarts, stops, starts containers and runs commands in them (tests only)",
        )
        .action("inspect", "The container's state", Effect::Read)
        .action("list", "The engine's containers", Effect::Read)
        .action("restart", "Restart the container", Effect::Write)
        .action("stop", "Stop the container", Effect::Write)
        .action("start", "Start the container", Effect::Write)
        .action(
            "exec",
            "Run `run` in the container; outputs `stdout`, `stderr`, `status`, `planned`",
            Effect::Write,
        )
        .default_action("inspect")
        .capability("docker", ["*"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "inspect" => {
                let a: ContainerArgs = args.decode()?;
                Ok(info(host.docker_inspect(&a.engine, &a.container)?))
            }
            "list" => {
                let a: ListArgs = args.decode()?;
                let all = host.docker_list(&a.engine)?;
                let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
                let running: Vec<&str> = all
                    .iter()
                    .filter(|c| c.running)
                    .map(|c| c.name.as_str())
                    .collect();
                Ok(Outputs::new()
                    .set("names", json!(names))
                    .set("running", json!(running))
                    .set("count", all.len() as u64))
            }
            "restart" | "stop" | "start" => {
                let a: ContainerArgs = args.decode()?;
                let timeout = a.timeout.map(Into::into);
                let done = match action {
                    "restart" => host.docker_restart(&a.engine, &a.container, timeout)?,
                    "stop" => host.docker_stop(&a.engine, &a.container, timeout)?,
                    _ => host.docker_start(&a.engine, &a.container)?,
                };
                Ok(info(done.container).set("planned", done.planned))
            }
            "exec" => {
                let a: ExecArgs = args.decode()?;
                let mut e = DockerExec::new(a.engine, a.container, a.run).effect(a.effect);
                for (k, v) in a.env.into_iter().flatten() {
                    e = e.env(k, v);
                }
                if let Some(cwd) = a.cwd {
                    e = e.cwd(cwd);
                }
                let done = host.docker_exec(&e)?;
                Ok(Outputs::new()
                    .set("stdout", done.stdout_text().trim_end())
                    .set("stderr", done.stderr_text().trim_end())
                    .set("status", i64::from(done.status))
                    .set("planned", done.planned))
            }
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(DockerProbe);

fn info(c: ContainerInfo) -> Outputs {
    Outputs::new()
        .set("id", c.id.as_str())
        .set("name", c.name.as_str())
        .set("image", c.image.as_str())
        .set("state", c.state.as_str())
        .set("running", c.running)
        .set("restart-count", u64::from(c.restart_count))
        .set("started-at", c.started_at.as_str())
        .set("exit-code", json!(c.exit_code))
        .set("health", json!(c.health))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cairn_sdk::mock::MockHost;

    #[test]
    fn restart_reports_the_container_after() {
        let host = MockHost::new().with_container(ContainerInfo::running("web", "nginx:1"));
        let out = host
            .invoke::<DockerProbe>(
                &Context::for_test(),
                "restart",
                json!({ "container": "web", "timeout": "5s" }),
            )
            .unwrap();
        assert_eq!(out["running"], true);
        assert_eq!(out["planned"], false);
    }

    #[test]
    fn exec_passes_env_and_cwd() {
        let host = MockHost::new().docker_exec_returns(Completed::ok("hi\n"));
        let out = host
            .invoke::<DockerProbe>(
                &Context::for_test(),
                "exec",
                json!({ "container": "web", "run": ["sh", "-c", "echo hi"], "env": { "A": "1" }, "cwd": "/tmp", "effect": "read" }),
            )
            .unwrap();
        assert_eq!(out["stdout"], "hi");
        let cairn_sdk::docker::DockerCall::Exec(e) = &host.docker_calls()[0] else {
            panic!("not an exec");
        };
        assert_eq!(e.cwd.as_deref(), Some("/tmp"));
        assert_eq!(e.env[0].0, "A");
    }
}
