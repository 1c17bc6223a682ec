//! Hostile plugins against the sandbox: no files, no network, no
//! environment; exec and http only where granted.

use super::*;

#[test]
fn files_are_out_of_reach_without_preopens() {
    let Some(h) = Hostile::new() else { return };
    h.attack("read-file", "", "").code(0).has("✓ attack");
    let outputs = &h.finished("attack")["outputs"];
    assert_eq!(outputs["leaked"], false, "{outputs}");
    let results = outputs["results"].as_array().expect("results");
    let paths: Vec<&str> = results
        .iter()
        .map(|r| r["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/etc/passwd", "../../etc/passwd", "/", "."]);
    for r in results {
        assert_eq!(r["read"], false, "{r}");
        assert!(!r["error"].as_str().unwrap_or("").is_empty(), "{r}");
    }
    assert!(!h.p.journals().contains("root:"), "a file's content leaked");
    h.carries_on();
}

#[test]
fn there_is_no_network_to_connect_to() {
    let Some(h) = Hostile::new() else { return };
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let port = listener.local_addr().expect("addr").port();
    h.attack("socket", "", &format!("port {port}"))
        .code(1)
        .has("✗ attack")
        .has(&format!("connect to 127.0.0.1:{port} failed: "));
    match listener.accept() {
        Err(e) if e.kind() == ErrorKind::WouldBlock => {}
        other => panic!("the plugin reached the listener: {other:?}"),
    }
    h.contained();
}

#[test]
fn the_environment_is_empty() {
    let Some(h) = Hostile::new() else { return };
    h.attack_runbook("env", "", "");
    h.cairn_env(
        &["run", "attack"],
        &[("HOSTILE_CANARY", "canary-value-71c3")],
    )
    .code(0);
    let outputs = &h.finished("attack")["outputs"];
    assert_eq!(outputs["count"], 0, "{outputs}");
    assert_eq!(outputs["vars"], serde_json::json!([]));
    assert_eq!(outputs["args"], serde_json::json!([]));
    assert!(!h.p.journals().contains("canary-value"));
    h.carries_on();
}

#[test]
fn exec_runs_only_granted_programs_and_never_through_dot_dot() {
    let Some(h) = Hostile::new() else { return };
    h.p.runbook(
        "exec",
        r#"
runbook exec version=1 {
    step granted uses=hostile action=exec { program echo; args "hello from hostile"; }
    step other uses=hostile action=exec continue-on-error=#true { program touch; args "{{ project.root }}/touched"; }
    step climbs uses=hostile action=exec continue-on-error=#true { program "../../../../../../../../../bin/echo"; args "climbed"; }
    step climbs-other uses=hostile action=exec continue-on-error=#true { program "../../../../../../../../../usr/bin/touch"; args "{{ project.root }}/touched"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#,
    );
    let r = h.cairn(&["run", "exec"]);
    r.code(0)
        .has("✓ granted")
        .has("exec: `touch` is not permitted for plugin `hostile` (grant it in cairn.kdl: `grant plugin=hostile { exec \"touch\" }`)")
        .has("exec: `../../../../../../../../../bin/echo` is not permitted for plugin `hostile`")
        .has("exec: `../../../../../../../../../usr/bin/touch` is not permitted for plugin `hostile`")
        .lacks("climbed");
    assert_eq!(
        h.finished("granted")["outputs"]["stdout"],
        "hello from hostile"
    );
    for step in ["other", "climbs", "climbs-other"] {
        let f = h.finished(step);
        assert_eq!(f["status"], "failed-continued", "{f}");
        assert!(
            f["error"].as_str().unwrap().contains("is not permitted"),
            "{f}"
        );
    }
    assert!(!h.p.join("touched").exists(), "an ungranted program ran");
    h.carries_on();
}

#[test]
fn http_reaches_only_granted_hosts_even_through_redirects() {
    let Some(h) = Hostile::new() else { return };
    let target = Server::start(|_| http_response("200 OK", "", "reached"));
    let t = target.port;
    let redirector = Server::start(move |path| match path {
        "/away" => http_response(
            "302 Found",
            &format!("Location: http://localhost:{t}/stolen\r\n"),
            "",
        ),
        _ => http_response(
            "302 Found",
            &format!("Location: http://127.0.0.1:{t}/fine\r\n"),
            "",
        ),
    });
    let r = redirector.port;
    h.p.runbook(
        "http",
        &r#"
runbook http version=1 {
    step granted uses=hostile action=http { url "http://127.0.0.1:T/direct"; }
    step redirect-granted uses=hostile action=http { url "http://127.0.0.1:R/stay"; }
    step other-host uses=hostile action=http continue-on-error=#true { url "http://localhost:T/other"; }
    step userinfo uses=hostile action=http continue-on-error=#true { url "http://127.0.0.1@localhost:T/userinfo"; }
    step redirect-away uses=hostile action=http continue-on-error=#true { url "http://127.0.0.1:R/away"; }
    finally {
        step cleanup uses=exec { run touch "{{ project.root }}/cleaned"; }
    }
}
"#
        .replace(":T/", &format!(":{t}/"))
        .replace(":R/", &format!(":{r}/")),
    );
    h.cairn(&["run", "http"])
        .code(0)
        .has("✓ granted")
        .has("✓ redirect-granted")
        .has(&format!("http: `localhost:{t}` is not permitted for plugin `hostile` (grant it in cairn.kdl: `grant plugin=hostile {{ http \"localhost:{t}\" }}`)"))
        .has(&format!("http: GET http://127.0.0.1:{r}/away: redirected to `localhost:{t}`, which is not permitted for plugin `hostile`"));
    assert_eq!(h.finished("granted")["outputs"]["body"], "reached");
    assert_eq!(h.finished("redirect-granted")["outputs"]["body"], "reached");
    for step in ["other-host", "userinfo", "redirect-away"] {
        assert_eq!(h.finished(step)["status"], "failed-continued");
    }
    assert_eq!(
        target.hits(),
        ["/direct", "/fine"],
        "an ungranted request got through"
    );
    assert_eq!(redirector.hits(), ["/stay", "/away"]);
    h.carries_on();
}
