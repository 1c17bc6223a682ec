//! Ways through a runbook's steps, for validation and for the engine.

use std::sync::Arc;

use crate::model::{Block, Runbook, Section, SourceFile, Step, StepPlace};

impl Runbook {
    /// Every step with its place: the main list, then `on-failure`,
    /// `finally` and the rehearsal's `verify`, each in order; then the
    /// `undo` steps of the main steps, in the order of the main list.
    pub fn step_places(&self) -> Vec<StepPlace<'_>> {
        let mut out = Vec::new();
        let verify = self
            .rehearsal
            .as_ref()
            .map(|r| r.verify.as_slice())
            .unwrap_or_default();
        for (section, blocks) in [
            (Section::Main, self.steps.as_slice()),
            (Section::OnFailure, self.on_failure.as_slice()),
            (Section::Finally, self.finally.as_slice()),
            (Section::Verify, verify),
        ] {
            for (block, b) in blocks.iter().enumerate() {
                let in_parallel = matches!(b, Block::Parallel { .. });
                let rolling = matches!(b, Block::Rolling(_));
                out.extend(b.steps().iter().enumerate().map(|(i, step)| StepPlace {
                    step,
                    section,
                    block,
                    in_parallel,
                    rolling_pos: rolling.then_some(i),
                    owner: None,
                    pos: 0,
                }));
            }
        }
        for (block, b) in self.steps.iter().enumerate() {
            let rolling = matches!(b, Block::Rolling(_));
            for (i, owner) in b.steps().iter().enumerate() {
                out.extend(owner.undo.iter().enumerate().map(|(pos, step)| StepPlace {
                    step,
                    section: Section::Undo,
                    block,
                    in_parallel: false,
                    rolling_pos: rolling.then_some(i),
                    owner: Some(owner),
                    pos,
                }));
            }
        }
        out
    }

    /// The step with this id, in any section.
    pub fn find_step(&self, id: &str) -> Option<&Step> {
        self.step_places()
            .into_iter()
            .map(|p| p.step)
            .find(|s| s.id == id)
    }

    /// The file a step is written in: an included file's, or the runbook's own.
    pub fn file_of(&self, step_id: &str) -> &Arc<SourceFile> {
        let step_id = crate::model::written_id(step_id);
        self.includes
            .iter()
            .find(|i| i.step_ids.iter().any(|s| s == step_id))
            .map(|i| &i.file)
            .unwrap_or(&self.file)
    }
}

impl Section {
    /// The block's name as written (`main` for the main step list).
    pub fn as_str(self) -> &'static str {
        match self {
            Section::Main => "main",
            Section::OnFailure => "on-failure",
            Section::Finally => "finally",
            Section::Verify => "verify",
            Section::Undo => "undo",
        }
    }
}

impl Step {
    /// This step, then the steps of its `undo` block.
    pub fn with_undo(&self) -> impl Iterator<Item = &Step> {
        std::iter::once(self).chain(&self.undo)
    }
}

impl Block {
    pub fn steps(&self) -> &[Step] {
        match self {
            Block::Step(s) => std::slice::from_ref(s),
            Block::Parallel { steps, .. } | Block::Fanout { steps, .. } => steps,
            Block::Rolling(r) => &r.steps,
        }
    }
}
