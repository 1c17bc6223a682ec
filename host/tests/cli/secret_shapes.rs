//! Secrets of every shape, printed in every way a command can print them,
//! reach no byte cairn writes: not `.cairn/` (journal, reports, anything
//! under it), not stdout or stderr, human or `--json`, not `cairn log` or
//! `cairn history`. Passwords written in URLs are masked too, secret or not,
//! and cairn's own environment does not reach a command.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::Project;

/// Short, but a secret.
const PIN: &str = "Zq7#kp2w";
/// Quotes and a backslash: JSON and shells escape it.
const QUOTED: &str = r#"it's "quoted" \ 9c1e"#;
/// Passed by hand with `-p token=...` as well as declared.
const TOKEN: &str = "tok-5f1e9c2ab7d3";
/// The password of `postgres://u:PASS@h/db`, also a declared secret.
const DB_PASSWORD: &str = "pg-Pa55w0rd-e2c1";
/// A URL password that is no secret of the project.
const URL_PASSWORD: &str = "not-a-secret-71b4";
/// In cairn's own environment, declared nowhere.
const X_TOKEN: &str = "xtok-9d8c7b6a5f40";

/// A multi-line secret: a private key.
fn pem() -> String {
    [
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj",
        "MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu",
        "NMoSfm76oqFvAp8Gy0iz5sxjZmSnXyCdPEovGhLa0VzMaQ8s+CLOyS56YyCFGeJZ",
        "qgtzJ6GR3eqoYSW9b9UMvkBpZODSctWSNGj3P7jRFDO5VoTwCQAWbFnOjDfH5Ulg",
        "p2PKSQnSJP3AJLQNFNe7br1XbrhV//eO+t51mIpGSDCUv3E0DDFcWDTH9cXDTTlR",
        "ZVEiR2BwpZOOkE/Z0/BVnhZYL71oZV34bKfWjQIt6V/isSMahdsAASACp4ZTGtwi",
        "-----END PRIVATE KEY-----",
    ]
    .join("\n")
}

const CONFIG: &str = r#"project shapes {
    secrets {
        env prefix=SHAPES_
        file "secrets.json"
    }
}
"#;

const RUNBOOK: &str = r#"
runbook shapes version=1 {
    param token default=""
    param url default=""
    param other default=""

    step stdout uses=exec {
        run sh "-c" "printf '%s\n' \"$PIN\" \"$QUOTED\" \"$PEM\" \"$TOKEN\""
        secret-env PIN=pin QUOTED=quoted PEM=pem TOKEN=token
        effect read
    }
    step encoded uses=exec {
        run sh "-c" "printf %s \"$PEM\" | base64 -w0; echo; printf %s \"$PEM\" | base64; printf %s \"$PEM\" | base64 -w 64; printf 'x%sy' \"$PEM\" | base64 -w0 | tr '+/' '-_'; echo; printf %s \"$QUOTED\" | base64; printf 'ab%s' \"$PIN\" | base64; printf 'a%s' \"$TOKEN\" | base64 | tr -d '='; for v in \"$QUOTED\" \"$PEM\" \"$DB\"; do python3 -c 'import sys, urllib.parse as u; print(u.quote(sys.argv[1], safe=\"\"), u.quote_plus(sys.argv[1]))' \"$v\"; done"
        secret-env PIN=pin QUOTED=quoted PEM=pem TOKEN=token DB=db_password
        effect read
    }
    step passed-on uses=exec {
        run echo "{{ steps.stdout.outputs.stdout }}"
        effect read
    }
    step params uses=exec {
        run echo "{{ params.token }}" "{{ params.url }}" "{{ params.other }}"
        effect read
    }
    step inherited uses=exec {
        run sh "-c" "echo \"x=$X_TOKEN\"; env"
        effect read
    }
    step fails uses=exec continue-on-error=#true {
        run sh "-c" "printf '%s\n' \"$PEM\" \"$PIN\" >&2; exit 3"
        secret-env PIN=pin PEM=pem
        effect read
    }
    step url-in-a-command uses=exec {
        run sh "-c" "echo connecting to $0" "{{ params.url }}"
    }
}
"#;

fn json_escaped(s: &str) -> String {
    let j = serde_json::to_string(s).unwrap();
    j[1..j.len() - 1].to_string()
}

fn base64(data: &[u8], url: bool, pad: bool) -> String {
    let alphabet: &[u8] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
        if pad {
            out.push_str(&"=".repeat(3 - chunk.len()));
        }
    }
    out
}

/// What must appear nowhere: each value, each long line of it, its base64
/// (whole, each full line of it wrapped at 64 and 76 characters, and the part of `prefix + value` that only the value's bytes
/// decide, for prefixes of 1 and 2 bytes) and its percent-encodings; each
/// also as written inside a JSON string.
fn needles() -> Vec<String> {
    let pem = pem();
    let mut out: Vec<String> = Vec::new();
    for value in [PIN, QUOTED, TOKEN, DB_PASSWORD, pem.as_str()] {
        out.push(value.to_string());
        out.extend(value.lines().filter(|l| l.len() >= 8).map(str::to_string));
        // Line-wrapped, as `base64` (76) and PEM (64) write it: each full line.
        for width in [64, 76] {
            let whole = base64(value.as_bytes(), false, true);
            let chars: Vec<char> = whole.chars().collect();
            out.extend(
                chars
                    .chunks(width)
                    .filter(|c| c.len() == width)
                    .map(|c| c.iter().collect::<String>()),
            );
        }
        for url in [false, true] {
            out.push(base64(value.as_bytes(), url, true));
            out.push(base64(value.as_bytes(), url, false));
            for prefix in [&b"x"[..], b"ab"] {
                let mut data = prefix.to_vec();
                data.extend_from_slice(value.as_bytes());
                let encoded = base64(&data, url, false);
                let skip = (prefix.len() * 8).div_ceil(6);
                let end = data.len() * 8 / 6;
                out.push(encoded[skip..end].to_string());
            }
        }
        let percent: String = value
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        out.push(percent.clone());
        out.push(percent.replace("%20", "+"));
    }
    out.push(URL_PASSWORD.to_string());
    out.push(X_TOKEN.to_string());
    let mut all = out.clone();
    all.extend(out.iter().map(|n| json_escaped(n)));
    all.sort();
    all.dedup();
    all
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn holds(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn secrets_of_every_shape_reach_no_byte_cairn_writes() {
    let p = Project::with_config(CONFIG);
    p.runbook("shapes", RUNBOOK);
    let file = serde_json::json!({ "quoted": QUOTED, "pem": pem() });
    p.file("secrets.json", &file.to_string());
    let url = format!("postgres://u:{DB_PASSWORD}@127.0.0.1:5432/db");
    let other = format!("https://admin:{URL_PASSWORD}@127.0.0.1:9/x");
    let params = [
        format!("token={TOKEN}"),
        format!("url={url}"),
        format!("other={other}"),
    ];
    let cairn = |args: &[&str]| -> Output {
        let mut cmd = p.cmd();
        cmd.args(args)
            .env("SHAPES_PIN", PIN)
            .env("SHAPES_TOKEN", TOKEN)
            .env("SHAPES_DB_PASSWORD", DB_PASSWORD)
            .env("X_TOKEN", X_TOKEN);
        for param in &params {
            cmd.arg("-p").arg(param);
        }
        cmd.output().expect("run cairn")
    };
    let text = |o: &Output| {
        format!(
            "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    let human = cairn(&["run", "shapes"]);
    let shown = text(&human);
    assert_eq!(human.status.code(), Some(0), "{shown}");
    // The commands ran and printed what they were given, masked.
    for expected in [
        "✓ stdout",
        "✓ encoded",
        "✗ fails",
        "exited with status 3",
        "x=\n",
        "connecting to postgres://u:********@127.0.0.1:5432/db",
    ] {
        assert!(shown.contains(expected), "no {expected:?} in\n{shown}");
    }
    let journal = p.last_journal();
    let started = journal
        .iter()
        .find(|e| e["event"] == "run-started")
        .unwrap();
    assert_eq!(started["params"]["token"], "********");
    assert_eq!(
        started["params"]["url"],
        "postgres://u:********@127.0.0.1:5432/db"
    );
    assert_eq!(
        started["params"]["other"],
        "https://admin:********@127.0.0.1:9/x"
    );
    let run_id = started["run_id"].as_str().unwrap().to_string();

    let mut outputs = vec![human];
    outputs.push(cairn(&["run", "shapes", "--json"]));
    outputs.push(cairn(&["run", "shapes", "--dry-run"]));
    for args in [
        vec!["log", run_id.as_str()],
        vec!["log", run_id.as_str(), "--json"],
        vec!["history"],
        vec!["history", "--json"],
    ] {
        outputs.push(p.cmd().args(&args).output().expect("run cairn"));
    }
    let needles = needles();
    for out in &outputs {
        for stream in [&out.stdout, &out.stderr] {
            for n in &needles {
                assert!(!holds(stream, n), "{n:?} shown:\n{}", text(out));
            }
        }
    }
    let files = files_under(&p.join(".cairn"));
    assert!(files.len() >= 3, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for n in &needles {
            assert!(!holds(&bytes, n), "{n:?} in {}", f.display());
        }
    }
}
