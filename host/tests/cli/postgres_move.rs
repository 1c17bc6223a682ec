//! The stock `postgres` plugin through the real binary against the lab's
//! two PostgreSQL servers: the source made read-only (an open session
//! terminated, a write refused), copied to the new server, sequences
//! carried over, compared, made writable again. Each test makes its own
//! databases and drops only those.

use std::process::{Command, Stdio};

use crate::Project;
use crate::backup::{Scratch, lab, outputs, psql, unique, with_db};

fn primary_admin() -> String {
    std::env::var("CAIRN_LAB_PG_PRIMARY_ADMIN").expect("CAIRN_LAB_PG_PRIMARY_ADMIN")
}

#[test]
fn a_source_made_read_only_is_copied_compared_and_made_writable_again() {
    let Some(lab) = lab() else { return };
    let admin = primary_admin();
    let (src_db, dst_db) = (unique("mvsrc"), unique("mvdst"));
    let _s = Scratch {
        admin: &admin,
        names: vec![src_db.clone()],
    };
    let _d = Scratch {
        admin: &lab.new_admin,
        names: vec![dst_db.clone()],
    };
    psql(&admin, &format!("create database \"{src_db}\" owner cairn"));
    // The source as the site's user sees it.
    let src = with_db(&lab.primary, &src_db);
    psql(
        &src,
        "create table orders (id serial primary key, item text); insert into orders (item) select 'x' || g from generate_series(1, 500) g",
    );
    let dst = with_db(&lab.new_admin, &dst_db);

    // A session opened before the switch, which would keep writing.
    let mut old = Command::new("psql")
        .args(["--no-psqlrc", "-d", &src, "-c", "select pg_sleep(60)"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while psql(
        &admin,
        &format!(
            "select count(*) from pg_stat_activity where datname = '{src_db}' and query like '%pg_sleep%'"
        ),
    ) != "1"
    {
        assert!(
            std::time::Instant::now() < until,
            "the old session did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let p = Project::new();
    p.runbook(
        "mv",
        &format!(
            r#"runbook mv version=1 {{
    step ro uses=postgres action=read-only {{
        url "{src}"
        mode on
        sessions terminate
    }}
    step copy uses=postgres action=copy {{
        url "{src}"
        target-url "{dst}"
        owner cairn
    }}
    step seq uses=postgres action=sequences {{
        url "{src}"
        target-url "{dst}"
    }}
    step compare uses=postgres action=compare {{
        url "{src}"
        target-url "{dst}"
    }}
    step rw uses=postgres action=read-only {{
        url "{src}"
        mode off
    }}
}}
"#
        ),
    );
    let run = p.cairn(&["run", "mv"]);
    let status = old.wait().unwrap();
    run.success();
    assert!(!status.success(), "the old session was terminated");
    let ro = outputs(&p, "ro");
    assert_eq!(ro["verified"], true, "{ro}");
    assert_eq!(ro["previous"], "off");
    assert_eq!(ro["sessions-terminated"], 1, "{ro}");
    let copy = outputs(&p, "copy");
    assert!(
        copy["label"]
            .as_str()
            .unwrap()
            .starts_with("cairn copy run="),
        "{copy}"
    );
    assert_eq!(psql(&dst, "select count(*) from orders"), "500");
    assert_eq!(
        psql(
            &dst,
            "select tableowner from pg_tables where tablename = 'orders'"
        ),
        "cairn"
    );
    // The next id handed out on the new server follows the old one's.
    assert_eq!(psql(&dst, "select nextval('orders_id_seq')"), "501");
    assert_eq!(outputs(&p, "compare")["rows"], 500);
    assert!(
        !p.journals().contains("cairn-lab-pw"),
        "password in the journal"
    );
    // Writable again for new sessions.
    psql(&src, "insert into orders (item) values ('after')");

    // A second copy into the same name is refused and changes nothing.
    let again = p.cairn(&["run", "mv"]);
    again.code(1);
    assert!(
        format!("{}{}", again.stdout, again.stderr).contains("never overwrites"),
        "{}",
        again.stdout
    );
    assert_eq!(psql(&dst, "select count(*) from orders"), "500");
    // The failed run left the source read-only (no undo in this runbook):
    // its rw step did not run; put it back by hand for the drop.
    psql(
        &admin,
        &format!("alter database \"{src_db}\" reset default_transaction_read_only"),
    );
}

#[test]
fn compare_fails_naming_the_table_that_differs() {
    let Some(lab) = lab() else { return };
    let admin = primary_admin();
    let (src_db, dst_db) = (unique("cmpsrc"), unique("cmpdst"));
    let _s = Scratch {
        admin: &admin,
        names: vec![src_db.clone()],
    };
    let _d = Scratch {
        admin: &lab.new_admin,
        names: vec![dst_db.clone()],
    };
    psql(&admin, &format!("create database \"{src_db}\" owner cairn"));
    psql(
        &lab.new_admin,
        &format!("create database \"{dst_db}\" owner cairn"),
    );
    let src = with_db(&lab.primary, &src_db);
    let dst = with_db(&lab.new_admin, &dst_db);
    for (url, n) in [(&src, 3), (&dst, 2)] {
        psql(
            url,
            &format!(
                "create table t (id serial); insert into t select from generate_series(1, {n})"
            ),
        );
    }
    let p = Project::new();
    p.runbook(
        "cmp",
        &format!("runbook cmp version=1 {{\n    step compare uses=postgres action=compare {{\n        url \"{src}\"\n        target-url \"{dst}\"\n    }}\n}}\n"),
    );
    let run = p.cairn(&["run", "cmp"]);
    run.code(1);
    let all = format!("{}{}", run.stdout, run.stderr);
    assert!(
        all.contains("table public.t: 3 rows on the source, 2 on the target"),
        "{all}"
    );
    assert!(
        all.contains("sequence public.t_id_seq: 3 on the source, 2 on the target"),
        "{all}"
    );
}
