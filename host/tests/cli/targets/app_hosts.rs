//! ssh targets on the lab's app hosts (network namespaces with their own
//! sshd, `tests/lab/up hosts`), reached through the lab's OpenSSH client
//! configuration written out as the target's `option=` values: one
//! connection per host per run, as the host's sshd sees it.

use super::*;

const HOST_VARS: &[&str] = &[
    "CAIRN_LAB_HOSTS",
    "CAIRN_LAB_HOSTS_DIR",
    "CAIRN_LAB_SSH_CONFIG",
];

/// The `Host NAME` entry of an OpenSSH client config, as `Key=Value`.
fn host_options(config: &str, host: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in config.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        if key.eq_ignore_ascii_case("host") {
            inside = value.trim() == host;
        } else if inside {
            out.push(format!("{key}={}", value.trim()));
        }
    }
    assert!(
        !out.is_empty(),
        "no `Host {host}` entry in the lab's ssh config"
    );
    out
}

/// The connections the host's sshd accepted in `log` (its `-E` file at
/// LogLevel INFO): the client port of each "Accepted publickey" line.
fn accepted_ports(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Accepted publickey for "))
        .filter_map(|l| l.split(" port ").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

fn log_from(path: &Path, offset: usize) -> String {
    let all = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    String::from_utf8_lossy(&all[offset.min(all.len())..]).into_owned()
}

/// Ten steps on one app host authenticate once: its sshd logs one accepted
/// connection for the whole run, every step's session reports that
/// connection, and the connection is closed when the run ends.
#[test]
fn steps_on_an_app_host_share_one_connection_its_sshd_accepts_once() {
    let Some(v) = lab(HOST_VARS) else { return };
    // The fleet tests drive every app host: not while this one counts
    // its host's connections.
    let _alone = crate::fleet::HOSTS
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let (hosts, hosts_dir, ssh_config) = (&v[0], &v[1], &v[2]);
    // The last host: the one other tests are least likely to use meanwhile.
    let host = hosts
        .split_whitespace()
        .filter_map(|h| h.split('=').next())
        .max_by_key(|h| h.trim_start_matches("app").parse::<u32>().unwrap_or(0))
        .expect("CAIRN_LAB_HOSTS names a host")
        .to_string();
    let config = std::fs::read_to_string(ssh_config).expect("the lab's ssh config");
    let options: Vec<String> = host_options(&config, &host)
        .iter()
        .map(|o| format!("option={}", kdl(o)))
        .collect();
    let p = Project::with_config(&format!(
        "project fleet-ssh {{\n    target {host} {{ ssh {} {}; }}\n}}\n",
        kdl(&host),
        options.join(" ")
    ));
    std::fs::create_dir_all(p.join("tmp")).expect("tmp dir");
    const STEPS: usize = 10;
    let steps: String = (1..=STEPS)
        .map(|i| {
            format!(
                "    step s{i} uses=exec target={host} {{ run sh \"-c\" \"echo $SSH_CONNECTION\"; effect read; }}\n"
            )
        })
        .collect();
    p.runbook("ten", &format!("runbook ten version=1 {{\n{steps}}}\n"));

    let log = Path::new(hosts_dir).join(&host).join("logs/sshd.log");
    let offset = std::fs::metadata(&log)
        .unwrap_or_else(|e| panic!("{}: {e}", log.display()))
        .len() as usize;
    let tmp = p.join("tmp");
    cairn(&p, &["run", "ten"], &[("TMPDIR", tmp.to_str().unwrap())]).code(0);

    // "client-ip client-port server-ip server-port", the same in every step.
    let first = text(&p, "s1", "stdout");
    let port = first.split(' ').nth(1).expect("SSH_CONNECTION").to_string();
    for i in 2..=STEPS {
        assert_eq!(text(&p, &format!("s{i}"), "stdout"), first, "step s{i}");
    }
    let accepted = accepted_ports(&log_from(&log, offset));
    assert_eq!(
        accepted,
        vec![port.clone()],
        "{host}'s sshd accepted these connections during a run of {STEPS} steps"
    );

    // The run closed its master: sshd saw the connection end.
    let deadline = Instant::now() + Duration::from_secs(5);
    let client = first.split(' ').next().unwrap_or_default();
    let gone = format!("Disconnected from user cairn-lab {client} port {port}");
    while !log_from(&log, offset).contains(&gone) {
        assert!(
            Instant::now() < deadline,
            "{host}'s sshd never saw the connection end after the run:\n{}",
            log_from(&log, offset)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
