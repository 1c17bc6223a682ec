//! A PostgreSQL dump and the row counts of its tables, both from one
//! snapshot: a `psql` session opens a repeatable-read transaction, exports
//! its snapshot (`pg_export_snapshot()`) and counts the rows of every table
//! in it; `pg_dump --snapshot` then dumps that same state while the session
//! keeps the transaction open. The dump still streams: it is the standard
//! output of the script below, which the host pipes through zstd and sha256
//! into the storage. The counts go to a file on the target, read back once
//! the transfer has succeeded, and into the manifest (`row-counts`), where
//! `restore action=compare` checks a restored database against them.

use std::collections::BTreeMap;

use cairn_sdk::prelude::*;

use crate::common::{COUNT_ROWS, key_name, parse_counts, run_ok, split_password, with_password};

/// `sh -c SCRIPT sh COUNTS-FILE DBNAME SQL PG_DUMP_ARGS...`: the dump on
/// stdout, the counts in COUNTS-FILE. psql runs in the background, reading
/// its commands from a fifo this script holds open: closing it (at the end,
/// or when the script dies) ends psql's session and its transaction.
/// psql's exit status goes to a file, so a psql that fails (a wrong
/// password, a table it may not read) ends the wait with its error.
const SCRIPT: &str = r#"set -u
out=$1; db=$2; sql=$3; shift 3
umask 077
d=$(mktemp -d "${TMPDIR:-/tmp}/cairn-pgdump.XXXXXXXX") || exit 1
finish() { exec 3>&-; wait; rm -rf "$d"; }
trap finish EXIT
trap 'exit 1' INT TERM HUP
trap '' PIPE
mkfifo "$d/in" || exit 1
( psql -X --no-password -q -tA -v ON_ERROR_STOP=1 --dbname="$db" <"$d/in" >/dev/null 2>"$d/err"; echo $? >"$d/psql-exit" ) &
exec 3>"$d/in"
{
  printf '%s\n' 'begin transaction isolation level repeatable read, read only;'
  printf '%s\n' 'select pg_export_snapshot() as cairn_snapshot \gset'
  printf '%s\n' "\\o '$d/counts'"
  printf '%s' "$sql"
  printf '%s\n' "\\o '$d/snapshot'" '\qecho :cairn_snapshot' '\o'
  printf '%s\n' "\\! touch '$d/ready'"
} >&3
while [ ! -e "$d/ready" ]; do
  if [ -e "$d/psql-exit" ]; then
    echo "psql could not count the rows in the dump's snapshot:" >&2
    cat "$d/err" >&2
    exit 1
  fi
  sleep 0.1
done
snapshot=$(cat "$d/snapshot")
pg_dump --dbname="$db" --snapshot="$snapshot" "$@" || exit $?
mv "$d/counts" "$out"
"#;

/// The command whose standard output is the dump, and the file on the
/// target where it leaves the row counts.
pub fn dump_command(
    host: &dyn Host,
    ctx: &Context,
    url: &str,
    password_secret: Option<&str>,
    pg_dump_args: &[String],
) -> Result<(Command, String, String), PluginError> {
    let counts = format!(
        "/tmp/cairn-backup-{}-{}.counts",
        key_name(&ctx.run_id),
        key_name(&ctx.step_id)
    );
    let (shown, _) = split_password(url);
    let cmd = Command::new("sh").args(["-c", SCRIPT, "sh", &counts, &shown, COUNT_ROWS]);
    let (cmd, shown) = with_password(host, cmd, url, password_secret)?;
    let cmd = cmd
        .args(["--format=custom", "--no-password"])
        .args(pg_dump_args.iter().cloned())
        .effect(Effect::Read);
    Ok((cmd, shown, counts))
}

/// Reads the counts the dump left on the target, and removes the file.
pub fn read_counts(
    host: &dyn Host,
    ctx: &Context,
    counts: &str,
) -> Result<BTreeMap<String, u64>, PluginError> {
    let mut read = Command::new("sh").args([
        "-c",
        r#"cat -- "$1"; s=$?; rm -f -- "$1"; exit $s"#,
        "sh",
        counts,
    ]);
    read.target = ctx.target.clone();
    let done = run_ok(host, &read, "reading the row counts of the dump")?;
    Ok(parse_counts(&done.stdout_text()))
}
