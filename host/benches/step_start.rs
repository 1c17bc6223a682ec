//! step-start: cairn's own cost per step, inside one process.
//!
//! - warm step: `Runtime::run` of the stock `noop` plugin's `noop` action, a
//!   fresh `Store` and instance every call, the `CapCtx` built every call as
//!   the engine does; then the same for the `exec` plugin running `/bin/true`
//!   (the step plus a process spawn);
//! - `Runtime::new`: the wasmtime `Engine`, the `Linker`, the epoch thread;
//! - cold load: `Runtime::load` with an empty cache directory (Cranelift
//!   compiles the component, the cache file is written, `describe` runs);
//! - load from cache: `Runtime::load` in a fresh `Runtime` over a filled
//!   cache directory (the compiled component is deserialized, `describe` runs);
//! - load precompiled: `Runtime::load_stock` with an empty cache directory,
//!   what a project's first run does (the component the build precompiled
//!   is deserialized, `describe` runs, both are written to the cache); then
//!   from that cache, what every later run does (the artefact is mapped,
//!   the description read).
//!
//! Run with `cargo bench -p cairn --bench step-start` (or `bench/step-start`).
//! `STEP_START_SAMPLES` (default 30) samples of `STEP_START_ITERS` (default
//! 200) calls each after a warm-up; medians. With `STEP_START_PROFILE` set it
//! stops after the warm noop steps (to profile them alone). The last line compares the warm
//! noop step against the 100 µs target:
//! `RESULT step-start baseline=100us cairn=Xus ratio=100/X`.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cairn::capabilities::{CapCtx, Grants};
use cairn::events::Mode;
use cairn::runtime::catalog::stock_plugins;
use cairn::runtime::{Context, Limits, LoadedPlugin, PluginSource, Runtime, StockPlugin, WitMode};

const TARGET_US: f64 = 100.0;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn stock_plugin(name: &str) -> &'static StockPlugin {
    stock_plugins()
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no stock plugin `{name}`"))
}

fn stock(name: &str) -> &'static [u8] {
    stock_plugin(name).wasm
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Median, min and max of the samples, in µs.
struct Stats {
    median: f64,
    min: f64,
    max: f64,
    n: usize,
}

fn stats(mut v: Vec<f64>) -> Stats {
    let n = v.len();
    let median = median(&mut v);
    Stats {
        median,
        min: v[0],
        max: v[n - 1],
        n,
    }
}

fn show(what: &str, s: &Stats, unit: &str) {
    let (div, u) = if unit == "ms" {
        (1000.0, "ms")
    } else {
        (1.0, "us")
    };
    println!(
        "{what:<34} median {:>9.1}{u}   min {:>9.1}{u}   max {:>9.1}{u}   ({} samples)",
        s.median / div,
        s.min / div,
        s.max / div,
        s.n
    );
}

/// CPU time of this thread so far, in µs.
fn thread_cpu_us() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the call's duration.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3)
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn context(step: &str) -> Context {
    Context {
        run_id: "20250101-000000-bench".into(),
        step_id: step.into(),
        runbook: "step-start".into(),
        mode: WitMode::Apply,
        target: None,
    }
}

/// The context the engine would give a step of a stock plugin, in apply mode;
/// its capabilities' states are `describe_only`'s, each capability's default
/// built from the one list (`capabilities::CAPABILITIES`).
fn capctx(plugin: &LoadedPlugin, limits: &Limits) -> CapCtx {
    CapCtx {
        mode: Mode::Apply,
        offline: false,
        grants: Grants::effective(&plugin.description.capabilities, None, true),
        deadline: Instant::now() + limits.timeout,
        limits: limits.clone(),
        ..CapCtx::describe_only(plugin.name.clone())
    }
}

/// Per-call time of `f`, in µs: `samples` means of `iters` calls each,
/// after `iters` calls of warm-up. Wall time, and the calling thread's CPU
/// time when the kernel tells it.
fn per_call2(samples: usize, iters: usize, mut f: impl FnMut()) -> (Stats, Option<Stats>) {
    for _ in 0..iters {
        f();
    }
    let mut wall = Vec::with_capacity(samples);
    let mut cpu = Vec::with_capacity(samples);
    for _ in 0..samples {
        let c = thread_cpu_us();
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        wall.push(us(t.elapsed()) / iters as f64);
        if let (Some(c0), Some(c1)) = (c, thread_cpu_us()) {
            cpu.push((c1 - c0) / iters as f64);
        }
    }
    let cpu = (cpu.len() == samples).then(|| stats(cpu));
    (stats(wall), cpu)
}

fn per_call(samples: usize, iters: usize, f: impl FnMut()) -> Stats {
    per_call2(samples, iters, f).0
}

fn warm_step(rt: &Runtime, plugin: &LoadedPlugin, action: &str, args: &str) {
    let limits = Limits::step(None);
    let ctx = context("s1");
    let cx = capctx(plugin, &limits);
    match rt.run(plugin, cx, &limits, &ctx, action, args) {
        Ok(_) => {}
        Err(e) => panic!("{} {action}: {e}", plugin.name),
    }
}

fn load(rt: &Runtime, name: &str) -> Arc<LoadedPlugin> {
    rt.load(stock(name), PluginSource::Stock(name.into()))
        .unwrap_or_else(|e| panic!("load {name}: {e:#}"))
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("cairn-step-start-")
        .tempdir()
        .expect("tempdir")
}

/// `Runtime::load` of `name` in a fresh runtime over `dir`; the runtime's
/// creation is not counted.
fn timed_load(dir: &Path, name: &str) -> f64 {
    let rt = Runtime::new(Some(dir.to_path_buf())).expect("runtime");
    let t = Instant::now();
    let p = load(&rt, name);
    let e = us(t.elapsed());
    drop(p);
    e
}

fn main() {
    let samples = env_usize("STEP_START_SAMPLES", 30);
    let iters = env_usize("STEP_START_ITERS", 200);
    let cold_samples = env_usize("STEP_START_COLD_SAMPLES", 5);
    println!(
        "step-start: cairn {} in-process, {} cores",
        cairn::VERSION,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    let cache = tempdir();
    let rt = Runtime::new(Some(cache.path().to_path_buf())).expect("runtime");
    let noop = load(&rt, "noop");
    let exec = load(&rt, "exec");

    let (step, step_cpu) = per_call2(samples, iters, || warm_step(&rt, &noop, "noop", "{}"));
    show("warm step, noop", &step, "us");
    if let Some(c) = &step_cpu {
        show("  CPU time of the calling thread", c, "us");
    }
    if std::env::var_os("STEP_START_PROFILE").is_some() {
        // Only warm noop steps, for `perf record` or callgrind.
        return;
    }
    let ctx_only = per_call(samples, iters, || {
        std::hint::black_box(capctx(&noop, &Limits::step(None)));
    });
    show("  of which CapCtx + Limits", &ctx_only, "us");
    let exec_args = r#"{"run":["/bin/true"],"effect":"read"}"#;
    let exec_step = per_call(samples, (iters / 10).max(1), || {
        warm_step(&rt, &exec, "run", exec_args)
    });
    show("warm step, exec /bin/true", &exec_step, "us");
    let spawn = per_call(samples, (iters / 10).max(1), || {
        let st = std::process::Command::new("/bin/true")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("spawn /bin/true");
        assert!(st.status.success());
    });
    show("  plain spawn of /bin/true", &spawn, "us");

    let new_rt = {
        let mut v = Vec::new();
        for i in 0..=samples.min(20) {
            let t = Instant::now();
            let r = Runtime::new(None).expect("runtime");
            let e = us(t.elapsed());
            drop(r);
            if i > 0 {
                v.push(e);
            }
        }
        stats(v)
    };
    show("Runtime::new (engine, linker)", &new_rt, "us");

    for name in ["noop", "exec"] {
        let mut v = Vec::new();
        for i in 0..=cold_samples {
            let dir = tempdir();
            let e = timed_load(dir.path(), name);
            if i > 0 {
                v.push(e);
            }
        }
        show(&format!("cold load (compile), {name}"), &stats(v), "ms");
    }
    for name in ["noop", "exec"] {
        let mut v = Vec::new();
        for i in 0..=samples.min(20) {
            let e = timed_load(cache.path(), name);
            if i > 0 {
                v.push(e);
            }
        }
        show(&format!("load from cache, {name}"), &stats(v), "ms");
    }
    for name in ["noop", "exec"] {
        let plugin = stock_plugin(name);
        if plugin.precompiled.is_none() {
            println!("load precompiled, {name}: not precompiled (a cross-compiled build)");
            continue;
        }
        // First with an empty cache (what a project's first run does: the
        // artefact is accepted, then written to the cache with the plugin's
        // description), then over that cache (every later run: the artefact
        // is mapped, the description read).
        let mut first = Vec::new();
        let mut later = Vec::new();
        for i in 0..=samples.min(20) {
            let dir = tempdir();
            for round in 0..2 {
                let rt = Runtime::new(Some(dir.path().to_path_buf())).expect("runtime");
                let t = Instant::now();
                let p = rt
                    .load_stock(plugin)
                    .unwrap_or_else(|e| panic!("load {name}: {e:#}"));
                let e = us(t.elapsed());
                drop(p);
                if i > 0 {
                    if round == 0 { &mut first } else { &mut later }.push(e);
                }
            }
            let compiled: Vec<_> = std::fs::read_dir(dir.path())
                .expect("cache")
                .flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
                .collect();
            assert!(
                compiled.len() == 1
                    && std::fs::read(compiled[0].path()).ok().as_deref() == plugin.precompiled,
                "{name}: the precompiled component did not fit; it was compiled"
            );
        }
        show(
            &format!("load precompiled, first, {name}"),
            &stats(first),
            "ms",
        );
        let v = later;
        show(
            &format!("load precompiled, from the cache, {name}"),
            &stats(v),
            "ms",
        );
    }

    let x = step.median;
    println!(
        "target: warm step < {TARGET_US:.0}us in-process: {x:.1}us ({})",
        if x < TARGET_US { "met" } else { "NOT met" }
    );
    println!(
        "RESULT step-start baseline={TARGET_US:.0}us cairn={x:.1}us ratio={:.1}",
        TARGET_US / x
    );
}
