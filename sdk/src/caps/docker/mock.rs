//! The mock host's containers: `docker_*` calls change them as the engine
//! would, unless in a dry-run; `docker_exec` is scripted.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use super::{ContainerChange, ContainerInfo, DockerCall, DockerExec, DockerHost};
use crate::caps::exec::Completed;
use crate::mock_host::MockHost;
use crate::{Effect, HostError};

/// The mock host's part: the containers `docker_*` calls see, by name (on
/// every engine).
#[derive(Default)]
struct Containers(RefCell<BTreeMap<String, ContainerInfo>>);

impl MockHost {
    /// A container the `docker_*` calls find (by its name or id, on any
    /// engine). Restart and start make it running, stop makes it exited;
    /// in [`MockHost::dry_run`] mode they change nothing.
    pub fn with_container(self, container: ContainerInfo) -> Self {
        self.part::<Containers>()
            .0
            .borrow_mut()
            .insert(container.name.clone(), container);
        self
    }

    /// The container `name` as the mock host has it now.
    pub fn container(&self, name: &str) -> Option<ContainerInfo> {
        self.part::<Containers>().0.borrow().get(name).cloned()
    }

    /// Queues the result of the next `docker_exec` call.
    pub fn docker_exec_returns(self, completed: Completed) -> Self {
        self.returns::<DockerExec, _>(Ok(completed))
    }

    /// Queues a host error for the next `docker_exec` call.
    pub fn docker_exec_fails(self, message: impl Into<String>) -> Self {
        self.returns::<DockerExec, Completed>(Err(HostError::new(message)))
    }

    /// Answers `docker_exec` calls once the queue is empty.
    pub fn on_docker_exec(
        self,
        handler: impl FnMut(&DockerExec) -> Result<Completed, HostError> + 'static,
    ) -> Self {
        self.answers(handler)
    }

    /// The `docker` calls, in order.
    pub fn docker_calls(&self) -> Vec<DockerCall> {
        self.recorded()
    }

    fn find_container(&self, engine: &str, container: &str) -> Result<String, HostError> {
        self.part::<Containers>()
            .0
            .borrow()
            .values()
            .find(|c| c.name == container || (!c.id.is_empty() && c.id.starts_with(container)))
            .map(|c| c.name.clone())
            .ok_or_else(|| {
                let engine = if engine.is_empty() {
                    "the default engine"
                } else {
                    engine
                };
                HostError::new(format!("docker: no container `{container}` on {engine}"))
            })
    }

    fn change_container(
        &self,
        engine: &str,
        container: &str,
        running: bool,
    ) -> Result<ContainerChange, HostError> {
        let name = self.find_container(engine, container)?;
        let containers = self.part::<Containers>();
        let mut all = containers.0.borrow_mut();
        let c = all.get_mut(&name).expect("found");
        if !self.is_dry_run() {
            if running && !c.running {
                c.started_at = format!("{}+{}", c.started_at, c.restart_count + 1);
            }
            c.running = running;
            c.state = if running { "running" } else { "exited" }.into();
            c.exit_code = if running { None } else { Some(0) };
        }
        Ok(ContainerChange {
            container: c.clone(),
            planned: self.is_dry_run(),
        })
    }
}

impl DockerHost for MockHost {
    fn docker_inspect(&self, engine: &str, container: &str) -> Result<ContainerInfo, HostError> {
        self.record(DockerCall::Inspect {
            engine: engine.into(),
            container: container.into(),
        });
        let name = self.find_container(engine, container)?;
        Ok(self.part::<Containers>().0.borrow()[&name].clone())
    }

    fn docker_list(&self, engine: &str) -> Result<Vec<ContainerInfo>, HostError> {
        self.record(DockerCall::List {
            engine: engine.into(),
        });
        Ok(self.part::<Containers>().0.borrow().values().cloned().collect())
    }

    fn docker_restart(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        self.record(DockerCall::Restart {
            engine: engine.into(),
            container: container.into(),
            timeout_s: timeout.map(|t| t.as_secs() as u32),
        });
        if !self.is_dry_run() {
            // A restart starts it anew even when it was running.
            let name = self.find_container(engine, container)?;
            if let Some(c) = self.part::<Containers>().0.borrow_mut().get_mut(&name) {
                c.running = false;
            }
        }
        self.change_container(engine, container, true)
    }

    fn docker_stop(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<Duration>,
    ) -> Result<ContainerChange, HostError> {
        self.record(DockerCall::Stop {
            engine: engine.into(),
            container: container.into(),
            timeout_s: timeout.map(|t| t.as_secs() as u32),
        });
        self.change_container(engine, container, false)
    }

    fn docker_start(&self, engine: &str, container: &str) -> Result<ContainerChange, HostError> {
        self.record(DockerCall::Start {
            engine: engine.into(),
            container: container.into(),
        });
        self.change_container(engine, container, true)
    }

    fn docker_exec(&self, exec: &DockerExec) -> Result<Completed, HostError> {
        self.record(DockerCall::Exec(exec.clone()));
        if self.is_dry_run() && exec.effect == Effect::Write {
            return Ok(Completed::planned());
        }
        self.answer(exec, || {
            format!(
                "docker exec `{}` in `{}`",
                exec.cmd.join(" "),
                exec.container
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn containers_change_unless_dry_run() {
        let box_ = ContainerInfo::running("web", "nginx:1");
        let host = MockHost::new().with_container(box_.clone());
        let stopped = host.docker_stop("", "web", None).unwrap();
        assert!(!stopped.planned && !stopped.container.running);
        let started = host.docker_restart("", "web", None).unwrap();
        assert!(started.container.running);
        assert_ne!(started.container.started_at, box_.started_at);
        let e = host.docker_inspect("", "db").unwrap_err();
        assert_eq!(e.message, "docker: no container `db` on the default engine");

        let dry = MockHost::new().dry_run().with_container(box_.clone());
        let planned = dry.docker_restart("", "web", None).unwrap();
        assert!(planned.planned);
        assert_eq!(dry.container("web").unwrap(), box_);
        let run = dry
            .docker_exec(&DockerExec::new("", "web", ["nginx", "-s", "reload"]))
            .unwrap();
        assert!(run.planned);
        assert_eq!(dry.docker_calls().len(), 2);
    }

    #[test]
    fn reads_in_a_container_are_scripted() {
        let host = MockHost::new()
            .with_container(ContainerInfo::running("web", "nginx:1"))
            .docker_exec_returns(Completed::ok("syntax is ok\n"));
        let e = DockerExec::new("", "web", ["nginx", "-t"]).effect(Effect::Read);
        assert_eq!(host.docker_exec(&e).unwrap().stdout_text(), "syntax is ok\n");
        let e = host.docker_exec(&e).unwrap_err();
        assert_eq!(
            e.message,
            "mock host: no response scripted for docker exec `nginx -t` in `web`"
        );
    }
}
