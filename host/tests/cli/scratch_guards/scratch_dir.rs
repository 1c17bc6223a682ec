//! Scratch directories: marked by their run, removed by it, and never one
//! the run did not create.

use super::*;

const REMOVE: &str = r#"
runbook remove version=1 {
    param dir required=#true
    param live default=""
    step remove uses=restore action=remove-scratch-dir {
        dir "{{ params.dir }}"
        live-dir "{{ params.live }}"
    }
}
"#;

/// `remove-scratch-dir` refuses the live media directory, a directory
/// holding it, `/`, `$HOME`, and any directory without this run's marker;
/// each refusal says why, and nothing is removed.
#[test]
fn remove_scratch_dir_refuses_what_it_did_not_create() {
    let p = Project::new();
    p.runbook("remove", REMOVE);
    live_media(&p, "site/media");
    p.file("home/.profile", "keep");
    p.file("other/file.txt", "keep");
    let path = |rel: &str| p.join(rel).to_str().unwrap().to_string();
    let live = format!("live={}", path("site/media"));
    for (dir, why) in [
        (path("site/media"), "is the live directory"),
        (path("site"), "is a parent of the live directory"),
        ("/".to_string(), "is `/`"),
        (path("home"), "is $HOME"),
        (path("other"), "has no scratch marker"),
    ] {
        let run = p
            .cmd()
            .env("HOME", path("home"))
            .args(["run", "remove", "-p", &format!("dir={dir}"), "-p", &live])
            .output()
            .unwrap();
        let run = crate::Run::new(&["run", "remove"], run);
        run.code(1);
        let text = said(&run);
        assert!(
            text.contains("remove-scratch-dir refused") && text.contains(why),
            "{dir}: {text}"
        );
    }
    assert!(p.join("site/media/b/c.txt").exists());
    assert!(p.join("home/.profile").exists());
    assert!(p.join("other/file.txt").exists());
}

/// The normal case: `files` as a scratch marks the directory it creates,
/// `remove-scratch-dir` of the same run removes it and its marker; a
/// directory that exists already is not a scratch.
#[test]
fn a_scratch_directory_is_marked_by_its_run_and_removed_by_it() {
    let p = Project::new();
    live_media(&p, "media");
    p.runbook(
        "media",
        r#"
runbook media version=1 {
    param restore-dir required=#true
    step backup uses=backup action=files { dir "{{ project.root }}/media"; storage local; name site; }
    step media uses=restore action=files {
        dir "{{ params.restore-dir }}"
        storage local
        name site
        scratch #true
    }
    step marked uses=exec { run test "-f" "{{ params.restore-dir }}.cairn-scratch"; }
    finally {
        step remove uses=restore action=remove-scratch-dir {
            dir "{{ params.restore-dir }}"
            live-dir "{{ project.root }}/media"
        }
    }
}
"#,
    );
    let scratch = p.join("scratch/media");
    p.cairn(&[
        "run",
        "media",
        "-p",
        &format!("restore-dir={}", scratch.display()),
    ])
    .success();
    assert!(!scratch.exists(), "the scratch directory is removed");
    assert!(
        !p.join("scratch/media.cairn-scratch").exists(),
        "and its marker"
    );
    assert!(p.join("media/b/c.txt").exists());
    // A directory that is already there is refused before anything is
    // unpacked into it (and so never removed).
    p.file("scratch/media/mine.txt", "mine");
    let run = p.cairn(&[
        "run",
        "media",
        "-p",
        &format!("restore-dir={}", scratch.display()),
    ]);
    run.code(1);
    assert!(said(&run).contains("already exists"), "{}", said(&run));
    assert!(p.join("scratch/media/mine.txt").exists());
}
