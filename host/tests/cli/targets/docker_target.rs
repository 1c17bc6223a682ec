//! docker targets: commands through the engine's API (no `docker` client),
//! dry-runs, a bad engine, and commands stopped at the deadline.

use super::*;

/// [`cairn_without_client`], listing the machine's processes (`ps -eo
/// pid,args`) every 50 ms while cairn runs: what they showed, every line.
fn cairn_watching_ps(p: &Project, args: &[&str], env: &[(&str, &str)]) -> (Ran, Vec<String>) {
    use std::process::Stdio;
    let path = path_without_docker(p);
    let mut cmd = p.cmd();
    cmd.args(args)
        .env_remove("DOCKER_HOST")
        .env("PATH", &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run cairn");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).ok();
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut seen = Vec::new();
    while child.try_wait().expect("wait").is_none() {
        let ps = std::process::Command::new("ps")
            .args(["-eo", "pid,args"])
            .output()
            .expect("ps");
        seen.extend(
            String::from_utf8_lossy(&ps.stdout)
                .lines()
                .map(String::from),
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = child.wait().expect("wait");
    let (stdout, stderr) = (out.join().unwrap(), err.join().unwrap());
    let ran = Ran {
        args: args.join(" "),
        elapsed: started.elapsed(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        out: Output {
            status,
            stdout,
            stderr,
        },
    };
    (ran, seen)
}

#[test]
fn docker_target_runs_commands_through_the_engine_api() {
    let secret = "s3cr3t-of-the-docker-target";
    let Some(p) = docker_project("secrets { env prefix=DOCKERTEST_; }") else {
        return;
    };
    p.runbook(
        "box",
        r#"
runbook box version=1 {
    step env-cwd uses=exec target=box {
        run sh "-c" "printf '%s|%s' \"$GREETING\" \"$(pwd)\""
        env GREETING="hello box"
        cwd "/tmp"
        effect read
    }
    step streams uses=exec target=box {
        run sh "-c" "echo out; echo err >&2; exit 7"
        expect-status 7
        effect read
    }
    step stdin uses=exec target=box {
        run sh "-c" "tr a-z A-Z; echo end"
        stdin "hello stdin\n"
        effect read
    }
    step secret uses=exec target=box {
        run sh "-c" "sleep 2; printf %s \"$TOKEN\" | sha256sum; echo token=$TOKEN"
        secret-env TOKEN=db_password
        effect read
    }
    step missing uses=exec target=box continue-on-error=#true {
        run no-such-program-in-the-box
        effect read
    }
    step broken uses=exec target=box { run sh "-c" "echo nope >&2; exit 5"; }
}
"#,
    );
    // With every diagnostic cairn has on (its engine client's included).
    let (ran, ps) = cairn_watching_ps(
        &p,
        &["run", "box"],
        &[("DOCKERTEST_DB_PASSWORD", secret), ("CAIRN_LOG", "trace")],
    );
    ran.code(1)
        .has("exited with status 5")
        .has("nope")
        .lacks(secret);
    assert_eq!(text(&p, "env-cwd", "stdout"), "hello box|/tmp");
    assert_eq!(output(&p, "streams", "status"), 7);
    assert_eq!(text(&p, "streams", "stdout"), "out");
    assert_eq!(text(&p, "streams", "stderr"), "err\n");
    // stdin reached the command and ended: `tr` saw its end of input.
    assert_eq!(text(&p, "stdin", "stdout"), "HELLO STDIN\nend");

    // The secret reached the command (its digest), is masked in what the
    // command printed, and appeared in no process's command line while
    // the command ran (ps was read every 50 ms through its 2 seconds).
    let digest = std::process::Command::new("sh")
        .args(["-c", &format!("printf %s '{secret}' | sha256sum")])
        .output()
        .unwrap();
    let digest = String::from_utf8_lossy(&digest.stdout).trim().to_string();
    assert_eq!(
        text(&p, "secret", "stdout"),
        format!("{digest}\ntoken=********")
    );
    assert!(ps.len() > 20, "ps was read while cairn ran: {}", ps.len());
    assert!(
        ran.stderr.contains("TRACE"),
        "CAIRN_LOG=trace: {}",
        ran.context()
    );
    let leaked: Vec<&String> = ps.iter().filter(|l| l.contains(secret)).collect();
    assert!(leaked.is_empty(), "the secret in ps: {leaked:?}");
    let journal = p.journals();
    assert!(!journal.contains(secret), "{journal}");
    assert!(journal.contains("TOKEN=…"), "{journal}");

    // A program the container lacks: the engine's exit status (126 from
    // docker 20.10, 127 from later ones) and its message.
    let missing = finished(&p, "missing");
    assert_eq!(missing["status"], "failed-continued");
    ran.has("\"no-such-program-in-the-box\": executable file not found");
}

#[test]
fn docker_target_dry_run_and_a_bad_engine() {
    let Some(p) = docker_project("") else { return };
    let tag = format!("/tmp/cairn-dry-{}", std::process::id());
    p.runbook(
        "dry",
        &r#"
runbook dry version=1 {
    step look uses=exec target=box { run uname "-s"; effect read; }
    step touch uses=exec target=box { run touch "TAG"; }
    step absent uses=exec target=box { run test "-e" "TAG"; effect read; expect-status 1; }
}
"#
        .replace("TAG", &tag),
    );
    // A dry-run performs the read, records the write, and the write did
    // not happen (the read after it still finds nothing).
    cairn_without_client(&p, &["run", "dry", "--dry-run"], &[])
        .code(0)
        .has(&format!("would run: touch {tag} (on `box`)"));
    assert_eq!(text(&p, "look", "stdout"), "Linux");
    assert_eq!(output(&p, "touch", "planned"), true);
    assert_eq!(output(&p, "absent", "status"), 1);

    // An engine that is not there is named.
    let q = Project::with_config(
        "project docker-test {\n    target box { docker container=web host=\"unix:///nonexistent/cairn.sock\"; }\n}\n",
    );
    q.runbook(
        "one",
        "runbook one version=1 {\n    step look uses=exec target=box { run uname; effect read; }\n}\n",
    );
    cairn_without_client(&q, &["run", "one"], &[]).code(1).has(
        "exec: cannot start `uname` on `box`: docker: exec container `web` on unix:///nonexistent/cairn.sock: cannot connect: no such socket",
    );
}

#[test]
fn docker_target_commands_past_the_deadline_are_stopped() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    let tag = sleep_tag();
    p.runbook(
        "slow",
        &r#"
runbook slow version=1 {
    step exec uses=exec target=box timeout="2s" continue-on-error=#true {
        run sh "-c" "sleep T1 & sleep T2; wait"
        effect read
    }
    step source uses=store-probe action=transfer timeout="2s" continue-on-error=#true {
        from-command sh "-c" "head -c 1000 /dev/zero; sleep T3"
        to-file "slow.bin"
        target box
    }
    step sink uses=store-probe action=transfer timeout="2s" continue-on-error=#true {
        from-file "data.bin"
        to-command sh "-c" "sleep T4"
        target box
    }
    step gone uses=exec target=box {
        run sh "-c" "i=0; while [ $i -lt 25 ]; do ps -o args | grep -q '[s]leep TAG' || exit 0; sleep 0.2; i=$((i + 1)); done; ps -o pid,args; exit 1"
        effect read
    }
}
"#
        .replace("T1", &format!("{tag}1"))
        .replace("T2", &format!("{tag}2"))
        .replace("T3", &format!("{tag}3"))
        .replace("T4", &format!("{tag}4"))
        .replace("TAG", &tag.to_string()),
    );
    let ran = cairn_without_client(&p, &["run", "slow"], &[]);
    ran.code(0);
    // Each says it was killed (not that it may still run).
    for start in [
        "exec: `sh` on `box` did not finish in".to_string(),
        format!(
            "transfer: `sh -c 'head -c 1000 /dev/zero; sleep {tag}3' (on `box`)` did not finish in"
        ),
        format!("transfer: `sh -c 'sleep {tag}4' (on `box`)` did not finish in"),
    ] {
        let all = format!("{}\n{}", ran.stdout, ran.stderr);
        let line = all
            .lines()
            .find(|l| l.contains(&start))
            .unwrap_or_else(|| panic!("no {start:?}\n{}", ran.context()));
        assert!(line.contains(" and was killed"), "{line}");
    }
    for step in ["exec", "source", "sink"] {
        let f = finished(&p, step);
        assert_eq!(f["status"], "failed-continued", "{f}");
        let ms = f["duration_ms"].as_f64().unwrap();
        assert!(ms < 6000.0, "step `{step}` took {ms} ms: {f}");
    }
    assert!(
        ran.elapsed < Duration::from_secs(25),
        "the run took {:?}",
        ran.elapsed
    );
    // Every `sleep` of the three (the exec's two included) is gone from the
    // container: stopped, not left running.
    assert_eq!(finished(&p, "gone")["status"], "ok");
    assert!(!p.join("slow.bin").exists());
}
