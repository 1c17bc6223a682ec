//! `drop-scratch` drops only its own run's scratch database: not another
//! run's, not the source under another name, not one a client is using.

use super::*;

/// A runbook that restores a rehearsal scratch of the lab's backup into
/// `database` and, when `drop`, drops it again in `finally` (with
/// `source-url` as the run's source).
const SCRATCH: &str = r#"
runbook scratch version=1 {
    param server-url required=#true
    param database required=#true
    param source-url default=""
    param hold default=""
    step database uses=restore action=postgres {
        url "{{ params.server-url }}"
        database "{{ params.database }}"
        owner cairn
        storage local
        name site
        scratch #true
    }
    // Waits (at most 60 s) for the test to say `go`, once it is told `ready`.
    step hold uses=exec when="{{ params.hold }}" {
        run sh "-c" "touch \"$1/ready\"; i=0; while [ ! -e \"$1/go\" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done" sh "{{ params.hold }}"
    }
    finally {
        step drop uses=restore action=drop-scratch {
            url "{{ params.server-url }}"
            database "{{ params.database }}"
            source-url "{{ params.source-url }}"
        }
    }
}
"#;

const DROP: &str = r#"
runbook drop version=1 {
    param server-url required=#true
    param database required=#true
    step drop uses=restore action=drop-scratch {
        url "{{ params.server-url }}"
        database "{{ params.database }}"
    }
}
"#;

/// A project with a backup of the lab's primary in its `local` storage
/// and the runbooks above.
fn scratch_project(lab: &Lab) -> Project {
    let p = Project::new();
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
    ])
    .success();
    p.runbook("scratch", SCRATCH).runbook("drop", DROP);
    p
}

/// The run's own scratch is dropped (the guards let the normal case
/// through); another run's scratch is not.
#[test]
fn drop_scratch_drops_its_own_runs_scratch_and_refuses_another_runs() {
    let Some(lab) = lab() else { return };
    let p = scratch_project(&lab);
    let db = unique("scratch_own");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let server = format!("server-url={}", lab.new_admin);
    let database = format!("database={db}");
    p.cairn(&["run", "scratch", "-p", &server, "-p", &database])
        .success();
    assert!(
        !databases(&lab.new_admin).contains(&db),
        "its own scratch is dropped"
    );

    // A scratch made by one run (its `drop` is refused: the database is
    // its source) ...
    let run = p.cairn(&[
        "run",
        "scratch",
        "-p",
        &server,
        "-p",
        &database,
        "-p",
        &format!("source-url={}", with_db(&lab.new_admin, &db)),
    ]);
    assert!(
        said(&run).contains("is the source database of this run"),
        "{}",
        said(&run)
    );
    let label = comment(&lab.new_admin, &db);
    assert!(label.starts_with("cairn rehearsal scratch run="), "{label}");
    // ... is not another run's to drop.
    let run = p.cairn(&["run", "drop", "-p", &server, "-p", &database]);
    run.code(1);
    let text = said(&run);
    assert!(
        text.contains("drop-scratch refused") && text.contains("was restored by another run"),
        "{text}"
    );
    assert!(databases(&lab.new_admin).contains(&db));
}

/// The source database is recognised by its cluster and OID too, when the
/// two URLs do not look alike (a unix socket against 127.0.0.1).
#[test]
fn drop_scratch_refuses_the_source_database_under_another_name_of_its_server() {
    let Some(lab) = lab() else { return };
    let Ok(sockets) = std::env::var("CAIRN_LAB_PG_SOCKET_DIR") else {
        eprintln!("skipped: no lab socket dir");
        return;
    };
    let p = scratch_project(&lab);
    let db = unique("scratch_src");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    // postgresql://postgres:PW@127.0.0.1:PORT/postgres → the same server
    // through its socket.
    let url = with_db(&lab.new_admin, &db);
    let (scheme_user, rest) = url.split_once('@').unwrap();
    let (hostport, path) = rest.split_once('/').unwrap();
    let port = hostport.rsplit_once(':').unwrap().1;
    let socket_url = format!(
        "{scheme_user}@{}:{port}/{path}",
        sockets.replace('/', "%2F")
    );
    psql(
        &socket_url.replace(&format!("/{db}"), "/postgres"),
        "select 1",
    );
    let run = p.cairn(&[
        "run",
        "scratch",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={db}"),
        "-p",
        &format!("source-url={socket_url}"),
    ]);
    run.code(1);
    let text = said(&run);
    assert!(
        text.contains("drop-scratch refused")
            && text.contains("is the source database of this run")
            && text.contains("the same cluster"),
        "{text}"
    );
    assert!(databases(&lab.new_admin).contains(&db));
}

/// A client connected to the scratch (the rehearsal site left running, an
/// operator's psql) keeps it: refused, and the client is not disconnected.
#[test]
fn drop_scratch_refuses_a_database_with_a_client_connected() {
    let Some(lab) = lab() else { return };
    let p = scratch_project(&lab);
    let db = unique("scratch_busy");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![db.clone()],
    };
    let hold = p.join("hold");
    std::fs::create_dir_all(&hold).unwrap();
    let mut cairn = p
        .cmd()
        .args([
            "run",
            "scratch",
            "-p",
            &format!("server-url={}", lab.new_admin),
            "-p",
            &format!("database={db}"),
            "-p",
            &format!("hold={}", hold.display()),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let cairn_pid = cairn.id();
    wait_for(&hold.join("ready"), Duration::from_secs(120));
    // Another client, on the scratch database.
    let mut client = Command::new("psql")
        .args([
            "--no-psqlrc",
            "-d",
            &with_db(&lab.new_admin, &db),
            "-c",
            "select pg_sleep(60)",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let client_pid = client.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    while psql(
        &lab.new_admin,
        &format!("select count(*) from pg_stat_activity where datname = '{db}'"),
    ) == "0"
    {
        assert!(Instant::now() < deadline, "the client never connected");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::fs::write(hold.join("go"), "").unwrap();
    let out = wait_bounded(&mut cairn, cairn_pid, Duration::from_secs(120));
    let still = databases(&lab.new_admin).contains(&db);
    let connected = psql(
        &lab.new_admin,
        &format!("select count(*) from pg_stat_activity where datname = '{db}'"),
    );
    // End exactly the client this test started.
    let _ = Command::new("kill").arg(client_pid.to_string()).status();
    let _ = client.wait();
    let run = crate::Run::new(&["run", "scratch"], out);
    run.code(1);
    let text = said(&run);
    assert!(
        text.contains("drop-scratch refused") && text.contains("other client(s) connected"),
        "{text}"
    );
    assert!(still, "the scratch was not dropped");
    assert_eq!(connected, "1", "the client was not disconnected");
}

fn wait_for(path: &Path, limit: Duration) {
    let deadline = Instant::now() + limit;
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits for the child at most `limit`; kills exactly it after that.
fn wait_bounded(
    child: &mut std::process::Child,
    pid: u32,
    limit: Duration,
) -> std::process::Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = std::process::Output {
        status: child.wait().unwrap(),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out.stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut out.stderr);
    }
    out
}
