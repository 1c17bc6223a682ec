//! Diagnostics rendered the way rustc does, for every command that loads a
//! project or a runbook: `--> file:line:col`, the source line, a caret
//! under the offending token, a help line; very long lines cut around the
//! error (`excerpt.rs`).

/// Renders diagnostics the way rustc does: `--> file:line:col`, the source
/// line, a caret under the offending token, and a help line.
pub(super) fn render_diagnostics(d: &cairn_lang::Diagnostics, color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for diag in d.iter() {
        let _ = match super::excerpt::shorten(diag) {
            Some((source, span)) => {
                let short = super::excerpt::Shortened {
                    d: diag,
                    source,
                    span,
                };
                handler.render_report(&mut out, &short)
            }
            None => handler.render_report(&mut out, diag),
        };
    }
    let n = d.len();
    out.push_str(&format!("{n} error{}\n", if n == 1 { "" } else { "s" }));
    out
}
