//! What `backup` and `restore` share: archive keys, reading manifests, the latest
//! backup of a kind and name, the checksum check, libpq URLs without their
//! password, RFC 3339 times (the last two in `pg.rs` and `clock.rs`; the
//! manifest's format in `manifest.rs`). The `restore`
//! crate includes these files.

use std::collections::BTreeMap;

pub use crate::clock::*;
pub use crate::manifest::*;
pub use crate::pg::*;
use cairn_sdk::prelude::*;

/// The kinds of archive, with the extension of their objects.
pub const KINDS: &[(&str, &str)] = &[
    ("postgres", ".dump.zst"),
    ("sqlite", ".sqlite.zst"),
    ("files", ".tar.zst"),
];

/// Refuses an argument that is neither the action's own nor one every
/// action takes, listing the ones it knows.
pub fn check_known_keys(args: &Args, own: &[&str], shared: &[&str]) -> Result<(), PluginError> {
    for k in args.as_map().keys() {
        if !own.contains(&k.as_str()) && !shared.contains(&k.as_str()) {
            let mut all: Vec<&str> = own.iter().chain(shared).copied().collect();
            all.sort();
            return Err(PluginError::arg(
                k.clone(),
                format!("unknown argument (expected one of: {})", all.join(", ")),
            ));
        }
    }
    Ok(())
}

pub fn extension(kind: &str) -> Result<&'static str, PluginError> {
    KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map(|(_, e)| *e)
        .ok_or_else(|| {
            PluginError::arg(
                "kind",
                format!("unknown kind `{kind}` (postgres, sqlite or files)"),
            )
        })
}

/// `psql` reads this on stdin: one `select 'schema.table' || ' ' ||
/// count(*)` per table, run by `\gexec`; each prints `schema.table N`.
pub const COUNT_ROWS: &str = "select format('select %L || '' '' || count(*) from %I.%I', n.nspname || '.' || c.relname, n.nspname, c.relname) \
from pg_class c join pg_namespace n on n.oid = c.relnamespace \
where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' \
order by n.nspname, c.relname \\gexec\n";

/// The `schema.table N` lines [`COUNT_ROWS`] prints, as a map.
pub fn parse_counts(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (table, n) = line.trim().rsplit_once(' ')?;
            Some((table.to_string(), n.parse().ok()?))
        })
        .collect()
}

/// `PREFIX/KIND/NAME-`: the string prefix of every archive of one source.
pub fn series_prefix(prefix: &str, kind: &str, name: &str) -> String {
    format!("{}{kind}/{name}-", normalize_prefix(prefix))
}

/// `backups` and `backups/` both mean `backups/`; `""` is the storage's root.
pub fn normalize_prefix(prefix: &str) -> String {
    let p = prefix.trim_matches('/');
    if p.is_empty() {
        String::new()
    } else {
        format!("{p}/")
    }
}

/// A name usable in a key: letters, digits, `.`, `_`, `-`; the rest become `_`.
pub fn key_name(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let s = s.trim_matches('.').to_string();
    if s.is_empty() { "backup".into() } else { s }
}

/// The archives (not manifests) of a series, oldest first (the timestamp in
/// the key sorts).
pub fn archives(
    host: &dyn Host,
    storage: &str,
    prefix: &str,
    kind: &str,
    name: &str,
) -> Result<Vec<ObjectInfo>, PluginError> {
    let ext = extension(kind)?;
    let series = series_prefix(prefix, kind, name);
    let mut found: Vec<ObjectInfo> = host
        .storage_list(storage, &series)?
        .into_iter()
        .filter(|o| {
            o.key.len() >= series.len() + ext.len()
                && o.key.ends_with(ext)
                && is_stamp(&o.key[series.len()..o.key.len() - ext.len()])
        })
        .collect();
    // By time, then by the `-N` of backups made within one second.
    let order = |k: &str| {
        let s = &k[series.len()..k.len() - ext.len()];
        let n: u64 = s[16..]
            .strip_prefix('-')
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        (s[..16].to_string(), n)
    };
    found.sort_by_key(|o| order(&o.key));
    Ok(found)
}

/// `YYYYMMDDTHHMMSSZ`, optionally followed by `-N`.
fn is_stamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 16
        && b[..8].iter().all(u8::is_ascii_digit)
        && b[8] == b'T'
        && b[9..15].iter().all(u8::is_ascii_digit)
        && b[15] == b'Z'
        && (b.len() == 16
            || (b[16] == b'-' && b.len() > 17 && b[17..].iter().all(u8::is_ascii_digit)))
}

/// Reads and decodes an archive's manifest; an error naming the key when it
/// is missing or unreadable.
pub fn read_manifest(host: &dyn Host, storage: &str, key: &str) -> Result<Manifest, PluginError> {
    manifest_of(host, storage, key)?.map_err(PluginError::new)
}

/// An archive's manifest: the outer error is a storage that could not be
/// read, the inner one a manifest that is missing or not valid.
pub fn manifest_of(
    host: &dyn Host,
    storage: &str,
    key: &str,
) -> Result<Result<Manifest, String>, PluginError> {
    let mkey = manifest_key(key);
    if host.storage_head(storage, &mkey)?.is_none() {
        return Ok(Err(format!(
            "backup `{key}` in storage `{storage}` has no manifest `{mkey}`: its checksum cannot be checked"
        )));
    }
    let bytes = host.storage_get(storage, &mkey)?;
    Ok(parse_manifest(&bytes, storage, key))
}

/// The archive to use: `key` when given, else the latest of the series —
/// the newest archive *with a valid manifest*. An archive without one (a
/// backup still being written, or one whose run died before the manifest)
/// is passed over with a warning naming it.
pub fn pick(
    host: &dyn Host,
    storage: &str,
    prefix: &str,
    kind: &str,
    name: Option<&str>,
    key: Option<&str>,
) -> Result<(String, Manifest), PluginError> {
    let checked = |key: &str| -> Result<Result<Manifest, String>, PluginError> {
        Ok(manifest_of(host, storage, key)?.and_then(|m| {
            if m.kind == kind {
                Ok(m)
            } else {
                Err(format!("backup `{key}` is a {} backup, not {kind}", m.kind))
            }
        }))
    };
    match (key, name) {
        (Some(k), _) if !k.is_empty() => {
            Ok((k.to_string(), checked(k)?.map_err(PluginError::new)?))
        }
        (_, Some(n)) => {
            let n = key_name(n);
            let all = archives(host, storage, prefix, kind, &n)?;
            let mut passed = Vec::new();
            for o in all.iter().rev() {
                match checked(&o.key)? {
                    Ok(m) => return Ok((o.key.clone(), m)),
                    Err(e) => {
                        host.warn(&format!("latest: passed over `{}`: {e}", o.key));
                        passed.push(o.key.clone());
                    }
                }
            }
            let looked = series_prefix(prefix, kind, &n);
            Err(PluginError::new(if passed.is_empty() {
                format!(
                    "no {kind} backup of `{n}` in storage `{storage}` (looked under `{looked}`)"
                )
            } else {
                format!(
                    "no {kind} backup of `{n}` with a valid manifest in storage `{storage}` (looked under `{looked}`; passed over: {})",
                    passed.join(", ")
                )
            }))
        }
        _ => Err(PluginError::arg(
            "name",
            "give `name` (the latest backup) or `key`",
        )),
    }
}

/// Streams the stored object through sha256 and zstd decompression into
/// nothing, and compares size and digest with the manifest. A read: it runs
/// in a dry-run too. Nothing is touched when it fails.
pub fn check_archive(
    host: &dyn Host,
    storage: &str,
    key: &str,
    m: &Manifest,
) -> Result<Transferred, PluginError> {
    check_size(host, storage, key, m)?;
    check_contents(host, storage, key, m)
}

/// The read half of [`check_archive`]: the stored bytes through sha256 and
/// decompression, the digest against the manifest's.
pub fn check_contents(
    host: &dyn Host,
    storage: &str,
    key: &str,
    m: &Manifest,
) -> Result<Transferred, PluginError> {
    let t = read_archive(storage, key, m);
    let done = host.transfer(&t).map_err(|e| {
        PluginError::new(format!(
            "backup `{key}` is refused: it cannot be read back ({e}); nothing was restored"
        ))
    })?;
    if done.planned {
        return Ok(done);
    }
    check_digest(key, m, &done)?;
    Ok(done)
}

/// The stored object's size against its manifest's (a head request).
pub fn check_size(
    host: &dyn Host,
    storage: &str,
    key: &str,
    m: &Manifest,
) -> Result<(), PluginError> {
    let head = host
        .storage_head(storage, key)?
        .ok_or_else(|| PluginError::new(format!("backup `{key}` is not in storage `{storage}`")))?;
    if head.size != m.size {
        return Err(PluginError::new(format!(
            "backup `{key}` is refused: it is {} bytes, its manifest says {} (truncated or replaced?); nothing was restored",
            head.size, m.size
        )));
    }
    Ok(())
}

/// The stored archive through sha256 (of the stored bytes) and, when it is
/// compressed, zstd decompression; the sink is the caller's.
pub fn read_archive(storage: &str, key: &str, m: &Manifest) -> Transfer {
    let t = Transfer::new(Source::object(storage, key)).sha256();
    if m.compression == "zstd" {
        t.unzstd()
    } else {
        t
    }
}

/// The digest a transfer of [`read_archive`] reported against the manifest's.
pub fn check_digest(key: &str, m: &Manifest, done: &Transferred) -> Result<(), PluginError> {
    match &done.sha256 {
        Some(h) if h.eq_ignore_ascii_case(&m.sha256) => Ok(()),
        Some(h) => Err(PluginError::new(format!(
            "backup `{key}` is refused: its sha256 is {h}, its manifest says {}; nothing was restored",
            m.sha256
        ))),
        None => Err(PluginError::new(format!(
            "backup `{key}`: the host returned no sha256"
        ))),
    }
}

/// Quotes a PostgreSQL identifier.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a PostgreSQL string literal.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The end of a command's stderr (or stdout), for error messages.
pub fn tail(done: &Completed) -> String {
    let text = if done.stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        done.stderr_text()
    } else {
        done.stdout_text()
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n  ")
}

/// Runs a command and fails with its status and stderr unless it exits 0.
pub fn run_ok(host: &dyn Host, cmd: &Command, what: &str) -> Result<Completed, PluginError> {
    let done = host.exec(cmd)?;
    if !done.planned && done.status != 0 {
        return Err(PluginError::new(format!(
            "{what}: `{}` exited with status {}\n  {}",
            cmd.program,
            done.status,
            tail(&done)
        )));
    }
    Ok(done)
}

#[cfg(test)]
mod common_tests {
    use super::*;

    #[test]
    fn urls_lose_their_password() {
        let (shown, pw) =
            split_password("postgresql://cairn:p%40ss@127.0.0.1:55432/site?sslmode=disable");
        assert_eq!(
            shown,
            "postgresql://cairn@127.0.0.1:55432/site?sslmode=disable"
        );
        assert_eq!(pw.as_deref(), Some("p@ss"));
        assert_eq!(split_password("postgresql://cairn@h/site").1, None);
        assert_eq!(split_password("site").0, "site");
        assert_eq!(
            database_of("postgresql://u:p@h:1/site?x=1").as_deref(),
            Some("site")
        );
        assert_eq!(database_of("host=h dbname=site").as_deref(), Some("site"));
        assert_eq!(
            with_database("postgresql://u:p@h:1/site?x=1", "postgres"),
            "postgresql://u:p@h:1/postgres?x=1"
        );
        assert_eq!(
            with_database("postgresql://u@h", "db"),
            "postgresql://u@h/db"
        );
    }

    #[test]
    fn times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_316_400), "2026-11-22T03:00:00Z");
        assert_eq!(stamp(951_782_400), "20000229T000000Z");
        assert!(is_stamp("20261122T030000Z"));
        assert!(!is_stamp("latest"));
    }
}
