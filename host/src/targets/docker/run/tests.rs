//! Tests of `run`.

use super::*;

#[test]
fn the_stop_script_looks_for_the_marker() {
    assert!(MARK_SCRIPT.contains(&format!("{MARKER}=$1")));
}

#[test]
fn markers_differ() {
    let a = new_marker();
    assert_eq!(a.len(), 32);
    assert_ne!(a, new_marker());
}

#[test]
fn commands_are_checked() {
    let engine = Engine::parse("unix:///run/docker.sock").unwrap();
    let ok = ContainerCommand::new(
        engine.clone(),
        "web",
        vec!["true".into()],
        vec![("A".into(), "1".into())],
        None,
    );
    assert!(ok.is_ok());
    assert!(ContainerCommand::new(engine.clone(), "a/b", vec!["x".into()], vec![], None).is_err());
    assert!(ContainerCommand::new(engine.clone(), "web", vec![], vec![], None).is_err());
    let bad_env = vec![("A=B".into(), "1".into())];
    assert!(ContainerCommand::new(engine, "web", vec!["x".into()], bad_env, None).is_err());
}

#[test]
fn tails_keep_the_end() {
    let mut t = Tail::new(4);
    t.push(b"abcdefghij");
    t.push(b"kl");
    assert_eq!(t.into_bytes(), b"ijkl");
    let mut c = Capture::new(4);
    c.push(b"abc");
    c.push(b"def");
    assert_eq!((c.buf.as_slice(), c.truncated), (&b"abcd"[..], true));
}
