//! Reading Rust sources without a parser: tokens without comments and
//! literals, the module paths a file refers to, and `pub use` re-exports.

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Path, // `::`
    Open,
    Close,
    Other(char),
}

/// Identifiers and punctuation, without comments, strings and chars.
pub fn tokenize(text: &str) -> Vec<Tok> {
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        let ch = c[i];
        if ch == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if ch == 'r'
            && (c.get(i + 1) == Some(&'#') || c.get(i + 1) == Some(&'"'))
            && !prev_ident(&c, i)
        {
            // raw string r"…" / r#"…"#
            let mut j = i + 1;
            let mut hashes = 0;
            while c.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if c.get(j) != Some(&'"') {
                out.push(Tok::Ident("r".into()));
                i += 1;
                continue;
            }
            j += 1;
            'raw: while j < c.len() {
                if c[j] == '"' && (1..=hashes).all(|k| c.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break 'raw;
                }
                j += 1;
            }
            i = j;
        } else if ch == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                if c[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
        } else if ch == '\'' {
            // char literal ('x', '\n', '\u{..}') or lifetime ('a)
            if c.get(i + 1) == Some(&'\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let s = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(c[s..i].iter().collect()));
        } else if ch == ':' && c.get(i + 1) == Some(&':') {
            out.push(Tok::Path);
            i += 2;
        } else if ch == '{' {
            out.push(Tok::Open);
            i += 1;
        } else if ch == '}' {
            out.push(Tok::Close);
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else {
            out.push(Tok::Other(ch));
            i += 1;
        }
    }
    out
}

pub fn prev_ident(c: &[char], i: usize) -> bool {
    i > 0 && (c[i - 1].is_alphanumeric() || c[i - 1] == '_')
}

pub fn ident(t: Option<&Tok>) -> Option<&str> {
    match t {
        Some(Tok::Ident(s)) => Some(s),
        _ => None,
    }
}

/// The module paths (absolute, from the crate root) a file refers to.
pub fn references(module: &[String], tokens: &[Tok]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Inline modules (`mod tests { … }`) shift what `super` means.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            Tok::Open => depth += 1,
            Tok::Close => {
                depth = depth.saturating_sub(1);
                while inline.last().is_some_and(|(_, d)| *d > depth) {
                    inline.pop();
                }
            }
            Tok::Ident(kw) if kw == "mod" => {
                if let (Some(name), Some(Tok::Open)) = (ident(tokens.get(i + 1)), tokens.get(i + 2))
                {
                    inline.push((name.to_string(), depth + 1));
                }
            }
            Tok::Ident(kw) if matches!(kw.as_str(), "crate" | "super" | "self") => {
                let after_dollar = i > 0 && tokens[i - 1] == Tok::Other('$');
                let qualified = i > 0 && tokens[i - 1] == Tok::Path;
                if !after_dollar && !qualified && tokens.get(i + 1) == Some(&Tok::Path) {
                    let mut here: Vec<String> = module.to_vec();
                    here.extend(inline.iter().map(|(n, _)| n.clone()));
                    let mut base = match kw.as_str() {
                        "crate" => Vec::new(),
                        _ => here,
                    };
                    let mut j = i;
                    if kw == "super" {
                        base.pop();
                        j += 2;
                        while ident(tokens.get(j)) == Some("super")
                            && tokens.get(j + 1) == Some(&Tok::Path)
                        {
                            base.pop();
                            j += 2;
                        }
                    } else {
                        j += 2;
                    }
                    let end = tree(tokens, j, &base, &mut out);
                    i = end.max(i + 1);
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Reads a use-tree (or a plain path) at `i` under `prefix`; records each
/// path (two segments deep at most); returns where it ended.
pub fn tree(tokens: &[Tok], mut i: usize, prefix: &[String], out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix.to_vec();
    loop {
        match tokens.get(i) {
            Some(Tok::Ident(s)) if s == "self" => {
                i += 1;
                break;
            }
            Some(Tok::Ident(s)) => {
                path.push(s.clone());
                i += 1;
                if tokens.get(i) == Some(&Tok::Path) {
                    i += 1;
                    continue;
                }
                break;
            }
            Some(Tok::Open) => {
                i += 1;
                loop {
                    match tokens.get(i) {
                        Some(Tok::Close) => return i + 1,
                        None => return i,
                        Some(Tok::Other(',')) => i += 1,
                        _ => {
                            let before = i;
                            i = tree(tokens, i, &path, out);
                            // skip `as name` and anything unexpected
                            while !matches!(
                                tokens.get(i),
                                Some(Tok::Other(',')) | Some(Tok::Close) | None
                            ) {
                                i += 1;
                            }
                            if i == before {
                                i += 1;
                            }
                        }
                    }
                }
            }
            _ => break,
        }
    }
    if !path.is_empty() {
        path.truncate(3);
        out.push(path);
    }
    i
}

/// `pub use child::{A, B as C}` / `pub use child::A;` in a module file:
/// (visible name, child).
pub fn reexports(tokens: &[Tok]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    for i in 0..tokens.len() {
        match &tokens[i] {
            Tok::Open => depth += 1,
            Tok::Close => depth = depth.saturating_sub(1),
            Tok::Ident(kw) if kw == "use" && depth == 0 => {
                let public = (i > 0 && ident(tokens.get(i - 1)) == Some("pub"))
                    || (i > 3
                        && tokens[i - 1] == Tok::Other(')')
                        && ident(tokens.get(i - 4)) == Some("pub"));
                let Some(child) = ident(tokens.get(i + 1)) else {
                    continue;
                };
                if !public
                    || matches!(child, "crate" | "super" | "self")
                    || tokens.get(i + 2) != Some(&Tok::Path)
                {
                    continue;
                }
                // names up to `;`: the last identifier of each leaf (after `as`).
                let mut j = i + 3;
                let mut last: Option<String> = None;
                while j < tokens.len() && tokens[j] != Tok::Other(';') {
                    match &tokens[j] {
                        Tok::Ident(s) if s != "as" => last = Some(s.clone()),
                        Tok::Other(',') | Tok::Close => {
                            if let Some(n) = last.take() {
                                out.push((n, child.to_string()));
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                if let Some(n) = last {
                    out.push((n, child.to_string()));
                }
            }
            _ => {}
        }
    }
    out
}
