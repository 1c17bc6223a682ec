//! The step arguments of every backend, and their JSON Schema.

use cairn_sdk::args::one_or_many;
use cairn_sdk::prelude::*;
use serde_json::Value;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct ServiceArgs {
    /// `supervisor`, `systemd` or `compose`.
    #[schemars(extend("enum" = ["supervisor", "systemd", "compose"]))]
    pub backend: String,
    /// Names, groups (`workers:*`, `workers`), unit patterns; absent: all.
    #[serde(default)]
    pub programs: Option<Value>,
    /// supervisor: `supervisorctl -c CONFIG`.
    pub config: Option<String>,
    /// supervisor: its socket (`unix:///run/supervisor.sock`,
    /// `http://127.0.0.1:9001`), asked directly on a local step, else
    /// `supervisorctl -s URL`; absent: the config's `serverurl`.
    pub server_url: Option<String>,
    /// systemd: `systemctl --user`.
    #[serde(default)]
    pub user: bool,
    /// compose: the project's file (`docker compose -f FILE`).
    pub file: Option<String>,
    /// compose: the project name (`-p NAME`).
    pub project: Option<String>,
    /// compose: `docker` (`docker compose`, the default) or `docker-compose`.
    #[schemars(extend("enum" = ["docker", "docker-compose"]))]
    pub compose_command: Option<String>,
    /// compose: the engine (`DOCKER_HOST` of the compose commands,
    /// `unix:///run/docker.sock`); absent: the client's default.
    pub docker_host: Option<String>,
    /// reload: the signal (supervisor and compose; `HUP` by default).
    pub signal: Option<String>,
    /// How long to wait for the programs to be up (or down); 60s.
    pub timeout: Option<Duration>,
    /// How often to look while waiting, at most; 500ms (the first looks
    /// come sooner: after 50ms, then twice as long each time; through
    /// supervisord's socket every 100ms at most, ready-url every 200ms).
    pub interval: Option<Duration>,
    /// After the programs are up, wait until this URL answers.
    pub ready_url: Option<String>,
    /// The statuses of `ready-url` that count as ready; 200.
    #[serde(default = "ok_status", deserialize_with = "one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<u16>")]
    pub ready_status: Vec<u16>,
}

impl ServiceArgs {
    /// An empty string is an absent argument: a runbook passes its params
    /// through (`config "{{ params.service-config }}"`), whatever backend
    /// it names.
    pub(crate) fn without_empty(mut self) -> Self {
        for v in [
            &mut self.config,
            &mut self.server_url,
            &mut self.file,
            &mut self.project,
            &mut self.compose_command,
            &mut self.docker_host,
            &mut self.signal,
            &mut self.ready_url,
        ] {
            if v.as_deref().is_some_and(|s| s.trim().is_empty()) {
                *v = None;
            }
        }
        self
    }
}

fn ok_status() -> Vec<u16> {
    vec![200]
}
