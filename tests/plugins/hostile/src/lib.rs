//! Test plugin `hostile`: one action per attack on the host (DESIGN §5). The
//! hostile-plugin suite (`host/tests/cli/hostile.rs`) runs each one and checks
//! that the host contains it: the step fails with a clear message, nothing
//! leaks, and the run (and the next run) carries on.
//!
//! Attacks that the host must stop outright (`spin`, `alloc`, `recurse`,
//! `handles`, `panic`, `big-output`) never return normally. Attacks that the
//! sandbox must make fail (`read-file`, `socket`, `env`) report what happened,
//! so a test sees a success as a leak. Attacks through the host's
//! capabilities (`exec`, `http`, `leak-secret`) return what the host gave.
//!
//! The plugin declares every capability with `*`: a project grants it only
//! what `cairn.kdl` says, and tests grant some values and not others.

use std::hint::black_box;

use cairn_sdk::prelude::*;
use serde_json::{Value, json};

pub struct Hostile;

const ACTIONS: &[(&str, &str)] = &[
    ("spin", "Loop forever (the step timeout must interrupt it)"),
    (
        "alloc",
        "Allocate without bound (the memory cap must stop it)",
    ),
    (
        "recurse",
        "Recurse without bound (the stack limit must stop it)",
    ),
    (
        "log-flood",
        "Log `count` lines, a million by default (capped by the host)",
    ),
    (
        "big-output",
        "Return `megabytes` MB of outputs, 50 by default (over the output cap)",
    ),
    (
        "read-file",
        "Read `paths` with std::fs (no preopens: must fail); report what happened",
    ),
    (
        "socket",
        "Connect to 127.0.0.1:`port` with std::net (no network: must fail)",
    ),
    (
        "env",
        "Report std::env::vars(), args and the working directory (must be empty)",
    ),
    (
        "exec",
        "Run `program` with `args` and `env` through the host (refused unless granted)",
    ),
    (
        "http",
        "GET `url` through the host (refused unless its host is granted)",
    ),
    (
        "leak-secret",
        "Reveal secret `name`, then leak it `via` outputs, error, panic or abort",
    ),
    (
        "handles",
        "Take handles to secret `name` in a loop and never drop them",
    ),
    ("panic", "Panic with `message`"),
    (
        "stdout-flood",
        "Print `megabytes` MB to stdout, 10 by default",
    ),
];

impl Plugin for Hostile {
    fn describe() -> Description {
        let mut d = Description::new(
            "hostile",
            env!("CARGO_PKG_VERSION"),
            "Attacks the host, one action per attack (tests only)",
        );
        for (name, summary) in ACTIONS {
            d = d.action(*name, *summary, Effect::Read);
        }
        d.default_action("panic")
            .capability("exec", ["*"])
            .capability("http", ["*"])
            .capability("secrets", ["*"])
    }

    fn run(
        host: &dyn Host,
        _ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        match action {
            "spin" => spin(),
            "alloc" => alloc(),
            "recurse" => recurse(args.decode()?),
            "log-flood" => log_flood(host, args.decode()?),
            "big-output" => big_output(args.decode()?),
            "read-file" => read_file(args.decode()?),
            "socket" => socket(args.decode()?),
            "env" => env(),
            "exec" => exec(host, args.decode()?),
            "http" => http(host, args.decode()?),
            "leak-secret" => leak_secret(host, args.decode()?),
            "handles" => handles(host, args.decode()?),
            "panic" => {
                let a: PanicArgs = args.decode()?;
                panic!(
                    "{}",
                    a.message
                        .as_deref()
                        .unwrap_or("hostile panicked on purpose")
                );
            }
            "stdout-flood" => stdout_flood(args.decode()?),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Hostile);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PanicArgs {
    message: Option<String>,
}

fn spin() -> Result<Outputs, PluginError> {
    let mut n: u64 = 0;
    loop {
        n = black_box(n.wrapping_add(1));
    }
}

/// Keeps every megabyte it gets, touching each page, until the allocator
/// gives up (an allocation failure aborts the component).
fn alloc() -> Result<Outputs, PluginError> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        for page in chunk.chunks_mut(4096) {
            page[0] = 1;
        }
        hoard.push(black_box(chunk));
        if hoard.len() > 1 << 16 {
            // 64 GiB "allocated": the host has no memory cap.
            return Ok(Outputs::new().set("megabytes", hoard.len()));
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RecurseArgs {
    /// Bytes of a local array per frame, kept in linear memory (the shadow
    /// stack); 0 recurses on the wasm stack alone.
    #[serde(default)]
    frame_bytes: usize,
}

fn recurse(a: RecurseArgs) -> Result<Outputs, PluginError> {
    let depth = if a.frame_bytes == 0 {
        deeper(0)
    } else {
        deeper_with_frame(0, a.frame_bytes)
    };
    Ok(Outputs::new().set("depth", depth))
}

#[inline(never)]
fn deeper(n: u64) -> u64 {
    if black_box(n) == u64::MAX {
        return n;
    }
    deeper(black_box(n + 1)).wrapping_add(black_box(1))
}

#[inline(never)]
fn deeper_with_frame(n: u64, bytes: usize) -> u64 {
    let mut frame = [0u8; 4096];
    let used = bytes.min(frame.len());
    frame[..used].fill(n as u8);
    black_box(&mut frame);
    if black_box(n) == u64::MAX {
        return n;
    }
    deeper_with_frame(n + 1, bytes).wrapping_add(u64::from(frame[used.saturating_sub(1)]))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CountArgs {
    count: Option<u64>,
}

fn log_flood(host: &dyn Host, a: CountArgs) -> Result<Outputs, PluginError> {
    let count = a.count.unwrap_or(1_000_000);
    for i in 0..count {
        host.log(
            Level::Info,
            &format!("flood line {i}"),
            &[("i", &i.to_string())],
        );
    }
    Ok(Outputs::new().set("sent", count))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeArgs {
    megabytes: Option<usize>,
}

fn big_output(a: SizeArgs) -> Result<Outputs, PluginError> {
    let blob = "x".repeat(a.megabytes.unwrap_or(50) << 20);
    Ok(Outputs::new().set("blob", blob))
}

fn stdout_flood(a: SizeArgs) -> Result<Outputs, PluginError> {
    use std::io::Write;
    let line = [b'y'; 1023];
    let mut out = std::io::stdout().lock();
    let lines = a.megabytes.unwrap_or(10) << 10;
    let mut written = 0usize;
    for _ in 0..lines {
        match out.write_all(&line).and_then(|()| out.write_all(b"\n")) {
            Ok(()) => written += 1,
            Err(e) => {
                return Ok(Outputs::new()
                    .set("lines", written)
                    .set("error", e.to_string()));
            }
        }
    }
    let _ = out.flush();
    Ok(Outputs::new().set("lines", written))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadArgs {
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    paths: Vec<String>,
}

/// Tries each path with plain std::fs. WASI gives the plugin no preopened
/// directory, so every attempt must fail; the outputs say how.
fn read_file(a: ReadArgs) -> Result<Outputs, PluginError> {
    let paths = if a.paths.is_empty() {
        vec!["/etc/passwd".to_string(), "../../etc/passwd".to_string()]
    } else {
        a.paths
    };
    let mut results = Vec::new();
    let mut leaked = false;
    for path in &paths {
        results.push(match std::fs::read(path) {
            Ok(bytes) => {
                leaked = true;
                let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
                json!({ "path": path, "read": true, "bytes": bytes.len(), "head": head })
            }
            Err(e) => json!({ "path": path, "read": false, "error": e.to_string() }),
        });
    }
    for dir in ["/", "."] {
        results.push(match std::fs::read_dir(dir) {
            Ok(rd) => {
                leaked = true;
                let names: Vec<String> = rd
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                json!({ "path": dir, "read": true, "entries": names })
            }
            Err(e) => json!({ "path": dir, "read": false, "error": e.to_string() }),
        });
    }
    Ok(Outputs::new()
        .set("results", Value::Array(results))
        .set("leaked", leaked))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SocketArgs {
    port: u16,
}

/// Connects with plain std::net. WASI gives the plugin no network, so the
/// connection must fail; the error says how. A connection is returned as
/// outputs, so the step succeeds and a test sees the leak.
fn socket(a: SocketArgs) -> Result<Outputs, PluginError> {
    let addr = format!("127.0.0.1:{}", a.port);
    let lookup = match std::net::ToSocketAddrs::to_socket_addrs(&("localhost", a.port)) {
        Ok(found) => format!("resolved to {:?}", found.collect::<Vec<_>>()),
        Err(e) => format!("failed: {e}"),
    };
    match std::net::TcpStream::connect(&addr) {
        Ok(stream) => {
            use std::io::Write;
            let mut stream = stream;
            let _ = stream.write_all(b"hostile was here\n");
            Ok(Outputs::new().set("connected", addr).set("lookup", lookup))
        }
        Err(e) => Err(PluginError::new(format!(
            "connect to {addr} failed: {e} (lookup of `localhost` {lookup})"
        ))),
    }
}

fn env() -> Result<Outputs, PluginError> {
    let vars: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    let args: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cwd = match std::env::current_dir() {
        Ok(d) => d.display().to_string(),
        Err(e) => format!("error: {e}"),
    };
    Ok(Outputs::new()
        .set("count", vars.len())
        .set("vars", vars)
        .set("args", args)
        .set("cwd", cwd))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExecArgs {
    program: String,
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    args: Vec<String>,
    /// Variables the plugin sets for the command (`PATH`, `LD_PRELOAD`, ...).
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
}

fn exec(host: &dyn Host, a: ExecArgs) -> Result<Outputs, PluginError> {
    let mut cmd = Command::new(&a.program).args(&a.args).effect(Effect::Write);
    for (name, value) in &a.env {
        cmd = cmd.env(name, value.as_str());
    }
    let done = host.exec(&cmd)?;
    Ok(Outputs::new()
        .set("status", done.status)
        .set("stdout", done.stdout_text().trim_end()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HttpArgs {
    url: String,
}

fn http(host: &dyn Host, a: HttpArgs) -> Result<Outputs, PluginError> {
    let resp = host.http(&Request::get(&a.url))?;
    Ok(Outputs::new()
        .set("status", resp.status)
        .set("body", resp.text().into_owned()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LeakArgs {
    name: String,
    via: String,
}

/// Reveals a secret, then puts it everywhere it can: a log message, a log
/// field, stderr, and the outputs, the error message, a panic message or
/// stderr before an abort (`via`). Variants of the value (its JSON form, in
/// a longer string) come along.
fn leak_secret(host: &dyn Host, a: LeakArgs) -> Result<Outputs, PluginError> {
    let secret = host.secret(&a.name)?;
    let value = host.reveal(&secret)?;
    host.log(
        Level::Warn,
        &format!("the secret is {value}"),
        &[("secret", &value), ("wrapped", &format!("<{value}>"))],
    );
    eprintln!("stderr: the secret is {value}");
    match a.via.as_str() {
        "outputs" => Ok(Outputs::new()
            .set("value", value.clone())
            .set("wrapped", format!("before-{value}-after"))
            .set("nested", json!({ "deep": [value.clone(), { "k": value }] }))),
        "error" => Err(PluginError::new(format!("leaking {value} in an error")).with_field(value)),
        "panic" => panic!("leaking {value} in a panic"),
        "abort" => {
            eprintln!("leaking {value} before an abort");
            std::process::abort();
        }
        other => Err(PluginError::arg(
            "via",
            format!("unknown way to leak `{other}`"),
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HandlesArgs {
    name: String,
}

/// Takes handles and forgets them, so the host's table only grows. If the
/// host never says no, returns how many it got (a test sees no cap).
fn handles(host: &dyn Host, a: HandlesArgs) -> Result<Outputs, PluginError> {
    let mut held: u64 = 0;
    while held < 1_000_000 {
        match host.secret(&a.name) {
            Ok(s) => {
                std::mem::forget(s);
                held += 1;
            }
            Err(e) => {
                return Err(PluginError::new(format!(
                    "the host refused handle {} with `{e}`",
                    held + 1
                )));
            }
        }
    }
    Ok(Outputs::new().set("held", held))
}
