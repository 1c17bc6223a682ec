//! `use "runbooks/other.kdl"`: splicing another runbook's params and main
//! steps into the one being loaded, with cycle and step id checks.

use std::path::PathBuf;

use kdl::KdlNode;
use miette::SourceSpan;

use crate::decode::{self, check_arg_count, check_no_children, check_props, name_span};
use crate::model::{Block, Include, Param, Project, Runbook, Step};
use crate::runbook::{Decoder, Origin, load_file};
use crate::source;

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
    let Ok(canonical) = std::fs::canonicalize(&path) else {
        d.r.error(
            rel.span,
            format!("cannot read `{}`: no such file", rel.value),
        )
        .hint("`use` paths are relative to the project root");
        return;
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
