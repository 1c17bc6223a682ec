//! Tests of `mock`: the calls of every capability read back as one list.

use super::*;
use crate::caps::docker::ContainerInfo;
use crate::caps::exec::Completed;
use crate::caps::prelude::*;
use crate::caps::transfer::{Source, Transferred};
use crate::{Effect, Host};

/// A call of every capability, through `&dyn Host` as a plugin makes it.
fn one_of_each(host: &dyn Host) {
    host.info("start");
    let s = host.secret("db_password").unwrap();
    host.reveal(&s).unwrap();
    host.exec(&Command::new("true").effect(Effect::Read))
        .unwrap();
    host.http(&Request::new("POST", "http://x/")).unwrap();
    host.storage_put("local", "a/1", b"one").unwrap();
    host.transfer(&Transfer::new(Source::file("/srv/media")))
        .unwrap();
    host.socket(&SocketRequest::new("/run/x.sock", "show info\n"))
        .unwrap();
    host.dns(&DnsQuery::new("example.com", "A", "127.0.0.1"))
        .unwrap();
    host.docker_start("", "web").unwrap();
}

#[test]
fn every_capability_s_calls_come_back_in_order() {
    let host = MockHost::new()
        .dry_run()
        .with_secret("db_password", "hunter2")
        .exec_returns(Completed::ok(""))
        .transfer_returns(Transferred::default())
        .on_dns(|_| Ok(crate::caps::dns::DnsAnswer::nxdomain()))
        .with_container(ContainerInfo::running("web", "nginx:1"));
    one_of_each(&host);
    let calls = host.calls();
    let kinds: Vec<&str> = calls
        .iter()
        .map(|c| match c {
            Call::Log { level, message, .. } => {
                assert_eq!((*level, message.as_str()), (Level::Info, "start"));
                "log"
            }
            Call::Secret(name) | Call::Reveal(name) => {
                assert_eq!(name, "db_password");
                "secrets"
            }
            Call::Exec(c) => {
                assert_eq!(c.program, "true");
                "exec"
            }
            Call::Http(r) => {
                assert_eq!(r.method, "POST");
                "http"
            }
            Call::Storage { op, storage, key } => {
                assert_eq!(
                    (op, storage.as_str(), key.as_str()),
                    (&StorageOp::Put(b"one".to_vec()), "local", "a/1")
                );
                "storage"
            }
            Call::Transfer(t) => {
                assert_eq!(t.to_string(), "file /srv/media → discard");
                "transfer"
            }
            Call::Socket(r) => {
                assert_eq!(r.address, "/run/x.sock");
                "socket"
            }
            Call::Dns(q) => {
                assert_eq!(q.name, "example.com");
                "dns"
            }
            Call::Docker(d) => {
                assert!(matches!(d, DockerCall::Start { container, .. } if container == "web"));
                "docker"
            }
            Call::Other(r) => panic!("no capability records {r:?} any more"),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "log", "secrets", "secrets", "exec", "http", "storage", "transfer", "socket", "dns",
            "docker"
        ]
    );
    assert_eq!(
        calls[1..3],
        [
            Call::Secret("db_password".into()),
            Call::Reveal("db_password".into())
        ]
    );
}

/// What a capability added later records comes back as `Call::Other`.
#[test]
fn a_later_capability_s_calls_are_other() {
    #[derive(Debug, Clone, PartialEq)]
    struct Lease(String);
    let host = MockHost::new();
    host.record(Lease("deploy".into()));
    host.info("held");
    let calls = host.calls();
    let Call::Other(r) = &calls[0] else {
        panic!("{calls:?}")
    };
    assert_eq!(r.get::<Lease>(), Some(&Lease("deploy".into())));
    assert!(matches!(calls[1], Call::Log { .. }));
}
