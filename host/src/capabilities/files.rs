//! `files`: the directories of the project a plugin may read and write
//! through WASI's filesystem (preopened when its store is made), and the
//! files a `transfer` may read and write.

use std::path::PathBuf;

use wasmtime_wasi::WasiCtxBuilder;

use super::registry::Capability;
use super::{Allow, CapCtx, Inputs};
use crate::events::Mode;

/// The `files` capability: WASI's filesystem, no interface of cairn's.
pub struct Files;

impl Capability for Files {
    const NAME: &'static str = "files";
    const WIT: bool = false;
    /// The project's root, where granted directories are found.
    type State = PathBuf;

    fn build(inputs: &Inputs<'_>) -> PathBuf {
        inputs.project.root.clone()
    }
}

/// Each directory a `files` grant names (not `*`) becomes a WASI preopen
/// under the name written in the grant; read-only in a dry-run, so a plugin
/// cannot change a file behind the host's back.
pub(super) fn preopen_granted_dirs(builder: &mut WasiCtxBuilder, cx: &CapCtx) {
    use wasmtime_wasi::FsPerms;
    let Some(Allow::Only(dirs)) = cx.grants.get("files") else {
        return;
    };
    let read_only = cx.mode == Mode::DryRun || cx.offline;
    let perms = if read_only {
        FsPerms::ReadOnly
    } else {
        FsPerms::ReadWrite
    };
    for dir in dirs {
        let host = cx.state::<Files>().join(dir);
        if !host.is_dir() {
            continue;
        }
        if let Err(e) = builder.preopened_dir(&host, dir, perms) {
            tracing::warn!(dir = %dir, "cannot preopen a granted directory: {e}");
        }
    }
}
