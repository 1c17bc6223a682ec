//! `when=` expressions: a reference, or references and literals combined
//! with `==`, `!=`, `!`, `&&`, `||` and parentheses; and their evaluation.
//!
//! ```text
//! expr    := and ( "||" and )*
//! and     := cmp ( "&&" cmp )*
//! cmp     := unary ( ( "==" | "!=" ) unary )?
//! unary   := "!" unary | primary
//! primary := "(" expr ")" | literal | reference | "{{" reference "}}"
//! literal := "..." | '...' | number | true | false | null
//! ```

use serde_json::Value;

use crate::Resolver;
use crate::diagnostics::Problem;
use crate::limits::{MAX_EXPR_DEPTH, MAX_EXPR_OPERATORS};
use crate::model::Expr;
use crate::reference::parse_ref;
use crate::strspan::StrSpans;
use crate::template::stringify;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    Not,
    Eq,
    Ne,
    And,
    Or,
    Lit(Value),
    Ref(crate::model::Ref),
}

struct Token {
    tok: Tok,
    at: std::ops::Range<usize>,
}

fn tokenize(src: &str, spans: &StrSpans) -> Result<Vec<Token>, Problem> {
    let mut out = Vec::new();
    let b = src.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let two = src.get(i..i + 2).unwrap_or("");
        let (tok, len) = match (c, two) {
            (_, "==") => (Tok::Eq, 2),
            (_, "!=") => (Tok::Ne, 2),
            (_, "&&") => (Tok::And, 2),
            (_, "||") => (Tok::Or, 2),
            (_, "{{") => {
                let close = src[i..].find("}}").ok_or_else(|| {
                    Problem::new(spans.span(i..i + 2), "unclosed `{{` in `when` expression")
                        .with_help("close the reference with `}}`")
                })?;
                let inner = &src[i + 2..i + close];
                let lead = inner.len() - inner.trim_start().len();
                let text = inner.trim();
                let at = i + 2 + lead;
                if text.is_empty() {
                    return Err(Problem::new(
                        spans.span(i..i + close + 2),
                        "empty reference `{{ }}`",
                    ));
                }
                (
                    Tok::Ref(parse_ref(text, spans.span(at..at + text.len()))?),
                    close + 2,
                )
            }
            (b'(', _) => (Tok::Open, 1),
            (b')', _) => (Tok::Close, 1),
            (b'!', _) => (Tok::Not, 1),
            (b'"' | b'\'', _) => {
                let end = src[i + 1..].find(c as char).ok_or_else(|| {
                    Problem::new(spans.span(i..i + 1), "unclosed string in `when` expression")
                })?;
                (
                    Tok::Lit(Value::String(src[i + 1..i + 1 + end].to_owned())),
                    end + 2,
                )
            }
            _ if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' => {
                let len = src[i..]
                    .bytes()
                    .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                    .count();
                let word = &src[i..i + len];
                (word_token(word, spans.span(i..i + len))?, len)
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or_default();
                return Err(Problem::new(
                    spans.span(i..i + ch.len_utf8()),
                    format!("unexpected `{ch}` in `when` expression"),
                )
                .with_help(
                    "use `==`, `!=`, `!`, `&&`, `||`, parentheses, literals and references",
                ));
            }
        };
        out.push(Token {
            tok,
            at: i..i + len,
        });
        i += len;
    }
    Ok(out)
}

fn word_token(word: &str, span: miette::SourceSpan) -> Result<Tok, Problem> {
    Ok(match word {
        "true" => Tok::Lit(Value::Bool(true)),
        "false" => Tok::Lit(Value::Bool(false)),
        "null" => Tok::Lit(Value::Null),
        w if w.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
            if let Ok(n) = w.parse::<i64>() {
                Tok::Lit(Value::from(n))
            } else if let Some(n) = w.parse::<f64>().ok().and_then(serde_json::Number::from_f64) {
                Tok::Lit(Value::Number(n))
            } else {
                return Err(Problem::new(
                    span,
                    format!("invalid number `{w}` in `when` expression"),
                ));
            }
        }
        w => Tok::Ref(parse_ref(w, span)?),
    })
}

struct Parser<'a> {
    toks: Vec<Token>,
    pos: usize,
    spans: &'a StrSpans,
    len: usize,
    /// Open parentheses and `!` around the token being parsed.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.tok)
    }

    fn here(&self) -> miette::SourceSpan {
        match self.toks.get(self.pos) {
            Some(t) => self.spans.span(t.at.clone()),
            None => self.spans.span(self.len..self.len),
        }
    }

    fn or(&mut self) -> Result<Expr, Problem> {
        let mut e = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }

    fn and(&mut self) -> Result<Expr, Problem> {
        let mut e = self.cmp()?;
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.cmp()?));
        }
        Ok(e)
    }

    fn cmp(&mut self) -> Result<Expr, Problem> {
        let left = self.unary()?;
        let eq = match self.peek() {
            Some(Tok::Eq) => true,
            Some(Tok::Ne) => false,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.unary()?;
        if matches!(self.peek(), Some(Tok::Eq | Tok::Ne)) {
            return Err(Problem::new(
                self.here(),
                "comparisons can't be chained in `when` expressions",
            )
            .with_help("add parentheses"));
        }
        let (l, r) = (Box::new(left), Box::new(right));
        Ok(if eq { Expr::Eq(l, r) } else { Expr::Ne(l, r) })
    }

    fn unary(&mut self) -> Result<Expr, Problem> {
        if self.peek() == Some(&Tok::Not) {
            self.deeper()?;
            self.pos += 1;
            let e = Expr::Not(Box::new(self.unary()?));
            self.depth -= 1;
            return Ok(e);
        }
        self.primary()
    }

    /// Enters one more level of `(` or `!`, refused past [`MAX_EXPR_DEPTH`]
    /// before the parser recurses into it.
    fn deeper(&mut self) -> Result<(), Problem> {
        self.depth += 1;
        if self.depth > MAX_EXPR_DEPTH {
            return Err(Problem::new(
                self.here(),
                format!(
                    "the `when` expression nests more than {MAX_EXPR_DEPTH} levels of `(` and `!`"
                ),
            )
            .with_help("write a simpler condition"));
        }
        Ok(())
    }

    fn primary(&mut self) -> Result<Expr, Problem> {
        let here = self.here();
        let Some(tok) = self.toks.get(self.pos).map(|t| t.tok.clone()) else {
            return Err(Problem::new(
                here,
                "expected a value at the end of the `when` expression",
            ));
        };
        self.pos += 1;
        match tok {
            Tok::Lit(v) => Ok(Expr::Lit(v)),
            Tok::Ref(r) => Ok(Expr::Ref(r)),
            Tok::Open => {
                self.pos -= 1;
                self.deeper()?;
                self.pos += 1;
                let e = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Tok::Close) {
                    return Err(Problem::new(
                        self.here(),
                        "expected `)` in `when` expression",
                    ));
                }
                self.pos += 1;
                Ok(e)
            }
            _ => Err(
                Problem::new(here, "expected a value in `when` expression").with_help(
                    "a value is a reference, a quoted string, a number, `true`, `false` or `null`",
                ),
            ),
        }
    }
}

/// Parses a `when=` expression; `spans` places its bytes in the file.
pub(crate) fn parse_expr(src: &str, spans: &StrSpans) -> Result<Expr, Problem> {
    let toks = tokenize(src, spans)?;
    // A chain of operators makes a tree as deep as it is long, which the
    // evaluator walks recursively: bound it too.
    let binary = |t: &&Token| matches!(t.tok, Tok::Eq | Tok::Ne | Tok::And | Tok::Or);
    if let Some(t) = toks.iter().filter(binary).nth(MAX_EXPR_OPERATORS) {
        return Err(Problem::new(
            spans.span(t.at.clone()),
            format!("the `when` expression has more than {MAX_EXPR_OPERATORS} operators"),
        )
        .with_help("write a simpler condition"));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        spans,
        len: src.len(),
        depth: 0,
    };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(Problem::new(
            p.here(),
            "unexpected token after the end of the `when` expression",
        )
        .with_help("join conditions with `&&` or `||`"));
    }
    Ok(e)
}

/// Writes the expression back in `when` syntax, fully parenthesised.
impl std::fmt::Display for Expr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expr::Ref(r) => write!(f, "{r}"),
            Expr::Lit(Value::String(s)) if !s.contains('\'') => write!(f, "'{s}'"),
            Expr::Lit(v) => write!(f, "{v}"),
            Expr::Not(a) => write!(f, "!{a}"),
            Expr::Eq(a, b) => write!(f, "({a} == {b})"),
            Expr::Ne(a, b) => write!(f, "({a} != {b})"),
            Expr::And(a, b) => write!(f, "({a} && {b})"),
            Expr::Or(a, b) => write!(f, "({a} || {b})"),
        }
    }
}

impl Expr {
    /// The references it holds, left to right.
    pub fn refs(&self) -> Vec<&crate::model::Ref> {
        match self {
            Expr::Ref(r) => vec![r],
            Expr::Lit(_) => vec![],
            Expr::Not(a) => a.refs(),
            Expr::Eq(a, b) | Expr::Ne(a, b) | Expr::And(a, b) | Expr::Or(a, b) => {
                let mut v = a.refs();
                v.extend(b.refs());
                v
            }
        }
    }
}

/// Evaluates a `when=` expression. A reference with no value is `null`.
/// False are: `null`, `false`, `0`, the empty string, the strings `"0"` and
/// `"false"`, and the empty list.
pub fn eval_when(e: &Expr, r: &dyn Resolver) -> bool {
    truthy(&eval(e, r))
}

fn eval(e: &Expr, r: &dyn Resolver) -> Value {
    match e {
        Expr::Ref(reference) => r.lookup(reference).unwrap_or(Value::Null),
        Expr::Lit(v) => v.clone(),
        Expr::Not(a) => Value::Bool(!eval_when(a, r)),
        Expr::Eq(a, b) => Value::Bool(loose_eq(&eval(a, r), &eval(b, r))),
        Expr::Ne(a, b) => Value::Bool(!loose_eq(&eval(a, r), &eval(b, r))),
        Expr::And(a, b) => Value::Bool(eval_when(a, r) && eval_when(b, r)),
        Expr::Or(a, b) => Value::Bool(eval_when(a, r) || eval_when(b, r)),
    }
}

pub(crate) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !matches!(s.as_str(), "" | "0" | "false"),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

/// Equal as JSON, as numbers, or — when one side is a string — as text.
fn loose_eq(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    if let (Some(x), Some(y)) = (a.as_f64(), b.as_f64()) {
        return x == y;
    }
    (a.is_string() || b.is_string()) && stringify(a) == stringify(b)
}

#[cfg(test)]
mod tests;
