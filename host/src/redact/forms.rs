//! The forms in which a secret value can reach a line cairn writes: the
//! value itself, each line of a multi-line value, its base64 and
//! percent-encodings. Each form is masked like the value.

/// A line of a multi-line value is masked on its own when it has at least
/// this many characters (trimmed): the human output and a failing step's
/// quoted stderr show a PEM key line by line, and a line that short (`}`,
/// `-----`) would mask unrelated text everywhere.
pub const MIN_LINE: usize = 8;

/// An encoded form (base64, percent-encoding) is masked when it has at least
/// this many characters: shorter ones would mangle unrelated encoded data.
pub const MIN_ENCODED: usize = 8;

/// Every form of `value` to mask, the value first; no duplicates.
pub fn of(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    let mut push = |form: String, min: usize| {
        if form.chars().count() >= min && !out.contains(&form) {
            out.push(form);
        }
    };
    if value.contains('\n') {
        for line in value.lines() {
            push(line.trim().to_string(), MIN_LINE);
        }
    }
    for form in base64_forms(value.as_bytes()) {
        push(form, MIN_ENCODED);
    }
    for form in percent_forms(value) {
        push(form, MIN_ENCODED);
    }
    out
}

pub const STANDARD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const URL_SAFE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// base64 of `data`, padded with `=` when `pad`.
pub fn base64(data: &[u8], alphabet: &[u8; 64], pad: bool) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        let chars = chunk.len() + 1;
        for i in 0..4 {
            if i < chars {
                out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else if pad {
                out.push('=');
            }
        }
    }
    out
}

/// The base64 forms of a value: the whole value's encoding (standard and
/// URL-safe, with and without padding), and, for each of the three
/// alignments the value can have inside a longer encoded string, the
/// characters that depend on the value's bytes alone (the first one or two
/// characters of the value's encoding share bits with what precedes it, the
/// last one with what follows it).
fn base64_forms(value: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for alphabet in [STANDARD, URL_SAFE] {
        out.push(base64(value, alphabet, true));
        for offset in 0..3usize {
            let mut data = vec![0u8; offset];
            data.extend_from_slice(value);
            let encoded = base64(&data, alphabet, false);
            // Characters that hold bits of the `offset` leading bytes.
            let skip = (offset * 8).div_ceil(6);
            // Characters whose 6 bits all come from `data`.
            let end = data.len() * 8 / 6;
            if end > skip {
                out.push(encoded[skip..end].to_string());
            }
            // The value encoded alone, line-wrapped as `base64` (76) and
            // PEM (64) write it: each line is a form of its own.
            if offset == 0 {
                for width in WRAP_WIDTHS {
                    if end > width {
                        out.extend(
                            encoded.as_bytes()[..end]
                                .chunks(width)
                                .map(|c| String::from_utf8_lossy(c).into_owned()),
                        );
                    }
                }
            }
        }
    }
    out
}

/// The line widths at which base64 is usually wrapped: PEM's and MIME's
/// (the `base64` tool's default).
const WRAP_WIDTHS: [usize; 2] = [64, 76];

/// Percent-encodings of a value: every byte but the unreserved ones
/// (`A-Z a-z 0-9 - . _ ~`) as `%XX` in upper- and lower-case hex, and the
/// form encoding (`+` for a space).
fn percent_forms(value: &str) -> Vec<String> {
    let encode = |lower: bool, plus: bool| -> String {
        let mut out = String::new();
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else if plus && b == b' ' {
                out.push('+');
            } else if lower {
                out.push_str(&format!("%{b:02x}"));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    };
    vec![
        encode(false, false),
        encode(true, false),
        encode(false, true),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_usual_encodings() {
        assert_eq!(base64(b"", STANDARD, true), "");
        assert_eq!(base64(b"f", STANDARD, true), "Zg==");
        assert_eq!(base64(b"fo", STANDARD, true), "Zm8=");
        assert_eq!(base64(b"foo", STANDARD, true), "Zm9v");
        assert_eq!(base64(b"foob", STANDARD, false), "Zm9vYg");
        assert_eq!(base64(&[0xfb, 0xff], STANDARD, true), "+/8=");
        assert_eq!(base64(&[0xfb, 0xff], URL_SAFE, true), "-_8=");
    }

    /// Whatever precedes and follows the value in a longer string, one of
    /// the forms is in that string's encoding.
    #[test]
    fn a_value_inside_a_longer_encoded_string_is_found_at_every_alignment() {
        let value = b"s3cr3t-value-9f4e";
        let forms = base64_forms(value);
        for before in 0..6 {
            for after in 0..4 {
                let mut data = b"prefix".to_vec()[..before].to_vec();
                data.extend_from_slice(value);
                data.extend_from_slice(&b"tail"[..after]);
                for alphabet in [STANDARD, URL_SAFE] {
                    let encoded = base64(&data, alphabet, true);
                    assert!(
                        forms.iter().any(|f| encoded.contains(f.as_str())),
                        "{before} before, {after} after: {encoded}"
                    );
                }
            }
        }
    }

    /// `base64 file` and PEM wrap the encoding: every full line of it is a
    /// form, so each line is masked where it is printed alone.
    #[test]
    fn each_line_of_a_wrapped_encoding_is_a_form() {
        let value: Vec<u8> = (0..150u8).map(|i| i.wrapping_mul(37)).collect();
        let forms = base64_forms(&value);
        let whole = base64(&value, STANDARD, true);
        for width in WRAP_WIDTHS {
            let lines: Vec<&[u8]> = whole.as_bytes().chunks(width).collect();
            assert!(lines.len() > 2);
            for line in &lines[..lines.len() - 1] {
                let line = std::str::from_utf8(line).unwrap();
                assert!(forms.iter().any(|f| f == line), "{width}: {line}");
            }
        }
    }

    #[test]
    fn lines_of_a_multi_line_value_are_forms_when_long_enough() {
        let pem = "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\nabc\n-----END KEY-----\n";
        let forms = of(pem);
        assert!(forms.contains(&"MIIEvQIBADANBgkqhkiG9w0B".to_string()));
        assert!(forms.contains(&"-----BEGIN KEY-----".to_string()));
        assert!(!forms.contains(&"abc".to_string()));
    }

    #[test]
    fn percent_encodings() {
        let forms = percent_forms("p@ss word/ü");
        assert_eq!(forms[0], "p%40ss%20word%2F%C3%BC");
        assert_eq!(forms[1], "p%40ss%20word%2f%c3%bc");
        assert_eq!(forms[2], "p%40ss+word%2F%C3%BC");
    }
}
