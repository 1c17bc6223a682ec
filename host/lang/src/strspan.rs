//! Where each byte of a decoded KDL string sits in the source, so errors in
//! a template or a `when` expression can point inside the string literal.

use std::ops::Range;

use miette::SourceSpan;

/// Maps byte offsets of a string value to offsets in the file.
#[derive(Debug, Clone)]
pub(crate) struct StrSpans {
    /// The whole literal as written (quotes included).
    whole: SourceSpan,
    /// `starts[i]`: file offset of the value's byte `i`; one more entry for
    /// the end. `None` when the literal can't be mapped (multi-line strings):
    /// errors then point at the whole literal.
    starts: Option<Vec<usize>>,
}

impl StrSpans {
    /// `repr` is the literal as written, starting at `repr_offset` in the file.
    pub fn new(value: &str, repr: &str, repr_offset: usize) -> Self {
        let whole = SourceSpan::new(repr_offset.into(), repr.len());
        let starts = map_literal(repr).filter(|s| s.len() == value.len() + 1);
        let starts = starts.map(|s| s.into_iter().map(|o| o + repr_offset).collect());
        StrSpans { whole, starts }
    }

    /// For a value whose literal is unknown: everything points at `span`.
    pub fn opaque(span: SourceSpan) -> Self {
        StrSpans {
            whole: span,
            starts: None,
        }
    }

    /// The file span of the value's bytes `range`.
    pub fn span(&self, range: Range<usize>) -> SourceSpan {
        match &self.starts {
            Some(starts) if range.end < starts.len() && range.start <= range.end => {
                let start = starts[range.start];
                let end = if range.end > range.start {
                    // End of the last byte included: the start of the next
                    // one may lie after an escape sequence.
                    starts[range.end - 1] + 1
                } else {
                    start
                };
                SourceSpan::new(start.into(), end.saturating_sub(start))
            }
            _ => self.whole,
        }
    }
}

/// File offsets (relative to the literal) of each value byte, plus the end.
fn map_literal(repr: &str) -> Option<Vec<usize>> {
    let hashes = repr.bytes().take_while(|&b| b == b'#').count();
    let rest = &repr[hashes..];
    if rest.starts_with("\"\"\"") {
        return None;
    }
    if let Some(body) = rest.strip_prefix('"') {
        let close = body.len().checked_sub(1 + hashes)?;
        let body = &body[..close];
        let base = hashes + 1;
        return Some(if hashes > 0 {
            (0..=body.len()).map(|i| base + i).collect()
        } else {
            map_escaped(body, base)?
        });
    }
    // A bare identifier: the value is the text.
    Some((0..=repr.len()).collect())
}

/// Walks a quoted string body, decoding escapes as KDL does.
fn map_escaped(body: &str, base: usize) -> Option<Vec<usize>> {
    let mut out = Vec::with_capacity(body.len() + 1);
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.extend(std::iter::repeat_n(base + i, c.len_utf8()));
            continue;
        }
        let (_, e) = chars.next()?;
        let decoded = match e {
            'n' | 'r' | 't' | '\\' | '"' | 'b' | 'f' | 's' => 1,
            'u' => {
                let mut s = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    s.push(c);
                }
                let code = u32::from_str_radix(s.trim_start_matches('{'), 16).ok()?;
                char::from_u32(code)?.len_utf8()
            }
            c if c.is_whitespace() => {
                while chars.peek().is_some_and(|(_, c)| c.is_whitespace()) {
                    chars.next();
                }
                0
            }
            _ => return None,
        };
        out.extend(std::iter::repeat_n(base + i, decoded));
    }
    out.push(base + body.len());
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(value: &str, repr: &str, range: Range<usize>) -> (usize, usize) {
        let s = StrSpans::new(value, repr, 100).span(range);
        (s.offset(), s.len())
    }

    #[test]
    fn plain_quoted_strings_shift_by_the_quote() {
        assert_eq!(at("a {{ x }}", "\"a {{ x }}\"", 2..9), (103, 7));
    }

    #[test]
    fn escapes_are_accounted_for() {
        // value: `"q" {{x}}`; literal: `"\"q\" {{x}}"`
        assert_eq!(at("\"q\" {{x}}", r#""\"q\" {{x}}""#, 4..9), (107, 5));
        assert_eq!(at("é{{x}}", "\"\\u{e9}{{x}}\"", 2..7), (107, 5));
    }

    #[test]
    fn raw_and_bare_strings() {
        assert_eq!(at("{{x}}", "#\"{{x}}\"#", 0..5), (102, 5));
        assert_eq!(at("abc", "abc", 1..2), (101, 1));
    }

    #[test]
    fn multiline_strings_point_at_the_whole_literal() {
        let repr = "\"\"\"\n  a\n  \"\"\"";
        assert_eq!(at("a", repr, 0..1), (100, repr.len()));
    }
}
