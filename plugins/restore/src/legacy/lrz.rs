//! `.tar.lrz` archives: written into a scratch directory on the target,
//! decompressed there by lrzip (which checks its MD5) and listed by `tar -t`.

use super::*;

/// `.tar.lrz`: lrzip on the target, a scratch directory, the archive
/// written there, decompressed (lrzip checks its MD5), listed, and the dump
/// in it checked.
pub(crate) fn check_lrz(
    host: &dyn Host,
    ctx: &Context,
    o: &Options,
    c: &mut Checked,
) -> Result<(), PluginError> {
    let key = c.key.clone();
    let on = c.target.clone().unwrap_or_else(|| "local".into());
    let probe = sh(&c.target, "command -v lrzip", &[]).effect(Effect::Read);
    if host.exec(&probe)?.status != 0 {
        return Err(PluginError::new(format!(
            "backup `{key}` is an lrzip archive, and `lrzip` is not installed on target `{on}`: \
             install it there (Debian, Ubuntu: `apt-get install lrzip`; macOS: `brew install lrzip`); \
             nothing was restored"
        )));
    }
    let dir = format!(
        "{}/cairn-restore-{}-{}",
        o.tmp_dir.trim_end_matches('/'),
        key_name(&ctx.run_id),
        key_name(&ctx.step_id)
    );
    // A run resumed after a crash finds its own leftover: start afresh.
    let mk = sh(
        &c.target,
        r#"rm -rf "$1" && umask 077 && mkdir "$1""#,
        &[&dir],
    );
    let made = run_ok(host, &mk, &format!("making the scratch directory {dir}"))?;
    c.scratch = Some(dir.clone());
    c.planned = made.planned;

    let archive = format!("{dir}/archive.tar.lrz");
    let save = sh(&c.target, r#"cat > "$1""#, &[&archive]);
    let mut t = Transfer::new(Source::object(o.storage, &key))
        .sha256()
        .to(Sink::command(save));
    t.timeout = o.timeout;
    let done = host
        .transfer(&t)
        .map_err(|e| refused(&key, format!("it cannot be fetched ({e})")))?;
    c.sha256 = done.sha256.unwrap_or_default();
    c.planned |= done.planned;

    // lrzip checks the MD5 it stored; -D removes the archive once it is
    // decompressed, so the scratch directory holds one copy at a time.
    let tarball = c.tarball();
    let mut unlrz = Command::new("lrzip").args(["-d", "-Q", "-f", "-D", "-o", &tarball, &archive]);
    unlrz.target = c.target.clone();
    unlrz.timeout = o.timeout;
    let d = host.exec(&unlrz)?;
    if !d.planned && d.status != 0 {
        return Err(refused(
            &key,
            format!(
                "lrzip cannot decompress it (status {}):\n  {}",
                d.status,
                tail(&d)
            ),
        ));
    }
    if c.planned || d.planned {
        // A dry-run: nothing was fetched, so there is nothing to list.
        c.planned = true;
        c.member = o.member.map(str::to_string);
        return Ok(());
    }

    let mut list = Command::new("tar")
        .args(["-tf", &tarball])
        .effect(Effect::Read);
    list.target = c.target.clone();
    let l = host.exec(&list)?;
    if l.status != 0 {
        return Err(refused(
            &key,
            format!("its tarball cannot be read to its end:\n  {}", tail(&l)),
        ));
    }
    let members: Vec<String> = l
        .stdout_text()
        .lines()
        .filter(|m| !m.is_empty() && !m.ends_with('/'))
        .map(str::to_string)
        .collect();
    if !o.need_dump {
        c.others = members;
        return Ok(());
    }
    let dumps: Vec<&String> = members.iter().filter(|m| m.ends_with(".sql")).collect();
    let member = match o.member.filter(|m| !m.is_empty()) {
        Some(m) if members.iter().any(|x| x == m) => m.to_string(),
        Some(m) => {
            return Err(PluginError::arg(
                "member",
                format!("`{m}` is not in `{key}` (its dumps: {})", shown(&dumps)),
            ));
        }
        None if dumps.len() == 1 => dumps[0].clone(),
        None if dumps.is_empty() => {
            let all: Vec<&String> = members.iter().collect();
            return Err(refused(
                &key,
                format!("it holds no `.sql` dump (its files: {})", shown(&all)),
            ));
        }
        None => {
            return Err(PluginError::arg(
                "member",
                format!(
                    "`{key}` holds several dumps ({}): name the one to restore with `member`",
                    shown(&dumps)
                ),
            ));
        }
    };
    c.member = Some(member.clone());
    c.others = members.into_iter().filter(|m| *m != member).collect();
    if !c.others.is_empty() {
        let others: Vec<&String> = c.others.iter().collect();
        host.info(&format!(
            "{} other files of `{key}` are not part of a database restore ({}); action files unpacks them",
            others.len(),
            shown(&others)
        ));
    }
    let mut t =
        Transfer::new(Source::command(c.extract())).to(Sink::command(dump_check(c.target.clone())));
    t.timeout = o.timeout;
    host.transfer(&t)
        .map_err(|e| refused(&key, format!("its dump `{member}`: {}", reason(&e))))?;
    Ok(())
}

/// The first few names of a list, for messages.
pub(crate) fn shown(names: &[&String]) -> String {
    if names.is_empty() {
        return "none".into();
    }
    let mut s: Vec<String> = names.iter().take(5).map(|n| format!("`{n}`")).collect();
    if names.len() > 5 {
        s.push(format!("and {} more", names.len() - 5));
    }
    s.join(", ")
}
