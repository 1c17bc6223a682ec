//! Exec grants hold against the ways around them: a copy or a link named
//! like the granted program, a `PATH` set for the command, loader and shell
//! start-up variables set by a step or a plugin, and a program file that
//! changed since `cairn.lock` pinned it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::Project;
use crate::hostile::Hostile;

/// The first `name` on this process's PATH.
fn on_path(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").expect("PATH");
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no `{name}` on PATH"))
}

/// Writes an executable shell script.
fn script(path: &Path, body: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn neither_a_copy_a_link_nor_a_path_chooses_another_program_than_the_granted_one() {
    let Some(h) = Hostile::with(r#"grant plugin=hostile { exec "echo"; }"#, &["hostile"]) else {
        return;
    };
    let root = h.p.path().to_path_buf();
    // A file named `echo` that is not echo, and a link named `echo` to touch.
    let evil = root.join("evil");
    script(
        &evil.join("echo"),
        &format!("touch '{}/pwned'", root.display()),
    );
    let linked = root.join("linked");
    std::fs::create_dir_all(&linked).unwrap();
    std::os::unix::fs::symlink(on_path("touch"), linked.join("echo")).unwrap();
    h.p.runbook(
        "walk",
        &r#"
runbook walk version=1 {
    step by-path uses=hostile action=exec { program "/bin/echo"; args "the real echo"; }
    step copy uses=hostile action=exec continue-on-error=#true { program "EVIL/echo"; args "copy"; }
    step link uses=hostile action=exec continue-on-error=#true { program "LINKED/echo"; args "ROOT/pwned-link"; }
    step plugin-path uses=hostile action=exec {
        program echo
        args "plugin PATH ignored"
        env PATH="EVIL"
    }
    step step-path uses=exec {
        run echo "step PATH ignored"
        env PATH="EVIL"
        effect read
    }
}
"#
        .replace("EVIL", &evil.display().to_string())
        .replace("LINKED", &linked.display().to_string())
        .replace("ROOT", &root.display().to_string()),
    );
    let r = h.cairn(&["run", "walk"]);
    r.code(0)
        .has(&format!(
            "exec: `{}/echo` is not permitted for plugin `hostile`",
            evil.display()
        ))
        .has(&format!(
            "exec: `{}/echo` is not permitted for plugin `hostile`",
            linked.display()
        ));
    assert_eq!(h.finished("by-path")["outputs"]["stdout"], "the real echo");
    assert_eq!(
        h.finished("plugin-path")["outputs"]["stdout"],
        "plugin PATH ignored"
    );
    assert_eq!(
        h.finished("step-path")["outputs"]["stdout"],
        "step PATH ignored"
    );
    for step in ["copy", "link"] {
        assert_eq!(h.finished(step)["status"], "failed-continued");
    }
    assert!(!root.join("pwned").exists(), "the copy named echo ran");
    assert!(!root.join("pwned-link").exists(), "the link named echo ran");
}

#[test]
fn loader_and_startup_variables_are_refused_unless_the_grant_lists_them() {
    let Some(h) = Hostile::with(r#"grant plugin=hostile { exec "echo"; }"#, &["hostile"]) else {
        return;
    };
    let root = h.p.path().to_path_buf();
    script(
        &root.join("startup.sh"),
        &format!("touch '{}/pwned'", root.display()),
    );
    h.p.runbook(
        "loader",
        &r#"
runbook loader version=1 {
    step plugin-preload uses=hostile action=exec continue-on-error=#true {
        program echo
        args "preloaded"
        env LD_PRELOAD="ROOT/preload.so"
    }
    step step-preload uses=exec continue-on-error=#true {
        run echo "preloaded"
        env LD_PRELOAD="ROOT/preload.so"
    }
    step bash-env uses=exec continue-on-error=#true {
        run bash "-c" "echo started"
        env BASH_ENV="ROOT/startup.sh"
    }
    step plain uses=exec {
        run sh "-c" "echo $GREETING"
        env GREETING="plain variables pass"
        effect read
    }
}
"#
        .replace("ROOT", &root.display().to_string()),
    );
    h.cairn(&["run", "loader"])
        .code(0)
        .has("exec-env: `LD_PRELOAD` is not permitted for plugin `hostile` (grant it in cairn.kdl: `grant plugin=hostile { exec-env \"LD_PRELOAD\" }`)")
        .has("exec-env: `LD_PRELOAD` is not permitted for plugin `exec`")
        .has("exec-env: `BASH_ENV` is not permitted for plugin `exec`");
    for step in ["plugin-preload", "step-preload", "bash-env"] {
        assert_eq!(h.finished(step)["status"], "failed-continued");
    }
    assert!(!root.join("pwned").exists(), "BASH_ENV ran its script");
    assert_eq!(
        h.finished("plain")["outputs"]["stdout"],
        "plain variables pass"
    );

    // Listed in the grant, a variable passes; the others are still refused.
    let p = Project::with_config(
        "project granted {\n    grant plugin=exec { exec \"*\"; exec-env \"LD_LIBRARY_PATH\"; }\n}\n",
    );
    p.runbook(
        "lib",
        r#"
runbook lib version=1 {
    step granted uses=exec {
        run sh "-c" "echo $LD_LIBRARY_PATH"
        env LD_LIBRARY_PATH="/opt/granted/lib"
        effect read
    }
    step other uses=exec {
        run echo "x"
        env LD_PRELOAD="/opt/granted/lib/x.so"
    }
}
"#,
    );
    p.cairn(&["run", "lib"])
        .code(1)
        .stdout_has("/opt/granted/lib")
        .stdout_has("exec-env: `LD_PRELOAD` is not permitted for plugin `exec`");
}

#[test]
fn the_lock_pins_where_a_granted_program_resolves_and_strict_pins_its_digest() {
    let p = Project::with_config(
        "project pinned {\n    grant plugin=exec { exec \"tools/greet\"; }\n}\n",
    );
    let tools = p.join("tools");
    script(&tools.join("greet-v1"), "echo v1");
    script(&tools.join("greet-v2"), "echo v2");
    std::os::unix::fs::symlink("greet-v1", tools.join("greet")).unwrap();
    p.runbook(
        "greet",
        "runbook greet version=1 {\n    step hi uses=exec { run \"tools/greet\"; effect read; }\n}\n",
    );
    let programs = || -> serde_json::Value {
        let lock: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p.join("cairn.lock")).unwrap()).unwrap();
        let exec = lock["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "exec")
            .unwrap()
            .clone();
        exec["programs"]["tools/greet"].clone()
    };
    let file = |name: &str| {
        tools
            .join(name)
            .canonicalize()
            .unwrap()
            .display()
            .to_string()
    };

    p.cairn(&["lock"]).success();
    assert_eq!(programs()["path"], file("greet-v1"));
    assert!(programs().get("sha256").is_none(), "{}", programs());
    p.cairn(&["run", "greet"]).success().stdout_has("v1");

    // The link now leads elsewhere: refused until the lock is updated.
    std::fs::remove_file(tools.join("greet")).unwrap();
    std::os::unix::fs::symlink("greet-v2", tools.join("greet")).unwrap();
    p.cairn(&["run", "greet"])
        .code(3)
        .stderr_has("program `tools/greet` of plugin `exec`")
        .stderr_has(&format!(
            "resolves to {} now, cairn.lock has {}",
            file("greet-v2"),
            file("greet-v1")
        ));
    p.cairn(&["lock", "--update"]).success();
    p.cairn(&["run", "greet"]).success().stdout_has("v2");

    // Strict: the file's digest is pinned, and a changed file is refused.
    p.cairn(&["lock", "--strict"]).success();
    let sha = programs()["sha256"].as_str().unwrap().to_string();
    assert_eq!(sha.len(), 64);
    script(&tools.join("greet-v2"), "echo v3");
    p.cairn(&["run", "greet"])
        .code(3)
        .stderr_has("program `tools/greet`")
        .stderr_has(&format!(
            "changed since cairn.lock pinned it (sha256 {}",
            &sha[..12]
        ));
    p.cairn(&["lock", "--update"]).success();
    assert_ne!(programs()["sha256"], sha, "a strict lock stays strict");
    p.cairn(&["run", "greet"]).success().stdout_has("v3");
}
