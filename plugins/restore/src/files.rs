//! `action=files`: a directory restored from a tar archive (or a legacy
//! `.tar.lrz`).

use super::*;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub(crate) struct FilesArgs {
    pub(crate) dir: String,
    #[serde(default)]
    pub(crate) replace: bool,
    /// Where a legacy `.tar.lrz` is decompressed meanwhile, on the target.
    #[serde(default = "default_tmp")]
    pub(crate) tmp_dir: String,
    /// A rehearsal scratch directory (it must not exist; a marker naming
    /// the run is written beside it); by default when the run is a rehearsal.
    pub(crate) scratch: Option<bool>,
}

pub(crate) fn files(
    host: &dyn Host,
    ctx: &Context,
    a: FilesArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    if a.dir.trim().is_empty() {
        return Err(PluginError::arg(
            "dir",
            "needs the directory to restore into",
        ));
    }
    match w.legacy() {
        Some(Format::TarLrz) => return legacy_files(host, ctx, a, w),
        Some(f) => {
            return Err(PluginError::arg(
                "key",
                format!(
                    "a `.{}` archive is a database dump, not files: restore it with action postgres",
                    f.name()
                ),
            ));
        }
        None => {}
    }
    let (key, m) = checked(host, &w, "files")?;
    let kept = files_room(host, ctx, &a)?;
    let mut unpack = Command::new("sh").args([
        "-c",
        r#"mkdir -p "$1" && exec tar -C "$1" -xf -"#,
        "sh",
        &a.dir,
    ]);
    unpack.target = ctx.target.clone();
    let mut t = Transfer::new(Source::object(&w.storage, &key))
        .unzstd()
        .to(Sink::command(unpack));
    t.timeout = w.timeout.map(Into::into);
    let done = host.transfer(&t)?;
    Ok(found(key, &m)
        .set("dir", a.dir)
        .set("kept", kept)
        .set("bytes", done.bytes_out)
        .set("planned", done.planned))
}

/// Room for a files restore: a scratch directory is marked as this run's
/// first (it must not exist); any other goes through [`make_room`].
pub(crate) fn files_room(
    host: &dyn Host,
    ctx: &Context,
    a: &FilesArgs,
) -> Result<String, PluginError> {
    if label::is_scratch(ctx, a.scratch) {
        if a.replace {
            return Err(PluginError::arg(
                "replace",
                "a rehearsal scratch directory is only ever a new one",
            ));
        }
        scratch_dir::prepare(host, ctx, &a.dir)?;
    }
    make_room(host, ctx, &a.dir, a.replace, "directory", &[])
}

/// `files` from a legacy `.tar.lrz`: checked (decompressed and listed in
/// the scratch directory), then the whole tarball, dump included, unpacked
/// into the directory.
pub(crate) fn legacy_files(
    host: &dyn Host,
    ctx: &Context,
    a: FilesArgs,
    w: Which,
) -> Result<Outputs, PluginError> {
    let key = w.key.clone().unwrap_or_default();
    let c = legacy::check(
        host,
        ctx,
        &key,
        Format::TarLrz,
        &legacy::Options {
            storage: &w.storage,
            timeout: w.timeout.map(Into::into),
            tmp_dir: &a.tmp_dir,
            member: None,
            need_dump: false,
        },
    )?;
    let result = files_room(host, ctx, &a).and_then(|kept| {
        let done = legacy::unpack(host, &c, &a.dir)?;
        Ok((kept, done.planned))
    });
    legacy::cleanup(host, &c);
    let (kept, planned) = result?;
    Ok(c.outputs()
        .set("dir", a.dir)
        .set("kept", kept)
        .set("files", c.others.len())
        .set("planned", planned || c.planned))
}
