//! A rehearsal pointed at a live database that restore made drops nothing.

use super::*;

/// After a disaster, the live database *is* a `cairn restore`: the stock
/// `restore` runbook made it. A rehearsal with every param pointed at it
/// (the database, the source, the media directory as the scratch one)
/// must drop nothing and remove nothing, and say which guard refused.
#[test]
fn a_rehearsal_pointed_at_a_live_database_made_by_restore_drops_nothing() {
    let Some(lab) = lab() else { return };
    let p = Project::new();
    let live = unique("live");
    let _scratch = Scratch {
        admin: &lab.new_admin,
        names: vec![live.clone()],
    };
    live_media(&p, "live-media");
    let media = p.join("live-media");
    let media = media.to_str().unwrap();
    p.cairn(&[
        "run",
        "backup",
        "-p",
        &format!("database-url={}", lab.primary),
        "-p",
        &format!("media-dir={media}"),
    ])
    .success();
    p.cairn(&[
        "run",
        "restore",
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={live}"),
        "-p",
        "owner=cairn",
    ])
    .success();
    assert!(
        comment(&lab.new_admin, &live).starts_with("cairn restore "),
        "{}",
        comment(&lab.new_admin, &live)
    );
    let live_url = with_db(&lab.new_admin, &live);
    let before = row_counts(&live_url);
    assert!(before.contains("public.notes_note"), "{before}");

    let run = p.cairn(&[
        "rehearse",
        "dr-rehearsal",
        "-p",
        &format!("source-url={live_url}"),
        "-p",
        &format!("server-url={}", lab.new_admin),
        "-p",
        &format!("database={live}"),
        "-p",
        "owner=cairn",
        "-p",
        &format!("media-dir={media}"),
        "-p",
        &format!("restore-dir={media}"),
    ]);
    assert_ne!(run.out.status.code(), Some(0), "{}", said(&run));
    let text = said(&run);
    assert!(
        text.contains("drop-scratch refused") && text.contains("labelled `cairn restore"),
        "{text}"
    );
    assert!(
        text.contains("remove-scratch-dir refused") && text.contains("is the live directory"),
        "{text}"
    );
    // Nothing was dropped, nothing removed.
    assert!(databases(&lab.new_admin).contains(&live), "{text}");
    assert_eq!(row_counts(&live_url), before);
    assert_eq!(
        std::fs::read_to_string(p.join("live-media/b/c.txt")).unwrap(),
        "gamma"
    );
}
