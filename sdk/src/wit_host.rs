//! The bridge to the WIT world: [`WitHost`] implements [`Host`] with the
//! generated imports, and [`describe`] / [`run`] implement the exports for a
//! [`Plugin`]. `export_plugin!` calls these; plugin code never does.
//!
//! On targets other than wasm32 this compiles (so plugins build natively for
//! their unit tests) but every import traps: tests use the mock host.

use crate::bindings::cairn::plugin::{dns, docker, socket};
use crate::bindings::cairn::plugin::{exec, http, log, secrets, types};
use crate::docker::{ContainerChange, ContainerInfo, DockerExec};
use crate::host::{Completed, Host, Level, MaybeSecret, Request, Response, Secret};
use crate::net::{DnsAnswer, DnsQuery, DnsRecord, ReplyEnd, SocketReply, SocketRequest};
use crate::store::{ObjectInfo, Transfer, Transferred, Written};
use crate::wit_common::{effect_to_wit, millis};
use crate::{Command, Context, HostError, Mode, Plugin, PluginError};

/// The real host, reached through the component's imports.
#[derive(Debug, Clone, Copy)]
pub struct WitHost;

impl Host for WitHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        log::log(level_to_wit(level), message, &fields);
    }

    fn exec(&self, command: &Command) -> Result<Completed, HostError> {
        let cmd = crate::wit_store::command(command)?;
        let done = exec::run(&cmd).map_err(HostError::new)?;
        Ok(Completed {
            status: done.status,
            stdout: done.stdout,
            stderr: done.stderr,
            planned: done.planned,
        })
    }

    fn http(&self, request: &Request) -> Result<Response, HostError> {
        let headers = request
            .headers
            .iter()
            .map(|(name, value)| {
                Ok(http::Header {
                    name: name.clone(),
                    value: match value {
                        MaybeSecret::Plain(s) => http::HeaderValue::Plain(s.clone()),
                        MaybeSecret::Secret(s) => http::HeaderValue::Secret(s.wit_handle()?),
                    },
                })
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        let req = http::Request {
            method: request.method.clone(),
            url: request.url.clone(),
            headers,
            body: request.body.clone(),
            timeout_ms: request.timeout.map(millis),
            follow_redirects: request.follow_redirects,
        };
        let resp = http::send(&req).map_err(HostError::new)?;
        Ok(Response {
            status: resp.status,
            headers: resp.headers,
            body: resp.body,
            planned: resp.planned,
        })
    }

    fn secret(&self, name: &str) -> Result<Secret, HostError> {
        let handle = secrets::get(name).map_err(HostError::new)?;
        Ok(Secret::from_wit(name.to_string(), handle))
    }

    fn reveal(&self, secret: &Secret) -> Result<String, HostError> {
        secret.wit_handle()?.reveal().map_err(HostError::new)
    }

    fn storage_list(&self, storage: &str, prefix: &str) -> Result<Vec<ObjectInfo>, HostError> {
        crate::wit_store::list(storage, prefix)
    }

    fn storage_head(&self, storage: &str, key: &str) -> Result<Option<ObjectInfo>, HostError> {
        crate::wit_store::head(storage, key)
    }

    fn storage_get(&self, storage: &str, key: &str) -> Result<Vec<u8>, HostError> {
        crate::wit_store::get(storage, key)
    }

    fn storage_put(&self, storage: &str, key: &str, data: &[u8]) -> Result<Written, HostError> {
        crate::wit_store::put(storage, key, data)
    }

    fn storage_delete(&self, storage: &str, key: &str) -> Result<Written, HostError> {
        crate::wit_store::delete(storage, key)
    }

    fn transfer(&self, transfer: &Transfer) -> Result<Transferred, HostError> {
        crate::wit_store::run(transfer)
    }

    fn socket(&self, request: &SocketRequest) -> Result<SocketReply, HostError> {
        let req = socket::Request {
            address: request.address.clone(),
            data: request.data.clone(),
            terminator: request.terminator.clone(),
            max_bytes: request.max_bytes,
            half_close: request.half_close,
            timeout_ms: request.timeout.map(millis),
            effect: effect_to_wit(request.effect),
        };
        let reply = socket::send(&req).map_err(HostError::new)?;
        Ok(SocketReply {
            data: reply.data,
            end: match reply.end {
                socket::ReplyEnd::Eof => ReplyEnd::Eof,
                socket::ReplyEnd::Terminator => ReplyEnd::Terminator,
                socket::ReplyEnd::Limit => ReplyEnd::Limit,
                socket::ReplyEnd::Timeout => ReplyEnd::Timeout,
            },
            planned: reply.planned,
        })
    }

    fn docker_inspect(&self, engine: &str, container: &str) -> Result<ContainerInfo, HostError> {
        docker::inspect(engine, container)
            .map(container_from_wit)
            .map_err(HostError::new)
    }

    fn docker_list(&self, engine: &str) -> Result<Vec<ContainerInfo>, HostError> {
        docker::list(engine)
            .map(|l| l.into_iter().map(container_from_wit).collect())
            .map_err(HostError::new)
    }

    fn docker_restart(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<ContainerChange, HostError> {
        docker::restart(engine, container, seconds(timeout))
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_stop(
        &self,
        engine: &str,
        container: &str,
        timeout: Option<std::time::Duration>,
    ) -> Result<ContainerChange, HostError> {
        docker::stop(engine, container, seconds(timeout))
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_start(&self, engine: &str, container: &str) -> Result<ContainerChange, HostError> {
        docker::start(engine, container)
            .map(change_from_wit)
            .map_err(HostError::new)
    }

    fn docker_exec(&self, e: &DockerExec) -> Result<Completed, HostError> {
        let env = e
            .env
            .iter()
            .map(|(name, value)| {
                Ok(exec::EnvVar {
                    name: name.clone(),
                    value: match value {
                        MaybeSecret::Plain(s) => exec::EnvValue::Plain(s.clone()),
                        MaybeSecret::Secret(s) => exec::EnvValue::Secret(s.wit_handle()?),
                    },
                })
            })
            .collect::<Result<Vec<_>, HostError>>()?;
        let done = docker::exec(
            &e.engine,
            &e.container,
            &e.cmd,
            &env,
            e.cwd.as_deref(),
            effect_to_wit(e.effect),
        )
        .map_err(HostError::new)?;
        Ok(Completed {
            status: done.status,
            stdout: done.stdout,
            stderr: done.stderr,
            planned: done.planned,
        })
    }

    fn dns(&self, query: &DnsQuery) -> Result<DnsAnswer, HostError> {
        let q = dns::Query {
            name: query.name.clone(),
            record_type: query.record_type.clone(),
            resolver: query.resolver.clone(),
            tcp: query.tcp,
            timeout_ms: query.timeout.map(millis),
        };
        let a = dns::lookup(&q).map_err(HostError::new)?;
        let record = |r: dns::DnsRecord| DnsRecord {
            name: r.name,
            record_type: r.record_type,
            ttl: r.ttl,
            data: r.data,
        };
        Ok(DnsAnswer {
            rcode: a.rcode,
            authoritative: a.authoritative,
            answers: a.answers.into_iter().map(record).collect(),
            authority: a.authority.into_iter().map(record).collect(),
            planned: a.planned,
        })
    }
}

fn container_from_wit(c: docker::ContainerInfo) -> ContainerInfo {
    ContainerInfo {
        id: c.id,
        name: c.name,
        image: c.image,
        state: c.state,
        running: c.running,
        restart_count: c.restart_count,
        started_at: c.started_at,
        exit_code: c.exit_code,
        health: c.health,
    }
}

fn change_from_wit(c: docker::Changed) -> ContainerChange {
    ContainerChange {
        container: container_from_wit(c.container),
        planned: c.planned,
    }
}

/// Whole seconds, rounded up (a stop timeout of 1.5 s waits 2 s).
fn seconds(d: Option<std::time::Duration>) -> Option<u32> {
    d.map(|d| {
        let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        u32::try_from(s).unwrap_or(u32::MAX)
    })
}

fn level_to_wit(level: Level) -> log::Level {
    match level {
        Level::Trace => log::Level::Trace,
        Level::Debug => log::Level::Debug,
        Level::Info => log::Level::Info,
        Level::Warn => log::Level::Warn,
        Level::Error => log::Level::Error,
    }
}

fn context_from_wit(ctx: types::Context) -> Context {
    Context {
        run_id: ctx.run_id,
        step_id: ctx.step_id,
        runbook: ctx.runbook,
        mode: match ctx.mode {
            types::Mode::Apply => Mode::Apply,
            types::Mode::DryRun => Mode::DryRun,
            types::Mode::Rehearsal => Mode::Rehearsal,
        },
        target: ctx.target,
    }
}

/// The `describe` export.
pub fn describe<P: Plugin>() -> types::Description {
    let d = P::describe();
    types::Description {
        name: d.name,
        version: d.version,
        summary: d.summary,
        actions: d
            .actions
            .into_iter()
            .map(|a| types::ActionInfo {
                name: a.name,
                summary: a.summary,
                effect: effect_to_wit(a.effect),
            })
            .collect(),
        default_action: d.default_action,
        args_schema: d.args_schema.to_string(),
        capabilities: d
            .capabilities
            .into_iter()
            .map(|c| types::Capability {
                name: c.name,
                values: c.values,
            })
            .collect(),
    }
}

/// The `run` export.
pub fn run<P: Plugin>(
    ctx: types::Context,
    action: String,
    args: String,
) -> Result<String, types::PluginError> {
    install_panic_hook();
    invoke::<P>(&WitHost, &context_from_wit(ctx), &action, &args).map_err(|e| types::PluginError {
        message: e.message,
        field: e.field,
    })
}

/// What `run` does between the WIT types and the plugin: parse the arguments,
/// call the plugin, serialize the outputs. The mock host goes through here
/// too, so unit tests cover the same path.
pub fn invoke<P: Plugin>(
    host: &dyn Host,
    ctx: &Context,
    action: &str,
    args: &str,
) -> Result<String, PluginError> {
    let args = crate::Args::from_json(args)?;
    P::run(host, ctx, action, args).map(|outputs| outputs.to_json())
}

/// A panic traps the component; before it does, say why in the journal so
/// the host's "plugin trapped" error has the panic message next to it.
fn install_panic_hook() {
    #[cfg(target_arch = "wasm32")]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            std::panic::set_hook(Box::new(|info| {
                log::log(log::Level::Error, &format!("plugin {info}"), &[]);
            }));
        });
    }
}
