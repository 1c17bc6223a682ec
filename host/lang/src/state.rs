//! `state { local }` or `state { postgres url="..." password-secret=NAME }`
//! in `cairn.kdl`: where runs, journals and the project lock live.

use kdl::KdlNode;

use crate::decode::{
    self, check_arg_count, check_no_children, check_props, children, name, name_span,
};
use crate::diagnostics::Report;
use crate::model::StateBackend;
use crate::reference::is_name;

const USAGE: &str = "`state { local }` or `state { postgres url=\"postgresql://USER@HOST/DB\" password-secret=NAME }`";

/// Decodes a `state` block; `None` after reporting what is wrong.
pub(crate) fn decode_state(r: &mut Report, node: &KdlNode) -> Option<StateBackend> {
    check_props(r, node, "`state`", &[]);
    check_arg_count(r, node, "`state`", 0, USAGE);
    let kinds = children(node);
    let Some(kind) = kinds.first() else {
        r.error(name_span(node), "`state` names no backend")
            .hint(format!("write {USAGE}"));
        return None;
    };
    for extra in &kinds[1..] {
        r.error(name_span(extra), "`state` names more than one backend")
            .hint("runs, journals and the lock live in one place");
    }
    let here = format!("`{}` in `state`", name(kind));
    check_no_children(r, kind, &here);
    let backend = match name(kind) {
        "local" => {
            check_props(r, kind, &here, &[]);
            check_arg_count(r, kind, &here, 0, "`local`");
            StateBackend::Local
        }
        "postgres" => decode_postgres(r, kind, &here)?,
        _ => {
            decode::unknown_node(r, kind, "`state`", &["local", "postgres"]);
            return None;
        }
    };
    (kinds.len() == 1).then_some(backend)
}

fn decode_postgres(r: &mut Report, kind: &KdlNode, here: &str) -> Option<StateBackend> {
    check_props(r, kind, here, &["url", "password-secret"]);
    check_arg_count(
        r,
        kind,
        here,
        0,
        "`postgres url=\"postgresql://USER@HOST/DB\"`",
    );
    let url = decode::prop_str(r, kind, "url", here);
    if decode::prop(kind, "url").is_none() {
        r.error(name_span(kind), format!("{here} needs `url=`"))
            .hint("write `postgres url=\"postgresql://USER@HOST:5432/DB\" password-secret=NAME`");
        return None;
    }
    let url = url?;
    if !(url.value.starts_with("postgresql://") || url.value.starts_with("postgres://")) {
        r.error(
            url.span,
            format!("`url` on {here} must start with `postgresql://`"),
        )
        .label("not a PostgreSQL URL")
        .hint("write `postgresql://USER@HOST:5432/DB`");
        return None;
    }
    if has_password(&url.value) {
        r.error(
            url.span,
            format!("`url` on {here} holds a password; cairn.kdl is versioned, a password is not"),
        )
        .label("password here")
        .hint(
            "remove it from the URL and name a secret of the project with `password-secret=NAME`",
        );
        return None;
    }
    let secret = decode::prop_str(r, kind, "password-secret", here);
    if let Some(s) = &secret
        && !is_name(&s.value)
    {
        r.error(
            s.span,
            format!("`password-secret` on {here} must name a secret, not `{}`", s.value),
        )
        .hint("the name of a secret of the project (see `secrets`), e.g. `password-secret=state_password`");
        return None;
    }
    Some(StateBackend::Postgres {
        url: url.value,
        url_span: url.span,
        password_secret: secret.map(|s| s.value),
    })
}

/// `scheme://user:password@host`: a `:` in the part before the last `@`
/// of the authority.
fn has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    authority
        .rsplit_once('@')
        .is_some_and(|(userinfo, _)| userinfo.contains(':'))
}

#[cfg(test)]
mod tests {
    use super::has_password;

    #[test]
    fn a_password_in_the_url_is_found_a_port_is_not_one() {
        assert!(has_password("postgresql://cairn:pw@db:5432/state"));
        assert!(!has_password("postgresql://cairn@db:5432/state"));
        assert!(!has_password("postgresql://db:5432/state?user=a@b"));
    }
}
