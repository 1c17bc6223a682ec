//! Passwords written in connection strings, secret or not: the password of
//! a URL's user information (`postgres://user:PASS@host/db`,
//! `https://user:PASS@host/`) and libpq's `password=PASS` keyword (in a
//! `key=value` connection string or a URL's query).

use std::borrow::Cow;

use super::MASK;

/// `text` with every password of a URL or a libpq keyword replaced by
/// [`MASK`].
pub fn mask_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") && !text.contains("password=") {
        return Cow::Borrowed(text);
    }
    let mut spans = url_passwords(text);
    spans.extend(keyword_passwords(text));
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        out.push_str(&text[at..start]);
        out.push_str(MASK);
        at = end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Where an authority ends: the path, query or fragment, or a character no
/// URL holds unencoded (the end of a quoted or JSON string, a space).
fn ends_authority(c: char) -> bool {
    c.is_whitespace() || "/?#\"'<>\\`{}|^".contains(c)
}

/// The byte ranges of the passwords in `scheme://user:PASS@host` URLs.
fn url_passwords(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find("://") {
        let sep = from + found;
        from = sep + 3;
        let scheme_ok = text[..sep]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok {
            continue;
        }
        let rest = &text[from..];
        let authority = &rest[..rest.find(ends_authority).unwrap_or(rest.len())];
        // The last `@`: a password with an unencoded `@` is still masked whole.
        let Some(at) = authority.rfind('@') else {
            continue;
        };
        let Some(colon) = authority[..at].find(':') else {
            continue;
        };
        let (start, end) = (from + colon + 1, from + at);
        if start < end && &text[start..end] != MASK {
            out.push((start, end));
        }
    }
    out
}

/// The byte ranges of the values of libpq's `password=` keyword: after the
/// start of the text, a space, a quote, `?` or `&`; a value quoted with
/// `'` runs to the closing quote.
fn keyword_passwords(text: &str) -> Vec<(usize, usize)> {
    const KEY: &str = "password=";
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(found) = text[from..].find(KEY) {
        let key = from + found;
        from = key + KEY.len();
        let boundary = text[..key]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "?&'\"-".contains(c));
        if !boundary {
            continue;
        }
        let rest = &text[from..];
        let (start, len) = if let Some(quoted) = rest.strip_prefix('\'') {
            let mut end = quoted.len();
            let mut escaped = false;
            for (i, c) in quoted.char_indices() {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '\'' => {
                        end = i;
                        break;
                    }
                    _ => {}
                }
            }
            (from + 1, end)
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || "&\"'#".contains(c))
                .unwrap_or(rest.len());
            (from, end)
        };
        if len > 0 && &text[start..start + len] != MASK {
            out.push((start, start + len));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> String {
        mask_passwords(s).into_owned()
    }

    #[test]
    fn url_passwords_are_masked() {
        assert_eq!(
            m("pg_dump postgres://u:pa55@127.0.0.1:5432/db"),
            "pg_dump postgres://u:********@127.0.0.1:5432/db"
        );
        assert_eq!(
            m(r#"{"url":"postgresql://cairn:cairn-lab-pw@h/site"}"#),
            r#"{"url":"postgresql://cairn:********@h/site"}"#
        );
        assert_eq!(
            m("https://me:p@ss@example.com/x"),
            "https://me:********@example.com/x"
        );
        assert_eq!(
            m("a http://u:x@h b https://v:y@k"),
            "a http://u:********@h b https://v:********@k"
        );
    }

    #[test]
    fn urls_without_a_password_are_left_alone() {
        for s in [
            "http://example.com/a:b@c",
            "postgres://user@host/db",
            "s3://bucket/key",
            "https://u:@host/",
            "see ://x:y@z",
            "postgres://u:********@h/db",
        ] {
            assert_eq!(m(s), s);
        }
    }

    #[test]
    fn libpq_password_keywords_are_masked() {
        assert_eq!(
            m("host=h user=u password=s3cret dbname=d"),
            "host=h user=u password=******** dbname=d"
        );
        assert_eq!(
            m("host=h password='a b\\' c' port=1"),
            "host=h password='********' port=1"
        );
        assert_eq!(
            m("postgresql://h/db?user=u&password=pw&sslmode=require"),
            "postgresql://h/db?user=u&password=********&sslmode=require"
        );
        assert_eq!(
            m("sslpassword=x PGPASSWORD=… psql"),
            "sslpassword=x PGPASSWORD=… psql"
        );
    }
}
