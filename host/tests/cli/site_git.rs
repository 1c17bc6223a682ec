//! The stock `git` plugin through the real binary, on a private clone of
//! the lab's Django site: revision, checkout with the previous commit,
//! the refusal of a dirty tree, and fetch from a private upstream.

use std::process::Command;

use crate::backup::outputs;
use crate::site_migrate::SiteProject;

fn git(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn git_checkout_returns_previous_and_current_and_refuses_a_dirty_tree() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    let base = site.head();
    let new = site.commit("v2", &[("VERSION", "2\n")]);
    site.git(&["checkout", "--quiet", "--detach", &base]);
    let dir = site.dir_str();
    sp.p.runbook(
        "deploy",
        &format!(
            "runbook deploy version=1 {{\n    param rev\n    step before uses=git action=revision {{\n        dir \"{dir}\"\n    }}\n    step checkout uses=git action=checkout {{\n        dir \"{dir}\"\n        ref \"{{{{ params.rev }}}}\"\n    }}\n}}\n"
        ),
    );
    sp.cairn(&["run", "deploy", "-p", &format!("rev={new}")])
        .success();
    assert_eq!(outputs(&sp.p, "before")["commit"], base);
    assert_eq!(outputs(&sp.p, "before")["dirty"], false);
    let co = outputs(&sp.p, "checkout");
    assert_eq!(
        (co["previous"].as_str(), co["current"].as_str()),
        (Some(&*base), Some(&*new))
    );
    assert_eq!(site.head(), new);

    // A local change to a tracked file: refused, the checkout stays.
    std::fs::write(site.dir().join("VERSION"), "local edit\n").unwrap();
    let r = sp.cairn(&["run", "deploy", "-p", &format!("rev={base}")]);
    assert_ne!(r.out.status.code(), Some(0), "{}", r.stdout);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("local changes to 1 tracked file(s)"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(site.head(), new);
    assert_eq!(
        std::fs::read_to_string(site.dir().join("VERSION")).unwrap(),
        "local edit\n"
    );
}

#[test]
fn git_fetch_returns_the_remote_tracking_commit_before_and_after() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    // A private upstream (bare) and a second clone that pushes to it.
    let up = site.scratch("up.git");
    let work = site.path().join("work");
    git(
        site.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            &site.dir_str(),
            &up.to_string_lossy(),
        ],
    );
    git(
        site.path(),
        &[
            "clone",
            "--quiet",
            &up.to_string_lossy(),
            &work.to_string_lossy(),
        ],
    );
    let branch = git(&work, &["rev-parse", "--abbrev-ref", "HEAD"]);
    site.git(&["remote", "add", "up", &up.to_string_lossy()]);
    site.git(&["fetch", "--quiet", "up"]);
    let old = site.git(&["rev-parse", &format!("up/{branch}")]);
    std::fs::write(work.join("VERSION"), "3\n").unwrap();
    git(
        &work,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.test",
            "commit",
            "--quiet",
            "-am",
            "v3",
        ],
    );
    git(&work, &["push", "--quiet", "origin", &branch]);
    let new = git(&work, &["rev-parse", "HEAD"]);
    let head = site.head();

    sp.p.runbook(
        "fetch",
        &format!(
            "runbook fetch version=1 {{\n    step fetch uses=git action=fetch {{\n        dir \"{}\"\n        remote up\n        ref \"{branch}\"\n    }}\n}}\n",
            site.dir_str()
        ),
    );
    // A dry-run fetches nothing.
    sp.cairn(&["run", "fetch", "--dry-run"]).success();
    assert_eq!(outputs(&sp.p, "fetch")["planned"], true);
    assert_eq!(site.git(&["rev-parse", &format!("up/{branch}")]), old);

    sp.cairn(&["run", "fetch"]).success();
    let o = outputs(&sp.p, "fetch");
    assert_eq!(
        (o["previous"].as_str(), o["current"].as_str()),
        (Some(&*old), Some(&*new))
    );
    assert_eq!(o["changed"], true);
    assert_eq!(site.head(), head, "fetch moved the checkout");
}

#[test]
fn remove_export_removes_only_a_tree_this_run_exported() {
    let Some(sp) = SiteProject::new() else { return };
    let site = &sp.site;
    let trees = site.scratch("trees");
    // A tree marked by another run, and one without a marker.
    let other = trees.join("cairn-tree.other01");
    std::fs::create_dir_all(other.join("tree")).unwrap();
    std::fs::write(
        other.join("cairn-owner"),
        "cairn git export run=someone-else step=x commit=1\n",
    )
    .unwrap();
    let bare = trees.join("cairn-tree.bare0001");
    std::fs::create_dir_all(bare.join("tree")).unwrap();
    sp.p.runbook(
        "rm",
        "runbook rm version=1 {\n    param dir\n    step rm uses=git action=remove-export {\n        dir \"{{ params.dir }}\"\n    }\n}\n",
    );
    for dir in [other.join("tree"), bare.join("tree"), site.dir()] {
        let r = sp.cairn(&["run", "rm", "-p", &format!("dir={}", dir.display())]);
        assert_ne!(r.out.status.code(), Some(0), "{}", r.stdout);
        assert!(
            format!("{}{}", r.stdout, r.stderr).contains("nothing was removed"),
            "{}\n{}",
            r.stdout,
            r.stderr
        );
        assert!(dir.is_dir(), "{} was removed", dir.display());
    }

    // Export and remove in one run: the tree is gone, the others stay.
    sp.p.runbook(
        "both",
        &format!(
            "runbook both version=1 {{\n    step tree uses=git action=export {{\n        dir \"{}\"\n        ref HEAD\n        under \"{}\"\n    }}\n    step rm uses=git action=remove-export {{\n        dir \"{{{{ steps.tree.outputs.dir }}}}\"\n    }}\n}}\n",
            site.dir_str(),
            trees.display()
        ),
    );
    sp.cairn(&["run", "both"]).success();
    let made = outputs(&sp.p, "tree")["dir"].as_str().unwrap().to_string();
    assert!(
        made.starts_with(&trees.to_string_lossy().into_owned()),
        "{made}"
    );
    assert!(!std::path::Path::new(&made).exists());
    let mut left: Vec<String> = std::fs::read_dir(&trees)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["cairn-tree.bare0001", "cairn-tree.other01"]);
}
