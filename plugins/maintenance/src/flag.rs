//! The flag file, read, written and removed on the step's target with
//! `sh` (fixed scripts; the paths are arguments, never part of a script).

use cairn_sdk::prelude::*;

use crate::MARKER;

/// The flag file's content is read up to this size.
const READ_LIMIT: usize = 1 << 20;

/// Prints `absent`, `other` (not a regular file) or `file` and the content.
const READ: &str = r#"if [ -f "$1" ]; then echo file; head -c "$2" -- "$1"; elif [ -e "$1" ] || [ -L "$1" ]; then echo other; else echo absent; fi"#;

/// Writes stdin to the file under a temporary name, then links it into
/// place: `ln` refuses a file that appeared meanwhile (exit 3).
const WRITE: &str = r#"[ -d "$(dirname "$1")" ] || { echo "the directory of $1 does not exist" >&2; exit 2; }; t="$1.cairn-tmp.$$"; umask 022; cat > "$t" || { rm -f -- "$t"; exit 2; }; if ln -- "$t" "$1" 2>/dev/null; then rm -f -- "$t"; else rm -f -- "$t"; echo "$1 exists" >&2; exit 3; fi"#;

/// Removes the file only if it still holds the marker (exit 3 otherwise).
const REMOVE: &str = r#"[ -e "$1" ] || [ -L "$1" ] || exit 0; [ -f "$1" ] && grep -qF -- "$2" "$1" || { echo "$1 does not hold the marker" >&2; exit 3; }; rm -f -- "$1""#;

const CAT: &str = r#"cat -- "$1""#;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum State {
    Absent,
    /// A regular file, and its content.
    File(String),
    /// A directory or a special file where the flag should be.
    Other,
    /// Not read: a plan in which cairn performs no read (the undo steps
    /// of a dry-run).
    Unread,
}

impl State {
    pub fn is_on(&self) -> bool {
        !matches!(self, State::Absent | State::Unread)
    }

    pub fn is_cairns(&self) -> bool {
        matches!(self, State::File(text) if text.contains(MARKER))
    }
}

pub(crate) struct FlagFile {
    pub path: String,
}

fn sh(script: &str, args: &[&str]) -> Command {
    Command::new("sh")
        .args(["-c", script, "sh"])
        .args(args.iter().copied())
}

impl FlagFile {
    pub fn new(path: String) -> Self {
        FlagFile { path }
    }

    pub fn read(&self, host: &dyn Host) -> Result<State, PluginError> {
        let limit = READ_LIMIT.to_string();
        let done = host.exec(&sh(READ, &[&self.path, &limit]).effect(Effect::Read))?;
        if done.planned {
            return Ok(State::Unread);
        }
        let text = done.stdout_text();
        let (kind, content) = text.split_once('\n').unwrap_or((text.trim(), ""));
        match (done.status, kind) {
            (0, "absent") => Ok(State::Absent),
            (0, "other") => Ok(State::Other),
            (0, "file") => Ok(State::File(content.to_string())),
            _ => Err(PluginError::new(format!(
                "cannot read the flag file `{}`: status {}: {}",
                self.path,
                done.status,
                done.stderr_text().trim()
            ))),
        }
    }

    pub fn write(&self, host: &dyn Host, page: &str) -> Result<Completed, PluginError> {
        let done = host.exec(
            &sh(WRITE, &[&self.path])
                .stdin(page.as_bytes().to_vec())
                .effect(Effect::Write),
        )?;
        if !done.planned && done.status != 0 {
            return Err(PluginError::new(format!(
                "cannot write the maintenance page `{}`: {}",
                self.path,
                done.stderr_text().trim()
            )));
        }
        Ok(done)
    }

    pub fn remove(&self, host: &dyn Host) -> Result<Completed, PluginError> {
        let done = host.exec(&sh(REMOVE, &[&self.path, MARKER]).effect(Effect::Write))?;
        if !done.planned && done.status != 0 {
            return Err(PluginError::new(format!(
                "`{}` was not removed: {}",
                self.path,
                done.stderr_text().trim()
            )));
        }
        Ok(done)
    }
}

/// The content of a page file on the target.
pub(crate) fn read_page(host: &dyn Host, path: &str) -> Result<String, PluginError> {
    let done = host.exec(&sh(CAT, &[path]).effect(Effect::Read))?;
    if done.status != 0 {
        return Err(PluginError::arg(
            "page",
            format!("cannot read `{path}`: {}", done.stderr_text().trim()),
        ));
    }
    Ok(done.stdout_text().into_owned())
}

/// The page with the marker, before `</body>` when it has one.
pub(crate) fn with_marker(page: &str, run: &str, step: &str) -> String {
    let mark = format!("{MARKER} run={run} step={step} -->\n");
    match page.to_ascii_lowercase().rfind("</body>") {
        Some(at) if page.is_char_boundary(at) => {
            format!("{}{mark}{}", &page[..at], &page[at..])
        }
        _ => {
            let sep = if page.is_empty() || page.ends_with('\n') {
                ""
            } else {
                "\n"
            };
            format!("{page}{sep}{mark}")
        }
    }
}
