//! Tests of `targets`.

use std::path::Path;

use super::*;

#[test]
fn quoting() {
    assert_eq!(quote("abc/d-e.f"), "abc/d-e.f");
    assert_eq!(quote("a b"), "'a b'");
    assert_eq!(quote("it's"), r"'it'\''s'");
    assert_eq!(quote(""), "''");
}

fn args(c: &Command) -> Vec<String> {
    c.get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn ssh_options_of_the_target_come_before_cairns_own() {
    let options = vec![
        "IdentityFile=/k".to_string(),
        "ConnectTimeout=3".to_string(),
    ];
    let t = SshTarget {
        destination: "deploy@db1",
        port: Some(2222),
        options: &options,
    };
    let a = args(&t.command(Sharing::Client(Path::new("/tmp/c/0"))));
    let pos = |s: &str| {
        a.iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{s} in {a:?}"))
    };
    assert_eq!(a[..2], ["-o", "BatchMode=yes"]);
    assert_eq!(a[pos("-p") + 1], "2222");
    // ssh keeps the first value of an option: the target's win.
    assert!(pos("ConnectTimeout=3") < pos("ConnectTimeout=20"));
    assert!(pos("IdentityFile=/k") < pos("ControlMaster=auto"));
    assert!(a.contains(&"ControlPath=/tmp/c/0".to_string()));
    assert_eq!(a.last().unwrap(), "deploy@db1");

    let open = args(&t.command(Sharing::OpenMaster(Path::new("/tmp/c/0"))));
    assert!(open.contains(&"ControlMaster=yes".to_string()));
    assert_eq!(open[open.len() - 3..], ["-f", "-N", "deploy@db1"]);

    let plain = args(&t.command(Sharing::None));
    assert!(!plain.iter().any(|x| x.starts_with("Control")));
}

#[test]
fn targets_that_multiplex_themselves_are_left_alone() {
    let options = vec!["ControlPath ~/.ssh/cm-%C".to_string()];
    let t = SshTarget {
        destination: "db1",
        port: None,
        options: &options,
    };
    assert!(t.multiplexes_itself());
    assert_eq!(t.shared_connection(Instant::now()), None);
    let options = vec!["controlmaster=no".to_string()];
    assert!(
        SshTarget {
            destination: "db1",
            port: None,
            options: &options
        }
        .multiplexes_itself()
    );
    assert!(
        !SshTarget {
            destination: "db1",
            port: None,
            options: &[]
        }
        .multiplexes_itself()
    );
}

#[test]
fn docker_targets_run_through_the_engine_of_their_host() {
    let inv = Invocation {
        program: "nginx".into(),
        args: vec!["-s".into(), "reload".into()],
        env: vec![("A".into(), "secret value".into())],
        cwd: Some("/etc/nginx".into()),
        path: None,
    };
    let docker = |host: &str, container: &str| TargetKind::Docker {
        container: container.into(),
        host: Some(host.into()),
    };
    let Ok(Launch::Container(c)) = launch(
        &docker("tcp://127.0.0.1:2375", "web_1"),
        &inv,
        Instant::now(),
    ) else {
        panic!("a docker target is an exec in a container");
    };
    assert_eq!(c.engine.to_string(), "tcp://127.0.0.1:2375");
    assert_eq!(c.container, "web_1");
    assert_eq!(c.cmd, ["nginx", "-s", "reload"]);
    assert_eq!(c.env, [("A".to_string(), "secret value".to_string())]);
    assert_eq!(c.cwd.as_deref(), Some("/etc/nginx"));
    let Ok(Launch::Container(c)) = launch(&docker("/run/d.sock", "web"), &inv, Instant::now())
    else {
        panic!("a bare socket path is an engine");
    };
    assert_eq!(c.engine.to_string(), "unix:///run/d.sock");
    let err = launch(&docker("ssh://me@host", "web"), &inv, Instant::now()).unwrap_err();
    assert!(
        err.contains("neither `unix:///PATH` nor `tcp://HOST:PORT`"),
        "{err}"
    );
    let err = launch(&docker("/run/d.sock", "../x"), &inv, Instant::now()).unwrap_err();
    assert!(err.contains("is not a container name"), "{err}");
}

#[test]
fn ssh_script_quotes_every_word() {
    let inv = Invocation {
        program: "git".into(),
        args: vec!["-C".into(), "/srv/my site".into()],
        env: vec![("A".into(), "x y".into())],
        cwd: Some("/tmp".into()),
        path: None,
    };
    assert_eq!(
        remote_script(&inv),
        "cd /tmp && exec env 'A=x y' git -C '/srv/my site'"
    );
    let inv = Invocation {
        program: "git".into(),
        args: vec!["status".into()],
        env: vec![("PATH".into(), "/tmp/evil".into())],
        cwd: None,
        path: None,
    };
    assert_eq!(
        remote_script(&inv),
        "p=$(command -v git) || { echo \"git: not found\" >&2; exit 127; }; exec env PATH=/tmp/evil \"$p\" status"
    );
}
