//! Tests of `mock`.

use super::*;
use crate::MaybeSecret;

#[test]
fn queue_then_handler_then_error() {
    let host = MockHost::new()
        .exec_returns(Completed::ok("first"))
        .on_exec(|cmd| Ok(Completed::new(1, cmd.program.clone(), "")));
    let a = host.exec(&Command::new("a")).unwrap();
    let b = host.exec(&Command::new("b")).unwrap();
    assert_eq!((a.status, a.stdout_text().as_ref()), (0, "first"));
    assert_eq!((b.status, b.stdout_text().as_ref()), (1, "b"));

    let e = MockHost::new()
        .http(&Request::get("http://x/"))
        .unwrap_err();
    assert_eq!(
        e.message,
        "mock host: no response scripted for GET `http://x/`"
    );
}

#[test]
fn dry_run_plans_writes_and_performs_reads() {
    let host = MockHost::new()
        .dry_run()
        .exec_returns(Completed::ok("read"));
    let w = host.exec(&Command::new("rm")).unwrap();
    let r = host.exec(&Command::new("ls").effect(Effect::Read)).unwrap();
    assert!(w.planned && !r.planned);
    assert_eq!(r.stdout_text(), "read");
    assert!(
        host.http(&Request::new("POST", "http://x/"))
            .unwrap()
            .planned
    );
    assert_eq!(host.commands().len(), 2);
}

#[test]
fn secrets_by_handle() {
    let host = MockHost::new().with_secret("db_password", "hunter2");
    let s = host.secret("db_password").unwrap();
    let cmd = Command::new("psql").env("PGPASSWORD", &s);
    assert_eq!(cmd.env[0].1, MaybeSecret::Secret(s.clone()));
    assert_eq!(host.reveal(&s).unwrap(), "hunter2");
    assert!(host.secret("nope").is_err());
    assert_eq!(
        host.calls(),
        [
            Call::Secret("db_password".into()),
            Call::Reveal("db_password".into()),
            Call::Secret("nope".into())
        ]
    );
}

#[test]
fn sockets_and_dns_are_scripted_and_recorded() {
    use crate::net::{DnsRecord, ReplyEnd};
    let host = MockHost::new()
        .dry_run()
        .socket_returns(SocketReply::eof("1\n"))
        .on_dns(|q| {
            Ok(DnsAnswer::records(vec![DnsRecord::new(
                format!("{}.", q.name),
                "A",
                60,
                "192.0.2.1",
            )]))
        });
    let sock = "/run/haproxy.sock";
    let drain = host
        .socket(&SocketRequest::new(sock, "set server be/s1 state drain\n"))
        .unwrap();
    assert!(drain.planned, "a write is planned in a dry-run");
    let show = host
        .socket(&SocketRequest::new(sock, "show servers state\n").effect(Effect::Read))
        .unwrap();
    assert_eq!((show.text().as_ref(), show.end), ("1\n", ReplyEnd::Eof));
    let a = host
        .dns(&DnsQuery::new("www.example.com", "A", "127.0.0.1:53"))
        .unwrap();
    assert_eq!(a.values("A"), ["192.0.2.1"]);
    assert_eq!(host.socket_requests().len(), 2);
    assert_eq!(host.dns_queries()[0].name, "www.example.com");
    let e = MockHost::new()
        .socket(&SocketRequest::new(sock, "x").effect(Effect::Read))
        .unwrap_err();
    assert_eq!(
        e.message,
        "mock host: no response scripted for socket `/run/haproxy.sock`"
    );
}

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
fn logs_are_recorded() {
    let host = MockHost::new();
    host.info("hello");
    host.log(Level::Warn, "slow", &[("ms", "900")]);
    assert_eq!(
        host.logs(),
        [(Level::Info, "hello".into()), (Level::Warn, "slow".into())]
    );
}
