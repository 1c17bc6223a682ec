//! Runbook files: `runbook NAME version=N { ... }` with its params, steps,
//! blocks, rehearsal and `use` includes, decoded and structurally checked.
//! Loading a file and splicing the files it `use`s are one recursion, so
//! they live together; the per-file decoding state is in `decoder.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kdl::KdlNode;
use miette::SourceSpan;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::decoder::{Decoder, Origin};
use crate::diagnostics::{Diagnostics, Report};
use crate::model::{Block, Include, Param, Project, Runbook, Spanned, Step};
use crate::params::decode_param;
use crate::reference::is_name;
use crate::rehearsal::decode_rehearsal;
use crate::source;
use crate::target::bad_name;

const RUNBOOK_NODES: [&str; 11] = [
    "description",
    "limits",
    "requires",
    "param",
    "step",
    "parallel",
    "rolling",
    "on-failure",
    "finally",
    "rehearsal",
    "use",
];
const USAGE: &str = "`runbook NAME version=1 { ... }`";

/// Reads a runbook file and checks its structure; `use` includes are
/// resolved (relative to the project root). A relative `path` is taken
/// relative to the project root.
pub fn load_runbook(project: &Project, path: &Path) -> Result<Runbook, Diagnostics> {
    let path = project.root.join(path);
    load_file(project, &path, &mut Vec::new())
}

/// Like [`load_runbook`] for a runbook whose text is in memory (the stock
/// runbooks embedded in the binary); `path` names it in diagnostics.
pub fn load_runbook_source(
    project: &Project,
    path: &Path,
    text: &str,
) -> Result<Runbook, Diagnostics> {
    let path = project.root.join(path);
    let (file, sha256) = source::from_text(&path, &project.root, text);
    decode_file(project, &path, file, sha256, &mut Vec::new())
}

pub(crate) fn load_file(
    project: &Project,
    path: &Path,
    stack: &mut Vec<PathBuf>,
) -> Result<Runbook, Diagnostics> {
    let (file, sha256) = source::read(path, &project.root)?;
    decode_file(project, path, file, sha256, stack)
}

fn decode_file(
    project: &Project,
    path: &Path,
    file: Arc<crate::model::SourceFile>,
    sha256: String,
    stack: &mut Vec<PathBuf>,
) -> Result<Runbook, Diagnostics> {
    let doc = source::parse(&file)?;
    let mut d = Decoder {
        r: Report::new(file.clone()),
        project,
        ids: BTreeMap::new(),
    };
    let top = decode::top_nodes(&mut d.r, &doc, "runbook", "a runbook file");
    let Some((node, rest)) = top.split_first() else {
        if d.r.diags.is_empty() {
            d.r.error(
                (0, 0).into(),
                format!("`{}` has no `runbook` node", file.name),
            )
            .hint(format!("write {USAGE}"));
        }
        return Err(d.r.diags);
    };
    for extra in rest {
        d.r.error(name_span(extra), "a second `runbook` node in the file")
            .hint("one file holds one runbook");
    }
    stack.push(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()));
    let rb = decode_runbook(&mut d, node, file, sha256, stack);
    stack.pop();
    d.r.diags.into_result(rb)
}

fn decode_runbook(
    d: &mut Decoder<'_>,
    node: &KdlNode,
    file: Arc<crate::model::SourceFile>,
    sha256: String,
    stack: &mut Vec<PathBuf>,
) -> Runbook {
    check_props(&mut d.r, node, "`runbook`", &["version"]);
    check_arg_count(&mut d.r, node, "`runbook`", 1, USAGE);
    let name_arg = decode::string_arg(&mut d.r, node, "`runbook`", USAGE);
    let rb_name = name_arg
        .as_ref()
        .map(|n| n.value.clone())
        .unwrap_or_default();
    if let Some(n) = &name_arg
        && !is_name(&n.value)
    {
        bad_name(&mut d.r, n.span, "runbook", &n.value);
    }
    let what = format!("runbook `{rb_name}`");
    let version = decode::prop_int(&mut d.r, node, "version", &what, 0..=i128::from(u32::MAX));
    if decode::prop(node, "version").is_none() {
        d.r.error(name_span(node), format!("{what} has no `version`"))
            .hint(format!(
                "write `runbook {rb_name} version=1`: every run records the version that ran"
            ));
    }
    let mut rb = Runbook {
        name: rb_name,
        version: version.map_or(0, |v| v.value as u64),
        description: None,
        requires: None,
        file,
        sha256,
        params: Vec::new(),
        steps: Vec::new(),
        on_failure: Vec::new(),
        finally: Vec::new(),
        rehearsal: None,
        span: name_span(node),
        includes: Vec::new(),
        limits: Vec::new(),
    };
    let mut included_params: Vec<Param> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut rehearsal_node = None;
    for child in children(node) {
        let kind = name(child);
        if matches!(
            kind,
            "description" | "requires" | "on-failure" | "finally" | "rehearsal" | "limits"
        ) {
            if seen.contains(&kind) {
                d.r.error(
                    name_span(child),
                    format!("`{kind}` is given twice in {what}"),
                );
                continue;
            }
            seen.push(kind);
        }
        match kind {
            "description" => {
                check_props(&mut d.r, child, "`description`", &[]);
                check_no_children(&mut d.r, child, "`description`");
                check_arg_count(&mut d.r, child, "`description`", 1, "`description \"...\"`");
                rb.description =
                    decode::string_arg(&mut d.r, child, "`description`", "`description \"...\"`")
                        .map(|s| s.value);
            }
            "requires" => rb.requires = decode_requires(&mut d.r, child),
            "limits" => crate::guardrails::decode_limits(&mut d.r, child, &mut rb.limits),
            "param" => {
                if let Some(p) = decode_param(&mut d.r, child) {
                    if rb.params.iter().any(|o| o.name == p.name) {
                        d.r.error(p.span, format!("param `{}` is declared twice", p.name));
                    } else {
                        rb.params.push(p);
                    }
                }
            }
            "step" | "parallel" | "rolling" => rb.steps.extend(d.block(child)),
            "on-failure" => rb.on_failure = d.blocks(child),
            "finally" => rb.finally = d.blocks(child),
            "rehearsal" => rehearsal_node = Some(child),
            "use" => include(d, child, &mut rb, &mut included_params, stack),
            "version" => {
                d.r.error(
                    name_span(child),
                    "`version` is a property of `runbook`, not a node",
                )
                .hint(format!("write `runbook {} version=1 {{`", rb.name));
            }
            _ => decode::unknown_node(&mut d.r, child, &what, &RUNBOOK_NODES),
        }
    }
    for p in included_params {
        if !rb.params.iter().any(|o| o.name == p.name) {
            rb.params.push(p);
        }
    }
    if let Some(n) = rehearsal_node {
        rb.rehearsal = decode_rehearsal(d, n, &rb.params);
    }
    // A failed `use` was reported already; don't add that the list is empty.
    if rb.steps.is_empty() && !children(node).iter().any(|c| name(c) == "use") {
        d.r.error(rb.span, format!("{what} has no steps"))
            .hint("add `step ID uses=PLUGIN { ... }`");
    }
    rb
}

fn decode_requires(r: &mut Report, node: &KdlNode) -> Option<Spanned<semver::VersionReq>> {
    check_props(r, node, "`requires`", &["cairn"]);
    check_arg_count(r, node, "`requires`", 0, "`requires cairn=\">=0.1\"`");
    check_no_children(r, node, "`requires`");
    let Some(req) = decode::prop_str(r, node, "cairn", "`requires`") else {
        if decode::prop(node, "cairn").is_none() {
            r.error(name_span(node), "`requires` needs `cairn=`")
                .hint("write `requires cairn=\">=0.1\"`");
        }
        return None;
    };
    match semver::VersionReq::parse(&req.value) {
        Ok(v) => Some(Spanned {
            value: v,
            span: req.span,
        }),
        Err(e) => {
            r.error(
                req.span,
                format!("invalid version requirement `{}`: {e}", req.value),
            )
            .label("not a version requirement")
            .hint("write a semver requirement such as `>=0.1` or `^0.2`");
            None
        }
    }
}

/// `use "runbooks/other.kdl"`: the other file's params (those not declared
/// here) and main steps, spliced in at this point.
pub(crate) fn include(
    d: &mut Decoder<'_>,
    node: &KdlNode,
    rb: &mut Runbook,
    params: &mut Vec<Param>,
    stack: &mut Vec<PathBuf>,
) {
    let usage = "`use \"runbooks/other.kdl\"`";
    check_props(&mut d.r, node, "`use`", &[]);
    check_no_children(&mut d.r, node, "`use`");
    check_arg_count(&mut d.r, node, "`use`", 1, usage);
    let Some(rel) = decode::string_arg(&mut d.r, node, "`use`", usage) else {
        return;
    };
    let path = d.project.root.join(&rel.value);
    let canonical = match std::fs::canonicalize(&path) {
        Ok(c) => c,
        Err(e) => {
            // A link loop says so ("too many levels of symbolic links").
            let why = crate::limits::ReadError::Io(e);
            d.r.error(rel.span, format!("cannot read `{}`: {why}", rel.value))
                .hint("`use` paths are relative to the project root");
            return;
        }
    };
    if let Some(at) = stack.iter().position(|p| *p == canonical) {
        let names: Vec<String> = stack[at..]
            .iter()
            .chain(std::iter::once(&canonical))
            .map(|p| source::display_name(p, &canonical_root(d.project)))
            .collect();
        d.r.error(rel.span, format!("`use` cycle: {}", names.join(" → ")))
            .label("includes a file that includes this one");
        return;
    }
    if stack.len() >= crate::limits::MAX_USE_DEPTH {
        d.r.error(
            rel.span,
            format!(
                "`use` chains more than {} files deep",
                crate::limits::MAX_USE_DEPTH
            ),
        )
        .hint("include the files from fewer levels");
        return;
    }
    let inc = match load_file(d.project, &path, stack) {
        Ok(inc) => inc,
        Err(errs) => {
            d.r.diags.extend(errs);
            return;
        }
    };
    let nested: Vec<&str> = inc
        .includes
        .iter()
        .flat_map(|i| i.step_ids.iter().map(String::as_str))
        .collect();
    let mut own_ids = Vec::new();
    for step in inc
        .steps
        .iter()
        .flat_map(Block::steps)
        .flat_map(Step::with_undo)
    {
        if self_claim(d, &step.id, &inc.file.name, rel.span) && !nested.contains(&step.id.as_str())
        {
            own_ids.push(step.id.clone());
        }
    }
    rb.includes.push(Include {
        file: inc.file.clone(),
        sha256: inc.sha256,
        step_ids: own_ids,
        span: name_span(node),
    });
    rb.includes.extend(inc.includes);
    rb.steps.extend(inc.steps);
    params.extend(inc.params);
}

/// Records a step id brought in by `use`; reports it if already used.
fn self_claim(d: &mut Decoder<'_>, id: &str, from: &str, at: SourceSpan) -> bool {
    if d.ids.contains_key(id) {
        d.r.error(
            at,
            format!("`{from}` brings step `{id}`, but this runbook already has a step `{id}`"),
        )
        .hint("step ids are unique across the runbook, its blocks and included files");
        return false;
    }
    d.ids
        .insert(id.to_owned(), Origin::Included(from.to_owned()));
    true
}

fn canonical_root(p: &Project) -> PathBuf {
    std::fs::canonicalize(&p.root).unwrap_or_else(|_| p.root.clone())
}
