//! The state of decoding one runbook file: its diagnostics, the project,
//! the step ids seen so far (and where), and the decoding of step lists.

mod rolling;

use std::collections::BTreeMap;

use kdl::KdlNode;

use crate::decode::{self, check_arg_count, check_props, children, name, name_span};
use crate::diagnostics::Report;
use crate::model::{Block, Project, Step};
use crate::step::decode_step;

/// Where a step id was first seen while assembling a runbook.
pub(crate) enum Origin {
    Own,
    Included(String),
}

/// The state of decoding one file.
pub(crate) struct Decoder<'a> {
    pub r: Report,
    pub project: &'a Project,
    pub ids: BTreeMap<String, Origin>,
}

impl Decoder<'_> {
    /// Records the id of a step written in this file, and of its undo
    /// steps; reports one already used.
    pub(crate) fn claim(&mut self, step: &Step) {
        for s in step.with_undo() {
            self.claim_one(s);
        }
    }

    fn claim_one(&mut self, step: &Step) {
        match self.ids.get(&step.id) {
            Some(origin) => {
                let hint = match origin {
                    Origin::Own => {
                        "step ids are unique across the runbook, its blocks and included files"
                            .to_owned()
                    }
                    Origin::Included(f) => {
                        format!("`{f}`, included with `use`, has a step with this id")
                    }
                };
                self.r
                    .error(step.id_span, format!("step id `{}` is used twice", step.id))
                    .label("second use")
                    .hint(hint);
            }
            None => {
                self.ids.insert(step.id.clone(), Origin::Own);
            }
        }
    }

    /// A list of `step` and `parallel` nodes (the children of `on-failure`,
    /// `finally` or `verify`).
    pub(crate) fn blocks(&mut self, node: &KdlNode) -> Vec<Block> {
        let what = format!("`{}`", name(node));
        check_props(&mut self.r, node, &what, &[]);
        check_arg_count(
            &mut self.r,
            node,
            &what,
            0,
            &format!("`{} {{ step ... }}`", name(node)),
        );
        let mut out = Vec::new();
        for child in children(node) {
            match name(child) {
                "step" | "parallel" => out.extend(self.block(child)),
                _ => decode::unknown_node(&mut self.r, child, &what, &["step", "parallel"]),
            }
        }
        crate::undo::refuse_outside_main(&mut self.r, &out, name(node));
        out
    }

    pub(crate) fn block(&mut self, node: &KdlNode) -> Option<Block> {
        if name(node) == "rolling" {
            let r = rolling::decode_rolling(self, node)?;
            return Some(Block::Rolling(Box::new(r)));
        }
        if name(node) == "step" {
            let s = decode_step(&mut self.r, node)?;
            self.claim(&s);
            return Some(Block::Step(s));
        }
        check_props(&mut self.r, node, "`parallel`", &[]);
        check_arg_count(
            &mut self.r,
            node,
            "`parallel`",
            0,
            "`parallel { step ... }`",
        );
        let mut steps = Vec::new();
        for child in children(node) {
            match name(child) {
                "step" => {
                    if let Some(s) = decode_step(&mut self.r, child) {
                        self.claim(&s);
                        steps.push(s);
                    }
                }
                "parallel" => {
                    self.r
                        .error(name_span(child), "`parallel` blocks can't be nested")
                        .hint("list the steps directly in one `parallel` block");
                }
                _ => decode::unknown_node(&mut self.r, child, "`parallel`", &["step"]),
            }
        }
        if steps.is_empty() && children(node).is_empty() {
            self.r
                .error(name_span(node), "`parallel` block has no steps")
                .hint("write `parallel { step a ...; step b ... }`");
        }
        Some(Block::Parallel {
            steps,
            span: name_span(node),
        })
    }
}
