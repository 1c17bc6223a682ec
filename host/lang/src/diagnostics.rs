//! Errors in what a user wrote: each [`Diagnostic`] carries its message, the
//! file and span it is about (when there is one) and a hint; a file's errors
//! are collected into one [`Diagnostics`] so they are all reported at once.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode, SourceSpan};

use crate::model::SourceFile;

mod kdl_hints;

/// One error: lowercase message with names in backticks, an optional place
/// in a file (shown with a caret) and an optional hint.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub message: String,
    pub source: Option<NamedSource<Arc<str>>>,
    pub span: Option<SourceSpan>,
    /// Text under the caret; empty for none.
    pub label: Option<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    /// An error with no place in a file (a `-p` value, an unreadable file).
    pub fn new(message: impl Into<String>) -> Self {
        Diagnostic {
            message: message.into(),
            source: None,
            span: None,
            label: None,
            help: None,
        }
    }

    /// An error pointing at `span` in `file`.
    pub fn at(file: &SourceFile, span: SourceSpan, message: impl Into<String>) -> Self {
        Diagnostic {
            source: Some(file.named_source()),
            span: Some(span),
            ..Diagnostic::new(message)
        }
    }

    pub fn with_label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The name of the file this error is about, if any.
    pub fn file_name(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.name())
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let span = self.span?;
        self.source.as_ref()?;
        let label = LabeledSpan::new_with_span(self.label.clone(), span);
        Some(Box::new(std::iter::once(label)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
}

/// All the errors found in one go; never empty when returned as an error.
#[derive(Debug, Clone, Default, thiserror::Error, miette::Diagnostic)]
#[error("{}", summary(.items))]
pub struct Diagnostics {
    #[related]
    items: Vec<Diagnostic>,
}

fn summary(items: &[Diagnostic]) -> String {
    match items {
        [one] => one.message.clone(),
        _ => format!("found {} errors", items.len()),
    }
}

impl Diagnostics {
    pub fn new() -> Self {
        Diagnostics::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// `Ok(value)` when nothing was reported, else all the errors.
    pub fn into_result<T>(self, value: T) -> Result<T, Diagnostics> {
        if self.items.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        Diagnostics { items: vec![d] }
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl<'a> IntoIterator for &'a Diagnostics {
    type Item = &'a Diagnostic;
    type IntoIter = std::slice::Iter<'a, Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.iter()
    }
}

/// Collects the errors of one file.
pub(crate) struct Report {
    pub file: Arc<SourceFile>,
    pub diags: Diagnostics,
}

impl Report {
    pub fn new(file: Arc<SourceFile>) -> Self {
        Report {
            file,
            diags: Diagnostics::new(),
        }
    }

    /// Records an error at `span`; the returned reference adds a label or help.
    pub fn error(&mut self, span: SourceSpan, message: impl Into<String>) -> &mut Diagnostic {
        self.diags
            .items
            .push(Diagnostic::at(&self.file, span, message));
        self.diags.items.last_mut().expect("just pushed")
    }
}

impl Diagnostic {
    /// Sets the help in place (for [`Report::error`]'s result).
    pub(crate) fn hint(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the help to "did you mean ...?" when a candidate is close.
    pub(crate) fn suggest<'a>(
        &mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> &mut Self {
        if let Some(best) = did_you_mean(name, candidates) {
            self.help = Some(format!("did you mean `{best}`?"));
        }
        self
    }

    pub(crate) fn label(&mut self, label: impl Into<String>) -> &mut Self {
        self.label = Some(label.into());
        self
    }
}

/// The candidate closest to `name`, if one is close enough to be a typo.
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        if c == name {
            continue;
        }
        let d = strsim::damerau_levenshtein(name, c);
        let longest = name.chars().count().max(c.chars().count());
        let prefix = name.len().min(c.len()) >= 3 && (name.starts_with(c) || c.starts_with(name));
        let close = d * 3 <= longest.max(3) || strsim::jaro_winkler(name, c) >= 0.9 || prefix;
        if close && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c)
}

/// Turns kdl's parse errors into diagnostics naming the file.
pub(crate) fn from_kdl(file: &SourceFile, err: &kdl::KdlError) -> Diagnostics {
    let mut out = Diagnostics::new();
    for d in &err.diagnostics {
        let raw = d.message.clone().unwrap_or_else(|| "invalid KDL".into());
        let mut message = lower_first(&raw);
        if !message.contains("KDL") {
            message = format!("invalid KDL: {message}");
        }
        let mut diag = Diagnostic::at(file, narrow(&file.text, d.span), message);
        diag.label = d.label.clone();
        diag.help = d.help.clone();
        out.push(diag);
    }
    if out.is_empty() {
        out.push(Diagnostic::at(file, (0, 0).into(), "invalid KDL document"));
    }
    let mut improved = Diagnostics::new();
    for d in kdl_hints::improve(file, out.into_iter().collect()) {
        improved.push(d);
    }
    improved
}

/// kdl sometimes spans an error from the start of the node to the place it
/// failed; a span over several lines is narrowed to the token where it ends.
fn narrow(text: &str, span: SourceSpan) -> SourceSpan {
    let (start, end) = (span.offset(), span.offset() + span.len());
    let Some(inner) = text.get(start..end) else {
        return span;
    };
    if !inner.contains('\n') {
        return span;
    }
    let is_space = |c: char| c.is_whitespace();
    let from = text[..end].rfind(is_space).map_or(0, |i| i + 1);
    let to = text[end..].find(is_space).map_or(text.len(), |i| end + i);
    if from >= to {
        return SourceSpan::new(end.into(), 0);
    }
    SourceSpan::new(from.into(), to - from)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let known = ["timeout", "target", "action", "uses"];
        assert_eq!(did_you_mean("tiemout", known), Some("timeout"));
        assert_eq!(did_you_mean("targte", known), Some("target"));
        assert_eq!(did_you_mean("use", known), Some("uses"));
        assert_eq!(did_you_mean("banana", known), None);
    }

    #[test]
    fn summary_names_the_count() {
        let mut d = Diagnostics::new();
        d.push(Diagnostic::new("one"));
        assert_eq!(d.to_string(), "one");
        d.push(Diagnostic::new("two"));
        assert_eq!(d.to_string(), "found 2 errors");
        assert_eq!(d.len(), 2);
    }
}

/// An error found by a pure parser (template, expression): where, what, and
/// a hint; the caller files it under its file.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Problem {
    pub span: SourceSpan,
    pub message: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(span: SourceSpan, message: impl Into<String>) -> Self {
        Problem {
            span,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Adds "did you mean ...?" when a candidate is close.
    pub fn suggest<'a>(
        mut self,
        name: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if let Some(best) = did_you_mean(name, candidates) {
            self.help = Some(format!("did you mean `{best}`?"));
        }
        self
    }
}

impl Report {
    pub fn problem(&mut self, p: Problem) -> &mut Diagnostic {
        let d = self.error(p.span, p.message);
        d.help = p.help;
        d
    }
}
