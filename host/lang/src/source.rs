//! Reading a file and parsing it as KDL 2.0, with errors naming the file.

use std::path::Path;
use std::sync::Arc;

use kdl::KdlDocument;
use sha2::{Digest, Sha256};

use crate::diagnostics::{Diagnostic, Diagnostics, from_kdl};
use crate::model::SourceFile;

/// Reads `path`; `root` is the project root its shown name is relative to.
pub(crate) fn read(path: &Path, root: &Path) -> Result<(Arc<SourceFile>, String), Diagnostics> {
    let name = display_name(path, root);
    let bytes = crate::limits::read_bounded(path)
        .map_err(|e| Diagnostic::new(format!("cannot read `{name}`: {e}")))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|e| {
        Diagnostic::new(format!(
            "`{name}` is not valid UTF-8 text (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let file = SourceFile {
        name,
        path: path.to_path_buf(),
        text: text.into(),
    };
    Ok((Arc::new(file), sha256))
}

/// A file whose text is already in memory (a runbook embedded in the binary).
pub(crate) fn from_text(path: &Path, root: &Path, text: &str) -> (Arc<SourceFile>, String) {
    let sha256 = hex::encode(Sha256::digest(text.as_bytes()));
    let file = SourceFile {
        name: display_name(path, root),
        path: path.to_path_buf(),
        text: text.into(),
    };
    (Arc::new(file), sha256)
}

/// `path` relative to `root` when it lies under it, with `/` separators.
pub(crate) fn display_name(path: &Path, root: &Path) -> String {
    let canonical = || {
        let path = std::fs::canonicalize(path).ok()?;
        let root = std::fs::canonicalize(root).ok()?;
        path.strip_prefix(root).ok().map(Path::to_path_buf)
    };
    let rel = path
        .strip_prefix(root)
        .ok()
        .map(Path::to_path_buf)
        .or_else(canonical);
    match rel {
        Some(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        None => path.display().to_string(),
    }
}

/// Parses the file's text, once its blocks are known not to nest too deep.
pub(crate) fn parse(file: &SourceFile) -> Result<KdlDocument, Diagnostics> {
    crate::limits::check_block_depth(file)?;
    KdlDocument::parse_v2(&file.text).map_err(|e| from_kdl(file, &e))
}
