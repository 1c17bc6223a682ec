//! `rehearsal { param NAME VALUE; target NAME { ... }; verify { step ... } }`:
//! the overrides and checks `cairn rehearse` uses.

use std::collections::BTreeMap;

use kdl::KdlNode;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::decoder::Decoder;
use crate::model::{Param, Rehearsal};
use crate::params::typed_value;
use crate::target::decode_target;

pub(crate) fn decode_rehearsal(
    d: &mut Decoder<'_>,
    node: &KdlNode,
    params: &[Param],
) -> Option<Rehearsal> {
    check_props(&mut d.r, node, "`rehearsal`", &[]);
    check_arg_count(&mut d.r, node, "`rehearsal`", 0, "`rehearsal { ... }`");
    let mut out = Rehearsal {
        params: BTreeMap::new(),
        targets: BTreeMap::new(),
        verify: Vec::new(),
        span: name_span(node),
    };
    let mut seen_verify = false;
    for child in children(node) {
        match name(child) {
            "param" => rehearsal_param(d, child, params, &mut out),
            "target" => {
                if let Some(t) = decode_target(&mut d.r, child) {
                    if out.targets.contains_key(&t.name) {
                        d.r.error(
                            t.span,
                            format!("target `{}` is replaced twice in `rehearsal`", t.name),
                        );
                    } else {
                        out.targets.insert(t.name.clone(), t);
                    }
                }
            }
            "verify" => {
                if seen_verify {
                    d.r.error(name_span(child), "`verify` is given twice in `rehearsal`");
                    continue;
                }
                seen_verify = true;
                out.verify = d.blocks(child);
            }
            _ => decode::unknown_node(
                &mut d.r,
                child,
                "`rehearsal`",
                &["param", "target", "verify"],
            ),
        }
    }
    Some(out)
}

/// `param NAME VALUE` or `param NAME value=VALUE`, typed as the runbook's param.
fn rehearsal_param(d: &mut Decoder<'_>, node: &KdlNode, params: &[Param], out: &mut Rehearsal) {
    let usage = "`param NAME VALUE`";
    let here = "`param` in `rehearsal`";
    check_props(&mut d.r, node, here, &["value"]);
    check_no_children(&mut d.r, node, here);
    let by_prop = decode::prop(node, "value");
    check_arg_count(
        &mut d.r,
        node,
        here,
        if by_prop.is_some() { 1 } else { 2 },
        usage,
    );
    let Some(pname) = decode::string_arg(&mut d.r, node, here, usage) else {
        return;
    };
    let Some(value) = by_prop.or_else(|| decode::args(node).nth(1)) else {
        d.r.error(
            name_span(node),
            format!("rehearsal value of param `{}` is missing", pname.value),
        )
        .hint(format!("write `param {} VALUE`", pname.value));
        return;
    };
    let Some(decl) = params.iter().find(|p| p.name == pname.value) else {
        let d2 =
            d.r.error(
                pname.span,
                format!(
                    "`rehearsal` sets param `{}`, which the runbook does not declare",
                    pname.value
                ),
            )
            .suggest(&pname.value, params.iter().map(|p| p.name.as_str()));
        if d2.help.is_none() {
            d2.hint("declare it with `param` in the runbook first");
        }
        return;
    };
    if out.params.contains_key(&pname.value) {
        d.r.error(
            pname.span,
            format!("param `{}` is set twice in `rehearsal`", pname.value),
        );
        return;
    }
    let what = format!("rehearsal value of param `{}`", pname.value);
    if let Some(v) = typed_value(&mut d.r, value, decl.ty, &what) {
        let span = decode::value_span(value);
        out.params
            .insert(pname.value, crate::model::Spanned { value: v, span });
    }
}
