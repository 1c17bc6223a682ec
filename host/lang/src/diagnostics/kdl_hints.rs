//! Help for the KDL mistakes new users make, added to the parser's errors:
//! `true` for `#true`, `NAME=VALUE` written as a child node, an unquoted
//! value that starts with a digit, and a `}` missing far above where the
//! parser noticed. Where one mistake makes the parser report a cascade,
//! only the error at the mistake is kept (one error a line).

use miette::SourceSpan;

use crate::diagnostics::Diagnostic;
use crate::model::SourceFile;

/// The parser's diagnostics with help where a known mistake explains them.
pub(crate) fn improve(file: &SourceFile, mut diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let text = &file.text;
    if let Some(d) = unclosed_block(file, text, &diags) {
        return vec![d];
    }
    if let Some(d) = property_as_child(file, text, &diags) {
        return vec![d];
    }
    drop_cascade(text, &mut diags);
    for d in &mut diags {
        let Some(span) = d.span else { continue };
        let token = text
            .get(span.offset()..span.offset() + span.len())
            .unwrap_or("");
        let value = token.rsplit_once('=').map_or(token, |(_, v)| v);
        if matches!(value, "true" | "false" | "null") {
            d.help = Some(format!(
                "KDL 2 writes booleans and null with a `#`: `#{value}` (a quoted \"{value}\" is a string)"
            ));
        } else if value.starts_with(|c: char| c.is_ascii_digit()) && value.parse::<f64>().is_err() {
            d.help = Some(format!(
                "a value that starts with a digit but is not a number must be quoted: `\"{value}\"`"
            ));
        }
    }
    diags
}

/// What the parser reports after a mistake it could not step over: the
/// blocks and the document it then finds unfinished. Dropped when an error
/// at a mistake itself is left, as is every error after the first on the
/// same line (one mistake, e.g. a missing space between two properties,
/// otherwise shows as four errors on its line and one on the runbook's).
fn drop_cascade(text: &str, diags: &mut Vec<Diagnostic>) {
    const CASCADE: [&str; 3] = [
        "no closing '}'",
        "closing '}' was not found",
        "expected end of document",
    ];
    let cascade = |d: &Diagnostic| CASCADE.iter().any(|m| d.message.contains(m));
    if diags.iter().any(|d| !cascade(d)) {
        diags.retain(|d| !cascade(d));
    }
    let mut lines = std::collections::HashSet::new();
    diags.retain(|d| {
        d.span.is_none_or(|s| {
            // Bytes, not a `str` slice: a span is not trusted to fall on a
            // character boundary.
            let at = s.offset().min(text.len());
            lines.insert(
                text.as_bytes()[..at]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count(),
            )
        })
    });
}

/// `timeout=5s` on a line of its own inside a block: a property written as
/// a child node. The parser reports it several times over; one error here.
fn property_as_child(file: &SourceFile, text: &str, diags: &[Diagnostic]) -> Option<Diagnostic> {
    for d in diags {
        let at = d.span?.offset();
        let start = text[..at.min(text.len())].rfind('\n').map_or(0, |i| i + 1);
        let line = text[start..].lines().next().unwrap_or("");
        let trimmed = line.trim_start();
        let Some((name, value)) = trimmed.split_once('=') else {
            continue;
        };
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok || value.is_empty() || value.starts_with(' ') {
            continue;
        }
        let offset = start + (line.len() - trimmed.len());
        let value = value.trim_end();
        let quoted = if value.starts_with('"') {
            value.to_string()
        } else {
            format!("\"{value}\"")
        };
        return Some(
            Diagnostic::at(file, SourceSpan::new(offset.into(), trimmed.trim_end().len()), format!("invalid KDL: `{}` as a node of its own", trimmed.trim_end()))
                .with_label("a property where a child node belongs")
                .with_help(format!(
                    "inside a block an argument is a child node, its value after a space: `{name} {quoted}`; `{name}={quoted}` is a property and goes on the node's own line, before its `{{`"
                )),
        );
    }
    None
}

/// A block the parser says is not closed: the `}` usually went missing
/// where the indentation comes back to the level of a block still open.
fn unclosed_block(file: &SourceFile, text: &str, diags: &[Diagnostic]) -> Option<Diagnostic> {
    if !diags.iter().any(|d| d.message.contains("no closing '}'")) {
        return None;
    }
    // (line number, indentation, offset of its `{`) of each open block.
    let mut open: Vec<(usize, usize, usize)> = Vec::new();
    let mut offset = 0;
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end();
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        let here = offset;
        offset += raw.len();
        if trimmed.is_empty() || trimmed.starts_with("//") {
            continue;
        }
        let closes = trimmed == "}";
        if let Some(&(l, ind, brace)) = open.last()
            && (indent < ind || (indent == ind && !closes))
        {
            let head = text[..brace].rsplit('\n').next().unwrap_or("").trim();
            return Some(
                Diagnostic::at(file, SourceSpan::new(brace.into(), 1), "invalid KDL: a block is not closed")
                    .with_label("opened here")
                    .with_help(format!(
                        "`{head} {{` on line {l} has no `}}`: one is probably missing before line {}, which is back at its indentation",
                        i + 1
                    )),
            );
        }
        if closes {
            open.pop();
            continue;
        }
        if trimmed.ends_with('{') {
            open.push((i + 1, indent, here + line.len() - 1));
        }
    }
    let &(l, _, brace) = open.last()?;
    let head = text[..brace].rsplit('\n').next().unwrap_or("").trim();
    Some(
        Diagnostic::at(
            file,
            SourceSpan::new(brace.into(), 1),
            "invalid KDL: a block is not closed",
        )
        .with_label("opened here")
        .with_help(format!(
            "`{head} {{` on line {l} has no `}}` before the end of the file"
        )),
    )
}
