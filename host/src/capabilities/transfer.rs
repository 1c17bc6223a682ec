//! `transfer`: host-side streaming pipelines for bulk data. A plugin
//! describes source → transforms → sink in one call; the host checks each
//! end against its grant, records a write in a dry-run, and otherwise moves
//! the bytes with fixed buffers (they never enter the plugin's memory).
//! Nothing half-written is left under a final name: files are renamed into
//! place and objects committed only when the source ended well.

mod ends;
mod pipe;

use std::cell::Cell;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::exec::OnTargets;
use super::registry::Capability;
use super::storage::dir::TempFile;
use super::storage::{Storages, check_key};
use super::{Inputs, StepState};
use crate::events::Event;
use crate::targets::{Invocation, launch};
use crate::wit::cairn::plugin::exec::Command;
use crate::wit::cairn::plugin::transfer::{
    self as wit, ObjectRef, Pipeline, Sink, Source, Summary, Transform,
};
use crate::wit::cairn::plugin::types::Effect;
use ends::*;
use pipe::{
    GunzipStage, GzipStage, Proc, PumpError, ShaStage, SinkStage, Stage, Terminal, UnzstdStage,
    Watchdog, ZstdStage,
};

/// The `transfer` capability.
pub struct Transfer;

impl Capability for Transfer {
    const NAME: &'static str = "transfer";
    type State = TransferState;

    fn build(inputs: &Inputs<'_>) -> TransferState {
        TransferState {
            on: OnTargets::build(inputs),
            storages: super::storage::project_storages(inputs),
        }
    }
}

/// What `transfer` keeps: the targets its commands run on, and the
/// project's storages its objects are in.
#[derive(Clone, Default)]
pub struct TransferState {
    pub on: OnTargets,
    pub storages: Arc<Storages>,
}

impl StepState {
    fn command_end(&mut self, cmd: &Command) -> Result<CommandEnd, String> {
        if self.cx.grants.get("exec").is_none() {
            return Err(self.cx.denied("exec", &cmd.program));
        }
        if cmd.stdin.is_some() {
            return Err(format!(
                "transfer: the command `{}` of a transfer takes no `stdin`",
                cmd.program
            ));
        }
        let on = &self.cx.state::<Transfer>().on;
        let target = cmd.target.clone().unwrap_or_else(|| on.target.clone());
        let kind = on
            .targets
            .get(&target)
            .cloned()
            .ok_or_else(|| format!("transfer: unknown target `{target}`"))?;
        let inv = self.invocation("transfer", cmd, &target, &kind)?;
        Ok(CommandEnd {
            target,
            kind,
            inv,
            write: cmd.effect == Effect::Write,
        })
    }

    fn file_end(&self, path: &str) -> Result<PathBuf, String> {
        let root = self.cx.state::<Transfer>().storages.root();
        let full = normal(&root.join(path)).ok_or_else(|| {
            format!("transfer: the path `{path}` is refused: it climbs out with `..`")
        })?;
        let shown = full.to_string_lossy().into_owned();
        if !self.cx.grants.allows("files", &shown, dir_matches(root)) {
            return Err(self.cx.denied("files", &shown));
        }
        Ok(full)
    }

    fn object_end(&self, o: &ObjectRef) -> Result<End, String> {
        self.storage_allowed(&o.storage)?;
        check_key(&o.key)?;
        Ok(End::Object {
            url: self.cx.state::<Transfer>().storages.url(&o.storage, &o.key),
            storage: o.storage.clone(),
            key: o.key.clone(),
        })
    }

    fn transfer(&mut self, p: Pipeline) -> Result<Summary, String> {
        if self.cx.grants.get("transfer").is_none() {
            return Err(self.cx.denied("transfer", "*"));
        }
        let source = match &p.source {
            Source::Command(c) => End::Command(self.command_end(c)?),
            Source::File(f) => End::File(self.file_end(f)?),
            Source::Object(o) => self.object_end(o)?,
        };
        let sink = match &p.sink {
            Sink::Command(c) => End::Command(self.command_end(c)?),
            Sink::File(f) => End::File(self.file_end(f)?),
            Sink::Object(o) => self.object_end(o)?,
            Sink::Discard => End::Discard,
        };
        let mut hashes = 0;
        for t in &p.transforms {
            match t {
                Transform::Zstd(l) if !(1..=19).contains(l) => {
                    return Err(format!("transfer: zstd level {l} is not between 1 and 19"));
                }
                Transform::Gzip(l) if *l > 9 => {
                    return Err(format!("transfer: gzip level {l} is not between 0 and 9"));
                }
                Transform::Sha256 => hashes += 1,
                _ => {}
            }
        }
        if hashes > 1 {
            return Err("transfer: a pipeline takes at most one sha256".into());
        }
        let mut parts = vec![source.display()];
        parts.extend(p.transforms.iter().map(transform_display));
        let summary = format!("{} → {}", parts.join(" | "), sink.display());
        let write = !matches!(sink, End::Discard) || matches!(&source, End::Command(c) if c.write);
        let effect = if write { "write" } else { "read" };
        let mut detail = json!({
            "source": source.display(),
            "transforms": p.transforms.iter().map(transform_display).collect::<Vec<_>>(),
            "sink": sink.display(),
        });
        if self.cx.plans(write) {
            self.cx.emit(Event::Capability {
                step: self.cx.step.clone(),
                capability: "transfer".into(),
                effect: effect.into(),
                planned: true,
                summary,
                detail,
            });
            return Ok(Summary {
                bytes_in: 0,
                bytes_out: 0,
                sha256: None,
                duration_ms: 0,
                planned: true,
            });
        }
        // What dead writers left where this one writes goes first.
        if let Sink::Object(o) = &p.sink {
            self.sweep_debris(&o.storage, &o.key);
        }
        // The shortest of the transfer's timeout and its commands'.
        let command_timeouts = [&p.source_command_timeout(), &p.sink_command_timeout()];
        let timeout = command_timeouts
            .into_iter()
            .flatten()
            .chain(p.timeout_ms.as_ref())
            .min()
            .map(|ms| Duration::from_millis(*ms));
        let deadline = Instant::now() + self.cx.remaining(timeout);
        let started = Instant::now();
        let r = self.perform(source, &p.transforms, sink, deadline);
        let elapsed = started.elapsed();
        self.mark_if_late();
        detail["duration_ms"] = json!(elapsed.as_secs_f64() * 1000.0);
        let (summary_line, result) = match r {
            Ok((bytes_in, bytes_out, sha)) => {
                let rate = bytes_in as f64 / elapsed.as_secs_f64().max(1e-6);
                detail["bytes_in"] = json!(bytes_in);
                detail["bytes_out"] = json!(bytes_out);
                detail["bytes_per_second"] = json!(rate.round());
                if let Some(s) = &sha {
                    detail["sha256"] = json!(s);
                }
                let line = format!(
                    "{summary} ({} in, {} out, {:.1}s, {}/s)",
                    human_bytes(bytes_in),
                    human_bytes(bytes_out),
                    elapsed.as_secs_f64(),
                    human_bytes(rate as u64)
                );
                let s = Summary {
                    bytes_in,
                    bytes_out,
                    sha256: sha,
                    duration_ms: elapsed.as_millis() as u64,
                    planned: false,
                };
                (line, Ok(s))
            }
            Err(e) => {
                detail["error"] = json!(e);
                (format!("{summary}: failed"), Err(e))
            }
        };
        self.cx.emit(Event::Capability {
            step: self.cx.step.clone(),
            capability: "transfer".into(),
            effect: effect.into(),
            planned: false,
            summary: summary_line,
            detail,
        });
        result
    }

    /// Runs the pipeline: bytes in, bytes out, the sha256 if asked.
    fn perform(
        &self,
        source: End,
        transforms: &[Transform],
        sink: End,
        deadline: Instant,
    ) -> Result<(u64, u64, Option<String>), String> {
        let watchdog = Watchdog::new(deadline);
        let started = Instant::now();
        let storages = self.cx.state::<Transfer>().storages.clone();
        let log = self.cx.child_log();
        // The source.
        let mut src_proc = None;
        let mut src: Box<dyn Read> = match source {
            End::Command(c) => {
                let what = c.display();
                let (proc_, out, _) =
                    Proc::spawn(c.launch(&log)?, what, false, &watchdog, log.clone())
                        .map_err(|e| start_error(&c, e))?;
                src_proc = Some(proc_);
                Box::new(out.expect("piped stdout"))
            }
            End::File(p) => Box::new(
                std::fs::File::open(&p)
                    .map_err(|e| format!("transfer: cannot read `{}`: {e}", p.display()))?,
            ),
            End::Object { storage, key, .. } => storages.open(&storage)?.reader(&key, deadline)?,
            End::Discard => unreachable!("discard is a sink"),
        };
        // The sink, then the transforms in front of it.
        let mut sink_proc = None;
        let out = match sink {
            End::Command(c) => {
                let what = c.display();
                let (proc_, _, stdin) =
                    Proc::spawn(c.launch(&log)?, what, true, &watchdog, log.clone())
                        .map_err(|e| start_error(&c, e))?;
                sink_proc = Some(proc_);
                Terminal::Stdin(stdin.expect("piped stdin"))
            }
            End::File(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| format!("transfer: cannot create `{}`: {e}", dir.display()))?;
                }
                Terminal::File(
                    TempFile::create(&p, &storages.owner())
                        .map_err(|e| format!("transfer: cannot write `{}`: {e}", p.display()))?,
                )
            }
            End::Object { storage, key, .. } => {
                Terminal::Object(storages.open(&storage)?.writer(&key, deadline)?)
            }
            End::Discard => Terminal::Discard,
        };
        let count = Rc::new(Cell::new(0u64));
        let digest = Rc::new(Cell::new(None));
        let mut chain: Box<dyn Stage> = Box::new(SinkStage {
            out,
            count: count.clone(),
        });
        for t in transforms.iter().rev() {
            chain = match t {
                Transform::Zstd(level) => Box::new(ZstdStage(
                    zstd::stream::write::Encoder::new(chain, *level)
                        .map_err(|e| format!("transfer: zstd: {e}"))?,
                )),
                Transform::Unzstd => Box::new(UnzstdStage(
                    zstd::stream::write::Decoder::new(chain)
                        .map_err(|e| format!("transfer: zstd: {e}"))?,
                )),
                Transform::Gzip(level) => Box::new(GzipStage(flate2::write::GzEncoder::new(
                    chain,
                    flate2::Compression::new(*level),
                ))),
                Transform::Gunzip => Box::new(GunzipStage(flate2::write::GzDecoder::new(chain))),
                Transform::Sha256 => Box::new(ShaStage {
                    next: chain,
                    hasher: Sha256::new(),
                    digest: digest.clone(),
                }),
            };
        }
        let timed_out = || {
            format!(
                "transfer: did not finish in {} (the deadline); nothing was left at the sink",
                crate::humanize::humanize(started.elapsed())
            )
        };
        let sink_failed = |e: std::io::Error, sink_proc: Option<Proc>| -> String {
            // A sink command that died explains the broken pipe better.
            if let Some(p) = sink_proc
                && let Err(why) = p.wait(&watchdog, started.elapsed())
            {
                return why;
            }
            format!("transfer: {e}")
        };
        let mut report = |bytes: u64| {
            self.cx.emit(Event::Progress {
                step: self.cx.step.clone(),
                bytes,
                elapsed_ms: started.elapsed().as_secs_f64() * 1000.0,
            })
        };
        let bytes_in = match pipe::pump(&mut src, chain.as_mut(), deadline, &watchdog, &mut report)
        {
            Ok(n) => n,
            Err(PumpError::Deadline) => return Err(timed_out()),
            Err(PumpError::Source(e)) => {
                if let Some(p) = src_proc
                    && let Err(why) = p.wait(&watchdog, started.elapsed())
                {
                    return Err(why);
                }
                return Err(format!("transfer: reading the source: {e}"));
            }
            Err(PumpError::Sink(e)) => {
                drop(src);
                drop(src_proc);
                drop(chain);
                return Err(sink_failed(e, sink_proc));
            }
        };
        drop(src);
        // The source must have ended well before anything is committed.
        if let Some(p) = src_proc {
            p.wait(&watchdog, started.elapsed())?;
        }
        if watchdog.fired() {
            return Err(timed_out());
        }
        if let Err(e) = chain.finish() {
            return Err(sink_failed(e, sink_proc));
        }
        if let Some(p) = sink_proc {
            p.wait(&watchdog, started.elapsed())?;
        }
        let sha = digest.get().map(hex::encode);
        Ok((bytes_in, count.get(), sha))
    }
}

impl Pipeline {
    fn source_command_timeout(&self) -> Option<u64> {
        match &self.source {
            Source::Command(c) => c.timeout_ms,
            _ => None,
        }
    }

    fn sink_command_timeout(&self) -> Option<u64> {
        match &self.sink {
            Sink::Command(c) => c.timeout_ms,
            _ => None,
        }
    }
}

fn start_error(c: &CommandEnd, e: std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "transfer: program `{}` not found on `{}`",
            c.inv.program, c.target
        )
    } else {
        format!(
            "transfer: cannot start `{}` on `{}`: {e}",
            c.inv.program, c.target
        )
    }
}

impl wit::Host for StepState {
    fn run(&mut self, pipeline: Pipeline) -> wasmtime::Result<Result<Summary, String>> {
        Ok(self.transfer(pipeline))
    }
}

#[cfg(test)]
mod tests;
