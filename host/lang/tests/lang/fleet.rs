//! What a run performs of a runbook with groups: [`cairn_lang::expand`]
//! turns steps on a group into one step per member and `rolling` blocks
//! into batches, with `once` steps in the first batch only.

use cairn_lang::{Block, Runbook, expand};

use crate::common::{load_and_validate, ui_project, ui_root};

fn fleet() -> (cairn_lang::Project, Runbook) {
    let project = ui_project();
    let rb = load_and_validate(&project, &ui_root().join("valid/fleet.kdl")).expect("valid");
    (project, rb)
}

#[test]
fn nested_groups_flatten_in_written_order_each_member_once() {
    let p = ui_project();
    assert_eq!(p.members("fleet").unwrap(), ["app", "app2", "app3"]);
    assert_eq!(
        p.members("everything").unwrap(),
        ["app", "app2", "app3", "db"]
    );
    assert!(p.members("app").is_none(), "a target is not a group");
}

#[test]
fn a_step_on_a_group_becomes_one_step_per_member() {
    let (p, rb) = fleet();
    let x = expand(&p, &rb);
    let Block::Fanout {
        id,
        group,
        steps,
        parallel,
        ..
    } = &x.steps[0]
    else {
        panic!("the first block is a fan-out: {:?}", x.steps[0]);
    };
    assert_eq!(
        (id.as_str(), group.as_str(), *parallel),
        ("revision", "fleet", 2)
    );
    let ids: Vec<(&str, &str)> = steps
        .iter()
        .map(|s| (s.id.as_str(), s.target.as_ref().unwrap().value.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("revision@app", "app"),
            ("revision@app2", "app2"),
            ("revision@app3", "app3")
        ]
    );
}

#[test]
fn rolling_runs_batches_in_order_and_once_steps_once() {
    let (p, rb) = fleet();
    let x = expand(&p, &rb);
    let Block::Rolling(r) = &x.steps[1] else {
        panic!("the second block is the rolling");
    };
    assert_eq!(r.batches, [vec!["app"], vec!["app2"], vec!["app3"]]);
    let ids: Vec<&str> = r.steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "drain@app",
            "pull@app",
            "migrate",
            "restart@app",
            "ready@app",
            "drain@app2",
            "pull@app2",
            "restart@app2",
            "ready@app2",
            "drain@app3",
            "pull@app3",
            "restart@app3",
            "ready@app3",
        ]
    );
    let migrate = r.steps.iter().find(|s| s.id == "migrate").unwrap();
    assert_eq!(
        migrate.target.as_ref().unwrap().value,
        "app",
        "once runs on the first member"
    );
    let pull = r.steps.iter().find(|s| s.id == "pull@app2").unwrap();
    assert_eq!(pull.member.as_deref(), Some("app2"));
    assert_eq!(
        pull.undo[0].id, "back@app2",
        "undo steps are the member's too"
    );
    assert_eq!(pull.undo[0].target.as_ref().unwrap().value, "app2");
}

#[test]
fn a_runbook_without_groups_is_unchanged() {
    let project = ui_project();
    let rb = load_and_validate(&project, &ui_root().join("valid/minimal.kdl")).expect("valid");
    let x = expand(&project, &rb);
    let ids = |r: &Runbook| -> Vec<String> {
        r.step_places().iter().map(|p| p.step.id.clone()).collect()
    };
    assert_eq!(ids(&x), ids(&rb));
}
