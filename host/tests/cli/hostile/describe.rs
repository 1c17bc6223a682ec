//! Hostile plugins at describe time, and a project plugin without grants.

use super::*;

#[test]
fn a_project_plugin_gets_nothing_until_granted() {
    let Some(h) = Hostile::with("", &["hostile"]) else {
        return;
    };
    h.attack_runbook("exec", "", r#"program echo; args "ungranted""#);
    h.cairn(&["run", "attack"])
        .code(3)
        .err_has("plugin `hostile` (step `attack`) needs `exec`, `http`, `secrets` but cairn.kdl grants it nothing")
        .lacks("ungranted");
    assert!(!h.p.join(".cairn/runs").exists(), "a refused run started");
    assert!(!h.p.join("cleaned").exists());

    // A grant narrows: secrets only, so `exec` is refused at the call.
    let Some(h) = Hostile::with(r#"grant plugin=hostile { secrets "token"; }"#, &["hostile"])
    else {
        return;
    };
    h.attack("exec", "", r#"program echo; args "ungranted""#)
        .code(1)
        .has("exec: `echo` is not permitted for plugin `hostile`");
    h.contained();
}

#[test]
fn a_plugin_that_panics_in_describe_is_reported_and_the_rest_works() {
    let Some(h) = Hostile::with(GRANT, &["hostile", "bad-describe"]) else {
        return;
    };
    h.p.runbook(
        "broken",
        "runbook broken version=1 {\n    step x uses=bad-describe\n}\n",
    );
    let file = "bad-describe.wasm";
    let why = "crashed: panicked at ";
    let message = "bad-describe refuses to describe itself";
    h.cairn(&["run", "broken"])
        .code(2)
        .err_has(file)
        .err_has(why)
        .err_has(message)
        .err_has("unknown plugin `bad-describe`");
    h.cairn(&["validate"])
        .code(2)
        .err_has(file)
        .err_has(message)
        .has("ok runbooks/after.kdl");
    h.cairn(&["run", "after"])
        .code(0)
        .has("✓ plugin-again")
        .err_has(file);
    h.cairn(&["plugin", "list"])
        .code(0)
        .has("hostile")
        .has("noop")
        .err_has(message);
}

#[test]
fn a_plugin_that_loops_in_describe_is_stopped_by_the_describe_timeout() {
    let Some(h) = Hostile::with(GRANT, &["hostile", "loop-describe"]) else {
        return;
    };
    h.p.runbook(
        "looping",
        "runbook looping version=1 {\n    step x uses=loop-describe\n}\n",
    );
    let r = h.cairn(&["run", "after"]);
    r.code(0)
        .has("✓ plugin-again")
        .err_has("loop-describe.wasm")
        .err_has("timed out after 5s");
    assert!(
        r.elapsed >= Duration::from_secs(5) && r.elapsed < Duration::from_secs(30),
        "{}",
        r.context()
    );
    h.cairn(&["validate", "looping"])
        .code(2)
        .err_has("loop-describe.wasm")
        .err_has("timed out after 5s")
        .err_has("unknown plugin `loop-describe`");
}
