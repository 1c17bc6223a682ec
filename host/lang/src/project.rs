//! `cairn.kdl`: the project's targets, storages, secrets sources, plugin and
//! runbook directories, and grants.

use std::collections::BTreeMap;
use std::path::Path;

use kdl::KdlNode;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::diagnostics::{Diagnostics, Report};
use crate::model::{
    Grant, Project, S3Credentials, SecretSource, Storage, StorageKind, Target, TargetKind,
};
use crate::reference::is_name;
use crate::source;
use crate::target::{bad_name, decode_target};

const PROJECT_NODES: [&str; 7] = [
    "target", "group", "storage", "secrets", "plugins", "runbooks", "grant",
];
/// Capabilities a `grant` can name (DESIGN §5): the grant kinds, listed
/// only here. The host registers one capability per kind, in this order
/// (`capabilities/registry.rs`), and its tests hold that list, this one and
/// the interfaces the `plugin` world of `wit/cairn-plugin.wit` imports
/// together: every kind but `exec-env` (narrowing `exec` and `docker`) and
/// `files` (WASI's filesystem) is such an interface.
pub const CAPABILITIES: [&str; 11] = [
    "log", "exec", "exec-env", "transfer", "storage", "http", "socket", "docker", "dns", "secrets",
    "files",
];
/// Where the implicit `local` storage keeps its objects, relative to the root.
pub const LOCAL_STORAGE_DIR: &str = ".cairn/objects";

/// Reads and checks `root/cairn.kdl`. A target named `local` (a local
/// target) and a storage named `local` (a `dir` under `.cairn/objects`)
/// exist unless the file declares its own under those names.
pub fn load_project(root: &Path) -> Result<Project, Diagnostics> {
    let (file, _) = source::read(&root.join("cairn.kdl"), root)?;
    decode_project_file(root, file)
}

/// Like [`load_project`] for a `cairn.kdl` whose text is in memory.
pub fn load_project_source(root: &Path, text: &str) -> Result<Project, Diagnostics> {
    let (file, _) = source::from_text(&root.join("cairn.kdl"), root, text);
    decode_project_file(root, file)
}

fn decode_project_file(
    root: &Path,
    file: std::sync::Arc<crate::model::SourceFile>,
) -> Result<Project, Diagnostics> {
    let doc = source::parse(&file)?;
    let mut r = Report::new(file.clone());
    let mut project = Project {
        name: String::new(),
        root: root.to_path_buf(),
        file,
        targets: BTreeMap::new(),
        groups: BTreeMap::new(),
        storages: BTreeMap::new(),
        secrets: Vec::new(),
        plugin_dirs: Vec::new(),
        grants: Vec::new(),
        runbook_dirs: Vec::new(),
    };
    let top = decode::top_nodes(&mut r, &doc, "project", "`cairn.kdl`");
    let Some((node, rest)) = top.split_first() else {
        if r.diags.is_empty() {
            r.error((0, 0).into(), "`cairn.kdl` has no `project` node")
                .hint("write `project NAME { ... }`");
        }
        return Err(r.diags);
    };
    for extra in rest {
        r.error(name_span(extra), "a second `project` node in `cairn.kdl`")
            .hint("one file holds one project");
    }
    decode_project(&mut r, node, &mut project);
    r.diags.into_result(project)
}

fn decode_project(r: &mut Report, node: &KdlNode, p: &mut Project) {
    check_props(r, node, "`project`", &[]);
    check_arg_count(r, node, "`project`", 1, "`project NAME { ... }`");
    if let Some(n) = decode::string_arg(r, node, "`project`", "`project NAME { ... }`") {
        p.name = n.value;
    }
    let mut seen_blocks: Vec<&str> = Vec::new();
    for child in children(node) {
        let kind = name(child);
        if matches!(kind, "secrets" | "plugins" | "runbooks") {
            if seen_blocks.contains(&kind) {
                r.error(
                    name_span(child),
                    format!("a second `{kind}` block in the project"),
                )
                .hint("list everything in one block");
            }
            seen_blocks.push(kind);
        }
        match kind {
            "target" => {
                if let Some(t) = decode_target(r, child) {
                    insert_unique(r, &mut p.targets, t.name.clone(), t.span, "target", t);
                }
            }
            "group" => {
                if let Some(g) = crate::fleet::decode_group(r, child) {
                    insert_unique(r, &mut p.groups, g.name.clone(), g.span, "group", g);
                }
            }
            "storage" => {
                if let Some(s) = decode_storage(r, child) {
                    insert_unique(r, &mut p.storages, s.name.clone(), s.span, "storage", s);
                }
            }
            "secrets" => p.secrets.extend(decode_secrets(r, child)),
            "plugins" => p.plugin_dirs.extend(decode_dirs(r, child)),
            "runbooks" => p.runbook_dirs.extend(decode_dirs(r, child)),
            "grant" => {
                if let Some(g) = decode_grant(r, child) {
                    if p.grants.iter().any(|o| o.plugin == g.plugin) {
                        r.error(
                            g.span,
                            format!("a second `grant` for plugin `{}`", g.plugin),
                        )
                        .hint("put all of a plugin's capabilities in one `grant` block");
                    }
                    p.grants.push(g);
                }
            }
            _ => decode::unknown_node(r, child, &format!("project `{}`", p.name), &PROJECT_NODES),
        }
    }
    if !seen_blocks.contains(&"runbooks") {
        p.runbook_dirs.push("runbooks".to_owned());
    }
    let here = name_span(node);
    p.targets.entry("local".into()).or_insert(Target {
        name: "local".into(),
        kind: TargetKind::Local,
        span: here,
    });
    p.storages.entry("local".into()).or_insert(Storage {
        name: "local".into(),
        kind: StorageKind::Dir {
            path: LOCAL_STORAGE_DIR.into(),
        },
        span: here,
    });
    crate::fleet::check_groups(r, p);
    for g in &p.grants {
        for s in g.capabilities.get("storage").into_iter().flatten() {
            if !p.storages.contains_key(s) {
                r.error(
                    g.span,
                    format!(
                        "grant for `{}` names storage `{s}`, which the project does not define",
                        g.plugin
                    ),
                )
                .suggest(s, p.storages.keys().map(String::as_str));
            }
        }
    }
}

fn insert_unique<T>(
    r: &mut Report,
    map: &mut BTreeMap<String, T>,
    key: String,
    span: miette::SourceSpan,
    kind: &str,
    value: T,
) {
    match map.entry(key) {
        std::collections::btree_map::Entry::Occupied(e) => {
            r.error(span, format!("{kind} `{}` is defined twice", e.key()))
                .label("second definition");
        }
        std::collections::btree_map::Entry::Vacant(e) => {
            e.insert(value);
        }
    }
}

fn decode_storage(r: &mut Report, node: &KdlNode) -> Option<Storage> {
    let usage = "`storage NAME { dir \"path\" }` or `storage NAME { s3 bucket=NAME }`";
    check_props(r, node, "`storage`", &[]);
    check_arg_count(r, node, "`storage`", 1, usage);
    let n = decode::string_arg(r, node, "`storage`", usage)?;
    if !is_name(&n.value) {
        bad_name(r, n.span, "storage", &n.value);
    }
    let what = format!("storage `{}`", n.value);
    let kinds = children(node);
    let Some(kind) = kinds.first() else {
        r.error(name_span(node), format!("{what} has no kind"))
            .hint(format!("write {usage}"));
        return None;
    };
    for extra in &kinds[1..] {
        r.error(name_span(extra), format!("{what} has more than one kind"));
    }
    let here = format!("`{}` in {what}", name(kind));
    check_no_children(r, kind, &here);
    let kind = match name(kind) {
        "dir" => {
            check_props(r, kind, &here, &[]);
            check_arg_count(r, kind, &here, 1, "`dir \"path\"`");
            StorageKind::Dir {
                path: decode::string_arg(r, kind, &here, "`dir \"path\"`")?.value,
            }
        }
        "s3" => {
            check_props(
                r,
                kind,
                &here,
                &[
                    "bucket",
                    "region",
                    "endpoint",
                    "prefix",
                    "path-style",
                    "access-key",
                    "secret-key",
                    "session-token",
                ],
            );
            check_arg_count(r, kind, &here, 0, "`s3 bucket=NAME region=REGION`");
            let bucket = decode::prop_str(r, kind, "bucket", &here);
            if decode::prop(kind, "bucket").is_none() {
                r.error(name_span(kind), format!("{here} needs `bucket=`"))
                    .hint("write `s3 bucket=NAME`");
            }
            StorageKind::S3 {
                region: decode::prop_str(r, kind, "region", &here).map(|s| s.value),
                endpoint: decode::prop_str(r, kind, "endpoint", &here).map(|s| s.value),
                prefix: decode::prop_str(r, kind, "prefix", &here).map(|s| s.value),
                path_style: decode::prop_bool(r, kind, "path-style", &here).unwrap_or(false),
                credentials: decode_s3_credentials(r, kind, &here),
                bucket: bucket?.value,
            }
        }
        _ => {
            decode::unknown_node(r, kind, &what, &["dir", "s3"]);
            return None;
        }
    };
    (kinds.len() == 1).then_some(Storage {
        name: n.value,
        kind,
        span: n.span,
    })
}

/// `access-key=` and `secret-key=` name secrets, both or neither;
/// `session-token=` only with them.
fn decode_s3_credentials(r: &mut Report, kind: &KdlNode, here: &str) -> Option<S3Credentials> {
    let access = decode::prop_str(r, kind, "access-key", here);
    let secret = decode::prop_str(r, kind, "secret-key", here);
    let token = decode::prop_str(r, kind, "session-token", here);
    let hint = "write `access-key=NAME secret-key=NAME`, each the name of a secret \
                of the project (see `secrets`), or neither to use AWS_ACCESS_KEY_ID \
                and AWS_SECRET_ACCESS_KEY from the environment";
    match (access, secret) {
        (Some(a), Some(s)) => Some(S3Credentials {
            access_key: a.value,
            secret_key: s.value,
            session_token: token.map(|t| t.value),
        }),
        (None, None) => {
            if let Some(t) = token {
                r.error(
                    t.span,
                    format!("{here}: `session-token=` needs `access-key=` and `secret-key=`"),
                )
                .hint(hint);
            }
            None
        }
        // Both written, one of them not a string: that is reported already.
        (Some(_), None) | (None, Some(_))
            if decode::prop(kind, "access-key").is_some()
                && decode::prop(kind, "secret-key").is_some() =>
        {
            None
        }
        (Some(one), None) | (None, Some(one)) => {
            let missing = if decode::prop(kind, "access-key").is_none() {
                "access-key"
            } else {
                "secret-key"
            };
            r.error(
                one.span,
                format!("{here} names one credential secret without `{missing}=`"),
            )
            .hint(hint);
            None
        }
    }
}

fn decode_secrets(r: &mut Report, node: &KdlNode) -> Vec<SecretSource> {
    check_props(r, node, "`secrets`", &[]);
    check_arg_count(
        r,
        node,
        "`secrets`",
        0,
        "`secrets { env prefix=NAME_; file \"secrets.json\" }`",
    );
    let mut out = Vec::new();
    for child in children(node) {
        let here = format!("`{}` in `secrets`", name(child));
        check_no_children(r, child, &here);
        match name(child) {
            "env" => {
                check_props(r, child, &here, &["prefix"]);
                check_arg_count(r, child, &here, 0, "`env prefix=NAME_`");
                match decode::prop_str(r, child, "prefix", &here) {
                    Some(p) => out.push(SecretSource::Env { prefix: p.value }),
                    None if decode::prop(child, "prefix").is_none() => {
                        r.error(name_span(child), "`env` in `secrets` needs `prefix=`")
                            .hint("write `env prefix=MYSITE_`: only variables with that prefix become secrets");
                    }
                    None => {}
                }
            }
            "file" => {
                check_props(r, child, &here, &[]);
                check_arg_count(r, child, &here, 1, "`file \"secrets.json\"`");
                if let Some(p) = decode::string_arg(r, child, &here, "`file \"secrets.json\"`") {
                    out.push(SecretSource::File { path: p.value });
                }
            }
            _ => decode::unknown_node(r, child, "`secrets`", &["env", "file"]),
        }
    }
    out
}

/// `plugins { dir "plugins" }`, `runbooks { dir "runbooks" }`.
fn decode_dirs(r: &mut Report, node: &KdlNode) -> Vec<String> {
    let what = format!("`{}`", name(node));
    check_props(r, node, &what, &[]);
    check_arg_count(
        r,
        node,
        &what,
        0,
        &format!("`{} {{ dir \"path\" }}`", name(node)),
    );
    let mut out = Vec::new();
    for child in children(node) {
        if name(child) != "dir" {
            decode::unknown_node(r, child, &what, &["dir"]);
            continue;
        }
        let here = format!("`dir` in {what}");
        check_props(r, child, &here, &[]);
        check_no_children(r, child, &here);
        check_arg_count(r, child, &here, 1, "`dir \"path\"`");
        if let Some(d) = decode::string_arg(r, child, &here, "`dir \"path\"`") {
            out.push(d.value);
        }
    }
    out
}

fn decode_grant(r: &mut Report, node: &KdlNode) -> Option<Grant> {
    check_props(r, node, "`grant`", &["plugin"]);
    check_arg_count(
        r,
        node,
        "`grant`",
        0,
        "`grant plugin=NAME { exec prog; ... }`",
    );
    let Some(plugin) = decode::prop_str(r, node, "plugin", "`grant`") else {
        if decode::prop(node, "plugin").is_none() {
            r.error(name_span(node), "`grant` needs `plugin=`")
                .hint("write `grant plugin=NAME { ... }`");
        }
        return None;
    };
    let what = format!("the grant for `{}`", plugin.value);
    let mut capabilities: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for child in children(node) {
        let cap = name(child);
        if !CAPABILITIES.contains(&cap) {
            let d = r
                .error(
                    name_span(child),
                    format!("unknown capability `{cap}` in {what}"),
                )
                .suggest(cap, CAPABILITIES);
            if d.help.is_none() {
                d.hint(format!("capabilities: {}", CAPABILITIES.join(", ")));
            }
            continue;
        }
        let here = format!("`{cap}` in {what}");
        check_props(r, child, &here, &[]);
        check_no_children(r, child, &here);
        if capabilities.contains_key(cap) {
            r.error(
                name_span(child),
                format!("capability `{cap}` is listed twice in {what}"),
            )
            .hint("list all its values on one line");
        }
        let values = capabilities.entry(cap.to_owned()).or_default();
        for e in decode::args(child) {
            match e.value().as_string() {
                Some(s) => values.push(s.to_owned()),
                None => {
                    r.error(
                        decode::value_span(e),
                        format!("values of {here} must be strings"),
                    )
                    .hint("quote it");
                }
            }
        }
    }
    Some(Grant {
        plugin: plugin.value,
        capabilities,
        span: plugin.span,
    })
}
