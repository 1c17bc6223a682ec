//! How a restored database says who made it: its COMMENT. A real restore
//! labels its database `cairn restore run=RUN oid=OID of KEY`; a rehearsal
//! scratch `cairn rehearsal scratch run=RUN oid=OID of KEY`. The OID is the
//! database's own, read right after `create database`; the run id is the
//! run's (a resumed run keeps it). `drop-scratch` drops only a scratch whose
//! label names its own run and whose OID is still the one recorded: never a
//! `cairn restore`, which may be the live database after a disaster.
//!
//! A scratch directory has the same kind of label beside it: the file
//! `DIR.cairn-scratch`, holding `cairn rehearsal scratch run=RUN`, written
//! before anything is unpacked (beside, not inside, so the directory's
//! files stay exactly the backup's).

use cairn_sdk::prelude::*;

/// Whether a restore makes a rehearsal scratch: the `scratch` argument when
/// given, else whether the run is a rehearsal.
pub fn is_scratch(ctx: &Context, scratch: Option<bool>) -> bool {
    scratch.unwrap_or(ctx.mode == Mode::Rehearsal)
}

/// The comment of a database restored by this run.
pub fn database_label(scratch: bool, run_id: &str, oid: &str, key: &str) -> String {
    let what = if scratch {
        SCRATCH_PREFIX
    } else {
        RESTORE_PREFIX
    };
    format!("{what}run={run_id} oid={oid} of {key}")
}

pub const SCRATCH_PREFIX: &str = "cairn rehearsal scratch ";
pub const RESTORE_PREFIX: &str = "cairn restore ";

/// What a database's comment says about it.
#[derive(Debug, PartialEq, Eq)]
pub enum Label {
    /// `cairn restore ...`: a real restore (or one made before the labels
    /// named the run).
    Restore,
    /// `cairn rehearsal scratch run=RUN oid=OID ...`.
    Scratch { run: String, oid: String },
    /// Anything else, or no comment.
    Other,
}

pub fn parse_label(comment: &str) -> Label {
    if comment.starts_with(RESTORE_PREFIX) {
        return Label::Restore;
    }
    let Some(rest) = comment.strip_prefix(SCRATCH_PREFIX) else {
        return Label::Other;
    };
    let mut words = rest.split(' ');
    match (
        words.next().and_then(|w| w.strip_prefix("run=")),
        words.next().and_then(|w| w.strip_prefix("oid=")),
    ) {
        (Some(run), Some(oid)) if !run.is_empty() && !oid.is_empty() => Label::Scratch {
            run: run.into(),
            oid: oid.into(),
        },
        _ => Label::Other,
    }
}

/// The marker file of a scratch directory.
pub fn dir_marker(dir: &str) -> String {
    format!("{}.cairn-scratch", dir.trim_end_matches('/'))
}

/// What the marker of a scratch directory made by `run_id` holds.
pub fn dir_marker_text(run_id: &str) -> String {
    format!("{SCRATCH_PREFIX}run={run_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_say_which_run_made_the_database() {
        let scratch = database_label(true, "20261203-1", "16384", "k");
        assert_eq!(
            scratch,
            "cairn rehearsal scratch run=20261203-1 oid=16384 of k"
        );
        assert_eq!(
            parse_label(&scratch),
            Label::Scratch {
                run: "20261203-1".into(),
                oid: "16384".into()
            }
        );
        assert_eq!(
            parse_label(&database_label(false, "r", "1", "k")),
            Label::Restore
        );
        // The label of older versions is a real restore's.
        assert_eq!(parse_label("cairn restore r of k"), Label::Restore);
        assert_eq!(parse_label("cairn rehearsal scratch of k"), Label::Other);
        assert_eq!(parse_label(""), Label::Other);
        assert_eq!(dir_marker("/tmp/x/media/"), "/tmp/x/media.cairn-scratch");
    }
}
