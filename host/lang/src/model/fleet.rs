//! The model of fleets: groups of targets, `rolling` blocks (decoded and
//! expanded in `crate::fleet`).

use miette::SourceSpan;

use super::{Project, Spanned, Step};

/// `group NAME { target a; group b }`.
#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    pub entries: Vec<GroupEntry>,
    pub span: SourceSpan,
}

/// One line of a group: a target, or another group (all of its members).
#[derive(Debug, Clone)]
pub struct GroupEntry {
    pub name: String,
    pub is_group: bool,
    pub span: SourceSpan,
}

impl Project {
    /// The targets of group `name`, in the order written, each once (nested
    /// groups flattened); `None` when there is no such group.
    pub fn members(&self, name: &str) -> Option<Vec<String>> {
        let mut out = Vec::new();
        self.collect_members(name, &mut out, &mut Vec::new())?;
        Some(out)
    }

    fn collect_members<'a>(
        &'a self,
        name: &'a str,
        out: &mut Vec<String>,
        stack: &mut Vec<&'a str>,
    ) -> Option<()> {
        let g = self.groups.get(name)?;
        if stack.contains(&name) {
            return Some(()); // a cycle is reported by `check_groups`
        }
        stack.push(name);
        for e in &g.entries {
            if e.is_group {
                self.collect_members(&e.name, out, stack);
            } else if !out.contains(&e.name) {
                out.push(e.name.clone());
            }
        }
        stack.pop();
        Some(())
    }

    /// Whether `name` is a group (not a target).
    pub fn is_group(&self, name: &str) -> bool {
        self.groups.contains_key(name)
    }
}

/// `rolling group=app batch=1 max-failures=0 min-healthy=1 { ... }`.
#[derive(Debug, Clone)]
pub struct Rolling {
    pub group: Spanned<String>,
    /// Members per batch (default 1).
    pub batch: Spanned<Amount>,
    /// Members that may fail before the rolling stops (default 0).
    pub max_failures: Spanned<Amount>,
    /// Members that stay in service at every moment; default 1 for a group
    /// of two members or more, else 0.
    pub min_healthy: Option<Spanned<u64>>,
    /// The written steps, each with its part, in the order they run on a
    /// member: `before`, the body (with `once`), `after`.
    pub written: Vec<(String, RollPart)>,
    /// The written steps; after [`expand`], the instances, batch by batch.
    pub steps: Vec<Step>,
    /// After [`expand`]: the members of each batch, in order.
    pub batches: Vec<Vec<String>>,
    pub span: SourceSpan,
}

/// Where a step of a `rolling` block is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RollPart {
    /// `before { ... }`: on each member of a batch before its body (drain).
    Before,
    Body,
    /// `once { ... }`: once for the whole group, in the first batch.
    Once,
    /// `after { ... }`: on each member after its body (ready, wait-healthy).
    After,
}

/// `2` or `"25%"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    Count(u64),
    Percent(u8),
}

impl Amount {
    /// How many of `n` members: a percentage rounded down.
    pub fn floor_of(self, n: usize) -> usize {
        match self {
            Amount::Count(c) => usize::try_from(c).unwrap_or(usize::MAX),
            Amount::Percent(p) => n * usize::from(p) / 100,
        }
    }

    /// The size of a batch of `n` members: a percentage rounded up, at
    /// least 1, at most `n`.
    pub fn batch_of(self, n: usize) -> usize {
        let b = match self {
            Amount::Count(c) => usize::try_from(c).unwrap_or(usize::MAX),
            Amount::Percent(p) => (n * usize::from(p)).div_ceil(100),
        };
        b.clamp(1, n.max(1))
    }
}

impl std::fmt::Display for Amount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Amount::Count(c) => write!(f, "{c}"),
            Amount::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Rolling {
    /// `min-healthy` for a group of `n` members.
    pub fn min_healthy_of(&self, n: usize) -> usize {
        match &self.min_healthy {
            Some(m) => usize::try_from(m.value).unwrap_or(usize::MAX),
            None => usize::from(n >= 2),
        }
    }
}

/// The step a written id names: `ID@MEMBER` → `ID`.
pub fn written_id(id: &str) -> &str {
    id.split_once('@').map_or(id, |(w, _)| w)
}
