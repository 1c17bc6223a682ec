//! Programs of this machine: which file a name means on cairn's own `PATH`,
//! and the environment a `local` command starts from (see
//! `capabilities::programs` for the policy built on them).

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Variables a command on a `local` target gets from cairn's environment
/// (with every `LC_*`), like sudo's `env_reset`.
pub const PASSED: [&str; 5] = ["PATH", "HOME", "LANG", "TZ", "TERM"];

/// cairn's own values of [`PASSED`] and `LC_*`.
pub fn passed_env() -> Vec<(OsString, OsString)> {
    std::env::vars_os()
        .filter(|(k, _)| {
            k.to_str()
                .is_some_and(|k| PASSED.contains(&k) || k.starts_with("LC_"))
        })
        .collect()
}

/// Prefixes of the variables refused in a command's environment.
pub const REFUSED_PREFIXES: [&str; 4] = ["LD_", "DYLD_", "BASH_FUNC_", "_RLD"];

/// Variables that make a loader, a shell or an interpreter load or run
/// other code than the program's (after sudo's list of unsafe variables).
pub const REFUSED: [&str; 36] = [
    "BASH_ENV",
    "ENV",
    "BASHOPTS",
    "SHELLOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "CDPATH",
    "GLOBIGNORE",
    "FPATH",
    "ZDOTDIR",
    "NULLCMD",
    "READNULLCMD",
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "RES_OPTIONS",
    "LOCALDOMAIN",
    "MALLOC_TRACE",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONUSERBASE",
    "PERL5LIB",
    "PERLLIB",
    "PERL5OPT",
    "PERL5DB",
    "PERLIO_DEBUG",
    "RUBYOPT",
    "RUBYLIB",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
];

/// Whether `name` may not be set in a command's environment without an
/// `exec-env` grant.
pub fn is_refused(name: &str) -> bool {
    REFUSED.contains(&name) || REFUSED_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// A program found on this machine: the path it was found at, and the file
/// itself (every symbolic link followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub path: PathBuf,
    pub file: PathBuf,
}

/// Finds `program` on this machine: a name without `/` on the host's
/// `PATH` (cairn's own), a path relative to `base`. `None` when there is no
/// executable file there.
pub fn find(program: &str, base: &Path) -> Option<Found> {
    if program.is_empty() {
        return None;
    }
    let candidates: Vec<PathBuf> = if program.contains('/') {
        vec![base.join(program)]
    } else {
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .filter(|d| d.is_absolute())
            .map(|d| d.join(program))
            .collect()
    };
    candidates.into_iter().find_map(|path| {
        let file = path.canonicalize().ok()?;
        let meta = std::fs::metadata(&file).ok()?;
        (meta.is_file() && meta.permissions().mode() & 0o111 != 0).then_some(Found { path, file })
    })
}

/// The sha256 of a file, lowercase hex.
pub fn sha256_of(path: &Path) -> std::io::Result<String> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    std::io::copy(&mut f, &mut h)?;
    Ok(hex::encode(h.finalize()))
}
