//! The language's tests against files: `tests/ui/` cases (valid runbooks
//! with their decoded form, invalid ones with their rendered errors) and
//! the examples of `docs/runbook-language.md`.

mod common;
mod docs;
mod fleet;
mod hostile;
mod ui;
