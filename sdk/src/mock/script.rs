//! Scripting the mock host (what its calls answer) and reading what a
//! plugin asked of it.

use super::*;

impl MockHost {
    pub fn new() -> Self {
        MockHost::default()
    }

    /// Answers write calls as the host does in a dry-run.
    pub fn dry_run(mut self) -> Self {
        self.dry_run = true;
        self
    }

    /// A secret the plugin may ask for.
    pub fn with_secret(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.secrets.insert(name.into(), value.into());
        self
    }

    /// Queues the result of the next `exec` call.
    pub fn exec_returns(self, completed: Completed) -> Self {
        self.exec_queue.borrow_mut().push_back(Ok(completed));
        self
    }

    /// Queues a host error for the next `exec` call (denied, unreachable...).
    pub fn exec_fails(self, message: impl Into<String>) -> Self {
        self.exec_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `exec` calls once the queue is empty.
    pub fn on_exec(
        self,
        handler: impl FnMut(&Command) -> Result<Completed, HostError> + 'static,
    ) -> Self {
        *self.exec_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// Queues the response to the next `http` call.
    pub fn http_returns(self, response: Response) -> Self {
        self.http_queue.borrow_mut().push_back(Ok(response));
        self
    }

    /// Queues a host error for the next `http` call.
    pub fn http_fails(self, message: impl Into<String>) -> Self {
        self.http_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `http` calls once the queue is empty.
    pub fn on_http(
        self,
        handler: impl FnMut(&Request) -> Result<Response, HostError> + 'static,
    ) -> Self {
        *self.http_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// Queues the reply to the next `socket` call.
    pub fn socket_returns(self, reply: SocketReply) -> Self {
        self.socket_queue.borrow_mut().push_back(Ok(reply));
        self
    }

    /// Queues a host error for the next `socket` call.
    pub fn socket_fails(self, message: impl Into<String>) -> Self {
        self.socket_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `socket` calls once the queue is empty.
    pub fn on_socket(
        self,
        handler: impl FnMut(&SocketRequest) -> Result<SocketReply, HostError> + 'static,
    ) -> Self {
        *self.socket_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// Queues the answer to the next `dns` call.
    pub fn dns_returns(self, answer: DnsAnswer) -> Self {
        self.dns_queue.borrow_mut().push_back(Ok(answer));
        self
    }

    /// Queues a host error for the next `dns` call (a timeout, a refusal...).
    pub fn dns_fails(self, message: impl Into<String>) -> Self {
        self.dns_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `dns` calls once the queue is empty.
    pub fn on_dns(
        self,
        handler: impl FnMut(&DnsQuery) -> Result<DnsAnswer, HostError> + 'static,
    ) -> Self {
        *self.dns_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// A container the `docker_*` calls find (by its name or id, on any
    /// engine). Restart and start make it running, stop makes it exited;
    /// in [`MockHost::dry_run`] mode they change nothing.
    pub fn with_container(self, container: ContainerInfo) -> Self {
        self.containers
            .borrow_mut()
            .insert(container.name.clone(), container);
        self
    }

    /// The container `name` as the mock host has it now.
    pub fn container(&self, name: &str) -> Option<ContainerInfo> {
        self.containers.borrow().get(name).cloned()
    }

    /// Queues the result of the next `docker_exec` call.
    pub fn docker_exec_returns(self, completed: Completed) -> Self {
        self.docker_exec_queue.borrow_mut().push_back(Ok(completed));
        self
    }

    /// Queues a host error for the next `docker_exec` call.
    pub fn docker_exec_fails(self, message: impl Into<String>) -> Self {
        self.docker_exec_queue
            .borrow_mut()
            .push_back(Err(HostError::new(message)));
        self
    }

    /// Answers `docker_exec` calls once the queue is empty.
    pub fn on_docker_exec(
        self,
        handler: impl FnMut(&DockerExec) -> Result<Completed, HostError> + 'static,
    ) -> Self {
        *self.docker_exec_handler.borrow_mut() = Some(Box::new(handler));
        self
    }

    /// The `docker` calls, in order.
    pub fn docker_calls(&self) -> Vec<DockerCall> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Docker(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    pub(super) fn find_container(
        &self,
        engine: &str,
        container: &str,
    ) -> Result<String, HostError> {
        self.containers
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

    pub(super) fn change_container(
        &self,
        engine: &str,
        container: &str,
        running: bool,
    ) -> Result<ContainerChange, HostError> {
        let name = self.find_container(engine, container)?;
        let mut all = self.containers.borrow_mut();
        let c = all.get_mut(&name).expect("found");
        if !self.dry_run {
            if running && !c.running {
                c.started_at = format!("{}+{}", c.started_at, c.restart_count + 1);
            }
            c.running = running;
            c.state = if running { "running" } else { "exited" }.into();
            c.exit_code = if running { None } else { Some(0) };
        }
        Ok(ContainerChange {
            container: c.clone(),
            planned: self.dry_run,
        })
    }

    /// Runs an action of plugin `P` the way the component export does:
    /// arguments as JSON text in, outputs as JSON text out.
    pub fn invoke<P: Plugin>(
        &self,
        ctx: &Context,
        action: &str,
        args: serde_json::Value,
    ) -> Result<Outputs, PluginError> {
        let json = crate::wit_host::invoke::<P>(self, ctx, action, &args.to_string())?;
        match serde_json::from_str(&json) {
            Ok(serde_json::Value::Object(map)) => Ok(Outputs::from(map)),
            _ => panic!("plugin outputs are not a JSON object: {json}"),
        }
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.borrow().clone()
    }

    pub fn commands(&self) -> Vec<Command> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Exec(cmd) => Some(cmd),
                _ => None,
            })
            .collect()
    }

    pub fn requests(&self) -> Vec<Request> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Http(req) => Some(req),
                _ => None,
            })
            .collect()
    }

    /// The `socket` requests, in order.
    pub fn socket_requests(&self) -> Vec<SocketRequest> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Socket(req) => Some(req),
                _ => None,
            })
            .collect()
    }

    /// The `dns` lookups, in order.
    pub fn dns_queries(&self) -> Vec<DnsQuery> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Dns(q) => Some(q),
                _ => None,
            })
            .collect()
    }

    pub fn logs(&self) -> Vec<(Level, String)> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Log { level, message, .. } => Some((level, message)),
                _ => None,
            })
            .collect()
    }

    pub(super) fn record(&self, call: Call) {
        self.calls.borrow_mut().push(call);
    }
}
