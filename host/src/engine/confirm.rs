//! `confirm "question?"` on a step: asked of the operator (or answered by
//! `--yes`), journaled with the answer; a dry-run only says it would ask.

use cairn_lang::Step;
use serde_json::json;

use super::step::Executor;
use crate::events::{Event, Mode};

impl Executor<'_> {
    pub(super) fn confirm(&self, step: &Step, question: &str) -> Result<(), String> {
        if self.opts.mode == Mode::DryRun {
            self.sink.emit(&Event::Capability {
                step: step.id.clone(),
                capability: "confirm".into(),
                effect: "read".into(),
                planned: true,
                summary: format!("would ask: {question}"),
                detail: json!({ "question": question }),
            });
            return Ok(());
        }
        let answer = if self.opts.assume_yes {
            true
        } else {
            self.opts.confirmer.ask(question)
        };
        self.sink.emit(&Event::Capability {
            step: step.id.clone(),
            capability: "confirm".into(),
            effect: "read".into(),
            planned: false,
            summary: format!("{question} → {}", if answer { "yes" } else { "no" }),
            detail: json!({ "question": question, "answer": answer, "assumed": self.opts.assume_yes }),
        });
        if answer {
            Ok(())
        } else {
            Err("confirmation declined".into())
        }
    }
}
