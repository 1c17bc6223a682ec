//! The argument tables of docs/stock-plugins.md are generated from the
//! schemas the stock plugins declare (`cairn plugin show NAME --json`); this
//! test fails when they differ. `CAIRN_UPDATE_DOCS=1` rewrites them.

use serde_json::Value;

use crate::Project;

const BEGIN: &str = "<!-- BEGIN generated from the plugins' schemas";
const END: &str = "<!-- END generated -->";

fn generated(p: &Project) -> String {
    let list = p.cairn(&["--json", "plugin", "list"]);
    list.success();
    let plugins: Value = serde_json::from_str(&list.stdout).expect("plugin list --json");
    let mut out = String::new();
    for plugin in plugins.as_array().expect("a list") {
        if plugin["source"] != "stock" {
            continue;
        }
        let name = plugin["name"].as_str().expect("a name");
        let show = p.cairn(&["--json", "plugin", "show", name]);
        show.success();
        let d: Value = serde_json::from_str(&show.stdout).expect("plugin show --json");
        let default = d["default_action"].as_str();
        let actions: Vec<cairn::schema::ActionDoc> = d["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|a| cairn::schema::ActionDoc {
                name: a["name"].as_str().unwrap_or_default(),
                summary: a["summary"].as_str().unwrap_or_default(),
                is_default: a["name"].as_str() == default,
            })
            .collect();
        out.push('\n');
        out.push_str(&cairn::schema::markdown(
            name,
            &actions,
            &d["args_schema"].to_string(),
        ));
    }
    out
}

#[test]
fn the_argument_tables_of_the_stock_plugins_are_generated_from_their_schemas() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/stock-plugins.md");
    let doc = std::fs::read_to_string(&path).expect("docs/stock-plugins.md");
    let start = doc
        .find(BEGIN)
        .expect("the generated section's start marker");
    let body = start + doc[start..].find('\n').expect("a line") + 1;
    let end = doc.find(END).expect("the generated section's end marker");
    let want = generated(&Project::new());
    if std::env::var_os("CAIRN_UPDATE_DOCS").is_some() {
        let updated = format!("{}{want}\n{}", &doc[..body], &doc[end..]);
        std::fs::write(&path, updated).expect("write docs/stock-plugins.md");
        return;
    }
    let have = doc[body..end].trim_end_matches('\n');
    assert!(
        have == want.trim_end_matches('\n'),
        "docs/stock-plugins.md's argument tables differ from the plugins' schemas; \
         run the test with CAIRN_UPDATE_DOCS=1 to regenerate them"
    );
}
