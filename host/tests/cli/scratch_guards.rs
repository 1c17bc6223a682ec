//! A rehearsal never harms the live site: `restore action=drop-scratch`
//! drops only the scratch database its own run created, and
//! `remove-scratch-dir` removes only the scratch directory its own run
//! created. Against the lab's PostgreSQL (the new server) and real
//! directories, through the real binary.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::Project;
use crate::backup::{Lab, Scratch, databases, lab, psql, row_counts, unique, with_db};
mod drop_scratch;
mod live_database;
mod scratch_dir;

/// What cairn said, stdout and stderr together.
fn said(run: &crate::Run) -> String {
    format!("{}\n{}", run.stdout, run.stderr)
}

fn comment(admin: &str, db: &str) -> String {
    psql(
        admin,
        &format!(
            "select shobj_description(oid, 'pg_database') from pg_database where datname = '{db}'"
        ),
    )
}

/// Files of a "live" media directory.
fn live_media(p: &Project, dir: &str) {
    for (name, body) in [("a.txt", "alpha"), ("b/c.txt", "gamma")] {
        p.file(&format!("{dir}/{name}"), body);
    }
}
