//! s3 credentials from the project's secrets, and requests signed with them.

use super::*;

/// A project whose `s3` storage `lab` names its credentials as secrets of
/// the project (a JSON file), with `extra` appended to the `s3` node.
fn s3_with_secret_credentials(endpoint: &str, bucket: &str, creds: &str) -> Option<Project> {
    let plugin = probe_plugin()?;
    let config = format!(
        r#"project creds-test {{
    plugins {{ dir "plugins"; }}
    secrets {{ file "secrets.json"; }}
    storage lab {{ s3 bucket="{bucket}" endpoint="{endpoint}" region="us-east-1" path-style=#true prefix="{}" {creds} }}
    grant plugin=store-probe {{ storage lab; }}
}}
"#,
        unique_prefix()
    );
    let p = Project::with_config(&config);
    std::fs::create_dir_all(p.join("plugins")).unwrap();
    std::fs::copy(plugin, p.join("plugins/store-probe.wasm")).unwrap();
    p.runbook(
        "put-get",
        r#"runbook put-get version=1 {
    step put uses=store-probe action=put { storage lab; key "creds/a.txt"; text "from secrets"; }
    step get uses=store-probe action=get { storage lab; key "creds/a.txt"; }
}
"#,
    );
    Some(p)
}

/// `cairn run` without any `AWS_*` credentials in its environment.
fn run_without_aws_env(p: &Project, args: &[&str]) -> crate::Run {
    let mut c = p.cmd();
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        c.env_remove(k);
    }
    let out = c.args(args).output().expect("run cairn");
    crate::Run::new(args, out)
}

#[test]
fn s3_credentials_come_from_the_projects_secrets() {
    let Some((ep, bucket)) = lab_s3() else { return };
    let id = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "cairnlab".into());
    let key = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|_| "cairnlab-secret".into());
    let Some(p) = s3_with_secret_credentials(
        &ep,
        &bucket,
        "access-key=lab_key_id secret-key=lab_secret_key",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        &serde_json::json!({ "lab_key_id": id, "lab_secret_key": key }).to_string(),
    );
    run_without_aws_env(&p, &["run", "put-get"]).success();
    let get = p
        .last_journal()
        .into_iter()
        .find(|e| e["event"] == "step-finished" && e["step"] == "get")
        .expect("get finished");
    assert_eq!(get["outputs"]["text"], "from secrets");
    // The secret key never shows in anything cairn wrote.
    assert!(!p.journals().contains(&key), "secret key in the journal");

    // A name that is not a secret of the project: the preflight stops the
    // run before its first step, naming it.
    let Some(p) = s3_with_secret_credentials(
        &ep,
        &bucket,
        "access-key=lab_key_id secret-key=no_such_secret",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        &serde_json::json!({ "lab_key_id": id }).to_string(),
    );
    run_without_aws_env(&p, &["run", "put-get"])
        .code(2)
        .stderr_has("storage `lab` takes `secret-key=` from secret `no_such_secret`, which no secrets source holds");

    // Neither secrets nor environment: a clear error, nothing sent.
    let Some(p) = s3_with_secret_credentials(&ep, &bucket, "") else {
        return;
    };
    p.file("secrets.json", "{}");
    run_without_aws_env(&p, &["run", "put-get"])
        .code(1)
        .stdout_has("storage `lab`: no credentials");
}

/// The S3 requests are signed with the access key the secret holds, and
/// not with the environment's: a listener on 127.0.0.1 stands in for the
/// server and records the `Authorization` header of the first request.
#[test]
fn s3_requests_are_signed_with_the_secret_credentials() {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut auth = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                break;
            }
            if line.to_ascii_lowercase().starts_with("authorization:") {
                auth = line.trim().to_string();
            }
        }
        let body = "<?xml version=\"1.0\"?><Error><Code>AccessDenied</Code><Message>test listener</Message></Error>";
        let mut conn = conn;
        write!(
            conn,
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        auth
    });
    let Some(p) = s3_with_secret_credentials(
        &endpoint,
        "some-bucket",
        "access-key=key_id secret-key=secret_key",
    ) else {
        return;
    };
    p.file(
        "secrets.json",
        r#"{"key_id": "AKIDFROMSECRETS", "secret_key": "s3cr3t-from-the-file"}"#,
    );
    let mut c = p.cmd();
    c.env("AWS_ACCESS_KEY_ID", "AKIDFROMENVIRONMENT")
        .env("AWS_SECRET_ACCESS_KEY", "env-secret");
    let out = c.args(["run", "put-get"]).output().unwrap();
    let run = crate::Run::new(&["run", "put-get"], out);
    run.code(1).stdout_has("AccessDenied: test listener");
    let auth = server.join().unwrap();
    assert!(
        auth.contains("Credential=AKIDFROMSECRETS/"),
        "not signed with the secret's key: {auth}"
    );
    for text in [&run.stdout, &run.stderr, &p.journals()] {
        assert!(!text.contains("s3cr3t-from-the-file"));
        assert!(
            !text.contains("AKIDFROMSECRETS"),
            "access key id shown: {text}"
        );
    }
}
