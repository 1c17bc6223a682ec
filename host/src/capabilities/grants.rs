//! What a plugin may do: its `describe` declaration, narrowed by the
//! project's `grant` block.

use std::collections::{BTreeMap, BTreeSet};

use cairn_lang::Grant;

use crate::targets::programs::{Found, find};
use crate::wit::Capability;

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
    /// Each granted `exec` program, found on this machine (`None`: not
    /// found here); see [`Grants::with_programs`].
    programs: BTreeMap<String, Option<Found>>,
}

/// The grant child listing the loader and start-up variables a plugin may
/// set in a command's environment (`grant plugin=x { exec-env "LD_LIBRARY_PATH" }`).
pub const EXEC_ENV: &str = "exec-env";

/// `exec-env`, a grant kind of its own that narrows `exec` and `docker`.
pub struct ExecEnv;

impl super::registry::Capability for ExecEnv {
    const NAME: &'static str = EXEC_ENV;
    const WIT: bool = false;
    type State = ();
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
        let mut caps: BTreeMap<String, Allow> = match grant {
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
        // `exec-env` is the grant's alone (no plugin declares it), and only
        // with what runs commands (`exec`, or `docker` for a container's
        // exec); `*` is not a variable name.
        if let Some(vars) = grant.and_then(|g| g.capabilities.get(EXEC_ENV))
            && (caps.contains_key("exec") || caps.contains_key("docker"))
        {
            let vars = vars.iter().filter(|v| *v != "*").cloned().collect();
            caps.insert(EXEC_ENV.to_string(), Allow::Only(vars));
        }
        Self {
            caps,
            programs: BTreeMap::new(),
        }
    }

    /// Finds each granted `exec` program on this machine, once: a name on
    /// the host's `PATH`, a path relative to the project `root`.
    pub fn with_programs(mut self, root: &std::path::Path) -> Self {
        if let Some(Allow::Only(programs)) = self.caps.get("exec") {
            self.programs = programs
                .iter()
                .map(|p| (p.clone(), find(p, root)))
                .collect();
        }
        self
    }

    /// The granted `exec` programs and where they were found.
    pub fn programs(&self) -> impl Iterator<Item = (&String, &Option<Found>)> {
        self.programs.iter()
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

    fn same(g: &str, v: &str) -> bool {
        g == v
    }

    #[test]
    fn exec_env_comes_with_exec_from_the_grant_alone() {
        let declared = [cap("exec", &["*"])];
        let grant = |caps: &[(&str, &[&str])]| Grant {
            plugin: "exec".into(),
            capabilities: caps
                .iter()
                .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
                .collect(),
            span: (0, 0).into(),
        };
        let g = Grants::effective(
            &declared,
            Some(&grant(&[
                ("exec", &["*"]),
                (EXEC_ENV, &["LD_LIBRARY_PATH", "*"]),
            ])),
            true,
        );
        assert!(g.allows(EXEC_ENV, "LD_LIBRARY_PATH", same));
        assert!(!g.allows(EXEC_ENV, "LD_PRELOAD", same));
        let g = Grants::effective(
            &declared,
            Some(&grant(&[(EXEC_ENV, &["LD_PRELOAD"])])),
            true,
        );
        assert!(!g.allows(EXEC_ENV, "LD_PRELOAD", same));
        assert!(
            Grants::effective(&declared, None, true)
                .get(EXEC_ENV)
                .is_none()
        );
    }

    #[test]
    fn granted_programs_are_found_once() {
        let declared = [cap("exec", &["sh", "no-such-program-cairn"])];
        let g = Grants::effective(&declared, None, true).with_programs(std::path::Path::new("/"));
        let found: BTreeMap<&String, &Option<Found>> = g.programs().collect();
        assert!(
            found[&"sh".to_string()]
                .as_ref()
                .unwrap()
                .path
                .is_absolute()
        );
        assert!(found[&"no-such-program-cairn".to_string()].is_none());
    }

    #[test]
    fn stock_plugins_get_their_declaration_project_plugins_nothing() {
        let declared = [cap("exec", &["*"])];
        assert!(Grants::effective(&declared, None, true).allows("exec", "ls", same));
        assert!(!Grants::effective(&declared, None, false).allows("exec", "ls", same));
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
        assert!(g.allows("exec", "psql", same));
        assert!(!g.allows("exec", "pg_dump", same));
        assert!(!g.allows("exec", "rm", same));
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
