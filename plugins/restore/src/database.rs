//! Restoring into a database: a named one (replaced only with `replace`,
//! the old one kept aside) or a scratch one, and `pg_restore` itself.

use super::*;

/// Makes room for the restore (creates the database, or keeps a non-empty
/// one aside with `replace`) and loads the archive into it.
pub(crate) fn restore_database(
    host: &dyn Host,
    ctx: &Context,
    a: &PostgresArgs,
    w: &Which,
    db: &str,
    url: &str,
    archive: &Archive,
) -> Result<Outputs, PluginError> {
    let admin = a
        .admin_url
        .clone()
        .unwrap_or_else(|| with_database(&a.url, "postgres"));
    let admin_secret = a
        .admin_password_secret
        .as_deref()
        .or(if a.admin_url.is_none() {
            a.password_secret.as_deref()
        } else {
            None
        });
    let target = ctx.target.clone();
    let key = match archive {
        Archive::Cairn(key, ..) => key.clone(),
        Archive::Legacy(c) => c.key.clone(),
    };

    let scratch = label::is_scratch(ctx, a.scratch);
    if scratch && a.replace {
        return Err(PluginError::arg(
            "replace",
            "a rehearsal scratch is only ever a new database: `replace` would set the existing one aside",
        ));
    }

    // What is there now (reads, performed in a dry-run too).
    let exists = psql(
        host,
        &admin,
        admin_secret,
        &target,
        &format!("select 1 from pg_database where datname = {}", literal(db)),
        Effect::Read,
    )?;
    let exists = exists.stdout_text().trim() == "1";
    if exists && scratch {
        return Err(PluginError::new(format!(
            "database `{db}` already exists: a rehearsal restores into a new scratch database (and drops only that); choose another `database`; nothing was restored"
        )));
    }
    let mut kept = String::new();
    let mut create = !exists;
    if exists {
        let count = psql(
            host,
            url,
            a.password_secret.as_deref(),
            &target,
            "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace \
             where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%' \
             and c.relkind in ('r', 'v', 'm', 'S', 'f', 'p')",
            Effect::Read,
        )?;
        let count: u64 = count.stdout_text().trim().parse().unwrap_or(0);
        if count > 0 {
            if !a.replace {
                return Err(PluginError::new(format!(
                    "database `{db}` is not empty ({count} tables, views or sequences): refused without `replace #true` (which keeps it as `{}`); nothing was restored",
                    kept_name(db, &ctx.run_id)
                )));
            }
            kept = kept_name(db, &ctx.run_id);
            psql(
                host,
                &admin,
                admin_secret,
                &target,
                &format!(
                    "select pg_terminate_backend(pid) from pg_stat_activity where datname = {} and pid <> pg_backend_pid()",
                    literal(db)
                ),
                Effect::Write,
            )?;
            psql(
                host,
                &admin,
                admin_secret,
                &target,
                &format!("alter database {} rename to {}", ident(db), ident(&kept)),
                Effect::Write,
            )?;
            super::kept::mark(host, &admin, admin_secret, &target, &kept, &ctx.run_id)?;
            host.warn(&format!(
                "database `{db}` kept as `{kept}` (drop it with action drop-kept)"
            ));
            create = true;
        }
    }
    if create {
        let owner = a
            .owner
            .as_ref()
            .map(|o| format!(" owner {}", ident(o)))
            .unwrap_or_default();
        psql(
            host,
            &admin,
            admin_secret,
            &target,
            &format!("create database {}{owner}", ident(db)),
            Effect::Write,
        )?;
    }
    // The database's OID, which its label and the outputs record.
    let oid = psql(
        host,
        &admin,
        admin_secret,
        &target,
        &format!(
            "select oid from pg_database where datname = {}",
            literal(db)
        ),
        Effect::Read,
    )?
    .stdout_text()
    .trim()
    .to_string();
    let label = label::database_label(scratch, &ctx.run_id, &oid, &key);
    if create {
        psql(
            host,
            &admin,
            admin_secret,
            &target,
            &format!("comment on database {} is {}", ident(db), literal(&label)),
            Effect::Write,
        )?;
    }

    let timeout = w.timeout.map(Into::into);
    let (planned, outputs) = match archive {
        Archive::Cairn(key, m, file) => (
            pg_restore(host, ctx, a, w, url, key, file.as_deref(), timeout)?,
            found(key.clone(), m),
        ),
        Archive::Legacy(c) => {
            let (load, _) = pg_command(host, "psql", url, a.password_secret.as_deref())?;
            // One transaction: a dump that fails half-way leaves nothing.
            let mut load = load.args([
                "--no-password",
                "--no-psqlrc",
                "--quiet",
                "--single-transaction",
                "--set=ON_ERROR_STOP=1",
                "--output=/dev/null",
            ]);
            if let Some(o) = &a.owner {
                // Objects the dump creates belong to the database's owner.
                load = load.args(["-c", &format!("set role {}", ident(o))]);
            }
            let mut load = load.args(["-f", "-"]);
            load.target = target.clone();
            let done = legacy::load(host, c, &w.storage, load, timeout)?;
            (done.planned || c.planned, c.outputs())
        }
    };
    Ok(outputs
        .set("database", db)
        .set("created", create)
        .set("kept", kept)
        .set("oid", oid)
        .set("run-id", ctx.run_id.clone())
        .set("scratch", scratch)
        .set("label", if create { label } else { String::new() })
        .set("planned", planned))
}

/// `pg_restore` of one of cairn's archives: from the storage through zstd,
/// or (`jobs` > 1) from the file it was copied to. Whether it was planned.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pg_restore(
    host: &dyn Host,
    ctx: &Context,
    a: &PostgresArgs,
    w: &Which,
    url: &str,
    key: &str,
    file: Option<&str>,
    timeout: Option<std::time::Duration>,
) -> Result<bool, PluginError> {
    let (restore, _) = pg_command(host, "pg_restore", url, a.password_secret.as_deref())?;
    let mut restore = restore
        .args([
            "--no-password",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
        ])
        .args(a.pg_restore_args.iter().cloned());
    if let Some(o) = &a.owner {
        // Objects belong to the database's owner, not to the restoring role.
        restore = restore.arg(format!("--role={o}"));
    }
    restore.target = ctx.target.clone();
    match file {
        None => {
            let mut t = Transfer::new(Source::object(&w.storage, key))
                .unzstd()
                .to(Sink::command(restore));
            t.timeout = timeout;
            Ok(host.transfer(&t)?.planned)
        }
        Some(file) => {
            let cmd = restore.arg(format!("--jobs={}", a.jobs)).arg(file);
            Ok(run_ok(host, &cmd, "pg_restore")?.planned)
        }
    }
}
