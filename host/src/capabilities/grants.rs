//! What a plugin may do: its `describe` declaration, narrowed by the
//! project's `grant` block.

use std::collections::{BTreeMap, BTreeSet};

use cairn_lang::Grant;

use crate::runtime::Capability;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    All,
    Only(BTreeSet<String>),
}

impl Allow {
    fn from_values(values: &[String]) -> Self {
        if values.iter().any(|v| v == "*") {
            Allow::All
        } else {
            Allow::Only(values.iter().cloned().collect())
        }
    }

    fn intersect(&self, other: &Allow) -> Allow {
        match (self, other) {
            (Allow::All, x) | (x, Allow::All) => x.clone(),
            (Allow::Only(a), Allow::Only(b)) => Allow::Only(a.intersection(b).cloned().collect()),
        }
    }

    pub fn values(&self) -> Vec<String> {
        match self {
            Allow::All => vec!["*".into()],
            Allow::Only(v) => v.iter().cloned().collect(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    caps: BTreeMap<String, Allow>,
}

impl Grants {
    pub fn none() -> Self {
        Self::default()
    }

    /// The effective grants: a stock plugin gets what it declares unless a
    /// `grant` block narrows it; a project plugin gets only what a `grant`
    /// block gives, and never more than it declares.
    pub fn effective(declared: &[Capability], grant: Option<&Grant>, stock: bool) -> Self {
        let declared: BTreeMap<String, Allow> = declared
            .iter()
            .map(|c| (c.name.clone(), Allow::from_values(&c.values)))
            .collect();
        let caps = match grant {
            None if stock => declared,
            None => BTreeMap::new(),
            Some(g) => declared
                .iter()
                .filter_map(|(name, d)| {
                    let g = g.capabilities.get(name)?;
                    Some((name.clone(), d.intersect(&Allow::from_values(g))))
                })
                .collect(),
        };
        Self { caps }
    }

    pub fn get(&self, capability: &str) -> Option<&Allow> {
        self.caps.get(capability)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Allow)> {
        self.caps.iter()
    }

    /// Whether `value` is allowed for `capability`, where `matches` compares
    /// one granted value with the requested one.
    pub fn allows(
        &self,
        capability: &str,
        value: &str,
        matches: impl Fn(&str, &str) -> bool,
    ) -> bool {
        match self.caps.get(capability) {
            None => false,
            Some(Allow::All) => true,
            Some(Allow::Only(set)) => set.iter().any(|g| matches(g, value)),
        }
    }
}

/// `exec`: a granted program matches by exact path or by its file name;
/// a path that climbs with `..` only by exact path (`../../tmp/x/echo` is not
/// the `echo` that was granted).
pub fn program_matches(granted: &str, program: &str) -> bool {
    if granted == program {
        return true;
    }
    let climbs = std::path::Path::new(program)
        .components()
        .any(|c| c == std::path::Component::ParentDir);
    !climbs
        && !granted.contains('/')
        && std::path::Path::new(program)
            .file_name()
            .is_some_and(|n| n == granted)
}

/// `http`: a granted host matches `host` or `host:port` of the URL, and
/// `*.example.com` matches its subdomains.
pub fn host_matches(granted: &str, host_port: &str) -> bool {
    let host = host_port.rsplit_once(':').map_or(host_port, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            host_port
        }
    });
    if granted == host_port || granted == host {
        return true;
    }
    granted
        .strip_prefix("*.")
        .is_some_and(|suffix| host.ends_with(&format!(".{suffix}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(name: &str, values: &[&str]) -> Capability {
        Capability {
            name: name.into(),
            values: values.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn stock_plugins_get_their_declaration_project_plugins_nothing() {
        let declared = [cap("exec", &["*"])];
        assert!(Grants::effective(&declared, None, true).allows("exec", "ls", program_matches));
        assert!(!Grants::effective(&declared, None, false).allows("exec", "ls", program_matches));
    }

    #[test]
    fn a_grant_narrows_and_never_widens() {
        let declared = [cap("exec", &["pg_dump", "psql"])];
        let grant = Grant {
            plugin: "backup".into(),
            capabilities: [(
                "exec".to_string(),
                vec!["psql".to_string(), "rm".to_string()],
            )]
            .into(),
            span: (0, 0).into(),
        };
        let g = Grants::effective(&declared, Some(&grant), true);
        assert!(g.allows("exec", "/usr/bin/psql", program_matches));
        assert!(!g.allows("exec", "pg_dump", program_matches));
        assert!(!g.allows("exec", "rm", program_matches));
    }

    #[test]
    fn programs_match_by_path_or_name_but_never_through_dot_dot() {
        assert!(program_matches("echo", "echo"));
        assert!(program_matches("echo", "/bin/echo"));
        assert!(program_matches("/bin/echo", "/bin/echo"));
        assert!(!program_matches("echo", "../../bin/echo"));
        assert!(!program_matches("echo", "/usr/../tmp/echo"));
        assert!(program_matches("../bin/echo", "../bin/echo"));
        assert!(!program_matches("/bin/echo", "echo"));
        assert!(!program_matches("echo", "touch"));
    }

    #[test]
    fn hosts_match_with_ports_and_wildcards() {
        assert!(host_matches("127.0.0.1", "127.0.0.1:8080"));
        assert!(host_matches("127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(!host_matches("127.0.0.1:9", "127.0.0.1:8080"));
        assert!(host_matches("*.example.com", "api.example.com"));
        assert!(!host_matches("*.example.com", "example.com.evil"));
    }
}
