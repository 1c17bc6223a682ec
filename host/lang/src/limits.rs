//! Bounds on what cairn reads, checked before anything recurses: the size
//! and kind of a file, and how deeply its blocks nest. Documented in
//! `docs/runbook-language.md` ("Limits").

use std::io::Read;
use std::path::Path;

use crate::diagnostics::{Diagnostic, Diagnostics};
use crate::model::SourceFile;

/// The largest file cairn reads as a runbook or a project file: 4 MiB; also
/// a secrets file and `cairn.lock`.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The largest `.wasm` file cairn loads as a project's plugin: 64 MiB.
pub const MAX_PLUGIN_BYTES: u64 = 64 * 1024 * 1024;
/// How deeply `{ }` blocks may nest in one file.
pub const MAX_BLOCK_DEPTH: usize = 64;
/// How many files deep `use` may include (a file that uses one that uses
/// another is three).
pub const MAX_USE_DEPTH: usize = 16;
/// How deeply parentheses and `!` may nest in one `when=` expression.
pub const MAX_EXPR_DEPTH: usize = 32;
/// How many `==`, `!=`, `&&` and `||` one `when=` expression may hold.
pub const MAX_EXPR_OPERATORS: usize = 256;

/// Why a file could not be read as text.
#[derive(Debug)]
pub enum ReadError {
    Io(std::io::Error),
    /// A directory, a FIFO, a device or a socket.
    NotAFile(&'static str),
    /// Its size, and the limit it is over.
    TooLarge(u64, u64),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => match e.kind() {
                std::io::ErrorKind::NotFound => f.write_str("no such file"),
                std::io::ErrorKind::PermissionDenied => f.write_str("permission denied"),
                _ => write!(f, "{e}"),
            },
            ReadError::NotAFile(kind) => write!(f, "it is {kind}, not a regular file"),
            ReadError::TooLarge(n, limit) => write!(
                f,
                "it is larger than {} MiB ({n} bytes)",
                limit / (1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads a regular file of at most [`MAX_FILE_BYTES`]; a directory, FIFO,
/// device or socket is refused before it is opened for reading, so nothing
/// blocks or reads without end.
pub fn read_bounded(path: &Path) -> Result<Vec<u8>, ReadError> {
    read_bounded_to(path, MAX_FILE_BYTES)
}

/// [`read_bounded`] with another limit than [`MAX_FILE_BYTES`].
pub fn read_bounded_to(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    let ft = meta.file_type();
    if !ft.is_file() {
        return Err(ReadError::NotAFile(kind_of(&ft)));
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge(meta.len(), limit));
    }
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    // The file may have grown since; read one byte more than allowed.
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge(bytes.len() as u64, limit));
    }
    Ok(bytes)
}

/// [`read_bounded`] as UTF-8 text.
pub fn read_text_bounded(path: &Path) -> Result<String, ReadError> {
    let bytes = read_bounded(path)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "not valid UTF-8 text (at byte {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

fn kind_of(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() || ft.is_block_device() {
            return "a device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// Refuses a file whose `{ }` blocks nest deeper than [`MAX_BLOCK_DEPTH`],
/// before the KDL parser (which recurses per level) sees it. Braces inside
/// strings, raw strings and comments are not counted.
pub(crate) fn check_block_depth(file: &SourceFile) -> Result<(), Diagnostics> {
    match deepest_block(&file.text) {
        Some(at) => Err(Diagnostic::at(
            file,
            (at, 1).into(),
            format!("blocks nest more than {MAX_BLOCK_DEPTH} levels deep"),
        )
        .with_label(format!("level {}", MAX_BLOCK_DEPTH + 1))
        .with_help("split the runbook, or flatten the nested nodes")
        .into()),
        None => Ok(()),
    }
}

/// The offset of the first `{` that opens level `MAX_BLOCK_DEPTH + 1`.
fn deepest_block(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                depth += 1;
                if depth > MAX_BLOCK_DEPTH {
                    return Some(i);
                }
                i += 1;
            }
            b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr(b, i, b'\n');
            }
            b'/' if b.get(i + 1) == Some(&b'*') => i = skip_block_comment(b, i),
            b'"' => i = skip_string(b, i, 0),
            b'#' => {
                let hashes = b[i..].iter().take_while(|c| **c == b'#').count();
                if b.get(i + hashes) == Some(&b'"') {
                    i = skip_string(b, i + hashes, hashes);
                } else {
                    i += hashes;
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// The index after the next `c` at or after `from`, or the end.
fn memchr(b: &[u8], from: usize, c: u8) -> usize {
    b[from..]
        .iter()
        .position(|x| *x == c)
        .map_or(b.len(), |p| from + p + 1)
}

/// `/* ... */`, which nests in KDL.
fn skip_block_comment(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// A string opening at `i` (its first `"`), raw when `hashes > 0`:
/// `"..."`, `"""..."""`, `#"..."#`, `#"""..."""#`. Returns the index after it.
fn skip_string(b: &[u8], i: usize, hashes: usize) -> usize {
    let quotes = if b[i..].starts_with(b"\"\"\"") { 3 } else { 1 };
    let mut j = i + quotes;
    while j < b.len() {
        if hashes == 0 && b[j] == b'\\' {
            j += 2;
            continue;
        }
        if b[j..].starts_with(&b"\"\"\""[..quotes])
            && b[j + quotes..]
                .iter()
                .take(hashes)
                .filter(|c| **c == b'#')
                .count()
                == hashes
        {
            return j + quotes + hashes;
        }
        j += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(n: usize) -> String {
        format!("{}{}", "a {".repeat(n), "}".repeat(n))
    }

    #[test]
    fn counts_braces_outside_strings_and_comments_only() {
        assert_eq!(deepest_block(&nested(MAX_BLOCK_DEPTH)), None);
        assert_eq!(
            deepest_block(&nested(MAX_BLOCK_DEPTH + 1)),
            Some(MAX_BLOCK_DEPTH * 3 + 2)
        );
        let braces = "{".repeat(100);
        for quiet in [
            format!("a \"{braces}\""),
            format!("a \"\\\"{braces}\""),
            format!("a \"\"\"\n\"{braces}\n\"\"\""),
            format!("a #\"\"{braces}\"#"),
            format!("a ##\"\"#{braces}\"##"),
            format!("// {braces}\na"),
            format!("/* /* */ {braces} */ a"),
        ] {
            assert_eq!(deepest_block(&quiet), None, "{quiet}");
        }
        assert!(deepest_block(&format!("a \"x\" {braces}")).is_some());
        assert!(deepest_block(&format!("/* x */ {braces}")).is_some());
    }
}
