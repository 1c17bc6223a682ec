//! `docker` reads: inspect and list show the lab's container.

use super::*;

#[test]
fn inspect_and_list_show_the_lab_container_running() {
    let Some(lab) = lab() else { return };
    let Some(p) = project(
        &lab.host,
        &format!(
            r#"
runbook box version=1 {{
    step look uses=docker-probe action=inspect {{ engine {host}; container {c}; }}
    step default uses=docker-probe action=inspect {{ container {c}; }}
    step all uses=docker-probe action=list {{ engine {host}; }}
}}
"#,
            host = kdl(&lab.host),
            c = kdl(&lab.container)
        ),
    ) else {
        return;
    };
    // The step naming no engine gets the default: DOCKER_HOST.
    cairn(&p, &["run", "box"], Some(&lab.host)).code(0);
    let look = outputs(&p, "look");
    assert_eq!(look["name"], lab.container.as_str());
    assert_eq!(look["running"], true);
    assert_eq!(look["state"], "running");
    assert_eq!(look["image"], lab.image.as_str());
    assert_eq!(look["exit-code"], Value::Null);
    let (started, running) = lab.started_at(&lab.container);
    assert!(running);
    assert_eq!(look["started-at"], started.as_str());
    assert_eq!(outputs(&p, "default")["id"], look["id"]);
    let all = outputs(&p, "all");
    assert!(
        all["running"]
            .as_array()
            .unwrap()
            .contains(&Value::from(lab.container.as_str())),
        "{all}"
    );
    assert!(p.journals().contains(&format!(
        "inspect container {} on {}",
        lab.container, lab.host
    )));
}
