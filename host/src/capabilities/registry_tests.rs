use std::collections::BTreeSet;
use std::sync::Arc;

use std::any::TypeId;

use super::*;
use crate::redact::Redactor;

/// The interfaces the `plugin` world of `wit/cairn-plugin.wit` imports.
fn world_imports() -> BTreeSet<String> {
    let wit = include_str!("../../../wit/cairn-plugin.wit");
    let world = wit
        .split("world plugin {")
        .nth(1)
        // The world ends at the first `}` that starts a line (`use types.{…}`
        // has braces of its own).
        .and_then(|rest| rest.split("\n}").next())
        .expect("the `plugin` world");
    world
        .lines()
        .filter_map(|l| l.trim().strip_prefix("import "))
        .map(|i| i.trim_end_matches(';').trim().to_string())
        .collect()
}

#[test]
fn the_registry_is_the_grant_kinds_of_the_language() {
    let names: Vec<&str> = CAPABILITIES.iter().map(|e| e.name).collect();
    assert_eq!(names, cairn_lang::CAPABILITIES);
}

#[test]
fn every_imported_interface_is_a_grant_kind_and_back() {
    let imports = world_imports();
    assert!(imports.contains("exec"), "{imports:?}");
    let wit: BTreeSet<String> = CAPABILITIES
        .iter()
        .filter(|e| e.wit)
        .map(|e| e.name.to_string())
        .collect();
    let missing: Vec<_> = imports.difference(&wit).collect();
    assert!(
        missing.is_empty(),
        "interfaces the `plugin` world imports with no capability registered: {missing:?}"
    );
    let extra: Vec<_> = wit.difference(&imports).collect();
    assert!(
        extra.is_empty(),
        "capabilities registered as interfaces the `plugin` world does not import: {extra:?}"
    );
}

#[test]
fn every_capability_has_its_state_once() {
    let mut ids: Vec<TypeId> = States::describe().ids().collect();
    assert_eq!(ids.len(), CAPABILITIES.len());
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids.len(),
        CAPABILITIES.len(),
        "a capability is listed twice"
    );
}

#[test]
fn states_are_built_from_the_project_and_the_step() {
    let dir = tempfile::tempdir().unwrap();
    let project = cairn_lang::load_project_source(dir.path(), "project demo").unwrap();
    let secrets = Arc::new(SecretStore::default());
    let redactor = Arc::new(Redactor::new());
    let targets = Arc::new(Targets::default());
    let inputs = Inputs::new(&project, &secrets, &redactor, &targets, "run-1", "web");
    let states = States::build(&inputs);
    assert_eq!(states.get::<exec::Exec>().target, "web");
    assert!(Arc::ptr_eq(
        states.get::<storage::Storage>(),
        &states.get::<transfer::Transfer>().storages
    ));
    assert_eq!(states.get::<files::Files>(), dir.path());
    assert_eq!(States::describe().get::<exec::Exec>().target, "local");
}
