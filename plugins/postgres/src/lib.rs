//! The stock `postgres` plugin: what moving a site's database to another
//! server needs.
//!
//! - `read-only` (`mode on|off`): `ALTER DATABASE ... SET
//!   default_transaction_read_only`, then the sessions opened before it
//!   (which keep the old setting) are waited for or terminated, and a write
//!   from a new session must fail.
//! - `copy`: `pg_dump -Fc` of the source streamed into `pg_restore` on the
//!   target through the host's `transfer` (no temporary file), into a new
//!   database this run creates and labels.
//! - `compare`: row counts of every table and the value of every sequence,
//!   each side read in one snapshot, source against target.
//! - `sequences`: sets each target sequence to at least the source's value.
//!
//! The connection strings are libpq URLs; a password in one reaches the
//! commands as `PGPASSWORD`, never their command line, or comes from a
//! secret by handle (`password-secret`, `target-password-secret`).

#[allow(dead_code)]
#[path = "../../backup/src/clock.rs"]
mod clock;
#[allow(dead_code, unused_imports)]
#[path = "../../backup/src/common.rs"]
mod common;
mod copy;
#[allow(dead_code)]
#[path = "../../backup/src/manifest.rs"]
mod manifest;
#[allow(dead_code)]
#[path = "../../backup/src/pg.rs"]
mod pg;
mod readonly;
mod state;
#[cfg(test)]
mod tests;

use cairn_sdk::prelude::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct StepArgs {
    /// The database to act on (`read-only`), or the source (`copy`,
    /// `compare`, `sequences`).
    pub url: String,
    pub password_secret: Option<String>,
    /// `copy`, `compare`, `sequences`: the target database.
    pub target_url: Option<String>,
    pub target_password_secret: Option<String>,
    /// `read-only`: `on` or `off`.
    #[schemars(extend("enum" = ["on", "off"]))]
    pub mode: Option<String>,
    /// `read-only on`: what to do with sessions opened before: `wait`
    /// (default) or `terminate`.
    #[schemars(extend("enum" = ["wait", "terminate"]))]
    pub sessions: Option<String>,
    /// `copy`: the owner of the new database and its objects.
    pub owner: Option<String>,
    /// `compare`: tables not compared (`public.django_session`).
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    pub ignore_tables: Vec<String>,
    pub timeout: Option<Duration>,
}

pub struct Postgres;

impl Plugin for Postgres {
    fn describe() -> Description {
        Description::new(
            "postgres",
            env!("CARGO_PKG_VERSION"),
            "Move a PostgreSQL database: read-only on/off, copy to another server, compare, sequences",
        )
        .action(
            "read-only",
            "mode on|off: default_transaction_read_only for the database, older sessions waited for or terminated, checked by a write",
            Effect::Write,
        )
        .action(
            "copy",
            "pg_dump -Fc | pg_restore into a new database on the target, streamed, no temporary file",
            Effect::Write,
        )
        .action(
            "compare",
            "row counts and sequence values, source against target, each read in one snapshot",
            Effect::Read,
        )
        .action(
            "sequences",
            "set each target sequence to at least the source's value",
            Effect::Write,
        )
        .capability("exec", ["psql", "pg_dump", "pg_restore"])
        .capability("transfer", ["*"])
        .capability("secrets", ["*"])
        .args_for_every_action::<StepArgs>()
        // Differ from one read to the next: not compared by `cairn apply`.
        .volatile_outputs("read-only", &["sessions-open"])
        .volatile_outputs("copy", &["size-bytes"])
    }

    fn run(
        host: &dyn Host,
        ctx: &Context,
        action: &str,
        args: Args,
    ) -> Result<Outputs, PluginError> {
        let a: StepArgs = args.decode()?;
        if a.url.trim().is_empty() {
            return Err(PluginError::arg("url", "needs a database (a libpq URL)"));
        }
        match action {
            "read-only" => readonly::read_only(host, ctx, &a),
            "copy" => copy::copy(host, ctx, &a),
            "compare" => state::compare(host, &a),
            "sequences" => state::sequences(host, &a),
            other => Err(PluginError::unknown_action(other)),
        }
    }
}

cairn_sdk::export_plugin!(Postgres);

/// The target URL, or an error naming the field.
pub(crate) fn target(a: &StepArgs) -> Result<&str, PluginError> {
    a.target_url
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| PluginError::arg("target-url", "this action needs `target-url`"))
}
