//! Very long source lines (a generated runbook, a minified value) shown
//! around the error only: the renderer gets a copy of the file in which the
//! error's line is cut to a window around its span, at the same line
//! number, and the column it reports is the real one.

use cairn_lang::Diagnostic;
use miette::{MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents};

/// Lines longer than this (in bytes) are cut around the span.
const LONG_LINE: usize = 240;
/// Bytes kept either side of the span, and of the span itself.
const CONTEXT: usize = 80;
const ELLIPSIS: &str = "…";

/// The source of a shortened diagnostic: the cut copy, with the columns of
/// its cut line moved back to where they are in the file.
#[derive(Debug)]
pub(super) struct Excerpt {
    text: NamedSource<String>,
    line: usize,
    shift: usize,
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let c = self.text.read_span(span, before, after)?;
        let column = if c.line() == self.line {
            c.column() + self.shift
        } else {
            c.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.text.name().to_owned(),
            c.data(),
            *c.span(),
            c.line(),
            column,
            c.line_count(),
        )))
    }
}

/// A diagnostic to render in place of `d`: `d`'s source and span with the
/// line cut around the span when it is long; `None` when it is short.
pub(super) fn shorten(d: &Diagnostic) -> Option<(Excerpt, SourceSpan)> {
    let source = d.source.as_ref()?;
    let text: &str = source.inner();
    let span = d.span?;
    let at = floor(text, span.offset().min(text.len()));
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    if line_end - line_start <= LONG_LINE {
        return None;
    }
    let len = span.len().min(line_end - at).min(CONTEXT);
    let from = floor(text, at.saturating_sub(CONTEXT).max(line_start));
    let to = ceil(text, (at + len + CONTEXT).min(line_end));
    let line = text[..line_start].matches('\n').count();
    // The lines around it, when short, are shown as they are.
    let before = text[..line_start.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let prev = &text[before..line_start];
    let mut cut = "\n".repeat(line.saturating_sub(1));
    if line > 0 {
        cut.push_str(if prev.len() <= LONG_LINE { prev } else { "\n" });
    }
    let mut shift = from - line_start;
    if from > line_start {
        cut.push_str(ELLIPSIS);
        shift -= ELLIPSIS.len();
    }
    let offset = cut.len() + (at - from);
    cut.push_str(&text[from..to]);
    if to < line_end {
        cut.push_str(ELLIPSIS);
    }
    cut.push('\n');
    if line_end < text.len() {
        let rest = &text[line_end + 1..];
        let next = rest.find('\n').map_or(rest, |i| &rest[..=i]);
        if next.len() <= LONG_LINE {
            cut.push_str(next);
        }
    }
    let excerpt = Excerpt {
        text: NamedSource::new(source.name(), cut),
        line,
        shift,
    };
    Some((
        excerpt,
        SourceSpan::new(offset.into(), ceil_len(text, at, len)),
    ))
}

fn floor(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// `len` from `at`, widened to end on a character boundary.
fn ceil_len(text: &str, at: usize, len: usize) -> usize {
    ceil(text, at + len) - at
}

/// `d` with its source and span replaced by a shortened one.
#[derive(Debug)]
pub(super) struct Shortened<'a> {
    pub d: &'a Diagnostic,
    pub source: Excerpt,
    pub span: SourceSpan,
}

impl std::fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self.d, f)
    }
}

impl std::error::Error for Shortened<'_> {}

impl miette::Diagnostic for Shortened<'_> {
    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let label = miette::LabeledSpan::new_with_span(self.d.label.clone(), self.span);
        Some(Box::new(std::iter::once(label)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        miette::Diagnostic::help(self.d)
    }
}
