//! ssh targets: commands with env and cwd over one shared connection per
//! target per run, failures, parallel steps.

use super::*;

const SSH_VARS: &[&str] = &[
    "CAIRN_LAB_SSH",
    "CAIRN_LAB_SSH_PORT",
    "CAIRN_LAB_SSH_KEY",
    "CAIRN_LAB_SSH_KNOWN_HOSTS",
];

/// A project whose target `db` is the lab's sshd, described only with
/// `cairn.kdl`'s `ssh "user@host" port=N option="..."`.
pub(super) fn ssh_project() -> Option<Project> {
    let v = lab(SSH_VARS)?;
    let (dest, port, key, known) = (&v[0], &v[1], &v[2], &v[3]);
    let options = [
        format!("IdentityFile={key}"),
        "IdentitiesOnly=yes".into(),
        format!("UserKnownHostsFile={known}"),
        "GlobalKnownHostsFile=/dev/null".into(),
        "StrictHostKeyChecking=yes".into(),
        "LogLevel=ERROR".into(),
    ];
    let options: Vec<String> = options
        .iter()
        .map(|o| format!("option={}", kdl(o)))
        .collect();
    let config = format!(
        "project ssh-test {{\n    target db {{ ssh {} port={port} {}; }}\n}}\n",
        kdl(dest),
        options.join(" ")
    );
    let p = Project::with_config(&config);
    std::fs::create_dir_all(p.join("tmp")).expect("tmp dir");
    Some(p)
}

/// Runs cairn with `TMPDIR` in the project, where cairn makes the directory
/// of its ssh control sockets.
fn cairn_tmp(p: &Project, args: &[&str]) -> Ran {
    let tmp = p.join("tmp");
    cairn(p, args, &[("TMPDIR", tmp.to_str().expect("utf-8 path"))])
}

/// No ssh control directory is left in the project's `tmp/`, and no ssh
/// process names one (the masters were closed).
fn masters_closed(p: &Project) {
    let tmp = p.join("tmp");
    let tmp = tmp.to_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left: Vec<String> = std::fs::read_dir(tmp)
            .expect("tmp dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("cairn-ssh-"))
            .collect();
        let ps = std::process::Command::new("ps")
            .args(["-eo", "pid,args"])
            .output()
            .expect("ps");
        let ps = String::from_utf8_lossy(&ps.stdout);
        let alive: Vec<&str> = ps
            .lines()
            .filter(|l| l.contains(tmp) && l.contains("ssh"))
            .collect();
        if left.is_empty() && alive.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after the run: control dirs {left:?}, ssh processes {alive:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn ssh_target_runs_commands_with_env_cwd_and_one_shared_connection() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "remote",
        r#"
runbook remote version=1 {
    step whoami uses=exec target=db { run whoami; effect read; }
    step hostname uses=exec target=db { run hostname; effect read; }
    step psql uses=exec target=db { run psql "--version"; effect read; }
    step env-cwd uses=exec target=db {
        run sh "-c" "printf '%s|%s|%s' \"$GREETING\" \"$OTHER\" \"$(pwd)\""
        env GREETING="hello lab" OTHER="it's \"quoted\""
        cwd "/tmp"
        effect read
    }
    step conn-1 uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    step sockets uses=exec {
        run sh "-c" "ls -A \"$TMPDIR\"/cairn-ssh-*/"
        env TMPDIR="{{ project.root }}/tmp"
        effect read
    }
    step conn-2 uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    step status uses=exec target=db { run sh "-c" "echo out; echo err >&2; exit 7"; expect-status 7; }
}
"#,
    );
    cairn_tmp(&p, &["run", "remote"]).code(0);

    assert_eq!(text(&p, "whoami", "stdout"), "cairn-lab");
    let local = std::process::Command::new("hostname").output().unwrap();
    assert_eq!(
        text(&p, "hostname", "stdout"),
        String::from_utf8_lossy(&local.stdout).trim(),
        "the lab's sshd runs on this machine"
    );
    let psql = text(&p, "psql", "stdout");
    assert!(psql.starts_with("psql (PostgreSQL) "), "{psql}");
    assert_eq!(
        text(&p, "env-cwd", "stdout"),
        "hello lab|it's \"quoted\"|/tmp"
    );
    assert_eq!(output(&p, "status", "status"), 7);
    assert_eq!(text(&p, "status", "stdout"), "out");
    assert_eq!(text(&p, "status", "stderr"), "err\n");

    // One TCP connection for the whole run: every session reports the same
    // client port in SSH_CONNECTION ("client-ip client-port server-ip
    // server-port") and the same parent, the sshd process of the
    // connection; and the control socket existed between them.
    let c1 = text(&p, "conn-1", "stdout");
    let c2 = text(&p, "conn-2", "stdout");
    assert_eq!(c1.split(' ').count(), 5, "{c1}");
    assert_eq!(c1, c2, "the second session used another connection");
    assert_eq!(text(&p, "sockets", "stdout"), "0", "one master socket");
    masters_closed(&p);

    // A new run opens a new connection (the masters of a run end with it):
    // another sshd process (the client port may be the same again, loopback
    // reuses ports in TIME_WAIT).
    cairn_tmp(&p, &["run", "remote"]).code(0);
    let c3 = text(&p, "conn-1", "stdout");
    assert_ne!(
        c3.split(' ').nth(4),
        c1.split(' ').nth(4),
        "the second run reused the first run's connection: {c1} / {c3}"
    );
    masters_closed(&p);
}

#[test]
fn a_failing_remote_command_fails_the_step_with_its_status() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "fails",
        r#"
runbook fails version=1 {
    step broken uses=exec target=db { run sh "-c" "echo boom >&2; exit 3"; }
    step never uses=exec target=db { run "true"; }
    finally {
        step cleanup uses=exec target=db { run "true"; }
    }
}
"#,
    );
    cairn_tmp(&p, &["run", "fails"])
        .code(1)
        .has("✗ broken")
        .has("exited with status 3")
        .has("boom");
    assert_eq!(finished(&p, "broken")["status"], "failed");
    assert_eq!(finished(&p, "cleanup")["status"], "ok");
    masters_closed(&p);
}

#[test]
fn parallel_steps_on_a_fresh_ssh_target_share_one_connection() {
    let Some(p) = ssh_project() else { return };
    p.runbook(
        "par",
        r#"
runbook par version=1 {
    parallel {
        step a uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
        step b uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
        step c uses=exec target=db { run sh "-c" "echo $SSH_CONNECTION $PPID"; effect read; }
    }
}
"#,
    );
    cairn_tmp(&p, &["run", "par"])
        .code(0)
        .lacks("ControlSocket");
    let a = text(&p, "a", "stdout");
    assert_eq!(a, text(&p, "b", "stdout"));
    assert_eq!(a, text(&p, "c", "stdout"));
    for s in ["a", "b", "c"] {
        assert_eq!(text(&p, s, "stderr"), "", "step {s}");
    }
    masters_closed(&p);
}
