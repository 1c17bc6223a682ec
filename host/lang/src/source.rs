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
    let bytes = std::fs::read(path)
        .map_err(|e| Diagnostic::new(format!("cannot read `{name}`: {}", io_reason(&e))))?;
    let sha256 = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes)
        .map_err(|_| Diagnostic::new(format!("`{name}` is not valid UTF-8 text")))?;
    let file = SourceFile {
        name,
        path: path.to_path_buf(),
        text: text.into(),
    };
    Ok((Arc::new(file), sha256))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

/// `path` relative to `root` when it lies under it, with `/` separators.
pub(crate) fn display_name(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        Err(_) => path.display().to_string(),
    }
}

pub(crate) fn parse(file: &SourceFile) -> Result<KdlDocument, Diagnostics> {
    KdlDocument::parse_v2(&file.text).map_err(|e| from_kdl(file, &e))
}
