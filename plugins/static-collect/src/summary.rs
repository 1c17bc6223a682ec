//! Reading `collectstatic`'s output: its summary line (`12 static files
//! copied to '/srv/static', 130 unmodified, 4 post-processed.`) and the
//! `Deleting '...'` lines of `--clear`.

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub copied: u64,
    pub unmodified: u64,
    pub post_processed: u64,
    pub deleted: u64,
    /// The destination the summary names (`STATIC_ROOT` for the default
    /// storage), if it names one.
    pub destination: Option<String>,
}

/// The number that ends `text`, after `, ` (`", 130 unmodified"`).
fn count_before(text: &str, word: &str) -> u64 {
    text.split(", ")
        .find_map(|part| {
            let part = part.trim_end_matches('.');
            part.strip_suffix(word).and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// `None` when there is no summary line.
pub fn parse(stdout: &str) -> Option<Summary> {
    let mut summary = None;
    let mut deleted = 0;
    for line in stdout.lines() {
        let line = line.trim();
        if line.starts_with("Deleting '") || line.starts_with("Pretending to delete '") {
            deleted += 1;
            continue;
        }
        let Some((n, rest)) = line.split_once(' ') else {
            continue;
        };
        let Ok(copied) = n.parse::<u64>() else {
            continue;
        };
        let Some(rest) = rest
            .strip_prefix("static files ")
            .or_else(|| rest.strip_prefix("static file "))
        else {
            continue;
        };
        if !(rest.starts_with("copied") || rest.starts_with("symlinked")) {
            continue;
        }
        let destination = rest
            .split_once(" to '")
            .and_then(|(_, d)| d.rsplit_once('\''))
            .map(|(d, _)| d.to_string());
        summary = Some(Summary {
            copied,
            unmodified: count_before(rest, " unmodified"),
            post_processed: count_before(rest, " post-processed"),
            deleted: 0,
            destination,
        });
    }
    summary.map(|s| Summary { deleted, ..s })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_django_summaries() {
        let s =
            parse("\n12 static files copied to '/srv/static', 130 unmodified, 4 post-processed.\n")
                .unwrap();
        assert_eq!(
            s,
            Summary {
                copied: 12,
                unmodified: 130,
                post_processed: 4,
                deleted: 0,
                destination: Some("/srv/static".into())
            }
        );
        let s = parse("1 static file copied to '/s'.").unwrap();
        assert_eq!((s.copied, s.unmodified), (1, 0));
        let s = parse("0 static files copied, 5 unmodified.").unwrap();
        assert_eq!((s.copied, s.unmodified, s.destination), (0, 5, None));
        let s = parse("Deleting 'a.css'\nDeleting 'b/c.js'\n\n3 static files symlinked to '/x'.")
            .unwrap();
        assert_eq!((s.copied, s.deleted), (3, 2));
        let s = parse(
            "Pretending to delete 'a.css'\nPretending to copy 'x'\n\n1 static file copied to '/x'.",
        )
        .unwrap();
        assert_eq!((s.copied, s.deleted), (1, 1));
        assert_eq!(parse("Traceback (most recent call last):"), None);
    }
}
