//! The stock `migrate` plugin (and `git`'s tree of a target revision) through the real binary, on a
//! private copy of the lab's Django site (`fixture_site::ScratchSite`): its
//! own clone and its own database on the lab's PostgreSQL.

use std::path::Path;

use serde_json::json;

use crate::Run;
use crate::backup::outputs;
use crate::deploy_update::ADD_FLAG;
use crate::fixture_site::ScratchSite;
use crate::harness::Project;
use crate::site_deps::{tiny, venv_with_wheels};

/// A data migration that cannot be reversed.
const IRREVERSIBLE: &str = r#"from django.db import migrations


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(forwards)]
"#;

/// A project whose secret `database_url` is the scratch database's URL.
pub(crate) struct SiteProject {
    pub(crate) p: Project,
    pub(crate) site: ScratchSite,
}

impl SiteProject {
    pub(crate) fn new() -> Option<Self> {
        Self::with_config("")
    }

    /// With more lines in `cairn.kdl`'s project block.
    pub(crate) fn with_config(extra: &str) -> Option<Self> {
        let site = ScratchSite::new()?;
        let p = Project::with_config(&format!(
            "project site-test {{\n    secrets {{ env prefix=SCRATCHSITE_; }}\n    {extra}\n}}\n"
        ));
        Some(SiteProject { p, site })
    }

    /// The arguments that point `migrate` (or `static-collect`) at the site.
    pub(crate) fn site_args(&self, dir: &str) -> String {
        format!(
            "dir \"{dir}\"\n        python \"{}\"\n        settings labsite.settings\n        {}\n        secret-env DATABASE_URL=database_url",
            self.site.python,
            self.site.env_kdl()
        )
    }

    pub(crate) fn cairn(&self, args: &[&str]) -> Run {
        let out = self
            .p
            .cmd()
            .env("SCRATCHSITE_DATABASE_URL", &self.site.database_url)
            .args(args)
            .output()
            .expect("run cairn");
        Run::new(args, out)
    }

    /// Nothing cairn wrote holds the database password.
    pub(crate) fn no_password_in_dot_cairn(&self) {
        let password = self
            .site
            .database_url
            .split_once("://")
            .and_then(|(_, rest)| rest.split_once('@'))
            .and_then(|(cred, _)| cred.split_once(':'))
            .map(|(_, pw)| pw.to_string())
            .expect("a password in the lab's URL");
        let mut seen = 0;
        for f in files(&self.p.join(".cairn")) {
            seen += 1;
            let bytes = std::fs::read(&f).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(&password),
                "{} holds the database password",
                f.display()
            );
        }
        assert!(seen > 0, "nothing under .cairn");
    }
}

fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(files(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn has_column(site: &ScratchSite, column: &str) -> bool {
    site.sql(&format!(
        "select count(*) from information_schema.columns where table_name = 'notes_note' and column_name = '{column}'"
    )) == "1"
}

fn applied(site: &ScratchSite, app: &str) -> Vec<String> {
    site.sql(&format!(
        "select name from django_migrations where app = '{app}' order by id"
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

fn migrate_runbook(sp: &SiteProject, steps: &str) {
    sp.p.runbook(
        "mig",
        &format!("runbook mig version=1 {{\n    param allow default=#false\n{steps}}}\n"),
    );
}

fn step(sp: &SiteProject, id: &str, action: &str, extra: &str) -> String {
    format!(
        "    step {id} uses=migrate action={action} {{\n        {}\n        {extra}\n    }}\n",
        sp.site_args(&sp.site.dir_str())
    )
}

#[test]
fn migrate_plans_applies_and_unapplies_a_new_migration() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    site.manage(&["migrate", "--noinput"]);
    site.commit(
        "add flag",
        &[("notes/migrations/0002_note_flag.py", ADD_FLAG)],
    );

    migrate_runbook(&sp, &step(&sp, "plan", "plan", ""));
    sp.cairn(&["run", "mig"]).success();
    let plan = outputs(&sp.p, "plan");
    assert_eq!(plan["count"], 1);
    assert_eq!(plan["apps"], json!({ "notes": ["0002_note_flag"] }));
    assert_eq!(plan["before"], json!({ "notes": "0001_initial" }));
    assert_eq!(plan["irreversible-count"], 0);
    assert!(!has_column(site, "flag"), "plan changed the schema");

    // Apply alone first: the column is there.
    migrate_runbook(&sp, &step(&sp, "apply", "apply", ""));
    sp.cairn(&["run", "mig"]).success();
    let applied_out = outputs(&sp.p, "apply");
    assert_eq!(applied_out["before"], json!({ "notes": "0001_initial" }));
    assert_eq!(applied_out["after"], json!({ "notes": "0002_note_flag" }));
    assert!(has_column(site, "flag"));
    assert_eq!(applied(site, "notes"), ["0001_initial", "0002_note_flag"]);

    // Unapply to what apply recorded: the schema is back.
    migrate_runbook(
        &sp,
        &step(&sp, "back", "unapply", "to \"notes=0001_initial\""),
    );
    sp.cairn(&["run", "mig"]).success();
    assert_eq!(
        outputs(&sp.p, "back")["reverted"],
        json!(["notes.0002_note_flag"])
    );
    assert!(!has_column(site, "flag"), "the column is still there");
    assert_eq!(applied(site, "notes"), ["0001_initial"]);
    site.manage(&["check"]);

    // Apply and unapply in one run, through the `before` output.
    migrate_runbook(
        &sp,
        &(step(&sp, "apply", "apply", "")
            + &step(
                &sp,
                "back",
                "unapply",
                "to \"{{ steps.apply.outputs.before }}\"",
            )),
    );
    sp.cairn(&["run", "mig"]).success();
    assert_eq!(
        outputs(&sp.p, "back")["after"],
        json!({ "notes": "0001_initial" })
    );
    assert!(!has_column(site, "flag"));
    sp.no_password_in_dot_cairn();
}

#[test]
fn an_irreversible_migration_is_flagged_and_refused_unless_allowed() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    site.manage(&["migrate", "--noinput"]);
    site.commit("data", &[("notes/migrations/0002_fill.py", IRREVERSIBLE)]);

    migrate_runbook(
        &sp,
        &(step(&sp, "plan", "plan", "")
            + &step(
                &sp,
                "apply",
                "apply",
                "allow-irreversible \"{{ params.allow }}\"",
            )),
    );
    let r = sp.cairn(&["run", "mig"]);
    assert_ne!(r.out.status.code(), Some(0));
    let plan = outputs(&sp.p, "plan");
    assert_eq!(plan["irreversible-count"], 1);
    assert!(
        plan["irreversible"][0]
            .as_str()
            .unwrap()
            .starts_with("notes.0002_fill: operation 1 RunPython"),
        "{plan}"
    );
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("allow-irreversible #true"), "{all}");
    assert_eq!(applied(site, "notes"), ["0001_initial"]);

    sp.cairn(&["run", "mig", "-p", "allow=true"]).success();
    assert_eq!(applied(site, "notes"), ["0001_initial", "0002_fill"]);
    sp.no_password_in_dot_cairn();
}

#[test]
fn a_dry_run_plans_the_target_revision_and_leaves_the_checkout_untouched() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    site.manage(&["migrate", "--noinput"]);
    let base = site.head();
    let target = site.commit(
        "add flag and a dependency",
        &[
            ("notes/migrations/0002_note_flag.py", ADD_FLAG),
            ("requirements.txt", "cairntiny==1.0\n"),
        ],
    );
    site.git(&["checkout", "--quiet", "--detach", &base]);
    let (venv, wheels) = venv_with_wheels(site);
    let trees = site.scratch("trees");
    let before = (
        site.head(),
        site.git(&["status", "--porcelain"]),
        site.git(&["worktree", "list", "--porcelain"]),
    );
    let dir = site.dir_str();
    let plan_step = format!(
        "    step plan uses=migrate action=plan {{\n        {}\n    }}\n",
        sp.site_args("{{ steps.tree.outputs.dir }}")
    );
    let deps_step = format!(
        "    step deps uses=python-deps {{\n        dir \"{{{{ steps.tree.outputs.dir }}}}\"\n        venv \"{}\"\n        installer pip\n        pip-args \"--no-index\" \"--find-links\" \"{}\"\n    }}\n",
        venv.display(),
        wheels.display()
    );
    let runbook = format!(
        "runbook up version=1 {{\n    param rev\n    step tree uses=git action=export {{\n        dir \"{dir}\"\n        ref \"{{{{ params.rev }}}}\"\n        under \"{}\"\n    }}\n{plan_step}{deps_step}    step drop-tree uses=git action=remove-export {{\n        dir \"{{{{ steps.tree.outputs.dir }}}}\"\n    }}\n    step checkout uses=git action=checkout {{\n        dir \"{dir}\"\n        ref \"{{{{ params.rev }}}}\"\n    }}\n{}}}\n",
        trees.display(),
        step(&sp, "migrate", "apply", ""),
    );
    sp.p.runbook("up", &runbook);
    let r = sp.cairn(&["run", "up", "--dry-run", "-p", &format!("rev={target}")]);
    // What the operator reads: the target's migration and dependency.
    r.success()
        .stdout_has("1 migration(s) to apply: notes.0002_note_flag")
        .stdout_has("would add cairntiny 1.0");
    let plan = outputs(&sp.p, "plan");
    assert_eq!(
        plan["migrations"],
        json!(["notes.0002_note_flag"]),
        "{plan}"
    );
    assert_eq!(outputs(&sp.p, "tree")["commit"], target);
    // The requirements of the target revision, against the venv as it is.
    assert_eq!(
        outputs(&sp.p, "deps")["changes"],
        json!([{ "name": "cairntiny", "from": "", "to": "1.0" }])
    );
    assert_eq!(tiny(&venv), None, "the dry-run installed into the venv");
    assert_eq!(outputs(&sp.p, "checkout")["current"], target);
    assert_eq!(outputs(&sp.p, "checkout")["planned"], true);
    // The live checkout's plan is empty: the dry-run read the target.
    assert_eq!(outputs(&sp.p, "migrate")["count"], 0);

    let after = (
        site.head(),
        site.git(&["status", "--porcelain"]),
        site.git(&["worktree", "list", "--porcelain"]),
    );
    assert_eq!(before, after, "the checkout changed");
    let left: Vec<_> = std::fs::read_dir(&trees).unwrap().flatten().collect();
    assert!(left.is_empty(), "left in the temp dir: {left:?}");
    assert!(!has_column(site, "flag"));
    assert_eq!(applied(site, "notes"), ["0001_initial"]);
    sp.no_password_in_dot_cairn();
}
