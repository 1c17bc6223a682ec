//! docker targets as the ends of a transfer: bytes streamed both ways, with
//! bounded memory.

use super::*;

fn sha256_of(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn docker_target_commands_as_transfer_source_and_sink() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    let dest = format!("/tmp/cairn-xfer-{}", std::process::id());
    p.runbook(
        "xfer",
        &r#"
runbook xfer version=1 {
    step up uses=store-probe action=transfer {
        from-file "data.bin"
        transform "sha256"
        to-command sh "-c" "cat > DEST"
        target box
    }
    step there uses=exec target=box { run sha256sum "DEST"; effect read; }
    step down uses=store-probe action=transfer {
        from-command cat "DEST"
        transform "sha256"
        to-file "back/data.bin"
        target box
    }
    step bad-source uses=store-probe action=transfer continue-on-error=#true {
        from-command sh "-c" "head -c 300000 /dev/zero; echo broken source >&2; exit 3"
        to-file "failed.bin"
        target box
    }
    step bad-sink uses=store-probe action=transfer continue-on-error=#true {
        from-file "data.bin"
        to-command sh "-c" "head -c 10 >/dev/null; echo broken sink >&2; exit 4"
        target box
    }
    finally {
        step clean uses=exec target=box { run rm "-f" "DEST"; }
    }
}
"#
        .replace("DEST", &dest),
    );
    let ran = cairn_without_client(&p, &["run", "xfer"], &[]);
    ran.code(0)
        .has("exited with status 3: broken source")
        .has("exited with status 4: broken sink");
    let sent = sha256_of(&p.join("data.bin"));
    let up = output(&p, "up", "sha256");
    assert_eq!(up, sent.as_str());
    assert_eq!(output(&p, "up", "bytes-out"), 4 << 20);
    // What the container's command received, byte for byte (and its stdin
    // ended, or `cat` would still wait).
    assert_eq!(text(&p, "there", "stdout"), format!("{sent}  {dest}"));
    assert_eq!(output(&p, "down", "sha256"), sent.as_str());
    assert_eq!(output(&p, "down", "bytes-in"), 4 << 20);
    assert_eq!(
        std::fs::read(p.join("back/data.bin")).unwrap(),
        std::fs::read(p.join("data.bin")).unwrap()
    );
    // The failed source left no file, not even a temporary.
    assert_eq!(finished(&p, "bad-source")["status"], "failed-continued");
    assert_eq!(finished(&p, "bad-sink")["status"], "failed-continued");
    let left: Vec<String> = std::fs::read_dir(p.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("failed") || n.starts_with(".cairn-tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// Runs cairn to its end: its peak resident set, from `wait4`.
#[allow(clippy::zombie_processes)] // reaped by `wait_rusage`
fn peak_rss(p: &Project, args: &[&str]) -> u64 {
    use std::process::Stdio;
    let path = path_without_docker(p);
    let child = p
        .cmd()
        .args(args)
        .env_remove("DOCKER_HOST")
        .env("PATH", &path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run cairn");
    let (status, peak) = crate::storage::wait_rusage(child.id());
    assert_eq!(status, 0, "`cairn {}` failed", args.join(" "));
    peak
}

#[test]
fn docker_target_transfers_stream_with_bounded_memory() {
    let Some(p) = docker_transfer_project() else {
        return;
    };
    const BIG: u64 = 64 << 20;
    let dest = format!("/tmp/cairn-big-{}.sum", std::process::id());
    let runbook = |name: &str, size: u64| {
        format!(
            r#"
runbook {name} version=1 {{
    step move uses=store-probe action=transfer {{
        from-command head "-c" "{size}" "/dev/urandom"
        transform "sha256"
        to-command sh "-c" "sha256sum > {dest}"
        target box
    }}
    step sum uses=exec target=box {{ run cat "{dest}"; effect read; }}
    finally {{
        step clean uses=exec target=box {{ run rm "-f" "{dest}"; }}
    }}
}}
"#
        )
    };
    p.runbook("tiny", &runbook("tiny", 10));
    p.runbook("big", &runbook("big", BIG));
    // The first run compiles the plugin into the cache.
    peak_rss(&p, &["run", "tiny"]);
    let base = peak_rss(&p, &["run", "tiny"]);
    let big = peak_rss(&p, &["run", "big"]);
    assert_eq!(output(&p, "move", "bytes-in"), BIG);
    // The digest cairn computed on the way is the one of what the
    // container's sink received: both bridges moved every byte.
    let sha = output(&p, "move", "sha256");
    assert_eq!(
        text(&p, "sum", "stdout"),
        format!("{}  -", sha.as_str().unwrap())
    );
    let added = big.saturating_sub(base);
    eprintln!(
        "docker → docker, {} MiB: cairn alone {:.1} MB, with the transfer {:.1} MB",
        BIG >> 20,
        base as f64 / 1e6,
        big as f64 / 1e6
    );
    assert!(
        added < BIG / 4,
        "a {BIG}-byte transfer added {added} bytes to cairn's {base}"
    );
}
