//! `action=postgres`: the archive fetched and checked, then restored with
//! `pg_restore` (or loaded with `psql`, for archives made before cairn).

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct PostgresArgs {
    /// The database to restore into, as a libpq URL (or name).
    pub(crate) url: String,
    /// Another database name than the URL's.
    pub(crate) database: Option<String>,
    /// Where to create, rename and inspect databases: a URL of a
    /// maintenance database; the URL with database `postgres` by default.
    pub(crate) admin_url: Option<String>,
    pub(crate) password_secret: Option<String>,
    pub(crate) admin_password_secret: Option<String>,
    #[serde(default = "one")]
    pub(crate) jobs: u32,
    #[serde(default)]
    pub(crate) replace: bool,
    /// Owner of a database this action creates.
    pub(crate) owner: Option<String>,
    /// Where a parallel restore (`jobs` > 1) keeps the archive meanwhile, on
    /// the target.
    #[serde(default = "default_tmp")]
    pub(crate) tmp_dir: String,
    #[serde(default, deserialize_with = "cairn_sdk::args::one_or_many")]
    #[schemars(with = "cairn_sdk::schema::OneOrMany<String>")]
    pub(crate) pg_restore_args: Vec<String>,
    /// A legacy `.tar.lrz` holding several `.sql` files: the one to restore.
    pub(crate) member: Option<String>,
    /// A rehearsal scratch (labelled so, and only ever created, never
    /// restored over); by default when the run is a rehearsal.
    pub(crate) scratch: Option<bool>,
}

pub(crate) fn one() -> u32 {
    1
}

pub(crate) fn default_tmp() -> String {
    "/tmp".into()
}

pub(crate) fn psql(
    host: &dyn Host,
    url: &str,
    secret: Option<&str>,
    target: &Option<String>,
    sql: &str,
    effect: Effect,
) -> Result<Completed, PluginError> {
    let (cmd, shown) = pg_command(host, "psql", url, secret)?;
    let mut cmd = cmd
        .args([
            "--no-password",
            "--no-psqlrc",
            "-v",
            "ON_ERROR_STOP=1",
            "-tA",
            "-c",
            sql,
        ])
        .effect(effect);
    cmd.target = target.clone();
    run_ok(host, &cmd, &format!("psql on {shown}"))
}

/// The archive a `postgres` restore loads: one of cairn's, checked against
/// its manifest, or a legacy dump, checked as its format allows.
pub(crate) enum Archive {
    /// Its key, its manifest, and (`jobs` > 1) the file on the target it
    /// was copied to while it was checked.
    Cairn(String, Box<Manifest>, Option<String>),
    Legacy(legacy::Checked),
}

pub(crate) fn postgres(
    host: &dyn Host,
    ctx: &Context,
    a: PostgresArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    let db = a
        .database
        .clone()
        .filter(|d| !d.is_empty())
        .or_else(|| database_of(&a.url))
        .ok_or_else(|| PluginError::arg("url", "names no database (give `database`)"))?;
    let url = with_database(&a.url, &db);
    let a = PostgresArgs {
        admin_url: a.admin_url.filter(|s| !s.is_empty()),
        owner: a.owner.filter(|s| !s.is_empty()),
        password_secret: a.password_secret.filter(|s| !s.is_empty()),
        admin_password_secret: a.admin_password_secret.filter(|s| !s.is_empty()),
        member: a.member.filter(|s| !s.is_empty()),
        ..a
    };
    if !(1..=64).contains(&a.jobs) {
        return Err(PluginError::arg("jobs", "1 to 64"));
    }
    let legacy = w.legacy();
    if legacy.is_some() {
        // psql replays a plain dump in one session.
        if a.jobs != 1 {
            return Err(PluginError::arg(
                "jobs",
                "a plain SQL dump is restored by psql, in one session: leave `jobs` at 1",
            ));
        }
        if !a.pg_restore_args.is_empty() {
            return Err(PluginError::arg(
                "pg-restore-args",
                "a plain SQL dump is restored by psql, not pg_restore",
            ));
        }
    } else if a.member.is_some() {
        return Err(PluginError::arg(
            "member",
            "only for a `.tar.lrz` archive made before cairn",
        ));
    }

    // Nothing is touched before the archive passes its check.
    let archive = match legacy {
        Some(format) => Archive::Legacy(legacy::check(
            host,
            ctx,
            w.key.as_deref().unwrap_or_default(),
            format,
            &legacy::Options {
                storage: &w.storage,
                timeout: w.timeout.map(Into::into),
                tmp_dir: &a.tmp_dir,
                member: a.member.as_deref(),
                need_dump: true,
            },
        )?),
        None if a.jobs > 1 => {
            // pg_restore -j reads a file, not a pipe: the archive is copied
            // there and checked on the way, in one read of the storage.
            let (key, m) = find(host, &w, "postgres")?;
            let file = dump_file(&a, ctx);
            if let Err(e) = save_checked(host, ctx, &w, &key, &m, &file) {
                remove_file(host, ctx, &file);
                return Err(e);
            }
            Archive::Cairn(key, Box::new(m), Some(file))
        }
        None => {
            let (key, m) = checked(host, &w, "postgres")?;
            Archive::Cairn(key, Box::new(m), None)
        }
    };
    let result = restore_database(host, ctx, &a, &w, &db, &url, &archive);
    match &archive {
        Archive::Legacy(c) => legacy::cleanup(host, c),
        Archive::Cairn(_, _, Some(file)) => remove_file(host, ctx, file),
        Archive::Cairn(_, _, None) => {}
    }
    result
}

/// Where a parallel restore keeps the archive, on the target.
pub(crate) fn dump_file(a: &PostgresArgs, ctx: &Context) -> String {
    format!(
        "{}/cairn-restore-{}-{}.dump",
        a.tmp_dir.trim_end_matches('/'),
        key_name(&ctx.run_id),
        key_name(&ctx.step_id)
    )
}

/// Copies the archive, decompressed, to `file` on the target (readable by
/// its owner only) and checks its size and sha256 against the manifest on
/// the way. Nothing but that file is touched before this passes. In a
/// dry-run the copy is planned and the archive is read and checked alone.
pub(crate) fn save_checked(
    host: &dyn Host,
    ctx: &Context,
    w: &Which,
    key: &str,
    m: &Manifest,
    file: &str,
) -> Result<(), PluginError> {
    check_size(host, &w.storage, key, m)?;
    let mut save = Command::new("sh").args(["-c", "umask 077 && cat > \"$1\"", "sh", file]);
    save.target = ctx.target.clone();
    let mut t = read_archive(&w.storage, key, m).to(Sink::command(save));
    t.timeout = w.timeout.map(Into::into);
    let done = host.transfer(&t).map_err(|e| {
        PluginError::new(format!(
            "backup `{key}` is refused: it could not be read back and copied to {file} on the target ({e}); nothing was restored"
        ))
    })?;
    if done.planned {
        check_contents(host, &w.storage, key, m)?;
    } else {
        check_digest(key, m, &done)?;
    }
    report_match(host, key, m);
    Ok(())
}

/// Removes the parallel restore's file, whatever happened.
pub(crate) fn remove_file(host: &dyn Host, ctx: &Context, file: &str) {
    let mut rm = Command::new("sh").args(["-c", "rm -f \"$1\"", "sh", file]);
    rm.target = ctx.target.clone();
    let _ = host.exec(&rm);
}
