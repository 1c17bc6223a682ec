//! The ends of a transfer as the host resolves them, and how they are named
//! in plans and journals.

use super::*;
use crate::capabilities::ChildLog;
use crate::targets::marked;

/// A command end, checked and resolved.
pub(super) struct CommandEnd {
    pub(super) target: String,
    pub(super) kind: cairn_lang::TargetKind,
    pub(super) inv: Invocation,
    pub(super) write: bool,
}

impl CommandEnd {
    pub(super) fn display(&self) -> String {
        format!("{} (on `{}`)", self.inv.display(), self.target)
    }

    /// How the command runs on its target (an ssh target's shared
    /// connection is opened within 30 seconds if need be). On an ssh or
    /// docker target its processes are marked there, and the mark
    /// journaled (see [`crate::targets::marked`]).
    pub(super) fn launch(&self, log: &ChildLog) -> Result<Launched, String> {
        let mut inv = self.inv.clone();
        let remote = match self.kind {
            cairn_lang::TargetKind::Local => None,
            _ => {
                let mark = marked::new_marker();
                if matches!(self.kind, cairn_lang::TargetKind::Ssh { .. }) {
                    inv.env.push((marked::MARKER.into(), mark.clone()));
                }
                log.remote_started(&self.target, &self.kind, &mark, &self.display());
                Some(Remote {
                    mark,
                    at: self.kind.clone(),
                })
            }
        };
        let launch =
            launch(&self.kind, &inv, Instant::now() + Duration::from_secs(30)).map_err(|e| {
                format!(
                    "transfer: cannot start `{}` on `{}`: {e}",
                    self.inv.program, self.target
                )
            })?;
        Ok(Launched { launch, remote })
    }
}

/// A command end ready to start, and its mark on another machine.
pub(super) struct Launched {
    pub(super) launch: crate::targets::Launch,
    pub(super) remote: Option<Remote>,
}

/// The mark of a command's processes on an ssh or docker target.
pub(super) struct Remote {
    pub(super) mark: String,
    pub(super) at: cairn_lang::TargetKind,
}

pub(super) enum End {
    Command(CommandEnd),
    File(PathBuf),
    Object {
        storage: String,
        key: String,
        url: String,
    },
    Discard,
}

impl End {
    pub(super) fn display(&self) -> String {
        match self {
            End::Command(c) => c.display(),
            End::File(p) => format!("file {}", p.display()),
            End::Object { url, .. } => format!("object {url}"),
            End::Discard => "discard".into(),
        }
    }
}

pub(super) fn transform_display(t: &Transform) -> String {
    match t {
        Transform::Zstd(l) => format!("zstd -{l}"),
        Transform::Unzstd => "zstd -d".into(),
        Transform::Gzip(l) => format!("gzip -{l}"),
        Transform::Gunzip => "gzip -d".into(),
        Transform::Sha256 => "sha256".into(),
    }
}

/// `/a/./b` → `/a/b`; `None` when the path climbs with `..`.
pub(super) fn normal(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => return None,
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Some(out)
}

/// `files`: a granted directory covers the paths under it.
pub(super) fn dir_matches(root: &Path) -> impl Fn(&str, &str) -> bool + '_ {
    move |granted, path| {
        let g = root.join(granted);
        match normal(&g) {
            Some(g) => Path::new(path).starts_with(&g),
            None => false,
        }
    }
}

pub(super) fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}
